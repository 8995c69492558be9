"""Nanoparticle concentrations: the units people quote, converted to number density.

Inside phototherm a nanoparticle concentration is a **number density** N
[particles per m^3, written 1/m^3]; optics then follow as
``mua = N C_abs``, ``mus = N C_sca``. The units papers and vendors quote:

* particles per millilitre: ``N = c x 1e6`` (1 mL = 1e-6 m^3);
* micrograms of gold per millilitre: ``N = c x 1e-3 / (rho_Au V_Au)``, with
  ``V_Au`` the gold volume of one particle [m^3] and
  ``rho_Au = 19300 kg/m^3`` (1 ug/mL = 1e-3 kg/m^3);
* nanomolar (moles of particles per litre, as rods are often sold):
  ``N = c x 1e-9 x N_A x 1e3``.

All functions accept scalars or arrays (maps) and refuse negative, NaN or
infinite concentrations, reporting every problem at once.

Examples
--------
>>> number_density_from_particles_per_ml(1e9)     # 1e9 particles/mL
1000000000000000.0
>>> from phototherm.nanoparticles import GoldSphere
>>> n = number_density_from_gold_ug_per_ml(50.0, GoldSphere(40e-9))
>>> f"{n:.3e} 1/m^3"
'7.731e+16 1/m^3'
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, Problem, Problems

__all__ = [
    "GOLD_DENSITY",
    "AVOGADRO",
    "number_density",
    "number_density_from_particles_per_ml",
    "number_density_from_gold_ug_per_ml",
    "number_density_from_nanomolar",
    "particles_per_ml",
    "gold_ug_per_ml",
    "CONCENTRATION_UNITS",
]

#: Density of gold [kg/m^3]: 19.3 g/cm^3 at room temperature (CRC Handbook of
#: Chemistry and Physics, "Physical constants of inorganic compounds"; the
#: X-ray density of the fcc lattice, a = 0.40782 nm, is 19.30 g/cm^3).
#: Nanoparticles are taken to have the bulk density.
GOLD_DENSITY = 19300.0

#: Avogadro constant [1/mol] (SI 2019, exact).
AVOGADRO = 6.02214076e23

_PER_ML = 1e6  # 1/mL -> 1/m^3
_UG_PER_ML = 1e-3  # ug/mL -> kg/m^3


def _values(value, path: str, unit: str, problems: Problems):
    problems.non_negative(value, path, unit)
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _out(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def _checked(value, path: str, unit: str, context: str) -> np.ndarray:
    """``value`` as a float array, or :class:`InputError` ``context`` if it is negative, NaN or infinite."""
    problems = Problems()
    arr = _values(value, path, unit, problems)
    problems.raise_if_any(context)
    return arr


def _gold_volume(particle, problems: Problems) -> float | None:
    volume = getattr(particle, "gold_volume", None)
    try:
        volume = float(volume)
    except (TypeError, ValueError):
        volume = None
    if volume is None or not np.isfinite(volume) or volume <= 0:
        problems.add("particle", particle, "a nanoparticle with a positive gold_volume [m^3] "
                                           "(GoldSphere, GoldNanoshell, GoldNanorod)")
        return None
    return volume


def number_density_from_particles_per_ml(particles_per_ml):
    """Number density [1/m^3] from a concentration in particles per millilitre.

    Parameters
    ----------
    particles_per_ml : float or array_like
        Concentration [particles/mL], >= 0.

    Raises
    ------
    InputError
        Negative, NaN or infinite values.
    """
    arr = _checked(particles_per_ml, "particles_per_ml", "[particles/mL]", "invalid nanoparticle concentration")
    return _out(arr * _PER_ML)


def number_density_from_gold_ug_per_ml(gold_ug_per_ml, particle):
    """Number density [1/m^3] from a gold mass concentration.

    Parameters
    ----------
    gold_ug_per_ml : float or array_like
        Mass of gold per volume [ug/mL] (equal to mg/L, g/m^3), >= 0.
    particle : GoldSphere, GoldNanoshell or GoldNanorod
        Supplies ``gold_volume`` [m^3]; each particle holds
        ``GOLD_DENSITY * gold_volume`` kg of gold.

    Raises
    ------
    InputError
        Negative, NaN or infinite concentrations; an object without a
        positive ``gold_volume``.
    """
    problems = Problems()
    arr = _values(gold_ug_per_ml, "gold_ug_per_ml", "[ug/mL]", problems)
    volume = _gold_volume(particle, problems)
    problems.raise_if_any("invalid nanoparticle concentration")
    return _out(arr * _UG_PER_ML / (GOLD_DENSITY * volume))


def number_density_from_nanomolar(nanomolar):
    """Number density [1/m^3] from a molar particle concentration [nmol/L].

    Raises
    ------
    InputError
        Negative, NaN or infinite values.
    """
    arr = _checked(nanomolar, "nanomolar", "[nmol/L]", "invalid nanoparticle concentration")
    return _out(arr * 1e-9 * AVOGADRO * 1e3)


def particles_per_ml(number_density):
    """Concentration [particles/mL] from a number density [1/m^3] (inverse conversion)."""
    arr = _checked(number_density, "number_density", "[1/m^3]", "invalid number density")
    return _out(arr / _PER_ML)


def gold_ug_per_ml(number_density, particle):
    """Gold mass concentration [ug/mL] from a number density [1/m^3] (inverse conversion)."""
    problems = Problems()
    arr = _values(number_density, "number_density", "[1/m^3]", problems)
    volume = _gold_volume(particle, problems)
    problems.raise_if_any("invalid number density")
    return _out(arr * GOLD_DENSITY * volume / _UG_PER_ML)


#: Units accepted by :func:`number_density`.
CONCENTRATION_UNITS = ("1/m^3", "particles/mL", "ug/mL", "nM")


def number_density(value, unit: str, particle=None):
    """Number density [1/m^3] from a concentration in a named unit.

    Parameters
    ----------
    value : float or array_like
        Concentration, >= 0.
    unit : {"1/m^3", "particles/mL", "ug/mL", "nM"}
        Unit of ``value``; ``"ug/mL"`` means micrograms of gold per mL and
        needs ``particle``.
    particle : optional
        The nanoparticle (for ``"ug/mL"``).

    Raises
    ------
    InputError
        Unknown unit, missing particle, bad values.
    """
    if unit == "1/m^3":
        return _out(_checked(value, "number_density", "[1/m^3]", "invalid nanoparticle concentration"))
    if unit == "particles/mL":
        return number_density_from_particles_per_ml(value)
    if unit == "nM":
        return number_density_from_nanomolar(value)
    if unit == "ug/mL":
        if particle is None:
            raise InputError("invalid nanoparticle concentration",
                             [Problem("particle", None, "the nanoparticle, to convert ug of gold per mL")])
        return number_density_from_gold_ug_per_ml(value, particle)
    raise InputError("invalid nanoparticle concentration",
                     [Problem("unit", unit, f"one of {', '.join(CONCENTRATION_UNITS)}")])
