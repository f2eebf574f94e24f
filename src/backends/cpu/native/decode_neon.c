// The native CPU decode kernel, AArch64 Advanced SIMD (NEON): the same work item, outputs and tile loop as the x86
// units (the loop, scratch and stores are decode_common.h), with 4-lane hot loops sized for 32 vector registers:
//   S = Q K^T   4 query rows x 4 keys per register block, 4 lanes along dQk: 16 accumulators + 4 key vectors + 1
//               query vector; a block's 16 accumulators fold into 4 vectors of 4 scores with 12 pairwise adds (faddp);
//   online softmax in base 2, a 4-lane exp2 (the AVX2 unit's polynomial, exactly 0 below 2^-126);
//   O = O * rescale + P V   4 rows x 16 columns per register block: 16 accumulators + 4 V vectors + 4 vectors of P
//               (4 keys of each row, used lane by lane with fmla by element), 24 of the 32 registers.
// bf16 unpacks by a 16-bit shift (ushll), f16 by fcvtl, e4m3 (sparse FP8 caches) by the f16 trick of decode_avx512.c.
// Built twice (scripts/build-cpu.mjs), each with decode_common.h's token-sparse entry as well:
//   BF16_DOT=0, -march=armv8-a: flashmla_cpu_decode_item_neon and flashmla_cpu_sparse_item_neon, all f32 FMA (every
//     AArch64 CPU).
//   BF16_DOT=1, -march=armv8.2-a+bf16: flashmla_cpu_decode_item_neonbf16 and flashmla_cpu_sparse_item_neonbf16
//     (sparse FP8 tiles that bf16 holds exactly go through BFDOT too, pack_bf16_tile). For bf16 q on a bf16 cache, Q K^T runs
//     BFDOT (vbfdotq_f32) on the raw bf16 q rows and the key rows in the cache, 8 products an instruction into 4
//     f32 lanes; the score is then multiplied by softmaxScale * log2 e. What differs from f32 FMA (Arm ARM,
//     BFDotAdd without FEAT_EBF16 or with FPCR.EBF = 0): each bf16 x bf16 product is exact, but the pair's sum and its
//     addition to the accumulator round to odd, not to nearest (up to 1 ulp of f32 a step instead of 1/2); subnormal
//     inputs and results are flushed to zero whatever FPCR.FZ says; a NaN result is the default NaN. So a score
//     that is NaN, infinite or at least 2^126 in magnitude (round to odd saturates where round to nearest
//     overflows) is recomputed in f32 FMA (dot_f32, rare: only inputs holding NaN, infinity or huge values get
//     there), and NaN / +-inf scores are those of f32 arithmetic. P V stays f32 FMA.
// Call flashmla_cpu_features() (features.c) first: the BF16_DOT build faults on a CPU without FEAT_BF16.
#define _POSIX_C_SOURCE 200112L // posix_memalign under -std=c11 (on x86 immintrin.h declares it)
#include <arm_neon.h>

#if BF16_DOT
#define DECODE_ENTRY flashmla_cpu_decode_item_neonbf16
#define COMBINE_ENTRY flashmla_cpu_combine_item_neonbf16
#define SPARSE_ENTRY flashmla_cpu_sparse_item_neonbf16
#else
#define DECODE_ENTRY flashmla_cpu_decode_item_neon
#define COMBINE_ENTRY flashmla_cpu_combine_item_neon
#define SPARSE_ENTRY flashmla_cpu_sparse_item_neon
#endif
#define HAVE_DEQUANT_FP8_ROW 1

// decode_common.h's f16 output rounding: fcvtn rounds to nearest even (FPCR.RMode is nearest on Linux).
static inline uint16_t f32_to_f16_neon(float x) {
  return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(x))), 0);
}
#define F32_TO_F16(x) f32_to_f16_neon(x)
#define QK_BLOCK_4X4 1 // tile_scores is decode_common.h's, over qk_block below
#define PV_BLOCK_COLS 16 // so is tile_accumulate, over pv_block below
#include "decode_common.h"

// 16 e4m3 bytes at a time -> f32 x factor / 2^8 (decode_common.h dequant_fp8): sign to bit 15 and the 7 value bits
// shifted left by 7 make an f16 worth exactly value * 2^-8 (e4m3's exponent bias 7 against f16's 15, subnormals
// included); fcvtl widens it exactly; 0x7f / 0xff get the f16 exponent all ones, a NaN.
static void dequant_fp8_row(float *dst, const uint8_t *src, int n, float factor) {
  const uint16x8_t low7 = vdupq_n_u16(0x7f), sign = vdupq_n_u16(0x80), nanExp = vdupq_n_u16(0x7c00);
  for (int d = 0; d < n; d += 16) {
    const uint8x16_t b8 = vld1q_u8(src + d);
    const uint16x8_t bs[2] = { vmovl_u8(vget_low_u8(b8)), vmovl_high_u8(b8) };
    for (int j = 0; j < 2; j++) {
      const uint16x8_t v = vandq_u16(bs[j], low7);
      uint16x8_t h = vorrq_u16(vshlq_n_u16(vandq_u16(bs[j], sign), 8), vshlq_n_u16(v, 7));
      h = vorrq_u16(h, vandq_u16(vceqq_u16(v, low7), nanExp));
      const float16x8_t x = vreinterpretq_f16_u16(h);
      vst1q_f32(dst + d + 8 * j, vmulq_n_f32(vcvt_f32_f16(vget_low_f16(x)), factor));
      vst1q_f32(dst + d + 8 * j + 4, vmulq_n_f32(vcvt_high_f32_f16(x), factor));
    }
  }
}

// 8 values from bf16 (shift into the high half of an f32) or f16 (fcvtl), as two vectors of 4.
static inline void load_half8(const uint16_t *p, int f16, float32x4_t *lo, float32x4_t *hi) {
  const uint16x8_t h = vld1q_u16(p);
  if (f16) {
    const float16x8_t x = vreinterpretq_f16_u16(h);
    *lo = vcvt_f32_f16(vget_low_f16(x));
    *hi = vcvt_high_f32_f16(x);
  } else {
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
  }
}

static void load_q_row(float *dst, const uint16_t *src, int f16, float scale) {
  for (int d = 0; d < DQK; d += 8) {
    float32x4_t lo, hi;
    load_half8(src + d, f16, &lo, &hi);
    vst1q_f32(dst + d, vmulq_n_f32(lo, scale));
    vst1q_f32(dst + d + 4, vmulq_n_f32(hi, scale));
  }
}

static void load_key_row(float *dst, const uint16_t *src, int f16, int dims) {
  for (int d = 0; d < dims; d += 8) {
    float32x4_t lo, hi;
    load_half8(src + d, f16, &lo, &hi);
    vst1q_f32(dst + d, lo);
    vst1q_f32(dst + d + 4, hi);
  }
}

static void store_split_row(float *dst, const float *o, float inv) {
  for (int d = 0; d < DV; d += 4) vst1q_f32(dst + d, vmulq_n_f32(vld1q_f32(o + d), inv));
}

#if BF16_DOT
// Rows [0, n) of the f32 key tile (DQK apart) as bf16 rows of dst: the upper halves (uzp2 of two vectors' 16-bit
// lanes), the value itself when the lower 16 bits are zero. Returns 1 when every value of the tile is exact so
// (BFDOT on dst then multiplies the very values the f32 loops would), else 0 (dst is then not used).
static int pack_bf16_tile(uint16_t *dst, const float *k, int n) {
  uint16x8_t low = vdupq_n_u16(0);
  for (int t = 0; t < n; t++)
    for (int d = 0; d < DQK; d += 8) {
      const uint16x8_t a = vreinterpretq_u16_f32(vld1q_f32(k + (size_t)t * DQK + d));
      const uint16x8_t b = vreinterpretq_u16_f32(vld1q_f32(k + (size_t)t * DQK + d + 4));
      low = vorrq_u16(low, vuzp1q_u16(a, b));
      vst1q_u16(dst + (size_t)t * DQK + d, vuzp2q_u16(a, b));
    }
  return vmaxvq_u16(low) == 0;
}
#endif

// S[r][t] = (q_r . k_t) * sc for RB rows x KB keys; q rows DQK apart, k[j] the key rows. f32 operands, or (dot) raw
// bf16 ones with BFDOT. A full row of 4 keys is folded by pairwise adds, a partial one lane by lane.
static inline __attribute__((always_inline)) void qk_block(const void *q, const void *const *k, float *s, float sc, const int RB,
                                                           const int KB, const int dot) {
  float32x4_t acc[4][4];
  for (int i = 0; i < RB; i++)
    for (int j = 0; j < KB; j++) acc[i][j] = vdupq_n_f32(0.0f);
#if BF16_DOT
  if (dot) {
    const uint16_t *qh = (const uint16_t *)q;
    for (int d = 0; d < DQK; d += 8) {
      bfloat16x8_t kv[4];
      for (int j = 0; j < KB; j++) kv[j] = vreinterpretq_bf16_u16(vld1q_u16((const uint16_t *)k[j] + d));
      for (int i = 0; i < RB; i++) {
        const bfloat16x8_t qv = vreinterpretq_bf16_u16(vld1q_u16(qh + i * DQK + d));
        for (int j = 0; j < KB; j++) acc[i][j] = vbfdotq_f32(acc[i][j], qv, kv[j]);
      }
    }
  } else
#endif
  {
    (void)dot;
    const float *qf = (const float *)q;
    for (int d = 0; d < DQK; d += 4) {
      float32x4_t kv[4];
      for (int j = 0; j < KB; j++) kv[j] = vld1q_f32((const float *)k[j] + d);
      for (int i = 0; i < RB; i++) {
        const float32x4_t qv = vld1q_f32(qf + i * DQK + d);
        for (int j = 0; j < KB; j++) acc[i][j] = vfmaq_f32(acc[i][j], qv, kv[j]);
      }
    }
  }
  for (int i = 0; i < RB; i++) {
    float *row = s + i * BN;
    if (KB == 4) {
      const float32x4_t raw = vpaddq_f32(vpaddq_f32(acc[i][0], acc[i][1]), vpaddq_f32(acc[i][2], acc[i][3]));
      vst1q_f32(row, vmulq_n_f32(raw, sc));
#if BF16_DOT
      // Lanes whose |raw| is not below 2^126: NaN, infinite or near overflow.
      if (dot && vminvq_u32(vcaltq_f32(raw, vdupq_n_f32(0x1p126f))) == 0) {
        float r4[4];
        vst1q_f32(r4, raw);
        for (int j = 0; j < 4; j++)
          if (!(fabsf(r4[j]) < 0x1p126f)) row[j] = dot_f32((const uint16_t *)q + i * DQK, (const uint16_t *)k[j]) * sc;
      }
#endif
    } else {
      for (int j = 0; j < KB; j++) {
        float v = vaddvq_f32(acc[i][j]);
#if BF16_DOT
        if (dot && !(fabsf(v) < 0x1p126f)) v = dot_f32((const uint16_t *)q + i * DQK, (const uint16_t *)k[j]);
#endif
        row[j] = v * sc;
      }
    }
  }
}

// tile_scores: decode_common.h's 4 x 4 driver over this unit's qk_block (QK_BLOCK_4X4).

// O[r] = O[r] * rescale[r] + sum_t P[r][t] v_t for RB rows, 16 columns at c. Keys go 4 at a time: one load of P per
// row serves 4 keys through fmla by element; the last n % 4 keys take P one value at a time.
static inline __attribute__((always_inline)) void pv_block(const Scratch *w, int r, int c, int n, const int RB) {
  float32x4_t acc[4][4];
  for (int i = 0; i < RB; i++) {
    const float re = w->re[r + i];
    for (int j = 0; j < 4; j++) acc[i][j] = vmulq_n_f32(vld1q_f32(w->o + (size_t)(r + i) * DV + c + 4 * j), re);
  }
  const float *p = w->s + (size_t)r * BN;
  const float *v = w->k + c;
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    float32x4_t pv[4];
    for (int i = 0; i < RB; i++) pv[i] = vld1q_f32(p + i * BN + t);
#define PV_KEY(L)                                                                                                                     \
  {                                                                                                                                   \
    const float *vt = v + (size_t)(t + L) * DQK;                                                                                      \
    float32x4_t vv[4];                                                                                                                \
    for (int j = 0; j < 4; j++) vv[j] = vld1q_f32(vt + 4 * j);                                                                        \
    for (int i = 0; i < RB; i++)                                                                                                      \
      for (int j = 0; j < 4; j++) acc[i][j] = vfmaq_laneq_f32(acc[i][j], vv[j], pv[i], L);                                           \
  }
    PV_KEY(0) PV_KEY(1) PV_KEY(2) PV_KEY(3)
#undef PV_KEY
  }
  for (; t < n; t++) {
    const float *vt = v + (size_t)t * DQK;
    float32x4_t vv[4];
    for (int j = 0; j < 4; j++) vv[j] = vld1q_f32(vt + 4 * j);
    for (int i = 0; i < RB; i++) {
      const float pb = p[i * BN + t];
      for (int j = 0; j < 4; j++) acc[i][j] = vfmaq_n_f32(acc[i][j], vv[j], pb);
    }
  }
  for (int i = 0; i < RB; i++)
    for (int j = 0; j < 4; j++) vst1q_f32(w->o + (size_t)(r + i) * DV + c + 4 * j, acc[i][j]);
}

// tile_accumulate: decode_common.h's row-block driver over pv_block, 16 columns a block (PV_BLOCK_COLS: the
// 64 x 16 slice of V, 4 KB, stays in L1 while every row block uses it).

// 2^x for x <= 0; exactly 0 below -126 (masked keys give -inf).
static inline float32x4_t exp2_neg(float32x4_t x) {
  const float32x4_t lo = vdupq_n_f32(-126.0f);
  const uint32x4_t keep = vcgeq_f32(x, lo);
  x = vmaxq_f32(x, lo);
  const float32x4_t n = vrndnq_f32(x);
  const float32x4_t f = vsubq_f32(x, n); // [-0.5, 0.5]
  // Taylor series of 2^f = e^(f ln 2) to degree 7: relative error < 1e-8 on [-0.5, 0.5] (decode_avx2.c's).
  float32x4_t p = vdupq_n_f32(1.5252733804059840e-05f);
  p = vfmaq_f32(vdupq_n_f32(1.5403530393381606e-04f), p, f);
  p = vfmaq_f32(vdupq_n_f32(1.3333558146428443e-03f), p, f);
  p = vfmaq_f32(vdupq_n_f32(9.6181291076284772e-03f), p, f);
  p = vfmaq_f32(vdupq_n_f32(5.5504108664821580e-02f), p, f);
  p = vfmaq_f32(vdupq_n_f32(2.4022650695910071e-01f), p, f);
  p = vfmaq_f32(vdupq_n_f32(6.9314718055994531e-01f), p, f);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, f);
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  const float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(y), keep));
}

// Scores of row r (keys < nVis visible, < n in the tile) become P = 2^(s - max); w->re[r] gets the old-O factor.
static void softmax_row(const Scratch *w, int r, int n, int nVis) {
  float *s = softmax_row_mask(w, r, n, nVis);
  const float32x4_t pinf = vdupq_n_f32(INFINITY);
  float32x4_t mx = vdupq_n_f32(-INFINITY);
  uint32x4_t unordered = vdupq_n_u32(0);
  for (int t = 0; t < BN; t += 4) {
    const float32x4_t v = vld1q_f32(s + t);
    // NaN: v != v; fmaxnm keeps the max of the ordered lanes (unordered rows are settled by softmax_row_special).
    unordered = vorrq_u32(unordered, vorrq_u32(vmvnq_u32(vceqq_f32(v, v)), vceqq_f32(v, pinf)));
    mx = vmaxnmq_f32(mx, v);
  }
  float m = vmaxnmvq_f32(mx);
  if (softmax_row_special(w, r, s, vmaxvq_u32(unordered) != 0, &m)) return;
  const float32x4_t mv = vdupq_n_f32(m);
  float32x4_t sum = vdupq_n_f32(0.0f);
  for (int t = 0; t < BN; t += 4) {
    const float32x4_t e = exp2_neg(vsubq_f32(vld1q_f32(s + t), mv));
    vst1q_f32(s + t, e);
    sum = vaddq_f32(sum, e);
  }
  softmax_row_update(w, r, m, vaddvq_f32(sum));
}
