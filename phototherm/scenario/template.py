"""The commented scenario template that ``phototherm init`` writes, and a short summary of a scenario.

The template is the built-in photothermal demo (``phototherm demo``) written
as a scenario, with a comment on every key and its unit; keys it does not use
are shown commented out (``#key = value``: remove the ``#`` to use them). It
loads and validates as it is.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Problems
from .schema import Scenario

__all__ = ["TEMPLATE", "template_text", "write_template", "describe_scenario"]

TEMPLATE = '''\
# phototherm scenario: one treatment, from geometry to outputs.
#
# Check it without running:   phototherm check scenario.toml
# Units are in the key names (spacing_mm, power_W, duration_s, ...). Lines "# text" explain;
# lines "#key = value" are optional keys shown with an example value: remove the "#" to use them.
# Paths are relative to this file. This template is the built-in photothermal demo: an 808 nm
# laser heats a tumour loaded with gold nanorods under the skin of a mouse flank.

phototherm_scenario = 1      # format version (required, first key)
title = "Photothermal therapy of a flank tumour with gold nanorods"
description = "808 nm flat-top beam, 1.5 W for 5 min, then 1 min of cooling"

[grid]
spacing_mm = 0.5             # voxel size [mm]: one number (cubic voxels) or [dx, dy, dz]
# Mesh geometry only (phantoms size their own grid): the region gridded, both or neither [mm]
#origin_mm = [0.0, 0.0, 0.0]  # outer corner of the first voxel [mm]; default: the mesh's bounding box
#size_mm = [30.0, 30.0, 20.0] # edge lengths [mm], whole multiples of spacing_mm

[geometry]
# type: a built-in phantom ("mouse_flank_tumour", "layered_slab", "sphere_in_block") or "mesh".
# z is depth into the body; the skin surface is z = 0 (the z_min face of the grid).
type = "mouse_flank_tumour"  # tissues: epidermis, dermis, fat, muscle, tumour
size_mm = [30.0, 30.0, 20.0] # block size x, y, depth [mm], whole numbers of voxels
epidermis_thickness_mm = 0.1 # [mm]; thinner than a voxel here, so not resolved (a warning says so)
dermis_thickness_mm = 0.9    # [mm]
fat_thickness_mm = 1.0       # subcutaneous fat [mm]; muscle fills the rest
tumour_semi_axes_mm = [4.0, 4.0, 4.0]  # ellipsoid semi-axes x, y, z [mm] (a sphere of radius 4 mm here)
tumour_centre_mm = [15.0, 15.0, 6.0]   # [mm]; default centred in x, y, its top touching the dermis
# Other geometries (replace the keys above):
#   type = "layered_slab": layers = [{ tissue = "dermis", thickness_mm = 1.0 }, { tissue = "muscle" }],
#                          lateral_size_mm = [20.0, 20.0], depth_mm = 10.0 (needed when the last
#                          layer has no thickness)
#   type = "sphere_in_block": radius_mm, size_mm, centre_mm, inclusion = "tumour", background = "muscle"
#   type = "mesh": file = "model.msh" (cells tagged), mesh_units = "mm" (m, cm, mm, um),
#                  tag_field = "gmsh:physical", tags = { "1" = "muscle", "2" = "tumour" },
#                  background = "muscle", and surfaces painted in order over the volume mesh:
#                  [[geometry.surfaces]] file = "tumour.stl", tissue = "tumour", mesh_units = "mm"

# Tissue properties, one table per tissue name of the geometry. The phantom tissues (epidermis,
# dermis, skin, fat, muscle, tumour, liver, blood, water) have built-in defaults; any other tissue
# (from a mesh) needs a thermal base (thermal or itis, or density + specific heat + conductivity)
# and an optical base (optical, or mua_per_cm + mus_per_cm).
[tissues.tumour]
thermal = "tumour"           # built-in thermal tissue: skin, fat, muscle, tumour, liver, blood, water
optical = "tumour"           # built-in optical tissue: epidermis, dermis, fat, muscle, liver, tumour, blood, water
#itis = "Muscle"             # instead of thermal: any IT'IS v4.2 tissue by its database name
# Thermal overrides:
#density_kg_per_m3 = 1090.0            # [kg/m^3]
#specific_heat_J_per_kg_per_K = 3421.0 # [J/(kg K)]
#conductivity_W_per_m_per_K = 0.49     # [W/(m K)]
#perfusion_per_s = 0.002               # blood perfusion [1/s] (m^3 blood per m^3 tissue per s)
#metabolic_heat_W_per_m3 = 1000.0      # [W/m^3]
#arrhenius_A_per_s = 7.39e39           # Arrhenius damage model: frequency factor A [1/s] ...
#arrhenius_Ea_J_per_mol = 2.577e5      # ... and activation energy Ea [J/mol], given together
# Optical overrides (composition after Jacques 2013; 400-1100 nm):
#blood_fraction = 0.03        # volume fraction of whole blood [0-1]
#oxygen_saturation = 0.6      # haemoglobin oxygen saturation [0-1]
#water_fraction = 0.8         # [0-1]
#fat_fraction = 0.0           # [0-1]
#melanosome_fraction = 0.0    # [0-1]
#melanosome_exponent = 3.0    # melanosome power law exponent [1]
#scattering_500nm_per_cm = 20.0  # reduced scattering at 500 nm [1/cm]
#scattering_power = 1.0       # Mie power b [1]
#rayleigh_fraction = 0.2      # Rayleigh fraction [0-1], given with mie_power
#mie_power = 1.0              # [1]
#anisotropy = 0.9             # g, strictly between -1 and 1
#refractive_index = 1.37      # n >= 1
#mua_per_cm = 0.3             # absorption [1/cm], replaces the composition at every wavelength
#mus_per_cm = 100.0           # scattering (not reduced) [1/cm], likewise

# Gold nanoparticles (any number of [[nanoparticles]] entries).
[[nanoparticles]]
name = "nanorods"
medium_index = 1.33          # refractive index around the particles [1] (water 1.33)

[nanoparticles.particle]
type = "nanorod"             # sphere (diameter_nm) | nanoshell (core_diameter_nm, shell_thickness_nm,
                             # core_index) | nanorod (length_nm, diameter_nm)
length_nm = 40.0             # tip-to-tip length [nm], at most 150
diameter_nm = 10.0           # [nm]; aspect ratio length/diameter 1-10
peak_wavelength_nm = 808.0   # calibrate the rod to this measured longitudinal peak [nm] (optional)
orientation = "random"       # random | longitudinal | transverse
size_correction = true       # surface-scattering correction of gold's dielectric function
damping_A = 0.3              # surface-scattering parameter A [1]

[nanoparticles.distribution]
type = "rim_enhanced"        # uniform | rim_enhanced | gaussian
tissues = ["tumour"]         # where the particles are
concentration_ug_per_mL = 2.5  # mean over the tissues [ug of gold per mL]; or (exactly one of)
#concentration_particles_per_mL = 1e9 # [1/mL]
#concentration_nM = 0.1               # [nmol of particles per L]
#concentration_per_m3 = 1e15          # number density [1/m^3]
rim_width_mm = 1.0           # decay length of the rim enhancement [mm]
enhancement = 1.2            # density at the tumour surface / deep inside [1], >= 1
# type = "gaussian" (an injection): centre_mm = [15.0, 15.0, 6.0], sigma_mm = 1.0 (or three values),
# total_particles = 1e10 (or a concentration key: the peak), tissues = ["tumour"] (optional mask)

# A photosensitizer for PDT (see the pdt_demo example scenario):
#[photosensitizer]
#name = "photofrin"                      # built in (630 nm); any other name needs every parameter below
#concentration_uM = { tumour = 7.0 }     # initial concentration per tissue [uM]
#default_concentration_uM = 1.5          # in the tissues not listed [uM]
#wavelengths_nm = [630.0]                # treatment wavelength(s) [nm], 400-1100
#extinction_per_cm_per_uM = [0.0035]     # absorption per concentration at each wavelength [1/(cm uM)]
#xi_cm2_per_mW_per_s = 3.7e-3            # oxygen consumption rate [cm^2/(mW s)]
#sigma_per_uM = 7.6e-5                   # photobleaching ratio [1/uM]
#beta_uM = 11.9                          # oxygen quenching threshold [uM]
#delta_uM = 33.0                         # low-concentration correction [uM]
#g_uM_per_s = 0.7                        # maximum oxygen supply rate [uM/s]
#oxygen_initial_uM = 40.0                # initial ground-state oxygen [uM]
#threshold_uM = 560.0                    # reacted singlet oxygen for necrosis [uM]
#rtol = 1e-6                             # relative tolerance of the kinetics [1]

# Light sources (any number of [[sources]] entries), each with its power schedule.
[[sources]]
name = "808 nm beam"         # unique; [plan] and the results refer to it
type = "collimated_beam"     # collimated_beam | isotropic_point (position_mm strictly inside) |
                             # cylindrical_diffuser (position_mm = centre, direction, length_mm)
wavelength_nm = 808.0        # vacuum wavelength [nm], 400-1100 (the tissue optical data)
power_W = 1.5                # power at schedule level 1 [W] (1.9 W/cm^2 over the 5 mm radius)
#irradiance_W_per_cm2 = 1.9  # beams only, instead of power_W: irradiance on the axis [W/cm^2]
#irradiance_mW_per_cm2 = 75.0 # likewise [mW/cm^2]
position_mm = [15.0, 15.0, 0.0]  # where the beam axis enters the tissue: on a face of the grid [mm]
direction = [0.0, 0.0, 1.0]  # propagation direction into the grid [1]
radius_mm = 5.0              # flat-top radius or Gaussian 1/e^2 radius [mm]; 0 = pencil beam
profile = "flat"             # flat | gaussian

[sources.schedule]
type = "constant"            # constant | pulses | ramp | piecewise_linear | off
level = 1.0                  # multiple of power_W [1]
start_s = 0.0                # switch-on time [s]
duration_s = 300.0           # time on [s]; leave out to stay on until the end of the run
# pulses: on_s, off_s, count, level, start_s      ramp: start_s, duration_s, level_start, level_stop
# piecewise_linear: times_s = [0.0, 60.0, 60.0, 120.0], levels = [1.0, 1.0, 0.5, 0.5]

[light]
method = "diffusion"         # diffusion (fast) | monte-carlo (accurate near sources and boundaries)
photons = 200000             # photon packets per source (monte-carlo)
seed = 0                     # random seed (monte-carlo)
batches = 10                 # photon batches, >= 2, for standard errors (monte-carlo)
roulette = true              # Russian roulette of low-weight packets (monte-carlo)
ambient_index = 1.0          # refractive index outside the tissue [1]
supersampling = 8            # samples per face-voxel edge integrating the beam profile (diffusion)
#diffusion_rtol = 1e-8       # conjugate-gradient tolerance (diffusion) [1]
#diffusion_max_iterations = 5000

# Thermal boundary conditions per face: "insulated", "periodic" (both faces of an axis),
# { type = "fixed_temperature", temperature_C = ... } or
# { type = "convective", heat_transfer_coefficient_W_per_m2_per_K = ..., ambient_temperature_C = ... }
[boundaries]
default = "insulated"        # faces not named below
# skin surface: loses heat to 25 C room air, film coefficient 10 W/(m^2 K)
z_min = { type = "convective", heat_transfer_coefficient_W_per_m2_per_K = 10.0, ambient_temperature_C = 25.0 }  # skin
z_max = { type = "fixed_temperature", temperature_C = 37.0 }  # body core
#x_min = "insulated"         # likewise x_max, y_min, y_max

[bioheat]
arterial_temperature_C = 37.0      # [degC]
initial_state = "steady_state"     # steady_state (unheated, sources off) | uniform
#initial_temperature_C = 37.0      # with initial_state = "uniform" [degC]
blood_density_kg_per_m3 = 1049.75  # [kg/m^3]
blood_specific_heat_J_per_kg_per_K = 3617.0  # [J/(kg K)]
# Perfusion shutdown above a dose:
#vascular_shutdown = { quantity = "cem43_min", threshold = 240.0, residual_fraction = 0.0 }

[numerics]
stop_time_s = 360.0          # simulated time [s]: 300 s of light, 60 s of cooling
stepper = "explicit"         # explicit | backward-euler | crank-nicolson
#dt_s = 0.1                  # time step [s]; default 0.95 x the explicit limit (10 x for implicit)
#device = "auto"             # auto | cpu | gpu; default $PHOTOTHERM_DEVICE, else auto
#dtype = "float64"           # float32 | float64; default float32 on GPU, float64 on CPU
time_above_threshold_C = 43.0  # threshold of the time-above field [degC]
nan_check_interval = 100     # iterations between NaN checks (0: off)
#cg_rtol = 1e-8              # conjugate-gradient tolerance of implicit steps [1]
#num_threads = 2             # CPU threads of the explicit stepper

# Structures: named regions for evaluation and planning. The phantom provides tumour, skin
# (epidermis + dermis), epidermis, dermis, fat, muscle and healthy already; define others (or
# replace those) here.
[[structures]]
name = "skin and fat"
tissues = ["epidermis", "dermis", "fat"]  # or mesh_tags = [1, 2] for a mesh geometry
role = "organ_at_risk"       # target | organ_at_risk
margin_mm = 0.0              # isotropic expansion [mm]

# The objective (what a plan optimises) and constraints (hard limits), each a metric of a
# quantity over a structure. quantity (unit in its name): max_temperature_degC, cem43_min,
# arrhenius_omega, fluence_J_per_m2, thermal_surviving_fraction; with a [photosensitizer]:
# singlet_oxygen_reacted_uM, pdt_dose_photons_per_m3 (and with its d0_uM: pdt_surviving_fraction,
# surviving_fraction). metric: V (volume fraction reaching threshold, 0-1), D (level reached by
# volume_fraction of the structure), max, min, mean. `phototherm run` reports them for the plan as
# written; `phototherm plan` optimises the [plan] variables.
[objective]
structure = "tumour"
quantity = "cem43_min"
metric = "V"
threshold = 240.0            # [min], the quantity's unit
goal = "maximize"            # maximize | minimize

[[constraints]]
structure = "skin and fat"
quantity = "max_temperature_degC"
metric = "max"
at_most = 45.0               # [degC]; at_least for a lower limit
#volume_fraction = 0.95      # for metric = "D" [0-1]

# Optimisation variables for `phototherm plan` (uncomment): the planner chooses each listed
# source's power and one exposure time for every source, within the bounds, then confirms the
# plan with a full simulation.
#[plan]
#exposure_time_s = [60.0, 300.0]  # bounds of the total light-on time [s]
#start_s = 0.0               # when the exposure starts [s]
#recording_interval_s = 1.0  # [s]; default every time step (exact doses, more memory)
#[[plan.sources]]
#source = "808 nm beam"
#power_W = [0.5, 3.0]        # bounds [min, max] [W]
#[plan.fractionation]
#on_s = [30.0, 60.0]         # candidate light intervals [s]
#off_s = [30.0]              # candidate dark intervals [s]
#include_continuous = true   # also try continuous light

[outputs]
folder = "results"           # results folder, relative to this file
figures = true               # PNG figures
report = true                # human-readable report next to summary.json
overwrite = true             # replace the folder if it exists
#fields = ["temperature_degC", "max_temperature_degC", "cem43_min"]  # default all fields
probes = { tumour_centre = [15.0, 15.0, 6.0], skin_above_tumour = [15.0, 15.0, 0.0] }  # [mm]
#probe_interval_s = 1.0      # [s]; default every step
snapshot_interval_s = 45.0   # keep snapshots every 45 s [s]
snapshot_fields = ["temperature_degC"]  # temperature_degC, max_temperature_degC, cem43_min,
                                        # arrhenius_omega, time_above_s
'''


def template_text() -> str:
    """The commented template (TOML text)."""
    return TEMPLATE


def write_template(path, *, overwrite: bool = False, example: str | None = None) -> Path:
    """Write the commented template, or an example scenario, to ``path`` (for ``phototherm init``).

    Parameters
    ----------
    path : path
    overwrite : bool
        Replace an existing file.
    example : str, optional
        Name of an example scenario (:data:`~phototherm.scenario.EXAMPLE_SCENARIOS`)
        to write instead of the template.

    Raises
    ------
    InputError
        ``path`` exists and ``overwrite`` is false; an unknown example.
    """
    from ..io.atomic import atomic_write_text
    from .errors import did_you_mean
    from .io import EXAMPLE_SCENARIOS, example_scenario_path

    path = Path(path)
    problems = Problems()
    problems.check(not path.exists() or overwrite, "path", str(path), "a file that does not exist yet (or overwrite)")
    if example is not None:
        problems.check(example in EXAMPLE_SCENARIOS, "example", example,
                       f"one of {', '.join(EXAMPLE_SCENARIOS)}{did_you_mean(example, EXAMPLE_SCENARIOS)}")
    problems.raise_if_any("will not write the scenario")
    text = TEMPLATE if example is None else example_scenario_path(example).read_text(encoding="utf-8")
    return atomic_write_text(path, text)


def describe_scenario(scenario: Scenario) -> list[str]:
    """A few lines summarising a valid scenario (what ``phototherm check`` prints)."""
    from .checks import geometry_tissues, grid_box_mm

    lines = [f"scenario format {scenario.phototherm_scenario}: {scenario.title or '(untitled)'}"]
    spacing = scenario.grid.spacing_mm
    box = grid_box_mm(scenario.geometry, scenario.grid)
    where = f"geometry {scenario.geometry.type}"
    if box is not None:
        counts = [round(s / h) for s, h in zip(box[1], spacing)]
        where += (f", grid {' x '.join(map(str, counts))} voxels of "
                  f"{' x '.join(f'{h:g}' for h in spacing) if len(set(spacing)) > 1 else f'{spacing[0]:g}'} mm")
    lines.append(where)
    lines.append(f"tissues: {', '.join(geometry_tissues(scenario.geometry) or [])}")
    for np_spec in scenario.nanoparticles:
        lines.append(f"nanoparticles {np_spec.name!r}: {np_spec.particle.type}, {np_spec.distribution.type}")
    if scenario.photosensitizer is not None:
        lines.append(f"photosensitizer: {scenario.photosensitizer.name}")
    for source in scenario.sources:
        power = source.resolved_power_W()
        shown = f"{power:.4g} W" if power is not None else "power from irradiance"
        lines.append(f"source {source.name!r}: {source.type}, {source.wavelength_nm:g} nm, {shown}, "
                     f"schedule {source.schedule.type}")
    n = scenario.numerics
    lines.append(f"light {scenario.light.method}; {n.stepper} stepper to {n.stop_time_s:g} s")
    if scenario.objective is not None or scenario.constraints:
        lines.append(f"{int(scenario.objective is not None)} objective, {len(scenario.constraints)} constraint(s)"
                     + (", plan to optimise" if scenario.plan is not None else ""))
    lines.append(f"outputs to {scenario.outputs.folder}")
    return lines
