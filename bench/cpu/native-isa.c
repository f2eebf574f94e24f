// One core, CPU time: each native ISA entry of dist/cpu/libflashmla_cpu-linux-x64.so on one whole-sequence work item
// (b = 1, s_k = 4096, hKv = 1, sQ = 1, hQ 16 and 128, bf16 or f16), plus the FMA ceilings of this core. CPU time of
// the calling thread (CLOCK_THREAD_CPUTIME_ID) instead of wall clock, so other processes on a shared machine
// disturb it less; the ISAs are interleaved round by round, and the minimum and median over rounds are printed.
//
//   gcc -O2 -mavx512f -mavx512bf16 -mfma -Isrc/backends/cpu/native bench/cpu/native-isa.c -o /tmp/native-isa -ldl
//   /tmp/native-isa dist/cpu/libflashmla_cpu-linux-x64.so [rounds]      (needs AVX-512 + AVX512_BF16 for the ceilings)
#include <dlfcn.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "params.h"

typedef int (*entry_t)(const int32_t *, float, const uint16_t *, const uint16_t *, const int32_t *, uint16_t *, float *, float *, float *);

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint16_t to_half(float x, int f16) {
  if (f16) return (uint16_t)_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT);
  uint32_t b;
  memcpy(&b, &x, 4);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

static int cmp_d(const void *a, const void *b) { return *(const double *)a < *(const double *)b ? -1 : *(const double *)a > *(const double *)b; }

// 12 independent chains of one instruction: GFLOP/s of this core (two FLOP a multiply-add).
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
static void ceilings(void) {
  const long n = 100000000;
  double t;
  {
#define D(i) __m512 a##i = _mm512_set1_ps((float)i);
#define S(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define R(i) s += _mm512_reduce_add_ps(a##i);
    const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
    CHAINS(D) t = cpu_s();
    for (long k = 0; k < n; k++) { CHAINS(S) __asm__ volatile("" : "+v"(a0)); }
    t = cpu_s() - t;
    float s = 0; CHAINS(R)
    printf("ceiling: 512-bit FMA      %6.1f GFLOP/s a core (%.2f G instructions/s) [%g]\n", n * 12 * 32 / t / 1e9, n * 12 / t / 1e9, s);
  }
  {
#define D2(i) __m256 b##i = _mm256_set1_ps((float)i);
#define S2(i) b##i = _mm256_fmadd_ps(b##i, x, y);
#define R2(i) s += _mm256_cvtss_f32(b##i);
    const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
    CHAINS(D2) t = cpu_s();
    for (long k = 0; k < n; k++) { CHAINS(S2) __asm__ volatile("" : "+v"(b0)); }
    t = cpu_s() - t;
    float s = 0; CHAINS(R2)
    printf("ceiling: 256-bit FMA      %6.1f GFLOP/s a core (%.2f G instructions/s) [%g]\n", n * 12 * 16 / t / 1e9, n * 12 / t / 1e9, s);
  }
  {
#define D3(i) __m512 c##i = _mm512_setzero_ps();
#define S3(i) c##i = _mm512_dpbf16_ps(c##i, qa, kb);
#define R3(i) s += _mm512_reduce_add_ps(c##i);
    const __m512bh qa = (__m512bh)_mm512_set1_epi16(0x3f80), kb = (__m512bh)_mm512_set1_epi16(0x3f80);
    CHAINS(D3) t = cpu_s();
    for (long k = 0; k < n / 4; k++) { CHAINS(S3) __asm__ volatile("" : "+v"(c0)); }
    t = cpu_s() - t;
    float s = 0; CHAINS(R3)
    printf("ceiling: 512-bit vdpbf16ps %6.1f GFLOP/s a core (%.2f G instructions/s) [%g]\n", n / 4 * 12 * 64 / t / 1e9, n / 4 * 12 / t / 1e9, s);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s LIB [rounds]\n", argv[0]); return 2; }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  const int rounds = argc > 2 ? atoi(argv[2]) : 9;
  int32_t (*features)(void) = (int32_t (*)(void))dlsym(lib, "flashmla_cpu_features");
  const int32_t f = features ? features() : 0;
  const char *names[3] = {"flashmla_cpu_decode_item", "flashmla_cpu_decode_item_avx512", "flashmla_cpu_decode_item_avx512bf16"};
  const int32_t need[3] = {1, 1 | 2 | 8, 1 | 2 | 4 | 8};
  if ((f & 15) == 15) ceilings();
  enum { S = 4096, PAGE = 64, HMAX = 128 };
  uint16_t *k = malloc((size_t)S * 576 * 2), *q = malloc((size_t)HMAX * 576 * 2), *out = malloc((size_t)HMAX * 512 * 2);
  int32_t *table = malloc(S / PAGE * 4);
  float lse[HMAX];
  for (int i = 0; i < S / PAGE; i++) table[i] = (i * 37) % (S / PAGE); // shuffled pages
  for (int f16 = 0; f16 < 2; f16++) {
    srand(1);
    for (size_t i = 0; i < (size_t)S * 576; i++) k[i] = to_half(rand() / (float)RAND_MAX - 0.5f, f16);
    for (size_t i = 0; i < (size_t)HMAX * 576; i++) q[i] = to_half(rand() / (float)RAND_MAX - 0.5f, f16);
    for (int hQ = 16; hQ <= HMAX; hQ *= 8) {
      int32_t prm[PRM_COUNT] = {0};
      prm[PRM_DTYPE] = prm[PRM_KV_DTYPE] = f16;
      prm[PRM_HQ] = prm[PRM_NGROUPS] = prm[PRM_LSE_STRIDE_B] = prm[PRM_ROWS_PER_SPLIT] = hQ;
      prm[PRM_HKV] = prm[PRM_LSE_STRIDE_H] = prm[PRM_Q_LEN] = prm[PRM_NO_SPLIT] = 1;
      prm[PRM_PAGE_BLOCK_SIZE] = PAGE;
      prm[PRM_MAX_BLOCKS_PER_SEQ] = S / PAGE;
      prm[PRM_SEQLEN] = prm[PRM_K_END] = S;
      double t[3][64];
      for (int r = 0; r < rounds && r < 64; r++)
        for (int e = 0; e < 3; e++) {
          entry_t fn = (entry_t)dlsym(lib, names[e]);
          if (!fn || (f & need[e]) != need[e]) continue;
          const double t0 = cpu_s();
          fn(prm, 0.0416667f, q, k, table, out, lse, NULL, NULL);
          t[e][r] = cpu_s() - t0;
        }
      for (int e = 0; e < 3; e++) {
        entry_t fn = (entry_t)dlsym(lib, names[e]);
        if (!fn || (f & need[e]) != need[e]) { printf("%s: not on this CPU\n", names[e]); continue; }
        qsort(t[e], rounds, sizeof(double), cmp_d);
        const double flop = (double)hQ * S * 2 * (576 + 512);
        printf("%s hQ=%3d %-37s min %6.2f ms %6.1f GFLOP/s   median %6.2f ms %6.1f GFLOP/s\n", f16 ? "f16 " : "bf16", hQ, names[e],
               t[e][0] * 1e3, flop / t[e][0] / 1e9, t[e][rounds / 2] * 1e3, flop / t[e][rounds / 2] / 1e9);
      }
    }
  }
  return 0;
}
