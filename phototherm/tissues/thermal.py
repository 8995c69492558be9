"""Thermal properties of one tissue, of blood, and Arrhenius damage parameters."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..dose import NO_DAMAGE_LN_A
from ..errors import Problems
from ..units import GAS_CONSTANT

__all__ = ["ArrheniusParameters", "ThermalTissue", "Blood"]


@dataclass(frozen=True)
class ArrheniusParameters:
    """First-order Arrhenius damage model ``dOmega/dt = A exp(-Ea / (R T))``.

    Parameters
    ----------
    frequency_factor : float
        A [1/s].
    activation_energy : float
        Ea [J/mol].
    valid_range_C : tuple of 2 float or None
        Temperatures [C] over which the pair was fitted. Pairs fitted at
        ablation temperatures must not be extrapolated to mild hyperthermia.
    source : str
        Where the numbers come from.
    """

    frequency_factor: float
    activation_energy: float
    valid_range_C: tuple[float, float] | None = None
    source: str = "user"

    @property
    def ln_A(self) -> float:
        """``ln(A / (1/s))``; ``NO_DAMAGE_LN_A`` when A is 0 (no damage model)."""
        return math.log(self.frequency_factor) if self.frequency_factor > 0 else NO_DAMAGE_LN_A

    @property
    def Ea_over_R(self) -> float:
        """``Ea / R`` [K]."""
        return self.activation_energy / GAS_CONSTANT

    def validate(self, path: str, problems: Problems) -> None:
        problems.non_negative(self.frequency_factor, f"{path}.frequency_factor", "[1/s]")
        problems.non_negative(self.activation_energy, f"{path}.activation_energy", "[J/mol]")


@dataclass(frozen=True)
class ThermalTissue:
    """Thermal properties of one tissue (one label of a label map).

    Parameters
    ----------
    name : str
        Tissue name, used in summaries.
    density : float
        Mass density rho [kg/m^3].
    specific_heat : float
        Specific heat capacity c [J/(kg K)].
    conductivity : float
        Thermal conductivity k [W/(m K)].
    perfusion : float
        Volumetric blood perfusion rate w_b [1/s] (m^3 of blood per m^3 of
        tissue per second). :func:`phototherm.units.perfusion_from_itis`
        converts the IT'IS ml/min/kg figure.
    metabolic_heat : float
        Metabolic heat generation Q_met [W/m^3].
    arrhenius : ArrheniusParameters or None
        Damage model; ``None`` means Omega is not modelled in this tissue (it is
        reported as NaN there).
    source : str
        Where the numbers come from.

    Examples
    --------
    >>> from phototherm.tissues import thermal_tissue
    >>> muscle = thermal_tissue("muscle")
    >>> warm = muscle.replace(perfusion=2 * muscle.perfusion, name="hyperaemic muscle")
    """

    name: str
    density: float
    specific_heat: float
    conductivity: float
    perfusion: float = 0.0
    metabolic_heat: float = 0.0
    arrhenius: ArrheniusParameters | None = None
    source: str = "user"

    @property
    def volumetric_heat_capacity(self) -> float:
        """rho c [J/(m^3 K)]."""
        return self.density * self.specific_heat

    @property
    def diffusivity(self) -> float:
        """Thermal diffusivity k / (rho c) [m^2/s]."""
        return self.conductivity / self.volumetric_heat_capacity

    def replace(self, **changes) -> "ThermalTissue":
        """A copy with some properties changed (same units as the constructor)."""
        return dataclasses.replace(self, **changes)

    def validate(self, path: str, problems: Problems) -> None:
        """Record every invalid property in ``problems``."""
        problems.positive(self.density, f"{path}.density", "[kg/m^3]")
        problems.positive(self.specific_heat, f"{path}.specific_heat", "[J/(kg K)]")
        problems.positive(self.conductivity, f"{path}.conductivity", "[W/(m K)]")
        problems.non_negative(self.perfusion, f"{path}.perfusion", "[1/s]")
        problems.finite(self.metabolic_heat, f"{path}.metabolic_heat", "[W/m^3]")
        if self.arrhenius is not None:
            self.arrhenius.validate(f"{path}.arrhenius", problems)

    def describe(self) -> dict:
        out = {
            "name": self.name,
            "density_kg_per_m3": self.density,
            "specific_heat_J_per_kg_per_K": self.specific_heat,
            "conductivity_W_per_m_per_K": self.conductivity,
            "perfusion_per_s": self.perfusion,
            "metabolic_heat_W_per_m3": self.metabolic_heat,
            "source": self.source,
        }
        if self.arrhenius is not None:
            out["arrhenius"] = {
                "frequency_factor_per_s": self.arrhenius.frequency_factor,
                "activation_energy_J_per_mol": self.arrhenius.activation_energy,
                "valid_range_C": self.arrhenius.valid_range_C,
                "source": self.arrhenius.source,
            }
        else:
            out["arrhenius"] = None
        return out


@dataclass(frozen=True)
class Blood:
    """Properties of the perfusing blood in Pennes' heat-sink term.

    Parameters
    ----------
    density : float
        rho_b [kg/m^3]. Default: IT'IS v4.2 "Blood".
    specific_heat : float
        c_b [J/(kg K)]. Default: IT'IS v4.2 "Blood".
    """

    density: float = 1049.75
    specific_heat: float = 3617.0
    source: str = "IT'IS database v4.2, 'Blood'"

    @property
    def volumetric_heat_capacity(self) -> float:
        """rho_b c_b [J/(m^3 K)]."""
        return self.density * self.specific_heat

    def validate(self, path: str, problems: Problems) -> None:
        problems.positive(self.density, f"{path}.density", "[kg/m^3]")
        problems.positive(self.specific_heat, f"{path}.specific_heat", "[J/(kg K)]")

    def describe(self) -> dict:
        return {
            "density_kg_per_m3": self.density,
            "specific_heat_J_per_kg_per_K": self.specific_heat,
            "source": self.source,
        }
