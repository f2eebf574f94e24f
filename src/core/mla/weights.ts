// The weights of one MLA layer, f32 in torch.nn.Linear's [out, in] layout, from arrays or from a safetensors
// file with the Hugging Face DeepSeek names (model.layers.{i}.self_attn.q_a_proj.weight, ...).
import { invalidArgument } from '../errors.js';
import type { MlaConfig } from './config.js';
import type { SafetensorsFile } from './safetensors.js';

export interface MlaWeights {
  /** [numHeads * (qkNope + qkRope), hiddenSize], when qLoraRank is null. */
  qProj?: Float32Array;
  /** [qLoraRank, hiddenSize], [qLoraRank], [numHeads * (qkNope + qkRope), qLoraRank]. */
  qAProj?: Float32Array;
  qALayernorm?: Float32Array;
  qBProj?: Float32Array;
  /** `[kvLoraRank + qkRope, hiddenSize]`: the latent and the shared RoPE key. */
  kvAProjWithMqa: Float32Array;
  /** [kvLoraRank] */
  kvALayernorm: Float32Array;
  /** `[numHeads * (qkNope + vHead), kvLoraRank]`: per head, W_UK (qkNope rows) then W_UV (vHead rows). */
  kvBProj: Float32Array;
  /** [hiddenSize, numHeads * vHead] */
  oProj: Float32Array;
}

/** The [rows, cols] of every weight for a config; absent weights are not listed. */
export function weightShapes(c: MlaConfig): Partial<Record<keyof MlaWeights, number[]>> {
  const qk = c.qkNopeHeadDim + c.qkRopeHeadDim;
  const common = {
    kvAProjWithMqa: [c.kvLoraRank + c.qkRopeHeadDim, c.hiddenSize],
    kvALayernorm: [c.kvLoraRank],
    kvBProj: [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank],
    oProj: [c.hiddenSize, c.numHeads * c.vHeadDim],
  };
  return c.qLoraRank === null
    ? { qProj: [c.numHeads * qk, c.hiddenSize], ...common }
    : { qAProj: [c.qLoraRank, c.hiddenSize], qALayernorm: [c.qLoraRank], qBProj: [c.numHeads * qk, c.qLoraRank], ...common };
}

export function checkMlaWeights(c: MlaConfig, w: MlaWeights): void {
  for (const [name, shape] of Object.entries(weightShapes(c)) as [keyof MlaWeights, number[]][]) {
    const a = w[name];
    const n = shape.reduce((x, y) => x * y, 1);
    if (!(a instanceof Float32Array)) throw invalidArgument(`weights.${name}`, `a Float32Array [${shape.join(', ')}]`, a === undefined ? 'undefined' : Object.prototype.toString.call(a));
    if (a.length !== n) throw invalidArgument(`weights.${name}`, `${n} elements ([${shape.join(', ')}])`, String(a.length));
  }
  if (c.qLoraRank === null && w.qAProj) throw invalidArgument('weights.qAProj', 'absent (config.qLoraRank is null)', 'present');
  if (c.qLoraRank !== null && w.qProj) throw invalidArgument('weights.qProj', `absent (config.qLoraRank is ${c.qLoraRank})`, 'present');
}

const hfNames: Record<keyof MlaWeights, string> = {
  qProj: 'q_proj.weight', qAProj: 'q_a_proj.weight', qALayernorm: 'q_a_layernorm.weight', qBProj: 'q_b_proj.weight',
  kvAProjWithMqa: 'kv_a_proj_with_mqa.weight', kvALayernorm: 'kv_a_layernorm.weight', kvBProj: 'kv_b_proj.weight', oProj: 'o_proj.weight',
};

/**
 * One layer's weights from a safetensors file; `prefix` is what precedes the Hugging Face names, e.g.
 * "model.layers.3.self_attn." (a whole checkpoint) or "" (a file of one attention module's state_dict).
 */
export function mlaWeightsFromSafetensors(file: SafetensorsFile, c: MlaConfig, prefix = ''): MlaWeights {
  const out: Partial<MlaWeights> = {};
  for (const [name, shape] of Object.entries(weightShapes(c)) as [keyof MlaWeights, number[]][]) {
    out[name] = file.f32(prefix + hfNames[name], shape);
  }
  for (const bias of ['q_a_proj.bias', 'kv_a_proj_with_mqa.bias', 'o_proj.bias']) {
    if (file.has(prefix + bias)) throw invalidArgument(prefix + bias, 'no attention bias (attention_bias = false, as in every DeepSeek release)', 'a bias tensor');
  }
  const w = out as MlaWeights;
  checkMlaWeights(c, w);
  return w;
}
