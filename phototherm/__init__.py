"""phototherm: dose planning for photothermal and photodynamic therapy.

The core engine solves the Pennes bioheat equation on a voxel grid, on a CUDA
GPU through CuPy or on the CPU through NumPy with the same answers, and
accumulates thermal dose (CEM43, Arrhenius damage) as it steps. Laser heat
comes from tissue optics (:mod:`phototherm.tissues`), gold nanoparticles
(:mod:`phototherm.nanoparticles`) and light transport by diffusion or Monte
Carlo (:mod:`phototherm.light`): ``Q = mua x fluence rate``.

>>> import phototherm as pt
>>> grid = pt.Grid(shape=(40, 40, 30), spacing=0.5e-3)

See the README for a tour of the Python API and ``phototherm --help`` for the
command line.
"""

from . import light, nanoparticles, phantoms, planning, tissues
from ._version import __version__
from .backend import Backend, resolve_backend
from .bioheat import (
    BoundaryConditions,
    Convective,
    FixedTemperature,
    Insulated,
    PennesModel,
    Periodic,
    VascularShutdown,
)
from .errors import (
    DeviceUnavailableError,
    InputError,
    PhotothermError,
    SimulationDiverged,
    SolverDidNotConverge,
    StabilityError,
)
from .grid import Grid
from .light import (
    CollimatedBeam,
    CylindricalDiffuser,
    IsotropicPoint,
    LightField,
    OpticalMedium,
    compute_light_fields,
)
from .nanoparticles import GoldNanorod, GoldNanoshell, GoldSphere, nanoparticle_optics
from .heating import HeatSource, gaussian_heat_source
from .results import Result
from .schedule import PowerSchedule
from .simulation import Callback, IterationInterval, Simulation, TimeInterval
from .tissues import ArrheniusParameters, Blood, OpticalTissue, ThermalProperties, ThermalTissue

__all__ = [
    "__version__",
    "Grid",
    "tissues",
    "light",
    "nanoparticles",
    "phantoms",
    "planning",
    "OpticalTissue",
    "OpticalMedium",
    "CollimatedBeam",
    "IsotropicPoint",
    "CylindricalDiffuser",
    "LightField",
    "compute_light_fields",
    "GoldSphere",
    "GoldNanoshell",
    "GoldNanorod",
    "nanoparticle_optics",
    "ThermalTissue",
    "ArrheniusParameters",
    "Blood",
    "ThermalProperties",
    "HeatSource",
    "gaussian_heat_source",
    "PowerSchedule",
    "BoundaryConditions",
    "FixedTemperature",
    "Convective",
    "Insulated",
    "Periodic",
    "VascularShutdown",
    "PennesModel",
    "Simulation",
    "Callback",
    "IterationInterval",
    "TimeInterval",
    "Result",
    "Backend",
    "resolve_backend",
    "PhotothermError",
    "InputError",
    "StabilityError",
    "DeviceUnavailableError",
    "SimulationDiverged",
    "SolverDidNotConverge",
]
