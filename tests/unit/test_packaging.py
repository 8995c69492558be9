"""Packaging: the CUDA sources and tissue data ship with the package, and
``import phototherm`` stays light.

The kernels live in the top-level ``kernels/`` folder and are mapped onto the
package ``phototherm._kernels``; both the editable install used for
development and a built wheel must find them through ``importlib.resources``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

import phototherm
from phototherm.backend import kernel_source

REPO = Path(__file__).resolve().parents[2]
KERNEL_DIR = REPO / "kernels"


def repo_kernels() -> list[Path]:
    return sorted([*KERNEL_DIR.glob("*.cu"), *KERNEL_DIR.glob("*.cuh")])


def test_repository_has_kernels():
    # guards the tests below against passing vacuously
    assert (KERNEL_DIR / "pennes_step.cu").is_file()


def test_kernels_found_through_importlib_resources():
    shipped = resources.files("phototherm._kernels")
    names = {entry.name for entry in shipped.iterdir()}
    for source in repo_kernels():
        assert source.name in names, f"kernels/{source.name} is not in phototherm._kernels"
        assert shipped.joinpath(source.name).read_text(encoding="utf-8") == source.read_text(encoding="utf-8")


def test_kernel_source_reads_the_repository_file():
    text = kernel_source("pennes_step.cu")
    assert text == (KERNEL_DIR / "pennes_step.cu").read_text(encoding="utf-8")
    assert "__global__" in text


@pytest.mark.parametrize("source", repo_kernels(), ids=lambda p: p.name)
def test_every_kernel_readable_through_kernel_source(source):
    assert kernel_source(source.name) == source.read_text(encoding="utf-8")


def test_import_does_not_pull_in_heavy_or_optional_modules(tmp_path):
    code = textwrap.dedent(
        """
        import json, sys
        import phototherm
        heavy = ("cupy", "cupyx", "pyvista", "vtk", "vtkmodules", "matplotlib", "miepython", "numba")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"'import phototherm' imported {loaded}"


# -- a built wheel -------------------------------------------------------------------------------
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "*.partial-*", ".whl",
)

_CHECK_INSTALLED = textwrap.dedent(
    """
    import json, sys
    from importlib import resources
    import phototherm
    from phototherm.backend import kernel_source
    from phototherm.nanoparticles import gold_permittivity
    from phototherm.tissues import optical_tissue, thermal_tissue

    kernels = resources.files("phototherm._kernels")
    names = sorted(entry.name for entry in kernels.iterdir())
    texts = {name: kernel_source(name) for name in names if name.endswith((".cu", ".cuh"))}
    muscle = thermal_tissue("muscle")
    print(json.dumps({
        "phototherm": phototherm.__file__,
        "kernels_dir": str(kernels),
        "names": names,
        "texts": texts,
        "muscle": [muscle.density, muscle.specific_heat, muscle.conductivity, muscle.perfusion],
        "version": phototherm.__version__,
        "dermis_mua_808": optical_tissue("dermis").at(808e-9).mua,
        "blood_mua_1050": optical_tissue("blood").at(1050e-9).mua,
        "gold_eps_808": [gold_permittivity(808e-9).real, gold_permittivity(808e-9).imag],
    }))
    """
)


@pytest.mark.slow
def test_wheel_ships_kernels_and_tissue_data(tmp_path):
    # Build from a clean copy of the source tree, so stale build/ output in the
    # checkout can neither leak into the wheel nor be overwritten by this test.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=_IGNORE)
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", dist, src],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheels = list(dist.glob("phototherm-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())

    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target", site,
         wheels[0]],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PHOTOTHERM"))}
    env["PYTHONPATH"] = str(site)  # ahead of site-packages (and of the editable install's finder)
    env["PYTHONNOUSERSITE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-s", "-c", _CHECK_INSTALLED], cwd=elsewhere, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])

    site_real = site.resolve()
    assert Path(info["phototherm"]).resolve().is_relative_to(site_real), f"imported {info['phototherm']}"
    assert Path(info["kernels_dir"]).resolve().is_relative_to(site_real), f"kernels from {info['kernels_dir']}"
    assert info["version"] == phototherm.__version__
    # optical data (Prahl, Segelstein, van Veen, Bosschaart, Johnson & Christy) ship too
    from phototherm.nanoparticles import gold_permittivity
    from phototherm.tissues import optical_tissue

    assert info["dermis_mua_808"] == pytest.approx(optical_tissue("dermis").at(808e-9).mua)
    assert info["blood_mua_1050"] == pytest.approx(optical_tissue("blood").at(1050e-9).mua)
    assert info["gold_eps_808"] == pytest.approx([gold_permittivity(808e-9).real, gold_permittivity(808e-9).imag])
    for source in repo_kernels():
        assert source.name in info["names"], f"kernels/{source.name} missing from the wheel: {info['names']}"
        assert info["texts"][source.name] == source.read_text(encoding="utf-8")
    density, specific_heat, conductivity, perfusion = info["muscle"]
    from phototherm.nanoparticles import gold_permittivity
    from phototherm.tissues import optical_tissue, thermal_tissue

    local = thermal_tissue("muscle")
    assert (density, specific_heat, conductivity, perfusion) == (
        local.density, local.specific_heat, local.conductivity, local.perfusion
    )
