"""Reading and writing results.

* :mod:`phototherm.io.atomic` — all-or-nothing files and staged result folders;
* :mod:`phototherm.io.vtk` — VTK ImageData (``.vti``) cell fields with units, the
  one adapter to VTK's x-fastest ordering, PyVista conversion, ``.pvd`` series;
* :mod:`phototherm.io.tables` — NPZ fields, probe CSV, JSON summaries.

None of these modules imports PyVista or VTK at import time.
"""
