"""The results report (figures + self-contained report.html) and the 3-D view, on tiny real runs."""

import base64
import json
import re
import shutil
import struct
import warnings

import numpy as np
import pytest

import phototherm as pt
from phototherm.errors import InputError
from phototherm.io.tables import read_npz, write_json
from phototherm.planning import Structure
from phototherm.planning.objectives import Constraint, Objective
from phototherm.planning.optimise import PlanVariables, confirm, optimise_plan
from phototherm.planning.superposition import UnitResponses
from tests.unit.test_planning_optimise import phantom

pytest.importorskip("matplotlib")

from phototherm.viz import view  # noqa: E402
from phototherm.viz.report import read_structures, slice_index, write_report  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SLICES = ["slices_temperature.png", "slices_cem43.png"]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def offscreen():
    ok, reason = view.offscreen_rendering_available()
    return ok, reason


# -- tiny runs: the planner tests' phantom (skin over muscle, a tumour 5 mm deep, a Gaussian source) ----
def write_structures_npz(folder, structures):
    """What the runner writes: one bool mask per structure plus roles_json."""
    roles = json.dumps({s.name: s.role for s in structures})
    np.savez_compressed(folder / "structures.npz", roles_json=np.array(roles),
                        **{s.name: np.asarray(s.mask) for s in structures})


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory):
    """A `phototherm plan`-like folder: confirmation run + structures.npz + plan.json."""
    folder = tmp_path_factory.mktemp("plan") / "results"
    model, structures = phantom()
    responses = UnitResponses.compute(model, structures, horizon=120.0, device="cpu")
    result = optimise_plan(responses, Objective("tumour", "CEM43", "V", 240.0),
                           [Constraint("skin", "T_max", "max", 42.0), Constraint("healthy", "CEM43", "max", 10.0)],
                           PlanVariables(powers=[(0.05, 1.0)], duration=(30.0, 90.0)))
    assert result.feasible
    confirmation = confirm(result, output=folder, progress=False, figures=False)
    write_structures_npz(folder, structures)
    write_json(folder / "plan.json", {"plan": result.describe(), "confirmation": confirmation.describe()})
    return folder, result, confirmation


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A plain run with probes and no structures.npz / plan.json / structures.json, plus a scenario.toml."""
    folder = tmp_path_factory.mktemp("run") / "results"
    model, _ = phantom()
    sim = pt.Simulation(model, stop_time=60.0, device="cpu", progress=False,
                        probes={"centre": (6e-3, 6e-3, 5e-3), "skin": (6e-3, 6e-3, 0.2e-3)}, probe_interval=5.0)
    sim.run(output=folder, figures=False)
    (folder / "scenario.toml").write_text(
        'title = "tiny <run> & co"\n\n[[constraints]]\nstructure = "skin"\nquantity = "max_temperature_degC"\n'
        'metric = "max"\nat_most = 40.0\n', encoding="utf-8")
    return folder


# -- the report ----------------------------------------------------------------------------------------
def check_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", 'src="http', "src='http", 'href="http', "url(http", "@import"):
        assert forbidden not in page.lower()
    sources = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    return sources


def test_report_of_a_planning_run(plan_folder):
    folder, result, confirmation = plan_folder
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        written = write_report(folder)
    ok, _ = offscreen()  # known from that render when it worked, else probed
    assert any("3-D damage view was not rendered" in str(w.message) for w in record) == (not ok)
    expected = SLICES + ["dvh.png"] + (["damage_3d.png"] if ok else []) + ["report.html"]
    assert written == expected  # no fluence, [1O2]rx or probes in this run: those figures are left out
    for name in written[:-1]:
        width, height = png_size(folder / name)
        assert width >= 400 and height >= 300
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # atomic writes left no temporary

    page = (folder / "report.html").read_text(encoding="utf-8")
    sources = check_self_contained(page)
    assert len(sources) == len(written) - 1
    embedded = base64.b64decode(sources[0].split(",", 1)[1])
    assert embedded == (folder / written[0]).read_bytes()
    for name in ("tumour", "skin", "healthy"):  # structures from structures.npz (healthy is no tissue)
        assert f"<td>{name}</td>" in page
    assert "(structures.npz)" in page
    for header in ("power [W]", "exposure (time on) [s]", "energy [J]", "predicted [unit]", "slack [unit]",
                   "volume [mm^3]", "max [degC]", "D90 [min]", "peak T [degC]", "run wall time [s]"):
        assert f"<th>{header}</th>" in page or f"<td>{header}</td>" in page, header
    plan = result.plan.describe()["sources"][0]
    assert f'<td class="num">{plan["power_W"]:.4g}</td>' in page
    assert f'<td class="num">{plan["power_W"] * plan["on_time_s"]:.4g}</td>' in page  # energy = P x time on
    cv = result.constraints[0]  # skin T_max: binding by construction of the optimiser
    assert cv.binding
    row = re.search(r"<tr class=\"binding\"><td>skin T_max max</td>.*?</tr>", page).group(0)
    assert f'<td class="num">{cv.value:.4g}</td>' in row and f'<td class="num">{cv.slack:.4g}</td>' in row
    assert "<td>constraint</td><td>skin T_max max &lt;= 42</td>" in page  # confirmation rows, escaped
    assert "Every constraint holds in the full simulation." in page
    assert "centroid of the target &#x27;tumour&#x27;" in page
    if ok:
        assert "CEM43 = 240 min in red" in page
    else:
        assert "The 3-D damage view was not rendered" in page


def test_report_without_optional_files_and_a_failing_3d_view(run_folder, monkeypatch, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    assert not (folder / "structures.npz").exists() and not (folder / "plan.json").exists()

    def no_gl(*args, **kwargs):
        raise RuntimeError("no OpenGL context here")

    monkeypatch.setattr(view, "start_render", no_gl)
    with pytest.warns(UserWarning, match="3-D damage view was not rendered: no OpenGL context here"):
        written = write_report(folder)
    assert written == SLICES + ["dvh.png", "probes.png", "report.html"]
    assert not (folder / "damage_3d.png").exists()
    page = (folder / "report.html").read_text(encoding="utf-8")
    check_self_contained(page)
    assert "The 3-D damage view was not rendered: no OpenGL context here" in page
    assert "Treatment plan" not in page
    assert "<h1>tiny &lt;run&gt; &amp; co</h1>" in page  # the scenario's title, escaped
    assert "(tissue labels)" in page
    for name in ("skin", "muscle", "tumour"):  # tissue names from summary.json
        assert f"<td>{name}</td>" in page

    # the scenario's constraint, judged on the run's own fields over the skin tissue
    grid, fields, units, _ = read_npz(folder / "fields.npz")
    skin_max = float(fields["max_temperature_degC"][fields["labels"] == 0].max())
    row = re.search(r"<tr[^>]*><td>skin T_max max</td>.*?</tr>", page).group(0)
    assert f'<td class="num">{skin_max:.4g}</td>' in row and f'<td class="num">{40.0 - skin_max:.4g}</td>' in row
    assert "<td>degC</td>" in row and "<td>n/a</td>" in row  # unit; binding: not a planning run


def test_report_of_a_bare_folder_and_of_no_results_folder(run_folder, tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    shutil.copy(run_folder / "fields.npz", folder)  # nothing else: no summary, probes, scenario, structures
    written = write_report(folder, figures=False)
    assert written == ["report.html"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<img" not in page and "Figures were not rendered" in page
    assert "Not available (no summary.json)" in page
    assert "<td>label 2</td>" in page  # structures from the labels field, unnamed
    summary = json.loads((run_folder / "summary.json").read_text())
    assert write_report(folder, figures=False, summary=summary, title="x") == ["report.html"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<td>tumour</td>" in page and "written after this report" in page  # summary.json comes later

    with pytest.raises(InputError, match="fields.npz"):
        write_report(tmp_path / "nowhere")


def test_structures_from_npz_roles_escaping_and_bad_entries(run_folder, tmp_path):
    folder = tmp_path / "odd"
    shutil.copytree(run_folder, folder)
    grid, fields, _, _ = read_npz(folder / "fields.npz")
    evil = "<b>tumour</b>"
    np.savez(folder / "structures.npz", roles_json=np.array(json.dumps({evil: "target", "skin": "boss"})),
             **{evil: fields["labels"] == 2, "skin": fields["labels"] == 0, "nothing": np.zeros(grid.shape, bool),
                "flat": np.ones((3, 3), bool)})
    with pytest.warns(UserWarning) as record:
        structures, source = read_structures(folder, grid, fields["labels"])
    messages = " ".join(str(w.message) for w in record)
    assert "'flat'" in messages and "'boss'" in messages
    assert source == "structures.npz"
    assert [(s.name, s.role) for s in structures] == [(evil, "target"), ("skin", "other")]  # empty mask left out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_report(folder, figures=False)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert evil not in page and "&lt;b&gt;tumour&lt;/b&gt;" in page


def test_slice_point_is_the_target_centroid_else_the_hottest_voxel():
    grid = pt.Grid((8, 6, 5), 1e-3)
    mask = np.zeros(grid.shape, bool)
    mask[2:5, 1, 3] = True  # centroid at index (3, 1, 3)
    hot = np.zeros(grid.shape)
    hot[6, 4, 0] = 50.0
    fields = {"max_temperature_degC": hot}
    assert slice_index(grid, fields, [Structure("t", mask, "target")]) == (3, 1, 3)
    assert slice_index(grid, fields, [Structure("t", mask, "other")]) == (6, 4, 0)
    assert slice_index(grid, {}, []) == (4, 3, 2)


def test_damage_quantity_depends_on_the_therapy():
    cem = np.array([1.0, 300.0])
    low = np.array([1.0, 2.0])
    necrosis = np.array([0.0, 1.0])
    assert [d["quantity"] for d in view.damage_surfaces({"cem43_min": cem})] == ["CEM43"]
    only_pdt = view.damage_surfaces({"cem43_min": low, "pdt_necrosis": necrosis})
    assert [(d["quantity"], d["level"], d["colour"], d["empty"]) for d in only_pdt] == [
        ("PDT necrosis", 0.5, "red", False)]
    both = view.damage_surfaces({"cem43_min": cem, "pdt_necrosis": 0 * necrosis})
    assert [(d["quantity"], d["colour"], d["empty"]) for d in both] == [
        ("CEM43", "red", False), ("PDT necrosis", "darkorange", True)]


def test_slices_outline_structures_in_their_own_colours(tmp_path):
    from phototherm.viz.slices import plot_orthogonal_slices

    grid = pt.Grid((10, 8, 6), 1e-3)
    field = np.arange(grid.size, dtype=float).reshape(grid.shape)
    box = np.zeros(grid.shape, bool)
    box[3:7, 2:6, 1:4] = True
    pure = {"box": (0.0, 1.0, 0.0)}  # pure green: nowhere in the grey colour map
    kwargs = dict(title="t", unit="1", cmap="gray", point=(5e-3, 4e-3, 2e-3))
    with_box = plot_orthogonal_slices(tmp_path / "a.png", grid, field, outlines={"box": box},
                                      outline_colors=pure, **kwargs)
    without = plot_orthogonal_slices(tmp_path / "b.png", grid, field, **kwargs)
    from matplotlib.image import imread

    def green(path):
        rgb = imread(path)[..., :3]
        return int(((rgb[..., 1] > 0.6) & (rgb[..., 0] < 0.3) & (rgb[..., 2] < 0.3)).sum())

    assert green(with_box) > 100 and green(without) == 0
    with pytest.raises(InputError) as info:
        plot_orthogonal_slices(tmp_path / "c.png", grid, field, outlines={"x": box.astype(int), "y": box[1:]},
                               **kwargs)
    assert [p.path for p in info.value.problems] == ["outlines['x'].dtype", "outlines['y'].shape"]


# -- the 3-D view --------------------------------------------------------------------------------------
def test_view_results_screenshot(plan_folder, tmp_path, monkeypatch):
    ok, reason = offscreen()
    if not ok:
        pytest.skip(f"off-screen rendering unavailable: {reason}")
    folder = plan_folder[0]
    path = view.view_results(folder, field="max_temperature_degC", screenshot=tmp_path / "view.png")
    assert path == tmp_path / "view.png"
    width, height = png_size(path)
    assert (width, height) == (1200, 900)
    from matplotlib.image import imread

    rgb = imread(path)[..., :3]
    red = (rgb[..., 0] > 0.8) & (rgb[..., 1] < 0.2) & (rgb[..., 2] < 0.2)
    assert red.sum() > 50  # the CEM43 = 240 min isosurface (the plan reaches it in part of the tumour)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100  # slices coloured by the field, not a blank frame

    import pyvista

    monkeypatch.setattr(pyvista, "OFF_SCREEN", True)  # the interactive path (slice widgets), shown off-screen
    assert view.view_results(folder) is None  # default field: cem43_min


def test_view_results_refuses_bad_folders_and_fields(plan_folder, tmp_path):
    with pytest.raises(InputError, match="fields.vti"):
        view.view_results(tmp_path)
    with pytest.raises(InputError) as info:
        view.view_results(plan_folder[0], field="temperature")
    message = str(info.value)
    assert "field = 'temperature'" in message and "cem43_min" in message and "max_temperature_degC" in message


def test_a_failing_render_process_is_an_error_with_its_reason(tmp_path):
    with pytest.raises(RuntimeError, match=r"exited with status 1: .*fields\.vti"):
        view.render_in_subprocess(tmp_path, tmp_path / "x.png")  # no fields.vti: the child fails and says why
    assert list(tmp_path.iterdir()) == []
