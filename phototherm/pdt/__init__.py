"""Photodynamic therapy: photosensitizers and the macroscopic singlet-oxygen model.

Work in progress (issue 4): the photosensitizer library, concentration maps,
the per-voxel kinetics (NumPy twin and CUDA kernel) and
:class:`PhotodynamicTherapy`, advanced by ``Simulation(photodynamic=...)``
alongside the heat equation. Surviving fractions, combined PTT x PDT damage
and the PDT example come next.
"""

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
]
