// pennes_step.cu: one explicit (forward-Euler) step of the Pennes bioheat
// equation, fused with the thermal-dose accumulation, for one voxel per thread.
//
// NumPy twin: phototherm.bioheat.explicit.pennes_step_twin, which evaluates
// the same formulas term by term (phototherm.bioheat.stencil for conduction,
// phototherm.dose for the dose increments). Any change here must be made there
// too; tests/gpu/test_pennes_gpu_parity.py compares the two on a GPU and
// tests/unit/test_pennes_kernel_host.py on the host.
//
// Heat balance of voxel c [W/m^3], all arrays C-ordered (nx, ny, nz), z fastest:
//   gain = sum_faces g (T_nb - T_c)                    conduction, g = 2 k_c k_nb / (k_c + k_nb) / h^2
//        + f * perfusion_c * (T_arterial - T_c)        Pennes heat sink, f = vascular-shutdown factor
//        - boundary_c * T_c + constant_source_c        boundary conditions + metabolic heat
//        + source_scale * heat_source_c                external heat source times its schedule
//   T_next = T_c + dt * inv_heat_capacity_c * gain
// then CEM43, Arrhenius Omega, maximum temperature and time above a threshold
// are accumulated assuming T changes linearly from T_c to T_next over the step.
//
// Launch: block (32, 8, 1), grid (ceil(nz/32), ceil(ny/8), nx).

#define PT_CEM43_BREAKPOINT 43.0
#define PT_LN_HALF -0.69314718055994530942
#define PT_LN_QUARTER -1.38629436111989061883
#define PT_KELVIN_OFFSET 273.15

// Overloads pick the single- or double-precision CUDA math function.
__device__ __forceinline__ float pt_exp(float x) { return expf(x); }
__device__ __forceinline__ double pt_exp(double x) { return exp(x); }
__device__ __forceinline__ float pt_expm1(float x) { return expm1f(x); }
__device__ __forceinline__ double pt_expm1(double x) { return expm1(x); }

// (exp(z) - 1) / z, the mean of exp over [0, z]; 1 at z = 0.
template <typename real>
__device__ __forceinline__ real exp_mean(real z) {
    return z == real(0) ? real(1) : pt_expm1(z) / z;
}

// Harmonic-mean face conductance per unit volume [W/(m^3 K)].
template <typename real>
__device__ __forceinline__ real harmonic_face(real k_lo, real k_hi, real inv_h2) {
    return real(2) * k_lo * k_hi / (k_lo + k_hi) * inv_h2;
}

// CEM43 [min] accrued over a step with T linear from T1 to T2: exact, and a
// step that crosses 43 C is split there into one segment per base R.
template <typename real>
__device__ __forceinline__ real cem43_increment(real T1, real T2, real dt) {
    const real bp = real(PT_CEM43_BREAKPOINT);
    const bool above1 = T1 >= bp;
    const real ln_r1 = above1 ? real(PT_LN_HALF) : real(PT_LN_QUARTER);
    if (above1 == (T2 >= bp)) {
        return dt / real(60) * (pt_exp((bp - T1) * ln_r1) * exp_mean((T1 - T2) * ln_r1));
    }
    const real ln_r2 = real(PT_LN_HALF + PT_LN_QUARTER) - ln_r1;  // the base on T2's side
    const real frac = (bp - T1) / (T2 - T1);                       // fraction of the step on T1's side
    return dt / real(60) * (frac * pt_exp((bp - T1) * ln_r1) * exp_mean((T1 - bp) * ln_r1)
                            + (real(1) - frac) * exp_mean((bp - T2) * ln_r2));
}

// Arrhenius Omega accrued over a step (log-rate linear over the step).
template <typename real>
__device__ __forceinline__ real arrhenius_increment(real T1, real T2, real dt, real ln_A, real Ea_over_R) {
    const real ln_k1 = ln_A - Ea_over_R / (T1 + real(PT_KELVIN_OFFSET));
    const real ln_k2 = ln_A - Ea_over_R / (T2 + real(PT_KELVIN_OFFSET));
    return dt * pt_exp(ln_k1) * exp_mean(ln_k2 - ln_k1);
}

// Time [s] spent strictly above `threshold` during the step.
template <typename real>
__device__ __forceinline__ real time_above_increment(real T1, real T2, real dt, real threshold) {
    const bool above1 = T1 > threshold;
    const bool above2 = T2 > threshold;
    if (above1 == above2) return above1 ? dt : real(0);
    const real hi = T1 > T2 ? T1 : T2;
    return dt * ((hi - threshold) / fabs(T2 - T1));
}

template <typename real>
__global__ void pennes_step(
    const real* __restrict__ T, real* __restrict__ T_next,
    const real* __restrict__ conductivity, const real* __restrict__ inv_heat_capacity,
    const real* __restrict__ perfusion, const real* __restrict__ boundary,
    const real* __restrict__ constant_source, const real* __restrict__ heat_source,
    const real* __restrict__ ln_A, const real* __restrict__ Ea_over_R,
    real* __restrict__ cem43, real* __restrict__ omega,
    real* __restrict__ max_temperature, real* __restrict__ time_above,
    const int nx, const int ny, const int nz,
    const int periodic_x, const int periodic_y, const int periodic_z,
    const real inv_hx2, const real inv_hy2, const real inv_hz2,
    const real dt, const real source_scale, const real arterial_temperature,
    const real time_above_threshold,
    const int shutdown_mode, const real shutdown_threshold, const real shutdown_residual)
{
    const int iz = blockIdx.x * blockDim.x + threadIdx.x;
    const int iy = blockIdx.y * blockDim.y + threadIdx.y;
    const int ix = blockIdx.z;
    if (iz >= nz || iy >= ny) return;

    const long long sx = (long long)ny * nz;  // stride between x-planes
    const long long sy = nz;                 // stride between y-rows
    const long long c = ix * sx + iy * sy + iz;
    const real Tc = T[c];
    const real kc = conductivity[c];

    // Conduction: each existing face adds g (T_nb - T_c). A periodic axis wraps;
    // otherwise a missing neighbour contributes nothing (boundary terms below).
    real gain = real(0);
#define PT_FACE(cond, offset, inv_h2)                                              \
    if (cond) {                                                                    \
        const long long nb = c + (offset);                                         \
        gain += harmonic_face(kc, conductivity[nb], inv_h2) * (T[nb] - Tc);       \
    }
    PT_FACE(ix > 0, -sx, inv_hx2)
    else PT_FACE(periodic_x, (long long)(nx - 1) * sx, inv_hx2)
    PT_FACE(ix < nx - 1, sx, inv_hx2)
    else PT_FACE(periodic_x, -(long long)(nx - 1) * sx, inv_hx2)
    PT_FACE(iy > 0, -sy, inv_hy2)
    else PT_FACE(periodic_y, (long long)(ny - 1) * sy, inv_hy2)
    PT_FACE(iy < ny - 1, sy, inv_hy2)
    else PT_FACE(periodic_y, -(long long)(ny - 1) * sy, inv_hy2)
    PT_FACE(iz > 0, -1, inv_hz2)
    else PT_FACE(periodic_z, (long long)(nz - 1), inv_hz2)
    PT_FACE(iz < nz - 1, 1, inv_hz2)
    else PT_FACE(periodic_z, -(long long)(nz - 1), inv_hz2)
#undef PT_FACE

    // Vascular shutdown uses the dose accumulated before this step.
    real factor = real(1);
    if ((shutdown_mode == 1 && cem43[c] >= shutdown_threshold) ||
        (shutdown_mode == 2 && omega[c] >= shutdown_threshold)) {
        factor = shutdown_residual;
    }
    gain += factor * perfusion[c] * (arterial_temperature - Tc);
    gain -= boundary[c] * Tc;
    gain += constant_source[c];
    gain += source_scale * heat_source[c];
    const real Tn = Tc + dt * inv_heat_capacity[c] * gain;
    T_next[c] = Tn;

    cem43[c] += cem43_increment(Tc, Tn, dt);
    omega[c] += arrhenius_increment(Tc, Tn, dt, ln_A[c], Ea_over_R[c]);
    max_temperature[c] = max_temperature[c] > Tn ? max_temperature[c] : Tn;
    time_above[c] += time_above_increment(Tc, Tn, dt, time_above_threshold);
}

// Explicit instantiations: CuPy loads them by name ("pennes_step<float>",
// "pennes_step<double>"); nvcc compile-checks both.
template __global__ void pennes_step<float>(
    const float*, float*, const float*, const float*, const float*, const float*, const float*,
    const float*, const float*, const float*, float*, float*, float*, float*,
    int, int, int, int, int, int, float, float, float, float, float, float, float, int, float, float);
template __global__ void pennes_step<double>(
    const double*, double*, const double*, const double*, const double*, const double*, const double*,
    const double*, const double*, const double*, double*, double*, double*, double*,
    int, int, int, int, int, int, double, double, double, double, double, double, double, int, double, double);
