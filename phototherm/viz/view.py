"""3-D views of a results folder with PyVista: interactive, or rendered off-screen to PNG.

:func:`view_results` opens a window on a results folder's ``fields.vti``: the
damage isosurface, the target structure's surface and orthogonal slices of one
field, axes in millimetres with depth ``z`` pointing down (the skin at the
top). With ``screenshot=`` it renders the same scene off-screen to a PNG
instead.

The report (:mod:`phototherm.viz.report`) draws its ``damage_3d.png`` with
:func:`start_render` (:func:`render_in_subprocess` without waiting, so the
report draws its other figures meanwhile): the rendering runs in a child
Python process, so
that a machine without a working OpenGL (no display, no EGL or OSMesa), where
VTK may abort or crash the process, costs the report one figure and never the
run. :func:`offscreen_rendering_available` probes the same way.

PyVista is imported inside the functions only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import Problems
from ..grid import Grid
from ..io.atomic import atomic_write_bytes

__all__ = [
    "view_results",
    "render_damage_view",
    "render_in_subprocess",
    "start_render",
    "RenderJob",
    "offscreen_rendering_available",
    "damage_surfaces",
    "NECROSIS_LEVEL_CEM43_MIN",
    "NECROSIS_LEVEL_PDT",
]

#: Isosurface level of thermal damage: CEM43 = 240 min, the usual necrosis threshold.
NECROSIS_LEVEL_CEM43_MIN = 240.0

#: Isosurface level of the PDT necrosis map (0 below the sensitizer's threshold, 1 at or above).
NECROSIS_LEVEL_PDT = 0.5

#: Fields shown with a logarithmic colour scale (they span decades).
_LOG_FIELDS = ("cem43_min", "fluence_J_per_m2", "fluence_rate_W_per_m2", "pdt_fluence_J_per_m2",
               "pdt_dose_photons_per_m3", "heat_source_W_per_m3", "arrhenius_omega")

#: Fields the view shows by default, the first one present.
_DEFAULT_FIELDS = ("cem43_min", "singlet_oxygen_reacted_uM", "max_temperature_degC")

_WINDOW = (1200, 900)
_SUBPROCESS_TIMEOUT_S = 300.0
_PROBE_TIMEOUT_S = 120.0


# -- public ---------------------------------------------------------------------------------------
def view_results(
    folder: str | os.PathLike,
    *,
    field: str | None = None,
    screenshot: str | os.PathLike | None = None,
    off_screen: bool = False,
) -> Path | None:
    """Show a results folder in 3-D: damage, target and slices of one field.

    Parameters
    ----------
    folder : str or os.PathLike
        A results folder (holding ``fields.vti``; ``structures.npz`` and
        ``summary.json`` are used when present, see
        :func:`phototherm.viz.report.read_structures`).
    field : str, optional
        Cell field shown on the three orthogonal slices (through the target's
        centroid, else the hottest voxel), with its unit on the scalar bar.
        Default: the first present of ``cem43_min``,
        ``singlet_oxygen_reacted_uM`` and ``max_temperature_degC`` (a run may
        have written only some fields).
        Fields spanning decades (CEM43, fluence, ...) use a logarithmic
        colour scale over four decades below their maximum.
    screenshot : str or os.PathLike, optional
        Render off-screen into this PNG file (written atomically) instead of
        opening a window.
    off_screen : bool
        Render without a window even when no screenshot is asked for (a
        smoke test of the scene).

    Returns
    -------
    pathlib.Path or None
        The screenshot written, or None.

    Raises
    ------
    InputError
        ``folder`` is not a results folder (no ``fields.vti``), or ``field``
        is not one of its fields (the message lists them).
    ImportError
        PyVista is not installed.

    Notes
    -----
    The damage isosurface is CEM43 = 240 min in red; in a photodynamic run
    that has no thermal damage, the PDT necrosis map at 0.5 (see
    :func:`damage_surfaces`). Interactively, the slices can be dragged
    (:meth:`pyvista.Plotter.add_mesh_slice_orthogonal`).
    """
    folder = Path(folder)
    problems = Problems()
    vti = folder / "fields.vti"
    problems.check(vti.is_file(), "folder", str(folder), "a phototherm results folder holding fields.vti")
    problems.raise_if_any("cannot view the results")
    from ..io.vtk import read_vti

    grid, fields, units, _ = read_vti(vti)
    shown = {k: v for k, v in fields.items() if k != "labels"}
    if field is None:
        field = next((f for f in _DEFAULT_FIELDS if f in shown), next(iter(shown), "cem43_min"))
    problems.check(field in shown, "field", field, f"one of the folder's fields: {', '.join(sorted(shown))}")
    problems.raise_if_any("cannot view the results")

    import pyvista

    structures = _structures(folder, grid, fields)
    off = screenshot is not None or off_screen
    # None lets pyvista.OFF_SCREEN decide for the interactive view (as in PyVista's own CI set-ups)
    plotter = pyvista.Plotter(off_screen=True if off else None, window_size=_WINDOW if off else None)
    try:
        mesh, _ = _draw_scene(plotter, grid, fields, structures)
        values = np.asarray(fields[field], dtype=float)
        mesh.cell_data[field] = _vtk_order(values)
        point = _slice_point(grid, fields, structures)
        style = _colour_scale(field, values)
        bar = {"title": f"{field} [{units.get(field, '?')}]", "color": "black", "vertical": True,
               "position_x": 0.86, "position_y": 0.2, "height": 0.6, "width": 0.06}
        if off:
            slices = mesh.slice_orthogonal(x=point[0], y=point[1], z=point[2])
            plotter.add_mesh(slices, scalars=field, scalar_bar_args=bar, opacity=0.75, **style)
        else:
            plotter.add_mesh_slice_orthogonal(mesh, scalars=field, scalar_bar_args=bar, **style)
        if screenshot is None:
            plotter.show()
            return None
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "view.png"
            plotter.screenshot(str(png))
            return atomic_write_bytes(screenshot, png.read_bytes())
    finally:
        plotter.close()


def render_damage_view(
    folder: str | os.PathLike,
    path: str | os.PathLike,
    *,
    label_names: Mapping[int, str] | None = None,
    window_size: tuple[int, int] = _WINDOW,
) -> dict[str, Any]:
    """Render the damage isosurface(s) and the target surface off-screen, as a PNG.

    Runs in this process; a missing OpenGL may crash it (see
    :func:`render_in_subprocess` for the safe way).

    Parameters
    ----------
    folder : str or os.PathLike
        Results folder (``fields.vti`` required).
    path : str or os.PathLike
        Output PNG, written atomically.
    label_names : mapping of int to str, optional
        Tissue name of each label, for the structures' fallback to tissue
        labels (default: from ``summary.json``).
    window_size : (int, int)
        Image size [pixels].

    Returns
    -------
    dict
        What was drawn, for a caption: ``damage`` (list of ``{"quantity",
        "field", "level", "unit", "colour", "empty"}``) and ``target`` (name
        or None).
    """
    import pyvista

    from ..io.vtk import read_vti

    grid, fields, _, _ = read_vti(Path(folder) / "fields.vti")
    structures = _structures(Path(folder), grid, fields, label_names)
    plotter = pyvista.Plotter(off_screen=True, window_size=window_size)
    try:
        _, drawn = _draw_scene(plotter, grid, fields, structures)
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "damage.png"
            plotter.screenshot(str(png))
            atomic_write_bytes(path, png.read_bytes())
    finally:
        plotter.close()
    return drawn


def render_in_subprocess(
    folder: str | os.PathLike,
    path: str | os.PathLike,
    *,
    label_names: Mapping[int, str] | None = None,
    timeout: float = _SUBPROCESS_TIMEOUT_S,
) -> dict[str, Any]:
    """:func:`render_damage_view` in a child Python process.

    Returns
    -------
    dict
        As :func:`render_damage_view`.

    Raises
    ------
    RuntimeError
        The child failed, crashed or timed out; the message gives its exit
        status and the last lines it printed (typically VTK's reason, such as
        no OpenGL context).
    """
    return start_render(folder, path, label_names=label_names).result(timeout)


def start_render(folder: str | os.PathLike, path: str | os.PathLike, *,
                 label_names: Mapping[int, str] | None = None) -> "RenderJob":
    """Start :func:`render_in_subprocess` without waiting (the caller works meanwhile).

    Raises
    ------
    RuntimeError
        No Python process could be started.
    """
    spec = {"folder": str(Path(folder).resolve()), "path": str(Path(path).resolve()),
            "label_names": {str(k): v for k, v in (label_names or {}).items()}}
    return RenderJob(_start_child("render", spec))


class RenderJob:
    """A running child render; :meth:`result` waits for it."""

    def __init__(self, process: subprocess.Popen):
        self.process = process

    def result(self, timeout: float = _SUBPROCESS_TIMEOUT_S) -> dict[str, Any]:
        """What was drawn (see :func:`render_damage_view`); RuntimeError if the child failed."""
        global _AVAILABILITY
        out = _finish_child(self.process, timeout)
        try:
            drawn = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise RuntimeError(f"the rendering process printed no description: {out[-500:]!r}") from exc
        if _AVAILABILITY is None:
            _AVAILABILITY = (True, "a child process rendered the damage view")
        return drawn


def offscreen_rendering_available() -> tuple[bool, str]:
    """Whether PyVista can render off-screen here, probed once in a child process.

    A child render of this process that succeeded already (e.g. the report's
    3-D view) answers without a new probe.

    Returns
    -------
    (bool, str)
        Availability, and the reason when unavailable (or how it was known
        when available, e.g. the render window class ``vtkEGLRenderWindow``).
    """
    global _AVAILABILITY
    if _AVAILABILITY is None:
        try:
            out = _run_child("probe", {}, _PROBE_TIMEOUT_S)
        except RuntimeError as exc:
            _AVAILABILITY = (False, str(exc))
        else:
            _AVAILABILITY = (True, out.strip().splitlines()[-1] if out.strip() else "rendered")
    return _AVAILABILITY


#: Memoised answer of offscreen_rendering_available (None: not known yet).
_AVAILABILITY: tuple[bool, str] | None = None


def damage_surfaces(fields: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Which damage isosurfaces describe a run, given its fields.

    CEM43 = 240 min (thermal necrosis) when the run has a thermal dose and
    either no photodynamic therapy or some voxel at or above 240 min; the PDT
    necrosis map at 0.5 (voxels at or above the sensitizer's [1O2]rx
    threshold) when the run has one. Both when both apply.

    Returns
    -------
    list of dict
        ``{"quantity", "field", "level", "unit", "colour", "empty"}`` each;
        ``empty`` is True when no voxel reaches the level.
    """
    pdt = "pdt_necrosis" in fields
    out = []
    if "cem43_min" in fields:
        reached = bool(np.nanmax(fields["cem43_min"]) >= NECROSIS_LEVEL_CEM43_MIN)
        if not pdt or reached:
            out.append({"quantity": "CEM43", "field": "cem43_min", "level": NECROSIS_LEVEL_CEM43_MIN,
                        "unit": "min", "colour": "red", "empty": not reached})
    if pdt:
        reached = bool(np.nanmax(fields["pdt_necrosis"]) >= NECROSIS_LEVEL_PDT)
        out.append({"quantity": "PDT necrosis", "field": "pdt_necrosis", "level": NECROSIS_LEVEL_PDT,
                    "unit": "1", "colour": "red" if not out else "darkorange", "empty": not reached})
    return out


# -- the scene -----------------------------------------------------------------------------------
def _structures(folder: Path, grid: Grid, fields, label_names=None):
    from .report import read_structures

    if label_names is None:
        from .report import read_label_names

        label_names = read_label_names(folder)
    return read_structures(folder, grid, fields.get("labels"), label_names)[0]


def _mm_grid(grid: Grid) -> Grid:
    return Grid(grid.shape, tuple(1e3 * h for h in grid.spacing), tuple(1e3 * o for o in grid.origin))


def _vtk_order(values: np.ndarray) -> np.ndarray:
    from ..io.vtk import to_vtk_order

    return to_vtk_order(values)


def _draw_scene(plotter, grid: Grid, fields, structures):
    """Outline, damage isosurface(s), target surface, mm axes and camera; returns (mesh, what was drawn)."""
    from ..io.vtk import to_pyvista

    arrays: dict[str, np.ndarray] = {}
    damage = damage_surfaces(fields)
    for d in damage:
        values = np.asarray(fields[d["field"]], dtype=float)
        if d["field"] == "cem43_min":  # contour log10: CEM43 spans decades between neighbouring voxels
            values, d["iso"] = np.log10(np.maximum(np.nan_to_num(values, nan=0.0), 1e-30)), np.log10(d["level"])
        else:
            values, d["iso"] = np.nan_to_num(values, nan=0.0), d["level"]
        arrays[f"damage {d['quantity']}"] = values
    target = next((s for s in structures if s.role == "target"), None)
    if target is not None:
        arrays["target"] = target.mask.astype(float)
    base = next(iter(fields))
    mesh = to_pyvista(_mm_grid(grid), {base: fields[base]})  # to_pyvista wants one field at least
    for name, values in arrays.items():
        mesh.cell_data[name] = _vtk_order(values)
    points = mesh.cell_data_to_point_data() if arrays else None
    mesh.cell_data.remove(base)
    plotter.set_background("white")
    plotter.add_mesh(mesh.outline(), color="black")
    legend = []
    if target is not None:
        surface = points.contour([0.5], scalars="target")
        if surface.n_points:
            plotter.add_mesh(surface, color="royalblue", opacity=0.3, smooth_shading=True)
            legend.append([f"{target.name} (target)", "royalblue"])
    for d in damage:
        iso = d.pop("iso")
        if d["empty"]:
            continue
        surface = points.contour([iso], scalars=f"damage {d['quantity']}")
        if surface.n_points:
            plotter.add_mesh(surface, color=d["colour"], smooth_shading=True)
            unit = "" if d["unit"] == "1" else f" {d['unit']}"
            legend.append([f"{d['quantity']} = {d['level']:g}{unit}", d["colour"]])
        else:
            d["empty"] = True
    for name in arrays:
        mesh.cell_data.remove(name)
    height = plotter.window_size[1]
    for i, (text, colour) in enumerate(legend):  # a text legend: VTK's legend box crops long entries
        plotter.add_text(text, position=(12, height - 36 * (i + 1)), font_size=14, color=colour)
    plotter.show_bounds(xtitle="x [mm]", ytitle="y [mm]", ztitle="z, depth [mm]", location="outer",
                        font_size=14, color="black")
    centre = np.array(mesh.center)
    size = float(np.linalg.norm(np.subtract(mesh.bounds[1::2], mesh.bounds[::2])))
    plotter.camera.focal_point = tuple(centre)
    plotter.camera.position = tuple(centre + 1.6 * size * np.array([0.55, -0.75, -0.45]))  # from above the skin
    plotter.camera.up = (0.0, 0.0, -1.0)  # depth z points down the picture
    plotter.reset_camera()
    return mesh, {"damage": damage, "target": None if target is None else target.name}


def _slice_point(grid: Grid, fields, structures) -> tuple[float, float, float]:
    """Slice point [mm]: the target's centroid, else the hottest voxel, else the grid centre."""
    from .report import slice_index

    index = slice_index(grid, fields, structures)
    return tuple(1e3 * c for c in grid.centre_of(index))


def _colour_scale(field: str, values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    if field in _LOG_FIELDS and top > 0:
        return {"cmap": "inferno", "log_scale": True, "clim": [top * 1e-4, top]}
    if finite.size and finite.min() < top:
        return {"cmap": "inferno", "clim": [float(finite.min()), top]}
    return {"cmap": "inferno"}


# -- child processes ------------------------------------------------------------------------------
def _run_child(task: str, spec: dict, timeout: float) -> str:
    """Run ``_child_main`` in a fresh interpreter; its stdout, or RuntimeError with the reason."""
    return _finish_child(_start_child(task, spec), timeout)


def _start_child(task: str, spec: dict) -> subprocess.Popen:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    code = "import sys; from phototherm.viz.view import _child_main; sys.exit(_child_main(sys.argv[1:]))"
    try:
        return subprocess.Popen([sys.executable, "-c", code, task, json.dumps(spec)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    except OSError as exc:
        raise RuntimeError(f"could not start a Python process for off-screen rendering: {exc}") from None


def _finish_child(process: subprocess.Popen, timeout: float) -> str:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"off-screen rendering did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        lines = [line for line in (stderr or "").strip().splitlines() if line.strip()]
        tail = " | ".join(lines[-3:]) if lines else "no message"
        how = (f"was killed by signal {-process.returncode}" if process.returncode < 0
               else f"exited with status {process.returncode}")
        raise RuntimeError(f"off-screen rendering failed: the rendering process {how}: {tail}")
    return stdout


def _child_main(argv) -> int:
    """Entry point of the child process: ``probe`` or ``render`` (spec as JSON)."""
    task, spec = argv[0], json.loads(argv[1])
    import pyvista

    pyvista.OFF_SCREEN = True
    if task == "probe":
        plotter = pyvista.Plotter(off_screen=True, window_size=(64, 48))
        plotter.add_mesh(pyvista.Sphere())
        image = plotter.screenshot(None, return_img=True)
        name = plotter.render_window.GetClassName()
        plotter.close()
        if image is None or image.size == 0 or int(np.ptp(image)) == 0:
            print("the test render came back blank", file=sys.stderr)
            return 3
        print(name)
        return 0
    drawn = render_damage_view(spec["folder"], spec["path"],
                               label_names={int(k): v for k, v in spec["label_names"].items()} or None)
    print(json.dumps(drawn))
    return 0
