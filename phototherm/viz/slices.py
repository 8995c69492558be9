"""Orthogonal slice views of a voxel field, rendered to PNG.

Matplotlib is imported inside the plotting function and driven through its
object-oriented API on an Agg canvas, so importing this module is cheap and
plotting changes no global state (no pyplot, no backend switch).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import Problems
from ..grid import AXES, Grid
from ..io.atomic import atomic_write_bytes

__all__ = ["plot_orthogonal_slices"]

#: (horizontal axis, vertical axis) of the three panels; the third axis is fixed.
_PANELS = ((0, 1), (0, 2), (1, 2))

_AXIS_LABELS = ("x [mm]", "y [mm]", "z, depth [mm]")

_DPI = 150
_FIGURE_WIDTH_IN = 12.0


def plot_orthogonal_slices(
    path: str | os.PathLike,
    grid: Grid,
    field: np.ndarray,
    *,
    title: str,
    unit: str,
    point: Sequence[float] | None = None,
    labels: np.ndarray | None = None,
    cmap="inferno",
    vmin: float | None = None,
    vmax: float | None = None,
    log_scale: bool = False,
    outlines: Mapping[str, np.ndarray] | None = None,
    outline_colors: Mapping[str, object] | None = None,
) -> Path:
    """Plot the x-y, x-z and y-z slices of a field through one point, as a PNG.

    Parameters
    ----------
    path : str or os.PathLike
        Output PNG file, written atomically.
    grid : Grid
        The voxel grid (lengths in metres; axes are drawn in millimetres).
    field : numpy.ndarray
        Values of shape ``grid.shape``, in ``unit``.
    title : str
        Figure title.
    unit : str
        Unit of ``field``; labels the colour bar.
    point : sequence of 3 float, optional
        Point ``(x, y, z)`` [m] inside the grid that the slices pass through
        (the slices are those of the voxel containing it). Default: the voxel
        holding the field's largest finite value.
    labels : numpy.ndarray, optional
        Integer (or bool) tissue label map of shape ``grid.shape``. Boundaries
        between different labels are outlined along voxel faces.
    cmap : str or matplotlib.colors.Colormap, optional
        Colour map.
    vmin, vmax : float, optional
        Colour-scale limits, shared by the three panels. Default: the range of
        the finite values shown.
    log_scale : bool, optional
        Logarithmic colour scale (for fields spanning decades, such as a
        fluence rate); the lower limit defaults to ``vmax / 1e4``.
    outlines : mapping of str to numpy.ndarray, optional
        Named boolean masks of shape ``grid.shape`` (structures such as a
        tumour, skin or a margin). Each is outlined along voxel faces in its
        own colour and named in a legend below the panels.
    outline_colors : mapping of str to colour, optional
        Matplotlib colour of some or all outlines, by name; the others take
        colours of the ``tab10`` cycle in order.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        ``field``, ``labels`` or an outline mask of the wrong shape or type,
        ``vmin > vmax``, ``point`` outside the grid, or no finite value to
        locate the maximum.

    Notes
    -----
    Each panel is drawn with equal physical scale on both axes. The x-z and
    y-z panels show depth ``z`` increasing downwards. Dotted lines mark where
    the other two slices cut the panel.
    """
    values = np.asarray(field)
    problems = Problems()
    problems.check(
        values.shape == grid.shape, "field.shape", values.shape, f"the grid shape {grid.shape}"
    )
    numeric = problems.check(
        values.dtype.kind in "biuf", "field.dtype", str(values.dtype), "a real numeric dtype"
    )
    if labels is not None:
        labels = np.asarray(labels)
        problems.check(
            labels.shape == grid.shape, "labels.shape", labels.shape, f"the grid shape {grid.shape}"
        )
        problems.check(
            labels.dtype.kind in "biu", "labels.dtype", str(labels.dtype), "an integer or bool dtype"
        )
    masks = {}
    for name, mask in (outlines or {}).items():
        mask = np.asarray(mask)
        ok = problems.check(mask.shape == grid.shape, f"outlines[{name!r}].shape", mask.shape,
                            f"the grid shape {grid.shape}")
        ok &= problems.check(mask.dtype.kind == "b", f"outlines[{name!r}].dtype", str(mask.dtype), "a bool dtype")
        if ok:
            masks[str(name)] = mask
    if vmin is not None and vmax is not None:
        problems.check(vmin <= vmax, "vmin", vmin, f"a value <= vmax = {vmax}")
    if point is None and numeric:
        problems.check(
            bool(np.isfinite(values).any()),
            "field",
            values,
            "at least one finite value (to locate the maximum)",
        )
    problems.raise_if_any("cannot plot orthogonal slices")

    values = values.astype(float)
    if point is None:
        peak = np.argmax(np.where(np.isfinite(values), values, -np.inf))
        index = tuple(int(n) for n in np.unravel_index(peak, grid.shape))
    else:
        index = grid.index_of(point)
    fixed_axes = [3 - h - v for h, v in _PANELS]
    slices = [np.take(values, index[a], axis=a) for a in fixed_axes]
    shown = np.concatenate([s[np.isfinite(s)] for s in slices])
    if shown.size:  # unset limits follow the data but never cross a given one
        if vmin is None:
            vmin = shown.min() if vmax is None else min(shown.min(), vmax)
        if vmax is None:
            vmax = max(shown.max(), vmin)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure

    fig = Figure(figsize=_figure_size(grid), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3, width_ratios=[grid.lengths[h] for h, _ in _PANELS])
    if log_scale and vmax is not None and vmax > 0:
        norm = LogNorm(vmin=vmin if vmin is not None and vmin > 0 else vmax * 1e-4, vmax=vmax)
    else:
        norm = Normalize(vmin=vmin, vmax=vmax)
    colours = _outline_colours(list(masks), outline_colors or {})
    bounds_mm = 1e3 * np.array(grid.bounds)
    centre_mm = [1e3 * c for c in grid.centre_of(index)]
    for ax, (h, v), fixed, image in zip(axes, _PANELS, fixed_axes, slices):
        mappable = ax.imshow(
            image.T,
            origin="lower",
            extent=(*bounds_mm[h], *bounds_mm[v]),
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
        )
        if labels is not None:
            edges = [np.linspace(*bounds_mm[d], grid.shape[d] + 1) for d in (h, v)]
            _outline_labels(ax, np.take(labels, index[fixed], axis=fixed), *edges)
        if masks:
            edges = [np.linspace(*bounds_mm[d], grid.shape[d] + 1) for d in (h, v)]
            for name, mask in masks.items():
                _outline_labels(ax, np.take(mask, index[fixed], axis=fixed), *edges, color=colours[name],
                                linewidth=1.0, alpha=1.0)
        ax.axvline(centre_mm[h], color="white", linestyle=":", linewidth=0.6, alpha=0.7)
        ax.axhline(centre_mm[v], color="white", linestyle=":", linewidth=0.6, alpha=0.7)
        if v == 2:
            ax.invert_yaxis()
        ax.set_xlabel(_AXIS_LABELS[h])
        ax.set_ylabel(_AXIS_LABELS[v])
        ax.set_title(f"{AXES[h]}-{AXES[v]} at {AXES[fixed]} = {centre_mm[fixed]:.4g} mm")
    fig.colorbar(mappable, ax=axes, label=unit, shrink=0.9)
    if masks:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colours[name], linewidth=1.5, label=name) for name in masks]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    fig.suptitle(title)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return atomic_write_bytes(path, buffer.getvalue())


def _figure_size(grid: Grid) -> tuple[float, float]:
    """Figure size [in] giving the panels a common scale across a fixed width."""
    lx, ly, lz = grid.lengths
    scale = 0.8 * _FIGURE_WIDTH_IN / (2 * lx + ly)  # inches per metre of panel width
    height = scale * max(ly, lz) + 1.5  # room for titles and tick labels
    return _FIGURE_WIDTH_IN, float(np.clip(height, 3.0, 12.0))


def _outline_colours(names: list[str], given: Mapping[str, object]) -> dict[str, object]:
    """Colour of each outline: the given one, else the next of the ``tab10`` cycle."""
    from matplotlib import colormaps

    cycle = colormaps["tab10"].colors
    return {name: given[name] if name in given else cycle[i % len(cycle)] for i, name in enumerate(names)}


def _outline_labels(ax, labels: np.ndarray, h_edges: np.ndarray, v_edges: np.ndarray, *,
                    color="cyan", linewidth: float = 0.5, alpha: float = 0.8) -> None:
    """Draw the faces between voxels of different label on a 2-D slice.

    ``labels`` is indexed ``[horizontal, vertical]``; ``h_edges`` and
    ``v_edges`` are the voxel-face coordinates [mm] along the two axes.
    """
    from matplotlib.collections import LineCollection

    a, b = np.nonzero(labels[1:, :] != labels[:-1, :])  # faces normal to the horizontal axis
    h = h_edges[a + 1]
    vertical = np.stack([np.column_stack([h, v_edges[b]]), np.column_stack([h, v_edges[b + 1]])], axis=1)
    a, b = np.nonzero(labels[:, 1:] != labels[:, :-1])  # faces normal to the vertical axis
    v = v_edges[b + 1]
    horizontal = np.stack([np.column_stack([h_edges[a], v]), np.column_stack([h_edges[a + 1], v])], axis=1)
    segments = np.concatenate([vertical, horizontal])
    ax.add_collection(LineCollection(segments, colors=[color], linewidths=linewidth, alpha=alpha))
