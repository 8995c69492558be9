"""Structures, margins and per-structure plan metrics (D_x, V, DVH), checked by hand."""

import itertools
import json
import math

import numpy as np
import pytest

from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.planning import (
    DEFAULT_THRESHOLDS,
    QUANTITIES,
    Quantity,
    Structure,
    cumulative_dvh,
    dose_at_volume,
    dvh_curves,
    evaluate,
    margin,
    quantity_metrics,
    structures_from_labels,
    volume_at_threshold,
)
from phototherm.results import Result


def paths(info):
    return [p.path for p in info.value.problems]


def box_mask(shape, *slices):
    mask = np.zeros(shape, dtype=bool)
    mask[slices] = True
    return mask


# -- Structure ----------------------------------------------------------------------
def test_structure_copies_and_freezes_its_mask():
    mask = box_mask((3, 3, 3), 1, 1, 1)
    s = Structure("tumour", mask)
    assert s.role == "target" and s.n_voxels == 1
    assert s.volume(1e-9) == pytest.approx(1e-9)
    mask[0, 0, 0] = True  # the caller's array changing does not change the structure
    assert s.n_voxels == 1
    with pytest.raises(ValueError):
        s.mask[0, 0, 0] = True
    with pytest.raises(AttributeError):
        s.name = "other"


def test_structure_reports_every_problem_with_key_paths():
    with pytest.raises(InputError) as info:
        Structure("tumour", np.zeros((3, 3, 3), dtype=bool), role="tumor-ish")
    assert paths(info) == ["structure['tumour'].mask", "structure['tumour'].role"]
    with pytest.raises(InputError) as info:
        Structure("", np.ones((3, 3, 3), dtype=np.int8))
    assert paths(info) == ["structure.name", "structure[''].mask.dtype"]
    with pytest.raises(InputError) as info:
        Structure("skin", np.ones((3, 3), dtype=bool))
    assert paths(info) == ["structure['skin'].mask.shape"]
    with pytest.raises(InputError) as info:
        Structure("skin", [[[True]]])
    assert paths(info) == ["structure['skin'].mask"]


def test_from_mask_converts_zero_one_arrays_and_checks_shape():
    s = Structure.from_mask("skin", np.eye(3, dtype=np.int64)[:, :, None], role="organ_at_risk", shape=(3, 3, 1))
    assert s.mask.dtype == bool and s.n_voxels == 3 and s.role == "organ_at_risk"
    with pytest.raises(InputError) as info:
        Structure.from_mask("skin", 2 * np.ones((2, 2, 2), dtype=int), shape=(3, 3, 3))
    assert paths(info) == ["structure['skin'].mask", "structure['skin'].mask.shape"]
    with pytest.raises(InputError) as info:
        Structure.from_mask("skin", np.ones((2, 2, 2)))
    assert paths(info) == ["structure['skin'].mask.dtype"]


# -- structures from labels ---------------------------------------------------------
def labels_3x3x3():
    labels = np.zeros((3, 3, 3), dtype=np.int32)  # muscle
    labels[:, :, 0] = 1  # skin layer
    labels[1, 1, 1] = 2  # tumour core
    labels[1, 1, 2] = 3  # tumour rim
    return labels


def test_one_structure_per_tissue_name():
    labels = labels_3x3x3()
    names = {0: "muscle", 1: "skin", 2: "tumour", 3: "tumour", 7: "bone"}  # bone absent: skipped
    structures = structures_from_labels(labels, names, roles={"tumour": "target", "skin": "organ_at_risk"})
    assert [(s.name, s.role, s.n_voxels) for s in structures] == [
        ("skin", "organ_at_risk", 9), ("muscle", "other", 16), ("tumour", "target", 2)]
    assert np.array_equal(structures[2].mask, np.isin(labels, [2, 3]))


def test_structures_from_an_explicit_mapping():
    labels = labels_3x3x3()
    structures = structures_from_labels(labels, {"tumour": [2, 3], "healthy": [0, 1], "core": 2},
                                        default_role="organ_at_risk", roles={"tumour": "target"})
    assert [(s.name, s.role, s.n_voxels) for s in structures] == [
        ("tumour", "target", 2), ("healthy", "organ_at_risk", 25), ("core", "organ_at_risk", 1)]


def test_structures_from_labels_reports_every_problem():
    labels = labels_3x3x3()
    with pytest.raises(InputError) as info:
        structures_from_labels(labels, {"tumour": [2, 9], "skin": "one", "": 1})
    assert paths(info) == ["label_names_or_mapping['skin']", "label_names_or_mapping['']",
                           "label_names_or_mapping['tumour']"]
    with pytest.raises(InputError) as info:
        structures_from_labels(labels, {"tumour": [2, 9]}, roles={"tumour": "boss", "liver": "target"})
    assert paths(info) == ["label_names_or_mapping['tumour']", "roles['tumour']", "roles['liver']"]
    with pytest.raises(InputError) as info:
        structures_from_labels(labels.astype(float), {}, default_role="x")
    assert paths(info) == ["labels", "label_names_or_mapping", "default_role"]


# -- margins ------------------------------------------------------------------------
def single_voxel(shape=(5, 5, 5), at=(2, 2, 2)):
    return Structure("seed", box_mask(shape, *at))


def offsets(mask, centre):
    return sorted(tuple(int(v) for v in np.subtract(idx, centre)) for idx in np.argwhere(mask))


@pytest.mark.parametrize("factor, expected", [(1.01, 6), (1.5, 18), (1.8, 26), (2.01, 32)])
def test_margin_of_a_single_voxel_counts_neighbour_shells(factor, expected):
    h = 0.4e-3
    ring = margin(single_voxel(), factor * h, h)
    # Face neighbours at h, edge at sqrt(2) h, corner at sqrt(3) h, second face neighbours at 2 h.
    assert ring.n_voxels == expected
    assert not ring.mask[2, 2, 2]
    if factor == 1.01:
        assert offsets(ring.mask, (2, 2, 2)) == sorted(
            [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)])
        assert ring.name == "seed_margin_0.404mm" and ring.role == "other"


def test_margin_includes_voxels_exactly_at_the_distance():
    # The transform's corner distance sqrt(h^2 + h^2 + h^2) exceeds sqrt(3) * h by an ulp for many h:
    # voxels at exactly the margin distance must still be included.
    for h in np.linspace(1e-4, 1e-3, 40):
        assert margin(single_voxel(), math.sqrt(3) * h, h).n_voxels == 26, h


def test_margin_with_anisotropic_spacing_matches_brute_force():
    rng = np.random.default_rng(3)
    grid = Grid((9, 8, 7), spacing=(0.5e-3, 0.8e-3, 1.3e-3))
    target = np.zeros(grid.shape, dtype=bool)
    target[3:5, 3:5, 2:4] = rng.random((2, 2, 2)) < 0.7
    target[3, 3, 2] = True
    centres = np.stack([c.ravel() for c in grid.mesh()], axis=1)
    inside = centres[target.ravel()]
    nearest = np.min(np.linalg.norm(centres[:, None, :] - inside[None, :, :], axis=2), axis=1).reshape(grid.shape)
    for distance in (0.6e-3, 1.0e-3, 1.4e-3, 2.7e-3):
        ring = margin(target, distance, grid, name="ring")  # the Grid gives its spacing
        expected = ~target & (nearest <= distance)
        assert np.array_equal(ring.mask, expected), distance
    # 0.6 mm reaches only the x neighbours (0.5 mm); y (0.8 mm) and z (1.3 mm) are further.
    one = margin(single_voxel((5, 5, 5)), 0.6e-3, (0.5e-3, 0.8e-3, 1.3e-3))
    assert offsets(one.mask, (2, 2, 2)) == [(-1, 0, 0), (1, 0, 0)]


def test_margin_restricted_to_a_region():
    within = box_mask((5, 5, 5), slice(None), slice(None), slice(2, None))  # z >= 2: no voxel above the seed
    ring = margin(single_voxel(), 1.01e-3, 1e-3, within=Structure("body", within), name="ring", role="organ_at_risk")
    assert ring.n_voxels == 5 and (0, 0, -1) not in offsets(ring.mask, (2, 2, 2))
    assert ring.role == "organ_at_risk"


def test_margin_reports_bad_input():
    with pytest.raises(InputError) as info:
        margin(np.zeros((3, 3, 3), dtype=bool), -1.0, (1e-3, 0.0, 1e-3), within=np.ones((2, 2, 2)))
    assert paths(info) == ["target", "within", "distance", "spacing[1]"]
    with pytest.raises(InputError) as info:
        margin(single_voxel(), 0.5e-3, 1e-3)  # shorter than a voxel: empty shell
    assert paths(info) == ["distance"]
    with pytest.raises(InputError) as info:
        margin(single_voxel(), 1.5e-3, 1e-3, within=box_mask((4, 4, 4), 0, 0, 0))
    assert paths(info) == ["within.shape"]


# -- D_x, V and DVH by hand -----------------------------------------------------------
TEN = np.arange(1.0, 11.0)  # 1, 2, ..., 10


@pytest.mark.parametrize("x, expected", [(0.9, 2.0), (0.95, 1.0), (1.0, 1.0), (0.5, 6.0), (0.1, 10.0),
                                         (0.01, 10.0), (0.11, 9.0)])
def test_dose_at_volume_by_hand(x, expected):
    # The ceil(x N)-th largest value: N = 10, x = 0.9 -> 9th largest = 2; x = 0.11 -> ceil(1.1) = 2nd = 9.
    assert dose_at_volume(TEN[::-1].reshape(2, 5), x) == expected


def test_dose_at_volume_lower_direction_and_rounding():
    survival = np.array([0.5, 0.1, 0.01, 0.2])
    # Ascending 0.01, 0.1, 0.2, 0.5: D50 = 2nd smallest, D90 = ceil(3.6) = 4th smallest.
    assert dose_at_volume(survival, 0.5, direction="lower") == 0.1
    assert dose_at_volume(survival, 0.9, direction="lower") == 0.5
    assert dose_at_volume(survival, 0.25, direction="lower") == 0.01
    hundred = np.arange(100.0)
    assert 0.07 * 100 > 7  # floating-point noise that must not push k to 8
    assert dose_at_volume(hundred, 0.07) == 93.0  # 7th largest of 0..99


def test_dose_at_volume_definition_holds_with_ties():
    rng = np.random.default_rng(0)
    for n, x in itertools.product((1, 2, 7, 40), (0.05, 0.3, 0.9, 0.95, 1.0)):
        v = rng.integers(0, 5, size=n).astype(float)
        d = dose_at_volume(v, x)
        assert np.mean(v >= d) >= x  # at least a fraction x reaches D_x ...
        assert not any(np.mean(v >= u) >= x for u in np.unique(v) if u > d)  # ... and no larger level does
        s = dose_at_volume(v, x, direction="lower")
        assert np.mean(v <= s) >= x
        assert not any(np.mean(v <= u) >= x for u in np.unique(v) if u < s)


def test_volume_at_threshold_by_hand():
    v = np.array([40.0, 43.0, 43.0, 45.0, 50.0])
    assert volume_at_threshold(v, 43.0) == 4 / 5  # ties count: value >= level
    assert volume_at_threshold(v, 43.0001) == 2 / 5
    assert volume_at_threshold(v, 60.0) == 0.0
    assert volume_at_threshold(v, -np.inf) == 1.0
    assert volume_at_threshold([0.5, 0.01, 0.009, 1.0], 0.01, direction="lower") == 2 / 4


def test_cumulative_dvh_by_hand():
    c = cumulative_dvh([3.0, 1.0, 2.0, 2.0, np.nan])
    assert c.levels.tolist() == [1.0, 2.0, 3.0]
    assert c.fractions.tolist() == [1.0, 0.75, 0.25]  # of the 4 evaluated voxels
    assert (c.n_voxels, c.n_nan, c.direction) == (4, 1, "higher")
    c = cumulative_dvh([3.0, 1.0, 2.0, 2.0], 3)  # 3 evenly spaced levels from min to max
    assert c.levels.tolist() == [1.0, 2.0, 3.0] and c.fractions.tolist() == [1.0, 0.75, 0.25]
    c = cumulative_dvh([3.0, 1.0, 2.0, 2.0], [2.5, 0.0, 10.0])  # levels sorted, exact fractions
    assert c.levels.tolist() == [0.0, 2.5, 10.0] and c.fractions.tolist() == [1.0, 0.25, 0.0]
    c = cumulative_dvh([0.5, 0.01, 0.1, 0.1], direction="lower", unit="1", label="surviving fraction")
    assert c.levels.tolist() == [0.01, 0.1, 0.5] and c.fractions.tolist() == [0.25, 0.75, 1.0]
    assert json.loads(json.dumps(c.to_dict()))["fractions"] == [0.25, 0.75, 1.0]


def test_dvh_agrees_with_volume_at_threshold_and_dose_at_volume():
    v = np.random.default_rng(1).normal(45.0, 3.0, size=200).round(1)
    c = cumulative_dvh(v)
    for level, fraction in zip(c.levels, c.fractions):
        assert fraction == volume_at_threshold(v, level)
    # D_x is the largest level whose DVH fraction is >= x.
    for x in (0.5, 0.9, 0.95):
        assert dose_at_volume(v, x) == c.levels[c.fractions >= x].max()


def test_all_nan_gives_none_not_zero():
    nan = np.full(4, np.nan)
    assert dose_at_volume(nan, 0.9) is None
    assert volume_at_threshold(nan, 1.0) is None
    assert cumulative_dvh(nan) is None
    m = quantity_metrics(nan, thresholds=[1.0], voxel_volume=1e-9)
    assert m["n_voxels"] == 4 and m["n_nan"] == 4
    assert m["volume_mm3"] == pytest.approx(4.0) and m["evaluated_volume_mm3"] == 0.0
    assert [m[k] for k in ("min", "mean", "max", "D90", "D95")] == [None] * 5
    assert m["V"] == [{"level": 1.0, "fraction": None, "volume_mm3": None}]


def test_quantity_metrics_by_hand_with_nan_excluded():
    v = np.array([np.nan, 1.0, 2.0, 3.0, 4.0, np.nan])
    m = quantity_metrics(v, coverage=(0.5, 0.75, 0.995), thresholds=(2.0, 5.0), voxel_volume=2e-9)
    assert (m["n_voxels"], m["n_nan"]) == (6, 2)
    assert m["volume_mm3"] == pytest.approx(12.0) and m["evaluated_volume_mm3"] == pytest.approx(8.0)
    assert (m["min"], m["mean"], m["max"]) == (1.0, 2.5, 4.0)
    assert (m["D50"], m["D75"], m["D99.5"]) == (3.0, 2.0, 1.0)
    assert m["V"][0] == {"level": 2.0, "fraction": 0.75, "volume_mm3": pytest.approx(6.0)}
    assert m["V"][1] == {"level": 5.0, "fraction": 0.0, "volume_mm3": 0.0}
    assert quantity_metrics([np.inf, 1.0])["max"] is None  # infinite statistics are not JSON numbers


def test_metric_functions_reject_bad_arguments():
    for bad in (0.0, 1.5, -0.1, float("nan"), "0.9", True):
        with pytest.raises(InputError) as info:
            dose_at_volume(TEN, bad)
        assert paths(info) == ["fraction"]
    with pytest.raises(InputError) as info:
        volume_at_threshold(TEN, float("nan"), direction="up")
    assert paths(info) == ["level", "direction"]
    with pytest.raises(InputError) as info:
        cumulative_dvh(TEN, 1)
    assert paths(info) == ["levels"]
    with pytest.raises(InputError) as info:
        cumulative_dvh(TEN, [1.0, np.nan])
    assert paths(info) == ["levels"]
    with pytest.raises(InputError) as info:
        quantity_metrics(TEN, coverage=(0.9, 2.0), thresholds=(1.0, None), voxel_volume=0.0)
    assert paths(info) == ["coverage[1]", "thresholds[1]", "voxel_volume"]


# -- evaluate -------------------------------------------------------------------------
GRID = Grid((4, 3, 2), spacing=1e-3)  # 1 mm^3 voxels, 24 of them


def small_result():
    labels = np.zeros(GRID.shape, dtype=np.int32)
    labels[:2] = 1  # tumour: 12 voxels x < 2
    t = np.arange(24, dtype=float).reshape(GRID.shape) + 30.0  # 30 ... 53 C
    omega = np.where(labels == 1, np.linspace(0.0, 5.5, 24).reshape(GRID.shape), np.nan)
    fields = {
        "max_temperature_degC": t,
        "cem43_min": np.zeros(GRID.shape, dtype=np.float32),
        "arrhenius_omega": omega,
        "surviving_fraction": np.exp(-np.nan_to_num(omega, nan=0.0)),
        "labels": labels,
    }
    units = {"max_temperature_degC": "degC", "cem43_min": "min", "arrhenius_omega": "1",
             "surviving_fraction": "1", "labels": "1"}
    return Result(grid=GRID, time=1.0, fields=fields, units=units, label_names={0: "muscle", 1: "tumour"})


def test_evaluate_a_result_by_hand():
    result = small_result()
    structures = structures_from_labels(result.labels, result.label_names, roles={"tumour": "target"})
    out = evaluate(result, structures, thresholds={"T_max": [40.0, 43.0]})
    assert list(out) == ["tumour", "muscle"]
    assert list(out["tumour"]) == ["T_max", "CEM43", "Omega", "survival"]  # fields present only
    t = out["tumour"]["T_max"]
    # Tumour values 30..41 (12 voxels): D90 = ceil(10.8) = 11th largest = 31, D95 = 12th = 30.
    assert (t["min"], t["mean"], t["max"], t["D90"], t["D95"]) == (30.0, 35.5, 41.0, 31.0, 30.0)
    assert (t["unit"], t["direction"], t["field"]) == ("degC", "higher", "max_temperature_degC")
    assert t["volume_mm3"] == pytest.approx(12.0)
    assert t["V"][0] == {"level": 40.0, "fraction": 2 / 12, "volume_mm3": pytest.approx(2.0)}
    assert t["V"][1]["fraction"] == 0.0
    assert [v["level"] for v in out["muscle"]["CEM43"]["V"]] == list(DEFAULT_THRESHOLDS["CEM43"])
    # Omega is NaN outside the tumour: the muscle gets None metrics, with its NaN voxels counted.
    om = out["muscle"]["Omega"]
    assert (om["n_voxels"], om["n_nan"], om["min"], om["D90"]) == (12, 12, None, None)
    assert om["V"][0]["fraction"] is None
    # Survival: lower is more effect; D90 is the 11th smallest surviving fraction of the tumour.
    s = out["tumour"]["survival"]
    tumour_omega = np.linspace(0.0, 5.5, 24)[:12]
    assert s["direction"] == "lower"
    assert s["D90"] == pytest.approx(np.exp(-tumour_omega[1]), rel=1e-15)
    assert s["V"][0]["fraction"] == np.mean(np.exp(-tumour_omega) <= 0.01)
    json.dumps(out, allow_nan=False)  # strict JSON, no NaN


def test_evaluate_plain_fields_and_custom_quantities():
    fields = {"time_above_43C_s": np.arange(24.0).reshape(GRID.shape)}
    tumour = Structure("tumour", box_mask(GRID.shape, slice(0, 2)))
    out = evaluate(fields, tumour, quantities={"t43": Quantity("time_above_43C_s", "s", "higher")},
                   thresholds={"t43": 10.0}, coverage=(0.5,), voxel_volume=8e-9)
    m = out["tumour"]["t43"]
    assert (m["D50"], m["V"][0]["fraction"], m["volume_mm3"]) == (6.0, 2 / 12, pytest.approx(96.0))


def test_evaluate_reports_every_problem():
    result = small_result()
    tumour = Structure("tumour", result.labels == 1)
    wrong = Structure("tumour", np.ones((2, 2, 2), dtype=bool))
    with pytest.raises(InputError) as info:
        evaluate(result, [tumour, wrong, "skin"], quantities=["T_max", "fluence", "Tmax"],
                 thresholds={"Tmax": 43.0, "T_max": [float("nan")]}, coverage=(95,))
    assert paths(info) == ["structures[1].name", "structures[2]", "quantities[1]", "quantities[2]",
                           "thresholds['Tmax']", "thresholds['T_max'][0]", "coverage[0]"]
    result.units["max_temperature_degC"] = "K"
    with pytest.raises(InputError) as info:
        evaluate(result, [tumour, Structure("box", np.ones((2, 2, 2), dtype=bool))], quantities=["T_max"])
    assert paths(info) == ["units['max_temperature_degC']", "structures['box'].mask.shape"]
    with pytest.raises(InputError) as info:
        evaluate({"max_temperature_degC": np.zeros(GRID.shape)}, [tumour])
    assert paths(info) == ["voxel_volume"]
    with pytest.raises(InputError) as info:
        evaluate([1, 2], [])
    assert paths(info) == ["result_or_fields", "structures"]


def test_quantity_table_is_consistent():
    assert set(QUANTITIES) >= {"T_max", "CEM43", "Omega", "fluence", "1O2rx", "survival",
                               "thermal_survival", "pdt_survival"}
    for name, q in QUANTITIES.items():
        field, unit, direction = q  # a (field, unit, direction) tuple
        assert direction == ("lower" if "survival" in name else "higher")
        assert q.label and unit
    assert set(DEFAULT_THRESHOLDS) <= set(QUANTITIES)


# -- DVH curves and plot --------------------------------------------------------------
def test_dvh_curves_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from phototherm.viz.dvh import plot_dvh

    result = small_result()
    structures = structures_from_labels(result.labels, result.label_names)
    curves = dvh_curves(result, structures, "Omega")
    assert list(curves) == ["tumour"]  # Omega is not modelled in the muscle: no curve
    curves = dvh_curves(result, structures, "T_max", levels=25)
    assert curves["muscle"].levels.size == 25 and curves["muscle"].unit == "degC"
    path = plot_dvh(curves, tmp_path / "figs" / "dvh.png", title="Peak temperature")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == ["dvh.png"]  # no temporary file left behind
    survival = dvh_curves(result, structures, "survival")
    plot_dvh(survival, tmp_path / "survival.png", log_scale=True)
    plot_dvh({"a": ([1.0, 2.0], [1.0, 0.5])}, tmp_path / "pairs.png", label="dose", unit="J/m^2")
    assert (tmp_path / "survival.png").exists() and (tmp_path / "pairs.png").exists()


def test_plot_dvh_reports_bad_curves(tmp_path):
    from phototherm.viz.dvh import plot_dvh

    good = cumulative_dvh([1.0, 2.0])
    lower = cumulative_dvh([0.1, 0.2], direction="lower")
    with pytest.raises(InputError) as info:
        plot_dvh({"a": ([2.0, 1.0], [0.5, 1.5]), "b": ([1.0], [1.0, 0.5]), "c": 3, "d": good, "e": lower},
                 tmp_path / "x.png")
    assert paths(info) == ["curves['a'].levels", "curves['a'].fractions", "curves['b'].fractions",
                           "curves['c']", "curves"]
    with pytest.raises(InputError):
        plot_dvh({}, tmp_path / "x.png")
    assert not any(tmp_path.iterdir())
    with pytest.raises(InputError) as info:
        dvh_curves(small_result(), [Structure("t", np.ones((4, 3, 2), bool))], "fluence")
    assert paths(info) == ["quantity"]
    assert math.isfinite(good.fractions.sum())
