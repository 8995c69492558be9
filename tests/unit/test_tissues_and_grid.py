"""Tissue data (IT'IS v4.2 conversions, built-ins, overrides) and grid conventions."""

import csv
from pathlib import Path

import numpy as np
import pytest

import phototherm as pt
from phototherm.tissues import itis_names, itis_tissue, thermal_tissue

DATA = Path(pt.tissues.__file__).parent / "data" / "itis_tissue_properties.csv"


def itis_row(name):
    with open(DATA, newline="") as f:
        return next(row for row in csv.DictReader(f) if row["tissue"] == name)


@pytest.mark.parametrize("name", ["Muscle", "Skin", "Fat", "Liver", "Brain (Grey Matter)"])
def test_itis_rows_are_converted_to_si(name):
    row = itis_row(name)
    tissue = itis_tissue(name)
    rho = float(row["density_kg_per_m3"])
    assert tissue.density == rho
    assert tissue.specific_heat == float(row["heat_capacity_J_per_kg_per_K"])
    assert tissue.conductivity == float(row["thermal_conductivity_W_per_m_per_K"])
    # ml/min/kg -> m^3 blood / m^3 tissue / s
    assert tissue.perfusion == pytest.approx(float(row["perfusion_ml_per_min_per_kg"]) * 1e-6 / 60 * rho)
    assert tissue.metabolic_heat == pytest.approx(float(row["heat_generation_W_per_kg"]) * rho)
    assert "IT'IS" in tissue.source


def test_database_is_complete_and_refuses_rows_without_thermal_data():
    assert len(itis_names()) == 112
    with pytest.raises(pt.InputError, match="without thermal data"):
        itis_tissue("Blood Serum")  # heat capacity and conductivity listed as 0


def test_built_in_tissues_record_their_sources():
    for name in pt.tissues.BUILTIN_THERMAL_TISSUES:
        tissue = thermal_tissue(name)
        assert tissue.source and 5e-8 < tissue.diffusivity < 2e-7  # soft tissue and water, m^2/s
    assert thermal_tissue("skin").arrhenius is pt.tissues.HENRIQUES_MORITZ_SKIN
    assert thermal_tissue("tumor").name == "tumour"
    assert thermal_tissue("blood").perfusion == 0.0  # IT'IS lists 10000 ml/min/kg: not a tissue perfusion
    muscle = itis_tissue("Muscle")
    assert muscle.perfusion == pytest.approx(6.676e-4, rel=1e-3)  # 36.7 ml/min/kg x 1090 kg/m^3


def test_per_voxel_overrides_replace_label_values():
    grid = pt.Grid((3, 3, 3), 1e-3)
    labels = np.zeros(grid.shape, int)
    labels[2] = 4
    perfusion = np.full(grid.shape, 2e-3)
    props = pt.ThermalProperties(grid, labels, {0: thermal_tissue("fat"), 4: thermal_tissue("liver")},
                                 overrides={"perfusion": perfusion})
    np.testing.assert_array_equal(props.perfusion, perfusion)
    assert props.conductivity[2, 0, 0] == thermal_tissue("liver").conductivity
    assert props.conductivity[0, 0, 0] == thermal_tissue("fat").conductivity
    assert props.has_damage_model[2].all() and not props.has_damage_model[0].any()
    assert props.describe()["per_voxel_overrides"] == ["perfusion"]


def test_grid_is_cell_centred_from_its_corner():
    grid = pt.Grid((4, 2, 5), (1e-3, 2e-3, 0.5e-3), origin=(-2e-3, 0.0, 1e-3))
    assert grid.centres("x").tolist() == pytest.approx([-1.5e-3, -0.5e-3, 0.5e-3, 1.5e-3])
    assert grid.bounds[2] == pytest.approx((1e-3, 3.5e-3))
    assert grid.index_of((1.9e-3, 3.9e-3, 3.5e-3)) == (3, 1, 4)  # the far corner belongs to the last voxel
    assert grid.centre_of((0, 0, 0)) == pytest.approx((-1.5e-3, 1e-3, 1.25e-3))
    assert grid.cell_volume == pytest.approx(1e-9)
    with pytest.raises(pt.InputError, match="outside"):
        grid.index_of((0.0, 0.0, 0.0))
