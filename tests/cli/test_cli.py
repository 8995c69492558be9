"""The command line as a user runs it: subprocesses from a scratch directory.

Checks the promises of the CLI: ``--help`` documents unit-suffixed flags; a
run writes every result file, with units, readable by PyVista; bad input exits
with status 2 and one error line per problem, never a traceback; an
interrupted run exits with 130 and leaves nothing that looks like a result
(and leaves an earlier result untouched).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import phototherm
from phototherm import cli
from phototherm.backend import DEVICE_ENV_VAR, gpu_status

SHORT_DEMO = ["demo", "--total-time-s", "30", "--heating-time-s", "20", "--quiet"]
RESULT_FILES = ("fields.vti", "fields.npz", "probes.csv", "summary.json", "snapshots.pvd", "peak_temperature.png",
                "fluence_rate.png", "slices_temperature.png", "slices_cem43.png", "slices_fluence.png", "dvh.png",
                "probes.png", "report.html")


# -- helpers ---------------------------------------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != DEVICE_ENV_VAR}
    env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env.update(extra)
    return env


def console_script() -> str:
    folder = Path(sys.executable).parent
    found = shutil.which("phototherm", path=str(folder))
    if found is None:
        pytest.fail(f"the 'phototherm' console script is not installed next to {sys.executable}")
    return found


LAUNCHERS = {
    "python -m phototherm": lambda: [sys.executable, "-m", "phototherm"],
    "console script": lambda: [console_script()],
}


def run_cli(args, cwd, *, launcher="python -m phototherm", env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        LAUNCHERS[launcher]() + [str(a) for a in args],
        cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess, *needles: str) -> list[str]:
    """Exit status 2, error lines on stderr naming ``needles``, and no traceback anywhere."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit status {proc.returncode}, expected 2\n{out}"
    assert "Traceback" not in out, out
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert errors, f"no error line on stderr:\n{proc.stderr}"
    assert all(line.startswith("phototherm") for line in errors), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in stderr:\n{proc.stderr}"
    return errors


def hidden_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- version, help, info -------------------------------------------------------------------
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_version(tmp_path, launcher):
    proc = run_cli(["--version"], tmp_path, launcher=launcher)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"phototherm {phototherm.__version__}"


def test_help_lists_the_subcommands(tmp_path):
    proc = run_cli(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and "info" in proc.stdout
    assert "--version" in proc.stdout


def test_demo_help_documents_unit_suffixed_flags(tmp_path):
    proc = run_cli(["demo", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    assert "options:" in text or "optional arguments:" in text
    options = re.split(r"options:|optional arguments:", text, maxsplit=1)[1]
    for flag, unit in (("--power-W", "[W]"), ("--heating-time-s", "[s]"), ("--total-time-s", "[s]"),
                       ("--gold-ug-per-mL", "[ug of gold per mL]")):
        assert flag in text
        # the help of each flag states its unit
        described = re.search(re.escape(flag) + r" [A-Z_]+ (.*?)(?= --[a-z]|$)", options)
        assert described, f"{flag} is not described:\n{proc.stdout}"
        assert unit in described.group(1), f"{flag}: {described.group(1)!r} does not state the unit {unit}"
    assert "--device" in options and DEVICE_ENV_VAR in options


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_info(tmp_path, launcher):
    proc = run_cli(["info"], tmp_path, launcher=launcher)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(rf"^phototherm\s+{re.escape(phototherm.__version__)}$", proc.stdout, re.M), proc.stdout
    assert re.search(rf"^numpy\s+{re.escape(np.__version__)}$", proc.stdout, re.M), proc.stdout
    match = re.search(r"^auto device\s+(cpu|gpu) \((.+)\)$", proc.stdout, re.M)
    assert match, f"no 'auto device' line with a reason:\n{proc.stdout}"
    usable, reason = gpu_status()
    assert match.group(1) == ("gpu" if usable else "cpu")
    assert reason in match.group(2)


def test_info_shows_the_device_environment_variable(tmp_path):
    proc = run_cli(["info"], tmp_path, env=clean_env(**{DEVICE_ENV_VAR: "cpu"}))
    assert proc.returncode == 0, proc.stderr
    assert f"{DEVICE_ENV_VAR} = cpu" in proc.stdout


# -- a short demo ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One short demo run, shared by the tests that inspect what it wrote."""
    cwd = tmp_path_factory.mktemp("demo")
    out = cwd / "res"
    proc = run_cli(SHORT_DEMO + ["--out", out], cwd)
    return proc, out


def test_demo_succeeds_and_prints_peak_temperatures(demo_run):
    proc, out = demo_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    tumour = re.search(r"peak tumour temperature\s+([-\d.]+) C", proc.stdout)
    skin = re.search(r"peak skin temperature\s+([-\d.]+) C", proc.stdout)
    assert tumour and skin, proc.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    per_tissue = summary["metrics"]["per_tissue"]
    # the printed numbers are the recorded ones
    assert float(tumour.group(1)) == pytest.approx(per_tissue["tumour"]["peak_temperature_C"], abs=0.006)
    assert float(skin.group(1)) == pytest.approx(per_tissue["skin"]["peak_temperature_C"], abs=0.006)
    assert float(tumour.group(1)) > 40.0 > float(skin.group(1))  # heated tumour, air-cooled skin
    assert str(out) in proc.stdout


def test_demo_writes_every_result_file(demo_run):
    proc, out = demo_run
    assert proc.returncode == 0, proc.stderr
    for name in RESULT_FILES:
        assert (out / name).is_file(), f"{name} missing; folder holds {sorted(os.listdir(out))}"
        assert (out / name).stat().st_size > 0, name
    assert (out / "peak_temperature.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert hidden_leftovers(out.parent) == []  # no staging folder left beside it


def test_demo_summary(demo_run):
    proc, out = demo_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "complete"
    assert summary["program"] == {"name": "phototherm", "version": phototherm.__version__}
    assert summary["device"]["backend"] in ("cpu", "gpu")
    assert summary["device"]["dtype"] in ("float32", "float64")
    assert summary["device"]["reason"]
    units = summary["units"]
    assert units["temperature_degC"] == "degC"
    assert units["max_temperature_degC"] == "degC"
    assert units["cem43_min"] == "min"
    assert units["fluence_rate_W_per_m2"] == "W/m^2" and units["fluence_J_per_m2"] == "J/m^2"
    [beam] = summary["inputs"]["model"]["heat_sources"]
    assert beam["light"]["method"] == "diffusion"
    assert beam["light"]["source"]["wavelength_nm"] == pytest.approx(808.0)
    assert 0 < beam["light"]["absorbed_fraction_in_grid"] < 1
    with np.load(out / "fields.npz", allow_pickle=False) as npz:
        npz_fields = {k for k in npz.files if npz[k].shape == tuple(summary["inputs"]["model"]["grid"]["shape"])}
    assert npz_fields and npz_fields <= set(units), f"fields without units: {npz_fields - set(units)}"
    assert all(isinstance(u, str) and u for u in units.values())
    residual = summary["energy_balance"]["relative_residual"]
    assert abs(residual) < 1e-10
    assert set(RESULT_FILES) <= set(summary["files"])


def test_demo_fields_open_in_pyvista_with_units(demo_run):
    pv = pytest.importorskip("pyvista")
    proc, out = demo_run
    mesh = pv.read(out / "fields.vti")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert tuple(c - 1 for c in mesh.dimensions) == tuple(summary["inputs"]["model"]["grid"]["shape"])
    assert "temperature_degC" in mesh.cell_data
    assert str(np.asarray(mesh.field_data["unit:temperature_degC"]).ravel()[0]) == "degC"
    for name in mesh.cell_data.keys():
        key = f"unit:{name}"
        assert key in mesh.field_data, f"no unit recorded for {name}"
        assert str(np.asarray(mesh.field_data[key]).ravel()[0]) == summary["units"][name]
    t = mesh.cell_data["temperature_degC"]
    assert np.all(np.isfinite(t)) and 20.0 < float(t.min()) <= float(t.max()) < 100.0


def test_demo_snapshots_and_probes_carry_units(demo_run):
    pv = pytest.importorskip("pyvista")
    proc, out = demo_run
    reader = pv.get_reader(str(out / "snapshots.pvd"))
    assert len(reader.time_values) >= 2
    assert reader.time_values[-1] == pytest.approx(30.0)
    reader.set_active_time_value(reader.time_values[-1])
    last = reader.read()[0]
    assert str(np.asarray(last.field_data["unit:temperature_degC"]).ravel()[0]) == "degC"
    header = (out / "probes.csv").read_text(encoding="utf-8").splitlines()[:12]
    assert any("degC" in line for line in header), header
    assert any("tumour centre" in line for line in header), header


def test_demo_with_monte_carlo_light(tmp_path):
    proc = run_cli(["demo", "--light", "monte-carlo", "--photons", "3000", "--total-time-s", "10",
                    "--heating-time-s", "5", "--no-figures", "--out", "mc"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "light (monte-carlo)" in proc.stdout
    summary = json.loads((tmp_path / "mc" / "summary.json").read_text(encoding="utf-8"))
    light = summary["inputs"]["model"]["heat_sources"][0]["light"]
    assert light["method"] == "monte-carlo" and light["photons"] == 3000


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["demo", "--power-W", "-1"], ["--power-W", "-1"]),
        (["demo", "--total-time-s", "nan"], ["--total-time-s", "nan"]),
        (["demo", "--heating-time-s", "0"], ["--heating-time-s"]),
        (["demo", "--power-W", "one"], ["--power-W", "one"]),
        (["demo", "--device", "tpu"], ["--device", "tpu"]),
        (["demo", "--dtype", "float16"], ["--dtype", "float16"]),
        (["demo", "--bogus-flag"], ["--bogus-flag"]),
        (["demo", "--gold-ug-per-mL", "-1"], ["--gold-ug-per-mL", "-1"]),
        (["demo", "--light", "monte-carlo", "--photons", "0"], ["--photons", "0"]),
        (["demo", "--light", "raytracing"], ["--light", "raytracing"]),
        (["frobnicate"], ["frobnicate"]),
    ],
    ids=["negative-power", "nan-time", "zero-heating", "non-numeric", "tpu", "dtype", "unknown-flag", "negative-gold",
         "zero-photons", "unknown-light-solver", "subcommand"],
)
def test_bad_flags_exit_2_without_traceback(tmp_path, args, needles):
    proc = run_cli(args + ["--out", "res"] if args[0] == "demo" else args, tmp_path)
    assert_clean_failure(proc, *needles)
    assert not (tmp_path / "res").exists()
    assert hidden_leftovers(tmp_path) == []


def test_every_bad_flag_is_reported_at_once(tmp_path):
    proc = run_cli(["demo", "--power-W", "-1", "--total-time-s", "inf", "--heating-time-s", "nan", "--out", "res"],
                   tmp_path)
    errors = assert_clean_failure(proc, "--power-W", "--total-time-s", "--heating-time-s")
    for flag in ("--power-W", "--total-time-s", "--heating-time-s"):
        assert sum(flag in line for line in errors) == 1, errors  # one line per problem
    assert not (tmp_path / "res").exists()


def test_bad_device_from_environment(tmp_path):
    proc = run_cli(SHORT_DEMO + ["--out", "res"], tmp_path, env=clean_env(**{DEVICE_ENV_VAR: "tpu"}))
    assert_clean_failure(proc, DEVICE_ENV_VAR, "tpu")
    assert not (tmp_path / "res").exists()


@pytest.mark.skipif(gpu_status()[0], reason="a GPU is usable here")
def test_gpu_without_a_gpu_gives_a_one_line_reason(tmp_path):
    proc = run_cli(SHORT_DEMO + ["--device", "gpu", "--out", "res"], tmp_path)
    errors = assert_clean_failure(proc, "GPU")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert gpu_status()[1] in errors[0]
    assert not (tmp_path / "res").exists()


def test_out_path_that_is_a_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    proc = run_cli(["demo", "--total-time-s", "5", "--heating-time-s", "2", "--quiet", "--no-figures",
                    "--out", target], tmp_path)
    # the user wrote --out; the message should name that flag and the path given
    assert_clean_failure(proc, str(target), "--out")
    assert target.read_text() == "my notes"
    assert hidden_leftovers(tmp_path) == []


# -- interruption -----------------------------------------------------------------------------------
def test_interrupted_run_exits_130_and_leaves_no_result(tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()
    err_path, out_path = tmp_path / "stderr.txt", tmp_path / "stdout.txt"
    with open(err_path, "w", encoding="utf-8") as err, open(out_path, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phototherm", "demo", "--total-time-s", "3000", "--out", "res"],
            cwd=cwd, env=clean_env(), stdout=out, stderr=err,
        )
        try:
            # Stepping has begun once the progress bar appears (tqdm shows it after 2 s of
            # stepping) or, as a fallback, a little after the line printed just before the run.
            deadline = time.monotonic() + 90
            started_at = None
            while time.monotonic() < deadline and proc.poll() is None:
                if "bioheat to" in err_path.read_text(encoding="utf-8", errors="replace"):
                    break
                if started_at is None and "backend" in out_path.read_text(encoding="utf-8", errors="replace"):
                    started_at = time.monotonic()
                if started_at is not None and time.monotonic() - started_at > 3.0:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the long demo ended before it could be interrupted"
            assert started_at is not None or "bioheat to" in err_path.read_text(encoding="utf-8", errors="replace"), (
                "the demo did not start stepping within 90 s"
            )
            proc.send_signal(signal.SIGINT)
            returncode = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    assert returncode == 130, f"exit status {returncode}\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr + stdout
    assert "interrupted" in stderr
    assert not (cwd / "res").exists()
    assert list(cwd.glob(".res.*")) == [], list(cwd.iterdir())
    assert list(cwd.iterdir()) == []


_SLOW_SUMMARY = """
import sys, time
import phototherm.io.tables as tables

def write_json(*args, **kwargs):  # every other file is staged by now; wait here to be interrupted
    print("WRITING SUMMARY", flush=True)
    time.sleep(120)

tables.write_json = write_json
from phototherm.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_interrupt_while_writing_leaves_no_partial_folder(tmp_path):
    # A real SIGINT while the result folder is being staged: the staging folder must go.
    cwd = tmp_path / "work"
    cwd.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SUMMARY] + SHORT_DEMO + ["--no-figures", "--out", "res"],
        cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        seen = []
        for line in proc.stdout:  # blocks until the marker (or EOF if the run failed)
            seen.append(line)
            if "WRITING SUMMARY" in line:
                break
        assert seen and "WRITING SUMMARY" in seen[-1], "".join(seen) + proc.stderr.read()
        staged = list(cwd.glob(".res.partial-*"))
        assert len(staged) == 1 and (staged[0] / "fields.vti").is_file()  # the write really was under way
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stdout + stderr
    assert list(cwd.iterdir()) == [], list(cwd.iterdir())


@pytest.fixture(scope="module")
def earlier_result(tmp_path_factory):
    """A complete results folder from an earlier (in-process) run."""
    folder = tmp_path_factory.mktemp("earlier") / "res"
    mp = pytest.MonkeyPatch()
    mp.delenv(DEVICE_ENV_VAR, raising=False)
    try:
        code = cli.main(["demo", "--total-time-s", "20", "--heating-time-s", "10", "--quiet", "--no-figures",
                         "--device", "cpu", "--out", str(folder)])
    finally:
        mp.undo()
    assert code == 0
    assert json.loads((folder / "summary.json").read_text())["status"] == "complete"
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _interrupt_while_stepping(monkeypatch):
    from phototherm.simulation import Simulation

    original, calls = Simulation._advance, []

    def advance(self, t0, t1):
        calls.append(t1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return original(self, t0, t1)

    monkeypatch.setattr(Simulation, "_advance", advance)
    return calls


def _interrupt_while_writing(monkeypatch):
    # summary.json is written last, after every other file is in the staging folder
    import phototherm.io.tables as tables

    calls = []

    def write_json(path, *args, **kwargs):
        calls.append(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(tables, "write_json", write_json)
    return calls


@pytest.mark.parametrize("when", [_interrupt_while_stepping, _interrupt_while_writing], ids=["stepping", "writing"])
def test_interrupted_run_keeps_the_earlier_result(tmp_path, monkeypatch, capsys, earlier_result, when):
    folder = tmp_path / "res"
    shutil.copytree(earlier_result, folder)
    before = _snapshot(folder)
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    calls = when(monkeypatch)

    code = cli.main(["demo", "--total-time-s", "30", "--heating-time-s", "20", "--quiet", "--no-figures",
                     "--device", "cpu", "--out", str(folder)])

    assert calls, "the interruption was never triggered"
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert _snapshot(folder) == before  # the earlier result, byte for byte
    assert json.loads((folder / "summary.json").read_text())["status"] == "complete"
    assert hidden_leftovers(tmp_path) == []  # no .res.partial-* or .res.old-* left behind


# -- the PDT example ----------------------------------------------------------------------------------
def test_pdt_demo_compares_continuous_and_fractionated_light(tmp_path):
    proc = run_cli(["pdt-demo", "--fluence-J-per-cm2", "3", "--irradiance-mW-per-cm2", "100",
                    "--fraction-on-s", "10", "--fraction-off-s", "10", "--no-figures", "--quiet", "--out", "pdt"],
                   tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "pdt"
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    continuous, fractionated = comparison["schedules"]["continuous"], comparison["schedules"]["fractionated"]
    assert continuous["treatment_time_s"] == pytest.approx(30.0)
    assert fractionated["treatment_time_s"] == pytest.approx(50.0)   # 10 on, 10 off, 10 on, 10 off, 10 on
    assert fractionated["tumour_mean_singlet_oxygen_reacted_uM"] > 0
    # same light dose in both: the mean fluence in the tumour agrees (J/cm^2)
    assert fractionated["tumour_mean_fluence_J_per_cm2"] == pytest.approx(continuous["tumour_mean_fluence_J_per_cm2"])
    assert continuous["tumour_mean_fluence_J_per_cm2"] > 0
    for name in ("continuous", "fractionated"):
        summary = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert summary["units"]["singlet_oxygen_reacted_uM"] == "uM"
        assert summary["inputs"]["simulation"]["photodynamic"]["sensitizer"]["name"] == "photofrin"
    assert "fractionated" in proc.stdout and "continuous" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [(["--irradiance-mW-per-cm2", "-5"], ["--irradiance-mW-per-cm2"]),
     (["--fraction-on-s", "7"], ["--fraction-on-s", "multiple"]),
     (["--fluence-J-per-cm2", "nan"], ["--fluence-J-per-cm2"])],
    ids=["negative-irradiance", "off-step-fraction", "nan-fluence"],
)
def test_pdt_demo_bad_flags_exit_2(tmp_path, args, needles):
    proc = run_cli(["pdt-demo", *args, "--out", "res"], tmp_path)
    assert_clean_failure(proc, *needles)
    assert not (tmp_path / "res").exists()
