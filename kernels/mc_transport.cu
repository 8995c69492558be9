// mc_transport.cu: voxel Monte Carlo photon transport (MCX-like), one photon
// packet at a time per thread, persistent threads looping over photon indices.
//
// NumPy twin: phototherm.light.montecarlo_twin.mc_transport_twin, which follows
// the same photons with the same random numbers and the same formulas in the
// same order. Any change here must be made there too; the host build
// (tests/unit/test_mc_kernel_host.py) and the GPU parity tests
// (tests/gpu/test_montecarlo_gpu_parity.py) compare the two photon for photon.
//
// Geometry. Positions are in voxel units relative to the grid's corner (voxel
// (i, j, k) covers [i, i+1) x [j, j+1) x [k, k+1)); directions u are unit
// vectors in physical space; v = u * (1 / spacing) is the direction in voxel
// units per metre, so a step of s metres moves the position by s * v. Each
// photon carries its voxel index, and a step never leaves the voxel: it ends
// at the nearer of the next voxel face and the next scattering point.
//
// Transport. The distance to the next scattering point is sampled as a
// dimensionless optical depth tau = -ln(xi), consumed voxel by voxel as
// mus * length (so heterogeneity is exact). Absorption is continuous: over a
// segment of length s in a voxel the weight falls from w to w exp(-mua s); the
// segment adds w (1 - exp(-mua s)) / mua (w s where mua = 0) to the voxel's
// fluence tally [m x weight] (track-length estimator; the voxel absorbs mua
// times that). Scattering is Henyey-Greenstein with the voxel's g. A face
// between voxels of different refractive index reflects with the Fresnel
// probability (unpolarised) or refracts by Snell's law; beyond the critical
// angle it reflects totally. The grid boundary is such a face with the
// ambient index outside: transmitted weight escapes and is tallied to the
// face it left by. Russian roulette: a packet whose weight drops below
// `roulette_threshold` survives with probability `roulette_chance` (weight
// divided by it) or dies; `roulette_balance` = weight created - weight killed.
// A packet also ends when its weight underflows to 0 (roulette off), or after
// `max_steps` steps (face crossings + scatterings), its weight then tallied as
// `trapped` (only light held by total internal reflection in a region that
// neither absorbs nor scatters gets there).
//
// Sources (launch). Collimated beams (flat disc, Gaussian of 1/e^2 radius,
// pencil when radius = 0) are sampled in the plane perpendicular to their
// direction, carried along it to the plane of the entry face, counted as
// `missed` if they land outside the face, and enter with weight 1 - R_Fresnel
// (R to `specular`, deterministically, as MCML), refracted by Snell's law.
// Isotropic points, and cylindrical diffusers (uniform along a segment,
// isotropic direction) start inside the grid with weight 1.
//
// Random numbers. xoroshiro128+ (Blackman and Vigna, 2018 constants 24/16/37),
// one stream per photon: photon i's state is two outputs of splitmix64,
// mix(base + (2i+1) G) and mix(base + (2i+2) G) with G the golden-ratio
// increment and base = mix(seed + G), so a photon's history depends only on
// (seed, i), whatever the launch configuration. A 64-bit output r becomes a
// uniform in [0, 1) from its top bits: (r >> 11) * 2^-53 in double,
// (r >> 40) * 2^-24 in float (both exact). Logarithms take 1 - that, in (0, 1].
//
// Energy accounting, exact up to rounding of the double tallies:
//   absorbed + sum(escaped) + specular + missed + trapped
//     = launched + roulette_balance.
// Weight differences are formed in double from the packet's `real` weights,
// so the identity holds in float as in double.
//
// Launch: any 1-D grid of 1-D blocks; thread t handles photons
// first_photon + t, first_photon + t + stride, ... (stride = threads in all).

#define PT_MC_FAR 1e30          // "no face / no scattering along this axis"
#define PT_MC_ISOTROPIC_G 1e-6  // |g| below this scatters isotropically

// Scalar tallies [launched weight units], in this order.
#define PT_MC_ABSORBED 0
#define PT_MC_SPECULAR 1
#define PT_MC_MISSED 2
#define PT_MC_ROULETTE 3
#define PT_MC_TRAPPED 4
#define PT_MC_ESCAPED 5  // 6 entries: x_min, x_max, y_min, y_max, z_min, z_max
#define PT_MC_NUM_TALLIES 11

// Source kinds (phototherm.light.sources.SOURCE_KINDS) and parameter layout.
#define PT_MC_FLAT_BEAM 0
#define PT_MC_GAUSSIAN_BEAM 1
#define PT_MC_POINT 2
#define PT_MC_LINE 3
// source[0:3]   beam axis point on the face / point / line start  [voxel units]
// source[3:6]   beam direction (unit, physical) / line end - start [voxel units]
// source[6:12]  beam: two unit vectors e1, e2 perpendicular to the direction
// source[12]    beam radius [m] (flat radius or Gaussian 1/e^2 radius)
#define PT_MC_SOURCE_PARAMS 16

typedef unsigned long long pt_u64;

// -- random numbers ------------------------------------------------------------
__device__ __forceinline__ pt_u64 pt_splitmix_mix(pt_u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define PT_MC_GOLDEN 0x9E3779B97F4A7C15ULL

struct pt_rng {
    pt_u64 s0, s1;
};

__device__ __forceinline__ pt_rng pt_rng_for_photon(pt_u64 seed, pt_u64 photon) {
    const pt_u64 base = pt_splitmix_mix(seed + PT_MC_GOLDEN);
    pt_rng r;
    r.s0 = pt_splitmix_mix(base + (2ULL * photon + 1ULL) * PT_MC_GOLDEN);
    r.s1 = pt_splitmix_mix(base + (2ULL * photon + 2ULL) * PT_MC_GOLDEN);
    return r;
}

__device__ __forceinline__ pt_u64 pt_rotl(pt_u64 x, int k) { return (x << k) | (x >> (64 - k)); }

__device__ __forceinline__ pt_u64 pt_next(pt_rng& r) {
    const pt_u64 s0 = r.s0;
    pt_u64 s1 = r.s1;
    const pt_u64 result = s0 + s1;
    s1 ^= s0;
    r.s0 = pt_rotl(s0, 24) ^ s1 ^ (s1 << 16);
    r.s1 = pt_rotl(s1, 37);
    return result;
}

// Uniform in [0, 1) from the top bits of one output.
__device__ __forceinline__ void pt_uniform(pt_rng& r, float& out) {
    out = (float)(pt_next(r) >> 40) * 0x1.0p-24f;
}
__device__ __forceinline__ void pt_uniform(pt_rng& r, double& out) {
    out = (double)(pt_next(r) >> 11) * 0x1.0p-53;
}
template <typename real>
__device__ __forceinline__ real pt_rand(pt_rng& r) {
    real u;
    pt_uniform(r, u);
    return u;
}
// -- precision overloads -------------------------------------------------------
__device__ __forceinline__ float pt_log(float x) { return logf(x); }
__device__ __forceinline__ double pt_log(double x) { return log(x); }
__device__ __forceinline__ float pt_expm1(float x) { return expm1f(x); }
__device__ __forceinline__ double pt_expm1(double x) { return expm1(x); }
__device__ __forceinline__ float pt_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double pt_sqrt(double x) { return sqrt(x); }
// sine and cosine of 2 pi t for t in [0, 1) (an azimuth in turns): sincospi
// needs no argument reduction, so no slow path and no local memory.
__device__ __forceinline__ void pt_sincos_turn(float t, float& s, float& c) { sincospif(2.0f * t, &s, &c); }
__device__ __forceinline__ void pt_sincos_turn(double t, double& s, double& c) { sincospi(2.0 * t, &s, &c); }
__device__ __forceinline__ float pt_floor(float x) { return floorf(x); }
__device__ __forceinline__ double pt_floor(double x) { return floor(x); }
template <typename real>
__device__ __forceinline__ real pt_abs(real x) { return x < real(0) ? -x : x; }
template <typename real>
__device__ __forceinline__ real pt_min(real a, real b) { return b < a ? b : a; }
template <typename real>
__device__ __forceinline__ real pt_max(real a, real b) { return b > a ? b : a; }

// -ln(xi) with xi = 1 - uniform in (0, 1]: finite, >= 0.
template <typename real>
__device__ __forceinline__ real pt_rand_depth(pt_rng& r) {
    return -pt_log(real(1) - pt_rand<real>(r));
}

// Three components; selected by a runtime axis with branches, never by
// indexing, so that the photon state stays in registers.
template <typename T>
struct pt_vec3 {
    T x, y, z;
};
template <typename T>
__device__ __forceinline__ T pt_pick(const pt_vec3<T>& a, int axis) {
    return axis == 0 ? a.x : (axis == 1 ? a.y : a.z);
}
template <typename T>
__device__ __forceinline__ void pt_put(pt_vec3<T>& a, int axis, T value) {
    if (axis == 0) a.x = value;
    else if (axis == 1) a.y = value;
    else a.z = value;
}

// -- optics ----------------------------------------------------------------------
// Fresnel reflectance (unpolarised) from index n1 into n2 at incidence cosine
// cos_i. Returns true on total internal reflection; otherwise sets R and the
// cosine of the refraction angle cos_t.
template <typename real>
__device__ __forceinline__ bool pt_fresnel(real n1, real n2, real cos_i, real& R, real& cos_t) {
    const real eta = n1 / n2;
    const real sin_t2 = eta * eta * (real(1) - cos_i * cos_i);
    if (sin_t2 >= real(1)) return true;
    cos_t = pt_sqrt(real(1) - sin_t2);
    const real a = n1 * cos_i;
    const real b = n2 * cos_t;
    const real rs = (a - b) / (a + b);
    const real c = n1 * cos_t;
    const real d = n2 * cos_i;
    const real rp = (c - d) / (c + d);
    R = real(0.5) * (rs * rs + rp * rp);
    return false;
}

// u <- the direction at polar cosine ct and azimuth `turn` (in turns) about u
// (unit result). The frame perpendicular to u is the branch-free one of Duff
// et al. (2017).
template <typename real>
__device__ __forceinline__ void pt_rotate(pt_vec3<real>& u, real ct, real turn) {
    const real st = pt_sqrt(real(1) - ct * ct);
    real sp, cp;
    pt_sincos_turn(turn, sp, cp);
    const real sign = u.z < real(0) ? real(-1) : real(1);
    const real a = real(-1) / (sign + u.z);
    const real b = u.x * u.y * a;
    const real e1x = real(1) + sign * u.x * u.x * a;
    const real e1y = sign * b;
    const real e1z = -sign * u.x;
    const real e2x = b;
    const real e2y = sign + u.y * u.y * a;
    const real e2z = -u.y;
    const real x = st * (cp * e1x + sp * e2x) + ct * u.x;
    const real y = st * (cp * e1y + sp * e2y) + ct * u.y;
    const real z = st * (cp * e1z + sp * e2z) + ct * u.z;
    const real inv = real(1) / pt_sqrt(x * x + y * y + z * z);
    u.x = x * inv;
    u.y = y * inv;
    u.z = z * inv;
}

// Henyey-Greenstein polar cosine for anisotropy g from a uniform xi in [0, 1).
template <typename real>
__device__ __forceinline__ real pt_hg_cosine(real g, real xi) {
    if (pt_abs(g) < real(PT_MC_ISOTROPIC_G)) return real(2) * xi - real(1);
    const real tmp = (real(1) - g * g) / (real(1) - g + real(2) * g * xi);
    const real ct = (real(1) + g * g - tmp * tmp) / (real(2) * g);
    return pt_min(pt_max(ct, real(-1)), real(1));
}

// Isotropic unit direction from two uniforms.
template <typename real>
__device__ __forceinline__ pt_vec3<real> pt_isotropic(pt_rng& rng) {
    const real uz = real(1) - real(2) * pt_rand<real>(rng);
    real sp, cp;
    pt_sincos_turn(pt_rand<real>(rng), sp, cp);
    const real st = pt_sqrt(real(1) - uz * uz);
    const pt_vec3<real> u = {st * cp, st * sp, uz};
    return u;
}

// Distance [m] to the face the photon is heading for along one axis, from
// position p in voxel i moving at v voxel units per metre; FAR when v = 0.
template <typename real>
__device__ __forceinline__ real pt_face_distance(real p, int i, real v) {
    if (v == real(0)) return real(PT_MC_FAR);
    const real to_face = v > real(0) ? ((real)i + real(1)) - p : p - (real)i;
    return to_face / pt_abs(v);
}

// p + s v kept inside voxel i (rounding must not carry it out).
template <typename real>
__device__ __forceinline__ real pt_advance(real p, real s, real v, int i) {
    return pt_min(pt_max(p + s * v, (real)i), (real)i + real(1));
}

__device__ __forceinline__ int pt_clamp_index(int i, int n) { return i < 0 ? 0 : (i > n - 1 ? n - 1 : i); }

template <typename real>
__device__ __forceinline__ pt_vec3<real> pt_scale(const pt_vec3<real>& u, const pt_vec3<real>& inv_h) {
    const pt_vec3<real> v = {u.x * inv_h.x, u.y * inv_h.y, u.z * inv_h.z};
    return v;
}

// Per-voxel properties, 4 reals per voxel: mua [1/m], mus [1/m], g, n.
template <typename real>
struct pt_props {
    real mua, mus, g, n;
};
template <typename real>
__device__ __forceinline__ pt_props<real> pt_load(const real* __restrict__ props, long long voxel) {
    const real* q = props + 4 * voxel;
    const pt_props<real> out = {q[0], q[1], q[2], q[3]};
    return out;
}
template <>
__device__ __forceinline__ pt_props<float> pt_load<float>(const float* __restrict__ props, long long voxel) {
    const float4 q = reinterpret_cast<const float4*>(props)[voxel];  // one 16-byte load
    const pt_props<float> out = {q.x, q.y, q.z, q.w};
    return out;
}

// -- the kernel ------------------------------------------------------------------
template <typename real>
__global__ void mc_transport(
    const real* __restrict__ props, real* __restrict__ fluence, double* __restrict__ tallies,
    const real* __restrict__ source, const int source_kind, const int face_axis, const int face_side,
    const int nx, const int ny, const int nz,
    const real inv_hx, const real inv_hy, const real inv_hz, const real ambient_index,
    const pt_u64 seed, const pt_u64 first_photon, const pt_u64 photon_count,
    const int roulette, const real roulette_threshold, const real roulette_chance,
    const long long max_steps)
{
    const pt_vec3<int> n_cells = {nx, ny, nz};
    const pt_vec3<real> inv_h = {inv_hx, inv_hy, inv_hz};
    const pt_vec3<long long> strides = {(long long)ny * nz, (long long)nz, 1LL};

    double t_absorbed = 0.0, t_specular = 0.0, t_missed = 0.0, t_roulette = 0.0, t_trapped = 0.0;
    double t_escaped[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};

    const pt_u64 stride = (pt_u64)gridDim.x * blockDim.x;
    for (pt_u64 k = (pt_u64)blockIdx.x * blockDim.x + threadIdx.x; k < photon_count; k += stride) {
        pt_rng rng = pt_rng_for_photon(seed, first_photon + k);
        pt_vec3<real> p, u;
        pt_vec3<int> ix;
        real w = real(1);

        // ---- launch ----
        if (source_kind == PT_MC_FLAT_BEAM || source_kind == PT_MC_GAUSSIAN_BEAM) {
            const real xi_r = pt_rand<real>(rng);
            real sp, cp;
            pt_sincos_turn(pt_rand<real>(rng), sp, cp);
            const real radius = source[12];
            const real r = source_kind == PT_MC_GAUSSIAN_BEAM
                               ? radius * pt_sqrt(real(-0.5) * pt_log(real(1) - xi_r))
                               : radius * pt_sqrt(xi_r);
            // a point of the cross-section [voxel units], then along the
            // direction (dv, voxel units per metre) to the entry face's plane
            u.x = source[3];
            u.y = source[4];
            u.z = source[5];
            const pt_vec3<real> q = {source[0] + r * (cp * source[6] + sp * source[9]) * inv_h.x,
                                     source[1] + r * (cp * source[7] + sp * source[10]) * inv_h.y,
                                     source[2] + r * (cp * source[8] + sp * source[11]) * inv_h.z};
            const pt_vec3<real> dv = pt_scale(u, inv_h);
            const int n_a = pt_pick(n_cells, face_axis);
            const real face = face_side ? (real)n_a : real(0);
            const real t = (face - pt_pick(q, face_axis)) / pt_pick(dv, face_axis);
            p.x = q.x + t * dv.x;
            p.y = q.y + t * dv.y;
            p.z = q.z + t * dv.z;
            pt_put(p, face_axis, face);
            const bool outside = (p.x < real(0)) || (p.x > (real)nx) || (p.y < real(0)) ||
                                 (p.y > (real)ny) || (p.z < real(0)) || (p.z > (real)nz);
            if (outside) {
                t_missed += 1.0;
                continue;
            }
            ix.x = pt_clamp_index((int)pt_floor(p.x), nx);
            ix.y = pt_clamp_index((int)pt_floor(p.y), ny);
            ix.z = pt_clamp_index((int)pt_floor(p.z), nz);
            pt_put(ix, face_axis, face_side ? n_a - 1 : 0);
            // specular reflection at entry, deterministic as in MCML
            const real n2 = pt_load(props, ix.x * strides.x + ix.y * strides.y + ix.z).n;
            if (n2 != ambient_index) {
                const real u_a = pt_pick(u, face_axis);
                real R, cos_t;
                if (pt_fresnel(ambient_index, n2, pt_abs(u_a), R, cos_t)) {
                    t_specular += 1.0;
                    continue;
                }
                w = real(1) - R;
                t_specular += 1.0 - (double)w;
                const real eta = ambient_index / n2;
                u.x = eta * u.x;
                u.y = eta * u.y;
                u.z = eta * u.z;
                pt_put(u, face_axis, u_a < real(0) ? -cos_t : cos_t);
            }
        } else {
            if (source_kind == PT_MC_LINE) {
                const real xi = pt_rand<real>(rng);
                p.x = source[0] + xi * source[3];
                p.y = source[1] + xi * source[4];
                p.z = source[2] + xi * source[5];
            } else {
                p.x = source[0];
                p.y = source[1];
                p.z = source[2];
            }
            ix.x = pt_clamp_index((int)pt_floor(p.x), nx);
            ix.y = pt_clamp_index((int)pt_floor(p.y), ny);
            ix.z = pt_clamp_index((int)pt_floor(p.z), nz);
            u = pt_isotropic<real>(rng);
        }

        // ---- transport ----
        long long voxel = ix.x * strides.x + ix.y * strides.y + ix.z;
        pt_props<real> m = pt_load(props, voxel);
        pt_vec3<real> v = pt_scale(u, inv_h);
        real tau = pt_rand_depth<real>(rng);
        long long steps = 0;
        for (;;) {
            // the nearest face (first axis on ties) and the scattering point
            real s_face = pt_face_distance(p.x, ix.x, v.x);
            int axis = 0;
            const real ty = pt_face_distance(p.y, ix.y, v.y);
            if (ty < s_face) {
                s_face = ty;
                axis = 1;
            }
            const real tz = pt_face_distance(p.z, ix.z, v.z);
            if (tz < s_face) {
                s_face = tz;
                axis = 2;
            }
            const real s_scatter = m.mus > real(0) ? tau / m.mus : real(PT_MC_FAR);
            const bool scatter = s_scatter < s_face;
            const real s = scatter ? s_scatter : s_face;

            // move; a face step lands exactly on the face
            p.x = pt_advance(p.x, s, v.x, ix.x);
            p.y = pt_advance(p.y, s, v.y, ix.y);
            p.z = pt_advance(p.z, s, v.z, ix.z);
            const real v_a = pt_pick(v, axis);
            const int i_a = pt_pick(ix, axis);
            if (!scatter) pt_put(p, axis, v_a > real(0) ? (real)i_a + real(1) : (real)i_a);

            // continuous absorption and the track-length fluence tally
            const real frac = -pt_expm1(-(m.mua * s));
            const real dw = w * frac;
            const real w_next = w - dw;
            t_absorbed += (double)w - (double)w_next;
            const real track = m.mua > real(0) ? dw / m.mua : w * s;
            if (track > real(0)) atomicAdd(fluence + voxel, track);
            w = w_next;

            if (scatter) {
                const real ct = pt_hg_cosine(m.g, pt_rand<real>(rng));
                pt_rotate(u, ct, pt_rand<real>(rng));
                v = pt_scale(u, inv_h);
                tau = pt_rand_depth<real>(rng);
            } else {
                tau = pt_max(tau - m.mus * s, real(0));
                const int i_next = v_a > real(0) ? i_a + 1 : i_a - 1;
                const bool leaving = i_next < 0 || i_next >= pt_pick(n_cells, axis);
                const long long step = v_a > real(0) ? pt_pick(strides, axis) : -pt_pick(strides, axis);
                const pt_props<real> m_next = leaving ? m : pt_load(props, voxel + step);
                const real n2 = leaving ? ambient_index : m_next.n;
                const real u_a = pt_pick(u, axis);
                bool reflect = false;
                real cos_t = real(1);
                if (n2 != m.n) {
                    real R;
                    reflect = pt_fresnel(m.n, n2, pt_abs(u_a), R, cos_t) || pt_rand<real>(rng) < R;
                }
                if (reflect) {
                    pt_put(u, axis, -u_a);
                    pt_put(v, axis, -v_a);
                } else if (leaving) {
                    const int face = 2 * axis + (u_a > real(0) ? 1 : 0);
#pragma unroll
                    for (int f = 0; f < 6; ++f)
                        if (f == face) t_escaped[f] += (double)w;
                    break;
                } else {
                    if (n2 != m.n) {  // refraction by Snell's law
                        const real eta = m.n / n2;
                        u.x = eta * u.x;
                        u.y = eta * u.y;
                        u.z = eta * u.z;
                        pt_put(u, axis, u_a < real(0) ? -cos_t : cos_t);
                        v = pt_scale(u, inv_h);
                    }
                    pt_put(ix, axis, i_next);
                    voxel += step;
                    m = m_next;
                }
            }
            if (w <= real(0)) break;  // underflow (roulette off): nothing left to tally
            if (roulette && w < roulette_threshold) {
                if (pt_rand<real>(rng) < roulette_chance) {
                    const real w_up = w / roulette_chance;
                    t_roulette += (double)w_up - (double)w;
                    w = w_up;
                } else {
                    t_roulette -= (double)w;
                    break;
                }
            }
            if (++steps >= max_steps) {
                t_trapped += (double)w;
                break;
            }
        }
    }

    atomicAdd(tallies + PT_MC_ABSORBED, t_absorbed);
    atomicAdd(tallies + PT_MC_SPECULAR, t_specular);
    atomicAdd(tallies + PT_MC_MISSED, t_missed);
    atomicAdd(tallies + PT_MC_ROULETTE, t_roulette);
    atomicAdd(tallies + PT_MC_TRAPPED, t_trapped);
#pragma unroll
    for (int f = 0; f < 6; ++f) atomicAdd(tallies + PT_MC_ESCAPED + f, t_escaped[f]);
}

// Explicit instantiations: CuPy loads them by name ("mc_transport<float>",
// "mc_transport<double>"); nvcc compile-checks both.
template __global__ void mc_transport<float>(
    const float*, float*, double*, const float*, int, int, int, int, int, int, float, float, float, float,
    pt_u64, pt_u64, pt_u64, int, float, float, long long);
template __global__ void mc_transport<double>(
    const double*, double*, double*, const double*, int, int, int, int, int, int, double, double, double,
    double, pt_u64, pt_u64, pt_u64, int, double, double, long long);
