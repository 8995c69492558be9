"""GPU parity: the PDT kinetics kernel on the device against its NumPy twin on the CPU.

Run with ``pytest -m gpu`` on a machine with CuPy and a CUDA GPU; skipped
elsewhere (tests/conftest.py). The kernel ``pdt_advance<real>``
(kernels/pdt_kinetics.cu) is launched with
:func:`phototherm.pdt.kinetics.kernel_arguments` on copies of the same states
the twin :func:`phototherm.pdt.kinetics.advance` steps: heterogeneous voxels,
fluence rates from 0 to 500 mW/cm^2, several step lengths, starting from fresh
states and from states after a light period (carried ``substep``).

Tolerances. The host build of the same source agrees with the twin bit for bit
when NumPy uses the C library's ``pow`` and to <= 6e-15 (float64) / 7e-7
(float32) of each field's scale otherwise (tests/unit/test_pdt_kernel_host.py).
On the device, FMA contraction and CUDA's ``pow`` change last bits; the
controller's error estimate is a cancelling sum, so ``substep`` proposals move
far more (1e-9 relative and up) than the fields, and rarely an accept/reject
test that sits on its edge flips, which moves that voxel by about its local
error (<= rtol of the field's scale). So: at least 99 % of voxels within 1e-11
(float64) / 1e-5 (float32) of each field's scale, every voxel within 10 rtol;
``substep`` only for finiteness where lit.
"""

from __future__ import annotations

import copy
import re
from types import SimpleNamespace

import numpy as np
import pytest

from phototherm.backend import resolve_backend, to_host
from phototherm.errors import SolverDidNotConverge
from phototherm.pdt.kinetics import PDTState, advance, kernel_arguments

pytestmark = pytest.mark.gpu

SHAPE = (23, 17, 31)  # 12121 voxels: partial last block
BLOCK = 128
FIELDS = ("s0", "oxygen", "singlet_oxygen_reacted", "fluence", "pdt_dose")
PHOTOFRIN = SimpleNamespace(xi=3.7e-3, sigma=7.6e-5, beta=11.9, delta=33.0, g=0.7, oxygen_initial=40.0,
                            extinction=0.35, wavelength=630e-9)


def fluence_rates(seed, dtype):
    rng = np.random.default_rng(seed)
    phi = 5000.0 * rng.random(SHAPE) ** 2
    phi[rng.random(SHAPE) < 0.25] = 0.0
    return phi.astype(dtype)


def initial_state(dtype, seed=1):
    rng = np.random.default_rng(seed)
    return PDTState.initial(SHAPE, rng.uniform(0.0, 15.0, SHAPE), rng.uniform(0.0, 80.0, SHAPE), dtype=dtype)


def run_device(state, phi, dt, params, **options):
    """``pdt_advance<real>`` on the GPU from a host ``state``; returns (host state after, failures)."""
    backend = resolve_backend("gpu", state.s0.dtype)
    xp = backend.xp
    real = "double" if state.s0.dtype == np.float64 else "float"
    kernel = backend.load_kernel("pdt_kinetics.cu", f"pdt_advance<{real}>")
    device = PDTState(*(xp.asarray(getattr(state, f)) for f in FIELDS + ("substep",)), time=state.time)
    failures = xp.asarray(np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64))
    args = kernel_arguments(device, xp.ascontiguousarray(xp.asarray(phi)), failures, dt, params, **options)
    kernel((-(-state.s0.size // BLOCK),), (BLOCK,), args)
    backend.synchronize()
    host = PDTState(*(to_host(getattr(device, f)) for f in FIELDS + ("substep",)), time=state.time + dt)
    return host, to_host(failures)


@pytest.mark.parametrize("dtype, options, close, bound", [
    ("float64", {}, 1e-11, 1e-5),
    ("float32", {"rtol": 1e-4, "atol": 1e-6}, 1e-5, 1e-3),
])
def test_kernel_matches_numpy_twin(dtype, options, close, bound):
    lit = initial_state(dtype)
    for _ in range(3):
        advance(lit, fluence_rates(7, dtype), 10.0, PHOTOFRIN, **options)
    for start in (initial_state(dtype, seed=3), lit):
        for i, dt in enumerate((0.05, 1.0, 7.3, 120.0)):
            phi = fluence_rates(100 + i, dtype)
            twin = copy.deepcopy(start)
            advance(twin, phi, dt, PHOTOFRIN, **options)
            gpu, failures = run_device(start, phi, dt, PHOTOFRIN, **options)
            assert failures[0] == 0
            near = np.ones(SHAPE, bool)
            for name in FIELDS:
                a, b = getattr(gpu, name), getattr(twin, name)
                scale = max(float(np.abs(b).max()), 1e-300)
                diff = np.abs(a.astype(float) - b.astype(float)) / scale
                assert diff.max() <= bound, (name, dt, float(diff.max()))
                near &= diff <= close
            assert near.mean() >= 0.99, (dt, float(near.mean()))
            assert np.isfinite(gpu.substep[phi > 0]).all()
            np.testing.assert_array_equal(gpu.substep[phi == 0], start.substep[phi == 0])


def test_non_convergence_is_reported():
    phi = fluence_rates(9, "float64")
    start = initial_state("float64")
    with pytest.raises(SolverDidNotConverge) as raised:
        advance(copy.deepcopy(start), phi, 120.0, PHOTOFRIN, max_attempts=1)
    _, failures = run_device(start, phi, 120.0, PHOTOFRIN, max_attempts=1)
    assert failures[0] > 0
    assert "first at flat index" in str(raised.value)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype, options, close, bound", [
    ("float64", {}, 1e-11, 1e-5),
    ("float32", {"rtol": 1e-4, "atol": 1e-6}, 1e-5, 1e-3),
])
def test_advance_dispatches_cupy_state_to_the_kernel(dtype, options, close, bound):
    """``advance`` on CuPy arrays (the kernel, launched by advance) against the twin over several steps.

    Host fluence-rate arrays, a scalar and a broadcast row are passed as they
    are: the dispatch must copy, cast and broadcast them for the kernel.
    """
    cp = resolve_backend("gpu", dtype).xp
    twin = initial_state(dtype)
    gpu = PDTState(*(cp.asarray(getattr(twin, f)) for f in FIELDS + ("substep",)), time=twin.time)
    row = np.linspace(0.0, 3000.0, SHAPE[2]).astype(dtype)
    schedule = [(fluence_rates(7, dtype), 10.0), (fluence_rates(7, dtype), 10.0), (2500.0, 1.0),
                (row, 7.3), (np.zeros(SHAPE, dtype), 5.0), (cp.asarray(fluence_rates(8, dtype)), 120.0)]
    for phi, dt in schedule:
        assert advance(gpu, phi, dt, PHOTOFRIN, **options) is gpu
        advance(twin, to_host(phi) if not np.isscalar(phi) else phi, dt, PHOTOFRIN, **options)
        assert gpu.time == twin.time
        assert type(gpu.s0).__module__.startswith("cupy")
        near = np.ones(SHAPE, bool)
        for name in FIELDS:
            a, b = to_host(getattr(gpu, name)), getattr(twin, name)
            scale = max(float(np.abs(b).max()), 1e-300)
            diff = np.abs(a.astype(float) - b.astype(float)) / scale
            assert diff.max() <= bound, (name, dt, float(diff.max()))
            near &= diff <= close
        assert near.mean() >= 0.99, (dt, float(near.mean()))
    assert twin.singlet_oxygen_reacted.max() > 1.0 and twin.pdt_dose.max() > 0.0


@pytest.mark.gpu
def test_advance_on_cupy_state_reports_non_convergence_like_the_twin():
    cp = resolve_backend("gpu", "float64").xp
    phi = fluence_rates(9, "float64")
    twin = initial_state("float64")
    gpu = PDTState(*(cp.asarray(getattr(twin, f)) for f in FIELDS + ("substep",)), time=twin.time)
    with pytest.raises(SolverDidNotConverge, match="first at flat index") as from_gpu:
        advance(gpu, phi, 120.0, PHOTOFRIN, max_attempts=1)
    with pytest.raises(SolverDidNotConverge) as from_twin:
        advance(twin, phi, 120.0, PHOTOFRIN, max_attempts=1)
    # the twin's wording; the counts may differ by a voxel whose accept/reject test sits on its edge
    def wording(e):
        return re.sub(r"\d+ voxel\(s\)|flat index \d+", "#", str(e.value))

    assert wording(from_gpu) == wording(from_twin)
    assert gpu.time == 0.0


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 1e-4)])
def test_oxygen_diffusion_on_the_gpu_matches_numpy(dtype, rtol):
    """Oxygen diffusion runs the same stencil and CG on CuPy arrays (no kernel of its own).

    The CG tolerance (1e-10 float64, 1e-5 float32, relative to the increment)
    bounds the difference of the two solves; the increment is a fraction of the
    field, so 1e-9 / 1e-4 of the field is a safe bound.
    """
    import cupy as cp

    from phototherm.grid import Grid
    from phototherm.pdt.oxygen_diffusion import OxygenDiffusion

    grid = Grid(SHAPE, 0.1e-3)
    rng = np.random.default_rng(3)
    oxygen = rng.uniform(0.0, 40.0, grid.shape).astype(dtype)
    diffusivity = rng.uniform(1e-9, 3e-9, grid.shape)
    cpu = oxygen.copy()
    OxygenDiffusion(diffusivity, grid, np, np.dtype(dtype)).step(cpu, 2.0)
    gpu = cp.asarray(oxygen)
    OxygenDiffusion(diffusivity, grid, cp, np.dtype(dtype)).step(gpu, 2.0)
    np.testing.assert_allclose(to_host(gpu), cpu, rtol=0, atol=rtol * 40.0)
