"""One commissioning check: a reference value, our value, the error and its tolerance."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Check", "ERROR_KINDS"]

#: How a check measures its error: ``relative`` |value / reference - 1|,
#: ``absolute`` |value - reference| (in the check's unit).
ERROR_KINDS = ("relative", "absolute")


@dataclass(frozen=True)
class Check:
    """A computed value set against its reference.

    Parameters
    ----------
    module : str
        Physics module checked ("bioheat", "thermal dose", "nanoparticles",
        "tissue optics", "light", "photodynamic").
    name : str
        What is compared, in words.
    reference : float
        The reference value (analytic, published, or an independent solver).
    value : float
        phototherm's value.
    unit : str
        Unit of ``reference`` and ``value`` ("1" for dimensionless).
    error_kind : {"relative", "absolute"}
    tolerance : float
        Largest acceptable error (relative, or absolute in ``unit``).
    source : str
        Where the reference comes from and why the tolerance is what it is.
    """

    module: str
    name: str
    reference: float
    value: float
    unit: str
    error_kind: str
    tolerance: float
    source: str

    @property
    def error(self) -> float:
        """The error in the sense of ``error_kind`` (NaN if the value is not finite)."""
        if not math.isfinite(self.value):
            return math.nan
        if self.error_kind == "relative":
            return abs(self.value / self.reference - 1.0)
        return abs(self.value - self.reference)

    @property
    def passed(self) -> bool:
        error = self.error
        return math.isfinite(error) and error <= self.tolerance

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error, "passed": self.passed}
