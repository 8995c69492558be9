// Host build of kernels/mc_transport.cu, for CPU-only CI.
//
// The kernel file is included unchanged; the CUDA qualifiers become plain C++,
// atomicAdd a plain addition (one host thread), float4 a plain struct, and the
// launch a loop over blocks and threads. So the kernel's own sampling,
// stepping, Fresnel and tally code runs here and can be compared with the
// NumPy twin photon for photon. Build with -ffp-contract=off (no fused
// multiply-adds, like NumPy). What this cannot check (device maths library,
// FMA contraction, real atomics) the GPU parity tests in tests/gpu/ do.
#include <cmath>
#include <math.h>

struct pt_dim3 { unsigned x, y, z; };
static pt_dim3 blockIdx, threadIdx, blockDim, gridDim;
struct float4 { float x, y, z, w; };

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__

// CUDA's sincospi: sin and cos of pi x. Here through pi x rounded to the
// type, as the twin computes 2 pi t (2 pi rounded is exactly twice pi rounded).
static inline void sincospif(float x, float* s, float* c) {
    const float a = 3.14159265358979323846f * x;
    *s = sinf(a);
    *c = cosf(a);
}
static inline void sincospi(double x, double* s, double* c) {
    const double a = 3.14159265358979323846 * x;
    *s = sin(a);
    *c = cos(a);
}

template <typename T>
static inline T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}

#include "mc_transport.cu"

template <typename real>
static void launch(unsigned blocks, unsigned threads, const real* props, real* fluence, double* tallies,
                   const real* source, int kind, int face_axis, int face_side, int nx, int ny, int nz,
                   real ihx, real ihy, real ihz, real ambient, unsigned long long seed,
                   unsigned long long first, unsigned long long count, int roulette, real threshold,
                   real chance, long long max_steps) {
    gridDim = {blocks, 1, 1};
    blockDim = {threads, 1, 1};
    for (blockIdx.x = 0; blockIdx.x < blocks; ++blockIdx.x)
        for (threadIdx.x = 0; threadIdx.x < threads; ++threadIdx.x)
            mc_transport<real>(props, fluence, tallies, source, kind, face_axis, face_side, nx, ny, nz, ihx, ihy,
                               ihz, ambient, seed, first, count, roulette, threshold, chance, max_steps);
}

#define PT_HOST_ENTRY(name, real)                                                                          \
    extern "C" void name(unsigned blocks, unsigned threads, const real* props, real* fluence,               \
                         double* tallies, const real* source, int kind, int face_axis, int face_side, int nx, \
                         int ny, int nz, real ihx, real ihy, real ihz, real ambient,                          \
                         unsigned long long seed, unsigned long long first, unsigned long long count,          \
                         int roulette, real threshold, real chance, long long max_steps) {                   \
        launch<real>(blocks, threads, props, fluence, tallies, source, kind, face_axis, face_side, nx, ny, nz, \
                     ihx, ihy, ihz, ambient, seed, first, count, roulette, threshold, chance, max_steps);     \
    }
PT_HOST_ENTRY(mc_transport_host_f32, float)
PT_HOST_ENTRY(mc_transport_host_f64, double)
