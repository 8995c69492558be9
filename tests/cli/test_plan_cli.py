"""``phototherm plan``: a plan found, confirmed and written; plans that cannot be made refused cleanly.

The planning example (``ptt_plan``) is run on its 1 mm grid with a shorter
horizon so that the whole command (responses, search, confirming simulation,
report) takes a few seconds. The refusals need no simulation at all, except
the infeasible constraint, which is only known once the responses exist: it
must still leave no results folder.
"""

import json

import pytest

from phototherm.io.tables import read_npz
from phototherm.scenario import example_scenario_path, parse_toml

from tests.cli.test_cli import assert_clean_failure, run_cli

tomli_w = pytest.importorskip("tomli_w")


def coarse_plan(**changes) -> dict:
    data = parse_toml(example_scenario_path("ptt_plan").read_text(encoding="utf-8"))
    data["grid"]["spacing_mm"] = 1.0
    data["numerics"]["stop_time_s"] = 200.0
    data["plan"]["exposure_time_s"] = [30.0, 150.0]
    data["outputs"].update(folder="results", figures=False)
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


def write(tmp_path, data) -> str:
    (tmp_path / "plan.toml").write_text(tomli_w.dumps(data), encoding="utf-8")
    return "plan.toml"


def test_plan_is_found_confirmed_written_and_reproducible(tmp_path):
    proc = run_cli(["plan", write(tmp_path, coarse_plan()), "--quiet"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "plan found" in proc.stdout and "constraints hold in the simulation" in proc.stdout, proc.stdout
    folder = tmp_path / "results"
    for name in ("plan.json", "scenario.toml", "structures.json", "structures.npz", "summary.json", "fields.vti",
                 "report.html"):
        assert (folder / name).is_file(), name
    plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    assert plan["plan"]["feasible"] is True
    source = plan["plan"]["plan"]["sources"][0]
    assert 0.5 <= source["power_W"] <= 5.0 and 30.0 <= source["on_time_s"] <= 150.0
    # the prediction is exact for T_max sampled on the 5 s grid at the end of an exposure on that grid
    rows = {row["label"]: row for row in plan["confirmation"]["rows"] if row["what"] == "constraint"}
    skin = next(row for label, row in rows.items() if label.startswith("skin"))
    assert skin["satisfied_simulated"] and abs(skin["difference"]) < 1e-6, skin
    # the planned scenario, run again, gives the same fields
    again = run_cli(["run", "results/scenario.toml", "--out", "again", "--quiet", "--no-figures"], tmp_path,
                    timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    _, first, _, _ = read_npz(folder / "fields.npz")
    _, second, _, _ = read_npz(tmp_path / "again" / "fields.npz")
    assert abs(first["max_temperature_degC"] - second["max_temperature_degC"]).max() < 1e-9
    goals = json.loads((tmp_path / "again" / "structures.json").read_text(encoding="utf-8"))["goals"]
    assert all(c["satisfied"] for c in goals["constraints"]), goals


@pytest.mark.parametrize("changes, needles", [
    pytest.param({"constraints.0.at_most": 20.5}, ["constraints[0].at_most", "no plan within the [plan] bounds"],
                 id="infeasible-skin-limit"),
    pytest.param({"plan": None}, ["plan = (not given)"], id="no-plan"),
    pytest.param({"objective": None}, ["objective = (not given)"], id="no-objective"),
    pytest.param({"plan.sources.0.source": "808nm beam"}, ["plan.sources[0].source", "did you mean"],
                 id="plan-unknown-source"),
    pytest.param({"plan.sources.0.power_W": [5.0, 0.5]}, ["plan.sources[0].power_W", "min <= max"],
                 id="plan-power-bounds-reversed"),
    pytest.param({"objective.quantity": "singlet_oxygen_reacted_uM"}, ["objective.quantity", "[photosensitizer]"],
                 id="pdt-objective-without-sensitizer"),
    pytest.param({"plan.exposure_time_s": None, "plan.fractionation": {"on_s": [30.0], "off_s": [30.0]}},
                 ["plan.exposure_time_s", "fractionation splits a planned exposure"], id="fractionation-without-exposure"),
    pytest.param({"constraints.1.at_most": None}, ["constraints[1].at_most", "a limit"], id="constraint-without-limit"),
])
def test_plans_that_cannot_be_made_are_refused_with_key_paths(tmp_path, changes, needles):
    proc = run_cli(["plan", write(tmp_path, coarse_plan(**changes)), "--quiet"], tmp_path, timeout=300)
    assert_clean_failure(proc, *needles)
    assert not (tmp_path / "results").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], list(tmp_path.iterdir())


def test_vascular_shutdown_plans_on_the_linear_model_and_confirms_with_shutdown(tmp_path):
    """Shutdown makes the model nonlinear: the plan is chosen without it, the confirmation runs with it."""
    from phototherm.scenario import Scenario
    from phototherm.scenario.plan import PlanningWarning, plan_scenario

    data = coarse_plan()
    data["bioheat"]["vascular_shutdown"] = {"quantity": "cem43_min", "threshold": 240.0}
    data["outputs"]["report"] = False
    with pytest.warns(PlanningWarning, match="without vascular shutdown"):
        outcome = plan_scenario(Scenario.from_dict(data), out=tmp_path / "res", progress=False)
    assert outcome.plan_result.responses.model.vascular_shutdown is None
    assert "perfusion_per_s" in outcome.result.fields  # the confirming run had shutdown
    assert set(outcome.timings) == {"build", "responses", "search", "confirm", "total"}
