"""Macroscopic singlet-oxygen kinetics of photodynamic therapy (PHYSICS.md section 5).

Per voxel, with the fluence rate phi in mW/cm^2, concentrations in uM and t in s
(the Zhu-group model, e.g. Wang et al. 2009)::

    d[S0]/dt    = - xi sigma phi ([S0] + delta) [S0] [3O2] / ([3O2] + beta)
    d[3O2]/dt   = - xi phi [S0] [3O2] / ([3O2] + beta) + g (1 - [3O2] / [3O2]0)
    d[1O2]rx/dt =   xi phi [S0] [3O2] / ([3O2] + beta)

This module is the NumPy twin of a future CUDA kernel: :func:`advance` is
written with ``xp`` (NumPy or CuPy, taken from the state's arrays) and every
per-voxel operation is a fixed, branch-free formula, so one CUDA thread per
voxel can run the same loop. Units at the boundary are phototherm's SI ones
(fluence rate in W/m^2, fluence in J/m^2, times in s); the kinetic constants
keep the literature's units (mW/cm^2, uM). The only unit conversion is
:data:`W_PER_M2_PER_MW_PER_CM2` (1 mW/cm^2 = 10 W/m^2), applied in
:func:`to_mw_per_cm2`.

Integrator
----------
Over a step of length ``dt`` the fluence rate of every voxel is held constant
(the bioheat step's light level) and the 3-species system is integrated with
**ROS3**, the 3-stage, order-3, L-stable Rosenbrock method of Sandu et al.
(1997) as used by KPP, with its embedded order-2 error estimate and adaptive
sub-steps chosen *per voxel* inside a bounded loop:

* the system is stiff at high fluence rate (the oxygen eigenvalue
  ``-xi phi [S0] beta / ([3O2] + beta)^2 - g/[3O2]0`` reaches ~-1 1/s at
  500 mW/cm^2 for Photofrin, and scales with phi and [S0]); L-stability keeps
  a sub-step of any length stable and damps the fast oxygen transient instead
  of letting it oscillate;
* a Rosenbrock method is linearly implicit: each stage solves one linear
  system with ``I/(h gamma) - J``. Here ``J`` is 3x3 with a zero third column
  ([1O2]rx feeds back on nothing) and its 2x2 block is solved by Cramer's rule;
  its determinant is provably > ``(1/(h gamma))^2 > 0``, so no pivoting, no
  Newton iteration and no dynamic memory are needed: fixed work per attempt;
* order 3 with error control reaches 1e-6 relative accuracy with one to a few
  sub-steps per second of light, so a 1 s bioheat step usually costs one
  attempt per voxel; the last accepted sub-step is kept per voxel
  (``state.substep``) to start the next step.

A fourth, passive component ``E = integral of [S0] dt`` [uM s] is integrated
with the same stages (row ``(1, 0, 0, 0)`` of the Jacobian) to accumulate the
PDT dose exactly as [S0] bleaches within the step.

Where ``phi = 0`` the solution is analytic and used exactly: [S0] and
[1O2]rx do not change and ``[3O2] = [3O2]0 - ([3O2]0 - [3O2](t0))
exp(-g dt / [3O2]0)``.

Positivity: the exact solution keeps [S0], [3O2] >= 0 (both faces are
invariant or inflowing). A sub-step whose result dips below ``-(atol + rtol
|y|)`` is rejected and retried shorter; accepted values are clamped at 0 (the
clamp moves them by less than the tolerance).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import array_module, resolve_backend
from ..errors import Problems, SolverDidNotConverge

__all__ = [
    "W_PER_M2_PER_MW_PER_CM2",
    "PLANCK",
    "SPEED_OF_LIGHT",
    "to_mw_per_cm2",
    "photon_energy",
    "pdt_dose_rate",
    "PDTState",
    "advance",
    "singlet_oxygen_rate",
    "rhs",
]

#: One mW/cm^2 expressed in W/m^2 (1e-3 W / 1e-4 m^2 = 10 W/m^2). The only
#: fluence-rate conversion of this module: SI in, literature units inside.
W_PER_M2_PER_MW_PER_CM2 = 10.0
#: Planck constant [J s] (SI 2019, exact).
PLANCK = 6.62607015e-34
#: Speed of light in vacuum [m/s] (exact).
SPEED_OF_LIGHT = 299792458.0

# ROS3 (Sandu, Verwer, Blom, Spee, Carmichael & Potra 1997; coefficients as in
# KPP's Rosenbrock integrator, subroutine Ros3). Stage 3 reuses f of stage 2
# (A31 = 1, A32 = 0 give the same stage value as stage 2).
_GAMMA = 0.43586652150845899941601945119356
_C21 = -0.10156171083877702091975600115545e01
_C31 = 0.40759956452537699824805835358067e01
_C32 = 0.92076794298330791242156818474003e01
_M1 = 1.0
_M2 = 0.61697947043828245592553615689730e01
_M3 = -0.42772256543218573326238373806514
_E1 = 0.5
_E2 = -0.29079558716805469821718236208017e01
_E3 = 0.22354069897811569627360909276199
_ORDER_ESTIMATE = 3.0  # KPP ros_ELO: error exponent 1/3
_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 6.0


def to_mw_per_cm2(fluence_rate):
    """Fluence rate [W/m^2] -> [mW/cm^2] (divide by :data:`W_PER_M2_PER_MW_PER_CM2`)."""
    return fluence_rate / W_PER_M2_PER_MW_PER_CM2


def photon_energy(wavelength):
    """Energy of one photon, ``h c / lambda`` [J], for a vacuum wavelength [m]."""
    return PLANCK * SPEED_OF_LIGHT / wavelength


def pdt_dose_rate(fluence_rate, s0, extinction, wavelength):
    """Photons absorbed by the photosensitizer per volume per time.

    ``mua_s phi / (h c / lambda)`` with ``mua_s = extinction [S0]``.

    Parameters
    ----------
    fluence_rate : float or array
        Fluence rate [W/m^2].
    s0 : float or array
        Ground-state photosensitizer concentration [uM].
    extinction : float
        Photosensitizer absorption per concentration, natural-log base
        [1/(m uM)] (Photofrin at 630 nm: 0.0035 1/(cm uM) = 0.35 1/(m uM)).
    wavelength : float
        Treatment wavelength in vacuum [m].

    Returns
    -------
    float or array
        PDT dose rate [photons/(m^3 s)] (1 photon/cm^3 = 1e6 photons/m^3).

    Examples
    --------
    >>> f"{pdt_dose_rate(1000.0, 7.0, 0.35, 630e-9):.4e}"  # 100 mW/cm^2, 7 uM Photofrin
    '7.7702e+21'
    """
    return extinction * s0 * fluence_rate / photon_energy(wavelength)


def singlet_oxygen_rate(s0, oxygen, phi_mw_cm2, xi, beta):
    """Rate of reacted singlet oxygen ``xi phi [S0] [3O2] / ([3O2] + beta)`` [uM/s].

    ``phi_mw_cm2`` in mW/cm^2, ``xi`` in cm^2/(mW s), concentrations and
    ``beta`` in uM.
    """
    return xi * phi_mw_cm2 * s0 * oxygen / (oxygen + beta)


def rhs(s0, oxygen, phi_mw_cm2, params):
    """Right-hand side ``(d[S0]/dt, d[3O2]/dt, d[1O2]rx/dt)`` [uM/s] of the model.

    Pointwise reference formula (used by the tests); ``params`` has ``xi``,
    ``sigma``, ``beta``, ``delta``, ``g`` and ``oxygen_initial``.
    """
    r = singlet_oxygen_rate(s0, oxygen, phi_mw_cm2, params.xi, params.beta)
    return (-params.sigma * (s0 + params.delta) * r,
            -r + params.g * (1.0 - oxygen / params.oxygen_initial),
            r)


@dataclass
class PDTState:
    """PDT fields of every voxel, on one backend (NumPy or CuPy), all the same shape.

    Attributes
    ----------
    s0 : array
        Ground-state photosensitizer [S0] [uM].
    oxygen : array
        Ground-state (triplet) oxygen [3O2] [uM].
    singlet_oxygen_reacted : array
        Cumulative reacted singlet oxygen [1O2]rx [uM].
    fluence : array
        Cumulative fluence [J/m^2] (1 J/cm^2 = 1e4 J/m^2).
    pdt_dose : array
        Cumulative photons absorbed by the photosensitizer [photons/m^3]
        (1 photon/cm^3 = 1e6 photons/m^3); accumulated only when an extinction
        coefficient and wavelength are known to :func:`advance`.
    substep : array
        Last accepted ROS3 sub-step per voxel [s], used to start the next step
        (``inf``: none yet, the first attempt is the whole step).
    time : float
        Time since the start of treatment [s].
    """

    s0: Any
    oxygen: Any
    singlet_oxygen_reacted: Any
    fluence: Any
    pdt_dose: Any
    substep: Any
    time: float = 0.0

    @classmethod
    def initial(cls, shape, s0, oxygen, xp=np, dtype=np.float64) -> "PDTState":
        """Untreated tissue: given [S0] and [3O2] [uM] (scalars or arrays), zero doses.

        Parameters
        ----------
        shape : tuple of int
            Grid shape.
        s0, oxygen : float or array
            Initial photosensitizer and oxygen concentrations [uM].
        xp : module
            :mod:`numpy` or :mod:`cupy`.
        dtype : dtype
            Floating type (float64 recommended: the default tolerances are
            below float32's resolution).
        """
        problems = Problems()
        _check_field(problems, xp, s0, "s0", "finite concentrations >= 0 [uM]")
        _check_field(problems, xp, oxygen, "oxygen", "finite concentrations >= 0 [uM]")
        problems.raise_if_any("invalid initial PDT state")

        def full(value):
            return xp.broadcast_to(xp.asarray(value, dtype=dtype), shape).copy()

        return cls(full(s0), full(oxygen), xp.zeros(shape, dtype), xp.zeros(shape, dtype),
                   xp.zeros(shape, dtype), xp.full(shape, np.inf, dtype))


def advance(state: PDTState, fluence_rate, dt: float, params, *, rtol: float = 1e-6,
            atol: float = 1e-9, extinction: float | None = None, wavelength: float | None = None,
            max_attempts: int = 1000, validate: bool = True) -> PDTState:
    """Advance every voxel by ``dt`` with its fluence rate held constant; update ``state`` in place.

    Light voxels (``fluence_rate > 0``) are integrated by adaptive ROS3 (see
    the module docstring): each voxel takes its own sub-steps until it reaches
    ``dt``, accepting a sub-step when the RMS over ([S0], [3O2], [1O2]rx,
    integral of [S0]) of ``err / (atol + rtol max(|y_old|, |y_new|))`` is <= 1.
    Dark voxels use the exact solution (only oxygen relaxes toward
    ``params.oxygen_initial``).

    NumPy state arrays are stepped by this vectorised twin; CuPy state arrays
    by the CUDA kernel ``pdt_advance<real>`` (``kernels/pdt_kinetics.cu``, one
    thread per voxel, the same arithmetic), launched from here.

    Parameters
    ----------
    state : PDTState
        Fields at the start of the step; overwritten with those at the end.
    fluence_rate : float or array
        Fluence rate of every voxel over the step [W/m^2], broadcastable to
        the state's shape (1 mW/cm^2 = 10 W/m^2).
    dt : float
        Step length [s], > 0.
    params : object
        Photosensitizer constants as attributes (e.g. a ``Photosensitizer``):
        ``xi`` [cm^2/(mW s)], ``sigma`` [1/uM], ``beta`` [uM], ``delta`` [uM],
        ``g`` [uM/s] (oxygen supply), ``oxygen_initial`` [uM] (the supply's
        target [3O2]0). Other attributes are ignored, except ``extinction``
        and ``wavelength`` when not passed as keywords.
    rtol : float
        Relative local tolerance of a sub-step (default 1e-6: [1O2]rx within
        ~1e-5 relative of Radau over 1000 s at 10-500 mW/cm^2).
    atol : float
        Absolute local tolerance [uM] (and [uM s] for the [S0] integral).
    extinction : float, optional
        Photosensitizer extinction [1/(m uM)] for the PDT dose; default
        ``params.extinction`` if present. Without extinction and wavelength,
        ``state.pdt_dose`` is left unchanged.
    wavelength : float, optional
        Vacuum wavelength [m]; default ``params.wavelength`` if present.
    max_attempts : int
        Bound on sub-step attempts per voxel in this step (the CUDA loop bound).
    validate : bool
        Check inputs (one pass over the fields); switch off in trusted loops.

    Returns
    -------
    PDTState
        ``state``, updated: concentrations and doses at ``t + dt``, ``time``
        advanced by ``dt``.

    Raises
    ------
    InputError
        Negative or non-finite concentrations or fluence rates, ``dt <= 0``,
        invalid constants or tolerances; every problem is listed.
    SolverDidNotConverge
        A voxel needed more than ``max_attempts`` sub-step attempts.
    """
    xp = array_module(state.s0)
    extinction = getattr(params, "extinction", None) if extinction is None else extinction
    wavelength = getattr(params, "wavelength", None) if wavelength is None else wavelength
    if validate:
        _validate(xp, state, fluence_rate, dt, params, rtol, atol, extinction, wavelength, max_attempts)
    if xp is not np:  # CuPy state: the CUDA kernel, which performs the twin below on every voxel
        return _advance_gpu(xp, state, fluence_rate, dt, params, rtol, atol, extinction, wavelength, max_attempts)

    dtype = state.s0.dtype
    shape = state.s0.shape
    phi_si = xp.broadcast_to(xp.asarray(fluence_rate, dtype=dtype), shape)
    dt = float(dt)
    xi, sigma, beta, delta = (float(params.xi), float(params.sigma), float(params.beta), float(params.delta))
    g, o2_0 = float(params.g), float(params.oxygen_initial)

    idx = xp.nonzero((phi_si > 0).ravel())[0]  # lit voxels (flat indices)
    lit_oxygen = state.oxygen.reshape(-1)[idx]  # a copy: their start values
    # dark voxels: the exact solution (lit voxels are overwritten below)
    state.oxygen[...] = o2_0 - (o2_0 - state.oxygen) * float(np.exp(-g * dt / o2_0))
    state.fluence += phi_si * dt
    if idx.size:
        exposure = _integrate_light(xp, state, idx, lit_oxygen, dt, to_mw_per_cm2(phi_si.ravel()[idx]),
                                    xi, sigma, beta, delta, g, o2_0, rtol, atol, max_attempts)
        if extinction is not None and wavelength is not None:
            dose = state.pdt_dose.reshape(-1)
            dose[idx] += pdt_dose_rate(phi_si.ravel()[idx], exposure, float(extinction), float(wavelength))
    state.time += dt
    return state


def _integrate_light(xp, state, idx, oxygen, dt, phi, xi, sigma, beta, delta, g, o2_0, rtol, atol, max_attempts):
    """ROS3 over ``[0, dt]`` for the lit voxels ``idx`` (flat indices); returns the integral of [S0] [uM s].

    ``oxygen`` holds their [3O2] at the start of the step. Works on compact
    copies of the active voxels; each loop pass makes one attempt per active
    voxel (the body of the CUDA kernel's bounded loop), then retires the
    voxels that reached ``dt``.
    """
    flat = {name: getattr(state, name).reshape(-1) for name in ("s0", "oxygen", "singlet_oxygen_reacted", "substep")}
    S, O, X = flat["s0"][idx], oxygen, flat["singlet_oxygen_reacted"][idx]
    E = xp.zeros_like(S)
    k = xi * phi
    tau = xp.zeros_like(S)
    h = flat["substep"][idx]  # the controller's proposal (inf: try the whole step)
    pos = xp.arange(idx.size)
    out_S, out_O, out_X, out_E, out_h = (xp.empty_like(S) for _ in range(5))

    for _ in range(max_attempts):
        h_use = xp.minimum(h, dt - tau)  # never step past dt
        S1, O1, X1, E1, err = _ros3_attempt(xp, S, O, X, E, k, h_use, sigma, beta, delta, g, o2_0, rtol, atol)
        fac = xp.clip(_SAFETY * xp.maximum(err, 1e-10) ** (-1.0 / _ORDER_ESTIMATE), _FAC_MIN, _FAC_MAX)
        ok = (err <= 1.0) & (S1 >= -(atol + rtol * S)) & (O1 >= -(atol + rtol * O))
        fac = xp.where(ok, fac, xp.minimum(fac, 0.5))  # a rejected sub-step is retried shorter
        # accept: advance time and state; reject: keep them. Either way resize h.
        S = xp.where(ok, xp.maximum(S1, 0.0), S)
        O = xp.where(ok, xp.maximum(O1, 0.0), O)
        X = xp.where(ok, X1, X)
        E = xp.where(ok, E1, E)
        tau_new = tau + h_use
        tau = xp.where(ok, tau_new, tau)
        # a sub-step clipped to end the step says little about the next one:
        # keep the larger of the standing proposal and the new one
        h_next = xp.where(ok & (h_use < h), xp.maximum(h_use * fac, xp.minimum(h, dt)), h_use * fac)
        finished = ok & (tau_new >= dt * (1.0 - 1e-12))
        if bool(finished.any()):
            where = pos[finished]
            out_S[where], out_O[where], out_X[where], out_E[where] = S[finished], O[finished], X[finished], E[finished]
            out_h[where] = h_next[finished]
            keep = ~finished
            S, O, X, E, k, tau, h_next, pos = (a[keep] for a in (S, O, X, E, k, tau, h_next, pos))
        h = h_next
        if pos.size == 0:
            break
    else:
        raise _not_converged(int(pos.size), max_attempts, dt, int(idx[pos[0]]))
    flat["s0"][idx] = out_S
    flat["oxygen"][idx] = out_O
    flat["singlet_oxygen_reacted"][idx] = out_X
    flat["substep"][idx] = out_h
    return out_E


def _not_converged(count: int, max_attempts: int, dt: float, first: int) -> SolverDidNotConverge:
    """The error of a step in which ``count`` voxels (the first at flat index ``first``) did not converge."""
    return SolverDidNotConverge(
        f"PDT kinetics: {count} voxel(s) needed more than {max_attempts} ROS3 sub-step attempts "
        f"for a step of {dt} s (first at flat index {first}); loosen rtol/atol or raise max_attempts"
    )


#: Threads per block of the kernel launch (1-D, one thread per voxel).
BLOCK = 128
KERNEL_FILE = "pdt_kinetics.cu"
_CTYPES = {"float32": "float", "float64": "double"}


@functools.lru_cache(maxsize=None)
def _gpu_kernel(dtype_name: str):
    """``pdt_advance<float>`` or ``pdt_advance<double>``, compiled once per process."""
    backend = resolve_backend("gpu", dtype_name)
    return backend.load_kernel(KERNEL_FILE, f"pdt_advance<{_CTYPES[dtype_name]}>")


def _advance_gpu(xp, state, fluence_rate, dt, params, rtol, atol, extinction, wavelength, max_attempts):
    """:func:`advance` on CuPy arrays: one launch of ``pdt_advance<real>`` (inputs already validated).

    The kernel does not broadcast: the fluence rate is passed as a contiguous
    array of the state's shape and type. Voxels that do not converge are left
    unchanged by the kernel and reported through ``failures``; then
    :class:`SolverDidNotConverge` is raised in the twin's words (and
    ``state.time`` is not advanced, as in the twin).
    """
    dtype, shape = state.s0.dtype, state.s0.shape
    phi_si = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(fluence_rate, dtype=dtype), shape))
    n = state.s0.size
    if n:
        failures = xp.array([0, 2**64 - 1], dtype=xp.uint64)
        args = kernel_arguments(state, phi_si, failures, dt, params, rtol=rtol, atol=atol, extinction=extinction,
                                wavelength=wavelength, max_attempts=max_attempts)
        _gpu_kernel(dtype.name)((-(-n // BLOCK),), (BLOCK,), args)
        count, first = (int(v) for v in failures.tolist())  # one device-to-host copy (synchronises)
        if count > 0:
            raise _not_converged(count, max_attempts, float(dt), first)
    state.time += float(dt)
    return state


def _ros3_attempt(xp, S, O, X, E, k, h, sigma, beta, delta, g, o2_0, rtol, atol):
    """One ROS3 sub-step of length ``h`` for every voxel (pointwise; the CUDA kernel's body).

    Unknowns y = ([S0], [3O2], [1O2]rx, integral [S0] dt); ``k = xi phi`` [1/(uM s)].
    Returns the new values and the scaled RMS error estimate.
    """
    # Jacobian at the start of the sub-step (frozen over the stages, as ROS3 requires)
    inv = 1.0 / (O + beta)
    R_S = k * O * inv                      # dR/d[S0]
    R_O = k * S * beta * inv * inv         # dR/d[3O2]
    R = R_S * S
    a11 = sigma * (R + (S + delta) * R_S)  # -dfS/dS
    a12 = sigma * (S + delta) * R_O        # -dfS/dO
    d22 = R_O + g / o2_0                   # -dfO/dO
    c = 1.0 / (h * _GAMMA)
    m11, m22 = c + a11, c + d22            # M = c I - J, rows S, O; row X: (-R_S, -R_O, c); row E: (-1, 0, 0, c)
    inv_det = 1.0 / (m11 * m22 - a12 * R_S)  # det > c^2 > 0 (see module docstring)
    inv_c = h * _GAMMA

    def solve(bS, bO, bX, bE):
        kS = (bS * m22 - a12 * bO) * inv_det
        kO = (m11 * bO - R_S * bS) * inv_det
        return kS, kO, (bX + R_S * kS + R_O * kO) * inv_c, (bE + kS) * inv_c

    def f(s, o):
        r = k * s * o / (o + beta)
        return -sigma * (s + delta) * r, -r + g * (1.0 - o / o2_0), r, s

    # stage 1
    f1 = f(S, O)
    K1 = solve(*f1)
    # stage 2 at y + K1
    f2 = f(S + K1[0], O + K1[1])
    ch = _C21 / h
    K2 = solve(*(fi + ch * ki for fi, ki in zip(f2, K1)))
    # stage 3 reuses f2
    c31, c32 = _C31 / h, _C32 / h
    K3 = solve(*(fi + c31 * k1 + c32 * k2 for fi, k1, k2 in zip(f2, K1, K2)))

    y0 = (S, O, X, E)
    y1 = tuple(y + _M1 * a + _M2 * b + _M3 * cc for y, a, b, cc in zip(y0, K1, K2, K3))
    err2 = 0.0
    for y, yn, a, b, cc in zip(y0, y1, K1, K2, K3):
        e = (_E1 * a + _E2 * b + _E3 * cc) / (atol + rtol * xp.maximum(abs(y), abs(yn)))
        err2 = err2 + e * e
    return (*y1, (err2 * 0.25) ** 0.5)


def _check_field(problems: Problems, xp, value, path: str, expected: str) -> None:
    """Finite and >= 0, for a scalar or an array on either backend (reports the first bad voxel)."""
    arr = xp.asarray(value, dtype=float) if not hasattr(value, "dtype") else value
    try:
        bad = ~xp.isfinite(arr) | (arr < 0)
    except TypeError:
        problems.add(path, value, f"a number: {expected}")
        return
    count = int(bad.sum())
    if not count:
        return
    if arr.ndim == 0:
        problems.add(path, float(arr), expected)
    else:
        first = tuple(int(i) for i in xp.argwhere(bad)[0])
        problems.add(f"{path}{list(first)}", float(arr[first]), f"{expected} ({count} of {arr.size} elements fail)")


def _validate(xp, state, fluence_rate, dt, params, rtol, atol, extinction, wavelength, max_attempts) -> None:
    problems = Problems()
    for name in ("s0", "oxygen", "singlet_oxygen_reacted"):
        _check_field(problems, xp, getattr(state, name), f"state.{name}", "finite concentrations >= 0 [uM]")
    _check_field(problems, xp, state.fluence, "state.fluence", "finite values >= 0 [J/m^2]")
    _check_field(problems, xp, state.pdt_dose, "state.pdt_dose", "finite values >= 0 [photons/m^3]")
    shape = state.s0.shape
    for name in ("oxygen", "singlet_oxygen_reacted", "fluence", "pdt_dose", "substep"):
        problems.check(getattr(state, name).shape == shape, f"state.{name}.shape", getattr(state, name).shape,
                       f"the shape of state.s0, {shape}")
    for name in ("s0", "oxygen", "singlet_oxygen_reacted", "fluence", "pdt_dose", "substep"):
        problems.check(bool(getattr(state, name).flags.c_contiguous), f"state.{name}", "a non-contiguous array",
                       "a C-contiguous array (updated in place through flat views)")
    fr = xp.asarray(fluence_rate, dtype=float) if not hasattr(fluence_rate, "dtype") else fluence_rate
    _check_field(problems, xp, fr, "fluence_rate", "finite fluence rates >= 0 [W/m^2]")
    try:
        np.broadcast_shapes(fr.shape, shape)
    except ValueError:
        problems.add("fluence_rate.shape", fr.shape, f"a shape broadcastable to {shape}")
    problems.positive(dt, "dt", "[s]")
    for name, unit in (("xi", "[cm^2/(mW s)]"), ("sigma", "[1/uM]"), ("delta", "[uM]"), ("g", "[uM/s]")):
        if problems.check(hasattr(params, name), f"params.{name}", None, f"an attribute {name} {unit}"):
            problems.non_negative(getattr(params, name), f"params.{name}", unit)
    for name, unit in (("beta", "[uM]"), ("oxygen_initial", "[uM]")):
        if problems.check(hasattr(params, name), f"params.{name}", None, f"an attribute {name} {unit}"):
            problems.positive(getattr(params, name), f"params.{name}", unit)
    problems.positive(rtol, "rtol", "(relative tolerance)")
    problems.positive(atol, "atol", "[uM]")
    problems.check(isinstance(max_attempts, (int, np.integer)) and max_attempts > 0, "max_attempts",
                   max_attempts, "a positive integer")
    if extinction is not None:
        problems.non_negative(extinction, "extinction", "[1/(m uM)]")
    if wavelength is not None:
        problems.positive(wavelength, "wavelength", "[m]")
    problems.raise_if_any("invalid PDT kinetics step")


def kernel_arguments(state: PDTState, fluence_rate, failures, dt: float, params, *, rtol: float = 1e-6,
                     atol: float = 1e-9, extinction: float | None = None, wavelength: float | None = None,
                     max_attempts: int = 1000) -> tuple:
    """Arguments of ``pdt_advance<real>`` in ``kernels/pdt_kinetics.cu``, in order.

    Load with ``backend.load_kernel("pdt_kinetics.cu", "pdt_advance<double>")``
    (``<float>`` for float32 states).

    The one place that documents the kernel's argument order. The GPU launch
    (one thread per voxel, 1-D) and the host build of the kernel used by the
    tests receive exactly this tuple; the kernel then performs :func:`advance`
    on every voxel (keywords and defaults as there), except ``state.time``,
    which the caller advances.

    Order: ``s0, oxygen, singlet_oxygen_reacted, fluence, pdt_dose, substep``
    (the state's arrays, updated in place), ``fluence_rate`` (read), ``failures``
    (read-write), ``n`` (int64), then in the state's floating type ``dt``,
    ``dt_done = dt (1 - 1e-12)``, ``xi, sigma, beta, delta, g, oxygen_initial``,
    ``supply_rate = g / oxygen_initial``, ``oxygen_decay = exp(-g dt /
    oxygen_initial)``, ``rtol, atol``, then ``max_attempts`` (int32),
    ``accumulate_dose`` (int32), ``extinction`` and ``photon_energy`` (floating type).
    The derived scalars are computed here in double precision and rounded once,
    as :func:`advance` does.

    Parameters
    ----------
    state : PDTState
        C-contiguous fields (CuPy on the GPU, NumPy for the host build).
    fluence_rate : array
        Fluence rate of every voxel [W/m^2], C-contiguous, the state's shape and
        floating type (broadcast and cast beforehand; see :func:`advance`).
    failures : array of uint64, shape (2,)
        Set to ``[0, 2**64 - 1]`` before the launch; afterwards ``failures[0]``
        voxels did not converge within ``max_attempts`` (their fields are left
        unchanged) and ``failures[1]`` is the smallest such flat index:
        raise :class:`~phototherm.errors.SolverDidNotConverge` when
        ``failures[0] > 0``.
    dt, params, rtol, atol, extinction, wavelength, max_attempts
        As for :func:`advance` (``extinction`` and ``wavelength`` default to
        ``params``' attributes; without both the PDT dose is left unchanged).
    """
    real = state.s0.dtype.type
    extinction = getattr(params, "extinction", None) if extinction is None else extinction
    wavelength = getattr(params, "wavelength", None) if wavelength is None else wavelength
    accumulate = extinction is not None and wavelength is not None
    dt = float(dt)
    g, o2_0 = float(params.g), float(params.oxygen_initial)
    return (
        state.s0, state.oxygen, state.singlet_oxygen_reacted, state.fluence, state.pdt_dose, state.substep,
        fluence_rate, failures, np.int64(state.s0.size),
        real(dt), real(dt * (1.0 - 1e-12)),
        real(float(params.xi)), real(float(params.sigma)), real(float(params.beta)), real(float(params.delta)),
        real(g), real(o2_0), real(g / o2_0), real(float(np.exp(-g * dt / o2_0))),
        real(float(rtol)), real(float(atol)), np.int32(max_attempts),
        np.int32(1 if accumulate else 0), real(float(extinction) if accumulate else 0.0),
        real(photon_energy(float(wavelength)) if accumulate else 1.0),
    )
