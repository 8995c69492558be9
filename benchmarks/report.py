"""Shared by the benchmark scripts here: the machine they run on, and their tables.

The machine is read from /proc files on Linux, with fallbacks elsewhere.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys

import numpy as np

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


def git_commit():
    """Short commit of the checkout and whether tracked files differ from it (read-only git commands)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff-index", "--quiet", "HEAD", "--"], cwd=root, capture_output=True,
                               timeout=10).returncode != 0
    except Exception as exc:  # no git, not a checkout
        return f"unknown ({type(exc).__name__})"
    return sha + (" + uncommitted changes" if dirty else "")


def precondition_allocator():
    """Allocate and free one array just under 32 MiB, so glibc malloc serves NumPy arrays from its heap.

    glibc maps each allocation above its mmap threshold (128 KiB at start) with
    mmap and unmaps it on free, so every such array costs page faults; freeing
    a mapped chunk raises the threshold to that chunk's size (at most 32 MiB)
    and the heap-trim threshold to twice that. The solvers allocate temporaries
    every iteration, so their speed depends on the largest array the process
    has freed so far: measured here, a 32^3 float64 diffusion solve takes
    ~100 ms in a fresh process and ~32 ms after this call (64^3: ~820 / ~405
    ms; 128^3: ~12.8 / ~11.1 s). Calling it first puts every row in the state
    a long-running process reaches anyway (``--fresh-allocator`` skips it).
    Harmless with other allocators.
    """
    a = np.empty((32 << 20) - (64 << 10), dtype=np.uint8)
    del a


def run_header(devices, *, cpu_note: str, extra=()):
    """The header of a benchmark run, and the devices it can use.

    Parameters
    ----------
    devices : list of str
        Requested devices ("cpu", "gpu").
    cpu_note : str
        What runs on the CPU and how (appended to the cpu line).
    extra : sequence of (str, str)
        More header lines, after the cpu line.

    Returns
    -------
    header : list of (str, str)
        Lines "devices", "date", "command", "versions", "cpu", ``extra``, "gpu".
    devices : list of str
        The requested devices minus an unusable GPU.
    cp : module or None
        CuPy, when the GPU is used.
    """
    import phototherm as pt
    from phototherm.backend import gpu_status, resolve_backend

    usable, why = gpu_status()
    now = datetime.datetime.now().astimezone()
    header = [
        ("date", f"{now:%Y-%m-%d %H:%M %Z}"),
        ("command", " ".join([os.path.basename(sys.executable)] + sys.argv)),
        ("versions", f"phototherm {pt.__version__} (commit {git_commit()}), Python {platform.python_version()}, "
                     f"NumPy {np.__version__}"),
        ("cpu", f"{cpu_model()}, {os.cpu_count()} logical cores, {meminfo_GiB('MemTotal'):.1f} GiB RAM "
                f"({meminfo_GiB('MemAvailable'):.1f} GiB available); {cpu_note}"),
        *extra,
    ]
    cp = None
    gpu_name = None
    if "gpu" in devices:
        if usable:
            import cupy as cp  # noqa: PLC0415

            g = resolve_backend("gpu").describe()
            gpu_name = g["gpu_name"]
            header.append(("gpu", f"{g['gpu_name']}, {g['gpu_memory_GiB']:.1f} GiB, compute capability "
                                  f"{g['compute_capability']}, CUDA driver {g['cuda_driver_version']}, "
                                  f"runtime {g['cuda_runtime_version']}, CuPy {cp.__version__}"))
        else:
            header.append(("gpu", f"not usable, GPU rows skipped: {why}"))
            devices = [d for d in devices if d != "gpu"]
    elif not usable:
        header.append(("gpu", f"none usable ({why})"))
    names = ", ".join(f"{d} ({cpu_model() if d == 'cpu' else gpu_name})" for d in devices)
    header.insert(0, ("devices", names))
    return header, devices, cp


def print_markdown_header(header) -> None:
    """Print a run header (from :func:`run_header`) as Markdown, ready for RESULTS.md."""
    lines = dict(header)
    print(f"**{lines['devices']}** · {lines['date'][:10]} · {lines['versions'].split(',')[0]}")
    print()
    for key, value in header:
        print(f"- **{key}**: {value}")
    print()


def devices_and_dtypes(parser, args):
    """The ``--devices`` and ``--dtypes`` of a benchmark's command line, checked.

    Without ``--devices``: the CPU, plus the GPU when one is usable.
    Calls ``parser.error`` (exit status 2) on unknown names.
    """
    from phototherm.backend import gpu_status

    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    devices = ([d.strip() for d in args.devices.split(",") if d.strip()] if args.devices
               else ["cpu"] + (["gpu"] if gpu_status()[0] else []))
    if not dtypes or not set(dtypes) <= {"float32", "float64"} or not devices or not set(devices) <= {"cpu", "gpu"}:
        parser.error("--dtypes takes float32,float64 and --devices cpu,gpu")
    return devices, dtypes
