// Parameter blocks of kernels/layer.cu (MlaAttention's device-resident decode step), described once: the packer
// writes these bytes and kernels/params.h gets the C structs (launch.ts kernelsHeader appends layerHeader()).
// Element types of the `*Type` fields: 0 f32, 1 bf16, 2 f16 (elemCode).
import { type ParamField, layoutOf, structHeader } from './params.js';

/** 0 f32, 1 bf16, 2 f16: the element type codes layer.cu switches on. */
export const elemCode = { f32: 0, bf16: 1, f16: 2 } as const;

/**
 * GemmParams: y = x · wᵀ per batch entry z, for every gemm kernel (tensor-core bf16, SIMT f32, and the f32 split-K
 * pair mla_gemm_f32_part / mla_gemm_reduce, which alone read ws, splits and chunk).
 */
export const gemmParamFields = [
  { name: 'x', type: 'ptr', c: 'const void*', doc: 'row i of batch z at x + z * xBatch + i * xStride (k elements; bf16 or f32 as the kernel)' },
  { name: 'w', type: 'ptr', c: 'const void*', doc: 'row j of batch z at w + z * wBatch + j * wStride (k elements, same type as x)' },
  { name: 'y', type: 'ptr', c: 'void*', doc: 'y[z, i, j] at y + z * yBatch + i * yStride + j, element type yType' },
  { name: 'm', type: 'i32', doc: 'rows of x and y' },
  { name: 'n', type: 'i32', doc: 'rows of w, columns of y' },
  { name: 'k', type: 'i32', doc: 'reduction length (a multiple of 8 for the tensor-core kernel)' },
  { name: 'xStride', type: 'i32', doc: 'elements' },
  { name: 'wStride', type: 'i32', doc: 'elements' },
  { name: 'yStride', type: 'i32', doc: 'elements' },
  { name: 'xBatch', type: 'i32', doc: 'elements between batch entries of x' },
  { name: 'wBatch', type: 'i32', doc: 'elements between batch entries of w' },
  { name: 'yBatch', type: 'i32', doc: 'elements between batch entries of y' },
  { name: 'yType', type: 'i32', doc: '0 f32, 1 bf16, 2 f16' },
  { name: 'ws', type: 'ptr', c: 'float*', doc: 'split-K partials [splits][batch][m][n] f32 (mla_gemm_f32_part writes, mla_gemm_reduce reads; null otherwise)' },
  { name: 'splits', type: 'i32', doc: 'k ranges of a split-K call (ceil(k / chunk)); 1 otherwise' },
  { name: 'chunk', type: 'i32', doc: 'k columns a range (a multiple of 16, the f32 tile loop\'s step; the last range may be shorter)' },
] as const satisfies readonly ParamField[];

/** RmsNormParams: transformers' DeepseekV3RMSNorm of `rows` rows in place (f32), optionally a 16-bit copy. */
export const rmsNormParamFields = [
  { name: 'x', type: 'ptr', c: 'float*', doc: 'row r at x + r * xStride, d elements, normalized in place' },
  { name: 'weight', type: 'ptr', c: 'const float*', doc: '[d]' },
  { name: 'out', type: 'ptr', c: 'void*', doc: 'null, or row r at out + r * outStride in outType' },
  { name: 'rows', type: 'i32', doc: 'rows' },
  { name: 'd', type: 'i32', doc: 'row width' },
  { name: 'xStride', type: 'i32', doc: 'elements' },
  { name: 'outStride', type: 'i32', doc: 'elements' },
  { name: 'outType', type: 'i32', doc: '0 f32, 1 bf16, 2 f16' },
  { name: 'eps', type: 'f32', doc: 'variance epsilon' },
] as const satisfies readonly ParamField[];

/** QRopeParams: per (token, head), RoPE of q_pe into the kernel's query row, q_nope copied out for the W_UK GEMM. */
export const qRopeParamFields = [
  { name: 'q', type: 'ptr', c: 'const float*', doc: '[rows, heads, nope + rope] f32 (q_b_proj / q_proj output)' },
  { name: 'positions', type: 'ptr', c: 'const int*', doc: '[rows] i32 position of each token' },
  { name: 'invFreq', type: 'ptr', c: 'const float*', doc: '[rope / 2] f32' },
  { name: 'qAttn', type: 'ptr', c: 'void*', doc: '[rows, heads, 576] attnType: columns 512.. get RoPE(q_pe)' },
  { name: 'nopeOut', type: 'ptr', c: 'void*', doc: 'null, or [rows, heads, nope] in nopeType' },
  { name: 'rows', type: 'i32', doc: 'tokens' },
  { name: 'heads', type: 'i32', doc: 'query heads' },
  { name: 'nope', type: 'i32', doc: 'qk_nope_head_dim' },
  { name: 'rope', type: 'i32', doc: 'qk_rope_head_dim (64)' },
  { name: 'attnType', type: 'i32', doc: '1 bf16, 2 f16' },
  { name: 'nopeType', type: 'i32', doc: '0 f32, 1 bf16, 2 f16' },
  { name: 'interleave', type: 'i32', doc: '1: DeepSeek pairs (2i, 2i+1); 0: halves (i, i + rope/2)' },
  { name: 'attentionFactor', type: 'f32', doc: "YaRN's factor on cos and sin (1 without YaRN)" },
] as const satisfies readonly ParamField[];

/** KvAppendParams: per token, RMSNorm the latent, RoPE the key, write both into its paged-cache slot. */
export const kvAppendParamFields = [
  { name: 'kv', type: 'ptr', c: 'const float*', doc: '[rows, latent + rope] f32 (kv_a_proj_with_mqa output)' },
  { name: 'weight', type: 'ptr', c: 'const float*', doc: '[latent] kv_a_layernorm' },
  { name: 'positions', type: 'ptr', c: 'const int*', doc: '[rows] i32' },
  { name: 'invFreq', type: 'ptr', c: 'const float*', doc: '[rope / 2] f32' },
  { name: 'slots', type: 'ptr', c: 'const int*', doc: '[rows] i32 physical cache row (page * pageBlockSize + slot)' },
  { name: 'cache', type: 'ptr', c: 'void*', doc: '[numBlocks * pageBlockSize, latent + rope] cacheType' },
  { name: 'rows', type: 'i32', doc: 'tokens' },
  { name: 'latent', type: 'i32', doc: 'kv_lora_rank (512)' },
  { name: 'rope', type: 'i32', doc: 'qk_rope_head_dim (64)' },
  { name: 'cacheType', type: 'i32', doc: '1 bf16, 2 f16' },
  { name: 'interleave', type: 'i32', doc: 'as QRopeParams' },
  { name: 'eps', type: 'f32', doc: 'kv_a_layernorm epsilon' },
  { name: 'attentionFactor', type: 'f32', doc: 'as QRopeParams' },
] as const satisfies readonly ParamField[];

/** ConvertParams: n elements from srcType to dstType (round to nearest even). */
export const convertParamFields = [
  { name: 'src', type: 'ptr', c: 'const void*', doc: 'n elements' },
  { name: 'dst', type: 'ptr', c: 'void*', doc: 'n elements' },
  { name: 'n', type: 'i32', doc: 'elements' },
  { name: 'srcType', type: 'i32', doc: '0 f32, 1 bf16, 2 f16' },
  { name: 'dstType', type: 'i32', doc: '0 f32, 1 bf16, 2 f16' },
] as const satisfies readonly ParamField[];

export const gemmParamsLayout = layoutOf(gemmParamFields);
export const rmsNormParamsLayout = layoutOf(rmsNormParamFields);
export const qRopeParamsLayout = layoutOf(qRopeParamFields);
export const kvAppendParamsLayout = layoutOf(kvAppendParamFields);
export const convertParamsLayout = layoutOf(convertParamFields);

/** The C structs of layer.cu, for kernels/params.h. */
export function layerHeader(): string {
  return [
    structHeader('GemmParams', gemmParamsLayout),
    structHeader('RmsNormParams', rmsNormParamsLayout),
    structHeader('QRopeParams', qRopeParamsLayout),
    structHeader('KvAppendParams', kvAppendParamsLayout),
    structHeader('ConvertParams', convertParamsLayout),
  ].join('\n');
}
