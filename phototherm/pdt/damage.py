"""Photodynamic damage: necrosis threshold and surviving fraction from reacted singlet oxygen.

Two readings of the reacted singlet-oxygen map [1O2]rx (uM) are offered:

* **Necrosis** (:func:`pdt_necrosis`): the Zhu group's threshold model
  (PHYSICS.md section 5), necrosis where [1O2]rx reaches the sensitizer's
  threshold dose [1O2]rx,sh. This is the reading the built-in parameter sets
  were fitted with (necrosis radius in mouse tumours).
* **Surviving fraction** (:class:`SingletOxygenSurvival`): first-order
  ("single-hit") cell kill by reacted singlet oxygen,

      S_PDT = exp(-[1O2]rx / D0),

  where ``D0`` [uM] is the reacted singlet-oxygen dose that leaves 1/e (37 %)
  of cells alive. Singlet oxygen reacts with cellular targets in proportion
  to its concentration, so an exponential survival in the reacted dose is the
  simplest model consistent with the kinetics; in vitro studies correlate
  clonogenic survival with the reacted singlet-oxygen (or consumed-oxygen)
  dose per volume (e.g. Weston and Patterson, Photochem. Photobiol.
  87:1129-1137 (2011), for BPD-MA). Where it does not hold: survival curves
  with a shoulder (repair at low dose), cell lines or sensitizer
  localisations other than those ``D0`` was fitted to, and vascular or immune
  effects in vivo.

  phototherm ships **no** value of ``D0``: none could be confirmed against a
  paper's table with the sources available, and it depends on the cell line
  and on where the sensitizer localises. Supply one fitted to your own
  survival data (with its ``source``); without it the PDT surviving fraction
  is not computed.

The combined photothermal + photodynamic surviving fraction is the product
``exp(-Omega) x S_PDT`` (:func:`phototherm.dose.combined_surviving_fraction`):
the mechanisms are assumed independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import array_module
from ..errors import Problems

__all__ = ["SingletOxygenSurvival", "pdt_necrosis"]


@dataclass(frozen=True, eq=False)
class SingletOxygenSurvival:
    """First-order cell kill by reacted singlet oxygen, ``S = exp(-[1O2]rx / D0)``.

    Parameters
    ----------
    d0_uM : float or ndarray
        Reacted singlet-oxygen dose for 1/e survival, ``D0`` [uM] (> 0); an
        array of the grid's shape gives each voxel its own (e.g. per tissue).
        1 log10 of kill takes ``ln(10) D0 = 2.303 D0``.
    source : str
        Where ``D0`` comes from (paper, table, cell line, or "illustrative").
        Recorded in result summaries.

    Examples
    --------
    >>> from phototherm.pdt import SingletOxygenSurvival
    >>> model = SingletOxygenSurvival(d0_uM=200.0, source="illustrative value, not fitted")
    >>> round(float(model.surviving_fraction(460.5)), 4)  # 2.3 D0: one log of kill
    0.1
    """

    d0_uM: float | np.ndarray
    source: str = ""

    def validate(self, path: str, problems: Problems, shape: tuple[int, ...] | None = None) -> None:
        """Record every problem under ``path``."""
        d0 = np.asarray(self.d0_uM, dtype=float) if _is_numeric(self.d0_uM) else None
        if not problems.check(d0 is not None, f"{path}.d0_uM", self.d0_uM, "a number or array > 0 [uM]"):
            return
        if shape is not None:
            problems.check(d0.ndim == 0 or d0.shape == tuple(shape), f"{path}.d0_uM", self.d0_uM,
                           f"a number or an array of shape {tuple(shape)} [uM]")
        problems.positive(d0, f"{path}.d0_uM", "[uM]")
        problems.check(isinstance(self.source, str), f"{path}.source", self.source, "a text naming the source of D0")

    def surviving_fraction(self, singlet_oxygen_reacted_uM):
        """``exp(-[1O2]rx / D0)`` for a reacted singlet-oxygen dose [uM] (NumPy or CuPy)."""
        xp = array_module(singlet_oxygen_reacted_uM)
        rx = xp.asarray(singlet_oxygen_reacted_uM)
        return xp.exp(-rx / xp.asarray(self.d0_uM, dtype=rx.dtype if rx.dtype.kind == "f" else float))

    def describe(self) -> dict:
        """Plain-data summary for result files."""
        d0 = np.asarray(self.d0_uM, dtype=float)
        return {
            "model": "S_PDT = exp(-[1O2]rx / D0)",
            "d0_uM": float(d0) if d0.ndim == 0 else [float(d0.min()), float(d0.max())],
            "source": self.source,
        }


def pdt_necrosis(singlet_oxygen_reacted_uM, threshold_uM: float):
    """1 where [1O2]rx reached the necrosis threshold [uM], else 0 (float array)."""
    xp = array_module(singlet_oxygen_reacted_uM)
    return (xp.asarray(singlet_oxygen_reacted_uM) >= threshold_uM).astype(float)


def _is_numeric(value) -> bool:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return array.dtype.kind == "f" and not isinstance(value, (bool, str))
