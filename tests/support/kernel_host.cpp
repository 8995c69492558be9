// Host build of a CUDA kernel from kernels/, for CPU-only CI.
//
// The kernel file is included unchanged; the CUDA qualifiers become plain C++
// and the launch grid becomes nested loops over blocks and threads, so the
// kernel's own arithmetic, branches and indexing run here and can be compared
// with the NumPy twin. What this cannot check (compiler, FMA contraction,
// memory model on the device) the GPU parity tests in tests/gpu/ do.
#include <cmath>
#include <math.h>

struct pt_dim3 { unsigned x, y, z; };
static pt_dim3 blockIdx, threadIdx, blockDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
using std::fabs;

#include "pennes_step.cu"

template <typename real>
static void launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   const real* T, real* T_next, const real* k, const real* inv_rc, const real* perfusion,
                   const real* boundary, const real* constant_source, const real* heat_source,
                   const real* ln_A, const real* Ea_over_R, real* cem43, real* omega, real* max_temperature,
                   real* time_above, int nx, int ny, int nz, int px, int py, int pz,
                   real ihx2, real ihy2, real ihz2, real dt, real scale, real Ta, real threshold,
                   int mode, real shutdown_threshold, real residual) {
    blockDim = {bx, by, 1};
    for (blockIdx.z = 0; blockIdx.z < gz; ++blockIdx.z)
        for (blockIdx.y = 0; blockIdx.y < gy; ++blockIdx.y)
            for (blockIdx.x = 0; blockIdx.x < gx; ++blockIdx.x)
                for (threadIdx.z = 0; threadIdx.z < 1; ++threadIdx.z)
                    for (threadIdx.y = 0; threadIdx.y < by; ++threadIdx.y)
                        for (threadIdx.x = 0; threadIdx.x < bx; ++threadIdx.x)
                            pennes_step<real>(T, T_next, k, inv_rc, perfusion, boundary, constant_source,
                                              heat_source, ln_A, Ea_over_R, cem43, omega, max_temperature,
                                              time_above, nx, ny, nz, px, py, pz, ihx2, ihy2, ihz2, dt, scale,
                                              Ta, threshold, mode, shutdown_threshold, residual);
}

#define PT_HOST_ENTRY(name, real)                                                                        \
    extern "C" void name(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,                  \
                         const real* T, real* T_next, const real* k, const real* inv_rc,                   \
                         const real* perfusion, const real* boundary, const real* constant_source,         \
                         const real* heat_source, const real* ln_A, const real* Ea_over_R, real* cem43,    \
                         real* omega, real* max_temperature, real* time_above, int nx, int ny, int nz,     \
                         int px, int py, int pz, real ihx2, real ihy2, real ihz2, real dt, real scale,     \
                         real Ta, real threshold, int mode, real shutdown_threshold, real residual) {      \
        launch<real>(gx, gy, gz, bx, by, T, T_next, k, inv_rc, perfusion, boundary, constant_source,       \
                     heat_source, ln_A, Ea_over_R, cem43, omega, max_temperature, time_above, nx, ny, nz,  \
                     px, py, pz, ihx2, ihy2, ihz2, dt, scale, Ta, threshold, mode, shutdown_threshold,     \
                     residual);                                                                            \
    }
PT_HOST_ENTRY(pennes_step_host_f32, float)
PT_HOST_ENTRY(pennes_step_host_f64, double)
