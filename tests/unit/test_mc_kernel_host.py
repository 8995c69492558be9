"""The Monte Carlo kernel's own source, built for the host, against its NumPy twin.

CI has no GPU. ``tests/support/mc_host.cpp`` includes ``kernels/mc_transport.cu``
unchanged (CUDA qualifiers defined away, atomics as plain additions, the launch
as loops over blocks and threads) and is called with exactly the arguments the
GPU launch builds (:func:`phototherm.light.montecarlo.kernel_arguments`). Every
photon has its own random stream, so the host kernel and the twin can be
compared photon by photon: each photon is run alone through the host kernel
(``photon_count = 1``) and its tallies are compared with the twin's tallies of
the same photon.

Tolerances. In float64 both sides evaluate the same expressions in the same
order without fused multiply-adds (``-ffp-contract=off``); they differ only
where NumPy's ``exp``/``log``/``expm1``/``sin``/``cos`` and the C library's
round differently in the last bit, which can flip a decision (scatter or cross,
reflect or refract, roulette) of a photon that happens to sit on the edge: we
require at least 99 % of photons to follow identical paths (tallies equal to
1e-12; measured 99.9-100 %). In float32 last-bit differences are 2^-24 instead
of 2^-53 and flip decisions more often: at least 90 % identical to 1e-4
(measured 95-99 %). Over all photons, the mean per-photon difference of every
tally must be zero within 4 standard errors of the paired differences.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from phototherm.light.montecarlo import kernel_arguments, pack_problem
from phototherm.light.montecarlo_twin import NUM_TALLIES, ROULETTE, TALLY_NAMES, mc_transport_twin
from tests.support.host_build import build_host_library, c_argument
from tests.support.mc_cases import heterogeneous_medium, sources

PHOTONS = 600
SEED = 20261121


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory):
    return build_host_library(tmp_path_factory, "mc_host.cpp", "mc_transport_host.so")


def launch_arguments(problem, first, count, roulette):
    """Zeroed tallies and the kernel's argument tuple for photons [first, first + count)."""
    fluence = np.zeros(problem.grid.shape, problem.dtype)
    tallies = np.zeros(NUM_TALLIES)
    args = kernel_arguments(problem, problem.props, fluence, tallies, problem.source, seed=SEED,
                            first_photon=first, photon_count=count, roulette=roulette)
    return fluence, tallies, args


def run_host(lib, problem, first, count, *, roulette=True, blocks=3, threads=7):
    """Host-built kernel over photons [first, first + count): (fluence tally, tallies)."""
    fluence, tallies, args = launch_arguments(problem, first, count, roulette)
    entry = getattr(lib, {"float32": "mc_transport_host_f32", "float64": "mc_transport_host_f64"}[problem.dtype.name])
    entry(ctypes.c_uint(blocks), ctypes.c_uint(threads), *(c_argument(a) for a in args))
    return fluence, tallies


def run_twin(problem, first, count, *, roulette=True, per_photon=None, pool_size=1 << 14):
    """The NumPy twin over the same photons, with the same arguments: (fluence tally, tallies)."""
    fluence, tallies, args = launch_arguments(problem, first, count, roulette)
    mc_transport_twin(*args, photon_tallies=per_photon, pool_size=pool_size)
    return fluence, tallies


def per_photon_host(lib, problem, first, count, roulette=True):
    return np.array([run_host(lib, problem, first + i, 1, roulette=roulette, blocks=1, threads=1)[1]
                     for i in range(count)])


MEDIUM = heterogeneous_medium()
SOURCES = sources(MEDIUM.grid)


@pytest.mark.parametrize(
    "dtype, roulette, tol, min_identical",
    [("float64", True, 1e-12, 0.99), ("float64", False, 1e-12, 0.99), ("float32", True, 1e-4, 0.90)],
    ids=["float64", "float64-no-roulette", "float32"],
)
@pytest.mark.parametrize("name", list(SOURCES))
def test_host_kernel_follows_the_twin_photon_for_photon(host_kernel, name, dtype, roulette, tol, min_identical):
    problem = pack_problem(MEDIUM, SOURCES[name], dtype)
    first = 1000
    host = per_photon_host(host_kernel, problem, first, PHOTONS, roulette)
    twin = np.zeros((PHOTONS, NUM_TALLIES))
    run_twin(problem, first, PHOTONS, roulette=roulette, per_photon=twin)

    identical = np.all(np.abs(host - twin) <= tol * np.maximum(1.0, np.abs(twin)), axis=1)
    assert identical.mean() >= min_identical, f"only {identical.mean():.1%} of photons followed identical paths"
    # paired differences over all photons: mean zero within 4 standard errors
    diff = host - twin
    se = diff.std(axis=0, ddof=1) / np.sqrt(PHOTONS)
    for k, label in enumerate(TALLY_NAMES):
        assert abs(diff[:, k].mean()) <= 4 * se[k] + 1e-12, label
    # the case exercises what it should
    assert (twin[:, 0] > 0).mean() > 0.5  # absorption
    assert (np.abs(twin[:, ROULETTE]) > 0).any() == roulette
    # energy accounting per photon: everything launched is accounted for
    balance = twin[:, [0, 1, 2, 4]].sum(axis=1) + twin[:, 5:].sum(axis=1) - twin[:, ROULETTE]
    np.testing.assert_allclose(balance, 1.0, rtol=0, atol=1e-12 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_whole_runs_agree_and_do_not_depend_on_launch_shape(host_kernel, dtype):
    """One launch of many threads against the twin; fluence maps and tallies."""
    problem = pack_problem(MEDIUM, SOURCES["flat_oblique"], dtype)
    count = 3000
    f1, t1 = run_host(host_kernel, problem, 0, count, blocks=5, threads=32)
    f2, t2 = run_host(host_kernel, problem, 0, count, blocks=1, threads=3)
    # the same photons whatever the launch shape (sums in another order)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(t1, t2, rtol=rtol, atol=rtol * count)
    np.testing.assert_allclose(f1, f2, rtol=rtol * 10, atol=rtol * 10 * np.abs(f1).max())
    # against the twin (any pool size gives the twin's same photons)
    ft, tt = run_twin(problem, 0, count, pool_size=257)
    ft2, tt2 = run_twin(problem, 0, count)
    np.testing.assert_allclose(tt, tt2, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ft, ft2, rtol=1e-12, atol=1e-12 * np.abs(ft).max())
    # a few diverging photons (float64: ~0.1 %, float32: a few %) move each tally
    # by at most their weight; the fluence map by a comparable fraction
    fraction = 0.01 if dtype == "float64" else 0.1
    assert np.all(np.abs(t1 - tt) <= fraction * count * 0.5)
    assert np.abs(f1 - ft).sum() <= fraction * np.abs(ft).sum()


def test_source_outside_face_is_missed_by_both(host_kernel):
    """Gaussian tails off the entry face: the host kernel and twin count the same photons missed."""
    problem = pack_problem(MEDIUM, SOURCES["gaussian"], "float64")
    host = per_photon_host(host_kernel, problem, 0, 400)
    twin = np.zeros((400, NUM_TALLIES))
    run_twin(problem, 0, 400, per_photon=twin)
    missed = TALLY_NAMES.index("missed")
    assert host[:, missed].sum() > 0
    np.testing.assert_array_equal(host[:, missed], twin[:, missed])


class _FakeCuda:
    class Device:
        def __init__(self, device_id=0):
            self.attributes = {"MultiProcessorCount": 2}

        def synchronize(self):
            pass


class _HostArrays:
    """NumPy standing in for CuPy, with the ``cuda`` attribute the driver reads."""

    cuda = _FakeCuda

    def __getattr__(self, name):
        return getattr(np, name)


def test_gpu_driver_path_with_the_host_built_kernel(host_kernel, monkeypatch):
    """``simulate_monte_carlo``'s GPU branch, launching the host build instead of the device.

    The driver's batching, launch arguments and statistics on the GPU path run
    in CPU CI this way; with float64 and the same seed the result must equal
    the CPU twin's up to the last-bit path differences measured above.
    """
    from phototherm.backend import Backend
    from phototherm.light import montecarlo

    class HostKernelBackend(Backend):
        def load_kernel(self, filename, function):
            assert filename == montecarlo.KERNEL_FILE and function == "mc_transport<double>"
            entry = host_kernel.mc_transport_host_f64

            def launch(grid, block, args):
                entry(ctypes.c_uint(grid[0]), ctypes.c_uint(block[0]), *(c_argument(a) for a in args))

            return launch

        def describe(self):
            return {"backend": "gpu", "dtype": str(self.dtype), "reason": "host build"}

    fake = HostKernelBackend(name="gpu", dtype=np.dtype("float64"), reason="test", _xp=_HostArrays())
    monkeypatch.setattr(montecarlo, "resolve_backend", lambda device=None, dtype=None: fake)
    monkeypatch.setattr(montecarlo, "LAUNCH_PHOTONS", 256)   # several launches per batch
    source = SOURCES["gaussian"]
    gpu = montecarlo.simulate_monte_carlo(MEDIUM, source, photons=3000, batches=4, seed=5, progress=False)
    monkeypatch.undo()
    cpu = montecarlo.simulate_monte_carlo(MEDIUM, source, photons=3000, batches=4, seed=5, device="cpu",
                                          progress=False)
    assert gpu.device["backend"] == "gpu"
    assert abs(gpu.energy_residual) < 1e-12
    # the same photons (all identical here for this seed): equal up to summation order
    for name in ("absorbed", "specular", "missed", "escaped_total", "roulette_balance"):
        assert getattr(gpu.energy, name) == pytest.approx(getattr(cpu.energy, name), rel=1e-12, abs=1e-14), name
    np.testing.assert_allclose(gpu.fluence_rate, cpu.fluence_rate, rtol=1e-10, atol=1e-12 * cpu.fluence_rate.max())
    np.testing.assert_allclose(gpu.fluence_rate_error, cpu.fluence_rate_error, rtol=1e-8,
                               atol=1e-10 * cpu.fluence_rate_error.max())
