"""Results of a run: fields with units, probes, snapshots, metrics and files.

:meth:`Result.write` produces one folder, written atomically (staged in a
hidden sibling folder, then swapped into place), so a failed or interrupted
write never leaves a folder that looks complete:

==================  ===============================================================
``fields.vti``      VTK ImageData, cell data, one array per field, units in field
                    data (opens in ParaView and PyVista)
``fields.npz``      the same fields for NumPy, with grid and units
``probes.csv``      temperature against time at each probe (if any)
``snapshots/``      ``.vti`` files of the snapshots and ``snapshots.pvd`` (if any)
``peak_temperature.png``  orthogonal slices of the peak temperature
``fluence_rate.png``      orthogonal slices of the fluence rate (laser heating only)
``summary.json``    resolved inputs, program version, device, timing, metrics,
                    energy balance; written last
==================  ===============================================================
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .backend import to_host
from .dose import CEM43_BREAKPOINT_C, combined_surviving_fraction, surviving_fraction
from .grid import Grid

__all__ = ["Result", "NECROSIS_CEM43_MIN", "state_field_names", "write_snapshot"]

#: Usual CEM43 necrosis threshold [min].
NECROSIS_CEM43_MIN = 240.0


def state_field_names(time_above_threshold: float) -> dict[str, tuple[str, str]]:
    """Output name and unit of each evolved field (attribute of ThermalState)."""
    return {
        "temperature": ("temperature_degC", "degC"),
        "max_temperature": ("max_temperature_degC", "degC"),
        "cem43": ("cem43_min", "min"),
        "omega": ("arrhenius_omega", "1"),
        "time_above": (f"time_above_{time_above_threshold:g}C_s", "s"),
    }


def write_snapshot(folder: Path, n: int, grid: Grid, time: float, fields: dict[str, np.ndarray],
                   units: dict[str, str]) -> str:
    """Write the n-th snapshot (taken at ``time`` [s]) into a results folder.

    Returns its path relative to the folder, for the ``.pvd`` time series.
    """
    from .io.vtk import write_vti

    name = f"snapshots/snapshot_{n:05d}.vti"
    write_vti(Path(folder) / name, grid, fields, units={k: units[k] for k in fields},
              field_data={"phototherm_version": __version__, "time_s": repr(time)})
    return name


@dataclass
class Result:
    """Outcome of a :class:`~phototherm.Simulation` run, on the host.

    Attributes
    ----------
    grid : Grid
    time : float
        Simulated time at the end [s].
    fields : dict of str to ndarray
        Named fields of ``grid.shape``; names carry their unit
        (``temperature_degC``, ``max_temperature_degC``, ``cem43_min``,
        ``arrhenius_omega``, ``time_above_<T>C_s``, ``heat_source_W_per_m3``,
        ``labels``; ``perfusion_per_s`` with vascular shutdown;
        ``fluence_rate_W_per_m2`` (every laser source at schedule level 1)
        and ``fluence_J_per_m2`` (delivered over the run) with laser heating;
        ``thermal_surviving_fraction`` (``exp(-Omega)``, NaN where Omega is
        not modelled);
        ``photosensitizer_uM``, ``oxygen_uM``, ``singlet_oxygen_reacted_uM``,
        ``pdt_dose_photons_per_m3``, ``pdt_fluence_J_per_m2`` (at the
        sensitizer's wavelength) and ``pdt_necrosis`` ([1O2]rx at or above
        the sensitizer's threshold) with a photodynamic therapy, plus
        ``pdt_surviving_fraction`` with its survival model and
        ``surviving_fraction`` (thermal x PDT, assumed independent) when the
        model also has heat sources).
    units : dict of str to str
        Unit of each field.
    label_names : dict of int to str
        Tissue name of each label.
    probe_names : list of str
    probe_voxels : list of tuple
        Voxel index of each probe.
    probe_positions_m : list of tuple
        Voxel-centre position of each probe [m].
    probe_times : ndarray
        Sample times [s].
    probe_values : ndarray, shape (n_samples, n_probes)
        Temperature [C].
    snapshots : list of (float, dict)
        Snapshots held in memory, ``(time_s, {field name: array})``, names
        and units as in ``fields``.
    snapshot_files : list of (float, str)
        Snapshots a run already wrote into its output folder,
        ``(time_s, path relative to the folder)``.
    summary : dict
        Inputs, device, timing, metrics (see :meth:`metrics`), energy balance.
    """

    grid: Grid
    time: float
    fields: dict[str, np.ndarray]
    units: dict[str, str]
    label_names: dict[int, str]
    probe_names: list[str] = field(default_factory=list)
    probe_voxels: list[tuple] = field(default_factory=list)
    probe_positions_m: list[tuple] = field(default_factory=list)
    probe_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probe_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    snapshots: list = field(default_factory=list)
    snapshot_files: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_simulation(cls, sim) -> "Result":
        """Copy a finished :class:`~phototherm.Simulation`'s state to the host."""
        model, state = sim.model, sim.state
        props = model.properties
        names = state_field_names(sim.time_above_threshold)
        fields = {name: to_host(getattr(state, attr)) for attr, (name, _) in names.items()}
        units = {name: unit for name, unit in names.values()}
        omega = fields["arrhenius_omega"].astype(float, copy=True)
        omega[~props.has_damage_model] = np.nan
        fields["arrhenius_omega"] = omega
        heat = np.zeros(model.grid.shape)
        for source in model.heat_sources:
            heat += source.power_density
        fields["heat_source_W_per_m3"], units["heat_source_W_per_m3"] = heat, "W/m^3"
        lit = [s for s in model.heat_sources if getattr(s, "fluence_rate", None) is not None]
        if lit:
            fields["fluence_rate_W_per_m2"] = sum(np.asarray(s.fluence_rate, float) for s in lit)
            fields["fluence_J_per_m2"] = sum(np.asarray(s.fluence_rate, float) * s.schedule.integral(0.0, sim.time)
                                             for s in lit)
            units["fluence_rate_W_per_m2"], units["fluence_J_per_m2"] = "W/m^2", "J/m^2"
        if sim.pdt is not None:
            from .pdt.treatment import PDT_FIELDS

            for attr, (name, unit) in PDT_FIELDS.items():
                fields[name], units[name] = to_host(getattr(sim.pdt.state, attr)).astype(float), unit
            from .pdt.damage import pdt_necrosis

            therapy = sim.pdt.therapy
            rx = fields["singlet_oxygen_reacted_uM"]
            fields["pdt_necrosis"], units["pdt_necrosis"] = pdt_necrosis(rx, therapy.sensitizer.threshold), "1"
            if therapy.survival is not None:
                fields["pdt_surviving_fraction"] = therapy.survival.surviving_fraction(rx)
                units["pdt_surviving_fraction"] = "1"
        fields["thermal_surviving_fraction"] = surviving_fraction(omega)
        units["thermal_surviving_fraction"] = "1"
        if "pdt_surviving_fraction" in fields and model.heat_sources:
            fields["surviving_fraction"] = combined_surviving_fraction(fields["thermal_surviving_fraction"],
                                                                       fields["pdt_surviving_fraction"])
            units["surviving_fraction"] = "1"
        fields["labels"], units["labels"] = np.asarray(props.labels, dtype=np.int32), "1"
        if model.vascular_shutdown is not None:
            factor = to_host(model.vascular_shutdown.factor(state.cem43, state.omega))
            fields["perfusion_per_s"] = props.perfusion * factor
            units["perfusion_per_s"] = "1/s"
        times, values = sim.probe_record()
        result = cls(
            grid=model.grid,
            time=sim.time,
            fields=fields,
            units=units,
            label_names={label: t.name for label, t in props.tissues.items()},
            probe_names=[p.name for p in sim.probes],
            probe_voxels=[p.index for p in sim.probes],
            probe_positions_m=[p.position_m for p in sim.probes],
            probe_times=times,
            probe_values=values,
            snapshots=list(sim.snapshots),
            snapshot_files=list(sim.snapshot_files),
        )
        cell_updates = sim.iteration * model.grid.size
        result.summary = {
            "program": {"name": "phototherm", "version": __version__},
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "status": "complete",
            "device": sim.backend.describe(),
            "inputs": {"model": model.describe(), "simulation": sim.describe()},
            "timing": {
                "wall_time_s": sim.wall_time,
                "steps": sim.iteration,
                "cell_updates_per_s": cell_updates / sim.wall_time if sim.wall_time > 0 else None,
            },
            "units": dict(units),
            "metrics": result.metrics(),
            "energy_balance": sim.energy.describe() if sim.energy is not None else None,
        }
        return result

    # -- convenient access ---------------------------------------------------------
    @property
    def temperature(self) -> np.ndarray:
        """Temperature at the end of the run [C]."""
        return self.fields["temperature_degC"]

    @property
    def max_temperature(self) -> np.ndarray:
        """Peak temperature over the run [C]."""
        return self.fields["max_temperature_degC"]

    @property
    def cem43(self) -> np.ndarray:
        """Cumulative equivalent minutes at 43 C [min]."""
        return self.fields["cem43_min"]

    @property
    def omega(self) -> np.ndarray:
        """Arrhenius damage integral (NaN where the tissue has no damage model)."""
        return self.fields["arrhenius_omega"]

    @property
    def time_above(self) -> np.ndarray:
        """Time above the run's threshold temperature [s]."""
        return next(v for k, v in self.fields.items() if k.startswith("time_above_"))

    @property
    def labels(self) -> np.ndarray:
        return self.fields["labels"]

    def probe(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Times [s] and temperatures [C] of one probe."""
        return self.probe_times, self.probe_values[:, self.probe_names.index(name)]

    # -- metrics ------------------------------------------------------------------
    def metrics(self, cem43_threshold: float = NECROSIS_CEM43_MIN) -> dict[str, Any]:
        """Per-tissue summary: volume, peak temperature, dose and damaged volume.

        Volumes in mm^3. ``volume_cem43_ge_threshold_mm3`` counts voxels whose
        CEM43 reached ``cem43_threshold`` [min] (240 by default, the usual
        necrosis threshold); ``volume_omega_ge_1_mm3`` those with Omega >= 1
        (63 % of cells damaged), or ``None`` where no damage model applies.
        """
        voxel_mm3 = self.grid.cell_volume * 1e9
        per_label = {}
        for label, name in sorted(self.label_names.items()):
            mask = self.labels == label
            count = int(mask.sum())
            if count == 0:
                continue
            cem = self.cem43[mask]
            omega = self.omega[mask]
            modelled = np.isfinite(omega)
            per_label[name] = {
                "label": int(label),
                "volume_mm3": count * voxel_mm3,
                "peak_temperature_C": float(self.max_temperature[mask].max()),
                "final_mean_temperature_C": float(self.temperature[mask].mean()),
                "max_cem43_min": float(cem.max()),
                "volume_cem43_ge_threshold_mm3": float((cem >= cem43_threshold).sum() * voxel_mm3),
                "fraction_cem43_ge_threshold": float((cem >= cem43_threshold).mean()),
                "max_omega": float(omega[modelled].max()) if modelled.any() else None,
                "volume_omega_ge_1_mm3": float((omega[modelled] >= 1).sum() * voxel_mm3) if modelled.any() else None,
            }
            if "singlet_oxygen_reacted_uM" in self.fields:
                per_label[name].update(
                    max_singlet_oxygen_reacted_uM=float(self.fields["singlet_oxygen_reacted_uM"][mask].max()),
                    fraction_pdt_necrosis=float(self.fields["pdt_necrosis"][mask].mean()),
                    mean_pdt_fluence_J_per_cm2=float(self.fields["pdt_fluence_J_per_m2"][mask].mean() / 1e4),
                )
            for name_sf in ("thermal_surviving_fraction", "pdt_surviving_fraction", "surviving_fraction"):
                if name_sf in self.fields:
                    values = self.fields[name_sf][mask]
                    per_label[name][f"mean_{name_sf}"] = (float(np.nanmean(values)) if np.isfinite(values).any()
                                                          else None)
        return {
            "cem43_threshold_min": cem43_threshold,
            "peak_temperature_C": float(self.max_temperature.max()),
            "volume_above_43C_peak_mm3": float((self.max_temperature > CEM43_BREAKPOINT_C).sum() * voxel_mm3),
            "per_tissue": per_label,
        }

    def report(self) -> str:
        """A short human-readable table of :meth:`metrics`."""
        m = self.summary.get("metrics") or self.metrics()
        sim = self.summary.get("inputs", {}).get("simulation", {})
        dev = self.summary.get("device", {})
        lines = []
        if sim:
            lines.append(
                f"{sim['stop_time_s']:g} s simulated in {sim['steps']} {sim['stepper']} steps of "
                f"{sim['dt_s']:.4g} s on {dev.get('backend', '?')} ({dev.get('dtype', '?')}), "
                f"{self.summary['timing']['wall_time_s']:.2f} s wall time"
            )
        threshold = m["cem43_threshold_min"]
        lines.append(f"{'tissue':<12}{'volume':>12}{'peak T':>10}{'max CEM43':>14}{'V(CEM43>=' + format(threshold, 'g') + ')':>18}")
        lines.append(f"{'':<12}{'[mm^3]':>12}{'[C]':>10}{'[min]':>14}{'[mm^3]':>18}")
        for name, row in m["per_tissue"].items():
            lines.append(
                f"{name:<12}{row['volume_mm3']:>12.1f}{row['peak_temperature_C']:>10.2f}"
                f"{row['max_cem43_min']:>14.3g}{row['volume_cem43_ge_threshold_mm3']:>18.2f}"
            )
        energy = self.summary.get("energy_balance")
        if energy:
            lines.append(
                f"energy balance: deposited {energy['deposited_J']:.4g} J, stored {energy['stored_J']:.4g} J, "
                f"perfusion {energy['removed_by_perfusion_J']:.4g} J, boundaries "
                f"{energy['removed_through_boundaries_J']:.4g} J; residual {energy['relative_residual']:.1e} (relative)"
            )
        return "\n".join(lines)

    # -- output -------------------------------------------------------------------
    def to_pyvista(self):
        """The fields as a :class:`pyvista.ImageData` (cell data)."""
        from .io.vtk import to_pyvista

        return to_pyvista(self.grid, self.fields)

    def write(self, folder, *, overwrite: bool = True, figures: bool = True, fields=None,
              report: bool = False) -> Path:
        """Write every output into ``folder`` atomically; see the module docstring.

        Parameters
        ----------
        folder : path
            Results folder; replaced as a whole if it exists and ``overwrite``.
        overwrite : bool
            Refuse an existing folder when False.
        figures : bool
            Also render PNG figures (matplotlib).
        fields, report
            See :meth:`write_into`.

        Returns
        -------
        Path
            The folder.
        """
        from .io.atomic import staged_directory

        folder = Path(folder)
        with staged_directory(folder, overwrite=overwrite) as stage:
            self.write_into(stage, figures=figures, fields=fields, report=report)
        return folder

    def selected_fields(self, names=None) -> dict[str, np.ndarray]:
        """The fields named in ``names`` (all when None); ``"time_above_s"`` selects the
        time-above field whatever its threshold (``time_above_43C_s``)."""
        if names is None:
            return dict(self.fields)
        wanted = set(names)
        return {k: v for k, v in self.fields.items()
                if k in wanted or ("time_above_s" in wanted and k.startswith("time_above_") and k.endswith("_s"))}

    def write_into(self, stage: Path, *, figures: bool = True, fields=None, report: bool = False) -> None:
        """Write the outputs into an existing (staging) folder, ``summary.json`` last.

        Snapshots listed in ``snapshot_files`` are expected there already.

        Parameters
        ----------
        stage : Path
        figures : bool
            Render PNG figures.
        fields : sequence of str, optional
            Field names to write to ``fields.vti`` and ``fields.npz`` (default all);
            metrics and figures use every field regardless.
        report : bool
            Write ``report.html`` and its figures from the folder's files
            (:func:`phototherm.viz.report.write_report`); ``summary.json`` is
            written before it (the report reads it) and again after, listing it.
        """
        from .io.tables import write_json, write_npz, write_probe_csv
        from .io.vtk import write_pvd, write_vti

        stage = Path(stage)
        written: list[str] = []
        field_data = {"phototherm_version": __version__, "time_s": repr(self.time)}
        kept = self.selected_fields(fields)
        units = {k: self.units[k] for k in kept}
        write_vti(stage / "fields.vti", self.grid, kept, units=units, field_data=field_data)
        write_npz(stage / "fields.npz", self.grid, kept, units=units,
                  metadata={"time_s": self.time, "phototherm_version": __version__})
        written += ["fields.vti", "fields.npz"]
        if self.probe_names:
            probes = [
                {"name": n, "index": i, "position_m": p, "values": self.probe_values[:, k]}
                for k, (n, i, p) in enumerate(zip(self.probe_names, self.probe_voxels, self.probe_positions_m))
            ]
            write_probe_csv(stage / "probes.csv", self.probe_times, probes, unit="degC")
            written.append("probes.csv")
        entries = list(self.snapshot_files)
        for t, snap in self.snapshots:
            entries.append((t, write_snapshot(stage, len(entries), self.grid, t, snap, self.units)))
        if entries:
            write_pvd(stage / "snapshots.pvd", entries)
            written += ["snapshots.pvd", "snapshots/"]
        if figures:
            from .viz.slices import plot_orthogonal_slices

            plot_orthogonal_slices(
                stage / "peak_temperature.png", self.grid, self.max_temperature,
                title=f"Peak temperature over {self.time:g} s", unit="degC", labels=self.labels,
            )
            written.append("peak_temperature.png")
            if "fluence_rate_W_per_m2" in self.fields:
                plot_orthogonal_slices(
                    stage / "fluence_rate.png", self.grid, self.fields["fluence_rate_W_per_m2"],
                    title="Fluence rate, every laser source at full power", unit="W/m^2",
                    labels=self.labels, cmap="viridis", log_scale=True,
                )
                written.append("fluence_rate.png")
        write_json(stage / "summary.json", dict(self.summary, files=written + ["summary.json"]))
        if report:
            from .viz.report import write_report

            written += write_report(stage, figures=figures)
            write_json(stage / "summary.json", dict(self.summary, files=written + ["summary.json"]))
