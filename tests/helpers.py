"""Builders for the small reference problems used across the test suite."""

from __future__ import annotations

import numpy as np

import phototherm as pt


def homogeneous_model(
    shape,
    spacing,
    *,
    conductivity=0.5,
    density=1000.0,
    specific_heat=4000.0,
    perfusion=0.0,
    boundaries=None,
    initial_temperature=None,
    arterial_temperature=37.0,
    heat_sources=(),
    metabolic_heat=0.0,
    origin=(0.0, 0.0, 0.0),
):
    """A uniform medium (SI units; perfusion in 1/s, blood rho c from IT'IS)."""
    grid = pt.Grid(shape, spacing, origin)
    tissue = pt.ThermalTissue("medium", density, specific_heat, conductivity, perfusion, metabolic_heat)
    return pt.PennesModel(
        grid,
        pt.ThermalProperties.uniform(grid, tissue),
        boundaries=boundaries,
        heat_sources=heat_sources,
        arterial_temperature=arterial_temperature,
        initial_temperature=initial_temperature,
    )


def periodic():
    return pt.BoundaryConditions(default=pt.Periodic())


def random_heterogeneous_model(shape, spacing, *, seed=0, shutdown=None, sources=2, periodic_axes=()):
    """Random tissues, overrides, all boundary types and several scheduled sources."""
    rng = np.random.default_rng(seed)
    grid = pt.Grid(shape, spacing)
    labels = rng.integers(0, 3, size=grid.shape)
    tissues = {
        0: pt.tissues.thermal_tissue("skin"),
        1: pt.tissues.thermal_tissue("fat"),
        2: pt.tissues.thermal_tissue("liver"),
    }
    overrides = {
        "conductivity": 0.2 + 0.5 * rng.random(grid.shape),
        "perfusion": 1e-3 * rng.random(grid.shape),
        "metabolic_heat": 2e3 * rng.random(grid.shape),
    }
    props = pt.ThermalProperties(grid, labels, tissues, overrides)
    faces = {
        "x_min": pt.Convective(12.0, 22.0),
        "x_max": pt.FixedTemperature(37.0),
        "y_min": pt.Insulated(),
        "y_max": pt.Convective(5.0, 30.0),
        "z_min": pt.FixedTemperature(35.0),
        "z_max": pt.Insulated(),
    }
    for axis in periodic_axes:
        faces[f"{axis}_min"] = faces[f"{axis}_max"] = pt.Periodic()
    schedules = [
        pt.PowerSchedule.pulses(on=3.0, off=2.0, count=4),
        pt.PowerSchedule.ramp(0.0, 20.0, 0.2, 1.0),
        pt.PowerSchedule.constant(0.5, start=1.0),
    ]
    heat = [
        pt.HeatSource(5e6 * rng.random(grid.shape) ** 4, schedules[i % 3], f"source {i}") for i in range(sources)
    ]
    return pt.PennesModel(
        grid,
        props,
        boundaries=pt.BoundaryConditions(**faces),
        heat_sources=heat,
        initial_temperature=36.0 + 10.0 * rng.random(grid.shape),
        vascular_shutdown=shutdown,
    )


#: Inputs on which the CUDA kernel is compared with its NumPy twin (host build and GPU).
KERNEL_CASES = {
    "heterogeneous": dict(),
    "periodic x and z": dict(periodic_axes=("x", "z")),
    # thresholds near the median dose reached in 40 steps: some voxels shut down mid-run
    "cem43 shutdown": dict(shutdown=pt.VascularShutdown("cem43", 3e-3, 0.3)),
    "arrhenius shutdown, one source": dict(shutdown=pt.VascularShutdown("arrhenius", 1e-3, 0.0), sources=1),
}


def step_model(model, steps, *, device="cpu", dtype=None, stepper="explicit", dt_factor=None):
    """Advance a fresh state of ``model`` by ``steps`` stepper calls; return the state.

    Calls the stepper directly (no Simulation), so ``dt_factor`` times the
    explicit limit may exceed it on purpose. Defaults: 0.9 of the limit for the
    explicit stepper, 5 times it for backward Euler.
    """
    from phototherm.bioheat import DeviceModel, ExplicitStepper, ThermalState, ThetaStepper

    backend = pt.resolve_backend(device, dtype)
    state = ThermalState.initial(model, backend)
    dev = DeviceModel(model, backend)
    if stepper == "explicit":
        runner = ExplicitStepper(dev, state, time_above_threshold=43.0)
        dt = (0.9 if dt_factor is None else dt_factor) * model.critical_dt()
    else:
        runner = ThetaStepper(dev, state, theta=1.0, time_above_threshold=43.0,
                              rtol=1e-12 if backend.dtype == np.float64 else 1e-6)
        dt = (5.0 if dt_factor is None else dt_factor) * model.critical_dt()
    for n in range(steps):
        runner.step(n * dt, (n + 1) * dt)
    backend.synchronize()
    return state
