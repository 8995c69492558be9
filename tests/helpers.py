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
