"""Thermal dose: CEM43, Arrhenius damage and time above a temperature.

The functions ending in ``_increment`` are the pointwise formulas used inside
every time step, by the NumPy twin and (transcribed) by the CUDA kernel
``kernels/pennes_step.cu``. They work on NumPy or CuPy arrays alike and keep
the input's floating-point type. Each assumes that the temperature changes
*linearly* in time from ``T1`` to ``T2`` over a step of length ``dt``:

* **CEM43** is then integrated exactly, including a step that crosses 43 C
  (where the base R changes), via
  ``integral = dt * R**(43 - T1) * (exp(z) - 1) / z``, ``z = (T1 - T2) ln R``.
* **Arrhenius** damage is integrated exactly for a rate whose logarithm is
  linear over the step. The true log-rate ``ln A - Ea / (R_gas T)`` is concave
  in T and lies above that chord by ``(Ea / (R_gas T_K)) (dT / T_K)^2 / 6`` on
  average over a step of temperature change dT, so Omega is underestimated by
  about that fraction: 1e-6 for a 0.05 K step (typical explicit steps), 1e-4
  for 0.5 K, with the skin pair (Ea / (R_gas T_K) ~ 230). Exact at constant
  temperature.
* **Time above** a threshold counts the fraction of the step spent above it.

The ``*_constant`` functions are closed forms for a constant temperature, for
users and for tests.

References
----------
S. A. Sapareto and W. C. Dewey, "Thermal dose determination in cancer
therapy", Int. J. Radiat. Oncol. Biol. Phys. 10:787-800 (1984).
F. C. Henriques and A. R. Moritz, "Studies of thermal injury", Am. J. Pathol.
23:531-549 (1947).
"""

from __future__ import annotations

import math

import numpy as np

from .backend import array_module
from .units import GAS_CONSTANT, KELVIN_OFFSET, MINUTE

__all__ = [
    "CEM43_BREAKPOINT_C",
    "NO_DAMAGE_LN_A",
    "exp_mean",
    "cem43_increment",
    "arrhenius_increment",
    "time_above_increment",
    "cem43_constant",
    "time_to_cem43",
    "arrhenius_constant",
    "surviving_fraction",
    "combined_surviving_fraction",
]

#: Temperature at which the CEM43 base changes from 0.25 to 0.5 [C].
CEM43_BREAKPOINT_C = 43.0
LN_R_ABOVE = math.log(0.5)
LN_R_BELOW = math.log(0.25)

#: ``ln A`` of voxels without an Arrhenius model (paired with ``Ea = 0``): a
#: rate of 1.8e-35 /s, so Omega stays below 1e-27 over a year, while ``exp()``
#: stays a normal number in float32 and float64 (NumPy's exp takes a slow path
#: on underflow). Results report Omega as NaN in those voxels.
NO_DAMAGE_LN_A = -80.0


def exp_mean(z):
    """``(exp(z) - 1) / z``, the mean of ``exp`` over ``[0, z]``; 1 at ``z = 0``.

    Computed with ``expm1`` so it stays accurate for tiny ``|z|``.
    """
    zero = z == 0
    return array_module(z).expm1(z) / (z + zero) + zero  # at z = 0: 0 / 1 + 1


def cem43_increment(T1, T2, dt):
    """CEM43 accrued over one step, exact for a linear temperature change.

    Parameters
    ----------
    T1, T2 : array
        Temperature at the start and end of the step [C].
    dt : float
        Step length [s].

    Returns
    -------
    array
        Cumulative equivalent minutes at 43 C accrued in the step [min].

    Notes
    -----
    With ``R = 0.5`` at or above 43 C and ``0.25`` below, a segment from
    ``Ta`` to ``Tb`` lasting ``tau`` contributes
    ``tau * R**(43 - Ta) * exp_mean((Ta - Tb) ln R)``. A step crossing 43 C is
    split at the crossing time into two such segments, one for each base;
    only the (few) crossing voxels pay for the second segment.
    """
    xp = array_module(T1)
    c = T1.dtype.type
    bp = c(CEM43_BREAKPOINT_C)
    above1 = T1 >= bp
    ln_r1 = xp.where(above1, c(LN_R_ABOVE), c(LN_R_BELOW))
    minutes = xp.exp((bp - T1) * ln_r1) * exp_mean((T1 - T2) * ln_r1)
    crossing = xp.flatnonzero(above1 != (T2 >= bp))  # flat indices: much faster than 3-D nonzero
    if crossing.size:
        a, b, ln_a = T1.ravel()[crossing], T2.ravel()[crossing], ln_r1.ravel()[crossing]
        ln_b = c(LN_R_ABOVE + LN_R_BELOW) - ln_a  # the base on T2's side
        frac = (bp - a) / (b - a)  # fraction of the step spent on T1's side
        minutes.reshape(-1)[crossing] = (frac * xp.exp((bp - a) * ln_a) * exp_mean((a - bp) * ln_a)
                                         + (1 - frac) * exp_mean((bp - b) * ln_b))
    return c(dt / MINUTE) * minutes


def arrhenius_increment(T1, T2, dt, ln_A, Ea_over_R):
    """Arrhenius damage integral accrued over one step.

    Parameters
    ----------
    T1, T2 : array
        Temperature at the start and end of the step [C].
    dt : float
        Step length [s].
    ln_A : array or float
        Natural log of the frequency factor, ``ln(A / (1/s))``.
    Ea_over_R : array or float
        Activation energy over the gas constant, ``Ea / R`` [K].

    Returns
    -------
    array
        Increment of the damage integral Omega (dimensionless).
    """
    c = T1.dtype.type
    ln_k1 = ln_A - Ea_over_R / (T1 + c(KELVIN_OFFSET))
    ln_k2 = ln_A - Ea_over_R / (T2 + c(KELVIN_OFFSET))
    return c(dt) * array_module(T1).exp(ln_k1) * exp_mean(ln_k2 - ln_k1)


def time_above_increment(T1, T2, dt, threshold):
    """Time spent strictly above ``threshold`` during one linear step [s].

    Parameters
    ----------
    T1, T2 : array
        Temperature at the start and end of the step [C].
    dt : float
        Step length [s].
    threshold : float
        Temperature threshold [C].
    """
    xp = array_module(T1)
    c = T1.dtype.type
    above1 = T1 > threshold
    above2 = T2 > threshold
    seconds = (above1 & above2) * c(dt)
    crossing = xp.flatnonzero(above1 != above2)
    if crossing.size:
        a, b = T1.ravel()[crossing], T2.ravel()[crossing]
        seconds.reshape(-1)[crossing] = c(dt) * ((xp.maximum(a, b) - c(threshold)) / xp.abs(b - a))
    return seconds


# -- closed forms for constant temperature -------------------------------------
def cem43_constant(temperature_C, duration_s):
    """CEM43 [min] of holding ``temperature_C`` for ``duration_s`` seconds."""
    T = np.asarray(temperature_C, dtype=float)
    R = np.where(T >= CEM43_BREAKPOINT_C, 0.5, 0.25)
    return np.asarray(duration_s) / MINUTE * R ** (CEM43_BREAKPOINT_C - T)


def time_to_cem43(temperature_C, dose_min=240.0):
    """Time [s] at constant ``temperature_C`` to reach ``dose_min`` CEM43.

    Examples
    --------
    >>> round(float(time_to_cem43(43.0)) / 3600, 6), round(float(time_to_cem43(50.0)), 3)
    (4.0, 112.5)
    """
    return dose_min * MINUTE / cem43_constant(temperature_C, MINUTE)


def arrhenius_constant(temperature_C, duration_s, A, Ea):
    """Omega of holding ``temperature_C`` for ``duration_s``.

    Parameters
    ----------
    temperature_C : float or array
        Temperature [C].
    duration_s : float
        Exposure time [s].
    A : float
        Frequency factor [1/s].
    Ea : float
        Activation energy [J/mol].
    """
    T_K = np.asarray(temperature_C, dtype=float) + KELVIN_OFFSET
    return duration_s * A * np.exp(-Ea / (GAS_CONSTANT * T_K))


def surviving_fraction(omega):
    """Fraction of cells surviving an Arrhenius damage integral, ``exp(-Omega)``.

    Omega is defined as ``ln(C(0) / C(t))``, the log of the ratio of undamaged
    (native) cells before and after heating (Henriques and Moritz 1947), so
    ``exp(-Omega)`` is the surviving fraction by definition. NaN (no damage
    model in that tissue) stays NaN.
    """
    xp = array_module(omega)
    return xp.exp(-omega)


def combined_surviving_fraction(*fractions):
    """Surviving fraction after several independent treatments: the product of their fractions.

    Used for combined photothermal and photodynamic therapy,
    ``S = S_thermal x S_PDT``: the two killing mechanisms are **assumed
    independent** (a cell survives both only if it survives each, with no
    synergy or antagonism). Measured combinations can deviate either way
    (e.g. mild heat can sensitise cells to PDT), so read the product as the
    independent-action reference, not a prediction of synergy.

    Parameters
    ----------
    *fractions : array or float
        Surviving fractions in [0, 1], broadcastable to one shape. A NaN
        (a mechanism not modelled in that voxel) makes the product NaN: the
        combined survival is unknown there, not that of the other mechanism.

    Returns
    -------
    array or float
    """
    if not fractions:
        raise TypeError("combined_surviving_fraction() needs at least one surviving fraction")
    product = fractions[0]
    for fraction in fractions[1:]:
        product = product * fraction
    return product
