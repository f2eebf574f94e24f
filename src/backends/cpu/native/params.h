// Field indices of the int32 parameter block of flashmla_cpu_decode_item, one work item (a run of keys of one
// sequence, one KV head), and of flashmla_cpu_combine_item (one split request: the problem fields, batch .. seqlen,
// combine_first and combine_splits). Field order: must match itemFields in item.ts (test/backends/cpu-paths.test.ts checks).
#ifndef FLASHMLA_CPU_PARAMS_H
#define FLASHMLA_CPU_PARAMS_H
enum {
  PRM_DTYPE,          // out / q dtype: 0 bf16, 1 f16
  PRM_KV_DTYPE,       // kCache: 0 bf16, 1 f16, 2 V3.2 FP8, 3 MODEL1 FP8 (2 / 3: hKv 1, units with a sparse entry)
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
  PRM_COMBINE_FIRST,  // combine items: the request's first partial slot (numSplits[i])
  PRM_COMBINE_SPLITS, // combine items: its partials (numSplits[i + 1] - numSplits[i])
  PRM_COUNT
};

// Field indices of the int32 parameter block of flashmla_cpu_sparse_item, one sparse work item: positions
// [posBegin, posEnd) of request `batch`'s combined index list (the main list, padded to 64 when an extra list
// follows it, then the extra list), every query token s of the request, every head. Field order: must match
// sparseItemFields in ../sparse.ts (test/backends/cpu-paths.test.ts checks). Cache kinds: 0 bf16, 1 f16, 2 V3.2
// FP8 (656 bytes a token), 3 MODEL1 FP8 (584 bytes a token, block-padded).
enum {
  SPRM_DTYPE,                // q / out: 0 bf16, 1 f16
  SPRM_KIND,                 // kCache's kind
  SPRM_PAGE_BLOCK_SIZE,
  SPRM_EXTRA_KIND,           // extraKCache's kind (equal to SPRM_KIND when there is one)
  SPRM_EXTRA_PAGE_BLOCK_SIZE,
  SPRM_DQK,                  // 576 or 512
  SPRM_HQ,
  SPRM_SQ,
  SPRM_TOPK,
  SPRM_EXTRA_TOPK,           // 0 without an extra cache
  SPRM_BATCH,                // request i
  SPRM_MAIN_LEN,             // min(topkLength[i], topk): main positions past it are invalid
  SPRM_REGION,               // where the extra list starts in the combined list
  SPRM_EXTRA_LEN,            // min(extraTopkLength[i], extraTopk)
  SPRM_POS_BEGIN,
  SPRM_POS_END,
  SPRM_NO_SPLIT,             // 1: write out / lse (sink applied); 0: oAccum / lseAccum rows of splitSlot
  SPRM_SPLIT_SLOT,
  SPRM_HAS_SINK,
  SPRM_COUNT
};

// What flashmla_cpu_abi() returns: the dense block's length, and 3 since dense items take FP8 caches (2: the sparse
// entry points without that, 1 before them). Since the combine entries the dense block is 23 fields long (21 before).
#define FLASHMLA_CPU_ABI (PRM_COUNT * 1000 + 3)
#endif
