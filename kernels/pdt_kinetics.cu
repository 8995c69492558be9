// pdt_kinetics.cu: one step of the macroscopic singlet-oxygen PDT model
// (PHYSICS.md section 5) for one voxel per thread: adaptive ROS3 sub-steps for
// lit voxels, the exact oxygen relaxation for dark ones, fluence and PDT dose.
//
// NumPy twin: phototherm.pdt.kinetics.advance (with _integrate_light and
// _ros3_attempt), which evaluates the same formulas in the same order; this
// thread's loop is the twin's `for _ in range(max_attempts)` loop restricted
// to one voxel. Any change here must be made there too. The argument tuple is
// built in one place, phototherm.pdt.kinetics.kernel_arguments;
// tests/unit/test_pdt_kernel_host.py compares this source, built for the host,
// with the twin, and tests/gpu/test_pdt_gpu_parity.py does so on a GPU.
//
// Per voxel, phi in mW/cm^2 (= fluence_rate [W/m^2] / 10), k = xi phi,
// R = k [S0] [3O2] / ([3O2] + beta):
//   d[S0]/dt    = -sigma ([S0] + delta) R
//   d[3O2]/dt   = -R + g (1 - [3O2] / [3O2]0)
//   d[1O2]rx/dt =  R
//   dE/dt       =  [S0]            (passive: E = integral of [S0] dt over the step)
// Lit voxels (fluence_rate > 0): ROS3 (Sandu et al. 1997, KPP coefficients),
// 2x2 Cramer solve per stage, embedded error estimate (RMS over the four
// components), controller fac = clip(0.9 err^(-1/3), 0.2, 6), reject on
// err > 1 or on [S0], [3O2] below -(atol + rtol |y|), clamp accepted values at
// 0, at most max_attempts attempts; the last proposal is kept in `substep`.
// Dark voxels: [3O2] = [3O2]0 - ([3O2]0 - [3O2]) oxygen_decay,
// oxygen_decay = exp(-g dt / [3O2]0) computed once on the host (as the twin
// does), so no device exp is involved.
// Every voxel: fluence += fluence_rate * dt. Lit voxels, when accumulate_dose:
// pdt_dose += extinction * E * fluence_rate / photon_energy.
//
// Scalars that the twin computes from Python floats in double precision and
// then rounds to the array type are passed precomputed in that type
// (dt_done = dt (1 - 1e-12), supply_rate = g / [3O2]0, oxygen_decay,
// photon_energy = h c / lambda), so float32 follows the twin too.
//
// A voxel that has not reached dt after max_attempts attempts leaves all its
// fields unchanged, adds 1 to failures[0] and lowers failures[1] to its flat
// index (the caller zeroes failures[0], sets failures[1] = 2^64 - 1, and
// raises SolverDidNotConverge when failures[0] > 0, as the twin does).
//
// Launch: 1-D, one thread per voxel, e.g. block 128, grid ceil(n / 128).

#define PDT_MW_CM2_PER_W_M2_DIVISOR 10.0  // 1 mW/cm^2 = 10 W/m^2 (W_PER_M2_PER_MW_PER_CM2)
// ROS3 coefficients, identical to phototherm/pdt/kinetics.py
#define PDT_GAMMA 0.43586652150845899941601945119356
#define PDT_C21 -0.10156171083877702091975600115545e01
#define PDT_C31 0.40759956452537699824805835358067e01
#define PDT_C32 0.92076794298330791242156818474003e01
#define PDT_M1 1.0
#define PDT_M2 0.61697947043828245592553615689730e01
#define PDT_M3 -0.42772256543218573326238373806514
#define PDT_E1 0.5
#define PDT_E2 -0.29079558716805469821718236208017e01
#define PDT_E3 0.22354069897811569627360909276199
#define PDT_ORDER_ESTIMATE 3.0
#define PDT_SAFETY 0.9
#define PDT_FAC_MIN 0.2
#define PDT_FAC_MAX 6.0
#define PDT_ERR_FLOOR 1e-10
#define PDT_REJECT_FAC 0.5

// Overloads pick the single- or double-precision CUDA math function.
__device__ __forceinline__ float pdt_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double pdt_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float pdt_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double pdt_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float pdt_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double pdt_abs(double x) { return fabs(x); }

// numpy.maximum / numpy.minimum: NaN propagates (from either argument).
template <typename real>
__device__ __forceinline__ real pdt_max(real a, real b) { return (a >= b || a != a) ? a : b; }
template <typename real>
__device__ __forceinline__ real pdt_min(real a, real b) { return (a <= b || a != a) ? a : b; }

template <typename real>
__global__ void pdt_advance(
    real* __restrict__ s0, real* __restrict__ oxygen, real* __restrict__ singlet_oxygen_reacted,
    real* __restrict__ fluence, real* __restrict__ pdt_dose, real* __restrict__ substep,
    const real* __restrict__ fluence_rate, unsigned long long* __restrict__ failures,
    const long long n,
    const real dt, const real dt_done,
    const real xi, const real sigma, const real beta, const real delta, const real g,
    const real oxygen_initial, const real supply_rate, const real oxygen_decay,
    const real rtol, const real atol, const int max_attempts,
    const int accumulate_dose, const real extinction, const real photon_energy)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;

    const real phi_si = fluence_rate[i];
    if (!(phi_si > real(0))) {
        // dark voxel: the exact solution, only oxygen relaxes toward [3O2]0
        oxygen[i] = oxygen_initial - (oxygen_initial - oxygen[i]) * oxygen_decay;
        fluence[i] += phi_si * dt;
        return;
    }

    const real k = xi * (phi_si / real(PDT_MW_CM2_PER_W_M2_DIVISOR));
    real S = s0[i], O = oxygen[i], X = singlet_oxygen_reacted[i], E = real(0);
    real tau = real(0);
    real h = substep[i];  // the controller's proposal (inf: try the whole step)

    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        const real h_use = pdt_min(h, dt - tau);  // never step past dt

        // ---- one ROS3 attempt of length h_use (the twin's _ros3_attempt) ----
        // Jacobian at the start of the sub-step, frozen over the stages
        const real inv = real(1) / (O + beta);
        const real R_S = k * O * inv;             // dR/d[S0]
        const real R_O = k * S * beta * inv * inv;  // dR/d[3O2]
        const real R = R_S * S;
        const real a11 = sigma * (R + (S + delta) * R_S);  // -dfS/dS
        const real a12 = sigma * (S + delta) * R_O;        // -dfS/dO
        const real d22 = R_O + supply_rate;                // -dfO/dO
        const real c = real(1) / (h_use * real(PDT_GAMMA));
        const real m11 = c + a11, m22 = c + d22;
        const real inv_det = real(1) / (m11 * m22 - a12 * R_S);  // det > c^2 > 0
        const real inv_c = h_use * real(PDT_GAMMA);

        // stage 1: f(y), 4th component [S0]
        real bS, bO, bX, bE;
        {
            const real r = k * S * O / (O + beta);
            bS = -sigma * (S + delta) * r;
            bO = -r + g * (real(1) - O / oxygen_initial);
            bX = r;
            bE = S;
        }
        const real kS1 = (bS * m22 - a12 * bO) * inv_det;
        const real kO1 = (m11 * bO - R_S * bS) * inv_det;
        const real kX1 = (bX + R_S * kS1 + R_O * kO1) * inv_c;
        const real kE1 = (bE + kS1) * inv_c;

        // stage 2: f at y + K1 (stage 3 reuses it)
        real fS2, fO2, fX2, fE2;
        {
            const real s = S + kS1, o = O + kO1;
            const real r = k * s * o / (o + beta);
            fS2 = -sigma * (s + delta) * r;
            fO2 = -r + g * (real(1) - o / oxygen_initial);
            fX2 = r;
            fE2 = s;
        }
        const real ch = real(PDT_C21) / h_use;
        bS = fS2 + ch * kS1;
        bO = fO2 + ch * kO1;
        bX = fX2 + ch * kX1;
        bE = fE2 + ch * kE1;
        const real kS2 = (bS * m22 - a12 * bO) * inv_det;
        const real kO2 = (m11 * bO - R_S * bS) * inv_det;
        const real kX2 = (bX + R_S * kS2 + R_O * kO2) * inv_c;
        const real kE2 = (bE + kS2) * inv_c;

        // stage 3
        const real c31 = real(PDT_C31) / h_use, c32 = real(PDT_C32) / h_use;
        bS = fS2 + c31 * kS1 + c32 * kS2;
        bO = fO2 + c31 * kO1 + c32 * kO2;
        bX = fX2 + c31 * kX1 + c32 * kX2;
        bE = fE2 + c31 * kE1 + c32 * kE2;
        const real kS3 = (bS * m22 - a12 * bO) * inv_det;
        const real kO3 = (m11 * bO - R_S * bS) * inv_det;
        const real kX3 = (bX + R_S * kS3 + R_O * kO3) * inv_c;
        const real kE3 = (bE + kS3) * inv_c;

        // new values and the scaled RMS error (components in the twin's order)
        const real S1 = S + real(PDT_M1) * kS1 + real(PDT_M2) * kS2 + real(PDT_M3) * kS3;
        const real O1 = O + real(PDT_M1) * kO1 + real(PDT_M2) * kO2 + real(PDT_M3) * kO3;
        const real X1 = X + real(PDT_M1) * kX1 + real(PDT_M2) * kX2 + real(PDT_M3) * kX3;
        const real E1 = E + real(PDT_M1) * kE1 + real(PDT_M2) * kE2 + real(PDT_M3) * kE3;
        real err2;
        {
            real e = (real(PDT_E1) * kS1 + real(PDT_E2) * kS2 + real(PDT_E3) * kS3)
                     / (atol + rtol * pdt_max(pdt_abs(S), pdt_abs(S1)));
            err2 = e * e;  // the twin's 0.0 + e * e
            e = (real(PDT_E1) * kO1 + real(PDT_E2) * kO2 + real(PDT_E3) * kO3)
                / (atol + rtol * pdt_max(pdt_abs(O), pdt_abs(O1)));
            err2 = err2 + e * e;
            e = (real(PDT_E1) * kX1 + real(PDT_E2) * kX2 + real(PDT_E3) * kX3)
                / (atol + rtol * pdt_max(pdt_abs(X), pdt_abs(X1)));
            err2 = err2 + e * e;
            e = (real(PDT_E1) * kE1 + real(PDT_E2) * kE2 + real(PDT_E3) * kE3)
                / (atol + rtol * pdt_max(pdt_abs(E), pdt_abs(E1)));
            err2 = err2 + e * e;
        }
        const real err = pdt_sqrt(err2 * real(0.25));  // the twin's (err2 * 0.25) ** 0.5 (NumPy: sqrt)

        // ---- step-size controller and acceptance (the twin's _integrate_light) ----
        real fac = pdt_min(pdt_max(real(PDT_SAFETY) * pdt_pow(pdt_max(err, real(PDT_ERR_FLOOR)),
                                                               real(-1.0 / PDT_ORDER_ESTIMATE)),
                                   real(PDT_FAC_MIN)),
                           real(PDT_FAC_MAX));
        const bool ok = (err <= real(1)) & (S1 >= -(atol + rtol * S)) & (O1 >= -(atol + rtol * O));
        if (!ok) fac = pdt_min(fac, real(PDT_REJECT_FAC));  // a rejected sub-step is retried shorter
        const real tau_new = tau + h_use;
        if (ok) {
            S = pdt_max(S1, real(0));
            O = pdt_max(O1, real(0));
            X = X1;
            E = E1;
            tau = tau_new;
        }
        // a sub-step clipped to end the step says little about the next one:
        // keep the larger of the standing proposal and the new one
        const real h_next = (ok & (h_use < h)) ? pdt_max(h_use * fac, pdt_min(h, dt)) : h_use * fac;
        if (ok & (tau_new >= dt_done)) {
            s0[i] = S;
            oxygen[i] = O;
            singlet_oxygen_reacted[i] = X;
            substep[i] = h_next;
            fluence[i] += phi_si * dt;
            if (accumulate_dose) pdt_dose[i] += extinction * E * phi_si / photon_energy;
            return;
        }
        h = h_next;
    }
    // not converged within max_attempts: leave the voxel as it was and report it
    atomicAdd(&failures[0], 1ull);
    atomicMin(&failures[1], (unsigned long long)i);
}

// Explicit instantiations: CuPy loads them by name ("pdt_advance<float>",
// "pdt_advance<double>"); nvcc compile-checks both.
template __global__ void pdt_advance<float>(
    float*, float*, float*, float*, float*, float*, const float*, unsigned long long*, long long,
    float, float, float, float, float, float, float, float, float, float, float, float, int, int, float, float);
template __global__ void pdt_advance<double>(
    double*, double*, double*, double*, double*, double*, const double*, unsigned long long*, long long,
    double, double, double, double, double, double, double, double, double, double, double, double, int, int,
    double, double);
