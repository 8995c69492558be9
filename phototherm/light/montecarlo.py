"""Voxel Monte Carlo photon transport: the accurate light solver.

:func:`simulate_monte_carlo` follows photon packets from one light source
through an :class:`~phototherm.light.OpticalMedium` and returns the fluence
rate per watt of source power, with its statistical uncertainty, and where
the launched energy went.

Method (MCX-like; the kernel's header comment, ``kernels/mc_transport.cu``,
gives the details, and :mod:`phototherm.light.montecarlo_twin` is its NumPy
twin):

* **Stepping.** Each packet moves voxel face to voxel face. The distance to
  the next scattering point is drawn as an optical depth ``tau = -ln(xi)`` and
  consumed as ``mus * length`` voxel by voxel, so heterogeneous media are
  followed exactly; scattering is Henyey-Greenstein with the local ``g``.
* **Absorption** is continuous along the path (weight times
  ``exp(-mua s)``). The fluence tally is the track-length estimator: a segment
  of length ``s`` in a voxel adds ``w (1 - exp(-mua s)) / mua`` (``w s`` where
  ``mua = 0``) [m x weight]; the voxel absorbs ``mua`` times that.
* **Interfaces.** Where the refractive index changes between voxels, and at the
  grid boundary (``medium.ambient_index`` outside), the packet is reflected
  with the Fresnel probability or refracted by Snell's law (total internal
  reflection beyond the critical angle); weight leaving the grid is tallied to
  the face it left by.
* **Sources** are sampled in the kernel: collimated beams (flat-top disc,
  Gaussian of 1/e^2 radius ``radius``, or pencil) in the plane perpendicular to
  their direction, carried along it to the entry face (points off the face are
  ``missed``), entering with weight ``1 - R_Fresnel`` (``R`` is the
  ``specular`` reflection, MCML's deterministic treatment; none when indices
  match) refracted by Snell's law; isotropic points; cylindrical diffusers
  (uniform along the segment, isotropic).
* **Russian roulette** (default on): a packet below weight 1e-4 survives with
  probability 0.1 at ten times its weight, or dies. Unbiased; its net effect
  is reported as ``roulette_balance`` (~0 within its error).
* **Random numbers.** xoroshiro128+ with one stream per photon, seeded by
  splitmix64 from ``(seed, photon index)``: a photon's history depends only on
  the seed and its index, so results are reproducible on any device and
  launch configuration, and the CPU twin follows the GPU kernel photon for
  photon (up to last-bit differences of the maths libraries).

**Energy accounting**, exact up to rounding::

    absorbed + sum(escaped) + specular + missed + trapped = 1 + roulette_balance

(fractions of the launched weight; ``trapped`` is weight stopped after
:data:`MAX_STEPS` steps, which happens only to light caught by total internal
reflection in a region that neither absorbs nor scatters).

**Uncertainty.** Photons run in ``batches``; the standard error of every
result (each voxel's fluence rate, each energy fraction) is the standard error
of the mean estimated from the spread of the batch means.

**Where it runs.** On the GPU the CUDA kernel (float32 by default, float64 on
request); on the CPU the NumPy twin (float64 by default), one streaming pool of
photons in one thread: the twin is bound by NumPy's per-call overhead and
memory traffic, and a second thread made it slower on the 2-core CI machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..backend import Backend, resolve_backend, to_host
from ..errors import Problems
from ..grid import FACES, Grid
from ..progress import ProgressBar
from .medium import OpticalMedium
from .montecarlo_twin import NUM_TALLIES, SOURCE_PARAMS, TALLY_NAMES, TwinRun, twin_parameters
from .sources import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, LightSource, validate_sources

__all__ = [
    "simulate_monte_carlo",
    "MonteCarloResult",
    "EnergyFractions",
    "PackedProblem",
    "pack_problem",
    "kernel_arguments",
    "ROULETTE_THRESHOLD",
    "ROULETTE_CHANCE",
    "MAX_STEPS",
]

KERNEL_FILE = "mc_transport.cu"
_CTYPES = {"float32": "float", "float64": "double"}
#: Threads per block of the kernel launch (any value gives the same photons).
BLOCK = 128
#: Russian roulette: weight below which it is played, and the survival probability.
ROULETTE_THRESHOLD = 1e-4
ROULETTE_CHANCE = 0.1
#: Steps (face crossings + scatterings) after which a packet is stopped as trapped.
MAX_STEPS = 1_000_000
#: Most photons per kernel launch: a float32 fluence tally then sums at most
#: ~1e6 increments per voxel before it is added to a float64 total.
LAUNCH_PHOTONS = 1 << 20
#: Photons advanced together by the CPU twin.
POOL_SIZE = 1 << 14


# ---- packing the problem for the kernel ----------------------------------------------
@dataclass(frozen=True, eq=False)
class PackedProblem:
    """A medium and a source in the kernel's layout and floating-point type.

    Attributes
    ----------
    props : ndarray, shape (nx, ny, nz, 4)
        Per voxel: mua [1/m], mus [1/m], g, n.
    source : ndarray, shape (SOURCE_PARAMS,)
        Source description in voxel units (layout in ``kernels/mc_transport.cu``).
    source_kind : int
        :data:`~phototherm.light.sources.SOURCE_KINDS` code.
    face_axis, face_side : int
        Entry face of a beam (axis 0-2, side 0 = min, 1 = max); 0 otherwise.
    inv_h : ndarray, shape (3,)
        Inverse voxel sizes [1/m].
    ambient_index : float
        Refractive index outside the grid.
    entry_face : str or None
        Name of the beam's entry face (``"z_min"``, ...).
    """

    grid: Grid
    props: np.ndarray
    source: np.ndarray
    source_kind: int
    face_axis: int
    face_side: int
    inv_h: np.ndarray
    ambient_index: float
    entry_face: str | None

    @property
    def dtype(self) -> np.dtype:
        return self.props.dtype


def pack_problem(medium: OpticalMedium, source: LightSource, dtype) -> PackedProblem:
    """Pack ``medium`` and a validated ``source`` for the kernel (or twin) in ``dtype``."""
    real = np.dtype(dtype).type
    grid = medium.grid
    props = np.stack([medium.mua, medium.mus, medium.g, medium.n], axis=-1).astype(real)
    spacing = np.array(grid.spacing)
    origin = np.array(grid.origin)
    desc = np.zeros(SOURCE_PARAMS)
    face_axis = face_side = 0
    entry_face = None
    if isinstance(source, CollimatedBeam):
        entry_face = source.entry_face(grid)
        face_axis = "xyz".index(entry_face[0])
        face_side = 0 if entry_face.endswith("min") else 1
        direction = np.array(source.direction)
        e1, e2 = _perpendicular_frame(direction)
        desc[0:3] = (np.array(source.position) - origin) / spacing
        desc[3:6] = direction
        desc[6:9] = e1
        desc[9:12] = e2
        desc[12] = source.radius
    elif isinstance(source, CylindricalDiffuser):
        start, end = (np.array(e) for e in source.ends)
        desc[0:3] = (start - origin) / spacing
        desc[3:6] = (end - start) / spacing
    elif isinstance(source, IsotropicPoint):
        desc[0:3] = (np.array(source.position) - origin) / spacing
    else:
        raise TypeError(f"no Monte Carlo sampling for a {type(source).__name__}")
    return PackedProblem(
        grid=grid, props=np.ascontiguousarray(props), source=desc.astype(real), source_kind=source.kind,
        face_axis=face_axis, face_side=face_side, inv_h=(1.0 / spacing).astype(real),
        ambient_index=float(medium.ambient_index), entry_face=entry_face,
    )


def _perpendicular_frame(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to the unit vector ``d`` and to each other."""
    sign = -1.0 if d[2] < 0 else 1.0
    a = -1.0 / (sign + d[2])
    b = d[0] * d[1] * a
    return (np.array([1.0 + sign * d[0] * d[0] * a, sign * b, -sign * d[0]]),
            np.array([b, sign + d[1] * d[1] * a, -d[1]]))


def kernel_arguments(problem: PackedProblem, props, fluence, tallies, source, *, seed: int, first_photon: int,
                     photon_count: int, roulette: bool = True, max_steps: int = MAX_STEPS) -> tuple:
    """Arguments of ``mc_transport<real>`` in ``kernels/mc_transport.cu``, in order.

    ``props``, ``fluence``, ``tallies`` and ``source`` are passed as they are
    (CuPy arrays on the GPU, NumPy arrays for the host build and the twin);
    scalars are cast to the kernel's C types. The GPU launch, the host build of
    the kernel (tests) and :func:`~phototherm.light.montecarlo_twin.mc_transport_twin`
    all receive exactly this tuple.

    Parameters
    ----------
    problem : PackedProblem
    props : array, shape (nx, ny, nz, 4)
        ``problem.props`` on the device.
    fluence : array, shape (nx, ny, nz)
        Fluence tally [m x weight], accumulated into.
    tallies : array of float64, shape (NUM_TALLIES,)
        Scalar tallies [launched weight], accumulated into.
    source : array, shape (SOURCE_PARAMS,)
        ``problem.source`` on the device.
    seed : int
        Random seed, 0 <= seed < 2**64.
    first_photon, photon_count : int
        The photon indices this launch runs.
    roulette : bool
        Russian roulette on or off.
    max_steps : int
        Steps after which a packet is stopped as trapped.
    """
    real = problem.dtype.type
    nx, ny, nz = problem.grid.shape
    return (
        props, fluence, tallies, source,
        np.int32(problem.source_kind), np.int32(problem.face_axis), np.int32(problem.face_side),
        np.int32(nx), np.int32(ny), np.int32(nz),
        *(real(v) for v in problem.inv_h), real(problem.ambient_index),
        np.uint64(seed), np.uint64(first_photon), np.uint64(photon_count),
        np.int32(1 if roulette else 0), real(ROULETTE_THRESHOLD), real(ROULETTE_CHANCE),
        np.int64(max_steps),
    )


# ---- results ----------------------------------------------------------------------------
_OPPOSITE = {"x_min": "x_max", "x_max": "x_min", "y_min": "y_max", "y_max": "y_min",
             "z_min": "z_max", "z_max": "z_min"}


@dataclass(frozen=True)
class EnergyFractions:
    """Where the launched energy went, as fractions of the launched weight.

    The same class holds the values (:attr:`MonteCarloResult.energy`) and their
    standard errors (:attr:`MonteCarloResult.energy_error`).

    Attributes
    ----------
    absorbed : float
        Absorbed in the grid.
    specular : float
        Reflected at a beam's entry (Fresnel, before entering).
    escaped : mapping of str to float
        Left the grid through each face (``"x_min"`` ... ``"z_max"``).
    escaped_total : float
        Left the grid through any face.
    missed : float
        Beam light that landed outside the entry face.
    roulette_balance : float
        Weight created by roulette survivors minus weight killed (~0).
    trapped : float
        Stopped after :data:`MAX_STEPS` steps (normally 0).
    entry_face : str or None
        The beam's entry face (None for sources inside the grid).
    """

    absorbed: float
    specular: float
    escaped: Mapping[str, float]
    escaped_total: float
    missed: float
    roulette_balance: float
    trapped: float
    entry_face: str | None = None

    @property
    def diffuse_reflectance(self) -> float | None:
        """Escaped back through a beam's entry face (MCML's Rd; specular excluded); None without a beam."""
        return None if self.entry_face is None else self.escaped[self.entry_face]

    @property
    def transmittance(self) -> float | None:
        """Escaped through the face opposite a beam's entry face (MCML's Tt, unscattered included)."""
        return None if self.entry_face is None else self.escaped[_OPPOSITE[self.entry_face]]

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in ("absorbed", "specular", "escaped_total", "missed",
                                                          "roulette_balance", "trapped")}
        out["escaped"] = dict(self.escaped)
        if self.entry_face is not None:
            out["diffuse_reflectance"] = self.diffuse_reflectance
            out["transmittance"] = self.transmittance
        return out


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Light field of one source per watt of its power, with statistical errors.

    Attributes
    ----------
    grid : Grid
    fluence_rate : ndarray, shape ``grid.shape``
        Fluence rate [W/m^2 per W of source power]: the voxel's track-length
        tally divided by voxel volume and launched weight.
    fluence_rate_error : ndarray
        Its standard error [W/m^2 per W], from the batch means.
    absorbed_power_density : ndarray
        ``mua * fluence_rate`` [W/m^3 per W]: the heat source of one watt.
    absorbed_power_density_error : ndarray
        Its standard error [W/m^3 per W].
    energy, energy_error : EnergyFractions
        Fractions of the launched energy and their standard errors.
    photons, batches, seed : int
        Photon packets launched, batches they ran in, random seed.
    roulette : bool
        Whether Russian roulette was on.
    source : LightSource
    device : dict
        The backend that ran it (:meth:`~phototherm.backend.Backend.describe`).
    elapsed_s : float
        Wall-clock time of the transport [s].
    photons_per_ms : float
        Throughput [photons/ms].
    """

    grid: Grid
    fluence_rate: np.ndarray
    fluence_rate_error: np.ndarray
    absorbed_power_density: np.ndarray
    absorbed_power_density_error: np.ndarray
    energy: EnergyFractions
    energy_error: EnergyFractions
    photons: int
    batches: int
    seed: int
    roulette: bool
    source: LightSource
    device: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    photons_per_ms: float = 0.0

    @property
    def energy_residual(self) -> float:
        """``absorbed + escaped + specular + missed + trapped - 1 - roulette_balance`` (rounding only)."""
        e = self.energy
        return (e.absorbed + e.escaped_total + e.specular + e.missed + e.trapped) - 1.0 - e.roulette_balance

    def describe(self) -> dict[str, Any]:
        """Plain-data summary (for result files): inputs, energy fractions with errors, device, timing."""
        return {
            "solver": "monte_carlo",
            "source": self.source.describe(),
            "photons": self.photons,
            "batches": self.batches,
            "seed": self.seed,
            "roulette": self.roulette,
            "energy_fraction": self.energy.as_dict(),
            "energy_fraction_standard_error": self.energy_error.as_dict(),
            "energy_residual": self.energy_residual,
            "device": dict(self.device),
            "elapsed_s": self.elapsed_s,
            "photons_per_ms": self.photons_per_ms,
        }


# ---- the driver ----------------------------------------------------------------------------
def simulate_monte_carlo(
    medium: OpticalMedium,
    source: LightSource,
    *,
    photons: int,
    seed: int = 0,
    roulette: bool = True,
    batches: int = 10,
    device: str | None = None,
    dtype=None,
    progress: bool | None = None,
) -> MonteCarloResult:
    """Monte Carlo light transport of one source through a voxel medium.

    Parameters
    ----------
    medium : OpticalMedium
        Per-voxel mua, mus [1/m], g, n and the ambient index outside.
    source : LightSource
        A :class:`~phototherm.light.CollimatedBeam`,
        :class:`~phototherm.light.IsotropicPoint` or
        :class:`~phototherm.light.CylindricalDiffuser` at the medium's
        wavelength. Its power does not enter: results are per watt.
    photons : int
        Photon packets to launch (>= batches).
    seed : int
        Random seed, 0 <= seed < 2**64. The same seed gives the same photons on
        any device and launch configuration.
    roulette : bool
        Russian roulette for packets below weight 1e-4 (default on; off follows
        every packet until it leaves the grid or its weight underflows).
    batches : int
        Number of batches (>= 2) the photons run in; the standard errors come
        from the spread of the batch means.
    device : {"auto", "cpu", "gpu"} or None
        Where to run (:func:`~phototherm.backend.resolve_backend`).
    dtype : {"float32", "float64"} or None
        Transport precision; default float32 on the GPU, float64 on the CPU.
        Tallies of energy are summed in double either way.
    progress : bool or None
        Progress bar over batches: True shows it, False hides it, None
        (default) shows it once a run has lasted 2 s.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    InputError
        Not an OpticalMedium; photons or batches not whole numbers, photons < 1,
        batches < 2 or > photons; seed outside [0, 2**64); a source that fails
        :func:`~phototherm.light.validate_sources` (outside the grid, wrong
        wavelength, ...). Every problem is reported.
    DeviceUnavailableError
        ``device="gpu"`` without a usable GPU.

    Examples
    --------
    >>> import phototherm as pt
    >>> from phototherm.light import OpticalMedium, CollimatedBeam
    >>> grid = pt.Grid((20, 20, 20), 0.5e-3)
    >>> medium = OpticalMedium.uniform(grid, mua=50.0, mus=5000.0, g=0.9, n=1.37, wavelength=808e-9)
    >>> beam = CollimatedBeam(power=1.0, wavelength=808e-9, position=(5e-3, 5e-3, 0.0), direction=(0, 0, 1))
    >>> result = simulate_monte_carlo(medium, beam, photons=2000, device="cpu", progress=False)
    >>> round(result.energy.specular, 4)   # ((1.37 - 1) / (1.37 + 1))^2
    0.0244
    """
    problems = Problems()
    if not problems.check(isinstance(medium, OpticalMedium), "medium", medium, "an OpticalMedium"):
        medium = None
    photons_ok = _whole(problems, photons, "photons", 1, None, "a whole number of photon packets >= 1")
    if photons_ok:
        _whole(problems, batches, "batches", 2, int(photons),
               f"a whole number of batches >= 2 and <= photons ({int(photons)})")
    else:
        _whole(problems, batches, "batches", 2, None, "a whole number of batches >= 2")
    _whole(problems, seed, "seed", 0, 2**64 - 1, "a whole number in [0, 2**64)")
    problems.check(isinstance(roulette, (bool, np.bool_)), "roulette", roulette, "True or False")
    problems.check(progress is None or isinstance(progress, (bool, np.bool_)), "progress", progress,
                   "True, False or None")
    if medium is not None:
        validate_sources(medium.grid, [source], medium.wavelength, path="source", problems=problems)
    if isinstance(source, LightSource):
        problems.check(isinstance(source, (CollimatedBeam, IsotropicPoint, CylindricalDiffuser)), "source",
                       type(source).__name__, "a CollimatedBeam, IsotropicPoint or CylindricalDiffuser")
    problems.raise_if_any("invalid Monte Carlo run")

    backend = resolve_backend(device, dtype)
    problem = pack_problem(medium, source, backend.dtype)
    photons, batches, seed = int(photons), int(batches), int(seed)
    sizes = [photons // batches + (1 if b < photons % batches else 0) for b in range(batches)]
    firsts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(int).tolist()
    stats = _BatchStatistics(sizes)

    # compiled (or fetched from CuPy's cache) before the clock starts
    kernel = None
    if backend.is_gpu:
        kernel = backend.load_kernel(KERNEL_FILE, f"mc_transport<{_CTYPES[backend.dtype.name]}>")
    start = time.perf_counter()
    with ProgressBar(batches, unit="batch", description="Monte Carlo", show=progress) as bar:
        if backend.is_gpu:
            _run_gpu(backend, kernel, problem, firsts, sizes, seed, bool(roulette), stats, bar)
        else:
            _run_cpu(problem, firsts, sizes, seed, bool(roulette), stats, bar)
    elapsed = time.perf_counter() - start
    return stats.result(medium, source, problem.entry_face, seed=seed, roulette=bool(roulette),
                        device=backend.describe(), elapsed=elapsed)


def _whole(problems: Problems, value, path: str, lo: int, hi: int | None, expected: str) -> bool:
    ok = (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
          and value >= lo and (hi is None or value <= hi))
    return problems.check(ok, path, value, expected)


class _BatchStatistics:
    """Batch tallies -> means per photon and their standard errors.

    Batches are added in the order they finish (fixed by the photons, so a
    seed reproduces results bit for bit). Fluence maps are reduced as they
    arrive, by a photon-weighted Welford update of the batch means; scalar
    tallies are kept per batch.
    """

    def __init__(self, sizes):
        self.sizes = sizes
        self.total = float(sum(sizes))
        self.tallies = np.zeros((len(sizes), NUM_TALLIES))
        self.count = 0.0
        self.mean = None    # running mean tally per photon [m], on the tallies' array module
        self.m2 = None      # photon-weighted sum of squared deviations of batch means [m^2]

    def add(self, batch: int, fluence, tallies) -> None:
        """Add batch ``batch``'s fluence tally [m] (NumPy or CuPy, float64) and scalar tallies."""
        if self.mean is None:
            self.mean, self.m2 = fluence * 0.0, fluence * 0.0
        photons = self.sizes[batch]
        x = fluence / photons
        self.count += photons
        delta = x - self.mean
        self.mean = self.mean + delta * (photons / self.count)
        self.m2 = self.m2 + photons * delta * (x - self.mean)
        self.tallies[batch] = tallies

    def _standard_error(self, m2):
        """SE of the mean per photon from the photon-weighted spread of the batch means."""
        return np.sqrt(np.maximum(m2, 0.0) / (len(self.sizes) - 1) / self.total)

    def result(self, medium, source, entry_face, *, seed, roulette, device, elapsed) -> MonteCarloResult:
        grid = medium.grid
        fluence = to_host(self.mean) / grid.cell_volume
        fluence_se = self._standard_error(to_host(self.m2)) / grid.cell_volume
        n = np.array(self.sizes, dtype=float)[:, None]
        columns = np.column_stack((self.tallies, self.tallies[:, 5:11].sum(axis=1)))
        means = columns.sum(axis=0) / self.total
        errors = self._standard_error((n * (columns / n - means) ** 2).sum(axis=0))
        energy = _fractions(means[:NUM_TALLIES], float(means[-1]), entry_face)
        energy_error = _fractions(errors[:NUM_TALLIES], float(errors[-1]), entry_face)
        photons = int(self.total)
        return MonteCarloResult(
            grid=grid, fluence_rate=fluence, fluence_rate_error=fluence_se,
            absorbed_power_density=medium.mua * fluence, absorbed_power_density_error=medium.mua * fluence_se,
            energy=energy, energy_error=energy_error, photons=photons, batches=len(self.sizes), seed=seed,
            roulette=roulette, source=source, device=device, elapsed_s=elapsed,
            photons_per_ms=photons / max(elapsed * 1e3, 1e-12),
        )


def _fractions(v: np.ndarray, escaped_total: float, entry_face) -> EnergyFractions:
    named = dict(zip(TALLY_NAMES, (float(x) for x in v)))
    return EnergyFractions(
        absorbed=named["absorbed"], specular=named["specular"],
        escaped={face: named[f"escaped_{face}"] for face in FACES}, escaped_total=escaped_total,
        missed=named["missed"], roulette_balance=named["roulette_balance"], trapped=named["trapped"],
        entry_face=entry_face,
    )


def _run_cpu(problem: PackedProblem, firsts, sizes, seed, roulette, stats: _BatchStatistics, bar) -> None:
    # the twin reads the kernel's own argument list (launch-specific entries unused)
    params = twin_parameters(*kernel_arguments(problem, problem.props, None, None, problem.source, seed=seed,
                                               first_photon=0, photon_count=0, roulette=roulette))

    def done(batch, fluence, tallies):
        stats.add(batch, fluence, tallies)
        bar.update(1)

    # one pool streams through every batch, so the pool drains (its slow tail) only once
    TwinRun(params, list(zip(firsts, sizes)), done, pool_size=POOL_SIZE).run()


def _run_gpu(backend: Backend, kernel, problem: PackedProblem, firsts, sizes, seed, roulette,
             stats: _BatchStatistics, bar) -> None:
    xp = backend.xp
    props = backend.asarray(problem.props)
    source = backend.asarray(problem.source)
    fluence = xp.zeros(problem.grid.shape, dtype=backend.dtype)
    tallies = xp.zeros(NUM_TALLIES, dtype=np.float64)
    batch_fluence = xp.zeros(problem.grid.shape, dtype=np.float64)
    sms = xp.cuda.Device(backend.device_id).attributes["MultiProcessorCount"]
    for b, (first, count) in enumerate(zip(firsts, sizes)):
        batch_fluence.fill(0)
        tallies.fill(0)
        # launches of at most LAUNCH_PHOTONS, each summed into float64, so that a
        # float32 tally never adds increments far below its own rounding
        for start in range(first, first + count, LAUNCH_PHOTONS):
            n = min(LAUNCH_PHOTONS, first + count - start)
            fluence.fill(0)
            blocks = max(1, min(16 * sms, -(-n // BLOCK)))
            kernel((blocks,), (BLOCK,), kernel_arguments(problem, props, fluence, tallies, source, seed=seed,
                                                         first_photon=start, photon_count=n, roulette=roulette))
            batch_fluence += fluence
        stats.add(b, batch_fluence, to_host(tallies))
        bar.update(1)
    backend.synchronize()
