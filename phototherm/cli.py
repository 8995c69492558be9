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
        help="run the built-in heated-tumour example and write its results",
        description=(
            "Heat a spherical tumour under skin, fat and muscle with a Gaussian heat source, "
            "then print peak temperatures and the tumour volume above 240 CEM43 and write "
            "fields (.vti, .npz), a probe CSV, a summary JSON and a PNG slice."
        ),
    )
    demo.add_argument("--out", type=Path, default=Path("phototherm-demo"),
                      help="results folder, replaced if it exists (default: %(default)s)")
    _add_device_arguments(demo)
    demo.add_argument("--power-W", type=float, default=None, dest="power_W",
                      help="heat-source power while on [W] (default 0.6)")
    demo.add_argument("--heating-time-s", type=float, default=None, dest="heating_time_s",
                      help="heating duration [s] (default 240)")
    demo.add_argument("--total-time-s", type=float, default=None, dest="total_time_s",
                      help="simulated time, heating plus cooling [s] (default 300)")
    demo.add_argument("--no-figures", action="store_true", help="skip the PNG figure")
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
    from .errors import Problems
    from .examples.demo import TISSUE_LABELS, DemoSettings, demo_model
    from .io.atomic import check_destination
    from .simulation import Simulation

    defaults = DemoSettings()
    problems = Problems()
    for flag, value in (("--power-W", args.power_W), ("--heating-time-s", args.heating_time_s),
                        ("--total-time-s", args.total_time_s)):
        if value is not None:
            problems.positive(value, flag, "")
    problems.raise_if_any("invalid demo options")
    check_destination(args.out, key="--out")
    settings = DemoSettings(
        power=args.power_W if args.power_W is not None else defaults.power,
        heating_time=args.heating_time_s if args.heating_time_s is not None else defaults.heating_time,
        total_time=args.total_time_s if args.total_time_s is not None else defaults.total_time,
    )
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"phototherm {__version__} demo: {settings.power:g} W Gaussian heat source in a tumour, "
        f"{settings.heating_time:g} s on, {settings.total_time:g} s in all")
    model = demo_model(settings)
    sim = Simulation(
        model, stop_time=settings.total_time, device=args.device, dtype=args.dtype,
        probes={"tumour centre": settings.tumour_centre,
                "skin above tumour": (settings.tumour_centre[0], settings.tumour_centre[1], 0.0)},
        snapshot_interval=settings.total_time / 10, progress=not args.quiet, track_energy=True,
    )
    say(f"grid {model.grid.shape} of {model.grid.spacing[0] * 1e3:g} mm voxels; "
        f"backend {sim.backend.name} ({sim.backend.dtype}): {sim.backend.reason}")
    result = sim.run(output=args.out, figures=not args.no_figures)
    folder = args.out

    tissues = result.metrics()["per_tissue"]
    tumour, skin = tissues["tumour"], tissues["skin"]
    assert TISSUE_LABELS["tumour"] == tumour["label"]
    print(f"peak tumour temperature   {tumour['peak_temperature_C']:6.2f} C")
    print(f"peak skin temperature     {skin['peak_temperature_C']:6.2f} C")
    print(f"tumour volume >= 240 CEM43 {tumour['volume_cem43_ge_threshold_mm3']:6.1f} mm^3 "
          f"({100 * tumour['fraction_cem43_ge_threshold']:.1f} % of {tumour['volume_mm3']:.0f} mm^3)")
    healthy = sum(row["volume_cem43_ge_threshold_mm3"] for name, row in tissues.items() if name != "tumour")
    print(f"healthy volume >= 240 CEM43 {healthy:5.1f} mm^3")
    say(f"{sim.iteration} steps of {sim.dt:.4g} s in {sim.wall_time:.1f} s; "
        f"energy balance residual {result.summary['energy_balance']['relative_residual']:.1e}")
    print(f"results written to {folder}/")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
