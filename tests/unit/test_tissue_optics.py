"""Tissue optics: chromophore spectra, OpticalTissue, built-in optical tissues.

Behaviour checks (validation, overrides, vectorisation, names, wavelength
range); the reference values are in tests/validation/test_tissue_optics_reference.py.
"""

from __future__ import annotations

import dataclasses
import math
from importlib import resources

import numpy as np
import pytest

import phototherm as pt
from phototherm.errors import InputError, Problem
from phototherm.tissues import (
    BUILTIN_OPTICAL_TISSUES,
    OpticalProperties,
    OpticalTissue,
    jacques2013_table2,
    optical_tissue,
    spectra,
)

SPECTRA = [
    spectra.oxyhemoglobin_absorption,
    spectra.deoxyhemoglobin_absorption,
    spectra.water_absorption,
    spectra.fat_absorption,
    spectra.melanosome_absorption,
    lambda wl: spectra.blood_absorption(wl, 0.75),
]
SPECTRA_IDS = ["oxy", "deoxy", "water", "fat", "melanosome", "blood"]


def raises_input_error(func, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    exc = info.value
    assert exc.problems
    for problem in exc.problems:
        assert isinstance(problem, Problem) and problem.expected
        assert problem.path in str(exc)
    return exc


def paths(exc: InputError) -> list[str]:
    return [p.path for p in exc.problems]


# -- wavelength range ------------------------------------------------------------
@pytest.mark.parametrize("func", SPECTRA, ids=SPECTRA_IDS)
@pytest.mark.parametrize("wavelength", [399e-9, 1101e-9, -800e-9, 0.0, math.nan, math.inf])
def test_spectra_refuse_wavelengths_outside_400_1100_nm(func, wavelength):
    exc = raises_input_error(func, wavelength)
    (problem,) = exc.problems
    assert problem.path == "wavelength"
    assert "400-1100 nm" in problem.expected and "metres" in problem.expected


def test_wavelength_given_in_nanometres_gets_a_hint():
    exc = raises_input_error(spectra.water_absorption, 808)
    assert "looks like nanometres" in str(exc) and "808e-9" in str(exc)


def test_bad_element_of_a_wavelength_array_is_named_and_counted():
    wavelengths = np.array([500e-9, 600e-9, 1200e-9, 300e-9])
    exc = raises_input_error(spectra.fat_absorption, wavelengths)
    (problem,) = exc.problems
    assert problem.path == "wavelength[2]" and problem.value == pytest.approx(1200e-9)
    assert "2 of 4 elements fail" in problem.expected


def test_non_numeric_wavelength_is_refused():
    exc = raises_input_error(spectra.water_absorption, "808 nm")
    assert exc.problems[0].path == "wavelength"


@pytest.mark.parametrize("func", SPECTRA, ids=SPECTRA_IDS)
def test_range_ends_accepted_despite_round_off(func):
    # 1100 * 1e-9 == 1.1000000000000001e-06 and 400 * 1e-9 == 4.0000000000000003e-07
    for nm in (400, 1100):
        value = func(nm * 1e-9)
        assert isinstance(value, float) and value > 0


def test_optical_tissue_at_refuses_out_of_range_wavelength():
    exc = raises_input_error(optical_tissue("muscle").at, 1064.0)
    assert exc.problems[0].path == "wavelength" and "nanometres" in str(exc)
    raises_input_error(optical_tissue("muscle").at, [800e-9, 350e-9])


# -- vectorisation ---------------------------------------------------------------
@pytest.mark.parametrize("func", SPECTRA, ids=SPECTRA_IDS)
def test_spectra_vectorise_and_keep_shape(func):
    grid = np.linspace(400e-9, 1100e-9, 12).reshape(3, 4)
    values = func(grid)
    assert isinstance(values, np.ndarray) and values.shape == (3, 4)
    expected = np.array([[func(float(x)) for x in row] for row in grid])
    np.testing.assert_allclose(values, expected, rtol=1e-14)  # scalar and array pow may differ by 1 ulp
    assert np.all(values >= 0) and np.all(np.isfinite(values))


def test_scalar_in_scalar_out():
    assert isinstance(spectra.water_absorption(np.float32(800e-9)), float)
    assert isinstance(spectra.water_absorption(np.array(800e-9)), float)
    assert isinstance(spectra.water_absorption([800e-9]), np.ndarray)


def test_hemoglobin_extinction_matches_the_absorption_functions():
    wl = np.array([450e-9, 808e-9, 1050e-9])
    eps_oxy, eps_deoxy = spectra.hemoglobin_extinction(wl)
    conc = spectra.WHOLE_BLOOD_HEMOGLOBIN / spectra.HEMOGLOBIN_MOLAR_MASS  # mol/m^3
    np.testing.assert_allclose(math.log(10) * eps_oxy * conc, spectra.oxyhemoglobin_absorption(wl), rtol=1e-14)
    np.testing.assert_allclose(math.log(10) * eps_deoxy * conc, spectra.deoxyhemoglobin_absorption(wl), rtol=1e-14)


def test_optical_tissue_at_vectorises():
    tissue = optical_tissue("dermis")
    wl = np.array([[450e-9, 660e-9], [808e-9, 1064e-9]])
    props = tissue.at(wl)
    assert props.mua.shape == props.mus.shape == (2, 2)
    for index in np.ndindex(wl.shape):
        single = tissue.at(float(wl[index]))
        assert props.mua[index] == pytest.approx(single.mua, rel=1e-14)
        assert props.mus[index] == pytest.approx(single.mus, rel=1e-14)
    assert isinstance(props.g, float) and isinstance(props.n, float)
    assert isinstance(tissue.at(808e-9).mua, float)


def test_overrides_broadcast_over_wavelength_arrays():
    tissue = optical_tissue("muscle", mua=42.0, mus=9000.0)
    props = tissue.at(np.array([500e-9, 800e-9, 1000e-9]))
    np.testing.assert_array_equal(props.mua, [42.0, 42.0, 42.0])
    np.testing.assert_array_equal(props.mus, [9000.0] * 3)
    np.testing.assert_allclose(props.reduced_scattering, 9000.0 * (1 - 0.9))
    assert tissue.reduced_scattering(800e-9) == pytest.approx(900.0)


# -- OpticalTissue validation ----------------------------------------------------
def test_all_problems_reported_at_once_with_paths():
    exc = raises_input_error(
        OpticalTissue, "bad", blood_fraction=1.5, oxygen_saturation=-0.1, water_fraction=math.nan,
        fat_fraction=2, melanosome_fraction=-1e-3, scattering_500nm=-10.0, scattering_power=math.inf,
        anisotropy=1.0, refractive_index=0.9, mua=-1.0, mus=math.nan, melanosome_exponent=-3.0,
    )
    assert sorted(paths(exc)) == sorted(
        f"bad.{name}" for name in (
            "blood_fraction", "oxygen_saturation", "water_fraction", "fat_fraction", "melanosome_fraction",
            "scattering_500nm", "scattering_power", "anisotropy", "refractive_index", "mua", "mus",
            "melanosome_exponent",
        )
    )
    assert "invalid optical tissue 'bad'" in str(exc)
    assert "bad.blood_fraction = 1.5: expected a fraction between 0 and 1" in str(exc)


@pytest.mark.parametrize("g", [-1.0, 1.0, 1.5, math.nan])
def test_anisotropy_must_be_strictly_inside_minus_one_one(g):
    exc = raises_input_error(OpticalTissue, "t", anisotropy=g)
    assert paths(exc) == ["t.anisotropy"]


def test_limits_that_are_allowed():
    OpticalTissue("t", blood_fraction=1.0, water_fraction=1.0, fat_fraction=0.0, oxygen_saturation=0.0,
                  anisotropy=-0.99, refractive_index=1.0, mua=0.0, mus=0.0, scattering_500nm=0.0)


@pytest.mark.parametrize("value", [True, "0.5", [0.1], np.array([0.1, 0.2]), None])
def test_fractions_must_be_real_scalars(value):
    exc = raises_input_error(OpticalTissue, "t", blood_fraction=value)
    assert paths(exc) == ["t.blood_fraction"]


def test_overrides_must_be_scalars():
    exc = raises_input_error(OpticalTissue, "t", mua=np.array([1.0, 2.0]))
    assert paths(exc) == ["t.mua"]


def test_rayleigh_and_mie_go_together():
    assert paths(raises_input_error(OpticalTissue, "t", rayleigh_fraction=0.3)) == ["t.mie_power"]
    assert paths(raises_input_error(OpticalTissue, "t", mie_power=1.0)) == ["t.rayleigh_fraction"]
    assert paths(raises_input_error(OpticalTissue, "t", rayleigh_fraction=1.2, mie_power=-1.0)) == [
        "t.rayleigh_fraction", "t.mie_power"]


def test_name_and_source_are_checked():
    exc = raises_input_error(OpticalTissue, "", source=3)
    assert sorted(paths(exc)) == ["optical_tissue.name", "optical_tissue.source"]


def test_tissue_is_frozen():
    tissue = optical_tissue("fat")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tissue.blood_fraction = 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        tissue.at(800e-9).mua = 1.0


def test_validate_uses_the_callers_key_path():
    problems = pt.errors.Problems()
    optical_tissue("muscle").validate("scenario.tissues[2].optics", problems)
    assert not problems


# -- overrides -------------------------------------------------------------------
def test_with_overrides_changes_the_property_and_records_it_in_source():
    base = optical_tissue("muscle")
    richer = base.with_overrides(blood_fraction=0.08)
    assert richer.blood_fraction == 0.08 and base.blood_fraction == 0.04
    assert richer.at(800e-9).mua > base.at(800e-9).mua
    assert richer.source.startswith(base.source) and "overridden: blood_fraction=0.08" in richer.source
    assert base.with_overrides(source="my lab").source == "my lab"
    assert base.with_overrides() == base


def test_with_overrides_validates():
    exc = raises_input_error(optical_tissue("liver").with_overrides, blood_fraction=3.0, anisotropy=1.0)
    assert sorted(paths(exc)) == ["liver.anisotropy", "liver.blood_fraction"]


def test_unknown_override_names_are_listed():
    exc = raises_input_error(optical_tissue("liver").with_overrides, blood=0.1, g=0.8)
    assert paths(exc) == ["liver.blood", "liver.g"]
    assert "blood_fraction" in exc.problems[0].expected and "anisotropy" in exc.problems[0].expected


def test_mua_and_mus_overrides_replace_computed_values_at_every_wavelength():
    tissue = optical_tissue("tumour", mua=123.0, mus=4567.0)
    for wl in (400e-9, 650e-9, 1100e-9):
        props = tissue.at(wl)
        assert props.mua == 123.0 and props.mus == 4567.0
    assert tissue.absorption(700e-9) == 123.0


def test_optical_tissue_accepts_overrides_directly():
    tissue = optical_tissue("epidermis", melanosome_fraction=0.2, refractive_index=1.42)
    assert tissue.melanosome_fraction == 0.2 and tissue.refractive_index == 1.42
    assert "overridden" in tissue.source
    raises_input_error(optical_tissue, "epidermis", melanosome_fraction=1.2)


def test_rayleigh_mie_form():
    fit = jacques2013_table2()["Skin"]
    tissue = optical_tissue("dermis", scattering_500nm=fit.a_prime, rayleigh_fraction=fit.f_rayleigh,
                            mie_power=fit.b_mie)
    x = 800 / 500
    expected = fit.a_prime * (fit.f_rayleigh * x**-4 + (1 - fit.f_rayleigh) * x**-fit.b_mie)
    assert tissue.reduced_scattering(800e-9) == pytest.approx(expected, rel=1e-14)
    assert tissue.reduced_scattering(500e-9) == pytest.approx(fit.a_prime, rel=1e-14)


def test_mus_is_reduced_scattering_over_one_minus_g():
    tissue = optical_tissue("muscle", anisotropy=0.8)
    props = tissue.at(700e-9)
    assert props.mus == pytest.approx(tissue.reduced_scattering(700e-9) / 0.2, rel=1e-14)
    assert props.reduced_scattering == pytest.approx(tissue.reduced_scattering(700e-9), rel=1e-14)


def test_absorption_components_add_up():
    tissue = optical_tissue("epidermis", blood_fraction=0.01, fat_fraction=0.1)
    wl = np.array([420e-9, 808e-9])
    parts = tissue.absorption_components(wl)
    assert set(parts) == {"oxyhemoglobin", "deoxyhemoglobin", "water", "fat", "melanosome"}
    np.testing.assert_allclose(sum(parts.values()), tissue.at(wl).mua, rtol=1e-14)


def test_describe_has_units_and_source():
    summary = optical_tissue("blood").describe()
    assert summary["scattering_500nm_per_m"] == 1000.0 and summary["name"] == "blood"
    assert "mcxyz" in summary["source"]
    assert summary["mua_override_per_m"] is None


def test_optical_properties_is_a_small_value_object():
    props = OpticalProperties(mua=10.0, mus=1000.0, g=0.9, n=1.4)
    assert props.reduced_scattering == pytest.approx(100.0)


# -- built-in tissues ------------------------------------------------------------
def test_builtin_list():
    assert set(BUILTIN_OPTICAL_TISSUES) >= {"epidermis", "dermis", "fat", "muscle", "liver", "tumour", "blood", "water"}


@pytest.mark.parametrize("name", BUILTIN_OPTICAL_TISSUES)
def test_builtins_are_valid_and_sourced(name):
    tissue = optical_tissue(name)
    assert tissue.name == name and tissue.source and len(tissue.source) > 20
    props = tissue.at(np.linspace(400e-9, 1100e-9, 71))
    assert np.all(props.mua > 0) and np.all(np.isfinite(props.mua))
    if name == "water":
        assert np.all(props.mus == 0) and props.g == 0 and props.n == pytest.approx(1.33)
    else:
        assert np.all(props.mus > 0)
        assert 0.8 <= props.g < 1 and 1.33 < props.n <= 1.45
        # scattering falls with wavelength (b > 0)
        assert np.all(np.diff(props.reduced_scattering) < 0)


def test_builtin_names_are_case_insensitive_with_aliases():
    assert optical_tissue("Tumor").name == "tumour"
    assert optical_tissue("ADIPOSE").name == "fat"
    assert optical_tissue("muscle") == optical_tissue("Muscle")


@pytest.mark.parametrize("name", ["bone", "musle", "", 3, None])
def test_unknown_tissue_lists_the_known_ones(name):
    exc = raises_input_error(optical_tissue, name)
    (problem,) = exc.problems
    assert problem.path == "tissue"
    for known in BUILTIN_OPTICAL_TISSUES:
        assert known in problem.expected
    if name == "musle":
        assert "did you mean 'muscle'" in problem.expected


def test_builtin_scattering_comes_from_the_bundled_table():
    table = jacques2013_table2()
    assert set(table) == {"Skin", "Brain", "Breast", "Bone", "Other soft tissues", "Other fibrous tissues",
                          "Fatty tissue"}
    for name, row in (("dermis", "Skin"), ("fat", "Fatty tissue"), ("muscle", "Other soft tissues")):
        tissue = optical_tissue(name)
        assert tissue.scattering_500nm == table[row].a and tissue.scattering_power == table[row].b
        assert f"'{row}'" in tissue.source


# -- data files and caching ------------------------------------------------------
DATA_FILES = [
    "hemoglobin_prahl.csv",
    "hemoglobin_bosschaart2014_nir.csv",
    "water_absorption.csv",
    "fat_absorption.csv",
    "jacques2013_scattering.csv",
]


@pytest.mark.parametrize("filename", DATA_FILES)
def test_data_ships_with_the_package_and_is_documented(filename):
    data = resources.files("phototherm.tissues").joinpath("data")
    assert data.joinpath(filename).is_file()
    assert filename in data.joinpath("README.md").read_text(encoding="utf-8")


def test_tables_are_cached_and_read_only():
    assert spectra.prahl_table() is spectra.prahl_table()
    assert jacques2013_table2() is jacques2013_table2()
    for table in (spectra.prahl_table(), spectra.water_table(), spectra.fat_table(), spectra.bosschaart_table()):
        assert not table.flags.writeable
    assert spectra.prahl_table().shape == (376, 3)
    assert spectra.water_table().shape == (251, 2)
    assert spectra.fat_table().shape == (670, 2)
    assert spectra.bosschaart_table().shape == (25, 3)


def test_saturation_and_melanosome_exponent_are_checked():
    assert paths(raises_input_error(spectra.blood_absorption, 800e-9, 1.2)) == ["saturation"]
    assert paths(raises_input_error(spectra.blood_absorption, 800e-9, True)) == ["saturation"]
    assert paths(raises_input_error(spectra.melanosome_absorption, 800e-9, -1.0)) == ["exponent"]
