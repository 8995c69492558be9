"""Per-voxel optical properties at one wavelength: the input of every light solver.

An :class:`OpticalMedium` holds four arrays on a :class:`~phototherm.grid.Grid`:
absorption ``mua`` and scattering ``mus`` coefficients [1/m], scattering
anisotropy ``g`` and refractive index ``n``, plus the refractive index of the
medium outside the grid (air by default). It is built from a label map and a
tissue table (:meth:`OpticalMedium.from_labels`), or uniform
(:meth:`OpticalMedium.uniform`), and nanoparticles add their absorption and
scattering through :meth:`OpticalMedium.with_added`.

The light solvers (:mod:`phototherm.light.diffusion`,
:mod:`phototherm.light.montecarlo`) read only this object, so a user can also
fill the arrays directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import Problems
from ..grid import Grid

__all__ = ["OpticalMedium"]

@dataclass(frozen=True, eq=False)
class OpticalMedium:
    """Optical properties of every voxel at one vacuum wavelength.

    Parameters
    ----------
    grid : Grid
        The voxel grid.
    mua : ndarray, shape ``grid.shape``
        Absorption coefficient [1/m].
    mus : ndarray, shape ``grid.shape``
        Scattering coefficient [1/m] (not the reduced one).
    g : ndarray, shape ``grid.shape``
        Henyey-Greenstein anisotropy, strictly inside (-1, 1).
    n : ndarray, shape ``grid.shape``
        Refractive index (>= 1).
    wavelength : float
        Vacuum wavelength [m] at which the properties hold.
    ambient_index : float
        Refractive index outside the grid (1.0, air, by default). Light leaving
        the grid is lost (not re-entered).

    Raises
    ------
    InputError
        Wrong shapes; NaN, infinite or negative coefficients; ``g`` outside
        (-1, 1); ``n`` or ``ambient_index`` below 1. Every problem is reported.

    Examples
    --------
    >>> import phototherm as pt
    >>> grid = pt.Grid((10, 10, 10), 1e-3)
    >>> m = OpticalMedium.uniform(grid, mua=30.0, mus=9000.0, g=0.9, n=1.37, wavelength=808e-9)
    >>> round(float(m.reduced_scattering[0, 0, 0]), 9)
    900.0
    """

    grid: Grid
    mua: np.ndarray
    mus: np.ndarray
    g: np.ndarray
    n: np.ndarray
    wavelength: float
    ambient_index: float = 1.0

    def __post_init__(self) -> None:
        problems = Problems()
        for name in ("mua", "mus", "g", "n"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim == 0:
                value = np.full(self.grid.shape, float(value))
            object.__setattr__(self, name, value)
        self.validate("medium", problems)
        problems.raise_if_any("invalid optical medium")

    # -- construction ---------------------------------------------------------
    @classmethod
    def uniform(
        cls, grid: Grid, *, mua: float, mus: float, g: float, n: float, wavelength: float, ambient_index: float = 1.0
    ) -> "OpticalMedium":
        """A homogeneous medium; coefficients in [1/m], wavelength in [m]."""
        return cls(grid, mua, mus, g, n, wavelength, ambient_index)

    @classmethod
    def from_labels(
        cls,
        grid: Grid,
        labels: np.ndarray,
        tissues: Mapping[int, Any],
        wavelength: float,
        *,
        ambient_index: float = 1.0,
    ) -> "OpticalMedium":
        """Build the medium from a label map and one optical tissue per label.

        Parameters
        ----------
        grid : Grid
        labels : ndarray of int, shape ``grid.shape``
            Tissue label of every voxel.
        tissues : mapping of int to OpticalTissue or OpticalProperties
            Optics of each label. An :class:`~phototherm.tissues.OpticalTissue`
            is evaluated at ``wavelength``; anything with ``mua``, ``mus``,
            ``g`` and ``n`` attributes (SI units) is used as it is.
        wavelength : float
            Vacuum wavelength [m].
        ambient_index : float
            Refractive index outside the grid.

        Raises
        ------
        InputError
            A label without a tissue, a wrong shape, or bad optical values.
        """
        problems = Problems()
        labels = np.asarray(labels)
        if not problems.check(labels.shape == grid.shape, "labels", labels, f"an integer array of shape {grid.shape}"):
            problems.raise_if_any("invalid optical medium")
        present = np.unique(labels)
        missing = [int(v) for v in present if int(v) not in tissues]
        problems.check(not missing, "tissues", sorted(tissues), f"an optical tissue for every label present; missing {missing}")
        problems.positive(wavelength, "wavelength", "[m]")
        problems.raise_if_any("invalid optical medium")
        arrays = {name: np.empty(grid.shape) for name in ("mua", "mus", "g", "n")}
        for label in present:
            tissue = tissues[int(label)]
            props = tissue.at(wavelength) if hasattr(tissue, "at") else tissue
            where = labels == label
            for name, array in arrays.items():
                array[where] = getattr(props, name)
        return cls(grid, wavelength=float(wavelength), ambient_index=ambient_index, **arrays)

    def with_added(self, mua: np.ndarray, mus: np.ndarray, g: np.ndarray | float = 0.0) -> "OpticalMedium":
        """The medium with extra absorbers and scatterers (e.g. nanoparticles).

        Absorption and scattering coefficients add; the anisotropy of the
        mixture is the scattering-weighted mean
        ``g = (mus g + mus_add g_add) / (mus + mus_add)``.

        Parameters
        ----------
        mua, mus : ndarray or float
            Added absorption and scattering coefficients [1/m].
        g : ndarray or float
            Anisotropy of the added scatterers.
        """
        problems = Problems()
        for name, value in (("mua", mua), ("mus", mus)):
            problems.non_negative(value, f"added.{name}", "[1/m]")
        problems.raise_if_any("invalid added optical properties")
        mus_total = self.mus + mus
        weighted = self.mus * self.g + np.asarray(mus) * np.asarray(g)
        g_total = np.divide(weighted, mus_total, out=np.array(self.g, dtype=np.float64, copy=True), where=mus_total > 0)
        return OpticalMedium(self.grid, self.mua + mua, mus_total, g_total, self.n, self.wavelength, self.ambient_index)

    # -- derived quantities ---------------------------------------------------
    @property
    def reduced_scattering(self) -> np.ndarray:
        """Reduced scattering coefficient ``mus' = mus (1 - g)`` [1/m]."""
        return self.mus * (1.0 - self.g)

    @property
    def transport(self) -> np.ndarray:
        """Transport coefficient ``mua + mus'`` [1/m]; its inverse is the transport mean free path."""
        return self.mua + self.reduced_scattering

    @property
    def diffusion_coefficient(self) -> np.ndarray:
        """Optical diffusion coefficient ``D = 1 / (3 (mua + mus'))`` [m]."""
        with np.errstate(divide="ignore"):
            return 1.0 / (3.0 * self.transport)

    @property
    def effective_attenuation(self) -> np.ndarray:
        """``mu_eff = sqrt(3 mua (mua + mus'))`` [1/m]."""
        return np.sqrt(3.0 * self.mua * self.transport)

    # -- checks ---------------------------------------------------------------
    def validate(self, path: str, problems: Problems) -> None:
        """Record every problem with the arrays under ``path``."""
        shape = self.grid.shape
        for name, unit in (("mua", "[1/m]"), ("mus", "[1/m]"), ("g", ""), ("n", "")):
            value = getattr(self, name)
            if not problems.check(value.shape == shape, f"{path}.{name}", value, f"an array of shape {shape}"):
                continue
            if name in ("mua", "mus"):
                problems.non_negative(value, f"{path}.{name}", unit)
            elif name == "g":
                problems.satisfies(value, f"{path}.g", "values strictly between -1 and 1", _open_unit_interval)
            else:
                problems.satisfies(value, f"{path}.n", "refractive indices >= 1", _at_least_one)
        problems.positive(self.wavelength, f"{path}.wavelength", "[m]")
        problems.satisfies(self.ambient_index, f"{path}.ambient_index", "a refractive index >= 1", _at_least_one)

    def describe(self) -> dict:
        """Plain-data summary (ranges of each property) for result files."""
        def span(a):
            return [float(np.min(a)), float(np.max(a))]

        return {
            "wavelength_nm": self.wavelength * 1e9,
            "mua_per_m_range": span(self.mua),
            "mus_per_m_range": span(self.mus),
            "g_range": span(self.g),
            "n_range": span(self.n),
            "ambient_index": float(self.ambient_index),
        }


def _open_unit_interval(a: np.ndarray) -> np.ndarray:
    return (a > -1.0) & (a < 1.0)


def _at_least_one(a: np.ndarray) -> np.ndarray:
    return a >= 1.0
