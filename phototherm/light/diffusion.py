"""Steady diffusion-approximation light transport on the voxel grid.

:func:`solve_diffusion` returns the fluence rate of one light source, per watt
of source power, in a heterogeneous :class:`~phototherm.light.OpticalMedium`.

Model
-----
The diffuse fluence rate ``phi_d`` [W/m^2] obeys

    -div(D grad phi_d) + mua phi_d = S,        D = 1 / (3 (mua + mus')),

with ``mus' = mus (1 - g)``, on the cell-centred grid by finite volumes. This
is the operator of the steady Pennes problem with conductivity -> D and
perfusion sink -> mua, so the bioheat stencil is reused as it is
(:func:`~phototherm.bioheat.stencil.face_conductances` with harmonic-mean face
coefficients ``2 D_i D_j / (D_i + D_j) / h^2``,
:func:`~phototherm.bioheat.stencil.conduction`) and the system, symmetric
positive definite, is solved by the Jacobi-preconditioned
:func:`~phototherm.bioheat.implicit.conjugate_gradient` on NumPy or CuPy.

**Boundaries.** Every face of the grid is a tissue surface towards the
ambient medium (``medium.ambient_index``). The extrapolated-boundary (Robin)
condition sets the outward diffuse flux to ``J = phi_s / (2 A)``, with
``A = (1 + R_eff) / (1 - R_eff)`` from the Fresnel integrals of Haskell et al.
(1994) for the relative index ``n / n_ambient`` of each boundary voxel
(:mod:`phototherm.light.fresnel`). As for the bioheat ``Convective`` boundary,
this surface "film" is in series with diffusion over the half voxel between
the voxel centre and the face:
``J = phi_c / (2 A + h / (2 D))``, a sink ``beta = 1 / (h (2 A + h / (2 D)))``
[1/m] per unit volume of the boundary voxel. Light leaving the grid is not
re-entered.

**Sources** (all normalised to 1 W):

- :class:`~phototherm.light.IsotropicPoint`: ``S`` is spread over the 8 voxels
  around the point with trilinear (cloud-in-cell) weights, summing to
  ``1 / V``. A point at a voxel centre fills that voxel alone; the field then
  moves continuously with the point (a planner that moves fibres sees a
  smooth objective). Weight falling beyond a face (a point within half a
  voxel of it) goes to the outermost voxel. Beyond about two voxels from the
  point the field converges at second order in h to the continuous one
  (measured: tests/validation/test_diffusion_reference.py).
- :class:`~phototherm.light.CylindricalDiffuser`: the segment is cut into
  ``M >= 4 L / h_min`` (at least 16) equal pieces whose midpoints are spread as
  points of power ``1 / M``.
- :class:`~phototherm.light.CollimatedBeam`: the unscattered (collimated)
  beam is followed explicitly (delta-Eddington-type similarity scaling with
  forward fraction f = g: that part of the scattering stays in the beam, the
  rest, mus', is isotropic, so no anisotropic source term appears). The beam
  profile is integrated over the face voxels by supersampling (see
  ``supersampling``); each part of the beam loses the specular Fresnel
  reflectance ``R(theta_i)`` for the ambient -> tissue step of the voxel it
  enters (it is refracted by Snell's law), then is attenuated as
  ``exp(-int mu_t' ds)``, ``mu_t' = mua + mus'``, along its straight path,
  voxel by voxel with exact path lengths (a vectorised Amanatides-Woo ray
  march). Its voxel-averaged fluence rate ``E_c`` (power x path length in the
  voxel / V, the exact mean over the voxel) is a distributed isotropic source
  ``S = mus' E_c`` of diffuse light and absorbs ``mua E_c`` itself; it is
  added to the returned fluence rate. Collimated light reaching another face
  leaves the grid. A pencil beam (radius 0) is one ray: all its power enters
  one column (the voxel whose half-open extent ``[i h, (i + 1) h)`` holds the
  entry point).

Accuracy of the physics (PHYSICS.md section 3): diffusion is accurate to
about 1 % beyond about 3 transport mean free paths ``1 / (mua + mus')`` from
sources and boundaries; within ~2 mm of an illuminated surface it
underestimates the fluence by a few %, and it degrades as mua approaches mus'
(nanoparticle-loaded regions), where the solver warns with
:class:`LightModelWarning` and Monte Carlo (:mod:`phototherm.light.montecarlo`)
should be used.

Discretisation (second order in h; measured in
tests/validation/test_diffusion_reference.py, mus' = 1000 /m, mua = 80 /m):
near a point source the 7-point stencil's lattice anisotropy dominates, about
1.8 % at 8 voxels from the point and 9 % at 4 (a quarter of that per halving
of h); under a broad beam the fluence is within 0.54 % / 0.14 % of the 1-D
solution for ``h (mua + mus') = 0.27 / 0.135``. Keep ``h (mua + mus')`` below
about 0.5 under illuminated surfaces and ``h`` below ``r / 8`` at distance r
from fibres for percent-level discretisation errors.

Not modelled: Fresnel reflection of diffuse light at internal index steps
(only at the grid's faces); every face is an interface to the ambient index,
including faces that in reality continue into deeper tissue (make the grid
large enough that little light reaches them, or treat them as escape faces).

Solver cost: Jacobi-preconditioned CG (rtol 1e-8) needs about
``min(3 n, 30 / (mu_eff h))`` iterations (n: voxels along the grid's longest
edge): 86, 170, 330 for a 20 mm cube at 32^3, 64^3, 128^3 (mu_eff = 397 /m),
11 s for 128^3 on 2 CPU cores; at fixed h = 0.5 mm, 97, 124, 143 for
n = 32, 64, 96. A multigrid preconditioner would make this independent of h
(future work).

Energy is conserved by construction: the power absorbed, the diffuse power
leaving through the faces, the collimated power leaving through them, the
specular reflection and beam power missing the face add up to 1 W up to the
CG residual (:meth:`DiffusionResult.energy_balance`).

References
----------
R. C. Haskell et al., J. Opt. Soc. Am. A 11, 2727 (1994); J. H. Joseph,
W. J. Wiscombe and J. A. Weinman, J. Atmos. Sci. 33, 2452 (1976)
(delta-Eddington); S. L. Jacques, Phys. Med. Biol. 58, R37 (2013).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from ..backend import resolve_backend, to_host
from ..bioheat.implicit import conjugate_gradient
from ..bioheat.stencil import conduction, conduction_diagonal, face_conductances
from ..errors import InputError, Problem, Problems
from ..grid import AXES, FACES, Grid
from .fresnel import extrapolated_boundary_factor, fresnel_reflectance
from .medium import OpticalMedium
from .sources import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, LightSource, validate_sources

__all__ = [
    "solve_diffusion",
    "DiffusionResult",
    "LightModelWarning",
    "boundary_sink",
    "RATIO_LIMIT",
    "SHARE_LIMIT",
]

#: ``mua / mus'`` above which the diffusion approximation is poor.
RATIO_LIMIT = 0.1
#: Share of the absorbed power in voxels above :data:`RATIO_LIMIT` that triggers the warning.
SHARE_LIMIT = 0.01

#: Default CG relative tolerance per floating-point type. In float32 the attainable
#: true residual grows with the grid (1.1e-5 at 128^3 for a beam; see
#: benchmarks/RESULTS.md) while the fluence stays within ~2e-6 of float64's.
DEFAULT_RTOL = {"float64": 1e-8, "float32": 1e-4}

#: A Gaussian beam is sampled out to this many 1/e^2 radii (the power beyond,
#: exp(-2 * 4.5^2) = 3e-18, is neglected).
_GAUSSIAN_CUT = 4.5
#: Sub-rays per voxel edge for an oblique beam (normal incidence needs one ray per column).
_OBLIQUE_RAYS = 4
#: Largest number of samples per face-voxel edge.
_MAX_SUPERSAMPLING = 256
#: A ray whose power falls below this fraction of its initial power deposits the rest where it is.
_RAY_CUTOFF = 1e-14


class LightModelWarning(UserWarning):
    """The light model's assumptions fail somewhere that matters.

    Raised (as a warning) by :func:`solve_diffusion` when voxels with
    ``mua / mus' > RATIO_LIMIT`` (0.1) absorb more than ``SHARE_LIMIT`` (1 %)
    of the absorbed power: diffusion theory assumes scattering dominates
    absorption, and its fluence there can be off by tens of percent. Use the
    Monte Carlo solver (:mod:`phototherm.light.montecarlo`) for such media.
    Filter it with ``warnings.filterwarnings("ignore", category=LightModelWarning)``.
    """


@dataclass(frozen=True, eq=False)
class DiffusionResult:
    """Fluence of one source per watt of its power, from :func:`solve_diffusion`.

    Arrays live on the backend that solved (NumPy or CuPy), in its dtype;
    :meth:`to_host` gives a copy with NumPy arrays. Multiply by the source's
    power [W] (and schedule) for absolute values.

    Attributes
    ----------
    grid : Grid
    fluence_rate : array, shape ``grid.shape``
        Total fluence rate, diffuse plus collimated [W/m^2 per W of source power].
    absorbed_power_density : array, shape ``grid.shape``
        ``mua * fluence_rate`` [W/m^3 per W]: the heat source of the bioheat model.
    collimated_fluence_rate : array or None
        Voxel-mean fluence rate of the unscattered beam [W/m^2 per W] (included
        in ``fluence_rate``); ``None`` for interstitial sources.
    iterations : int
        Conjugate-gradient iterations.
    relative_residual : float
        ``||S - A phi|| / ||S||`` of the returned diffuse field (recomputed, not
        the CG recurrence).
    backend : dict
        The backend's description (name, dtype, why chosen).
    elapsed_s : float
        Wall time of the solve [s], source set-up included.
    source : dict
        The source's description.
    """

    grid: Grid
    fluence_rate: Any
    absorbed_power_density: Any
    collimated_fluence_rate: Any
    iterations: int
    relative_residual: float
    backend: dict
    elapsed_s: float
    source: dict
    _energy: Mapping[str, Any] = field(repr=False)
    _exit_transfer: Mapping[str, Any] = field(repr=False)

    @property
    def diffuse_fluence_rate(self):
        """Diffuse part of the fluence rate [W/m^2 per W]."""
        if self.collimated_fluence_rate is None:
            return self.fluence_rate
        return self.fluence_rate - self.collimated_fluence_rate

    def energy_balance(self) -> dict:
        """Where the 1 W of source power goes [W].

        Returns
        -------
        dict
            ``source_W`` (1), ``specular_reflection_W`` (Fresnel at the
            entry face), ``missed_W`` (Gaussian tail beyond the face),
            ``absorbed_W`` (``sum mua phi V``; of which
            ``absorbed_collimated_W`` by the unscattered beam),
            ``diffuse_exit_W`` (``sum J A_face`` over the six faces) with
            ``diffuse_exit_by_face_W``, ``collimated_exit_W`` (unscattered
            light reaching another face), ``accounted_W`` (the sum of the
            specular, missed, absorbed and exit terms) and ``relative_error``
            ``accounted_W - 1``. The error is the sum of the CG residual over
            the grid times V: at most ``sqrt(N) * relative_residual``, usually
            far less.
        """
        out = dict(self._energy)
        out["diffuse_exit_by_face_W"] = dict(out["diffuse_exit_by_face_W"])
        return out

    def exitance(self, face: str):
        """Diffuse power per area leaving through one face [W/m^2 per W].

        ``J = phi_c / (2 A + h / (2 D))`` on each boundary voxel of ``face``
        (the diffuse reflectance map, for an illuminated face); a 2-D array
        over the face's two other axes, on the backend.
        """
        if face not in FACES:
            raise InputError("unknown face", [Problem("face", face, f"one of {', '.join(FACES)}")])
        axis = AXES.index(face[0])
        layer = 0 if face.endswith("min") else self.grid.shape[axis] - 1
        diffuse = self.diffuse_fluence_rate
        return self._exit_transfer[face] * diffuse.take(layer, axis=axis)

    def to_host(self) -> "DiffusionResult":
        """A copy whose arrays are NumPy arrays (same dtype)."""
        def host(a):
            return None if a is None else to_host(a)

        return replace(
            self,
            fluence_rate=host(self.fluence_rate),
            absorbed_power_density=host(self.absorbed_power_density),
            collimated_fluence_rate=host(self.collimated_fluence_rate),
            _exit_transfer={face: host(a) for face, a in self._exit_transfer.items()},
        )

    def describe(self) -> dict:
        """Plain-data summary (solver statistics and energy balance) for result files."""
        return {
            "model": "diffusion",
            "iterations": self.iterations,
            "relative_residual": self.relative_residual,
            "elapsed_s": self.elapsed_s,
            "backend": dict(self.backend),
            "source": dict(self.source),
            "energy_balance": self.energy_balance(),
        }


def boundary_sink(diffusion, spacing, factor):
    """Boundary sink ``beta`` of a boundary voxel [1/m].

    ``beta = 1 / (h (2 A + h / (2 D)))``: the partial-current flux
    ``J = phi_s / (2 A)`` in series with diffusion over the half voxel,
    per unit volume and unit fluence rate. Equal to the bioheat
    ``Convective(1 / (2 A), 0).conductance(D, h)``.

    Parameters
    ----------
    diffusion : float or array
        D of the boundary voxels [m].
    spacing : float
        Voxel size normal to the face [m].
    factor : float or array
        A of the boundary voxels (dimensionless).
    """
    return 1.0 / (spacing * (2.0 * factor + spacing / (2.0 * diffusion)))


def solve_diffusion(
    medium: OpticalMedium,
    source: LightSource,
    *,
    device: str | None = None,
    dtype=None,
    rtol: float | None = None,
    max_iterations: int | None = None,
    supersampling: int = 8,
) -> DiffusionResult:
    """Fluence rate of one source, per watt, in the diffusion approximation.

    Parameters
    ----------
    medium : OpticalMedium
        Per-voxel ``mua``, ``mus`` [1/m], ``g``, ``n`` and the ambient index.
        Every voxel must have ``mua + mus' > 0``.
    source : LightSource
        A :class:`~phototherm.light.CollimatedBeam`,
        :class:`~phototherm.light.IsotropicPoint` or
        :class:`~phototherm.light.CylindricalDiffuser` at the medium's
        wavelength. Its ``power`` and schedule are not used: results are per W.
    device : {"auto", "cpu", "gpu"} or None
        Backend (see :func:`~phototherm.backend.resolve_backend`).
    dtype : {"float32", "float64"} or None
        Floating type of the solve; default float32 on the GPU, float64 on the CPU.
    rtol : float, optional
        CG tolerance on the true residual ``||S - A phi|| / ||S||``; default
        1e-8 in float64, 1e-4 in float32 (whose rounding limits the attainable
        residual on large grids).
    max_iterations : int, optional
        CG iteration limit; default ``20 * sum(grid.shape) + 1000``.
    supersampling : int
        Samples per face-voxel edge used to integrate a beam's profile (at
        least 8 per 1/e^2 radius of a Gaussian, or 8 per flat-top radius, are
        taken whatever this says, up to 256). Ignored for other sources.

    Returns
    -------
    DiffusionResult

    Raises
    ------
    InputError
        Not an OpticalMedium; a bad or unsupported source, or one at another
        wavelength; a voxel with ``mua + mus' = 0`` (diffusion cannot
        represent a clear medium); bad ``rtol``, ``max_iterations`` or
        ``supersampling``. Every problem is reported.
    DeviceUnavailableError
        ``device="gpu"`` without a usable GPU.
    SolverDidNotConverge
        CG missed ``rtol`` within ``max_iterations``.

    Warns
    -----
    LightModelWarning
        Voxels with ``mua / mus' > 0.1`` absorb more than 1 % of the absorbed
        power (the message names the ratio and where).

    Examples
    --------
    >>> import phototherm as pt
    >>> from phototherm.light import OpticalMedium, IsotropicPoint
    >>> grid = pt.Grid((21, 21, 21), 0.5e-3)
    >>> medium = OpticalMedium.uniform(grid, mua=50.0, mus=10000.0, g=0.9, n=1.37, wavelength=808e-9)
    >>> fibre = IsotropicPoint(power=1.0, wavelength=808e-9, position=(5.25e-3, 5.25e-3, 5.25e-3))
    >>> result = solve_diffusion(medium, fibre, device="cpu")
    >>> abs(result.energy_balance()["relative_error"]) < 1e-6
    True
    """
    start = time.perf_counter()
    problems = Problems()
    if not problems.check(isinstance(medium, OpticalMedium), "medium", medium, "an OpticalMedium"):
        problems.raise_if_any("cannot solve the diffusion equation")
    grid = medium.grid
    validate_sources(grid, [source], medium.wavelength, problems=problems)
    if isinstance(source, LightSource) and not isinstance(source, (CollimatedBeam, IsotropicPoint, CylindricalDiffuser)):
        problems.add("sources[0]", type(source).__name__, "a CollimatedBeam, IsotropicPoint or CylindricalDiffuser")
    musp = medium.reduced_scattering
    transport = medium.mua + musp
    clear = ~(transport > 0)
    if np.any(clear):
        idx = tuple(int(i) for i in np.argwhere(clear)[0])
        problems.add(
            f"medium.mua{list(idx)}, medium.mus{list(idx)}",
            (float(medium.mua[idx]), float(musp[idx])),
            "mua + mus (1 - g) > 0 [1/m] in every voxel: diffusion cannot represent a clear voxel "
            f"({int(clear.sum())} of {clear.size} voxels are clear); give it some absorption or "
            "scattering, or use phototherm.light.montecarlo",
        )
    if rtol is not None:
        problems.check(_is_number(rtol) and 0 < rtol < 1, "rtol", rtol, "a relative tolerance in (0, 1)")
    if max_iterations is not None:
        problems.check(_is_count(max_iterations), "max_iterations", max_iterations, "a whole number >= 1")
    problems.check(_is_count(supersampling), "supersampling", supersampling, "a whole number >= 1")
    problems.raise_if_any("cannot solve the diffusion equation")

    backend = resolve_backend(device, dtype)
    xp = backend.xp
    rtol = DEFAULT_RTOL[backend.dtype.name] if rtol is None else float(rtol)
    max_iterations = 20 * sum(grid.shape) + 1000 if max_iterations is None else int(max_iterations)
    volume = grid.cell_volume

    # -- operator: -div(D grad) + mua + boundary sinks ---------------------------
    diffusion = 1.0 / (3.0 * transport)
    sink_host = np.array(medium.mua, dtype=np.float64, copy=True)
    transfer = {}
    for face, layer, h in _faces(grid):
        factor = _boundary_factors(medium.n[layer] / medium.ambient_index)
        beta = boundary_sink(diffusion[layer], h, factor)
        sink_host[layer] += beta
        transfer[face] = backend.asarray(np.squeeze(beta * h, axis=AXES.index(face[0])))
    faces = face_conductances(backend.asarray(diffusion), grid.spacing, (False, False, False))
    sink = backend.asarray(sink_host)
    mua = backend.asarray(medium.mua)
    inv_diagonal = 1 / (sink + conduction_diagonal(faces, grid.shape))

    def apply(v):
        return sink * v - conduction(v, faces)

    # -- source --------------------------------------------------------------------
    energy = {"source_W": 1.0, "specular_reflection_W": 0.0, "missed_W": 0.0, "collimated_exit_W": 0.0}
    if isinstance(source, CollimatedBeam):
        beam = _collimated_beam(grid, source, transport, medium.n, medium.ambient_index, xp, supersampling)
        energy.update(specular_reflection_W=beam.specular, missed_W=beam.missed, collimated_exit_W=beam.exit)
        collimated = (beam.path_integral / volume).reshape(grid.shape).astype(backend.dtype)
        rhs = backend.asarray(musp) * collimated
    else:
        points, weights = _emission_points(grid, source)
        flat, w = _cloud_in_cell(grid, points, weights)
        density = xp.bincount(xp.asarray(flat), weights=xp.asarray(w), minlength=grid.size) / volume
        rhs = density.reshape(grid.shape).astype(backend.dtype)
        collimated = None

    # -- solve -----------------------------------------------------------------------
    diffuse, iterations = conjugate_gradient(
        apply, rhs, inv_diagonal, xp.zeros(grid.shape, dtype=backend.dtype), rtol=rtol, max_iterations=max_iterations
    )
    rhs_norm = _norm(rhs)
    residual = _norm(rhs - apply(diffuse)) / rhs_norm if rhs_norm > 0 else 0.0
    fluence = diffuse if collimated is None else diffuse + collimated
    absorbed = mua * fluence

    # -- energy balance --------------------------------------------------------------
    energy["absorbed_W"] = _sum(absorbed) * volume
    energy["absorbed_collimated_W"] = _sum(mua * collimated) * volume if collimated is not None else 0.0
    by_face = {}
    for face, layer, h in _faces(grid):
        axis = AXES.index(face[0])
        by_face[face] = _sum(transfer[face] * diffuse.take(layer[axis].start, axis=axis)) * grid.cell_volume / h
    energy["diffuse_exit_by_face_W"] = by_face
    energy["diffuse_exit_W"] = math.fsum(by_face.values())
    energy["accounted_W"] = math.fsum(
        energy[k] for k in ("specular_reflection_W", "missed_W", "absorbed_W", "diffuse_exit_W", "collimated_exit_W")
    )
    energy["relative_error"] = energy["accounted_W"] - 1.0

    _warn_if_diffusion_fails(grid, medium, musp, absorbed, energy["absorbed_W"] / volume, backend)
    backend.synchronize()
    return DiffusionResult(
        grid=grid,
        fluence_rate=fluence,
        absorbed_power_density=absorbed,
        collimated_fluence_rate=collimated,
        iterations=int(iterations),
        relative_residual=float(residual),
        backend=backend.describe(),
        elapsed_s=time.perf_counter() - start,
        source=source.describe(),
        _energy=energy,
        _exit_transfer=transfer,
    )


# -- boundaries --------------------------------------------------------------------
def _faces(grid: Grid):
    """``(face, layer index tuple, spacing normal to the face)`` for the six faces."""
    for face in FACES:
        d = AXES.index(face[0])
        index = 0 if face.endswith("min") else grid.shape[d] - 1
        layer = [slice(None)] * 3
        layer[d] = slice(index, index + 1)
        yield face, tuple(layer), grid.spacing[d]


def _boundary_factors(relative_index: np.ndarray) -> np.ndarray:
    """A for every entry, computing the Fresnel integrals once per distinct index."""
    values, inverse = np.unique(relative_index, return_inverse=True)
    return np.asarray(extrapolated_boundary_factor(values)).reshape(-1)[inverse].reshape(relative_index.shape)


# -- interstitial sources -------------------------------------------------------------
def _emission_points(grid: Grid, source: LightSource) -> tuple[np.ndarray, np.ndarray]:
    """Emission points [m] and their shares of the 1 W."""
    if isinstance(source, IsotropicPoint):
        return np.asarray([source.position], dtype=np.float64), np.ones(1)
    start, end = (np.asarray(e, dtype=np.float64) for e in source.ends)
    count = max(16, math.ceil(4.0 * source.length / min(grid.spacing)))
    fractions = (np.arange(count) + 0.5) / count
    points = start[None, :] + fractions[:, None] * (end - start)[None, :]
    return points, np.full(count, 1.0 / count)


def _cloud_in_cell(grid: Grid, points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat voxel indices and weights spreading each point trilinearly over 8 voxel centres.

    Weight that would fall outside the grid is moved to the outermost voxel
    (indices are clipped), so the weights of each point still sum to its share.
    """
    shape = np.asarray(grid.shape)
    f = (points - np.asarray(grid.origin)) / np.asarray(grid.spacing) - 0.5
    base = np.floor(f).astype(np.int64)
    t = f - base
    flats, ws = [], []
    for corner in range(8):
        offset = np.array([(corner >> 2) & 1, (corner >> 1) & 1, corner & 1])
        idx = np.clip(base + offset, 0, shape - 1)
        w = weights * np.prod(np.where(offset == 1, t, 1.0 - t), axis=1)
        flats.append((idx[:, 0] * shape[1] + idx[:, 1]) * shape[2] + idx[:, 2])
        ws.append(w)
    return np.concatenate(flats), np.concatenate(ws)


# -- collimated beam ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Beam:
    path_integral: Any  # flat, float64, on the backend: sum over rays of power x path length in each voxel [W m]
    specular: float
    missed: float
    exit: float


def _collimated_beam(grid, beam, transport, n, ambient, xp, supersampling) -> _Beam:
    """Follow the unscattered part of a collimated beam through the grid (float64 throughout)."""
    face = beam.entry_face(grid)
    a = AXES.index(face[0])
    b, c = (d for d in range(3) if d != a)
    lo_side = face.endswith("min")
    d = np.asarray(beam.direction, dtype=np.float64)
    normal = np.zeros(3)
    normal[a] = 1.0 if lo_side else -1.0
    cos_i = float(d @ normal)
    oblique = math.hypot(d[b], d[c]) > 1e-12
    pos = np.asarray(beam.position, dtype=np.float64)

    # rays: start points on the face (in-plane coordinates) and incident powers
    if beam.radius == 0:
        ray_b, ray_c, power = (xp.asarray([pos[b]]), xp.asarray([pos[c]]), xp.asarray([1.0]))
        missed = 0.0
    else:
        ray_b, ray_c, power, missed = _sample_profile(grid, beam, a, b, c, d, cos_i, oblique, xp, supersampling)

    # voxel of entry, Fresnel transmission and refracted direction per ray
    shape, origin, spacing = grid.shape, grid.origin, grid.spacing
    ib = xp.clip(xp.floor((ray_b - origin[b]) / spacing[b]).astype(xp.int64), 0, shape[b] - 1)
    ic = xp.clip(xp.floor((ray_c - origin[c]) / spacing[c]).astype(xp.int64), 0, shape[c] - 1)
    layer = [slice(None)] * 3
    layer[a] = 0 if lo_side else shape[a] - 1
    n_face = xp.asarray(np.ascontiguousarray(n[tuple(layer)]), dtype=xp.float64)  # (n_b, n_c)
    n_t = n_face[ib, ic]
    reflect = fresnel_reflectance(ambient, n_t, cos_i)
    specular = float((power * reflect).sum())
    power = power * (1.0 - reflect)
    eta = ambient / n_t
    cos_t = xp.sqrt(xp.clip(1.0 - eta * eta * (1.0 - cos_i * cos_i), 0.0, 1.0))
    keep = power > 0
    ray_b, ray_c, power, eta, cos_t, ib, ic = (v[keep] for v in (ray_b, ray_c, power, eta, cos_t, ib, ic))
    # t = eta d + (cos_t - eta cos_i) N  (Snell; unit length)
    direction = [eta * d[k] + (cos_t - eta * cos_i) * normal[k] for k in range(3)]

    idx = [None, None, None]
    idx[a] = xp.full(ray_b.shape, 0 if lo_side else shape[a] - 1, dtype=xp.int64)
    idx[b], idx[c] = ib, ic
    start = [None, None, None]
    start[a] = xp.full(ray_b.shape, grid.bounds[a][0 if lo_side else 1])
    start[b], start[c] = ray_b, ray_c
    path, exit_power = _march(grid, idx, start, direction, power, transport, xp)
    return _Beam(path, specular, missed, exit_power)


def _sample_profile(grid, beam, a, b, c, d, cos_i, oblique, xp, supersampling):
    """Rays (in-plane start coordinates [m], powers [W]) sampling the beam's footprint on its face.

    The face irradiance ``I(rho) cos_i`` (``rho``: distance from the beam axis,
    perpendicular to it) is sampled at ``s x s`` midpoints per face voxel (a
    flat top's edge anti-aliased: a sample counts by the fraction of its cell
    inside the disc, linear in ``rho`` across one sample pitch);
    a Gaussian at normal incidence is separable and integrated exactly over
    each sample cell with error functions); samples are summed into one ray per voxel (normal incidence, where every
    ray of a column meets the same voxels) or ``4 x 4`` rays per voxel
    (oblique), each starting at its samples' power centroid. A flat top is
    normalised to 1 W (its footprint lies inside the face by validation); a
    Gaussian keeps its sum (exact at normal incidence; for an oblique beam the
    midpoint sum of a smooth Gaussian is accurate to ``pitch^2 / 24`` times
    the irradiance gradient at the face's edges) and the rest is the power
    missing the face.
    """
    spacing, origin, shape = grid.spacing, grid.origin, grid.shape
    pos = beam.position
    gaussian = beam.profile == "gaussian"
    radius = beam.radius
    cut = (_GAUSSIAN_CUT if gaussian else 1.0) * radius / cos_i
    rays = _OBLIQUE_RAYS if oblique else 1
    needed = max(int(supersampling), math.ceil(8.0 * max(spacing[b], spacing[c]) / radius))
    s = min(_MAX_SUPERSAMPLING, needed)
    s = rays * math.ceil(s / rays) if oblique else s

    def axis_samples(k):
        i0 = max(0, math.floor((pos[k] - cut - origin[k]) / spacing[k]))
        i1 = min(shape[k] - 1, math.floor((pos[k] + cut - origin[k]) / spacing[k]))
        i1 = max(i0, i1)
        frac = (xp.arange((i1 - i0 + 1) * s, dtype=xp.float64) + 0.5) / s
        return origin[k] + (i0 + frac) * spacing[k] - pos[k], i1 - i0 + 1

    xb, nb = axis_samples(b)
    xc, nc = axis_samples(c)
    xb2, xc2 = xb[:, None], xc[None, :]
    along = xb2 * d[b] + xc2 * d[c]
    rho2 = xb2 * xb2 + xc2 * xc2 - along * along
    area = spacing[b] * spacing[c] / (s * s)
    if gaussian and not oblique:
        # separable: exact integrals over each sample cell (erf differences)
        def cell_integrals(x, pitch):
            scale = math.sqrt(2.0) / radius
            return 0.5 * (_erf(xp, (x + 0.5 * pitch) * scale) - _erf(xp, (x - 0.5 * pitch) * scale))

        weight = cell_integrals(xb, spacing[b] / s)[:, None] * cell_integrals(xc, spacing[c] / s)[None, :]
    elif gaussian:
        weight = (2.0 / (math.pi * radius**2) * cos_i * area) * xp.exp(-2.0 * rho2 / radius**2)
    else:
        # anti-aliased edge: the fraction of a sample cell inside the disc, linear across one pitch
        pitch = math.sqrt(spacing[b] * spacing[c]) / s
        inside = xp.clip((radius - xp.sqrt(rho2)) / pitch + 0.5, 0.0, 1.0)
        weight = inside * (cos_i * area / (math.pi * radius**2))
    # sum the samples of each ray's sub-square: (nb*rays, s/rays, nc*rays, s/rays)
    m = s // rays
    w4 = weight.reshape(nb * rays, m, nc * rays, m)
    power = w4.sum(axis=(1, 3))
    cb = (w4 * xb.reshape(nb * rays, m)[:, :, None, None]).sum(axis=(1, 3))
    cc = (w4 * xc.reshape(nc * rays, m)[None, None, :, :]).sum(axis=(1, 3))
    total = float(power.sum())
    if total <= 0.0:  # beam narrower than the sampling: a pencil
        return (xp.asarray([pos[b]]), xp.asarray([pos[c]]), xp.asarray([1.0]), 0.0)
    hit = power > 0
    safe = xp.where(hit, power, 1.0)
    ray_b = (cb / safe + pos[b])[hit]
    ray_c = (cc / safe + pos[c])[hit]
    power = power[hit]
    if gaussian:
        missed = 1.0 - total
    else:
        power = power / total
        missed = 0.0
    return ray_b, ray_c, power, missed


def _march(grid, idx, start, direction, power, transport, xp):
    """Attenuate rays voxel by voxel (exact path lengths); return per-voxel power x path and the exit power.

    Parameters
    ----------
    idx : list of 3 int arrays
        Voxel of each ray at its start.
    start : list of 3 float arrays
        Start points [m] (on the entry face).
    direction : list of 3 float arrays
        Unit directions inside the tissue.
    power : float array
        Power entering the tissue per ray [W].
    transport : ndarray
        mu_t' = mua + mus' [1/m] (host).

    Returns
    -------
    path : float64 array of ``grid.size`` on the backend
        ``sum_rays int P ds`` in each voxel [W m]; ``transport * path`` is the
        power the beam loses there.
    exit : float
        Power of the unscattered beam leaving through a face [W].
    """
    shape, spacing, origin = grid.shape, grid.spacing, grid.origin
    size = grid.size
    mut = xp.asarray(np.ascontiguousarray(transport, dtype=np.float64).ravel())
    inf = math.inf
    step, delta, tmax = [], [], []
    for k in range(3):
        t = direction[k]
        if not hasattr(t, "shape"):
            t = xp.full(power.shape, float(t))
        positive, negative = t > 0, t < 0
        step.append(xp.where(positive, 1, xp.where(negative, -1, 0)).astype(xp.int64))
        safe = xp.where(t == 0, 1.0, t)
        delta.append(xp.where(t == 0, inf, spacing[k] / xp.abs(safe)))
        upper = origin[k] + (idx[k] + 1) * spacing[k]
        lower = origin[k] + idx[k] * spacing[k]
        boundary = xp.where(positive, upper, lower)
        tmax.append(xp.where(t == 0, inf, xp.maximum((boundary - start[k]) / safe, 0.0)))
    initial = power
    path = xp.zeros(size, dtype=xp.float64)
    exit_power = xp.zeros((), dtype=xp.float64)
    pending_i, pending_w, pending = [], [], 0
    s_prev = xp.zeros(power.shape)
    for _ in range(sum(shape) + 3):
        if power.shape[0] == 0:
            break
        stacked = xp.stack(tmax)
        axis = stacked.argmin(axis=0)
        s_next = stacked.min(axis=0)
        flat = (idx[0] * shape[1] + idx[1]) * shape[2] + idx[2]
        mu = mut[flat]
        optical = mu * (s_next - s_prev)
        lost = -xp.expm1(-optical)
        deposit = power * lost / mu
        power = power - power * lost
        spent = power <= _RAY_CUTOFF * initial
        deposit = deposit + xp.where(spent, power / mu, 0.0)
        pending_i.append(flat)
        pending_w.append(deposit)
        pending += flat.shape[0]
        if pending >= size:
            path += xp.bincount(xp.concatenate(pending_i), weights=xp.concatenate(pending_w), minlength=size)
            pending_i, pending_w, pending = [], [], 0
        for k in range(3):
            moved = axis == k
            idx[k] = idx[k] + step[k] * moved
            tmax[k] = xp.where(moved, tmax[k] + delta[k], tmax[k])
        s_prev = s_next
        out = xp.zeros(power.shape, dtype=bool)
        for k in range(3):
            out |= (idx[k] < 0) | (idx[k] >= shape[k])
        exit_power = exit_power + xp.where(out & ~spent, power, 0.0).sum()
        alive = ~(out | spent)
        idx = [v[alive] for v in idx]
        tmax = [v[alive] for v in tmax]
        step = [v[alive] for v in step]
        delta = [v[alive] for v in delta]
        power, initial, s_prev = power[alive], initial[alive], s_prev[alive]
    if pending:
        path += xp.bincount(xp.concatenate(pending_i), weights=xp.concatenate(pending_w), minlength=size)
    if power.shape[0]:  # cannot happen: every step crosses a face; kept as a guard
        raise RuntimeError("collimated-beam ray march did not finish")
    return path, float(exit_power)


def _erf(xp, x):
    """Error function on NumPy (SciPy) or CuPy (cupyx.scipy) arrays."""
    if xp is np:
        from scipy.special import erf
    else:
        from cupyx.scipy.special import erf
    return erf(x)


# -- checks --------------------------------------------------------------------------
def _warn_if_diffusion_fails(grid, medium, musp, absorbed, total_density, backend) -> None:
    """Warn when voxels with mua/mus' > RATIO_LIMIT absorb more than SHARE_LIMIT of the power."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(musp > 0, medium.mua / np.where(musp > 0, musp, 1.0), np.inf)
    flagged = ratio > RATIO_LIMIT
    if not np.any(flagged) or total_density <= 0:
        return
    mask = backend.asarray(flagged, dtype=bool)
    share = _sum(absorbed * mask) / total_density
    if share <= SHARE_LIMIT:
        return
    worst = tuple(int(i) for i in np.unravel_index(int((absorbed * mask).argmax()), grid.shape))
    where_mm = ", ".join(f"{1e3 * v:.3g}" for v in grid.centre_of(worst))
    warnings.warn(
        f"diffusion approximation unreliable: mua/mus' > {RATIO_LIMIT:g} in voxels absorbing "
        f"{100 * share:.1f} % of the absorbed power (max mua/mus' there {float(ratio[flagged].max()):.3g}; "
        f"the most-heated such voxel {list(worst)} at ({where_mm}) mm has mua/mus' = {float(ratio[worst]):.3g}); "
        "the diffusion fluence can be wrong by tens of percent there: use the Monte Carlo solver "
        "(phototherm.light.montecarlo)",
        LightModelWarning,
        stacklevel=3,
    )


# -- small helpers ---------------------------------------------------------------------
def _sum(a) -> float:
    return float(a.sum(dtype=np.float64))


def _norm(a) -> float:
    return float((a * a).sum(dtype=np.float64)) ** 0.5


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
