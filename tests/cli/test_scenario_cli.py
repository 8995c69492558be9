"""Scenario commands as a user runs them: init, check, run, schema."""

from __future__ import annotations

import json

from phototherm.scenario import example_scenario_path, load_scenario
from tests.cli.test_cli import assert_clean_failure, run_cli


def test_init_check_run_round_trip(tmp_path):
    proc = run_cli(["init", "plan.toml"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(["check", "plan.toml"], tmp_path)
    assert proc.returncode == 0 and "plan.toml: valid" in proc.stdout, proc.stdout + proc.stderr
    # a coarser, shorter copy of the template runs end to end
    text = (tmp_path / "plan.toml").read_text(encoding="utf-8")
    scenario = load_scenario(tmp_path / "plan.toml")
    small = scenario.to_dict()
    small["grid"]["spacing_mm"] = 1.0
    small["numerics"]["stop_time_s"] = 30.0
    from phototherm.scenario import dumps_toml, scenario_from_dict

    (tmp_path / "small.toml").write_text(dumps_toml(scenario_from_dict(small, base_dir=tmp_path)), encoding="utf-8")
    assert text  # the template itself is untouched
    proc = run_cli(["run", "small.toml", "--out", "res", "--quiet", "--no-figures"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "res"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "complete"
    structures = json.loads((out / "structures.json").read_text(encoding="utf-8"))["structures"]
    assert structures["tumour"]["T_max"]["unit"] == "degC" and structures["tumour"]["T_max"]["max"] > 37.0
    assert load_scenario(out / "scenario.toml") == scenario_from_dict(small, base_dir=tmp_path)


def test_bad_scenario_is_reported_and_nothing_is_written(tmp_path):
    (tmp_path / "bad.toml").write_text(
        'phototherm_scenario = 1\n[grid]\nspacing_mm = 0.5\nspacng = 1\n'
        '[geometry]\ntype = "sphere_in_block"\nradius_mm = -3\n'
        '[[sources]]\nname = "fibre"\ntype = "isotropic_point"\nwavelength_nm = 2000\npower_W = 0.1\n'
        'position_mm = [5, 5, 5]\n[numerics]\nstop_time_s = 10\n', encoding="utf-8")
    for command in (["check", "bad.toml"], ["run", "bad.toml", "--out", "res"]):
        proc = run_cli(command, tmp_path)
        assert_clean_failure(proc, "grid.spacng", "spacing_mm", "geometry.radius_mm", "sources[0].wavelength_nm")
    assert not (tmp_path / "res").exists()


def test_schema_is_written(tmp_path):
    proc = run_cli(["schema", "--out", "scenario.schema.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((tmp_path / "scenario.schema.json").read_text(encoding="utf-8"))
    assert "properties" in schema and "sources" in schema["properties"]


def test_example_scenarios_are_shipped():
    for name in ("ptt_demo", "pdt_demo"):
        assert load_scenario(example_scenario_path(name)).title


def test_example_scenarios_include_the_plan_example():
    scenario = load_scenario(example_scenario_path("ptt_plan"))
    assert scenario.plan is not None and scenario.objective is not None


def test_run_reports_the_sensitizer_threshold_and_judges_the_goals(tmp_path):
    """structures.json of a PDT run: V at Photofrin's [1O2]rx threshold, and the scenario's goals judged."""
    from phototherm.scenario import Scenario
    from phototherm.scenario.build import run_scenario

    data = load_scenario(example_scenario_path("pdt_demo")).to_dict()
    data["grid"]["spacing_mm"] = 1.0
    data["numerics"].update(stop_time_s=300.0)
    data["sources"][0]["schedule"] = {"type": "constant"}
    data["outputs"].update(figures=False, report=False, snapshot_interval_s=None)
    data["outputs"].pop("snapshot_interval_s")
    result, folder = run_scenario(Scenario.from_dict(data), out=tmp_path / "res", progress=False)
    report = json.loads((folder / "structures.json").read_text(encoding="utf-8"))
    levels = [row["level"] for row in report["structures"]["tumour"]["1O2rx"]["V"]]
    assert 560.0 in levels, levels
    goals = report["goals"]
    assert goals["objective"]["label"].startswith("tumour V(1O2rx >= 560") and goals["objective"]["value"] is not None
    skin = goals["constraints"][0]
    assert skin["key"] == "constraints[0].at_most" and skin["satisfied"] is True
