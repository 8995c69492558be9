"""Built-in optical tissues, with the source of every default.

:func:`optical_tissue` returns one of :data:`BUILTIN_OPTICAL_TISSUES` as an
:class:`~phototherm.tissues.OpticalTissue`, optionally with overrides::

    >>> from phototherm.tissues import optical_tissue
    >>> muscle = optical_tissue("muscle")
    >>> props = muscle.at(800e-9)
    >>> round(props.mua / 100, 3), round(props.reduced_scattering / 100, 2)   # [1/cm]
    (0.186, 10.33)
    >>> pale = optical_tissue("tumour", blood_fraction=0.01, oxygen_saturation=0.4)

Defaults (B blood, S saturation, W water, F fat, M melanosome volume fractions;
a [1/cm] and b of Jacques 2013 eq. 1 for the reduced scattering; g; n):

=========  =====  ====  ====  ====  ====  ====  =====  ====  ====
tissue     B      S     W     F     M     a     b      g     n
=========  =====  ====  ====  ====  ====  ====  =====  ====  ====
epidermis  0      0.75  0.75  0     0.03  46.0  1.421  0.9   1.40
dermis     0.002  0.67  0.65  0     0     46.0  1.421  0.9   1.40
fat        0.01   0.75  0.15  0.80  0     18.4  0.672  0.9   1.44
muscle     0.04   0.70  0.75  0.02  0     18.9  1.286  0.9   1.37
liver      0.10   0.70  0.75  0.03  0     18.9  1.286  0.9   1.37
tumour     0.03   0.60  0.80  0     0     18.9  1.286  0.9   1.37
blood      1      0.75  0.80  0     0     10.0  1.0    0.9   1.40
water      0      -     1     0     0     0     -      0     1.33
=========  =====  ====  ====  ====  ====  ====  =====  ====  ====

Sources:

* **Scattering** a, b: Jacques 2013 Table 2 (``data/jacques2013_scattering.csv``,
  read at run time): "Skin" for epidermis and dermis, "Fatty tissue" for fat,
  "Other soft tissues" for muscle, liver and tumour. Table 2's standard
  deviations of a are 30-54 % of the means: a tissue-specific measurement
  should override them. Blood: mcxyz ``makeTissueList.m`` (S. Jacques), 10 1/cm
  at 500 nm with b = 1.
* **Epidermis, dermis, blood composition**: mcxyz ``makeTissueList.m`` by
  S. Jacques, as carried in MCmatlab (``ankrh/MCmatlab``,
  ``helperfuncs/getMediaProperties.m``): epidermis B = 0, W = 0.75, M = 0.03;
  dermis B = 0.002, S = 0.67, W = 0.65; blood B = 1, S = 0.75. The dermal blood
  fraction matches Jacques' OMLC skin-optics summary (1998): "on average,
  f.blood is 0.2 %". M = 0.03 is a lightly pigmented epidermis (SIMPA uses
  0.014 +/- 0.003 for Europeans, from Alaluf et al. 2002); use 0.1-0.4 for
  darker skin. Blood water W = 0.8 is our estimate for 45 % haematocrit
  (mcxyz uses 0.95); it adds 0.02 1/cm at 808 nm.
* **Fat, muscle, liver, tumour composition**: **our choices**, not from one
  table. Fat: adipose tissue is 60-90 % lipid and 10-30 % water by mass;
  B = 0.01 is a typical small vascular fraction. Muscle: B = 0.04 (total
  haemoglobin ~93 uM, our reading of resting-muscle NIRS reports, not checked
  against one source), S = 0.70, W = 0.75, F = 0.02 (intramuscular lipid);
  myoglobin is not modelled. Liver: highly perfused, B = 0.10; bile pigments not modelled.
  Tumour: a generic, slightly hypoxic (S = 0.6), water-rich soft tissue; a
  placeholder to override per study.
* **g = 0.9** for all soft tissues (Jacques 2013: typical of tissue in the
  visible and near infrared); real blood has g ~ 0.98, but with mus' fixed only
  the transport of a Monte Carlo model at very short range changes.
  **n**: 1.37-1.40 for soft tissue and 1.44 for fat are typical literature
  values (our choice within them); water 1.33.
* **Water** has no scattering (mus = 0): diffusion-based light solvers cannot
  treat a water region; Monte Carlo can.

Sanity anchor (PHYSICS.md section 3): a review gives muscle near 800 nm
mua ~ 0.54 1/cm and mus' ~ 4.7 1/cm. The built-in muscle has mua = 0.186 1/cm
(0.34 x) and mus' = 10.3 1/cm (2.2 x). The review values come from excised
samples; the composition here is meant for perfused tissue in vivo.
mus' = 4.7 1/cm is 1.0 standard deviation (of a, Table 2) below the "other soft
tissues" mean. The effective
attenuation ``sqrt(3 mua (mua + mus'))`` differs less: 2.4 1/cm here, 2.9 1/cm
for the review values. ``optical_tissue("muscle", scattering_500nm=860.0,
blood_fraction=0.12)`` reproduces the review values within 5 %.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from ..errors import InputError
from .library import _unknown
from .optical import OpticalTissue

__all__ = ["optical_tissue", "BUILTIN_OPTICAL_TISSUES", "ScatteringFit", "jacques2013_table2"]

_JACQUES = "Jacques 2013, Phys. Med. Biol. 58:R37"
_MCXYZ = (
    "mcxyz makeTissueList.m (S. Jacques) as in MCmatlab helperfuncs/getMediaProperties.m "
    "(ankrh/MCmatlab@0d177fb6a41a7d2d8c5df4db44b065cf0cc187de)"
)


@dataclass(frozen=True)
class ScatteringFit:
    """One row of Jacques 2013 Table 2 (mean reduced-scattering parameters), in SI.

    Parameters
    ----------
    tissue : str
        Tissue type as named in the table.
    a : float
        mus' at 500 nm for eq. 1 [1/m].
    b : float
        Power of eq. 1.
    a_prime : float
        mus' at 500 nm for eq. 2 [1/m].
    f_rayleigh : float
        Rayleigh fraction f_Ray of eq. 2.
    b_mie : float
        Mie power of eq. 2.
    sd_a, sd_b : float
        Standard deviations of a [1/m] and b over the studies averaged.
    n_studies : int
        Number of studies averaged for a and b.
    """

    tissue: str
    a: float
    b: float
    a_prime: float
    f_rayleigh: float
    b_mie: float
    sd_a: float
    sd_b: float
    n_studies: int


@functools.cache
def jacques2013_table2() -> dict[str, ScatteringFit]:
    """Jacques 2013 Table 2 from ``data/jacques2013_scattering.csv``, keyed by tissue type."""
    text = resources.files("phototherm.tissues").joinpath("data", "jacques2013_scattering.csv").read_text(encoding="utf-8")
    rows = {}
    for row in csv.DictReader(text.splitlines()):
        rows[row["tissue"]] = ScatteringFit(
            tissue=row["tissue"],
            a=float(row["a_per_cm"]) * 100.0,
            b=float(row["b"]),
            a_prime=float(row["a_prime_per_cm"]) * 100.0,
            f_rayleigh=float(row["f_Ray"]),
            b_mie=float(row["b_Mie"]),
            sd_a=float(row["sd_a_per_cm"]) * 100.0,
            sd_b=float(row["sd_b"]),
            n_studies=int(row["n_a"]),
        )
    return rows


def _scattering(table_row: str) -> tuple[dict, str]:
    fit = jacques2013_table2()[table_row]
    return (
        {"scattering_500nm": fit.a, "scattering_power": fit.b},
        f"scattering: {_JACQUES} Table 2 '{table_row}' (a = {fit.a / 100:g} 1/cm, b = {fit.b:g})",
    )


def _build(name: str, composition: dict, composition_source: str, table_row: str | None, extra: dict,
           other_sources: str) -> OpticalTissue:
    if table_row is None:
        scattering, scattering_source = {}, ""
    else:
        scattering, scattering_source = _scattering(table_row)
    parts = [f"composition: {composition_source}", scattering_source, other_sources]
    return OpticalTissue(name=name, **composition, **scattering, **extra,
                         source="; ".join(part for part in parts if part))


_G_N_SOFT = "g = 0.9 (Jacques 2013, typical soft tissue); n: typical value, our choice"

_BUILDERS = {
    "epidermis": lambda: _build(
        "epidermis",
        dict(blood_fraction=0.0, oxygen_saturation=0.75, water_fraction=0.75, fat_fraction=0.0,
             melanosome_fraction=0.03),
        f"{_MCXYZ} (M = 0.03: lightly pigmented skin)",
        "Skin", dict(anisotropy=0.9, refractive_index=1.40), _G_N_SOFT),
    "dermis": lambda: _build(
        "dermis",
        dict(blood_fraction=0.002, oxygen_saturation=0.67, water_fraction=0.65, fat_fraction=0.0,
             melanosome_fraction=0.0),
        f"{_MCXYZ}; B = 0.2 % as in Jacques, OMLC skin optics summary (1998)",
        "Skin", dict(anisotropy=0.9, refractive_index=1.40), _G_N_SOFT),
    "fat": lambda: _build(
        "fat",
        dict(blood_fraction=0.01, oxygen_saturation=0.75, water_fraction=0.15, fat_fraction=0.80,
             melanosome_fraction=0.0),
        "our choice (adipose tissue: 60-90 % lipid, 10-30 % water; small vascular fraction)",
        "Fatty tissue", dict(anisotropy=0.9, refractive_index=1.44), _G_N_SOFT),
    "muscle": lambda: _build(
        "muscle",
        dict(blood_fraction=0.04, oxygen_saturation=0.70, water_fraction=0.75, fat_fraction=0.02,
             melanosome_fraction=0.0),
        "our choice (total haemoglobin ~93 uM as in resting-muscle NIRS; myoglobin not modelled)",
        "Other soft tissues", dict(anisotropy=0.9, refractive_index=1.37), _G_N_SOFT),
    "liver": lambda: _build(
        "liver",
        dict(blood_fraction=0.10, oxygen_saturation=0.70, water_fraction=0.75, fat_fraction=0.03,
             melanosome_fraction=0.0),
        "our choice (highly perfused organ; bile pigments not modelled)",
        "Other soft tissues", dict(anisotropy=0.9, refractive_index=1.37), _G_N_SOFT),
    "tumour": lambda: _build(
        "tumour",
        dict(blood_fraction=0.03, oxygen_saturation=0.60, water_fraction=0.80, fat_fraction=0.0,
             melanosome_fraction=0.0),
        "our choice, a generic placeholder (tumours vary widely: override per study)",
        "Other soft tissues", dict(anisotropy=0.9, refractive_index=1.37), _G_N_SOFT),
    "blood": lambda: _build(
        "blood",
        dict(blood_fraction=1.0, oxygen_saturation=0.75, water_fraction=0.80, fat_fraction=0.0,
             melanosome_fraction=0.0),
        f"{_MCXYZ} (B = 1, S = 0.75); W = 0.8: our estimate for 45 % haematocrit (mcxyz: 0.95)",
        None, dict(scattering_500nm=1000.0, scattering_power=1.0, anisotropy=0.9, refractive_index=1.40),
        f"scattering: {_MCXYZ}, mus'(500 nm) = 10 1/cm, b = 1; g = 0.9 as there (real blood ~0.98); "
        "n: typical value, our choice"),
    "water": lambda: _build(
        "water",
        dict(blood_fraction=0.0, oxygen_saturation=0.75, water_fraction=1.0, fat_fraction=0.0,
             melanosome_fraction=0.0),
        "pure water (Segelstein 1981 absorption)",
        None, dict(scattering_500nm=0.0, scattering_power=0.0, anisotropy=0.0, refractive_index=1.33),
        "no scattering (mus = 0; diffusion solvers cannot treat it); n = 1.33"),
}

#: Names accepted by :func:`optical_tissue`.
BUILTIN_OPTICAL_TISSUES = tuple(_BUILDERS)
_ALIASES = {"tumor": "tumour", "adipose": "fat"}


def optical_tissue(name: str, **overrides) -> OpticalTissue:
    """A built-in optical tissue by name, optionally with properties overridden.

    Parameters
    ----------
    name : str
        One of :data:`BUILTIN_OPTICAL_TISSUES` (case-insensitive; ``tumor`` and
        ``adipose`` are accepted too).
    **overrides
        Any :class:`~phototherm.tissues.OpticalTissue` property, same units
        (e.g. ``blood_fraction=0.05``, ``mua=30.0`` [1/m]); see
        :meth:`OpticalTissue.with_overrides`.

    Raises
    ------
    InputError
        Unknown name (the known ones listed, with close matches), unknown
        property names, or invalid values.
    """
    key = _ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else None
    if key not in _BUILDERS:
        raise InputError("unknown optical tissue", [_unknown("tissue", name, list(_BUILDERS))])
    tissue = _BUILDERS[key]()
    return tissue.with_overrides(**overrides) if overrides else tissue
