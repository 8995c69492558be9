"""The per-voxel heat balance and dose accumulation shared by all steppers.

Both functions act on an x-slab ``[i0, i1)`` of NumPy or CuPy arrays; the
explicit NumPy twin and the implicit stepper call them, and the CUDA kernel
``kernels/pennes_step.cu`` transcribes them.
"""

from __future__ import annotations

from ..backend import array_module
from ..dose import arrhenius_increment, cem43_increment, time_above_increment
from .state import DeviceModel, StepParameters, ThermalState
from .stencil import conduction

__all__ = ["heat_gain", "accumulate_dose"]


def heat_gain(T, state: ThermalState, dev: DeviceModel, heat_source, params: StepParameters,
              i0: int = 0, i1: int | None = None):
    """Net heat gain of the slab's voxels at temperature ``T`` [W/m^3].

    ``conduction + f w_b rho_b c_b (T_a - T) - boundary T + boundary source
    + Q_met + scale Q``, with ``f`` the vascular-shutdown factor from the dose
    accumulated so far (1 without shutdown), in the kernel's order of terms.
    """
    i1 = T.shape[0] if i1 is None else i1
    s = slice(i0, i1)
    real = T.dtype.type
    T0 = T[s]
    perfusion = dev.perfusion[s]
    shutdown = dev.model.vascular_shutdown
    if shutdown is not None:
        perfusion = shutdown.factor(state.cem43[s], state.omega[s]) * perfusion
    gain = conduction(T, dev.faces, i0, i1)
    gain += perfusion * (real(params.arterial_temperature) - T0)
    gain -= dev.boundary[s] * T0
    gain += dev.constant_source[s]
    if heat_source is not None:
        gain += real(params.source_scale) * heat_source[s]
    return gain


def accumulate_dose(state: ThermalState, T0, T1, dev: DeviceModel, params: StepParameters,
                    i0: int = 0, i1: int | None = None) -> None:
    """Add one step's thermal dose to the slab of ``state`` (T linear from T0 to T1).

    ``T0`` and ``T1`` are the slab's temperatures [C] at the start and end of
    the step.
    """
    xp = array_module(T0)
    i1 = state.cem43.shape[0] if i1 is None else i1
    s = slice(i0, i1)
    dt = params.dt
    state.cem43[s] += cem43_increment(T0, T1, dt)
    state.omega[s] += arrhenius_increment(T0, T1, dt, dev.ln_A[s], dev.Ea_over_R[s])
    xp.maximum(state.max_temperature[s], T1, out=state.max_temperature[s])
    state.time_above[s] += time_above_increment(T0, T1, dt, params.time_above_threshold)
