#!/usr/bin/env python
"""Write the numbered notebooks of this folder from the cells below.

This script is the source of the notebooks: edit a cell here, then run

    python notebooks/make_notebooks.py          # rewrite every notebook
    python notebooks/make_notebooks.py --check  # exit 1 if a notebook differs from this script

The notebooks are written without outputs or execution counts and with minimal
metadata, so that they diff well; ``tests/notebooks/test_notebooks.py``
executes them at small size and checks that they match this script.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

__all__ = ["NOTEBOOKS", "build_notebook", "notebook_text", "main"]

HERE = Path(__file__).resolve().parent

#: Metadata of every notebook: the kernel and the language, nothing else.
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip("\n"))


def setup(name: str) -> tuple[str, str]:
    """The first code cell of every notebook: the SMALL switch and the results folder."""
    return code(f'''
        import os
        from pathlib import Path

        SMALL = os.environ.get("PHOTOTHERM_NOTEBOOK_SMALL") == "1"   # "1": coarse grid, short runs (CI)
        # results go to notebooks/_results/ (ignored by git) unless PHOTOTHERM_NOTEBOOK_RESULTS says where
        RESULTS = Path(os.environ.get("PHOTOTHERM_NOTEBOOK_RESULTS", "_results")) / "{name}"
        RESULTS.mkdir(parents=True, exist_ok=True)
        print("small (CI) size" if SMALL else "full size", "- results in", RESULTS)
        ''')


# ---------------------------------------------------------------------------------------------
QUICK_START = [
    md("""
        # 1. Quick start: a photothermal plan

        **What.** Load the photothermal scenario that ships with phototherm (gold nanorods in a
        mouse-flank tumour, heated by an 808 nm laser beam on the skin), run it, and look at what a
        planner looks at: per-structure metrics, dose-volume histograms (DVH) and slices.

        **Why.** This is the shortest path from a scenario file to numbers: `load_scenario` ->
        `build_scenario` -> `simulation().run()` -> `planning.evaluate`. The command line does the
        same with `phototherm run plan.toml`.

        **Units.** Inside phototherm everything is SI (m, s, W, J); temperatures are in degrees C.
        Scenario keys carry their unit in their name (`spacing_mm`, `power_W`, `duration_s`).
        Thermal dose is CEM43 in minutes (cumulative equivalent minutes at 43 C); 240 CEM43 is the
        usual threshold for necrosis.

        **Run time.** About 15 s at full size (0.5 mm voxels) on a 2-core laptop; with
        `PHOTOTHERM_NOTEBOOK_SMALL=1` (1 mm voxels) a few seconds.
        """),
    setup("01_quick_start"),
    code("""
        import matplotlib.pyplot as plt
        import numpy as np
        from IPython.display import Image, display

        import phototherm as pt
        from phototherm.planning import Structure, dvh_curves, evaluate
        from phototherm.scenario import Scenario, describe_scenario, example_scenario_path, load_scenario
        from phototherm.scenario.build import build_scenario
        from phototherm.viz.dvh import plot_dvh
        from phototherm.viz.slices import plot_orthogonal_slices

        %matplotlib inline
        print("phototherm", pt.__version__)
        """),
    md("""
        ## The scenario

        A scenario is one TOML file describing the whole treatment: grid, geometry (a built-in
        phantom here), tissues, nanoparticles, light sources and their schedules, boundaries,
        numerics, and the planning goals. `example_scenario_path` finds the shipped examples.
        """),
    code("""
        path = example_scenario_path("ptt_demo")
        print(path.read_text())
        """),
    code("""
        scenario = load_scenario(path)   # validated: every problem is reported at once, with its key
        if SMALL:
            # 1 mm voxels instead of 0.5 mm: 8x fewer voxels and 4x longer stable time steps
            data = scenario.to_dict()
            data["grid"]["spacing_mm"] = 1.0
            scenario = Scenario.from_dict(data)
        print("\\n".join(describe_scenario(scenario)))
        """),
    md("""
        ## Build and run

        `build_scenario` turns the scenario into engine objects: the grid and tissue labels, named
        structures, the light field of each source (per watt, by the diffusion approximation
        here), the heat sources `Q = P mua phi` and the Pennes bioheat model. The epidermis
        (0.1 mm) is thinner than a voxel: a warning says it keeps its label but has no voxels.
        """),
    code("""
        built = build_scenario(scenario, progress=False)
        print("grid", built.grid.shape, "voxels of", 1e3 * built.grid.spacing[0], "mm")
        print("tissues by label:", built.tissue_names)
        print("structures:", ", ".join(built.structures))
        beam = built.light[0]
        print(f"{100 * beam.absorbed_fraction():.1f} % of the beam is absorbed in the grid")
        """),
    code("""
        sim = built.simulation(progress=False)
        result = sim.run(output=RESULTS / "run")   # the folder appears only once the run is complete
        print(result.report())
        """),
    md("""
        ## Metrics per structure

        A `Structure` is a named mask with a role: the tumour is the *target*, the skin an *organ
        at risk*. `evaluate` returns, for every structure and quantity, min/mean/max, the
        coverage values D90 and D95 (the level reached by at least 90 % / 95 % of the structure)
        and threshold volumes V (the fraction reaching a level).
        """),
    code("""
        roles = {"tumour": "target", "skin": "organ_at_risk", "healthy": "organ_at_risk"}
        structures = [Structure(name, mask, roles.get(name, "other"))
                      for name, mask in built.structures.items() if mask.any()]
        table = evaluate(result, structures)

        print(f"{'structure':10} {'T_max [C]':>10} {'CEM43 D90 [min]':>16} {'V(CEM43 >= 240)':>16}")
        for name in ("tumour", "skin", "healthy"):
            cem = table[name]["CEM43"]
            v240 = next(v["fraction"] for v in cem["V"] if v["level"] == 240.0)
            print(f"{name:10} {table[name]['T_max']['max']:10.1f} {cem['D90']:16.3g} {100 * v240:15.1f} %")
        """),
    md("""
        ## Dose-volume histograms

        A cumulative DVH gives, for each level, the fraction of a structure reaching it. The
        `phototherm.viz` functions write PNG files (for reports); here they are shown inline.
        """),
    code("""
        shown = [s for s in structures if s.name in ("tumour", "skin", "healthy")]
        for quantity, log in (("T_max", False), ("CEM43", True)):
            curves = dvh_curves(result, shown, quantity)
            png = plot_dvh(curves, RESULTS / f"dvh_{quantity}.png", log_scale=log, title=f"DVH of {quantity}")
            display(Image(filename=png, width=560))
        """),
    md("""
        ## Slices

        Orthogonal slices through the tumour centre; tissue boundaries are outlined. Depth z
        increases downwards; the beam enters at z = 0.
        """),
    code("""
        centre = tuple(1e-3 * c for c in scenario.geometry.tumour_centre_mm)   # [m]
        png = plot_orthogonal_slices(RESULTS / "peak_temperature.png", result.grid, result.max_temperature,
                                     title="peak temperature", unit="C", point=centre, labels=result.labels)
        display(Image(filename=png))
        png = plot_orthogonal_slices(RESULTS / "cem43.png", result.grid, np.maximum(result.cem43, 1e-3),
                                     title="thermal dose", unit="CEM43 [min]", point=centre,
                                     labels=result.labels, log_scale=True, vmin=1e-1)
        display(Image(filename=png))
        """),
    md("""
        ## Temperature at the probes

        The scenario's `[outputs] probes` record the temperature against time at named points.
        """),
    code("""
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for name in result.probe_names:
            times, temperature = result.probe(name)
            ax.plot(times, temperature, label=name)
        ax.axhline(45.0, color="grey", linestyle=":", label="45 C")
        ax.set_xlabel("time [s]")
        ax.set_ylabel("temperature [C]")
        ax.legend()
        plt.show()
        """),
    code("""
        # everything the run wrote: open fields.vti in ParaView, or pyvista.read(...)
        for item in sorted((RESULTS / "run").iterdir()):
            print(item.name)
        """),
    md("""
        **Next.** The skin above the tumour gets hot before the whole tumour reaches 240 CEM43:
        choosing the power and exposure time against a skin limit is what the planner does
        (notebook 05). Notebook 02 starts from meshes instead of a phantom.
        """),
]

# ---------------------------------------------------------------------------------------------
MESH_TO_GRID = [
    md("""
        # 2. From meshes to a voxel grid, and back

        **What.** Turn the example meshes in `meshes/` into tissue labels on a voxel grid, run a
        photothermal treatment on that grid, and write the results back onto the mesh.

        * `flank_block.vtu`: a tetrahedral block of 20 x 20 x 12 mm whose cells carry integer tags
          (1 skin, 2 fat, 3 muscle, 4 tumour, a staircase of whole tetrahedra);
        * `tumour_ellipsoid.stl`: a closed triangulated ellipsoid (semi-axes 4, 4, 3 mm), the
          smooth tumour surface.

        **Why.** Anatomy usually comes as meshes (segmentations, CAD). phototherm voxelises them
        exactly (a voxel belongs to the cell or surface its *centre* lies in) and samples its
        voxel results back onto the mesh for viewing next to the original geometry.

        **Units.** Mesh files carry no units: these are in millimetres, and `read_mesh(...,
        units="mm")` returns points in metres. z is depth into the body, the skin at z = 0.

        **Run time.** Under a minute at full size (0.25 mm voxels); a few seconds with
        `PHOTOTHERM_NOTEBOOK_SMALL=1` (0.5 mm voxels).
        """),
    setup("02_mesh_to_grid"),
    code("""
        import matplotlib.pyplot as plt
        import meshio
        import numpy as np
        from matplotlib.colors import to_rgb
        from matplotlib.patches import Patch

        import phototherm as pt
        from phototherm.io import (labels_from_surfaces, labels_from_tetra_mesh, mask_from_surface, read_mesh,
                                   write_fields_to_mesh)
        from phototherm.scenario import Scenario
        from phototherm.scenario.build import build_scenario

        %matplotlib inline
        # the example meshes live in meshes/ at the top of the repository (the notebook runs in notebooks/)
        REPO = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "meshes" / "README.md").exists())
        MESHES = REPO / "meshes"
        print(sorted(p.name for p in MESHES.iterdir()))
        """),
    md("""
        ## The tetrahedral mesh and its tags
        """),
    code("""
        block = read_mesh(MESHES / "flank_block.vtu", units="mm")   # points now in metres
        print(block)
        print("bounding box [mm]:", 1e3 * block.points.min(axis=0), "to", 1e3 * block.points.max(axis=0))
        tags = np.concatenate(block.cell_data["tag"])
        for tag, count in zip(*np.unique(tags, return_counts=True)):
            print(f"tag {tag}: {count} tetrahedra")
        """),
    md("""
        ## Voxelise: tags -> labels

        Each voxel centre gets the tag of the tetrahedron containing it (-1 outside the mesh).
        The voxel volumes come close to the volumes of the tagged tetrahedra given in
        `meshes/README.md` (skin 160, fat 196, muscle 4243, tumour 201 mm^3).
        """),
    code("""
        spacing = 0.5e-3 if SMALL else 0.25e-3        # voxel size [m]
        shape = tuple(int(round(L / spacing)) for L in (20e-3, 20e-3, 12e-3))
        grid = pt.Grid(shape, spacing)                # origin (0, 0, 0): the mesh's corner
        tag_map = labels_from_tetra_mesh(block, grid, tag="tag")
        voxel_mm3 = grid.cell_volume * 1e9
        for tag, name in ((1, "skin"), (2, "fat"), (3, "muscle"), (4, "tumour")):
            print(f"tag {tag} {name:7} {np.count_nonzero(tag_map == tag) * voxel_mm3:8.1f} mm^3")
        print("voxels outside the mesh:", np.count_nonzero(tag_map < 0))
        """),
    md("""
        ## Voxelise: a closed surface -> a mask

        The STL ellipsoid encloses 199.6 mm^3 (its facets cut 0.7 % off the true ellipsoid). The
        tagged tumour of the block is a staircase of tetrahedra approximating the same ellipsoid;
        the Dice coefficient says how well the two voxelised tumours overlap (1 = identical).
        """),
    code("""
        surface = read_mesh(MESHES / "tumour_ellipsoid.stl", units="mm")
        smooth = mask_from_surface(surface, grid)
        staircase = tag_map == 4
        dice = 2 * np.count_nonzero(smooth & staircase) / (np.count_nonzero(smooth) + np.count_nonzero(staircase))
        print(f"STL tumour {np.count_nonzero(smooth) * voxel_mm3:.1f} mm^3, "
              f"tagged tumour {np.count_nonzero(staircase) * voxel_mm3:.1f} mm^3, Dice {dice:.3f}")

        # paint the smooth tumour over the tagged block (later surfaces overwrite earlier labels)
        labels = labels_from_surfaces([(4, surface)], grid, base=tag_map)
        """),
    code("""
        # x-z section through the tumour centre: labels, with both tumour outlines
        j = grid.index_of((10e-3, 10e-3, 3.4e-3))[1]
        extent = (0, 1e3 * grid.lengths[0], 1e3 * grid.lengths[2], 0)   # [mm], depth downwards
        colours = {1: "peachpuff", 2: "khaki", 3: "lightcoral", 4: "lightsteelblue"}
        rgb = np.array([to_rgb(colours[k]) for k in (1, 2, 3, 4)])
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.imshow(rgb[labels[:, j, :].T - 1], extent=extent, interpolation="nearest")
        ax.legend(handles=[Patch(color=colours[k], label=n) for k, n in ((1, "skin"), (2, "fat"), (3, "muscle"),
                                                                        (4, "tumour"))], loc="lower right")
        x = 1e3 * grid.centres(0)
        z = 1e3 * grid.centres(2)
        ax.contour(x, z, staircase[:, j, :].T.astype(float), levels=[0.5], colors="k", linewidths=1)
        ax.contour(x, z, smooth[:, j, :].T.astype(float), levels=[0.5], colors="r", linewidths=1)
        ax.set_xlabel("x [mm]")
        ax.set_ylabel("depth z [mm]")
        ax.set_title("labels at y = 10 mm; black: tagged tumour, red: STL tumour")
        plt.show()
        """),
    md("""
        ## A run on the mesh geometry

        A scenario can name the meshes itself (`[geometry] type = "mesh"`): the tags map to
        tissues, surfaces are painted in order, and the grid covers the mesh's bounding box.
        Here the scenario is built in Python; the same keys go into a TOML file, where mesh paths
        are relative to the file. Gold nanorods (2.5 ug/mL) in the tumour absorb an 808 nm beam
        of 0.8 W for 4 minutes.
        """),
    code("""
        data = {
            "phototherm_scenario": 1,
            "title": "flank block mesh, 808 nm, gold nanorods",
            "grid": {"spacing_mm": 1e3 * spacing},
            "geometry": {
                "type": "mesh",
                "file": str(MESHES / "flank_block.vtu"), "mesh_units": "mm", "tag_field": "tag",
                "tags": {"1": "skin", "2": "fat", "3": "muscle", "4": "tumour"},
                "surfaces": [{"file": str(MESHES / "tumour_ellipsoid.stl"), "tissue": "tumour"}],
                "background": "muscle",
            },
            "nanoparticles": [{
                "name": "nanorods",
                "particle": {"type": "nanorod", "length_nm": 40.0, "diameter_nm": 10.0, "peak_wavelength_nm": 808.0},
                "distribution": {"type": "uniform", "tissues": ["tumour"], "concentration_ug_per_mL": 2.5},
            }],
            "sources": [{
                "name": "808 nm beam", "type": "collimated_beam", "wavelength_nm": 808.0, "power_W": 0.8,
                "position_mm": [10.0, 10.0, 0.0], "direction": [0.0, 0.0, 1.0], "radius_mm": 5.0,
                "profile": "flat", "schedule": {"type": "constant", "duration_s": 240.0},
            }],
            "boundaries": {
                "z_min": {"type": "convective", "heat_transfer_coefficient_W_per_m2_per_K": 10.0,
                          "ambient_temperature_C": 25.0},
                "z_max": {"type": "fixed_temperature", "temperature_C": 37.0},
            },
            "bioheat": {"initial_state": "steady_state"},
            "numerics": {"stop_time_s": 300.0},
        }
        built = build_scenario(Scenario.from_dict(data), progress=False)
        print(built.grid)
        print("tissues by label:", built.tissue_names)
        result = built.simulation(progress=False).run(output=RESULTS / "run")
        print(result.report())
        """),
    md("""
        ## Results back onto the mesh

        `write_fields_to_mesh` samples voxel fields at the mesh's points and cell centroids
        (trilinear for floats, nearest voxel for labels) and writes any format meshio knows. With
        `point_units="mm"` the output overlays the original millimetre mesh in ParaView.
        """),
    code("""
        names = ["max_temperature_degC", "cem43_min", "labels"]
        written = write_fields_to_mesh({n: result.fields[n] for n in names}, {n: result.units[n] for n in names},
                                       result.grid, MESHES / "flank_block.vtu", RESULTS / "flank_block_results.vtu",
                                       mesh_units="mm", point_units="mm")
        back = meshio.read(written)
        print(back)
        cell_tags = np.concatenate(back.cell_data["tag"])
        peak = np.concatenate(back.cell_data["max_temperature_degC"])
        for tag, name in ((1, "skin"), (2, "fat"), (3, "muscle"), (4, "tumour")):
            print(f"tag {tag} {name:7} peak temperature over its cells: mean {peak[cell_tags == tag].mean():5.1f} C, "
                  f"max {peak[cell_tags == tag].max():5.1f} C")
        """),
    code("""
        # cut the result mesh at y = 10 mm (PyVista slices without rendering) and draw the cut
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm without ipywidgets
            import pyvista as pv

        cut = pv.read(written).slice(normal="y", origin=(10.0, 10.0, 6.0)).triangulate()
        triangles = cut.faces.reshape(-1, 4)[:, 1:]                      # (count, corner indices)
        fig, ax = plt.subplots(figsize=(8, 4))
        shaded = ax.tripcolor(cut.points[:, 0], cut.points[:, 2], triangles, cut.point_data["max_temperature_degC"],
                              shading="gouraud", cmap="inferno")
        ax.triplot(cut.points[:, 0], cut.points[:, 2], triangles, color="w", linewidth=0.2, alpha=0.4)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_xlabel("x [mm]")
        ax.set_ylabel("depth z [mm]")
        ax.set_title("peak temperature sampled onto the mesh, cut at y = 10 mm")
        fig.colorbar(shaded, label="C")
        plt.show()
        """),
]

# ---------------------------------------------------------------------------------------------
PDT_PLAN = [
    md("""
        # 3. Photodynamic therapy: continuous or fractionated light?

        **What.** Photofrin PDT of a tumour under the skin (the shipped `pdt_demo` scenario): a
        630 nm beam of 75 mW/cm^2 delivers the same light dose continuously or in fractions
        (60 s on / 60 s off, 30 s on / 30 s off). The singlet-oxygen kinetics run in every voxel
        alongside the heat equation.

        **Why.** During illumination the sensitizer consumes oxygen faster than the blood
        resupplies it; in the dark intervals oxygen recovers, so the same light produces more
        reacted singlet oxygen [1O2]rx, the quantity the necrosis threshold is set on. The
        question is how much of the tumour reaches the threshold.

        **Units.** Concentrations in uM (micromolar); fluence rate in mW/cm^2 and light dose in
        J/cm^2 (1 J/cm^2 = 1e4 J/m^2); times in s. The necrosis threshold for Photofrin is
        [1O2]rx = 560 uM; this value, the initial oxygen and the oxygen supply rate are flagged
        by phototherm as still to be checked against the original papers.

        **Run time.** About a minute at full size (0.5 mm voxels, three runs); a few seconds with
        `PHOTOTHERM_NOTEBOOK_SMALL=1` (1 mm voxels).
        """),
    setup("03_pdt_plan"),
    code("""
        import matplotlib.pyplot as plt

        from phototherm.pdt import photosensitizer
        from phototherm.planning import Structure, dvh_curves, evaluate
        from phototherm.scenario import Scenario, example_scenario_path, load_scenario
        from phototherm.scenario.build import build_scenario

        %matplotlib inline
        photofrin = photosensitizer("photofrin")
        THRESHOLD = photofrin.threshold          # reacted singlet oxygen for necrosis [uM]
        print(f"threshold {THRESHOLD:g} uM; values still to be checked: {sorted(photofrin.unconfirmed)}")
        """),
    code("""
        base = load_scenario(example_scenario_path("pdt_demo"))
        beam = base.sources[0]
        print(beam.name, f"{beam.irradiance_mW_per_cm2:g} mW/cm^2, radius {beam.radius_mm:g} mm")
        print("tumour concentration:", base.photosensitizer.concentration_uM, "uM, elsewhere",
              base.photosensitizer.default_concentration_uM, "uM")
        """),
    md("""
        ## Three schedules, one light dose

        Each schedule keeps the light on for 1380 s in total (103.5 J/cm^2); a run stops when the
        last light interval ends ([1O2]rx does not grow in the dark).
        """),
    code("""
        LIGHT_S = 1380.0                                   # total light-on time [s]


        def pulses(on, off):
            count = int(LIGHT_S // on)                     # whole fractions (LIGHT_S is a multiple of on)
            return {"type": "pulses", "on_s": on, "off_s": off, "count": count}, (count - 1) * (on + off) + on


        schedules = {
            "continuous": ({"type": "constant", "duration_s": LIGHT_S}, LIGHT_S),
            "60 s on / 60 s off": pulses(60.0, 60.0),
            "30 s on / 30 s off": pulses(30.0, 30.0),
        }
        dose = beam.irradiance_mW_per_cm2 * 1e-3 * LIGHT_S
        print(f"light dose {dose:.1f} J/cm^2 in every schedule")
        """),
    code("""
        results = {}
        for name, (schedule, stop) in schedules.items():
            data = base.to_dict()
            data["sources"][0]["schedule"] = schedule
            data["sources"][0]["name"] = f"630 nm beam, {name}"
            data["numerics"]["stop_time_s"] = stop
            if SMALL:
                data["grid"]["spacing_mm"] = 1.0           # 8x fewer voxels than 0.5 mm
            built = build_scenario(Scenario.from_dict(data), progress=False)
            folder = RESULTS / name.replace(" ", "_").replace("/", "")
            results[name] = built.simulation(progress=False).run(output=folder, figures=False)
            print(f"{name:20} treatment {stop:6.0f} s, computed in {results[name].summary['timing']['wall_time_s']:.1f} s")
        tumour = Structure("tumour", built.structures["tumour"], "target")
        skin = Structure("skin", built.structures["skin"], "organ_at_risk")
        """),
    md("""
        ## Coverage at the threshold

        V is the fraction of the tumour whose [1O2]rx reaches the threshold; D90 is the [1O2]rx
        that 90 % of the tumour reaches or exceeds.
        """),
    code("""
        print(f"{'schedule':20} {'V(1O2rx >= thr)':>16} {'D90 [uM]':>9} {'mean [3O2] end [uM]':>20} {'skin T_max [C]':>15}")
        for name, result in results.items():
            table = evaluate(result, [tumour, skin], quantities=["1O2rx", "T_max"], thresholds={"1O2rx": [THRESHOLD]})
            rx = table["tumour"]["1O2rx"]
            oxygen = result.fields["oxygen_uM"][tumour.mask].mean()
            print(f"{name:20} {100 * rx['V'][0]['fraction']:15.1f} % {rx['D90']:9.0f} {oxygen:20.1f} "
                  f"{table['skin']['T_max']['max']:15.2f}")
        """),
    md("""
        The skin stays far below any thermal limit: at 75 mW/cm^2 the light hardly heats.
        Below, the DVH of [1O2]rx in the tumour for each schedule, with the threshold.
        """),
    code("""
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, result in results.items():
            curve = dvh_curves(result, [tumour], "1O2rx")["tumour"]
            ax.step(curve.levels, 100 * curve.fractions, where="pre", label=name)
        ax.axvline(THRESHOLD, color="k", linestyle=":", label=f"threshold {THRESHOLD:g} uM")
        ax.set_xlabel("reacted singlet oxygen [1O2]rx [uM]")
        ax.set_ylabel("tumour volume at or above [%]")
        ax.legend()
        plt.show()
        """),
    code("""
        # x-z sections through the tumour centre; the white line is the threshold
        any_result = next(iter(results.values()))
        grid = any_result.grid
        centre = tuple(1e-3 * c for c in base.geometry.tumour_centre_mm)
        j = grid.index_of(centre)[1]
        extent = (0, 1e3 * grid.lengths[0], 1e3 * grid.lengths[2], 0)
        top = max(r.fields["singlet_oxygen_reacted_uM"].max() for r in results.values())
        fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), constrained_layout=True)
        for ax, (name, result) in zip(axes, results.items()):
            rx = result.fields["singlet_oxygen_reacted_uM"][:, j, :]
            image = ax.imshow(rx.T, extent=extent, vmin=0, vmax=top, cmap="viridis", interpolation="nearest")
            ax.contour(1e3 * grid.centres(0), 1e3 * grid.centres(2), rx.T, levels=[THRESHOLD], colors="w")
            ax.contour(1e3 * grid.centres(0), 1e3 * grid.centres(2), tumour.mask[:, j, :].T.astype(float),
                       levels=[0.5], colors="r", linewidths=0.8)
            ax.set_title(name)
            ax.set_xlabel("x [mm]")
        axes[0].set_ylabel("depth z [mm]")
        fig.colorbar(image, ax=axes, label="[1O2]rx [uM]")
        plt.show()
        """),
    md("""
        **Reading it.** Fractionation raises [1O2]rx for the same light: in the dark intervals
        the oxygen consumed by the reaction is resupplied. The price is treatment time (twice the
        light time for equal on and off). Where the threshold line sits depends on the
        unconfirmed threshold: treat the coverage as a comparison between schedules, not an
        absolute prediction. Notebook 04 adds heating to the same kind of treatment.
        """),
]

# ---------------------------------------------------------------------------------------------
COMBINED = [
    md("""
        # 4. Heat and light together: combined photothermal + photodynamic therapy

        **What.** One simulation with two lasers on the same tumour: an 808 nm beam heats gold
        nanorods in the tumour for 5 minutes (photothermal, PTT), and a 630 nm beam activates
        Photofrin (photodynamic, PDT). phototherm integrates the heat equation and the
        singlet-oxygen kinetics together and gives three surviving fractions per voxel:

        * thermal: `S_th = exp(-Omega)`, from the Arrhenius damage integral Omega;
        * photodynamic: `S_PDT = exp(-[1O2]rx / D0)`;
        * combined: `S = S_th x S_PDT`.

        **Assumptions, stated.** The combined fraction **assumes the two mechanisms act
        independently** (a cell must survive both, with no synergy and no antagonism). Mild heat
        is known to sensitise cells to PDT, so measured combinations may do better than this
        product: read it as the independent-action reference. `D0` (the reacted singlet oxygen
        for 1/e survival) depends on the cell line; phototherm ships none. **D0 = 200 uM below is
        an illustrative value supplied by the user, not a fitted value.** Omega needs an Arrhenius
        pair for the tumour; phototherm ships pairs only for skin and liver, so the tumour here
        borrows the liver coagulation pair (itself marked not confirmed, fitted at 50-90 C):
        illustrative too. Tissues without a pair (muscle) have no thermal survival: NaN.

        **Units.** Temperature in C; [1O2]rx in uM; surviving fractions between 0 and 1 (lower
        is more kill).

        **Run time.** About 15 s at full size (0.5 mm voxels); a few seconds with
        `PHOTOTHERM_NOTEBOOK_SMALL=1` (1 mm voxels).
        """),
    setup("04_combined_ptt_pdt"),
    code("""
        import matplotlib.pyplot as plt
        import numpy as np
        from matplotlib.colors import LogNorm

        from phototherm.dose import combined_surviving_fraction
        from phototherm.planning import Structure, dvh_curves, evaluate
        from phototherm.scenario import Scenario
        from phototherm.scenario.build import build_scenario
        from phototherm.tissues import LIVER_COAGULATION

        %matplotlib inline
        D0_UM = 200.0   # [uM] ILLUSTRATIVE user-supplied value, not fitted to any cell line
        print("tumour Arrhenius pair (illustrative):", LIVER_COAGULATION.source)
        print(f"  A = {LIVER_COAGULATION.frequency_factor:.3g} 1/s, Ea = {LIVER_COAGULATION.activation_energy:.4g} J/mol, "
              f"fitted range {LIVER_COAGULATION.valid_range_C} C")
        """),
    md("""
        ## The scenario

        The geometry of the PDT example (skin over muscle, a 4 mm tumour centred 5 mm deep),
        nanorods in the tumour, Photofrin at 7 uM in the tumour and 1.5 uM elsewhere, and two
        beams: 808 nm at 0.8 W for 300 s, 630 nm at 75 mW/cm^2 for 670 s (50 J/cm^2).
        """),
    code("""
        data = {
            "phototherm_scenario": 1,
            "title": "combined PTT + PDT",
            "grid": {"spacing_mm": 1.0 if SMALL else 0.5},
            "geometry": {"type": "mouse_flank_tumour", "size_mm": [20.0, 20.0, 15.0], "epidermis_thickness_mm": 0.1,
                         "dermis_thickness_mm": 0.9, "fat_thickness_mm": 0.0, "tumour_semi_axes_mm": [4.0, 4.0, 4.0],
                         "tumour_centre_mm": [10.0, 10.0, 5.0]},
            "tissues": {"tumour": {"arrhenius_A_per_s": LIVER_COAGULATION.frequency_factor,
                                   "arrhenius_Ea_J_per_mol": LIVER_COAGULATION.activation_energy}},
            "nanoparticles": [{
                "name": "nanorods",
                "particle": {"type": "nanorod", "length_nm": 40.0, "diameter_nm": 10.0, "peak_wavelength_nm": 808.0},
                "distribution": {"type": "rim_enhanced", "tissues": ["tumour"], "concentration_ug_per_mL": 2.5,
                                 "rim_width_mm": 1.0, "enhancement": 1.2},
            }],
            "photosensitizer": {"name": "photofrin", "concentration_uM": {"tumour": 7.0},
                                "default_concentration_uM": 1.5, "d0_uM": D0_UM},
            "sources": [
                {"name": "808 nm heating beam", "type": "collimated_beam", "wavelength_nm": 808.0, "power_W": 0.8,
                 "position_mm": [10.0, 10.0, 0.0], "direction": [0.0, 0.0, 1.0], "radius_mm": 5.0,
                 "profile": "flat", "schedule": {"type": "constant", "duration_s": 300.0}},
                {"name": "630 nm PDT beam", "type": "collimated_beam", "wavelength_nm": 630.0,
                 "irradiance_mW_per_cm2": 75.0, "position_mm": [10.0, 10.0, 0.0], "direction": [0.0, 0.0, 1.0],
                 "radius_mm": 6.0, "profile": "flat", "schedule": {"type": "constant", "duration_s": 670.0}},
            ],
            "boundaries": {
                "z_min": {"type": "convective", "heat_transfer_coefficient_W_per_m2_per_K": 10.0,
                          "ambient_temperature_C": 25.0},
                "z_max": {"type": "fixed_temperature", "temperature_C": 37.0},
            },
            "bioheat": {"initial_state": "steady_state"},
            # implicit steps of 2 s: the PDT kinetics advance once per step
            "numerics": {"stop_time_s": 670.0, "dt_s": 2.0, "stepper": "backward-euler"},
        }
        scenario = Scenario.from_dict(data)
        built = build_scenario(scenario, progress=False)
        print("PDT light:", [f.source.name for f in built.photodynamic.light])
        result = built.simulation(progress=False).run(output=RESULTS / "run", figures=False)
        print(result.report())
        """),
    md("""
        ## Three surviving fractions

        The combined field is exactly the product of the other two (the independence
        assumption), NaN where either is not modelled.
        """),
    code("""
        s_th = result.fields["thermal_surviving_fraction"]
        s_pdt = result.fields["pdt_surviving_fraction"]
        s = result.fields["surviving_fraction"]
        print("combined == thermal x PDT:", np.allclose(s, combined_surviving_fraction(s_th, s_pdt), equal_nan=True))
        for name, mask in built.structures.items():
            if name in ("tumour", "skin", "muscle"):
                print(f"{name:7} thermal modelled in {100 * np.isfinite(s_th[mask]).mean():5.1f} % of the voxels")
        """),
    code("""
        tumour = Structure("tumour", built.structures["tumour"], "target")
        quantities = {"thermal_survival": "thermal", "pdt_survival": "PDT", "survival": "combined"}
        table = evaluate(result, [tumour], quantities=list(quantities),
                         thresholds={q: [0.5, 0.1] for q in quantities})["tumour"]
        print(f"{'tumour':10} {'mean S':>8} {'D90':>8} {'V(S <= 0.5)':>12} {'V(S <= 0.1)':>12}")
        for q, label in quantities.items():
            row = table[q]
            v = {x["level"]: x["fraction"] for x in row["V"]}
            print(f"{label:10} {row['mean']:8.3f} {row['D90']:8.3f} {100 * v[0.5]:11.1f} % {100 * v[0.1]:11.1f} %")
        """),
    md("""
        For a surviving fraction lower is more effect, so D90 is the surviving fraction that 90 %
        of the tumour is *at or below*, and the DVH counts the volume at or below each level.
        """),
    code("""
        fig, ax = plt.subplots(figsize=(7, 4))
        for q, label in quantities.items():
            curve = dvh_curves(result, [tumour], q)["tumour"]
            ax.step(curve.levels, 100 * curve.fractions, where="post", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("surviving fraction")
        ax.set_ylabel("tumour volume at or below [%]")
        ax.set_title(f"tumour; D0 = {D0_UM:g} uM (illustrative), independent action")
        ax.legend()
        plt.show()
        """),
    code("""
        # x-z sections through the tumour centre (log scale; grey: not modelled)
        grid = result.grid
        j = grid.index_of((10e-3, 10e-3, 5e-3))[1]
        extent = (0, 1e3 * grid.lengths[0], 1e3 * grid.lengths[2], 0)
        cmap = plt.get_cmap("magma").with_extremes(bad="lightgrey")
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
        for ax, (field, label) in zip(axes, ((s_th, "thermal"), (s_pdt, "PDT"), (s, "combined"))):
            image = ax.imshow(np.ma.masked_invalid(field[:, j, :]).T, extent=extent, cmap=cmap,
                              norm=LogNorm(vmin=1e-3, vmax=1), interpolation="nearest")
            ax.contour(1e3 * grid.centres(0), 1e3 * grid.centres(2), tumour.mask[:, j, :].T.astype(float),
                       levels=[0.5], colors="c", linewidths=0.8)
            ax.set_title(f"{label} surviving fraction")
            ax.set_xlabel("x [mm]")
        axes[0].set_ylabel("depth z [mm]")
        fig.colorbar(image, ax=axes, label="surviving fraction")
        plt.show()
        """),
    md("""
        **Reading it.** Both mechanisms kill most at the top of the tumour, where the light is
        strongest, and less with depth. Under independence their product covers more of the
        tumour than either alone. Change `D0_UM`
        (your cells' value) or the Arrhenius pair and rerun: both set the absolute numbers.
        """),
]

# ---------------------------------------------------------------------------------------------
PLAN_OPTIMISATION = [
    md("""
        # 5. Plan optimisation: the most tumour dose the skin allows

        **What.** Choose the laser power and the exposure time of the photothermal example to
        **maximise the tumour volume reaching 240 CEM43** subject to **skin T_max <= 45 C**, with
        the Python planning API:

        1. `UnitResponses.compute`: one simulation without heating and one per source at unit
           schedule (the Pennes equation is linear, so any power and on/off pattern is a
           superposition of these);
        2. `optimise_plan`: a deterministic search over powers and exposure times, every
           candidate evaluated exactly by superposition;
        3. `confirm`: one full simulation of the chosen plan, predicted and simulated side by side.

        The same objective and constraints are in the scenario file (`[objective]`,
        `[[constraints]]`, `[plan]`).

        **Units.** Power in W, times in s, temperature in C, thermal dose in CEM43 minutes;
        V is a fraction of the structure (0 to 1).

        **Run time.** About a minute at full size (0.5 mm voxels); about 10 s with
        `PHOTOTHERM_NOTEBOOK_SMALL=1` (1 mm voxels).
        """),
    setup("05_plan_optimisation"),
    code("""
        from phototherm.errors import InputError
        from phototherm.planning import (Constraint, Objective, PlanVariables, Structure, UnitResponses, confirm,
                                         margin, optimise_plan)
        from phototherm.scenario import Scenario, example_scenario_path, load_scenario
        from phototherm.scenario.build import build_scenario

        scenario = load_scenario(example_scenario_path("ptt_demo"))
        print("objective:", scenario.objective)
        print("constraints:", scenario.constraints)
        """),
    code("""
        def build(cooling=None):
            \"\"\"The example's engine objects; optionally with a cooled skin surface (h [W/(m^2 K)], T [C]).\"\"\"
            data = scenario.to_dict()
            if SMALL:
                data["grid"]["spacing_mm"] = 1.0          # 8x fewer voxels than 0.5 mm
            if cooling is not None:
                h, temperature = cooling
                data["boundaries"]["z_min"] = {"type": "convective", "heat_transfer_coefficient_W_per_m2_per_K": h,
                                               "ambient_temperature_C": temperature}
            return build_scenario(Scenario.from_dict(data), progress=False)


        # explicit steps: 1 s at 1 mm, 0.25 s at 0.5 mm; keep one sample per second of the responses
        RECORD_EVERY = 1 if SMALL else 4
        HORIZON = scenario.numerics.stop_time_s          # 300 s of light at most, then cooling to 360 s
        """),
    md("""
        ## The example as it is

        Structures: the tumour (target) and the skin (organ at risk). Variables: the beam power
        between 0.5 and 3 W and the exposure time between 60 and 300 s.
        """),
    code("""
        built = build()
        tumour = Structure("tumour", built.structures["tumour"], "target")
        skin = Structure("skin", built.structures["skin"], "organ_at_risk")
        responses = UnitResponses.compute(built.model, [tumour, skin], horizon=HORIZON,
                                          record_every=RECORD_EVERY, progress=False)
        print(f"{responses.simulations} simulations in {responses.wall_time:.1f} s; steps of {responses.dt:g} s, "
              f"samples every {responses.interval:g} s, {responses.nbytes / 1e6:.0f} MB")

        objective = Objective("tumour", "CEM43", "V", level=240.0)      # maximise V(CEM43 >= 240 min)
        skin_limit = Constraint("skin", "T_max", "max", 45.0)            # skin T_max <= 45 C
        variables = PlanVariables(powers=[(0.5, 3.0)], duration=(60.0, 300.0))
        plan = optimise_plan(responses, objective, [skin_limit], variables, progress=False)
        print(plan.summary())
        print("binding:", plan.binding)
        """),
    md("""
        The skin limit binds: with the beam on the skin, the skin reaches 45 C before much of the
        tumour reaches 240 CEM43. When no voxel can reach the level, plans are ranked by how close
        the tumour gets to it, which is why a plan is still chosen.

        ## Cooling the skin

        A cooled contact window (heat transfer coefficient 200 W/(m^2 K) to 15 C) changes the
        picture. Allow up to 6 W, and add a second limit: at most 20 % of a 2 mm shell of healthy
        tissue around the tumour may reach 240 CEM43.
        """),
    code("""
        cooled = build(cooling=(200.0, 15.0))
        tumour = Structure("tumour", cooled.structures["tumour"], "target")
        skin = Structure("skin", cooled.structures["skin"], "organ_at_risk")
        shell = margin(tumour, 2e-3, cooled.grid, name="2 mm shell", role="organ_at_risk")
        responses = UnitResponses.compute(cooled.model, [tumour, skin, shell], horizon=HORIZON,
                                          record_every=RECORD_EVERY, progress=False)
        constraints = [skin_limit, Constraint("2 mm shell", "CEM43", "V", 0.2, level=240.0)]
        variables = PlanVariables(powers=[(0.5, 6.0)], duration=(60.0, 300.0))
        plan = optimise_plan(responses, objective, constraints, variables, progress=False)
        print(plan.summary())
        """),
    code("""
        chosen = plan.plan
        print(f"power {chosen.powers[0]:.3g} W for {chosen.duration:g} s ({chosen.energy:.0f} J)")
        print(f"objective {plan.objective.label} = {plan.objective_value:.3f}")
        for cv in plan.constraints:
            print(f"  {cv}")
        print("binding:", ", ".join(plan.binding) or "none", "| at bounds:", ", ".join(plan.at_bounds) or "none")
        """),
    md("""
        ## Confirm with a full simulation

        `confirm` runs the chosen plan through the solver on the same time step. With one
        sample per step the prediction equals the simulation to rounding; with coarser samples
        (full size here) the doses between samples are interpolated and differ slightly.
        """),
    code("""
        check = confirm(plan, progress=False, output=RESULTS / "confirmation")   # also writes its results folder
        print(check.table())
        print("largest voxel difference, simulated - predicted:",
              {q: f"{d:.2g}" for q, d in check.max_difference.items()})
        """),
    md("""
        ## When the constraints cannot all be met

        Ask for 95 % of the tumour above 240 CEM43 as well: the optimiser reports that no plan
        meets every constraint and names the ones that exclude each other. `confirm` refuses such
        a result with the same message.
        """),
    code("""
        coverage = Constraint("tumour", "CEM43", "V", 0.95, level=240.0, bound=">=")
        impossible = optimise_plan(responses, objective, constraints + [coverage], variables, progress=False)
        print(impossible.summary())
        try:
            confirm(impossible)
        except InputError as error:
            print("\\nconfirm:", error)
        """),
    md("""
        **Next.** Try fractionation candidates (`PlanVariables(fractionation=[None, (30.0, 30.0)])`),
        several sources (one `(low, high)` pair each), or other objectives (`"D"` with a volume
        fraction, `"mean"`). Vascular shutdown makes the equation nonlinear: plan on the linear
        model and pass the nonlinear one to `confirm(plan, model)` to see what changes.
        """),
]

# ---------------------------------------------------------------------------------------------
GPU_BENCHMARK = [
    md("""
        # 6. GPU benchmark: Pennes cell updates per second, CPU vs GPU

        **What.** Time the explicit Pennes step (temperature plus every thermal-dose field, fused
        in one CUDA kernel on the GPU, the NumPy twin on the CPU) on heterogeneous N^3 problems,
        with the functions of `benchmarks/bench_pennes.py`, and compare cell updates per second
        and achieved memory bandwidth.

        **Why.** A step reads and writes every field once, so it is limited by memory bandwidth;
        the fraction of the device's copy bandwidth it reaches says how close to the hardware
        limit it runs. Every timed row is first checked against the CPU path in float64.

        **Units.** Mcell upd/s = millions of voxels advanced per second; GB/s = bytes per cell x
        cell updates per second (1 GB = 1e9 bytes).

        **Needs a CUDA GPU with CuPy** (`pip install -e ".[cuda12]"`). Without one the first cell
        says so and nothing else runs. **Run time** on a GPU machine: about a minute at full size
        (N up to 256 on the GPU, 128 on the CPU); N = 64 only with `PHOTOTHERM_NOTEBOOK_SMALL=1`.
        """),
    setup("06_gpu_benchmark"),
    code("""
        from phototherm.backend import gpu_status

        GPU, why = gpu_status()
        print(why)
        if not GPU:
            print("No usable GPU: the benchmark is skipped; the cells below do nothing.")
        """),
    code("""
        if GPU:
            import argparse
            import sys

            import matplotlib.pyplot as plt

            # benchmarks/ is not a package: put it on the path to reuse its functions
            REPO = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "benchmarks" / "bench_pennes.py").exists())
            sys.path.insert(0, str(REPO / "benchmarks"))
            import bench_pennes as bench
            from report import print_table, run_header

            SIZES = [64] if SMALL else [64, 128, 256]       # N of the N^3 grids
            CPU_MAX_N = 64 if SMALL else 128                # the CPU path is timed up to this size
            ROWS = [("cpu", "float64"), ("cpu", "float32"), ("gpu", "float32"), ("gpu", "float64")]
            args = argparse.Namespace(threads=None, repeats=3 if SMALL else 7, baseline_max_size=CPU_MAX_N)
            header, devices, cp = run_header(["cpu", "gpu"], cpu_note="NumPy twin on a thread pool")
            for key, value in header:
                print(f"{key + ':':<10} {value}")
        """),
    md("""
        ## Bytes per cell and copy bandwidth

        The bytes a step must move per voxel are counted from the kernel's signature; the copy
        bandwidth of each device is measured now, on this machine.
        """),
    code("""
        if GPU:
            reads, writes, note = bench.kernel_traffic()
            bytes_per_cell = {d: (len(reads) + len(writes)) * (4 if d == "float32" else 8) for d in ("float32", "float64")}
            print(f"{len(reads)} arrays read, {len(writes)} written: {bytes_per_cell}", note)
            threads = args.threads or bench.default_num_threads()
            copy_bw = {"cpu": max(bench.cpu_copy_bandwidth(threads, args.repeats)),
                       "gpu": bench.gpu_copy_bandwidth(cp, args.repeats)[0]}
            print({device: f"{bw:.0f} GB/s" for device, bw in copy_bw.items()})
        """),
    md("""
        ## Timings

        Each row is checked first (one step compared with the CPU path in float64), then the
        package's step and the whole-array NumPy/CuPy baseline are timed in turns.
        """),
    code("""
        if GPU:
            rows = []
            for n in SIZES:
                model, text = bench.build_model(n)
                print(f"N={n}: {text}")
                references = {}                               # CPU float64 result, the GPU rows' reference
                for device, dtype in ROWS:
                    if device == "cpu" and n > CPU_MAX_N:
                        continue
                    rows.append(bench.run_row(model, device, dtype, args, bytes_per_cell, cp, references, print))
                del model, references
            print()
            print_table(bench.COLUMNS, [bench.format_row(r, copy_bw) for r in rows], False, 2)
        """),
    code("""
        if GPU:
            fig, ax = plt.subplots(figsize=(7, 4))
            for device, dtype in ROWS:
                mine = [r for r in rows if r["device"] == device and r["dtype"] == dtype]
                if mine:
                    ax.plot([r["N"] for r in mine], [r["N"] ** 3 / r["s_per_step"] / 1e6 for r in mine], "o-",
                            label=f"{device} {dtype}")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("N (grid of N^3 voxels)")
            ax.set_ylabel("Mcell updates / s")
            ax.legend()
            plt.show()
        """),
    md("""
        For the full table with the baseline and every size, run
        `python benchmarks/bench_pennes.py --devices cpu,gpu` and record it with `--markdown` in
        `benchmarks/RESULTS.md`.
        """),
]

#: Notebook file name -> cells ((kind, source) pairs).
NOTEBOOKS = {
    "01_quick_start.ipynb": QUICK_START,
    "02_mesh_to_grid.ipynb": MESH_TO_GRID,
    "03_pdt_plan.ipynb": PDT_PLAN,
    "04_combined_ptt_pdt.ipynb": COMBINED,
    "05_plan_optimisation.ipynb": PLAN_OPTIMISATION,
    "06_gpu_benchmark.ipynb": GPU_BENCHMARK,
}


def build_notebook(name: str, cells) -> nbformat.NotebookNode:
    """A notebook without outputs: cells with stable ids, minimal metadata."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.from_dict(METADATA)
    stem = name.split("_", 1)[0]
    for i, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell.id = f"nb{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def notebook_text(name: str) -> str:
    """The file content of notebook ``name``."""
    return nbformat.writes(build_notebook(name, NOTEBOOKS[name])) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook differs from what this script writes")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: this one)")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        text = notebook_text(name)
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python notebooks/make_notebooks.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
