"""Reading and writing results and geometry.

* :mod:`phototherm.io.atomic` — all-or-nothing files and staged result folders;
* :mod:`phototherm.io.vtk` — VTK ImageData (``.vti``) cell fields with units, the
  one adapter to VTK's x-fastest ordering, PyVista conversion, ``.pvd`` series;
* :mod:`phototherm.io.tables` — NPZ fields, probe CSV, JSON summaries;
* :mod:`phototherm.io.meshes` — meshes in (tetrahedral meshes with cell tags and
  closed surfaces voxelised into labels, through meshio) and results out onto a
  mesh.

None of these modules imports meshio, PyVista or VTK at import time.
"""

from .meshes import (
    MeshWarning,
    labels_from_surfaces,
    labels_from_tetra_mesh,
    mask_from_surface,
    read_mesh,
    sample_field,
    write_fields_to_mesh,
)

__all__ = [
    "MeshWarning",
    "read_mesh",
    "labels_from_tetra_mesh",
    "mask_from_surface",
    "labels_from_surfaces",
    "sample_field",
    "write_fields_to_mesh",
]
