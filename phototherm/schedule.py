"""Power schedules: the time profile p(t) that multiplies a heat source.

A :class:`PowerSchedule` is a sum of linear segments, each non-zero only on
its own interval ``[start, stop)``. Continuous irradiation, on/off pulse
trains, ramps and any piecewise-linear profile are built from these, and
schedules add (``a + b``). p(t) is dimensionless: a heat source's map gives the
power density at p = 1.

The time stepper uses :meth:`PowerSchedule.mean` over each step, so the
energy deposited is exact whatever the alignment of steps and pulse edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from .errors import Problems

__all__ = ["Segment", "PowerSchedule"]


@dataclass(frozen=True)
class Segment:
    """p(t) rising linearly from ``level_start`` to ``level_stop`` on ``[start, stop)``.

    Times in seconds; ``stop`` may be ``math.inf`` for a constant segment.
    """

    start: float
    stop: float
    level_start: float
    level_stop: float

    def value(self, t: float) -> float:
        """p(t) of this segment; zero outside ``[start, stop)``."""
        return self._linear(t) if self.start <= t < self.stop else 0.0

    def integral(self, t0: float, t1: float) -> float:
        """Integral of the segment's p(t) over ``[t0, t1]`` [s] (trapezoid: exact for a line)."""
        a, b = max(t0, self.start), min(t1, self.stop)
        if b <= a:
            return 0.0
        return 0.5 * (self._linear(a) + self._linear(b)) * (b - a)

    def _linear(self, t: float) -> float:
        if math.isinf(self.stop) or self.level_start == self.level_stop:
            return self.level_start
        return self.level_start + (self.level_stop - self.level_start) * (t - self.start) / (self.stop - self.start)


class PowerSchedule:
    """Dimensionless multiplier p(t) >= 0 of a heat source.

    Parameters
    ----------
    segments : iterable of Segment
        The pieces; where they overlap their values add.

    Raises
    ------
    InputError
        Negative or non-finite levels, ``stop <= start`` or non-finite start.

    Examples
    --------
    Four minutes on, then off:

    >>> s = PowerSchedule.constant(stop=240.0)
    >>> s(10.0), s(300.0), s.integral(0.0, 600.0)
    (1.0, 0.0, 240.0)

    Ten 5-s pulses at half power, one every 20 s:

    >>> p = PowerSchedule.pulses(on=5.0, off=15.0, count=10, level=0.5)
    >>> p.mean(0.0, 20.0)
    0.125
    """

    def __init__(self, segments: Iterable[Segment] = ()):
        self.segments = tuple(segments)
        problems = Problems()
        for i, s in enumerate(self.segments):
            problems.finite(s.start, f"schedule.segments[{i}].start", "[s]")
            problems.check(s.stop > s.start, f"schedule.segments[{i}].stop", s.stop, f"a time after start={s.start} s")
            problems.non_negative(s.level_start, f"schedule.segments[{i}].level_start", "(dimensionless)")
            problems.non_negative(s.level_stop, f"schedule.segments[{i}].level_stop", "(dimensionless)")
        problems.raise_if_any("invalid power schedule")

    # -- constructors --------------------------------------------------------
    @classmethod
    def constant(cls, level: float = 1.0, *, start: float = 0.0, stop: float = math.inf) -> "PowerSchedule":
        """``level`` from ``start`` to ``stop`` [s] (default: always on)."""
        return cls([Segment(start, stop, level, level)])

    @classmethod
    def off(cls) -> "PowerSchedule":
        """Never on."""
        return cls([])

    @classmethod
    def ramp(cls, start: float, stop: float, level_start: float, level_stop: float) -> "PowerSchedule":
        """Linear change from ``level_start`` at ``start`` to ``level_stop`` at ``stop`` [s]."""
        return cls([Segment(start, stop, level_start, level_stop)])

    @classmethod
    def pulses(
        cls, on: float, off: float, count: int, *, level: float = 1.0, start: float = 0.0
    ) -> "PowerSchedule":
        """``count`` rectangular pulses of length ``on`` separated by ``off`` [s]."""
        period = on + off
        return cls([Segment(start + i * period, start + i * period + on, level, level) for i in range(int(count))])

    @classmethod
    def piecewise_linear(cls, times: Sequence[float], levels: Sequence[float]) -> "PowerSchedule":
        """Linear interpolation through ``(times[i], levels[i])``; zero outside ``[times[0], times[-1])``.

        Repeat a time to make a jump, e.g. ``times=[0, 60, 60, 120]``,
        ``levels=[1, 1, 0.5, 0.5]``.
        """
        problems = Problems()
        problems.check(len(times) == len(levels) and len(times) >= 2, "schedule.times", list(times),
                       "at least two times, as many as levels")
        problems.check(all(b >= a for a, b in zip(times, times[1:])), "schedule.times", list(times),
                       "non-decreasing times [s]")
        problems.raise_if_any("invalid piecewise-linear schedule")
        return cls(
            Segment(t0, t1, p0, p1)
            for t0, t1, p0, p1 in zip(times, times[1:], levels, levels[1:])
            if t1 > t0
        )

    # -- evaluation ------------------------------------------------------------
    def __call__(self, t: float) -> float:
        """p(t) (right-continuous at jumps)."""
        return sum(s.value(t) for s in self.segments)

    def integral(self, t0: float, t1: float) -> float:
        """Exact integral of p over ``[t0, t1]`` [s]."""
        return sum(s.integral(t0, t1) for s in self.segments)

    def mean(self, t0: float, t1: float) -> float:
        """Exact mean of p over ``[t0, t1]``; p(t0) when the interval is empty."""
        return self.integral(t0, t1) / (t1 - t0) if t1 > t0 else self(t0)

    @property
    def end(self) -> float:
        """Time after which p is zero for good [s] (``inf`` if never)."""
        return max((s.stop for s in self.segments), default=0.0)

    def __add__(self, other: "PowerSchedule") -> "PowerSchedule":
        return PowerSchedule(self.segments + other.segments)

    def __repr__(self) -> str:
        return f"PowerSchedule({len(self.segments)} segments, on until {self.end:g} s)"

    def describe(self) -> list[dict]:
        return [
            {"start_s": s.start, "stop_s": s.stop, "level_start": s.level_start, "level_stop": s.level_stop}
            for s in self.segments
        ]
