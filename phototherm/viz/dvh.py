"""Cumulative dose-volume histograms rendered to PNG.

Matplotlib is imported inside :func:`plot_dvh` and driven through its
object-oriented API on an Agg canvas (no pyplot, no global state), and the
file is written atomically, as in :mod:`phototherm.viz.slices`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import Problems
from ..io.atomic import atomic_write_bytes
from ..planning.metrics import DIRECTIONS, DVHCurve

__all__ = ["plot_dvh", "draw_dvh"]

_DPI = 150
_FIGURE_SIZE_IN = (7.5, 5.0)


def plot_dvh(
    curves: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    label: str | None = None,
    unit: str | None = None,
    title: str | None = None,
    direction: str | None = None,
    log_scale: bool = False,
) -> Path:
    """Plot one cumulative dose-volume histogram per structure, as a PNG.

    Parameters
    ----------
    curves : mapping of str to DVHCurve or (levels, fractions)
        By structure name (the legend entry): a
        :class:`~phototherm.planning.DVHCurve` (e.g. from
        :func:`phototherm.planning.dvh_curves`) or a pair of equally long 1-D
        arrays, levels in increasing order and fractions in [0, 1]. All
        curves must be of one quantity.
    path : str or os.PathLike
        Output PNG file, written atomically.
    label : str, optional
        What the levels are (x axis), e.g. ``"peak temperature"``. Default:
        the curves' own label.
    unit : str, optional
        Unit of the levels, shown in brackets on the x axis. Default: the
        curves' own unit.
    title : str, optional
        Figure title.
    direction : {"higher", "lower"}, optional
        For (levels, fractions) pairs: whether the fractions count values
        >= level (``"higher"``, default) or <= level (``"lower"``, surviving
        fractions). DVHCurves carry their own; all curves must agree.
    log_scale : bool
        Logarithmic level axis (fluence, CEM43 or surviving fractions that
        span decades); non-positive levels are then not drawn.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        No curve; a curve that is neither a DVHCurve nor a pair of equally
        long 1-D arrays, has NaN or decreasing levels or fractions outside
        [0, 1]; curves of different directions. Every problem is reported
        with its key path (``curves['tumour'].levels``, ...).

    Notes
    -----
    Curves are drawn as the step functions they are: a fraction at a level
    holds on (previous level, level] for ``"higher"`` and on [level, next
    level) for ``"lower"`` (see :class:`~phototherm.planning.DVHCurve`).
    """
    fig = _figure(_FIGURE_SIZE_IN)
    ax = fig.subplots()
    draw_dvh(ax, curves, label=label, unit=unit, title=title, direction=direction, log_scale=log_scale)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return atomic_write_bytes(path, buffer.getvalue())


def draw_dvh(
    ax,
    curves: Mapping[str, Any],
    *,
    label: str | None = None,
    unit: str | None = None,
    title: str | None = None,
    direction: str | None = None,
    log_scale: bool = False,
    colors: Mapping[str, Any] | None = None,
    legend: bool = True,
) -> None:
    """Draw cumulative dose-volume histograms on an existing matplotlib Axes.

    The building block of :func:`plot_dvh`, for figures with several panels
    (one quantity each).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    curves, label, unit, title, direction, log_scale
        As for :func:`plot_dvh`.
    colors : mapping of str to colour, optional
        Line colour of some or all structures, by name (default: the Axes'
        colour cycle).
    legend : bool
        Draw a legend on the Axes.

    Raises
    ------
    InputError
        As for :func:`plot_dvh`; nothing is drawn then.
    """
    problems = Problems()
    parsed: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    if problems.check(isinstance(curves, Mapping) and len(curves) > 0, "curves", curves,
                      "a non-empty mapping {structure name: DVHCurve or (levels, fractions)}"):
        for name, curve in curves.items():
            item = _parse_curve(name, curve, direction, problems)
            if item is not None:
                parsed.append(item)
    if direction is not None:
        problems.check(direction in DIRECTIONS, "direction", direction, f"one of {', '.join(DIRECTIONS)}")
    directions = {d for *_, d in parsed}
    problems.check(len(directions) <= 1, "curves", sorted(directions),
                   "curves of one direction (one quantity per plot)")
    problems.raise_if_any("cannot plot dose-volume histograms")

    if label is None:
        label = next((c.label for c in curves.values() if isinstance(c, DVHCurve) and c.label), "level")
    if unit is None:
        unit = next((c.unit for c in curves.values() if isinstance(c, DVHCurve) and c.unit), "")
    way = directions.pop() if directions else "higher"

    for name, levels, fractions, _ in parsed:
        if log_scale:
            keep = levels > 0
            levels, fractions = levels[keep], fractions[keep]
        style = {"color": colors[name]} if colors and name in colors else {}
        ax.step(levels, 100.0 * fractions, where="pre" if way == "higher" else "post", label=str(name), **style)
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel(f"{label} [{unit}]" if unit else label)
    ax.set_ylabel("volume at or " + ("above" if way == "higher" else "below") + " the level [%]")
    ax.set_ylim(-2.0, 102.0)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(loc="best")
    if title:
        ax.set_title(title)


def _figure(size):
    """A matplotlib Figure on its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _parse_curve(name, curve, direction, problems: Problems):
    """(name, levels, fractions, direction) of one curve, or None after recording problems."""
    path = f"curves[{name!r}]"
    if isinstance(curve, DVHCurve):
        levels, fractions, way = curve.levels, curve.fractions, curve.direction
    elif isinstance(curve, (tuple, list)) and len(curve) == 2:
        (levels, fractions), way = curve, direction or "higher"
    else:
        problems.add(path, curve, "a DVHCurve or a pair (levels, fractions)")
        return None
    try:
        levels = np.asarray(levels, dtype=float)
        fractions = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError):
        problems.add(path, curve, "levels and fractions that are arrays of numbers")
        return None
    ok = problems.check(levels.ndim == 1 and levels.size > 0, f"{path}.levels", levels.shape,
                        "a non-empty 1-D array")
    ok &= problems.check(fractions.shape == levels.shape, f"{path}.fractions", fractions.shape,
                         f"the shape of the levels {levels.shape}")
    if not ok:
        return None
    ok &= problems.check(not np.isnan(levels).any() and bool(np.all(np.diff(levels) >= 0)),
                         f"{path}.levels", levels, "levels in increasing order, none NaN")
    ok &= problems.check(bool(np.all((fractions >= 0) & (fractions <= 1))), f"{path}.fractions", fractions,
                         "fractions in [0, 1]")
    return (name, levels, fractions, way) if ok else None
