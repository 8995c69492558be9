#!/usr/bin/env python
"""Benchmark of the PDT singlet-oxygen kinetics step: voxel updates per second.

Times :func:`phototherm.pdt.kinetics.advance` on the CPU (its vectorised NumPy
twin, one thread) and on the GPU (the CUDA kernel ``kernels/pdt_kinetics.cu``
that ``advance`` launches for CuPy state), in float32 (rtol 1e-4, atol 1e-6
uM) and float64 (the defaults: rtol 1e-6, atol 1e-9 uM), on N^3 grids
(default N = 32, 64 on the CPU; 64, 128, 256 on the GPU).

The problem, the same on every device and dtype:

* Photofrin (Wang et al. 2009 constants as in ``phototherm.pdt``): xi
  3.7e-3 cm^2/(mW s), sigma 7.6e-5 1/uM, beta 11.9 uM, delta 33 uM, g 0.7
  uM/s, [3O2]0 40 uM; [S0] 7 uM everywhere at t = 0; extinction 0.35
  1/(m uM) at 630 nm, so the PDT dose is accumulated too;
* a 2 cm deep cube (voxel 2 cm / N), lit from ``z = 0``: fluence rate
  1500 W/m^2 (150 mW/cm^2) at the surface decaying as exp(-mu_eff z) with
  mu_eff = 2 /cm (27 W/m^2 at the bottom); every voxel lit; the fluence-rate
  array is made once on the device in the state's dtype;
* dt = 1 s, the bioheat step.

Two steps are timed per (device, dtype, N):

* **transient**: the first second of light, from the untreated state (no
  carried sub-step, oxygen consumption starting: the stiffest, most
  sub-stepped second);
* **settled**: a step after 120 s of light (120 steps of 1 s taken first by
  the same device and dtype; oxygen near its light-limited level, sub-steps
  carried from the previous step).

Each timed step starts from a saved copy of its state (restored untimed),
``validate=False`` as in a trusted loop; the median of ``--repeats`` is
reported, after one warm-up step (which compiles the kernel on the GPU).
GPU timings are ``time.perf_counter`` around ``advance``, which synchronises
(it reads the kernel's failure count back). **Mvoxel/s** = N^3 / median time.

**Check**: after the timed steps, the [1O2]rx field against the CPU float64
twin on the same schedule, as ``max |x - ref| / max |ref|``. Every xy-plane of
this problem is uniform and the twin is voxel-wise, so the reference is run on
one column of N voxels. The script aborts when a check exceeds 1e-9 (float64)
or 1e-3 (float32).

The GPU branch of this script has not been run on a GPU yet (the dispatch in
``advance`` was tested with the host build of the kernel standing in; the
script's own CuPy code not at all): if the first GPU run fails here, that is
a bug of the benchmark.

Run ``python benchmarks/bench_pdt.py --help`` for the options; record the
output in ``benchmarks/RESULTS.md`` with ``--markdown``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np

from report import devices_and_dtypes, meminfo_GiB, precondition_allocator, print_markdown_header, print_table, run_header
from phototherm.backend import resolve_backend, to_host
from phototherm.pdt.kinetics import PDTState, advance

PHOTOFRIN = SimpleNamespace(xi=3.7e-3, sigma=7.6e-5, beta=11.9, delta=33.0, g=0.7, oxygen_initial=40.0,
                            extinction=0.35, wavelength=630e-9)
S0_INITIAL = 7.0            # [uM]
DEPTH = 0.02                # cube edge [m]
SURFACE_FLUENCE_RATE = 1500.0   # [W/m^2] = 150 mW/cm^2
MU_EFF = 200.0              # [1/m] = 2 /cm
DT = 1.0                    # [s]
SETTLE_STEPS = 120          # seconds of light before the settled step
TOLERANCES = {"float32": {"rtol": 1e-4, "atol": 1e-6}, "float64": {"rtol": 1e-6, "atol": 1e-9}}
CHECK_LIMIT = {"float32": 1e-3, "float64": 1e-9}
SIZES = {"cpu": (32, 64), "gpu": (64, 128, 256)}
# memory estimate [arrays of the dtype per voxel]: state 6 + saved copies 12 + fluence rate + the twin's
# temporaries (~30 on the CPU; the kernel needs none)
ARRAYS = {"cpu": 50, "gpu": 20}
GiB = 2.0**30


def fluence_rate_column(n, dtype):
    """Fluence rate [W/m^2] at the voxel centres of one column, shape (1, 1, n)."""
    z = (np.arange(n) + 0.5) * (DEPTH / n)
    return (SURFACE_FLUENCE_RATE * np.exp(-MU_EFF * z)).astype(dtype).reshape(1, 1, n)


def new_state(shape, xp, dtype):
    return PDTState.initial(shape, S0_INITIAL, PHOTOFRIN.oxygen_initial, xp=xp, dtype=dtype)


def reference(n):
    """CPU float64 twin on one column: [1O2]rx after the transient and after the settled step."""
    phi = fluence_rate_column(n, "float64")
    state = new_state((1, 1, n), np, "float64")
    advance(state, phi, DT, PHOTOFRIN, **TOLERANCES["float64"])
    transient = state.singlet_oxygen_reacted.copy()
    for _ in range(SETTLE_STEPS - 1):
        advance(state, phi, DT, PHOTOFRIN, **TOLERANCES["float64"])
    advance(state, phi, DT, PHOTOFRIN, **TOLERANCES["float64"])
    return {"transient": transient, "settled": state.singlet_oxygen_reacted.copy()}


def check(field, ref):
    """max |field - ref| / max |ref| ([1O2]rx; ``ref`` is one column, broadcast)."""
    x = to_host(field).astype(np.float64)
    return float(np.abs(x - ref).max() / np.abs(ref).max())


FIELDS = ("s0", "oxygen", "singlet_oxygen_reacted", "fluence", "pdt_dose", "substep")


def run_row(device, dtype, n, repeats, ref, log):
    """Settle, time both steps; return two row dicts (transient, settled)."""
    backend = resolve_backend(device, dtype)
    xp = backend.xp
    shape = (n, n, n)
    tol = TOLERANCES[dtype]
    phi = backend.asarray(np.broadcast_to(fluence_rate_column(n, dtype), shape))
    initial = new_state(shape, xp, dtype)
    # warm-up (compiles the kernel on the GPU), then the 120 s of light for the settled start
    t = time.perf_counter()
    state = new_state(shape, xp, dtype)
    for _ in range(SETTLE_STEPS):
        advance(state, phi, DT, PHOTOFRIN, validate=False, **tol)
    backend.synchronize()
    log(f"    warm-up and {SETTLE_STEPS} s of light: {time.perf_counter() - t:.1f} s")
    settled = state
    rows = []
    for kind, start in (("transient", initial), ("settled", settled)):
        saved = [getattr(start, f).copy() for f in FIELDS]
        work = PDTState(*(a.copy() for a in saved), time=start.time)
        times = []
        for _ in range(repeats):
            for f, a in zip(FIELDS, saved):
                xp.copyto(getattr(work, f), a)
            work.time = start.time
            backend.synchronize()
            t = time.perf_counter()
            advance(work, phi, DT, PHOTOFRIN, validate=False, **tol)   # synchronises (failure count)
            times.append(time.perf_counter() - t)
        s = statistics.median(times)
        diff = check(work.singlet_oxygen_reacted, ref[kind])
        substep = float(np.median(to_host(work.substep)))
        row = dict(device=device, dtype=dtype, N=n, kind=kind, s=s, check=diff, substep=substep,
                   rtol=tol["rtol"])
        log("    " + "  ".join(f"{c}={v}" for c, v in zip(COLUMNS, format_row(row))))
        if not diff <= CHECK_LIMIT[dtype]:
            raise SystemExit(f"check failed: {device} {dtype} N={n} {kind}: [1O2]rx differs from the cpu float64 "
                             f"twin by {diff:.2e} of its maximum (limit {CHECK_LIMIT[dtype]:g})")
        rows.append(row)
        del work, saved
    del state, settled, initial, phi
    if backend.is_gpu:
        xp.get_default_memory_pool().free_all_blocks()
    return rows


def memory_reason(n, device, dtype, cp):
    need = ARRAYS[device] * n**3 * np.dtype(dtype).itemsize
    if device == "cpu":
        avail = meminfo_GiB("MemAvailable") * GiB
        if avail == avail and need > 0.8 * avail:
            return f"needs ~{need / GiB:.1f} GiB of memory, {avail / GiB:.1f} GiB available"
    elif cp is not None:
        free, _ = cp.cuda.runtime.memGetInfo()
        if need > 0.9 * free:
            return f"needs ~{need / GiB:.1f} GiB of GPU memory, {free / GiB:.1f} GiB free"
    return None


COLUMNS = ("device", "dtype", "N", "rtol", "step", "ms/step", "Mvoxel/s", "median substep s", "check [1O2]rx")


def format_row(r):
    return (r["device"], r["dtype"], str(r["N"]), f"{r['rtol']:g}", r["kind"], f"{1e3 * r['s']:.2f}",
            f"{r['N'] ** 3 / r['s'] / 1e6:.2f}", f"{r['substep']:.3g}", f"{r['check']:.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", default=None,
                    help="cpu, gpu or both (default: cpu, plus gpu when one is usable)")
    ap.add_argument("--dtypes", default="float32,float64", help="default %(default)s")
    ap.add_argument("--sizes", default=None,
                    help="N of the N^3 grids, every device (default: 32,64 on the CPU, 64,128,256 on the GPU)")
    ap.add_argument("--repeats", type=int, default=5, help="timed steps per row; the median is reported "
                                                           "(default %(default)s)")
    ap.add_argument("--fresh-allocator", action="store_true",
                    help="skip the allocator preconditioning (see report.precondition_allocator)")
    ap.add_argument("--markdown", action="store_true", help="print the header and table as Markdown for RESULTS.md")
    args = ap.parse_args(argv)
    devices, dtypes = devices_and_dtypes(ap, args)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    sizes = {d: ([int(s) for s in args.sizes.split(",") if s] if args.sizes else list(SIZES[d]))
             for d in ("cpu", "gpu")}
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    if not args.fresh_allocator:
        precondition_allocator()

    header, devices, cp = run_header(devices, cpu_note="the NumPy twin runs in one thread", extra=())
    for key, value in header:
        log(f"{key + ':':<10} {value}")
    log("")
    log(f"PDT kinetics, Photofrin, [S0] {S0_INITIAL:g} uM, [3O2]0 {PHOTOFRIN.oxygen_initial:g} uM; "
        f"{1e2 * DEPTH:g} cm cube lit from z = 0 at {SURFACE_FLUENCE_RATE / 10:g} mW/cm^2, "
        f"mu_eff {MU_EFF / 100:g} /cm; dt {DT:g} s")

    rows, skipped, refs = [], [], {}
    for device in devices:
        for n in sizes[device]:
            for dtype in sorted(dtypes, key=lambda d: d != "float64"):
                reason = memory_reason(n, device, dtype, cp)
                if reason:
                    skipped.append(f"{device} {dtype} N={n}: {reason}")
                    log(f"skip {skipped[-1]}")
                    continue
                if n not in refs:
                    refs[n] = reference(n)
                log(f"  {device} {dtype} N={n} ...")
                rows.extend(run_row(device, dtype, n, args.repeats, refs[n], log))
    log("")

    if args.markdown:
        print_markdown_header(header)
    rows.sort(key=lambda r: (r["device"] != "cpu", r["dtype"], r["N"], r["kind"] != "transient"))
    print_table(COLUMNS, [format_row(r) for r in rows], args.markdown, 2)
    for s in skipped:
        print(f"{'- ' if args.markdown else ''}skipped {s}")
    print()
    print(f"{'> ' if args.markdown else ''}ms/step: wall time of one advance(state, phi, dt=1 s, validate=False), "
          f"median of {args.repeats}, each from a restored copy of its start state: transient = the first second "
          f"of light, settled = the step after {SETTLE_STEPS} s of light; Mvoxel/s = N^3 / ms/step; median "
          "substep: the ROS3 sub-step proposed for the next step (median over voxels); check: max |[1O2]rx - "
          "ref| / max |ref| against the cpu float64 twin on the same schedule (one column).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
