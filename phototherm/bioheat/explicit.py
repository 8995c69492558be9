"""Explicit (forward-Euler) Pennes step fused with thermal-dose accumulation.

Two implementations compute the same formula:

* the CUDA kernel ``kernels/pennes_step.cu`` (one thread per voxel), used on
  the GPU;
* :func:`pennes_step_twin`, its NumPy twin, used on the CPU and validated by CI
  against analytic solutions. The CPU path runs it on x-slabs of about 128k
  voxels, so the working set stays in cache, spread over a thread pool (NumPy
  releases the GIL inside its loops).

The step is stable, and keeps temperatures within the range of their
neighbours' and the boundary and arterial temperatures, for ``dt`` up to
:meth:`~phototherm.bioheat.PennesModel.critical_dt`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from .balance import accumulate_dose, heat_gain
from .state import DeviceModel, StepParameters, ThermalState

__all__ = ["pennes_step_twin", "ExplicitStepper", "slab_bounds", "kernel_arguments", "BLOCK"]

#: Voxels per slab on the CPU: large enough to amortise the per-call overhead
#: of NumPy, small enough that a slab's temporaries (1 MiB each in float64) stay
#: near the core's cache; 64k-128k measured fastest (benchmarks/RESULTS.md).
SLAB_VOXELS = 1 << 17
KERNEL_FILE = "pennes_step.cu"
BLOCK = (32, 8, 1)


def pennes_step_twin(
    T,
    T_next,
    state: ThermalState,
    dev: DeviceModel,
    heat_source,
    params: StepParameters,
    i0: int = 0,
    i1: int | None = None,
) -> None:
    """Advance the voxels of the x-slab ``[i0, i1)`` by one explicit step.

    NumPy twin of ``kernels/pennes_step.cu``: same terms, same order
    (:func:`~phototherm.bioheat.balance.heat_gain`, then the forward-Euler
    update, then :func:`~phototherm.bioheat.balance.accumulate_dose`). Writes
    the new temperature into ``T_next`` and accumulates the slab's CEM43,
    Omega, maximum temperature and time above threshold in ``state``.

    Parameters
    ----------
    T, T_next : array, shape (nx, ny, nz)
        Temperature at the start of the step [C], and where to write the end.
    state : ThermalState
        Dose fields, updated in place.
    dev : DeviceModel
        Coefficients on the same backend as ``T``.
    heat_source : array or None
        Heat-source field [W/m^3] to multiply by ``params.source_scale``.
    params : StepParameters
    i0, i1 : int
        The slab (default: the whole grid).
    """
    i1 = T.shape[0] if i1 is None else i1
    T0 = T[i0:i1]
    gain = heat_gain(T, state, dev, heat_source, params, i0, i1)
    T1 = T0 + T.dtype.type(params.dt) * dev.inv_heat_capacity[i0:i1] * gain
    T_next[i0:i1] = T1
    accumulate_dose(state, T0, T1, dev, params, i0, i1)


def slab_bounds(shape, num_threads: int = 1, voxels_per_slab: int = SLAB_VOXELS) -> list[tuple[int, int]]:
    """Split axis 0 of ``shape`` into ``[i0, i1)`` slabs for ``num_threads`` threads.

    At least two slabs per thread (for load balance), more if needed to keep
    each slab near ``voxels_per_slab`` voxels; never more slabs than planes.
    """
    nx = shape[0]
    size = nx * shape[1] * shape[2]
    count = max(2 * num_threads, -(-size // voxels_per_slab))
    count = min(nx, -(-count // num_threads) * num_threads)
    edges = [round(i * nx / count) for i in range(count + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


@lru_cache(maxsize=None)
def _executor(num_threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="phototherm-slab")


def default_num_threads() -> int:
    """Threads of the CPU path: ``$PHOTOTHERM_NUM_THREADS`` or the number of usable cores."""
    env = os.environ.get("PHOTOTHERM_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ExplicitStepper:
    """Forward-Euler stepper on the model's backend (kernel on GPU, twin on CPU).

    Parameters
    ----------
    dev : DeviceModel
    state : ThermalState
        Evolved in place; ``state.temperature`` is swapped with a scratch
        buffer every step.
    time_above_threshold : float
        Threshold of the time-above map [C].
    num_threads : int, optional
        CPU threads (default :func:`default_num_threads`).
    """

    name = "explicit"
    #: Weight of the new temperature in the step's heat balance (0: explicit).
    theta = 0.0

    def __init__(self, dev: DeviceModel, state: ThermalState, *, time_above_threshold: float,
                 num_threads: int | None = None):
        self.dev = dev
        self.state = state
        self.time_above_threshold = float(time_above_threshold)
        self.backend = dev.backend
        self._scratch = self.backend.xp.empty_like(state.temperature)
        if self.backend.is_gpu:
            ctype = {"float32": "float", "float64": "double"}[self.backend.dtype.name]
            self._kernel = self.backend.load_kernel(KERNEL_FILE, f"pennes_step<{ctype}>")
            self._no_source = None  # zeros for steps with every source off, made when first needed
        else:
            threads = num_threads or default_num_threads()
            self._slabs = slab_bounds(state.temperature.shape, threads)
            self._pool = _executor(threads)

    def step(self, t0: float, t1: float) -> None:
        """Advance the state from ``t0`` to ``t1`` [s]."""
        heat, scale = self.dev.heat_source(t0, t1)
        params = StepParameters(
            dt=t1 - t0,
            source_scale=scale,
            arterial_temperature=self.dev.model.arterial_temperature,
            time_above_threshold=self.time_above_threshold,
        )
        T, T_next = self.state.temperature, self._scratch
        if self.backend.is_gpu:
            self._launch(T, T_next, heat, params)
        else:
            futures = [
                self._pool.submit(pennes_step_twin, T, T_next, self.state, self.dev, heat, params, i0, i1)
                for i0, i1 in self._slabs
            ]
            for future in futures:
                future.result()
        self.state.temperature, self._scratch = T_next, T

    def _launch(self, T, T_next, heat, params: StepParameters) -> None:
        nx, ny, nz = T.shape
        blocks = ((nz + BLOCK[0] - 1) // BLOCK[0], (ny + BLOCK[1] - 1) // BLOCK[1], nx)
        if heat is None:
            if self._no_source is None:
                self._no_source = self.backend.xp.zeros_like(T)
            heat = self._no_source
        self._kernel(blocks, BLOCK, kernel_arguments(T, T_next, self.state, self.dev, heat, params))


def kernel_arguments(T, T_next, state: ThermalState, dev: DeviceModel, heat_source, params: StepParameters) -> tuple:
    """Arguments of ``pennes_step<real>`` in ``kernels/pennes_step.cu``, in order.

    Arrays are passed as they are (CuPy arrays on the GPU); scalars are cast to
    the kernel's C types. ``heat_source`` must be an array (zeros when no
    source is on). The host build of the kernel used by the CPU tests receives
    exactly this tuple.
    """
    real = T.dtype.type
    model = dev.model
    nx, ny, nz = model.grid.shape
    shutdown = model.vascular_shutdown
    return (
        T, T_next, dev.conductivity, dev.inv_heat_capacity, dev.perfusion, dev.boundary,
        dev.constant_source, heat_source, dev.ln_A, dev.Ea_over_R,
        state.cem43, state.omega, state.max_temperature, state.time_above,
        np.int32(nx), np.int32(ny), np.int32(nz),
        *(np.int32(p) for p in model.boundaries.periodic),
        *(real(1.0 / h**2) for h in model.grid.spacing),
        real(params.dt), real(params.source_scale), real(params.arterial_temperature),
        real(params.time_above_threshold),
        np.int32(shutdown.mode if shutdown else 0),
        real(shutdown.threshold if shutdown else 0.0),
        real(shutdown.residual_fraction if shutdown else 1.0),
    )
