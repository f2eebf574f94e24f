// Field indices of the int32 parameter block of flashmla_cpu_decode_item, one work item (a run of keys of one
// sequence, one KV head). Field order: must match itemFields in item.ts (test/backends/cpu-paths.test.ts checks).
#ifndef FLASHMLA_CPU_PARAMS_H
#define FLASHMLA_CPU_PARAMS_H
enum {
  PRM_DTYPE,          // out / q dtype: 0 bf16, 1 f16
  PRM_KV_DTYPE,       // kCache dtype: 0 bf16, 1 f16
  PRM_HQ,
  PRM_HKV,
  PRM_NGROUPS,        // hQ / hKv
  PRM_PAGE_BLOCK_SIZE,
  PRM_MAX_BLOCKS_PER_SEQ,
  PRM_CAUSAL,
  PRM_LSE_STRIDE_B,
  PRM_LSE_STRIDE_H,
  PRM_LSE_STRIDE_T,
  PRM_ROWS_PER_SPLIT, // sQ * hQ: rows of one partial result
  PRM_BATCH,          // sequence index i
  PRM_Q_START,        // first query token of the request (qIndptr[i] or i * sQ)
  PRM_Q_LEN,
  PRM_SEQLEN,
  PRM_K_BEGIN,
  PRM_K_END,
  PRM_NO_SPLIT,       // 1: write out / lse; 0: write oAccum / lseAccum row slot
  PRM_SPLIT_SLOT,
  PRM_KV_HEAD,        // g
  PRM_COUNT
};
#endif
