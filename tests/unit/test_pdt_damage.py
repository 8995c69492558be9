"""PDT necrosis and surviving fraction; the combined PTT x PDT surviving fraction."""

from __future__ import annotations

import numpy as np
import pytest

from phototherm.dose import combined_surviving_fraction, surviving_fraction
from phototherm.errors import Problems
from phototherm.pdt import SingletOxygenSurvival, pdt_necrosis


def test_surviving_fraction_is_exponential_in_reacted_singlet_oxygen():
    model = SingletOxygenSurvival(d0_uM=200.0, source="test")
    rx = np.array([0.0, 200.0, 200.0 * np.log(10.0), 1000.0])
    np.testing.assert_allclose(model.surviving_fraction(rx), [1.0, np.exp(-1.0), 0.1, np.exp(-5.0)], rtol=1e-14)


def test_per_voxel_d0():
    d0 = np.array([[100.0, 400.0]])
    np.testing.assert_allclose(SingletOxygenSurvival(d0).surviving_fraction(np.full((1, 2), 400.0)),
                               [[np.exp(-4.0), np.exp(-1.0)]])
    assert SingletOxygenSurvival(d0).describe()["d0_uM"] == [100.0, 400.0]


def test_necrosis_is_the_threshold_indicator():
    np.testing.assert_array_equal(pdt_necrosis(np.array([0.0, 559.9, 560.0, 900.0]), 560.0), [0, 0, 1, 1])


def test_combined_survival_is_the_product_and_nan_where_a_mechanism_is_not_modelled():
    thermal = surviving_fraction(np.array([0.0, 1.0, np.nan]))
    pdt = np.array([0.5, 0.5, 0.5])
    combined = combined_surviving_fraction(thermal, pdt)
    np.testing.assert_allclose(combined[:2], [0.5, 0.5 * np.exp(-1.0)])
    assert np.isnan(combined[2])
    assert combined_surviving_fraction(0.3) == 0.3
    with pytest.raises(TypeError):
        combined_surviving_fraction()


@pytest.mark.parametrize("d0", [0.0, -1.0, np.nan, "big", np.ones((3, 3))])
def test_bad_d0_is_reported_with_its_path(d0):
    problems = Problems()
    SingletOxygenSurvival(d0).validate("therapy.survival", problems, shape=(2, 2, 2))
    assert problems.items and all(p.path == "therapy.survival.d0_uM" for p in problems.items)
