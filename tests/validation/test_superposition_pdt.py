"""Photodynamic quantities of a plan, evaluated at the recorded voxels, against full simulations.

Without oxygen diffusion each voxel's PDT kinetics depend only on its own
fluence rate (not on temperature), and the fluence rate is linear in each
source's power. :class:`UnitResponses` therefore predicts [1O2]rx, the PDT dose
and the surviving fractions of any plan by integrating the kinetics at the
structures' voxels only. The full simulation integrates the same ODE on every
bioheat step; both use the adaptive ROS3 integrator at a local relative
tolerance of 1e-6 on different sub-step partitions (the prediction takes one
call per run of equal light, the simulation one per time step), so they agree
to the integrator's global error, a small multiple of the tolerance; 1e-5
relative (10 x the tolerance) is the bound asserted; measured: 1e-7 ([1O2]rx), 3e-10 (PDT dose).
"""

import numpy as np
import pytest

import phototherm as pt
from phototherm.pdt import PhotodynamicTherapy, SingletOxygenSurvival, photosensitizer
from phototherm.planning import Structure
from phototherm.planning.optimise import Plan
from phototherm.planning.superposition import UnitResponses

HORIZON = 120.0
RTOL = 1e-5


def pdt_model():
    grid = pt.Grid((12, 12, 10), 1e-3)
    X, Y, Z = grid.mesh()
    tumour = (X - 6e-3) ** 2 + (Y - 6e-3) ** 2 + (Z - 5e-3) ** 2 <= (3e-3) ** 2
    medium = pt.OpticalMedium.uniform(grid, mua=30.0, mus=10000.0, g=0.9, n=1.37, wavelength=630e-9)
    fibre = pt.IsotropicPoint(power=0.02, wavelength=630e-9, position=(6e-3, 6e-3, 5e-3), name="fibre")
    light = pt.compute_light_fields(medium, [fibre], device="cpu")
    therapy = PhotodynamicTherapy(photosensitizer("photofrin"), concentration_uM=np.where(tumour, 7.0, 1.0),
                                  light=light, survival=SingletOxygenSurvival(300.0, "illustrative, not fitted"))
    model = pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, pt.tissues.thermal_tissue("liver")),
                           heat_sources=[f.heat_source() for f in light],
                           boundaries=pt.BoundaryConditions(default=pt.FixedTemperature(37.0)))
    rim = np.zeros(grid.shape, bool)
    rim[0] = True
    structures = [Structure("tumour", tumour), Structure("rim", rim, "organ_at_risk")]
    return model, therapy, structures


@pytest.fixture(scope="module")
def setup():
    model, therapy, structures = pdt_model()
    responses = UnitResponses.compute(model, structures, horizon=HORIZON, dt=0.5, device="cpu",
                                      photodynamic=therapy, progress=False)
    return model, therapy, responses


@pytest.mark.parametrize("power, intervals", [
    (0.02, ((0.0, 120.0, 1.0),)),                                  # the nominal plan, always on
    (0.05, ((10.0, 40.0, 1.0), (70.0, 100.0, 1.0))),               # more power, two fractions
    (0.01, ((0.0, 30.0, 1.0), (30.0, 60.0, 0.5), (90.0, 110.0, 1.0))),  # levels and a pause
])
def test_predicted_pdt_quantities_equal_the_full_simulation(setup, power, intervals):
    model, therapy, responses = setup
    plan = Plan(("fibre",), (power,), responses.nominal_powers, (intervals,), HORIZON)
    dose = responses.evaluate(powers=[power], on_intervals=[[iv for iv in intervals]],
                              quantities=["1O2rx", "pdt_dose", "pdt_survival", "survival", "fluence"])
    sim = pt.Simulation(plan.apply(model), stop_time=HORIZON, dt=responses.dt, stepper=responses.stepper,
                        device="cpu", photodynamic=plan.apply_therapy(therapy), progress=False)
    result = sim.run()
    voxels = responses.voxels
    for q, field in (("1O2rx", "singlet_oxygen_reacted_uM"), ("pdt_dose", "pdt_dose_photons_per_m3"),
                     ("pdt_survival", "pdt_surviving_fraction"), ("survival", "surviving_fraction")):
        simulated = np.asarray(result.fields[field]).reshape(-1)[voxels]
        predicted = dose.values[q]
        np.testing.assert_array_equal(np.isnan(predicted), np.isnan(simulated), err_msg=q)
        scale = np.nanmax(np.abs(simulated))
        assert scale > 0, q
        error = np.nanmax(np.abs(predicted - simulated)) / scale
        print(f"{q}: max relative error {error:.2e}")
        assert error <= RTOL, f"{q}: max relative error {error:.2e}"
    # the fluence is superposed exactly (linear in power and on-time)
    fluence = np.asarray(result.fields["fluence_J_per_m2"]).reshape(-1)[voxels]
    np.testing.assert_allclose(dose.values["fluence"], fluence, rtol=1e-12)


def test_pdt_quantities_need_the_therapy_and_refuse_oxygen_diffusion():
    import dataclasses

    model, therapy, structures = pdt_model()
    thermal_only = UnitResponses.compute(model, structures, horizon=10.0, dt=0.5, device="cpu", progress=False)
    with pytest.raises(pt.InputError, match=r"quantities\[0\].*photodynamic=therapy"):
        thermal_only.evaluate(quantities=["1O2rx"])
    diffusing = dataclasses.replace(therapy, oxygen_diffusivity=2e-9)
    with pytest.raises(pt.InputError, match="photodynamic.oxygen_diffusivity"):
        UnitResponses.compute(model, structures, horizon=10.0, dt=0.5, device="cpu", photodynamic=diffusing)
