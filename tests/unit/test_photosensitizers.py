"""Photosensitizer library: built-in values, absorption, validation, overrides."""

import math

import numpy as np
import pytest

from phototherm.errors import InputError
from phototherm.pdt.photosensitizers import (
    BUILTIN_PHOTOSENSITIZERS,
    MODEL_PARAMETERS,
    Photosensitizer,
    photosensitizer,
)

PARAMETERS = ("wavelengths", "extinction", *MODEL_PARAMETERS)


def _user(**changes):
    values = dict(name="mine", wavelengths=690e-9, extinction=0.5, xi=1e-3, sigma=1e-5, beta=10.0,
                  delta=0.0, g=1.0, oxygen_initial=40.0, threshold=500.0)
    values.update(changes)
    return Photosensitizer(**values)


def test_photofrin_values_as_physics_md_states():
    pf = photosensitizer("photofrin")
    assert pf.wavelengths == (630e-9,)
    assert pf.extinction[0] == pytest.approx(0.0035 * 100, rel=1e-12)  # 0.0035 1/cm/uM in 1/(m uM)
    assert pf.xi == 3.7e-3
    assert pf.beta == 11.9
    assert pf.delta == 33.0
    assert pf.sigma == 7.6e-5
    assert pf.g == 0.7
    assert pf.oxygen_initial == 40.0
    assert pf.threshold == 560.0  # 0.56 mM
    assert pf.unconfirmed == {"g", "oxygen_initial", "threshold"}
    assert "PMC4435602" in pf.references["xi"]


def test_aliases_and_case():
    assert photosensitizer("  Porfimer Sodium ") == photosensitizer("PHOTOFRIN")


def test_absorption_at_630nm_is_extinction_times_concentration():
    pf = photosensitizer("photofrin")
    assert pf.absorption(10.0, 630e-9) == pytest.approx(0.0035 * 10.0 * 100.0, rel=1e-12)
    assert isinstance(pf.absorption(10.0, 630e-9), float)
    assert pf.absorption(2.0, 630.6e-9) == pytest.approx(0.7, rel=1e-12)  # within 1 nm matches
    conc = np.array([[0.0, 1.0], [5.0, 20.0]])
    np.testing.assert_allclose(pf.absorption(conc, 630e-9), 0.35 * conc, rtol=1e-12)


def test_no_absorption_data_at_808nm_names_wavelength():
    pf = photosensitizer("photofrin")
    with pytest.raises(InputError) as info:
        pf.absorption(10.0, 808e-9)
    problem = info.value.problems[0]
    assert problem.path == "wavelength"
    assert problem.value == 808e-9
    assert "630 nm" in str(info.value) and "wavelength" in str(info.value)
    with pytest.raises(InputError):
        pf.absorption(10.0, 632e-9)  # 2 nm off: no match


def test_negative_concentration_rejected():
    with pytest.raises(InputError, match="concentration_uM"):
        photosensitizer("photofrin").absorption(-1.0, 630e-9)


def test_unknown_name_lists_known_and_suggests():
    with pytest.raises(InputError) as info:
        photosensitizer("photofrn")
    message = str(info.value)
    for name in BUILTIN_PHOTOSENSITIZERS:
        assert name in message
    assert "did you mean 'photofrin'" in message


def test_unsourced_known_sensitizer_explains_why_missing():
    with pytest.raises(InputError, match="no built-in parameter set") as info:
        photosensitizer("Verteporfin")
    assert "photofrin" in str(info.value)


def test_user_defined_missing_parameters_reported_all_at_once():
    with pytest.raises(InputError) as info:
        Photosensitizer(name="mydye", wavelengths=700e-9, extinction=0.4, xi=1e-3)
    paths = {p.path for p in info.value.problems}
    assert paths == {f"photosensitizer.mydye.{name}"
                     for name in ("sigma", "beta", "delta", "g", "oxygen_initial", "threshold")}
    assert all(p.value is None and "missing" in p.expected for p in info.value.problems)


def test_user_defined_bad_values_reported_all_at_once():
    with pytest.raises(InputError) as info:
        _user(wavelengths=(300e-9, 690e-9), extinction=(0.5,), xi=-1.0, sigma=math.nan, beta=0.0,
              delta=-2.0, g=math.inf, threshold="high")
    problems = {p.path: p for p in info.value.problems}
    assert set(problems) == {
        "photosensitizer.mine.wavelengths[0]",
        "photosensitizer.mine.extinction",
        "photosensitizer.mine.xi",
        "photosensitizer.mine.sigma",
        "photosensitizer.mine.beta",
        "photosensitizer.mine.delta",
        "photosensitizer.mine.g",
        "photosensitizer.mine.threshold",
    }
    assert problems["photosensitizer.mine.xi"].value == -1.0
    assert "> 0" in problems["photosensitizer.mine.xi"].expected
    assert ">= 0" in problems["photosensitizer.mine.delta"].expected
    assert "400-1100 nm" in problems["photosensitizer.mine.wavelengths[0]"].expected


def test_user_defined_valid_and_delta_zero_allowed():
    dye = _user(wavelengths=[690e-9, 450e-9], extinction=[0.5, 1.2])
    assert dye.delta == 0.0
    assert dye.absorption(1.0, 450e-9) == pytest.approx(1.2)
    assert dye.references == {} and dye.unconfirmed == frozenset()


def test_with_overrides_updates_references_and_unconfirmed():
    pf = photosensitizer("photofrin")
    hypoxic = pf.with_overrides(oxygen_initial=10.0, beta=12.0)
    assert hypoxic.oxygen_initial == 10.0 and hypoxic.beta == 12.0
    assert hypoxic.references["oxygen_initial"] == "user override"
    assert hypoxic.unconfirmed == {"g", "threshold"}
    assert pf.oxygen_initial == 40.0  # original untouched (frozen)
    assert photosensitizer("photofrin", g=1.5).g == 1.5
    with pytest.raises(InputError, match="photosensitizer.photofrin.gee"):
        pf.with_overrides(gee=1.0)
    with pytest.raises(InputError, match="photosensitizer.photofrin.xi"):
        pf.with_overrides(xi=0.0)


def test_every_builtin_has_a_reference_for_every_parameter():
    assert BUILTIN_PHOTOSENSITIZERS
    for name in BUILTIN_PHOTOSENSITIZERS:
        ps = photosensitizer(name)
        for parameter in PARAMETERS:
            assert isinstance(ps.references.get(parameter), str) and ps.references[parameter], (name, parameter)
        assert set(ps.unconfirmed) <= set(PARAMETERS)


def test_describe_plain_dict_with_units():
    summary = photosensitizer("photofrin").describe()
    assert summary["xi_cm2_per_mW_per_s"] == 3.7e-3
    assert summary["threshold_uM"] == 560.0
    assert summary["wavelengths_m"] == [630e-9]
    assert summary["unconfirmed"] == ["g", "oxygen_initial", "threshold"]
    assert isinstance(summary["references"], dict)


def test_frozen():
    with pytest.raises(Exception):
        photosensitizer("photofrin").xi = 1.0
