"""Command-line interface: thin subcommands over the library.

``phototherm demo``  run the built-in example and write its results
``phototherm info``  versions, the backend ``auto`` would choose, the GPU

Exit status: 0 on success, 2 on bad input (one line per problem, no
traceback), 130 when interrupted (no results written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ._version import __version__
from .errors import PhotothermError

__all__ = ["main"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``phototherm`` console script."""
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

    info = sub.add_parser("info", help="print versions, the backend 'auto' would choose and the GPU",
                          description="Print what phototherm runs on; paste it into bug reports.")
    info.set_defaults(run=_run_info)
    return parser


def _add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default=None,
                        help="compute backend (default: $PHOTOTHERM_DEVICE, else auto)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None,
                        help="floating-point type (default: float32 on GPU, float64 on CPU)")


def _run_info(args) -> int:
    from .backend import report

    print(report())
    return EXIT_OK


def _run_demo(args) -> int:
    import dataclasses

    from .errors import Problems
    from .examples.demo import DemoSettings, build_demo
    from .io.atomic import check_destination
    from .simulation import Simulation

    problems = Problems()
    given = {"power": ("--power-W", args.power_W), "heating_time": ("--heating-time-s", args.heating_time_s),
             "total_time": ("--total-time-s", args.total_time_s),
             "gold_ug_per_mL": ("--gold-ug-per-mL", args.gold_ug_per_mL), "photons": ("--photons", args.photons)}
    for flag, value in given.values():
        if value is not None:
            problems.positive(value, flag, "")
    problems.raise_if_any("invalid demo options")
    check_destination(args.out, key="--out")
    settings = dataclasses.replace(
        DemoSettings(), light_method=args.light,
        **{name: value for name, (_, value) in given.items() if value is not None},
    )
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
    result = sim.run(output=args.out, figures=not args.no_figures)

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
