// The native CPU decode kernel, x86-64 AVX2 + FMA + F16C: one work item of the split-KV schedule (a run of keys
// [kBegin, kEnd) of one sequence, one KV head, every query row of that head), the same unit the scalar kernel in
// ../kernel.ts computes, with the same outputs (out / lse for a whole sequence, f32 partials otherwise).
//
// Per 64-key tile: the keys are unpacked from bf16 (a 16-bit shift) or f16 (vcvtph2ps) into an f32 tile once, then
//   S = Q K^T   4 query rows x 3 keys per register block, 8 lanes along dQk, 12 accumulators;
//   online softmax in base 2 (q is pre-scaled by softmaxScale * log2 e), a vector exp2 (degree-7 polynomial);
//   O = O * rescale + P V   3 rows x 32 columns per register block, 12 accumulators.
// Arithmetic is f32 with f32 accumulators (FlashMLA's are f32 too; P is not rounded to bf16 here). Keys past kEnd
// are never read; keys a causal row may not see get P = 0 and are left out of its P V pass (their V may hold inf).
// Compiled with -mavx2 -mfma -mf16c; call flashmla_cpu_features() (features.c, built without them) first. The tile
// loop, scratch and output stores are decode_common.h, shared with decode_avx512.c; this file holds the hot loops.
#include <immintrin.h>

#define DECODE_ENTRY flashmla_cpu_decode_item
#define COMBINE_ENTRY flashmla_cpu_combine_item
// Test builds (test/backends/cpu-sparse-native.test.ts) of what a unit without these hooks gets, as an arm64 one
// would be built: FLASHMLA_DENSE_ONLY leaves the sparse entry out, FLASHMLA_PORTABLE_DEQUANT this file's FP8
// dequantization (decode_common.h's portable loop runs instead).
#ifndef FLASHMLA_DENSE_ONLY
#define SPARSE_ENTRY flashmla_cpu_sparse_item
#ifndef FLASHMLA_PORTABLE_DEQUANT
#define HAVE_DEQUANT_FP8_ROW 1
#endif
#endif
#include "decode_common.h"

#ifdef HAVE_DEQUANT_FP8_ROW
// 8 e4m3 bytes at a time -> f32 x factor / 2^8: the f16 trick of decode_avx512.c's dequant_fp8_row (F16C).
static void dequant_fp8_row(float *dst, const uint8_t *src, int n, float factor) {
  const __m256 f = _mm256_set1_ps(factor);
  const __m128i low7 = _mm_set1_epi16(0x7f), sign = _mm_set1_epi16(0x80), nanExp = _mm_set1_epi16(0x7c00);
  for (int d = 0; d < n; d += 8) {
    const __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(src + d)));
    const __m128i v = _mm_and_si128(b, low7);
    __m128i h = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b, sign), 8), _mm_slli_epi16(v, 7));
    h = _mm_or_si128(h, _mm_and_si128(_mm_cmpeq_epi16(v, low7), nanExp));
    _mm256_store_ps(dst + d, _mm256_mul_ps(_mm256_cvtph_ps(h), f));
  }
}
#endif

static inline __m256 load_half8(const uint16_t *p, int f16) {
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  if (f16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static void load_q_row(float *dst, const uint16_t *src, int f16, float scale) {
  const __m256 qs = _mm256_set1_ps(scale);
  for (int d = 0; d < DQK; d += 8) _mm256_store_ps(dst + d, _mm256_mul_ps(load_half8(src + d, f16), qs));
}

static void load_key_row(float *dst, const uint16_t *src, int f16, int dims) {
  for (int d = 0; d < dims; d += 8) _mm256_store_ps(dst + d, load_half8(src + d, f16));
}

static void store_split_row(float *dst, const float *o, float inv) {
  for (int d = 0; d < DV; d += 8) _mm256_storeu_ps(dst + d, _mm256_mul_ps(_mm256_load_ps(o + d), _mm256_set1_ps(inv)));
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 2^x for x <= 0; exactly 0 below -126 (masked keys give -inf).
static inline __m256 exp2_neg(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-126.0f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(x, lo);
  __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 f = _mm256_sub_ps(x, n); // [-0.5, 0.5]
  // Taylor series of 2^f = e^(f ln 2) to degree 7: relative error < 1e-8 on [-0.5, 0.5].
  __m256 p = _mm256_set1_ps(1.5252733804059840e-05f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530393381606e-04f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-03f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076284772e-03f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108664821580e-02f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650695910071e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718055994531e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// S[r][t] = q_r . k_t for RB rows x KB keys: 8 lanes along dQk, RB*KB accumulators, one horizontal sum each.
static inline __attribute__((always_inline)) void qk_block(const float *q, const float *k, float *s, const int RB, const int KB) {
  __m256 acc[4][3];
  for (int i = 0; i < RB; i++) for (int j = 0; j < KB; j++) acc[i][j] = _mm256_setzero_ps();
  for (int d = 0; d < DQK; d += 8) {
    __m256 kv[3];
    for (int j = 0; j < KB; j++) kv[j] = _mm256_load_ps(k + j * DQK + d);
    for (int i = 0; i < RB; i++) {
      __m256 qv = _mm256_load_ps(q + i * DQK + d);
      for (int j = 0; j < KB; j++) acc[i][j] = _mm256_fmadd_ps(qv, kv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RB; i++) for (int j = 0; j < KB; j++) s[i * BN + j] = hsum(acc[i][j]);
}

// Rows [r0, r1): 4-row blocks, then single rows.
static void tile_scores(const Scratch *w, int r0, int r1, int n) {
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float *q = w->q + (size_t)r * DQK;
    float *s = w->s + (size_t)r * BN;
    int t = 0;
    for (; t + 3 <= n; t += 3) qk_block(q, w->k + (size_t)t * DQK, s + t, 4, 3);
    for (; t < n; t++) qk_block(q, w->k + (size_t)t * DQK, s + t, 4, 1);
  }
  for (; r < r1; r++) {
    const float *q = w->q + (size_t)r * DQK;
    float *s = w->s + (size_t)r * BN;
    int t = 0;
    for (; t + 3 <= n; t += 3) qk_block(q, w->k + (size_t)t * DQK, s + t, 1, 3);
    for (; t < n; t++) qk_block(q, w->k + (size_t)t * DQK, s + t, 1, 1);
  }
}

// O[r] = O[r] * rescale[r] + sum_t P[r][t] v_t for RB rows, 32 columns at c.
static inline __attribute__((always_inline)) void pv_block(const Scratch *w, int r, int c, int n, const int RB) {
  __m256 acc[3][4];
  for (int i = 0; i < RB; i++) {
    __m256 sc = _mm256_set1_ps(w->re[r + i]);
    for (int j = 0; j < 4; j++) acc[i][j] = _mm256_mul_ps(_mm256_load_ps(w->o + (size_t)(r + i) * DV + c + 8 * j), sc);
  }
  const float *p = w->s + (size_t)r * BN;
  for (int t = 0; t < n; t++) {
    const float *v = w->k + (size_t)t * DQK + c;
    __m256 vv[4];
    for (int j = 0; j < 4; j++) vv[j] = _mm256_load_ps(v + 8 * j);
    for (int i = 0; i < RB; i++) {
      __m256 pb = _mm256_broadcast_ss(p + i * BN + t);
      for (int j = 0; j < 4; j++) acc[i][j] = _mm256_fmadd_ps(pb, vv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RB; i++)
    for (int j = 0; j < 4; j++) _mm256_store_ps(w->o + (size_t)(r + i) * DV + c + 8 * j, acc[i][j]);
}

// Rows [r0, r1). Columns outermost: the 64 x 32 slice of V (8 KB) stays in L1 while every row block uses it.
static void tile_accumulate(const Scratch *w, int r0, int r1, int n) {
  for (int c = 0; c < DV; c += 32) {
    int r = r0;
    for (; r + 3 <= r1; r += 3) pv_block(w, r, c, n, 3);
    if (r1 - r == 2) pv_block(w, r, c, n, 2);
    else if (r1 - r == 1) pv_block(w, r, c, n, 1);
  }
}

// Scores of row r (keys < nVis visible, < n in the tile) become P = 2^(s - max); w->re[r] gets the old-O factor.
static void softmax_row(const Scratch *w, int r, int n, int nVis) {
  float *s = softmax_row_mask(w, r, n, nVis);
  const __m256 pinf = _mm256_set1_ps(INFINITY);
  __m256 mx = _mm256_set1_ps(-INFINITY), unordered = _mm256_setzero_ps();
  for (int t = 0; t < BN; t += 8) {
    const __m256 v = _mm256_load_ps(s + t);
    unordered = _mm256_or_ps(unordered, _mm256_or_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(v, pinf, _CMP_EQ_OQ)));
    mx = _mm256_max_ps(mx, v);
  }
  float m = hmax(mx);
  if (softmax_row_special(w, r, s, _mm256_movemask_ps(unordered), &m)) return;
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  for (int t = 0; t < BN; t += 8) {
    __m256 e = exp2_neg(_mm256_sub_ps(_mm256_load_ps(s + t), mv));
    _mm256_store_ps(s + t, e);
    sum = _mm256_add_ps(sum, e);
  }
  softmax_row_update(w, r, m, hsum(sum));
}
