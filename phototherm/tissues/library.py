"""Built-in thermal tissue properties, with the source of every default.

Two ways in:

* :func:`thermal_tissue` — a small curated set (``skin``, ``fat``, ``muscle``,
  ``tumour``, ``liver``, ``blood``, ``water``) with damage models where a
  published pair exists;
* :func:`itis_tissue` — any of the 112 tissues of the IT'IS database v4.2,
  by its database name.

Data: ``phototherm/tissues/data/itis_tissue_properties.csv`` (provenance in the
README beside it).
"""

from __future__ import annotations

import csv
import difflib
import functools
from importlib import resources

from ..errors import InputError, Problem
from ..units import perfusion_from_itis
from .thermal import ArrheniusParameters, ThermalTissue

__all__ = [
    "itis_tissue",
    "itis_names",
    "thermal_tissue",
    "BUILTIN_THERMAL_TISSUES",
    "HENRIQUES_MORITZ_SKIN",
    "LIVER_COAGULATION",
]

ITIS_CITATION = "IT'IS database v4.2 (Hasgall et al., itis.swiss/database)"

#: Henriques & Moritz (1947) skin burn model, as quoted in PHYSICS.md section 2.
HENRIQUES_MORITZ_SKIN = ArrheniusParameters(
    frequency_factor=3.1e98,
    activation_energy=6.28e5,
    valid_range_C=(44.0, 70.0),
    source="Henriques & Moritz, Am. J. Pathol. 23:531 (1947); porcine skin burns, "
    "exposures of about 44-70 C (range not confirmed against the paper)",
)

#: Liver coagulation pair widely used in laser-coagulation modelling.
LIVER_COAGULATION = ArrheniusParameters(
    frequency_factor=7.39e39,
    activation_energy=2.577e5,
    valid_range_C=(50.0, 90.0),
    source="liver coagulation pair as used in laser-coagulation modelling "
    "(attributed to Jacques et al.; value and range not confirmed against the original paper)",
)


@functools.lru_cache(maxsize=1)
def _itis_rows() -> dict[str, dict[str, float]]:
    text = resources.files("phototherm.tissues").joinpath("data/itis_tissue_properties.csv").read_text(
        encoding="utf-8"
    )
    rows = {}
    for row in csv.DictReader(text.splitlines()):
        name = row.pop("tissue")
        rows[name] = {key: float(value) for key, value in row.items()}
    return rows


def itis_names() -> list[str]:
    """Names of the tissues in the bundled IT'IS table."""
    return sorted(_itis_rows())


def itis_tissue(name: str, *, arrhenius: ArrheniusParameters | None = None) -> ThermalTissue:
    """Thermal properties of an IT'IS tissue, converted to SI.

    Parameters
    ----------
    name : str
        Database name, e.g. ``"Muscle"`` or ``"SAT (Subcutaneous Fat)"``
        (case-insensitive).
    arrhenius : ArrheniusParameters, optional
        Damage model to attach.

    Raises
    ------
    InputError
        Unknown name (with close matches), or a row without heat capacity or
        conductivity (IT'IS writes 0 for "no value").
    """
    rows = _itis_rows()
    by_lower = {key.lower(): key for key in rows}
    key = by_lower.get(name.lower()) if isinstance(name, str) else None
    if key is None:
        raise InputError("unknown IT'IS tissue", [_unknown("tissue", name, list(rows))])
    row = rows[key]
    if row["heat_capacity_J_per_kg_per_K"] <= 0 or row["thermal_conductivity_W_per_m_per_K"] <= 0:
        raise InputError(
            "IT'IS tissue without thermal data",
            [Problem("tissue", name, "a tissue whose heat capacity and conductivity are given (IT'IS lists 0)")],
        )
    density = row["density_kg_per_m3"]
    return ThermalTissue(
        name=key.lower(),
        density=density,
        specific_heat=row["heat_capacity_J_per_kg_per_K"],
        conductivity=row["thermal_conductivity_W_per_m_per_K"],
        perfusion=perfusion_from_itis(row["perfusion_ml_per_min_per_kg"], density),
        metabolic_heat=row["heat_generation_W_per_kg"] * density,
        arrhenius=arrhenius,
        source=f"{ITIS_CITATION}, '{key}'",
    )


def _tumour() -> ThermalTissue:
    muscle = itis_tissue("Muscle")
    return muscle.replace(
        name="tumour",
        source=f"{ITIS_CITATION}, 'Muscle' values: no consensus thermal properties or Arrhenius "
        "pair exist for tumour; override per study",
    )


_BUILDERS = {
    "skin": lambda: itis_tissue("Skin", arrhenius=HENRIQUES_MORITZ_SKIN),
    "fat": lambda: itis_tissue("Fat"),
    "muscle": lambda: itis_tissue("Muscle"),
    "tumour": _tumour,
    "liver": lambda: itis_tissue("Liver", arrhenius=LIVER_COAGULATION),
    "blood": lambda: itis_tissue("Blood").replace(perfusion=0.0),
    "water": lambda: itis_tissue("Water"),
}

#: Names accepted by :func:`thermal_tissue`.
BUILTIN_THERMAL_TISSUES = tuple(_BUILDERS)
_ALIASES = {"tumor": "tumour"}


def thermal_tissue(name: str) -> ThermalTissue:
    """A built-in tissue by name (``skin``, ``fat``, ``muscle``, ``tumour``, ...).

    Raises
    ------
    InputError
        Unknown name, with the list of known names and close matches.
    """
    key = _ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else None
    if key not in _BUILDERS:
        raise InputError("unknown tissue", [_unknown("tissue", name, list(_BUILDERS))])
    return _BUILDERS[key]()


def _unknown(path: str, value, known: list[str]) -> Problem:
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5) if isinstance(value, str) else []
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return Problem(path, value, f"one of {', '.join(sorted(known)) if len(known) < 15 else 'the known names'}{hint}")
