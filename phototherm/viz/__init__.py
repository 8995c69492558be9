"""Figures and views (matplotlib and PyVista, imported lazily).

:mod:`phototherm.viz.slices` draws orthogonal slices with structure outlines,
:mod:`phototherm.viz.dvh` cumulative dose-volume histograms,
:mod:`phototherm.viz.report` writes a results folder's figures and its
self-contained ``report.html``, and :mod:`phototherm.viz.view` opens a results
folder in an interactive PyVista window (or renders it off-screen).
"""
