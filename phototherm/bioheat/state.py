"""Arrays a time stepper works on, held on the compute backend.

:class:`DeviceModel` copies a :class:`~phototherm.bioheat.PennesModel`'s
coefficients to the backend once, in its floating-point type;
:class:`ThermalState` holds the evolving fields (temperature and the thermal
dose accumulated so far).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from ..backend import Backend
from .model import PennesModel
from .stencil import FaceConductances, face_conductances

__all__ = ["DeviceModel", "ThermalState", "StepParameters", "STATE_FIELDS"]


@dataclass
class ThermalState:
    """Fields evolved by the stepper (backend arrays of ``grid.shape``).

    Attributes
    ----------
    temperature : array
        T [C].
    cem43 : array
        Cumulative equivalent minutes at 43 C [min].
    omega : array
        Arrhenius damage integral (dimensionless; 0 where no model applies).
    max_temperature : array
        Highest temperature reached at the end of any step [C].
    time_above : array
        Time spent above the chosen threshold temperature [s].
    """

    temperature: object
    cem43: object
    omega: object
    max_temperature: object
    time_above: object

    @classmethod
    def initial(cls, model: PennesModel, backend: Backend) -> "ThermalState":
        T = backend.asarray(model.initial_temperature())
        xp = backend.xp
        return cls(
            temperature=T,
            cem43=xp.zeros_like(T),
            omega=xp.zeros_like(T),
            max_temperature=T.copy(),
            time_above=xp.zeros_like(T),
        )


#: Names of the evolved fields, in order.
STATE_FIELDS = tuple(f.name for f in dataclasses.fields(ThermalState))


@dataclass(frozen=True)
class StepParameters:
    """Scalars of one step (the kernel receives the same values).

    Attributes
    ----------
    dt : float
        Step [s].
    source_scale : float
        Multiplier of the heat-source field over the step (mean of p(t)).
    arterial_temperature : float
        T_a [C].
    time_above_threshold : float
        Threshold of the time-above map [C].
    """

    dt: float
    source_scale: float
    arterial_temperature: float
    time_above_threshold: float


class DeviceModel:
    """A model's coefficients on the backend, in the backend's dtype.

    Parameters
    ----------
    model : PennesModel
    backend : Backend
    """

    def __init__(self, model: PennesModel, backend: Backend):
        self.model = model
        self.backend = backend
        c = model.coefficients
        put = backend.asarray
        self.inv_heat_capacity = put(c.inv_heat_capacity)
        self.conductivity = put(c.conductivity)
        self.perfusion = put(c.perfusion)
        self.boundary = put(c.boundary)
        self.constant_source = put(c.constant_source)
        self.ln_A = put(c.ln_A)
        self.Ea_over_R = put(c.Ea_over_R)
        #: Heat-source maps at level 1 [W/m^3], on the backend.
        self.source_fields = [put(s.power_density) for s in model.heat_sources]
        self._schedules = [s.schedule for s in model.heat_sources]
        self._combined = None
        self._combined_levels: tuple[float, ...] | None = None
        #: Power of each source at schedule level 1 [W].
        self.source_powers = [s.total_power(model.grid) for s in model.heat_sources]
        #: Total metabolic heat [W].
        self.metabolic_power = float(c.metabolic_heat.sum() * model.grid.cell_volume)

    # Arrays only the NumPy paths and diagnostics need: built on first use, so the
    # GPU's explicit stepper (the kernel reads k and computes faces itself) never holds them.
    @functools.cached_property
    def faces(self) -> FaceConductances:
        """Harmonic-mean face conductances [W/(m^3 K)] on the backend."""
        return face_conductances(self.conductivity, self.model.grid.spacing, self.model.boundaries.periodic)

    @functools.cached_property
    def boundary_source(self):
        """Boundary conductance times boundary temperature [W/m^3] on the backend."""
        return self.backend.asarray(self.model.coefficients.boundary_source)

    def heat_source(self, t0: float, t1: float):
        """The heat-source field and its multiplier for the step ``[t0, t1]``.

        Returns
        -------
        field : array or None
            Q [W/m^3] at multiplier 1; ``None`` when no source is on.
        scale : float
            Multiplier: the exact mean of the schedule over the step (for one
            source), or 1 with the field already weighted (several sources; the
            weighted sum is rebuilt only when the levels change).
        """
        levels = tuple(s.mean(t0, t1) for s in self._schedules)
        if not any(levels):
            return None, 0.0
        if len(levels) == 1:
            return self.source_fields[0], levels[0]
        if levels != self._combined_levels:
            combined = self.backend.xp.zeros_like(self.source_fields[0])
            for level, field in zip(levels, self.source_fields):
                if level:
                    combined += self.backend.dtype.type(level) * field
            self._combined, self._combined_levels = combined, levels
        return self._combined, 1.0

    def deposited_power(self, t0: float, t1: float) -> float:
        """Mean power the heat sources deposit over ``[t0, t1]`` [W]."""
        return float(sum(s.mean(t0, t1) * p for s, p in zip(self._schedules, self.source_powers)))

    def heat_sink_power(self, temperature, perfusion_factor) -> tuple[float, float]:
        """Heat removed by perfusion and through the boundaries at ``temperature`` [W].

        Both terms are linear in T, so evaluating them at the theta-weighted
        temperature of a step gives exactly what the step removed.
        """
        xp = self.backend.xp
        T = temperature
        volume = self.model.grid.cell_volume
        perfusion = self.perfusion if perfusion_factor is None else self.perfusion * perfusion_factor
        removed_by_perfusion = xp.sum(perfusion * (T - self.model.arterial_temperature), dtype=np.float64)
        removed_by_boundary = xp.sum(self.boundary * T - self.boundary_source, dtype=np.float64)
        return float(removed_by_perfusion) * volume, float(removed_by_boundary) * volume

    def stored_energy_change(self, T_new, T_old) -> float:
        """``sum rho c (T_new - T_old) V`` [J]."""
        xp = self.backend.xp
        return float(xp.sum((T_new - T_old) / self.inv_heat_capacity, dtype=np.float64)) * self.model.grid.cell_volume

    def perfusion_factor(self, state: ThermalState):
        """Vascular-shutdown multiplier per voxel, or ``None`` without shutdown."""
        shutdown = self.model.vascular_shutdown
        return None if shutdown is None else shutdown.factor(state.cem43, state.omega)
