"""Structures: the named regions a plan is judged on.

A :class:`Structure` is a named boolean mask over the voxel grid with a role,
as in radiotherapy planning: the tumour is a *target* (it should receive the
dose), skin and healthy organs are *organs at risk* (they should be spared),
anything else is *other* (reported only). Structures come from

* a tissue label map, one structure per tissue or grouped by name
  (:func:`structures_from_labels`);
* any boolean mask (:meth:`Structure.from_mask`);
* a margin around another structure (:func:`margin`): the shell of voxels
  within a distance of it, e.g. the 1 mm of healthy tissue around a tumour.

Masks are copied and made read-only, so a structure never changes under a
plan that holds it.

Examples
--------
>>> import numpy as np
>>> labels = np.zeros((5, 5, 5), dtype=np.int32)
>>> labels[2, 2, 2] = 1
>>> s = structures_from_labels(labels, {0: "muscle", 1: "tumour"}, roles={"tumour": "target"})
>>> [(x.name, x.role, x.n_voxels) for x in s]
[('muscle', 'other', 124), ('tumour', 'target', 1)]
>>> ring = margin(s[1], 1.01e-3, 1e-3)  # voxels within 1.01 mm of the tumour: its 6 face neighbours
>>> ring.name, ring.n_voxels
('tumour_margin_1.01mm', 6)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import Problems

__all__ = ["Structure", "ROLES", "structures_from_labels", "margin", "check_structures"]

#: Accepted structure roles.
ROLES = ("target", "organ_at_risk", "other")

#: Relative tolerance with which a voxel exactly at the margin distance is included.
_DISTANCE_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class Structure:
    """A named region of the voxel grid with a planning role.

    Parameters
    ----------
    name : str
        Non-empty name (the key of the structure in metric tables).
    mask : numpy.ndarray of bool, shape (nx, ny, nz)
        Voxels belonging to the structure; at least one must be set. The
        array is copied and the copy made read-only.
    role : {"target", "organ_at_risk", "other"}
        What the plan should do to the structure: treat it (target), spare it
        (organ at risk) or only report it (other).

    Raises
    ------
    InputError
        Empty or non-string name; a mask that is not a 3-D boolean array or
        has no voxel set; an unknown role. Every problem is reported, under
        the key paths ``structure.name``, ``structure.mask``, ``structure.role``.

    Notes
    -----
    Structures compare by identity (their masks are arrays); compare
    ``name``, ``role`` and ``mask`` explicitly where needed.
    """

    name: str
    mask: np.ndarray
    role: str = "target"

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(isinstance(self.name, str) and self.name != "", "structure.name", self.name,
                       "a non-empty string")
        label = self.name if isinstance(self.name, str) else "structure"
        mask = self.mask
        if problems.check(isinstance(mask, np.ndarray), f"structure[{label!r}].mask", type(mask).__name__,
                          "a numpy array of bool"):
            if problems.check(mask.dtype == np.bool_, f"structure[{label!r}].mask.dtype", str(mask.dtype),
                              "bool (use Structure.from_mask to convert 0/1 arrays)"):
                if problems.check(mask.ndim == 3, f"structure[{label!r}].mask.shape", mask.shape,
                                  "a 3-D array (nx, ny, nz)"):
                    problems.check(bool(mask.any()), f"structure[{label!r}].mask", mask,
                                   "at least one voxel in the structure")
        problems.check(self.role in ROLES, f"structure[{label!r}].role", self.role, f"one of {', '.join(ROLES)}")
        problems.raise_if_any("invalid structure")
        frozen = np.array(mask, dtype=bool, copy=True)
        frozen.setflags(write=False)
        object.__setattr__(self, "mask", frozen)

    @classmethod
    def from_mask(cls, name: str, mask: Any, role: str = "target", *,
                  shape: Sequence[int] | None = None) -> "Structure":
        """A structure from a boolean or 0/1 integer mask.

        Parameters
        ----------
        name : str
            Structure name.
        mask : array_like of bool or of integers 0 and 1, shape (nx, ny, nz)
            Voxels in the structure (non-zero entries).
        role : {"target", "organ_at_risk", "other"}
            Planning role.
        shape : tuple of 3 int, optional
            Expected shape (e.g. ``grid.shape``); checked when given.

        Raises
        ------
        InputError
            A mask that is not boolean or 0/1 integer, of the wrong shape or
            empty; an invalid name or role.
        """
        problems = Problems()
        arr = np.asarray(mask)
        path = f"structure[{name!r}].mask"
        if problems.check(arr.dtype.kind in "biu", f"{path}.dtype", str(arr.dtype), "bool or integer 0/1"):
            if arr.dtype.kind != "b":
                problems.check(bool(np.isin(arr, (0, 1)).all()), path, arr, "only the values 0 and 1")
        if shape is not None:
            problems.check(arr.shape == tuple(shape), f"{path}.shape", arr.shape, f"the grid shape {tuple(shape)}")
        problems.raise_if_any("invalid structure mask")
        return cls(name, arr.astype(bool), role)

    @property
    def n_voxels(self) -> int:
        """Number of voxels in the structure."""
        return int(np.count_nonzero(self.mask))

    def volume(self, cell_volume: float) -> float:
        """Volume of the structure [m^3], given the volume of one voxel ``cell_volume`` [m^3]."""
        return self.n_voxels * float(cell_volume)

    def __repr__(self) -> str:
        return f"Structure(name={self.name!r}, role={self.role!r}, shape={self.mask.shape}, n_voxels={self.n_voxels})"


def structures_from_labels(
    labels: Any,
    label_names_or_mapping: Mapping,
    *,
    roles: Mapping[str, str] | None = None,
    default_role: str = "other",
) -> list[Structure]:
    """Structures from a tissue label map.

    Parameters
    ----------
    labels : array_like of int, shape (nx, ny, nz)
        Tissue label of each voxel (e.g. ``result.labels``).
    label_names_or_mapping : mapping
        Either ``{label: tissue name}`` (e.g. ``result.label_names``): one
        structure per tissue *name* present in ``labels`` (labels sharing a
        name are merged; tissues absent from the map are skipped), in order
        of first appearance; or ``{structure name: label or list of labels}``:
        exactly these structures, each the union of its labels, every one of
        which must be present in the map.
    roles : mapping of str to str, optional
        Role of each structure by name (``"target"``, ``"organ_at_risk"``,
        ``"other"``); every key must name a structure built here.
    default_role : str
        Role of structures not listed in ``roles``.

    Returns
    -------
    list of Structure

    Raises
    ------
    InputError
        A label map that is not a 3-D integer array; a mapping mixing both
        forms, with non-integer labels or empty names; a structure whose
        labels are absent from the map; role names for unknown structures or
        unknown roles. Every problem is reported with its key path.
    """
    problems = Problems()
    lab = np.asarray(labels)
    ok_labels = problems.check(lab.dtype.kind in "iu" and lab.ndim == 3, "labels", lab,
                               "a 3-D integer label map (nx, ny, nz)")
    ok_mapping = problems.check(isinstance(label_names_or_mapping, Mapping) and len(label_names_or_mapping) > 0,
                                "label_names_or_mapping", label_names_or_mapping,
                                "a non-empty mapping {label: tissue name} or {structure name: label(s)}")
    groups: dict[str, list[int]] = {}
    explicit = False
    if ok_mapping:
        items = list(label_names_or_mapping.items())
        by_label = all(_is_int(k) and isinstance(v, str) for k, v in items)
        explicit = not by_label
        if by_label:
            for k, v in items:
                if problems.check(v != "", f"label_names_or_mapping[{k!r}]", v, "a non-empty tissue name"):
                    groups.setdefault(v, []).append(int(k))
        else:
            for k, v in items:
                path = f"label_names_or_mapping[{k!r}]"
                if not problems.check(isinstance(k, str) and k != "", path, k,
                                      "a structure name (str) mapped to a label or list of labels, "
                                      "or use {label (int): tissue name (str)} throughout"):
                    continue
                values = [v] if _is_int(v) else v
                good = isinstance(values, (list, tuple, np.ndarray)) and len(values) > 0 and all(
                    _is_int(x) for x in values)
                if problems.check(good, path, v, "an integer label or a non-empty list of integer labels"):
                    groups[k] = [int(x) for x in values]
    if roles is not None:
        problems.check(isinstance(roles, Mapping), "roles", roles, "a mapping {structure name: role}")
    problems.check(default_role in _ROLES_SET, "default_role", default_role, f"one of {', '.join(ROLES)}")

    present = set(np.unique(lab).tolist()) if ok_labels else set()
    masks: dict[str, np.ndarray] = {}
    first_voxel: dict[str, int] = {}
    for name, group in groups.items():
        found = [g for g in group if g in present]
        if explicit and ok_labels:
            missing = [g for g in group if g not in present]
            problems.check(not missing, f"label_names_or_mapping[{name!r}]", group,
                           f"labels present in the label map (absent: {missing})")
        if not found:
            continue
        mask = np.isin(lab, found)
        masks[name] = mask
        first_voxel[name] = int(np.flatnonzero(mask)[0])
    roles = dict(roles) if isinstance(roles, Mapping) else {}
    for name, role in roles.items():
        problems.check(name in groups, f"roles[{name!r}]", name,
                       f"the name of a structure ({', '.join(groups) or 'none'})")
        problems.check(role in _ROLES_SET, f"roles[{name!r}]", role, f"one of {', '.join(ROLES)}")
    problems.raise_if_any("cannot build structures from labels")

    order = list(groups) if explicit else sorted(masks, key=first_voxel.__getitem__)
    return [Structure(name, masks[name], roles.get(name, default_role)) for name in order if name in masks]


def margin(
    target: Structure | np.ndarray,
    distance: float,
    spacing: float | Sequence[float] | Any,
    *,
    within: Structure | np.ndarray | None = None,
    name: str | None = None,
    role: str = "other",
) -> Structure:
    """The shell of voxels outside ``target`` within ``distance`` of it.

    A voxel belongs to the margin when it is not in ``target`` and its centre
    lies within ``distance`` of the centre of some target voxel (Euclidean
    distance in metres, anisotropic voxels allowed; a voxel exactly at
    ``distance`` is included, to a relative rounding tolerance of 1e-9).
    With cubic voxels of side ``h``, ``distance = 1.01 h`` gives the 6 face
    neighbours of a single target voxel, ``1.5 h`` adds the 12 edge neighbours
    (``sqrt(2) h``), ``1.8 h`` the 8 corner neighbours (``sqrt(3) h``).

    Parameters
    ----------
    target : Structure or numpy.ndarray of bool
        The region to grow from.
    distance : float
        Margin width [m], > 0.
    spacing : float, tuple of 3 float, or Grid
        Voxel size along x, y, z [m] (a Grid gives its ``spacing``).
    within : Structure or numpy.ndarray of bool, optional
        Keep only margin voxels inside this region (e.g. the body, or one
        tissue).
    name : str, optional
        Name of the new structure; default ``"<target>_margin_<distance in mm>mm"``.
    role : {"target", "organ_at_risk", "other"}
        Role of the new structure.

    Returns
    -------
    Structure

    Raises
    ------
    InputError
        A non-positive or non-finite distance or spacing; masks that are not
        3-D boolean arrays of one shape or are empty; an empty margin (the
        distance is shorter than the smallest voxel spacing, the target fills
        the grid, or ``within`` excludes the whole shell).
    """
    from scipy.ndimage import distance_transform_edt

    problems = Problems()
    target_mask = _bool_mask(target, "target", problems)
    within_mask = None if within is None else _bool_mask(within, "within", problems)
    problems.positive(distance, "distance", "[m]")
    spacing = getattr(spacing, "spacing", spacing)
    spacing_t = (spacing,) * 3 if np.ndim(spacing) == 0 else tuple(np.ravel(spacing))
    if problems.check(len(spacing_t) == 3, "spacing", spacing, "a number or 3 numbers [m]"):
        for d, h in enumerate(spacing_t):
            problems.positive(h, f"spacing[{d}]", "[m]")
    if target_mask is not None and within_mask is not None:
        problems.check(within_mask.shape == target_mask.shape, "within.shape", within_mask.shape,
                       f"the target's shape {target_mask.shape}")
    problems.raise_if_any("cannot build a margin")

    distances = distance_transform_edt(~target_mask, sampling=[float(h) for h in spacing_t])
    shell = ~target_mask & (distances <= float(distance) * (1.0 + _DISTANCE_RTOL))
    if within_mask is not None:
        shell &= within_mask
    target_name = target.name if isinstance(target, Structure) else "target"
    if name is None:
        name = f"{target_name}_margin_{float(distance) * 1e3:g}mm"
    problems.check(
        bool(shell.any()), "distance", distance,
        f"a margin that contains at least one voxel (none of the voxels outside {target_name!r}"
        + (" and inside 'within'" if within_mask is not None else "")
        + f" lies within {float(distance):g} m of it; smallest spacing {min(map(float, spacing_t)):g} m)")
    problems.raise_if_any("cannot build a margin")
    return Structure(name, shell, role)


# -- helpers ----------------------------------------------------------------------
_ROLES_SET = frozenset(ROLES)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _bool_mask(obj: Any, path: str, problems: Problems) -> np.ndarray | None:
    """The mask of a Structure, or a validated 3-D non-empty bool array."""
    if isinstance(obj, Structure):
        return obj.mask
    arr = np.asarray(obj)
    ok = problems.check(arr.dtype == np.bool_ and arr.ndim == 3, path, arr,
                        "a Structure or a 3-D numpy array of bool")
    if ok:
        ok = problems.check(bool(arr.any()), path, arr, "at least one voxel set")
    return arr if ok else None


def check_structures(structures, problems: Problems, shape=None) -> list[Structure]:
    """The valid structures of a Structure or a non-empty list, recording every problem.

    Names must be unique; with ``shape``, every mask must have that grid shape.
    """
    if isinstance(structures, Structure):
        structures = [structures]
    if not problems.check(isinstance(structures, (list, tuple)) and len(structures) > 0, "structures",
                          structures, "a Structure or a non-empty list of Structures"):
        return []
    seen: set[str] = set()
    good = []
    for i, s in enumerate(structures):
        if not problems.check(isinstance(s, Structure), f"structures[{i}]", s, "a Structure"):
            continue
        problems.check(s.name not in seen, f"structures[{i}].name", s.name, "a name not used by another structure")
        if shape is not None:
            problems.check(s.mask.shape == tuple(shape), f"structures[{s.name!r}].mask.shape", s.mask.shape,
                           f"the grid shape {tuple(shape)}")
        seen.add(s.name)
        good.append(s)
    return good
