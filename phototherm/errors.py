"""Exceptions raised by phototherm.

Every exception derives from :class:`PhotothermError`, so a planning script (or
the CLI) can catch one type. Bad input is collected and reported *all at once*:
an :class:`InputError` carries a list of :class:`Problem` records, each naming
the parameter (its key path), the value given and what was expected.

Examples
--------
>>> from phototherm.errors import Problems
>>> problems = Problems()
>>> problems.check(-1.0 > 0, "grid.spacing[0]", -1.0, "a positive length in metres")
>>> problems.raise_if_any("invalid grid")
Traceback (most recent call last):
...
phototherm.errors.InputError: invalid grid:
  grid.spacing[0] = -1.0: expected a positive length in metres
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

__all__ = [
    "PhotothermError",
    "InputError",
    "StabilityError",
    "DeviceUnavailableError",
    "KernelCompileError",
    "SimulationDiverged",
    "SolverDidNotConverge",
    "Problem",
    "Problems",
]


class PhotothermError(Exception):
    """Base class of every error phototherm raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    Parameters
    ----------
    path : str
        Key path of the offending parameter, e.g. ``"tissues[3].conductivity"``.
    value : object
        The value that was given (summarised for arrays).
    expected : str
        What would have been accepted, in words, with units.
    """

    path: str
    value: Any
    expected: str

    def __str__(self) -> str:
        return f"{self.path} = {_summarise(self.value)}: expected {self.expected}"


class InputError(PhotothermError, ValueError):
    """The input describes a problem phototherm cannot or will not solve.

    Causes include: non-positive spacing or material properties; NaN or
    infinite values; a label in the label map with no tissue properties; an
    unknown boundary-condition type; arrays of the wrong shape.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, not only the first.
    """

    def __init__(self, context: str, problems: Iterable[Problem]):
        self.context = context
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{context}:\n{lines}" if lines else context)


class StabilityError(InputError):
    """A requested explicit time step exceeds the stability (positivity) limit.

    Causes: ``dt`` larger than :meth:`phototherm.PennesModel.critical_dt`.
    Use a smaller step or an implicit stepper (``"backward-euler"`` or
    ``"crank-nicolson"``).
    """


class DeviceUnavailableError(PhotothermError, RuntimeError):
    """The GPU was requested but cannot be used.

    Causes: CuPy is not installed; CuPy is installed but finds no CUDA device;
    the NVIDIA driver is older than the CUDA runtime CuPy was built for. The
    message states which.
    """


class KernelCompileError(PhotothermError, RuntimeError):
    """A CUDA kernel from ``kernels/`` failed to compile or load on the device."""


class SimulationDiverged(PhotothermError, FloatingPointError):
    """The temperature field became NaN or infinite during a run.

    Causes: non-finite input that escaped validation, an explicit step forced
    above the stability limit, or a heat source so strong that temperatures
    overflow the floating-point type. The message gives the simulated time,
    iteration and the first bad voxel.
    """


class SolverDidNotConverge(PhotothermError, ArithmeticError):
    """The conjugate-gradient solve of an implicit step missed its tolerance.

    Causes: a tolerance below what the floating-point type can reach
    (float32 stalls near 1e-7 relative residual) or too few iterations for a
    very long step. Raise ``max_iterations`` or use float64.
    """


class Problems:
    """Collector of :class:`Problem` records, raised together as one error."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, value: Any, expected: str) -> None:
        """Record a problem unconditionally."""
        self.items.append(Problem(path, value, expected))

    def check(self, ok: bool, path: str, value: Any, expected: str) -> bool:
        """Record a problem unless ``ok``; return ``ok``."""
        if not ok:
            self.add(path, value, expected)
        return bool(ok)

    def positive(self, value: Any, path: str, unit: str) -> None:
        """Require a finite, strictly positive scalar or array (all elements)."""
        _require(self, value, path, f"finite values > 0 {unit}".rstrip(), lambda a: a > 0)

    def non_negative(self, value: Any, path: str, unit: str) -> None:
        """Require a finite, non-negative scalar or array (all elements)."""
        _require(self, value, path, f"finite values >= 0 {unit}".rstrip(), lambda a: a >= 0)

    def finite(self, value: Any, path: str, unit: str) -> None:
        """Require finite values (no NaN or infinity)."""
        _require(self, value, path, f"finite values {unit}".rstrip(), lambda a: np.ones_like(a, bool))

    def satisfies(self, value: Any, path: str, expected: str, predicate) -> None:
        """Require finite values (scalar or array) for which ``predicate`` holds.

        ``predicate`` maps an array to a boolean array of the same shape; for an
        array, the first failing element and the count of failures are reported.
        """
        _require(self, value, path, expected, predicate)

    def extend(self, other: "Problems") -> None:
        self.items.extend(other.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, context: str, error: type[InputError] = InputError) -> None:
        """Raise ``error`` listing every recorded problem, if there are any."""
        if self.items:
            raise error(context, self.items)


def reject_unknown_keys(changes, known, path: str, context: str) -> None:
    """Raise :class:`InputError` naming every key of ``changes`` that is not in ``known``.

    Parameters
    ----------
    changes : mapping
        Keyword overrides given by the user.
    known : sequence of str
        The accepted names (listed in the message).
    path : str
        Key path of the object being changed; each problem is ``<path>.<key>``.
    context : str
        First line of the error message.
    """
    unknown = [key for key in changes if key not in known]
    if unknown:
        raise InputError(context, [Problem(f"{path}.{key}", changes[key], f"one of {', '.join(known)}")
                                   for key in unknown])


def _require(problems: Problems, value: Any, path: str, expected: str, predicate) -> None:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        problems.add(path, value, f"a number: {expected}")
        return
    bad = ~np.isfinite(arr) | ~predicate(np.where(np.isfinite(arr), arr, 0.0))
    if np.any(bad):
        if arr.ndim == 0:
            problems.add(path, value, expected)
        else:
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            problems.add(
                f"{path}{list(idx)}",
                arr[idx],
                f"{expected} ({int(bad.sum())} of {arr.size} elements fail)",
            )


def _summarise(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"<array shape={value.shape} dtype={value.dtype}>"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return repr(value)
