// Host build of kernels/pdt_kinetics.cu, for CPU-only CI.
//
// The kernel file is included unchanged; the CUDA qualifiers become plain C++,
// the atomics plain read-modify-writes (one host thread) and the 1-D launch a
// loop over blocks and threads. So the kernel's own ROS3 stages, controller,
// acceptance tests, clamp and dark-voxel update run here and can be compared
// with the NumPy twin (phototherm.pdt.kinetics.advance) voxel by voxel. Build
// with -ffp-contract=off (no fused multiply-adds, like NumPy). What this cannot
// check (device maths library, FMA contraction) tests/gpu/test_pdt_gpu_parity.py does.
#include <cmath>
#include <math.h>

struct pt_dim3 { unsigned x, y, z; };
static pt_dim3 blockIdx, threadIdx, blockDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__

static inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
    const unsigned long long old = *address;
    *address = old + value;
    return old;
}
static inline unsigned long long atomicMin(unsigned long long* address, unsigned long long value) {
    const unsigned long long old = *address;
    *address = value < old ? value : old;
    return old;
}

#include "pdt_kinetics.cu"

#define PT_HOST_ENTRY(name, real)                                                                              \
    extern "C" void name(unsigned blocks, unsigned threads, real* s0, real* oxygen, real* reacted,             \
                         real* fluence, real* pdt_dose, real* substep, const real* fluence_rate,               \
                         unsigned long long* failures, long long n, real dt, real dt_done, real xi,             \
                         real sigma, real beta, real delta, real g, real oxygen_initial, real supply_rate,     \
                         real oxygen_decay, real rtol, real atol, int max_attempts, int accumulate_dose,       \
                         real extinction, real photon_energy) {                                                \
        blockDim = {threads, 1, 1};                                                                            \
        for (blockIdx.x = 0; blockIdx.x < blocks; ++blockIdx.x)                                                \
            for (threadIdx.x = 0; threadIdx.x < threads; ++threadIdx.x)                                        \
                pdt_advance<real>(s0, oxygen, reacted, fluence, pdt_dose, substep, fluence_rate, failures, n,  \
                                  dt, dt_done, xi, sigma, beta, delta, g, oxygen_initial, supply_rate,         \
                                  oxygen_decay, rtol, atol, max_attempts, accumulate_dose, extinction,         \
                                  photon_energy);                                                              \
    }
PT_HOST_ENTRY(pdt_advance_host_f32, float)
PT_HOST_ENTRY(pdt_advance_host_f64, double)
