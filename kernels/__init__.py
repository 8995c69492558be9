"""CUDA sources of phototherm, shipped as the package ``phototherm._kernels``.

This folder holds device code only (``*.cu``, ``*.cuh``). The file you are
reading exists so that the folder is a regular package in editable installs as
well as in wheels; :func:`phototherm.backend.kernel_source` reads the sources
through :mod:`importlib.resources`. Each kernel has a NumPy twin in the Python
package that computes the same formula (see the header of each ``.cu`` file).
"""
