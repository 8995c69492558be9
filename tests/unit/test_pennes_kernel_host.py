"""The CUDA kernel's own source, built for the host, against its NumPy twin.

CI has no GPU. ``tests/support/kernel_host.cpp`` includes
``kernels/pennes_step.cu`` unchanged, with the CUDA qualifiers defined away
and the launch grid run as loops, and is called with exactly the arguments the
GPU launch builds (:func:`phototherm.bioheat.explicit.kernel_arguments`). So
the kernel's formulas, branches (43 C crossing, threshold crossing, shutdown,
periodic wrap) and indexing are checked against the twin on every CI run;
tests/gpu/ repeats the comparison on a real device.

Tolerances: float64 results differ only by the order of summation of the
conduction terms (a few ulps per step); float32 by float32 rounding, which
stays below 1e-5 relative over the 40 steps run here.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import phototherm as pt
from phototherm.bioheat import STATE_FIELDS as FIELDS
from phototherm.bioheat import DeviceModel, ThermalState
from phototherm.bioheat.explicit import BLOCK, kernel_arguments
from phototherm.bioheat.state import StepParameters
from tests.helpers import KERNEL_CASES as CASES
from tests.helpers import random_heterogeneous_model, step_model
from tests.support.host_build import build_host_library, c_argument


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory):
    return build_host_library(tmp_path_factory, "kernel_host.cpp", "pennes_step_host.so")


def run_host_kernel(lib, model, dtype, steps):
    """Step with the host-built kernel, through the same argument builder as the GPU path."""
    backend = pt.resolve_backend("cpu", dtype)
    dev = DeviceModel(model, backend)
    state = ThermalState.initial(model, backend)
    entry = getattr(lib, {"float32": "pennes_step_host_f32", "float64": "pennes_step_host_f64"}[dtype])
    nx, ny, nz = model.grid.shape
    grid_dims = ((nz + BLOCK[0] - 1) // BLOCK[0], (ny + BLOCK[1] - 1) // BLOCK[1], nx)
    zeros = np.zeros(model.grid.shape, dtype)
    T_next = np.empty_like(state.temperature)
    dt = 0.9 * model.critical_dt()
    for n in range(steps):
        heat, scale = dev.heat_source(n * dt, (n + 1) * dt)
        params = StepParameters(dt, scale, model.arterial_temperature, 43.0)
        args = kernel_arguments(state.temperature, T_next, state, dev, heat if heat is not None else zeros, params)
        entry(*(ctypes.c_uint(v) for v in (*grid_dims, BLOCK[0], BLOCK[1])), *(c_argument(a) for a in args))
        state.temperature, T_next = T_next, state.temperature
    return state


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_host_built_kernel_matches_numpy_twin(host_kernel, case, dtype, rtol):
    # odd sizes exercise partial blocks in both launch dimensions
    model = random_heterogeneous_model((7, 11, 37), (0.4e-3, 0.5e-3, 0.3e-3), seed=5, **CASES[case])
    steps = 40
    kernel = run_host_kernel(host_kernel, model, dtype, steps)
    twin = step_model(model, steps, dtype=dtype)
    for name in FIELDS:
        a, b = getattr(kernel, name), getattr(twin, name)
        scale = np.abs(b).max()
        assert scale > 0, name
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)
    # the run crossed 43 C both ways and took the partial time-above branch
    total = steps * 0.9 * model.critical_dt()
    assert (twin.max_temperature > 43).any() and (twin.temperature < 43).any()
    assert ((twin.time_above > 0) & (twin.time_above < total)).any()
    if model.vascular_shutdown is not None:
        shut = model.vascular_shutdown.factor(twin.cem43, twin.omega) < 1
        assert 0 < shut.sum() < shut.size
