"""A results folder's report: figures and one self-contained ``report.html``.

:func:`write_report` reads what a run wrote into its folder (``fields.npz``,
``summary.json``, ``structures.json``, ``probes.csv``, ``scenario.toml`` and,
when present, ``structures.npz`` and ``plan.json``) and adds:

=========================  ===========================================================
``slices_temperature.png``  peak temperature, orthogonal slices through the target
``slices_cem43.png``        thermal dose CEM43, logarithmic colour scale
``slices_fluence.png``      fluence delivered [J/m^2], logarithmic (laser runs)
``slices_singlet_oxygen.png``  reacted singlet oxygen [1O2]rx (photodynamic runs)
``dvh.png``                 cumulative dose-volume histograms, one panel per quantity
``probes.png``              probe temperatures against time (when probes were set)
``damage_3d.png``           3-D damage isosurface and target surface (PyVista, off-screen)
``report.html``             everything above in one file: tables with units, figures
                            embedded as base64 data URIs, inline CSS, no script, no
                            network access
=========================  ===========================================================

Structures (outlines, DVHs, the 3-D target) come from ``structures.npz`` (one
boolean mask per structure plus a JSON ``roles_json`` of name -> role); without
it, from the tissue ``labels`` field, named from ``summary.json``, with a
tissue called ``tumour`` (or ``tumor``, ``target``) taken as the target.

Matplotlib is driven through its object-oriented API on Agg canvases (no
pyplot state); PyVista renders in a child process (see
:func:`phototherm.viz.view.render_in_subprocess`) so a machine without OpenGL
loses the 3-D figure, with a warning, and never the run. Every file is written
atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .._version import __version__
from ..errors import InputError, Problems
from ..grid import Grid
from ..io.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["write_report", "read_structures", "read_label_names", "slice_index", "TARGET_TISSUE_NAMES"]

#: Tissue names taken as the target when structures fall back to tissue labels.
TARGET_TISSUE_NAMES = ("tumour", "tumor", "target")

_DPI = 150

#: Quantities of the DVH figure: (short name of planning.QUANTITIES, logarithmic level axis).
_DVH_QUANTITIES = (("T_max", False), ("CEM43", True), ("fluence", True), ("1O2rx", False))

#: Per-tissue summary columns: key -> (header, unit, factor applied to the value).
_TISSUE_COLUMNS = {
    "volume_mm3": ("volume", "mm^3", 1.0),
    "peak_temperature_C": ("peak T", "degC", 1.0),
    "final_mean_temperature_C": ("final mean T", "degC", 1.0),
    "max_cem43_min": ("max CEM43", "min", 1.0),
    "volume_cem43_ge_threshold_mm3": ("V(CEM43 >= {thr} min)", "mm^3", 1.0),
    "fraction_cem43_ge_threshold": ("V(CEM43 >= {thr} min)", "%", 100.0),
    "max_omega": ("max Omega", "1", 1.0),
    "volume_omega_ge_1_mm3": ("V(Omega >= 1)", "mm^3", 1.0),
    "max_singlet_oxygen_reacted_uM": ("max [1O2]rx", "uM", 1.0),
    "fraction_pdt_necrosis": ("PDT necrosis", "%", 100.0),
    "mean_pdt_fluence_J_per_cm2": ("mean PDT fluence", "J/cm^2", 1.0),
    "mean_thermal_surviving_fraction": ("mean thermal surviving fraction", "1", 1.0),
    "mean_pdt_surviving_fraction": ("mean PDT surviving fraction", "1", 1.0),
    "mean_surviving_fraction": ("mean surviving fraction", "1", 1.0),
}

#: Unit of a key from its suffix, for keys the tables do not know by name.
_SUFFIX_UNITS = (("_mm3", "mm^3"), ("_J_per_cm2", "J/cm^2"), ("_J_per_m2", "J/m^2"), ("_degC", "degC"),
                 ("_C", "degC"), ("_min", "min"), ("_uM", "uM"), ("_W", "W"), ("_J", "J"), ("_s", "s"))

_METRIC_WORDS = ("D<i>x</i>: the level of greatest effect reached by at least a fraction <i>x</i> of the structure; "
                 "V: the part of the structure reaching a level (for surviving fractions, values at or below it). "
                 "Evaluated: the volume where the quantity is modelled (n/a: not modelled there).")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 1px solid #ccc; padding-bottom: 0.2em; } h3 { font-size: 1.05em; margin-top: 1.2em; }
table { border-collapse: collapse; margin: 0.6em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f1f3f5; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { background: #fdecea; } tr.binding td { background: #fff7e0; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
.note { background: #fff7e0; border-left: 4px solid #f0ad4e; padding: 0.4em 0.8em; }
.meta td:first-child { font-weight: 600; } code { font-size: 0.95em; }
"""


# -- reading a results folder ---------------------------------------------------------------------
def read_label_names(folder: str | os.PathLike) -> dict[int, str]:
    """Tissue name of each label, from ``summary.json``'s per-tissue metrics ({} when unknown)."""
    summary = _read_json(Path(folder) / "summary.json", quiet=True) or {}
    return _label_names(summary)


def read_structures(folder: str | os.PathLike, grid: Grid, labels: np.ndarray | None,
                    label_names: Mapping[int, str] | None = None):
    """The structures of a results folder, and where they came from.

    Parameters
    ----------
    folder : str or os.PathLike
        Results folder.
    grid : Grid
        The fields' grid.
    labels : numpy.ndarray or None
        The ``labels`` field (tissue label per voxel), for the fallback.
    label_names : mapping of int to str, optional
        Tissue name of each label (default ``"label <n>"``).

    Returns
    -------
    structures : list of phototherm.planning.Structure
        From ``structures.npz`` (roles from its ``roles_json``), else one per
        tissue label present, the tissue named in :data:`TARGET_TISSUE_NAMES`
        as the target and the others ``"other"``; empty masks are left out.
    source : str
        ``"structures.npz"``, ``"tissue labels"`` or ``"none"``.

    Notes
    -----
    Unreadable entries of ``structures.npz`` (wrong shape or dtype, an
    unknown role) are skipped or corrected with a warning, never an error.
    """
    from ..planning import ROLES, Structure

    path = Path(folder) / "structures.npz"
    if path.is_file():
        out = []
        try:
            with np.load(path, allow_pickle=False) as archive:
                entries = {key: archive[key] for key in archive.files}
            roles = json.loads(str(entries.pop("roles_json"))) if "roles_json" in entries else {}
        except (OSError, ValueError) as exc:
            warnings.warn(f"structures.npz could not be read ({exc}); using tissue labels", stacklevel=2)
        else:
            for name, mask in entries.items():
                if mask.shape != grid.shape or mask.dtype.kind not in "biu":
                    warnings.warn(f"structures.npz: {name!r} has shape {mask.shape}, dtype {mask.dtype}; expected "
                                  f"a boolean mask of the grid shape {grid.shape}; left out", stacklevel=2)
                    continue
                role = roles.get(name, "other") if isinstance(roles, dict) else "other"
                if role not in ROLES:
                    warnings.warn(f"structures.npz: role {role!r} of {name!r} is not one of {', '.join(ROLES)}; "
                                  "taken as 'other'", stacklevel=2)
                    role = "other"
                if mask.any():
                    out.append(Structure(name, mask.astype(bool), role))
            return out, "structures.npz"
    if labels is None:
        return [], "none"
    labels = np.asarray(labels)
    names = dict(label_names or {})
    out = []
    for label in np.unique(labels):
        name = names.get(int(label), f"label {int(label)}")
        role = "target" if name.lower() in TARGET_TISSUE_NAMES else "other"
        out.append(Structure(name, labels == label, role))
    return out, "tissue labels"


def slice_index(grid: Grid, fields: Mapping[str, np.ndarray], structures: Sequence) -> tuple[int, int, int]:
    """Voxel the report's slices pass through.

    The voxel holding the centroid of the first target structure; without a
    target, the voxel of the highest peak temperature (or of the grid centre
    when there is none).
    """
    target = next((s for s in structures if s.role == "target"), None)
    if target is not None:
        centroid = np.argwhere(np.asarray(target.mask)).mean(axis=0)  # in voxel indices
        return tuple(int(np.clip(np.floor(c + 0.5), 0, n - 1)) for c, n in zip(centroid, grid.shape))
    peak = fields.get("max_temperature_degC")
    if peak is not None and np.isfinite(peak).any():
        flat = np.argmax(np.where(np.isfinite(peak), peak, -np.inf))
        return tuple(int(i) for i in np.unravel_index(flat, grid.shape))
    return tuple(n // 2 for n in grid.shape)


# -- the report -------------------------------------------------------------------------------------
def write_report(
    folder: str | os.PathLike,
    *,
    figures: bool = True,
    render_3d: bool = True,
    title: str | None = None,
    summary: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write the report's figures and ``report.html`` into a results folder.

    Parameters
    ----------
    folder : str or os.PathLike
        A results folder holding at least ``fields.npz``.
    figures : bool
        Render the PNG figures (matplotlib; PyVista for the 3-D view). Without
        them ``report.html`` holds the tables only.
    render_3d : bool
        Render ``damage_3d.png`` (off-screen, in a child process). When that
        fails the figure is skipped with a warning naming the reason, and the
        report says the 3-D view was not rendered.
    title : str, optional
        Report title; default the scenario's title (``scenario.toml``), else
        "phototherm results".
    summary : mapping, optional
        The run's summary (what ``summary.json`` holds), for a caller that
        writes the report before ``summary.json``; default read from the
        folder (the report then lacks device, timing, per-tissue summary and
        energy balance if there is none).

    Returns
    -------
    list of str
        Names of the files written, relative to ``folder``, ``report.html``
        last.

    Raises
    ------
    InputError
        ``folder`` is not a directory holding ``fields.npz``.

    Notes
    -----
    Optional inputs that are absent are left out of the report (no plan
    section without ``plan.json``, no probe figure without ``probes.csv``);
    ones that cannot be read are left out with a warning. The plot of a field
    with no finite value is skipped with a warning.
    """
    from ..io.tables import read_npz

    folder = Path(folder)
    problems = Problems()
    problems.check((folder / "fields.npz").is_file(), "folder", str(folder),
                   "a phototherm results folder holding fields.npz")
    problems.raise_if_any("cannot write the report")

    grid, fields, units, metadata = read_npz(folder / "fields.npz")
    given_summary = summary is not None
    summary = dict(summary) if given_summary else (_read_json(folder / "summary.json") or {})
    structures_json = _read_json(folder / "structures.json")
    plan = _read_json(folder / "plan.json")
    scenario = _read_toml(folder / "scenario.toml")
    label_names = _label_names(summary)
    structures, source = read_structures(folder, grid, fields.get("labels"), label_names)
    colours = _structure_colours([s.name for s in structures])
    run_time = (metadata or {}).get("time_s") if isinstance(metadata, dict) else None
    title = title or (scenario or {}).get("title") or "phototherm results"

    written: list[str] = []
    shown: list[tuple[str, str]] = []  # (file name, caption)
    notes: list[str] = []
    job = _start_damage_figure(folder, label_names) if figures and render_3d else None  # renders meanwhile
    if figures:
        index = slice_index(grid, fields, structures)
        where = _slice_words(grid, index, structures)
        for name, caption in _slice_figures(folder, grid, fields, units, structures, colours, index, run_time):
            written.append(name)
            shown.append((name, f"{caption} Orthogonal slices {where}; outlines: the structures ({source})."))
        name = _dvh_figure(folder, fields, structures, colours)
        if name:
            written.append(name)
            shown.append((name, "Cumulative dose-volume histograms: the percentage of each structure's volume at "
                                f"or above each level, one panel per quantity (structures from {source})."))
        name = _probe_figure(folder)
        if name:
            written.append(name)
            shown.append((name, "Temperature at each probe (the voxel holding the probe point) against time."))
        if render_3d:
            name, caption = _damage_figure(job)
            if name:
                written.append(name)
                shown.append((name, caption))
            else:
                notes.append(f"The 3-D damage view was not rendered: {caption}")
        else:
            notes.append("The 3-D damage view was not rendered: not requested (render_3d=False).")
    else:
        notes.append("Figures were not rendered (figures=False).")

    page = _html(
        title=title, folder=folder, grid=grid, units=units, run_time=run_time, summary=summary,
        summary_pending=given_summary and not (folder / "summary.json").exists(),
        structures=structures, source=source, structures_json=structures_json, fields=fields, plan=plan,
        scenario=scenario, figures=shown, notes=notes, written=written,
    )
    atomic_write_text(folder / "report.html", page)
    written.append("report.html")
    return written


# -- figures ----------------------------------------------------------------------------------------
def _slice_figures(folder, grid, fields, units, structures, colours, index, run_time):
    """(file name, caption) of each slice figure written."""
    from .slices import plot_orthogonal_slices

    over = f" over {run_time:g} s" if isinstance(run_time, (int, float)) else ""
    specs = [("slices_temperature.png", "max_temperature_degC", f"Peak temperature{over}", False, "inferno")]
    specs.append(("slices_cem43.png", "cem43_min", "Thermal dose CEM43 (logarithmic colour scale)", True, "magma"))
    fluence = next((f for f in ("fluence_J_per_m2", "pdt_fluence_J_per_m2") if f in fields), None)
    if fluence:
        what = "Fluence delivered" if fluence == "fluence_J_per_m2" else "Fluence at the sensitizer's wavelength"
        specs.append(("slices_fluence.png", fluence, f"{what}{over} (logarithmic colour scale)", True, "viridis"))
    specs.append(("slices_singlet_oxygen.png", "singlet_oxygen_reacted_uM", "Reacted singlet oxygen [1O2]rx",
                  False, "plasma"))
    # targets last, so that they are drawn over the organs at risk that share their boundary
    ordered = sorted(structures, key=lambda s: s.role == "target")
    outlines = {s.name: np.asarray(s.mask) for s in ordered}
    point = grid.centre_of(index)
    for name, field, caption, log, cmap in specs:
        if field not in fields:
            continue
        unit = units.get(field, "?")
        try:
            plot_orthogonal_slices(folder / name, grid, np.asarray(fields[field], dtype=float), title=caption,
                                   unit=unit, point=point, cmap=cmap, log_scale=log, outlines=outlines,
                                   outline_colors=colours)
        except InputError as exc:
            warnings.warn(f"report: {name} not drawn: {exc}", stacklevel=3)
            continue
        yield name, f"{caption} [{unit}] ({field})."


def _slice_words(grid: Grid, index, structures) -> str:
    centre = ", ".join(f"{a} = {1e3 * c:.4g} mm" for a, c in zip("xyz", grid.centre_of(index)))
    target = next((s for s in structures if s.role == "target"), None)
    through = f"the centroid of the target {target.name!r}" if target is not None else "the hottest voxel"
    return f"through {through}, voxel {tuple(index)} ({centre})"


def _dvh_figure(folder: Path, fields, structures, colours) -> str | None:
    from ..planning import QUANTITIES, dvh_curves
    from .dvh import draw_dvh

    panels = []
    for short, log in _DVH_QUANTITIES:
        if QUANTITIES[short].field in fields and structures:
            curves = dvh_curves(fields, structures, short)
            if curves:
                panels.append((short, curves, log))
    if not panels:
        return None
    ncols = min(len(panels), 2)
    nrows = (len(panels) + ncols - 1) // ncols
    fig = _figure((6.4 * ncols, 4.3 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, (short, curves, log) in enumerate(panels):
        q = QUANTITIES[short]
        draw_dvh(axes[i], curves, log_scale=log, colors=colours, legend=i == 0,
                 title=q.label[:1].upper() + q.label[1:])
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    _save(fig, folder / "dvh.png")
    return "dvh.png"


def _probe_figure(folder: Path) -> str | None:
    path = folder / "probes.csv"
    if not path.is_file():
        return None
    try:
        times, series, quantity, unit = _read_probes(path)
    except (OSError, ValueError) as exc:
        warnings.warn(f"report: probes.csv could not be read ({exc}); no probe figure", stacklevel=3)
        return None
    if not series or times.size == 0:
        return None
    fig = _figure((7.5, 4.5))
    ax = fig.subplots()
    for name, values in series.items():
        ax.plot(times, values, label=name)
    ax.set_xlabel("time [s]")
    ax.set_ylabel(f"{quantity} [{unit}]")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    ax.set_title(f"Probe {quantity}")
    _save(fig, folder / "probes.png")
    return "probes.png"


def _start_damage_figure(folder: Path, label_names):
    """The child process rendering damage_3d.png, or the exception that prevented its start."""
    from . import view

    try:
        return view.start_render(folder, folder / "damage_3d.png", label_names=label_names)
    except Exception as exc:  # never fail the run for a picture
        return exc


def _damage_figure(job) -> tuple[str | None, str]:
    """('damage_3d.png', caption), or (None, why it was not rendered)."""
    try:
        if isinstance(job, Exception):
            raise job
        drawn = job.result()
    except Exception as exc:  # never fail the run for a picture
        reason = str(exc) or type(exc).__name__
        warnings.warn(f"report: the 3-D damage view was not rendered: {reason}", stacklevel=3)
        return None, reason
    parts = []
    for d in drawn.get("damage", []):
        unit = "" if d["unit"] == "1" else f" {d['unit']}"
        what = f"{d['quantity']} = {d['level']:g}{unit}"
        if d["quantity"] == "PDT necrosis":
            what += " ([1O2]rx at the sensitizer's necrosis threshold)"
        parts.append(f"{what} in {d['colour']}" + (" (no voxel reaches it: nothing drawn)" if d["empty"] else ""))
    damage = "; ".join(parts) if parts else "no damage quantity in the fields"
    target = drawn.get("target")
    target_words = (f"the target {target!r} as a translucent blue surface" if target
                    else "no target structure")
    log = " (CEM43 on a log scale)" if any(d["quantity"] == "CEM43" for d in drawn.get("damage", [])) else ""
    return "damage_3d.png", (f"3-D view: damage isosurface {damage}; {target_words}. Isosurfaces of the voxel "
                             f"values interpolated to voxel corners{log}; axes in mm, depth z downwards.")


def _figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    atomic_write_bytes(path, buffer.getvalue())


def _structure_colours(names: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cycle = colormaps["tab10"].colors
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


# -- inputs -----------------------------------------------------------------------------------------
def _read_json(path: Path, *, quiet: bool = False):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if not quiet:
            warnings.warn(f"report: {path.name} could not be read ({exc}); left out", stacklevel=3)
        return None


def _read_toml(path: Path):
    if not path.is_file():
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.warn(f"report: {path.name} could not be read ({exc}); left out", stacklevel=3)
        return None


def _label_names(summary: Mapping[str, Any]) -> dict[int, str]:
    per_tissue = ((summary or {}).get("metrics") or {}).get("per_tissue") or {}
    return {int(row["label"]): name for name, row in per_tissue.items()
            if isinstance(row, dict) and isinstance(row.get("label"), int)}


def _read_probes(path: Path):
    """Times [s], {probe name: values}, quantity and unit of a probe CSV."""
    quantity, unit, header, rows = "temperature", "?", None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(":")
            if key == "quantity":
                quantity = value.strip()
            elif key == "unit":
                unit = value.strip()
        elif header is None:
            header = line.split(",")
        elif line.strip():
            rows.append([float(x) for x in line.split(",")])
    if header is None or header[0] != "time_s":
        raise ValueError("no header row starting with time_s")
    data = np.array(rows, dtype=float).reshape(len(rows), len(header))
    suffix = f"_{unit}"
    names = [h[: -len(suffix)] if h.endswith(suffix) else h for h in header[1:]]
    return data[:, 0], {n: data[:, k + 1] for k, n in enumerate(names)}, quantity, unit


# -- HTML -------------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, factor: float = 1.0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) and factor == 1.0:
        return str(int(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value) * factor
        return f"{x:.4g}" if np.isfinite(x) else str(x)
    return str(value)


def _head(name: str, unit: str | None) -> str:
    return f"{name} [{unit}]" if unit else name


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[bool] | None = None,
           row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; cells are escaped; ``numeric`` columns are right-aligned."""
    numeric = list(numeric) if numeric is not None else [False] * len(headers)
    out = ["<table>", "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{_e(row_classes[i])}"' if row_classes and row_classes[i] else ""
        cells = "".join(f'<td class="num">{_e(c)}</td>' if numeric[j] else f"<td>{_e(c)}</td>"
                        for j, c in enumerate(row))
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html(*, title, folder, grid, units, run_time, summary, summary_pending, structures, source, structures_json,
          fields, plan, scenario, figures, notes, written) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{_e(title)}</h1>",
        _run_section(now, grid, run_time, summary, units),
    ]
    for note in notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    if plan is not None:
        parts.append(_plan_section(plan))
    parts.append(_constraint_section(plan, scenario, structures, fields, units, source))
    parts.append(_structure_section(structures_json, structures, fields, grid, source))
    parts.append(_tissue_section(summary))
    parts.append(_energy_section(summary))
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, caption in figures:
            data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
            parts.append(f'<figure id="{_e(name)}"><img alt="{_e(name)}" src="data:image/png;base64,{data}">'
                         f"<figcaption><code>{_e(name)}</code>: {_e(caption)}</figcaption></figure>")
    parts.append(_files_section(folder, written, summary_pending))
    parts.append(f'<p style="font-size:0.8em;color:#666">Written by phototherm {_e(__version__)} on {_e(now)}.</p>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _run_section(now, grid: Grid, run_time, summary, units) -> str:
    program = (summary.get("program") or {}) if isinstance(summary, dict) else {}
    device = summary.get("device") or {}
    timing = summary.get("timing") or {}
    sim = ((summary.get("inputs") or {}).get("simulation") or {})
    rows = [
        ("report written (UTC)", now),
        ("run finished (UTC)", summary.get("created_utc", "n/a")),
        ("phototherm version (report)", __version__),
        ("phototherm version (run)", program.get("version", "n/a")),
        ("status", summary.get("status", "n/a")),
        ("device", device.get("backend", "n/a") + (f" ({device['gpu_name']})" if device.get("gpu_name") else "")
         + (f" ({device['cpu']}, {device.get('cpu_count', '?')} cores)" if device.get("cpu") else "")),
        ("dtype", device.get("dtype", "n/a")),
        ("device choice", device.get("reason", "n/a")),
        ("simulated time [s]", _num(run_time)),
        ("time steps", _num(timing.get("steps", sim.get("steps")))),
        ("stepper", sim.get("stepper", "n/a")),
        ("time step [s]", _num(sim.get("dt_s"))),
        ("run wall time [s]", _num(timing.get("wall_time_s"))),
        ("cell updates per second [1/s]", _num(timing.get("cell_updates_per_s"))),
        ("grid [voxels]", " x ".join(str(n) for n in grid.shape)),
        ("voxel size [mm]", " x ".join(f"{1e3 * h:g}" for h in grid.spacing)),
        ("grid origin [mm]", ", ".join(f"{1e3 * o:g}" for o in grid.origin)),
        ("fields", ", ".join(f"{k} [{v}]" for k, v in units.items())),
    ]
    body = "\n".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<h2>Run</h2>\n<table class="meta">\n{body}\n</table>'


def _plan_section(plan: Mapping[str, Any]) -> str:
    out = ["<h2>Treatment plan</h2>"]
    result = plan.get("plan") if isinstance(plan, dict) else None
    if not isinstance(result, dict):
        return out[0] + "\n<p>plan.json holds no plan result.</p>"
    feasible = result.get("feasible")
    out.append(f"<p><b>{'Feasible' if feasible else 'No feasible plan'}</b>: {_e(result.get('message', ''))}</p>")
    chosen = result.get("plan") or (plan.get("confirmation") or {}).get("plan")
    if isinstance(chosen, dict):
        frac = chosen.get("fractionation")
        frac_words = "continuous" if not frac else f"{_num(frac.get('on_s'))} s on / {_num(frac.get('off_s'))} s off"
        rows = []
        for s in chosen.get("sources", []):
            power, on_time = s.get("power_W"), s.get("on_time_s")
            energy = power * on_time if isinstance(power, (int, float)) and isinstance(on_time, (int, float)) else None
            intervals = "; ".join(f"{_num(a)}-{'end' if b is None else _num(b)}" + ("" if lv == 1 else f" x{lv:g}")
                                  for a, b, lv in s.get("on_intervals_s", []))
            rows.append([s.get("name", "?"), _num(power), _num(on_time), intervals, frac_words, _num(energy)])
        out.append(_table(["source", "power [W]", "exposure (time on) [s]", "on intervals [s]", "fractionation",
                           "energy [J]"], rows, numeric=[False, True, True, False, False, True]))
        out.append(_table(["total energy [J]", "start [s]", "horizon (exposure + cooling) [s]"],
                          [[_num(chosen.get("energy_J")), _num(chosen.get("start_s")), _num(chosen.get("horizon_s"))]],
                          numeric=[True] * 3))
    objective = result.get("objective")
    if isinstance(objective, dict):
        unit = objective.get("unit") or "1"
        out.append("<h3>Objective</h3>")
        out.append(_table(["objective", "sense", "predicted value", "unit"],
                          [[objective.get("label", "?"), objective.get("sense", "?"), _num(objective.get("value")),
                            unit]], numeric=[False, False, True, False]))
    if result.get("at_bounds"):
        out.append(f"<p>At their bounds: {_e('; '.join(map(str, result['at_bounds'])))}.</p>")
    confirmation = plan.get("confirmation")
    if isinstance(confirmation, dict) and confirmation.get("rows"):
        out.append("<h3>Predicted (superposition) vs simulated (full run)</h3>")
        rows, classes = [], []
        for r in confirmation["rows"]:
            ok_p, ok_s = r.get("satisfied_predicted"), r.get("satisfied_simulated")
            rows.append([r.get("what", ""), r.get("label", ""), r.get("unit") or "1", _num(r.get("predicted")),
                         _num(r.get("simulated")), _num(r.get("difference")), _num(r.get("limit")),
                         "" if ok_p is None else _num(ok_p), "" if ok_s is None else _num(ok_s)])
            classes.append("bad" if ok_s is False else "")
        out.append(_table(["kind", "metric", "unit", "predicted [unit]", "simulated [unit]",
                           "simulated - predicted [unit]", "limit [unit]", "met (predicted)", "met (simulated)"],
                          rows, numeric=[False, False, False, True, True, True, True, False, False],
                          row_classes=classes))
        held = confirmation.get("feasible_in_simulation")
        out.append(f"<p>{'Every constraint holds in the full simulation.' if held else 'A constraint is VIOLATED in the full simulation.'}</p>")
    return "\n".join(out)


def _constraint_section(plan, scenario, structures, fields, units, source) -> str:
    result = plan.get("plan") if isinstance(plan, dict) else None
    if isinstance(result, dict) and result.get("constraints") is not None:
        rows = result["constraints"]
        origin = ("as predicted by the planner for the chosen plan (plan.json)" if result.get("feasible") else
                  "as predicted by the planner at the searched plan that comes closest (plan.json; no feasible plan)")
    else:
        rows = _scenario_constraints(scenario, structures, fields, units)
        if rows is None:
            return "<h2>Constraints</h2>\n<p>No constraints (no plan.json, and no [[constraints]] in scenario.toml).</p>"
        origin = (f"from scenario.toml, evaluated on this run's fields (structures from {source}); binding is "
                  "decided by the planner only")
    table, classes = [], []
    for r in rows:
        unit = r.get("unit") or "1"
        table.append([r.get("name", "?"), r.get("bound", ""), _num(r.get("value")), _num(r.get("limit")),
                      _num(r.get("slack")), unit, _num(r.get("satisfied")),
                      "n/a" if r.get("binding") is None else _num(r.get("binding")), r.get("note", "")])
        classes.append("bad" if r.get("satisfied") is False else ("binding" if r.get("binding") else ""))
    return ("<h2>Constraints</h2>\n" + f"<p>Constraints {_e(origin)}. Slack is the margin to the limit (negative: "
            "violated); value, limit and slack are in the row's unit.</p>\n"
            + _table(["constraint", "bound", "value [unit]", "limit [unit]", "slack [unit]", "unit", "met", "binding",
                      "note"], table, numeric=[False, False, True, True, True, False, False, False, False],
                     row_classes=classes))


def _scenario_constraints(scenario, structures, fields, units):
    """Describe-rows of the scenario's [[constraints]] judged on the fields, or None without any."""
    specs = (scenario or {}).get("constraints")
    if not specs or not isinstance(specs, list):
        return None
    from ..planning import QUANTITIES
    from ..planning.objectives import Constraint

    short_of = {q.field: short for short, q in QUANTITIES.items()}
    masks = {s.name: np.asarray(s.mask) for s in structures}
    rows = []
    for spec in specs:
        if not isinstance(spec, dict):
            continue
        field, structure, metric = spec.get("quantity"), spec.get("structure"), spec.get("metric")
        level = spec.get("threshold") if metric == "V" else spec.get("volume_fraction") if metric == "D" else None
        for bound, key in (("<=", "at_most"), (">=", "at_least")):
            if spec.get(key) is None:
                continue
            name = f"{structure} {field} {metric}" + ("" if level is None else f" ({level:g})")
            row = {"name": name, "bound": bound, "limit": spec[key], "binding": None,
                   "unit": "1" if metric == "V" else units.get(field, "?")}
            short = short_of.get(field)
            if short is None or field not in fields:
                row["note"] = f"not evaluated: {field!r} is not a field the planner judges in this run"
            elif structure not in masks:
                row["note"] = f"not evaluated: no mask of structure {structure!r} in this folder"
            else:
                try:
                    c = Constraint(structure, short, metric, float(spec[key]), level=level, bound=bound)
                    row = dict(c.evaluate(np.asarray(fields[field])[masks[structure]]).describe(), binding=None)
                except (InputError, TypeError, ValueError) as exc:
                    row["note"] = f"not evaluated: {exc}"
            rows.append(row)
    return rows


def _structure_section(structures_json, structures, fields, grid, source) -> str:
    out = ["<h2>Per-structure metrics</h2>"]
    table = (structures_json or {}).get("structures") if isinstance(structures_json, dict) else None
    if isinstance(table, dict) and table:
        out.append(f"<p>From structures.json. {_METRIC_WORDS}</p>")
    elif structures:
        from ..planning import evaluate

        try:
            table = evaluate(fields, structures, voxel_volume=grid.cell_volume)
        except InputError as exc:
            return out[0] + f"\n<p>Not evaluated: {_e(exc)}</p>"
        out.append(f"<p>Computed by the report from the fields (structures from {_e(source)}; no structures.json). "
                   f"{_METRIC_WORDS}</p>")
    else:
        return out[0] + "\n<p>No structures (no structures.json, structures.npz or labels field).</p>"
    quantities: dict[str, dict] = {}
    for sname, per_q in table.items():
        for qname, m in (per_q or {}).items():
            quantities.setdefault(qname, {})[sname] = m
    for qname, per_s in quantities.items():
        first = next(iter(per_s.values()))
        if all(m.get("max") is None for m in per_s.values()):
            out.append(f"<h3>{_e(qname)} ({_e(first.get('field', ''))})</h3>\n<p>Not modelled in any structure "
                       "(no value).</p>")
            continue
        unit = first.get("unit") or "1"
        coverage = [k for k in first if k.startswith("D") and k[1:].replace(".", "").isdigit()]
        levels = [v.get("level") for v in first.get("V", [])]
        op = "<=" if first.get("direction") == "lower" else ">="
        at = [f"V({op} {lv:g}{'' if unit == '1' else ' ' + unit})" for lv in levels]
        headers = (["structure", "volume [mm^3]", "evaluated [mm^3]"]
                   + [_head(k, unit) for k in ("min", "mean", "max")] + [_head(k, unit) for k in coverage]
                   + [f"{a} [%]" for a in at] + [f"{a} [mm^3]" for a in at])
        rows = []
        for sname, m in per_s.items():
            vs = {v.get("level"): v for v in m.get("V", [])}
            rows.append([sname, _num(m.get("volume_mm3")), _num(m.get("evaluated_volume_mm3"))]
                        + [_num(m.get(k)) for k in ("min", "mean", "max")] + [_num(m.get(k)) for k in coverage]
                        + [_num((vs.get(lv) or {}).get("fraction"), 100.0) for lv in levels]
                        + [_num((vs.get(lv) or {}).get("volume_mm3")) for lv in levels])
        out.append(f"<h3>{_e(qname)}: {_e(first.get('field', ''))} [{_e(unit)}]</h3>")
        out.append(_table(headers, rows, numeric=[False] + [True] * (len(headers) - 1)))
    return "\n".join(out)


def _tissue_section(summary) -> str:
    metrics = (summary or {}).get("metrics") or {}
    per_tissue = metrics.get("per_tissue") or {}
    if not per_tissue:
        return "<h2>Per-tissue summary</h2>\n<p>Not available (no summary.json).</p>"
    thr = _num(metrics.get("cem43_threshold_min", 240.0))
    keys = [k for k in dict.fromkeys(k for row in per_tissue.values() for k in row) if k != "label"]
    headers, factors = ["tissue", "label [index]"], []
    for k in keys:
        name, unit, factor = _TISSUE_COLUMNS.get(k, (k, _unit_of_key(k), 1.0))
        headers.append(_head(name.format(thr=thr), unit))
        factors.append(factor)
    rows = [[name, _num(row.get("label"))] + [_num(row.get(k), f) for k, f in zip(keys, factors)]
            for name, row in per_tissue.items()]
    extra = (f"<p>Peak temperature anywhere: {_e(_num(metrics.get('peak_temperature_C')))} degC; volume whose peak "
             f"exceeded 43 degC: {_e(_num(metrics.get('volume_above_43C_peak_mm3')))} mm^3.</p>")
    return ("<h2>Per-tissue summary</h2>\n" + extra + "\n"
            + _table(headers, rows, numeric=[False] + [True] * (len(headers) - 1)))


def _energy_section(summary) -> str:
    energy = (summary or {}).get("energy_balance")
    if not isinstance(energy, dict):
        why = "no summary.json" if not summary else "not tracked in this run (Simulation(track_energy=True))"
        return f"<h2>Energy balance</h2>\n<p>Not available: {_e(why)}.</p>"
    rows = [[k.replace("_J", "").replace("_", " "), _num(v), _unit_of_key(k)] for k, v in energy.items()]
    return "<h2>Energy balance</h2>\n" + _table(["term", "value [unit]", "unit"], rows, numeric=[False, True, False])


def _files_section(folder: Path, written: Sequence[str], summary_pending: bool) -> str:
    names = {p.name for p in folder.iterdir() if not p.name.startswith(".")} | set(written) | {"report.html"}
    if summary_pending:
        names.add("summary.json")
    rows = []
    for name in sorted(names):
        path = folder / name
        if name == "report.html":
            rows.append([name, "this report", ""])
        elif path.is_dir():
            count = sum(1 for q in path.rglob("*") if q.is_file())
            rows.append([name + "/", f"folder of {count} files", ""])
        elif path.is_file():
            rows.append([name, "", _num(path.stat().st_size / 1024)])
        else:
            rows.append([name, "written after this report", ""])
    return "<h2>Files in the results folder</h2>\n" + _table(["file", "note", "size [KiB]"], rows,
                                                              numeric=[False, False, True])


def _unit_of_key(key: str) -> str:
    if key.startswith("fraction") or key.startswith("relative") or "surviving_fraction" in key:
        return "1"
    for suffix, unit in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return unit
    return "see summary.json"
