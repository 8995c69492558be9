"""The built-in demonstration: a heated tumour under layered tissue.

A 30 x 30 x 20 mm block (z is depth) of skin (1 mm), subcutaneous fat (3 mm)
and muscle, with a spherical tumour of radius 4 mm centred 8 mm deep. A
Gaussian heat source (sigma 2.5 mm, 0.6 W) sits at the tumour centre, on for
4 minutes, then off for 1 minute of cooling. The skin surface loses heat to
25 C room air (h = 10 W/(m^2 K)); the deep face is held at the 37 C body core;
the sides are insulated. The run starts from the unheated steady state.

The heat source stands in for laser light absorbed by nanoparticles, which
later releases of phototherm compute from first principles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bioheat import BoundaryConditions, Convective, FixedTemperature, PennesModel, steady_state_temperature
from ..grid import Grid
from ..heating import gaussian_heat_source
from ..schedule import PowerSchedule
from ..tissues import ThermalProperties, thermal_tissue

__all__ = ["DemoSettings", "demo_model", "TISSUE_LABELS"]

#: Label of each tissue in the demo's label map.
TISSUE_LABELS = {"skin": 0, "fat": 1, "muscle": 2, "tumour": 3}


@dataclass(frozen=True)
class DemoSettings:
    """Parameters of the demo (SI units).

    Attributes
    ----------
    spacing : float
        Voxel size [m].
    power : float
        Heat-source power while on [W].
    heating_time : float
        Heating duration [s].
    total_time : float
        Simulated time, heating plus cooling [s].
    """

    spacing: float = 0.5e-3
    power: float = 0.6
    heating_time: float = 240.0
    total_time: float = 300.0
    size: tuple[float, float, float] = (30e-3, 30e-3, 20e-3)
    skin_thickness: float = 1e-3
    fat_thickness: float = 3e-3
    tumour_radius: float = 4e-3
    tumour_depth: float = 8e-3
    source_sigma: float = 2.5e-3
    air_temperature: float = 25.0
    air_heat_transfer: float = 10.0
    core_temperature: float = 37.0

    @property
    def tumour_centre(self) -> tuple[float, float, float]:
        return (self.size[0] / 2, self.size[1] / 2, self.tumour_depth)


def demo_model(settings: DemoSettings = DemoSettings()) -> PennesModel:
    """The demo's :class:`~phototherm.bioheat.PennesModel`, starting from its steady state."""
    s = settings
    shape = tuple(int(round(L / s.spacing)) for L in s.size)
    grid = Grid(shape, s.spacing)
    X, Y, Z = grid.mesh()
    labels = np.full(grid.shape, TISSUE_LABELS["muscle"], dtype=np.int32)
    labels[Z < s.skin_thickness + s.fat_thickness] = TISSUE_LABELS["fat"]
    labels[Z < s.skin_thickness] = TISSUE_LABELS["skin"]
    cx, cy, cz = s.tumour_centre
    labels[(X - cx) ** 2 + (Y - cy) ** 2 + (Z - cz) ** 2 <= s.tumour_radius**2] = TISSUE_LABELS["tumour"]
    tissues = {label: thermal_tissue(name) for name, label in TISSUE_LABELS.items()}
    source = gaussian_heat_source(
        grid, s.tumour_centre, s.source_sigma, total_power=s.power,
        schedule=PowerSchedule.constant(stop=s.heating_time), name="tumour heating",
    )
    boundaries = BoundaryConditions(
        z_min=Convective(s.air_heat_transfer, s.air_temperature),
        z_max=FixedTemperature(s.core_temperature),
    )
    model = PennesModel(
        grid, ThermalProperties(grid, labels, tissues), boundaries=boundaries,
        heat_sources=[source], arterial_temperature=s.core_temperature,
    )
    baseline = steady_state_temperature(model)
    return PennesModel(
        grid, model.properties, boundaries=boundaries, heat_sources=[source],
        arterial_temperature=s.core_temperature, initial_temperature=baseline,
    )
