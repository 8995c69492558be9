"""Laser heating: light fields per watt become Pennes heat sources Q = power * mua * phi * p(t)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import phototherm as pt
from phototherm.light import (
    CollimatedBeam,
    IsotropicPoint,
    LaserHeatSource,
    LightModelWarning,
    OpticalMedium,
    compute_light_fields,
)
from tests.helpers import homogeneous_model

NM808 = 808e-9
GRID = pt.Grid((16, 16, 12), 0.5e-3)
MEDIUM = OpticalMedium.uniform(GRID, mua=40.0, mus=10000.0, g=0.9, n=1.37, wavelength=NM808)
BEAM = CollimatedBeam(power=0.5, wavelength=NM808, position=(4e-3, 4e-3, 0.0), direction=(0, 0, 1), radius=2e-3,
                      schedule=pt.PowerSchedule.constant(stop=20.0), name="beam")
FIBRE = IsotropicPoint(power=0.2, wavelength=NM808, position=(4e-3, 4e-3, 3e-3), name="fibre",
                       schedule=pt.PowerSchedule.pulses(on=5.0, off=5.0, count=3))


def test_heat_source_is_power_times_absorption_times_fluence_with_the_source_schedule():
    beam_field, fibre_field = compute_light_fields(MEDIUM, [BEAM, FIBRE], method="diffusion", device="cpu")
    for field, source in ((beam_field, BEAM), (fibre_field, FIBRE)):
        heat = field.heat_source()
        assert isinstance(heat, LaserHeatSource) and heat.name == source.name and heat.schedule is source.schedule
        np.testing.assert_allclose(heat.power_density, source.power * MEDIUM.mua * field.fluence_rate_per_W)
        np.testing.assert_allclose(heat.fluence_rate, source.power * field.fluence_rate_per_W)
        assert heat.total_power(GRID) == pytest.approx(source.power * field.absorbed_fraction())
        assert field.fluence_rate_error_per_W is None
        assert heat.describe(GRID)["light"]["method"] == "diffusion"
    balance = beam_field.details["energy_balance"]
    assert beam_field.absorbed_fraction() == pytest.approx(balance["absorbed_W"], rel=1e-9)


def test_monte_carlo_fields_carry_their_statistical_error():
    [field] = compute_light_fields(MEDIUM, [FIBRE], method="monte-carlo", device="cpu", photons=2000, seed=3,
                                   progress=False)
    assert field.method == "monte-carlo"
    assert field.fluence_rate_error_per_W.shape == GRID.shape
    assert np.all(field.fluence_rate_error_per_W >= 0)
    assert 0 < field.absorbed_fraction() <= 1
    assert field.details["photons"] == 2000


def test_bad_light_requests_are_reported_together():
    wrong = IsotropicPoint(power=-1.0, wavelength=630e-9, position=(4e-3, 4e-3, 30e-3))
    with pytest.raises(pt.InputError) as info:
        compute_light_fields(MEDIUM, [wrong], method="raytracing")
    text = str(info.value)
    for key in ("method", "sources[0].power", "sources[0].wavelength", "sources[0].position"):
        assert key in text
    with pytest.raises(pt.InputError, match="photons"):
        compute_light_fields(MEDIUM, [FIBRE], method="monte-carlo", device="cpu", photons=0)


def test_laser_heating_deposits_the_absorbed_light_energy_and_reports_fluence():
    """The bioheat energy budget counts exactly power x absorbed fraction x on-time."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", LightModelWarning)
        fields = compute_light_fields(MEDIUM, [BEAM, FIBRE], device="cpu")
    heat = [f.heat_source() for f in fields]
    model = homogeneous_model(GRID.shape, GRID.spacing, perfusion=5e-4, heat_sources=heat,
                              boundaries=pt.BoundaryConditions(default=pt.Convective(10.0, 25.0)),
                              initial_temperature=np.full(GRID.shape, 37.0))
    result = pt.Simulation(model, stop_time=30.0, progress=False, track_energy=True).run()
    on_time = {"beam": 20.0, "fibre": 15.0}
    expected = sum(s.total_power(GRID) * on_time[s.name] for s in heat)
    assert result.summary["energy_balance"]["deposited_J"] == pytest.approx(expected, rel=1e-9)
    fluence_rate = sum(f.fluence_rate for f in fields)
    np.testing.assert_allclose(result.fields["fluence_rate_W_per_m2"], fluence_rate)
    np.testing.assert_allclose(result.fields["fluence_J_per_m2"],
                               fields[0].fluence_rate * 20.0 + fields[1].fluence_rate * 15.0)
    assert result.units["fluence_J_per_m2"] == "J/m^2"
    assert result.max_temperature.max() > 37.5
