"""Choice of compute backend: NumPy on the CPU or CuPy on a CUDA GPU.

The backend is chosen once per simulation, in this order of precedence:

1. the ``device`` argument of the function (the CLI passes its ``--device``
   flag here),
2. the environment variable ``PHOTOTHERM_DEVICE``,
3. ``"auto"``: the GPU when CuPy imports *and* ``cupy.is_available()`` is
   true, else the CPU.

Asking for ``"gpu"`` when none is usable raises
:class:`~phototherm.errors.DeviceUnavailableError` with the reason (CuPy
missing, no device, driver too old). Nothing here imports CuPy at module level:
``import phototherm`` works without it.

The default floating-point type is float32 on the GPU and float64 on the CPU;
both are supported on both backends.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import resources
from types import ModuleType
from typing import Any

import numpy as np

from .errors import DeviceUnavailableError, KernelCompileError, Problems

__all__ = [
    "Backend",
    "resolve_backend",
    "gpu_status",
    "array_module",
    "to_host",
    "kernel_source",
    "report",
    "DEVICE_ENV_VAR",
]

#: Environment variable consulted when no ``device`` argument is given.
DEVICE_ENV_VAR = "PHOTOTHERM_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "gpu")
DTYPE_CHOICES = ("float32", "float64")


@dataclass(frozen=True)
class Backend:
    """The array library, device and floating-point type of a computation.

    Attributes
    ----------
    name : {"cpu", "gpu"}
        Where the arrays live.
    dtype : numpy.dtype
        Floating-point type of every field (float32 or float64).
    reason : str
        Why this backend was chosen (shown by ``phototherm info`` and recorded
        in result summaries).
    device_id : int
        CUDA device ordinal (GPU only).
    """

    name: str
    dtype: np.dtype
    reason: str
    device_id: int = 0
    _xp: ModuleType | None = field(default=None, repr=False, compare=False)

    @property
    def xp(self) -> ModuleType:
        """The array module: :mod:`numpy` or :mod:`cupy`."""
        return self._xp if self._xp is not None else np

    @property
    def is_gpu(self) -> bool:
        return self.name == "gpu"

    def asarray(self, host_array, dtype=None):
        """Copy a host array to this backend, contiguous, in ``dtype`` (default the backend's)."""
        return self.xp.ascontiguousarray(self.xp.asarray(host_array, dtype=dtype or self.dtype))

    def synchronize(self) -> None:
        """Wait for queued GPU work (no-op on the CPU); use before timing."""
        if self.is_gpu:
            self.xp.cuda.Device(self.device_id).synchronize()

    def load_kernel(self, filename: str, function: str):
        """Compiled CUDA function ``function`` from ``kernels/<filename>``.

        ``function`` may name a template instantiation, e.g.
        ``"pennes_step<float>"`` (passed to NVRTC as a name expression).
        Compiled once per device and process (CuPy also caches the binary on
        disk across processes).

        Raises
        ------
        KernelCompileError
            If NVRTC rejects the source; the message points into the ``.cu`` file.
        """
        if not self.is_gpu:
            raise KernelCompileError(f"CUDA kernel {function!r} requested on the CPU backend")
        return _compiled_module(filename, function, self.device_id).get_function(function)

    def describe(self) -> dict[str, Any]:
        """Plain-data description for result summaries."""
        out = {"backend": self.name, "dtype": str(self.dtype), "reason": self.reason}
        if self.is_gpu:
            out.update(_gpu_properties(self.device_id))
        else:
            out.update({"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()})
        return out


def resolve_backend(device: str | None = None, dtype=None) -> Backend:
    """Choose the backend once.

    Parameters
    ----------
    device : {"auto", "cpu", "gpu"} or None
        Requested device. ``None`` defers to ``$PHOTOTHERM_DEVICE``, then to
        ``"auto"``.
    dtype : {"float32", "float64"}, numpy dtype or None
        Floating-point type; ``None`` gives float32 on the GPU, float64 on the CPU.

    Raises
    ------
    InputError
        Unknown device or dtype name.
    DeviceUnavailableError
        ``"gpu"`` requested but no usable GPU; the message says why.
    """
    problems = Problems()
    source = "the device argument or --device flag"
    if device is None:
        device, source = os.environ.get(DEVICE_ENV_VAR) or "auto", DEVICE_ENV_VAR
        if device == "auto":
            source = "default"
    device = str(device).strip().lower()
    problems.check(device in DEVICE_CHOICES, "device" if source != DEVICE_ENV_VAR else DEVICE_ENV_VAR,
                   device, f"one of {', '.join(DEVICE_CHOICES)}")
    dtype_name = None
    if dtype is not None:
        try:
            dtype_name = np.dtype(dtype).name
        except TypeError:
            dtype_name = str(dtype)
        problems.check(dtype_name in DTYPE_CHOICES, "dtype", dtype, f"one of {', '.join(DTYPE_CHOICES)}")
    problems.raise_if_any("cannot choose a compute backend")

    usable, why = gpu_status()
    if device == "gpu" and not usable:
        raise DeviceUnavailableError(f"GPU requested (by {source}) but none is usable: {why}")
    use_gpu = device == "gpu" or (device == "auto" and usable)
    if device == "auto":
        reason = f"auto: {why}" + ("" if usable else "; using the CPU")
    else:
        reason = f"{device} requested ({source})"
    name = "gpu" if use_gpu else "cpu"
    chosen_dtype = np.dtype(dtype_name or ("float32" if use_gpu else "float64"))
    xp = _import_cupy() if use_gpu else np
    return Backend(name=name, dtype=chosen_dtype, reason=reason, _xp=xp)


@functools.lru_cache(maxsize=1)
def gpu_status() -> tuple[bool, str]:
    """Whether a CUDA GPU is usable through CuPy, and why (not).

    Returns
    -------
    usable : bool
    reason : str
        One sentence: the device found, or what is missing.
    """
    try:
        cupy = _import_cupy()
    except ImportError as exc:
        return False, f"CuPy is not installed ({exc}); install phototherm[cuda12] or phototherm[cuda13]"
    except Exception as exc:  # CuPy present but broken (missing CUDA libraries, ...)
        return False, f"CuPy failed to import: {exc}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        text = str(exc)
        if "InsufficientDriver" in text:
            return False, (
                "the NVIDIA driver is too old for the CUDA runtime CuPy was built with "
                f"(CuPy {cupy.__version__}, CUDA runtime {_runtime_version(cupy)}): {text}"
            )
        if "NoDevice" in text:
            return False, "no CUDA device found (cudaErrorNoDevice)"
        return False, f"the CUDA driver could not be used: {text}"
    if count == 0 or not cupy.is_available():
        return False, "CuPy imports but cupy.is_available() is false (no usable CUDA device)"
    name = _gpu_properties(0).get("gpu_name", "unknown GPU")
    return True, f"CuPy {cupy.__version__} sees {count} CUDA device(s); using device 0 ({name})"


def array_module(array) -> ModuleType:
    """:mod:`cupy` for a CuPy array, :mod:`numpy` for anything else."""
    if type(array).__module__.split(".", 1)[0] == "cupy":
        return _import_cupy()
    return np


def to_host(array) -> np.ndarray:
    """A NumPy copy (or view) of a NumPy or CuPy array."""
    if type(array).__module__.split(".", 1)[0] == "cupy":
        return array.get()
    return np.asarray(array)


def kernel_source(filename: str) -> str:
    """Text of ``kernels/<filename>``, as shipped in the package ``phototherm._kernels``."""
    return resources.files("phototherm._kernels").joinpath(filename).read_text(encoding="utf-8")


def report() -> str:
    """Multi-line report of versions, the backend ``auto`` would choose and the GPU.

    This is what ``phototherm info`` prints; paste it into bug reports.
    """
    from ._version import __version__

    lines = [
        f"phototherm   {__version__}",
        f"python       {sys.version.split()[0]} ({platform.platform()})",
        f"numpy        {np.__version__}",
        f"scipy        {_version_of('scipy')}",
        f"cupy         {_version_of('cupy')}",
        f"meshio       {_version_of('meshio')}",
        f"pyvista      {_version_of('pyvista')}",
        f"matplotlib   {_version_of('matplotlib')}",
        f"cpu          {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
    ]
    usable, why = gpu_status()
    env = os.environ.get(DEVICE_ENV_VAR)
    lines.append(f"auto device  {'gpu' if usable else 'cpu'} ({why})")
    if env:
        lines.append(f"{DEVICE_ENV_VAR} = {env}")
    if usable:
        props = _gpu_properties(0)
        lines.append(
            f"gpu          {props['gpu_name']}, {props['gpu_memory_GiB']:.1f} GiB, "
            f"compute capability {props['compute_capability']}"
        )
        lines.append(
            f"cuda         driver {props['cuda_driver_version']}, runtime {props['cuda_runtime_version']}"
        )
    return "\n".join(lines)


# -- internals -------------------------------------------------------------------
def _import_cupy() -> ModuleType:
    import cupy  # noqa: PLC0415  (optional dependency, imported on demand)

    return cupy


def _version_of(module_name: str) -> str:
    from importlib import metadata

    dists = {"cupy": ("cupy-cuda13x", "cupy-cuda12x", "cupy")}.get(module_name, (module_name,))
    for dist in dists:
        try:
            return metadata.version(dist) + ("" if dist == module_name else f" ({dist})")
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _runtime_version(cupy) -> str:
    try:
        return _cuda_version_string(cupy.cuda.runtime.runtimeGetVersion())
    except Exception:
        return "unknown"


def _cuda_version_string(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}"


@functools.lru_cache(maxsize=None)
def _gpu_properties(device_id: int) -> dict[str, Any]:
    cupy = _import_cupy()
    props = cupy.cuda.runtime.getDeviceProperties(device_id)
    name = props["name"]
    return {
        "gpu_name": name.decode() if isinstance(name, bytes) else str(name),
        "gpu_memory_GiB": props["totalGlobalMem"] / 2**30,
        "compute_capability": f"{props['major']}.{props['minor']}",
        "cuda_driver_version": _cuda_version_string(cupy.cuda.runtime.driverGetVersion()),
        "cuda_runtime_version": _runtime_version(cupy),
    }


@functools.lru_cache(maxsize=None)
def _compiled_module(filename: str, function: str, device_id: int):
    cupy = _import_cupy()
    # '#line' makes NVRTC's messages point into the .cu file rather than a temp string
    code = f'#line 1 "kernels/{filename}"\n' + kernel_source(filename)
    try:
        with cupy.cuda.Device(device_id):
            module = cupy.RawModule(code=code, options=("--std=c++17",), name_expressions=(function,))
            module.compile()
    except Exception as exc:
        raise KernelCompileError(f"could not compile kernels/{filename} on device {device_id}: {exc}") from exc
    return module
