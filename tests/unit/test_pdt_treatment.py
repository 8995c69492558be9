"""A photodynamic therapy advanced by Simulation alongside the heat equation."""

from __future__ import annotations

import numpy as np
import pytest

import phototherm as pt
from phototherm.pdt import PhotodynamicTherapy, SingletOxygenSurvival, photosensitizer
from phototherm.pdt.kinetics import PDTState, advance
from tests.helpers import homogeneous_model

GRID = pt.Grid((8, 8, 8), 1e-3)
PHOTOFRIN = photosensitizer("photofrin")
NM630 = 630e-9
MEDIUM = pt.OpticalMedium.uniform(GRID, mua=30.0, mus=10000.0, g=0.9, n=1.37, wavelength=NM630)
FIBRE = pt.IsotropicPoint(power=0.02, wavelength=NM630, position=(4e-3, 4e-3, 4e-3), name="fibre",
                          schedule=pt.PowerSchedule.pulses(on=5.0, off=5.0, count=2))


def light():
    return pt.compute_light_fields(MEDIUM, [FIBRE], device="cpu")


def simulate(therapy, heat_sources=(), stop_time=20.0):
    model = homogeneous_model(GRID.shape, GRID.spacing, perfusion=5e-4, heat_sources=heat_sources,
                              initial_temperature=np.full(GRID.shape, 37.0))
    sim = pt.Simulation(model, stop_time=stop_time, dt=1.0, stepper="backward-euler", device="cpu",
                        progress=False, photodynamic=therapy)
    return sim.run()


def test_simulation_advances_the_kinetics_with_each_steps_mean_light_level():
    """Pulses switch on step boundaries, so the run equals a hand loop of advance() exactly."""
    [field] = light()
    result = simulate(PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=[field]),
                      heat_sources=[field.heat_source()])
    state = PDTState.initial(GRID.shape, 7.0, PHOTOFRIN.oxygen_initial)
    for n in range(20):
        level = FIBRE.schedule.mean(n, n + 1.0)
        advance(state, FIBRE.power * level * field.fluence_rate_per_W, 1.0, PHOTOFRIN,
                extinction=PHOTOFRIN.extinction_at(NM630), wavelength=NM630)
    np.testing.assert_allclose(result.fields["singlet_oxygen_reacted_uM"], state.singlet_oxygen_reacted, rtol=1e-12)
    np.testing.assert_allclose(result.fields["photosensitizer_uM"], state.s0, rtol=1e-12)
    np.testing.assert_allclose(result.fields["oxygen_uM"], state.oxygen, rtol=1e-12)
    np.testing.assert_allclose(result.fields["pdt_dose_photons_per_m3"], state.pdt_dose, rtol=1e-12)
    reacted = result.fields["singlet_oxygen_reacted_uM"]
    assert reacted.max() > 0 and reacted[4, 4, 4] == reacted.max()     # most at the fibre
    assert result.units["singlet_oxygen_reacted_uM"] == "uM"
    np.testing.assert_array_equal(result.fields["pdt_necrosis"], (reacted >= PHOTOFRIN.threshold).astype(float))
    row = result.metrics()["per_tissue"]["medium"]
    assert row["max_singlet_oxygen_reacted_uM"] == pytest.approx(reacted.max())
    assert 0 <= row["fraction_pdt_necrosis"] <= 1
    assert result.summary["inputs"]["simulation"]["photodynamic"]["wavelength_nm"] == pytest.approx(630.0)


def test_without_light_nothing_changes():
    dark = pt.IsotropicPoint(power=0.0, wavelength=NM630, position=(4e-3, 4e-3, 4e-3))
    fields = pt.compute_light_fields(MEDIUM, [dark], device="cpu")
    result = simulate(PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=fields), stop_time=5.0)
    assert np.all(result.fields["photosensitizer_uM"] == 7.0)
    assert np.all(result.fields["oxygen_uM"] == PHOTOFRIN.oxygen_initial)
    assert np.all(result.fields["singlet_oxygen_reacted_uM"] == 0.0)


def test_bad_photodynamic_inputs_are_reported_with_their_paths():
    model = homogeneous_model(GRID.shape, GRID.spacing, perfusion=5e-4)
    beam808 = pt.IsotropicPoint(power=0.02, wavelength=808e-9, position=(4e-3, 4e-3, 4e-3))
    medium808 = pt.OpticalMedium.uniform(GRID, mua=30.0, mus=10000.0, g=0.9, n=1.37, wavelength=808e-9)
    wrong = pt.compute_light_fields(medium808, [beam808], device="cpu")
    therapy = PhotodynamicTherapy(PHOTOFRIN, concentration_uM=-1.0, light=wrong, rtol=2.0)
    with pytest.raises(pt.InputError) as info:
        pt.Simulation(model, stop_time=1.0, photodynamic=therapy)
    text = str(info.value)
    for path in ("photodynamic.concentration_uM", "photodynamic.light[0].source.wavelength", "photodynamic.rtol"):
        assert path in text
    with pytest.raises(pt.InputError, match="PhotodynamicTherapy"):
        pt.Simulation(model, stop_time=1.0, photodynamic="photofrin")


def test_survival_fluence_and_combined_fields():
    """PDT survival exp(-rx/D0), thermal exp(-Omega), their product when the model also heats."""
    [field] = light()
    survival = SingletOxygenSurvival(d0_uM=100.0, source="test value")
    therapy = PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=[field], survival=survival)
    result = simulate(therapy, heat_sources=[field.heat_source()])
    f = result.fields
    np.testing.assert_allclose(f["pdt_surviving_fraction"], np.exp(-f["singlet_oxygen_reacted_uM"] / 100.0))
    np.testing.assert_array_equal(f["thermal_surviving_fraction"], np.exp(-f["arrhenius_omega"]))
    np.testing.assert_array_equal(f["surviving_fraction"], f["thermal_surviving_fraction"] * f["pdt_surviving_fraction"])
    # fluence at the sensitizer wavelength: power x (10 s of light) x field per W
    np.testing.assert_allclose(f["pdt_fluence_J_per_m2"], FIBRE.power * 10.0 * field.fluence_rate_per_W, rtol=1e-12)
    assert result.units["pdt_fluence_J_per_m2"] == "J/m^2" and result.units["surviving_fraction"] == "1"
    row = result.metrics()["per_tissue"]["medium"]
    assert row["mean_pdt_fluence_J_per_cm2"] == pytest.approx(f["pdt_fluence_J_per_m2"].mean() / 1e4)
    assert row["mean_pdt_surviving_fraction"] == pytest.approx(f["pdt_surviving_fraction"].mean())
    assert result.summary["inputs"]["simulation"]["photodynamic"]["survival"]["d0_uM"] == 100.0


def test_no_combined_survival_without_heating_or_without_a_pdt_survival_model():
    [field] = light()
    pdt_only = simulate(PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=[field],
                                            survival=SingletOxygenSurvival(100.0)), stop_time=2.0)
    assert "pdt_surviving_fraction" in pdt_only.fields and "surviving_fraction" not in pdt_only.fields
    no_model = simulate(PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=[field]),
                        heat_sources=[field.heat_source()], stop_time=2.0)
    assert "pdt_surviving_fraction" not in no_model.fields and "surviving_fraction" not in no_model.fields


def test_oxygen_diffusion_resupplies_the_depleted_region_around_the_fibre():
    [field] = light()
    kwargs = dict(concentration_uM=7.0, light=[field])
    plain = simulate(PhotodynamicTherapy(PHOTOFRIN, **kwargs), stop_time=5.0)
    diffusing = simulate(PhotodynamicTherapy(PHOTOFRIN, oxygen_diffusivity=2e-9, **kwargs), stop_time=5.0)
    # at the fibre oxygen is lowest; diffusion from the surroundings raises it there, lowers it next to it
    assert diffusing.fields["oxygen_uM"][4, 4, 4] > plain.fields["oxygen_uM"][4, 4, 4]
    assert diffusing.fields["singlet_oxygen_reacted_uM"][4, 4, 4] > plain.fields["singlet_oxygen_reacted_uM"][4, 4, 4]
    assert "oxygen diffusion" in diffusing.summary["inputs"]["simulation"]["photodynamic"]["assumptions"]


def test_bad_survival_and_diffusivity_are_reported_with_their_paths():
    model = homogeneous_model(GRID.shape, GRID.spacing, perfusion=5e-4)
    therapy = PhotodynamicTherapy(PHOTOFRIN, concentration_uM=7.0, light=light(),
                                  survival=SingletOxygenSurvival(d0_uM=-5.0), oxygen_diffusivity=np.zeros((2, 2)))
    with pytest.raises(pt.InputError) as info:
        pt.Simulation(model, stop_time=1.0, photodynamic=therapy)
    text = str(info.value)
    assert "photodynamic.survival.d0_uM" in text and "photodynamic.oxygen_diffusivity" in text
    with pytest.raises(pt.InputError, match="photodynamic.survival"):
        pt.Simulation(model, stop_time=1.0, photodynamic=PhotodynamicTherapy(PHOTOFRIN, 7.0, light(), survival=3.0))
