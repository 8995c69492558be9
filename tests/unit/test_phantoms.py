"""Built-in phantoms: label maps, structures, layer depths, bad input, summaries.

Layer voxel counts are checked against an exact count of voxel centres in each
depth interval, computed with rational arithmetic (``fractions.Fraction``) from
the thicknesses as decimal strings, so the comparison is exact (no tolerance),
including boundaries that fall exactly on a voxel centre (documented to belong
to the deeper layer).
"""

from __future__ import annotations

import doctest
import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

import phototherm.phantoms as phantoms_module
from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.phantoms import (
    MAX_VOXELS,
    PHANTOMS,
    TISSUE_DEFAULTS,
    GeometryWarning,
    Phantom,
    build_phantom,
    layered_slab,
    mouse_flank_tumour,
    sphere_in_block,
)
from phototherm.tissues import optical_tissue, thermal_tissue

MOUSE_TISSUES = ["epidermis", "dermis", "fat", "muscle", "tumour"]
NAN, INF = float("nan"), float("inf")


# -- helpers ---------------------------------------------------------------------------
def quiet(builder, **kwargs) -> Phantom:
    """Build with GeometryWarning silenced (for tests about something else)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryWarning)
        return builder(**kwargs)


def strict(builder, **kwargs) -> Phantom:
    """Build, failing on any GeometryWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeometryWarning)
        return builder(**kwargs)


def centres_in(top: Fraction, bottom: Fraction, h: Fraction, n: int) -> range:
    """Indices k in [0, n) with top <= (k + 1/2) h < bottom, exactly."""
    lo = max(0, math.ceil(top / h - Fraction(1, 2)))
    hi = min(n, math.ceil(bottom / h - Fraction(1, 2)))
    return range(lo, max(lo, hi))


def ellipsoid_by_mesh(grid: Grid, centre, semi) -> np.ndarray:
    """Independent voxel-centre ellipsoid test on the full coordinate mesh."""
    X, Y, Z = grid.mesh()
    return ((X - centre[0]) / semi[0]) ** 2 + ((Y - centre[1]) / semi[1]) ** 2 \
        + ((Z - centre[2]) / semi[2]) ** 2 <= 1.0


def error_paths(builder, **kwargs) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryWarning)
        with pytest.raises(InputError) as info:
            builder(**kwargs)
    text = str(info.value)
    for problem in info.value.problems:
        assert problem.path in text and problem.expected
    return [p.path for p in info.value.problems]


def check_common(p: Phantom) -> None:
    """Invariants every phantom satisfies."""
    assert p.labels.dtype == np.int32 and p.labels.shape == p.grid.shape
    assert sorted(p.tissues) == list(range(len(p.tissues)))
    assert set(np.unique(p.labels).tolist()) <= set(p.tissues)
    assert all(name in TISSUE_DEFAULTS for name in p.tissues.values())
    for key, mask in p.structures.items():
        assert mask.dtype == bool and mask.shape == p.grid.shape, key
    assert p.grid.origin == (0.0, 0.0, 0.0)
    json.dumps(p.describe())


# -- tissue table ------------------------------------------------------------------------
def test_tissue_defaults_are_builtin_tissues():
    for name, (thermal, optical) in TISSUE_DEFAULTS.items():
        assert thermal_tissue(thermal) is not None, name
        assert optical_tissue(optical) is not None, name


def test_registry_and_build_phantom():
    assert set(PHANTOMS) == {"mouse_flank_tumour", "layered_slab", "sphere_in_block"}
    p = build_phantom("sphere_in_block", radius=1e-3, size=(4e-3,) * 3, spacing=0.5e-3)
    assert p.name == "sphere_in_block"
    with pytest.raises(InputError) as info:
        build_phantom("mouse_flank_tumor")
    assert [q.path for q in info.value.problems] == ["phantom"]
    with pytest.raises(InputError) as info:
        build_phantom("layered_slab", radius=1e-3, thickness=2)
    assert [q.path for q in info.value.problems] == ["layered_slab.radius", "layered_slab.thickness"]


# -- mouse flank tumour ------------------------------------------------------------------
def test_mouse_defaults():
    with pytest.warns(GeometryWarning, match="epidermis"):
        p = mouse_flank_tumour()
    check_common(p)
    assert p.name == "mouse_flank_tumour"
    assert p.grid.shape == (80, 80, 48) and p.grid.spacing == (0.25e-3,) * 3
    assert [p.tissues[i] for i in range(5)] == MOUSE_TISSUES
    assert [p.label_of(t) for t in MOUSE_TISSUES] == [0, 1, 2, 3, 4]
    # 20 um epidermis at 0.25 mm: unresolved, label kept with no voxels.
    assert p.parameters["unresolved_layers"] == ["epidermis"]
    assert not np.any(p.labels == 0)
    # Default centre: centred laterally, top of the tumour at the bottom of the dermis.
    assert p.parameters["tumour_centre"] == pytest.approx([10e-3, 10e-3, 20e-6 + 0.4e-3 + 3e-3], rel=1e-12)
    assert p.parameters["size"] == pytest.approx([20e-3, 20e-3, 12e-3])


def _mouse_case(spacing, size, epi, dermis, fat, semi):
    """Build a mouse phantom from decimal strings; return it with exact layer bounds."""
    kwargs = dict(spacing=tuple(float(s) for s in spacing), size=tuple(float(s) for s in size),
                  epidermis_thickness=float(epi), dermis_thickness=float(dermis), fat_thickness=float(fat),
                  tumour_semi_axes=tuple(float(s) for s in semi))
    p = quiet(mouse_flank_tumour, **kwargs)
    t = [Fraction(epi), Fraction(dermis), Fraction(fat)]
    tops = [Fraction(0), t[0], t[0] + t[1], t[0] + t[1] + t[2]]
    bottoms = tops[1:] + [Fraction(size[2])]
    return p, list(zip(tops, bottoms)), Fraction(spacing[2])


MOUSE_CASES = {
    # 20 um epidermis unresolved at 0.25 mm
    "default-like": (("0.00025",) * 3, ("0.02", "0.02", "0.012"), "0.00002", "0.0004", "0.0005",
                     ("0.004", "0.004", "0.003")),
    # boundaries at 0.15 mm and 0.45 mm fall exactly on voxel centres (-> deeper layer); 0.8 mm on a face
    "boundaries on centres": (("0.0001",) * 3, ("0.006", "0.006", "0.006"), "0.00015", "0.0003", "0.00035",
                              ("0.002", "0.002", "0.0015")),
    # anisotropic voxels resolving the epidermis (10 um in depth)
    "fine in depth": (("0.0005", "0.0005", "0.00001"), ("0.005", "0.005", "0.002"), "0.000025", "0.0003",
                      "0.0002", ("0.0015", "0.0015", "0.0005")),
}


@pytest.mark.parametrize("case", list(MOUSE_CASES), ids=list(MOUSE_CASES))
def test_mouse_layer_counts_match_voxel_centres_in_each_depth_interval(case):
    spacing, size, *_ = MOUSE_CASES[case]
    p, bounds, hz = _mouse_case(*MOUSE_CASES[case])
    nx, ny, nz = p.grid.shape
    tumour = p.labels == p.label_of("tumour")
    for layer, (top, bottom) in zip(["epidermis", "dermis", "fat", "muscle"], bounds):
        ks = centres_in(top, bottom, hz, nz)
        label = p.label_of(layer)
        in_layer = np.zeros(nz, bool)
        in_layer[list(ks)] = True
        # every voxel of these slices is this layer, or the tumour (which never enters the skin)
        allowed = {label} if layer in ("epidermis", "dermis") else {label, p.label_of("tumour")}
        assert set(np.unique(p.labels[:, :, in_layer]).tolist()) <= allowed
        assert np.count_nonzero(p.labels == label) + np.count_nonzero(tumour[:, :, in_layer]) == nx * ny * len(ks)
        assert (layer in p.parameters["unresolved_layers"]) == (len(ks) == 0 and bottom > top)


def test_mouse_resolved_epidermis_gives_no_warning():
    spacing, size, epi, dermis, fat, semi = MOUSE_CASES["fine in depth"]
    p = strict(mouse_flank_tumour, spacing=tuple(map(float, spacing)), size=tuple(map(float, size)),
               epidermis_thickness=float(epi), dermis_thickness=float(dermis), fat_thickness=float(fat),
               tumour_semi_axes=tuple(map(float, semi)))
    assert p.parameters["unresolved_layers"] == []
    # centres at 5, 15, 25 um: the 25 um boundary lies on the centre of slice 2, which goes to the dermis
    assert np.count_nonzero(p.labels == 0) == 10 * 10 * 2
    assert np.all(p.labels[:, :, :2] == 0) and np.all(p.labels[:, :, 2] == 1)


def test_mouse_structures_partition_and_match_labels():
    p = quiet(mouse_flank_tumour, spacing=0.5e-3)
    s = p.structures
    assert set(s) >= {"tumour", "skin", "fat", "muscle", "healthy"}
    parts = [s["tumour"], s["skin"], s["fat"], s["muscle"]]
    assert np.array_equal(np.sum(parts, axis=0), np.ones(p.grid.shape))  # disjoint and covering
    assert np.array_equal(s["healthy"], ~s["tumour"])
    assert np.array_equal(s["skin"], s["epidermis"] | s["dermis"])
    for name in ("tumour", "fat", "muscle", "epidermis", "dermis"):
        assert np.array_equal(s[name], p.labels == p.label_of(name)), name
    assert s["tumour"].any() and s["fat"].any() and s["muscle"].any() and s["skin"].any()


def test_mouse_tumour_is_the_voxelised_ellipsoid():
    p, bounds, hz = _mouse_case(*MOUSE_CASES["boundaries on centres"])
    ellipsoid = ellipsoid_by_mesh(p.grid, p.parameters["tumour_centre"], p.parameters["tumour_semi_axes"])
    assert np.array_equal(p.structures["tumour"], ellipsoid)
    # it replaces both fat and muscle here (its top touches the dermis, 0.35 mm of fat, 3 mm deep)
    k_tumour = np.flatnonzero(ellipsoid.any(axis=(0, 1)))
    k_fat = centres_in(*bounds[2], hz, p.grid.shape[2])
    assert set(k_tumour) & set(k_fat) and set(k_tumour) - set(k_fat)


def test_skin_is_never_overwritten_by_the_tumour():
    # centre 1.5 mm deep with c = 1.5 mm: the ellipsoid reaches the surface
    kwargs = dict(spacing=0.1e-3, size=(6e-3, 6e-3, 5e-3), epidermis_thickness=0.1e-3,
                  dermis_thickness=0.3e-3, fat_thickness=0.3e-3, tumour_semi_axes=(2e-3, 2e-3, 1.5e-3),
                  tumour_centre=(3e-3, 3e-3, 1.5e-3))
    with pytest.warns(GeometryWarning, match="skin"):
        p = mouse_flank_tumour(**kwargs)
    ellipsoid = ellipsoid_by_mesh(p.grid, kwargs["tumour_centre"], kwargs["tumour_semi_axes"])
    skin_slices = p.grid.centres("z") < 0.4e-3 - 1e-12
    assert ellipsoid[:, :, skin_slices].any(), "test geometry must put part of the ellipsoid in the skin"
    assert set(np.unique(p.labels[:, :, skin_slices]).tolist()) == {0, 1}
    assert np.array_equal(p.structures["tumour"], ellipsoid & ~skin_slices[None, None, :])
    assert np.count_nonzero(p.labels == 0) == 60 * 60 * 1 and np.count_nonzero(p.labels == 1) == 60 * 60 * 3


def test_mouse_zero_thickness_layers_are_allowed_without_warning():
    p = strict(mouse_flank_tumour, spacing=0.5e-3, size=(10e-3, 10e-3, 8e-3), epidermis_thickness=0.0,
               fat_thickness=0.0, dermis_thickness=0.5e-3, tumour_semi_axes=(3e-3, 3e-3, 2e-3))
    assert p.tissues[0] == "epidermis" and p.tissues[2] == "fat"
    assert not np.any(p.labels == 0) and not np.any(p.labels == 2)
    assert p.parameters["unresolved_layers"] == []
    assert np.all(p.labels[:, :, 0] == 1)  # dermis at the surface


def test_whole_number_of_voxels_tolerance():
    ok = quiet(mouse_flank_tumour, size=(20e-3 * (1 + 1e-8), 20e-3, 12e-3))
    assert ok.grid.shape[0] == 80
    assert error_paths(mouse_flank_tumour, size=(20e-3 * (1 + 1e-5), 20e-3, 12e-3)) == ["mouse_flank_tumour.size[0]"]


# -- layered slab ------------------------------------------------------------------------
SLAB_CASES = {
    "faces": ([("dermis", "0.001"), ("fat", "0.001"), ("muscle", None)], "0.25e-3", "0.006"),
    "centres and thin": ([("epidermis", "0.0001"), ("dermis", "0.000375"), ("fat", "0.0013"), ("muscle", None)],
                         "0.00025", "0.005"),
    "all given": ([("water", "0.0005"), ("blood", "0.0002"), ("liver", "0.0033")], "0.0001", None),
}


@pytest.mark.parametrize("case", list(SLAB_CASES), ids=list(SLAB_CASES))
def test_slab_layer_counts_match_voxel_centres_in_each_depth_interval(case):
    layers, spacing, depth = SLAB_CASES[case]
    h = Fraction(spacing)
    p = quiet(layered_slab, layers=[(n, None if t is None else float(t)) for n, t in layers],
              spacing=float(spacing), lateral_size=(2e-3, 3e-3), depth=None if depth is None else float(depth))
    check_common(p)
    total = Fraction(depth) if depth is not None else sum(Fraction(t) for _, t in layers)
    assert p.grid.shape == (Fraction("0.002") / h, Fraction("0.003") / h, total / h)
    thick = [Fraction(t) if t is not None else total - sum(Fraction(u) for _, u in layers[:-1]) for _, t in layers]
    tops = np.cumsum([Fraction(0)] + thick[:-1])
    nx, ny, nz = p.grid.shape
    assert [p.tissues[i] for i in range(len(layers))] == [n for n, _ in layers]
    unresolved = []
    for (name, _), top, t in zip(layers, tops, thick):
        ks = centres_in(top, top + t, h, nz)
        assert np.count_nonzero(p.labels == p.label_of(name)) == nx * ny * len(ks), name
        assert np.all(p.labels[:, :, list(ks)] == p.label_of(name))
        assert np.array_equal(p.structures[name], p.labels == p.label_of(name))
        if len(ks) == 0:
            unresolved.append(name)
    assert p.parameters["unresolved_layers"] == unresolved
    assert [t for _, t in p.parameters["layers"]] == pytest.approx([float(t) for t in thick], rel=1e-12)


def test_slab_unresolved_layer_warns():
    with pytest.warns(GeometryWarning, match="epidermis"):
        p = layered_slab(layers=[("epidermis", 20e-6), ("dermis", 1e-3), ("muscle", None)], depth=4e-3,
                         spacing=0.25e-3, lateral_size=(1e-3, 1e-3))
    assert p.parameters["unresolved_layers"] == ["epidermis"]
    assert p.label_of("epidermis") == 0 and not np.any(p.labels == 0)


def test_slab_repeated_tissue_has_one_label_and_one_structure():
    p = strict(layered_slab, layers=[("dermis", 1e-3), ("fat", 1e-3), ("dermis", 0.5e-3), ("muscle", None)],
               depth=5e-3, spacing=0.5e-3, lateral_size=(1e-3, 1e-3))
    assert p.tissues == {0: "dermis", 1: "fat", 2: "muscle"}
    assert set(p.structures) == {"dermis", "fat", "muscle"}
    column = p.labels[0, 0, :].tolist()
    assert column == [0, 0, 1, 1, 0] + [2] * 5
    assert np.count_nonzero(p.structures["dermis"]) == 2 * 2 * 3


def test_slab_with_all_defaults_needs_a_depth():
    # The agreed API's default layers end with a filling layer, so depth is required.
    assert error_paths(layered_slab) == ["layered_slab.depth"]
    p = layered_slab(depth=10e-3)
    assert p.grid.shape == (80, 80, 40)


# -- sphere in block --------------------------------------------------------------------
def test_sphere_defaults_and_structures():
    p = strict(sphere_in_block)
    check_common(p)
    assert p.grid.shape == (80, 80, 80)
    assert p.tissues == {0: "tumour", 1: "muscle"}
    assert p.parameters["centre"] == pytest.approx([10e-3] * 3)
    inside = ellipsoid_by_mesh(p.grid, (10e-3,) * 3, (3e-3,) * 3)
    assert np.array_equal(p.structures["tumour"], inside)
    assert np.array_equal(p.labels == 0, inside)
    assert np.array_equal(p.structures["muscle"], ~inside)
    assert np.array_equal(p.structures["healthy"], p.structures["muscle"])
    # symmetric about the block centre (which lies on voxel faces)
    assert np.array_equal(inside, inside[::-1, :, :]) and np.array_equal(inside, inside[:, :, ::-1])


def test_sphere_custom_tissues_and_centre():
    p = strict(sphere_in_block, radius=1e-3, size=(4e-3, 5e-3, 6e-3), spacing=0.5e-3, centre=(1.2e-3, 2e-3, 4.9e-3),
               inclusion="blood", background="liver")
    assert p.tissues == {0: "blood", 1: "liver"}
    assert set(p.structures) == {"blood", "liver", "healthy"}
    inside = ellipsoid_by_mesh(p.grid, (1.2e-3, 2e-3, 4.9e-3), (1e-3,) * 3)
    assert inside.any() and np.array_equal(p.structures["blood"], inside)


# -- bad input --------------------------------------------------------------------------
BAD = [
    (mouse_flank_tumour, dict(spacing=0.0), ["mouse_flank_tumour.spacing"]),
    (mouse_flank_tumour, dict(spacing=(0.25e-3, 0.25e-3)), ["mouse_flank_tumour.spacing"]),
    (mouse_flank_tumour, dict(spacing="0.25 mm"), ["mouse_flank_tumour.spacing"]),
    (mouse_flank_tumour, dict(size=(20e-3, 20e-3)), ["mouse_flank_tumour.size"]),
    (mouse_flank_tumour, dict(size=(20e-3, INF, 12e-3)), ["mouse_flank_tumour.size[1]"]),
    (mouse_flank_tumour, dict(size=(20e-3, 20e-3, 12.1e-3)), ["mouse_flank_tumour.size[2]"]),
    (mouse_flank_tumour, dict(epidermis_thickness=-1e-6), ["mouse_flank_tumour.epidermis_thickness"]),
    (mouse_flank_tumour, dict(dermis_thickness=NAN), ["mouse_flank_tumour.dermis_thickness"]),
    (mouse_flank_tumour, dict(fat_thickness=None), ["mouse_flank_tumour.fat_thickness"]),
    (mouse_flank_tumour, dict(tumour_semi_axes=(4e-3, 4e-3)), ["mouse_flank_tumour.tumour_semi_axes"]),
    (mouse_flank_tumour, dict(tumour_semi_axes=(4e-3, -4e-3, 3e-3)), ["mouse_flank_tumour.tumour_semi_axes[1]"]),
    # tumour too deep for the block (default centre): named by the semi-axis along z
    (mouse_flank_tumour, dict(tumour_semi_axes=(4e-3, 4e-3, 6e-3)), ["mouse_flank_tumour.tumour_semi_axes[2]"]),
    (mouse_flank_tumour, dict(tumour_semi_axes=(11e-3, 4e-3, 3e-3)), ["mouse_flank_tumour.tumour_semi_axes[0]"]),
    (mouse_flank_tumour, dict(tumour_centre=(2e-3, 10e-3, 11e-3)),
     ["mouse_flank_tumour.tumour_centre[0]", "mouse_flank_tumour.tumour_centre[2]"]),
    (mouse_flank_tumour, dict(tumour_centre=(10e-3, NAN, 5e-3)), ["mouse_flank_tumour.tumour_centre[1]"]),
    # skin + fat leave no room for muscle
    (mouse_flank_tumour, dict(size=(20e-3, 20e-3, 1e-3), tumour_semi_axes=(1e-3, 1e-3, 0.1e-3),
                              dermis_thickness=0.6e-3), ["mouse_flank_tumour.size[2]"]),
    # a tumour smaller than a voxel, between voxel centres
    (mouse_flank_tumour, dict(tumour_semi_axes=(0.05e-3, 0.05e-3, 0.05e-3)), ["mouse_flank_tumour.tumour_semi_axes"]),
    # mm given where metres are expected
    (mouse_flank_tumour, dict(size=(20, 20, 12)), ["mouse_flank_tumour.spacing"]),
    (layered_slab, dict(layers=[]), ["layered_slab.layers"]),
    (layered_slab, dict(layers="dermis"), ["layered_slab.layers"]),
    (layered_slab, dict(layers=[("dermis", 1e-3), ("fat",)], depth=3e-3), ["layered_slab.layers[1]"]),
    (layered_slab, dict(layers=[("bone", 1e-3), ("fat", 1e-3)]), ["layered_slab.layers[0][0]"]),
    (layered_slab, dict(layers=[("dermis", None), ("fat", 1e-3)]), ["layered_slab.layers[0][1]"]),
    (layered_slab, dict(layers=[("dermis", 0.0), ("fat", 1e-3)]), ["layered_slab.layers[0][1]"]),
    (layered_slab, dict(layers=[("dermis", 1e-3), ("fat", None)]), ["layered_slab.depth"]),
    (layered_slab, dict(layers=[("dermis", 1e-3), ("fat", None)], depth=1e-3), ["layered_slab.depth"]),
    (layered_slab, dict(layers=[("dermis", 1e-3), ("fat", 1e-3)], depth=3e-3), ["layered_slab.depth"]),
    (layered_slab, dict(layers=[("dermis", 1e-3), ("fat", None)], depth=3.1e-3), ["layered_slab.depth"]),
    (layered_slab, dict(layers=[("dermis", 0.3e-3), ("fat", 1e-3)]), ["layered_slab.layers"]),
    (layered_slab, dict(lateral_size=(20e-3, 20e-3, 1e-3), depth=3e-3), ["layered_slab.lateral_size"]),
    (layered_slab, dict(lateral_size=(20e-3, 20.1e-3), depth=3e-3), ["layered_slab.lateral_size[1]"]),
    (sphere_in_block, dict(radius=0.0), ["sphere_in_block.radius"]),
    (sphere_in_block, dict(radius=11e-3), ["sphere_in_block.radius"]),
    (sphere_in_block, dict(centre=(1e-3, 10e-3, 10e-3)), ["sphere_in_block.centre[0]"]),
    (sphere_in_block, dict(inclusion="tumor"), ["sphere_in_block.inclusion"]),
    (sphere_in_block, dict(background=None), ["sphere_in_block.background"]),
    (sphere_in_block, dict(inclusion="muscle"), ["sphere_in_block.inclusion"]),
    (sphere_in_block, dict(size=(20e-3, 20e-3, 20e-3), spacing=0.3e-3),
     ["sphere_in_block.size[0]", "sphere_in_block.size[1]", "sphere_in_block.size[2]"]),
]


@pytest.mark.parametrize("builder, kwargs, expected", BAD,
                         ids=[f"{b.__name__}-{'-'.join(k)}-{i}" for i, (b, k, _) in enumerate(BAD)])
def test_bad_input_names_the_key(builder, kwargs, expected):
    assert error_paths(builder, **kwargs) == expected


def test_every_problem_is_reported_at_once():
    paths = error_paths(mouse_flank_tumour, spacing=-1.0, size=(1, 2), epidermis_thickness=NAN,
                        dermis_thickness="x", fat_thickness=-1e-3, tumour_semi_axes=(1e-3, 0, 1e-3),
                        tumour_centre=(1, 2))
    assert paths == ["mouse_flank_tumour.spacing", "mouse_flank_tumour.size", "mouse_flank_tumour.epidermis_thickness",
                     "mouse_flank_tumour.dermis_thickness", "mouse_flank_tumour.fat_thickness",
                     "mouse_flank_tumour.tumour_semi_axes[1]", "mouse_flank_tumour.tumour_centre"]
    paths = error_paths(layered_slab, layers=[("dermis", None), ("bone", 1e-3), ("fat",), "muscle"], depth=-1,
                        lateral_size=(0, 1e-3), spacing=NAN)
    assert set(paths) == {"layered_slab.spacing", "layered_slab.lateral_size[0]", "layered_slab.depth",
                          "layered_slab.layers[0][1]", "layered_slab.layers[1][0]", "layered_slab.layers[2]",
                          "layered_slab.layers[3]"}
    paths = error_paths(sphere_in_block, radius=3e-3, centre=(1e-3, 10e-3, 19e-3), inclusion="bone", background=3)
    assert paths == ["sphere_in_block.inclusion", "sphere_in_block.background", "sphere_in_block.centre[0]",
                     "sphere_in_block.centre[2]"]


def test_unknown_tissue_message_lists_known_names():
    with pytest.raises(InputError) as info:
        sphere_in_block(inclusion="bone")
    assert all(name in str(info.value) for name in TISSUE_DEFAULTS)


def test_voxel_budget_guard():
    assert MAX_VOXELS >= 512**3
    assert error_paths(sphere_in_block, size=(2.0, 2.0, 2.0), spacing=1e-3, radius=1e-3) == ["sphere_in_block.spacing"]


# -- Phantom object --------------------------------------------------------------------
def test_label_of_unknown_tissue():
    p = strict(sphere_in_block, radius=1e-3, size=(4e-3,) * 3, spacing=1e-3)
    with pytest.raises(InputError, match="tumour, muscle"):
        p.label_of("fat")


def test_phantom_checks_its_fields():
    grid = Grid((2, 2, 2), 1e-3)
    with pytest.raises(InputError) as info:
        Phantom(grid, np.zeros((2, 2, 3), np.int32), {0: "water"}, {}, {}, "custom")
    assert [q.path for q in info.value.problems] == ["phantom.labels"]
    with pytest.raises(InputError) as info:
        Phantom(grid, np.arange(8).reshape(2, 2, 2) % 2, {0: "water"}, {"x": np.zeros((2, 2, 2))}, {}, "custom")
    assert [q.path for q in info.value.problems] == ["phantom.tissues", "phantom.structures.x"]
    p = Phantom(grid, np.zeros((2, 2, 2), np.int64), {0: "water"}, {}, {}, "custom")
    assert p.labels.dtype == np.int32


@pytest.mark.parametrize("name", list(PHANTOMS))
def test_describe_is_json_serialisable_and_consistent(name):
    kwargs = {"layered_slab": dict(depth=5e-3, spacing=0.5e-3, lateral_size=(3e-3, 3e-3)),
              "mouse_flank_tumour": dict(spacing=0.5e-3),
              "sphere_in_block": dict(spacing=1e-3, radius=2e-3, size=(6e-3,) * 3)}[name]
    p = quiet(PHANTOMS[name], **kwargs)
    d = json.loads(json.dumps(p.describe()))
    assert d["name"] == name
    assert d["grid"]["shape"] == list(p.grid.shape)
    assert sum(t["voxels"] for t in d["tissues"]) == p.grid.size
    assert [t["name"] for t in d["tissues"]] == [p.tissues[i] for i in range(len(p.tissues))]
    for t in d["tissues"]:
        assert t["voxels"] == np.count_nonzero(p.labels == t["label"])
        assert t["volume_m3"] == pytest.approx(t["voxels"] * p.grid.cell_volume)
    assert set(d["structures"]) == set(p.structures)
    for key, s in d["structures"].items():
        assert s["voxels"] == np.count_nonzero(p.structures[key])
    # the resolved parameters rebuild the same phantom
    arguments = {k: v for k, v in d["parameters"].items() if k not in ("layer_bounds", "unresolved_layers")}
    again = quiet(build_phantom, name=name, **arguments)
    assert np.array_equal(again.labels, p.labels)


def test_module_docstring_examples_run():
    result = doctest.testmod(phantoms_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
