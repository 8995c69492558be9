"""Command-line interface: thin subcommands over the library.

``phototherm demo``  run the built-in photothermal example and write its results
``phototherm pdt-demo``  run the built-in PDT example (continuous vs fractionated light)
``phototherm run``  run a scenario file and write its results folder
``phototherm plan``  optimise a scenario's [plan], confirm it with a full simulation, write the results
``phototherm view``  open a results folder in an interactive 3-D window (PyVista)
``phototherm report``  (re)write report.html and the figures of a results folder
``phototherm init``  write a commented scenario template
``phototherm check``  validate a scenario file without running it
``phototherm schema``  the scenario format as JSON Schema (for editors)
``phototherm validate``  run every physics module's reference cases; write a commissioning report
``phototherm info``  versions, the backend ``auto`` would choose, the GPU

Exit status: 0 on success, 1 when a validation check fails, 2 on bad input
(one line per problem, no traceback), 130 when interrupted (no results
written).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from ._version import __version__
from .errors import PhotothermError

__all__ = ["main"]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``phototherm`` console script."""
    import warnings

    warnings.formatwarning = lambda message, category, *rest, **kw: f"phototherm: warning: {message}\n"
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        print("phototherm: error: a command is required (see the list above)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.run(args)
    except PhotothermError as exc:
        for line in str(exc).splitlines():
            print(f"phototherm: error: {line.strip()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("phototherm: interrupted; no results were written", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phototherm",
        description="Dose planning for photothermal and photodynamic therapy (Pennes bioheat, thermal dose).",
        epilog="first steps:\n"
               "  phototherm demo                                    run the example, open phototherm-demo/report.html\n"
               "  phototherm init my_plan.toml --example ptt_plan    a scenario with a plan (or no --example: a template)\n"
               "  phototherm check my_plan.toml                      every problem at once, with its key path\n"
               "  phototherm plan my_plan.toml --out my-plan         optimise, confirm, write my-plan/report.html\n"
               "  phototherm view my-plan                            look at it in 3-D\n"
               "`phototherm COMMAND --help` explains each command; exit status 2 means bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"phototherm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run the built-in photothermal example (808 nm laser, gold nanorods in a tumour)",
        description=(
            "Photothermal therapy of a tumour under skin and fat, loaded with gold nanorods, under an "
            "808 nm flat-top beam: computes the light field (diffusion or Monte Carlo), heats with "
            "Q = mua x fluence rate, prints peak tumour and skin temperatures and the tumour volume "
            "above 240 CEM43, and writes fields (.vti, .npz: fluence rate, heat source, temperature, "
            "dose), a probe CSV, a summary JSON and a PNG slice."
        ),
    )
    demo.add_argument("--out", type=Path, default=Path("phototherm-demo"),
                      help="results folder, replaced if it exists (default: %(default)s)")
    _add_device_arguments(demo)
    demo.add_argument("--power-W", type=float, default=None, dest="power_W",
                      help="laser power while on [W] (default 1.5, i.e. 1.9 W/cm^2 on a 5 mm radius)")
    demo.add_argument("--heating-time-s", type=float, default=None, dest="heating_time_s",
                      help="irradiation time [s] (default 300)")
    demo.add_argument("--total-time-s", type=float, default=None, dest="total_time_s",
                      help="simulated time, irradiation plus cooling [s] (default 360)")
    demo.add_argument("--gold-ug-per-mL", type=float, default=None, dest="gold_ug_per_mL",
                      help="mean nanorod concentration in the tumour [ug of gold per mL] (default 2.5)")
    demo.add_argument("--light", choices=("diffusion", "monte-carlo"), default="diffusion",
                      help="light solver (default: %(default)s)")
    demo.add_argument("--photons", type=int, default=None,
                      help="photon packets for --light monte-carlo (default 200000: about a minute on a 2-core CPU, "
                           "under a second on a GPU)")
    demo.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    demo.add_argument("--quiet", action="store_true", help="no progress bar, summary only")
    demo.set_defaults(run=_run_demo)

    pdt = sub.add_parser(
        "pdt-demo",
        help="run the built-in PDT example (Photofrin, 630 nm): continuous against fractionated light",
        description=(
            "Photodynamic therapy of a tumour under the skin with Photofrin and a 630 nm beam: the same light "
            "dose given continuously and in on/off fractions. Computes the light field (diffusion), the "
            "singlet-oxygen kinetics in every voxel alongside the heat equation, prints the tumour volume "
            "reaching the [1O2]rx necrosis threshold for both schedules, and writes each run's results "
            "(continuous/, fractionated/) and comparison.json."
        ),
    )
    pdt.add_argument("--out", type=Path, default=Path("phototherm-pdt-demo"),
                     help="results folder, replaced if it exists (default: %(default)s)")
    _add_device_arguments(pdt)
    pdt.add_argument("--irradiance-mW-per-cm2", type=float, default=None, dest="irradiance_mW_per_cm2",
                     help="irradiance on the skin while the light is on [mW/cm^2] (default 75)")
    pdt.add_argument("--fluence-J-per-cm2", type=float, default=None, dest="fluence_J_per_cm2",
                     help="light dose on the skin [J/cm^2] (default 100)")
    pdt.add_argument("--fraction-on-s", type=float, default=None, dest="fraction_on",
                     help="light interval of the fractionated schedule [s] (default 60)")
    pdt.add_argument("--fraction-off-s", type=float, default=None, dest="fraction_off",
                     help="dark interval of the fractionated schedule [s] (default 60)")
    pdt.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    pdt.add_argument("--quiet", action="store_true", help="no progress bars, summary only")
    pdt.set_defaults(run=_run_pdt_demo)

    run = sub.add_parser(
        "run", help="run a scenario file and write its results folder",
        description="Builds the treatment a scenario describes (geometry, tissues, nanoparticles, "
                    "photosensitizer, light fields, heat sources), runs it and writes the results folder: fields "
                    "(.vti, .npz), probes CSV, summary.json, structures.json (per-structure metrics, and the "
                    "[objective] and [[constraints]] judged), the resolved scenario.toml, PNG figures and a "
                    "self-contained report.html. Write a scenario with `phototherm init`.")
    _add_scenario_arguments(run, "scenario file (.toml)")
    run.set_defaults(run=_run_scenario)

    plan = sub.add_parser(
        "plan", help="optimise a scenario's [plan] (powers, exposure time, fractionation) and confirm it",
        description="Chooses the power of each [[plan.sources]] entry, the exposure time and the fractionation "
                    "within the [plan] bounds so as to maximise (or minimise) the [objective] while every "
                    "[[constraints]] limit holds. Temperatures, doses and fluence of each candidate come from "
                    "superposed unit responses (the Pennes equation is linear with constant properties), PDT "
                    "quantities from the kinetics at the structures' voxels; the chosen plan is then run as a "
                    "full simulation and predicted and simulated values are printed side by side. The results "
                    "folder holds everything `run` writes plus plan.json; its scenario.toml is the planned "
                    "scenario (`phototherm run` reproduces it). If no plan meets the constraints, the ones "
                    "responsible are named and nothing is written (exit status 2).")
    _add_scenario_arguments(plan, "scenario file (.toml) with [objective] and [plan]")
    plan.set_defaults(run=_run_plan)

    view = sub.add_parser(
        "view", help="open a results folder in an interactive 3-D window (PyVista)",
        description="Shows the damage isosurface, the target structure and orthogonal slices of a field of a "
                    "results folder (fields.vti) in an interactive PyVista window; --screenshot renders to a "
                    "PNG instead (no window).")
    view.add_argument("results", type=Path, help="results folder written by run, plan or demo")
    view.add_argument("--field", default=None,
                      help="field shown on the slices (default: cem43_min, else singlet_oxygen_reacted_uM, else "
                           "max_temperature_degC, whichever the folder holds first)")
    view.add_argument("--screenshot", type=Path, default=None, help="render off-screen to this PNG file")
    view.set_defaults(run=_run_view)

    report = sub.add_parser(
        "report", help="(re)write report.html and the figures of a results folder",
        description="Writes the PNG figures (slices with structure outlines, DVHs, probe curves, 3-D damage "
                    "view) and a self-contained report.html into a results folder.")
    report.add_argument("results", type=Path, help="results folder written by run, plan or demo")
    report.set_defaults(run=_run_report)

    init = sub.add_parser(
        "init", help="write a commented scenario template to start from",
        description="Writes a commented TOML scenario (format 1): every key with its unit and meaning. It "
                    "validates as written (phototherm check); edit it to describe your treatment.")
    init.add_argument("path", type=Path, nargs="?", default=Path("scenario.toml"),
                      help="file to write (default: %(default)s)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--example", default=None, metavar="NAME",
                      help="write a complete example scenario instead of the template: ptt_demo (the demo), "
                           "pdt_demo (the PDT demo) or ptt_plan (a plan to optimise with `phototherm plan`)")
    init.set_defaults(run=_run_init)

    check = sub.add_parser(
        "check", help="validate a scenario file without running it",
        description="Reads a TOML scenario, reports every problem at once (key path, value, what was expected; "
                    "close matches for unknown keys) and exits with status 2, or prints a summary of the "
                    "treatment it describes.")
    check.add_argument("scenario", type=Path, help="scenario file (.toml)")
    check.set_defaults(run=_run_check)

    schema = sub.add_parser(
        "schema", help="print or write the scenario format as JSON Schema (for editor completion and checks)",
        description="The JSON Schema of the scenario format, every key documented with its unit.")
    schema.add_argument("--out", type=Path, default=None, help="file to write (default: print to stdout)")
    schema.set_defaults(run=_run_schema)

    validate = sub.add_parser(
        "validate",
        help="check every physics module against its references and write a commissioning report",
        description=(
            "Runs the reference cases of every physics module (analytic bioheat solutions, CEM43 and "
            "Arrhenius definitions, the Mie anchor, blood absorption, Monte Carlo and diffusion references, "
            "PDT kinetics against SciPy's Radau), prints each check with its reference value, phototherm's "
            "value, the error and the tolerance, and writes report.md, report.html and report.json. "
            "Exit status 1 if any check fails."
        ),
    )
    validate.add_argument("--out", type=Path, default=Path("phototherm-validation"),
                          help="report folder, replaced if it exists (default: %(default)s)")
    validate.add_argument("--quick", action="store_true",
                          help="coarser grids and fewer photons: seconds instead of minutes")
    validate.add_argument("--device", choices=("auto", "cpu", "gpu"), default="cpu",
                          help="backend of the solvers, always float64 (default: %(default)s)")
    validate.add_argument("--quiet", action="store_true", help="print the table only")
    validate.set_defaults(run=_run_validate)

    info = sub.add_parser("info", help="print versions, the backend 'auto' would choose and the GPU",
                          description="Print what phototherm runs on; paste it into bug reports.")
    info.set_defaults(run=_run_info)
    return parser


def _add_scenario_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """The arguments of the commands that run a scenario file (run, plan)."""
    parser.add_argument("scenario", type=Path, help=what)
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: the scenario's outputs.folder, relative to the file)")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default=None,
                        help="compute backend (default: the scenario's numerics.device, else $PHOTOTHERM_DEVICE, "
                             "else auto)")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures (the report keeps its tables)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, summary only")


def _add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default=None,
                        help="compute backend (default: $PHOTOTHERM_DEVICE, else auto)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None,
                        help="floating-point type (default: float32 on GPU, float64 on CPU)")


def _run_info(args) -> int:
    from .backend import report

    print(report())
    return EXIT_OK


def _settings_from_flags(defaults, given, problems, **fixed):
    """``defaults`` with the flags given on the command line applied.

    ``given`` maps a settings field to ``(flag, value)``; each value given must
    be finite and > 0 (a problem naming the flag otherwise) and only valid
    values are applied. ``fixed`` fields are applied as they are.
    """
    valid = {}
    for name, (flag, value) in given.items():
        if value is None:
            continue
        before = len(problems.items)
        problems.positive(value, flag, "")
        if len(problems.items) == before:
            valid[name] = value
    return dataclasses.replace(defaults, **fixed, **valid)


def _run_demo(args) -> int:
    from .errors import Problems
    from .examples.demo import DemoSettings, build_demo
    from .io.atomic import check_destination
    from .simulation import Simulation

    problems = Problems()
    given = {"power": ("--power-W", args.power_W), "heating_time": ("--heating-time-s", args.heating_time_s),
             "total_time": ("--total-time-s", args.total_time_s),
             "gold_ug_per_mL": ("--gold-ug-per-mL", args.gold_ug_per_mL), "photons": ("--photons", args.photons)}
    settings = _settings_from_flags(DemoSettings(), given, problems, light_method=args.light)
    problems.raise_if_any("invalid demo options")
    check_destination(args.out, key="--out")
    say = (lambda *a, **k: None) if args.quiet else print
    s = settings
    say(f"phototherm {__version__} demo: {s.power:g} W at {s.wavelength * 1e9:.0f} nm on a {s.beam_radius * 1e3:g} mm-radius "
        f"beam, gold nanorods {s.gold_ug_per_mL:g} ug/mL in the tumour, {s.heating_time:g} s on, "
        f"{s.total_time:g} s in all")
    case = build_demo(settings, device=args.device, dtype=args.dtype, progress=not args.quiet)
    [light] = case.light
    say(f"light ({s.light_method}): {100 * light.absorbed_fraction():.1f} % of the beam absorbed in the grid, "
        f"peak fluence rate {light.fluence_rate.max() / 1e4:.3g} W/cm^2, computed in {light.details['elapsed_s']:.1f} s")
    model = case.model
    sim = Simulation(
        model, stop_time=s.total_time, device=args.device, dtype=args.dtype,
        probes={"tumour centre": s.tumour_centre, "skin above tumour": (s.tumour_centre[0], s.tumour_centre[1], 0.0)},
        snapshot_interval=s.total_time / 8, progress=not args.quiet, track_energy=True,
    )
    say(f"grid {model.grid.shape} of {model.grid.spacing[0] * 1e3:g} mm voxels; "
        f"backend {sim.backend.name} ({sim.backend.dtype}): {sim.backend.reason}")
    result = sim.run(output=args.out, figures=not args.no_figures, report=not args.no_figures)

    tissues = result.metrics()["per_tissue"]
    tumour, skin = tissues["tumour"], tissues["skin"]
    print(f"peak tumour temperature    {tumour['peak_temperature_C']:6.2f} C")
    print(f"peak skin temperature      {skin['peak_temperature_C']:6.2f} C")
    print(f"tumour volume >= 240 CEM43 {tumour['volume_cem43_ge_threshold_mm3']:6.1f} mm^3 "
          f"({100 * tumour['fraction_cem43_ge_threshold']:.1f} % of {tumour['volume_mm3']:.0f} mm^3)")
    healthy = sum(row["volume_cem43_ge_threshold_mm3"] for name, row in tissues.items() if name != "tumour")
    print(f"healthy volume >= 240 CEM43 {healthy:5.1f} mm^3")
    say(f"{sim.iteration} steps of {sim.dt:.4g} s in {sim.wall_time:.1f} s; "
        f"energy balance residual {result.summary['energy_balance']['relative_residual']:.1e}")
    print(f"results written to {args.out}/")
    return EXIT_OK


def _run_pdt_demo(args) -> int:
    from .errors import Problems
    from .examples.pdt_demo import SCHEDULES, PDTDemoSettings, build_pdt_demo
    from .io.atomic import check_destination, staged_directory
    from .io.tables import write_json
    from .simulation import Simulation

    problems = Problems()
    given = {"irradiance_mW_per_cm2": ("--irradiance-mW-per-cm2", args.irradiance_mW_per_cm2),
             "fluence_J_per_cm2": ("--fluence-J-per-cm2", args.fluence_J_per_cm2),
             "fraction_on": ("--fraction-on-s", args.fraction_on), "fraction_off": ("--fraction-off-s", args.fraction_off)}
    settings = _settings_from_flags(PDTDemoSettings(), given, problems)
    for flag, value in (("--fraction-on-s", settings.fraction_on), ("--fraction-off-s", settings.fraction_off)):
        problems.check(value > 0 and abs(value / settings.dt - round(value / settings.dt)) < 1e-9, flag, value,
                       f"a positive multiple of the {settings.dt:g} s time step [s]")
    problems.raise_if_any("invalid pdt-demo options")
    check_destination(args.out, key="--out")
    say = (lambda *a, **k: None) if args.quiet else print
    s = settings
    say(f"phototherm {__version__} PDT example: Photofrin {s.tumour_concentration_uM:g} uM in the tumour, 630 nm at "
        f"{s.irradiance_mW_per_cm2:g} mW/cm^2 to {s.fluence_J_per_cm2:g} J/cm^2, continuous vs "
        f"{s.fraction_on:g} s on / {s.fraction_off:g} s off")
    rows = {}
    with staged_directory(args.out, key="--out") as stage:
        for name in SCHEDULES:
            model, therapy = build_pdt_demo(s, name, device=args.device, dtype=args.dtype)
            sim = Simulation(model, stop_time=s.stop_time(name), dt=s.dt, stepper="backward-euler",
                             device=args.device, dtype=args.dtype, progress=not args.quiet, photodynamic=therapy)
            result = sim.run(output=stage / name, figures=not args.no_figures)
            tumour = result.metrics()["per_tissue"]["tumour"]
            mask = result.labels == 2
            rows[name] = {
                "treatment_time_s": sim.time,
                "tumour_fraction_at_threshold": tumour["fraction_pdt_necrosis"],
                "tumour_volume_at_threshold_mm3": tumour["fraction_pdt_necrosis"] * tumour["volume_mm3"],
                "tumour_mean_singlet_oxygen_reacted_uM": float(result.fields["singlet_oxygen_reacted_uM"][mask].mean()),
                "tumour_mean_oxygen_at_end_uM": float(result.fields["oxygen_uM"][mask].mean()),
                "tumour_mean_fluence_J_per_cm2": tumour["mean_pdt_fluence_J_per_cm2"],
                "peak_temperature_C": result.metrics()["peak_temperature_C"],
            }
        write_json(stage / "comparison.json", {
            "settings": {k: v for k, v in dataclasses.asdict(s).items()},
            "threshold_uM": therapy.sensitizer.threshold,
            "threshold_note": "Photofrin's [1O2]rx necrosis threshold; PHYSICS.md marks it as to be checked",
            "schedules": rows,
        })
    print(f"{'schedule':<14}{'time':>8}{'tumour >= threshold':>22}{'mean [1O2]rx':>15}{'mean [3O2] at end':>19}")
    print(f"{'':<14}{'[s]':>8}{'[% / mm^3]':>22}{'[uM]':>15}{'[uM]':>19}")
    for name, row in rows.items():
        print(f"{name:<14}{row['treatment_time_s']:>8.0f}"
              f"{100 * row['tumour_fraction_at_threshold']:>11.1f} / {row['tumour_volume_at_threshold_mm3']:>7.1f}"
              f"{row['tumour_mean_singlet_oxygen_reacted_uM']:>15.1f}{row['tumour_mean_oxygen_at_end_uM']:>19.1f}")
    print(f"results written to {args.out}/ (continuous/, fractionated/, comparison.json)")
    return EXIT_OK


def _run_scenario(args) -> int:
    from .scenario.build import run_scenario

    scenario = _scenario_to_run(args)
    if not args.quiet:
        print(f"phototherm {__version__}: {scenario.title or args.scenario}")
    result, folder = run_scenario(scenario, out=args.out, device=args.device, progress=not args.quiet,
                                  figures=False if args.no_figures else None)
    print(result.report())
    print(f"results written to {folder}/")
    return EXIT_OK


def _scenario_to_run(args):
    """The scenario of ``run``/``plan``, with ``--out`` checked before any work."""
    from .io.atomic import check_destination
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.out is not None:
        check_destination(args.out, overwrite=scenario.outputs.overwrite, key="--out")
    return scenario


def _run_plan(args) -> int:
    from .scenario.plan import plan_scenario

    scenario = _scenario_to_run(args)
    if not args.quiet:
        print(f"phototherm {__version__}: planning {scenario.title or args.scenario}")
    outcome = plan_scenario(scenario, out=args.out, device=args.device, progress=not args.quiet,
                            figures=False if args.no_figures else None)
    print(outcome.summary())
    print(f"results of the planned treatment written to {outcome.folder}/ (plan.json, report.html; "
          "scenario.toml is the planned scenario)")
    return EXIT_OK


def _run_view(args) -> int:
    from .viz.view import view_results

    view_results(args.results, field=args.field, screenshot=args.screenshot, off_screen=args.screenshot is not None)
    if args.screenshot is not None:
        print(f"wrote {args.screenshot}")
    return EXIT_OK


def _run_report(args) -> int:
    from .viz.report import write_report

    written = write_report(args.results)
    print(f"wrote {', '.join(written)} in {args.results}/")
    return EXIT_OK


def _run_init(args) -> int:
    from .scenario import write_template

    path = write_template(args.path, overwrite=args.force, example=args.example)
    what = "a commented scenario template" if args.example is None else f"the example scenario {args.example}"
    print(f"wrote {path}: {what}; check it with `phototherm check {path}`")
    return EXIT_OK


def _run_check(args) -> int:
    from .scenario import describe_scenario, load_scenario

    scenario = load_scenario(args.scenario)
    scenario.check_files()
    for line in describe_scenario(scenario):
        print(line)
    print(f"{args.scenario}: valid")
    return EXIT_OK


def _run_schema(args) -> int:
    import json

    from .scenario import scenario_json_schema, write_json_schema

    if args.out is None:
        print(json.dumps(scenario_json_schema(), indent=2))
    else:
        print(f"wrote {write_json_schema(args.out)}")
    return EXIT_OK


def _run_validate(args) -> int:
    from .commissioning import run_commissioning
    from .io.atomic import check_destination

    check_destination(args.out, key="--out")
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"phototherm {__version__} validation ({'quick' if args.quick else 'full'} size) on {args.device}")
    report = run_commissioning("quick" if args.quick else "full", device=args.device,
                               progress=lambda name: say(f"  running {name} ...", flush=True))
    print(report.table())
    report.write(args.out)
    print(f"report written to {args.out}/ (report.html, report.md, report.json)")
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
