"""Optical properties of tissue loaded with nanoparticles.

Particles far apart compared with their size (any therapeutic loading: 1e9
particles/mL puts them about 10 um apart) scatter and absorb independently,
so their coefficients are the number density times the single-particle
cross-sections:

``mua_NP = N C_abs``, ``mus_NP = N C_sca`` [1/m], and the particles'
scattering anisotropy is that of one particle. Coefficients of several
components (tissue, particle species) add, and the anisotropy of the mixture
is the scattering-weighted mean (:func:`combine_optics`).

Examples
--------
>>> from phototherm.nanoparticles import CrossSections
>>> cs = CrossSections(absorption=2.7e-14, scattering=1.0e-13, anisotropy=0.0)
>>> mua, mus, g = nanoparticle_optics(1e15, cs)   # 1e9 shells/mL
>>> round(float(mua) / 100, 3)                    # [1/cm]
0.27
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, Problem, Problems

__all__ = ["nanoparticle_optics", "combine_optics"]


def nanoparticle_optics(number_density, cross_sections):
    """Absorption and scattering coefficients and anisotropy of a particle population.

    Parameters
    ----------
    number_density : float or ndarray
        Number density N [1/m^3] (a map of ``grid.shape`` or a scalar), >= 0.
    cross_sections : CrossSections
        Single-particle cross-sections [m^2] and anisotropy, for one wavelength
        (floats) or several (arrays of shape ``(n_wavelengths,)``).

    Returns
    -------
    mua, mus : ndarray
        Absorption and scattering coefficients [1/m], ``N * C_abs`` and
        ``N * C_sca``. Shape ``N.shape`` for one wavelength, or
        ``N.shape + C.shape`` for several (the wavelength axis last).
    g : ndarray
        The particles' anisotropy, broadcast to the same shape (it is the same
        wherever there are particles; combine with the tissue's through
        :func:`combine_optics`).

    Raises
    ------
    InputError
        Negative, NaN or infinite densities or cross-sections; an anisotropy
        outside -1..1; something that is not a CrossSections.
    """
    problems = Problems()
    fields = ("absorption", "scattering", "anisotropy")
    if not all(hasattr(cross_sections, f) for f in fields):
        raise InputError("invalid nanoparticle optics", [Problem(
            "cross_sections", cross_sections, "a CrossSections (absorption, scattering [m^2], anisotropy)")])
    problems.non_negative(number_density, "number_density", "[1/m^3]")
    problems.non_negative(cross_sections.absorption, "cross_sections.absorption", "[m^2]")
    problems.non_negative(cross_sections.scattering, "cross_sections.scattering", "[m^2]")
    problems.finite(cross_sections.anisotropy, "cross_sections.anisotropy", "")
    g_arr = np.asarray(cross_sections.anisotropy, dtype=float)
    problems.check(bool(np.all(np.abs(np.nan_to_num(g_arr)) <= 1.0)), "cross_sections.anisotropy",
                   cross_sections.anisotropy, "a mean cosine between -1 and 1")
    problems.raise_if_any("invalid nanoparticle optics")

    n = np.asarray(number_density, dtype=float)
    c_abs = np.asarray(cross_sections.absorption, dtype=float)
    c_sca = np.asarray(cross_sections.scattering, dtype=float)
    shapes = {c_abs.shape, c_sca.shape, g_arr.shape}
    if len(shapes) != 1 or c_abs.ndim > 1:
        raise InputError("invalid nanoparticle optics", [Problem(
            "cross_sections", cross_sections, "one value or one 1-D array per field, all of the same length")])
    expand = (Ellipsis,) + (None,) * c_abs.ndim
    nn = n[expand]
    mua = nn * c_abs
    mus = nn * c_sca
    g = np.broadcast_to(g_arr, mua.shape).copy()
    return mua, mus, g


def combine_optics(*components):
    """Add the optical properties of independent components (tissue, particles).

    Parameters
    ----------
    *components : tuple of (mua, mus, g)
        Absorption and scattering coefficients [1/m] and anisotropy, scalars or
        arrays that broadcast together.

    Returns
    -------
    mua, mus, g : ndarray
        ``sum(mua)``, ``sum(mus)`` [1/m] and the scattering-weighted anisotropy
        ``sum(mus g) / sum(mus)`` (0 where nothing scatters).

    Examples
    --------
    >>> mua, mus, g = combine_optics((50.0, 1e4, 0.9), (27.0, 100.0, 0.0))
    >>> float(mua), float(mus), round(float(g), 4)
    (77.0, 10100.0, 0.8911)
    """
    problems = Problems()
    if not components:
        problems.add("components", components, "at least one (mua, mus, g) triple")
    for i, comp in enumerate(components):
        if not (isinstance(comp, (tuple, list)) and len(comp) == 3):
            problems.add(f"components[{i}]", comp, "a (mua [1/m], mus [1/m], g) triple")
            continue
        problems.non_negative(comp[0], f"components[{i}].mua", "[1/m]")
        problems.non_negative(comp[1], f"components[{i}].mus", "[1/m]")
        problems.finite(comp[2], f"components[{i}].g", "")
    problems.raise_if_any("invalid optical components")
    mua = sum(np.asarray(c[0], dtype=float) for c in components)
    mus = sum(np.asarray(c[1], dtype=float) for c in components)
    weighted = sum(np.asarray(c[1], dtype=float) * np.asarray(c[2], dtype=float) for c in components)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(mus > 0, weighted / np.where(mus > 0, mus, 1.0), 0.0)
    return np.asarray(mua), np.asarray(mus), g
