"""The scenario format, version 1: pydantic models of a whole treatment description.

A scenario is one TOML file (or the same data built in Python) with these
sections; every key with a physical value carries its unit in its name
(``spacing_mm``, ``power_W``, ``wavelength_nm``, ``duration_s``). The loader
keeps the values as written; whoever builds engine objects from a scenario
converts them to SI once (mm -> m, nm -> m, 1/cm -> 1/m, ...).

=====================  ====================================================================
``phototherm_scenario``  format version, required; this phototherm reads version 1
``title``, ``description``  free text
``[grid]``            voxel size; grid extent (meshes only: phantoms size their own grid)
``[geometry]``        a built-in phantom (``type = "mouse_flank_tumour"``, ``"layered_slab"``,
                      ``"sphere_in_block"``) with its parameters in mm, or ``type = "mesh"``
``[tissues.NAME]``    per tissue of the geometry: built-in thermal/optical tissue, overrides
``[[nanoparticles]]`` gold particles (``[nanoparticles.particle]``) and where they are
                      (``[nanoparticles.distribution]``)
``[photosensitizer]`` optional PDT drug: built-in or user-defined, concentration per tissue
``[[sources]]``       light sources, each with a ``[sources.schedule]``
``[light]``           light solver (diffusion or Monte Carlo) and its settings
``[boundaries]``      thermal boundary condition per face of the grid
``[bioheat]``         arterial/initial temperature, blood, vascular shutdown
``[numerics]``        stop time, time step, stepper, device, dtype
``[[structures]]``    named regions for evaluation and planning (targets, organs at risk)
``[objective]``       what the planner optimises; ``[[constraints]]`` hard limits
``[plan]``            optimisation variables (powers, exposure time, fractionation)
``[outputs]``         results folder, fields, figures, report, probes, snapshots
=====================  ====================================================================

The models check each value on its own (types, signs, finiteness, choices;
unknown keys are refused). Checks that involve several values (a source
outside the grid, a tissue without properties, a spacing that looks like the
wrong unit, ...) live in :mod:`phototherm.scenario.checks`; constructing a
:class:`Scenario` runs both and raises one
:class:`~phototherm.errors.InputError` listing every problem.

The built-in phantoms (``phototherm.phantoms``) are not imported here: their
names, parameters and defaults are written out below as the agreed API gives
them.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    field_serializer,
)

from ..light.laser_heating import LIGHT_METHODS
from ..phantoms import TISSUE_DEFAULTS
from ..planning.metrics import QUANTITIES as _PLANNING_QUANTITIES
from ..simulation import STEPPERS
from ..tissues import BUILTIN_OPTICAL_TISSUES, BUILTIN_THERMAL_TISSUES

__all__ = [
    "FORMAT_VERSION",
    "SchemaModel",
    "Scenario",
    "GridSpec",
    "MouseFlankTumourGeometry",
    "LayeredSlabGeometry",
    "LayerSpec",
    "SphereInBlockGeometry",
    "MeshGeometry",
    "MeshSurface",
    "TissueSpec",
    "GoldSphereSpec",
    "GoldNanoshellSpec",
    "GoldNanorodSpec",
    "UniformDistribution",
    "GaussianDistribution",
    "RimEnhancedDistribution",
    "NanoparticleSpec",
    "PhotosensitizerSpec",
    "ConstantSchedule",
    "PulsesSchedule",
    "RampSchedule",
    "PiecewiseLinearSchedule",
    "OffSchedule",
    "CollimatedBeamSource",
    "IsotropicPointSource",
    "CylindricalDiffuserSource",
    "LightSpec",
    "FixedTemperatureBoundary",
    "ConvectiveBoundary",
    "InsulatedBoundary",
    "PeriodicBoundary",
    "BoundariesSpec",
    "VascularShutdownSpec",
    "BioheatSpec",
    "NumericsSpec",
    "StructureSpec",
    "ObjectiveSpec",
    "ConstraintSpec",
    "PlanSourceSpec",
    "FractionationSpec",
    "PlanSpec",
    "OutputsSpec",
    "PHANTOM_TYPES",
    "PHANTOM_TISSUE_DEFAULTS",
    "QUANTITIES",
    "PDT_QUANTITIES",
    "OUTPUT_FIELDS",
    "SNAPSHOT_FIELDS",
    "FACE_NAMES",
]

#: The scenario format version this phototherm reads and writes.
FORMAT_VERSION = 1

#: Built-in phantom types (``geometry.type``), as phototherm.phantoms.PHANTOMS names them.
PHANTOM_TYPES = ("mouse_flank_tumour", "layered_slab", "sphere_in_block")

#: Tissue names the built-in phantoms use -> (built-in thermal tissue, built-in optical tissue).
PHANTOM_TISSUE_DEFAULTS = TISSUE_DEFAULTS

#: Quantities objectives and constraints can be evaluated on -> unit of their values: the
#: result field of each of phototherm.planning.QUANTITIES.
QUANTITIES = MappingProxyType({q.field: q.unit for q in _PLANNING_QUANTITIES.values()})
#: The quantities that need a [photosensitizer] (and, for the survival ones, its d0_uM).
PDT_QUANTITIES = ("singlet_oxygen_reacted_uM", "pdt_dose_photons_per_m3", "pdt_surviving_fraction",
                  "surviving_fraction")

#: Result fields ``outputs.fields`` may select (the names results are written under;
#: ``time_above_s`` is written as ``time_above_<T>C_s``).
OUTPUT_FIELDS = (
    "temperature_degC", "max_temperature_degC", "cem43_min", "arrhenius_omega", "time_above_s",
    "heat_source_W_per_m3", "fluence_rate_W_per_m2", "fluence_J_per_m2", "labels", "perfusion_per_s",
    "photosensitizer_uM", "oxygen_uM", "singlet_oxygen_reacted_uM", "pdt_dose_photons_per_m3", "pdt_necrosis",
)
#: Result fields that exist only with a photosensitizer.
PDT_OUTPUT_FIELDS = ("photosensitizer_uM", "oxygen_uM", "singlet_oxygen_reacted_uM", "pdt_dose_photons_per_m3",
                     "pdt_necrosis")

#: Evolved fields snapshots can keep -> the Simulation's state field name.
SNAPSHOT_FIELDS = MappingProxyType({
    "temperature_degC": "temperature",
    "max_temperature_degC": "max_temperature",
    "cem43_min": "cem43",
    "arrhenius_omega": "omega",
    "time_above_s": "time_above",
})

#: Faces of the grid's bounding box (phototherm.grid.FACES).
FACE_NAMES = ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max")

# -- value types ----------------------------------------------------------------------------------
# Numbers are strict (a string "1.5" or a boolean is refused, an integer is accepted as a float);
# NaN and infinity are refused by every model's configuration (allow_inf_nan=False).
Number = Annotated[float, Strict()]
Positive = Annotated[float, Strict(), Field(gt=0)]
NonNegative = Annotated[float, Strict(), Field(ge=0)]
Fraction = Annotated[float, Strict(), Field(ge=0, le=1)]
Integer = Annotated[int, Strict()]
Boolean = Annotated[bool, Strict()]
Triple = Annotated[list[Number], Field(min_length=3, max_length=3)]
PositiveTriple = Annotated[list[Positive], Field(min_length=3, max_length=3)]
Bounds = Annotated[list[NonNegative], Field(min_length=2, max_length=2)]
Name = Annotated[str, Field(min_length=1)]


def _scalar_to_triple(value: Any) -> Any:
    """A single number stands for the same value along x, y and z."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value, value, value]
    return value


#: Three positive numbers, or one number meaning the same along each axis.
PositiveTripleOrScalar = Annotated[
    list[Positive],
    Field(min_length=3, max_length=3),
    BeforeValidator(_scalar_to_triple, json_schema_input_type=Union[float, list[float]]),
]


def _compact_triple(value: list[float]) -> float | list[float]:
    return value[0] if len(value) == 3 and value[0] == value[1] == value[2] else list(value)


class _SchemaMeta(type(BaseModel)):
    """Metaclass turning a failed direct construction (``GridSpec(spacing_mm=-1)``) into an InputError.

    Only calls from Python go through here: pydantic builds nested models without calling the
    class, so validating a whole scenario still collects every error before reporting.
    """

    def __call__(cls, *args: Any, **kwargs: Any):
        try:
            instance = super().__call__(*args, **kwargs)
        except ValidationError as exc:
            from .errors import input_error_from_validation

            raise input_error_from_validation(exc, cls, kwargs, f"invalid {cls.__name__}") from None
        after = getattr(instance, "_after_python_construction", None)
        if after is not None:
            after()
        return instance


class SchemaModel(BaseModel, metaclass=_SchemaMeta):
    """Base of every scenario model: unknown keys, NaN and infinity are refused.

    Constructing a model directly (``GridSpec(spacing_mm=-1)``) raises
    :class:`~phototherm.errors.InputError` listing every problem with its key
    path, the value and what was expected, as loading a file does.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# -- grid and geometry ---------------------------------------------------------------------------
class GridSpec(SchemaModel):
    """The voxel grid: voxel size, and for meshes optionally the region covered."""

    spacing_mm: PositiveTripleOrScalar = Field(
        description="Voxel size [mm]: one number (cubic voxels) or [dx, dy, dz]. A mouse tumour needs about "
                    "0.1-0.5 mm.")
    origin_mm: Optional[Triple] = Field(
        None, description="Mesh geometry only: position of the outer corner of the first voxel [mm]; "
                          "default the corner of the mesh's bounding box. Give with size_mm.")
    size_mm: Optional[PositiveTriple] = Field(
        None, description="Mesh geometry only: edge lengths of the gridded region [mm], whole multiples "
                          "of spacing_mm; default the mesh's bounding box rounded up to whole voxels. "
                          "Phantoms take their size from [geometry].")

    @field_serializer("spacing_mm")
    def _serialise_spacing(self, value: list[float]):
        return _compact_triple(value)


class MouseFlankTumourGeometry(SchemaModel):
    """Built-in phantom: a subcutaneous tumour in a mouse flank.

    Tissues (labels in this order): epidermis, dermis, fat, muscle, tumour. Layers by depth z
    (z = 0 is the skin surface); the ellipsoidal tumour replaces fat and muscle, never skin.
    Structures: tumour, skin (epidermis + dermis), epidermis, dermis, fat, muscle, healthy (everything
    but tumour). The tumour must lie inside the block.
    """

    type: Literal["mouse_flank_tumour"] = Field(description="Built-in phantom type.")
    size_mm: PositiveTriple = Field([20.0, 20.0, 12.0], description="Block size x, y, depth z [mm].")
    epidermis_thickness_mm: NonNegative = Field(
        0.02, description="Epidermis thickness [mm]; 0 leaves it out; a layer holding no voxel centre is not "
                          "resolved (a warning says so).")
    dermis_thickness_mm: NonNegative = Field(0.4, description="Dermis thickness [mm]; 0 leaves it out.")
    fat_thickness_mm: NonNegative = Field(0.5, description="Subcutaneous fat thickness [mm]; 0 leaves it out.")
    tumour_semi_axes_mm: PositiveTriple = Field(
        [4.0, 4.0, 3.0], description="Semi-axes of the ellipsoidal tumour along x, y, z [mm].")
    tumour_centre_mm: Optional[Triple] = Field(
        None, description="Centre of the tumour [mm]; default centred in x, y with its top touching the "
                          "bottom of the dermis.")


class LayerSpec(SchemaModel):
    """One layer of a layered slab, from the surface down."""

    tissue: Name = Field(description="Tissue name: one of the phantom tissue names (epidermis, dermis, skin, "
                                     "fat, muscle, tumour, liver, blood, water).")
    thickness_mm: Optional[Positive] = Field(
        None, description="Layer thickness [mm]; may be left out for the last layer only, which then fills "
                          "the slab down to depth_mm.")


class LayeredSlabGeometry(SchemaModel):
    """Built-in phantom: planar tissue layers under the surface z = 0. One structure per layer name."""

    type: Literal["layered_slab"] = Field(description="Built-in phantom type.")
    layers: Annotated[list[LayerSpec], Field(min_length=1)] = Field(
        description="Layers from the surface down, e.g. [{tissue = \"dermis\", thickness_mm = 1.0}, "
                    "{tissue = \"muscle\"}].")
    lateral_size_mm: Annotated[list[Positive], Field(min_length=2, max_length=2)] = Field(
        [20.0, 20.0], description="Slab size along x and y [mm].")
    depth_mm: Optional[Positive] = Field(
        None, description="Slab depth [mm]: required when the last layer has no thickness; when every thickness "
                          "is given it may be left out (if given, it must equal their sum).")


class SphereInBlockGeometry(SchemaModel):
    """Built-in phantom: a spherical inclusion in a block of one tissue.

    Structures: the inclusion's name, the background's name, and healthy (= background).
    """

    type: Literal["sphere_in_block"] = Field(description="Built-in phantom type.")
    radius_mm: Positive = Field(3.0, description="Radius of the inclusion [mm]; the sphere lies inside the block.")
    size_mm: PositiveTriple = Field([20.0, 20.0, 20.0], description="Block size x, y, z [mm].")
    centre_mm: Optional[Triple] = Field(None, description="Centre of the inclusion [mm]; default the block centre.")
    inclusion: Name = Field("tumour", description="Tissue of the sphere (a phantom tissue name).")
    background: Name = Field("muscle", description="Tissue of the block (a phantom tissue name).")


MeshUnits = Literal["m", "cm", "mm", "um"]


class MeshSurface(SchemaModel):
    """A closed triangle surface whose inside is painted with one tissue."""

    file: Name = Field(description="Surface mesh file (any format meshio reads, e.g. .stl, .obj, .ply, .vtk), "
                                   "relative to the scenario file.")
    tissue: Name = Field(description="Tissue of the voxels whose centres lie inside the surface.")
    mesh_units: Optional[MeshUnits] = Field(
        None, description="Length unit of this file's coordinates; default geometry.mesh_units.")


class MeshGeometry(SchemaModel):
    """A mesh voxelised onto the grid.

    Voxels are first filled with ``background``, then given the tissue of the tagged volume cell
    (``file`` + ``tags``) their centre lies in, then each of ``surfaces`` is painted in order (later
    surfaces over earlier ones). Coordinates are used as they are (converted from ``mesh_units``):
    by convention z is depth into the body with the skin surface at the grid's z_min face.
    """

    type: Literal["mesh"] = Field(description="Geometry from mesh files.")
    file: Optional[Name] = Field(
        None, description="Volume mesh with tagged cells (e.g. .msh, .vtu, .vtk, .xdmf), relative to the "
                          "scenario file.")
    mesh_units: MeshUnits = Field("mm", description="Length unit of the mesh coordinates: m, cm, mm or um.")
    tag_field: Optional[Name] = Field(
        None, description="Name of the integer cell-data array holding the tags (e.g. \"gmsh:physical\"); "
                          "default the file's only integer cell-data array.")
    tags: dict[str, Name] = Field(
        default_factory=dict,
        description="Cell tag (an integer, written as a key) -> tissue name, e.g. {\"1\" = \"muscle\", "
                    "\"2\" = \"tumour\"}. Every tag of the volume mesh needs a tissue.")
    surfaces: list[MeshSurface] = Field(
        default_factory=list, description="Closed surfaces painted in order after the volume mesh.")
    background: Name = Field(description="Tissue of voxels outside every tagged cell and surface.")


Geometry = Annotated[
    Union[MouseFlankTumourGeometry, LayeredSlabGeometry, SphereInBlockGeometry, MeshGeometry],
    Field(discriminator="type"),
]


# -- tissues -------------------------------------------------------------------------------------
ThermalName = Literal[tuple(BUILTIN_THERMAL_TISSUES)]  # type: ignore[valid-type]
OpticalName = Literal[tuple(BUILTIN_OPTICAL_TISSUES)]  # type: ignore[valid-type]


class TissueSpec(SchemaModel):
    """Properties of one tissue of the geometry: a built-in base plus overrides.

    A tissue the built-in phantoms know (epidermis, dermis, skin, fat, muscle, tumour, liver,
    blood, water) defaults to its built-in thermal and optical tissues; any other tissue needs a
    base (``thermal`` or ``itis``; ``optical``) or the overrides that define it completely
    (density, specific heat and conductivity; mua and mus).
    """

    # thermal
    thermal: Optional[ThermalName] = Field(
        None, description="Built-in thermal tissue (IT'IS v4.2 values; skin and liver with Arrhenius damage "
                          "models).")
    itis: Optional[Name] = Field(
        None, description="Any IT'IS v4.2 database tissue by name (e.g. \"SAT (Subcutaneous Fat)\"), instead "
                          "of thermal.")
    density_kg_per_m3: Optional[Positive] = Field(None, description="Mass density override [kg/m^3].")
    specific_heat_J_per_kg_per_K: Optional[Positive] = Field(None, description="Specific heat override [J/(kg K)].")
    conductivity_W_per_m_per_K: Optional[Positive] = Field(None, description="Thermal conductivity override [W/(m K)].")
    perfusion_per_s: Optional[NonNegative] = Field(
        None, description="Volumetric blood perfusion override [1/s] (m^3 blood per m^3 tissue per s).")
    metabolic_heat_W_per_m3: Optional[Number] = Field(None, description="Metabolic heat override [W/m^3].")
    arrhenius_A_per_s: Optional[NonNegative] = Field(
        None, description="Arrhenius frequency factor A [1/s]; give with arrhenius_Ea_J_per_mol.")
    arrhenius_Ea_J_per_mol: Optional[NonNegative] = Field(
        None, description="Arrhenius activation energy Ea [J/mol]; give with arrhenius_A_per_s.")
    # optical
    optical: Optional[OpticalName] = Field(
        None, description="Built-in optical tissue (composition-based, 400-1100 nm).")
    blood_fraction: Optional[Fraction] = Field(None, description="Volume fraction of whole blood B [0-1].")
    oxygen_saturation: Optional[Fraction] = Field(None, description="Haemoglobin oxygen saturation S [0-1].")
    water_fraction: Optional[Fraction] = Field(None, description="Volume fraction of water W [0-1].")
    fat_fraction: Optional[Fraction] = Field(None, description="Volume fraction of fat F [0-1].")
    melanosome_fraction: Optional[Fraction] = Field(None, description="Volume fraction of melanosomes M [0-1].")
    melanosome_exponent: Optional[NonNegative] = Field(None, description="Melanosome absorption power law exponent [1].")
    scattering_500nm_per_cm: Optional[NonNegative] = Field(
        None, description="Reduced scattering coefficient at 500 nm [1/cm] (Jacques 2013 a or a').")
    scattering_power: Optional[NonNegative] = Field(None, description="Scattering power b (Jacques eq. 1) [1].")
    rayleigh_fraction: Optional[Fraction] = Field(
        None, description="Rayleigh fraction f_Ray (Jacques eq. 2) [0-1]; give with mie_power.")
    mie_power: Optional[NonNegative] = Field(None, description="Mie power b_Mie (Jacques eq. 2) [1]; give with "
                                                               "rayleigh_fraction.")
    anisotropy: Optional[Annotated[float, Strict(), Field(gt=-1, lt=1)]] = Field(
        None, description="Scattering anisotropy g, strictly between -1 and 1 [1].")
    refractive_index: Optional[Annotated[float, Strict(), Field(ge=1)]] = Field(
        None, description="Refractive index n >= 1 [1].")
    mua_per_cm: Optional[NonNegative] = Field(
        None, description="Absorption coefficient [1/cm] replacing the composition-based one at every wavelength.")
    mus_per_cm: Optional[NonNegative] = Field(
        None, description="Scattering coefficient (not reduced) [1/cm] replacing the composition-based one.")

    THERMAL_OVERRIDES: ClassVar[dict[str, str]] = {
        "density_kg_per_m3": "density", "specific_heat_J_per_kg_per_K": "specific_heat",
        "conductivity_W_per_m_per_K": "conductivity", "perfusion_per_s": "perfusion",
        "metabolic_heat_W_per_m3": "metabolic_heat",
    }
    OPTICAL_OVERRIDES: ClassVar[dict[str, str]] = {
        "blood_fraction": "blood_fraction", "oxygen_saturation": "oxygen_saturation",
        "water_fraction": "water_fraction", "fat_fraction": "fat_fraction",
        "melanosome_fraction": "melanosome_fraction", "melanosome_exponent": "melanosome_exponent",
        "scattering_500nm_per_cm": "scattering_500nm", "scattering_power": "scattering_power",
        "rayleigh_fraction": "rayleigh_fraction", "mie_power": "mie_power", "anisotropy": "anisotropy",
        "refractive_index": "refractive_index", "mua_per_cm": "mua", "mus_per_cm": "mus",
    }

    def thermal_overrides(self) -> dict[str, float]:
        """Thermal overrides given, under the engine's names, in SI (all keys are SI already)."""
        return {engine: getattr(self, key) for key, engine in self.THERMAL_OVERRIDES.items()
                if getattr(self, key) is not None}

    def optical_overrides(self) -> dict[str, float]:
        """Optical overrides given, under :class:`~phototherm.tissues.OpticalTissue`'s names, in SI
        (1/cm converted to 1/m)."""
        out = {}
        for key, engine in self.OPTICAL_OVERRIDES.items():
            value = getattr(self, key)
            if value is not None:
                out[engine] = value * 100.0 if key.endswith("_per_cm") else value
        return out


# -- nanoparticles -------------------------------------------------------------------------------
class _ParticleBase(SchemaModel):
    size_correction: Boolean = Field(
        True, description="Apply the surface-scattering correction to gold's dielectric function.")
    damping_A: NonNegative = Field(0.3, description="Surface-scattering parameter A [1].")


class GoldSphereSpec(_ParticleBase):
    """A solid gold sphere (exact Mie theory)."""

    type: Literal["sphere"] = Field(description="Particle type.")
    diameter_nm: Positive = Field(description="Sphere diameter [nm], 2-500 nm.")


class GoldNanoshellSpec(_ParticleBase):
    """A dielectric core with a gold shell (coated-sphere Mie theory)."""

    type: Literal["nanoshell"] = Field(description="Particle type.")
    core_diameter_nm: Positive = Field(description="Core diameter [nm], at least 2 nm.")
    shell_thickness_nm: Positive = Field(
        description="Gold shell thickness [nm], at least 2 nm; outer diameter at most 500 nm.")
    core_index: Annotated[float, Strict(), Field(ge=1, le=4)] = Field(
        1.45, description="Refractive index of the core [1] (silica 1.45).")


class GoldNanorodSpec(_ParticleBase):
    """A gold nanorod (quasi-static Gans spheroid), optionally calibrated to a measured peak."""

    type: Literal["nanorod"] = Field(description="Particle type.")
    length_nm: Positive = Field(description="Tip-to-tip length [nm], at most 150 nm.")
    diameter_nm: Positive = Field(description="Diameter [nm], at least 2 nm; length/diameter 1-10.")
    peak_wavelength_nm: Optional[Positive] = Field(
        None, description="Measured longitudinal plasmon peak [nm] the rod is calibrated to (vacuum wavelength "
                          "in the medium of medium_index); default uncalibrated Gans theory.")
    orientation: Literal["random", "longitudinal", "transverse"] = Field(
        "random", description="Orientation average of the cross-sections.")


Particle = Annotated[Union[GoldSphereSpec, GoldNanoshellSpec, GoldNanorodSpec], Field(discriminator="type")]


class _ConcentrationMixin(SchemaModel):
    concentration_particles_per_mL: Optional[NonNegative] = Field(
        None, description="Concentration as particles per millilitre [1/mL].")
    concentration_ug_per_mL: Optional[NonNegative] = Field(
        None, description="Concentration as micrograms of gold per millilitre [ug/mL].")
    concentration_nM: Optional[NonNegative] = Field(
        None, description="Concentration as nanomoles of particles per litre [nM].")
    concentration_per_m3: Optional[NonNegative] = Field(
        None, description="Concentration as number density [1/m^3].")

    CONCENTRATION_KEYS: ClassVar[dict[str, str]] = {
        "concentration_particles_per_mL": "particles/mL", "concentration_ug_per_mL": "ug/mL",
        "concentration_nM": "nM", "concentration_per_m3": "1/m^3",
    }

    def concentration(self) -> tuple[float, str] | None:
        """``(value, unit)`` of the concentration given, in the units of
        :func:`phototherm.nanoparticles.number_density`, or None."""
        for key, unit in self.CONCENTRATION_KEYS.items():
            if getattr(self, key) is not None:
                return getattr(self, key), unit
        return None


class UniformDistribution(_ConcentrationMixin):
    """The same concentration throughout the listed tissues (one concentration key required)."""

    type: Literal["uniform"] = Field(description="Distribution type.")
    tissues: Annotated[list[Name], Field(min_length=1)] = Field(description="Tissues holding the particles.")


class RimEnhancedDistribution(_ConcentrationMixin):
    """Density rising towards the surface of the listed tissues (after intravenous delivery).

    The concentration key gives the mean over the region.
    """

    type: Literal["rim_enhanced"] = Field(description="Distribution type.")
    tissues: Annotated[list[Name], Field(min_length=1)] = Field(description="Tissues holding the particles.")
    rim_width_mm: Positive = Field(description="Decay length of the enhancement into the region [mm].")
    enhancement: Annotated[float, Strict(), Field(ge=1)] = Field(
        description="Density at the surface over the density deep inside [1], >= 1.")


class GaussianDistribution(_ConcentrationMixin):
    """A Gaussian cloud about an injection point: give total_particles, or a concentration key for the peak."""

    type: Literal["gaussian"] = Field(description="Distribution type.")
    centre_mm: Triple = Field(description="Centre of the cloud [mm].")
    sigma_mm: PositiveTripleOrScalar = Field(description="Standard deviation of the cloud [mm], one or three values.")
    total_particles: Optional[NonNegative] = Field(
        None, description="Number of particles in the grid [1] (instead of a peak concentration).")
    tissues: Optional[Annotated[list[Name], Field(min_length=1)]] = Field(
        None, description="Tissues that may hold particles; default everywhere.")

    @field_serializer("sigma_mm")
    def _serialise_sigma(self, value: list[float]):
        return _compact_triple(value)


Distribution = Annotated[Union[UniformDistribution, RimEnhancedDistribution, GaussianDistribution],
                         Field(discriminator="type")]


class NanoparticleSpec(SchemaModel):
    """One population of gold nanoparticles: what they are and where they are."""

    name: Name = Field(description="Name used in summaries.")
    particle: Particle = Field(description="The particle: type sphere, nanoshell or nanorod, sizes in nm.")
    distribution: Distribution = Field(description="Where the particles are: type uniform, rim_enhanced or gaussian.")
    medium_index: Annotated[float, Strict(), Field(ge=1, le=3)] = Field(
        1.33, description="Refractive index of the medium around the particles [1] (water 1.33).")


# -- photosensitizer -----------------------------------------------------------------------------
class PhotosensitizerSpec(SchemaModel):
    """A photosensitizer for PDT: built-in by name (with optional overrides) or fully user-defined.

    Built-in: photofrin (630 nm). For any other name every model parameter must be given.
    """

    name: Name = Field(description="Built-in name (photofrin) or the name of a user-defined sensitizer.")
    wavelengths_nm: Optional[Annotated[list[Positive], Field(min_length=1)]] = Field(
        None, description="Treatment wavelength(s) with absorption data [nm], 400-1100 nm.")
    extinction_per_cm_per_uM: Optional[Annotated[list[Positive], Field(min_length=1)]] = Field(
        None, description="Absorption per concentration at each wavelength [1/(cm uM)] (Photofrin 0.0035).")
    xi_cm2_per_mW_per_s: Optional[Positive] = Field(None, description="Oxygen consumption rate xi [cm^2/(mW s)].")
    sigma_per_uM: Optional[Positive] = Field(None, description="Specific photobleaching ratio sigma [1/uM].")
    beta_uM: Optional[Positive] = Field(None, description="Oxygen quenching threshold beta [uM].")
    delta_uM: Optional[NonNegative] = Field(None, description="Low-concentration correction delta [uM].")
    g_uM_per_s: Optional[Positive] = Field(None, description="Maximum oxygen supply rate g [uM/s].")
    oxygen_initial_uM: Optional[Positive] = Field(None, description="Initial ground-state oxygen [3O2]0 [uM].")
    threshold_uM: Optional[Positive] = Field(
        None, description="Reacted singlet-oxygen threshold for necrosis [1O2]rx,sh [uM].")
    concentration_uM: dict[str, NonNegative] = Field(
        default_factory=dict, description="Initial sensitizer concentration per tissue name [uM].")
    default_concentration_uM: NonNegative = Field(
        0.0, description="Concentration in tissues not listed in concentration_uM [uM].")
    rtol: Optional[Annotated[float, Strict(), Field(gt=0, lt=1)]] = Field(
        None, description="Relative tolerance of the kinetics integrator [1]; default 1e-6 (float64), 1e-4 (float32).")
    d0_uM: Optional[Positive] = Field(
        None, description="Reacted singlet oxygen per e-fold of cell kill D0 [uM]: the surviving fraction is "
                          "exp(-[1O2]rx / D0). Cell-line dependent, none is built in; without it no PDT "
                          "surviving fraction is computed.")

    PARAMETERS: ClassVar[dict[str, str]] = {
        "wavelengths_nm": "wavelengths", "extinction_per_cm_per_uM": "extinction",
        "xi_cm2_per_mW_per_s": "xi", "sigma_per_uM": "sigma", "beta_uM": "beta", "delta_uM": "delta",
        "g_uM_per_s": "g", "oxygen_initial_uM": "oxygen_initial", "threshold_uM": "threshold",
    }

    def parameters(self) -> dict[str, Any]:
        """Parameters given, under :class:`~phototherm.pdt.Photosensitizer`'s names and units
        (wavelengths in m, extinction in 1/(m uM))."""
        out: dict[str, Any] = {}
        for key, engine in self.PARAMETERS.items():
            value = getattr(self, key)
            if value is None:
                continue
            if key == "wavelengths_nm":
                value = tuple(v * 1e-9 for v in value)
            elif key == "extinction_per_cm_per_uM":
                value = tuple(v * 100.0 for v in value)
            out[engine] = value
        return out


# -- sources and schedules -----------------------------------------------------------------------
class ConstantSchedule(SchemaModel):
    """A constant level from start_s for duration_s (or to the end of the run)."""

    type: Literal["constant"] = Field(description="Schedule type.")
    level: NonNegative = Field(1.0, description="Power level, a multiple of the source's power [1].")
    start_s: NonNegative = Field(0.0, description="Switch-on time [s].")
    duration_s: Optional[Positive] = Field(None, description="Time on [s]; default until the end of the run.")


class PulsesSchedule(SchemaModel):
    """count rectangular pulses of on_s, separated by off_s."""

    type: Literal["pulses"] = Field(description="Schedule type.")
    on_s: Positive = Field(description="Pulse length [s].")
    off_s: NonNegative = Field(description="Pause between pulses [s].")
    count: Annotated[int, Strict(), Field(ge=1)] = Field(description="Number of pulses.")
    level: NonNegative = Field(1.0, description="Power level during pulses [1].")
    start_s: NonNegative = Field(0.0, description="Start of the first pulse [s].")


class RampSchedule(SchemaModel):
    """A linear change from level_start to level_stop over duration_s; off afterwards."""

    type: Literal["ramp"] = Field(description="Schedule type.")
    start_s: NonNegative = Field(0.0, description="Start of the ramp [s].")
    duration_s: Positive = Field(description="Length of the ramp [s].")
    level_start: NonNegative = Field(description="Level at start_s [1].")
    level_stop: NonNegative = Field(description="Level reached at start_s + duration_s [1].")


class PiecewiseLinearSchedule(SchemaModel):
    """Linear interpolation through (times_s[i], levels[i]); off outside the first..last time.

    Repeat a time to make a jump: times_s = [0, 60, 60, 120], levels = [1, 1, 0.5, 0.5].
    """

    type: Literal["piecewise_linear"] = Field(description="Schedule type.")
    times_s: Annotated[list[NonNegative], Field(min_length=2)] = Field(description="Non-decreasing times [s].")
    levels: Annotated[list[NonNegative], Field(min_length=2)] = Field(description="Level at each time [1].")


class OffSchedule(SchemaModel):
    """Never on (a source kept for planning or comparison)."""

    type: Literal["off"] = Field(description="Schedule type.")


def _schedule_default() -> ConstantSchedule:
    return ConstantSchedule(type="constant")


Schedule = Annotated[
    Union[ConstantSchedule, PulsesSchedule, RampSchedule, PiecewiseLinearSchedule, OffSchedule],
    Field(discriminator="type"),
]


class _SourceBase(SchemaModel):
    name: Name = Field(description="Unique source name (used by [plan] and in results).")
    wavelength_nm: Positive = Field(description="Vacuum wavelength [nm]; tissue optics cover 400-1100 nm.")
    power_W: Optional[NonNegative] = Field(None, description="Optical power at schedule level 1 [W].")
    schedule: Schedule = Field(default_factory=_schedule_default,
                               description="Power schedule p(t); default constant, always on.")

    def resolved_power_W(self) -> float | None:
        """Power at schedule level 1 [W] (from power_W, or a beam's irradiance)."""
        return self.power_W


class CollimatedBeamSource(_SourceBase):
    """A collimated beam entering the grid through a face (a laser spot on the skin).

    Give power_W, or the irradiance on the beam axis (irradiance_W_per_cm2 or
    irradiance_mW_per_cm2), for which radius_mm must be > 0.
    """

    type: Literal["collimated_beam"] = Field(description="Source type.")
    position_mm: Triple = Field(description="Where the beam axis meets the tissue: a point on a face of the "
                                            "grid's bounding box [mm] (e.g. z = 0 on the skin).")
    direction: Triple = Field([0.0, 0.0, 1.0], description="Propagation direction, pointing into the grid [1].")
    radius_mm: NonNegative = Field(0.0, description="Flat-top radius or Gaussian 1/e^2 radius [mm]; 0 is a pencil beam.")
    profile: Literal["flat", "gaussian"] = Field("flat", description="Transverse profile.")
    irradiance_W_per_cm2: Optional[NonNegative] = Field(
        None, description="Irradiance on the beam axis at schedule level 1 [W/cm^2], instead of power_W.")
    irradiance_mW_per_cm2: Optional[NonNegative] = Field(
        None, description="Irradiance on the beam axis at schedule level 1 [mW/cm^2], instead of power_W.")

    def resolved_power_W(self) -> float | None:
        """Power [W]: power_W, or irradiance x beam area (pi R^2 flat; pi w^2 / 2 Gaussian peak)."""
        if self.power_W is not None:
            return self.power_W
        irradiance = None
        if self.irradiance_W_per_cm2 is not None:
            irradiance = self.irradiance_W_per_cm2 * 1e4
        elif self.irradiance_mW_per_cm2 is not None:
            irradiance = self.irradiance_mW_per_cm2 * 10.0
        if irradiance is None or self.radius_mm <= 0:
            return None
        area = math.pi * (self.radius_mm * 1e-3) ** 2 * (0.5 if self.profile == "gaussian" else 1.0)
        return irradiance * area


class IsotropicPointSource(_SourceBase):
    """An isotropic point source strictly inside the grid (a bare fibre tip)."""

    type: Literal["isotropic_point"] = Field(description="Source type.")
    position_mm: Triple = Field(description="Source point [mm], strictly inside the grid.")


class CylindricalDiffuserSource(_SourceBase):
    """A cylindrical diffusing fibre: isotropic emission spread along a segment inside the grid."""

    type: Literal["cylindrical_diffuser"] = Field(description="Source type.")
    position_mm: Triple = Field(description="Centre of the diffusing segment [mm].")
    direction: Triple = Field([0.0, 0.0, 1.0], description="Fibre axis [1].")
    length_mm: Positive = Field(description="Length of the diffusing segment [mm]; both ends inside the grid.")


Source = Annotated[Union[CollimatedBeamSource, IsotropicPointSource, CylindricalDiffuserSource],
                   Field(discriminator="type")]


class LightSpec(SchemaModel):
    """How the light field of each source is computed (once per source, per watt)."""

    method: Literal[tuple(LIGHT_METHODS)] = Field(  # type: ignore[valid-type]
        "diffusion", description="Light solver: diffusion (fast) or monte-carlo (accurate near sources "
                                 "and boundaries).")
    photons: Annotated[int, Strict(), Field(ge=1)] = Field(
        1_000_000, description="Photon packets per source (monte-carlo).")
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**63)] = Field(
        0, description="Random seed (monte-carlo); source i uses seed + i.")
    batches: Annotated[int, Strict(), Field(ge=2)] = Field(
        10, description="Batches the photons run in (monte-carlo); standard errors come from their spread.")
    roulette: Boolean = Field(True, description="Russian roulette for low-weight packets (monte-carlo).")
    ambient_index: Annotated[float, Strict(), Field(ge=1)] = Field(
        1.0, description="Refractive index outside the grid [1] (air 1.0).")
    diffusion_rtol: Optional[Annotated[float, Strict(), Field(gt=0, lt=1)]] = Field(
        None, description="Conjugate-gradient tolerance of the diffusion solve [1]; default 1e-8 (float64), "
                          "1e-4 (float32).")
    diffusion_max_iterations: Optional[Annotated[int, Strict(), Field(ge=1)]] = Field(
        None, description="Conjugate-gradient iteration limit of the diffusion solve.")
    supersampling: Annotated[int, Strict(), Field(ge=1)] = Field(
        8, description="Samples per face-voxel edge used to integrate a beam's profile (diffusion).")


# -- boundaries ----------------------------------------------------------------------------------
class FixedTemperatureBoundary(SchemaModel):
    """The face is held at a temperature (e.g. 37 C body core)."""

    type: Literal["fixed_temperature"] = Field(description="Boundary type.")
    temperature_C: Number = Field(description="Face temperature [degC].")


class ConvectiveBoundary(SchemaModel):
    """Heat loss hc (T_surface - T_ambient) per unit area (skin to air)."""

    type: Literal["convective"] = Field(description="Boundary type.")
    heat_transfer_coefficient_W_per_m2_per_K: NonNegative = Field(
        description="Film coefficient hc [W/(m^2 K)]; still air about 5-10.")
    ambient_temperature_C: Number = Field(description="Ambient temperature [degC].")


class InsulatedBoundary(SchemaModel):
    """No heat crosses the face (also written as the string "insulated")."""

    type: Literal["insulated"] = Field(description="Boundary type.")


class PeriodicBoundary(SchemaModel):
    """The face is joined to the opposite face, which must be periodic too ("periodic")."""

    type: Literal["periodic"] = Field(description="Boundary type.")


def _boundary_from_string(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


Boundary = Annotated[
    Union[FixedTemperatureBoundary, ConvectiveBoundary, InsulatedBoundary, PeriodicBoundary],
    Field(discriminator="type"),
    BeforeValidator(_boundary_from_string, json_schema_input_type=Union[
        Literal["insulated", "periodic"], FixedTemperatureBoundary, ConvectiveBoundary, InsulatedBoundary,
        PeriodicBoundary]),
]


def _insulated() -> InsulatedBoundary:
    return InsulatedBoundary(type="insulated")


class BoundariesSpec(SchemaModel):
    """Thermal boundary condition of each face of the grid (z_min is the skin surface by convention)."""

    default: Boundary = Field(default_factory=_insulated, description="Condition of every face not named.")
    x_min: Optional[Boundary] = Field(None, description="Condition of the x_min face.")
    x_max: Optional[Boundary] = Field(None, description="Condition of the x_max face.")
    y_min: Optional[Boundary] = Field(None, description="Condition of the y_min face.")
    y_max: Optional[Boundary] = Field(None, description="Condition of the y_max face.")
    z_min: Optional[Boundary] = Field(None, description="Condition of the z_min face (the skin surface).")
    z_max: Optional[Boundary] = Field(None, description="Condition of the z_max face (deep tissue).")

    def face(self, name: str):
        """The condition of face ``name`` (the default where none is given)."""
        value = getattr(self, name)
        return self.default if value is None else value

    @field_serializer("default", "x_min", "x_max", "y_min", "y_max", "z_min", "z_max")
    def _serialise_face(self, value):
        if value is None:
            return None
        if isinstance(value, (InsulatedBoundary, PeriodicBoundary)):
            return value.type
        return value.model_dump()


# -- bioheat and numerics ------------------------------------------------------------------------
class VascularShutdownSpec(SchemaModel):
    """Perfusion collapses once a thermal dose threshold is reached."""

    quantity: Literal["cem43_min", "arrhenius_omega"] = Field(
        "cem43_min", description="Dose that triggers shutdown: cem43_min [min] or arrhenius_omega [1].")
    threshold: NonNegative = Field(240.0, description="Dose at which perfusion stops, in the quantity's unit "
                                                      "(CEM43 [min] or Omega [1]).")
    residual_fraction: Fraction = Field(0.0, description="Perfusion left after shutdown, a fraction of baseline [0-1].")


class BioheatSpec(SchemaModel):
    """Pennes model settings beyond the tissues."""

    arterial_temperature_C: Number = Field(37.0, description="Arterial blood temperature T_a [degC].")
    initial_state: Literal["steady_state", "uniform"] = Field(
        "steady_state", description="Start from the unheated steady state (sources off), or from a uniform "
                                    "temperature.")
    initial_temperature_C: Optional[Number] = Field(
        None, description="Uniform initial temperature [degC] (initial_state = \"uniform\"); default the "
                          "arterial temperature.")
    blood_density_kg_per_m3: Positive = Field(1049.75, description="Blood density rho_b [kg/m^3] (IT'IS v4.2).")
    blood_specific_heat_J_per_kg_per_K: Positive = Field(
        3617.0, description="Blood specific heat c_b [J/(kg K)] (IT'IS v4.2).")
    vascular_shutdown: Optional[VascularShutdownSpec] = Field(
        None, description="Perfusion shutdown above a dose threshold; default none.")


class NumericsSpec(SchemaModel):
    """Time stepping and compute settings."""

    stop_time_s: Positive = Field(description="End of the simulated time [s] (irradiation plus cooling).")
    dt_s: Optional[Positive] = Field(
        None, description="Time step [s]; default 0.95 of the explicit stability limit, or 10 times it for "
                          "implicit steppers.")
    stepper: Literal[tuple(STEPPERS)] = Field(  # type: ignore[valid-type]
        "explicit", description="Time integration: explicit, backward-euler or crank-nicolson.")
    device: Optional[Literal["auto", "cpu", "gpu"]] = Field(
        None, description="Compute backend; default $PHOTOTHERM_DEVICE, else auto.")
    dtype: Optional[Literal["float32", "float64"]] = Field(
        None, description="Floating-point type; default float32 on the GPU, float64 on the CPU.")
    time_above_threshold_C: Number = Field(43.0, description="Threshold of the time-above field [degC].")
    nan_check_interval: Annotated[int, Strict(), Field(ge=0)] = Field(
        100, description="Iterations between checks for non-finite temperatures (0 disables).")
    cg_rtol: Optional[Annotated[float, Strict(), Field(gt=0, lt=1)]] = Field(
        None, description="Conjugate-gradient tolerance of implicit steps [1].")
    num_threads: Optional[Annotated[int, Strict(), Field(ge=1)]] = Field(
        None, description="CPU threads of the explicit stepper.")


# -- planning ------------------------------------------------------------------------------------
class StructureSpec(SchemaModel):
    """A named region for evaluation and planning.

    The built-in phantoms also provide structures by name (mouse_flank_tumour: tumour, skin,
    epidermis, dermis, fat, muscle, healthy; layered_slab: one per layer; sphere_in_block: inclusion, background, healthy);
    a mesh geometry provides one structure per tissue name. Objectives may name those without
    defining them here (the tumour/inclusion is a target, the others organs at risk). A structure
    defined here with the same name replaces the built-in one.
    """

    name: Name = Field(description="Unique structure name.")
    tissues: Optional[Annotated[list[Name], Field(min_length=1)]] = Field(
        None, description="Tissues making up the structure.")
    mesh_tags: Optional[Annotated[list[Integer], Field(min_length=1)]] = Field(
        None, description="Mesh geometry: cell tags making up the structure (instead of tissues).")
    role: Literal["target", "organ_at_risk"] = Field(description="Target (to be treated) or organ at risk (to be spared).")
    margin_mm: NonNegative = Field(
        0.0, description="Isotropic expansion of the region [mm] (a planning margin); 0 for none.")


Metric = Literal["V", "D", "max", "min", "mean"]
QuantityName = Literal[tuple(QUANTITIES)]  # type: ignore[valid-type]


class _MetricMixin(SchemaModel):
    structure: Name = Field(description="Structure the metric is evaluated on.")
    quantity: QuantityName = Field(
        description="Result quantity, its unit in its name: max_temperature_degC, cem43_min, arrhenius_omega, "
                    "fluence_J_per_m2, thermal_surviving_fraction, and with a [photosensitizer] "
                    "singlet_oxygen_reacted_uM, pdt_dose_photons_per_m3, pdt_surviving_fraction, surviving_fraction.")
    metric: Metric = Field(
        description="V: volume fraction with quantity >= threshold (<= for surviving fractions) [0-1]; D: level "
                    "reached by at least volume_fraction of the structure [quantity's unit]; max, min, mean "
                    "[quantity's unit].")
    threshold: Optional[Number] = Field(None, description="Level of a V metric, in the quantity's unit.")
    volume_fraction: Optional[Annotated[float, Strict(), Field(gt=0, le=1)]] = Field(
        None, description="Volume fraction of a D metric (0.95 for D95) [0-1].")


class ObjectiveSpec(_MetricMixin):
    """The one metric the planner makes as large (or small) as the constraints allow.

    State every other goal as a [[constraints]] entry: a limit is what a planner can
    guarantee, where a weighted sum of goals would hide which one gave way.
    """

    goal: Literal["maximize", "minimize"] = Field("maximize", description="maximize or minimize the metric.")


class ConstraintSpec(_MetricMixin):
    """A hard limit the plan must satisfy (and that a run reports as met or not)."""

    at_least: Optional[Number] = Field(None, description="Lower limit: a fraction for V, else in the quantity's unit.")
    at_most: Optional[Number] = Field(None, description="Upper limit: a fraction for V, else in the quantity's unit.")


class PlanSourceSpec(SchemaModel):
    """A source whose power the planner chooses (sources not listed keep their power)."""

    source: Name = Field(description="Name of a source in [[sources]].")
    power_W: Bounds = Field(description="Bounds [min, max] of the source power [W]; equal bounds fix it.")


class FractionationSpec(SchemaModel):
    """Split the exposure into light and dark intervals; the planner tries every combination.

    The exposure time counts light only; the last light interval is shortened so the total
    equals it. Each length must be a multiple of plan.recording_interval_s.
    """

    on_s: Annotated[list[Positive], Field(min_length=1)] = Field(
        description="Candidate lengths of one light interval [s], e.g. [30.0, 60.0].")
    off_s: Annotated[list[Positive], Field(min_length=1)] = Field(
        description="Candidate lengths of one dark interval [s].")
    include_continuous: Boolean = Field(
        True, description="Also try continuous exposure (no dark intervals).")


class PlanSpec(SchemaModel):
    """Optimisation variables; the goal is [objective] subject to [[constraints]].

    Every source follows one plan schedule: on from start_s for the exposure time (in
    fractions if [plan.fractionation] is given), then off until numerics.stop_time_s, so
    that the cooling counts in the dose. Without exposure_time_s the sources keep their
    own schedules and only powers are chosen.
    """

    sources: Annotated[list[PlanSourceSpec], Field(min_length=1)] = Field(
        description="Sources whose power is optimised.")
    exposure_time_s: Optional[Bounds] = Field(
        None, description="Bounds [min, max] of the exposure time, the total light-on time of every source [s].")
    start_s: NonNegative = Field(0.0, description="When the exposure starts [s].")
    recording_interval_s: Optional[Positive] = Field(
        None, description="Interval at which unit responses are recorded [s]; switching times fall on it. "
                          "Default every time step (exact doses); a longer one saves memory.")
    fractionation: Optional[FractionationSpec] = Field(None, description="Optional light fractionation.")


# -- outputs -------------------------------------------------------------------------------------
OutputField = Literal[OUTPUT_FIELDS]  # type: ignore[valid-type]
SnapshotField = Literal[tuple(SNAPSHOT_FIELDS)]  # type: ignore[valid-type]


class OutputsSpec(SchemaModel):
    """What a run writes."""

    folder: Name = Field("results", description="Results folder, relative to the scenario file.")
    fields: Optional[Annotated[list[OutputField], Field(min_length=1)]] = Field(
        None, description="Result fields to write (VTK and NPZ); default all.")
    figures: Boolean = Field(True, description="Write PNG figures.")
    report: Boolean = Field(True, description="Write a human-readable report next to summary.json.")
    overwrite: Boolean = Field(True, description="Replace the folder if it exists.")
    probes: dict[str, Triple] = Field(
        default_factory=dict, description="Named points [mm] where temperature is recorded against time.")
    probe_interval_s: Optional[Positive] = Field(None, description="Probe sampling interval [s]; default every step.")
    snapshot_interval_s: Optional[Positive] = Field(
        None, description="Keep the snapshot_fields every so many seconds [s]; default no snapshots.")
    snapshot_fields: Annotated[list[SnapshotField], Field(min_length=1)] = Field(
        ["temperature_degC"], description="Fields kept in snapshots.")


# -- the scenario --------------------------------------------------------------------------------
class Scenario(SchemaModel):
    """A whole treatment, format version 1.

    Construct it from Python with the section models (or plain dicts), load it with
    :func:`phototherm.scenario.load_scenario`, or validate a dict with :meth:`from_dict`;
    save it with :meth:`save` / :meth:`to_toml`. Construction raises
    :class:`~phototherm.errors.InputError` listing every problem.

    Two scenarios are equal when they describe the same treatment (the file they were loaded
    from is not compared).
    """

    phototherm_scenario: Literal[1] = Field(
        description="Scenario format version: write phototherm_scenario = 1 as the first key of the file.")
    title: str = Field("", description="Short title.")
    description: str = Field("", description="Free text.")
    grid: GridSpec = Field(description="Voxel grid.")
    geometry: Geometry = Field(description="Built-in phantom or mesh.")
    tissues: dict[str, TissueSpec] = Field(
        default_factory=dict, description="Properties per tissue name of the geometry.")
    nanoparticles: list[NanoparticleSpec] = Field(default_factory=list, description="Gold nanoparticle populations.")
    photosensitizer: Optional[PhotosensitizerSpec] = Field(None, description="PDT photosensitizer; default none.")
    sources: Annotated[list[Source], Field(min_length=1)] = Field(description="Light sources.")
    light: LightSpec = Field(default_factory=LightSpec, description="Light solver settings.")
    boundaries: BoundariesSpec = Field(default_factory=BoundariesSpec, description="Thermal boundary conditions.")
    bioheat: BioheatSpec = Field(default_factory=BioheatSpec, description="Pennes model settings.")
    numerics: NumericsSpec = Field(description="Time stepping and compute settings.")
    structures: list[StructureSpec] = Field(default_factory=list, description="Named regions.")
    objective: Optional[ObjectiveSpec] = Field(None, description="What the planner optimises; default none.")
    constraints: list[ConstraintSpec] = Field(default_factory=list, description="Planning constraints.")
    plan: Optional[PlanSpec] = Field(None, description="Optimisation variables; default no optimisation.")
    outputs: OutputsSpec = Field(default_factory=OutputsSpec, description="What a run writes.")

    _source_path: Any = PrivateAttr(default=None)
    _base_dir: Any = PrivateAttr(default=None)

    def _after_python_construction(self) -> None:
        from .checks import check_scenario

        check_scenario(self).raise_if_any("invalid scenario")

    # -- construction and files -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, base_dir=None) -> "Scenario":
        """Validate plain data (as parsed from TOML); every problem in one InputError.

        Parameters
        ----------
        data : mapping
            The scenario as nested dicts and lists.
        base_dir : path, optional
            Folder relative paths (mesh files) are taken from; with it, missing files are reported.
        """
        from .io import scenario_from_dict

        return scenario_from_dict(data, base_dir=base_dir)

    @property
    def source_path(self):
        """The file this scenario was loaded from or last saved to (a Path), or None."""
        return self._source_path

    @property
    def base_dir(self):
        """Folder relative paths in this scenario are taken from: the file's folder, else the
        ``base_dir`` it was validated with, else the current folder."""
        from pathlib import Path

        if self._source_path is not None:
            return Path(self._source_path).parent
        return Path(self._base_dir) if self._base_dir is not None else Path.cwd()

    def resolve_path(self, path: str):
        """A path of this scenario (mesh file, outputs folder) as an absolute Path."""
        from pathlib import Path

        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    def to_dict(self) -> dict:
        """Plain data (what the TOML file holds): unset optional keys and empty tables left out."""
        from .io import scenario_to_dict

        return scenario_to_dict(self)

    def to_toml(self) -> str:
        """The scenario as TOML text."""
        from .io import dumps_toml

        return dumps_toml(self)

    def save(self, path) -> None:
        """Write the scenario to ``path`` as TOML (atomically); relative paths are re-expressed
        relative to the new file's folder."""
        from .io import save_scenario

        save_scenario(self, path)

    def check_files(self) -> None:
        """Raise InputError if a mesh file the scenario names does not exist."""
        from ..errors import Problems
        from .checks import check_files

        problems = Problems()
        check_files(self, self.base_dir, problems, unreadable=True)
        problems.raise_if_any("invalid scenario")

    # -- equality -------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]
