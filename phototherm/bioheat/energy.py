"""Global energy balance of a run, to check conservation.

Conduction only moves heat between voxels, so over a run

    heat stored = deposited by sources + metabolic heat
                  - removed by perfusion - lost through the boundaries

must hold to rounding (and to the CG tolerance for implicit steps). The sink
terms are linear in T, so a theta-method step removes exactly their value at
``theta T^{n+1} + (1 - theta) T^n`` times dt, which is what is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state import DeviceModel

__all__ = ["EnergyBudget"]


@dataclass
class EnergyBudget:
    """Running totals of heat [J] since the start of a run.

    Attributes
    ----------
    deposited : float
        Heat added by the external sources.
    metabolic : float
        Metabolic heat.
    removed_by_perfusion : float
        Heat carried away by blood (negative if blood warms the tissue).
    removed_through_boundaries : float
        Heat leaving through fixed-temperature and convective faces.
    stored : float
        Increase of ``sum rho c T V``.
    """

    deposited: float = 0.0
    metabolic: float = 0.0
    removed_by_perfusion: float = 0.0
    removed_through_boundaries: float = 0.0
    stored: float = 0.0

    def record(self, dev: DeviceModel, T_old, T_new, perfusion_factor, theta: float, t0: float, t1: float) -> None:
        """Add one step from ``t0`` to ``t1`` [s]."""
        dt = t1 - t0
        T_eval = T_old if theta == 0.0 else theta * T_new + (1.0 - theta) * T_old
        perfusion, boundary = dev.heat_sink_power(T_eval, perfusion_factor)
        self.deposited += dev.deposited_power(t0, t1) * dt
        self.metabolic += dev.metabolic_power * dt
        self.removed_by_perfusion += perfusion * dt
        self.removed_through_boundaries += boundary * dt
        self.stored += dev.stored_energy_change(T_new, T_old)

    @property
    def residual(self) -> float:
        """In minus out minus stored [J]; zero up to rounding for a conservative scheme."""
        return (self.deposited + self.metabolic - self.removed_by_perfusion
                - self.removed_through_boundaries - self.stored)

    @property
    def relative_residual(self) -> float:
        """``|residual|`` over the largest term of the balance."""
        scale = max(abs(self.deposited), abs(self.metabolic), abs(self.removed_by_perfusion),
                    abs(self.removed_through_boundaries), abs(self.stored), 1e-300)
        return abs(self.residual) / scale

    def describe(self) -> dict:
        return {
            "deposited_J": self.deposited,
            "metabolic_J": self.metabolic,
            "removed_by_perfusion_J": self.removed_by_perfusion,
            "removed_through_boundaries_J": self.removed_through_boundaries,
            "stored_J": self.stored,
            "residual_J": self.residual,
            "relative_residual": self.relative_residual,
        }
