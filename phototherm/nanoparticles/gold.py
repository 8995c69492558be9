"""Dielectric function of gold: Johnson & Christy (1972) with a size correction.

The bulk permittivity comes from the optical constants measured by Johnson and
Christy (bundled in ``data/``, provenance in the README there). phototherm forms
``eps = (n + i k)**2`` at each of the 49 tabulated wavelengths and interpolates
the real and the imaginary part of ``eps`` separately with a cubic spline
(not-a-knot end conditions) in vacuum wavelength. Interpolating ``eps`` rather
than ``n`` and ``k`` keeps the interpolant linear in the quantity Maxwell's
equations use; the cubic spline (rather than linear interpolation) follows the
curvature of the interband edge near 500 nm, where the table is sparse (one
point every 25-30 nm). With it a 40 nm sphere in water peaks at 525.9 nm with
C_abs = 3.577e-15 m^2, the published anchor (526 nm, 3.58e-15 m^2); linear
interpolation gives 524.4 nm and 3.51e-15 m^2, 2 % low. Wavelengths outside
the table (187.9-1937 nm) are refused, never extrapolated.

Sign convention: time dependence ``exp(-i w t)``, so absorbing media have
``Im(eps) > 0`` and ``m = n + i k`` with ``k > 0`` (Bohren & Huffman).

Size correction
---------------
Conduction electrons in a particle smaller than their bulk mean free path
(about 40 nm in gold) also scatter off its surface. The free-electron (Drude)
part of the bulk permittivity is replaced by one with a larger damping:

.. math::

    \\varepsilon(\\omega, R) = \\varepsilon_{JC}(\\omega)
        + \\frac{\\omega_p^2}{\\omega(\\omega + i\\gamma_{bulk})}
        - \\frac{\\omega_p^2}{\\omega(\\omega + i\\gamma(R))},
    \\qquad \\gamma(R) = \\gamma_{bulk} + A v_F / R,

with hbar w_p = 8.6 eV, hbar gamma_bulk = 0.07 eV and v_F = 1.4e6 m/s
(PHYSICS.md section 4). ``R`` is the length that limits the electron's free
path: the radius of a sphere, the thickness of a nanoshell's gold layer, and
``3 V / S`` for a spheroid (which equals the radius for a sphere).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from ..errors import Problems

__all__ = [
    "gold_permittivity",
    "gold_refractive_index",
    "johnson_christy_table",
    "damping_rate",
    "GOLD_WAVELENGTH_RANGE",
    "HBAR_EV_S",
    "PLASMA_ENERGY_EV",
    "BULK_DAMPING_EV",
    "FERMI_VELOCITY",
    "DEFAULT_DAMPING_A",
]

#: Reduced Planck constant [eV s] (CODATA 2018, exact).
HBAR_EV_S = 6.582119569e-16
#: hc [eV m], to convert a vacuum wavelength to a photon energy (CODATA 2018, exact).
HC_EV_M = 1.239841984e-6

#: Plasma energy of gold, hbar w_p [eV] (PHYSICS.md section 4).
PLASMA_ENERGY_EV = 8.6
#: Bulk free-electron damping of gold, hbar gamma_bulk [eV] (PHYSICS.md section 4).
BULK_DAMPING_EV = 0.07
#: Fermi velocity of gold [m/s] (PHYSICS.md section 4).
FERMI_VELOCITY = 1.4e6

#: Default surface-scattering parameter A (dimensionless).
#:
#: A is an empirical factor; classical diffuse-scattering models give 0.75-1
#: (Kreibig & Vollmer, *Optical Properties of Metal Clusters*, 1995) and many
#: modelling papers use A = 1. phototherm defaults to 0.3, the value PHYSICS.md
#: recommends, which is the order measured on *single* gold particles in
#: solution-like surroundings where inhomogeneous broadening is absent
#: (about 0.25-0.3 for spheres and rods in single-particle spectroscopy, e.g.
#: Berciaud et al., Nano Lett. 5, 515 (2005); Novo et al., Phys. Chem. Chem.
#: Phys. 8, 3540 (2006)). Larger A broadens and lowers the plasmon peak; for
#: the particles used in photothermal therapy (radius or shell >= 5 nm) the
#: choice changes the peak absorption by about 10-30 % and hardly moves it.
DEFAULT_DAMPING_A = 0.3

_DATA_FILE = "data/gold_johnson_christy_1972.csv"


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = resources.files("phototherm.nanoparticles").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split(",")]
    if header != ["wavelength_um", "n", "k"]:  # pragma: no cover - guards the shipped file
        raise RuntimeError(f"unexpected header in {_DATA_FILE}: {header}")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    wavelength = rows[:, 0] * 1e-6
    for arr in (wavelength, rows[:, 1], rows[:, 2]):
        arr.setflags(write=False)
    return wavelength, rows[:, 1], rows[:, 2]


def johnson_christy_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bundled Johnson & Christy table, unchanged except for the unit.

    Returns
    -------
    wavelength : ndarray
        Vacuum wavelengths [m] (49 values, 187.9-1937 nm).
    n, k : ndarray
        Real and imaginary parts of the refractive index (dimensionless).
    """
    wavelength, n, k = _table()
    return wavelength.copy(), n.copy(), k.copy()


#: Vacuum wavelengths [m] covered by the Johnson & Christy table (first and last row).
GOLD_WAVELENGTH_RANGE = (0.1879e-6, 1.937e-6)


@functools.lru_cache(maxsize=1)
def _splines():
    from scipy.interpolate import CubicSpline  # lazy: keeps ``import phototherm`` light

    wavelength, n, k = _table()
    eps = (n + 1j * k) ** 2
    return CubicSpline(wavelength, eps.real), CubicSpline(wavelength, eps.imag)


def check_wavelength(wavelength, problems: Problems, path: str = "wavelength") -> np.ndarray | None:
    """Vacuum wavelength(s) as a float array, or ``None`` after recording a problem."""
    try:
        lam = np.asarray(wavelength, dtype=float)
    except (TypeError, ValueError):
        problems.add(path, wavelength, "vacuum wavelength(s) [m], numbers")
        return None
    lo, hi = GOLD_WAVELENGTH_RANGE
    expected = (
        f"vacuum wavelength(s) within the Johnson & Christy gold data, "
        f"{lo:.4g}-{hi:.4g} m ({lo * 1e9:.1f}-{hi * 1e9:.0f} nm)"
    )
    bad = ~np.isfinite(lam) | (lam < lo) | (lam > hi)
    if lam.size == 0:
        problems.add(path, wavelength, "at least one " + expected[:-1] + ")")
        return None
    if np.any(bad):
        if lam.ndim == 0:
            problems.add(path, float(lam), expected)
        else:
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            problems.add(f"{path}{list(idx)}", float(lam[idx]), f"{expected} ({int(bad.sum())} of {lam.size} fail)")
        return None
    return lam


def _check_size_parameters(radius, damping_A, problems: Problems) -> None:
    if radius is not None:
        problems.positive(radius, "radius", "[m]")
    problems.non_negative(damping_A, "damping_A", "(dimensionless)")


def damping_rate(radius=None, damping_A: float = DEFAULT_DAMPING_A):
    """Free-electron damping hbar*gamma(R) = hbar*(gamma_bulk + A v_F / R) [eV].

    Parameters
    ----------
    radius : float or ndarray or None
        Length limiting the electron free path [m]; ``None`` for bulk gold.
    damping_A : float
        Surface-scattering parameter A (dimensionless).

    Examples
    --------
    >>> round(damping_rate(20e-9), 4)   # 40 nm sphere, A = 0.3
    0.0838
    """
    problems = Problems()
    _check_size_parameters(radius, damping_A, problems)
    problems.raise_if_any("invalid size correction")
    if radius is None:
        return BULK_DAMPING_EV
    rate = BULK_DAMPING_EV + damping_A * HBAR_EV_S * FERMI_VELOCITY / np.asarray(radius, dtype=float)
    return float(rate) if rate.ndim == 0 else rate


def _permittivity(lam: np.ndarray, radius, damping_A: float) -> np.ndarray:
    """Unchecked permittivity at validated wavelengths (broadcasts with ``radius``)."""
    re, im = _splines()
    eps = re(lam) + 1j * im(lam)
    if radius is None:
        return eps
    w = HC_EV_M / lam  # photon energy hbar*w [eV]
    wp2 = PLASMA_ENERGY_EV**2
    gamma_r = BULK_DAMPING_EV + damping_A * HBAR_EV_S * FERMI_VELOCITY / np.asarray(radius, dtype=float)
    return eps + wp2 / (w * (w + 1j * BULK_DAMPING_EV)) - wp2 / (w * (w + 1j * gamma_r))


def gold_permittivity(wavelength, radius=None, damping_A: float = DEFAULT_DAMPING_A):
    """Relative permittivity of gold, optionally size-corrected.

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength(s) [m], within 187.9-1937 nm (the Johnson & Christy
        table; no extrapolation).
    radius : float or None
        Length limiting the conduction electrons' free path [m] (sphere
        radius, shell thickness, ``3V/S`` of a spheroid). ``None`` (default)
        gives bulk Johnson & Christy gold.
    damping_A : float
        Surface-scattering parameter A (dimensionless, default
        :data:`DEFAULT_DAMPING_A` = 0.3); used only with ``radius``.

    Returns
    -------
    complex or ndarray of complex
        ``eps`` with ``Im(eps) > 0`` (absorbing, ``exp(-i w t)`` convention),
        shaped like ``wavelength``.

    Raises
    ------
    InputError
        A wavelength outside the table, NaN or not a number; a non-positive
        radius; a negative ``damping_A``. Every problem is reported.

    Examples
    --------
    >>> eps = gold_permittivity(808e-9)
    >>> round(eps.real, 1), round(eps.imag, 2)
    (-24.7, 1.56)
    """
    problems = Problems()
    lam = check_wavelength(wavelength, problems)
    _check_size_parameters(radius, damping_A, problems)
    problems.raise_if_any("invalid input to gold_permittivity")
    eps = _permittivity(lam, radius, damping_A)
    return complex(eps) if np.ndim(eps) == 0 else eps


def gold_refractive_index(wavelength, radius=None, damping_A: float = DEFAULT_DAMPING_A):
    """Complex refractive index ``n + i k = sqrt(eps)`` of gold (``k > 0``).

    Same parameters, units and errors as :func:`gold_permittivity`.

    Examples
    --------
    >>> m = gold_refractive_index(0.8211e-6)   # a tabulated wavelength: the table's n, k
    >>> round(m.real, 3), round(m.imag, 3)
    (0.16, 5.083)
    """
    eps = np.asarray(gold_permittivity(wavelength, radius, damping_A))
    m = np.sqrt(eps)  # principal branch: Re >= 0; Im > 0 because Im(eps) > 0
    return complex(m) if m.ndim == 0 else m
