"""Photodynamic therapy: photosensitizers and the macroscopic singlet-oxygen model.

The photosensitizer library (:mod:`.photosensitizers`), concentration maps
and the sensitizer's absorption (:mod:`.concentration`), the per-voxel
kinetics (:mod:`.kinetics`: NumPy twin and CUDA kernel), optional oxygen
diffusion (:mod:`.oxygen_diffusion`), necrosis and surviving fraction
(:mod:`.damage`) and :class:`PhotodynamicTherapy` (:mod:`.treatment`),
advanced by ``Simulation(photodynamic=...)`` alongside the heat equation.
"""

from .damage import SingletOxygenSurvival, pdt_necrosis
from .concentration import concentration_by_label, sensitizer_absorption
from .kinetics import PDTState, advance, pdt_dose_rate
from .treatment import PDT_FIELDS, PhotodynamicTherapy
from .photosensitizers import BUILTIN_PHOTOSENSITIZERS, MODEL_PARAMETERS, Photosensitizer, photosensitizer

__all__ = [
    "Photosensitizer",
    "photosensitizer",
    "BUILTIN_PHOTOSENSITIZERS",
    "MODEL_PARAMETERS",
    "PDTState",
    "advance",
    "pdt_dose_rate",
    "concentration_by_label",
    "sensitizer_absorption",
    "PhotodynamicTherapy",
    "PDT_FIELDS",
    "SingletOxygenSurvival",
    "pdt_necrosis",
]
