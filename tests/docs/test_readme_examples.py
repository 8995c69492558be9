"""Every Python block of the README runs as written (docs that match the code).

Each ```python block is run in a fresh interpreter in an empty folder (some
write results), with the CPU backend so the run is the same on every machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path):
    env = dict(os.environ, PHOTOTHERM_DEVICE="cpu", MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, f"README python block {index} failed:\n{completed.stderr[-3000:]}"
