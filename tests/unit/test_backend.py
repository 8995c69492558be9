"""Backend choice: argument > environment variable > auto; dtypes; the info report."""

import numpy as np
import pytest

import phototherm as pt
from phototherm.backend import DEVICE_ENV_VAR, array_module, gpu_status, report, to_host


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)


def test_cpu_defaults_to_float64_and_accepts_float32(no_env):
    cpu = pt.resolve_backend("cpu")
    assert cpu.name == "cpu" and cpu.dtype == np.float64 and cpu.xp is np
    assert pt.resolve_backend("cpu", "float32").dtype == np.float32
    assert pt.resolve_backend("CPU", np.float32).dtype == np.float32
    assert "requested" in cpu.reason


def test_environment_variable_is_used_when_no_argument_is_given(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    backend = pt.resolve_backend()
    assert backend.name == "cpu" and DEVICE_ENV_VAR in backend.reason


def test_auto_falls_back_to_the_cpu_with_the_reason(no_env):
    usable, why = gpu_status()
    if usable:
        pytest.skip("a GPU is usable here; tests/gpu covers auto on a GPU")
    backend = pt.resolve_backend()
    assert backend.name == "cpu" and backend.reason.startswith("auto:") and why in backend.reason


def test_array_helpers_on_numpy():
    a = np.arange(3.0)
    assert array_module(a) is np and to_host(a) is a


def test_info_report_names_versions_and_the_auto_choice():
    text = report()
    assert f"phototherm   {pt.__version__}" in text
    assert f"numpy        {np.__version__}" in text
    assert "auto device" in text and gpu_status()[1] in text


def test_float32_cpu_run_agrees_with_float64():
    grid = pt.Grid((12, 12, 12), 1e-3)
    model = pt.PennesModel(
        grid, pt.ThermalProperties.uniform(grid, pt.tissues.thermal_tissue("muscle")),
        heat_sources=[pt.gaussian_heat_source(grid, (6e-3,) * 3, 2e-3, total_power=0.2)],
        boundaries=pt.BoundaryConditions(default=pt.FixedTemperature(37.0)),
    )
    results = {d: pt.Simulation(model, stop_time=60.0, device="cpu", dtype=d, progress=False).run()
               for d in ("float32", "float64")}
    assert results["float32"].temperature.dtype == np.float32
    # ~230 steps, each rounding T (~45 C) to float32 (4e-6 K): drift < 1e-3 K
    assert np.abs(results["float32"].temperature - results["float64"].temperature).max() < 1e-3
