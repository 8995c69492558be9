#!/usr/bin/env python
"""Benchmark of the explicit Pennes step fused with thermal-dose accumulation.

Measures, for the CPU path (the NumPy twin ``pennes_step_twin`` on x-slabs
spread over a thread pool) and the GPU path (the CUDA kernel
``kernels/pennes_step.cu``), on a heterogeneous problem of N^3 voxels:

* cell updates per second and milliseconds per call of ``stepper.step(t0, t1)``
  (median of ``--repeats`` timings, after warm-up, each from the same state);
* the bytes per cell the fused kernel must move (each array of its signature
  read once and/or written once, neighbours served by cache), counted from the
  kernel source, and the achieved bandwidth = bytes/cell x cell updates/s;
* that bandwidth as a fraction of the device's copy bandwidth, measured in the
  same run (CPU: ``np.copyto`` on 256 MiB, single-threaded and split over the
  CPU path's threads; GPU: a 1 GiB device-to-device copy; read + write counted);
* a straightforward whole-array NumPy slicing implementation of the same step
  (:class:`SlicingStep`, the baseline; run with CuPy on the GPU), checked
  against the package after one step, and the speed-up over it.

Targets from the issue (checked by reading the table, never asserted here):
CPU path >= 2x the baseline at 128^3; GPU >= 70 % of copy bandwidth at 256^3
float32 on an H100/H200-class GPU.

Run ``python benchmarks/bench_pennes.py --help`` for the options; record the
output in ``benchmarks/RESULTS.md`` with ``--markdown``.
"""

from __future__ import annotations

import argparse
import gc
import math
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from report import devices_and_dtypes, meminfo_GiB, print_table, run_header
import phototherm as pt
from phototherm.backend import kernel_source, to_host
from phototherm.bioheat.explicit import default_num_threads
from phototherm.tissues import LIVER_COAGULATION, thermal_tissue

SPACING = 0.5e-3          # voxel size [m]
THRESHOLD = 43.0          # time-above threshold [C] (same as the CEM43 breakpoint: both split paths run)
FIELDS = ("temperature", "cem43", "omega", "max_temperature", "time_above")
TOLERANCE = {"float64": 1e-10, "float32": 1e-3}   # abort when a check differs by more (see rel_diff)
TARGET_REPEAT_S = 0.1     # each timed repeat runs enough steps to last about this long
GPU_CHECK_MAX_N = 256     # GPU rows are checked against the CPU float64 path up to this size
GiB = 2.0**30

# -- bytes per cell ------------------------------------------------------------------------
EXPECTED_READS = ("T", "conductivity", "inv_heat_capacity", "perfusion", "boundary", "constant_source",
                  "heat_source", "ln_A", "Ea_over_R", "cem43", "omega", "max_temperature", "time_above")
EXPECTED_WRITES = ("T_next", "cem43", "omega", "max_temperature", "time_above")


def kernel_traffic():
    """Arrays the fused kernel reads and writes, from the signature of ``pennes_step``.

    ``const real*`` parameters are read; other pointers are written, and read as
    well when the body uses them other than as the target of a plain ``x[c] =``.
    Returns (reads, writes, note).
    """
    try:
        src = kernel_source("pennes_step.cu")
        m = re.search(r"__global__ void pennes_step\((.*?)\)\s*\{(.*)", src, re.S)
        params, body = m.group(1), m.group(2)
        reads, writes = [], []
        for const, name in re.findall(r"(const\s+)?real\s*\*\s*__restrict__\s+(\w+)", params):
            if not const:
                writes.append(name)
                uses = len(re.findall(rf"\b{name}\[", body))
                plain = len(re.findall(rf"\b{name}\[c\]\s*=(?!=)", body))
                if uses == plain:
                    continue
            reads.append(name)
    except Exception as exc:  # package data missing: fall back to the list checked when this was written
        return EXPECTED_READS, EXPECTED_WRITES, f"could not parse kernels/pennes_step.cu ({exc}); using the 2026-11 list"
    note = ""
    if set(reads) != set(EXPECTED_READS) or set(writes) != set(EXPECTED_WRITES):
        note = "the kernel signature changed since this benchmark was written: check the count"
    return tuple(reads), tuple(writes), note


# -- the problem -------------------------------------------------------------------------------
def smooth_field(shape, rng, terms=4, modes=3):
    """Smooth random field scaled to [0, 1]: a sum of separable products of random low cosines."""
    axes = [np.linspace(0.0, 1.0, n) for n in shape]
    out = np.zeros(shape)
    for _ in range(terms):
        p = []
        for x in axes:
            prof = np.zeros_like(x)
            for m in range(1, modes + 1):
                prof += rng.normal() / m * np.cos(np.pi * m * x + rng.uniform(0, 2 * np.pi))
            p.append(prof)
        out += p[0][:, None, None] * p[1][None, :, None] * p[2][None, None, :]
    out -= out.min()
    out /= out.max()
    return out


def build_model(n: int, seed: int = 0) -> tuple[pt.PennesModel, str]:
    """A heterogeneous N^3 model through the public API, and a one-line description."""
    rng = np.random.default_rng(seed + n)
    shape = (n, n, n)
    grid = pt.Grid(shape, SPACING)
    muscle, fat, liver, skin = (thermal_tissue(t) for t in ("muscle", "fat", "liver", "skin"))
    tissues = {
        0: fat,                                                   # no damage model
        1: muscle.replace(arrhenius=LIVER_COAGULATION),
        2: liver,                                                 # liver coagulation pair
        3: thermal_tissue("tumour").replace(arrhenius=LIVER_COAGULATION),
        4: skin,                                                  # Henriques-Moritz pair
    }
    field = smooth_field(shape, rng)
    sample = field.ravel()[rng.integers(0, field.size, 200_000)]
    labels = np.digitize(field, np.quantile(sample, [0.15, 0.45, 0.70])).astype(np.int8)
    labels[:, :, : max(2, n // 32)] = 4                           # a skin layer on the z_min face
    del field, sample
    k_label = np.array([tissues[i].conductivity for i in range(5)])
    w_label = np.array([tissues[i].perfusion for i in range(5)])
    overrides = {
        "conductivity": k_label[labels] * (0.8 + 0.4 * smooth_field(shape, rng)),
        "perfusion": w_label[labels] * (0.5 + smooth_field(shape, rng)),
    }
    props = pt.ThermalProperties(grid, labels, tissues, overrides=overrides)
    del overrides
    # 37-60 C smooth field plus 0.25 C voxel noise: 0.2-0.4 % of the voxels cross 43 C in a step
    T0 = 37.0 + 23.0 * smooth_field(shape, rng)
    T0 += rng.uniform(-0.25, 0.25, shape)
    np.clip(T0, 37.0, 60.0, out=T0)
    # Gaussian beam profile modulated by a smooth field, on at a constant level
    g = [np.exp(-0.5 * ((np.arange(m) - m / 2) / (m / 6)) ** 2) for m in shape]
    q = 5e6 * (g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]) * (0.5 + smooth_field(shape, rng))
    source = pt.HeatSource(q, pt.PowerSchedule.constant(), name="beam")
    bc = pt.BoundaryConditions(default=pt.FixedTemperature(37.0), z_min=pt.Convective(10.0, 25.0),
                               y_min="insulated", y_max="insulated")
    model = pt.PennesModel(grid, props, boundaries=bc, heat_sources=[source], initial_temperature=T0)
    modelled = float(np.mean(props.has_damage_model))
    text = (f"{n}^3 voxels of {SPACING * 1e3:g} mm, 5 tissues (random blobs + skin layer), smooth random k and "
            f"perfusion, Arrhenius in {100 * modelled:.0f} % of voxels, T0 37-60 C, Gaussian source on, "
            "fixed 37 C on x faces and z_max, convective z_min, insulated y")
    return model, text


# -- the baseline --------------------------------------------------------------------------------
class SlicingStep:
    """The same step written plainly over whole arrays (what a first implementation looks like).

    Face conductances are precomputed once; each step allocates its temporaries.
    ``xp`` is numpy (or cupy for the GPU rows). Supports what :func:`build_model`
    uses: one heat source, no periodic axes, no vascular shutdown.
    """

    def __init__(self, model: pt.PennesModel, dtype, xp=np):
        assert len(model.heat_sources) == 1 and not any(model.boundaries.periodic)
        assert model.vascular_shutdown is None
        self.xp, self.dtype, self.model = xp, np.dtype(dtype), model
        r = self.dtype.type
        c = model.coefficients
        put = lambda a: xp.asarray(a, dtype=self.dtype)  # noqa: E731
        self.inv_c = put(c.inv_heat_capacity)
        self.perfusion = put(c.perfusion)
        self.boundary = put(c.boundary)
        self.constant_source = put(c.boundary_source + c.metabolic_heat)
        self.ln_A, self.Ea_over_R = put(c.ln_A), put(c.Ea_over_R)
        self.q = put(model.heat_sources[0].power_density)
        k = put(c.conductivity)
        hx, hy, hz = model.grid.spacing
        self.gx = 2 * k[:-1] * k[1:] / (k[:-1] + k[1:]) * r(1 / hx**2)
        self.gy = 2 * k[:, :-1] * k[:, 1:] / (k[:, :-1] + k[:, 1:]) * r(1 / hy**2)
        self.gz = 2 * k[:, :, :-1] * k[:, :, 1:] / (k[:, :, :-1] + k[:, :, 1:]) * r(1 / hz**2)
        self.fields = {}

    def set_state(self, host_fields):
        for f in FIELDS:
            self.fields[f] = self.xp.asarray(host_fields[f], dtype=self.dtype).copy()

    def exp_mean(self, z):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.xp.where(z == 0, self.dtype.type(1), self.xp.expm1(z) / z)

    def step(self, t0, t1):
        xp, r, s = self.xp, self.dtype.type, self.fields
        dt = t1 - t0
        scale = self.model.heat_sources[0].schedule.mean(t0, t1)
        Ta = self.model.arterial_temperature
        T = s["temperature"]
        # heat balance: conduction through harmonic-mean faces, perfusion, boundaries, sources
        gain = xp.zeros_like(T)
        flux = self.gx * (T[1:] - T[:-1])
        gain[:-1] += flux
        gain[1:] -= flux
        flux = self.gy * (T[:, 1:] - T[:, :-1])
        gain[:, :-1] += flux
        gain[:, 1:] -= flux
        flux = self.gz * (T[:, :, 1:] - T[:, :, :-1])
        gain[:, :, :-1] += flux
        gain[:, :, 1:] -= flux
        gain += self.perfusion * (r(Ta) - T)
        gain -= self.boundary * T
        gain += self.constant_source
        gain += r(scale) * self.q
        T1 = T + r(dt) * self.inv_c * gain          # forward Euler
        # CEM43 for T linear from T to T1; R = 0.5 at or above 43 C, 0.25 below; split at a crossing
        bp, ln_half, ln_quarter = r(43.0), r(math.log(0.5)), r(math.log(0.25))
        above0 = T >= bp
        ln_r = xp.where(above0, ln_half, ln_quarter)
        cem = r(dt / 60) * xp.exp((bp - T) * ln_r) * self.exp_mean((T - T1) * ln_r)
        cross = above0 != (T1 >= bp)
        if bool(cross.any()):
            a, b, la = T[cross], T1[cross], ln_r[cross]
            lb = (ln_half + ln_quarter) - la
            frac = (bp - a) / (b - a)
            cem[cross] = r(dt / 60) * (frac * xp.exp((bp - a) * la) * self.exp_mean((a - bp) * la)
                                       + (1 - frac) * self.exp_mean((bp - b) * lb))
        s["cem43"] += cem
        # Arrhenius, log-rate linear over the step
        ln_k0 = self.ln_A - self.Ea_over_R / (T + r(273.15))
        ln_k1 = self.ln_A - self.Ea_over_R / (T1 + r(273.15))
        s["omega"] += r(dt) * xp.exp(ln_k0) * self.exp_mean(ln_k1 - ln_k0)
        s["max_temperature"] = xp.maximum(s["max_temperature"], T1)
        # time strictly above the threshold
        up0, up1 = T > r(THRESHOLD), T1 > r(THRESHOLD)
        above = xp.where(up0 & up1, r(dt), r(0))
        cross = up0 != up1
        if bool(cross.any()):
            a, b = T[cross], T1[cross]
            above[cross] = r(dt) * (xp.maximum(a, b) - r(THRESHOLD)) / xp.abs(b - a)
        s["time_above"] += above
        s["temperature"] = T1


# -- helpers ---------------------------------------------------------------------------------------
def rel_diff(result, reference, norm="max"):
    """Worst over the fields of ||a - b|| / ||b||, in the max norm or the 2-norm; and that field.

    The max norm (max_i |a_i - b_i| / max_i |b_i|) checks the package against the
    baseline in the same dtype. The GPU checks use the 2-norm, as the device
    method says: the time above the threshold of a voxel that crosses it is
    dt (T_hi - 43) / |T1 - T0|, ill-conditioned when the step barely changes T,
    so in float32 a handful of voxels can differ by 1e-3 of dt between two
    correct implementations.
    """
    worst, where = 0.0, FIELDS[0]
    for f in FIELDS:
        a, b = np.asarray(result[f], dtype=np.float64), np.asarray(reference[f], dtype=np.float64)
        if norm == "max":
            num, den = float(np.max(np.abs(a - b))), float(np.max(np.abs(b)))
        else:
            num, den = float(np.linalg.norm((a - b).ravel())), float(np.linalg.norm(b.ravel()))
        d = num / (den if den > 0 else 1.0)
        if not d <= worst:      # NaN propagates as the worst
            worst, where = d, f
    return worst, where


def median_step_times(cases, clock, repeats):
    """Median seconds per step of each ``(step, restore)`` case.

    Each case is warmed up, then timed ``repeats`` times, each time k steps from
    the restored state (k chosen so a repeat lasts about TARGET_REPEAT_S). The
    cases take turns within every repeat, so a slow spell of a shared machine
    hits the package and the baseline alike. Returns [(median, k), ...].
    """
    ks = []
    for step, restore in cases:
        for _ in range(2):                  # warm-up (thread pool, kernel load, caches)
            restore()
            first = clock(step, 1)
        ks.append(int(min(100, max(1, TARGET_REPEAT_S / max(first, 1e-7)))))
    times = [[] for _ in cases]
    for _ in range(repeats):
        for (step, restore), k, t in zip(cases, ks, times):
            restore()
            t.append(clock(step, k) / k)
    return [(statistics.median(t), k) for t, k in zip(times, ks)]


def cpu_clock(step, k):
    t = time.perf_counter()
    for _ in range(k):
        step()
    return time.perf_counter() - t


def gpu_clock_factory(cp):
    start, end = cp.cuda.Event(), cp.cuda.Event()

    def clock(step, k):
        cp.cuda.Device().synchronize()
        start.record()
        for _ in range(k):
            step()
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end) / 1e3   # ms -> s

    return clock


# Memory estimates [bytes per voxel], checked against peak RSS at 128^3 and 256^3 (see RESULTS.md).
# Host: the model's float64 arrays (7 properties, 6 coefficients, T0, source map) plus set-up
# transients ~ 150 B whatever the dtype, then arrays of the benchmark's dtype: the stepper's 18
# (8 coefficients, 3 face maps, source, 5 state fields, scratch) + 12 saved/result copies, and for
# the baseline (alive at the same time, the timings interleave) ~ 33 (11 coefficients/faces/source,
# 5 fields, 5 initial, ~12 temporaries of a step).
HOST_F64_BYTES = 150
HOST_ARRAYS_PACKAGE = 30
HOST_ARRAYS_BASELINE = 33
# GPU: DeviceModel 8 + faces 3 + source 1, state 5, scratch 1, zero source 1, saved state 5; baseline 33.
GPU_ARRAYS_PACKAGE = 24
GPU_ARRAYS_BASELINE = 33


def host_bytes(n, dtype, baseline):
    arrays = HOST_ARRAYS_PACKAGE + (HOST_ARRAYS_BASELINE if baseline else 0)
    return n**3 * (HOST_F64_BYTES + arrays * np.dtype(dtype).itemsize)


def effective_cores(threads):
    """How many cores NumPy work gets right now: threads x (1-thread time / time of `threads` threads in parallel).

    Each thread computes np.exp on its own cache-resident array. On a dedicated
    machine this is close to ``threads``; on a shared VM it drops when another
    tenant holds a core, and so does the CPU path (the baseline uses one thread).
    """
    a = np.random.default_rng(2).random((threads, 1 << 15))
    out = np.empty_like(a)
    pool = _probe_pool(threads)

    def work(i):
        for _ in range(500):
            np.exp(a[i], out=out[i])

    ratios = []
    for _ in range(3):
        t = time.perf_counter()
        work(0)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        list(pool.map(work, range(threads)))
        ratios.append(threads * t1 / (time.perf_counter() - t))
    return statistics.median(ratios)


_POOLS = {}


def _probe_pool(threads):
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads)
    return _POOLS[threads]


# -- copy bandwidth ----------------------------------------------------------------------------------
def cpu_copy_bandwidth(threads, repeats):
    """(single-threaded, threaded) np.copyto bandwidth [GB/s], read + write counted, 256 MiB arrays."""
    n = (256 << 20) // 8
    src = np.random.default_rng(1).random(n)
    dst = np.zeros_like(src)
    chunks = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    pool = ThreadPoolExecutor(threads)

    def threaded():
        list(pool.map(lambda ab: np.copyto(dst[ab[0]:ab[1]], src[ab[0]:ab[1]]), chunks))

    out = []
    for fn in (lambda: np.copyto(dst, src), threaded):
        fn()
        t = []
        for _ in range(max(repeats, 15)):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        out.append(2 * src.nbytes / statistics.median(t) / 1e9)
    pool.shutdown()
    return tuple(out)


def gpu_copy_bandwidth(cp, repeats):
    """Device-to-device copy bandwidth [GB/s] (read + write counted), 1 GiB (less if memory is short)."""
    free, _ = cp.cuda.runtime.memGetInfo()
    nbytes = int(min(GiB, free / 4)) // 8 * 8
    src = cp.random.random(nbytes // 8)
    dst = cp.empty_like(src)
    clock = gpu_clock_factory(cp)
    copy = lambda: cp.copyto(dst, src)  # noqa: E731  (contiguous, same dtype: a device-to-device memcpy)
    clock(copy, 3)
    t = statistics.median(clock(copy, 10) / 10 for _ in range(max(repeats, 15)))
    del src, dst
    cp.get_default_memory_pool().free_all_blocks()
    return 2 * nbytes / t / 1e9, nbytes


# -- one row ------------------------------------------------------------------------------------------
def run_row(model, device, dtype, args, bytes_per_cell, cp, references, log):
    """Check, then time the package's stepper (and the baseline, interleaved); return a row dict."""
    n = model.grid.shape[0]
    row = {"device": device, "dtype": dtype, "N": n, "bytes": bytes_per_cell[dtype]}
    gpu = device == "gpu"
    xp = cp if gpu else np
    clock = gpu_clock_factory(cp) if gpu else cpu_clock
    sim = pt.Simulation(model, stop_time=1000.0, device=device, dtype=dtype, progress=False,
                        nan_check_interval=0, num_threads=args.threads)
    stepper, state, dt = sim.stepper, sim.state, sim.dt
    saved = {f: getattr(state, f).copy() for f in FIELDS}
    host_initial = {f: to_host(saved[f]) for f in FIELDS}

    def restore():
        for f in FIELDS:
            getattr(state, f)[...] = saved[f]

    def step():
        stepper.step(0.0, dt)

    # correctness first: one step from the initial state, the output buffer poisoned with NaN
    restore()
    stepper._scratch[...] = np.nan
    step()
    sim.backend.synchronize()
    result = {f: to_host(getattr(state, f)).copy() for f in FIELDS}
    row["crossing"] = float(np.mean((host_initial["temperature"] >= 43.0) != (result["temperature"] >= 43.0)))
    if references is not None and device == "cpu" and dtype == "float64":
        references[n] = result          # kept for the GPU rows of this size
    if gpu and n <= GPU_CHECK_MAX_N:
        if n not in references:
            ref = pt.Simulation(model, stop_time=1000.0, device="cpu", dtype="float64", progress=False,
                                nan_check_interval=0, num_threads=args.threads)
            ref.stepper.step(0.0, ref.dt)
            references[n] = {f: getattr(ref.state, f).copy() for f in FIELDS}
            del ref
            gc.collect()
        d, f = rel_diff(result, references[n], "l2")
        dmax, fmax = rel_diff(result, references[n], "max")
        row["check"] = d
        log(f"    check: gpu {dtype} step vs the CPU path in float64: 2-norm rel diff {d:.2e} ({f}); "
            f"max-norm {dmax:.2e} ({fmax})")
        if not d <= TOLERANCE[dtype]:
            sys.exit(f"ABORT: the GPU step differs from the CPU float64 path by {d:.3e} in {f} "
                     f"(tolerance {TOLERANCE[dtype]:g} for {dtype})")
    elif gpu:
        log(f"    gpu {dtype} N={n}: not checked against the CPU path (N > {GPU_CHECK_MAX_N}: reference too costly)")
    cases = [(step, restore)]

    # the baseline, checked against the package after one step
    base = None
    if gpu or n <= args.baseline_max_size:
        base = SlicingStep(model, dtype, xp)
        base.set_state(host_initial)
        base.step(0.0, dt)
        base_result = {f: to_host(base.fields[f]) for f in FIELDS}
        d, f = rel_diff(result, base_result, "l2" if gpu else "max")
        if gpu:
            log(f"    check: gpu kernel vs the baseline on CuPy, {dtype}: 2-norm rel diff {d:.2e} ({f})")
        else:
            row["check"] = d
            log(f"    check: cpu {dtype} step vs the baseline: max rel diff {d:.2e} ({f})")
        if not d <= TOLERANCE[dtype]:
            sys.exit(f"ABORT: the baseline and the package differ by {d:.3e} in {f} after one step "
                     f"(tolerance {TOLERANCE[dtype]:g} for {dtype}): the comparison would not be of equal work")
        del base_result
        initial_dev = {f: xp.asarray(host_initial[f], dtype=dtype) for f in FIELDS}

        def base_restore():
            for f in FIELDS:
                base.fields[f] = initial_dev[f].copy()

        cases.append((lambda: base.step(0.0, dt), base_restore))
    else:
        log(f"    baseline skipped at N={n} (> --baseline-max-size {args.baseline_max_size})")
    del result, host_initial
    threads = args.threads or default_num_threads()
    before = None if gpu else effective_cores(threads)
    timings = median_step_times(cases, clock, args.repeats)
    if not gpu:
        row["cores"] = (before, effective_cores(threads))
    row["s_per_step"], row["steps_per_repeat"] = timings[0]
    if base is not None:
        row["base_s_per_step"], row["base_steps_per_repeat"] = timings[1]
    del sim, stepper, state, saved, base, cases
    gc.collect()
    if gpu:
        cp.get_default_memory_pool().free_all_blocks()
    return row


# -- output --------------------------------------------------------------------------------------------
COLUMNS = ("device", "dtype", "N", "Mcell upd/s", "ms/step", "B/cell", "GB/s", "% copy BW",
           "base Mcell upd/s", "speed-up", "check", "eff. cores")


def format_row(r, copy_bw):
    cups = r["N"] ** 3 / r["s_per_step"]
    gbs = cups * r["bytes"] / 1e9
    base = r.get("base_s_per_step")
    return (r["device"], r["dtype"], str(r["N"]), f"{cups / 1e6:.1f}", f"{r['s_per_step'] * 1e3:.3f}",
            str(r["bytes"]), f"{gbs:.1f}", f"{100 * gbs / copy_bw[r['device']]:.0f} %",
            f"{r['N'] ** 3 / base / 1e6:.1f}" if base else "-",
            f"{base / r['s_per_step']:.2f}x" if base else "-",
            f"{r['check']:.1e}" if "check" in r else "-",
            "/".join(f"{c:.1f}" for c in r["cores"]) if "cores" in r else "-")



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,128,256,512", help="comma-separated N of N^3 grids (default %(default)s)")
    ap.add_argument("--dtypes", default="float32,float64", help="default %(default)s")
    ap.add_argument("--devices", default="cpu,gpu", help="cpu, gpu or both (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per row; the median is reported (default %(default)s)")
    ap.add_argument("--threads", type=int, default=None, help="CPU path threads (default: the package default)")
    ap.add_argument("--baseline-max-size", type=int, default=256,
                    help="largest N for the CPU baseline (default %(default)s; the GPU baseline runs at every size)")
    ap.add_argument("--markdown", action="store_true", help="print the header and table as Markdown for RESULTS.md")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    devices, dtypes = devices_and_dtypes(ap, args)
    threads = args.threads or default_num_threads()
    log = lambda msg: print(msg, flush=True)  # noqa: E731

    # -- header: (key, value) pairs
    header, devices, cp = run_header(
        devices, cpu_note=f"{threads} thread{'s' if threads > 1 else ''} for the CPU path")
    reads, writes, note = kernel_traffic()
    bytes_per_cell = {d: (len(reads) + len(writes)) * np.dtype(d).itemsize for d in ("float32", "float64")}
    header += [
        ("bytes/cell", f"{len(reads)} arrays read + {len(writes)} written = {len(reads) + len(writes)} x sizeof(real) = "
                       f"{bytes_per_cell['float32']} B (float32), {bytes_per_cell['float64']} B (float64); "
                       "counted from the signature of kernels/pennes_step.cu, neighbours of T and k served by cache"),
        ("  read", ", ".join(reads)),
        ("  written", ", ".join(writes)),
    ]
    if note:
        header.append(("  NOTE", note))
    copy_bw = {}
    if "cpu" in devices:
        single, multi = cpu_copy_bandwidth(threads, args.repeats)
        copy_bw["cpu"] = max(single, multi)
        header.append(("cpu copy", f"np.copyto of 256 MiB float64, read + write counted: {single:.1f} GB/s "
                                   f"single-threaded, {multi:.1f} GB/s split over {threads} thread{'s' if threads > 1 else ''} "
                                   "(% copy BW uses the larger)"))
    if "gpu" in devices:
        copy_bw["gpu"], nbytes = gpu_copy_bandwidth(cp, args.repeats)
        header.append(("gpu copy", f"device-to-device copy of {nbytes / GiB:.2f} GiB, read + write counted: "
                                   f"{copy_bw['gpu']:.1f} GB/s"))
    for key, value in header:
        log(f"{key + ':':<12} {value}")
    log("")

    # -- rows
    rows, skipped = [], []
    for n in sizes:
        feasible = []
        for device in devices:
            for dtype in dtypes:
                reason = None
                avail = meminfo_GiB("MemAvailable") * GiB
                if device == "gpu":
                    need = host_bytes(n, "float64", False)      # host side: the model and the CPU reference
                    free = cp.cuda.runtime.memGetInfo()[0]
                    gpu_need = n**3 * np.dtype(dtype).itemsize * (GPU_ARRAYS_PACKAGE + GPU_ARRAYS_BASELINE)
                    if gpu_need > 0.9 * free:
                        reason = f"needs ~{gpu_need / GiB:.1f} GiB of GPU memory, {free / GiB:.1f} GiB free"
                else:
                    need = host_bytes(n, dtype, n <= args.baseline_max_size)
                if reason is None and need > 0.9 * avail:
                    reason = f"needs ~{need / GiB:.1f} GiB of host memory, {avail / GiB:.1f} GiB available"
                if reason:
                    skipped.append(f"{device} {dtype} N={n}: {reason}")
                    log(f"skip {skipped[-1]}")
                else:
                    feasible.append((device, dtype))
        if not feasible:
            continue
        t = time.perf_counter()
        model, text = build_model(n)
        model.coefficients  # noqa: B018  (assembled once, shared by the rows of this size)
        log(f"N={n}: {text} (built in {time.perf_counter() - t:.1f} s)")
        references = {} if "gpu" in devices else None
        for device, dtype in sorted(feasible, key=lambda dd: (dd[0] != "cpu", dd[1] != "float64")):
            log(f"  {device} {dtype} N={n} ...")
            row = run_row(model, device, dtype, args, bytes_per_cell, cp, references, log)
            rows.append(row)
            log(f"    {row['crossing'] * 100:.1f} % of voxels cross 43 C in the first step; steps per timed "
                f"repeat: {row['steps_per_repeat']} (baseline {row.get('base_steps_per_repeat', '-')}), "
                f"median of {args.repeats}")
            log("    " + "  ".join(f"{c}={v}" for c, v in zip(COLUMNS, format_row(row, copy_bw))))
        del model, references
        gc.collect()

    # -- table
    rows.sort(key=lambda r: (r["device"], r["dtype"], r["N"]))
    log("")
    if args.markdown:
        for key, value in header:
            print(f"{'  ' if key.startswith(' ') else ''}- **{key.strip()}**: {value}")
        print()
    print_table(COLUMNS, [format_row(r, copy_bw) for r in rows], args.markdown, 2)
    if skipped:
        print()
        for s in skipped:
            print(f"{'- ' if args.markdown else ''}skipped {s}")
    print()
    print(f"{'' if not args.markdown else '> '}Mcell upd/s: voxels advanced per second by stepper.step (median); "
          "GB/s = B/cell x cell updates/s; % copy BW = that over the copy bandwidth above; base = the whole-array "
          "slicing baseline (NumPy on cpu, CuPy on gpu) timed the same way; speed-up = base time / package time; "
          "check = relative difference after one step, worst field (cpu rows: package vs baseline, max norm; "
          "gpu rows: kernel vs the CPU path in float64, 2-norm); eff. cores = cores NumPy work got just before/after "
          "the row's timings (threads x 1-thread time / parallel time of np.exp per thread; below the thread "
          "count the machine was shared and the CPU path slowed with it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
