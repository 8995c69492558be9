"""Conduction stencil, slab decomposition of the CPU path, and the steady solver."""

import numpy as np
import pytest

import phototherm as pt
from phototherm.bioheat import STATE_FIELDS, DeviceModel, ExplicitStepper, ThermalState, steady_state_temperature
from phototherm.bioheat.explicit import slab_bounds
from phototherm.bioheat.stencil import conduction, conduction_diagonal, face_conductances
from tests.helpers import homogeneous_model, random_heterogeneous_model


@pytest.mark.parametrize("periodic", [(False, False, False), (True, False, True), (True, True, True)])
def test_conduction_conserves_heat_and_is_symmetric(periodic):
    rng = np.random.default_rng(0)
    shape = (7, 5, 6)
    k = 0.2 + rng.random(shape)
    faces = face_conductances(k, (1e-3, 0.7e-3, 1.3e-3), periodic)
    u, v = rng.standard_normal(shape), rng.standard_normal(shape)
    # heat only moves: the gains sum to zero
    assert abs(conduction(u, faces).sum()) < 1e-9 * np.abs(conduction(u, faces)).sum()
    # symmetric (what conjugate gradients needs): <u, C v> = <C u, v>
    assert np.vdot(u, conduction(v, faces)) == pytest.approx(np.vdot(conduction(u, faces), v), rel=1e-12)
    # the diagonal is minus the gain of a unit impulse at that voxel
    e = np.zeros(shape)
    e[3, 2, 0] = 1.0
    assert -conduction(e, faces)[3, 2, 0] == pytest.approx(conduction_diagonal(faces, shape)[3, 2, 0], rel=1e-14)


def test_harmonic_mean_face_between_two_materials():
    k = np.ones((2, 1, 1))
    k[1] = 4.0
    faces = face_conductances(k, (1e-3, 1e-3, 1e-3), (False, False, False))
    assert faces.interior[0][0, 0, 0] == pytest.approx(2 * 1.0 * 4.0 / 5.0 / 1e-6)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_slabs_partition_the_grid(threads):
    for shape in [(1, 4, 4), (7, 3, 2), (64, 64, 64), (300, 1, 1)]:
        slabs = slab_bounds(shape, threads)
        assert slabs[0][0] == 0 and slabs[-1][1] == shape[0]
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(slabs, slabs[1:]))


@pytest.mark.parametrize("periodic_axes", [(), ("x",), ("x", "y", "z")])
def test_slab_decomposition_gives_bitwise_the_same_step(periodic_axes):
    """The CPU path's slabs and threads change nothing: same bits as one whole-grid call."""
    model = random_heterogeneous_model((13, 6, 5), (0.5e-3, 0.5e-3, 0.5e-3), seed=9, periodic_axes=periodic_axes,
                                       shutdown=pt.VascularShutdown("cem43", 1e-3, 0.5))
    backend = pt.resolve_backend("cpu")
    states = []
    for threads, voxels in ((1, 10**9), (3, 30)):
        state = ThermalState.initial(model, backend)
        stepper = ExplicitStepper(DeviceModel(model, backend), state, time_above_threshold=43.0, num_threads=threads)
        stepper._slabs = slab_bounds(model.grid.shape, threads, voxels)
        dt = 0.9 * model.critical_dt()
        for n in range(20):
            stepper.step(n * dt, (n + 1) * dt)
        states.append(state)
    assert len(slab_bounds(model.grid.shape, 3, 30)) > 3
    for name in STATE_FIELDS:
        np.testing.assert_array_equal(getattr(states[0], name), getattr(states[1], name), err_msg=name)


def test_steady_state_needs_an_anchor():
    model = homogeneous_model((4, 4, 4), 1e-3)  # insulated, unperfused
    with pytest.raises(pt.InputError, match="no unique steady state"):
        steady_state_temperature(model)


def test_steady_state_of_a_perfused_block_is_arterial():
    model = homogeneous_model((5, 4, 3), 1e-3, perfusion=1e-3, arterial_temperature=36.5,
                              initial_temperature=30.0)
    np.testing.assert_allclose(steady_state_temperature(model), 36.5, rtol=1e-12)


def test_vascular_shutdown_switches_perfusion_off_where_the_dose_is_reached():
    grid = pt.Grid((6, 6, 6), 1e-3)
    tissue = pt.ThermalTissue("hot tumour", 1000.0, 4000.0, 0.5, perfusion=5e-3)
    heat = np.zeros(grid.shape)
    heat[2:4, 2:4, 2:4] = 1e7  # peaks near 54 C: the centre passes 10 CEM43, the edges do not
    model = pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, tissue), heat_sources=[pt.HeatSource(heat)],
                           vascular_shutdown=pt.VascularShutdown("cem43", 10.0, 0.25))
    result = pt.Simulation(model, stop_time=120.0, device="cpu", progress=False).run()
    shut = result.cem43 >= 10.0
    assert shut.any() and not shut.all()
    np.testing.assert_allclose(result.fields["perfusion_per_s"][shut], 0.25 * 5e-3)
    np.testing.assert_allclose(result.fields["perfusion_per_s"][~shut], 5e-3)
    # without shutdown the same heating ends cooler (blood keeps removing heat)
    cooled = pt.PennesModel(grid, model.properties, heat_sources=model.heat_sources)
    assert pt.Simulation(cooled, stop_time=120.0, device="cpu", progress=False).run().temperature.max() < \
        result.temperature.max()


# -- conjugate gradients: the tolerance holds for the true residual ------------------------------
def _laplacian_system(n, dtype):
    rng = np.random.default_rng(4)
    diagonal = (2.0 + 1e-3 + rng.random(n)).astype(dtype)

    def apply(v):
        out = diagonal * v
        out[1:] -= v[:-1]
        out[:-1] -= v[1:]
        return out

    return apply, rng.standard_normal(n).astype(dtype), (1.0 / diagonal).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_conjugate_gradient_meets_the_tolerance_on_the_true_residual(dtype, rtol):
    from phototherm.bioheat.implicit import conjugate_gradient

    apply, b, inv_diagonal = _laplacian_system(20000, dtype)
    x, iterations = conjugate_gradient(apply, b, inv_diagonal, np.zeros_like(b), rtol=rtol, max_iterations=50000)
    true = np.linalg.norm((b - apply(x)).astype(np.float64)) / np.linalg.norm(b.astype(np.float64))
    assert x.dtype == dtype and iterations > 0
    assert true <= rtol


def test_conjugate_gradient_refuses_a_tolerance_float32_cannot_reach():
    from phototherm.bioheat.implicit import conjugate_gradient
    from phototherm.errors import SolverDidNotConverge

    apply, b, inv_diagonal = _laplacian_system(20000, np.float32)
    with pytest.raises(SolverDidNotConverge, match="float64"):
        conjugate_gradient(apply, b, inv_diagonal, np.zeros_like(b), rtol=1e-10, max_iterations=50000)
