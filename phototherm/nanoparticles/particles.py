"""Gold nanoparticles and their optical cross-sections.

Three particle types, each a frozen dataclass with the same interface:

* :class:`GoldSphere` — exact Mie theory (through ``miepython``);
* :class:`GoldNanoshell` — silica (or other dielectric) core with a gold shell,
  exact coated-sphere Mie theory (:mod:`phototherm.nanoparticles.mie`);
* :class:`GoldNanorod` — quasi-static prolate spheroid (Gans theory), with an
  optional calibration to a measured longitudinal peak.

``particle.cross_sections(wavelength, medium_index=1.33)`` returns a
:class:`CrossSections` (absorption and scattering cross-sections [m^2] and the
scattering anisotropy g) for one or many vacuum wavelengths [m] in one call;
``particle.volume`` and ``particle.gold_volume`` [m^3] feed the concentration
conversions of :mod:`phototherm.nanoparticles.concentration`.

Heat deposition uses the **absorption** cross-section, never extinction: large
nanoshells mostly scatter.

Validity ranges (an :class:`~phototherm.errors.InputError` outside them)
-------------------------------------------------------------------------
* Wavelength: 187.9-1937 nm, the Johnson & Christy table (no extrapolation).
* Host medium: a real refractive index 1-3 (water 1.33, soft tissue 1.35-1.45).
* Every gold dimension (sphere diameter, shell thickness, rod diameter) at
  least :data:`MIN_GOLD_DIMENSION` = 2 nm. Below about 2 nm (a few hundred
  atoms) gold clusters have molecule-like discrete electronic levels and no
  plasmon band, so neither the bulk dielectric function nor its
  surface-scattering correction applies.
* Sphere diameter and nanoshell outer diameter at most
  :data:`MAX_MIE_DIAMETER` = 500 nm. Mie theory itself has no upper limit;
  the cap marks where particles stop being "nanoparticles" for photothermal
  therapy (they no longer extravasate or circulate) and guards against
  misplaced units (a diameter given in nm as if in m is refused, not
  computed).
* Nanorods: aspect ratio (length/diameter) 1-10 and length at most
  :data:`MAX_ROD_LENGTH` = 150 nm. Gans theory is quasi-static: it neglects
  retardation, which red-shifts and broadens the longitudinal band of rods
  longer than about 100 nm (use :meth:`GoldNanorod.calibrated` to pin the
  peak to a measurement), and it has no radiation damping, so its scattering
  estimate grows too fast for large rods. Aspect ratios < 1 (oblate shapes)
  are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, Problem, Problems
from .gold import DEFAULT_DAMPING_A, _permittivity, check_wavelength
from .mie import coated_sphere_efficiencies

__all__ = [
    "CrossSections",
    "GoldSphere",
    "GoldNanoshell",
    "GoldNanorod",
    "MIN_GOLD_DIMENSION",
    "MAX_MIE_DIAMETER",
    "MAX_ROD_LENGTH",
    "MAX_ROD_ASPECT_RATIO",
    "MEDIUM_INDEX_RANGE",
]

#: Smallest gold dimension modelled (sphere diameter, shell thickness, rod diameter) [m].
MIN_GOLD_DIMENSION = 2e-9
#: Largest sphere or nanoshell outer diameter accepted [m].
MAX_MIE_DIAMETER = 500e-9
#: Longest nanorod accepted by the quasi-static (Gans) model [m].
MAX_ROD_LENGTH = 150e-9
#: Largest physical nanorod aspect ratio (length / diameter) accepted.
MAX_ROD_ASPECT_RATIO = 10.0
#: Largest optical (calibrated) aspect ratio of the equivalent spheroid.
MAX_OPTICAL_ASPECT_RATIO = 15.0
#: Accepted refractive indices of the (non-absorbing) host medium.
MEDIUM_INDEX_RANGE = (1.0, 3.0)


@dataclass(frozen=True)
class CrossSections:
    """Optical cross-sections of one particle, per wavelength.

    Parameters
    ----------
    absorption : float or ndarray
        Absorption cross-section C_abs [m^2]. Heating uses this.
    scattering : float or ndarray
        Scattering cross-section C_sca [m^2].
    anisotropy : float or ndarray
        Mean cosine g of the scattering angle (dimensionless, -1..1).

    All three have the shape of the wavelength argument they were computed for
    (floats for a single wavelength).
    """

    absorption: float | np.ndarray
    scattering: float | np.ndarray
    anisotropy: float | np.ndarray

    @property
    def extinction(self):
        """Extinction cross-section C_ext = C_abs + C_sca [m^2]."""
        return self.absorption + self.scattering

    @property
    def albedo(self):
        """Single-scattering albedo C_sca / C_ext (dimensionless)."""
        return self.scattering / self.extinction


# -- shared validation ---------------------------------------------------------------------------
def _length(problems: Problems, value, path: str, lo: float | None = None, hi: float | None = None) -> bool:
    """Check a finite positive length [m] within [lo, hi]; return whether it passed."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        problems.add(path, value, "a length [m] (a number)")
        return False
    if not np.isfinite(v) or v <= 0:
        problems.add(path, value, "a finite length > 0 [m]")
        return False
    if lo is not None and v < lo:
        problems.add(path, value, f"at least {lo:g} m ({lo * 1e9:g} nm): {_WHY_MIN}")
        return False
    if hi is not None and v > hi:
        problems.add(path, value, f"at most {hi:g} m ({hi * 1e9:g} nm), the model's range (lengths are in metres)")
        return False
    return True


_WHY_MIN = "smaller gold clusters have no plasmon band and the bulk dielectric function does not apply"


def _check_damping(problems: Problems, owner: str, size_correction, damping_A) -> None:
    problems.check(isinstance(size_correction, (bool, np.bool_)), f"{owner}.size_correction", size_correction,
                   "True or False")
    problems.non_negative(damping_A, f"{owner}.damping_A", "(dimensionless)")
    if np.ndim(damping_A) != 0:
        problems.add(f"{owner}.damping_A", damping_A, "a single number")


def _checked_permittivity(particle, wavelength, owner: str):
    """Gold permittivity with ``particle``'s size correction at checked vacuum wavelength(s) [m].

    Raises :class:`InputError` "invalid input to ``owner``.permittivity" for
    wavelengths outside the gold data.
    """
    problems = Problems()
    lam = check_wavelength(wavelength, problems)
    problems.raise_if_any(f"invalid input to {owner}.permittivity")
    return _permittivity(lam, particle.size_correction_radius, particle.damping_A)


def _prepare(wavelength, medium_index, owner: str):
    """Validated wavelengths [m] (array) and host index (float)."""
    problems = Problems()
    lam = check_wavelength(wavelength, problems, "wavelength")
    n_m = None
    try:
        n_m = float(medium_index)
    except (TypeError, ValueError):
        problems.add("medium_index", medium_index, "a real refractive index (a number)")
    else:
        lo, hi = MEDIUM_INDEX_RANGE
        problems.check(np.isfinite(n_m) and lo <= n_m <= hi, "medium_index", medium_index,
                       f"a real refractive index of the host medium, {lo:g}-{hi:g} (water 1.33)")
    problems.raise_if_any(f"invalid input to {owner}.cross_sections")
    return lam, n_m


def _result(absorption, scattering, anisotropy, shape) -> CrossSections:
    arrays = [np.asarray(v, dtype=float).reshape(shape) for v in (absorption, scattering, anisotropy)]
    if shape == ():
        return CrossSections(*(float(a) for a in arrays))
    return CrossSections(*arrays)


# -- spheres -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldSphere:
    """A solid gold sphere, modelled with exact Mie theory (miepython).

    Parameters
    ----------
    diameter : float
        Sphere diameter [m], 2-500 nm.
    size_correction : bool
        Apply the surface-scattering correction with R = diameter / 2
        (default ``True``). ``False`` uses bulk Johnson & Christy gold.
    damping_A : float
        Surface-scattering parameter A (dimensionless; default 0.3, see
        :data:`phototherm.nanoparticles.gold.DEFAULT_DAMPING_A`).

    Raises
    ------
    InputError
        Diameter not a finite number in 2-500 nm; negative ``damping_A``.

    Examples
    --------
    >>> s = GoldSphere(40e-9, size_correction=False)
    >>> cs = s.cross_sections(526e-9)
    >>> f"{cs.absorption:.3g} m^2"
    '3.58e-15 m^2'
    """

    diameter: float
    size_correction: bool = True
    damping_A: float = DEFAULT_DAMPING_A

    def __post_init__(self):
        problems = Problems()
        _length(problems, self.diameter, "GoldSphere.diameter", MIN_GOLD_DIMENSION, MAX_MIE_DIAMETER)
        _check_damping(problems, "GoldSphere", self.size_correction, self.damping_A)
        problems.raise_if_any("invalid GoldSphere")
        object.__setattr__(self, "diameter", float(self.diameter))
        object.__setattr__(self, "damping_A", float(self.damping_A))

    @property
    def volume(self) -> float:
        """Particle volume [m^3]."""
        return np.pi / 6.0 * self.diameter**3

    @property
    def gold_volume(self) -> float:
        """Volume of gold in one particle [m^3] (the whole sphere)."""
        return self.volume

    @property
    def size_correction_radius(self) -> float | None:
        """Length R in the damping g(R) = g_bulk + A v_F / R [m] (the radius), or ``None``."""
        return self.diameter / 2.0 if self.size_correction else None

    def permittivity(self, wavelength):
        """Gold permittivity used for this particle at vacuum wavelength(s) [m]."""
        return _checked_permittivity(self, wavelength, "GoldSphere")

    def cross_sections(self, wavelength, medium_index: float = 1.33) -> CrossSections:
        """Absorption and scattering cross-sections and anisotropy.

        Parameters
        ----------
        wavelength : float or array_like
            Vacuum wavelength(s) [m], 187.9-1937 nm.
        medium_index : float
            Refractive index of the host medium (default 1.33, water).

        Returns
        -------
        CrossSections
            ``absorption``, ``scattering`` [m^2] and ``anisotropy`` shaped like
            ``wavelength``.
        """
        import miepython  # lazy: it is slow to import and not needed by the engine

        lam, n_m = _prepare(wavelength, medium_index, "GoldSphere")
        flat = lam.reshape(-1)
        m = np.sqrt(_permittivity(flat, self.size_correction_radius, self.damping_A))
        # miepython uses m = n - ik (absorbing: negative imaginary part) and
        # the absolute index with the host index n_env, both in the same length unit.
        qext, qsca, _qback, g = miepython.efficiencies(np.conj(m), self.diameter, flat, n_m)
        area = np.pi * self.diameter**2 / 4.0
        qext, qsca = np.asarray(qext, dtype=float), np.asarray(qsca, dtype=float)
        return _result((qext - qsca) * area, qsca * area, g, lam.shape)


@dataclass(frozen=True)
class GoldNanoshell:
    """A dielectric core coated with a gold shell, modelled with coated-sphere Mie theory.

    Parameters
    ----------
    core_diameter : float
        Diameter of the dielectric core [m], at least 2 nm.
    shell_thickness : float
        Thickness of the gold shell [m], at least 2 nm; the outer diameter
        ``core_diameter + 2 shell_thickness`` is at most 500 nm. Nanoshells
        are quoted as "core/shell" in nm, sometimes with the core radius,
        sometimes its diameter: the "120/10 nm" shell of PHYSICS.md is a
        120 nm core *diameter* with a 10 nm shell (outer diameter 140 nm),
        the reading that puts its extinction peak in the NIR (825 nm in
        water) and reproduces the quoted 2.7e-14 m^2 at 808 nm; a 120 nm core
        radius would resonate near 1170 nm.
    core_index : float
        Real refractive index of the core (default 1.45, silica).
    size_correction : bool
        Apply the surface-scattering correction with R = shell thickness
        (default ``True``). The shell's two surfaces limit the electrons' free
        path to about its thickness; this is the choice of Averitt, Sarkar &
        Halas, Phys. Rev. Lett. 78, 4217 (1997) and later nanoshell fits.
    damping_A : float
        Surface-scattering parameter A (dimensionless, default 0.3).

    Raises
    ------
    InputError
        Non-finite or out-of-range sizes, a core index outside 1-4 or not
        real, negative ``damping_A``; every problem is reported.

    Examples
    --------
    >>> shell = GoldNanoshell(120e-9, 10e-9, size_correction=False)
    >>> f"{shell.cross_sections(808e-9).absorption:.2g} m^2"
    '2.7e-14 m^2'
    """

    core_diameter: float
    shell_thickness: float
    core_index: float = 1.45
    size_correction: bool = True
    damping_A: float = DEFAULT_DAMPING_A

    def __post_init__(self):
        problems = Problems()
        ok_core = _length(problems, self.core_diameter, "GoldNanoshell.core_diameter", MIN_GOLD_DIMENSION)
        ok_shell = _length(problems, self.shell_thickness, "GoldNanoshell.shell_thickness", MIN_GOLD_DIMENSION)
        if ok_core and ok_shell:
            outer = float(self.core_diameter) + 2.0 * float(self.shell_thickness)
            problems.check(outer <= MAX_MIE_DIAMETER, "GoldNanoshell.core_diameter + 2 shell_thickness", outer,
                           f"an outer diameter of at most {MAX_MIE_DIAMETER:g} m ({MAX_MIE_DIAMETER * 1e9:g} nm)")
        ok_index = isinstance(self.core_index, (int, float, np.integer, np.floating)) and not isinstance(
            self.core_index, bool)
        problems.check(ok_index and np.isfinite(self.core_index) and 1.0 <= self.core_index <= 4.0,
                       "GoldNanoshell.core_index", self.core_index,
                       "a real refractive index 1-4 of a non-absorbing core (silica 1.45)")
        _check_damping(problems, "GoldNanoshell", self.size_correction, self.damping_A)
        problems.raise_if_any("invalid GoldNanoshell")
        for name in ("core_diameter", "shell_thickness", "core_index", "damping_A"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def outer_diameter(self) -> float:
        """Outer diameter [m]."""
        return self.core_diameter + 2.0 * self.shell_thickness

    @property
    def volume(self) -> float:
        """Particle volume (core and shell) [m^3]."""
        return np.pi / 6.0 * self.outer_diameter**3

    @property
    def gold_volume(self) -> float:
        """Volume of the gold shell [m^3]."""
        return np.pi / 6.0 * (self.outer_diameter**3 - self.core_diameter**3)

    @property
    def size_correction_radius(self) -> float | None:
        """Length R in the damping g(R) [m]: the shell thickness, or ``None``."""
        return self.shell_thickness if self.size_correction else None

    def permittivity(self, wavelength):
        """Gold permittivity used for the shell at vacuum wavelength(s) [m]."""
        return _checked_permittivity(self, wavelength, "GoldNanoshell")

    def cross_sections(self, wavelength, medium_index: float = 1.33) -> CrossSections:
        """Absorption and scattering cross-sections and anisotropy.

        Same parameters and returns as :meth:`GoldSphere.cross_sections`.
        """
        lam, n_m = _prepare(wavelength, medium_index, "GoldNanoshell")
        flat = lam.reshape(-1)
        m_shell = np.sqrt(_permittivity(flat, self.size_correction_radius, self.damping_A)) / n_m
        k = 2.0 * np.pi * n_m / flat
        qext, qsca, g = coated_sphere_efficiencies(
            self.core_index / n_m, m_shell, k * self.core_diameter / 2.0, k * self.outer_diameter / 2.0
        )
        area = np.pi * self.outer_diameter**2 / 4.0
        qext, qsca = np.asarray(qext), np.asarray(qsca)
        return _result((qext - qsca) * area, qsca * area, g, lam.shape)


# -- rods ----------------------------------------------------------------------------------------
def depolarization_factors(aspect_ratio) -> tuple[float, float]:
    """Depolarisation factors ``(L_long, L_trans)`` of a prolate spheroid.

    Parameters
    ----------
    aspect_ratio : float
        Long over short axis, ``a / b >= 1``.

    Notes
    -----
    ``e^2 = 1 - (b/a)^2``, ``L_long = (1 - e^2)/e^2 (artanh(e)/e - 1)``,
    ``L_trans = (1 - L_long)/2`` (Bohren & Huffman eq. 5.33). For ``e < 0.1``
    the bracket is summed as its series ``sum_k e^(2k)/(2k+1)`` (k >= 1) to
    avoid cancellation; a sphere (``aspect_ratio == 1``) gives exactly 1/3
    for both.
    """
    ar = float(aspect_ratio)
    if ar == 1.0:
        return 1.0 / 3.0, 1.0 / 3.0
    e2 = 1.0 - 1.0 / ar**2
    e = np.sqrt(e2)
    if e < 0.1:
        bracket_over_e2 = sum(e2 ** (k - 1) / (2 * k + 1) for k in range(1, 12))
        l_long = (1.0 - e2) * bracket_over_e2
    else:
        l_long = (1.0 - e2) / e2 * (np.arctanh(e) / e - 1.0)
    return float(l_long), float((1.0 - l_long) / 2.0)


def _spheroid_surface(a: float, b: float) -> float:
    """Surface area [m^2] of a prolate spheroid, semi-axes a >= b [m]."""
    e = np.sqrt(max(0.0, 1.0 - (b / a) ** 2))
    ratio = 1.0 + e**2 / 6.0 + 3.0 * e**4 / 40.0 + 5.0 * e**6 / 112.0 if e < 1e-3 else np.arcsin(e) / e
    return 2.0 * np.pi * b**2 * (1.0 + a / b * ratio)


_ORIENTATIONS = ("random", "longitudinal", "transverse")


@dataclass(frozen=True)
class GoldNanorod:
    """A gold nanorod modelled as a prolate spheroid in the quasi-static (Gans) limit.

    Parameters
    ----------
    length : float
        Tip-to-tip length [m], at most 150 nm.
    diameter : float
        Diameter [m], at least 2 nm; ``length / diameter`` (the aspect ratio)
        must be 1-10. A typical rod for 808 nm is about 40 x 10 nm.
    size_correction : bool
        Apply the surface-scattering correction (default ``True``) with
        ``R = 3 V / S`` of the physical spheroid (``length`` x ``diameter``,
        also for calibrated rods), which equals the radius for a sphere (so
        aspect ratio 1 reproduces :class:`GoldSphere`'s correction).
    damping_A : float
        Surface-scattering parameter A (dimensionless, default 0.3).
    optical_aspect_ratio : float or None
        Aspect ratio of the spheroid used for the optics; ``None`` (default)
        uses ``length / diameter``. :meth:`calibrated` sets it so the
        longitudinal peak matches a measured one. The optical spheroid keeps
        the particle's volume, so the gold content (and the concentration
        conversions) are those of the physical rod.

    Notes
    -----
    The particle is the spheroid with the given length and diameter: its
    volume ``pi L D^2 / 6`` is what :attr:`volume` and :attr:`gold_volume`
    return. A real capped cylinder (spherocylinder) of the same length and
    diameter holds ``(3 AR - 1)/(2 AR)`` times more gold (1.375 for aspect
    ratio 4); give the spheroid's dimensions accordingly if the gold mass
    matters more than the shape.

    Gans theory (Bohren & Huffman sec. 5.3; PHYSICS.md sec. 4):
    ``alpha_i = V (eps - eps_m) / (eps_m + L_i (eps - eps_m))``,
    ``C_abs,i = k Im(alpha_i)``, ``C_sca,i = k^4 |alpha_i|^2 / (6 pi)``,
    ``k = 2 pi n_m / lambda0``, randomly oriented rods average
    ``(C_long + 2 C_trans) / 3``; the anisotropy of dipole scattering is 0.
    Gans spheroids resonate some 30 nm bluer than real capped rods of the same
    aspect ratio: use :meth:`calibrated` when the measured peak is known.

    Raises
    ------
    InputError
        Sizes out of range (see the module notes), aspect ratio < 1,
        negative ``damping_A``, optical aspect ratio outside 1-15.

    Examples
    --------
    >>> rod = GoldNanorod(40e-9, 10e-9)
    >>> round(rod.aspect_ratio, 3)
    4.0
    """

    length: float
    diameter: float
    size_correction: bool = True
    damping_A: float = DEFAULT_DAMPING_A
    optical_aspect_ratio: float | None = None

    def __post_init__(self):
        problems = Problems()
        ok_len = _length(problems, self.length, "GoldNanorod.length", MIN_GOLD_DIMENSION, MAX_ROD_LENGTH)
        ok_dia = _length(problems, self.diameter, "GoldNanorod.diameter", MIN_GOLD_DIMENSION)
        if ok_len and ok_dia:
            ar = float(self.length) / float(self.diameter)
            problems.check(
                1.0 <= ar <= MAX_ROD_ASPECT_RATIO, "GoldNanorod.length / diameter", ar,
                f"an aspect ratio of 1-{MAX_ROD_ASPECT_RATIO:g} (prolate rods; length >= diameter)",
            )
        if self.optical_aspect_ratio is not None:
            try:
                oar = float(self.optical_aspect_ratio)
            except (TypeError, ValueError):
                oar = float("nan")
            problems.check(np.isfinite(oar) and 1.0 <= oar <= MAX_OPTICAL_ASPECT_RATIO,
                           "GoldNanorod.optical_aspect_ratio", self.optical_aspect_ratio,
                           f"None or an aspect ratio of 1-{MAX_OPTICAL_ASPECT_RATIO:g}")
        _check_damping(problems, "GoldNanorod", self.size_correction, self.damping_A)
        problems.raise_if_any("invalid GoldNanorod")
        for name in ("length", "diameter", "damping_A"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.optical_aspect_ratio is not None:
            object.__setattr__(self, "optical_aspect_ratio", float(self.optical_aspect_ratio))

    # -- geometry ----------------------------------------------------------------------------
    @property
    def aspect_ratio(self) -> float:
        """Physical aspect ratio, length / diameter."""
        return self.length / self.diameter

    @property
    def effective_aspect_ratio(self) -> float:
        """Aspect ratio of the spheroid used for the optics."""
        return self.aspect_ratio if self.optical_aspect_ratio is None else self.optical_aspect_ratio

    @property
    def volume(self) -> float:
        """Volume of the spheroid of this length and diameter, pi L D^2 / 6 [m^3]."""
        return np.pi / 6.0 * self.length * self.diameter**2

    @property
    def gold_volume(self) -> float:
        """Volume of gold in one rod [m^3] (the whole spheroid)."""
        return self.volume

    @property
    def size_correction_radius(self) -> float | None:
        """Length R = 3 V / S of the physical spheroid [m], or ``None``."""
        if not self.size_correction:
            return None
        return 3.0 * self.volume / _spheroid_surface(self.length / 2.0, self.diameter / 2.0)

    def depolarization_factors(self) -> tuple[float, float]:
        """``(L_long, L_trans)`` of the optical spheroid."""
        return depolarization_factors(self.effective_aspect_ratio)

    def permittivity(self, wavelength):
        """Gold permittivity used for this rod at vacuum wavelength(s) [m]."""
        return _checked_permittivity(self, wavelength, "GoldNanorod")

    # -- optics ------------------------------------------------------------------------------
    def _polarizabilities(self, lam: np.ndarray, n_m: float):
        eps = _permittivity(lam, self.size_correction_radius, self.damping_A)
        eps_m = n_m**2
        l_long, l_trans = self.depolarization_factors()
        v = self.volume
        alpha_l = v * (eps - eps_m) / (eps_m + l_long * (eps - eps_m))
        alpha_t = v * (eps - eps_m) / (eps_m + l_trans * (eps - eps_m))
        return alpha_l, alpha_t

    def cross_sections(self, wavelength, medium_index: float = 1.33, orientation: str = "random") -> CrossSections:
        """Absorption and scattering cross-sections (anisotropy 0).

        Parameters
        ----------
        wavelength : float or array_like
            Vacuum wavelength(s) [m], 187.9-1937 nm.
        medium_index : float
            Refractive index of the host medium (default 1.33, water).
        orientation : {"random", "longitudinal", "transverse"}
            ``"random"`` (default) averages over orientations,
            ``(C_long + 2 C_trans) / 3``; the others give the cross-section
            for light polarised along, or across, the rod axis.

        Returns
        -------
        CrossSections
            Shaped like ``wavelength``.
        """
        if orientation not in _ORIENTATIONS:
            raise InputError("invalid input to GoldNanorod.cross_sections",
                             [Problem("orientation", orientation, f"one of {', '.join(_ORIENTATIONS)}")])
        lam, n_m = _prepare(wavelength, medium_index, "GoldNanorod")
        alpha_l, alpha_t = self._polarizabilities(lam, n_m)
        k = 2.0 * np.pi * n_m / lam
        abs_l, abs_t = k * alpha_l.imag, k * alpha_t.imag
        sca_l = k**4 / (6.0 * np.pi) * np.abs(alpha_l) ** 2
        sca_t = k**4 / (6.0 * np.pi) * np.abs(alpha_t) ** 2
        if orientation == "random":
            absorption, scattering = (abs_l + 2.0 * abs_t) / 3.0, (sca_l + 2.0 * sca_t) / 3.0
        elif orientation == "longitudinal":
            absorption, scattering = abs_l, sca_l
        else:
            absorption, scattering = abs_t, sca_t
        return _result(absorption, scattering, np.zeros(lam.shape), lam.shape)

    def longitudinal_peak_wavelength(self, medium_index: float = 1.33) -> float:
        """Vacuum wavelength [m] of the longitudinal absorption maximum.

        Searched between 450 nm and the end of the gold data (1937 nm): a scan
        at 1 nm steps, refined to 1e-3 nm by bounded minimisation. Raises
        :class:`InputError` if the maximum lies at the end of the data (the
        band is beyond 1937 nm).
        """
        _, n_m = _prepare(600e-9, medium_index, "GoldNanorod")
        peak = _longitudinal_peak(self, n_m)
        if peak is None:
            raise InputError("longitudinal peak outside the gold data", [Problem(
                "GoldNanorod.effective_aspect_ratio", self.effective_aspect_ratio,
                "a rod whose longitudinal band peaks below 1937 nm in this medium")])
        return peak

    @classmethod
    def calibrated(cls, length: float, diameter: float, peak_wavelength: float, medium_index: float = 1.33,
                   size_correction: bool = True, damping_A: float = DEFAULT_DAMPING_A) -> "GoldNanorod":
        """A rod whose Gans longitudinal peak lands on a measured one.

        The optical spheroid keeps the rod's volume (so its gold content) and
        takes the aspect ratio (1-15) for which its longitudinal absorption
        peaks at ``peak_wavelength`` in a medium of index ``medium_index``
        (found by Brent's method to 1e-10 in aspect ratio). The calibration
        holds for that medium: compute cross-sections with the same
        ``medium_index``.

        Parameters
        ----------
        length, diameter : float
            Measured rod dimensions [m] (their ratio need not match the
            optical aspect ratio; typically the optical one is 0.3-0.6 larger).
        peak_wavelength : float
            Measured longitudinal plasmon peak, vacuum wavelength [m].
        medium_index : float
            Refractive index of the medium the peak was measured in (default 1.33).
        size_correction, damping_A
            As for the constructor.

        Raises
        ------
        InputError
            Invalid rod; a peak wavelength outside what spheroids of aspect
            ratio 1-15 reach in that medium.
        """
        problems = Problems()
        try:
            cls(length, diameter, size_correction, damping_A)
        except InputError as error:
            problems.items.extend(error.problems)
        try:
            _, n_m = _prepare(600e-9, medium_index, "GoldNanorod")
        except InputError as error:
            problems.items.extend(error.problems)
        try:
            target = float(peak_wavelength)
        except (TypeError, ValueError):
            target = float("nan")
        if problems:
            problems.check(np.isfinite(target) and target > 0, "peak_wavelength", peak_wavelength,
                           "a finite vacuum wavelength [m]")
            problems.raise_if_any("cannot calibrate GoldNanorod")

        def peak_at(ar: float) -> float | None:
            return _longitudinal_peak(cls(length, diameter, size_correction, damping_A, ar), n_m)

        lo_peak = peak_at(1.0)
        hi_ar = MAX_OPTICAL_ASPECT_RATIO
        hi_peak = peak_at(hi_ar)
        while hi_peak is None and hi_ar > 1.5:  # band beyond the data: shrink the bracket
            hi_ar -= 0.5
            hi_peak = peak_at(hi_ar)
        reach = f"a longitudinal peak {lo_peak * 1e9:.0f}-{hi_peak * 1e9:.0f} nm, what spheroids reach in this medium"
        problems.check(np.isfinite(target) and lo_peak <= target <= hi_peak, "peak_wavelength", peak_wavelength,
                       f"{reach} (vacuum wavelength [m])")
        problems.raise_if_any("cannot calibrate GoldNanorod")
        from scipy.optimize import brentq

        ar = brentq(lambda a: peak_at(a) - target, 1.0, hi_ar, xtol=1e-10)
        return cls(length, diameter, size_correction, damping_A, float(ar))


def _longitudinal_peak(rod: GoldNanorod, n_m: float) -> float | None:
    """Peak of the longitudinal absorption [m], or None if it is at the end of the data."""
    from scipy.optimize import minimize_scalar

    lam = np.arange(450e-9, 1937e-9, 1e-9)

    def c_abs(x):
        alpha_l, _ = rod._polarizabilities(np.asarray(x, dtype=float), n_m)
        return (2.0 * np.pi * n_m / np.asarray(x)) * alpha_l.imag

    values = c_abs(lam)
    i = int(np.argmax(values))
    if i == len(lam) - 1:
        return None
    lo, hi = lam[max(i - 1, 0)], lam[min(i + 1, len(lam) - 1)]
    res = minimize_scalar(lambda x: -float(c_abs(x)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    return float(res.x)
