// KV-cache memory planner: what one token costs in the cache of an MHA, GQA or MLA model at a given storage
// format, and how many tokens and sequences a memory budget holds. Pure arithmetic; browser-safe.
//
// The named shapes come from the models' public Hugging Face config.json files (cited per entry) and, for the
// FP8 cache layouts, from FlashMLA's sparse FP8 kernels (csrc/sm90/decode/sparse_fp8; see also
// ../shared/golden-sparse/README.md of this project).
import { defaultPageBlockSize } from './constants.js';
import { invalidArgument } from './errors.js';

export type AttentionKind = 'mha' | 'gqa' | 'mla';

/** The attention shape that decides a model's KV cache. */
export interface AttentionShape {
  name: string;
  kind: AttentionKind;
  layers: number;
  /** Query heads (for MLA: the heads that share the one latent). */
  qHeads: number;
  /** MHA/GQA: heads of K and of V cached per token (MHA: = qHeads). MLA: 1 (the latent is shared). */
  kvHeads: number;
  /** MHA/GQA: dims of one cached key head (and, unless vHeadDim says otherwise, of one value head). */
  headDim: number;
  /** MHA/GQA: dims of one cached value head (default headDim). */
  vHeadDim?: number;
  /** MLA: width of the compressed latent c_KV (512 in V2/V3; 448 NoPE dims in V4's 512-wide cache row). */
  kvLoraRank?: number;
  /** MLA: dims of the decoupled RoPE key k_pe cached next to the latent (64). */
  ropeDim?: number;
  /** The cache format this model is served with by default. */
  defaultFormat: CacheFormat;
  /** Where the numbers come from. */
  source: string;
  /** Caveats printed with the plan. */
  notes?: string[];
}

/**
 * How cache elements are stored.
 *  - 'bf16' | 'f16': 2 bytes an element; 'fp8': 1 byte an element, no scales counted.
 *  - { bits }: an average of `bits` bits an element (e.g. 6: the DeepSeek-V2 paper's deployment), no overhead.
 *  - 'fp8-v32': FlashMLA's DeepSeek-V3.2 token: 512 e4m3 latent + 4 f32 scales (one per 128) + 64 bf16 RoPE = 656 B.
 *  - 'fp8-v4': FlashMLA's "MODEL1" (DeepSeek-V4) token: 448 e4m3 NoPE + 64 bf16 RoPE + 7 e8m0 scales + 1 pad = 584 B.
 */
export type CacheFormat = 'bf16' | 'f16' | 'fp8' | 'fp8-v32' | 'fp8-v4' | { bits: number };

export const cacheFormatNames = ['bf16', 'f16', 'fp8', 'fp8-v32', 'fp8-v4'] as const;

/** FlashMLA's fixed-layout FP8 MLA tokens: bytes per token per layer, and the shape they fit. */
export const fp8MlaLayouts = {
  'fp8-v32': { bytes: 512 + 4 * 4 + 64 * 2, kvLoraRank: 512, ropeDim: 64 }, // 656
  'fp8-v4': { bytes: 448 + 64 * 2 + 7 + 1, kvLoraRank: 448, ropeDim: 64 }, // 584
} as const;

const hf = (repo: string) => `https://huggingface.co/deepseek-ai/${repo}/blob/main/config.json`;

/** Named DeepSeek configurations. */
export const namedShapes: Record<string, AttentionShape> = {
  'deepseek-7b': {
    // hidden_size 4096, num_hidden_layers 30, num_attention_heads 32, num_key_value_heads 32 (MHA)
    name: 'DeepSeek LLM 7B', kind: 'mha', layers: 30, qHeads: 32, kvHeads: 32, headDim: 128,
    defaultFormat: 'bf16', source: hf('deepseek-llm-7b-base'),
  },
  'deepseek-67b': {
    // hidden_size 8192, num_hidden_layers 95, num_attention_heads 64, num_key_value_heads 8 (GQA), head dim 8192/64
    name: 'DeepSeek LLM 67B', kind: 'gqa', layers: 95, qHeads: 64, kvHeads: 8, headDim: 128,
    defaultFormat: 'bf16', source: hf('deepseek-llm-67b-base'),
  },
  'deepseek-v2': {
    // hidden_size 5120, num_hidden_layers 60, num_attention_heads 128, q_lora_rank 1536, kv_lora_rank 512,
    // qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128
    name: 'DeepSeek-V2', kind: 'mla', layers: 60, qHeads: 128, kvHeads: 1, headDim: 192, vHeadDim: 128, kvLoraRank: 512, ropeDim: 64,
    defaultFormat: 'bf16', source: hf('DeepSeek-V2'),
  },
  'deepseek-v2-lite': {
    // hidden_size 2048, num_hidden_layers 27, num_attention_heads 16, q_lora_rank null, kv_lora_rank 512
    name: 'DeepSeek-V2-Lite', kind: 'mla', layers: 27, qHeads: 16, kvHeads: 1, headDim: 192, vHeadDim: 128, kvLoraRank: 512, ropeDim: 64,
    defaultFormat: 'bf16', source: hf('DeepSeek-V2-Lite'),
  },
  'deepseek-v3': {
    // hidden_size 7168, num_hidden_layers 61, num_attention_heads 128, q_lora_rank 1536, kv_lora_rank 512
    name: 'DeepSeek-V3', kind: 'mla', layers: 61, qHeads: 128, kvHeads: 1, headDim: 192, vHeadDim: 128, kvLoraRank: 512, ropeDim: 64,
    defaultFormat: 'bf16', source: hf('DeepSeek-V3'),
  },
  'deepseek-v3.2': {
    // V3's attention shape (61 layers, 128 heads) plus the lightning indexer; FlashMLA stores its MLA cache as 656-byte FP8 tokens.
    name: 'DeepSeek-V3.2', kind: 'mla', layers: 61, qHeads: 128, kvHeads: 1, headDim: 192, vHeadDim: 128, kvLoraRank: 512, ropeDim: 64,
    defaultFormat: 'fp8-v32', source: `${hf('DeepSeek-V3.2-Exp')}; FlashMLA sparse_fp8 (656 B/token)`,
    notes: ['the lightning indexer keeps its own key cache (index_head_dim 128 in FP8 + a scale per token and layer), not counted here'],
  },
  'deepseek-v4': {
    name: 'DeepSeek-V4', kind: 'mla', layers: 61, qHeads: 128, kvHeads: 1, headDim: 512, vHeadDim: 512, kvLoraRank: 448, ropeDim: 64,
    defaultFormat: 'fp8-v4', source: 'FlashMLA sparse_fp8 "MODEL1" kernels (d_qk 512 = 448 NoPE + 64 RoPE, 584 B/token, h_q 64 or 128)',
    notes: ['the layer count is not in this project\'s sources: 61 (V3\'s) is assumed; pass --layers to change it'],
  },
};

export function shapeByName(name: string): AttentionShape {
  const s = namedShapes[name.toLowerCase()];
  if (!s) throw invalidArgument('model', `one of ${Object.keys(namedShapes).join(', ')}`, `'${name}'`);
  return s;
}

export function checkShapeValues(s: AttentionShape): void {
  const pos = (k: keyof AttentionShape, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalidArgument(`${s.name}.${String(k)}`, 'a positive integer', String(v));
  };
  pos('layers', s.layers);
  pos('qHeads', s.qHeads);
  if (s.kind === 'mla') {
    pos('kvLoraRank', s.kvLoraRank);
    if (s.ropeDim === undefined || !Number.isInteger(s.ropeDim) || s.ropeDim < 0) throw invalidArgument(`${s.name}.ropeDim`, 'a non-negative integer', String(s.ropeDim));
  } else {
    pos('kvHeads', s.kvHeads);
    pos('headDim', s.headDim);
    if (s.vHeadDim !== undefined) pos('vHeadDim', s.vHeadDim);
    if (s.qHeads % s.kvHeads !== 0) throw invalidArgument(`${s.name}.qHeads`, `a multiple of kvHeads = ${s.kvHeads}`, String(s.qHeads));
    if (s.kind === 'mha' && s.kvHeads !== s.qHeads) throw invalidArgument(`${s.name}.kvHeads`, `qHeads = ${s.qHeads} (MHA)`, String(s.kvHeads));
  }
}

/** Cache elements one token needs in one layer. MHA/GQA: K and V of every KV head; MLA: latent + RoPE key. */
export function elementsPerTokenPerLayer(s: AttentionShape): number {
  if (s.kind === 'mla') return s.kvLoraRank! + s.ropeDim!;
  return s.kvHeads * (s.headDim + (s.vHeadDim ?? s.headDim));
}

export function formatName(f: CacheFormat): string {
  return typeof f === 'string' ? f : `${f.bits}-bit`;
}

/** Parse 'bf16', 'fp8', 'fp8-v32', 'fp8-v4', '6bit' / '6' / 'bits6' / '4.5'. */
export function parseCacheFormat(text: string): CacheFormat {
  const t = text.trim().toLowerCase();
  if ((cacheFormatNames as readonly string[]).includes(t)) return t as CacheFormat;
  const m = /^(?:bits)?(\d+(?:\.\d+)?)(?:-?bits?)?$/.exec(t);
  if (m) {
    const bits = Number(m[1]);
    if (bits > 0 && bits <= 64) return { bits };
  }
  throw invalidArgument('format', `one of ${cacheFormatNames.join(', ')} or a bit width such as 6bit`, `'${text}'`);
}

/** Bytes one token costs in one layer's cache. */
export function bytesPerTokenPerLayer(s: AttentionShape, f: CacheFormat): number {
  checkShapeValues(s);
  if (f === 'fp8-v32' || f === 'fp8-v4') {
    const l = fp8MlaLayouts[f];
    if (s.kind !== 'mla' || s.kvLoraRank !== l.kvLoraRank || s.ropeDim !== l.ropeDim) {
      throw invalidArgument('format', `a format for this shape (${f} stores MLA tokens of ${l.kvLoraRank} + ${l.ropeDim} dims)`,
        s.kind === 'mla' ? `${s.name}: ${s.kvLoraRank} + ${s.ropeDim}` : `${s.name}: ${s.kind.toUpperCase()}`);
    }
    return l.bytes;
  }
  const bits = f === 'bf16' || f === 'f16' ? 16 : f === 'fp8' ? 8 : f.bits;
  if (!(bits > 0 && bits <= 64)) throw invalidArgument('format.bits', 'a bit width in (0, 64]', String(bits));
  return (elementsPerTokenPerLayer(s) * bits) / 8;
}

export interface CachePlanOptions {
  /** Default: the shape's defaultFormat. */
  format?: CacheFormat;
  /** Memory given to the KV cache, bytes. */
  budgetBytes?: number;
  /** Tokens per sequence (prompt + generated) that each sequence must be able to hold. */
  contextLength?: number;
  /** Tokens per cache page; sequences take whole pages. Default 64 (FlashMLA). */
  pageBlockSize?: number;
  /** Layers to count (default: the shape's); e.g. a pipeline stage's share. */
  layers?: number;
}

export interface CachePlan {
  model: string;
  kind: AttentionKind;
  format: string;
  layers: number;
  elementsPerTokenPerLayer: number;
  bytesPerTokenPerLayer: number;
  /** All layers. */
  bytesPerToken: number;
  pageBlockSize: number;
  /** Present with budgetBytes. */
  budgetBytes?: number;
  /** Whole pages of every layer that fit the budget, as tokens. */
  capacityTokens?: number;
  /** Present with contextLength. */
  contextLength?: number;
  bytesPerSequence?: number;
  /** Sequences of contextLength that fit the budget (each takes whole pages). */
  capacitySequences?: number;
}

/** Cost of a token, and the budget's capacity in tokens and sequences. */
export function planKvCache(s: AttentionShape, opts: CachePlanOptions = {}): CachePlan {
  const format = opts.format ?? s.defaultFormat;
  const layers = opts.layers ?? s.layers;
  if (!Number.isInteger(layers) || layers < 1) throw invalidArgument('layers', 'a positive integer', String(layers));
  const page = opts.pageBlockSize ?? defaultPageBlockSize;
  if (!Number.isInteger(page) || page < 1) throw invalidArgument('pageBlockSize', 'a positive integer', String(page));
  const perLayer = bytesPerTokenPerLayer({ ...s, layers }, format);
  const perToken = perLayer * layers;
  const plan: CachePlan = {
    model: s.name, kind: s.kind, format: formatName(format), layers, elementsPerTokenPerLayer: elementsPerTokenPerLayer(s),
    bytesPerTokenPerLayer: perLayer, bytesPerToken: perToken, pageBlockSize: page,
  };
  if (opts.contextLength !== undefined) {
    if (!Number.isInteger(opts.contextLength) || opts.contextLength < 1) throw invalidArgument('contextLength', 'a positive integer', String(opts.contextLength));
    plan.contextLength = opts.contextLength;
    plan.bytesPerSequence = Math.ceil(opts.contextLength / page) * page * perToken;
  }
  if (opts.budgetBytes !== undefined) {
    if (!(opts.budgetBytes >= 0) || !Number.isFinite(opts.budgetBytes)) throw invalidArgument('budgetBytes', 'a finite number >= 0', String(opts.budgetBytes));
    plan.budgetBytes = opts.budgetBytes;
    const pages = Math.floor(opts.budgetBytes / (page * perToken));
    plan.capacityTokens = pages * page;
    if (plan.contextLength !== undefined) plan.capacitySequences = Math.floor(pages / Math.ceil(plan.contextLength / page));
  }
  return plan;
}

export interface CacheComparison {
  a: CachePlan;
  b: CachePlan;
  /** 1 - a/b bytes per token: how much smaller a's cache is. */
  reduction: number;
  /** b/a bytes per token: how many more tokens a holds in the same memory. */
  capacityRatio: number;
}

export function compareKvCache(a: AttentionShape, b: AttentionShape, opts: { formatA?: CacheFormat; formatB?: CacheFormat } & Omit<CachePlanOptions, 'format' | 'layers'> = {}): CacheComparison {
  const pa = planKvCache(a, { ...opts, format: opts.formatA });
  const pb = planKvCache(b, { ...opts, format: opts.formatB });
  return { a: pa, b: pb, reduction: 1 - pa.bytesPerToken / pb.bytesPerToken, capacityRatio: pb.bytesPerToken / pa.bytesPerToken };
}

export interface ClaimStep {
  /** What changes against the paper's assumptions. */
  assumption: string;
  v2BytesPerToken: number;
  baseBytesPerToken: number;
  reduction: number;
  capacityRatio: number;
}

/**
 * The DeepSeek-V2 paper's "KV cache reduced by 93.3%" against DeepSeek 67B, with its assumptions (67B: 95 layers
 * x 8 KV heads x 128 dims x K and V at bf16; V2: (512 + 64) x 60 layers at the ~6 bits per element its deployment
 * quantized the cache to), then one assumption changed at a time.
 */
export function deepseekV2Claim(): ClaimStep[] {
  const v2 = namedShapes['deepseek-v2'], base = namedShapes['deepseek-67b'];
  const step = (assumption: string, fv: CacheFormat, fb: CacheFormat, v2Shape = v2): ClaimStep => {
    const c = compareKvCache(v2Shape, base, { formatA: fv, formatB: fb });
    return { assumption, v2BytesPerToken: c.a.bytesPerToken, baseBytesPerToken: c.b.bytesPerToken, reduction: c.reduction, capacityRatio: c.capacityRatio };
  };
  return [
    step('the paper: V2 cache at ~6 bits/element, 67B at bf16', { bits: 6 }, 'bf16'),
    step('V2 cache at bf16 too (no cache quantization)', 'bf16', 'bf16'),
    step('V2 cache at plain FP8 (8 bits, scales not counted)', 'fp8', 'bf16'),
    step('both caches at FP8', 'fp8', 'fp8'),
    step('V2 at ~6 bits, 67B also at 6 bits', { bits: 6 }, { bits: 6 }),
    step('V2 at ~6 bits without the RoPE key (512 latent only)', { bits: 6 }, 'bf16', { ...v2, ropeDim: 0 }),
  ];
}

/** Bytes from "80GiB", "80GB", "1.5T", "512MiB", or a plain number of bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text);
  if (!m) throw invalidArgument('memory', 'a size such as 80GiB, 141GB or a number of bytes', `'${text}'`);
  const base = m[3] || !m[2] ? 1024 : 1000;
  const exp = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.round(Number(m[1]) * base ** exp);
}
