"""The Pennes bioheat model: geometry, properties, sources and boundaries.

    rho c dT/dt = div(k grad T) + w_b rho_b c_b (T_a - T) + Q_met + sum_s p_s(t) Q_s(x)

SI units, T in degrees C. A :class:`PennesModel` validates its inputs as a
whole, assembles the per-voxel coefficients once, and knows its stable explicit
step (:meth:`PennesModel.critical_dt`). Time stepping lives in
:class:`phototherm.Simulation`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import Problems
from ..grid import Grid
from ..heating import HeatSource
from ..tissues import Blood, ThermalProperties
from ..dose import NO_DAMAGE_LN_A
from ..units import GAS_CONSTANT
from .boundary import BoundaryConditions
from .perfusion import VascularShutdown
from .stencil import conduction_diagonal, face_conductances

__all__ = ["PennesModel", "Coefficients", "StabilityLimit"]


@dataclass(frozen=True)
class Coefficients:
    """Per-voxel coefficients of the discrete heat balance (host, float64).

    Voxel i's heat gain per unit volume [W/m^3] is
    ``conduction_i + perfusion_i (T_a - T_i) - boundary_i T_i + constant_source_i
    + sum_s p_s Q_s,i``.

    Attributes
    ----------
    inv_heat_capacity : ndarray
        1 / (rho c) [m^3 K/J].
    conductivity : ndarray
        k [W/(m K)].
    perfusion : ndarray
        w_b rho_b c_b [W/(m^3 K)] (baseline, before any vascular shutdown).
    boundary : ndarray
        Boundary conductance per unit volume [W/(m^3 K)]; zero inside.
    boundary_source : ndarray
        Boundary conductance times the boundary temperature [W/m^3].
    metabolic_heat : ndarray
        Q_met [W/m^3].
    ln_A, Ea_over_R : ndarray
        Arrhenius ``ln(A/(1/s))`` and ``Ea/R`` [K]; ``NO_DAMAGE_LN_A`` and 0
        where the tissue has no damage model.
    """

    inv_heat_capacity: np.ndarray
    conductivity: np.ndarray
    perfusion: np.ndarray
    boundary: np.ndarray
    boundary_source: np.ndarray
    metabolic_heat: np.ndarray
    ln_A: np.ndarray
    Ea_over_R: np.ndarray

    @property
    def constant_source(self) -> np.ndarray:
        """Boundary source plus metabolic heat [W/m^3] (what the kernel reads)."""
        return self.boundary_source + self.metabolic_heat


@dataclass(frozen=True)
class StabilityLimit:
    """The explicit (forward-Euler) positivity limit and where it is set.

    Attributes
    ----------
    dt : float
        Largest stable step [s].
    index : tuple of 3 int
        Voxel with the fastest decay rate.
    tissue : str
        Name of that voxel's tissue.
    """

    dt: float
    index: tuple[int, int, int]
    tissue: str


class PennesModel:
    """Pennes bioheat problem on a voxel grid.

    Parameters
    ----------
    grid : Grid
        The voxel grid.
    properties : ThermalProperties
        Per-voxel thermal properties (built on the same grid).
    boundaries : BoundaryConditions, optional
        Default: every face insulated.
    heat_sources : sequence of HeatSource, optional
        External heat-source maps [W/m^3] with their power schedules.
    blood : Blood, optional
        Properties of perfusing blood. Default IT'IS blood.
    arterial_temperature : float
        T_a [C]. Default 37.
    initial_temperature : float or ndarray, optional
        Temperature at t = 0 [C]; default ``arterial_temperature`` everywhere.
    vascular_shutdown : VascularShutdown, optional
        Perfusion collapse above a thermal-dose threshold.

    Raises
    ------
    InputError
        Any invalid or inconsistent input; all problems are listed.

    Examples
    --------
    >>> import numpy as np
    >>> from phototherm import Grid, PennesModel
    >>> from phototherm.tissues import ThermalProperties, thermal_tissue
    >>> grid = Grid((20, 20, 20), 0.5e-3)
    >>> model = PennesModel(grid, ThermalProperties.uniform(grid, thermal_tissue("muscle")))
    >>> round(model.critical_dt(), 3)
    0.314
    """

    def __init__(
        self,
        grid: Grid,
        properties: ThermalProperties,
        *,
        boundaries: BoundaryConditions | None = None,
        heat_sources: Sequence[HeatSource] = (),
        blood: Blood | None = None,
        arterial_temperature: float = 37.0,
        initial_temperature: float | np.ndarray | None = None,
        vascular_shutdown: VascularShutdown | None = None,
    ):
        problems = Problems()
        problems.check(
            isinstance(properties, ThermalProperties) and properties.grid.shape == grid.shape,
            "properties",
            type(properties).__name__,
            f"ThermalProperties built on a grid of shape {grid.shape}",
        )
        self.boundaries = boundaries if boundaries is not None else BoundaryConditions()
        problems.check(isinstance(self.boundaries, BoundaryConditions), "boundaries", self.boundaries,
                       "a BoundaryConditions")
        self.blood = blood if blood is not None else Blood()
        self.blood.validate("blood", problems)
        problems.finite(arterial_temperature, "arterial_temperature", "[C]")
        self.heat_sources = tuple(heat_sources)
        for i, source in enumerate(self.heat_sources):
            if problems.check(isinstance(source, HeatSource), f"heat_sources[{i}]", source, "a HeatSource"):
                source.validate(grid, f"heat_sources[{i}]({source.name})", problems)
        if initial_temperature is not None:
            T0 = np.asarray(initial_temperature, dtype=float)
            if problems.check(T0.ndim == 0 or T0.shape == grid.shape, "initial_temperature", initial_temperature,
                              f"a number or an array of shape {grid.shape} [C]"):
                problems.finite(T0, "initial_temperature", "[C]")
        self.vascular_shutdown = vascular_shutdown
        if vascular_shutdown is not None:
            vascular_shutdown.validate("vascular_shutdown", problems)
        problems.raise_if_any("invalid bioheat model")

        self.grid = grid
        self.properties = properties
        self.arterial_temperature = float(arterial_temperature)
        self._initial = initial_temperature

    # -- derived data ----------------------------------------------------------
    def initial_temperature(self) -> np.ndarray:
        """Temperature at t = 0 [C], shape ``grid.shape``."""
        value = self.arterial_temperature if self._initial is None else self._initial
        return np.broadcast_to(np.asarray(value, dtype=float), self.grid.shape).copy()

    @functools.cached_property
    def coefficients(self) -> Coefficients:
        """Per-voxel coefficients (float64, host), assembled once."""
        p = self.properties
        boundary, boundary_source = self.boundaries.voxel_terms(self.grid, p.conductivity)
        modelled = p.has_damage_model
        ln_A = np.full(self.grid.shape, NO_DAMAGE_LN_A)
        ln_A[modelled] = np.log(p.arrhenius_A[modelled])
        return Coefficients(
            inv_heat_capacity=1.0 / p.volumetric_heat_capacity,
            conductivity=p.conductivity,
            perfusion=p.perfusion * self.blood.volumetric_heat_capacity,
            boundary=boundary,
            boundary_source=boundary_source,
            metabolic_heat=p.metabolic_heat,
            ln_A=ln_A,
            Ea_over_R=np.where(modelled, p.arrhenius_Ea / GAS_CONSTANT, 0.0),
        )

    def stability_limit(self) -> StabilityLimit:
        """Largest forward-Euler step that keeps the update positive (monotone).

        Per voxel, ``dt <= 1 / [(sum of face conductances + perfusion +
        boundary conductance) / (rho c)]``; the limit is the minimum over voxels.
        On a homogeneous cubic grid this is ``h^2 / (6 alpha + P h^2)``.
        """
        c = self.coefficients
        faces = face_conductances(c.conductivity, self.grid.spacing, self.boundaries.periodic)
        rate = c.inv_heat_capacity * (conduction_diagonal(faces, self.grid.shape) + c.perfusion + c.boundary)
        flat = int(np.argmax(rate))
        index = tuple(int(i) for i in np.unravel_index(flat, self.grid.shape))
        label = int(self.properties.labels[index])
        max_rate = float(rate.flat[flat])
        return StabilityLimit(
            dt=1.0 / max_rate if max_rate > 0 else float("inf"),
            index=index,
            tissue=self.properties.label_name(label),
        )

    def critical_dt(self) -> float:
        """Largest stable explicit step [s]; see :meth:`stability_limit`."""
        return self.stability_limit().dt

    def describe(self) -> dict:
        """Resolved inputs as plain data (recorded in every result summary)."""
        return {
            "grid": self.grid.describe(),
            "properties": self.properties.describe(),
            "labels_present": sorted(int(v) for v in np.unique(self.properties.labels)),
            "boundaries": self.boundaries.describe(),
            "blood": self.blood.describe(),
            "arterial_temperature_C": self.arterial_temperature,
            "initial_temperature_C": (
                self.arterial_temperature if self._initial is None
                else float(self._initial) if np.ndim(self._initial) == 0 else "per-voxel map"
            ),
            "heat_sources": [s.describe(self.grid) for s in self.heat_sources],
            "vascular_shutdown": self.vascular_shutdown.describe() if self.vascular_shutdown else None,
            "critical_dt_s": self.critical_dt(),
        }
