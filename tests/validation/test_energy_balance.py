"""Global energy balance: heat in = heat stored + removed by perfusion + lost through boundaries.

Conduction with harmonic-mean face conductances moves heat between voxels
without creating any, so the balance closes to rounding for explicit steps.
Implicit steps close it to the conjugate-gradient tolerance: a residual r of
the linear solve changes the stored heat by ``dt V sum(r)``, of relative size
``<~ rtol``. The model is heterogeneous, has every boundary type, pulsed and
ramped sources, metabolic heat and vascular shutdown, so a wrong term in any of
them (or a face conductance that is not symmetric) would show.
"""

import numpy as np
import pytest

import phototherm as pt
from tests.helpers import random_heterogeneous_model

SHUTDOWN = pt.VascularShutdown("cem43", threshold=0.5, residual_fraction=0.2)


def run(stepper, dt, rtol=None, periodic_axes=()):
    model = random_heterogeneous_model((10, 9, 8), (0.5e-3, 0.4e-3, 0.6e-3), shutdown=SHUTDOWN, sources=3,
                                       periodic_axes=periodic_axes)
    sim = pt.Simulation(model, stop_time=25.0, dt=dt, stepper=stepper, device="cpu", progress=False,
                        track_energy=True, rtol=rtol)
    result = sim.run()
    return sim, result


def test_explicit_steps_conserve_energy_to_rounding():
    sim, result = run("explicit", None)
    budget = sim.energy
    assert budget.deposited > 0 and budget.removed_through_boundaries != 0 and budget.removed_by_perfusion != 0
    # vascular shutdown really happened somewhere (its perfusion term is in the balance)
    assert np.any(result.fields["perfusion_per_s"] < sim.model.properties.perfusion)
    # ~1e2 steps x 1e3 voxels, each sum exact to a few ulps: 1e-12 leaves a wide margin
    assert budget.relative_residual < 1e-12, budget.describe()
    # an independent accounting of the stored heat from the start and end fields
    rho_c = sim.model.properties.volumetric_heat_capacity
    stored = np.sum(rho_c * (result.temperature - sim.model.initial_temperature())) * sim.model.grid.cell_volume
    assert stored == pytest.approx(budget.stored, rel=1e-12)


def test_periodic_axes_conserve_energy():
    sim, _ = run("explicit", None, periodic_axes=("y",))
    assert sim.energy.relative_residual < 1e-12, sim.energy.describe()


@pytest.mark.parametrize("stepper", ["backward-euler", "crank-nicolson"])
def test_implicit_steps_conserve_energy_to_solver_tolerance(stepper):
    rtol = 1e-12
    sim, _ = run(stepper, 0.5, rtol=rtol)
    assert sim.energy.relative_residual < 100 * rtol, sim.energy.describe()
