"""Fresnel reflection at a refractive-index step, and the diffusion boundary factor A.

Shared by the light solvers:

- :func:`fresnel_reflectance` and :func:`transmitted_cosine` are vectorised and
  work on NumPy or CuPy arrays (or Python floats) alike: the Monte Carlo
  engine uses them for every photon reaching an interface, the diffusion
  solver for the specular reflection of a collimated beam.
- :func:`effective_reflectance` and :func:`extrapolated_boundary_factor` give
  the diffuse-light reflection of an index-mismatched boundary (Haskell et al.
  1994) from which the diffusion solver builds its Robin (extrapolated
  boundary) condition. They run on the host (NumPy) and are meant to be called
  once per distinct index.

Conventions: light travels from the medium of index ``n_in`` towards the medium
of index ``n_out``; angles are measured from the interface normal; the light is
unpolarised (the mean of the s and p reflectances).

References
----------
R. C. Haskell, L. O. Svaasand, T.-T. Tsay, T.-C. Feng, M. S. McAdams and
B. J. Tromberg, "Boundary conditions for the diffusion equation in radiative
transfer", J. Opt. Soc. Am. A 11, 2727-2741 (1994).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module

__all__ = [
    "fresnel_reflectance",
    "transmitted_cosine",
    "effective_reflectance",
    "extrapolated_boundary_factor",
]

#: Gauss-Legendre nodes used by :func:`effective_reflectance` (the integrands are
#: smooth after the change of variable described there: 64 nodes reach 1e-15).
_QUADRATURE_NODES = 64


def _module_of(*values):
    for value in values:
        xp = array_module(value)
        if xp is not np:
            return xp
    return np


def _as_float(xp, value):
    a = xp.asarray(value)
    return a if a.dtype.kind == "f" else a.astype(xp.float64)


def transmitted_cosine(n_in, n_out, cos_in):
    """Cosine of the refraction angle (Snell's law); 0 under total internal reflection.

    Parameters
    ----------
    n_in, n_out : float or array
        Refractive indices on the incident and the transmitted side (>= 1).
    cos_in : float or array
        Cosine of the angle of incidence, measured from the normal, in [0, 1]
        (the absolute value is taken).

    Returns
    -------
    array
        ``cos_t = sqrt(1 - (n_in / n_out)^2 (1 - cos_in^2))``, or 0 where the
        square root's argument is <= 0 (total internal reflection). Same array
        module (NumPy or CuPy) as the inputs; broadcast shape.

    Examples
    --------
    >>> round(float(transmitted_cosine(1.0, 1.5, np.cos(np.pi / 4))), 6)
    0.881917
    """
    xp = _module_of(n_in, n_out, cos_in)
    c = xp.abs(_as_float(xp, cos_in))
    ratio = _as_float(xp, n_in) / _as_float(xp, n_out)
    sin_t2 = ratio * ratio * (1 - c * c)
    return xp.sqrt(xp.clip(1 - sin_t2, 0, 1))


def fresnel_reflectance(n_in, n_out, cos_in):
    """Fresnel reflectance of unpolarised light at a planar index step.

    ``R = (r_s^2 + r_p^2) / 2`` with

    ``r_s = (n_in cos_i - n_out cos_t) / (n_in cos_i + n_out cos_t)``,
    ``r_p = (n_in cos_t - n_out cos_i) / (n_in cos_t + n_out cos_i)``

    and ``cos_t`` from Snell's law (:func:`transmitted_cosine`). Beyond the
    critical angle (``n_in > n_out``) ``R = 1``; at grazing incidence on a real
    step ``R = 1``; with ``n_in == n_out`` there is no interface and ``R = 0``.

    Parameters
    ----------
    n_in : float or array
        Refractive index of the medium the light comes from (>= 1).
    n_out : float or array
        Refractive index of the medium beyond the interface (>= 1).
    cos_in : float or array
        Cosine of the angle of incidence from the normal, in [0, 1] (its
        absolute value is used, so the sign convention of the normal does not
        matter).

    Returns
    -------
    array
        Reflected fraction of the power, in [0, 1]; broadcast shape of the
        inputs, on their array module (NumPy or CuPy), in their floating type
        (float64 for Python numbers).

    Examples
    --------
    Normal incidence from air onto tissue of index 1.4: ``((1.4 - 1) / 2.4)^2``.

    >>> round(float(fresnel_reflectance(1.0, 1.4, 1.0)), 6)
    0.027778
    >>> float(fresnel_reflectance(1.4, 1.0, 0.5))   # beyond the critical angle 45.6 deg
    1.0
    """
    xp = _module_of(n_in, n_out, cos_in)
    ci = xp.clip(xp.abs(_as_float(xp, cos_in)), 0, 1)
    n1 = _as_float(xp, n_in)
    n2 = _as_float(xp, n_out)
    ratio = n1 / n2
    sin_t2 = ratio * ratio * (1 - ci * ci)
    total = sin_t2 >= 1
    ct = xp.sqrt(xp.clip(1 - sin_t2, 0, 1))
    den_s = n1 * ci + n2 * ct
    den_p = n1 * ct + n2 * ci
    zero_s, zero_p = den_s == 0, den_p == 0
    rs = (n1 * ci - n2 * ct) / xp.where(zero_s, 1, den_s)
    rp = (n1 * ct - n2 * ci) / xp.where(zero_p, 1, den_p)
    R = 0.5 * (rs * rs + rp * rp)
    R = xp.where(total | zero_s | zero_p, 1, R)
    R = xp.where(n1 == n2, 0, R)
    return xp.clip(R, 0, 1)


def effective_reflectance(relative_index):
    """Effective reflection coefficient R_eff of diffuse light at a boundary.

    Haskell et al. (1994), eq. (2.11)-(2.13):

    ``R_eff = (R_phi + R_j) / (2 - R_phi + R_j)``,
    ``R_phi = int_0^{pi/2} 2 sin(t) cos(t) R(t) dt``,
    ``R_j = int_0^{pi/2} 3 sin(t) cos(t)^2 R(t) dt``,

    where ``R(t)`` is :func:`fresnel_reflectance` for light inside the tissue
    meeting the boundary at angle ``t``.

    Quadrature: with ``mu = cos t``, ``R = 1`` on ``[0, mu_c]`` (total internal
    reflection, ``mu_c = sqrt(1 - 1/m^2)`` for ``m > 1``) and those parts are
    integrated exactly (``mu_c^2`` and ``mu_c^3``). On ``[mu_c, 1]`` the
    integrand has a square-root singularity at ``mu_c``; the variable
    ``c = cos(refraction angle)`` removes it (``mu dmu = c dc / m^2``), leaving
    smooth integrands on ``[0, 1]`` for 64-point Gauss-Legendre quadrature
    (agrees with adaptive quadrature to 1e-14). For ``m < 1`` there is no
    critical angle and ``mu`` itself is the variable.

    Parameters
    ----------
    relative_index : float or array_like
        ``m = n_tissue / n_outside`` (dimensionless, > 0).

    Returns
    -------
    numpy.ndarray or float
        R_eff in [0, 1) (0 for a matched boundary), same shape as the input.

    Examples
    --------
    >>> round(float(effective_reflectance(1.4)), 4)
    0.4935
    """
    m = np.asarray(relative_index, dtype=np.float64)
    flat = m.ravel()
    x, w = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    x, w = 0.5 * (x + 1.0), 0.5 * w  # nodes and weights on [0, 1]
    out = np.zeros_like(flat)
    for k, mk in enumerate(flat):
        if mk == 1.0:
            continue
        if mk > 1.0:
            mu_c = np.sqrt(1.0 - 1.0 / mk**2)
            c = x  # cosine on the outside
            mu = np.sqrt(1.0 - (1.0 - c * c) / mk**2)
            R = fresnel_reflectance(mk, 1.0, mu)
            r_phi = mu_c**2 + np.sum(w * 2.0 * R * c) / mk**2
            r_j = mu_c**3 + np.sum(w * 3.0 * mu * R * c) / mk**2
        else:
            mu = x
            R = fresnel_reflectance(mk, 1.0, mu)
            r_phi = np.sum(w * 2.0 * mu * R)
            r_j = np.sum(w * 3.0 * mu * mu * R)
        out[k] = (r_phi + r_j) / (2.0 - r_phi + r_j)
    out = out.reshape(m.shape)
    return float(out) if out.ndim == 0 else out


def extrapolated_boundary_factor(relative_index):
    """The factor A of the extrapolated-boundary (partial-current) condition.

    ``A = (1 + R_eff) / (1 - R_eff)`` with R_eff from
    :func:`effective_reflectance`. The outward diffuse flux through the
    boundary is ``J = phi / (2 A)`` [W/m^2] for a surface fluence rate phi
    [W/m^2], i.e. the fluence extrapolates to zero a distance ``2 A D`` beyond
    the surface. A = 1 for a matched boundary; 2.759 for m = 1.37 and 2.948
    for m = 1.40 (Haskell et al. 1994). The Groenhuis polynomial fit is *not*
    used (it gives about 10 % more).

    Parameters
    ----------
    relative_index : float or array_like
        ``m = n_tissue / n_outside`` (dimensionless, > 0).

    Returns
    -------
    numpy.ndarray or float
        A (dimensionless, >= 1), same shape as the input.

    Examples
    --------
    >>> round(extrapolated_boundary_factor(1.37), 3), round(extrapolated_boundary_factor(1.40), 3)
    (2.759, 2.948)
    """
    r = np.asarray(effective_reflectance(relative_index))
    a = (1.0 + r) / (1.0 - r)
    return float(a) if a.ndim == 0 else a
