"""Light in tissue: optical media, sources, diffusion and Monte Carlo transport, laser heating.

Data flow: an :class:`OpticalMedium` (per-voxel mua, mus, g, n at one
wavelength, nanoparticles included) and a list of sources give, through
:func:`compute_light_fields`, one :class:`LightField` per source (fluence rate
per watt, by diffusion or Monte Carlo); :meth:`LightField.heat_source` turns it
into the bioheat solver's heat source ``Q = power * mua * phi`` with the
source's schedule.
"""

from .diffusion import DiffusionResult, LightModelWarning, solve_diffusion
from .fresnel import effective_reflectance, extrapolated_boundary_factor, fresnel_reflectance
from .laser_heating import LIGHT_METHODS, LaserHeatSource, LightField, compute_light_fields
from .medium import OpticalMedium
from .montecarlo import EnergyFractions, MonteCarloResult, simulate_monte_carlo
from .sources import CollimatedBeam, CylindricalDiffuser, IsotropicPoint, LightSource, validate_sources

__all__ = [
    "OpticalMedium",
    "LightSource",
    "CollimatedBeam",
    "IsotropicPoint",
    "CylindricalDiffuser",
    "validate_sources",
    "LightField",
    "LaserHeatSource",
    "compute_light_fields",
    "LIGHT_METHODS",
    "solve_diffusion",
    "DiffusionResult",
    "LightModelWarning",
    "simulate_monte_carlo",
    "MonteCarloResult",
    "EnergyFractions",
    "fresnel_reflectance",
    "effective_reflectance",
    "extrapolated_boundary_factor",
]
