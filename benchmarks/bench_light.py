#!/usr/bin/env python
"""Benchmark of the light solvers: Monte Carlo photon transport and the diffusion solve.

Measures, on the CPU (the NumPy twin of the Monte Carlo kernel; NumPy
conjugate gradients) and the GPU (the CUDA kernel ``kernels/mc_transport.cu``;
CuPy conjugate gradients), in float32 and float64:

1. **Monte Carlo, MCX's ``cube60`` benchmark** (the case MCX users quote in
   photons per millisecond): 60^3 voxels of 1 mm, mua 0.005 /mm, mus 1 /mm,
   g 0.01, n 1.37 inside and outside (``ambient_index=1.37``: no boundary
   reflection), a pencil beam entering at the centre of the ``z_min`` face
   along +z. Per row: photons, wall time, photons/ms (the result's
   ``photons_per_ms``: kernel compilation excluded, the batch reductions
   included), and the absorbed fraction with its standard error, checked
   against MCX's 17.69 %.
2. **MCX side by side** (only where ``pmcx`` imports and a GPU is usable): the
   same cube60 run by ``pmcx.run`` with as many photons as our GPU rows; its
   photons/ms from its own kernel time (``stat["runtime"]``, the figure of
   MCX's "MCX simulation speed" line) and our ratio to it. **This branch is
   untested**: it was written from pmcx's documented API (pmcx 0.2.x README,
   ``pmcx/bench.py``, ``src/pmcx.cpp`` of fangq/mcx) on a machine with neither
   a GPU nor pmcx. If it fails, that is a bug of this benchmark, reported and
   skipped, never fatal.
3. **Diffusion solve time against grid size**: a 20 mm cube of tissue-like
   medium (mua 0.3 /cm, mus 100 /cm, g 0.9: mus' 10 /cm; n 1.37 in air) lit by
   a flat-top beam of 5 mm radius centred on ``z_min``, on N^3 grids
   (voxel 20 mm / N). Per row: CG iterations, wall time of ``solve_diffusion``
   (median of ``--repeats``, after a warm-up that is also the check), the time
   of the collimated-beam source construction alone (timed separately, same
   arguments; it is part of the solve), voxel-iterations per second, the true
   relative residual, the energy balance error and the difference from the
   float64 CPU solution.

Correctness first (the script aborts, as bench_pennes does, on a failed check):

* Monte Carlo: absorbed fraction against MCX's 17.69 % (quoted to 0.005 pp,
  counted as an uncertainty of the reference): ``ok`` within 3 combined
  standard errors; ``DEVIATES`` printed beyond that while within 0.2 pp (the
  tolerance of tests/validation/test_montecarlo_reference.py); abort beyond
  both. Also abort if the energy bookkeeping does not close to 1e-6.
* Diffusion: abort if the energy balance misses 1 W by more than 1e-6
  (float64) / 1e-4 (float32), or the fluence differs from the float64 CPU
  solution of the same grid by more than 1e-6 / 1e-4 (2-norm, relative;
  measured on the CPU: 1.5e-6 to 2.6e-6 for float32). Above N = 128 no CPU
  reference is computed: GPU float32 rows compare with the GPU float64 solve.

The GPU branches of our own rows (and the pmcx branch) have only been run
with the CPU standing in for the GPU and a stand-in for pmcx: if the first
real GPU run fails in this script, that is a bug of the benchmark, not a
measurement.

Run ``python benchmarks/bench_light.py --help`` for the options; record the
output in ``benchmarks/RESULTS.md`` with ``--markdown``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from report import devices_and_dtypes, meminfo_GiB, precondition_allocator, print_markdown_header, print_table, run_header
import phototherm as pt
from phototherm.backend import resolve_backend, to_host
from phototherm.light import CollimatedBeam, OpticalMedium, simulate_monte_carlo, solve_diffusion

WAVELENGTH = 800e-9       # [m]; the optical properties below are given directly, so it only labels them
GiB = 2.0**30

# -- MCX cube60 (SI: 1/m) ------------------------------------------------------------------------------
CUBE60_SHAPE = (60, 60, 60)
CUBE60_SPACING = 1e-3
CUBE60 = dict(mua=5.0, mus=1000.0, g=0.01, n=1.37, ambient_index=1.37)
CUBE60_ABSORBED = 0.1769          # MCX's absorbed fraction for cube60
CUBE60_REF_UNCERTAINTY = 0.5e-4   # half the last quoted digit (0.005 pp)
CUBE60_TOLERANCE = 2e-3           # 0.2 pp, as tests/validation/test_montecarlo_reference.py
MC_ENERGY_TOLERANCE = 1e-6        # |absorbed + escaped + ... - 1 - roulette balance|
MC_WARMUP_PHOTONS = {"cpu": 2_000, "gpu": 100_000}
MCX_WARMUP_PHOTONS = 100_000

# -- diffusion -------------------------------------------------------------------------------------------
DIFFUSION_EDGE = 20e-3            # cube edge [m]
DIFFUSION = dict(mua=30.0, mus=10000.0, g=0.9, n=1.37, ambient_index=1.0)   # mus' = 1000 /m
BEAM_RADIUS = 5e-3
DIFFUSION_SIZES = {"cpu": (32, 64, 128), "gpu": (32, 64, 128, 256)}
ENERGY_TOLERANCE = {"float64": 1e-6, "float32": 1e-4}      # |accounted power - 1 W|
FLUENCE_TOLERANCE = {"float64": 1e-6, "float32": 1e-4}     # 2-norm rel. difference from the float64 CPU solve
REFERENCE_MAX_N = 128             # rows without a cpu float64 row of their grid get one computed up to this N
# memory estimates [bytes per voxel]: host, one float64 solve (medium, operator, CG vectors; peak RSS measured
# 187 B/voxel at 128^3) plus the reference and checked fluences kept on the host; device, ~16 arrays of the
# dtype (operator, CG vectors, source) + float64 ray-march path and D (~4 arrays)
HOST_BYTES_PER_VOXEL = 32 * 8
GPU_ARRAYS = 16
GPU_F64_ARRAYS = 4


# -- helpers ---------------------------------------------------------------------------------------------




def count(text):
    """'2e5' or '200000' -> 200000."""
    value = float(text)
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(value)


def free_gpu_memory(cp):
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


def rel_l2(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = float(np.linalg.norm(b.ravel()))
    return float(np.linalg.norm((a - b).ravel())) / (den if den > 0 else 1.0)


# -- 1. Monte Carlo: cube60 ----------------------------------------------------------------------------
def cube60_problem():
    grid = pt.Grid(CUBE60_SHAPE, CUBE60_SPACING)
    medium = OpticalMedium.uniform(grid, wavelength=WAVELENGTH, **CUBE60)
    (x0, x1), (y0, y1), (z0, _) = grid.bounds
    beam = CollimatedBeam(power=1.0, wavelength=WAVELENGTH, position=((x0 + x1) / 2, (y0 + y1) / 2, z0),
                          direction=(0, 0, 1))
    return medium, beam


def cube60_check(absorbed, se):
    """(text, verdict) with verdict 'ok', 'deviates' or 'fail' (see the module docstring)."""
    sigma = math.hypot(se, CUBE60_REF_UNCERTAINTY)
    z = (absorbed - CUBE60_ABSORBED) / sigma
    diff = absorbed - CUBE60_ABSORBED
    if abs(z) <= 3:
        verdict = "ok"
    elif abs(diff) <= CUBE60_TOLERANCE:
        verdict = "deviates"
    else:
        verdict = "fail"
    return f"{z:+.1f} SE {'ok' if verdict == 'ok' else verdict.upper()}", verdict


def run_mc_row(device, dtype, photons, args, log):
    """Warm up, then run cube60 ``--mc-repeats`` times (seeds 0, 1, ...); return a row dict."""
    medium, beam = cube60_problem()
    kwargs = dict(device=device, dtype=dtype, progress=False)
    t = time.perf_counter()
    simulate_monte_carlo(medium, beam, photons=MC_WARMUP_PHOTONS[device], batches=2, seed=12345, **kwargs)
    log(f"    warm-up ({MC_WARMUP_PHOTONS[device]} photons{', kernel compilation' if device == 'gpu' else ''}): "
        f"{time.perf_counter() - t:.2f} s")
    walls, rates, absorbed, errors = [], [], [], []
    for seed in range(args.mc_repeats):
        t = time.perf_counter()
        res = simulate_monte_carlo(medium, beam, photons=photons, seed=seed, **kwargs)
        walls.append(time.perf_counter() - t)
        rates.append(res.photons_per_ms)
        absorbed.append(res.energy.absorbed)
        errors.append(res.energy_error.absorbed)
        if res.device.get("dtype") != dtype or res.device.get("backend") != device:
            sys.exit(f"ABORT: asked for {device} {dtype}, the Monte Carlo ran on {res.device}")
        if not abs(res.energy_residual) <= MC_ENERGY_TOLERANCE:
            sys.exit(f"ABORT: {device} {dtype} cube60 energy bookkeeping off by {res.energy_residual:.3e} "
                     f"(tolerance {MC_ENERGY_TOLERANCE:g})")
        log(f"    seed {seed}: {res.elapsed_s:.2f} s transport ({walls[-1]:.2f} s wall), "
            f"{res.photons_per_ms:,.1f} photons/ms, absorbed {100 * res.energy.absorbed:.3f} "
            f"+- {100 * res.energy_error.absorbed:.3f} %, escaped {100 * res.energy.escaped_total:.3f} %, "
            f"roulette balance {res.energy.roulette_balance:+.1e}, trapped {res.energy.trapped:.1e}")
        del res
        gc.collect()
    k = len(absorbed)
    mean = sum(absorbed) / k
    se = math.sqrt(sum(e * e for e in errors)) / k
    text, verdict = cube60_check(mean, se)
    row = {"device": device, "dtype": dtype, "photons": photons, "repeats": k, "wall": statistics.median(walls),
           "rate": statistics.median(rates), "absorbed": mean, "se": se, "check": text}
    if verdict == "fail":
        sys.exit(f"ABORT: {device} {dtype} cube60 absorbed {100 * mean:.3f} +- {100 * se:.3f} %, MCX "
                 f"{100 * CUBE60_ABSORBED:.2f} %: off by more than 3 SE and more than "
                 f"{100 * CUBE60_TOLERANCE:.1f} pp")
    if verdict == "deviates":
        log(f"    WARNING: absorbed fraction {text} from MCX's 17.69 % (within {100 * CUBE60_TOLERANCE:.1f} pp, "
            "so not aborted; with this many photons a float32 bias or the 5 ns time gate of MCX's run "
            "could show: record it)")
    return row


# -- 2. MCX (pmcx) side by side -- UNTESTED: written from the documented API ---------------------------
@contextlib.contextmanager
def captured_fds():
    """Send what C/C++ code writes to fds 1 and 2 (pmcx echoes every setting) to a temporary file.

    Yields a callable returning the captured text (read after the block).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(1), os.dup(2)]
        text = {}
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield lambda: text.get("out", "")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text["out"] = sink.read().decode(errors="replace")


def mcx_config(photons, seed):
    """cube60 for pmcx.run, in MCX's units (mm, 1/mm): the same problem as cube60_problem().

    ``issrcfrom0=1``: voxel i spans [i, i+1) mm, so srcpos (30, 30, 0) is the centre
    of the z_min face, as ours. ``isreflect=0``: no reflection at the outer boundary
    (our ambient_index = n). The single time gate [0, 5 ns] is MCX's cube60 setting;
    photons still alive at 5 ns (a ~1e-4 share of the weight here) end there.
    """
    return dict(
        nphoton=int(photons),
        vol=np.ones(CUBE60_SHAPE, dtype="uint8"),
        tstart=0.0, tend=5e-9, tstep=5e-9,
        srcpos=[30, 30, 0], srcdir=[0, 0, 1], issrcfrom0=1,
        prop=np.array([[0.0, 0.0, 1.0, 1.0], [0.005, 1.0, 0.01, 1.37]]),
        isreflect=0, seed=int(seed), autopilot=1, gpuid=1,
    )


def run_mcx(photons, args, log):
    """Run cube60 with pmcx on GPU 1: (row dict, None), or (None, the reason) when it cannot run."""
    try:
        import pmcx  # noqa: PLC0415
    except Exception as exc:
        log(f"pmcx not installed: MCX comparison not run ({type(exc).__name__}: {exc})")
        return None, "pmcx not installed: MCX comparison not run"
    version = getattr(pmcx, "__version__", "?")
    try:
        with captured_fds() as out:
            t = time.perf_counter()
            pmcx.run(**mcx_config(MCX_WARMUP_PHOTONS, 1648335518))
        log(f"    pmcx {version} warm-up ({MCX_WARMUP_PHOTONS} photons): {time.perf_counter() - t:.2f} s")
        walls, rates, absorbed, runtimes = [], [], [], []
        for r in range(args.mc_repeats):
            with captured_fds() as out:
                t = time.perf_counter()
                res = pmcx.run(**mcx_config(photons, 1648335518 + r))
                wall = time.perf_counter() - t
            stat = res["stat"]
            runtime_ms = float(stat["runtime"])
            simulated = float(stat.get("nphoton", photons))
            walls.append(wall)
            runtimes.append(runtime_ms)
            rates.append(simulated / max(runtime_ms, 1e-9))
            absorbed.append(float(stat["energyabs"]) / float(stat["energytot"]))
            log(f"    pmcx run {r}: kernel {runtime_ms:.0f} ms ({wall:.2f} s wall), {rates[-1]:,.1f} photons/ms, "
                f"absorbed {100 * absorbed[-1]:.3f} %")
            del res
    except Exception as exc:  # never fatal: the comparison is a bonus
        tail = "\n".join(out().splitlines()[-20:]) if "out" in locals() else ""
        log(f"    pmcx FAILED ({type(exc).__name__}: {exc}); MCX comparison not run. Last lines it printed:\n{tail}")
        return None, f"pmcx {version} failed ({type(exc).__name__}: {exc}): MCX comparison not run"
    mean = sum(absorbed) / len(absorbed)
    diff = mean - CUBE60_ABSORBED
    return {"device": "gpu", "dtype": "float32", "photons": photons, "repeats": len(rates),
            "wall": statistics.median(walls), "rate": statistics.median(rates), "absorbed": mean, "se": None,
            "kernel_ms": statistics.median(runtimes),
            "check": f"{100 * diff:+.3f} pp{'' if abs(diff) <= CUBE60_TOLERANCE else ' OFF'}",
            "version": version}, None


# -- 3. diffusion ------------------------------------------------------------------------------------
def diffusion_problem(n):
    grid = pt.Grid((n, n, n), DIFFUSION_EDGE / n)
    medium = OpticalMedium.uniform(grid, wavelength=WAVELENGTH, **DIFFUSION)
    (x0, x1), (y0, y1), (z0, _) = grid.bounds
    beam = CollimatedBeam(power=1.0, wavelength=WAVELENGTH, position=((x0 + x1) / 2, (y0 + y1) / 2, z0),
                          direction=(0, 0, 1), radius=BEAM_RADIUS)
    return medium, beam


def beam_source_timer(medium, beam, backend):
    """A callable that builds the collimated-beam source once (as solve_diffusion does), or None.

    Uses the solver's private ``_collimated_beam`` with the arguments
    ``solve_diffusion`` passes it; if that changes, the column reads '-'.
    """
    try:
        from phototherm.light.diffusion import _collimated_beam  # noqa: PLC0415

        transport = medium.mua + medium.reduced_scattering

        def build():
            _collimated_beam(medium.grid, beam, transport, medium.n, medium.ambient_index, backend.xp, 8)
            backend.synchronize()

        build()
        return build
    except Exception:
        return None


def run_diffusion_row(medium, beam, device, dtype, args, references, cp, log):
    n = medium.grid.shape[0]
    backend = resolve_backend(device, dtype)
    row = {"device": device, "dtype": dtype, "N": n}

    def solve():
        return solve_diffusion(medium, beam, device=device, dtype=dtype)

    # correctness first: the warm-up solve is checked
    res = solve()
    energy = res.energy_balance()
    fluence = to_host(res.fluence_rate).astype(np.float64)
    row.update(iterations=res.iterations, residual=res.relative_residual, energy=energy["relative_error"],
               absorbed=energy["absorbed_W"])
    if res.backend.get("dtype") != dtype or res.backend.get("backend") != device:
        sys.exit(f"ABORT: asked for {device} {dtype}, the diffusion solve ran on {res.backend}")
    del res
    if not abs(row["energy"]) <= ENERGY_TOLERANCE[dtype]:
        sys.exit(f"ABORT: {device} {dtype} N={n}: the energy balance misses 1 W by {row['energy']:.3e} "
                 f"(tolerance {ENERGY_TOLERANCE[dtype]:g})")
    if device == "cpu" and dtype == "float64":
        references[n] = ("cpu float64", fluence)
        row["check"] = "reference"
    else:
        if n not in references and n <= REFERENCE_MAX_N:
            t = time.perf_counter()
            ref = solve_diffusion(medium, beam, device="cpu", dtype="float64")
            references[n] = ("cpu float64", to_host(ref.fluence_rate).astype(np.float64))
            del ref
            log(f"    reference: cpu float64 solve at N={n} ({time.perf_counter() - t:.1f} s)")
        if n in references:
            label, ref_fluence = references[n]
            d = rel_l2(fluence, ref_fluence)
            row["check"] = f"{d:.1e}" + ("" if label == "cpu float64" else f" (vs {label})")
            log(f"    check: {device} {dtype} fluence vs {label}: 2-norm rel diff {d:.2e}")
            if not d <= FLUENCE_TOLERANCE[dtype]:
                sys.exit(f"ABORT: {device} {dtype} N={n}: the fluence differs from the {label} solve by {d:.3e} "
                         f"(tolerance {FLUENCE_TOLERANCE[dtype]:g})")
        else:
            row["check"] = "-"
            log(f"    {device} {dtype} N={n}: not checked (no float64 solve of this grid yet, and none is computed on "
                f"the CPU above N={REFERENCE_MAX_N})")
        if device == "gpu" and dtype == "float64" and n not in references:
            references[n] = ("gpu float64", fluence)
    del fluence

    # timing: the whole solve (source construction included), then the beam source alone
    times = []
    for _ in range(args.repeats):
        backend.synchronize()
        t = time.perf_counter()
        res = solve()          # synchronizes the device before returning
        times.append(time.perf_counter() - t)
        del res
    row["s"] = statistics.median(times)
    build = beam_source_timer(medium, beam, backend)
    if build is not None:
        beam_times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            build()
            beam_times.append(time.perf_counter() - t)
        row["beam_s"] = statistics.median(beam_times)
    gc.collect()
    free_gpu_memory(cp)
    return row


def diffusion_memory_reason(n, device, dtype, cp):
    avail = meminfo_GiB("MemAvailable") * GiB
    need = n**3 * HOST_BYTES_PER_VOXEL
    if need > 0.9 * avail:
        return f"needs ~{need / GiB:.1f} GiB of host memory, {avail / GiB:.1f} GiB available"
    if device == "gpu":
        free = cp.cuda.runtime.memGetInfo()[0]
        gpu_need = n**3 * (GPU_ARRAYS * np.dtype(dtype).itemsize + GPU_F64_ARRAYS * 8)
        if gpu_need > 0.9 * free:
            return f"needs ~{gpu_need / GiB:.1f} GiB of GPU memory, {free / GiB:.1f} GiB free"
    return None


# -- output --------------------------------------------------------------------------------------------
MC_COLUMNS = ("code", "device", "dtype", "photons", "wall s", "photons/ms", "absorbed %", "check vs 17.69 %",
              "vs MCX")
DIFF_COLUMNS = ("device", "dtype", "N", "voxel mm", "rtol", "iterations", "ms/solve", "beam ms",
                "Mvoxel-it/s", "residual", "energy err", "check")


def format_mc(r, mcx_rate):
    ratio = "-"
    if not r.get("code", "").startswith("MCX") and r["device"] == "gpu" and mcx_rate:
        ratio = f"{r['rate'] / mcx_rate:.2g}x"
    absorbed = f"{100 * r['absorbed']:.3f}" + (f" +- {100 * r['se']:.3f}" if r.get("se") is not None else "")
    return (r.get("code", "phototherm"), r["device"], r["dtype"], format_count(r["photons"]),
            f"{r['wall']:.2f}", f"{r['rate']:,.1f}", absorbed, r["check"], ratio)


def format_count(n):
    """200000 -> '2e5', 100000000 -> '1e8', 123456 -> '123,456'."""
    short = f"{n:.0e}".replace("e+0", "e").replace("e+", "e")
    return short if float(short) == n else f"{n:,}"


def format_diffusion(r):
    from phototherm.light.diffusion import DEFAULT_RTOL  # noqa: PLC0415

    n = r["N"]
    rate = n**3 * r["iterations"] / r["s"]
    return (r["device"], r["dtype"], str(n), f"{1e3 * DIFFUSION_EDGE / n:.3g}", f"{DEFAULT_RTOL[r['dtype']]:g}",
            str(r["iterations"]), f"{1e3 * r['s']:.1f}", f"{1e3 * r['beam_s']:.1f}" if "beam_s" in r else "-",
            f"{rate / 1e6:.1f}", f"{r['residual']:.1e}", f"{r['energy']:+.1e}", r["check"])



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", default=None,
                    help="cpu, gpu or both (default: cpu, plus gpu when one is usable)")
    ap.add_argument("--dtypes", default="float32,float64", help="default %(default)s")
    ap.add_argument("--photons-cpu", type=count, default=200_000,
                    help="cube60 photons on the CPU (default %(default)s; the twin, one thread, ran ~30 photons/ms here)")
    ap.add_argument("--photons-gpu", type=count, default=100_000_000,
                    help="cube60 photons on the GPU, ours and MCX's (default %(default)s)")
    ap.add_argument("--sizes", default=None,
                    help="N of the N^3 diffusion grids, every device (default: 32,64,128 on the CPU, "
                         "32,64,128,256 on the GPU)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed diffusion solves per row; the median is reported (default %(default)s)")
    ap.add_argument("--mc-repeats", type=int, default=1,
                    help="cube60 runs per row, seeds 0, 1, ...: median photons/ms, absorbed fractions pooled "
                         "(default %(default)s: each run already lasts seconds)")
    ap.add_argument("--fresh-allocator", action="store_true",
                    help="skip the allocator preconditioning (see precondition_allocator): rows then depend on "
                         "what ran before them in the process")
    ap.add_argument("--skip-mc", action="store_true", help="no Monte Carlo rows")
    ap.add_argument("--skip-diffusion", action="store_true", help="no diffusion rows")
    ap.add_argument("--markdown", action="store_true", help="print the header and tables as Markdown for RESULTS.md")
    args = ap.parse_args(argv)
    devices, dtypes = devices_and_dtypes(ap, args)
    if args.repeats < 1 or args.mc_repeats < 1:
        ap.error("--repeats and --mc-repeats must be >= 1")
    sizes = {d: ([int(s) for s in args.sizes.split(",") if s] if args.sizes else list(DIFFUSION_SIZES[d]))
             for d in ("cpu", "gpu")}
    log = lambda msg: print(msg, flush=True)  # noqa: E731

    if not args.fresh_allocator:
        precondition_allocator()

    # -- header: (key, value) pairs
    header, devices, cp = run_header(devices, cpu_note="the Monte Carlo twin and the NumPy CG run in one thread", extra=[
        ("allocator", "fresh (--fresh-allocator): timings depend on the rows run before" if args.fresh_allocator
         else "preconditioned: one ~32 MiB array allocated and freed first, so glibc serves the solvers' "
              "temporaries from its heap instead of fresh mmap pages (see precondition_allocator)"),
    ])
    for key, value in header:
        log(f"{key + ':':<10} {value}")
    log("")

    # -- 1 + 2. Monte Carlo
    mc_rows, mcx_note = [], None
    if not args.skip_mc:
        log("Monte Carlo, MCX cube60: 60^3 voxels of 1 mm, mua 0.005 /mm, mus 1 /mm, g 0.01, n 1.37 inside and "
            "out, pencil beam at the centre of z_min along +z")
        for device in devices:
            photons = args.photons_cpu if device == "cpu" else args.photons_gpu
            for dtype in sorted(dtypes, key=lambda d: d != "float64"):
                log(f"  {device} {dtype}, {photons} photons ...")
                row = run_mc_row(device, dtype, photons, args, log)
                mc_rows.append(row)
                log("    " + "  ".join(f"{c}={v}" for c, v in zip(MC_COLUMNS, format_mc(row, None))))
                free_gpu_memory(cp)
        if "gpu" in devices:
            log(f"  MCX (pmcx), gpu, {args.photons_gpu} photons ...")
            mcx, mcx_note = run_mcx(args.photons_gpu, args, log)
            if mcx is not None:
                mcx["code"] = f"MCX (pmcx {mcx['version']})"
                mc_rows.append(mcx)
        else:
            mcx_note = ("pmcx not installed: MCX comparison not run" if not _importable("pmcx")
                        else "no usable GPU: MCX comparison not run")
            log(mcx_note)
        log("")

    # -- 3. diffusion
    diff_rows, skipped = [], []
    if not args.skip_diffusion:
        log(f"Diffusion: {1e3 * DIFFUSION_EDGE:g} mm cube, mua 0.3 /cm, mus 100 /cm, g 0.9 (mus' 10 /cm), n 1.37 "
            f"in air; flat-top beam of {1e3 * BEAM_RADIUS:g} mm radius centred on z_min")
        all_sizes = sorted({n for d in devices for n in sizes[d]})
        for n in all_sizes:
            cases = [(dev, dt) for dev in devices for dt in dtypes if n in sizes[dev]]
            cases.sort(key=lambda c: (c[0] != "cpu", c[1] != "float64"))
            feasible = []
            for dev, dt in cases:
                reason = diffusion_memory_reason(n, dev, dt, cp)
                if reason:
                    skipped.append(f"diffusion {dev} {dt} N={n}: {reason}")
                    log(f"skip {skipped[-1]}")
                else:
                    feasible.append((dev, dt))
            if not feasible:
                continue
            medium, beam = diffusion_problem(n)
            references = {}
            for dev, dt in feasible:
                log(f"  {dev} {dt} N={n} ...")
                row = run_diffusion_row(medium, beam, dev, dt, args, references, cp, log)
                diff_rows.append(row)
                log(f"    absorbed {row['absorbed']:.4f} W of 1 W; median of {args.repeats}: "
                    + "  ".join(f"{c}={v}" for c, v in zip(DIFF_COLUMNS, format_diffusion(row))))
            del medium, beam, references
            gc.collect()
        log("")

    # -- tables
    if args.markdown:
        print_markdown_header(header)
    if mc_rows:
        mcx_rate = next((r["rate"] for r in mc_rows if r.get("code", "").startswith("MCX")), None)
        print("Monte Carlo, MCX cube60" + (":" if not args.markdown else ""))
        if args.markdown:
            print()
        mc_rows.sort(key=lambda r: (r.get("code") is not None, r["device"] != "cpu", r["dtype"]))
        print_table(MC_COLUMNS, [format_mc(r, mcx_rate) for r in mc_rows], args.markdown, 3)
        print()
        if mcx_note:
            print(("> " if args.markdown else "") + mcx_note)
            print()
        print(f"{'> ' if args.markdown else ''}photons/ms: the result's photons_per_ms (transport and batch "
              "reductions, kernel compilation excluded; after a warm-up run); for MCX its kernel time "
              "(stat['runtime']); wall s: the whole call; absorbed: fraction of the launched energy +- its "
              "standard error (from 10 batches); check: (ours - 17.69 %) in combined standard errors "
              "(ours and 0.005 pp for the quoted reference), 'ok' within 3; vs MCX: our photons/ms over MCX's "
              "on the same GPU." + (f" Median over {args.mc_repeats} seeds (0, 1, ...), absorbed fractions "
                                    "pooled." if args.mc_repeats > 1 else ""))
        print()
    if diff_rows:
        print("Diffusion solve" + (":" if not args.markdown else ""))
        if args.markdown:
            print()
        diff_rows.sort(key=lambda r: (r["device"] != "cpu", r["dtype"], r["N"]))
        print_table(DIFF_COLUMNS, [format_diffusion(r) for r in diff_rows], args.markdown, 2)
        for s in skipped:
            print(f"{'- ' if args.markdown else ''}skipped {s}")
        print()
        print(f"{'> ' if args.markdown else ''}ms/solve: wall time of solve_diffusion (operator and beam source "
              f"set-up, CG, energy balance), median of {args.repeats} after a checked warm-up solve; beam ms: "
              "the collimated-beam source construction alone (timed separately, part of ms/solve); "
              "Mvoxel-it/s: N^3 x iterations / ms/solve; rtol: the default CG tolerance of the dtype; residual: "
              "the true relative residual ||S - A phi|| / ||S|| of the result, recomputed in the dtype; energy err: "
              "accounted power - 1 W; check: 2-norm relative difference of the fluence from the cpu float64 "
              "solve of the same grid.")
    return 0


def _importable(name):
    try:
        __import__(name)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
