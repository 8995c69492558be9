"""The commissioning report: run the cases, print a table, write Markdown, HTML and JSON."""

from __future__ import annotations

import datetime as _dt
import html
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from .checks import Check

__all__ = ["CommissioningReport", "run_commissioning"]


@dataclass
class CommissioningReport:
    """Checks of every physics module against references, with where and when they ran.

    Attributes
    ----------
    checks : list of Check
    size : {"quick", "full"}
    device : dict
        The backend description (:meth:`phototherm.Backend.describe`).
    created_utc : str
    wall_time_s : dict of str to float
        Run time of each case [s].
    """

    checks: list[Check]
    size: str
    device: dict
    created_utc: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    wall_time_s: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def header(self) -> list[str]:
        return [
            f"phototherm {__version__} commissioning report ({self.size} size), {self.created_utc}",
            f"device: {self.device.get('backend', '?')} ({self.device.get('dtype', '?')}), "
            f"{self.device.get('name') or self.device.get('cpu') or platform.machine()}; Python {platform.python_version()}",
        ]

    def table(self) -> str:
        """A plain-text table, one line per check."""
        lines = self.header() + [""]
        lines.append(f"{'':<6}{'module':<15}{'check':<62}{'reference':>12}{'phototherm':>12}{'error':>11}"
                     f"{'tolerance':>11}")
        for c in self.checks:
            name = c.name if len(c.name) <= 60 else c.name[:57] + "..."
            unit = c.unit if c.error_kind == "absolute" else "(relative)"
            lines.append(f"{'ok' if c.passed else 'FAIL':<6}{c.module:<15}{name:<62}{_fmt(c.reference):>12}"
                         f"{_fmt(c.value):>12}{_fmt(c.error):>11}{_fmt(c.tolerance):>11} {unit}")
        total = sum(self.wall_time_s.values())
        lines.append("")
        lines.append(f"{len(self.checks) - len(self.failures)} of {len(self.checks)} checks passed in {total:.1f} s"
                     + ("" if self.passed else f"; FAILED: {', '.join(c.name for c in self.failures)}"))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "program": {"name": "phototherm", "version": __version__},
            "created_utc": self.created_utc,
            "size": self.size,
            "device": self.device,
            "python": platform.python_version(),
            "passed": self.passed,
            "wall_time_s": self.wall_time_s,
            "checks": [c.to_dict() for c in self.checks],
        }

    def markdown(self) -> str:
        rows = ["| | module | check | reference | phototherm | unit | error | tolerance | reference source |",
                "|---|---|---|---|---|---|---|---|---|"]
        for c in self.checks:
            rows.append(f"| {'pass' if c.passed else '**FAIL**'} | {c.module} | {c.name} | {_fmt(c.reference)} | "
                        f"{_fmt(c.value)} | {c.unit} | {_fmt(c.error)} ({c.error_kind}) | {_fmt(c.tolerance)} | "
                        f"{c.source} |")
        verdict = "All checks passed." if self.passed else f"{len(self.failures)} check(s) FAILED."
        return "\n".join(["# phototherm commissioning report", "", *(f"* {h}" for h in self.header()), "",
                          verdict, "", *rows, ""])

    def html(self) -> str:
        """A self-contained HTML page (no external resources)."""
        cells = []
        for c in self.checks:
            status = "pass" if c.passed else "FAIL"
            cells.append("<tr class='{}'><td>{}</td>{}</tr>".format(
                status.lower(), status, "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                    c.module, c.name, _fmt(c.reference), _fmt(c.value), c.unit, f"{_fmt(c.error)} ({c.error_kind})",
                    _fmt(c.tolerance), c.source))))
        verdict = "All checks passed." if self.passed else f"{len(self.failures)} check(s) FAILED."
        head = "".join(f"<li>{html.escape(h)}</li>" for h in self.header())
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>phototherm commissioning report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:4px 8px;font-size:90%}}tr.fail{{background:#fdd}}tr.pass td:first-child{{color:#070}}</style>
</head><body><h1>phototherm commissioning report</h1><ul>{head}</ul><p><b>{verdict}</b></p>
<table><tr><th></th><th>module</th><th>check</th><th>reference</th><th>phototherm</th><th>unit</th><th>error</th>
<th>tolerance</th><th>reference source</th></tr>{''.join(cells)}</table></body></html>
"""

    def write(self, folder) -> Path:
        """Write ``report.md``, ``report.html`` and ``report.json`` into a new folder, atomically."""
        from ..io.atomic import atomic_write_text, staged_directory
        from ..io.tables import write_json

        folder = Path(folder)
        with staged_directory(folder, key="--out") as stage:
            atomic_write_text(stage / "report.md", self.markdown())
            atomic_write_text(stage / "report.html", self.html())
            write_json(stage / "report.json", self.to_dict())
        return folder


def run_commissioning(size: str = "quick", *, device: str = "cpu", modules=None, progress=None) -> CommissioningReport:
    """Run the reference cases of every physics module.

    Parameters
    ----------
    size : {"quick", "full"}
        ``quick``: seconds; ``full``: finer grids and more photons (a few
        minutes on a laptop).
    device : {"cpu", "gpu", "auto"}
        Backend of the solvers (float64 throughout).
    modules : sequence of str, optional
        Case names to run (default all, see :data:`phototherm.commissioning.cases.CASES`).
    progress : callable, optional
        Called with each case name before it runs.

    Returns
    -------
    CommissioningReport
    """
    from ..backend import resolve_backend
    from ..errors import Problems
    from .cases import CASES, SIZES

    problems = Problems()
    problems.check(size in SIZES, "size", size, f"one of {', '.join(SIZES)}")
    names = list(CASES) if modules is None else list(modules)
    for name in names:
        problems.check(name in CASES, "modules", name, f"one of {', '.join(CASES)}")
    problems.raise_if_any("invalid commissioning request")
    backend = resolve_backend(device, "float64")
    checks, timing = [], {}
    for name in names:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        checks.extend(CASES[name](size, backend.name))
        timing[name] = time.perf_counter() - start
    return CommissioningReport(checks, size, backend.describe(), wall_time_s=timing)


def _fmt(x) -> str:
    if isinstance(x, float) and (x != x):
        return "nan"
    if isinstance(x, (int, float)):
        return f"{x:.5g}" if (x == 0 or 1e-2 <= abs(x) < 1e5) else f"{x:.3e}"
    return str(x)
