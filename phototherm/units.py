"""Physical constants and unit conversions.

phototherm works in SI units internally (m, s, kg, W, J, 1/m), with temperature
in degrees Celsius. Units appear in names only at the edges of the program
(scenario keys, CLI flags, output field names); conversions happen once, here.
"""

from __future__ import annotations

#: Offset between degrees Celsius and kelvin [K].
KELVIN_OFFSET = 273.15

#: Molar gas constant [J/(mol K)] (CODATA 2018, exact).
GAS_CONSTANT = 8.314462618

#: One millimetre [m].
MM = 1e-3

#: One centimetre [m].
CM = 1e-2

#: One minute [s].
MINUTE = 60.0


def celsius_to_kelvin(temperature_C):
    """Convert a temperature from degrees Celsius to kelvin."""
    return temperature_C + KELVIN_OFFSET


def perfusion_from_itis(heat_transfer_rate_ml_per_min_per_kg, density_kg_per_m3):
    """Volumetric perfusion rate [1/s] from the IT'IS "heat transfer rate".

    The IT'IS database gives perfusion as blood volume per minute per kilogram
    of tissue (ml/min/kg). Pennes' equation needs the blood volume per second
    per unit tissue volume:

    .. math:: w_b = \\mathrm{HTR} \\times 10^{-6} / 60 \\times \\rho_{tissue}

    Parameters
    ----------
    heat_transfer_rate_ml_per_min_per_kg : float
        IT'IS perfusion [ml/min/kg].
    density_kg_per_m3 : float
        Tissue density [kg/m^3].

    Returns
    -------
    float
        Volumetric perfusion rate [1/s] (m^3 blood per m^3 tissue per second).

    Examples
    --------
    >>> round(perfusion_from_itis(37.0, 1090.4), 7)  # IT'IS muscle
    0.0006724
    """
    return heat_transfer_rate_ml_per_min_per_kg * 1e-6 / 60.0 * density_kg_per_m3
