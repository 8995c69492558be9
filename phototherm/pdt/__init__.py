"""Photodynamic therapy: photosensitizers and the macroscopic singlet-oxygen model.

Work in progress (issue 4): the photosensitizer library and the per-voxel
kinetics (NumPy/CuPy twin) are here; the CUDA kernel, coupling to the
simulation and the PDT outputs come next.
"""

from .concentration import concentration_by_label, sensitizer_absorption
from .kinetics import PDTState, advance, pdt_dose_rate
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
]
