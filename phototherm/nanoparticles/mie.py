"""Mie theory for concentric layered spheres (core-shell and beyond), in NumPy.

miepython (used for homogeneous spheres) has no coated-sphere routine, so this
module solves the Aden-Kerker problem for any number of concentric layers,
vectorised over many cases (typically one per wavelength) with NumPy.

Formulation
-----------
The scattered field is expanded in vector spherical harmonics with
coefficients ``a_n`` (electric) and ``b_n`` (magnetic) (Bohren & Huffman,
*Absorption and Scattering of Light by Small Particles*, 1983, ch. 4 and 8.1).
Numerically the layers are stepped through with logarithmic derivatives
instead of the Riccati-Bessel functions themselves, which overflow inside
strongly absorbing layers such as gold; this is the recursive algorithm of
W. Yang, Appl. Opt. 42, 1710 (2003), derived afresh here:

* ``psi_n(z) = z j_n(z)``, ``zeta_n(z) = z h_n^(1)(z)``;
  ``D1_n = psi_n'/psi_n`` by downward recurrence
  ``D1_{n-1} = n/z - 1/(D1_n + n/z)`` from zero well above ``n_max``;
  ``D3_n = zeta_n'/zeta_n = D1_n + i / (psi_n zeta_n)``, with
  ``psi_0 zeta_0 = (1 - exp(2iz))/2`` and
  ``psi_n zeta_n = psi_{n-1} zeta_{n-1} (n/z - D3_{n-1}) / (D1_n + n/z)``
  (the ratios ``psi_n/psi_{n-1} = 1/(D1_n + n/z)`` and
  ``zeta_n/zeta_{n-1} = n/z - D3_{n-1}`` are both free of cancellation).
* In layer ``l`` (index ``m_l`` relative to the host, outer size parameter
  ``x_l``) the radial function is ``psi_n + c zeta_n``; matching tangential
  fields at the inner boundary ``x_{l-1}`` gives its logarithmic derivative
  ``H`` at the outer boundary:
  ``H = (D1(z2) - T D3(z2)) / (1 - T)``, ``T = Q G1 / G2``, with
  ``z1 = m_l x_{l-1}``, ``z2 = m_l x_l``,
  ``Q = psi(z1) zeta(z2) / (psi(z2) zeta(z1))`` (by its own stable
  recurrence, ``Q_0 = exp(2i(z2 - z1)) (1 - exp(2i z1)) / (1 - exp(2i z2))``),
  ``G1 = m_l H_{l-1} - m_{l-1} D1(z1)``, ``G2 = m_l H_{l-1} - m_{l-1} D3(z1)``
  for ``a_n``, and ``m_l`` and ``m_{l-1}`` swapped for ``b_n``. The core has
  ``H = D1(m_1 x_1)``.
* Outside, with ``x = x_L``, ``m = m_L``:
  ``a_n = [(Ha/m + n/x) psi_n(x) - psi_{n-1}(x)] / [(Ha/m + n/x) xi_n(x) - xi_{n-1}(x)]``,
  ``b_n`` likewise with ``m Hb``; ``xi_n = zeta_n`` of the real argument.
* ``Q_ext = 2/x^2 sum (2n+1) Re(a_n + b_n)``,
  ``Q_sca = 2/x^2 sum (2n+1)(|a_n|^2 + |b_n|^2)``,
  ``g Q_sca = 4/x^2 sum [n(n+2)/(n+1) Re(a_n a*_{n+1} + b_n b*_{n+1})
  + (2n+1)/(n(n+1)) Re(a_n b*_n)]``.

The series is summed to ``n_max = max(x + 4.05 x^(1/3) + 2, |m_l x_l|,
|m_l x_{l-1}|) + 15`` (Wiscombe's criterion with the margin Pena & Pal,
Comput. Phys. Commun. 180, 2348 (2009), use for layered spheres).

Sign convention: ``exp(-i w t)``; absorbing layers have ``Im(m) > 0``.
"""

from __future__ import annotations

import numpy as np

from ..errors import Problems

__all__ = ["layered_sphere_efficiencies", "coated_sphere_efficiencies"]


def _n_terms(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Number of series terms per case; ``m``, ``x`` of shape (K, L)."""
    xl = x[:, -1]
    wiscombe = xl + 4.05 * np.cbrt(xl) + 2.0
    inner = np.concatenate([np.zeros((x.shape[0], 1)), x[:, :-1]], axis=1)
    largest = np.maximum(np.abs(m * x).max(axis=1), np.abs(m * inner).max(axis=1))
    return (np.ceil(np.maximum(wiscombe, largest)) + 15).astype(int)


def _d1(z: np.ndarray, nmax: int) -> np.ndarray:
    """``psi_n'/psi_n`` for n = 0..nmax, shape (nmax + 1, K), by downward recurrence."""
    start = int(max(nmax, np.ceil(np.abs(z).max()))) + 16
    d = np.zeros(z.shape, dtype=complex)
    out = np.empty((nmax + 1,) + z.shape, dtype=complex)
    for n in range(start, 0, -1):
        if n <= nmax:
            out[n] = d
        d = n / z - 1.0 / (d + n / z)
    out[0] = d
    return out


def _d3(z: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """``zeta_n'/zeta_n`` for n = 0..nmax by upward recurrence (needs ``Im z >= 0``)."""
    nmax = d1.shape[0] - 1
    out = np.empty_like(d1)
    out[0] = 1j
    pz = 0.5 * (1.0 - np.exp(2j * z))
    for n in range(1, nmax + 1):
        pz = pz * (n / z - out[n - 1]) / (d1[n] + n / z)
        out[n] = d1[n] + 1j / pz
    return out


def _q_ratio(z1: np.ndarray, z2: np.ndarray, d1_1, d3_1, d1_2, d3_2) -> np.ndarray:
    """``psi_n(z1) zeta_n(z2) / (psi_n(z2) zeta_n(z1))`` for n = 0..nmax."""
    nmax = d1_1.shape[0] - 1
    out = np.empty_like(d1_1)
    out[0] = np.exp(2j * (z2 - z1)) * (1.0 - np.exp(2j * z1)) / (1.0 - np.exp(2j * z2))
    for n in range(1, nmax + 1):
        psi1 = 1.0 / (d1_1[n] + n / z1)
        psi2 = 1.0 / (d1_2[n] + n / z2)
        zeta1 = n / z1 - d3_1[n - 1]
        zeta2 = n / z2 - d3_2[n - 1]
        out[n] = out[n - 1] * (psi1 * zeta2) / (psi2 * zeta1)
    return out


def _coefficients(m: np.ndarray, x: np.ndarray):
    """Mie coefficients ``a_n``, ``b_n`` (n = 1..N) for K cases of L layers; shapes (N, K)."""
    from scipy.special import spherical_jn, spherical_yn  # lazy import

    k_cases, n_layers = x.shape
    nterms = _n_terms(m, x)
    nmax = int(nterms.max())

    z = m[:, 0] * x[:, 0]
    ha = _d1(z, nmax)
    hb = ha.copy()
    for layer in range(1, n_layers):
        m_in, m_out = m[:, layer - 1], m[:, layer]
        z1 = m_out * x[:, layer - 1]
        z2 = m_out * x[:, layer]
        d1_1, d1_2 = _d1(z1, nmax), _d1(z2, nmax)
        d3_1, d3_2 = _d3(z1, d1_1), _d3(z2, d1_2)
        q = _q_ratio(z1, z2, d1_1, d3_1, d1_2, d3_2)
        g1 = m_out * ha - m_in * d1_1
        g2 = m_out * ha - m_in * d3_1
        t = q * g1 / g2
        ha = (d1_2 - t * d3_2) / (1.0 - t)
        g1 = m_in * hb - m_out * d1_1
        g2 = m_in * hb - m_out * d3_1
        t = q * g1 / g2
        hb = (d1_2 - t * d3_2) / (1.0 - t)

    xl = x[:, -1]
    ml = m[:, -1]
    n = np.arange(0, nmax + 1)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        psi = xl * spherical_jn(n, xl)
        xi = psi + 1j * xl * spherical_yn(n, xl)
        nn = n[1:]
        fa = ha[1:] / ml + nn / xl
        fb = ml * hb[1:] + nn / xl
        a = (fa * psi[1:] - psi[:-1]) / (fa * xi[1:] - xi[:-1])
        b = (fb * psi[1:] - psi[:-1]) / (fb * xi[1:] - xi[:-1])
    keep = nn <= nterms[None, :]
    a = np.where(keep, a, 0.0)
    b = np.where(keep, b, 0.0)
    return a, b


def layered_sphere_efficiencies(m, x):
    """Extinction and scattering efficiencies and anisotropy of layered spheres.

    Parameters
    ----------
    m : array_like of complex, shape (..., L)
        Refractive index of each layer *relative to the host medium*, innermost
        first, ``Im(m) >= 0`` for absorbing layers (dimensionless).
    x : array_like of float, shape (..., L)
        Size parameter of each layer's outer surface, ``2 pi n_host r_l /
        lambda0`` (dimensionless), non-decreasing outwards. Leading dimensions of
        ``m`` and ``x`` broadcast.

    Returns
    -------
    qext, qsca, g : ndarray
        Extinction and scattering efficiencies (cross-section over the outer
        geometric cross-section ``pi r_L^2``) and the mean cosine of the
        scattering angle, each of the broadcast leading shape.

    Raises
    ------
    InputError
        Mismatched layer counts, non-finite values, ``Im(m) < 0``, a
        non-positive or decreasing size parameter.

    Examples
    --------
    A thin absorbing shell on a dielectric core:

    >>> qext, qsca, g = layered_sphere_efficiencies([1.5, 0.5 + 3j], [1.0, 1.2])
    >>> print(f"{qext:.4f} {qsca:.4f} {g:.4f}")
    2.5775 0.7518 0.3893
    """
    m = np.asarray(m, dtype=complex)
    x = np.asarray(x, dtype=float)
    problems = Problems()
    if m.ndim == 0 or x.ndim == 0 or m.shape[-1] != x.shape[-1]:
        problems.add("m, x", (m.shape, x.shape), "arrays whose last axes (the layers) have the same length")
        problems.raise_if_any("invalid layered sphere")
    problems.finite(m.real, "m.real", "")
    problems.non_negative(m.imag, "m.imag", "(absorbing layers have Im(m) > 0)")
    problems.positive(x, "x", "(size parameters)")
    if x.shape[-1] > 1:
        problems.check(
            bool(np.all(np.diff(x, axis=-1) >= 0)), "x", x, "size parameters non-decreasing from core to surface"
        )
    problems.raise_if_any("invalid layered sphere")

    shape = np.broadcast_shapes(m.shape[:-1], x.shape[:-1])
    n_layers = x.shape[-1]
    mm = np.broadcast_to(m, shape + (n_layers,)).reshape(-1, n_layers)
    xx = np.broadcast_to(x, shape + (n_layers,)).reshape(-1, n_layers)

    a, b = _coefficients(mm, xx)
    n = np.arange(1, a.shape[0] + 1)[:, None]
    x2 = xx[:, -1] ** 2
    qext = 2.0 / x2 * np.sum((2 * n + 1) * (a.real + b.real), axis=0)
    qsca = 2.0 / x2 * np.sum((2 * n + 1) * (np.abs(a) ** 2 + np.abs(b) ** 2), axis=0)
    nn = n[:-1]
    cross = nn * (nn + 2) / (nn + 1) * (a[:-1] * a[1:].conj() + b[:-1] * b[1:].conj()).real
    same = (2 * n + 1) / (n * (n + 1)) * (a * b.conj()).real
    gq = 4.0 / x2 * (np.sum(cross, axis=0) + np.sum(same, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(qsca > 0, gq / qsca, 0.0)
    out = [v.reshape(shape) for v in (qext, qsca, g)]
    if not shape:
        return tuple(float(v) for v in out)
    return tuple(out)


def coated_sphere_efficiencies(m_core, m_shell, x_core, x_shell):
    """Efficiencies of a coated sphere (Aden-Kerker), vectorised.

    Parameters
    ----------
    m_core, m_shell : complex or array_like
        Core and shell refractive indices relative to the host (``Im >= 0``).
    x_core, x_shell : float or array_like
        Size parameters ``2 pi n_host r / lambda0`` of the core radius and of
        the outer radius (``x_shell >= x_core``).

    Returns
    -------
    qext, qsca, g : float or ndarray
        As :func:`layered_sphere_efficiencies`, efficiencies relative to the
        *outer* geometric cross-section.
    """
    arrays = np.broadcast_arrays(
        np.asarray(m_core, dtype=complex), np.asarray(m_shell, dtype=complex),
        np.asarray(x_core, dtype=float), np.asarray(x_shell, dtype=float),
    )
    m = np.stack(arrays[:2], axis=-1)
    x = np.stack([a.real for a in arrays[2:]], axis=-1)
    return layered_sphere_efficiencies(m, x)
