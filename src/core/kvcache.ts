// The paged latent KV cache: one pool of pages kCache [numBlocks, pageBlockSize, hKv, 576] on a backend's device,
// handed out to sequences as they grow. Decode steps read it through the block table that batch() builds.
// Browser-safe: tokens are written with backend.write, so the same manager serves host and device caches.
import { defaultPageBlockSize } from './constants.js';
import { type HalfDType, encodeHalf, f32ToBf16, hostArrayFor } from './dtype.js';
import { type Fp8Format, checkFp8Format, fp8BlockStride, fp8Layouts, quantizeToken } from './fp8.js';
import { FlashMlaError, invalidArgument } from './errors.js';
import { type Backend, dQkDefault } from './problem.js';
import { Tensor, fromArray } from './tensor.js';
import { checkPositiveInt } from './validate.js';

export interface KvCacheOptions {
  /** Where the pool lives (its empty() allocates it, its write() fills it). */
  backend: Backend;
  /** Pages in the pool. */
  numBlocks: number;
  /** Tokens per page, 1..256. Default 64 (FlashMLA's only size). */
  pageBlockSize?: number;
  /** Latent KV heads. Default 1 (DeepSeek-V2/V3). */
  hKv?: number;
  /** Default bf16. */
  dtype?: HalfDType;
  /**
   * Store pages in one of FlashMLA's FP8 formats ('v32': 656 bytes a token, dQk 576; 'model1': 584 bytes, dQk 512)
   * instead of 16-bit floats; append() quantizes (bf16 input) with FlashMLA's rule. kCache is then the fp8_e4m3
   * view [numBlocks, pageBlockSize, 1, bytesPerToken] that flashMlaSparseWithKvcache takes. Needs hKv = 1.
   */
  format?: Fp8Format;
}

export interface KvCacheStats {
  numBlocks: number;
  pageBlockSize: number;
  pagesUsed: number;
  pagesFree: number;
  sequences: number;
  /** Tokens held by live sequences. */
  tokens: number;
  /** Tokens the free pages plus the unused tails of live sequences' last pages can still take. */
  freeTokens: number;
  /** What one token costs in one layer: hKv * 576 elements of the cache dtype, or the FP8 format's bytes. */
  bytesPerToken: number;
  bytesPerPage: number;
  /** Bytes of the whole pool. */
  poolBytes: number;
}

export interface DecodeBatch {
  /** [b, maxBlocksPerSeq] i32 on the host; slots past a sequence's pages hold KvCacheManager.noPage. */
  blockTable: Tensor<Int32Array>;
  /** [b] keys per sequence. */
  cacheSeqlens: Int32Array;
}

interface Sequence {
  pages: number[];
  seqlen: number;
}

/**
 * Pages are owned by exactly one live sequence at a time; freeSequence() returns them to the pool. Operations
 * either complete or throw with the manager unchanged (a full pool raises FlashMlaError 'out_of_memory').
 */
export class KvCacheManager {
  /** Block-table value of a slot that no page backs: out of range on purpose, so a kernel that read it would fail loudly. */
  static readonly noPage = -1;

  readonly backend: Backend;
  readonly kCache: Tensor;
  readonly numBlocks: number;
  readonly pageBlockSize: number;
  readonly hKv: number;
  readonly dQk: number;
  readonly dtype: HalfDType;
  /** The FP8 format of the pages, when they are not 16-bit floats. */
  readonly format?: Fp8Format;
  /** FP8: the flat byte storage under kCache (MODEL1 blocks are longer than the [.., 584] view says). */
  private readonly storage?: Tensor;
  private blockScratch?: Uint8Array;

  /** Free page ids; taken from the end, so a fresh pool hands out pages 0, 1, 2, ... */
  private readonly free: number[];
  private readonly seqs = new Map<number, Sequence>();
  private nextId = 0;
  private disposed = false;

  constructor(opts: KvCacheOptions) {
    checkPositiveInt('numBlocks', opts.numBlocks);
    this.pageBlockSize = opts.pageBlockSize ?? defaultPageBlockSize;
    checkPositiveInt('pageBlockSize', this.pageBlockSize, 256);
    this.hKv = opts.hKv ?? 1;
    checkPositiveInt('hKv', this.hKv);
    this.dtype = opts.dtype ?? 'bf16';
    if (this.dtype !== 'bf16' && this.dtype !== 'f16') throw invalidArgument('dtype', 'bf16 or f16', String(this.dtype));
    this.backend = opts.backend;
    this.numBlocks = opts.numBlocks;
    this.format = opts.format;
    if (this.format !== undefined) {
      checkFp8Format('format', this.format);
      const L = fp8Layouts[this.format];
      if (this.hKv !== 1) throw invalidArgument('hKv', '1 with an FP8 format', String(this.hKv));
      if (this.dtype !== 'bf16') throw invalidArgument('dtype', 'bf16 with an FP8 format (its RoPE part is bf16)', this.dtype);
      this.dQk = L.dQk;
      this.storage = this.backend.empty('fp8_e4m3', [this.numBlocks * fp8BlockStride(this.format, this.pageBlockSize)]);
      this.kCache = new Tensor('fp8_e4m3', [this.numBlocks, this.pageBlockSize, 1, L.bytesPerToken], this.storage.data, this.storage.offset);
    } else {
      this.dQk = dQkDefault;
      this.kCache = this.backend.empty(this.dtype, [this.numBlocks, this.pageBlockSize, this.hKv, this.dQk]);
    }
    this.free = Array.from({ length: this.numBlocks }, (_, i) => this.numBlocks - 1 - i);
  }

  /** Elements of one token (all KV heads). */
  get tokenElements(): number { return this.hKv * this.dQk; }

  addSequence(): number {
    this.checkLive();
    const id = this.nextId++;
    this.seqs.set(id, { pages: [], seqlen: 0 });
    return id;
  }

  /** Return a sequence's pages to the pool; its id is not reused. */
  freeSequence(id: number): void {
    const s = this.seq(id);
    for (let i = s.pages.length - 1; i >= 0; i--) this.free.push(s.pages[i]);
    this.seqs.delete(id);
  }

  seqlen(id: number): number { return this.seq(id).seqlen; }

  /** The pages of a sequence in key order (a copy). */
  pages(id: number): number[] { return this.seq(id).pages.slice(); }

  get sequenceIds(): number[] { return [...this.seqs.keys()]; }

  /** Pages the sequence would need to take from the pool to grow by n tokens. */
  pagesNeeded(id: number, n: number): number {
    const s = this.seq(id);
    return Math.ceil((s.seqlen + n) / this.pageBlockSize) - s.pages.length;
  }

  /**
   * Append the latent vectors of n tokens. `tokens` is `[n, hKv, 576]`, raw bits of the cache dtype (Uint16Array) or
   * values to round (Float32Array). Takes pages as needed. Returns the sequence's new length.
   */
  append(id: number, tokens: Uint16Array | Float32Array): number {
    this.checkLive();
    const s = this.seq(id);
    const per = this.tokenElements;
    if (!(tokens instanceof Uint16Array || tokens instanceof Float32Array)) {
      throw invalidArgument('tokens', `a Uint16Array (raw bits) or Float32Array [n, hKv, ${this.dQk}]`, Object.prototype.toString.call(tokens));
    }
    if (tokens.length % per !== 0) {
      throw invalidArgument('tokens', `a multiple of hKv * ${this.dQk} = ${per} elements ([n, hKv, ${this.dQk}])`, String(tokens.length));
    }
    const n = tokens.length / per;
    if (n === 0) return s.seqlen;
    const need = this.pagesNeeded(id, n);
    if (need > this.free.length) {
      throw new FlashMlaError('out_of_memory',
        `KV cache: sequence ${id} needs ${need} more page${need > 1 ? 's' : ''} of ${this.pageBlockSize} tokens for ${n} token${n > 1 ? 's' : ''}, `
        + `${this.free.length} of ${this.numBlocks} are free; free a sequence or make a larger pool`, 'tokens');
    }
    const bits = tokens instanceof Uint16Array ? tokens : this.format ? Uint16Array.from(tokens, f32ToBf16) : encodeHalf(this.dtype, tokens);
    // Pick the new pages without taking them: if a write throws, the pool and the sequence stay as they were.
    const fresh = this.free.slice(this.free.length - need).reverse();
    const pageOf = (t: number) => (t < s.pages.length * this.pageBlockSize ? s.pages[Math.floor(t / this.pageBlockSize)] : fresh[Math.floor(t / this.pageBlockSize) - s.pages.length]);
    // One write per page touched: the rows of consecutive tokens in a page are contiguous.
    for (let t = s.seqlen, src = 0; src < n;) {
      const slot = t % this.pageBlockSize;
      const k = Math.min(n - src, this.pageBlockSize - slot);
      if (this.format) {
        this.writeFp8(pageOf(t), slot, k, bits, src);
      } else {
        const dstOffset = (pageOf(t) * this.pageBlockSize + slot) * per;
        this.backend.write(this.kCache, fromArray(this.dtype, [k * per], bits.subarray(src * per, (src + k) * per)), dstOffset);
      }
      t += k;
      src += k;
    }
    this.free.length -= need;
    for (const pg of fresh) s.pages.push(pg); // not push(...fresh): a long prefill at page size 1 takes many pages
    s.seqlen += n;
    return s.seqlen;
  }

  /**
   * Take the slots of n more tokens of a sequence without writing them (a device kernel fills them, e.g.
   * MlaAttention's device-resident step): returns their physical rows, page * pageBlockSize + slot, in order.
   * 16-bit caches only. Throws out_of_memory, taking nothing, when the pool is short.
   */
  reserve(id: number, n: number): Int32Array {
    this.checkLive();
    const s = this.seq(id);
    if (this.format) throw invalidArgument('format', 'a bf16 or f16 cache (reserve leaves the writing to the caller)', this.format);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument('n', 'a non-negative integer', String(n));
    const need = this.pagesNeeded(id, n);
    if (need > this.free.length) {
      throw new FlashMlaError('out_of_memory',
        `KV cache: sequence ${id} needs ${need} more page${need > 1 ? 's' : ''} of ${this.pageBlockSize} tokens for ${n} token${n > 1 ? 's' : ''}, `
        + `${this.free.length} of ${this.numBlocks} are free; free a sequence or make a larger pool`, 'tokens');
    }
    for (let i = 0; i < need; i++) s.pages.push(this.free.pop()!);
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const t = s.seqlen + i;
      rows[i] = s.pages[Math.floor(t / this.pageBlockSize)] * this.pageBlockSize + (t % this.pageBlockSize);
    }
    s.seqlen += n;
    return rows;
  }

  /**
   * Physical token ids (page * pageBlockSize + slot, what sparse decode's `indices` hold) of logical positions of
   * a sequence; -1 stays -1 (an invalid entry). Throws for a position outside 0..seqlen-1.
   */
  tokenIds(id: number, positions: ArrayLike<number>): Int32Array {
    const s = this.seq(id);
    const ids = new Int32Array(positions.length);
    for (let i = 0; i < positions.length; i++) {
      const t = positions[i];
      if (t === -1) { ids[i] = -1; continue; }
      if (!Number.isInteger(t) || t < 0 || t >= s.seqlen) throw invalidArgument(`positions[${i}]`, `-1 or a position in 0..${s.seqlen - 1}`, String(t));
      ids[i] = s.pages[Math.floor(t / this.pageBlockSize)] * this.pageBlockSize + (t % this.pageBlockSize);
    }
    return ids;
  }

  /** Quantize k tokens into slots slot.. of one page and write their bytes (one or two contiguous ranges). */
  private writeFp8(page: number, slot: number, k: number, bits: Uint16Array, src: number): void {
    const format = this.format!, B = this.pageBlockSize, stride = fp8BlockStride(format, B);
    const blk = (this.blockScratch ??= new Uint8Array(stride));
    for (let i = 0; i < k; i++) quantizeToken(format, bits, (src + i) * this.dQk, blk, B, 0, slot + i);
    const put = (from: number, to: number) =>
      this.backend.write(this.storage!, fromArray('fp8_e4m3', [to - from], blk.subarray(from, to)), page * stride + from);
    if (format === 'v32') {
      put(slot * 656, (slot + k) * 656);
    } else {
      put(slot * 576, (slot + k) * 576);
      put(B * 576 + slot * 8, B * 576 + (slot + k) * 8);
    }
  }

  /**
   * Index tensors of one decode step over `ids` (in that order). maxBlocksPerSeq defaults to the most pages any
   * of them holds (at least 1); pass a larger one to keep the table's shape fixed across steps.
   */
  batch(ids: readonly number[], opts: { maxBlocksPerSeq?: number } = {}): DecodeBatch {
    if (ids.length < 1) throw invalidArgument('ids', 'at least one sequence', '[]');
    const seqs = ids.map((id) => this.seq(id));
    const most = Math.max(1, ...seqs.map((s) => s.pages.length));
    const width = opts.maxBlocksPerSeq ?? most;
    // At most the pool's page count: no sequence can hold more, and a wider table only costs memory (2^31 slots
    // would be an 8 GiB table of noPage).
    const widest = Math.max(most, this.numBlocks);
    if (!Number.isInteger(width) || width < most) {
      throw invalidArgument('maxBlocksPerSeq', `an integer >= ${most} (the most pages a sequence of the batch holds)`, String(width));
    }
    if (width > widest) throw invalidArgument('maxBlocksPerSeq', `at most ${widest} (the pages of the pool)`, String(width));
    const table = (hostArrayFor('i32', ids.length * width, 'KV cache block table') as Int32Array).fill(KvCacheManager.noPage);
    const cacheSeqlens = new Int32Array(ids.length);
    seqs.forEach((s, i) => {
      table.set(s.pages, i * width);
      cacheSeqlens[i] = s.seqlen;
    });
    return { blockTable: fromArray('i32', [ids.length, width], table), cacheSeqlens };
  }

  stats(): KvCacheStats {
    let tokens = 0, pagesUsed = 0;
    for (const s of this.seqs.values()) { tokens += s.seqlen; pagesUsed += s.pages.length; }
    const bytesPerToken = this.format ? fp8Layouts[this.format].bytesPerToken : this.tokenElements * 2;
    const bytesPerPage = this.format ? fp8BlockStride(this.format, this.pageBlockSize) : bytesPerToken * this.pageBlockSize;
    return {
      numBlocks: this.numBlocks, pageBlockSize: this.pageBlockSize, pagesUsed, pagesFree: this.free.length,
      sequences: this.seqs.size, tokens, freeTokens: this.numBlocks * this.pageBlockSize - tokens, bytesPerToken,
      bytesPerPage, poolBytes: bytesPerPage * this.numBlocks,
    };
  }

  /** Free the pool's memory; the manager cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.seqs.clear();
    this.free.length = 0;
    this.backend.free(this.storage ?? this.kCache);
  }

  private seq(id: number): Sequence {
    this.checkLive();
    const s = this.seqs.get(id);
    if (!s) throw invalidArgument('id', 'a live sequence id (from addSequence, not freed)', String(id));
    return s;
  }

  private checkLive(): void {
    if (this.disposed) throw new FlashMlaError('disposed', 'KvCacheManager used after dispose()');
  }
}
