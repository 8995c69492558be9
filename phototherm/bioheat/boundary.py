"""Boundary conditions on the six faces of the grid.

The grid is cell-centred: a boundary face lies half a voxel beyond the centre
of the outermost voxels. Each condition becomes a conductance per unit volume
``beta`` [W/(m^3 K)] and a reference temperature ``T_ref`` for the voxels
touching the face, adding ``beta (T_ref - T)`` to their heat balance:

========================  ==========================================  ================
condition                 beta (voxel of conductivity k, size h)      T_ref
========================  ==========================================  ================
``FixedTemperature(Tb)``  ``2 k / h^2`` (conduction over h/2)          Tb
``Convective(hc, Ta)``    ``U / h``, ``U = 1 / (1/hc + h / (2 k))``   Ta
``Insulated()``           0                                            --
``Periodic()``            face joined to the opposite face             --
========================  ==========================================  ================

The convective conductance puts the film coefficient in series with conduction
from the voxel centre to the face, so the surface temperature is consistent to
second order in h.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

from ..errors import Problems
from ..grid import FACES, Grid

__all__ = [
    "FixedTemperature",
    "Convective",
    "Insulated",
    "Periodic",
    "BoundaryCondition",
    "BoundaryConditions",
]


@dataclass(frozen=True)
class FixedTemperature:
    """Dirichlet condition: the face is held at ``temperature`` [C] (e.g. 37 C body core)."""

    temperature: float

    def conductance(self, k, h):
        return 2.0 * k / h**2

    def describe(self) -> dict:
        return {"type": "fixed_temperature", "temperature_C": self.temperature}


@dataclass(frozen=True)
class Convective:
    """Robin condition: heat loss ``hc (T_surface - T_ambient)`` per unit area.

    Parameters
    ----------
    heat_transfer_coefficient : float
        hc [W/(m^2 K)]; still air is about 5-10.
    ambient_temperature : float
        T_ambient [C].
    """

    heat_transfer_coefficient: float
    ambient_temperature: float

    @property
    def temperature(self) -> float:
        return self.ambient_temperature

    def conductance(self, k, h):
        hc = self.heat_transfer_coefficient
        return hc * 2.0 * k / (2.0 * k + hc * h) / h

    def describe(self) -> dict:
        return {
            "type": "convective",
            "heat_transfer_coefficient_W_per_m2_per_K": self.heat_transfer_coefficient,
            "ambient_temperature_C": self.ambient_temperature,
        }


@dataclass(frozen=True)
class Insulated:
    """Neumann condition: no heat crosses the face."""

    def describe(self) -> dict:
        return {"type": "insulated"}


@dataclass(frozen=True)
class Periodic:
    """The face is joined to the opposite face (for reference tests). Set on both faces of an axis."""

    def describe(self) -> dict:
        return {"type": "periodic"}


BoundaryCondition = Union[FixedTemperature, Convective, Insulated, Periodic]
_BY_NAME = {"insulated": Insulated, "periodic": Periodic}
_TYPES = (FixedTemperature, Convective, Insulated, Periodic)


class BoundaryConditions:
    """One condition per face of the grid.

    Parameters
    ----------
    default : BoundaryCondition
        Condition of every face not named. Default :class:`Insulated`.
    **faces : BoundaryCondition or str
        Conditions by face: ``x_min``, ``x_max``, ``y_min``, ``y_max``,
        ``z_min``, ``z_max``. The strings ``"insulated"`` and ``"periodic"``
        are accepted for the conditions without parameters.

    Raises
    ------
    InputError
        Unknown face name or condition type; non-finite temperatures;
        negative heat-transfer coefficients; a periodic face whose opposite
        face is not periodic.

    Examples
    --------
    Skin surface at z_min cooled by room air, body core at z_max:

    >>> bc = BoundaryConditions(z_min=Convective(10.0, 25.0), z_max=FixedTemperature(37.0))
    >>> bc.periodic
    (False, False, False)
    """

    def __init__(self, default: BoundaryCondition | str = Insulated(), **faces: BoundaryCondition | str):
        problems = Problems()
        resolved: dict[str, BoundaryCondition] = {}
        default_bc = _coerce(default, "boundaries.default", problems)
        for face in faces:
            if face not in FACES:
                close = difflib.get_close_matches(face, FACES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.add(f"boundaries.{face}", faces[face], f"a face name: one of {', '.join(FACES)}{hint}")
        for face in FACES:
            bc = _coerce(faces[face], f"boundaries.{face}", problems) if face in faces else default_bc
            resolved[face] = bc
            if isinstance(bc, (FixedTemperature, Convective)):
                problems.finite(bc.temperature, f"boundaries.{face}.temperature", "[C]")
            if isinstance(bc, Convective):
                problems.non_negative(bc.heat_transfer_coefficient,
                                      f"boundaries.{face}.heat_transfer_coefficient", "[W/(m^2 K)]")
        for axis in "xyz":
            lo, hi = resolved.get(f"{axis}_min"), resolved.get(f"{axis}_max")
            problems.check(
                isinstance(lo, Periodic) == isinstance(hi, Periodic),
                f"boundaries.{axis}_min/{axis}_max",
                (type(lo).__name__, type(hi).__name__),
                "both faces of an axis periodic, or neither",
            )
        problems.raise_if_any("invalid boundary conditions")
        self.faces: Mapping[str, BoundaryCondition] = resolved

    def __getitem__(self, face: str) -> BoundaryCondition:
        return self.faces[face]

    @property
    def periodic(self) -> tuple[bool, bool, bool]:
        """Whether each axis (x, y, z) is periodic."""
        return tuple(isinstance(self.faces[f"{a}_min"], Periodic) for a in "xyz")

    def voxel_terms(self, grid: Grid, conductivity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-voxel boundary conductance and source.

        Returns
        -------
        coefficient : ndarray
            Sum over the voxel's boundary faces of beta [W/(m^3 K)].
        source : ndarray
            Sum of ``beta * T_ref`` [W/m^3]. The voxel's boundary heat gain is
            ``source - coefficient * T``.
        """
        coefficient = np.zeros(grid.shape)
        source = np.zeros(grid.shape)
        for bc, layer, h in self._active_faces(grid):
            beta = bc.conductance(conductivity[layer], h)
            coefficient[layer] += beta
            source[layer] += beta * bc.temperature
        return coefficient, source

    def _active_faces(self, grid: Grid):
        for d, axis in enumerate("xyz"):
            for side, index in (("min", 0), ("max", grid.shape[d] - 1)):
                face = f"{axis}_{side}"
                bc = self.faces[face]
                if isinstance(bc, (FixedTemperature, Convective)):
                    layer = [slice(None)] * 3
                    layer[d] = slice(index, index + 1)
                    yield bc, tuple(layer), grid.spacing[d]

    def describe(self) -> dict:
        return {face: bc.describe() for face, bc in self.faces.items()}


#: Names users coming from other tools type, and what they mean here.
_SYNONYMS = {
    "adiabatic": "'insulated'",
    "neumann": "'insulated' (zero flux)",
    "symmetry": "'insulated'",
    "dirichlet": "FixedTemperature(T)",
    "fixed": "FixedTemperature(T)",
    "robin": "Convective(h, T_ambient)",
    "convection": "Convective(h, T_ambient)",
    "convective": "Convective(h, T_ambient)",
    "cyclic": "'periodic'",
}


def _coerce(value, path: str, problems: Problems):
    if isinstance(value, _TYPES):
        return value
    if isinstance(value, str) and value.lower() in _BY_NAME:
        return _BY_NAME[value.lower()]()
    known = "FixedTemperature(T), Convective(h, T_ambient), Insulated() or 'insulated', Periodic() or 'periodic'"
    if isinstance(value, str):
        key = value.strip().lower()
        suggestion = _SYNONYMS.get(key)
        if suggestion is None:
            close = difflib.get_close_matches(key, list(_BY_NAME) + list(_SYNONYMS), n=1)
            suggestion = (_SYNONYMS.get(close[0], repr(close[0])) if close else None)
        if suggestion:
            known += f" (did you mean {suggestion}?)"
    problems.add(path, value, f"a boundary condition: {known}")
    return Insulated()
