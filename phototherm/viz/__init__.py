"""Figures (matplotlib, imported lazily): :mod:`phototherm.viz.slices` draws orthogonal slices."""
