"""The built-in PDT example: Photofrin at 630 nm, continuous against fractionated light.

A 20 x 20 x 15 mm block (z is depth) of skin (1 mm) over muscle holds a
spherical tumour of radius 4 mm whose centre lies 5 mm deep. Photofrin
(PHYSICS.md section 5; Wang et al. 2009) is taken up to 7 uM in the tumour and
1.5 uM elsewhere. A 630 nm flat-top beam of radius 6 mm delivers 75 mW/cm^2 to
the skin above the tumour until 100 J/cm^2 have been given, either
continuously (1333 s) or in 60 s on / 60 s off fractions (the same light over
twice the time), so that oxygen can recover in the dark intervals. The light
field (diffusion, sensitizer absorption included) drives the singlet-oxygen
kinetics in every voxel and, as a heat source, the Pennes equation (backward
Euler, 5 s steps, which the on/off switching times fall on).

The summary compares the two schedules: the tumour volume whose reacted
singlet oxygen [1O2]rx reaches Photofrin's necrosis threshold (0.56 mM, a value
PHYSICS.md marks as to be checked), the mean [1O2]rx in the tumour, and the
oxygen left at the end of the light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..bioheat import BoundaryConditions, Convective, FixedTemperature, PennesModel, steady_state_temperature
from ..grid import Grid
from ..light import CollimatedBeam, OpticalMedium, compute_light_fields
from ..pdt import PhotodynamicTherapy, concentration_by_label, photosensitizer, sensitizer_absorption
from ..schedule import PowerSchedule
from ..tissues import ThermalProperties, optical_tissue, thermal_tissue

__all__ = ["PDTDemoSettings", "build_pdt_demo", "PDT_TISSUE_LABELS", "SCHEDULES"]

#: Label of each tissue in the example's label map.
PDT_TISSUE_LABELS = {"skin": 0, "muscle": 1, "tumour": 2}

#: The two light schedules the example compares.
SCHEDULES = ("continuous", "fractionated")

_OPTICAL = {"skin": "dermis", "muscle": "muscle", "tumour": "tumour"}


@dataclass(frozen=True)
class PDTDemoSettings:
    """Parameters of the PDT example (SI units unless the name says otherwise).

    Attributes
    ----------
    irradiance_mW_per_cm2 : float
        Irradiance of the beam on the skin while on [mW/cm^2].
    fluence_J_per_cm2 : float
        Light dose delivered to the skin [J/cm^2].
    fraction_on, fraction_off : float
        Lengths of the light and dark intervals of the fractionated schedule [s].
    dt : float
        Time step of both the heat equation and the kinetics [s]; the on/off
        times must be multiples of it.
    """

    spacing: float = 0.5e-3
    size: tuple[float, float, float] = (20e-3, 20e-3, 15e-3)
    skin_thickness: float = 1e-3
    tumour_radius: float = 4e-3
    tumour_depth: float = 5e-3
    wavelength: float = 630e-9
    beam_radius: float = 6e-3
    irradiance_mW_per_cm2: float = 75.0
    fluence_J_per_cm2: float = 100.0
    fraction_on: float = 60.0
    fraction_off: float = 60.0
    tumour_concentration_uM: float = 7.0
    normal_concentration_uM: float = 1.5
    dt: float = 5.0

    @property
    def power(self) -> float:
        """Beam power [W] for the irradiance over the beam's disc (1 mW/cm^2 = 10 W/m^2)."""
        return self.irradiance_mW_per_cm2 * 10.0 * math.pi * self.beam_radius**2

    @property
    def light_time(self) -> float:
        """Total time the light is on [s]."""
        return self.fluence_J_per_cm2 / (self.irradiance_mW_per_cm2 * 1e-3)

    def schedule(self, name: str) -> PowerSchedule:
        """The ``continuous`` or ``fractionated`` power schedule."""
        if name == "continuous":
            return PowerSchedule.constant(stop=self.light_time)
        count = math.ceil(self.light_time / self.fraction_on - 1e-9)
        return PowerSchedule.pulses(on=self.fraction_on, off=self.fraction_off, count=count)

    def stop_time(self, name: str) -> float:
        """End of the run [s]: the end of the last light interval, on a step boundary."""
        end = self.light_time if name == "continuous" else (
            (math.ceil(self.light_time / self.fraction_on - 1e-9) - 1) * (self.fraction_on + self.fraction_off)
            + self.fraction_on)
        return math.ceil(end / self.dt - 1e-9) * self.dt


def build_pdt_demo(settings: PDTDemoSettings, schedule: str, *, device=None, dtype=None):
    """The Pennes model and the photodynamic therapy of one schedule.

    Returns
    -------
    model : PennesModel
    therapy : PhotodynamicTherapy
    """
    s = settings
    shape = tuple(int(round(L / s.spacing)) for L in s.size)
    grid = Grid(shape, s.spacing)
    X, Y, Z = grid.mesh()
    labels = np.full(grid.shape, PDT_TISSUE_LABELS["muscle"], dtype=np.int32)
    labels[Z < s.skin_thickness] = PDT_TISSUE_LABELS["skin"]
    cx, cy = s.size[0] / 2, s.size[1] / 2
    labels[(X - cx) ** 2 + (Y - cy) ** 2 + (Z - s.tumour_depth) ** 2 <= s.tumour_radius**2] = PDT_TISSUE_LABELS["tumour"]

    sensitizer = photosensitizer("photofrin")
    concentration = concentration_by_label(labels, {
        label: s.tumour_concentration_uM if name == "tumour" else s.normal_concentration_uM
        for name, label in PDT_TISSUE_LABELS.items()})
    optics = {label: optical_tissue(_OPTICAL[name]) for name, label in PDT_TISSUE_LABELS.items()}
    medium = OpticalMedium.from_labels(grid, labels, optics, s.wavelength).with_added(
        mua=sensitizer_absorption(concentration, sensitizer, s.wavelength), mus=0.0)
    beam = CollimatedBeam(power=s.power, wavelength=s.wavelength, position=(cx, cy, 0.0), direction=(0, 0, 1),
                          radius=s.beam_radius, schedule=s.schedule(schedule), name=f"630 nm beam, {schedule}")
    light = compute_light_fields(medium, [beam], device=device, dtype=dtype)

    tissues = {label: thermal_tissue(name) for name, label in PDT_TISSUE_LABELS.items()}
    boundaries = BoundaryConditions(z_min=Convective(10.0, 25.0), z_max=FixedTemperature(37.0))
    properties = ThermalProperties(grid, labels, tissues)
    unheated = PennesModel(grid, properties, boundaries=boundaries, arterial_temperature=37.0)
    model = PennesModel(grid, properties, boundaries=boundaries, heat_sources=[f.heat_source() for f in light],
                        arterial_temperature=37.0, initial_temperature=steady_state_temperature(unheated))
    return model, PhotodynamicTherapy(sensitizer, concentration, light)
