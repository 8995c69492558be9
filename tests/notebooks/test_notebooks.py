"""The numbered notebooks run as a user runs them, and are committed clean.

Each notebook is executed with nbclient in a fresh ``python3`` kernel whose
working directory is ``notebooks/``, with ``PHOTOTHERM_NOTEBOOK_SMALL=1``
(coarse grids and short runs: a few seconds each on a 2-core CPU), the CPU
backend (the same numbers on every machine) and its results written into a
temporary folder (``PHOTOTHERM_NOTEBOOK_RESULTS``). The GPU benchmark runs
only where a GPU is usable (marked ``gpu``); elsewhere a test checks that it
says it is skipped and runs nothing else.

The committed notebooks carry no outputs, execution counts or extra metadata,
and are exactly what ``notebooks/make_notebooks.py`` (their source) writes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

from phototherm.backend import gpu_status

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
FILES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
GPU_NOTEBOOKS = ("06_gpu_benchmark.ipynb",)
CPU_NOTEBOOKS = [name for name in FILES if name not in GPU_NOTEBOOKS]
#: Longest a single cell may run at small size [s]: the longest takes ~5 s on a 2-core CPU.
CELL_TIMEOUT_S = 300
FIRST_LINE = 'SMALL = os.environ.get("PHOTOTHERM_NOTEBOOK_SMALL") == "1"'

#: What each notebook must leave behind (files under its results folder) and print.
EXPECTED = {
    "01_quick_start.ipynb": (["run/summary.json", "run/fields.vti", "dvh_CEM43.png", "peak_temperature.png"],
                             ["V(CEM43 >= 240)"]),
    "02_mesh_to_grid.ipynb": (["run/summary.json", "flank_block_results.vtu"], ["Dice"]),
    "03_pdt_plan.ipynb": (["continuous/summary.json", "60_s_on__60_s_off/summary.json"], ["V(1O2rx >= thr)"]),
    "04_combined_ptt_pdt.ipynb": (["run/fields.npz"], ["combined == thermal x PDT: True"]),
    "05_plan_optimisation.ipynb": (["confirmation/summary.json"], ["plan found", "constraints hold in the simulation", "no feasible plan",
                                        "confirm: cannot confirm the plan"]),
}


def read_json(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def code_sources(name: str) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in read_json(name)["cells"] if c["cell_type"] == "code"]


def execute(name: str, results: Path, monkeypatch, *, device: str | None = "cpu"):
    """Run a notebook as ``jupyter`` would, from notebooks/; return it with its outputs and the printed text."""
    nbformat = pytest.importorskip("nbformat", reason="install the test extra: pip install -e '.[test]'")
    nbclient = pytest.importorskip("nbclient", reason="install the test extra: pip install -e '.[test]'")
    monkeypatch.setenv("PHOTOTHERM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("PHOTOTHERM_NOTEBOOK_RESULTS", str(results))
    if device is None:
        monkeypatch.delenv("PHOTOTHERM_DEVICE", raising=False)
    else:
        monkeypatch.setenv("PHOTOTHERM_DEVICE", device)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()          # raises CellExecutionError, with the cell and its traceback, if a cell fails
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    return nb, text


# -- the committed notebooks ----------------------------------------------------------------
def test_notebooks_are_numbered_in_sequence():
    numbers = [int(re.match(r"(\d\d)_\w+\.ipynb$", name).group(1)) for name in FILES]
    assert numbers == list(range(1, len(FILES) + 1)), FILES
    assert set(EXPECTED) | set(GPU_NOTEBOOKS) == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_notebook_is_committed_without_outputs(name):
    nb = read_json(name)
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, nb["metadata"]
    for i, cell in enumerate(nb["cells"]):
        assert cell.get("metadata", {}) == {}, f"cell {i} has metadata {cell['metadata']}"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
        assert "attachments" not in cell, f"cell {i} has attachments"


@pytest.mark.parametrize("name", FILES)
def test_notebook_starts_with_the_small_switch_and_uses_no_absolute_path(name):
    sources = code_sources(name)
    assert any(line.startswith(FIRST_LINE) for line in sources[0].splitlines()), sources[0]
    for source in sources:
        assert not re.search(r"['\"](/home/|/work/|/tmp/|/Users/|[A-Z]:\\\\)", source), source


@pytest.mark.parametrize("name", FILES)
def test_notebook_code_is_pyflakes_clean(name):
    """Unused imports and undefined names, over the code cells joined (IPython magics left out)."""
    api = pytest.importorskip("pyflakes.api")
    reporter = pytest.importorskip("pyflakes.reporter")
    code = "\n\n".join(code_sources(name))
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("%"))
    out, err = io.StringIO(), io.StringIO()
    warnings = api.check(code, name, reporter.Reporter(out, err))
    assert warnings == 0, out.getvalue() + err.getvalue()


def test_notebooks_match_their_generator():
    pytest.importorskip("nbformat", reason="install the test extra: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert sorted(generator.NOTEBOOKS) == FILES
    for name in FILES:
        assert (NOTEBOOKS / name).read_text(encoding="utf-8") == generator.notebook_text(name), (
            f"{name} differs from notebooks/make_notebooks.py: edit the script and run it")


# -- execution ------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", CPU_NOTEBOOKS)
def test_notebook_runs_at_small_size(name, tmp_path, monkeypatch):
    _, text = execute(name, tmp_path, monkeypatch)
    folder = tmp_path / name[: -len(".ipynb")]
    files, printed = EXPECTED[name]
    for relative in files:
        assert (folder / relative).is_file(), f"{name} did not write {relative}"
    for words in printed:
        assert words in text, f"{name} did not print {words!r}"
    assert "small (CI) size" in text


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.parametrize("name", GPU_NOTEBOOKS)
def test_gpu_notebook_runs_at_small_size(name, tmp_path, monkeypatch):
    _, text = execute(name, tmp_path, monkeypatch, device=None)
    assert "Mcell upd/s" in text and "gpu" in text


@pytest.mark.parametrize("name", GPU_NOTEBOOKS)
def test_gpu_notebook_says_it_is_skipped_without_a_gpu(name, tmp_path, monkeypatch):
    usable, _ = gpu_status()
    if usable:
        pytest.skip("a GPU is usable here: test_gpu_notebook_runs_at_small_size runs the benchmark")
    nb, text = execute(name, tmp_path, monkeypatch, device=None)
    assert "the benchmark is skipped" in text
    # nothing ran past the GPU check: no figure, no table
    assert not any(out.output_type == "display_data" for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.outputs)
    assert "Mcell upd/s" not in text
