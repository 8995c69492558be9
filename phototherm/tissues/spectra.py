"""Absorption spectra of the tissue chromophores, 400-1100 nm, in SI units.

Every function takes a vacuum wavelength in **metres** (a float or an array of
any shape) and returns the absorption coefficient in **1/m** (a float for a
float, an array of the same shape otherwise). The tables are read once from
``phototherm/tissues/data/`` (provenance in the README there) and cached.

=====================  ===========================================  ==================
chromophore            data                                         covered by data
=====================  ===========================================  ==================
oxy-/deoxyhaemoglobin  Prahl (OMLC), molar extinction, 2 nm steps   250-1000 nm
                       + shape of Bosschaart et al. 2014 beyond     1000-1110 nm
water                  Segelstein 1981 (OMLC), about 5 nm steps     250-2000 nm
fat (lard)             van Veen et al. 2004 (OMLC), 1 nm steps      429-1098 nm
melanosome interior    Jacques 2013 eq. 8, 519 1/cm (lambda/500)^-m  formula
=====================  ===========================================  ==================

Values between table rows are linearly interpolated in wavelength; rows are
read exactly. Outside what the tables cover, within the supported range
:data:`WAVELENGTH_RANGE` (400-1100 nm), two documented rules apply:

* **Haemoglobin, 1000-1100 nm** (Prahl's table ends at 1000 nm): the molar
  extinction is Prahl's 1000 nm value times the *relative* spectral shape of the
  whole-blood absorption compiled by Bosschaart et al. (2014) for oxygenated
  (SO2 > 98 %) and deoxygenated blood, after removing the blood's own water
  absorption (:data:`BOSSCHAART_BLOOD_WATER_FRACTION` x water). The shape is
  taken relative to 1005 nm, because the compilation changes sources at
  1000 nm and steps there (+3 % oxy, +41 % deoxy from 1000 to 1005 nm); the value
  is held at Prahl's 1000 nm value from 1000 to 1005 nm. This is how Jacques'
  OMLC "generic tissue optics" page joins Suzaki's blood spectra to Prahl's
  at 1000 nm. Expected error: about +/-15 % for oxyhaemoglobin (an independent
  oxygenated-blood measurement, Meinke et al. 2007, falls by 0.58 between 1000
  and 1100 nm where this shape falls by 0.53) and up to a factor 2 for
  deoxyhaemoglobin, whose level beyond 1000 nm in the compilation is 2.5 times
  Prahl's 1000 nm value; for blood at S >= 0.7 the deoxy part is under 8 % of
  the total there, so whole-blood absorption is uncertain by about +/-20 %.
* **Fat, 400-429 nm and 1098-1100 nm** (the lard spectrum covers 429-1098 nm):
  log-linear extrapolation from the end value, with the slope of a
  least-squares fit of ln(mua) over the 20 nm at that end of the table. At
  400 nm this gives 11.9 1/m, 44 % above the 429 nm value (holding the end
  value would give 8.28 1/m); expect +/-40 %. Fat absorption at 400-429 nm is
  below 1 % of the absorption of any tissue with a blood fraction >= 0.01, so
  this matters only for blood-free fat. Over 1098-1100 nm the change is 0.1 %.

Outside 400-1100 nm every function raises :class:`~phototherm.errors.InputError`
naming ``wavelength``.

Examples
--------
>>> from phototherm.tissues.spectra import blood_absorption, water_absorption
>>> round(blood_absorption(660e-9, 0.75) / 100, 2)      # whole blood at S = 0.75 [1/cm]
5.6
>>> round(water_absorption(809e-9) / 100, 6)            # [1/cm]
0.020657
"""

from __future__ import annotations

import csv
import functools
import math
from importlib import resources

import numpy as np

from ..errors import InputError, Problem

__all__ = [
    "WAVELENGTH_RANGE",
    "WHOLE_BLOOD_HEMOGLOBIN",
    "HEMOGLOBIN_MOLAR_MASS",
    "MELANOSOME_ABSORPTION_500NM",
    "MELANOSOME_EXPONENT",
    "BOSSCHAART_BLOOD_WATER_FRACTION",
    "check_wavelength",
    "hemoglobin_extinction",
    "oxyhemoglobin_absorption",
    "deoxyhemoglobin_absorption",
    "blood_absorption",
    "water_absorption",
    "fat_absorption",
    "melanosome_absorption",
]

#: Supported vacuum wavelengths [m]: 400-1100 nm.
WAVELENGTH_RANGE = (400e-9, 1100e-9)

#: Haemoglobin mass concentration of whole blood assumed by Prahl's conversion
#: [kg/m^3] (150 g/L).
WHOLE_BLOOD_HEMOGLOBIN = 150.0

#: Gram molecular weight of haemoglobin used by Prahl [kg/mol] (64 500 g/mol).
HEMOGLOBIN_MOLAR_MASS = 64.5

#: Absorption coefficient of the interior of a cutaneous melanosome at 500 nm
#: [1/m] (Jacques 2013, eq. 8: 519 1/cm).
MELANOSOME_ABSORPTION_500NM = 519e2

#: Exponent m of the melanosome power law (Jacques 2013: "an approximate value
#: for m is 3").
MELANOSOME_EXPONENT = 3.0

#: Water volume fraction of whole blood at 45 % haematocrit used to remove water
#: absorption from the Bosschaart et al. (2014) whole-blood spectra before their
#: shape is used (plasma ~0.9 x 0.55 + red cells ~0.66 x 0.45 ~= 0.8; our
#: estimate). Changing it by +/-0.1 changes the 1100/1005 nm shape ratio by
#: 0.04 % (oxy) and 0.2 % (deoxy).
BOSSCHAART_BLOOD_WATER_FRACTION = 0.8

_NM = 1e-9
_RANGE_NM = (400.0, 1100.0)
# Relative slack on the range ends: 1100 * 1e-9 is 1.1000000000000001e-06 in floating point.
_END_SLACK_NM = 1e-6
# Prahl's table ends here [nm]; the Bosschaart shape is taken relative to _SHAPE_REFERENCE_NM.
_PRAHL_END_NM = 1000.0
_SHAPE_REFERENCE_NM = 1005.0
# Width of the end window used for the fat extrapolation slope [nm].
_FAT_SLOPE_WINDOW_NM = 20.0
# ln(10): the tables use decadic extinction coefficients.
_LN10 = math.log(10.0)


# -- wavelength checks -----------------------------------------------------------
def check_wavelength(wavelength, path: str = "wavelength") -> np.ndarray:
    """Validate vacuum wavelength(s) [m] and return them in nanometres.

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength(s) [m], each within :data:`WAVELENGTH_RANGE`
        (400-1100 nm).
    path : str
        Key path used in the error message.

    Returns
    -------
    ndarray of float64
        The wavelengths in nm (same shape; 0-d for a scalar), clipped onto
        [400, 1100] nm to absorb floating-point round-off at the ends.

    Raises
    ------
    InputError
        A non-numeric, NaN or infinite value, or one outside 400-1100 nm. For
        an array, the first bad element is named and the bad ones counted. A
        value that looks like nanometres (400-1100) gets a hint.
    """
    try:
        lam = np.asarray(wavelength, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            "invalid wavelength", [Problem(path, wavelength, f"a number: {_expected_range()}")]
        ) from None
    nm = lam / _NM
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(nm) | (nm < _RANGE_NM[0] - _END_SLACK_NM) | (nm > _RANGE_NM[1] + _END_SLACK_NM)
    if np.any(bad):
        if lam.ndim == 0:
            value, where, count = float(lam), path, ""
        else:
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            value, where = float(lam[index]), f"{path}{list(index)}"
            count = f" ({int(bad.sum())} of {lam.size} elements fail)"
        hint = ""
        if np.isfinite(value) and _RANGE_NM[0] <= value <= _RANGE_NM[1]:
            hint = f"; {value:g} looks like nanometres: pass {value:g}e-9"
        raise InputError("wavelength outside the supported range", [Problem(where, value, _expected_range() + hint + count)])
    return np.clip(nm, *_RANGE_NM)


def _expected_range() -> str:
    lo, hi = WAVELENGTH_RANGE
    return (
        f"a vacuum wavelength in metres from {lo:g} to {hi:g} m ({_RANGE_NM[0]:g}-{_RANGE_NM[1]:g} nm), "
        "the range of the bundled absorption data"
    )


def _is_real(value) -> bool:
    """A real scalar number (not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _as_output(values: np.ndarray):
    """A Python float for 0-d results, the array otherwise."""
    return float(values) if values.ndim == 0 else values


# -- tables ----------------------------------------------------------------------
def _read_table(filename: str) -> np.ndarray:
    """A numeric CSV with one header row from the package data, as a read-only array."""
    text = resources.files("phototherm.tissues").joinpath("data", filename).read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    table = np.array([[float(cell) for cell in row] for row in rows[1:] if row], dtype=np.float64)
    table.setflags(write=False)
    return table


@functools.cache
def prahl_table() -> np.ndarray:
    """Prahl's molar extinction table: columns nm, eps_HbO2, eps_Hb [1/(cm M), decadic]."""
    return _read_table("hemoglobin_prahl.csv")


@functools.cache
def bosschaart_table() -> np.ndarray:
    """Bosschaart et al. (2014) whole-blood mua, 990-1110 nm: columns nm, oxy, deoxy [1/mm]."""
    return _read_table("hemoglobin_bosschaart2014_nir.csv")


@functools.cache
def water_table() -> np.ndarray:
    """Segelstein (1981) water absorption: columns nm, mua [1/cm]."""
    return _read_table("water_absorption.csv")


@functools.cache
def fat_table() -> np.ndarray:
    """van Veen et al. (2004) lard absorption: columns nm, mua [1/m]."""
    return _read_table("fat_absorption.csv")


@functools.cache
def _hemoglobin_table() -> np.ndarray:
    """Prahl's table extended to 1110 nm: columns nm, eps_HbO2, eps_Hb [1/(cm M)]."""
    prahl = prahl_table()
    nir = bosschaart_table()
    water = water_table()
    nm = nir[:, 0]
    water_per_mm = np.interp(nm, water[:, 0], water[:, 1]) / 10.0
    hemoglobin_only = nir[:, 1:] - BOSSCHAART_BLOOD_WATER_FRACTION * water_per_mm[:, None]
    reference = hemoglobin_only[nm == _SHAPE_REFERENCE_NM][0]
    at_end = prahl[prahl[:, 0] == _PRAHL_END_NM, 1:][0]
    beyond = nm >= _SHAPE_REFERENCE_NM
    extension = np.column_stack([nm[beyond], at_end * hemoglobin_only[beyond] / reference])
    table = np.vstack([prahl, extension])
    table.setflags(write=False)
    return table


@functools.cache
def _fat_extrapolation() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(end wavelength [nm], end value [1/m], d ln(mua)/d nm) at the short and long ends."""
    table = fat_table()
    nm, ln_mua = table[:, 0], np.log(table[:, 1])
    ends = []
    for end_index, window in ((0, nm <= nm[0] + _FAT_SLOPE_WINDOW_NM), (-1, nm >= nm[-1] - _FAT_SLOPE_WINDOW_NM)):
        slope = float(np.polyfit(nm[window], ln_mua[window], 1)[0])
        ends.append((float(nm[end_index]), float(table[end_index, 1]), slope))
    return ends[0], ends[1]


# -- chromophores ----------------------------------------------------------------
def _whole_blood_mua(extinction_per_cm_per_molar: np.ndarray) -> np.ndarray:
    """mua [1/m] of whole blood (150 g/L haemoglobin) from a decadic molar extinction [1/(cm M)]."""
    concentration = WHOLE_BLOOD_HEMOGLOBIN / HEMOGLOBIN_MOLAR_MASS  # [mol/m^3]
    extinction_si = extinction_per_cm_per_molar * 0.1  # 1/(cm M) = 100 1/m / (1000 mol/m^3) [m^2/mol]
    return _LN10 * extinction_si * concentration


def hemoglobin_extinction(wavelength):
    """Decadic molar extinction coefficients of HbO2 and Hb [m^2/mol].

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.

    Returns
    -------
    (eps_HbO2, eps_Hb) : tuple of float or ndarray
        Per mole of haemoglobin (64 500 g/mol), decadic: ``A = eps c L``.
        1 m^2/mol = 10 cm^-1 M^-1. Beyond 1000 nm: the extension described in
        the module docstring.
    """
    nm = check_wavelength(wavelength)
    table = _hemoglobin_table()
    oxy = np.interp(nm, table[:, 0], table[:, 1]) * 0.1
    deoxy = np.interp(nm, table[:, 0], table[:, 2]) * 0.1
    return _as_output(oxy), _as_output(deoxy)


def oxyhemoglobin_absorption(wavelength):
    """Absorption coefficient of fully oxygenated whole blood [1/m].

    ``mua = ln(10) eps_HbO2 * 150 g/L / 64 500 g/mol`` (Prahl), haemoglobin only
    (the water of blood is not included).

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    """
    nm = check_wavelength(wavelength)
    table = _hemoglobin_table()
    return _as_output(_whole_blood_mua(np.interp(nm, table[:, 0], table[:, 1])))


def deoxyhemoglobin_absorption(wavelength):
    """Absorption coefficient of fully deoxygenated whole blood [1/m].

    ``mua = ln(10) eps_Hb * 150 g/L / 64 500 g/mol`` (Prahl), haemoglobin only.

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    """
    nm = check_wavelength(wavelength)
    table = _hemoglobin_table()
    return _as_output(_whole_blood_mua(np.interp(nm, table[:, 0], table[:, 2])))


def blood_absorption(wavelength, saturation: float):
    """Absorption coefficient of whole blood at oxygen saturation ``saturation`` [1/m].

    ``S mua_oxy + (1 - S) mua_deoxy`` (haemoglobin only, 150 g/L).

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    saturation : float
        Oxygen saturation S, between 0 and 1.

    Raises
    ------
    InputError
        Wavelength out of range, or S outside [0, 1].
    """
    if not (_is_real(saturation) and 0.0 <= float(saturation) <= 1.0):
        raise InputError("invalid oxygen saturation", [Problem("saturation", saturation, "a number between 0 and 1")])
    nm = check_wavelength(wavelength)
    table = _hemoglobin_table()
    eps = saturation * np.interp(nm, table[:, 0], table[:, 1]) + (1.0 - saturation) * np.interp(nm, table[:, 0], table[:, 2])
    return _as_output(_whole_blood_mua(eps))


def water_absorption(wavelength):
    """Absorption coefficient of pure water (Segelstein 1981) [1/m].

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    """
    nm = check_wavelength(wavelength)
    table = water_table()
    return _as_output(np.interp(nm, table[:, 0], table[:, 1]) * 100.0)


def fat_absorption(wavelength):
    """Absorption coefficient of fat (purified porcine lard, van Veen et al. 2004) [1/m].

    Below 429 nm and above 1098 nm the value is extrapolated log-linearly (see
    the module docstring: about +/-40 % at 400 nm).

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    """
    nm = check_wavelength(wavelength)
    table = fat_table()
    values = np.interp(nm, table[:, 0], table[:, 1])
    (lo_nm, lo_value, lo_slope), (hi_nm, hi_value, hi_slope) = _fat_extrapolation()
    values = np.where(nm < lo_nm, lo_value * np.exp(lo_slope * (nm - lo_nm)), values)
    values = np.where(nm > hi_nm, hi_value * np.exp(hi_slope * (nm - hi_nm)), values)
    return _as_output(values)


def melanosome_absorption(wavelength, exponent: float = MELANOSOME_EXPONENT):
    """Absorption coefficient of the interior of a cutaneous melanosome [1/m].

    Jacques 2013, eq. 8: ``mua = 519 1/cm (lambda / 500 nm)^(-m)``. A tissue
    with melanosome volume fraction M absorbs ``M`` times this (eq. 9).

    Parameters
    ----------
    wavelength : float or array_like
        Vacuum wavelength [m], 400-1100 nm.
    exponent : float
        m, dimensionless, >= 0 (reports vary; Jacques: "approximately 3").
    """
    if not (_is_real(exponent) and math.isfinite(float(exponent)) and float(exponent) >= 0):
        raise InputError("invalid melanosome exponent", [Problem("exponent", exponent, "a finite number >= 0")])
    nm = check_wavelength(wavelength)
    return _as_output(MELANOSOME_ABSORPTION_500NM * (nm / 500.0) ** (-float(exponent)))
