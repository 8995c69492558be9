"""Every CUDA source in kernels/ compiles with nvcc for sm_80 and sm_90 (where nvcc is installed).

``.ci/run`` repeats this check and fails when nvcc is missing; this test lets a
developer see compile errors from ``pytest``. Running the kernels needs a GPU
(tests/gpu) or the host build (tests/unit/test_pennes_kernel_host.py).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

KERNELS = sorted((Path(__file__).resolve().parents[2] / "kernels").glob("*.cu"))
#: Compute capabilities compiled for, as in ``.ci/run``: Ampere (sm_80) and Hopper (sm_90).
ARCHITECTURES = ("80", "90")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: f"sm_{a}")
@pytest.mark.parametrize("source", KERNELS, ids=lambda p: p.name)
def test_kernel_compiles_with_nvcc(source, arch, tmp_path):
    result = subprocess.run(
        ["nvcc", "--std=c++17", "-Werror", "all-warnings", "-gencode", f"arch=compute_{arch},code=sm_{arch}",
         "-c", str(source), "-o", str(tmp_path / "kernel.o")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_there_are_kernels_to_check():
    assert KERNELS, "kernels/ holds no .cu file"
