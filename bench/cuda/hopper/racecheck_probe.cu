// racecheck probe (bench/cuda/hopper): two warpgroups exchange through shared memory ordered only by
// `bar.sync 3, 256` in a 384-thread block whose third warpgroup exits at once (mode 0); mode 2 orders the same
// exchange with __syncthreads; mode 3 adds unequal per-warpgroup barriers (bar 1 twice for warpgroup 0, bar 2 once
// for warpgroup 1) before each round, as decode_sm90.cu does when an item has an odd tile count. A tool that models
// the barriers reports no hazard for any mode. Mode 0 and 2 (without mode 3) reported 0 hazards on the H200.
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o probe racecheck_probe.cu
//   compute-sanitizer --tool racecheck --racecheck-report all ./probe
#include <cstdio>
__device__ __forceinline__ void sync256() { asm volatile("bar.sync 3, 256;\n" ::: "memory"); }
template <int MODE> __global__ void __launch_bounds__(384, 1) k(float* out) {
  __shared__ float buf[128];
  const int wg = threadIdx.x / 128, t = threadIdx.x % 128;
  if (MODE != 2 && wg == 2) { if (MODE == 1) __syncthreads(); return; }
  float acc = 0.f;
  for (int round = 0; round < 4; ++round) {
    if (MODE == 2) { if (wg == 1) buf[t] = t + round; __syncthreads(); if (wg == 0) acc += buf[t]; __syncthreads(); continue; }
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
  k<0><<<4, 384>>>(d); k<2><<<4, 384>>>(d); k<3><<<4, 384>>>(d);
  float h[128]; cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  printf("probe: out[5] = %g (expected %g), %s\n", h[5], 4 * 5.0 + 6, cudaGetErrorString(cudaGetLastError()));
  return 0;
}
