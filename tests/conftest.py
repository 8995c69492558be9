"""Shared test configuration.

Tests marked ``gpu`` run only where CuPy sees a usable CUDA device; everywhere
else (our CI) they are skipped with the reason ``gpu_status()`` gives.
"""

import pytest

from phototherm.backend import gpu_status


def pytest_collection_modifyitems(config, items):
    usable, reason = gpu_status()
    if usable:
        return
    skip = pytest.mark.skip(reason=f"no usable GPU: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
