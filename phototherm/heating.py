"""External heat sources: a power-density map Q(x) times a schedule p(t).

Later stages (laser light on nanoparticles) produce Q = mua x fluence rate; the
bioheat solver only sees the map and its schedule. The heat equation is linear
in each source's power, which the planner exploits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import Problems
from .grid import Grid
from .schedule import PowerSchedule

__all__ = ["HeatSource", "gaussian_heat_source"]


@dataclass(frozen=True)
class HeatSource:
    """A heat-source map and its power schedule.

    Parameters
    ----------
    power_density : ndarray, shape ``grid.shape``
        Q(x) at schedule level p = 1 [W/m^3].
    schedule : PowerSchedule
        Dimensionless p(t); default always on.
    name : str
        Label used in summaries.
    """

    power_density: np.ndarray
    schedule: PowerSchedule = field(default_factory=PowerSchedule.constant)
    name: str = "source"

    def total_power(self, grid: Grid) -> float:
        """Power deposited at p = 1 [W]."""
        return float(np.sum(self.power_density, dtype=np.float64) * grid.cell_volume)

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        q = np.asarray(self.power_density)
        if problems.check(q.shape == grid.shape, f"{path}.power_density", q, f"an array of shape {grid.shape} [W/m^3]"):
            problems.finite(q, f"{path}.power_density", "[W/m^3]")
        problems.check(isinstance(self.schedule, PowerSchedule), f"{path}.schedule", self.schedule, "a PowerSchedule")

    def describe(self, grid: Grid) -> dict:
        return {
            "name": self.name,
            "total_power_W_at_level_1": self.total_power(grid),
            "peak_power_density_W_per_m3": float(np.max(self.power_density)) if np.size(self.power_density) else 0.0,
            "schedule": self.schedule.describe(),
        }


def gaussian_heat_source(
    grid: Grid,
    centre: Sequence[float],
    sigma: float,
    *,
    total_power: float | None = None,
    peak_power_density: float | None = None,
    schedule: PowerSchedule | None = None,
    name: str = "gaussian",
) -> HeatSource:
    """An isotropic Gaussian heat source, Q = Q0 exp(-r^2 / (2 sigma^2)).

    Give either ``total_power`` (the power the voxelised map deposits, so the
    discrete total is exact) or ``peak_power_density`` (Q0).

    Parameters
    ----------
    grid : Grid
    centre : tuple of 3 float
        Centre [m].
    sigma : float
        Standard deviation [m].
    total_power : float, optional
        Total power at p = 1 [W].
    peak_power_density : float, optional
        Q0 [W/m^3].
    schedule : PowerSchedule, optional
        Default: always on.

    Notes
    -----
    In an infinite, unperfused medium of conductivity k the steady temperature
    rise at the centre is ``Q0 sigma^2 / k``.
    """
    problems = Problems()
    problems.positive(sigma, "sigma", "[m]")
    problems.check((total_power is None) != (peak_power_density is None), "total_power/peak_power_density",
                   (total_power, peak_power_density), "exactly one of the two")
    for name_, value in (("total_power", total_power), ("peak_power_density", peak_power_density)):
        if value is not None:
            problems.non_negative(value, name_, "[W]" if name_ == "total_power" else "[W/m^3]")
    problems.check(len(centre) == 3, "centre", centre, "three coordinates [m]")
    problems.raise_if_any("invalid Gaussian heat source")
    X, Y, Z = grid.mesh()
    r2 = (X - centre[0]) ** 2 + (Y - centre[1]) ** 2 + (Z - centre[2]) ** 2
    shape = np.exp(-r2 / (2.0 * sigma**2))
    if total_power is not None:
        q = shape * (total_power / (shape.sum() * grid.cell_volume)) if shape.sum() > 0 else shape
    else:
        q = peak_power_density * shape
    return HeatSource(q, schedule or PowerSchedule.constant(), name)
