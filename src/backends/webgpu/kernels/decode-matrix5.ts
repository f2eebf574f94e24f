// Split-KV MLA decode on subgroup matrices, v5: the key tile converted once and kept whole in workgroup memory
// (docs/notes/webgpu-matrix-kernel.md, "v5"). Same bindings, params, schedule and split-KV accumulators as
// kernels/decode.ts and v4 (kernels/decode-matrix4.ts), so the combine is shared.
//
// v4 converted every key twice (transposed 32 columns at a time for QK, then again for PV) on a third of its lanes,
// with two barriers a 32-column chunk; the H200 ablations of session 8 put 60 % of its time in those conversions.
// v5 converts a tile of nT keys (16 per four subgroups) once, row-major [key][576], with all lanes and wide loads,
// and both products read it:
// - q is converted once per work item, transposed into the tile's memory, and each subgroup keeps up to 11 right
//   matrices of Qᵀ (its contraction part) in registers for the whole item.
// - QK computes Sᵀ = K Qᵀ (keys x rows): subgroup sg takes key block kb = sg / 4 and contraction part cp = sg % 4
//   (columns 0..175, 176..351, 352..511, 512..575: 11, 11, 10 and 4 products into one result, no barrier between
//   them). The softmax lanes add the three latent parts, scale them and the RoPE part apart, and add those.
// - PV: O (16 x 512) = P' V, V the tile's first 512 columns in place; subgroup sg owns 512 / S columns, 16 a result.
//
// Range: power-of-two scales chosen so the largest finite magnitude is in [1, 2): one per q row (576 values), two per
// key, its latent columns 0..511 (QK and V) and its RoPE columns 512..575 (QK only), so a key whose RoPE part is far
// larger than its latent part keeps the latent bits (issue #13). Both leave the product as factors of the output's
// row and column: S[r][k] = accLat * qs[r] * ks[k] + accRope * qs[r] * ksR[k], each formed as acc * 2^(eq + ek - 254)
// (pow2Mul: no intermediate acc * qs, which overflowed for q near bf16's maximum). Values within 2^14 of their
// scale's largest convert exactly, smaller ones lose bits below 2^-24 of it. In PV the latent key scale enters P:
// P'[r][k] = 2^(x[r][k] + log2 ks[k] - y[r]) with y[r] the row's tile maximum of x + log2 ks, so P' <= 1 in f16 and the tile's result enters O times 2^(y[r] - m[r]) (a per-row factor, like alpha). NaN: a NaN in
// a key or q row makes its scale NaN (so exactly the scores it touches are NaN); the converted values are zeroed, so
// the products stay finite for rows that do not see the key.
//
// `lazy` (the default since session 11, matrix5LazyDefault): P' against a per-row reference that moves only past 2^8
// of it, so O stays in result matrices and PV runs no scratch round trip on tiles where no row's reference moves;
// correct on the H200 (GPU suite 25/25, 100 random cases), 0.88-0.90x the eager rescale's time
// (docs/notes/webgpu-matrix-kernel.md, "v5 lazy").
//
// Session 11's opt-in candidates (docs/notes/webgpu-matrix-tile16.md; each off leaves the WGSL byte for byte): `tile16`
// (16-key tiles, QK in 8 contraction parts, 29 KiB), `pair` (two tiles an iteration, the next pair's loads and lookups
// issued together), `lookahead` (each tile's block-table lookup an iteration early, in registers).
//
// `emulate` replaces the matrix builtins by scalar loops (each subgroup's 32 lanes computing that subgroup's product at
// the same offsets); the emulated QK reads q from global memory and converts it as the prologue does.
import type { HalfDType } from '../../../core/dtype.js';
import { metadataWgsl } from '../../../core/constants.js';
import { FlashMlaError } from '../../../core/errors.js';
import type { MlaProblem } from '../../../core/problem.js';
import type { DeviceCaps, Dispatch, Program } from '../program.js';
import type { SubgroupMatrixF16 } from './path.js';
import { finiteLoopsWgsl } from './finite-loops.js';
import { decodeBindingsWgsl, itemLoopHead, keyRowLookup, matrixItemRowsHead, metaRowLets, packWgsl, segmentLoader } from './decode.js';
import { scaleHelpersWgsl, unpackWgsl } from './decode-matrix.js';
import { e4m3Wgsl } from './sparse.js';

export const matrix5Rows = 16;
const kStride = 584; // the tile's row stride (f16): 576 + 8 keeps matrix rows 16 bytes apart in banks
const qtStride = 16; // Qᵀ staging [col][row]
// QK's contraction parts: columns 0..175, 176..351, 352..511 (the latent part, times the key's latent scale) and
// 512..575 (RoPE, times its own scale); no part straddles column 512. Steps of 16 columns: 11, 11, 10, 4.
const partSteps = [11, 11, 10, 4];
const maxSteps = 11;

/**
 * The layout of S subgroups: 4 (a 16-key tile) or 8 (32 keys: two key blocks); `tile16` (8 subgroups only, the
 * session-11 candidate): a 16-key tile whose QK runs in 8 contraction parts, one a subgroup.
 */
export function matrix5Layout(subgroups: 4 | 8, tile16 = false) {
  if (tile16 && subgroups !== 8) throw new Error('decode-matrix5: tile16 needs 8 subgroups');
  const kb = tile16 ? 1 : subgroups / 4; // key blocks a tile
  const nT = 16 * kb;
  const lanes = 32 * subgroups;
  const vCols = 512 / subgroups; // O columns a subgroup owns
  const pStride = nT + 8;
  const lpk = lanes / nT; // tile load: lanes a key (8; tile16: 16)
  // QK's contraction parts (first column, 16-column steps); the last one is RoPE's (columns 512..575).
  const parts = tile16
    ? [[0, 5], [80, 5], [160, 5], [240, 5], [320, 4], [384, 4], [448, 4], [512, 4]]
    : [[0, 11], [176, 11], [352, 10], [512, 4]];
  // vec4 words a lane loads of the tile (72 a key over lpk lanes; tile16: the fifth word, RoPE's, on lanes lj < 8 only)
  const words = Math.ceil(72 / lpk);
  return { subgroups, kb, nT, lanes, vCols, nbs: vCols / 16, pStride, kpl: nT / 8, lpk, parts, words, tile16 };
}

export interface DecodeMatrix5Spec {
  dtype: HalfDType;
  segs: number;
  /** The device's float configuration; v5 runs 16x16x16 only. Ignored by emulate. */
  config: SubgroupMatrixF16;
  emulate: boolean;
  subgroups: 4 | 8;
  /**
   * Lazy rescale of O (option, docs/notes/webgpu-matrix-kernel.md "v5 lazy"): P' is formed against a per-row
   * reference that moves only when a tile's maximum passes it by more than 2^8, so O stays in result matrices and PV
   * runs its products with no scratch round trip and no barrier on the tiles where no row's reference moves.
   * How a moved reference rescales O (GPU code only; the emulation keeps O in the lanes' registers in every form):
   * true: each result stored, scaled and loaded back as a result matrix; 'side': each result flushed into a second
   * accumulator in the lanes' registers (no result-matrix load; O = side + matrices); 'scratch': O stays in registers
   * and PV keeps v5's scratch round trip, only the factors lazy (a probe of the softmax side).
   */
  lazy?: boolean | 'side' | 'scratch';
  /**
   * Probe (not a default): unpack the loaded words where the key maxima and the conversion use them, twice, instead
   * of once into 72 f32 values held across the two barriers between them (fewer registers live at the tile's peak).
   */
  lean?: boolean;
  /**
   * Probes for the lazy rescale's wrong results on the H200 (docs/notes/webgpu-matrix-kernel.md, "Session 10, round 2"),
   * not defaults: `pad` declares that many more bytes of workgroup memory (a u32 array the kernel zeroes and reads
   * into lse as + 0.0), to test whether the last bytes below the device's limit are usable; `every` takes lazy's
   * rescale of the result matrices on every tile (factors of 1 where no reference moved: no branch on the
   * workgroup-uniform flag); `late` issues the next tile's loads after the softmax instead of before QK (fewer
   * registers live across QK).
   */
  pad?: number;
  every?: boolean;
  late?: boolean;
  /**
   * Candidate (issue #13, session 11; opt-in, docs/notes/webgpu-matrix-tile16.md): 16-key tiles on 8 subgroups, QK in
   * 8 contraction parts (one a subgroup: 7 latent parts of 4-5 steps, RoPE's of 4), 5 loaded words a lane instead of
   * 9, 5 right matrices of Qᵀ instead of 11: about 29 KiB of workgroup memory (v5: 48) and fewer registers, so that
   * more than one workgroup an SM can be resident and the per-tile latency chain is half as long.
   */
  tile16?: boolean;
  /**
   * The default since session 24 (issue #13; bf16 caches, not with tile16 or pair): the key maxima from the loaded words as
   * integers (a bf16 half's magnitude is the upper half of an f32's bits), two values a word, and the conversion without
   * a NaN test a value: only a lane whose maximum is at or above 0x7f800000 (a NaN or an infinity among its words)
   * unpacks them for the finite maxima and the NaN flag, and only a key with that flag has its NaN halves zeroed (in the
   * words) before the conversion. The same bits as without it wherever it runs (kernels/decode-matrix5.ts `magMax`);
   * the unpacked f32 values are then never held across the key-maxima barrier (as `lean`). The driver's SASS of the
   * default kernel (session 24, scripts/webgpu-tools/glcache-sass.py) spends ~5.5 instructions a value on the maxima
   * and ~4 on the conversion, of ~1 400 a subgroup and tile; with packedMax 0.76-0.78x the time at b = 128.
   */
  packedMax?: boolean;
  /**
   * The default since session 24 (issue #13): a work item's q words are loaded once, all of a lane's together, before the
   * rows' maxima, and converted into Qᵀ from the same registers. The loops of before loaded a word, took its atomic
   * maximum, then the next word (the compiler keeps loads after an atomic), and loaded every word again to convert it.
   * The q prologue costs ~10 µs of a b = 1 call on the H200 (session 24's ablation, scripts/webgpu-tools/b1-ablate.mjs);
   * qOnce takes ~3 of them: 0.96x the time at b = 1 s_k = 32768, 0.98x on the uneven batch, level at b = 128 (call K).
   * The same bits.
   */
  qOnce?: boolean;
  /**
   * Session 24 (with qOnce): the q prologue's lanes walk q row-fastest (lane t: row t % 16, words t / 16 + lanes / 16 i),
   * so a lane's words are one row's: its maximum over them goes to one atomic, its row offset is computed once, and its
   * Qᵀ stores land 2 B apart across 16 lanes instead of 256 B (32-way bank conflicts; session 24's ablation put ~5 µs of
   * a b = 1 call in those stores). The same bits. The backend takes it where the plan's work items are short
   * (matrix5QRowLanesFor, since session 25): on the H200 0.93-0.98x the time there, 1.01-1.03x on long items.
   */
  qRowLanes?: boolean;
  /** Probe: load a tile's words at the top of its own iteration instead of one tile ahead (fewer live registers). */
  noPrefetch?: boolean;
  /**
   * Candidate (session 11): two tiles an iteration, the next pair's words and lookups issued together after the second
   * tile's conversion, so that a pair's barriers wait on one global round trip instead of four (the per-tile time
   * measured on the H200 does not follow the tile's work: docs/notes/webgpu-matrix-tile16.md).
   */
  pair?: boolean;
  /**
   * Probe (session 11, not run on a GPU yet): each tile's block-table lookup issued one iteration earlier into two
   * registers a lane (t < nT), so the row stored at the loop's top is already there instead of being waited for right
   * before the tile's first barrier.
   */
  lookahead?: boolean;
  /**
   * Candidate (session 12, issue #13; opt-in, lazy only): two barriers fewer a tile. The keys' maxima and NaN flags are
   * reset right after the softmax's last read of them (past its middle barrier) instead of at the next tile's top, and
   * the lazy flag at the conversion, so the tile's top (lookups) and its unpack need no barrier of their own: the first
   * barrier of a tile is the one between the key maxima and the conversion (v5 lazy: 7 a tile and the uniform load's).
   * The default since session 12 (matrix5TrimDefault); ignored without lazy and with pair, lookahead or tile16
   * (matrix5TrimOn).
   */
  trim?: boolean;
  /**
   * Session 18 (issue #13): the same kernel with its workgroup-memory indices and subgroup-matrix
   * offsets written so that Tint's integer range analysis bounds them (lane indices through \`min\` / \`%\` of
   * constants, QK's part start without \`select\`, the softmax's key slot below 8), so that Dawn's robustness
   * transform, which stays on, has no clamp or predicate to add in the tile loop: a matrix load whose offset it cannot
   * bound is predicated (offset 0 and stride 16 when out of range: a stride that is no longer a constant), a scalar
   * index clamped by a \`min\`. Not with tile16 or pair (their own lets; a spec that asks for it with them, e.g. a
   * probe on top of the default, runs them without it: matrix5BoundedOn); the computed values are v5's, so the results
   * are bit for bit those of the same spec without it. The default where trim runs (matrix5BoundedDefault):
   * 0.87-0.94x its time on the H200 with Dawn's robustness (docs/notes/webgpu-tensor-core.md, "Session 18").
   */
  bounded?: boolean;
  /**
   * Probe (session 18, round 2; opt-in): the loops with a runtime bound or a step other than 1 outside the tile loop
   * (the work-item loop, the q prologue's, the epilogue's) written so that Tint proves them finite
   * (kernels/finite-loops.ts), so that Dawn's robustness adds no iteration counter to them; the tile loop keeps its
   * own (free at b = 128, measured). The same iterations in the same order.
   */
  finite?: boolean;
  /**
   * Session 20 candidate (s20-h4; the default on its branch): v5's three infinite-input behaviours of session 19's
   * call W3 fixed (docs/notes/webgpu-tensor-core.md, "s20-h4"). (1) A row whose visible keys all score -inf is the
   * f32 kernel's third state: out NaN and lse NaN, a split's partial lse -inf (its out the 0 x V sums), no longer "no
   * key". (2) With the lazy rescale: a tile whose V columns hold an infinity (flagged in the key maxima's pass) takes
   * the moved-reference branch; there each lane adds the infinities back to its elements of O for the rows that see
   * the key (P' > 0: the infinity, P' = 0: NaN), then the tile's infinite V values are zeroed before PV, so rows that
   * may not see the key get no 0 x inf. Without lazy only (1) applies. false: v5's WGSL as before (A/B). 'seen'
   * (session 25): (1) alone, the epilogue's third state, without (2)'s branch in the tile loop.
   */
  infSafe?: boolean | 'seen';
  /**
   * Session 26 candidate (issue #13; with trim and qOnce, not noPrefetch): a work item's first tile looked up in its q
   * prologue, right after q's loads are issued (so the block table's round trip overlaps q's), and its words loaded
   * right after the prologue's first barrier (so their memory round trip overlaps Qᵀ's conversion and matrix loads),
   * with the keys' maxima reset there too: the two barriers and the round trip that followed the prologue go. The
   * same values in the same order: the same bits.
   */
  firstEarly?: boolean;
  /**
   * The default since session 26 (issue #13; with the lazy rescale, not infSafe true): a work item's first tile skips the
   * rescale of O that its reference's first move asks for (every row's reference moves there, from -inf), since O is
   * still zero: 0 times a finite factor is 0. The same bits; one pass of O through the scratch (4 rounds of store,
   * barrier, scale, load) fewer an item, which matters where items are a few tiles (b = 1).
   */
  freshO?: boolean;
  /**
   * The default since session 27 (issue #13; f16 caches, not with tile16, pair, lean or infSafe true): an f16 cache's values are
   * already f16, so its keys enter the tile at scale 1, as loaded: no key maxima (their atomics), no unpacking, no
   * scaling, no conversion; a lane's words stored as they are (bit for bit). A lane that holds a NaN half (rare) zeroes
   * it and flags its key, as before. The softmax takes every key's exponent as 127 (factor 1). The values in the tile
   * are then exactly the cache's (before, each key was scaled to its largest magnitude, and values far below it could
   * round); P' differs from before in its f16 rounding (a key's factor no longer moves it).
   */
  f16Direct?: boolean;
  /**
   * The default since session 40 (issue #13; bf16 caches, with lazy and packedMax, not with tile16, pair, lean or infSafe true): a tile whose
   * lanes each hold values that f16 carries at scale 1 enters the tile at scale 1, as f16Direct's keys do: no key maxima
   * (their atomics and the barrier after them), no scaling; each value converted to f16 on its own (exact in f16's
   * normal range, [2^-14, 65504]). A lane's test is on its own 72 values (36 words): its largest magnitude is below 2^16
   * (so finite, not NaN, and every bf16 value under it at most 65280) and at least 2^-6, or every value is 0. Values under
   * 2^-14 then round to f16's subnormals, an error of at most 2^-25 against a largest of at least 2^-6 in the same lane,
   * so of its key: 2^-19 of the key's largest (the scaled path's bound is 2^-25 of it; bf16 itself keeps 2^-9 of each
   * value). A tile where any lane fails the test (a NaN, an infinity, a value of 2^16 or more, or a lane whose largest
   * is in (0, 2^-6)) takes packedMax's maxima and scaled conversion as before, chosen per tile by a workgroup-uniform
   * flag in rowC[2] (which lazy leaves unused inside the loop, like growFlag: no byte more). The softmax's key factors
   * are 1 on direct tiles, the maxima's on the others.
   */
  bf16Direct?: boolean;
  /**
   * Session 48 (WebGpuBackend's fused dense FP8 path; not a knob of Matrix5Choice): the cache is DeepSeek-V3.2's FP8
   * layout (656 bytes a token: 512 e4m3 latent values, 4 f32 scales, one a group of 128, then 64 bf16 RoPE values), read
   * where it lies. A lane loads its key's bytes raw (16 latent bytes at a time: four vec4 words, the scales, a RoPE word:
   * 24 registers against bf16's 36) one tile ahead, as the bf16 kernel loads its words, and turns them into the 36
   * bf16 pair words of its 72 columns when the tile starts: e4m3 times its group's scale, rounded once to bf16, which is
   * what the staged path's pages hold, so the rest of the tile (the maxima, bf16Direct's test, the conversion to f16)
   * is the bf16 kernel's. A lane's latent words are columns 16 lj + 128 r (+ 8), not 8 (lj + 8 i): the stores into the
   * tile follow; with bf16Direct off the results are the staged path's bit for bit, with it a tile's direct / scaled
   * choice follows each lane's own columns, so an output may differ by an ulp. bf16 queries; not with tile16 or pair.
   * On an H100 it took 2.8-3.7x the bf16 cache's time (sessions 48-49): the conversion costs more than the bytes save.
   * With fp8Direct (below, the default with bf16Direct) 1.22-1.27x.
   */
  fp8?: 'v32';
  /**
   * Session 49 (with fp8 and bf16Direct; Matrix5Choice.fp8Direct, on unless set false): the latent bytes straight to f16,
   * with no bf16 words between, no maxima and no second conversion. Placed in an f16's bits (sign to bit 15, the other
   * seven bits to bits 7..13) an e4m3 byte is its value times 2^-8, exactly, subnormals and zero included; one f16
   * multiply a pair by 2^(d + 8) then gives e4m3 x 2^d exactly, where d = k - kmax - 8 for a group scale 2^k and the
   * key's largest 2^kmax: the key's values times 2^(-8 - kmax), its largest group's largest at most 448 x 2^-8 = 1.75
   * (above 0.875 for FlashMLA's quantizer), as the scaled path puts a key's largest in [1, 2), so P' keeps that path's
   * precision. That is the scaled path's form with a key factor set by the scales (kMax holds 2^(kmax + 8), written by
   * one lane a key), so the softmax takes every fp8 tile's key factors from kMax. (Session 49's first build put the
   * largest near 2^15: P' then fell 2^15 lower, into f16's subnormals, and a 128-head random case missed its bound.) A
   * lane's test before the tile's barrier: its scales zero or positive powers of two, the non-zero ones within 2^7 of the
   * largest (d >= -15: every value a multiple of 2^-24, exact in f16) and the largest at most 2^118; no NaN byte
   * (0x7f / 0xff); its RoPE word bf16Direct's range; and
   * the device keeps f16 subnormals through a multiply (dnOk: a product of runtime values, once a workgroup). A tile with
   * a failing lane takes the scaled path through short loops (one copy of the slow conversion, not one a word: session
   * 48's form had sixteen inlined, 2664 instructions more than the bf16 kernel's 4880 on the H100's driver).
   */
  fp8Direct?: boolean;
}

/**
 * WGSL `fn fp8Word(h: vec2<u32>, s: f32) -> vec4<u32>`: eight e4m3 bytes (the earlier column in the lower byte) times
 * their group's scale s, as four bf16 pair words — pack2(e4m3(b) * s), the staged path's words bit for bit
 * (kernels/sparse-gather.ts outWord). Four bytes at a time take integer arithmetic where that is exact: s a positive
 * power of two 2^(e - 127) that keeps every normal e4m3 value a normal bf16 (e in [7, 246]) and no byte zero, subnormal
 * or NaN (then each value's bf16 is its sign, its exponent plus e - 7 and its three mantissa bits, and the rounding
 * changes nothing); else each value by f32 arithmetic (fp8Slow, over kernels/sparse.ts's e4m3).
 */
export const fp8WordWgsl = `${e4m3Wgsl}
fn fp8Slow(x: u32, s: f32) -> vec2<u32> {
  return vec2<u32>(pack2(vec2<f32>(e4m3(x & 0xffu) * s, e4m3((x >> 8u) & 0xffu) * s)), pack2(vec2<f32>(e4m3((x >> 16u) & 0xffu) * s, e4m3(x >> 24u) * s)));
}
// whether some byte of y (every byte below 0x80) is 0
fn zeroByte(y: u32) -> bool { return ((y - 0x01010101u) & ~y & 0x80808080u) != 0u; }
fn fp8Pairs(x: u32, s: f32) -> vec2<u32> {
  let sb = bitcast<u32>(s);
  let e = sb >> 23u; // (the sign above the exponent: a negative s fails the range)
  if ((sb & 0x7fffffu) != 0u || e < 7u || e > 246u || zeroByte(x & 0x78787878u) || zeroByte((x & 0x7f7f7f7fu) ^ 0x7f7f7f7fu)) { return fp8Slow(x, s); }
  let bias = (e - 7u) * 0x00800080u; // (e - 7) << 7 in both halves
  let lo = (x & 0xffu) | ((x & 0xff00u) << 8u);
  let hi = ((x >> 16u) & 0xffu) | ((x >> 8u) & 0xff0000u);
  return vec2<u32>((((lo & 0x007f007fu) << 4u) + bias) | ((lo & 0x00800080u) << 8u), (((hi & 0x007f007fu) << 4u) + bias) | ((hi & 0x00800080u) << 8u));
}
fn fp8Word(h: vec2<u32>, s: f32) -> vec4<u32> {
  let a = fp8Pairs(h.x, s);
  let b = fp8Pairs(h.y, s);
  return vec4<u32>(a.x, a.y, b.x, b.y);
}`;

/**
 * WGSL `fn fp8H(x: u32, m: vec2<f16>) -> vec4<f16>`: four e4m3 bytes (the earlier column in the lower byte) as f16, each
 * times m's factor: a byte's sign to bit 15 and its other seven bits to bits 7..13 of an f16 make its value times 2^-8
 * exactly (the e4m3 and f16 layouts differ by exponent bias 8 and mantissa width only; subnormal bytes become f16
 * subnormals); one f16 multiply a pair (m: 2^(d + 8), or 0) then scales it. NaN bytes are the caller's to exclude.
 */
export const fp8HalvesWgsl = `fn fp8H(x: u32, m: vec2<f16>) -> vec4<f16> {
  let lo = (x & 0xffu) | ((x & 0xff00u) << 8u);
  let hi = ((x >> 16u) & 0xffu) | ((x >> 8u) & 0xff0000u);
  let a = bitcast<vec2<f16>>(((lo & 0x007f007fu) << 7u) | ((lo & 0x00800080u) << 8u)) * m;
  let b = bitcast<vec2<f16>>(((hi & 0x007f007fu) << 7u) | ((hi & 0x00800080u) << 8u)) * m;
  return vec4<f16>(a, b);
}`;

/** Whether v5 rescales O lazily unless told (WebGpuBackendOptions.matrix.lazy, FLASHMLA_WEBGPU_MATRIX_LAZY). */
export const matrix5LazyDefault = true;
/** Whether v5 looks each tile's keys up an iteration early unless told (WebGpuBackendOptions.matrix.lookahead; probe). */
export const matrix5LookaheadDefault = false;
/**
 * Whether v5 lazy runs trim unless told (WebGpuBackendOptions.matrix.trim): correct on the H200 (GPU suite 25/25 with
 * 100 random cases, twice) and 0.96-0.98x v5 lazy's time at every shape timed (docs/notes/webgpu-matrix-trim.md).
 */
export const matrix5TrimDefault = true;
/**
 * Whether v5 runs bounded unless told (WebGpuBackendOptions.matrix.bounded), where trim runs (lazy, without pair,
 * lookahead, tile16: the kernel measured): correct on the H200 (GPU suite 25/25 with 200 random cases) and 0.87-0.94x
 * trim's time there with Dawn's robustness, the same without it (docs/notes/webgpu-tensor-core.md, "Session 18").
 */
export const matrix5BoundedDefault = true;
/** A row's reference moves when its tile maximum of x + log2 ks passes it by more than this (log2 units): P' <= 2^8. */
const lazyBound = 8;

export function matrix5ConfigUsable(c: SubgroupMatrixF16): boolean {
  return c.m === 16 && c.n === 16 && c.k === 16 && c.result === 'f32';
}

export function decodeMatrix5Dispatch(p: Pick<MlaProblem, 'numSmParts' | 'hKv' | 'sQ' | 'nGroups'>): Dispatch {
  return [p.numSmParts, p.hKv, Math.ceil((p.sQ * p.nGroups) / matrix5Rows)];
}

/** Bytes of workgroup memory the kernel declares, array by array as the WGSL does. */
export function decodeMatrix5SharedBytes(subgroups: 4 | 8, tile16 = false): number {
  const g = matrix5Layout(subgroups, tile16);
  return 2 * g.nT * kStride + 4 * subgroups * 256 + 2 * matrix5Rows * g.pStride + 4 * g.nT * 7 + 4 * matrix5Rows * 5 + 4 * 2 * matrix5Rows * 8;
}

/** Whether a spec's `lazy` is one of the lazy rescale's forms (true, 'side', 'scratch'). */
function matrix5LazyOn(lazy: DecodeMatrix5Spec['lazy']): boolean {
  return lazy === true || lazy === 'side' || lazy === 'scratch';
}

/**
 * Whether a spec runs trim: asked for, with the lazy rescale, without pair, lookahead and tile16 (which keep their own
 * tops; a spec that asks for trim with them, e.g. a probe on top of the default, runs them without it).
 */
export function matrix5TrimOn(s: Pick<DecodeMatrix5Spec, 'trim' | 'lazy' | 'pair' | 'lookahead' | 'tile16'>): boolean {
  return !!s.trim && matrix5LazyOn(s.lazy) && !s.pair && !s.lookahead && !s.tile16;
}

/** Whether a spec runs bounded: asked for, without tile16 and pair (which keep their own lets). */
export function matrix5BoundedOn(s: Pick<DecodeMatrix5Spec, 'bounded' | 'pair' | 'tile16'>): boolean {
  return !!s.bounded && !s.pair && !s.tile16;
}
/** Whether a spec runs firstEarly: asked for, with trim and qOnce, without noPrefetch (the loop's first words are its). */
export function matrix5FirstEarlyOn(s: Pick<DecodeMatrix5Spec, 'firstEarly' | 'trim' | 'lazy' | 'pair' | 'lookahead' | 'tile16' | 'qOnce' | 'noPrefetch'>): boolean {
  return !!s.firstEarly && matrix5TrimOn(s) && !!s.qOnce && !s.noPrefetch;
}
/** Whether a spec runs `packedMax` (bf16 caches, not with tile16 or pair: their loads differ). */
export function matrix5PackedOn(s: Pick<DecodeMatrix5Spec, 'packedMax' | 'dtype' | 'pair' | 'tile16'>): boolean {
  return !!s.packedMax && s.dtype === 'bf16' && !s.pair && !s.tile16;
}

/** The choices a caller may make for v5 (WebGpuBackendOptions.matrix); unset ones take the defaults below. */
export interface Matrix5Choice {
  subgroups?: 4 | 8;
  lazy?: DecodeMatrix5Spec['lazy'];
  tile16?: boolean;
  pair?: boolean;
  lookahead?: boolean;
  /** v5's trim (two barriers fewer a tile): on by default where it applies (lazy, without pair, lookahead, tile16). */
  trim?: boolean;
  /**
   * v5's bounded indices: on by default where trim runs; false: off (A/B); true also with the eager rescale, lookahead
   * or without trim; refused with tile16 and pair. See DecodeMatrix5Spec.bounded.
   */
  bounded?: boolean;
  /** v5's finite-loop probe (and the combine's), opt-in: see DecodeMatrix5Spec.finite. */
  finite?: boolean;
  /** v5's infinite-input fixes (s20-h4), opt-in: they cost 6-7 % on the H200 (session 20 call C), 4-5 % on the packedMax kernel (session 25 call 1); 'seen': the epilogue's part alone; unset / false: v5's WGSL as before. See DecodeMatrix5Spec.infSafe. */
  infSafe?: boolean | 'seen';
  /** v5's packedMax (session 24; bf16, not with tile16 / pair): on by default (matrix5PackedDefault). See DecodeMatrix5Spec.packedMax. */
  packedMax?: boolean;
  /** v5's qOnce (session 24): on by default (matrix5QOnceDefault). See DecodeMatrix5Spec.qOnce. */
  qOnce?: boolean;
  /**
   * v5's qRowLanes (session 24, with qOnce): 'auto' (the default, matrix5QRowLanesAuto) takes it where the plan's work
   * items are short (matrix5QRowLanesFor, resolved by the backend per plan; decodeMatrix5Spec itself, with no plan,
   * takes it only for true). See DecodeMatrix5Spec.qRowLanes.
   */
  qRowLanes?: boolean | 'auto';
  /**
   * v5's firstEarly (session 26; rides on trim and qOnce, like qRowLanes on qOnce): 'auto' (the default,
   * matrix5FirstEarlyAuto) takes it where the plan's work items are short, as qRowLanes (matrix5FirstEarlyFor, resolved
   * by the backend per plan; decodeMatrix5Spec itself, with no plan, takes it only for true). See DecodeMatrix5Spec.firstEarly.
   */
  firstEarly?: boolean | 'auto';
  /** v5's freshO (session 26; with lazy): on by default (matrix5FreshODefault). See DecodeMatrix5Spec.freshO. */
  freshO?: boolean;
  /** v5's f16Direct (session 27; f16 caches): matrix5F16DirectDefault unless set. See DecodeMatrix5Spec.f16Direct. */
  f16Direct?: boolean;
  /** v5's bf16Direct (session 40; bf16 caches): matrix5Bf16DirectDefault unless set. See DecodeMatrix5Spec.bf16Direct. */
  bf16Direct?: boolean;
  /** v5's fp8Direct (session 49; an FP8 cache read in place, with bf16Direct): on unless false. See DecodeMatrix5Spec.fp8Direct. */
  fp8Direct?: boolean;
}

/**
 * Whether v5 picks qRowLanes by the plan unless told (Matrix5Choice.qRowLanes 'auto'): yes, since session 25. On the
 * H200 qRowLanes is 0.93-0.98x the time where a work item holds <= 1024 keys (small batches, the uneven batch) and
 * 1.01-1.03x where it holds >= 2048 (calls 1, 3); the rule, fitted there, held on five hold-out shapes (call 5:
 * geomean 0.976, none above 1.003; docs/notes/webgpu-matrix-kernel.md, "Session 25").
 */
export const matrix5QRowLanesAuto = true;
/** The most mean keys of a work item (DecodePlan.keysPerSplit) at which 'auto' takes qRowLanes. */
export const matrix5QRowLanesMaxKeys = 1024;
/** qRowLanes for a plan under the knob: true / false as told; 'auto' by the plan's mean keys a work item (absent: off). */
export function matrix5QRowLanesFor(knob: boolean | 'auto' | undefined, keysPerSplit: number | undefined): boolean {
  return forShortItems(knob ?? (matrix5QRowLanesAuto ? 'auto' : false), keysPerSplit);
}
/** A knob taken by the plan: true / false as told; 'auto' where a work item holds <= matrix5QRowLanesMaxKeys on the mean. */
function forShortItems(knob: boolean | 'auto', keysPerSplit: number | undefined): boolean {
  return knob === 'auto' ? keysPerSplit !== undefined && keysPerSplit <= matrix5QRowLanesMaxKeys : knob;
}

/** Whether v5 takes qOnce unless told (Matrix5Choice.qOnce, FLASHMLA_WEBGPU_MATRIX_QONCE). */
export const matrix5QOnceDefault = true;

/** Whether v5 takes packedMax unless told (Matrix5Choice.packedMax, FLASHMLA_WEBGPU_MATRIX_PACKED). */
export const matrix5PackedDefault = true;

/**
 * Whether v5 picks firstEarly by the plan unless told (Matrix5Choice.firstEarly 'auto'). Session 26 call 3 on the H200:
 * 0.947-0.985x the time where a work item holds <= 1024 keys on the mean (the b = 1 shapes, b = 16 / 128 s_k 1024, the
 * uneven batch, b = 8 h_q 64), 1.009 / 1.013x at b = 128 s_k 8192 (2048 and more: the pattern qRowLanes showed), so it
 * rides on qRowLanes' rule (matrix5QRowLanesMaxKeys); call 4 times that rule on shapes not used to fit it.
 */
export const matrix5FirstEarlyAuto = true;
/** firstEarly for a plan under the knob: true / false as told; 'auto' by the plan's mean keys a work item (absent: off). */
export function matrix5FirstEarlyFor(knob: boolean | 'auto' | undefined, keysPerSplit: number | undefined): boolean {
  return forShortItems(knob ?? (matrix5FirstEarlyAuto ? 'auto' : false), keysPerSplit);
}

/**
 * Whether v5 takes freshO unless told (Matrix5Choice.freshO, FLASHMLA_WEBGPU_MATRIX_FRESHO), where the lazy rescale runs:
 * yes, since session 26's call 5 on the H200 (0.953-0.985x the time at b = 1, b = 16 / 128 s_k 1024 and the uneven
 * batch, level at b = 128 s_k 8192; the same bits).
 */
export const matrix5FreshODefault = true;
/** Whether a spec runs freshO: asked for, with the lazy rescale, not with infSafe true (whose branch needs every move). */
export function matrix5FreshOOn(s: Pick<DecodeMatrix5Spec, 'freshO' | 'lazy' | 'infSafe' | 'every'>): boolean {
  return !!s.freshO && matrix5LazyOn(s.lazy) && s.infSafe !== true && !s.every;
}

/**
 * Whether v5 takes f16Direct on f16 caches unless told (Matrix5Choice.f16Direct, FLASHMLA_WEBGPU_MATRIX_F16DIRECT): yes,
 * since session 27's call 3 on the H200 (0.69-0.74x the time at b = 128 with 16 to 128 rows, 0.75x on the uneven batch,
 * 0.85-0.89x at b = 1 and b = 16; docs/notes/webgpu-matrix-kernel.md, "Session 27").
 */
export const matrix5F16DirectDefault = true;
/** Whether a spec runs f16Direct: asked for, an f16 cache, not with tile16, pair, lean or infSafe true. */
export function matrix5F16DirectOn(s: Pick<DecodeMatrix5Spec, 'f16Direct' | 'dtype' | 'tile16' | 'pair' | 'lean' | 'infSafe'>): boolean {
  return !!s.f16Direct && s.dtype === 'f16' && !s.tile16 && !s.pair && !s.lean && s.infSafe !== true;
}

/**
 * Whether v5 takes bf16Direct on bf16 caches unless told (Matrix5Choice.bf16Direct, FLASHMLA_WEBGPU_MATRIX_BF16DIRECT): yes,
 * since session 40's calls 2-3 on the H200 (0.89-0.94x the default's time at b = 128 with 16 to 256 rows, 0.92-0.98x at
 * b = 1, b = 16 and on the uneven batch; docs/notes/webgpu-matrix-kernel.md, "Session 40").
 */
export const matrix5Bf16DirectDefault = true;
/** Whether a spec runs bf16Direct: asked for, a bf16 cache, lazy and packedMax, not with tile16, pair, lean or infSafe true. */
export function matrix5Bf16DirectOn(s: Pick<DecodeMatrix5Spec, 'bf16Direct' | 'dtype' | 'tile16' | 'pair' | 'lean' | 'infSafe' | 'lazy' | 'packedMax'>): boolean {
  return !!s.bf16Direct && s.dtype === 'bf16' && matrix5LazyOn(s.lazy) && !!s.packedMax && !s.tile16 && !s.pair && !s.lean && s.infSafe !== true;
}

/** Whether v5 takes the infinite-input fixes unless told (Matrix5Choice.infSafe, FLASHMLA_WEBGPU_MATRIX_INFSAFE). */
export const matrix5InfSafeDefault: boolean | 'seen' = false;

/** The specialisation for a device: 8 subgroups where the workgroup memory allows (48 KiB), else 4. */
export function decodeMatrix5Spec(p: Pick<MlaProblem, 'dtype'> & { fp8?: 'v32' }, caps: DeviceCaps, segs: number, emulate: boolean, o: Matrix5Choice = {}): DecodeMatrix5Spec {
  const { subgroups, lazy = matrix5LazyDefault, tile16 = false, pair = false } = o;
  if (p.fp8 && !matrix5Fp8Fits(p.dtype, o)) {
    throw new FlashMlaError('invalid_argument', 'decode-matrix5: an FP8 cache read in place needs bf16 queries, without matrix.tile16 and matrix.pair', 'matrix', 'bf16 queries, tile16 and pair unset', `${p.dtype}, tile16 ${tile16}, pair ${pair}`);
  }
  const lookahead = o.lookahead ?? (matrix5LookaheadDefault && !pair);
  const trimFits = matrix5TrimOn({ trim: true, lazy, pair, lookahead, tile16 });
  if (o.trim && !trimFits) {
    throw new FlashMlaError('invalid_argument', 'matrix.trim runs with the lazy rescale, without pair, lookahead and tile16', 'matrix.trim', 'false (or unset) with these options', 'true');
  }
  const trim = o.trim ?? (matrix5TrimDefault && trimFits);
  if (o.bounded && (tile16 || pair)) {
    throw new FlashMlaError('invalid_argument', 'matrix.bounded runs without tile16 and pair', 'matrix.bounded', 'false (or unset) with tile16 or pair', 'true');
  }
  const bounded = o.bounded ?? (matrix5BoundedDefault && trim);
  const limit = caps.maxComputeWorkgroupStorageSize;
  if (tile16 && subgroups === 4) {
    throw new FlashMlaError('invalid_argument', 'matrix.tile16 runs 8 subgroups a workgroup', 'matrix.subgroups', '8 (or unset) with tile16', '4');
  }
  if (pair && lookahead) {
    throw new FlashMlaError('invalid_argument', 'matrix.lookahead is matrix.pair\'s lookups without its loads: set one', 'matrix.lookahead', 'false with matrix.pair', 'true');
  }
  const sg = tile16 ? 8 : subgroups ?? (decodeMatrix5SharedBytes(8) <= limit ? 8 : 4);
  const need = decodeMatrix5SharedBytes(sg, tile16);
  if (need > limit) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v5): the kernel needs ${need} B of workgroup memory, the device allows ${limit}`,
      'decodePath', `maxComputeWorkgroupStorageSize >= ${need}`, String(limit));
  }
  const config = caps.subgroupMatrixF16 ?? { m: 16, n: 16, k: 16, result: 'f32' as const };
  const infSafe = o.infSafe ?? matrix5InfSafeDefault;
  const qOnce = o.qOnce ?? matrix5QOnceDefault;
  const firstEarly = o.firstEarly === true && trim && qOnce; // 'auto' is the backend's, per plan
  const freshO = (o.freshO ?? matrix5FreshODefault) && !!lazy;
  const f16Direct = matrix5F16DirectOn({ f16Direct: o.f16Direct ?? matrix5F16DirectDefault, dtype: p.dtype, tile16, pair, infSafe });
  const packedMax = o.packedMax ?? matrix5PackedDefault;
  const bf16Direct = matrix5Bf16DirectOn({ bf16Direct: o.bf16Direct ?? matrix5Bf16DirectDefault, dtype: p.dtype, tile16, pair, infSafe, lazy, packedMax });
  if (!emulate && !matrix5ConfigUsable(config)) {
    throw new FlashMlaError('backend_unavailable', `decodePath matrix (v5): the kernel needs the 16x16x16 configuration, the device offers ${config.m}x${config.n}x${config.k}`,
      'decodePath', '16x16x16 with f32 results', `${config.m}x${config.n}x${config.k}`);
  }
  return { dtype: p.dtype, segs, config, emulate, subgroups: sg, ...(lazy ? { lazy } : {}), ...(tile16 ? { tile16 } : {}), ...(pair ? { pair } : {}), ...(lookahead ? { lookahead } : {}), ...(trim ? { trim } : {}), ...(bounded ? { bounded } : {}), ...(o.finite ? { finite: true } : {}), ...(infSafe ? { infSafe } : {}), ...(packedMax ? { packedMax: true } : {}), ...(qOnce ? { qOnce: true, ...(o.qRowLanes === true ? { qRowLanes: true } : {}) } : {}), ...(firstEarly ? { firstEarly: true } : {}), ...(freshO ? { freshO: true } : {}), ...(f16Direct ? { f16Direct: true } : {}), ...(bf16Direct ? { bf16Direct: true } : {}), ...(p.fp8 ? { fp8: p.fp8, ...(bf16Direct && o.fp8Direct !== false ? { fp8Direct: true } : {}) } : {}) };
}

/** Whether v5 can read a V3.2 FP8 cache in place (DecodeMatrix5Spec.fp8) for these queries and matrix knobs. */
export function matrix5Fp8Fits(dtype: HalfDType, o: Pick<Matrix5Choice, 'tile16' | 'pair'> = {}): boolean {
  return dtype === 'bf16' && !o.tile16 && !o.pair;
}

/** Whether a spec reads its FP8 bytes straight to f16 (DecodeMatrix5Spec.fp8Direct): asked for, with fp8 and bf16Direct. */
export function matrix5Fp8DirectOn(s: Pick<DecodeMatrix5Spec, 'fp8Direct' | 'fp8' | 'bf16Direct' | 'dtype' | 'tile16' | 'pair' | 'lean' | 'infSafe' | 'lazy' | 'packedMax'>): boolean {
  return !!s.fp8Direct && s.fp8 === 'v32' && matrix5Bf16DirectOn(s);
}

/** Specs pipeline-stats.mjs reports (the driver's register counts). */
export const statsSpecs = { sg4: 4, sg8: 8 } as const;
/**
 * v5's probes and candidates pipeline-stats.mjs reports too (fields on top of the 8-subgroup default, lazy, trim and,
 * since session 18, bounded: so nopf, lean, nl and tlate are trim + bounded + that knob; t16, t16nopf, pair and t16pair
 * run without trim and bounded; unbounded: session 17's default). Session 13's register slot
 * (docs/notes/webgpu-matrix-trim.md, "Session 13's register slot") reads the ones that lower live registers.
 */
export const statsProbes = { lazy11: { trim: undefined }, eager: { lazy: undefined }, pair: { pair: true }, t16: { tile16: true }, t16pair: { tile16: true, pair: true }, nopf: { noPrefetch: true }, lean: { lean: true }, nl: { noPrefetch: true, lean: true }, tlate: { late: true }, t16nopf: { tile16: true, noPrefetch: true }, trim: { trim: true }, unbounded: { bounded: undefined }, pmax: { packedMax: true }, q1: { qOnce: true }, q2: { qOnce: true, qRowLanes: true }, seen: { infSafe: 'seen' }, fe: { firstEarly: true }, fo: { freshO: true }, f16d: { f16Direct: true }, b16d: { bf16Direct: true }, fp8: { fp8: 'v32', fp8Direct: false }, fp8d: { fp8: 'v32', fp8Direct: true } } as const;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/**
 * WGSL `fn name(w: vec4<u32>) -> vec4<u32>`: the words with their NaN halves zeroed (+0), the others as they are, for a
 * 16-bit format whose infinity's bits are `infBits` (bf16 0x7f80, f16 0x7c00): a half is NaN where its magnitude's bits
 * are above them.
 */
function zeroNanWgsl(name: string, infBits: number): string {
  const hex = (v: number) => `0x${v.toString(16)}u`;
  return `fn ${name}(w: vec4<u32>) -> vec4<u32> {
  let hi = select(w & vec4<u32>(0xffff0000u), vec4<u32>(0u), (w & vec4<u32>(0x7fff0000u)) > vec4<u32>(${hex(infBits * 0x10000)}));
  let lo = select(w & vec4<u32>(0xffffu), vec4<u32>(0u), (w & vec4<u32>(0x7fffu)) > vec4<u32>(${hex(infBits)}));
  return hi | lo;
}`;
}
const mark = (name: string, code: string) => `// <${name}>\n   ${code}\n   // </${name}>`;
const L16 = 'subgroup_matrix_left<f16, 16, 16>';
const R16 = 'subgroup_matrix_right<f16, 16, 16>';
const RES = 'subgroup_matrix_result<f32, 16, 16>';

/**
 * The per-key and per-row workgroup state of the matrix kernels v5 and v6 (nT keys a tile, `rows` query rows a
 * workgroup): the keys' scale maxima and NaN flags, their cache rows for this tile and the next, the rows' q scales,
 * visibility, online-softmax factors and reduction slots.
 */
export function matrixRowStateWgsl(nT: number, rows: number): string {
  return `var<workgroup> kMax: array<atomic<u32>, ${nT}>;    // a key's largest finite magnitude (bits) in its latent columns 0..511
var<workgroup> kMaxR: array<atomic<u32>, ${nT}>;   // ... in its RoPE columns 512..575 (QK only: a scale of their own)
var<workgroup> kNan: array<atomic<u32>, ${nT}>;    // 1: the key holds a NaN (its scale is NaN; kMax stays its finite maximum)
var<workgroup> keyRow: array<u32, ${2 * nT}>;     // [parity][key]: this tile's and the next one's
var<workgroup> keySeg: array<u32, ${2 * nT}>;
var<workgroup> qMax: array<atomic<u32>, ${rows}>;
var<workgroup> qNanF: array<atomic<u32>, ${rows}>;
var<workgroup> rowVis: array<i32, ${rows}>;
var<workgroup> rowA: array<f32, ${rows}>;      // alpha of a row (tile), then m (item end)
var<workgroup> rowC: array<f32, ${rows}>;      // 2^(y - m) of a row (tile), then its NaN flag (item end)
var<workgroup> redM: array<f32, ${rows * 8}>;  // a row's 8 partial maxima of x (NaN: a NaN score)
var<workgroup> redY: array<f32, ${rows * 8}>;  // ... of x + log2 ks; at the item's end the partial sums`;
}

/** x * 2^e in two exact power-of-two steps (the matrix kernels v5 and v6 form scores with it). */
export const pow2MulWgsl = `// x * 2^e for e in [-252, 252] (two exponents of [1, 253] less the bias twice), as two exact power-of-two factors, each
// a normal f32: it overflows only where the result does (a single factor 2^e does not exist past 2^127, and WGSL's
// ldexp is indeterminate there).
fn pow2Mul(x: f32, e: i32) -> f32 {
  let e1 = clamp(e, -126, 127);
  return x * bitcast<f32>(u32(e1 + 127) << 23u) * bitcast<f32>(u32(e - e1 + 127) << 23u);
}`;

/**
 * The matrix kernels' (v5 before qOnce, v6) q maxima: a word of q a lane an iteration, each row's largest finite
 * magnitude by atomicMax into qMax and its NaN flag into qNanF (rows 0..rows - 1 of the work item).
 */
export function qMaxLoopWgsl(rows: number, lanes: number): string {
  return `  for (var w = t; w < ${rows * 72}u; w += ${lanes}u) {
   let qm = mBase + w / 72u;
   if (qm < qLen * u.nGroups) {
    let x = q[((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + w % 72u];
    let a = vec4<f32>(unpack2(x.x), unpack2(x.y)); let b = vec4<f32>(unpack2(x.z), unpack2(x.w));
    let mb4 = max(finiteBits4(a), finiteBits4(b));
    let nan = any(isNan4(a) | isNan4(b));
    atomicMax(&qMax[w / 72u], max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
    if (nan) { atomicOr(&qNanF[w / 72u], 1u); }
   }
  }
`;
}

/**
 * One q word `x` (8 columns) times `down` (its row's power of two), NaN as 0, into the Qᵀ staging (Kt, [column][16]) at
 * column offset `o` (an expression for (word column) * 8 * 16 + row); each line indented by `ind`.
 */
function qWordToKtWgsl(x: string, o: string, ind: string): string {
  const c = 'xyzw';
  return `${ind}let a = vec4<f32>(unpack2(${x}.x), unpack2(${x}.y)); let b = vec4<f32>(unpack2(${x}.z), unpack2(${x}.w));
${ind}let ha = vec4<f16>(select(a * down, vec4<f32>(0.0), isNan4(a)));
${ind}let hb = vec4<f16>(select(b * down, vec4<f32>(0.0), isNan4(b)));
${ind}let o = ${o};
${ind}${range(4).map((i) => `Kt[o + ${i * qtStride}u] = ha.${c[i]};`).join(' ')}
${ind}${range(4).map((i) => `Kt[o + ${(i + 4) * qtStride}u] = hb.${c[i]};`).join(' ')}`;
}

/**
 * The matrix kernels' (v5 before qOnce, v6) Qᵀ staging: `rows` rows of q from row `first` of the work item (v5: from 0,
 * written without it), a word a lane an iteration, times its row's power of two (qMax), NaN as 0, into the tile's memory as [column][16] (Kt).
 */
export function qStageLoopWgsl(rows: number, first: number | undefined, lanes: number): string {
  return `for (var w = t; w < ${rows * 72}u; w += ${lanes}u) {
   let row = ${first === undefined ? '' : `${first}u + `}w / 72u;
   let qm = mBase + row;
   var x = vec4<u32>(0u);
   if (qm < qLen * u.nGroups) { x = q[((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + w % 72u]; }
   let down = downOf(expOf(atomicLoad(&qMax[row])));
${qWordToKtWgsl('x', `(w % 72u) * ${8 * qtStride}u + ${first === undefined ? 'row' : 'w / 72u'}`, '   ')}
  }`;
}

/** QK's contraction part cp (0..3) of the 576 columns: its first column cl, its RoPE start cs, its end ce (v5, v6). */
export const qkPartLetsWgsl = ` let cl = min(cp, 2u) * 176u;                 // the part's first column (cp < 3) ...
 let cs = select(cl, 512u, cp == 3u);         // ... and RoPE's for cp 3
 let ce = select(cl + 176u, 576u, cp >= 2u) - select(0u, 64u, cp == 2u); // its end: 176, 352, 512, 576`;

export const decodeMatrix5Program: Program<DecodeMatrix5Spec> = {
  name: 'mla_decode_matrix5',
  key: (s) => `${s.dtype}.seg${s.segs}.sg${s.subgroups}.${s.emulate ? 'emu' : `m${s.config.m}n${s.config.n}k${s.config.k}`}${matrix5PackedOn(s) ? '.pmax' : ''}${s.qOnce ? (s.qRowLanes ? '.q2' : '.q1') : ''}${s.lazy ? `.lazy${s.lazy === true ? '' : `-${s.lazy}`}` : ''}${s.lean ? '.lean' : ''}${s.pad ? `.pad${s.pad}` : ''}${s.every ? '.every' : ''}${s.late ? '.late' : ''}${s.tile16 ? '.t16' : ''}${s.noPrefetch ? '.nopf' : ''}${s.pair ? '.pair' : ''}${s.lookahead ? '.ahead' : ''}${matrix5TrimOn(s) ? '.trim' : ''}${matrix5BoundedOn(s) ? '.bnd' : ''}${s.finite ? '.fin' : ''}${s.infSafe ? (s.infSafe === 'seen' ? '.infs' : '.inf') : ''}${matrix5FirstEarlyOn(s) ? '.fe' : ''}${matrix5FreshOOn(s) ? '.fo' : ''}${matrix5F16DirectOn(s) ? '.f16d' : ''}${matrix5Bf16DirectOn(s) ? '.b16d' : ''}${s.fp8 ? `.fp8${s.fp8}${matrix5Fp8DirectOn(s) ? 'd' : ''}` : ''}`,
  source(s) {
    return s.finite ? finiteLoopsWgsl(matrix5Source(s), ['k0']) : matrix5Source(s);
  },
};

function matrix5Source(s: DecodeMatrix5Spec): string {
    if (!s.emulate && !matrix5ConfigUsable(s.config)) throw new Error(`decode-matrix5: unusable configuration ${JSON.stringify(s.config)}`);
    const g = matrix5Layout(s.subgroups, !!s.tile16);
    const { nT, lanes, vCols, nbs, pStride, kpl, lpk, parts, words } = g;
    const t16 = g.tile16;
    const nParts = parts.length;
    const maxSteps = Math.max(...parts.map((x) => x[1]));
    const lazy = matrix5LazyOn(s.lazy);
    // Lazy with matrices: O in result matrices om0.. (the emulation keeps O in the lanes' o registers, as the default);
    // 'side' adds the lanes' o registers as a second accumulator that a moved reference flushes the matrices into.
    const lazyMx = lazy && !s.emulate && s.lazy !== 'scratch';
    const side = lazyMx && s.lazy === 'side';
    // Lazy: the flag "some row's reference moved this tile" lives in rowC[0], which lazy leaves unused inside the
    // loop (it holds a row's NaN flag only after it), so that the kernel declares no byte more than v5: v5 with 8
    // subgroups declares 49 088 of the H200's 49 152 B, and the first lazy build, which added a u32 of its own, computed
    // wrong scores there (session 10, H200; correct under emulation on lavapipe).
    const growFlag = 'rowC[0]';
    // infSafe (s20-h4): (1) the epilogue's "keys seen, all -inf" state; (2), lazy only: "a V column of this tile holds
    // an infinity" in rowC[1] (unused inside the loop like rowC[0]: no byte more), which forces the moved-reference
    // branch, where O gets the infinities of the keys each row sees and the tile's infinite V values are zeroed.
    const inf1 = !!s.infSafe;
    const inf2 = s.infSafe === true && lazy;
    const infFlag = 'rowC[1]';
    const trim = matrix5TrimOn(s);
    const bnd = matrix5BoundedOn(s);
    const pm = matrix5PackedOn(s);
    const fe = matrix5FirstEarlyOn(s);
    // freshO: the first tile of an item (O still zero) takes no rescale when its references first move
    const fresh = matrix5FreshOOn(s);
    const grewNow = (kt: string) => (fresh ? `grew && ${kt} != kBegin` : 'grew');
    // f16Direct (session 27): an f16 cache's words into the tile as they are (no maxima, no conversion)
    const f16d = matrix5F16DirectOn(s);
    // bf16Direct (session 40): tiles whose lanes pass a range test converted at scale 1; the flag "a lane failed" in rowC[2]
    const b16d = matrix5Bf16DirectOn(s);
    const slowFlag = 'rowC[2]';
    // fp8Direct (session 49): an FP8 tile's bytes straight to f16 (with bf16Direct's flag: a failing lane takes loops)
    const fp8d = matrix5Fp8DirectOn(s);
    // Unpacked where each block uses them (lean, packedMax) or once before the key maxima (f16Direct: never).
    const leanU = !!s.lean || pm || f16d;
    // bounded: lanes t < nT index the per-key arrays through tk (= t there, in [0, nT) for Tint's range analysis).
    const tIdx = bnd ? 'tk' : 't';
    // a slot's j-th key
    const keyOf = (j: number) => `slot * ${kpl}u + ${j}u`;
    const keyReset = `if (t < ${nT}u) { atomicStore(&kMax[${tIdx}], 0u); atomicStore(&kMaxR[${tIdx}], 0u); atomicStore(&kNan[${tIdx}], 0u); }`;
    const pad = s.pad ?? 0;
    if (pad % 4 !== 0 || pad < 0) throw new Error(`decode-matrix5: pad ${pad} is not a count of u32`);
    const nanWord = s.dtype === 'bf16' ? '0x7fc07fc0u' : '0x7e007e00u';
    // The lane's loads of a key's words lj + lpk i (tile16: the last, RoPE's, on lanes lj < 8 only).
    // fp8 (session 48): the key's raw bytes into w0..w3 (latent bytes 16 (lj + 8 r)), w4 (the four scales) and w8 (RoPE
    // word 64 + lj, bf16 as loaded); fp8Words turns them into the bf16 words at the tile's top.
    const fp8 = s.fp8 === 'v32';
    if (fp8 && (t16 || words !== 9)) throw new Error('decode-matrix5: fp8 runs the 8-lanes-a-key layout');
    const loadWords = fp8
      ? `${range(4).map((r) => `w${r} = loadK(ls, lr + lj + ${8 * r}u);`).join(' ')} w4 = loadK(ls, lr + 32u); w8 = loadK(ls, lr + 33u + lj);`
      : range(words).map((i) => (t16 && i === words - 1 ? `if (lj < 8u) { w${i} = loadK(ls, lr + lj + ${lpk * i}u); }` : `w${i} = loadK(ls, lr + lj + ${lpk * i}u);`)).join(' ');
    const fp8Words = !fp8 ? '' : `{ // fp8: the raw bytes into bf16 pair words (latent word 2 r + h: columns 16 lj + 128 r + 8 h, scale r)
    let sc = bitcast<vec4<f32>>(w4);
    let c0 = w0; let c1 = w1; let c2 = w2; let c3 = w3;
    ${range(4).map((r) => `w${2 * r} = fp8Word(c${r}.xy, sc.${'xyzw'[r]}); w${2 * r + 1} = fp8Word(c${r}.zw, sc.${'xyzw'[r]});`).join('\n    ')}
   }
   `;
    // fp8: a token's row is 41 vec4 words (656 bytes); hKv is 1
    const rowLookup = keyRowLookup(s.segs, 'kvh', 'blkId', fp8 ? 41 : undefined);
    // A work item's first tile: its cache rows (lanes t < nT), the word registers, and every lane's words of its key.
    const firstLookup = `  if (t < ${nT}u) {
   let key = kBegin + i32(t);
   if (key < kEnd) {
${rowLookup}
   } else {
    keySeg[t] = NONE;
   }
  }`;
    const wordVars = range(words).map((i) => `var w${i} = vec4<u32>(0u);`).join(' ');
    const firstWords = `{
   let ls = keySeg[lk];
   let lr = keyRow[lk];
   ${mark('tile-load', `if (ls != NONE) { ${loadWords} }`)}
  }`;
    // firstEarly: the first tile's cache rows looked up right after q's loads are issued (and the keys' maxima reset),
    // its words loaded right after the prologue's first barrier.
    const earlyLookup = !fe ? '' : `  // firstEarly: the first tile's cache rows (the block table's round trip beside q's), the keys' maxima reset
${firstLookup}
  ${keyReset}
`;
    const earlyWords = !fe ? '' : `  // firstEarly: the first tile's words, in flight while Qᵀ is converted and loaded
  ${wordVars}
  ${firstWords}
`;
    const unpackLets = range(words).map((i) => `let a${i} = vec4<f32>(unpack2(w${i}.x), unpack2(w${i}.y)); let b${i} = vec4<f32>(unpack2(w${i}.z), unpack2(w${i}.w));`).join('\n   ');
    // q's value (row rr, column cc) as the prologue converts it (emulation only).
    const qAt = `fn qAt(rr: u32, cc: u32, qStart: u32, qLen: u32, kvh: u32, mBase: u32) -> f32 {
  let qm = mBase + rr;
  if (qm >= qLen * u.nGroups) { return 0.0; }
  let w = q[((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + cc / 8u];
  let x = unpack2(w[(cc % 8u) / 2u])[cc % 2u];
  let mx = atomicLoad(&qMax[rr]);
  if (isNan(x)) { return 0.0; }
  return f32(f16(x * downOf(expOf(mx))));
}`;
    // Steps [from, to) of the QK product: the part's columns cs + 16 st (a part of fewer steps skips the rest; cp is
    // uniform within a subgroup, so the branches are too).
    // bounded: steps past the RoPE part's 4 run only for cp < 3 (cs <= 352), step 10 only for cp < 2 (cs <= 176):
    // cs3 / cs2 are cs there, and bounded so that the range analysis proves each load's 16 rows inside Kt.
    const qkBase = (st: number) => (!bnd || t16 ? 'cs' : st >= partSteps[2] ? 'cs2' : st >= partSteps[3] ? 'cs3' : 'cs');
    const qkSteps = (from: number, to: number) => range(to - from).map((i) => from + i).map((st) => `mc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L16}>(&Kt, kb * ${16 * kStride}u + ${qkBase(st)} + ${16 * st}u, false, ${kStride}u), qm${st}, mc);`).join(' ');
    const qkProduct = s.emulate
      ? `for (var e = l; e < 256u; e += 32u) {
     let kk = e / 16u; let rr = e % 16u;
     var x = 0.0;
     for (var i = cs; i < ce; i++) { x = fma(f32(Kt[(kb * 16u + kk) * ${kStride}u + i]), qAt(rr, i, qStart, qLen, kvh, mBase), x); }
     Sc[sg * 256u + e] = x;
    }`
      : t16
        ? `{ var mc = ${RES}(); ${qkSteps(0, 4)}
     if (cp < 4u) { ${qkSteps(4, 5)} }
     subgroupMatrixStore(&Sc, sg * 256u, mc, false, 16u); }`
        : `{ var mc = ${RES}(); ${qkSteps(0, partSteps[3])}
     if (cp < 3u) { ${qkSteps(partSteps[3], partSteps[2])} }
     if (cp < 2u) { ${qkSteps(partSteps[2], maxSteps)} }
     subgroupMatrixStore(&Sc, sg * 256u, mc, false, 16u); }`;
    const pvProduct = (nb: number) => s.emulate
      ? `for (var e = l; e < 256u; e += 32u) {
     let rr = e / 16u; let cc = e % 16u;
     var x = 0.0;
     for (var i = 0u; i < ${nT}u; i++) { x = fma(f32(Ph[rr * ${pStride}u + i]), f32(Kt[i * ${kStride}u + sg * ${vCols}u + ${16 * nb}u + cc]), x); }
     Sc[sg * 256u + e] = x;
    }`
      : `{ var mc = ${RES}(); ${range(g.kb).map((b) => `mc = subgroupMatrixMultiplyAccumulate(pl${b}, subgroupMatrixLoad<${R16}>(&Kt, ${b * 16 * kStride}u + sg * ${vCols}u + ${16 * nb}u, false, ${kStride}u), mc);`).join(' ')}
     subgroupMatrixStore(&Sc, sg * 256u, mc, false, 16u); }`;
    const pLeft = s.emulate ? '' : range(g.kb).map((b) => `let pl${b} = subgroupMatrixLoad<${L16}>(&Ph, ${16 * b}u, false, ${pStride}u);`).join(' ');
    // Qᵀ's right matrices of this subgroup's part; steps past the RoPE part's 4 load from cl (the latent start, 352
    // for cp 3) so that every load stays inside Qᵀ; cp 3 never uses them.
    const qLoad = s.emulate ? '' : range(maxSteps).map((st) => `let qm${st} = subgroupMatrixLoad<${R16}>(&Kt, (${t16 ? (st < 4 ? 'cs' : 'cq4') : st < partSteps[3] ? 'cs' : 'cl'} + ${16 * st}u) * ${qtStride}u, false, ${qtStride}u);`).join('\n  ');
    // Lazy, with matrices: on a tile where some row's reference moved (grew, workgroup-uniform) each result goes through
    // this subgroup's scratch once, times its row's factor 2^(old - new reference) (rowA); then the tile's products
    // accumulate into O's result matrices with no scratch and no barrier.
    // infSafe: an element's fix-up (row hh * 8 + i, this lane's column of result nb), and the zeroing of the tile's
    // infinite V values after every lane has read them (with the flag's reset, before the barrier PV waits on).
    // (One call site a result: a loop over the lane's 8 rows, through this subgroup's scratch Sc.)
    const infLoop = (kt: string, nb: number, op: '=' | '+=') => `for (var i = 0u; i < 8u; i++) { Sc[sg * 256u + 16u * i + hh * 128u + cc] ${op} infFix(hh * 8u + i, sg * ${vCols}u + ${16 * nb}u + cc, ${kt}, u32(clamp(kEnd - ${kt}, 0, ${nT}))); }`;
    const sAt = (i: number) => `Sc[sg * 256u + ${16 * i}u + hh * 128u + cc]`;
    const infZero = `for (var w = t; w < ${nT * 512}u; w += ${lanes}u) { let a = (w / 512u) * ${kStride}u + w % 512u; if (isInfF(f32(Kt[a]))) { Kt[a] = f16(0.0); } }
    if (t == 0u) { ${infFlag} = 0.0; }
    workgroupBarrier();`;
    const half = (w: string, i: number) => `${w}.${'xyzw'[i]}`;
    // The work item's q prologue as it was before qOnce (two passes over q's words, a load per iteration).
    const qTwiceWgsl = `${qMaxLoopWgsl(matrix5Rows, lanes)}  workgroupBarrier();
  ${s.emulate ? '' : `${qStageLoopWgsl(matrix5Rows, undefined, lanes)}
  workgroupBarrier();`}
`;
    // qOnce: a lane's words w = t + lanes i, all loaded before the first atomic, then converted from the same registers.
    const qIters = Math.ceil((matrix5Rows * 72) / lanes);
    const qWord = (i: number) => `let w = t + ${lanes * i}u; let qm = mBase + w / 72u;`;
    // qRowLanes: lane t takes row t % 16, words wc = t / 16 + (lanes / 16) i; one maximum and one atomic a lane.
    const qCols = lanes / 16, qRowIters = Math.ceil(72 / qCols);
    const qRowWgsl = `  let qr = t % 16u; // q row of this lane
  let qmR = mBase + qr;
  let qOk = qmR < qLen * u.nGroups;
  let qBase = ((qStart + qmR / u.nGroups) * u.hQ + kvh * u.nGroups + qmR % u.nGroups) * 72u + u.qOff;
  ${range(qRowIters).map((i) => `var qx${i} = vec4<u32>(0u);`).join(' ')}
  ${range(qRowIters).map((i) => `{ let wc = t / 16u + ${qCols * i}u; if (qOk && wc < 72u) { qx${i} = q[qBase + wc]; } }`).join('\n  ')}
${earlyLookup}  var qmb = 0u;
  var qnan = false;
  ${range(qRowIters).map((i) => `{ let a = vec4<f32>(unpack2(qx${i}.x), unpack2(qx${i}.y)); let b = vec4<f32>(unpack2(qx${i}.z), unpack2(qx${i}.w));
   let mb4 = max(finiteBits4(a), finiteBits4(b)); qmb = max(qmb, max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
   if (any(isNan4(a) | isNan4(b))) { qnan = true; } }`).join('\n  ')}
  if (qOk) { atomicMax(&qMax[qr], qmb); if (qnan) { atomicOr(&qNanF[qr], 1u); } }
  workgroupBarrier();
${earlyWords}  ${s.emulate ? '' : `{
   let down = downOf(expOf(atomicLoad(&qMax[qr])));
   ${range(qRowIters).map((i) => `{ let wc = t / 16u + ${qCols * i}u; if (wc < 72u) {
${qWordToKtWgsl(`qx${i}`, `wc * ${8 * qtStride}u + qr`, '    ')}
   } }`).join('\n   ')}
  }
  workgroupBarrier();`}
`;
    const qOnceWgsl = `  ${range(qIters).map((i) => `var qx${i} = vec4<u32>(0u);`).join(' ')}
  ${range(qIters).map((i) => `{ ${qWord(i)} if (w < ${matrix5Rows * 72}u && qm < qLen * u.nGroups) { qx${i} = q[((qStart + qm / u.nGroups) * u.hQ + kvh * u.nGroups + qm % u.nGroups) * 72u + u.qOff + w % 72u]; } }`).join('\n  ')}
${earlyLookup}  ${range(qIters).map((i) => `{ ${qWord(i)} if (w < ${matrix5Rows * 72}u && qm < qLen * u.nGroups) {
   let a = vec4<f32>(unpack2(qx${i}.x), unpack2(qx${i}.y)); let b = vec4<f32>(unpack2(qx${i}.z), unpack2(qx${i}.w));
   let mb4 = max(finiteBits4(a), finiteBits4(b));
   atomicMax(&qMax[w / 72u], max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
   if (any(isNan4(a) | isNan4(b))) { atomicOr(&qNanF[w / 72u], 1u); }
  } }`).join('\n  ')}
  workgroupBarrier();
${earlyWords}  ${s.emulate ? '' : `${range(qIters).map((i) => `{ let w = t + ${lanes * i}u; if (w < ${matrix5Rows * 72}u) {
   let row = w / 72u;
   let down = downOf(expOf(atomicLoad(&qMax[row])));
${qWordToKtWgsl(`qx${i}`, `(w % 72u) * ${8 * qtStride}u + row`, '   ')}
  } }`).join('\n  ')}
  workgroupBarrier();`}
`;
    const pvLazyOf = (kt: string) => `${s.every ? '{ // probe: every tile' : `if (${grewNow(kt)}) {`}${inf2 ? `
    let infT = workgroupUniformLoad(&${infFlag}) != 0.0; // infSafe: a V column of this tile holds an infinity` : ''}
    ${range(8).map((i) => `let ra${i} = rowA[hh * 8u + ${i}u];`).join(' ')}
    ${range(nbs).map((nb) => side ? `subgroupMatrixStore(&Sc, sg * 256u, om${nb}, false, 16u);
    workgroupBarrier();
    ${range(8).map((i) => `o${nb}_${i} = (o${nb}_${i} + Sc[sg * 256u + ${16 * i}u + hh * 128u + cc]) * ra${i};`).join(' ')}${inf2 ? `
    if (infT) { ${infLoop(kt, nb, '=')} ${range(8).map((i) => `o${nb}_${i} += ${sAt(i)};`).join(' ')} }` : ''}
    om${nb} = ${RES}();
    workgroupBarrier();` : `subgroupMatrixStore(&Sc, sg * 256u, om${nb}, false, 16u);
    workgroupBarrier();
    ${range(8).map((i) => `Sc[sg * 256u + ${16 * i}u + hh * 128u + cc] *= ra${i};`).join(' ')}${inf2 ? `
    if (infT) { ${infLoop(kt, nb, '+=')} }` : ''}
    workgroupBarrier();
    om${nb} = subgroupMatrixLoad<${RES}>(&Sc, sg * 256u, false, 16u);
    workgroupBarrier();`).join('\n    ')}${inf2 ? `
    if (infT) { ${infZero} }` : ''}
   }
   ${mark('pv-product', range(nbs).map((nb) => range(g.kb).map((b) => `om${nb} = subgroupMatrixMultiplyAccumulate(pl${b}, subgroupMatrixLoad<${R16}>(&Kt, ${b * 16 * kStride}u + sg * ${vCols}u + ${16 * nb}u, false, ${kStride}u), om${nb});`).join(' ')).join('\n   '))}`;
    const pv = range(nbs).map((nb) => `
   ${mark('pv-product', pvProduct(nb))}
   ${mark('pv-sync', 'workgroupBarrier();')}
   ${mark('pv-fma', range(8).map((i) => `o${nb}_${i} = fma(o${nb}_${i}, ra${i}, Sc[sg * 256u + ${16 * i}u + hh * 128u + cc] * rc${i});`).join(' '))}
   ${nb + 1 < nbs ? mark('pv-sync', 'workgroupBarrier();') : ''}`).join('');
    // The next tile's words into w0.. (before QK; the probe `late` moves them after the softmax).
    const nextLoad = `{
    let ls = keySeg[par * ${nT}u + lk];
    let lr = keyRow[par * ${nT}u + lk];
    ${range(words).map((i) => `w${i} = vec4<u32>(0u);`).join(' ')}
    ${mark('tile-load', `if (ls != NONE) { ${loadWords} }`)}
   }`;
    // packedMax's key maxima of a tile (bf16Direct: only on tiles where some lane failed its range test)
    const pmMax = `{ // packedMax: the magnitudes' maxima from the words; a NaN or an infinity (rare) unpacks them
    var mb = ${range(words - 1).map((i) => `magMax(w${i})`).reduce((x, y) => `max(${x}, ${y})`)};
    var mr = magMax(w${words - 1});
    var nan = false;
    if (max(mb, mr) >= 0x7f800000u) {
     ${unpackLets}
     let mb4 = ${range(words - 1).map((i) => `max(finiteBits4(a${i}), finiteBits4(b${i}))`).reduce((x, y) => `max(${x}, ${y})`)};
     let mr4 = max(finiteBits4(a${words - 1}), finiteBits4(b${words - 1}));
     mb = max(max(mb4.x, mb4.y), max(mb4.z, mb4.w));
     mr = max(max(mr4.x, mr4.y), max(mr4.z, mr4.w));
     nan = any(${range(words).map((i) => `isNan4(a${i}) | isNan4(b${i})`).join(' | ')});${inf2 ? `
     if (any(${range(words - 1).map((i) => `isInf4(a${i}) | isInf4(b${i})`).join(' | ')})) { ${infFlag} = 1.0; } // infSafe` : ''}
    }
    atomicMax(&kMax[lk], mb);
    atomicMax(&kMaxR[lk], mr);
    if (nan) { atomicOr(&kNan[lk], 1u); }
   }`;
    // A lane's words into the tile as f16 halves ha / hb of each word vector: `halves(i)` forms them (the scaled or the direct
    // conversion), the stores are the same.
    // (fp8: latent word i at column 16 lj + 128 (i >> 1) + 8 (i & 1), RoPE's at 512 + 8 lj)
    const colOf = (i: number, x: number) => (!fp8 ? `o + ${8 * lpk * i + x}u` : i < 8 ? `o + ${128 * (i >> 1) + 8 * (i & 1) + x}u` : `o - lj * 8u + ${512 + x}u`);
    // word i's halves (`halves`: its lets of ha and hb) into the tile (o: the lane's first column, let before)
    const storeWord = (i: number, halves: string) => `{ ${halves}
     ${range(4).map((x) => `Kt[${colOf(i, x)}] = ${half('ha', x)};`).join(' ')} ${range(4).map((x) => `Kt[${colOf(i, 4 + x)}] = ${half('hb', x)};`).join(' ')} }`;
    const storeWords = (halves: (i: number) => string) => `let o = lk * ${kStride}u + lj * ${fp8 ? 16 : 8}u;
    ${range(words).map((i) => `${t16 && i === words - 1 ? 'if (lj < 8u) ' : ''}${storeWord(i, halves(i))}`).join('\n    ')}`;
    // The scaled conversion: each key times 1 / its scale (bf16Direct: only on the tiles above)
    const scaledConvert = `{${pm ? `
    if (atomicLoad(&kNan[lk]) != 0u) { ${range(words).map((i) => `w${i} = zeroNan4(w${i});`).join(' ')} } // packedMax: a NaN key's NaN halves zeroed (rare)` : ''}${leanU ? `\n    ${unpackLets}` : ''}
    let down = downOf(expOf(atomicLoad(&kMax[lk])));
    let downR = downOf(expOf(atomicLoad(&kMaxR[lk])));
    ${storeWords((i) => { const d = i === words - 1 ? 'downR' : 'down'; return pm ? `let ha = vec4<f16>(a${i} * ${d}); let hb = vec4<f16>(b${i} * ${d});` : `let ha = vec4<f16>(select(a${i} * ${d}, vec4<f32>(0.0), isNan4(a${i}))); let hb = vec4<f16>(select(b${i} * ${d}, vec4<f32>(0.0), isNan4(b${i})));`; })}
   }`;
    // bf16Direct: a lane's range test on its 36 words (its largest magnitude in [2^-6, 2^16), or 0); a failure flags the tile
    const b16Test = `{ // bf16Direct: the lane's largest magnitude (f32 bits; a NaN or an infinity from 0x7f800000 up)
    let mbD = ${range(words).map((i) => `magMax(w${i})`).reduce((x, y) => `max(${x}, ${y})`)};
    if (mbD >= 0x47800000u || (mbD < 0x3c800000u && mbD != 0u)) { ${slowFlag} = 1.0; }
   }`;
    // bf16Direct: each value converted to f16 on its own, at scale 1 (exact in f16's normal range)
    const directConvert = `{${leanU ? `\n    ${unpackLets}` : ''}
    ${storeWords((i) => `let ha = vec4<f16>(a${i}); let hb = vec4<f16>(b${i});`)}
   }`;
    // fp8Direct: a lane's test (scales, NaN bytes, its RoPE word, dnOk), before the tile's barrier
    const xyzw = 'xyzw';
    const fp8Scales = `let sNz = w4 != vec4<u32>(0u);
    let sE = select(vec4<u32>(0u), w4 >> vec4<u32>(23u), sNz); // the scales' exponents (0: a zero scale)
    let fe = max(max(sE.x, sE.y), max(sE.z, sE.w));`;
    const fp8dTest = `{ // fp8Direct: the lane's test; a failure flags the tile (then the loops below)
    ${fp8Scales}
    let nanB = (${range(4).map((r) => `((w${r} & vec4<u32>(0x7f7f7f7fu)) + vec4<u32>(0x01010101u))`).join(' | ')}) & vec4<u32>(0x80808080u);
    let sOk = all((w4 & vec4<u32>(0x807fffffu)) == vec4<u32>(0u)) && (fe == 0u || (fe <= 245u && all((sE + vec4<u32>(7u) >= vec4<u32>(fe)) | !sNz)));
    let mbD = magMax(w8);
    if (!dnOk || !sOk || any(nanB != vec4<u32>(0u)) || mbD >= 0x47800000u || (mbD < 0x3c800000u && mbD != 0u)) { ${slowFlag} = 1.0; }
   }`;
    // fp8Direct: the tile's conversion when every lane passed (the key times 2^(-8 - kmax); kMax: 2^(kmax + 8))
    const fp8dConvert = `{ // fp8Direct: the bytes straight to f16
    ${fp8Scales}
    let mw = select(vec4<u32>(0u), ((sE + vec4<u32>(15u) - vec4<u32>(fe)) << vec4<u32>(10u)) * 0x00010001u, sNz); // f16 2^(d + 8) twice (0 on a zero scale)
    if (lj == 0u) { atomicStore(&kMax[lk], select(127u, fe + 8u, fe != 0u) << 23u); }
    let o = lk * ${kStride}u + lj * 16u;
    ${range(4).map((r) => `{ let m = bitcast<vec2<f16>>(mw.${xyzw[r]}); ${range(4).map((q) => `let h${q} = fp8H(w${r}.${xyzw[q]}, m);`).join(' ')}
     ${range(16).map((j) => `Kt[o + ${128 * r + j}u] = h${j >> 2}.${xyzw[j & 3]};`).join(' ')} }`).join('\n    ')}
    ${storeWord(8, 'let ha = vec4<f16>(vec4<f32>(unpack2(w8.x), unpack2(w8.y))); let hb = vec4<f16>(vec4<f32>(unpack2(w8.z), unpack2(w8.w)));')}
   }`;
    // fp8Direct, rare: the staged path's bf16 words by loops of n16 (a runtime 16: one copy of the slow conversion),
    // their key maxima as packedMax takes them, then (after the barrier) the scaled conversion
    const fp8dLoopHead = `var cw = array<vec4<u32>, 4>(w0, w1, w2, w3);
    let scl = bitcast<vec4<f32>>(w4);`;
    const fp8dSlowMax = `{ // fp8Direct, rare: the key maxima of the words the staged path holds
    ${fp8dLoopHead}
    var mx = 0u;
    var nan = false;
    for (var i = 0u; i < n16; i++) {
     let p = fp8Slow(cw[i >> 2u][i & 3u], scl[i >> 2u]);
     let a = vec4<f32>(unpack2(p.x), unpack2(p.y));
     let f = finiteBits4(a);
     mx = max(mx, max(max(f.x, f.y), max(f.z, f.w)));
     if (any(isNan4(a))) { nan = true; }
    }
    let ar = vec4<f32>(unpack2(w8.x), unpack2(w8.y));
    let br = vec4<f32>(unpack2(w8.z), unpack2(w8.w));
    let fr = max(finiteBits4(ar), finiteBits4(br));
    if (any(isNan4(ar) | isNan4(br))) { nan = true; }
    atomicMax(&kMax[lk], mx);
    atomicMax(&kMaxR[lk], max(max(fr.x, fr.y), max(fr.z, fr.w)));
    if (nan) { atomicOr(&kNan[lk], 1u); }
   }`;
    const fp8dSlowConvert = `{ // fp8Direct, rare: the scaled conversion of those words (packedMax's: a NaN key's NaN halves zeroed)
    ${fp8dLoopHead}
    let kn = atomicLoad(&kNan[lk]) != 0u;
    let down = downOf(expOf(atomicLoad(&kMax[lk])));
    let downR = downOf(expOf(atomicLoad(&kMaxR[lk])));
    let o = lk * ${kStride}u + lj * 16u;
    for (var i = 0u; i < n16; i++) {
     var p = fp8Slow(cw[i >> 2u][i & 3u], scl[i >> 2u]);
     if (kn) { p = zeroNan4(vec4<u32>(p, 0u, 0u)).xy; }
     let a = vec4<f32>(unpack2(p.x), unpack2(p.y)) * down;
     let c = o + 128u * (i >> 2u) + 4u * (i & 3u);
     Kt[c] = f16(a.x); Kt[c + 1u] = f16(a.y); Kt[c + 2u] = f16(a.z); Kt[c + 3u] = f16(a.w);
    }
    ${storeWord(8, `let wr = select(w8, zeroNan4(w8), kn);
     let ha = vec4<f16>(vec4<f32>(unpack2(wr.x), unpack2(wr.y)) * downR); let hb = vec4<f16>(vec4<f32>(unpack2(wr.z), unpack2(wr.w)) * downR);`)}
   }`;
    // One tile of the loop (o.kt: its first key; o.top: after its first barrier, the lookups and the key maxima reset;
    // o.unpack: its words unpacked; o.after: after its conversion's barrier, the next loads).
    const tileBody = (o: { kt: string; top: string; unpack: string; after: string }) => `${trim ? '   // (trim: no barrier at the top)' : '   workgroupBarrier();'}${lazy && !trim ? `\n   if (t == 0u) { ${growFlag} = 0.0; }` : ''}
${o.top}   // ---- The tile: lane t holds words lj + 8 i (i < ${words}) of key lk; its key's finite maxima by atomicMax, words
   // i < 8 (columns 0..511) and i = 8 (512..575, RoPE) apart (a NaN sets kNan instead: the scale must stay that of the
   // finite values, which PV multiplies by P = 0 in other rows).
   ${s.noPrefetch ? `{
    let ls = keySeg[par * ${nT}u + lk];
    let lr = keyRow[par * ${nT}u + lk];
    ${range(words).map((i) => `w${i} = vec4<u32>(0u);`).join(' ')}
    ${mark('tile-load', `if (ls != NONE) { ${loadWords} }`)}
   }
   ` : ''}${fp8d ? '' : fp8Words}${leanU ? `// (${pm ? 'packedMax' : 'lean'}: unpacked in each block below)` : o.unpack}
   ${trim ? '// (trim: the key maxima were reset after the last tile\'s softmax)' : 'workgroupBarrier();'}
   ${mark('tile-max', b16d ? (fp8d ? fp8dTest : b16Test) : f16d ? `{ // f16Direct: no maxima (every key at scale 1); a lane with a NaN half (rare) zeroes it and flags its key
    if (${range(words).map((i) => `nanMax16(w${i})`).reduce((x, y) => `max(${x}, ${y})`)} > 0x7c00u) {
     ${range(words).map((i) => `w${i} = zeroNan16(w${i});`).join(' ')}
     atomicOr(&kNan[lk], 1u);
    }
   }` : pm ? pmMax : `{${s.lean ? `\n    ${unpackLets}` : ''}
    let mb4 = ${range(words - 1).map((i) => `max(finiteBits4(a${i}), finiteBits4(b${i}))`).reduce((x, y) => `max(${x}, ${y})`)};
    let mr4 = max(finiteBits4(a${words - 1}), finiteBits4(b${words - 1}));
    let nan = any(${range(words).map((i) => `isNan4(a${i}) | isNan4(b${i})`).join(' | ')});
    atomicMax(&kMax[lk], max(max(mb4.x, mb4.y), max(mb4.z, mb4.w)));
    atomicMax(&kMaxR[lk], max(max(mr4.x, mr4.y), max(mr4.z, mr4.w)));
    if (nan) { atomicOr(&kNan[lk], 1u); }${inf2 ? `
    if (any(${range(words - 1).map((i) => `isInf4(a${i}) | isInf4(b${i})`).join(' | ')})) { ${infFlag} = 1.0; } // infSafe` : ''}
   }`)}
   ${b16d ? `let slow = workgroupUniformLoad(&${slowFlag}) != 0.0; // bf16Direct: the barrier, and whether some lane failed its test` : 'workgroupBarrier();'}${trim ? `\n   if (t == 0u) { ${growFlag} = 0.0; } // trim: a barrier after the last uniform load, two before the softmax sets it` : ''}${b16d ? `
   if (slow) { // bf16Direct, rare: packedMax's key maxima for this tile, then their barrier
   ${fp8d ? fp8dSlowMax : pmMax}
   workgroupBarrier();
   }` : ''}
   ${mark('tile-convert', b16d ? (fp8d ? `if (slow) ${fp8dSlowConvert} else ${fp8dConvert}` : `if (slow) ${scaledConvert} else ${directConvert}`) : f16d ? `{ // f16Direct: the words as they are (x: the low half, the earlier column)
    let o = lk * ${kStride}u + lj * 8u;
    ${range(words).map((i) => `{ ${range(4).map((c) => `let p${c} = bitcast<vec2<f16>>(w${i}.${'xyzw'[c]});`).join(' ')}
     ${range(8).map((x) => `Kt[o + ${8 * lpk * i + x}u] = p${x >> 1}.${'xy'[x & 1]};`).join(' ')} }`).join('\n    ')}
   }` : scaledConvert)}
   workgroupBarrier();${b16d ? `\n   if (t == 0u) { ${slowFlag} = 0.0; } // bf16Direct: every lane read the flag before this barrier` : ''}
${o.after}
   // ---- Sᵀ (keys x rows), this subgroup's key block and contraction part.
   ${mark('qk-product', qkProduct)}
   workgroupBarrier();
   // ---- Softmax (lanes < 128: row r, keys ${kpl} slot ..) in the exp2 domain; masked keys are selected out.
   ${range(kpl).map((j) => `var x${j} = NEG; var y${j} = NEG;`).join(' ')}
   // <softmax>
   if (t < 128u) {
    var mx = NEG;
    var my = NEG;
    var bad = false;
    ${range(kpl).map((j) => `{
     let key = ${keyOf(j)};
     let base = (key / 16u) * ${nParts * 256}u + (key % 16u) * 16u + r;
     let sLat = ${range(nParts - 1).map((p) => (p ? `Sc[base + ${256 * p}u]` : 'Sc[base]')).join(' + ')};
     let ek = ${f16d ? '127u; // f16Direct: every key at scale 1' : fp8d ? 'expOf(atomicLoad(&kMax[key])); // fp8Direct: the scales\' factor, or the maxima\'s' : b16d ? 'select(127u, expOf(atomicLoad(&kMax[key])), slow); // bf16Direct: scale 1 on direct tiles' : 'expOf(atomicLoad(&kMax[key]));'}
     let er = ${f16d ? '127u;' : b16d ? 'select(127u, expOf(atomicLoad(&kMaxR[key])), slow);' : 'expOf(atomicLoad(&kMaxR[key]));'}
     let sv = (pow2Mul(sLat, eq + i32(ek) - 254) + pow2Mul(Sc[base + ${256 * (nParts - 1)}u], eq + i32(er) - 254)) * u.scaleLog2;
     let seen = ${o.kt} + i32(key) < vis;
     x${j} = select(NEG, select(sv, qNan(), qBad || atomicLoad(&kNan[key]) != 0u), seen);
     y${j} = select(NEG, x${j} + f32(ek) - 127.0, seen);
     if (isNan(x${j})) { bad = true; } else { mx = max(mx, x${j}); my = max(my, y${j}); }
    }`).join('\n    ')}
    redM[r * 8u + slot] = select(mx, qNan(), bad);
    redY[r * 8u + slot] = my;
   }
   // </softmax>
   workgroupBarrier();
   // <softmax>
   if (t < 128u) {
    var mNew = m;
    var yMax = NEG;
    for (var j = 0u; j < 8u; j++) {
     let v = redM[r * 8u + j];
     if (isNan(v)) { nanRow = true; } else { mNew = max(mNew, v); }
     yMax = max(yMax, redY[r * 8u + j]);
    }
    let alpha = exp2(m - mNew);${lazy ? `
    // Lazy: P' against the row's reference yr, which moves to this tile's maximum only past 2^${lazyBound} of it.
    let grow = yMax > yref + ${lazyBound}.0;
    let yr = select(yref, yMax, grow);` : ''}
    var part = 0.0;
    ${range(kpl).map((j) => `{
     let live = !isNan(x${j}) && x${j} > NEG * 0.5;
     part += select(0.0, exp2(x${j} - mNew), live);
     Ph[r * ${pStride}u + ${keyOf(j)}] = f16(select(0.0, exp2(y${j} - ${lazy ? 'yr' : 'yMax'}), live));
    }`).join('\n    ')}
    lsum = lsum * alpha + part;
    m = mNew;
    ${lazy ? `if (slot == 0u) { rowA[r] = exp2(yref - yr); }
    if (grow${inf2 ? ` || ${infFlag} != 0.0` : ''}) { ${growFlag} = 1.0; }
    yref = yr;` : 'if (slot == 0u) { rowA[r] = alpha; rowC[r] = exp2(yMax - mNew); }'}
   }
   // </softmax>${trim ? `\n   ${keyReset} // trim: the softmax's first half was the last reader` : ''}
   ${lazy ? `let grew = workgroupUniformLoad(&${growFlag}) != 0.0; // the barrier, and whether some row's reference moved` : 'workgroupBarrier();'}${s.late && !s.noPrefetch ? `\n   ${nextLoad}` : ''}
   // ---- O = O * alpha + (P' V) * 2^(y - m), 16 columns a result; lane: column cc, rows 8 hh .. 8 hh + 7.${lazy ? `
   // Lazy: O = O * 2^(old - new reference) where a reference moved (rare), + P' V.` : ''}
   ${pLeft}
   ${lazyMx ? pvLazyOf(o.kt) : `${range(8).map((i) => lazy ? `${inf2 ? 'var' : 'let'} ra${i} = select(1.0, rowA[hh * 8u + ${i}u], ${grewNow(o.kt)}); let rc${i} = 1.0;` : `let ra${i} = rowA[hh * 8u + ${i}u]; let rc${i} = rowC[hh * 8u + ${i}u];`).join('\n   ')}${inf2 ? `
   // infSafe: O rescaled here (its factors then 1) and given the tile's infinities before they are zeroed.
   if (grew) { if (workgroupUniformLoad(&${infFlag}) != 0.0) {
    ${range(nbs).map((nb) => `${infLoop(o.kt, nb, '=')}
    ${range(8).map((i) => `o${nb}_${i} = o${nb}_${i} * ra${i} + ${sAt(i)};`).join(' ')}`).join('\n    ')}
    ${range(8).map((i) => `ra${i} = 1.0;`).join(' ')}
    workgroupBarrier();
    ${infZero}
   } }` : ''}
${pv}`}`;
    const defaultTop = `   if (t < ${nT}u) {
    let key = k0 + ${nT} + i32(t);
    let o = (1u - par) * ${nT}u + t;
    if (key < kEnd) {
${rowLookup.replace(/keyRow\[t\]/g, 'keyRow[o]').replace(/keySeg\[t\]/g, 'keySeg[o]')}
    } else {
     keySeg[o] = NONE;
    }
${trim ? '' : `    atomicStore(&kMax[${tIdx}], 0u);
    atomicStore(&kMaxR[${tIdx}], 0u);
    atomicStore(&kNan[${tIdx}], 0u);
`}   }
`;
    const defaultAfter = `   par = 1u - par;\n   ${s.noPrefetch ? '' : s.late ? '// (late: the next tile\'s loads after the softmax)' : nextLoad}`;
    // pair: two tiles an iteration. The second tile's conversion is followed by the next pair's loads (both tiles'
    // words, from the rows looked up one pair ahead) and the lookups of the pair after it (into registers, stored at
    // the next pair's top), so one global round trip is in flight when the pair's barriers wait, not four.
    const wordsOf = (v: string) => (x: string) => x.replace(/\bw(\d)\b/g, `${v}$1`);
    const pairLoads = (v: string, at: string) => `{
    let ls = keySeg[${at}];
    let lr = keyRow[${at}];
    ${range(words).map((i) => `${v}${i} = vec4<u32>(0u);`).join(' ')}
    if (ls != NONE) { ${wordsOf(v)(loadWords)} }
   }`;
    const nxLookup = (base: string) => `if (t < ${2 * nT}u) {
    let key = ${base} + i32(t);
    nxSeg = NONE;
    if (key < kEnd) {
${rowLookup.replace(/keyRow\[t\] =/g, 'nxRow =').replace(/keySeg\[t\] =/g, 'nxSeg =')}
    }
   }`;
    const resetTop = `   if (t < ${nT}u) { atomicStore(&kMax[t], 0u); atomicStore(&kMaxR[t], 0u); atomicStore(&kNan[t], 0u); }\n`;
    if (s.lookahead && s.pair) throw new Error('decode-matrix5: lookahead is pair\'s lookups without its loads: one or the other');
    // lookahead: the loop's top stores the row looked up an iteration ago and issues the lookup of the tile after next.
    const aheadTop = `   if (t < ${nT}u) {
    let o = (1u - par) * ${nT}u + t;
    keyRow[o] = nxRow;
    keySeg[o] = nxSeg;
    atomicStore(&kMax[t], 0u);
    atomicStore(&kMaxR[t], 0u);
    atomicStore(&kNan[t], 0u);
   }
   ${nxLookup(`k0 + ${2 * nT}`).replace(`if (t < ${2 * nT}u)`, `if (t < ${nT}u)`)}
`;
    if (s.pair && (s.lean || s.late || s.noPrefetch)) throw new Error('decode-matrix5: pair runs without lean, late and noPrefetch');
    const pairLoop = !s.pair ? '' : `  // pair: the first pair's rows, its words (w: first tile, v: second), the second pair's rows into registers.
  workgroupBarrier();
  if (t < ${2 * nT}u) {
   let key = kBegin + i32(t);
   if (key < kEnd) {
${rowLookup}
   } else {
    keySeg[t] = NONE;
   }
  }
  workgroupBarrier();
  ${range(words).map((i) => `var w${i} = vec4<u32>(0u); var v${i} = vec4<u32>(0u);`).join(' ')}
  ${pairLoads('w', 'lk')}
  ${pairLoads('v', `${nT}u + lk`)}
  var nxRow = 0u;
  var nxSeg = NONE;
  ${nxLookup(`kBegin + ${2 * nT}`)}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${2 * nT}) {
   let k1 = k0 + ${nT};
${tileBody({ kt: 'k0', top: `   if (t < ${2 * nT}u) { keyRow[t] = nxRow; keySeg[t] = nxSeg; }\n${resetTop}`, unpack: unpackLets, after: '' })}
   if (k1 < kEnd) {
${tileBody({ kt: 'k1', top: resetTop, unpack: wordsOf('v')(unpackLets), after: `   // pair: the next pair's words and the rows of the pair after it
   ${pairLoads('w', 'lk')}
   ${pairLoads('v', `${nT}u + lk`)}
   ${nxLookup(`k0 + ${4 * nT}`)}` })}
   }`; // (the loop's closing brace is the shared one below)
    return `enable f16;
${s.emulate ? '' : 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);'}
${decodeBindingsWgsl(s.segs)}
${metadataWgsl()}
var<workgroup> Kt: array<f16, ${nT * kStride}>;      // the key tile [key][${kStride}] (times 1 / its key's scale); Qᵀ [col][16] in the prologue
var<workgroup> Sc: array<f32, ${s.subgroups * 256}>;          // the subgroups' 16 x 16 results
var<workgroup> Ph: array<f16, ${matrix5Rows * pStride}>;      // P' [row][key]
${matrixRowStateWgsl(nT, matrix5Rows)}${pad ? `\nvar<workgroup> padW: array<u32, ${pad / 4}>; // probe: ${pad} B more` : ''}

${unpackWgsl(s.dtype)}
${packWgsl(s.dtype)}
${segmentLoader(s.segs)}

${scaleHelpersWgsl}
${pow2MulWgsl}${fp8 ? `
${fp8WordWgsl}` : ''}${fp8d ? `
${fp8HalvesWgsl}` : ''}
${s.emulate ? qAt : ''}${f16d ? `
// f16Direct: a word vector's largest half magnitude (above 0x7c00: a NaN), and the words with their NaN halves zeroed (+0)
fn nanMax16(w: vec4<u32>) -> u32 { let h = max(w & vec4<u32>(0x7fffu), (w >> vec4<u32>(16u)) & vec4<u32>(0x7fffu)); return max(max(h.x, h.y), max(h.z, h.w)); }
${zeroNanWgsl('zeroNan16', 0x7c00)}` : ''}${pm ? `
// packedMax (bf16): the largest magnitude of a vec4's eight halves as f32 bits (a half's magnitude is an f32's upper bits)
fn magMax(w: vec4<u32>) -> u32 { let h = max(w & vec4<u32>(0x7fff0000u), (w << vec4<u32>(16u)) & vec4<u32>(0x7fff0000u)); return max(max(h.x, h.y), max(h.z, h.w)); }
// ... and the words with their NaN halves zeroed (+0), the others as they are
${zeroNanWgsl('zeroNan4', 0x7f80)}` : ''}${inf2 ? `
fn isInfF(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn isInf4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) == vec4<u32>(0x7f800000u); }
// infSafe: what the tile from key k0 adds to O at (row rr, column c) through infinite V values: for each key the row
// sees whose V value there is infinite, that infinity where P' > 0, NaN where P' = 0 (0 x inf, as in the reference).
// kn: the tile's keys, min(kEnd - k0, ${nT}), a runtime bound (a constant one gets the loop unrolled at every call
// site: minutes of shader compilation on lavapipe).
fn infFix(rr: u32, c: u32, k0: i32, kn: u32) -> f32 {
  var f = 0.0;
  let vis = rowVis[rr];
  for (var k = 0u; k < kn; k++) {
    let v = f32(Kt[k * ${kStride}u + c]);
    if (isInfF(v) && k0 + i32(k) < vis) { f += select(qNan(), v, f32(Ph[rr * ${pStride}u + k]) > 0.0); }
  }
  return f;
}` : ''}

@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
 let mb = u.metaOff + wid.x * META_FIELDS;${fp8d ? `
 // fp8Direct: whether f16 subnormals survive a multiply here (2^-17 x 256 and x 2, from a runtime value: not folded
 // away), and a runtime 16 (0x7f800000 >> 27, + 1) for the rare loops, which unrolled would add their code sixteen times
 let dnOk = bitcast<u32>(bitcast<vec2<f16>>(((u.posInfBits >> 16u) & 0x80u) * 0x00010001u) * vec2<f16>(256.0h, 2.0h)) == 0x01001800u;
 let n16 = (u.posInfBits >> 27u) + 1u;` : ''}
${metaRowLets('mb')}
 let kvh = wid.y;
 let mBase = wid.z * ${matrix5Rows}u;
 let sg = t / 32u;   // subgroup
 let l = ${bnd ? 'min(t % 32u, 31u)' : 't % 32u'};    // lane in it
${t16 ? ` let kb = 0u;       // QK: one key block
 let cp = sg;        // QK: its contraction part (0..6 latent, 7 RoPE)
 let cs = select(select(80u * cp, 320u + 64u * (cp - 4u), cp >= 4u), 512u, cp == 7u); // the part's first column
 let ce = cs + select(80u, 64u, cp >= 4u);     // its end
 let cq4 = select(cs, 0u, cp >= 4u);           // step 4's Qᵀ (parts 4..7 have none): a column inside Qᵀ` : ` let kb = sg / 4u;   // QK: its key block
 let cp = ${bnd ? 'min(sg % 4u, 3u)' : 'sg % 4u'};   // QK: its contraction part
${bnd ? ` let cl = min(cp, 2u) * 176u;                 // the part's first column (cp < 3) ...
 let cs = cl + (cp / 3u) * 160u;              // ... and RoPE's (512) for cp 3, with no select (bounded: in [0, 512])
 let cs3 = min(cs, 352u);                     // cs where cp < 3
 let cs2 = min(cs, 176u);                     // cs where cp < 2
 let ce = select(cl + 176u, 576u, cp >= 2u) - select(0u, 64u, cp == 2u); // its end: 176, 352, 512, 576
 let tk = min(t, ${nT - 1}u);                 // t where t < ${nT}` : qkPartLetsWgsl}`}
 let r = ${bnd ? 'min(t % 16u, 15u)' : 't % 16u'};    // softmax (lanes < 128): row
 let slot = ${bnd ? 'min(t, 127u) / 16u' : 't / 16u'}; // softmax (lanes < 128): keys ${kpl} slot ..${bnd ? ' (bounded: t / 16u there, below 8)' : ''}
 let cc = ${bnd ? 'min(l % 16u, 15u)' : 'l % 16u'};   // PV: this lane's column of a 16-column result
 let hh = ${bnd ? 'min(l / 16u, 1u)' : 'l / 16u'};   // PV: its rows 8 hh .. 8 hh + 7
 let lk = t / ${lpk}u;    // tile load: key
 let lj = ${bnd ? `min(t % ${lpk}u, ${lpk - 1}u)` : `t % ${lpk}u`};    // tile load: words lj, lj + ${lpk}, ...
${pad ? ` for (var i = t; i < ${pad / 4}u; i += ${lanes}u) { padW[i] = 0u; }\n` : ''}
${itemLoopHead}
${matrixItemRowsHead('slotAcc', matrix5Rows)}
   atomicStore(&qMax[t], 0u);
   atomicStore(&qNanF[t], 0u);
  }
  workgroupBarrier();
  // q: each row's largest finite magnitude (and a NaN flag), then Qᵀ converted into the tile's memory.
${s.qOnce ? (s.qRowLanes ? qRowWgsl : qOnceWgsl) : qTwiceWgsl}  ${qLoad}
  let eq = i32(expOf(atomicLoad(&qMax[r])));
  let qBad = atomicLoad(&qNanF[r]) != 0u;${lazyMx ? `\n  ${range(nbs).map((nb) => `var om${nb} = ${RES}();`).join(' ')}` : ''}
  ${!lazyMx || side ? range(nbs).map((nb) => range(8).map((i) => `var o${nb}_${i} = 0.0;`).join(' ')).join('\n  ') : ''}
  var m = NEG;${lazy ? '\n  var yref = NEG; // lazy: the row\'s reference of x + log2 ks (softmax lanes)' : ''}
  var lsum = 0.0;
  var nanRow = false;
  let vis = rowVis[r];

${s.pair ? pairLoop : fe ? `  // firstEarly: the first tile's keys were looked up in the q prologue and its words loaded after its first barrier.
  var par = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
${tileBody({ kt: 'k0', top: defaultTop, unpack: unpackLets, after: defaultAfter })}` : `  // The first tile's keys and words; every tile then looks up and loads the next one's while it computes.${trim ? `\n  ${keyReset}` : ''}
  workgroupBarrier();
${firstLookup}
  workgroupBarrier();
  ${wordVars}
  ${s.noPrefetch ? '// (noPrefetch: each tile loads its own words at the top of its iteration)' : firstWords}
${s.lookahead ? `  var nxRow = 0u;
  var nxSeg = NONE;
  ${nxLookup(`kBegin + ${nT}`).replace(`if (t < ${2 * nT}u)`, `if (t < ${nT}u)`)}
` : ''}  var par = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${nT}) {
${tileBody({ kt: 'k0', top: s.lookahead ? aheadTop : defaultTop, unpack: unpackLets, after: defaultAfter })}`}
  }
  // Row sums, maxima and NaN flags to every lane; then out (through Sc, in bf16 pairs) or the f32 partials.
  workgroupBarrier();
  if (t < 128u) {
   redY[r * 8u + slot] = lsum;
   if (slot == 0u) { rowA[r] = m; rowC[r] = select(0.0, 1.0, nanRow);${lazy ? ' redM[r * 8u] = exp2(yref - m);' : ''} }
  }
  workgroupBarrier();${inf1 ? `
  // infSafe: a row that saw keys, all scored -inf (row sum 0), is NaN as out (and lse) where the item is not split.
  if (!isSplit && t < ${matrix5Rows}u) {
   if (${range(8).map((j) => `redY[t * 8u + ${j}u]`).join(' + ')} == 0.0 && rowVis[t] > kBegin) { rowC[t] = 1.0; }
  }
  workgroupBarrier();` : ''}${lazy ? `
  // Lazy: O times its row's 2^(reference - m) (redM), into the lanes' o registers (column cc, rows 8 hh ..).
  ${lazyMx ? range(nbs).map((nb) => `subgroupMatrixStore(&Sc, sg * 256u, om${nb}, false, 16u);
  workgroupBarrier();
  ${range(8).map((i) => side ? `o${nb}_${i} = (o${nb}_${i} + Sc[sg * 256u + ${16 * i}u + hh * 128u + cc]) * redM[(hh * 8u + ${i}u) * 8u];` : `let o${nb}_${i} = Sc[sg * 256u + ${16 * i}u + hh * 128u + cc] * redM[(hh * 8u + ${i}u) * 8u];`).join(' ')}
  workgroupBarrier();`).join('\n  ') : range(nbs).map((nb) => range(8).map((i) => `o${nb}_${i} *= redM[(hh * 8u + ${i}u) * 8u];`).join(' ')).join('\n  ')}` : ''}
  ${range(8).map((i) => `let ls${i} = ${range(8).map((j) => `redY[(hh * 8u + ${i}u) * 8u + ${j}u]`).join(' + ')}; let inv${i} = select(0.0, 1.0 / ls${i}, ls${i} > 0.0);`).join('\n  ')}
  if (isSplit) {
   ${range(8).map((i) => `{
    let mm = mBase + hh * 8u + ${i}u;
    if (mm < qLen * u.nGroups) {
     let a = u.oAccOff + (slotAcc * u.rowStride + (mm / u.nGroups) * u.hQ + kvh * u.nGroups + mm % u.nGroups) * 512u + sg * ${vCols}u + cc;
     let nr = rowC[hh * 8u + ${i}u] != 0.0;
     ${range(nbs).map((nb) => `acc[a + ${16 * nb}u] = select(o${nb}_${i} * inv${i}, qNan(), nr);`).join(' ')}
    }
   }`).join('\n   ')}
  } else {
   ${range(nbs).map((nb) => `
   workgroupBarrier();
   ${range(8).map((i) => `Sc[sg * 256u + ${16 * i}u + hh * 128u + cc] = o${nb}_${i} * inv${i};`).join(' ')}
   workgroupBarrier();
   for (var pi = l; pi < 128u; pi += 32u) {
    let row = pi / 8u;
    let mm = mBase + row;
    if (mm < qLen * u.nGroups) {
     let ob = u.outOff + ((qStart + mm / u.nGroups) * u.hQ + kvh * u.nGroups + mm % u.nGroups) * 256u + (sg * ${vCols}u + ${16 * nb}u) / 2u + pi % 8u;
     let v = vec2<f32>(Sc[sg * 256u + row * 16u + 2u * (pi % 8u)], Sc[sg * 256u + row * 16u + 2u * (pi % 8u) + 1u]);
     out[ob] = select(pack2(v), ${nanWord}, rowC[row] != 0.0);
    }
   }`).join('')}
  }
  if (t < ${matrix5Rows}u) {
   let mm = mBase + t;
   if (mm < qLen * u.nGroups) {
    let j = mm / u.nGroups;
    let h = kvh * u.nGroups + mm % u.nGroups;
    let lsT = ${range(8).map((j) => `redY[t * 8u + ${j}u]`).join(' + ')};
    // A NaN row sum (a score of +inf: inf - inf) is NaN, not "no key": the combine reads a NaN partial as a NaN row.
    let nr = rowC[t] != 0.0 || isNan(lsT);
    let v = select((rowA[t] + log2(lsT)) * 0.6931471805599453${pad ? ` + f32(padW[${pad / 4 - 1}u])` : ''}, qNan(), nr);
    if (!isSplit) {
     lse[u.lseOff + batch * u.lseStrideB + h * u.lseStrideH + (qStart + j) * u.lseStrideT] = select(bitcast<f32>(u.posInfBits), v, lsT > 0.0 || nr);
    } else {
     acc[slotAcc * u.rowStride + j * u.hQ + h] = select(NEG, v, lsT > 0.0 || nr${inf1 ? ' || rowVis[t] > kBegin' : ''});${inf1 ? ' // infSafe: keys seen, all -inf: -inf' : ''}
    }
   }
  }
 }
}
`;
}
