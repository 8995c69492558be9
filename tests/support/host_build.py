"""Building a CUDA kernel for the host and calling it through ctypes (CI has no GPU).

A wrapper in ``tests/support/*.cpp`` includes a kernel from ``kernels/``
unchanged, defines the CUDA qualifiers away and runs the launch grid as loops;
:func:`build_host_library` compiles it into a shared library and
:func:`c_argument` passes the kernel's own argument tuple to it.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: ctypes type of each NumPy scalar type a kernel argument tuple holds.
_C_SCALARS = {
    np.int32: ctypes.c_int,
    np.int64: ctypes.c_longlong,
    np.uint64: ctypes.c_ulonglong,
    np.float32: ctypes.c_float,
    np.float64: ctypes.c_double,
}


def build_host_library(tmp_path_factory, wrapper: str, library: str) -> ctypes.CDLL:
    """Compile ``tests/support/<wrapper>`` into a shared library and load it.

    Parameters
    ----------
    tmp_path_factory : pytest.TempPathFactory
        Supplies the folder the library is built in (one per call, kept for the
        session; call from a module-scoped fixture to build once per module).
    wrapper : str
        File name of the C++ wrapper in ``tests/support`` (``"kernel_host.cpp"``).
    library : str
        File name of the shared library to build (``"pennes_step_host.so"``).

    Returns
    -------
    ctypes.CDLL
        The loaded library.

    Notes
    -----
    Built with ``-O2 -std=c++17 -ffp-contract=off`` (no fused multiply-adds,
    so float64 results follow the NumPy twins' expressions) and ``kernels/`` on
    the include path. Skips the calling test when neither ``g++`` nor ``c++``
    is installed.
    """
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler to build the kernel for the host")
    path = tmp_path_factory.mktemp(Path(library).stem) / library
    subprocess.run(
        [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=off", f"-I{ROOT / 'kernels'}",
         str(ROOT / "tests" / "support" / wrapper), "-o", str(path)],
        check=True, capture_output=True,
    )
    return ctypes.CDLL(str(path))


def c_argument(arg):
    """One kernel argument as ctypes passes it: a pointer to an array's data, or a C scalar.

    Parameters
    ----------
    arg : numpy.ndarray or NumPy scalar
        A C-contiguous array (passed by its data pointer; it must outlive the
        call) or an ``int32``, ``int64``, ``uint64``, ``float32`` or
        ``float64`` scalar.

    Returns
    -------
    ctypes.c_void_p or ctypes scalar
    """
    if isinstance(arg, np.ndarray):
        assert arg.flags.c_contiguous
        return ctypes.c_void_p(arg.ctypes.data)
    return _C_SCALARS[type(arg)](arg)
