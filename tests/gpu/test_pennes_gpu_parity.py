"""GPU parity: the CUDA kernel on the device against its NumPy twin on the CPU.

Run with ``pytest -m gpu`` on a machine with CuPy and a CUDA GPU; skipped
elsewhere (tests/conftest.py). Inputs are random and heterogeneous, with every
boundary type, several scheduled sources, periodic axes and vascular shutdown.

Tolerances: in float64 the device differs from NumPy only by fused
multiply-adds and the order of the conduction sum (a few ulps per step,
1e-12 relative over 40 steps leaves a wide margin); in float32 by float32
rounding and the CUDA single-precision exp/expm1 (<= 2 ulp), well under 1e-5
relative over 40 steps (the host build of the kernel agrees with the twin to
3e-6 in float32, tests/unit/test_pennes_kernel_host.py).
"""

import numpy as np
import pytest

import phototherm as pt
from phototherm.backend import to_host
from phototherm.bioheat import STATE_FIELDS as FIELDS
from phototherm.bioheat import DeviceModel, ExplicitStepper, ThermalState
from tests.helpers import KERNEL_CASES as CASES
from tests.helpers import random_heterogeneous_model, step_model

pytestmark = pytest.mark.gpu

def step(model, device, dtype, steps, stepper="explicit"):
    state = step_model(model, steps, device=device, dtype=dtype, stepper=stepper)
    return {name: to_host(getattr(state, name)) for name in FIELDS}


def assert_fields_close(a, b, rtol):
    for name in FIELDS:
        scale = np.abs(b[name]).max()
        np.testing.assert_allclose(a[name], b[name], rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_kernel_matches_numpy_twin(case, dtype, rtol):
    # sizes not multiples of the (32, 8) block, so edge blocks are partial
    model = random_heterogeneous_model((19, 23, 70), (0.4e-3, 0.5e-3, 0.3e-3), seed=11, **CASES[case])
    assert_fields_close(step(model, "gpu", dtype, 40), step(model, "cpu", dtype, 40), rtol)


def test_kernel_fills_every_voxel():
    """Poison the output buffer: every voxel must be written by the launch."""
    model = random_heterogeneous_model((17, 9, 45), (0.5e-3, 0.5e-3, 0.5e-3), seed=2)
    backend = pt.resolve_backend("gpu", "float32")
    state = ThermalState.initial(model, backend)
    stepper = ExplicitStepper(DeviceModel(model, backend), state, time_above_threshold=43.0)
    stepper._scratch.fill(np.nan)
    stepper.step(0.0, 0.5 * model.critical_dt())
    assert bool(backend.xp.isfinite(state.temperature).all())


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-4)])
def test_implicit_stepper_on_gpu_matches_cpu(dtype, rtol):
    model = random_heterogeneous_model((16, 12, 20), (0.5e-3, 0.5e-3, 0.5e-3), seed=7)
    assert_fields_close(step(model, "gpu", dtype, 10, "implicit"), step(model, "cpu", dtype, 10, "implicit"), rtol)


def test_demo_gives_the_same_answers_on_gpu_and_cpu():
    """A whole run, float32 on the GPU against float64 on the CPU.

    Over ~1200 steps float32 rounding of T (~4e-6 K per step, random in sign)
    stays below ~1e-3 K; CEM43 follows at ln(2) x that relative error.
    """
    from phototherm.examples.demo import DemoSettings, build_demo

    settings = DemoSettings()
    model = build_demo(settings, device="cpu").model
    results = {
        device: pt.Simulation(model, stop_time=settings.total_time, device=device, progress=False).run()
        for device in ("gpu", "cpu")
    }
    gpu, cpu = results["gpu"], results["cpu"]
    assert gpu.summary["device"]["dtype"] == "float32" and cpu.summary["device"]["dtype"] == "float64"
    assert np.abs(gpu.temperature - cpu.temperature).max() < 5e-3
    assert np.abs(gpu.max_temperature - cpu.max_temperature).max() < 5e-3
    dosed = cpu.cem43 > 1.0
    np.testing.assert_allclose(gpu.cem43[dosed], cpu.cem43[dosed], rtol=5e-3)


def test_auto_backend_picks_the_gpu_in_float32():
    backend = pt.resolve_backend("auto")
    assert backend.name == "gpu" and backend.dtype == np.float32
    assert "gpu_name" in backend.describe()
