"""Pennes bioheat solver: model, boundary conditions, stencil and time steppers."""

from .boundary import BoundaryConditions, Convective, FixedTemperature, Insulated, Periodic
from .energy import EnergyBudget
from .explicit import ExplicitStepper, pennes_step_twin
from .implicit import ThetaStepper
from .model import PennesModel, StabilityLimit
from .perfusion import VascularShutdown
from .state import STATE_FIELDS, DeviceModel, ThermalState
from .steady import steady_state_temperature

__all__ = [
    "PennesModel",
    "StabilityLimit",
    "BoundaryConditions",
    "FixedTemperature",
    "Convective",
    "Insulated",
    "Periodic",
    "VascularShutdown",
    "DeviceModel",
    "ThermalState",
    "STATE_FIELDS",
    "ExplicitStepper",
    "ThetaStepper",
    "EnergyBudget",
    "pennes_step_twin",
    "steady_state_temperature",
]
