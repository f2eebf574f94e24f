// racecheck probe (bench/cuda/hopper): two warpgroups exchange through shared memory ordered only by
// `bar.sync 3, 256` in a 384-thread block whose third warpgroup exits at once (mode 0); mode 2 orders the same
// exchange with __syncthreads; mode 3 adds unequal per-warpgroup barriers (bar 1 twice for warpgroup 0, bar 2 once
// for warpgroup 1) before each round, as decode_sm90.cu did when an item had an odd tile count. Modes 4 and 5 are
// decode_sm90_wide.cu's P hand-off: both warpgroups write the same buffer in turn, ordered by a producer's
// `barrier.arrive` and a consumer's `barrier.sync` on barriers 1 and 2 (mode 4), or by `barrier.sync` on both
// sides (mode 5). A tool that models the barriers reports no hazard for any mode. On the H200 modes 0, 2 and 3
// reported 0 hazards; 4 and 5 were written after the last device call of 2026-11-29 (not run yet).
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o probe racecheck_probe.cu
//   compute-sanitizer --tool racecheck --racecheck-report all ./probe
#include <cstdio>
#include <cstdlib>
__device__ __forceinline__ void sync256() { asm volatile("bar.sync 3, 256;\n" ::: "memory"); }
__device__ __forceinline__ void arriveN(int id) { asm volatile("barrier.arrive %0, 256;\n" ::"r"(id) : "memory"); }
__device__ __forceinline__ void syncN(int id) { asm volatile("barrier.sync %0, 256;\n" ::"r"(id) : "memory"); }
template <int MODE> __global__ void __launch_bounds__(384, 1) k(float* out) {
  __shared__ float buf[128];
  const int wg = threadIdx.x / 128, t = threadIdx.x % 128;
  if (MODE != 2 && wg == 2) { if (MODE == 1) __syncthreads(); return; }
  float acc = 0.f;
  for (int round = 0; round < 4; ++round) {
    if (MODE == 2) { if (wg == 1) buf[t] = t + round; __syncthreads(); if (wg == 0) acc += buf[t]; __syncthreads(); continue; }
    if (MODE == 4 || MODE == 5) { // in turn, as the wide kernel's P tile: 0 writes, 1 reads and writes, 0 reads
      if (wg == 0) {
        buf[t] = t + round;
        if (MODE == 4) arriveN(1); else syncN(1);
        syncN(2);
        acc += buf[t];
      } else {
        syncN(1);
        acc += buf[t];
        buf[t] = t - round;
        if (MODE == 4) arriveN(2); else syncN(2);
      }
      continue;
    }
    if (MODE == 3) { if (wg == 0) { asm volatile("bar.sync 1, 128;" ::: "memory"); asm volatile("bar.sync 1, 128;" ::: "memory"); } else asm volatile("bar.sync 2, 128;" ::: "memory"); }
    if (wg == 1) buf[t] = t + round;
    sync256();
    if (wg == 0) acc += buf[t];
    sync256();
  }
  if (MODE == 1) __syncthreads();
  if (wg == 0) out[blockIdx.x * 128 + t] = acc;
}
int main() {
  float* d; cudaMalloc(&d, 4 * 128 * 4);
  float h[128];
  // PROBE_MODE=m: mode m alone (one racecheck report a mode); unset: all modes.
  const char* only = getenv("PROBE_MODE");
  if (only) {
    const int m = atoi(only);
    if (m == 4) k<4><<<4, 384>>>(d); else if (m == 5) k<5><<<4, 384>>>(d); else if (m == 2) k<2><<<4, 384>>>(d); else if (m == 3) k<3><<<4, 384>>>(d); else k<0><<<4, 384>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    printf("probe mode %d alone: out[5] = %g, %s\n", m, h[5], cudaGetErrorString(cudaGetLastError()));
    return 0;
  }
  // Modes 4 and 5: warpgroup 0 sums what warpgroup 1 wrote, t - round over 4 rounds = 4t - 6.
  k<4><<<4, 384>>>(d);
  cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  printf("probe mode 4: out[5] = %g (expected 14), %s\n", h[5], cudaGetErrorString(cudaGetLastError()));
  k<5><<<4, 384>>>(d);
  cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  printf("probe mode 5: out[5] = %g (expected 14), %s\n", h[5], cudaGetErrorString(cudaGetLastError()));
  k<0><<<4, 384>>>(d); k<2><<<4, 384>>>(d); k<3><<<4, 384>>>(d);
  cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  printf("probe: out[5] = %g (expected %g), %s\n", h[5], 4 * 5.0 + 6, cudaGetErrorString(cudaGetLastError()));
  return 0;
}
