"""Figures (matplotlib, imported lazily): :mod:`phototherm.viz.slices` draws orthogonal slices,
:mod:`phototherm.viz.dvh` cumulative dose-volume histograms."""
