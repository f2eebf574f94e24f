// The native CPU decode kernel, x86-64 AVX-512: the same work item, outputs and tile loop as decode_avx2.c (the
// loop, scratch and stores are decode_common.h), with 16-lane hot loops:
//   S = Q K^T   4 query rows x 4 keys per register block, 16 lanes along dQk, 16 accumulators folded into one
//               vector of 16 scores by a transposing add tree;
//   online softmax in base 2, a 16-lane exp2 (the AVX2 unit's polynomial);
//   O = O * rescale + P V   4 rows x 64 columns per register block, 16 accumulators, P in f32.
// Built twice (scripts/build-cpu.mjs):
//   BF16_DOT=0, -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c: flashmla_cpu_decode_item_avx512, all f32.
//   BF16_DOT=1, the same plus -mavx512bf16: flashmla_cpu_decode_item_avx512bf16. For bf16 q on a bf16 cache, Q K^T
//     runs vdpbf16ps on the raw bf16 q rows and the key rows in the cache: each bf16 x bf16 product is exact in f32
//     and is added to an f32 accumulator with round-to-nearest-even (as an FMA would), 32 products an instruction;
//     the f32 score is then multiplied by softmaxScale * log2 e. What differs from f32 FMA: the instruction treats
//     subnormal inputs as zero and flushes a subnormal result to zero (DAZ / FTZ, whatever MXCSR says), so a
//     |q| or |k| below 2^-126 drops out of its product (it contributes less than 2^-126 * |other| to a score), and
//     a subnormal times an infinity gives NaN (0 x inf) where f32 gives +-inf: so a NaN score is recomputed in f32
//     (dot_f32, rare: only inputs holding NaN or infinity get there) and NaN / +-inf scores are those of f32
//     arithmetic. P V stays f32 FMA.
// Call flashmla_cpu_features() (features.c) first: this code faults on a CPU without the instructions.
#include <immintrin.h>

#if BF16_DOT
#define DECODE_ENTRY flashmla_cpu_decode_item_avx512bf16
#define COMBINE_ENTRY flashmla_cpu_combine_item_avx512bf16
#define SPARSE_ENTRY flashmla_cpu_sparse_item_avx512bf16
#else
#define DECODE_ENTRY flashmla_cpu_decode_item_avx512
#define COMBINE_ENTRY flashmla_cpu_combine_item_avx512
#define SPARSE_ENTRY flashmla_cpu_sparse_item_avx512
#endif
#define HAVE_DEQUANT_FP8_ROW 1
#define QK_BLOCK_4X4 1 // tile_scores is decode_common.h's, over qk_block below
#define PV_BLOCK_COLS 64 // so is tile_accumulate, over pv_block below
#include "decode_common.h"

// 16 e4m3 bytes -> 16 f32 values x factor / 2^8 (decode_common.h dequant_fp8): the sign to bit 15 and the 7 value
// bits shifted left by 7 make an f16 worth exactly value * 2^-8 (normals and subnormals alike: e4m3's exponent bias
// 7 against f16's 15), vcvtph2ps widens it exactly; 0x7f / 0xff become f16 NaN (exponent bits all set).
static void dequant_fp8_row(float *dst, const uint8_t *src, int n, float factor) {
  const __m512 f = _mm512_set1_ps(factor);
  const __m256i low7 = _mm256_set1_epi16(0x7f), sign = _mm256_set1_epi16(0x80), nanExp = _mm256_set1_epi16(0x7c00);
  for (int d = 0; d < n; d += 16) {
    const __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + d)));
    const __m256i v = _mm256_and_si256(b, low7);
    __m256i h = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(b, sign), 8), _mm256_slli_epi16(v, 7));
    h = _mm256_or_si256(h, _mm256_and_si256(_mm256_cmpeq_epi16(v, low7), nanExp));
    _mm512_store_ps(dst + d, _mm512_mul_ps(_mm512_cvtph_ps(h), f));
  }
}

static inline __m512 load_half16(const uint16_t *p, int f16) {
  const __m256i h = _mm256_loadu_si256((const __m256i *)p);
  if (f16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static void load_q_row(float *dst, const uint16_t *src, int f16, float scale) {
  const __m512 qs = _mm512_set1_ps(scale);
  for (int d = 0; d < DQK; d += 16) _mm512_store_ps(dst + d, _mm512_mul_ps(load_half16(src + d, f16), qs));
}

static void load_key_row(float *dst, const uint16_t *src, int f16, int dims) {
  for (int d = 0; d < dims; d += 16) _mm512_store_ps(dst + d, load_half16(src + d, f16));
}

static void store_split_row(float *dst, const float *o, float inv) {
  const __m512 s = _mm512_set1_ps(inv);
  for (int d = 0; d < DV; d += 16) _mm512_storeu_ps(dst + d, _mm512_mul_ps(_mm512_load_ps(o + d), s));
}

// Lane 4i + j of the result is the sum of the 16 lanes of v[4i + j]: pairs, then quads of 128-bit chunks, then
// 256-bit halves are added after a shuffle, 15 adds and 30 shuffles for 16 sums.
static inline __m512 reduce16(const __m512 *v) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; i++) a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; i++) b[i] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * i], a[2 * i + 1], 0x44), _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], 0xee));
  for (int i = 0; i < 2; i++)
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88), _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xdd));
}

#if BF16_DOT
// Rows [0, n) of the f32 key tile (DQK apart) as bf16 rows of dst: the upper halves, which is the value itself when
// the lower 16 bits are zero. Returns 1 when every value of the tile is exact so (then vdpbf16ps on dst multiplies
// the very values the f32 loops would), else 0 (dst is then not used).
static int pack_bf16_tile(uint16_t *dst, const float *k, int n) {
  const __m512i low = _mm512_set1_epi32(0xffff);
  __mmask16 inexact = 0;
  for (int t = 0; t < n; t++)
    for (int d = 0; d < DQK; d += 16) {
      const __m512i x = _mm512_load_si512((const void *)(k + (size_t)t * DQK + d));
      inexact |= _mm512_test_epi32_mask(x, low);
      _mm256_store_si256((__m256i *)(void *)(dst + (size_t)t * DQK + d), _mm512_cvtepi32_epi16(_mm512_srli_epi32(x, 16)));
    }
  return inexact == 0;
}
#endif

// S[r][t] = (q_r . k_t) * sc for RB rows x KB keys; q rows DQK apart, k[j] the key rows. f32 operands, or (dot)
// raw bf16 ones with vdpbf16ps. A full 4 x 4 block is reduced by the tree, a partial one lane by lane.
static inline __attribute__((always_inline)) void qk_block(const void *q, const void *const *k, float *s, float sc, const int RB,
                                                           const int KB, const int dot) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
#if BF16_DOT
  if (dot) {
    const uint16_t *qh = (const uint16_t *)q;
    for (int d = 0; d < DQK; d += 32) {
      __m512i kv[4];
      for (int j = 0; j < KB; j++) kv[j] = _mm512_loadu_si512((const void *)((const uint16_t *)k[j] + d));
      for (int i = 0; i < RB; i++) {
        const __m512bh qv = (__m512bh)_mm512_load_si512((const void *)(qh + i * DQK + d));
        for (int j = 0; j < KB; j++) acc[i * 4 + j] = _mm512_dpbf16_ps(acc[i * 4 + j], qv, (__m512bh)kv[j]);
      }
    }
  } else
#endif
  {
    (void)dot;
    const float *qf = (const float *)q;
    for (int d = 0; d < DQK; d += 16) {
      __m512 kv[4];
      for (int j = 0; j < KB; j++) kv[j] = _mm512_load_ps((const float *)k[j] + d);
      for (int i = 0; i < RB; i++) {
        const __m512 qv = _mm512_load_ps(qf + i * DQK + d);
        for (int j = 0; j < KB; j++) acc[i * 4 + j] = _mm512_fmadd_ps(qv, kv[j], acc[i * 4 + j]);
      }
    }
  }
  if (RB == 4 && KB == 4) {
    const __m512 r = _mm512_mul_ps(reduce16(acc), _mm512_set1_ps(sc));
    _mm_storeu_ps(s, _mm512_castps512_ps128(r));
    _mm_storeu_ps(s + BN, _mm512_extractf32x4_ps(r, 1));
    _mm_storeu_ps(s + 2 * BN, _mm512_extractf32x4_ps(r, 2));
    _mm_storeu_ps(s + 3 * BN, _mm512_extractf32x4_ps(r, 3));
#if BF16_DOT
    if (dot) {
      for (unsigned nan = _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q); nan; nan &= nan - 1) {
        const int lane = __builtin_ctz(nan), i = lane / 4, j = lane % 4;
        s[i * BN + j] = dot_f32((const uint16_t *)q + i * DQK, (const uint16_t *)k[j]) * sc;
      }
    }
#endif
  } else {
    for (int i = 0; i < RB; i++)
      for (int j = 0; j < KB; j++) {
        float v = _mm512_reduce_add_ps(acc[i * 4 + j]) * sc;
#if BF16_DOT
        if (dot && v != v) v = dot_f32((const uint16_t *)q + i * DQK, (const uint16_t *)k[j]) * sc;
#endif
        s[i * BN + j] = v;
      }
  }
}

// tile_scores: decode_common.h's 4 x 4 driver over this unit's qk_block (QK_BLOCK_4X4).

// O[r] = O[r] * rescale[r] + sum_t P[r][t] v_t for RB rows, 64 columns at c.
static inline __attribute__((always_inline)) void pv_block(const Scratch *w, int r, int c, int n, const int RB) {
  __m512 acc[4][4];
  for (int i = 0; i < RB; i++) {
    const __m512 sc = _mm512_set1_ps(w->re[r + i]);
    for (int j = 0; j < 4; j++) acc[i][j] = _mm512_mul_ps(_mm512_load_ps(w->o + (size_t)(r + i) * DV + c + 16 * j), sc);
  }
  const float *p = w->s + (size_t)r * BN;
  for (int t = 0; t < n; t++) {
    const float *v = w->k + (size_t)t * DQK + c;
    __m512 vv[4];
    for (int j = 0; j < 4; j++) vv[j] = _mm512_load_ps(v + 16 * j);
    for (int i = 0; i < RB; i++) {
      const __m512 pb = _mm512_set1_ps(p[i * BN + t]);
      for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(pb, vv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RB; i++)
    for (int j = 0; j < 4; j++) _mm512_store_ps(w->o + (size_t)(r + i) * DV + c + 16 * j, acc[i][j]);
}

// tile_accumulate: decode_common.h's row-block driver over pv_block, 64 columns a block (PV_BLOCK_COLS: the
// 64 x 64 slice of V, 16 KB, stays in L1 while every row block uses it).

// 2^x for x <= 0; exactly 0 below -126 (masked keys give -inf).
static inline __m512 exp2_neg(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-126.0f);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, lo, _CMP_NLT_UQ);
  x = _mm512_max_ps(x, lo);
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n); // [-0.5, 0.5]
  // Taylor series of 2^f = e^(f ln 2) to degree 7: relative error < 1e-8 on [-0.5, 0.5] (decode_avx2.c's).
  __m512 p = _mm512_set1_ps(1.5252733804059840e-05f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284772e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821580e-02f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(keep, p, _mm512_castsi512_ps(e));
}

// Scores of row r (keys < nVis visible, < n in the tile) become P = 2^(s - max); w->re[r] gets the old-O factor.
static void softmax_row(const Scratch *w, int r, int n, int nVis) {
  float *s = softmax_row_mask(w, r, n, nVis);
  const __m512 pinf = _mm512_set1_ps(INFINITY);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  __mmask16 unordered = 0;
  for (int t = 0; t < BN; t += 16) {
    const __m512 v = _mm512_load_ps(s + t);
    unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v, pinf, _CMP_EQ_OQ);
    mx = _mm512_max_ps(mx, v);
  }
  float m = _mm512_reduce_max_ps(mx);
  if (softmax_row_special(w, r, s, unordered != 0, &m)) return;
  const __m512 mv = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (int t = 0; t < BN; t += 16) {
    const __m512 e = exp2_neg(_mm512_sub_ps(_mm512_load_ps(s + t), mv));
    _mm512_store_ps(s + t, e);
    sum = _mm512_add_ps(sum, e);
  }
  softmax_row_update(w, r, m, _mm512_reduce_add_ps(sum));
}
