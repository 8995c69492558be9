"""Photosensitizers for the macroscopic singlet-oxygen model, with the source of every value.

The Zhu group's (U. Pennsylvania) macroscopic model (PHYSICS.md section 5), per
voxel, with fluence rate phi [mW/cm2], concentrations [uM] and time [s]::

    d[S0]/dt    = - xi sigma phi ([S0] + delta) [S0] [3O2] / ([3O2] + beta)
    d[3O2]/dt   = - xi phi [S0] [3O2] / ([3O2] + beta) + g (1 - [3O2] / [3O2]0)
    d[1O2]rx/dt =   xi phi [S0] [3O2] / ([3O2] + beta)

Necrosis where [1O2]rx reaches ``threshold`` ([1O2]rx,sh). A
:class:`Photosensitizer` holds these parameters in the units the literature
gives them (documented per field) plus the sensitizer's absorption per
concentration at its treatment wavelength(s), stored in SI-friendly form
[1/(m uM)]::

    >>> from phototherm.pdt.photosensitizers import photosensitizer
    >>> pf = photosensitizer("photofrin")
    >>> round(pf.absorption(10.0, 630e-9), 6)       # 10 uM Photofrin: mua [1/m]
    3.5
    >>> sorted(pf.unconfirmed)
    ['g', 'oxygen_initial', 'threshold']
    >>> hypoxic = pf.with_overrides(oxygen_initial=10.0)

Built-in sensitizers
--------------------
**photofrin**: 630 nm, extinction 0.0035 1/cm/uM (0.35 1/(m uM)),
xi = 3.7e-3 cm2/(mW s), sigma = 7.6e-5 1/uM, beta = 11.9 uM, delta = 33 uM,
g = 0.7 uM/s*, [3O2]0 = 40 uM*, [1O2]rx,sh = 560 uM (0.56 mM)*.
``*``: unconfirmed (listed in :attr:`Photosensitizer.unconfirmed`).

Sources:

* **Photofrin** xi, sigma, beta, delta, extinction: Wang KK-H, Busch TM, Finlay
  JC, Zhu TC, "Optimization of physiological parameter for macroscopic modeling
  of reacted singlet oxygen concentration in an in-vivo model", Proc. SPIE 7164,
  71640O (2009), PMC4435602, Table 1. The table lists
  xi = S_Delta gamma eta alpha/(1+alpha) = 0.0037 cm2/mW/s, beta = k4/k2 = 11.9 uM,
  delta = 33 uM, epsilon = 0.0035 1/cm/uM. It does **not** list sigma itself: it
  gives kappa = k1/k6 = 7.2e-5 1/uM and alpha = k7[A]/k6 = 0.95, and
  sigma = k1/(k7[A]) = kappa/alpha = 7.58e-5 ~ 7.6e-5 1/uM (the value PHYSICS.md
  states as verified). The 630 nm treatment wavelength is PHYSICS.md's; the
  table row does not name the wavelength.
* **Photofrin** g ~ 0.7 uM/s, [3O2]0 ~ 40 uM, [1O2]rx,sh ~ 0.56 mM: PHYSICS.md
  section 5 marks them *check*; not confirmed against a paper's table here, so
  listed in ``unconfirmed``. Override them for a study.

Left out, because no value could be confirmed with the sources available when
this library was written (no values are invented): **verteporfin** (BPD,
690 nm), **HPPH** (665 nm; the parameter set is in Penjweini R, Liu B, Kim MM,
Zhu TC, J. Biomed. Opt. 20(12):128003 (2015), whose table could not be read),
**mTHPC** (652 nm) and **5-ALA/PpIX** (635 nm). Define them as user
sensitizers (:class:`Photosensitizer` directly) with values from the papers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..errors import InputError, Problem, Problems, reject_unknown_keys
from ..tissues.library import _unknown

__all__ = ["Photosensitizer", "photosensitizer", "BUILTIN_PHOTOSENSITIZERS", "MODEL_PARAMETERS"]

_NM = 1e-9
_PER_CM = 100.0  # 1/cm -> 1/m
_WAVELENGTH_MIN, _WAVELENGTH_MAX = 400e-9, 1100e-9
_MATCH_TOLERANCE = 1.0 * _NM  # a wavelength within 1 nm of a tabulated one matches it

#: Model parameters: name -> (unit, whether 0 is allowed).
MODEL_PARAMETERS: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "xi": ("[cm2/(mW s)]", False),
    "sigma": ("[1/uM]", False),
    "beta": ("[uM]", False),
    "delta": ("[uM]", True),
    "g": ("[uM/s]", False),
    "oxygen_initial": ("[uM]", False),
    "threshold": ("[uM]", False),
})
_REFERENCED = ("wavelengths", "extinction", *MODEL_PARAMETERS)


@dataclass(frozen=True)
class Photosensitizer:
    """A photosensitizer's absorption and macroscopic singlet-oxygen model parameters.

    Every numeric parameter defaults to ``None`` only so that a user-defined
    sensitizer with several missing values is reported all at once (as an
    :class:`~phototherm.errors.InputError` naming
    ``photosensitizer.<name>.<param>``); none may actually be left out.

    Parameters
    ----------
    name : str
        Name used in messages and result files.
    wavelengths : float or sequence of float
        Treatment wavelength(s) [m] with absorption data, each within 400-1100 nm
        and at least 1 nm apart.
    extinction : float or sequence of float
        Absorption coefficient per concentration at each of ``wavelengths``
        [1/(m uM)] (ln-based, as mua; 0.0035 1/cm/uM = 0.35 1/(m uM)). > 0.
    xi : float
        Oxygen consumption rate per fluence rate per sensitizer concentration
        (S_Delta gamma eta alpha/(1+alpha)) [cm2/(mW s)]. > 0.
    sigma : float
        Specific photobleaching ratio k1/(k7[A]) [1/uM]. > 0.
    beta : float
        Oxygen quenching threshold concentration k4/k2 [uM]. > 0.
    delta : float
        Low-concentration correction [uM]. >= 0.
    g : float
        Macroscopic maximum oxygen supply rate [uM/s]. > 0.
    oxygen_initial : float
        Initial (and perfusion-supported) ground-state oxygen [3O2]0 [uM]. > 0.
    threshold : float
        Reacted singlet-oxygen threshold dose for necrosis [1O2]rx,sh [uM]. > 0.
    references : mapping of str to str
        Parameter name (``wavelengths``, ``extinction`` or a model parameter) ->
        citation. Optional for user-defined sensitizers.
    unconfirmed : set of str
        Names of parameters whose values were not confirmed against the original
        paper.

    Raises
    ------
    InputError
        Every missing or invalid parameter, all at once.
    """

    name: str
    wavelengths: Any = None
    extinction: Any = None
    xi: float | None = None
    sigma: float | None = None
    beta: float | None = None
    delta: float | None = None
    g: float | None = None
    oxygen_initial: float | None = None
    threshold: float | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    unconfirmed: frozenset = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "wavelengths", _as_tuple(self.wavelengths))
        object.__setattr__(self, "extinction", _as_tuple(self.extinction))
        refs = self.references
        object.__setattr__(self, "references",
                           MappingProxyType(dict(refs)) if isinstance(refs, Mapping) else refs)
        unconfirmed = self.unconfirmed
        if isinstance(unconfirmed, str):
            unconfirmed = (unconfirmed,)
        try:
            object.__setattr__(self, "unconfirmed", frozenset(unconfirmed))
        except TypeError:
            pass  # reported by validate
        problems = Problems()
        self.validate(self._path(), problems)
        problems.raise_if_any(f"invalid photosensitizer {self.name!r}")

    def _path(self) -> str:
        named = isinstance(self.name, str) and bool(self.name)
        return f"photosensitizer.{self.name}" if named else "photosensitizer"

    # -- checks --------------------------------------------------------------------
    def validate(self, path: str, problems: Problems) -> None:
        """Record every missing or invalid parameter in ``problems`` under key path ``path``."""
        problems.check(isinstance(self.name, str) and bool(self.name), f"{path}.name", self.name,
                       "a non-empty string")
        wl, ext = self.wavelengths, self.extinction
        if wl is None or len(wl) == 0:
            problems.add(f"{path}.wavelengths", None if wl is None else list(wl),
                         "at least one treatment wavelength [m] (missing)")
        else:
            for i, value in enumerate(wl):
                _scalar(problems, value, f"{path}.wavelengths[{i}]",
                        "a wavelength within 400-1100 nm, in metres (e.g. 630e-9)",
                        lambda v: _WAVELENGTH_MIN <= v <= _WAVELENGTH_MAX)
            good = sorted(float(v) for v in wl if _is_number(v))
            if any(b - a < _MATCH_TOLERANCE for a, b in zip(good, good[1:])):
                problems.add(f"{path}.wavelengths", list(wl), "wavelengths at least 1 nm apart")
        if ext is None or len(ext) == 0:
            problems.add(f"{path}.extinction", None if ext is None else list(ext),
                         "one extinction per wavelength [1/(m uM)] (missing)")
        else:
            for i, value in enumerate(ext):
                _scalar(problems, value, f"{path}.extinction[{i}]",
                        "a finite value > 0 [1/(m uM)]", lambda v: v > 0.0)
            if wl is not None and len(wl) and len(wl) != len(ext):
                problems.add(f"{path}.extinction", list(ext),
                             f"one value per wavelength ({len(wl)} wavelengths, {len(ext)} values)")
        for name, (unit, zero_ok) in MODEL_PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                problems.add(f"{path}.{name}", None, f"a value {unit} (missing)")
            elif zero_ok:
                _scalar(problems, value, f"{path}.{name}", f"a finite value >= 0 {unit}", lambda v: v >= 0.0)
            else:
                _scalar(problems, value, f"{path}.{name}", f"a finite value > 0 {unit}", lambda v: v > 0.0)
        if not isinstance(self.references, Mapping):
            problems.add(f"{path}.references", self.references, "a mapping of parameter name to citation")
        else:
            for key, citation in self.references.items():
                problems.check(key in _REFERENCED, f"{path}.references", key,
                               f"a parameter name, one of {', '.join(_REFERENCED)}")
                problems.check(isinstance(citation, str), f"{path}.references[{key!r}]", citation,
                               "a citation string")
        if not isinstance(self.unconfirmed, frozenset):
            problems.add(f"{path}.unconfirmed", self.unconfirmed, "a set of parameter names")
        else:
            for key in sorted(map(str, self.unconfirmed)):
                problems.check(key in _REFERENCED, f"{path}.unconfirmed", key,
                               f"a parameter name, one of {', '.join(_REFERENCED)}")

    # -- evaluation ------------------------------------------------------------------
    def extinction_at(self, wavelength: float) -> float:
        """Absorption coefficient per concentration at ``wavelength`` [m], in 1/(m uM).

        ``wavelength`` must lie within 1 nm of one of :attr:`wavelengths`.

        Raises
        ------
        InputError
            No absorption data at ``wavelength``; the message names
            ``wavelength``, its value and the wavelengths with data.
        """
        known = ", ".join(f"{w / _NM:g} nm" for w in self.wavelengths)
        if _is_number(wavelength) and math.isfinite(float(wavelength)):
            for w, eps in zip(self.wavelengths, self.extinction):
                if abs(float(wavelength) - w) <= _MATCH_TOLERANCE * (1 + 1e-9):
                    return float(eps)
        raise InputError(
            f"no absorption data for photosensitizer {self.name!r}",
            [Problem("wavelength", wavelength,
                     f"a wavelength [m] within 1 nm of one with data for {self.name!r}: {known}")],
        )

    def absorption(self, concentration_uM, wavelength: float):
        """Absorption coefficient mua [1/m] of the sensitizer at a concentration.

        Parameters
        ----------
        concentration_uM : float or array_like
            Sensitizer concentration [uM], finite and >= 0 (scalar or voxel array).
        wavelength : float
            Treatment wavelength [m]; within 1 nm of one of :attr:`wavelengths`.

        Returns
        -------
        float or numpy.ndarray
            ``extinction * concentration`` [1/m]; a float for a scalar
            concentration, an array of its shape otherwise.

        Raises
        ------
        InputError
            No absorption data at ``wavelength`` (named, with the wavelengths
            that have data), or a negative / non-finite concentration.
        """
        eps = self.extinction_at(wavelength)
        problems = Problems()
        problems.non_negative(concentration_uM, "concentration_uM", "[uM]")
        problems.raise_if_any(f"invalid concentration of photosensitizer {self.name!r}")
        values = eps * np.asarray(concentration_uM, dtype=float)
        return float(values) if values.ndim == 0 else values

    # -- changes and summaries ----------------------------------------------------------
    def with_overrides(self, **changes) -> "Photosensitizer":
        """A copy with some parameters changed (same names and units as the constructor).

        Each overridden parameter's reference becomes ``"user override"`` and it
        leaves :attr:`unconfirmed`, unless ``references`` or ``unconfirmed`` are
        themselves among the changes.

        Raises
        ------
        InputError
            Unknown parameter names (the known ones listed), or invalid values.
        """
        known = [f.name for f in dataclasses.fields(self)]
        reject_unknown_keys(changes, known, self._path(), f"unknown photosensitizer parameters for {self.name!r}")
        overridden = [key for key in changes if key in _REFERENCED]
        if "references" not in changes:
            refs = dict(self.references)
            refs.update({key: "user override" for key in overridden})
            changes["references"] = refs
        if "unconfirmed" not in changes:
            changes["unconfirmed"] = frozenset(self.unconfirmed) - set(overridden)
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict:
        """Plain-data summary with units in the key names, for result files."""
        return {
            "name": self.name,
            "wavelengths_m": list(self.wavelengths),
            "extinction_per_m_per_uM": list(self.extinction),
            "xi_cm2_per_mW_per_s": self.xi,
            "sigma_per_uM": self.sigma,
            "beta_uM": self.beta,
            "delta_uM": self.delta,
            "g_uM_per_s": self.g,
            "oxygen_initial_uM": self.oxygen_initial,
            "threshold_uM": self.threshold,
            "references": dict(self.references),
            "unconfirmed": sorted(self.unconfirmed),
        }


# -- built-ins -----------------------------------------------------------------------------
_WANG2009 = (
    "Wang KK-H, Busch TM, Finlay JC, Zhu TC, Proc. SPIE 7164:71640O (2009), PMC4435602, Table 1"
)
_PHYSICS_CHECK = "PHYSICS.md section 5, marked *check* (approximate; not confirmed against the original paper)"


def _photofrin() -> Photosensitizer:
    return Photosensitizer(
        name="photofrin",
        wavelengths=(630e-9,),
        extinction=(0.0035 * _PER_CM,),
        xi=3.7e-3,
        sigma=7.6e-5,
        beta=11.9,
        delta=33.0,
        g=0.7,
        oxygen_initial=40.0,
        threshold=560.0,
        references={
            "wavelengths": "630 nm: PHYSICS.md section 5 (Photofrin treatment wavelength)",
            "extinction": f"{_WANG2009}: epsilon = 0.0035 1/cm/uM",
            "xi": f"{_WANG2009}: S_Delta gamma eta alpha/(1+alpha) = 0.0037 cm2/mW/s",
            "sigma": f"{_WANG2009}: derived, kappa/alpha = 7.2e-5 1/uM / 0.95 = 7.6e-5 1/uM",
            "beta": f"{_WANG2009}: beta = k4/k2 = 11.9 uM",
            "delta": f"{_WANG2009}: delta = 33 uM",
            "g": f"{_PHYSICS_CHECK}: g ~ 0.7 uM/s",
            "oxygen_initial": f"{_PHYSICS_CHECK}: [3O2]0 ~ 40 uM",
            "threshold": f"{_PHYSICS_CHECK}: [1O2]rx,sh ~ 0.56 mM",
        },
        unconfirmed=frozenset({"g", "oxygen_initial", "threshold"}),
    )


_BUILDERS = {"photofrin": _photofrin}

#: Names accepted by :func:`photosensitizer`.
BUILTIN_PHOTOSENSITIZERS = tuple(_BUILDERS)
_ALIASES = {"porfimer": "photofrin", "porfimer sodium": "photofrin"}
# Known sensitizers left out for want of confirmed values (see the module docstring).
_UNSOURCED = {"verteporfin", "bpd", "bpd-ma", "visudyne", "hpph", "photochlor", "mthpc", "temoporfin",
              "foscan", "5-ala", "ala", "ppix", "5-ala/ppix", "protoporphyrin ix"}


def photosensitizer(name: str, **overrides) -> Photosensitizer:
    """A built-in photosensitizer by name, optionally with parameters overridden.

    Parameters
    ----------
    name : str
        One of :data:`BUILTIN_PHOTOSENSITIZERS` (case-insensitive; ``porfimer``
        and ``porfimer sodium`` are accepted for Photofrin).
    **overrides
        Any :class:`Photosensitizer` parameter, same units; see
        :meth:`Photosensitizer.with_overrides`.

    Raises
    ------
    InputError
        Unknown name (the known ones listed, with close matches), unknown
        parameter names, or invalid values.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower()) if isinstance(name, str) else None
    if key in _UNSOURCED:
        raise InputError("photosensitizer not built in", [Problem(
            "photosensitizer", name,
            f"one of {', '.join(BUILTIN_PHOTOSENSITIZERS)}: {name!r} has no built-in parameter set "
            "(no values could be confirmed); define it with Photosensitizer(...) from the papers")])
    if key not in _BUILDERS:
        raise InputError("unknown photosensitizer", [_unknown("photosensitizer", name, list(_BUILDERS))])
    sensitizer = _BUILDERS[key]()
    return sensitizer.with_overrides(**overrides) if overrides else sensitizer


# -- helpers -----------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _scalar(problems: Problems, value: Any, path: str, expected: str, predicate) -> None:
    ok = _is_number(value) and math.isfinite(float(value)) and predicate(float(value))
    problems.check(ok, path, value, expected)


def _as_tuple(value: Any):
    """``None`` stays ``None``; a scalar becomes a 1-tuple; a sequence or array a tuple (floats kept)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    arr = np.asarray(value, dtype=object)
    items = [arr.item()] if arr.ndim == 0 else list(arr.ravel())
    return tuple(float(v) if _is_number(v) else v for v in items)
