"""Shared by the benchmark scripts here: the machine they run on, and their tables.

The machine is read from /proc files on Linux, with fallbacks elsewhere.
"""

from __future__ import annotations

import platform

GiB = 2.0**30


def meminfo_GiB(key: str) -> float:
    """A /proc/meminfo entry (e.g. "MemTotal") in GiB, NaN where unavailable."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024 / GiB
    except OSError:
        pass
    return float("nan")


def cpu_model() -> str:
    """The CPU's model name."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_table(columns, lines, markdown: bool, left: int) -> None:
    """Print rows of strings as plain text (right-aligned) or Markdown.

    In Markdown the first ``left`` columns are left-aligned, the others right-aligned.
    """
    body = [columns] + list(lines)
    if markdown:
        print("| " + " | ".join(columns) + " |")
        print("|" + "|".join("---" if i < left else "---:" for i in range(len(columns))) + "|")
        for line in body[1:]:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(line[i]) for line in body) for i in range(len(columns))]
    for j, line in enumerate(body):
        print("  ".join(c.rjust(w) for c, w in zip(line, widths)))
        if j == 0:
            print("  ".join("-" * w for w in widths))
