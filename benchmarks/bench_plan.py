#!/usr/bin/env python
"""End-to-end plan time: ``phototherm plan`` on the example scenarios, phase by phase.

For each device and scenario, runs :func:`phototherm.scenario.plan.plan_scenario`
(what ``phototherm plan SCENARIO`` runs) and prints a table of

* **build**: geometry, tissues, nanoparticles and light fields (the diffusion
  solve), from the moment the scenario is loaded;
* **responses**: the N + 1 simulations of the unit responses
  (:class:`~phototherm.planning.superposition.UnitResponses`), recording the
  voxels of the structures the goals name;
* **search**: the optimiser (every candidate evaluated by superposition, and
  the PDT kinetics at the recorded voxels for photodynamic goals), with the
  number of plans evaluated;
* **confirm**: the full simulation of the chosen plan plus writing the results
  folder and its report (figures off with ``--no-figures``);

(the phases as :attr:`PlannedScenario.timings` records them)
* **total** wall time, and the chosen plan's objective, predicted and simulated.

The scenarios are those shipped with phototherm: ``ptt_plan`` (as shipped: a 1 mm
grid, 1 source, exposure 60-600 s, 5 s recording grid) and optionally
``ptt_plan`` refined (``--spacing-mm``), and ``pdt_plan`` (the PDT demo with a
power / exposure / fractionation plan added here, 0.5 mm grid; minutes on a
CPU). Results folders go to a temporary directory.

Run ``python benchmarks/bench_plan.py --help``; record the output in
``benchmarks/RESULTS.md`` with ``--markdown``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import devices_and_dtypes, print_markdown_header, print_table, run_header  # noqa: E402

PDT_PLAN = {
    "exposure_time_s": [300.0, 1320.0], "recording_interval_s": 5.0,
    "sources": [{"source": "630 nm beam, fractionated", "power_W": [0.02, 0.2]}],
    "fractionation": {"on_s": [60.0, 120.0], "off_s": [60.0], "include_continuous": True},
}


def scenario(name: str, spacing_mm: float | None):
    from phototherm.scenario import example_scenario_path, load_scenario

    if name == "pdt_plan":
        base = load_scenario(example_scenario_path("pdt_demo"))
        data = base.to_dict()
        data["plan"] = PDT_PLAN
    else:
        data = load_scenario(example_scenario_path(name)).to_dict()
    if spacing_mm is not None:
        data["grid"]["spacing_mm"] = spacing_mm
    from phototherm.scenario import Scenario

    return Scenario.from_dict(data)


def run_one(name, spacing_mm, device, dtype, figures, folder):
    from phototherm.scenario import plan as planning

    s = scenario(name, spacing_mm)
    if dtype is not None:
        s = s.model_copy(update={"numerics": s.numerics.model_copy(update={"dtype": dtype})})
    t0 = time.perf_counter()
    outcome = planning.plan_scenario(s, out=Path(folder) / f"{name}-{device}", device=device, progress=False,
                                     figures=figures)
    total = time.perf_counter() - t0
    t = outcome.timings
    r = outcome.plan_result
    objective = next(row for row in outcome.confirmation.rows if row["what"] == "objective")
    grid = outcome.result.grid
    return {
        "scenario": name + (f" @{spacing_mm:g} mm" if spacing_mm else ""),
        "device": f"{device} {r.responses.dtype}",
        "grid": "x".join(map(str, grid.shape)),
        "recorded": f"{r.responses.voxels.size}",
        "samples": f"{r.responses.n_samples}",
        "build [s]": f"{t['build']:.1f}",
        "responses [s]": f"{t['responses']:.1f}",
        "search [s]": f"{t['search']:.1f}",
        "plans": f"{r.evaluations}",
        "confirm [s]": f"{t['confirm']:.1f}",
        "total [s]": f"{total:.1f}",
        "objective pred / sim": f"{objective['predicted']:.4g} / {objective['simulated']:.4g}",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=None, help="cpu,gpu (default: cpu, and gpu when usable)")
    parser.add_argument("--dtypes", default="float64", help="float32,float64 (default: %(default)s)")
    parser.add_argument("--scenarios", default="ptt_plan", help="comma-separated: ptt_plan, pdt_plan "
                                                                 "(default: %(default)s)")
    parser.add_argument("--spacing-mm", type=float, default=None, help="override the grid spacing [mm]")
    parser.add_argument("--no-figures", action="store_true", help="skip figures and the 3-D view")
    parser.add_argument("--markdown", action="store_true", help="print Markdown for RESULTS.md")
    args = parser.parse_args(argv)
    warnings.formatwarning = lambda message, category, *rest, **kw: f"warning: {message}\n"
    devices, dtypes = devices_and_dtypes(parser, args)
    header, devices, _ = run_header(devices, cpu_note="NumPy (explicit stencil threads, PDT twin single-threaded)")
    if args.markdown:
        print_markdown_header(header)
    else:
        for key, value in header:
            print(f"{key}: {value}")
        print()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            for device in devices:
                for dtype in dtypes:
                    rows.append(run_one(name, args.spacing_mm, device, dtype, not args.no_figures, folder))
    columns = list(rows[0])
    print_table(columns, [[row[c] for c in columns] for row in rows], args.markdown, left=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
