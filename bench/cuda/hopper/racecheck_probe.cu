// racecheck probe (bench/cuda/hopper): two warpgroups exchange through shared memory ordered only by
// `bar.sync 3, 256` in a 384-thread block whose third warpgroup exits at once (mode 0); mode 2 orders the same
// exchange with __syncthreads; mode 3 adds unequal per-warpgroup barriers (bar 1 twice for warpgroup 0, bar 2 once
// for warpgroup 1) before each round, as decode_sm90.cu did when an item had an odd tile count. Modes 4 and 5 are
// decode_sm90_wide.cu's P hand-off: both warpgroups write the same buffer in turn, ordered by a producer's
// `barrier.arrive` and a consumer's `barrier.sync` on barriers 1 and 2 (mode 4), or by `barrier.sync` on both
// sides (mode 5). A tool that models the barriers reports no hazard for any mode. On the H200 modes 0, 2, 3 and 5
// reported 0 hazards, mode 4 reported RAW hazards on every word (session 7): racecheck does not take an arrive as the
// release half of a named-barrier pair.
// Modes 6-9 (session 28) are the other hand-offs the Hopper kernels use, the same exchange in turn (warpgroup 1 writes,
// 0 reads, then 0 writes and 1 reads, each direction a "full" and a reverse "empty" step):
//   6  mbarriers, every thread of the writing warpgroup arrives (count 128), the reader waits on the phase;
//   7  mbarriers, each writing warp __syncwarp()s and its lane 0 arrives (count 4; sparse_sm90.cu bit 12, dense_fp8's
//      hand-backs);
//   8  mbarriers, one thread a warpgroup arrives after a bar.sync of that warpgroup (count 1);
//   9  mbarriers, one thread a warpgroup arrives with no barrier before it (count 1; sparse_sm90.cu without bit 12:
//      the other threads' reads are ordered before the arrival only by the kernel's wgmma, not by anything the tool
//      sees);
//   10 a bar.red.or.pred vote of both warpgroups (barrier 3, 256 threads) as the only ordering (dense_fp8's votes).
//   11 named barriers only, all syncs, as decode_sm90_wide.cu's pair hand-off of c / m_B compiles: warpgroup 1 writes,
//      then barrier.sync 3 and barrier.sync 2; warpgroup 0 runs `@p barrier.sync 2` / `@!p barrier.sync 3` with p false
//      (the B-tile test), reads, then barrier.sync 2. Correct (barrier 3 orders the read after the write, barrier 2 the
//      next round's write after the read); reports would mean the tool counts a predicated-off barrier.
//   12 mode 0's exchange (bar.sync 3, 256 on both sides) with a per-warpgroup `bar.sync R, 128` before it whose barrier
//      id is in a register (1 + the warpgroup), as decode_sm90.cu's and dense_fp8_sm90.cu's groupSync compile;
//   13 the same with a per-warpgroup `bar.red.or.pred` vote on a register id instead (dense_fp8_sm90.cu's votes).
//   14 mode 0 with the third warpgroup alive (it stores to its own words and sleeps while the others exchange, as a
//      producer warpgroup does) instead of returning at once;
//   15 mode 14 with setmaxnreg (the third warpgroup down to 40 registers, the others up to 232), as the kernels do.
//   16 mode 3 at scale: 132 CTAs, 32 rounds, the unequal per-warpgroup barriers on odd rounds only (as an item with
//      an odd tile count comes now and then), to see how often racecheck reports mode 3's race-free exchange.
//   17 mode 16 with the unequal per-warpgroup syncs made by per-warpgroup mbarriers (every thread arrives, then waits on
//      the phase) instead of named barriers, so both warpgroups pass the same named barriers (session 30: would the
//      <= 32-row kernel's failed-vote sync on an mbarrier keep racecheck from mode 16's reports?).
// A mode with reports says which hand-off racecheck does not model; modes 6-8 and 10-16 are correct by the PTX memory
// model, mode 9 is not (by the tool's view: nothing orders lanes other than the arriving one).
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o probe racecheck_probe.cu
//   compute-sanitizer --tool racecheck --racecheck-report all ./probe
#include <cstdint>
#include <cstdio>
#include <cstdlib>
__device__ __forceinline__ void sync256() { asm volatile("bar.sync 3, 256;\n" ::: "memory"); }
__device__ __forceinline__ void arriveN(int id) { asm volatile("barrier.arrive %0, 256;\n" ::"r"(id) : "memory"); }
__device__ __forceinline__ void syncN(int id) { asm volatile("barrier.sync %0, 256;\n" ::"r"(id) : "memory"); }
__device__ __forceinline__ uint32_t sa(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void mbInit(uint64_t* b, int n) { asm volatile("mbarrier.init.shared.b64 [%0], %1;\n" ::"r"(sa(b)), "r"(n) : "memory"); }
__device__ __forceinline__ void mbArrive(uint64_t* b) { asm volatile("mbarrier.arrive.shared.b64 _, [%0];\n" ::"r"(sa(b)) : "memory"); }
__device__ __forceinline__ void mbWait(uint64_t* b, uint32_t parity) {
  asm volatile("{\n.reg .pred p;\nW: mbarrier.try_wait.parity.shared.b64 p, [%0], %1;\n@!p bra W;\n}\n" ::"r"(sa(b)), "r"(parity) : "memory");
}
__device__ __forceinline__ bool vote3(bool x) { // bar.red.or.pred on barrier 3 over 256 threads
  uint32_t r;
  asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.or.pred q, 3, 256, p;\nselp.u32 %0, 1, 0, q;\n}\n" : "=r"(r) : "r"(static_cast<uint32_t>(x)) : "memory");
  return r != 0;
}
/** Modes 6-9: the arrival of warpgroup wg's threads on mbarrier b, in the mode's form. */
template <int MODE> __device__ __forceinline__ void handOff(uint64_t* b, int wg, int t) {
  if constexpr (MODE == 6) mbArrive(b);
  else if constexpr (MODE == 7) { __syncwarp(); if (t % 32 == 0) mbArrive(b); }
  else if constexpr (MODE == 8) { asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory"); if (t == 0) mbArrive(b); }
  else { if (t == 0) mbArrive(b); }
}
template <int MODE> __global__ void __launch_bounds__(384, 1) k(float* out) {
  __shared__ float buf[128];
  __shared__ uint64_t mb[4]; // modes 6-9: [0] full 1 -> 0, [1] empty 0 -> 1, [2] full 0 -> 1, [3] empty 1 -> 0
  const int wg = threadIdx.x / 128, t = threadIdx.x % 128;
  if constexpr (MODE >= 6 && MODE <= 9) {
    constexpr int n = MODE == 6 ? 128 : MODE == 7 ? 4 : 1;
    if (threadIdx.x == 0) for (int i = 0; i < 4; ++i) mbInit(&mb[i], n);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    __syncthreads();
  }
  __shared__ uint64_t mbw[2]; // mode 17: one per working warpgroup, 128 arrivals
  if constexpr (MODE == 17) {
    if (threadIdx.x == 0) { mbInit(&mbw[0], 128); mbInit(&mbw[1], 128); }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    __syncthreads();
  }
  uint32_t wph = 0; // mode 17: this thread's phase of its warpgroup's mbarrier
  __shared__ float own[128];
  if ((MODE == 14 || MODE == 15) && wg == 2) { // an active third warpgroup that takes no part in barrier 3
    if constexpr (MODE == 15) asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
    for (int i = 0; i < 64; ++i) { own[t] = static_cast<float>(i); __nanosleep(200); }
    return;
  }
  if constexpr (MODE == 15) asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
  if (MODE != 2 && wg == 2) { if (MODE == 1) __syncthreads(); return; }
  float acc = 0.f;
  constexpr int kRounds = MODE == 16 || MODE == 17 ? 32 : 4;
  for (int round = 0; round < kRounds; ++round) {
    if constexpr (MODE == 16 || MODE == 17) { // mode 3's barriers on odd rounds (17: on mbarriers), then mode 0's exchange
      if (round & 1) {
        if constexpr (MODE == 17) // two syncs for warpgroup 0, one for 1, each on its own warpgroup's mbarrier
          for (int i = 0; i < (wg == 0 ? 2 : 1); ++i) { mbArrive(&mbw[wg]); mbWait(&mbw[wg], wph); wph ^= 1; }
        else if (wg == 0) { asm volatile("bar.sync 1, 128;" ::: "memory"); asm volatile("bar.sync 1, 128;" ::: "memory"); }
        else asm volatile("bar.sync 2, 128;" ::: "memory");
      }
      if (wg == 1) buf[t] = t + round;
      sync256();
      if (wg == 0) acc += buf[t];
      sync256();
      continue;
    }
    if (MODE == 2) { if (wg == 1) buf[t] = t + round; __syncthreads(); if (wg == 0) acc += buf[t]; __syncthreads(); continue; }
    if constexpr (MODE >= 6 && MODE <= 9) { // in turn through mbarriers: 1 writes, 0 reads; 0 writes, 1 reads
      const uint32_t ph = round & 1;
      if (wg == 1) {
        if (round > 0) mbWait(&mb[3], ph ^ 1); // warpgroup 0 is done reading the last round's value
        buf[t] = t + round;
        handOff<MODE>(&mb[0], 1, t);           // full 1 -> 0
        mbWait(&mb[2], ph);                    // full 0 -> 1
        acc += buf[t];
        handOff<MODE>(&mb[3], 1, t);           // empty: warpgroup 0 may write
      } else {
        mbWait(&mb[0], ph);
        acc += buf[t];
        handOff<MODE>(&mb[1], 0, t);           // (empty 0 -> 1: unused by the writer, kept for symmetry of counts)
        buf[t] = t - round;
        handOff<MODE>(&mb[2], 0, t);
        mbWait(&mb[3], ph);                    // warpgroup 1 has read it before the next round's write
      }
      continue;
    }
    if constexpr (MODE == 14 || MODE == 15) { // mode 0's exchange beside the active third warpgroup
      if (wg == 1) buf[t] = t + round;
      sync256();
      if (wg == 0) acc += buf[t];
      sync256();
      continue;
    }
    if constexpr (MODE == 12 || MODE == 13) { // a per-warpgroup barrier on a register id, then mode 0's exchange
      const int id = 1 + wg;
      if constexpr (MODE == 12) asm volatile("bar.sync %0, 128;\n" ::"r"(id) : "memory");
      else {
        uint32_t r;
        asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.or.pred q, %2, 128, p;\nselp.u32 %0, 1, 0, q;\n}\n" : "=r"(r) : "r"(static_cast<uint32_t>(t == 0)), "r"(id) : "memory");
        acc += r;
      }
      if (wg == 1) buf[t] = t + round;
      sync256();
      if (wg == 0) acc += buf[t];
      sync256();
      continue;
    }
    if constexpr (MODE == 11) { // predicated barriers, as the wide kernel's c / m_B read
      if (wg == 1) {
        buf[t] = t + round;
        syncN(3);
        syncN(2);
      } else {
        const uint32_t hasNoB = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(out) & 1); // 0 at run time, unknown to the compiler
        asm volatile("{\n.reg .pred p;\nsetp.ne.u32 p, %0, 0;\n@p barrier.sync 2, 256;\n@!p barrier.sync 3, 256;\n}\n" ::"r"(hasNoB) : "memory");
        acc += buf[t];
        syncN(2);
      }
      continue;
    }
    if constexpr (MODE == 10) { // the vote as the only ordering: 1 writes, vote, 0 reads, vote
      if (wg == 1) buf[t] = t + round;
      vote3(t == 0);
      if (wg == 0) acc += buf[t];
      vote3(false);
      continue;
    }
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
  float* d; cudaMalloc(&d, 132 * 128 * 4);
  float h[128];
  // PROBE_MODE=m: mode m alone (one racecheck report a mode); unset: all modes.
  const char* only = getenv("PROBE_MODE");
  if (only) {
    const int m = atoi(only);
    switch (m) {
      case 2: k<2><<<4, 384>>>(d); break;
      case 3: k<3><<<4, 384>>>(d); break;
      case 4: k<4><<<4, 384>>>(d); break;
      case 5: k<5><<<4, 384>>>(d); break;
      case 6: k<6><<<4, 384>>>(d); break;
      case 7: k<7><<<4, 384>>>(d); break;
      case 8: k<8><<<4, 384>>>(d); break;
      case 9: k<9><<<4, 384>>>(d); break;
      case 10: k<10><<<4, 384>>>(d); break;
      case 11: k<11><<<4, 384>>>(d); break;
      case 12: k<12><<<4, 384>>>(d); break;
      case 13: k<13><<<4, 384>>>(d); break;
      case 14: k<14><<<4, 384>>>(d); break;
      case 15: k<15><<<4, 384>>>(d); break;
      case 16: k<16><<<132, 384>>>(d); break;
      case 17: k<17><<<132, 384>>>(d); break;
      default: k<0><<<4, 384>>>(d);
    }
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
