"""Temperature-dependent perfusion: vascular shutdown once the tissue is damaged.

Heating above ~43-45 C first raises, then collapses tumour blood flow. The
model here is the common step model: perfusion keeps its baseline value until
the accumulated thermal dose of a voxel (CEM43 or the Arrhenius Omega) reaches
a threshold, then drops to ``residual_fraction`` of baseline for good.

The dose is the one accumulated up to the start of each step (explicit in
time). Voxels without an Arrhenius model never shut down under the Arrhenius
criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import array_module
from ..errors import Problems

__all__ = ["VascularShutdown"]

_MODES = {"cem43": 1, "arrhenius": 2}


@dataclass(frozen=True)
class VascularShutdown:
    """Step-function vascular shutdown.

    Parameters
    ----------
    quantity : {"cem43", "arrhenius"}
        Dose that triggers shutdown.
    threshold : float
        CEM43 [min] or Omega (dimensionless) at which perfusion stops.
    residual_fraction : float
        Perfusion left after shutdown, as a fraction of baseline (0 to 1).
    """

    quantity: str = "cem43"
    threshold: float = 240.0
    residual_fraction: float = 0.0

    @property
    def mode(self) -> int:
        """Integer code passed to the CUDA kernel (1: CEM43, 2: Arrhenius)."""
        return _MODES[self.quantity]

    def validate(self, path: str, problems: Problems) -> None:
        problems.check(self.quantity in _MODES, f"{path}.quantity", self.quantity, "'cem43' or 'arrhenius'")
        problems.non_negative(self.threshold, f"{path}.threshold", "(CEM43 in min, or Omega)")
        problems.check(
            0.0 <= self.residual_fraction <= 1.0, f"{path}.residual_fraction", self.residual_fraction, "a fraction in [0, 1]"
        )

    def factor(self, cem43, omega):
        """Perfusion multiplier per voxel (1 before shutdown, ``residual_fraction`` after)."""
        xp = array_module(cem43)
        dose = cem43 if self.quantity == "cem43" else omega
        c = dose.dtype.type
        return xp.where(dose >= c(self.threshold), c(self.residual_fraction), c(1))

    def describe(self) -> dict:
        return {"quantity": self.quantity, "threshold": self.threshold, "residual_fraction": self.residual_fraction}
