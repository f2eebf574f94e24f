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
// Compiled with -mavx2 -mfma -mf16c; call flashmla_cpu_features() (features.c, built without them) first.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define DQK 576
#define DV 512
#define BN 64 // keys per tile
#ifndef ROW_CHUNK
#define ROW_CHUNK 48 // query rows per pass over a key tile (a multiple of 4 and of 3)
#endif

// Per-thread scratch, grow-only (worker threads each get their own).
typedef struct {
  float *q;    // [rows, DQK] scaled queries
  float *k;    // [BN, DQK] the key tile
  float *s;    // [rows, BN] scores, then P
  float *o;    // [rows, DV] unnormalised output
  float *m;    // [rows] running max (base 2)
  float *l;    // [rows] running sum
  float *re;   // [rows] this tile's rescale of O
  int rows;
} Scratch;
static __thread Scratch tls;

static float *alloc_f32(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) return NULL;
  return (float *)p;
}

static int ensure_scratch(Scratch *w, int rows) {
  if (!w->k) {
    w->k = alloc_f32((size_t)BN * DQK);
    if (!w->k) return -1;
  }
  if (rows <= w->rows) return 0;
  free(w->q); free(w->s); free(w->o); free(w->m); free(w->l); free(w->re);
  w->q = alloc_f32((size_t)rows * DQK);
  w->s = alloc_f32((size_t)rows * BN);
  w->o = alloc_f32((size_t)rows * DV);
  w->m = alloc_f32(rows); w->l = alloc_f32(rows); w->re = alloc_f32(rows);
  if (!w->q || !w->s || !w->o || !w->m || !w->l || !w->re) { w->rows = 0; return -1; }
  w->rows = rows;
  return 0;
}

static inline __m256 load_half8(const uint16_t *p, int f16) {
  __m128i h = _mm_loadu_si128((const __m128i *)p);
  if (f16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
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
  float *s = w->s + (size_t)r * BN;
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  if (nVis < 0) nVis = 0;
  if (nVis > n) nVis = n;
  for (int t = nVis; t < BN; t++) s[t] = -INFINITY; // masked and past-the-tile keys
  const float old = w->m[r];
  // A NaN or +inf score (from NaN or infinity in q or in a visible key) poisons the row for good, as in the float64
  // reference (+inf - +inf is NaN there): max_ps and the exp2 clamp would otherwise drop it. The row's P, max, sum
  // and O rescale all become NaN.
  const __m256 pinf = _mm256_set1_ps(INFINITY);
  __m256 mx = ninf, unordered = _mm256_setzero_ps();
  for (int t = 0; t < BN; t += 8) {
    const __m256 v = _mm256_load_ps(s + t);
    unordered = _mm256_or_ps(unordered, _mm256_or_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(v, pinf, _CMP_EQ_OQ)));
    mx = _mm256_max_ps(mx, v);
  }
  if (old != old || _mm256_movemask_ps(unordered)) {
    for (int t = 0; t < BN; t++) s[t] = NAN;
    w->m[r] = NAN;
    w->l[r] = NAN;
    w->re[r] = NAN;
    return;
  }
  float m = hmax(mx);
  if (old > m) m = old;
  if (m == -INFINITY) { // nothing seen yet: P = 0, O stays 0
    memset(s, 0, BN * sizeof(float));
    w->re[r] = 1.0f;
    return;
  }
  const float rescale = old == -INFINITY ? 0.0f : exp2f(old - m);
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  for (int t = 0; t < BN; t += 8) {
    __m256 e = exp2_neg(_mm256_sub_ps(_mm256_load_ps(s + t), mv));
    _mm256_store_ps(s + t, e);
    sum = _mm256_add_ps(sum, e);
  }
  w->m[r] = m;
  w->l[r] = w->l[r] * rescale + hsum(sum);
  w->re[r] = rescale;
}

static inline uint16_t f32_to_bf16(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

static inline uint16_t f32_to_half(float x, int f16) {
  return f16 ? (uint16_t)_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT) : f32_to_bf16(x);
}

static inline int visible_keys(int seqlen, int qLen, int j, int causal) {
  if (!causal) return seqlen;
  int v = seqlen - qLen + j + 1;
  return v > 0 ? v : 0;
}

// Keys of the tile [t0, t0 + n) that query j sees.
static inline int keys_in_tile(int seqlen, int qLen, int j, int causal, int t0, int n) {
  const int v = visible_keys(seqlen, qLen, j, causal) - t0;
  return v < 0 ? 0 : v > n ? n : v;
}

static __attribute__((noipa)) int decode_item(Scratch *w, const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache,
                                                 const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  const int qF16 = prm[PRM_DTYPE] == 1, kvF16 = prm[PRM_KV_DTYPE] == 1;
  const int hQ = prm[PRM_HQ], hKv = prm[PRM_HKV], nGroups = prm[PRM_NGROUPS];
  const int page = prm[PRM_PAGE_BLOCK_SIZE], causal = prm[PRM_CAUSAL];
  const int i = prm[PRM_BATCH], qStart = prm[PRM_Q_START], qLen = prm[PRM_Q_LEN], seqlen = prm[PRM_SEQLEN];
  const int kBegin = prm[PRM_K_BEGIN], kEnd = prm[PRM_K_END], g = prm[PRM_KV_HEAD];
  const int rows = qLen * nGroups;
  if (rows == 0) return 0;
  if (ensure_scratch(w, rows)) return -1;

  const __m256 qs = _mm256_set1_ps(scale * 1.4426950408889634f);
  for (int r = 0; r < rows; r++) {
    const int j = r / nGroups, h = g * nGroups + r % nGroups;
    const uint16_t *src = q + ((size_t)(qStart + j) * hQ + h) * DQK;
    for (int d = 0; d < DQK; d += 8) _mm256_store_ps(w->q + (size_t)r * DQK + d, _mm256_mul_ps(load_half8(src + d, qF16), qs));
    w->m[r] = -INFINITY;
    w->l[r] = 0.0f;
  }
  memset(w->o, 0, (size_t)rows * DV * sizeof(float));

  const int32_t *table = blockTable + (size_t)i * prm[PRM_MAX_BLOCKS_PER_SEQ];
  for (int t0 = kBegin; t0 < kEnd; t0 += BN) {
    const int n = kEnd - t0 < BN ? kEnd - t0 : BN;
    for (int t = 0; t < n; t++) {
      const int key = t0 + t;
      const uint16_t *src = kCache + (((size_t)table[key / page] * page + key % page) * hKv + g) * DQK;
      float *dst = w->k + (size_t)t * DQK;
      for (int d = 0; d < DQK; d += 8) _mm256_store_ps(dst + d, load_half8(src + d, kvF16));
    }
    // Row chunks keep Q, O and P of the chunk plus the f32 key tile (147 KB) inside a 512 KB L2.
    for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
      const int r1 = r0 + ROW_CHUNK < rows ? r0 + ROW_CHUNK : rows;
      tile_scores(w, r0, r1, n);
      for (int r = r0; r < r1; r++) softmax_row(w, r, n, visible_keys(seqlen, qLen, r / nGroups, causal) - t0);
      // A key a row may not see must stay out of its P V product, not just weigh 0: its V may be inf or NaN (0 x inf
      // is NaN). Each run of rows that sees the same keys of this tile gets its own pass (one pass off the diagonal).
      for (int r = r0; r < r1;) {
        const int nv = keys_in_tile(seqlen, qLen, r / nGroups, causal, t0, n);
        int e = r + 1;
        while (e < r1 && keys_in_tile(seqlen, qLen, e / nGroups, causal, t0, n) == nv) e++;
        tile_accumulate(w, r, e, nv);
        r = e;
      }
    }
  }

  const double ln2 = 0.69314718055994531;
  for (int r = 0; r < rows; r++) {
    const int j = r / nGroups, h = g * nGroups + r % nGroups;
    // l == 0: no finite score. A whole sequence: no key (out 0, lse +inf) or keys that all scored -inf (NaN, as the
    // reference's exp(-inf - -inf)); a split keeps lse -inf and its unnormalised 0 x V sums (NaN where V is inf).
    const int empty = w->l[r] == 0.0f;
    const float inv = empty ? 1.0f : 1.0f / w->l[r];
    const float l = empty ? -INFINITY : (float)((double)w->m[r] * ln2 + log((double)w->l[r]));
    const float *o = w->o + (size_t)r * DV;
    if (prm[PRM_NO_SPLIT]) {
      uint16_t *dst = out + ((size_t)(qStart + j) * hQ + h) * DV;
      float *lo = lse + (size_t)i * prm[PRM_LSE_STRIDE_B] + (size_t)h * prm[PRM_LSE_STRIDE_H] + (size_t)(qStart + j) * prm[PRM_LSE_STRIDE_T];
      if (empty) {
        const int seesKeys = visible_keys(seqlen, qLen, j, causal) > 0;
        const uint16_t fill = seesKeys ? f32_to_half(NAN, qF16) : 0;
        for (int d = 0; d < DV; d++) dst[d] = fill;
        *lo = seesKeys ? NAN : INFINITY;
        continue;
      }
      for (int d = 0; d < DV; d++) dst[d] = f32_to_half(o[d] * inv, qF16);
      *lo = l;
    } else {
      const size_t row = (size_t)prm[PRM_SPLIT_SLOT] * prm[PRM_ROWS_PER_SPLIT] + (size_t)j * hQ + h;
      float *dst = oAccum + row * DV;
      for (int d = 0; d < DV; d += 8) _mm256_storeu_ps(dst + d, _mm256_mul_ps(_mm256_load_ps(o + d), _mm256_set1_ps(inv)));
      lseAccum[row] = l;
    }
  }
  return 0;
}

/**
 * One work item. prm: PRM_COUNT int32 fields (params.h); scale: softmaxScale. Returns 0, or -1 when scratch
 * memory cannot be allocated. The scratch pointer reaches the helpers as an opaque argument (noipa above): when
 * gcc propagated &tls into clones of them, a dlopen()ed library's general-dynamic TLS turned into
 * __tls_get_addr calls inside the hot loops (1.6-2.5x slower).
 */
int flashmla_cpu_decode_item(const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache,
                             const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  return decode_item(&tls, prm, scale, q, kCache, blockTable, out, lse, oAccum, lseAccum);
}
