"""Per-voxel thermal properties from a label map and a per-label table."""

from __future__ import annotations

import difflib
from typing import Mapping

import numpy as np

from ..errors import Problems
from ..grid import Grid
from .thermal import ThermalTissue

__all__ = ["ThermalProperties", "OVERRIDABLE"]

#: Properties that may be overridden voxel by voxel, with their units.
OVERRIDABLE = {
    "density": "kg/m^3",
    "specific_heat": "J/(kg K)",
    "conductivity": "W/(m K)",
    "perfusion": "1/s",
    "metabolic_heat": "W/m^3",
    "arrhenius_A": "1/s",
    "arrhenius_Ea": "J/mol",
}
_POSITIVE = ("density", "specific_heat", "conductivity")
_NON_NEGATIVE = ("perfusion", "arrhenius_A", "arrhenius_Ea")


class ThermalProperties:
    """Thermal properties of every voxel.

    Built from an integer label map and one :class:`ThermalTissue` per label,
    optionally overridden voxel by voxel (e.g. a measured perfusion map).

    Parameters
    ----------
    grid : Grid
        The voxel grid.
    labels : array of int, shape ``grid.shape``
        Tissue label of every voxel.
    tissues : mapping of int to ThermalTissue
        Properties of each label. Every label present in ``labels`` needs one.
    overrides : mapping of str to array, optional
        Per-voxel values replacing the per-label ones. Keys and units:
        ``density`` [kg/m^3], ``specific_heat`` [J/(kg K)], ``conductivity``
        [W/(m K)], ``perfusion`` [1/s], ``metabolic_heat`` [W/m^3],
        ``arrhenius_A`` [1/s] and ``arrhenius_Ea`` [J/mol] (0 for A means no
        damage model in that voxel). Each array has shape ``grid.shape``.

    Raises
    ------
    InputError
        Labels of the wrong shape or type, a label without a tissue, invalid
        tissue properties, unknown override keys, overrides of the wrong shape
        or with NaN, negative or zero values where positive ones are needed.
        Every problem is listed.

    Attributes
    ----------
    density, specific_heat, conductivity, perfusion, metabolic_heat : ndarray
        float64 arrays of ``grid.shape`` in the units above.
    arrhenius_A, arrhenius_Ea : ndarray
        Damage model per voxel; ``arrhenius_A == 0`` where none applies.

    Examples
    --------
    >>> import numpy as np
    >>> from phototherm import Grid
    >>> from phototherm.tissues import ThermalProperties, thermal_tissue
    >>> grid = Grid((10, 10, 10), 1e-3)
    >>> labels = np.zeros(grid.shape, int); labels[:, :, 5:] = 1
    >>> props = ThermalProperties(grid, labels, {0: thermal_tissue("fat"), 1: thermal_tissue("muscle")})
    >>> float(props.conductivity[0, 0, 9])
    0.49496875
    """

    def __init__(
        self,
        grid: Grid,
        labels,
        tissues: Mapping[int, ThermalTissue],
        overrides: Mapping[str, np.ndarray] | None = None,
    ):
        problems = Problems()
        labels = np.asarray(labels)
        ok_labels = problems.check(
            labels.shape == grid.shape, "labels", labels, f"an integer array of shape {grid.shape}"
        ) and problems.check(
            np.issubdtype(labels.dtype, np.integer), "labels.dtype", labels.dtype, "an integer type"
        )
        for label, tissue in tissues.items():
            problems.check(isinstance(tissue, ThermalTissue), f"tissues[{label}]", tissue, "a ThermalTissue")
            if isinstance(tissue, ThermalTissue):
                tissue.validate(f"tissues[{label}]({tissue.name})", problems)
        if ok_labels:
            present = np.unique(labels)
            missing = [int(v) for v in present if int(v) not in tissues]
            problems.check(
                not missing,
                "labels",
                missing,
                f"a tissue for every label in the label map; labels {missing} have none "
                f"(tissues are given for {sorted(tissues)})",
            )
        overrides = dict(overrides or {})
        for key, value in overrides.items():
            if key not in OVERRIDABLE:
                close = difflib.get_close_matches(key, OVERRIDABLE, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.add(f"overrides.{key}", "<array>", f"one of {', '.join(OVERRIDABLE)}{hint}")
                continue
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                problems.add(f"overrides.{key}", value, f"an array of numbers [{OVERRIDABLE[key]}], shape {grid.shape}")
                continue
            if not problems.check(arr.shape == grid.shape, f"overrides.{key}", arr, f"shape {grid.shape}"):
                continue
            unit = f"[{OVERRIDABLE[key]}]"
            if key in _POSITIVE:
                problems.positive(arr, f"overrides.{key}", unit)
            elif key in _NON_NEGATIVE:
                problems.non_negative(arr, f"overrides.{key}", unit)
            else:
                problems.finite(arr, f"overrides.{key}", unit)
        problems.raise_if_any("invalid thermal properties")

        self.grid = grid
        self.labels = labels
        self.tissues = dict(tissues)
        self.overridden = tuple(sorted(overrides))
        keys = sorted(self.tissues)
        ordered = [self.tissues[label] for label in keys]
        index = np.searchsorted(np.asarray(keys), labels)  # exact: every label has a tissue

        def per_label(values) -> np.ndarray:
            return np.asarray(values, dtype=float)[index]

        self.density = per_label([t.density for t in ordered])
        self.specific_heat = per_label([t.specific_heat for t in ordered])
        self.conductivity = per_label([t.conductivity for t in ordered])
        self.perfusion = per_label([t.perfusion for t in ordered])
        self.metabolic_heat = per_label([t.metabolic_heat for t in ordered])
        self.arrhenius_A = per_label([t.arrhenius.frequency_factor if t.arrhenius else 0.0 for t in ordered])
        self.arrhenius_Ea = per_label([t.arrhenius.activation_energy if t.arrhenius else 0.0 for t in ordered])
        for key, value in overrides.items():
            setattr(self, key, np.array(value, dtype=float))

    @classmethod
    def uniform(cls, grid: Grid, tissue: ThermalTissue) -> "ThermalProperties":
        """Every voxel of ``grid`` made of ``tissue`` (label 0)."""
        return cls(grid, np.zeros(grid.shape, dtype=np.int32), {0: tissue})

    @property
    def volumetric_heat_capacity(self) -> np.ndarray:
        """rho c per voxel [J/(m^3 K)]."""
        return self.density * self.specific_heat

    @property
    def has_damage_model(self) -> np.ndarray:
        """Boolean map of voxels with an Arrhenius damage model (A > 0)."""
        return self.arrhenius_A > 0

    def label_name(self, label: int) -> str:
        return self.tissues[label].name

    def describe(self) -> dict:
        """Per-label table and the names of per-voxel overrides (for summaries)."""
        return {
            "tissues": {str(label): t.describe() for label, t in sorted(self.tissues.items())},
            "per_voxel_overrides": list(self.overridden),
        }
