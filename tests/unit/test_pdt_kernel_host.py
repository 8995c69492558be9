"""The PDT kinetics kernel's own source, built for the host, against its NumPy twin.

CI has no GPU. ``tests/support/pdt_host.cpp`` includes ``kernels/pdt_kinetics.cu``
unchanged (CUDA qualifiers defined away, atomics as plain read-modify-writes,
the 1-D launch as loops over blocks and threads) and is called with exactly
the arguments a GPU launch gets (:func:`phototherm.pdt.kinetics.kernel_arguments`).
The twin is :func:`phototherm.pdt.kinetics.advance`; one kernel thread runs the
twin's bounded sub-step loop for one voxel.

Cases: a grid of voxels with heterogeneous [S0], [3O2] and fluence rates from
0 (dark) to 500 mW/cm^2, several step lengths (0.05 s to 120 s, so that some
voxels take many sub-steps and some reject), each applied to states left by a
period of light (bleached sensitizer, depleted oxygen, carried ``substep``)
and by a dark pause; the launch shape does not divide the voxel count.

Tolerances. Both sides evaluate the same expressions in the same order
without fused multiply-adds (``-ffp-contract=off``), and the scalars the twin
derives in double precision (``exp(-g dt / [3O2]0)``, ``g / [3O2]0``,
``dt (1 - 1e-12)``, ``h c / lambda``) are passed precomputed, so the kernel
calls no ``exp``. The one libm-versus-NumPy difference left is the
controller's ``err ** (-1/3)``: NumPy 2 on AVX-512 machines evaluates
``power`` with its own SIMD code, which differs from C ``pow``/``powf`` in the
last bit for ~5 % (float64) / ~20 % (float32) of arguments. That moves a
proposed sub-step by an ulp and the fields by a few ulps, but the error
estimate is a cancelling sum (E1 K1 + E2 K2 + E3 K3), so the next proposal
(``substep``) moves by up to ~1e-8 relative (float64) / ~0.2 (float32).
Measured: fields within 6e-15 (float64) and 7e-7 (float32, rtol 1e-4 there,
the default 1e-6 being below float32 resolution) of each field's scale;
required 1e-12 / 1e-5, and 1e-6 / 0.5 for ``substep``. With NumPy's SIMD
dispatch switched off (``NPY_DISABLE_CPU_FEATURES``, in a subprocess) NumPy
calls the C library's pow and every field, ``substep`` included, is
bit-identical in float64 and float32: that test checks the operation order.
"""

from __future__ import annotations

import copy
import ctypes
import json
import os
import platform
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from phototherm.errors import SolverDidNotConverge
from phototherm.pdt.kinetics import PDTState, advance, kernel_arguments
from phototherm.pdt.photosensitizers import photosensitizer
from tests.support.host_build import ROOT, build_host_library, c_argument

FIELDS = ("s0", "oxygen", "singlet_oxygen_reacted", "fluence", "pdt_dose", "substep")
SHAPE = (5, 7, 9)  # 315 voxels: the launches below leave partial blocks
PHOTOFRIN = photosensitizer("photofrin")
#: A faster, stiffer variant: more oxygen consumption and supply, so sub-steps are rejected.
STIFF = SimpleNamespace(xi=3.0e-2, sigma=2.0e-4, beta=5.0, delta=20.0, g=5.0, oxygen_initial=60.0,
                        extinction=0.5, wavelength=652e-9)


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory):
    return build_host_library(tmp_path_factory, "pdt_host.cpp", "pdt_advance_host.so")


def fluence_rates(seed, dtype, scale=5000.0):
    """Fluence rates [W/m^2] from 0 to ``scale`` (500 mW/cm^2), about a quarter dark."""
    rng = np.random.default_rng(seed)
    phi = scale * rng.random(SHAPE) ** 2
    phi[rng.random(SHAPE) < 0.25] = 0.0
    phi.flat[:3] = (0.0, scale, 1e-3)  # dark, the brightest, barely lit
    return phi.astype(dtype)


def initial_state(dtype, seed=1):
    rng = np.random.default_rng(seed)
    s0 = rng.uniform(0.0, 15.0, SHAPE)
    s0.flat[5] = 0.0  # no sensitizer
    oxygen = rng.uniform(0.0, 80.0, SHAPE)
    oxygen.flat[6] = 0.0  # anoxic
    return PDTState.initial(SHAPE, s0, oxygen, dtype=dtype)


def run_host(lib, state, phi, dt, params, *, blocks=None, threads=32, **options):
    """The host-built kernel on ``state`` (updated in place); returns ``failures``."""
    failures = np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64)
    args = kernel_arguments(state, np.ascontiguousarray(phi), failures, dt, params, **options)
    n = state.s0.size
    blocks = blocks if blocks is not None else -(-n // threads)
    entry = {"float32": lib.pdt_advance_host_f32, "float64": lib.pdt_advance_host_f64}[state.s0.dtype.name]
    entry(ctypes.c_uint(blocks), ctypes.c_uint(threads), *(c_argument(a) for a in args))
    state.time += dt
    return failures


def assert_states_close(host, twin, rtol, substep_rtol):
    """Fields equal to ``rtol`` of each field's scale; ``substep`` (a controller proposal) to ``substep_rtol``."""
    for name in FIELDS:
        a, b = getattr(host, name), getattr(twin, name)
        finite = np.isfinite(b)
        np.testing.assert_array_equal(a[~finite], b[~finite], err_msg=name)
        scale = np.abs(b[finite]).max(initial=0.0)
        tol = substep_rtol if name == "substep" else rtol
        np.testing.assert_allclose(a[finite], b[finite], rtol=tol, atol=tol * scale, err_msg=name)
    assert host.time == twin.time


#: Photofrin's absorption at 630 nm (its ``extinction`` attribute is per wavelength, a tuple).
DOSE = {"extinction": 0.35, "wavelength": 630e-9}
#: (params, step lengths [s], options): light periods, then one step of each length from the lit state.
CASES = {
    "photofrin": (PHOTOFRIN, (0.05, 1.0, 7.3, 120.0), DOSE),
    "photofrin-no-dose": (PHOTOFRIN, (1.0, 30.0), {"extinction": None, "wavelength": None}),
    "stiff": (STIFF, (0.1, 2.0, 45.0), {"rtol": 1e-7, "atol": 1e-10}),
}
#: dtype: (extra options, rtol of the fields, rtol of substep), see the module docstring.
DTYPES = {"float64": ({}, 1e-12, 1e-6), "float32": ({"rtol": 1e-4, "atol": 1e-6}, 1e-5, 0.5)}


def _no_dose(params):
    """``params`` without extinction/wavelength attributes (so the dose is off on both sides)."""
    return SimpleNamespace(**{k: getattr(params, k) for k in ("xi", "sigma", "beta", "delta", "g", "oxygen_initial")})


def case_runs(lib, case, dtype):
    """Yield (host, twin) states after each step of ``case``: every step length from three start states."""
    params, steps, options = CASES[case]
    options = {**options, **DTYPES[dtype][0]}
    if options.get("extinction", 0) is None:
        params, options = _no_dose(params), {k: v for k, v in options.items() if k not in ("extinction", "wavelength")}
    # a period of light (then a dark pause) on the twin sets up bleached, oxygen-depleted states
    twin = initial_state(dtype)
    phi_light = fluence_rates(7, dtype)
    for _ in range(3):
        advance(twin, phi_light, 10.0, params, **options)
    lit_state = copy.deepcopy(twin)
    assert np.isfinite(lit_state.substep[phi_light > 0]).all() and np.isinf(lit_state.substep[phi_light == 0]).all()
    advance(twin, np.zeros(SHAPE, dtype), 5.0, params, **options)
    for start in (initial_state(dtype, seed=3), lit_state, twin):
        for i, dt in enumerate(steps):
            phi = fluence_rates(100 + i, dtype)
            twin_end, host_end = copy.deepcopy(start), copy.deepcopy(start)
            advance(twin_end, phi, dt, params, **options)
            failures = run_host(lib, host_end, phi, dt, params, threads=(32, 13, 64)[i % 3], **options)
            assert failures[0] == 0
            yield host_end, twin_end


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("case", list(CASES))
def test_host_kernel_matches_twin_after_light(host_kernel, case, dtype):
    _, rtol, substep_rtol = DTYPES[dtype]
    for host, twin in case_runs(host_kernel, case, dtype):
        assert_states_close(host, twin, rtol, substep_rtol)


#: NumPy >= 2 on AVX-512 machines evaluates ``power`` with its own SIMD code; these
#: (x86) dispatch targets off, NumPy calls the C library's pow/powf like the host build.
_SCALAR_POWER = "X86_V4 AVX512_ICL AVX512_SPR"
_CHILD = r"""
import ctypes, json, sys
import numpy as np
import tests.unit.test_pdt_kernel_host as t
libm = ctypes.CDLL(None)
libm.pow.restype, libm.pow.argtypes = ctypes.c_double, [ctypes.c_double] * 2
x = 10.0 ** np.linspace(-10.0, 1.0, 4001)
if not all(libm.pow(v, -1.0 / 3.0) == w for v, w in zip(x, x ** (-1.0 / 3.0))):
    print(json.dumps(None)); sys.exit()
lib = ctypes.CDLL(sys.argv[1])
out = {}
for case in t.CASES:
    for dtype in t.DTYPES:
        out[f"{case}-{dtype}"] = sum(int(np.sum(getattr(h, f) != getattr(w, f)) - np.sum(np.isnan(getattr(w, f))))
                                     for h, w in t.case_runs(lib, case, dtype) for f in t.FIELDS)
print(json.dumps(out))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 NumPy dispatch targets")
def test_bit_identical_when_numpy_uses_the_c_library_pow(host_kernel):
    """With NumPy's SIMD ``power`` switched off, kernel and twin agree bit for bit (float64 and float32)."""
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": _SCALAR_POWER}
    result = subprocess.run([sys.executable, "-c", _CHILD, host_kernel._name], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0 and "NPY_DISABLE_CPU_FEATURES" in result.stderr:
        pytest.skip(f"NumPy refuses to switch off {_SCALAR_POWER}")
    assert result.returncode == 0, result.stderr
    differing = json.loads(result.stdout.strip().splitlines()[-1])
    if differing is None:
        pytest.skip("NumPy's power still differs from the C library's here")
    assert differing == {key: 0 for key in differing}, differing


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_whole_treatment_agrees(host_kernel, dtype):
    """A schedule of light, dark and changing fluence, run independently on both sides."""
    extra, rtol, substep_rtol = DTYPES[dtype]
    twin, host = initial_state(dtype), initial_state(dtype)
    schedule = [(fluence_rates(1, dtype), 1.0)] * 5 + [(np.zeros(SHAPE, dtype), 3.0)] \
        + [(fluence_rates(2, dtype, 2000.0), 2.5)] * 4 + [(fluence_rates(3, dtype), 30.0)]
    for phi, dt in schedule:
        advance(twin, phi, dt, PHOTOFRIN, **DOSE, **extra)
        assert run_host(host_kernel, host, phi, dt, PHOTOFRIN, threads=48, **DOSE, **extra)[0] == 0
    assert_states_close(host, twin, rtol, substep_rtol)
    assert twin.singlet_oxygen_reacted.max() > 1.0 and twin.pdt_dose.max() > 0.0


def test_launch_shape_does_not_matter(host_kernel):
    phi = fluence_rates(5, "float64")
    a, b = initial_state("float64"), initial_state("float64")
    run_host(host_kernel, a, phi, 4.0, STIFF, threads=1)
    run_host(host_kernel, b, phi, 4.0, STIFF, threads=256, blocks=3)  # surplus threads return
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_non_convergence_is_reported_like_the_twin(host_kernel):
    """Too few attempts: the same voxels fail; failed voxels are left unchanged by the kernel."""
    phi = fluence_rates(9, "float64")
    start = initial_state("float64")
    twin, host = copy.deepcopy(start), copy.deepcopy(start)
    with pytest.raises(SolverDidNotConverge) as raised:
        advance(twin, phi, 120.0, STIFF, max_attempts=2)
    failures = run_host(host_kernel, host, phi, 120.0, STIFF, max_attempts=2)
    assert failures[0] > 0
    assert f"{int(failures[0])} voxel(s)" in str(raised.value)
    assert f"first at flat index {int(failures[1])})" in str(raised.value)
    # voxels that converged agree with a run that allows enough attempts; failed ones are untouched
    ok = copy.deepcopy(start)
    advance(ok, phi, 120.0, STIFF)
    unchanged = np.all([getattr(host, f) == getattr(start, f) for f in FIELDS], axis=0) & (phi > 0)
    assert unchanged.sum() == failures[0]
    done = ~unchanged
    np.testing.assert_allclose(host.s0[done], ok.s0[done], rtol=1e-12, atol=1e-12)


# ---- advance's GPU branch, with the host build standing in for the device --------------------------
class _HostArrays:
    """NumPy standing in for CuPy (``advance`` reads only array functions and ``uint64`` from it)."""

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.fixture
def gpu_branch_on_host(host_kernel, monkeypatch):
    """Make :func:`advance` take its GPU branch for states in ``on_gpu``, launching the host build.

    ``array_module`` reports the stand-in for CuPy for arrays of those states
    (NumPy for everything else, so the twin still runs on the others), and
    ``resolve_backend`` in the kinetics module returns a backend whose
    ``load_kernel`` wraps the host build; the memoised kernel is cleared before
    and after. Yields ``(on_gpu, launches)``: the states to treat as device
    states, and the (grid, block, kernel name) of every launch.
    """
    from phototherm.backend import Backend
    from phototherm.pdt import kinetics

    on_gpu, launches = [], []
    fake_xp = _HostArrays()

    class HostKernelBackend(Backend):
        def load_kernel(self, filename, function):
            assert filename == "pdt_kinetics.cu"
            entry = {"pdt_advance<double>": host_kernel.pdt_advance_host_f64,
                     "pdt_advance<float>": host_kernel.pdt_advance_host_f32}[function]

            def launch(grid, block, args):
                launches.append((grid, block, function))
                entry(ctypes.c_uint(grid[0]), ctypes.c_uint(block[0]), *(c_argument(a) for a in args))

            return launch

    def resolve(device=None, dtype=None):
        assert device == "gpu"
        return HostKernelBackend(name="gpu", dtype=np.dtype(dtype), reason="host build")

    def module_of(array):
        return fake_xp if any(array is s.s0 for s in on_gpu) else np

    kinetics._gpu_kernel.cache_clear()
    monkeypatch.setattr(kinetics, "resolve_backend", resolve)
    monkeypatch.setattr(kinetics, "array_module", module_of)
    yield on_gpu, launches
    kinetics._gpu_kernel.cache_clear()


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_advance_gpu_branch_with_the_host_built_kernel(gpu_branch_on_host, host_kernel, dtype):
    """``advance`` on "device" state launches the kernel (grid, block, arguments) and matches the twin.

    Every step: the same fields as a direct host-kernel run with
    :func:`kernel_arguments` (bit for bit: the branch passes exactly those
    arguments) and as the twin (to the tolerances above). Steps include a
    scalar and a broadcast fluence rate (the kernel does not broadcast; the
    branch must expand them), a dark step, and a run without dose.
    """
    on_gpu, launches = gpu_branch_on_host
    extra, rtol, substep_rtol = DTYPES[dtype]
    gpu, twin, direct = initial_state(dtype), initial_state(dtype), initial_state(dtype)
    on_gpu.append(gpu)
    row = np.linspace(0.0, 3000.0, SHAPE[2]).astype(dtype)  # broadcast along the last axis
    schedule = [(fluence_rates(1, dtype), 1.0, PHOTOFRIN, DOSE), (fluence_rates(1, dtype), 1.0, PHOTOFRIN, DOSE),
                (2500.0, 2.5, PHOTOFRIN, DOSE), (row, 7.3, PHOTOFRIN, DOSE),
                (np.zeros(SHAPE, dtype), 3.0, PHOTOFRIN, DOSE), (fluence_rates(3, dtype), 30.0, PHOTOFRIN, DOSE),
                (fluence_rates(4, dtype), 2.0, STIFF, {}), (fluence_rates(5, dtype), 5.0, _no_dose(PHOTOFRIN), {})]
    for phi, dt, params, options in schedule:
        assert advance(gpu, phi, dt, params, **options, **extra) is gpu
        advance(twin, phi, dt, params, **options, **extra)
        full = np.broadcast_to(np.asarray(phi, dtype), SHAPE)
        assert run_host(host_kernel, direct, full, dt, params, threads=128, **options, **extra)[0] == 0
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(gpu, name), getattr(direct, name), err_msg=name)
        assert gpu.time == direct.time
        assert_states_close(gpu, twin, rtol, substep_rtol)
    n = gpu.s0.size
    real = {"float32": "float", "float64": "double"}[dtype]
    assert launches == [((-(-n // 128),), (128,), f"pdt_advance<{real}>")] * len(schedule)
    assert twin.singlet_oxygen_reacted.max() > 1.0 and twin.pdt_dose.max() > 0.0


def test_advance_gpu_branch_reports_non_convergence_like_the_twin(gpu_branch_on_host):
    on_gpu, launches = gpu_branch_on_host
    phi = fluence_rates(9, "float64")
    start = initial_state("float64")
    twin, gpu = copy.deepcopy(start), copy.deepcopy(start)
    on_gpu.append(gpu)
    with pytest.raises(SolverDidNotConverge) as from_twin:
        advance(twin, phi, 120.0, STIFF, max_attempts=2)
    with pytest.raises(SolverDidNotConverge) as from_gpu:
        advance(gpu, phi, 120.0, STIFF, max_attempts=2)
    assert str(from_gpu.value) == str(from_twin.value)  # same count, first index and wording
    assert gpu.time == twin.time == 0.0 and len(launches) == 1


def test_advance_gpu_branch_validates_before_launching(gpu_branch_on_host):
    from phototherm.errors import InputError

    on_gpu, launches = gpu_branch_on_host
    gpu = initial_state("float64")
    on_gpu.append(gpu)
    phi = fluence_rates(1, "float64")
    phi.flat[10] = -1.0
    with pytest.raises(InputError, match="fluence_rate"):
        advance(gpu, phi, 1.0, PHOTOFRIN)
    assert launches == []
