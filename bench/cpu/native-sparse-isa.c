// One core, CPU time: each native ISA's sparse entry (flashmla_cpu_sparse_item*) on one whole-request work item,
// b = 1, sQ = 1, top-k 2048 distinct random tokens of an 8192-token cache (64-token pages), next to the dense entry
// on 2048 contiguous keys of a bf16 cache (the same products). Rows: V3.2 FP8 (hQ 16 / 128), MODEL1 FP8 (hQ 64),
// and a bf16 cache read by index (hQ 16 / 128). CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), ISAs
// interleaved round by round, minimum and median over rounds; GFLOP/s = 2 hQ topk (dQk + 512) / time.
//
//   gcc -O2 -mavx2 -mf16c -Isrc/backends/cpu/native bench/cpu/native-sparse-isa.c -o /tmp/native-sparse-isa -ldl -lm
//   /tmp/native-sparse-isa dist/cpu/libflashmla_cpu-linux-x64.so [rounds] [tokens]
// With `tokens` (default 8192) far above 3 * rounds * 2048, every (round, ISA) reads its own 2048 tokens, cold
// (e.g. 262144: a 172 MB V3.2 cache); with the default the same 2048 tokens are read every time, from the caches.
#include <dlfcn.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "params.h"

typedef int (*sparse_t)(const int32_t *, float, const uint16_t *, const void *, const void *, const int32_t *, const int32_t *,
                        const float *, uint16_t *, float *, float *, float *);
typedef int (*dense_t)(const int32_t *, float, const uint16_t *, const uint16_t *, const int32_t *, uint16_t *, float *, float *, float *);

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint16_t bf16(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

static int cmp_d(const void *a, const void *b) { return *(const double *)a < *(const double *)b ? -1 : *(const double *)a > *(const double *)b; }

enum { PAGE = 64, TOPK = 2048, HMAX = 128, ROUNDS_MAX = 64 };
static int TOKENS = 8192; // argv[3]: the cache size in tokens (a multiple of 64)

// A random e4m3 byte that is not NaN.
static uint8_t e4m3(void) {
  const uint8_t v = (uint8_t)(rand() & 0xff);
  return (v & 0x7f) == 0x7f ? v & 0xf0 : v;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s LIB [rounds]\n", argv[0]); return 2; }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  const int rounds = argc > 2 && atoi(argv[2]) > 0 && atoi(argv[2]) <= ROUNDS_MAX ? atoi(argv[2]) : 9;
  if (argc > 3 && atoi(argv[3]) >= 2 * TOPK) TOKENS = atoi(argv[3]) / PAGE * PAGE;
  int32_t (*features)(void) = (int32_t (*)(void))dlsym(lib, "flashmla_cpu_features");
  const int32_t f = features ? features() : 0;
  const char *isa[3] = {"avx2", "avx512", "avx512bf16"};
  const char *sparseNames[3] = {"flashmla_cpu_sparse_item", "flashmla_cpu_sparse_item_avx512", "flashmla_cpu_sparse_item_avx512bf16"};
  const char *denseNames[3] = {"flashmla_cpu_decode_item", "flashmla_cpu_decode_item_avx512", "flashmla_cpu_decode_item_avx512bf16"};
  const int32_t need[3] = {1, 1 | 2 | 8, 1 | 2 | 4 | 8};

  srand(1);
  uint8_t *v32 = malloc((size_t)TOKENS * 656), *m1 = malloc((size_t)TOKENS / PAGE * ((PAGE * 584 + 575) / 576) * 576);
  uint16_t *kb = malloc((size_t)TOKENS * 576 * 2), *q = malloc((size_t)HMAX * 576 * 2), *out = malloc((size_t)HMAX * 512 * 2);
  int32_t *indices = malloc(TOPK * 4), *table = malloc(TOKENS / PAGE * 4);
  float lse[HMAX];
  for (size_t t = 0; t < (size_t)TOKENS; t++) {
    uint8_t *p = v32 + t * 656;
    for (int d = 0; d < 512; d++) p[d] = e4m3();
    const float s = 1.0f / 256;
    for (int j = 0; j < 4; j++) memcpy(p + 512 + 4 * j, &s, 4);
    for (int d = 0; d < 64; d++) { const uint16_t h = bf16(rand() / (float)RAND_MAX - 0.5f); memcpy(p + 528 + 2 * d, &h, 2); }
  }
  const size_t stride = (size_t)((PAGE * 584 + 575) / 576) * 576;
  memset(m1, 0, TOKENS / PAGE * stride);
  for (size_t t = 0; t < (size_t)TOKENS; t++) {
    uint8_t *blk = m1 + (t / PAGE) * stride, *p = blk + (t % PAGE) * 576;
    for (int d = 0; d < 448; d++) p[d] = e4m3();
    for (int d = 0; d < 64; d++) { const uint16_t h = bf16(rand() / (float)RAND_MAX - 0.5f); memcpy(p + 448 + 2 * d, &h, 2); }
    for (int j = 0; j < 7; j++) blk[PAGE * 576 + (t % PAGE) * 8 + j] = 127 - 8;
  }
  for (size_t i = 0; i < (size_t)TOKENS * 576; i++) kb[i] = bf16(rand() / (float)RAND_MAX - 0.5f);
  for (size_t i = 0; i < (size_t)HMAX * 576; i++) q[i] = bf16(rand() / (float)RAND_MAX - 0.5f);
  int32_t *perm = malloc(TOKENS * 4);
  for (int i = 0; i < TOKENS; i++) perm[i] = i;
  for (int i = TOKENS - 1; i > 0; i--) { const int j = rand() % (i + 1), x = perm[i]; perm[i] = perm[j]; perm[j] = x; }
  // Round r, ISA e reads perm[((3r + e) * TOPK) % (TOKENS - TOPK) ...]: its own tokens when the cache is large.
#define PICK(r, e) memcpy(indices, perm + ((size_t)(3 * (r) + (e)) * TOPK) % (size_t)(TOKENS - TOPK), TOPK * 4)
  for (int i = 0; i < TOKENS / PAGE; i++) table[i] = (i * 37) % (TOKENS / PAGE);

  struct { const char *name; int kind, hQ, dQk; const void *cache; } rows[] = {
    {"V3.2 FP8  hQ=16 ", 2, 16, 576, v32}, {"V3.2 FP8  hQ=128", 2, 128, 576, v32}, {"MODEL1 FP8 hQ=64", 3, 64, 512, m1},
    {"bf16 idx  hQ=16 ", 0, 16, 576, kb}, {"bf16 idx  hQ=128", 0, 128, 576, kb},
  };
  for (size_t c = 0; c < sizeof rows / sizeof rows[0]; c++) {
    int32_t prm[SPRM_COUNT] = {0};
    prm[SPRM_KIND] = prm[SPRM_EXTRA_KIND] = rows[c].kind;
    prm[SPRM_PAGE_BLOCK_SIZE] = prm[SPRM_EXTRA_PAGE_BLOCK_SIZE] = PAGE;
    prm[SPRM_DQK] = rows[c].dQk;
    prm[SPRM_HQ] = rows[c].hQ;
    prm[SPRM_SQ] = 1;
    prm[SPRM_TOPK] = prm[SPRM_MAIN_LEN] = prm[SPRM_REGION] = prm[SPRM_POS_END] = TOPK;
    prm[SPRM_NO_SPLIT] = 1;
    double t[3][ROUNDS_MAX];
    for (int r = 0; r < rounds; r++)
      for (int e = 0; e < 3; e++) {
        sparse_t fn = (sparse_t)dlsym(lib, sparseNames[e]);
        if (!fn || (f & need[e]) != need[e]) continue;
        PICK(r, e);
        const double t0 = cpu_s();
        if (fn(prm, 0.0416667f, q, rows[c].cache, NULL, indices, NULL, NULL, out, lse, NULL, NULL)) { fprintf(stderr, "rc\n"); return 1; }
        t[e][r] = cpu_s() - t0;
      }
    const double flop = 2.0 * rows[c].hQ * TOPK * (rows[c].dQk + 512);
    for (int e = 0; e < 3; e++) {
      if ((f & need[e]) != need[e] || !dlsym(lib, sparseNames[e])) continue;
      qsort(t[e], rounds, sizeof(double), cmp_d);
      printf("sparse %s %-10s min %6.2f ms %6.1f GFLOP/s   median %6.2f ms %6.1f GFLOP/s\n", rows[c].name, isa[e], t[e][0] * 1e3,
             flop / t[e][0] / 1e9, t[e][rounds / 2] * 1e3, flop / t[e][rounds / 2] / 1e9);
    }
  }
  // The dense entry on 2048 contiguous keys (shuffled pages) of the bf16 cache: the same products, no gather.
  for (int hQ = 16; hQ <= HMAX; hQ *= 8) {
    int32_t prm[PRM_COUNT] = {0};
    prm[PRM_HQ] = prm[PRM_NGROUPS] = prm[PRM_LSE_STRIDE_B] = prm[PRM_ROWS_PER_SPLIT] = hQ;
    prm[PRM_HKV] = prm[PRM_LSE_STRIDE_H] = prm[PRM_Q_LEN] = prm[PRM_NO_SPLIT] = 1;
    prm[PRM_PAGE_BLOCK_SIZE] = PAGE;
    prm[PRM_MAX_BLOCKS_PER_SEQ] = TOKENS / PAGE;
    prm[PRM_SEQLEN] = prm[PRM_K_END] = TOPK;
    double t[3][ROUNDS_MAX];
    for (int r = 0; r < rounds; r++)
      for (int e = 0; e < 3; e++) {
        dense_t fn = (dense_t)dlsym(lib, denseNames[e]);
        if (!fn || (f & need[e]) != need[e]) continue;
        const double t0 = cpu_s();
        fn(prm, 0.0416667f, q, kb, table, out, lse, NULL, NULL);
        t[e][r] = cpu_s() - t0;
      }
    const double flop = 2.0 * hQ * TOPK * (576 + 512);
    for (int e = 0; e < 3; e++) {
      if ((f & need[e]) != need[e] || !dlsym(lib, denseNames[e])) continue;
      qsort(t[e], rounds, sizeof(double), cmp_d);
      printf("dense  bf16 pages hQ=%-4d %-10s min %6.2f ms %6.1f GFLOP/s   median %6.2f ms %6.1f GFLOP/s\n", hQ, isa[e], t[e][0] * 1e3,
             flop / t[e][0] / 1e9, t[e][rounds / 2] * 1e3, flop / t[e][rounds / 2] / 1e9);
    }
  }
  return 0;
}
