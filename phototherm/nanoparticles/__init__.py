"""Gold nanoparticles: dielectric function, cross-sections, concentrations, maps, optics.

The data flow (SI units throughout):

1. a particle — :class:`GoldSphere` (Mie), :class:`GoldNanoshell`
   (coated-sphere Mie) or :class:`GoldNanorod` (Gans spheroid) — gives its
   :class:`CrossSections` [m^2] at vacuum wavelength(s) [m] in a host medium;
2. a concentration in particles/mL, ug of gold/mL or nM becomes a number
   density N [1/m^3] (:mod:`~phototherm.nanoparticles.concentration`);
3. a map of N on a :class:`~phototherm.Grid` (:func:`uniform`,
   :func:`gaussian`, :func:`rim_enhanced`);
4. ``mua = N C_abs`` and ``mus = N C_sca`` [1/m] (:func:`nanoparticle_optics`),
   added to the tissue's with :func:`combine_optics`.

Gold is Johnson & Christy (1972), bundled in ``data/`` with its provenance,
with a surface-scattering size correction (:mod:`~phototherm.nanoparticles.gold`).
Importing this package does not import miepython or SciPy; they load on first use.

Examples
--------
>>> import phototherm.nanoparticles as nps
>>> shell = nps.GoldNanoshell(core_diameter=120e-9, shell_thickness=10e-9)
>>> cs = shell.cross_sections(808e-9, medium_index=1.33)
>>> N = nps.number_density_from_particles_per_ml(1e9)
>>> mua, mus, g = nps.nanoparticle_optics(N, cs)
>>> f"{float(mua) / 100:.2f} 1/cm"
'0.32 1/cm'
"""

from .concentration import (
    AVOGADRO,
    CONCENTRATION_UNITS,
    GOLD_DENSITY,
    gold_ug_per_ml,
    number_density,
    number_density_from_gold_ug_per_ml,
    number_density_from_nanomolar,
    number_density_from_particles_per_ml,
    particles_per_ml,
)
from .distributions import gaussian, rim_enhanced, uniform
from .gold import (
    DEFAULT_DAMPING_A,
    GOLD_WAVELENGTH_RANGE,
    damping_rate,
    gold_permittivity,
    gold_refractive_index,
    johnson_christy_table,
)
from .mie import coated_sphere_efficiencies, layered_sphere_efficiencies
from .optics import combine_optics, nanoparticle_optics
from .particles import (
    MAX_MIE_DIAMETER,
    MAX_ROD_ASPECT_RATIO,
    MAX_ROD_LENGTH,
    MEDIUM_INDEX_RANGE,
    MIN_GOLD_DIMENSION,
    CrossSections,
    GoldNanorod,
    GoldNanoshell,
    GoldSphere,
    depolarization_factors,
)

__all__ = [
    "CrossSections",
    "GoldSphere",
    "GoldNanoshell",
    "GoldNanorod",
    "depolarization_factors",
    "gold_permittivity",
    "gold_refractive_index",
    "johnson_christy_table",
    "damping_rate",
    "DEFAULT_DAMPING_A",
    "GOLD_WAVELENGTH_RANGE",
    "layered_sphere_efficiencies",
    "coated_sphere_efficiencies",
    "number_density",
    "number_density_from_particles_per_ml",
    "number_density_from_gold_ug_per_ml",
    "number_density_from_nanomolar",
    "particles_per_ml",
    "gold_ug_per_ml",
    "GOLD_DENSITY",
    "AVOGADRO",
    "CONCENTRATION_UNITS",
    "uniform",
    "gaussian",
    "rim_enhanced",
    "nanoparticle_optics",
    "combine_optics",
    "MIN_GOLD_DIMENSION",
    "MAX_MIE_DIAMETER",
    "MAX_ROD_LENGTH",
    "MAX_ROD_ASPECT_RATIO",
    "MEDIUM_INDEX_RANGE",
]
