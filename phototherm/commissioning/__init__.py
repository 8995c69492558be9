"""Commissioning: every physics module against its references, as a report (``phototherm validate``).

:func:`run_commissioning` runs the reference cases of :mod:`.cases` (analytic
bioheat solutions, thermal-dose definitions, the Mie anchor, blood absorption,
Monte Carlo and diffusion references, PDT kinetics against an independent stiff
solver) and returns a :class:`CommissioningReport` listing, per check, the
reference, phototherm's value, the error and the tolerance; ``.write(folder)``
saves it as Markdown, HTML and JSON for a physicist to hand to a colleague.

>>> from phototherm.commissioning import run_commissioning
>>> report = run_commissioning("quick", modules=["thermal dose"])
>>> report.passed
True
"""

from .checks import Check
from .report import CommissioningReport, run_commissioning

__all__ = ["Check", "CommissioningReport", "run_commissioning"]
