"""Tissue property data and per-voxel property maps.

Thermal properties come from the IT'IS database (v4.2, bundled with its
provenance in ``data/``); see :func:`thermal_tissue` for the curated built-in
set and :func:`itis_tissue` for the full database.
"""

from .library import (
    BUILTIN_THERMAL_TISSUES,
    HENRIQUES_MORITZ_SKIN,
    LIVER_COAGULATION,
    itis_names,
    itis_tissue,
    thermal_tissue,
)
from .properties import OVERRIDABLE, ThermalProperties
from .thermal import ArrheniusParameters, Blood, ThermalTissue

__all__ = [
    "ArrheniusParameters",
    "Blood",
    "ThermalTissue",
    "ThermalProperties",
    "OVERRIDABLE",
    "thermal_tissue",
    "itis_tissue",
    "itis_names",
    "BUILTIN_THERMAL_TISSUES",
    "HENRIQUES_MORITZ_SKIN",
    "LIVER_COAGULATION",
]

# Optical properties (400-1100 nm): chromophore spectra, composition-based tissues, built-ins.
from . import spectra
from .optical import OpticalProperties, OpticalTissue
from .optical_library import BUILTIN_OPTICAL_TISSUES, ScatteringFit, jacques2013_table2, optical_tissue

__all__ += [
    "spectra",
    "OpticalProperties",
    "OpticalTissue",
    "optical_tissue",
    "BUILTIN_OPTICAL_TISSUES",
    "ScatteringFit",
    "jacques2013_table2",
]
