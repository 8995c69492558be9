"""From light to heat: Q = mua_total x fluence rate, per source, times its schedule.

The light field of each source is computed once, per watt of source power, by
the diffusion solver (fast; accurate beyond a few transport mean free paths
from sources and boundaries) or by Monte Carlo (accurate everywhere, with a
statistical error). Each source then becomes one
:class:`~phototherm.heating.HeatSource` of the bioheat solver with power
density ``Q(x) = power * mua(x) * phi_per_W(x)`` [W/m^3] and the source's own
schedule. Because the heat equation is linear in each source's power while
the tissue properties stay constant, the planner may rescale powers without
recomputing light.

``mua`` here is the *total* absorption coefficient: tissue chromophores plus
nanoparticles (:meth:`OpticalMedium.with_added`). The optical properties are
assumed not to change with temperature or damage during the run.

Examples
--------
>>> import phototherm as pt
>>> from phototherm.light import OpticalMedium, IsotropicPoint, compute_light_fields
>>> grid = pt.Grid((21, 21, 21), 1e-3)
>>> medium = OpticalMedium.uniform(grid, mua=20.0, mus=10000.0, g=0.9, n=1.37, wavelength=808e-9)
>>> fibre = IsotropicPoint(power=0.5, wavelength=808e-9, position=(10.5e-3, 10.5e-3, 10.5e-3))
>>> [field] = compute_light_fields(medium, [fibre], method="diffusion", device="cpu")
>>> heat = field.heat_source()          # a HeatSource for PennesModel(heat_sources=[...])
>>> 0.3 < heat.total_power(grid) < 0.5  # absorbed watts (the rest leaves the grid)
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import Problems
from ..heating import HeatSource
from .medium import OpticalMedium
from .sources import LightSource, validate_sources

__all__ = ["LightField", "LaserHeatSource", "compute_light_fields", "LIGHT_METHODS"]

#: Light solvers accepted by :func:`compute_light_fields`.
LIGHT_METHODS = ("diffusion", "monte-carlo")


@dataclass(frozen=True, eq=False)
class LaserHeatSource(HeatSource):
    """A heat source made by light: also carries the fluence rate that made it.

    Attributes
    ----------
    power_density : ndarray
        ``Q = power * mua * phi_per_W`` at schedule level 1 [W/m^3].
    fluence_rate : ndarray
        Fluence rate at schedule level 1 [W/m^2].
    light : dict
        Plain-data description of the light source, optical medium and solver
        (recorded in result summaries).
    """

    fluence_rate: np.ndarray = field(default=None)  # type: ignore[assignment]
    light: dict = field(default_factory=dict)

    def describe(self, grid) -> dict:
        return {**super().describe(grid), "light": self.light}


@dataclass(frozen=True, eq=False)
class LightField:
    """The light field of one source, per watt of source power.

    Attributes
    ----------
    source : LightSource
    medium : OpticalMedium
        The optical properties it was computed for (absorption included).
    method : {"diffusion", "monte-carlo"}
    fluence_rate_per_W : ndarray
        Fluence rate per watt of source power [W/m^2 per W = 1/m^2].
    fluence_rate_error_per_W : ndarray or None
        Standard error of ``fluence_rate_per_W`` (Monte Carlo only) [1/m^2].
    details : dict
        Solver diagnostics (iterations, energy balance, photons, timing).
    """

    source: LightSource
    medium: OpticalMedium
    method: str
    fluence_rate_per_W: np.ndarray
    fluence_rate_error_per_W: np.ndarray | None = None
    details: dict = field(default_factory=dict)

    @property
    def absorbed_power_density_per_W(self) -> np.ndarray:
        """``mua * phi`` per watt of source power [W/m^3 per W = 1/m^3]."""
        return self.medium.mua * self.fluence_rate_per_W

    @property
    def fluence_rate(self) -> np.ndarray:
        """Fluence rate at the source's power (schedule level 1) [W/m^2]."""
        return self.source.power * self.fluence_rate_per_W

    def absorbed_fraction(self) -> float:
        """Fraction of the source power absorbed inside the grid."""
        return float(np.sum(self.absorbed_power_density_per_W, dtype=np.float64) * self.medium.grid.cell_volume)

    def heat_source(self) -> LaserHeatSource:
        """This field as a bioheat heat source, with the source's power and schedule."""
        return LaserHeatSource(
            power_density=self.source.power * self.absorbed_power_density_per_W,
            schedule=self.source.schedule,
            name=self.source.name,
            fluence_rate=self.fluence_rate,
            light=self.describe(),
        )

    def describe(self) -> dict[str, Any]:
        """Plain-data summary for result files (SI units in the key names)."""
        out = {
            "source": self.source.describe(),
            "method": self.method,
            "absorbed_fraction_in_grid": self.absorbed_fraction(),
            "peak_fluence_rate_W_per_m2": float(np.max(self.fluence_rate)),
            "medium": self.medium.describe(),
        }
        out.update(self.details)
        return out


def compute_light_fields(
    medium: OpticalMedium,
    sources: Sequence[LightSource],
    *,
    method: str = "diffusion",
    device: str | None = None,
    dtype=None,
    photons: int = 1_000_000,
    seed: int = 0,
    progress: bool | None = None,
    **solver_options: Any,
) -> list[LightField]:
    """The light field of every source, per watt, with the chosen solver.

    Parameters
    ----------
    medium : OpticalMedium
        Optical properties at the sources' wavelength, nanoparticles included.
    sources : sequence of LightSource
        Each source's field is computed separately (each has its own schedule).
    method : {"diffusion", "monte-carlo"}
        Diffusion approximation (fast) or voxel Monte Carlo (accurate near
        sources, boundaries and in strongly absorbing regions).
    device : {"auto", "cpu", "gpu"} or None
        Backend (see :func:`phototherm.backend.resolve_backend`).
    dtype : {"float32", "float64"} or None
        Floating-point type of the solver.
    photons : int
        Photon packets per source (Monte Carlo only).
    seed : int
        Random seed (Monte Carlo only); source ``i`` uses ``seed + i``.
    progress : bool or None
        Progress bar (Monte Carlo only); None shows it on long runs.
    **solver_options
        Passed to :func:`~phototherm.light.diffusion.solve_diffusion` or
        :func:`~phototherm.light.montecarlo.simulate_monte_carlo`.

    Returns
    -------
    list of LightField
        In the order of ``sources``.

    Raises
    ------
    InputError
        Unknown method, sources outside the grid or pointing out of it, a
        source wavelength different from the medium's, zero photons.
    """
    problems = Problems()
    problems.check(method in LIGHT_METHODS, "method", method, f"one of {LIGHT_METHODS}")
    validate_sources(medium.grid, list(sources), medium.wavelength, problems=problems)
    problems.raise_if_any("invalid light computation")
    fields = []
    for i, source in enumerate(sources):
        start = time.perf_counter()
        if method == "diffusion":
            from .diffusion import solve_diffusion

            solved = solve_diffusion(medium, source, device=device, dtype=dtype, **solver_options)
            fields.append(
                LightField(source, medium, method, _host(solved.fluence_rate), None,
                           {"elapsed_s": time.perf_counter() - start, **_diagnostics(solved)})
            )
        else:
            from .montecarlo import simulate_monte_carlo

            run = simulate_monte_carlo(medium, source, photons=photons, seed=seed + i, device=device,
                                       dtype=dtype, progress=progress, **solver_options)
            fields.append(
                LightField(source, medium, method, _host(run.fluence_rate), _host(run.fluence_rate_error),
                           {"elapsed_s": time.perf_counter() - start, **_diagnostics(run)})
            )
    return fields


def _host(array) -> np.ndarray:
    from ..backend import to_host

    return np.asarray(to_host(array), dtype=np.float64)


def _diagnostics(solved) -> dict[str, Any]:
    """The solver's own plain-data summary, if it offers one."""
    describe = getattr(solved, "describe", None)
    return describe() if callable(describe) else {}
