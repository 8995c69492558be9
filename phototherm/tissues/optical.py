"""Optical properties of one tissue, described by its composition.

Absorption follows Jacques (2013), eq. 12, without the bilirubin and
beta-carotene terms::

    mua = B S mua_oxy + B (1 - S) mua_deoxy + W mua_water + F mua_fat + M mua_melanosome

with the chromophore spectra of :mod:`phototherm.tissues.spectra`. The
fractions are volume fractions of the tissue and are *not* required to add up
to 1: B counts whole blood (its haemoglobin), while the water inside that blood
is counted in W if wanted (blood itself is ``B = 1, W = 0.8``).

Reduced scattering follows Jacques (2013), eq. 1, ``mus' = a (lambda / 500 nm)^-b``,
or, when a Rayleigh fraction is given, eq. 2,
``mus' = a' [f_Ray (lambda / 500 nm)^-4 + (1 - f_Ray) (lambda / 500 nm)^-b_Mie]``.
Then ``mus = mus' / (1 - g)``. The power laws were fitted to data mostly
between 400 and 1000 nm; beyond 1000 nm they are extrapolations (as on Jacques'
OMLC "generic tissue optics" page).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import Problems, reject_unknown_keys
from . import spectra

__all__ = ["OpticalTissue", "OpticalProperties"]

_REFERENCE_NM = 500.0
_FRACTIONS = ("blood_fraction", "oxygen_saturation", "water_fraction", "fat_fraction", "melanosome_fraction")


@dataclass(frozen=True)
class OpticalProperties:
    """Optical coefficients of one tissue at one wavelength (or an array of wavelengths).

    Parameters
    ----------
    mua : float or ndarray
        Absorption coefficient [1/m].
    mus : float or ndarray
        Scattering coefficient [1/m] (not the reduced one).
    g : float
        Scattering anisotropy (mean cosine of the scattering angle).
    n : float
        Refractive index.
    """

    mua: Any
    mus: Any
    g: float
    n: float

    @property
    def reduced_scattering(self):
        """Reduced scattering coefficient ``mus' = mus (1 - g)`` [1/m]."""
        return self.mus * (1.0 - self.g)


@dataclass(frozen=True)
class OpticalTissue:
    """Optical properties of one tissue from its composition (one label of a label map).

    Every property is validated when the tissue is created; all problems are
    reported together in one :class:`~phototherm.errors.InputError`.

    Parameters
    ----------
    name : str
        Tissue name, used in summaries and error messages.
    blood_fraction : float
        B, volume fraction of whole blood (150 g/L haemoglobin), in [0, 1].
    oxygen_saturation : float
        S, haemoglobin oxygen saturation of that blood, in [0, 1].
    water_fraction : float
        W, volume fraction of water, in [0, 1].
    fat_fraction : float
        F, volume fraction of fat (lipid), in [0, 1].
    melanosome_fraction : float
        M, volume fraction of melanosomes, in [0, 1] (epidermis only, usually
        0.01-0.4).
    scattering_500nm : float
        Reduced scattering coefficient at 500 nm [1/m]: ``a`` of Jacques
        eq. 1, or ``a'`` of eq. 2 when ``rayleigh_fraction`` is given.
        Jacques' tables give it in 1/cm: multiply by 100.
    scattering_power : float
        b of eq. 1 (dimensionless, >= 0). Ignored when ``rayleigh_fraction`` is
        given.
    rayleigh_fraction : float or None
        f_Ray of eq. 2, in [0, 1]; ``None`` (default) selects eq. 1.
    mie_power : float or None
        b_Mie of eq. 2 (>= 0); required with ``rayleigh_fraction``.
    anisotropy : float
        g, strictly between -1 and 1 (about 0.9 for soft tissue).
    refractive_index : float
        n >= 1 (1.37-1.44 for soft tissue, 1.33 for water).
    melanosome_exponent : float
        m of the melanosome power law (Jacques eq. 8), >= 0; default 3.
    mua : float or None
        Absorption coefficient [1/m] that replaces the composition-based value
        at every wavelength.
    mus : float or None
        Scattering coefficient [1/m] that replaces ``mus' / (1 - g)`` at every
        wavelength.
    source : str
        Where every default comes from.

    Raises
    ------
    InputError
        A fraction outside [0, 1]; a negative, NaN or infinite coefficient or
        exponent; g outside (-1, 1); n < 1; ``rayleigh_fraction`` without
        ``mie_power`` or the reverse; a non-string name or source.

    Examples
    --------
    >>> from phototherm.tissues import OpticalTissue
    >>> tissue = OpticalTissue("gel", water_fraction=1.0, scattering_500nm=1000.0,
    ...                        scattering_power=1.0, anisotropy=0.9, refractive_index=1.33)
    >>> props = tissue.at(808e-9)
    >>> round(props.reduced_scattering, 3)       # 1000 1/m x (808/500)^-1
    618.812
    >>> round(tissue.with_overrides(mua=50.0).at(808e-9).mua, 1)
    50.0
    """

    name: str
    blood_fraction: float = 0.0
    oxygen_saturation: float = 0.75
    water_fraction: float = 0.0
    fat_fraction: float = 0.0
    melanosome_fraction: float = 0.0
    scattering_500nm: float = 0.0
    scattering_power: float = 1.0
    rayleigh_fraction: float | None = None
    mie_power: float | None = None
    anisotropy: float = 0.9
    refractive_index: float = 1.37
    melanosome_exponent: float = spectra.MELANOSOME_EXPONENT
    mua: float | None = None
    mus: float | None = None
    source: str = "user"

    def __post_init__(self) -> None:
        problems = Problems()
        self.validate(self._path(), problems)
        problems.raise_if_any(f"invalid optical tissue {self.name!r}")

    def _path(self) -> str:
        return self.name if isinstance(self.name, str) and self.name else "optical_tissue"

    # -- evaluation --------------------------------------------------------------
    def at(self, wavelength) -> OpticalProperties:
        """Optical properties at vacuum wavelength(s) ``wavelength`` [m] (400-1100 nm).

        Returns
        -------
        OpticalProperties
            ``mua`` and ``mus`` [1/m] are floats for a float wavelength and arrays
            of the wavelength's shape otherwise; ``g`` and ``n`` are floats.

        Raises
        ------
        InputError
            A wavelength outside 400-1100 nm (or NaN); the message names
            ``wavelength`` and gives the supported range.
        """
        nm = spectra.check_wavelength(wavelength)
        mua = self.absorption(wavelength) if self.mua is None else _broadcast(self.mua, nm)
        if self.mus is None:
            mus = self.reduced_scattering(wavelength) / (1.0 - self.anisotropy)
        else:
            mus = _broadcast(self.mus, nm)
        return OpticalProperties(mua=mua, mus=mus, g=float(self.anisotropy), n=float(self.refractive_index))

    def absorption_components(self, wavelength) -> dict:
        """Each term of Jacques eq. 12 at ``wavelength`` [m], in 1/m.

        Keys: ``oxyhemoglobin``, ``deoxyhemoglobin``, ``water``, ``fat``,
        ``melanosome``. Their sum is :meth:`absorption` (without a ``mua``
        override).
        """
        B, S = self.blood_fraction, self.oxygen_saturation
        return {
            "oxyhemoglobin": B * S * spectra.oxyhemoglobin_absorption(wavelength),
            "deoxyhemoglobin": B * (1.0 - S) * spectra.deoxyhemoglobin_absorption(wavelength),
            "water": self.water_fraction * spectra.water_absorption(wavelength),
            "fat": self.fat_fraction * spectra.fat_absorption(wavelength),
            "melanosome": self.melanosome_fraction
            * spectra.melanosome_absorption(wavelength, self.melanosome_exponent),
        }

    def absorption(self, wavelength):
        """Absorption coefficient mua [1/m] at ``wavelength`` [m]; the ``mua`` override if set."""
        if self.mua is not None:
            return _broadcast(self.mua, spectra.check_wavelength(wavelength))
        parts = self.absorption_components(wavelength)
        return sum(parts.values())

    def reduced_scattering(self, wavelength):
        """Reduced scattering coefficient mus' [1/m] at ``wavelength`` [m].

        With a ``mus`` override: ``mus (1 - g)``.
        """
        nm = spectra.check_wavelength(wavelength)
        if self.mus is not None:
            return _broadcast(self.mus * (1.0 - self.anisotropy), nm)
        x = nm / _REFERENCE_NM
        if self.rayleigh_fraction is None:
            values = self.scattering_500nm * x ** (-self.scattering_power)
        else:
            f = self.rayleigh_fraction
            values = self.scattering_500nm * (f * x ** -4.0 + (1.0 - f) * x ** (-self.mie_power))
        return float(values) if np.ndim(values) == 0 else values

    # -- changes -------------------------------------------------------------------
    def with_overrides(self, **changes) -> "OpticalTissue":
        """A copy with some properties changed (same names and units as the constructor).

        Unless ``source`` is among the changes, the overridden names and values
        are appended to ``source``, so result files show what was changed.

        Raises
        ------
        InputError
            An unknown property name (all of them listed), or an invalid value.
        """
        known = [field.name for field in dataclasses.fields(self)]
        reject_unknown_keys(changes, known, self._path(), f"unknown optical tissue properties for {self.name!r}")
        if changes and "source" not in changes:
            listed = ", ".join(f"{key}={value!r}" for key, value in changes.items())
            changes["source"] = f"{self.source}; overridden: {listed}"
        return dataclasses.replace(self, **changes)

    # -- checks and summaries ------------------------------------------------------
    def validate(self, path: str, problems: Problems) -> None:
        """Record every invalid property in ``problems`` under key path ``path``."""
        problems.check(isinstance(self.name, str) and bool(self.name), f"{path}.name", self.name, "a non-empty string")
        problems.check(isinstance(self.source, str), f"{path}.source", self.source, "a string")
        for field in _FRACTIONS:
            _scalar(problems, getattr(self, field), f"{path}.{field}", "a fraction between 0 and 1",
                    lambda v: 0.0 <= v <= 1.0)
        _scalar(problems, self.scattering_500nm, f"{path}.scattering_500nm", "a finite value >= 0 [1/m]",
                lambda v: v >= 0.0)
        _scalar(problems, self.scattering_power, f"{path}.scattering_power", "a finite exponent >= 0",
                lambda v: v >= 0.0)
        _scalar(problems, self.melanosome_exponent, f"{path}.melanosome_exponent", "a finite exponent >= 0",
                lambda v: v >= 0.0)
        has_rayleigh, has_mie = self.rayleigh_fraction is not None, self.mie_power is not None
        if has_rayleigh:
            _scalar(problems, self.rayleigh_fraction, f"{path}.rayleigh_fraction", "a fraction between 0 and 1",
                    lambda v: 0.0 <= v <= 1.0)
        if has_mie:
            _scalar(problems, self.mie_power, f"{path}.mie_power", "a finite exponent >= 0", lambda v: v >= 0.0)
        if has_rayleigh != has_mie:
            missing = "mie_power" if has_rayleigh else "rayleigh_fraction"
            problems.add(f"{path}.{missing}", None,
                         "a value: rayleigh_fraction and mie_power (Jacques eq. 2) are given together or not at all")
        _scalar(problems, self.anisotropy, f"{path}.anisotropy", "a value strictly between -1 and 1",
                lambda v: -1.0 < v < 1.0)
        _scalar(problems, self.refractive_index, f"{path}.refractive_index", "a refractive index >= 1",
                lambda v: v >= 1.0)
        for field in ("mua", "mus"):
            value = getattr(self, field)
            if value is not None:
                _scalar(problems, value, f"{path}.{field}", "None or a single finite value >= 0 [1/m]",
                        lambda v: v >= 0.0)

    def describe(self) -> dict:
        """Plain-data summary with units in the key names, for result files."""
        return {
            "name": self.name,
            "blood_fraction": self.blood_fraction,
            "oxygen_saturation": self.oxygen_saturation,
            "water_fraction": self.water_fraction,
            "fat_fraction": self.fat_fraction,
            "melanosome_fraction": self.melanosome_fraction,
            "melanosome_exponent": self.melanosome_exponent,
            "scattering_500nm_per_m": self.scattering_500nm,
            "scattering_power": self.scattering_power,
            "rayleigh_fraction": self.rayleigh_fraction,
            "mie_power": self.mie_power,
            "anisotropy": self.anisotropy,
            "refractive_index": self.refractive_index,
            "mua_override_per_m": self.mua,
            "mus_override_per_m": self.mus,
            "source": self.source,
        }


def _scalar(problems: Problems, value: Any, path: str, expected: str, predicate) -> None:
    """Require a finite real scalar (not a bool) for which ``predicate`` holds."""
    ok = (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(float(value))
        and predicate(float(value))
    )
    problems.check(ok, path, value, expected)


def _broadcast(value: float, nm: np.ndarray):
    """``value`` as a float (scalar wavelength) or filled to the wavelength array's shape."""
    return float(value) if nm.ndim == 0 else np.full(nm.shape, float(value))
