"""Light sources: collimated surface beams, isotropic points and cylindrical diffusers.

Every source has a power [W], a vacuum wavelength [m] and a dimensionless power
schedule p(t) (:class:`~phototherm.schedule.PowerSchedule`). The light solvers
compute the field of each source *per watt*; the heating stage multiplies by
``power * p(t)``. Each source is therefore its own heat source in the bioheat
solver, with its own schedule, and the planner can rescale powers freely.

Geometry conventions (see :class:`~phototherm.grid.Grid`):

- A :class:`CollimatedBeam` is specified where its axis meets the tissue: its
  ``position`` lies on one face of the grid's bounding box and its
  ``direction`` points into the grid (oblique incidence is allowed; the beam is
  refracted at the face). Its cross-section, perpendicular to ``direction``,
  is a flat-top disc of radius ``radius`` or a Gaussian of 1/e^2 radius
  ``radius``; ``radius = 0`` is a pencil beam.
- An :class:`IsotropicPoint` emits uniformly in all directions from a point
  inside the grid (an interstitial bare fibre tip).
- A :class:`CylindricalDiffuser` emits isotropically from points spread
  uniformly along a segment inside the grid (an interstitial cylindrical
  diffusing fibre; the fibre itself is not modelled as an object).

Kernel codes (:attr:`LightSource.kind`) are shared with the Monte Carlo kernel
in ``kernels/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np

from ..errors import Problems
from ..grid import FACES, Grid
from ..schedule import PowerSchedule

__all__ = [
    "LightSource",
    "CollimatedBeam",
    "IsotropicPoint",
    "CylindricalDiffuser",
    "validate_sources",
    "SOURCE_KINDS",
]

#: Integer codes of source geometries, as the Monte Carlo kernel reads them.
SOURCE_KINDS = {"flat_beam": 0, "gaussian_beam": 1, "point": 2, "line": 3}

#: Relative tolerance for "lies on a face of the grid".
_ON_FACE_RTOL = 1e-9


@dataclass(frozen=True, kw_only=True)
class LightSource:
    """Common parameters of every source.

    Parameters
    ----------
    power : float
        Optical power delivered at schedule level p = 1 [W].
    wavelength : float
        Vacuum wavelength [m].
    schedule : PowerSchedule
        Dimensionless p(t); default continuous.
    name : str
        Label used in summaries and output field names.
    """

    power: float
    wavelength: float
    schedule: PowerSchedule = field(default_factory=PowerSchedule.constant)
    name: str = "source"

    kind_name: ClassVar[str] = ""

    @property
    def kind(self) -> int:
        """Geometry code read by the Monte Carlo kernel (:data:`SOURCE_KINDS`)."""
        return SOURCE_KINDS[self.kind_name]

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        """Record every problem with this source under ``path``."""
        problems.non_negative(self.power, f"{path}.power", "[W]")
        problems.positive(self.wavelength, f"{path}.wavelength", "[m]")
        problems.check(isinstance(self.schedule, PowerSchedule), f"{path}.schedule", self.schedule, "a PowerSchedule")

    def describe(self) -> dict:
        """Plain-data description for result summaries (SI, unit-suffixed keys)."""
        return {
            "name": self.name,
            "type": type(self).__name__,
            "power_W": float(self.power),
            "wavelength_nm": float(self.wavelength) * 1e9,
            "schedule": self.schedule.describe() if isinstance(self.schedule, PowerSchedule) else repr(self.schedule),
        }


@dataclass(frozen=True, kw_only=True)
class CollimatedBeam(LightSource):
    """A collimated beam incident on a face of the grid.

    Parameters
    ----------
    position : tuple of 3 float
        Where the beam axis meets the tissue surface [m]; must lie on a face of
        the grid's bounding box.
    direction : tuple of 3 float
        Propagation direction (normalised on construction); must point into the grid.
    radius : float
        Flat-top radius, or 1/e^2 intensity radius of a Gaussian, measured
        perpendicular to ``direction`` [m]; 0 gives a pencil beam.
    profile : {"flat", "gaussian"}
        Transverse intensity profile.
    power, wavelength, schedule, name
        See :class:`LightSource`.

    Examples
    --------
    >>> beam = CollimatedBeam(power=1.0, wavelength=808e-9, position=(5e-3, 5e-3, 0.0),
    ...                       direction=(0, 0, 1), radius=3e-3)
    >>> round(beam.peak_irradiance / 1e4, 3)  # W/cm^2
    3.537
    """

    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    radius: float = 0.0
    profile: str = "flat"

    PROFILES: ClassVar[tuple[str, ...]] = ("flat", "gaussian")

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", tuple(float(v) for v in self.position))
        object.__setattr__(self, "direction", _unit_or_raw(self.direction))

    @property
    def kind_name(self) -> str:  # type: ignore[override]
        return "gaussian_beam" if self.profile == "gaussian" else "flat_beam"

    @property
    def peak_irradiance(self) -> float:
        """Irradiance on the beam axis, perpendicular to the beam, at p = 1 [W/m^2].

        ``P / (pi R^2)`` for a flat top, ``2 P / (pi w^2)`` for a Gaussian;
        infinite for a pencil beam.
        """
        if self.radius == 0:
            return math.inf
        factor = 2.0 if self.profile == "gaussian" else 1.0
        return factor * self.power / (math.pi * self.radius**2)

    def entry_face(self, grid: Grid) -> str | None:
        """The face of ``grid`` the beam enters through, or ``None`` if it is on none."""
        candidates = []
        for face in FACES:
            axis, side = _face_axis_side(face)
            plane = grid.bounds[axis][side]
            tol = _ON_FACE_RTOL * max(grid.lengths) + 1e-15
            inward = _inward_normal(face)[axis] * self.direction[axis]
            others_inside = all(
                grid.bounds[d][0] - tol <= self.position[d] <= grid.bounds[d][1] + tol for d in range(3) if d != axis
            )
            if abs(self.position[axis] - plane) <= tol and others_inside:
                candidates.append((inward, face))
        if not candidates:
            return None
        inward, face = max(candidates)
        return face

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        super().validate(grid, path, problems)
        problems.non_negative(self.radius, f"{path}.radius", "[m]")
        problems.check(self.profile in self.PROFILES, f"{path}.profile", self.profile, f"one of {self.PROFILES}")
        if not _check_vector(problems, self.position, f"{path}.position", "[m]"):
            return
        if not _check_direction(problems, self.direction, f"{path}.direction"):
            return
        face = self.entry_face(grid)
        if not problems.check(
            face is not None,
            f"{path}.position",
            self.position,
            f"a point on a face of the grid's bounding box {_bounds_text(grid)}",
        ):
            return
        axis, _ = _face_axis_side(face)
        cosine = _inward_normal(face)[axis] * self.direction[axis]
        problems.check(
            cosine > 1e-6,
            f"{path}.direction",
            self.direction,
            f"a direction pointing into the grid through its {face} face",
        )
        if cosine > 1e-6 and np.isfinite(self.radius) and self.radius >= 0:
            # A Gaussian's 1/e^2 radius holds 86 % of its power: the tail beyond
            # the face is counted as missed light by the Monte Carlo solver.
            reach = self.radius / cosine
            fits = all(
                grid.bounds[d][0] - 1e-12 <= self.position[d] - reach
                and self.position[d] + reach <= grid.bounds[d][1] + 1e-12
                for d in range(3)
                if d != axis
            )
            problems.check(
                fits,
                f"{path}.radius",
                self.radius,
                f"a beam footprint (radius / cos(incidence) = {reach:.3g} m about {self.position}) "
                f"inside the {face} face {_bounds_text(grid)}",
            )

    def describe(self) -> dict:
        out = super().describe()
        out.update(
            position_m=list(self.position),
            direction=list(self.direction),
            radius_m=float(self.radius),
            profile=self.profile,
            peak_irradiance_W_per_m2=self.peak_irradiance,
        )
        return out


@dataclass(frozen=True, kw_only=True)
class IsotropicPoint(LightSource):
    """An isotropic point source inside the tissue (e.g. a bare fibre tip).

    Parameters
    ----------
    position : tuple of 3 float
        Source point [m], strictly inside the grid.
    power, wavelength, schedule, name
        See :class:`LightSource`.
    """

    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    kind_name: ClassVar[str] = "point"

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", tuple(float(v) for v in self.position))

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        super().validate(grid, path, problems)
        if _check_vector(problems, self.position, f"{path}.position", "[m]"):
            _check_inside(problems, grid, self.position, f"{path}.position")

    def describe(self) -> dict:
        out = super().describe()
        out.update(position_m=list(self.position))
        return out


@dataclass(frozen=True, kw_only=True)
class CylindricalDiffuser(LightSource):
    """A cylindrical diffusing fibre: isotropic emission spread uniformly along a segment.

    Parameters
    ----------
    position : tuple of 3 float
        Centre of the diffusing segment [m].
    direction : tuple of 3 float
        Fibre axis (normalised on construction).
    length : float
        Length of the diffusing segment [m]; both ends must lie inside the grid.
    power, wavelength, schedule, name
        See :class:`LightSource`. ``power`` is the total emitted power, i.e.
        ``power / length`` W per metre of fibre.
    """

    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    length: float = 0.0
    kind_name: ClassVar[str] = "line"

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", tuple(float(v) for v in self.position))
        object.__setattr__(self, "direction", _unit_or_raw(self.direction))

    @property
    def ends(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The two ends of the diffusing segment [m]."""
        half = 0.5 * self.length
        return (
            tuple(p - half * u for p, u in zip(self.position, self.direction)),
            tuple(p + half * u for p, u in zip(self.position, self.direction)),
        )

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        super().validate(grid, path, problems)
        problems.positive(self.length, f"{path}.length", "[m]")
        if not (
            _check_vector(problems, self.position, f"{path}.position", "[m]")
            and _check_direction(problems, self.direction, f"{path}.direction")
        ):
            return
        if np.isfinite(self.length) and self.length > 0:
            for end_name, end in zip(("start", "end"), self.ends):
                _check_inside(problems, grid, end, f"{path}.{end_name} (position -/+ length/2 along direction)")

    def describe(self) -> dict:
        out = super().describe()
        out.update(position_m=list(self.position), direction=list(self.direction), length_m=float(self.length))
        return out


def validate_sources(grid: Grid, sources: Sequence[LightSource], wavelength: float | None = None,
                     path: str = "sources", problems: Problems | None = None) -> Problems:
    """Check a list of sources against a grid (and a medium's wavelength).

    Returns the :class:`~phototherm.errors.Problems` collected (raise with
    ``raise_if_any``); with ``problems`` given, records into it.
    """
    problems = Problems() if problems is None else problems
    if not problems.check(len(sources) > 0, path, list(sources), "at least one light source"):
        return problems
    for i, source in enumerate(sources):
        where = f"{path}[{i}]"
        if not problems.check(isinstance(source, LightSource), where, source, "a LightSource"):
            continue
        source.validate(grid, where, problems)
        if wavelength is not None:
            problems.check(
                math.isclose(source.wavelength, wavelength, rel_tol=1e-9),
                f"{where}.wavelength",
                source.wavelength,
                f"the optical medium's wavelength {wavelength * 1e9:g} nm [m]",
            )
    return problems


# -- helpers -------------------------------------------------------------------
def _face_axis_side(face: str) -> tuple[int, int]:
    return "xyz".index(face[0]), (0 if face.endswith("min") else 1)


def _inward_normal(face: str) -> tuple[float, float, float]:
    axis, side = _face_axis_side(face)
    normal = [0.0, 0.0, 0.0]
    normal[axis] = 1.0 if side == 0 else -1.0
    return tuple(normal)


def _unit_or_raw(vector: Sequence[float]) -> tuple[float, ...]:
    v = np.asarray(vector, dtype=float).ravel()
    norm = float(np.linalg.norm(v)) if v.size == 3 and np.all(np.isfinite(v)) else 0.0
    return tuple(float(c) for c in (v / norm if norm > 0 else v))


def _check_vector(problems: Problems, vector, path: str, unit: str) -> bool:
    v = np.asarray(vector, dtype=float).ravel()
    if not problems.check(v.size == 3, path, vector, f"three coordinates {unit}"):
        return False
    before = len(problems.items)
    problems.finite(v, path, unit)
    return len(problems.items) == before


def _check_direction(problems: Problems, direction, path: str) -> bool:
    if not _check_vector(problems, direction, path, ""):
        return False
    return problems.check(
        abs(float(np.linalg.norm(direction)) - 1.0) < 1e-9, path, direction, "a non-zero direction vector"
    )


def _check_inside(problems: Problems, grid: Grid, point, path: str) -> None:
    inside = all(lo < p < hi for p, (lo, hi) in zip(point, grid.bounds))
    problems.check(inside, path, tuple(point), f"a point strictly inside the grid {_bounds_text(grid)}")


def _bounds_text(grid: Grid) -> str:
    return "[" + ", ".join(f"{lo:.4g}..{hi:.4g}" for lo, hi in grid.bounds) + "] m"
