"""A photodynamic treatment advanced alongside the heat equation.

:class:`PhotodynamicTherapy` describes what is in the tissue (a photosensitizer
and its concentration map, the initial oxygen) and the light that drives it
(light fields at the sensitizer's treatment wavelength, each with its source's
power and schedule). Given to :class:`~phototherm.Simulation` as
``photodynamic=``, it is advanced after every bioheat step over the same
interval ``[t0, t1]`` with the fluence rate

    phi(x) = sum_s P_s mean(p_s, t0, t1) phi_s(x)   [W/m^2],

the exact mean of each source's schedule over the step, held constant within
the step (so on/off schedules are exact when their switching times fall on
step boundaries; otherwise a step that straddles a switch sees the mean light
level). The same light fields usually also heat the tissue (their
:meth:`~phototherm.light.LightField.heat_source` in the
:class:`~phototherm.PennesModel`); the kinetics do not depend on
temperature.

Assumptions: the sensitizer absorption included in the light fields is that
of the initial concentration (photobleaching does not update the light field
during the run). Oxygen does not diffuse between voxels unless an
``oxygen_diffusivity`` is given (:mod:`phototherm.pdt.oxygen_diffusion`: the
kinetics and the diffusion are split, first order in the step).

Damage: the necrosis map (threshold on [1O2]rx) is always produced; a
surviving-fraction map only with a ``survival`` model
(:class:`~phototherm.pdt.damage.SingletOxygenSurvival`, whose ``D0`` the user
supplies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import Problems
from ..grid import Grid
from .damage import SingletOxygenSurvival
from .kinetics import PDTState, advance
from .oxygen_diffusion import OxygenDiffusion, check_diffusivity
from .photosensitizers import Photosensitizer

__all__ = ["PhotodynamicTherapy", "PhotodynamicProcess", "PDT_FIELDS"]

#: Output name and unit of each PDT field (attribute of PDTState), as results write them.
PDT_FIELDS = {
    "s0": ("photosensitizer_uM", "uM"),
    "oxygen": ("oxygen_uM", "uM"),
    "singlet_oxygen_reacted": ("singlet_oxygen_reacted_uM", "uM"),
    "pdt_dose": ("pdt_dose_photons_per_m3", "1/m^3"),
    "fluence": ("pdt_fluence_J_per_m2", "J/m^2"),
}

#: Default relative tolerance of the kinetics per floating-point type.
DEFAULT_RTOL = {"float64": 1e-6, "float32": 1e-4}


@dataclass(frozen=True, eq=False)
class PhotodynamicTherapy:
    """A photosensitizer in tissue and the light fields that excite it.

    Parameters
    ----------
    sensitizer : Photosensitizer
    concentration_uM : ndarray or float
        Initial photosensitizer concentration [uM], per voxel or uniform.
    light : sequence of LightField
        Light fields at one of the sensitizer's treatment wavelengths (from
        :func:`~phototherm.light.compute_light_fields`); each carries its
        source's power [W] and schedule.
    oxygen_uM : ndarray, float or None
        Initial ground-state oxygen [uM]; default the sensitizer's
        ``oxygen_initial``.
    rtol : float or None
        Relative tolerance of the kinetics integrator; default 1e-6 in float64
        and 1e-4 in float32.
    survival : SingletOxygenSurvival or None
        Cell-survival model of the reacted singlet oxygen; with it, results
        gain ``pdt_surviving_fraction`` (and, when the model also heats,
        the combined ``surviving_fraction``). phototherm ships no ``D0``.
    oxygen_diffusivity : float, ndarray or None
        Oxygen diffusivity [m^2/s] (of order 2e-9 in tissue), uniform or per
        voxel; ``None`` (default): no diffusion between voxels, the
        macroscopic model as published.

    Examples
    --------
    >>> import phototherm as pt
    >>> from phototherm.pdt import PhotodynamicTherapy, photosensitizer
    >>> grid = pt.Grid((10, 10, 10), 1e-3)
    >>> medium = pt.OpticalMedium.uniform(grid, mua=30.0, mus=10000.0, g=0.9, n=1.37, wavelength=630e-9)
    >>> fibre = pt.IsotropicPoint(power=0.05, wavelength=630e-9, position=(5e-3, 5e-3, 5e-3))
    >>> light = pt.compute_light_fields(medium, [fibre], device="cpu")
    >>> pdt = PhotodynamicTherapy(photosensitizer("photofrin"), concentration_uM=7.0, light=light)
    >>> # pt.Simulation(model, stop_time=..., photodynamic=pdt).run()
    """

    sensitizer: Photosensitizer
    concentration_uM: np.ndarray | float
    light: Sequence = field(default_factory=tuple)
    oxygen_uM: np.ndarray | float | None = None
    rtol: float | None = None
    survival: SingletOxygenSurvival | None = None
    oxygen_diffusivity: np.ndarray | float | None = None

    @property
    def wavelength(self) -> float:
        """The treatment wavelength [m] (that of the light fields)."""
        return float(self.light[0].source.wavelength)

    def validate(self, grid: Grid, path: str, problems: Problems) -> None:
        """Record every problem under ``path``."""
        if not problems.check(isinstance(self.sensitizer, Photosensitizer), f"{path}.sensitizer", self.sensitizer,
                              "a Photosensitizer"):
            return
        for name, value in (("concentration_uM", self.concentration_uM), ("oxygen_uM", self.oxygen_uM)):
            if value is None:
                continue
            array = np.asarray(value, dtype=float)
            if problems.check(array.ndim == 0 or array.shape == grid.shape, f"{path}.{name}", value,
                              f"a number or an array of shape {grid.shape} [uM]"):
                problems.non_negative(array, f"{path}.{name}", "[uM]")
        if not problems.check(len(self.light) > 0, f"{path}.light", list(self.light),
                              "at least one LightField at the sensitizer's wavelength"):
            return
        for i, light in enumerate(self.light):
            where = f"{path}.light[{i}]"
            if not problems.check(hasattr(light, "fluence_rate_per_W") and hasattr(light, "source"), where, light,
                                  "a LightField"):
                continue
            problems.check(light.medium.grid.shape == grid.shape, f"{where}.grid", light.medium.grid.shape,
                           f"the model's grid shape {grid.shape}")
            problems.check(any(abs(light.source.wavelength - w) <= 1e-9 for w in self.sensitizer.wavelengths),
                           f"{where}.source.wavelength", light.source.wavelength,
                           f"a treatment wavelength of {self.sensitizer.name!r}: "
                           + ", ".join(f"{w * 1e9:g} nm" for w in self.sensitizer.wavelengths))
        if self.rtol is not None:
            problems.check(isinstance(self.rtol, (int, float)) and 0 < self.rtol < 1, f"{path}.rtol", self.rtol,
                           "a relative tolerance in (0, 1)")
        if self.survival is not None and problems.check(
                isinstance(self.survival, SingletOxygenSurvival), f"{path}.survival", self.survival,
                "a phototherm.pdt.SingletOxygenSurvival"):
            self.survival.validate(f"{path}.survival", problems, grid.shape)
        if self.oxygen_diffusivity is not None:
            check_diffusivity(self.oxygen_diffusivity, grid.shape, f"{path}.oxygen_diffusivity", problems)

    def describe(self) -> dict:
        """Plain-data summary for result files."""
        conc = np.asarray(self.concentration_uM, dtype=float)
        return {
            "sensitizer": self.sensitizer.describe(),
            "wavelength_nm": self.wavelength * 1e9,
            "concentration_uM_range": [float(conc.min()), float(conc.max())],
            "sources": [light.source.describe() for light in self.light],
            "survival": self.survival.describe() if self.survival is not None else None,
            "oxygen_diffusivity_m2_per_s": _summary(self.oxygen_diffusivity),
            "assumptions": "light fields of the initial sensitizer concentration; "
                           + ("no oxygen diffusion between voxels" if self.oxygen_diffusivity is None
                              else "oxygen diffusion split from the kinetics (first order in the step)"),
        }


class PhotodynamicProcess:
    """The running state of a :class:`PhotodynamicTherapy` on a backend (used by Simulation).

    Parameters
    ----------
    therapy : PhotodynamicTherapy
    grid : Grid
    backend : Backend
    """

    def __init__(self, therapy: PhotodynamicTherapy, grid: Grid, backend) -> None:
        xp, dtype = backend.xp, backend.dtype
        s = therapy.sensitizer
        oxygen = s.oxygen_initial if therapy.oxygen_uM is None else therapy.oxygen_uM
        self.therapy = therapy
        self.state = PDTState.initial(grid.shape, s0=xp.asarray(np.asarray(therapy.concentration_uM, float)),
                                      oxygen=xp.asarray(np.asarray(oxygen, float)), xp=xp, dtype=dtype)
        self._fields = [backend.asarray(light.fluence_rate_per_W) for light in therapy.light]
        self._sources = [light.source for light in therapy.light]
        self._extinction = s.extinction_at(therapy.wavelength)
        self._rtol = therapy.rtol if therapy.rtol is not None else DEFAULT_RTOL[np.dtype(dtype).name]
        self._xp = xp
        self.oxygen_diffusion = (None if therapy.oxygen_diffusivity is None
                                 else OxygenDiffusion(therapy.oxygen_diffusivity, grid, xp, dtype))

    def fluence_rate(self, t0: float, t1: float):
        """Fluence rate over ``[t0, t1]`` [W/m^2]: each source's power x mean schedule level x field."""
        total = self._xp.zeros_like(self._fields[0])
        for source, field_per_W in zip(self._sources, self._fields):
            level = source.power * source.schedule.mean(t0, t1)
            if level:
                total += total.dtype.type(level) * field_per_W
        return total

    def step(self, t0: float, t1: float) -> None:
        """Advance the kinetics over ``[t0, t1]`` [s]."""
        advance(self.state, self.fluence_rate(t0, t1), t1 - t0, self.therapy.sensitizer, rtol=self._rtol,
                extinction=self._extinction, wavelength=self.therapy.wavelength, validate=False)
        if self.oxygen_diffusion is not None:
            self.oxygen_diffusion.step(self.state.oxygen, t1 - t0)


def _summary(value):
    """A number, the [min, max] of an array, or None, for result summaries."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else [float(array.min()), float(array.max())]
