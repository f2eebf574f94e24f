// The model constants of MLA decoding and the layout of the scheduler metadata, written down once. Everything
// else reads them from here: the TypeScript of core and the backends by import, the CUDA header kernels/params.h
// as constexpr values (constantsHeader(), emitted by kernelsHeader() in src/backends/cuda/kernels/launch.ts), a
// WGSL module as `const` declarations (metadataWgsl()).

/** Latent columns of a cache row: DeepSeek-V2/V3's kv_lora_rank; V is these columns of the cache. */
export const dLatent = 512;
/** Decoupled RoPE columns appended to each cache row (qk_rope_head_dim). */
export const dRope = 64;
/** Head dim of q and of a cache row: 512 latent + 64 RoPE. */
export const dQk = dLatent + dRope;
/** Head dim of V and of out (the latent part of a cache row). */
export const dV = dLatent;

/** Keys per cache page where a caller does not choose (FlashMLA's page_block_size; its kernels require 64). */
export const defaultPageBlockSize = 64;
/**
 * Processors to plan for when neither the caller nor the backend says: FlashMLA's 132 SMs of an H100 / H200.
 * A default, not a fact about the device in use: backends report their own count in info.numSms.
 */
export const defaultNumSms = 132;

/** Query rows (sQ * hQ / hKv) per tile of the scheduler (FlashMLA's blockSizeM). */
export const blockSizeM = 64;
/** Keys per scheduler tile (FlashMLA's blockSizeN), independent of the cache's page size. */
export const blockSizeN = 64;
/** Scheduler cost of starting a sequence, in tiles (FlashMLA's fixed_overhead_num_blocks). */
export const fixedOverheadNumBlocks = 5;

/** Int32 fields per SM part in tileSchedulerMetadata (FlashMLA's TileSchedulerMetaDataSize). */
export const metadataFields = 8;

/** Field indices of one tileSchedulerMetadata entry [numSmParts, 8]; fields 5..7 are zero. */
export const Meta = {
  /** First batch index this part works on. */
  BeginIdx: 0,
  /** First key (a multiple of 64) of that sequence. */
  BeginSeqlen: 1,
  /** Last batch index (inclusive). */
  EndIdx: 2,
  /** One past the last key of that sequence. */
  EndSeqlen: 3,
  /** Which split of sequence BeginIdx this part computes. */
  BeginNSplitIdx: 4,
} as const;

/** The metadata layout as `const META_...: u32 = value;` lines for a WGSL module. */
export function metadataWgsl(): string {
  const lines = [`const META_FIELDS: u32 = ${metadataFields}u;`];
  for (const [k, v] of Object.entries(Meta)) lines.push(`const META_${snake(k)}: u32 = ${v}u;`);
  return lines.join('\n');
}

/** The constants as C++ constexpr declarations (generated into src/backends/cuda/kernels/params.h). */
export function constantsHeader(): string {
  const lines = [
    '// Model constants and the tileSchedulerMetadata layout (src/core/constants.ts)',
    `constexpr int kDQk = ${dQk}; // q / cache row: ${dLatent} latent + ${dRope} RoPE`,
    `constexpr int kDV = ${dV};`,
    `constexpr int kBlockSizeN = ${blockSizeN}; // keys per scheduler tile`,
    `constexpr int kMetaFields = ${metadataFields}; // ints per SM part in tileSchedulerMetadata`,
  ];
  for (const [k, v] of Object.entries(Meta)) lines.push(`constexpr int kMeta${k} = ${v};`);
  return lines.join('\n');
}

function snake(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}
