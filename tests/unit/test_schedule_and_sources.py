"""Power schedules and heat-source maps."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

import phototherm as pt


def test_schedule_integrals_are_exact_for_every_shape():
    schedule = (
        pt.PowerSchedule.pulses(on=2.0, off=3.0, count=4, level=0.8, start=1.0)
        + pt.PowerSchedule.ramp(5.0, 15.0, 0.2, 1.0)
        + pt.PowerSchedule.piecewise_linear([16.0, 20.0, 20.0, 25.0], [1.0, 0.5, 0.25, 0.0])
    )
    breaks = sorted({b for s in schedule.segments for b in (s.start, s.stop)})
    for t0, t1 in [(0.0, 30.0), (1.5, 7.2), (14.0, 21.0), (3.3, 3.4)]:
        reference = quad(schedule, t0, t1, points=[b for b in breaks if t0 < b < t1], limit=200, epsabs=1e-12)[0]
        assert schedule.integral(t0, t1) == pytest.approx(reference, abs=1e-9)
        assert schedule.mean(t0, t1) == pytest.approx(reference / (t1 - t0), abs=1e-9)


def test_schedule_values():
    pulses = pt.PowerSchedule.pulses(on=1.0, off=1.0, count=2)
    assert [pulses(t) for t in (0.0, 0.5, 1.0, 1.5, 2.0, 3.5)] == [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    assert pulses.end == 3.0
    forever = pt.PowerSchedule.constant(0.5)
    assert forever(1e9) == 0.5 and math.isinf(forever.end)
    assert forever.integral(0.0, 10.0) == 5.0
    assert pt.PowerSchedule.off().mean(0.0, 1.0) == 0.0
    ramp = pt.PowerSchedule.ramp(0.0, 10.0, 0.0, 2.0)
    assert ramp(5.0) == 1.0 and ramp.mean(0.0, 10.0) == 1.0
    assert pt.PowerSchedule.piecewise_linear([0, 1, 1, 2], [1, 1, 3, 3])(1.0) == 3.0  # jumps are right-continuous


def test_gaussian_source_deposits_the_requested_power_exactly():
    grid = pt.Grid((20, 18, 16), (0.5e-3, 0.6e-3, 0.4e-3))
    source = pt.gaussian_heat_source(grid, (5e-3, 5e-3, 3e-3), 1.5e-3, total_power=0.25)
    assert source.total_power(grid) == pytest.approx(0.25, rel=1e-12)
    peak = pt.gaussian_heat_source(grid, (5e-3, 5e-3, 3e-3), 1.5e-3, peak_power_density=1e6)
    X, Y, Z = grid.mesh()
    expected = 1e6 * np.exp(-((X - 5e-3) ** 2 + (Y - 5e-3) ** 2 + (Z - 3e-3) ** 2) / (2 * 1.5e-3**2))
    np.testing.assert_allclose(peak.power_density, expected, rtol=1e-14)


def test_several_sources_follow_their_own_schedules(tmp_path):
    """Superposition: two sources with different schedules equal the sum of separate runs."""
    grid = pt.Grid((10, 10, 10), 1e-3)
    tissue = pt.tissues.thermal_tissue("muscle").replace(metabolic_heat=0.0)  # only the sources heat
    a = pt.gaussian_heat_source(grid, (3e-3, 5e-3, 5e-3), 1e-3, total_power=0.05,
                                schedule=pt.PowerSchedule.pulses(on=2.0, off=1.0, count=3))
    b = pt.gaussian_heat_source(grid, (7e-3, 5e-3, 5e-3), 1e-3, total_power=0.08,
                                schedule=pt.PowerSchedule.ramp(1.0, 8.0, 0.0, 1.0))
    bc = pt.BoundaryConditions(default=pt.FixedTemperature(37.0))

    def rise(sources):
        model = pt.PennesModel(grid, pt.ThermalProperties.uniform(grid, tissue), boundaries=bc, heat_sources=sources)
        return pt.Simulation(model, stop_time=9.0, device="cpu", progress=False).run().temperature - 37.0

    np.testing.assert_allclose(rise([a, b]), rise([a]) + rise([b]), rtol=1e-10, atol=1e-12)
