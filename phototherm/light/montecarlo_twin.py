"""NumPy twin of the Monte Carlo kernel ``kernels/mc_transport.cu``.

The twin follows the kernel photon for photon: the same random-number streams
(xoroshiro128+ seeded per photon by splitmix64, in NumPy ``uint64``
arithmetic), the same sampling, stepping, Fresnel and roulette decisions, the
same formulas evaluated in the same order and in the same floating-point type.
The kernel's header comment documents the physics; this module documents only
how the twin is organised. Any change to one must be made to the other:
``tests/unit/test_mc_kernel_host.py`` runs the kernel's own source on the host
against this twin on every CI run, and ``tests/gpu/`` repeats it on a device.

Vectorisation. A *pool* of photons advances together, one step (to the next
voxel face or scattering point) per iteration, each photon's state held in a
column of a few 2-D arrays. Photons that finish are marked by weight 0 (every
tally of a weight-0 photon adds zero) and removed in bulk when the pool is a
quarter empty; the pool is then refilled with newly launched photons, so it
stays full until the last photons of the queue, like the kernel's persistent
threads. A run may cover several photon ranges (the driver's batches); each
photon tallies into its own range, and a range is handed to a callback as soon
as its last photon finishes, so only the ranges in flight hold a fluence map.

Differences that remain: NumPy's ``exp``/``log``/``sin``/``cos`` may differ
from the C library's or CUDA's in the last bit, which changes a decision in a
small fraction of photons; fluence is summed in float64 here (in ``real``
with atomics in the kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "mc_transport_twin",
    "twin_parameters",
    "TwinParameters",
    "TwinRun",
    "photon_streams",
    "next_uint64",
    "uniform",
    "fresnel",
    "NUM_TALLIES",
    "TALLY_NAMES",
    "SOURCE_PARAMS",
]

# ---- constants shared with kernels/mc_transport.cu -------------------------------
TWO_PI = 6.28318530717958647693
FAR = 1e30
ISOTROPIC_G = 1e-6
#: Scalar tallies, in the kernel's order (PT_MC_ABSORBED ... PT_MC_ESCAPED + 5).
TALLY_NAMES = ("absorbed", "specular", "missed", "roulette_balance", "trapped",
               "escaped_x_min", "escaped_x_max", "escaped_y_min", "escaped_y_max",
               "escaped_z_min", "escaped_z_max")
NUM_TALLIES = len(TALLY_NAMES)
ABSORBED, SPECULAR, MISSED, ROULETTE, TRAPPED, ESCAPED = 0, 1, 2, 3, 4, 5
#: Length of the source description array.
SOURCE_PARAMS = 16
FLAT_BEAM, GAUSSIAN_BEAM, POINT, LINE = 0, 1, 2, 3

_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1

# rows of the real-valued state array
_P, _U, _V, _I = slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)
_W, _TAU, _MUA, _MUS, _G, _N = 12, 13, 14, 15, 16, 17
_PROPS = slice(14, 18)
_NUM_ROWS = 18
# rows of the integer state array: voxel, steps taken, range, index in range, material
_VOX, _STEPS, _SLOT, _LOCAL, _LABEL = 0, 1, 2, 3, 4
_NUM_INT_ROWS = 5


# ---- random numbers -------------------------------------------------------------
def _mix_int(z: int) -> int:
    """splitmix64's output function on a Python int (mod 2^64)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's output function on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> 30)) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> 27)) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> 31)


def photon_streams(seed: int, photons: np.ndarray) -> np.ndarray:
    """xoroshiro128+ states of the given photon indices, shape ``(2, len(photons))`` uint64.

    Photon ``i`` gets ``mix(base + (2i+1) G)`` and ``mix(base + (2i+2) G)``,
    consecutive outputs of splitmix64 started at ``base = mix(seed + G)``
    (``G`` = 0x9E3779B97F4A7C15); ``mix`` is a bijection, so the two words
    are never both zero and no two photons share a stream start.
    """
    base = np.uint64(_mix_int(int(seed) + _GOLDEN))
    i2 = np.asarray(photons, dtype=np.uint64) * np.uint64(2)
    golden = np.uint64(_GOLDEN)
    state = np.empty((2, i2.size), dtype=np.uint64)
    state[0] = _mix(base + (i2 + np.uint64(1)) * golden)
    state[1] = _mix(base + (i2 + np.uint64(2)) * golden)
    return state


def next_uint64(state: np.ndarray) -> np.ndarray:
    """Advance xoroshiro128+ states ``(2, n)`` in place; return their outputs."""
    s0 = state[0]
    s1 = state[1] ^ s0
    result = s0 + state[1]
    state[0] = ((s0 << np.uint64(24)) | (s0 >> np.uint64(40))) ^ s1 ^ (s1 << np.uint64(16))
    state[1] = (s1 << np.uint64(37)) | (s1 >> np.uint64(27))
    return result


def uniform(state: np.ndarray, real) -> np.ndarray:
    """Next uniform in [0, 1) of each stream: top 53 bits (float64) or 24 bits (float32), exact."""
    r = next_uint64(state)
    if np.dtype(real) == np.float32:
        return (r >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    return (r >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def _depth(state: np.ndarray, real) -> np.ndarray:
    """Optical depth -ln(1 - U), U in [0, 1): finite and >= 0."""
    return -np.log(real(1) - uniform(state, real))


# ---- optics ------------------------------------------------------------------------
def fresnel(n1, n2, cos_i):
    """Unpolarised Fresnel reflectance from index ``n1`` into ``n2`` (arrays, same dtype).

    Returns ``(tir, R, cos_t)``: total internal reflection flags, the
    reflectance where not total (NaN where total) and the cosine of the
    refraction angle. Same expressions as ``pt_fresnel`` in the kernel.
    """
    real = np.result_type(n1, n2, cos_i).type
    eta = n1 / n2
    sin_t2 = eta * eta * (real(1) - cos_i * cos_i)
    tir = sin_t2 >= real(1)
    with np.errstate(invalid="ignore"):
        cos_t = np.sqrt(real(1) - sin_t2)
    a = n1 * cos_i
    b = n2 * cos_t
    rs = (a - b) / (a + b)
    c = n1 * cos_t
    d = n2 * cos_i
    rp = (c - d) / (c + d)
    R = real(0.5) * (rs * rs + rp * rp)
    return tir, R, cos_t


def _hg_cosine(g, xi, real):
    """Henyey-Greenstein polar cosine (``pt_hg_cosine``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tmp = (real(1) - g * g) / (real(1) - g + real(2) * g * xi)
        ct = (real(1) + g * g - tmp * tmp) / (real(2) * g)
    ct = np.minimum(np.maximum(ct, real(-1)), real(1))
    return np.where(np.abs(g) < real(ISOTROPIC_G), real(2) * xi - real(1), ct)


def _sincos_turn(turn, real):
    """sin and cos of 2 pi ``turn`` (``pt_sincos_turn``).

    The kernel calls CUDA's ``sincospi(2 t)``; the twin (and the host build)
    evaluate sin and cos of 2 pi t rounded to the type, which equals pi (2 t)
    rounded, so they agree exactly; the device's sincospi, which does not
    round its argument, differs from both in the last bit only.
    """
    phi = real(TWO_PI) * turn
    return np.sin(phi), np.cos(phi)


def _rotate(u, ct, turn, real):
    """New unit directions at polar cosine ``ct``, azimuth ``turn`` [turns] about ``u`` (3, n) (``pt_rotate``)."""
    ux, uy, uz = u
    st = np.sqrt(real(1) - ct * ct)
    sp, cp = _sincos_turn(turn, real)
    sign = np.where(uz < real(0), real(-1), real(1))
    a = real(-1) / (sign + uz)
    b = ux * uy * a
    e1x = real(1) + sign * ux * ux * a
    e1y = sign * b
    e1z = -sign * ux
    e2x = b
    e2y = sign + uy * uy * a
    e2z = -uy
    x = st * (cp * e1x + sp * e2x) + ct * ux
    y = st * (cp * e1y + sp * e2y) + ct * uy
    z = st * (cp * e1z + sp * e2z) + ct * uz
    inv = real(1) / np.sqrt(x * x + y * y + z * z)
    return x * inv, y * inv, z * inv


def _isotropic(rng, real):
    """Isotropic unit directions (3, n) from two uniforms each (``pt_isotropic``)."""
    uz = real(1) - real(2) * uniform(rng, real)
    sp, cp = _sincos_turn(uniform(rng, real), real)
    st = np.sqrt(real(1) - uz * uz)
    return np.stack((st * cp, st * sp, uz))


# ---- the run ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TwinParameters:
    """The kernel's arguments, as the twin holds them (see :func:`mc_transport_twin`)."""

    props: np.ndarray          # (n_voxels, 4) real: mua [1/m], mus [1/m], g, n
    shape: tuple[int, int, int]
    source: np.ndarray         # (SOURCE_PARAMS,) real
    source_kind: int
    face_axis: int
    face_side: int
    inv_h: np.ndarray          # (3,) real [1/m]
    ambient_index: float
    seed: int
    roulette: bool
    roulette_threshold: float
    roulette_chance: float
    max_steps: int

    @property
    def real(self):
        return self.props.dtype.type

    def materials(self) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, table)``: the distinct property rows and each voxel's row number.

        The twin compares labels to skip reloading properties when a photon
        crosses into an identical voxel (the kernel reloads; the values agree).
        """
        rows = np.ascontiguousarray(self.props)
        keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * 4))).ravel()
        _, first, labels = np.unique(keys, return_index=True, return_inverse=True)
        return labels.astype(np.int64).ravel(), rows[first]


#: Called with (range index, fluence tally (float64, shape) [m x weight], tallies (NUM_TALLIES,) float64).
RangeCallback = Callable[[int, np.ndarray, np.ndarray], None]


class TwinRun:
    """Transport the photons of several index ranges through one streaming pool.

    Parameters
    ----------
    params : TwinParameters
    ranges : sequence of (first_photon, photon_count)
        Photon index ranges; each tallies separately.
    on_range_done : callable
        ``on_range_done(j, fluence, tallies)`` once range ``j``'s last photon
        has finished; ``fluence`` [m x weight] is float64 of ``params.shape``.
    pool_size : int
        Photons advanced together.
    photon_tallies : sequence of ndarray or None
        Optional per-range arrays of shape ``(count, NUM_TALLIES)`` that
        receive each photon's own tallies (for photon-by-photon comparisons).
    """

    def __init__(self, params: TwinParameters, ranges: Sequence[tuple[int, int]], on_range_done: RangeCallback,
                 *, pool_size: int = 1 << 14, photon_tallies: Sequence[np.ndarray] | None = None):
        self.p = params
        self.real = params.real
        self.ranges = [(int(a), int(n)) for a, n in ranges]
        self.on_range_done = on_range_done
        self.pool_size = int(pool_size)
        self.photon_tallies = photon_tallies
        nx, ny, nz = params.shape
        self.n_voxels = nx * ny * nz
        self.n_cells = np.array(params.shape, dtype=np.int64)
        self.strides = np.array([ny * nz, nz, 1], dtype=np.int64)
        self.inv_h_col = params.inv_h.reshape(3, 1)
        self.labels, self.table = params.materials()
        self.n_of_label = np.ascontiguousarray(self.table[:, 3])
        # per range: photons finished, fluence map, tallies
        self.finished = [0] * len(self.ranges)
        self.fluence: dict[int, np.ndarray] = {}
        self.tallies = [np.zeros(NUM_TALLIES) for _ in self.ranges]
        self._deposits: list[tuple[np.ndarray, np.ndarray]] = []
        self._deposit_count = 0
        # launch queue: (range, next local index)
        self._queue_range = 0
        self._queue_next = 0
        # the pool
        self.R = np.empty((_NUM_ROWS, 0), dtype=self.real)
        self.K = np.empty((_NUM_INT_ROWS, 0), dtype=np.int64)
        self.S = np.empty((2, 0), dtype=np.uint64)
        self.T = np.empty((NUM_TALLIES, 0), dtype=np.float64)

    # -- driving ----------------------------------------------------------------------
    def run(self) -> None:
        for j, (_, count) in enumerate(self.ranges):
            if count == 0:
                self._range_done(j)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self._refill()
            while self.R.shape[1]:
                self._step()
                alive = np.count_nonzero(self.R[_W] > 0)
                size = self.R.shape[1]
                if alive == 0 or (alive < 0.75 * size and (self._queue_left() or alive < 0.5 * size)):
                    self._compact()
                    self._refill()

    def _queue_left(self) -> bool:
        return self._queue_range < len(self.ranges)

    def _refill(self) -> None:
        while self._queue_left() and self.R.shape[1] < self.pool_size:
            j = self._queue_range
            first, count = self.ranges[j]
            take = min(count - self._queue_next, self.pool_size - self.R.shape[1])
            local = np.arange(self._queue_next, self._queue_next + take, dtype=np.int64)
            self._queue_next += take
            if self._queue_next >= count:
                self._queue_range += 1
                self._queue_next = 0
            self._launch(j, first, local)

    # -- launch -------------------------------------------------------------------------
    def _launch(self, j: int, first: int, local: np.ndarray) -> None:
        p, real = self.p, self.real
        m = local.size
        rng = photon_streams(p.seed, np.uint64(first) + local.astype(np.uint64))
        T = np.zeros((NUM_TALLIES, m))
        w = np.ones(m, dtype=real)
        src = p.source
        if p.source_kind in (FLAT_BEAM, GAUSSIAN_BEAM):
            a = p.face_axis
            xi_r = uniform(rng, real)
            sp, cp = _sincos_turn(uniform(rng, real), real)
            radius = src[12]
            if p.source_kind == GAUSSIAN_BEAM:
                r = radius * np.sqrt(real(-0.5) * np.log(real(1) - xi_r))
            else:
                r = radius * np.sqrt(xi_r)
            q = np.stack([src[d] + r * (cp * src[6 + d] + sp * src[9 + d]) * p.inv_h[d] for d in range(3)])
            u = np.repeat(src[3:6].reshape(3, 1), m, axis=1)
            dv = src[3:6] * p.inv_h
            face = real(self.n_cells[a]) if p.face_side else real(0)
            t = (face - q[a]) / dv[a]
            pos = q + t * dv.reshape(3, 1)
            pos[a] = face
            upper = self.n_cells.astype(real).reshape(3, 1)
            outside = ((pos < real(0)) | (pos > upper)).any(axis=0)
            ix = np.clip(np.floor(pos), 0, upper - 1)
            ix[a] = self.n_cells[a] - 1 if p.face_side else 0
            T[MISSED, outside] = 1.0
            w[outside] = 0
            voxel = self._flat(ix)
            n2 = self.p.props[voxel, 3]
            ambient = real(p.ambient_index)
            mism = np.flatnonzero((n2 != ambient) & ~outside)
            if mism.size:
                u_a = u[a, mism]
                tir, R, cos_t = fresnel(np.full(mism.size, ambient), n2[mism], np.abs(u_a))
                ok = ~tir
                T[SPECULAR, mism[tir]] = 1.0
                w[mism[tir]] = 0
                w_in = real(1) - R[ok]
                k = mism[ok]
                w[k] = w_in
                T[SPECULAR, k] = 1.0 - w_in.astype(np.float64)
                eta = ambient / n2[k]
                u[:, k] = eta * u[:, k]
                u[a, k] = np.where(u_a[ok] < real(0), -cos_t[ok], cos_t[ok])
        else:
            if p.source_kind == LINE:
                xi = uniform(rng, real)
                pos = np.stack([src[d] + xi * src[3 + d] for d in range(3)])
            else:
                pos = np.repeat(src[0:3].reshape(3, 1), m, axis=1)
            upper = self.n_cells.astype(real).reshape(3, 1)
            ix = np.clip(np.floor(pos), 0, upper - 1)
            u = _isotropic(rng, real)
            voxel = self._flat(ix)
        R = np.empty((_NUM_ROWS, m), dtype=real)
        R[_P] = pos
        R[_U] = u
        R[_V] = u * self.inv_h_col
        R[_I] = ix
        R[_W] = w
        R[_TAU] = _depth(rng, real)
        R[_PROPS] = self.p.props[voxel].T
        K = np.empty((_NUM_INT_ROWS, m), dtype=np.int64)
        K[_VOX] = voxel
        K[_STEPS] = 0
        K[_SLOT] = j
        K[_LOCAL] = local
        K[_LABEL] = self.labels[voxel]
        if j not in self.fluence:
            self.fluence[j] = np.zeros(self.n_voxels)
        self.R = np.concatenate((self.R, R), axis=1)
        self.K = np.concatenate((self.K, K), axis=1)
        self.S = np.concatenate((self.S, rng), axis=1)
        self.T = np.concatenate((self.T, T), axis=1)

    def _flat(self, ix: np.ndarray) -> np.ndarray:
        i = ix.astype(np.int64)
        return (i[0] * self.strides[0] + i[1] * self.strides[1]) + i[2]

    # -- one step of every photon in the pool ---------------------------------------------
    def _step(self) -> None:
        p, real, R, K, T = self.p, self.real, self.R, self.K, self.T
        pos, v, ix = R[_P], R[_V], R[_I]
        # the nearest face along each axis: kernel's pt_face_distance, where v = 0
        # gives +inf or NaN here (FAR there); fmin skips NaN, so the choice agrees
        ahead = v > real(0)
        bound = ix + ahead
        dist = np.abs(bound - pos) / np.abs(v)
        s_face = np.fmin(np.fmin(dist[0], dist[1]), dist[2])
        axis = np.where(dist[0] == s_face, 0, np.where(dist[1] == s_face, 1, 2))
        s_scatter = R[_TAU] / R[_MUS]
        scatter = s_scatter < s_face
        s = np.where(scatter, s_scatter, s_face)
        # move, clamped to the voxel; face steps land exactly on the face
        moved = pos + s * v
        np.maximum(moved, ix, out=moved)
        np.minimum(moved, ix + real(1), out=moved)
        fc = np.flatnonzero(~scatter)
        ax = axis[fc]
        moved[ax, fc] = bound[ax, fc]
        R[_P] = moved
        # continuous absorption and the track-length fluence tally
        mua, w = R[_MUA], R[_W]
        frac = -np.expm1(-(mua * s))
        dw = w * frac
        w_next = w - dw
        if real is np.float64:
            T[ABSORBED] += w - w_next
        else:
            T[ABSORBED] += w.astype(np.float64) - w_next.astype(np.float64)
        track = w * s
        np.divide(dw, mua, out=track, where=mua > real(0))
        self._deposit(K[_SLOT] * self.n_voxels + K[_VOX], track)
        R[_W] = w_next
        R[_TAU] = np.maximum(R[_TAU] - R[_MUS] * s, real(0))
        sc = np.flatnonzero(scatter)
        if sc.size:
            self._scatter(sc)
        if fc.size:
            self._cross(fc, ax)
        # weight underflow ends a photon; then roulette; then the step cap
        w = R[_W]
        if p.roulette:
            rl = np.flatnonzero((w > real(0)) & (w < real(p.roulette_threshold)))
            if rl.size:
                rng = self.S[:, rl]
                survive = uniform(rng, real) < real(p.roulette_chance)
                self.S[:, rl] = rng
                w_old = w[rl]
                w_new = np.where(survive, w_old / real(p.roulette_chance), real(0))
                T[ROULETTE, rl] += np.where(survive, w_new.astype(np.float64) - w_old.astype(np.float64),
                                            -w_old.astype(np.float64))
                w[rl] = w_new
        alive = w > real(0)
        K[_STEPS] += alive
        capped = np.flatnonzero(alive & (K[_STEPS] >= p.max_steps))
        if capped.size:
            T[TRAPPED, capped] += w[capped].astype(np.float64)
            w[capped] = real(0)

    def _scatter(self, sc: np.ndarray) -> None:
        real, R = self.real, self.R
        rng = self.S[:, sc]
        ct = _hg_cosine(R[_G, sc], uniform(rng, real), real)
        u = np.stack(_rotate(R[_U, sc], ct, uniform(rng, real), real))
        R[_U, sc] = u
        R[_V, sc] = u * self.inv_h_col
        R[_TAU, sc] = _depth(rng, real)
        self.S[:, sc] = rng

    def _cross(self, fc: np.ndarray, ax: np.ndarray) -> None:
        p, real, R, K = self.p, self.real, self.R, self.K
        v_a = R[6 + ax, fc]
        u_a = R[3 + ax, fc]
        i_a = R[9 + ax, fc]
        ahead = v_a > real(0)
        i_next = np.where(ahead, i_a + real(1), i_a - real(1))
        leaving = (i_next < real(0)) | (i_next >= self.n_cells[ax])
        step = np.where(ahead, self.strides[ax], -self.strides[ax])
        voxel_next = K[_VOX, fc] + step
        label_next = self.labels[np.where(leaving, 0, voxel_next)]
        n1 = R[_N, fc]
        n2 = np.where(leaving, real(p.ambient_index), self.n_of_label[label_next])
        reflect = np.zeros(fc.size, dtype=bool)
        cos_t = np.ones(fc.size, dtype=real)
        mism = np.flatnonzero(n2 != n1)
        if mism.size:
            tir, Rf, ct = fresnel(n1[mism], n2[mism], np.abs(u_a[mism]))
            reflect[mism] = tir
            drawn = mism[~tir]
            if drawn.size:
                who = fc[drawn]
                rng = self.S[:, who]
                reflect[drawn] = uniform(rng, real) < Rf[~tir]
                self.S[:, who] = rng
            cos_t[mism] = ct
        # reflection: the normal component flips
        rf = np.flatnonzero(reflect)
        if rf.size:
            R[3 + ax[rf], fc[rf]] = -u_a[rf]
            R[6 + ax[rf], fc[rf]] = -v_a[rf]
        # escape through the grid boundary, tallied to the face left by
        es = np.flatnonzero(leaving & ~reflect)
        if es.size:
            who = fc[es]
            face = 2 * ax[es] + (u_a[es] > real(0))
            self.T[ESCAPED + face, who] += R[_W, who].astype(np.float64)
            R[_W, who] = real(0)
        # into the neighbouring voxel, refracted where the index changes
        mv = np.flatnonzero(~leaving & ~reflect)
        if mv.size:
            who = fc[mv]
            refr = np.flatnonzero(n2[mv] != n1[mv])
            if refr.size:
                k = who[refr]
                eta = n1[mv[refr]] / n2[mv[refr]]
                u = eta * R[_U, k]
                u[ax[mv[refr]], np.arange(refr.size)] = np.where(u_a[mv[refr]] < real(0), -cos_t[mv[refr]],
                                                                 cos_t[mv[refr]])
                R[_U, k] = u
                R[_V, k] = u * self.inv_h_col
            R[9 + ax[mv], who] = i_next[mv]
            K[_VOX, who] = voxel_next[mv]
            new = label_next[mv]
            other = np.flatnonzero(new != K[_LABEL, who])
            if other.size:
                K[_LABEL, who[other]] = new[other]
                R[_PROPS, who[other]] = self.table[new[other]].T

    # -- tallies ------------------------------------------------------------------------------
    def _deposit(self, key: np.ndarray, track: np.ndarray) -> None:
        """Buffer fluence contributions; ``key`` = range * n_voxels + voxel (fresh arrays)."""
        self._deposits.append((key, track))
        self._deposit_count += track.size
        if self._deposit_count > (1 << 22):
            self._flush_deposits()

    def _flush_deposits(self) -> None:
        if not self._deposits:
            return
        key = np.concatenate([d[0] for d in self._deposits])
        track = np.concatenate([d[1] for d in self._deposits]).astype(np.float64, copy=False)
        self._deposits.clear()
        self._deposit_count = 0
        lo, hi = int(key.min()) // self.n_voxels, int(key.max()) // self.n_voxels
        sums = np.bincount(key - lo * self.n_voxels, weights=track, minlength=(hi - lo + 1) * self.n_voxels)
        for j, part in zip(range(lo, hi + 1), sums.reshape(hi - lo + 1, self.n_voxels)):
            if j in self.fluence:  # ranges between lo and hi may be finished (and had no deposits)
                self.fluence[j] += part

    def _compact(self) -> None:
        """Remove finished photons (weight 0), adding their tallies to their ranges."""
        done = self.R[_W] <= 0
        if not done.any():
            return
        slot = self.K[_SLOT, done]
        T = self.T[:, done]
        for j in np.unique(slot):
            mine = slot == j
            self.tallies[j] += T[:, mine].sum(axis=1)
            self.finished[j] += int(mine.sum())
            if self.photon_tallies is not None:
                self.photon_tallies[j][self.K[_LOCAL, done][mine]] = T[:, mine].T
        keep = ~done
        self.R = self.R[:, keep]
        self.K = self.K[:, keep]
        self.S = self.S[:, keep]
        self.T = self.T[:, keep]
        for j in np.unique(slot):
            if self.finished[j] == self.ranges[j][1]:
                self._range_done(int(j))

    def _range_done(self, j: int) -> None:
        self._flush_deposits()
        fluence = self.fluence.pop(j, None)
        if fluence is None:
            fluence = np.zeros(self.n_voxels)
        self.on_range_done(j, fluence.reshape(self.p.shape), self.tallies[j])


def twin_parameters(props, fluence, tallies, source, source_kind, face_axis, face_side, nx, ny, nz,
                    inv_hx, inv_hy, inv_hz, ambient_index, seed, first_photon, photon_count,
                    roulette, roulette_threshold, roulette_chance, max_steps) -> TwinParameters:
    """The kernel's argument list (``mc_transport<real>``, in order) as :class:`TwinParameters`.

    ``fluence``, ``tallies``, ``first_photon`` and ``photon_count`` are not
    part of the parameters (they belong to one launch) and may be None.
    """
    real = props.dtype.type
    return TwinParameters(
        props=np.ascontiguousarray(props).reshape(-1, 4), shape=(int(nx), int(ny), int(nz)),
        source=np.asarray(source, dtype=real), source_kind=int(source_kind), face_axis=int(face_axis),
        face_side=int(face_side), inv_h=np.array([inv_hx, inv_hy, inv_hz], dtype=real),
        ambient_index=float(ambient_index), seed=int(seed), roulette=bool(roulette),
        roulette_threshold=float(roulette_threshold), roulette_chance=float(roulette_chance),
        max_steps=int(max_steps),
    )


def mc_transport_twin(*args, pool_size: int = 1 << 14, photon_tallies: np.ndarray | None = None) -> None:
    """Run photons ``first_photon ... first_photon + photon_count - 1`` like one kernel launch.

    Takes the arguments of ``mc_transport<real>`` in ``kernels/mc_transport.cu``
    in order, as :func:`phototherm.light.montecarlo.kernel_arguments` builds
    them, and accumulates into ``fluence`` and ``tallies`` as the kernel does:

    ``props`` : ndarray (nx, ny, nz, 4), float32 or float64
        Per voxel: absorption mua [1/m], scattering mus [1/m], anisotropy g,
        refractive index n. Its dtype is the transport's floating-point type.
    ``fluence`` : ndarray (nx, ny, nz)
        Track-length fluence tally [m x weight], accumulated.
    ``tallies`` : ndarray (NUM_TALLIES,), float64
        Scalar tallies in launched-weight units (:data:`TALLY_NAMES`), accumulated.
    ``source`` : ndarray (SOURCE_PARAMS,)
        Source description (layout in the kernel's header).
    ``source_kind, face_axis, face_side`` : int
        :data:`~phototherm.light.sources.SOURCE_KINDS` code; entry face of a beam.
    ``nx, ny, nz`` : int
        Grid shape.
    ``inv_hx, inv_hy, inv_hz`` : float
        Inverse voxel sizes [1/m].
    ``ambient_index`` : float
        Refractive index outside the grid.
    ``seed, first_photon, photon_count`` : int
        Random seed and the photon index range.
    ``roulette`` : int
        Russian roulette on (1) or off (0).
    ``roulette_threshold, roulette_chance`` : float
        Weight below which roulette is played, and the survival probability.
    ``max_steps`` : int
        Steps after which a photon is stopped and tallied as trapped.

    Parameters
    ----------
    *args
        The kernel's arguments, above.
    pool_size : int
        Photons advanced together.
    photon_tallies : ndarray, shape (photon_count, NUM_TALLIES), optional
        Receives each photon's own tallies.
    """
    fluence, tallies, first_photon, photon_count = args[1], args[2], args[15], args[16]
    params = twin_parameters(*args)

    def done(_, fluence_tally, range_tallies):
        np.add(fluence, fluence_tally.astype(fluence.dtype), out=fluence)
        np.add(tallies, range_tallies, out=tallies)

    TwinRun(params, [(int(first_photon), int(photon_count))], done, pool_size=pool_size,
            photon_tallies=None if photon_tallies is None else [photon_tallies]).run()
