// Session 22 (s6): a CPU model of sparse_sm90.cu's bit 43 (produceStream: the pair producer walks a part's items as one
// stream of tiles) against the consumers' walk, on the TS scheduler's metadata. For every part and stage it checks that the
// tile the producer stores (the registers d, gathered from the id read two positions earlier, and the peer-row flag fl that
// travels with it) is the (item, tile) the consumers take from that stage (for batch in [beginReq, endReq]: itemOf, its
// nTiles tiles, one stage each). Ids are modelled as (batch, tile) or none (idAt's -1 / Id{-1}: a zero token, flag 0).
//
//   node --import tsx bench/cuda/hopper/sparse-stream-model.ts [--as-ran] [--cases N (2000)] [--seed S]
//
// --as-ran: the producer as call A ran it (one loop, two cursors, without s6's re-read of stream position 1 at a one-tile
// item's tile): the bug. Without it: session 22 s7's producer (tiles 0..n-3 in shipped's loop, then the next item's cursor
// and the last two tiles as the stream's tail, s6's re-read at a one-tile item). (s6's fixed single loop, which call B ran
// correctly, is not modelled any more.) The kernel forms the tail's next item with cursorOf(aheadAt(b)), itemOf's expressions
// for b > beginReq; the model has one cursor function for both (the GPU's --items bitexact runs check that equivalence). Prints the first mismatches and a summary line; exits 1 on any mismatch.
import { planSparseSchedule, sparseListLength, sparseMainRegion, sparseNumSmParts, SparseMeta } from '../../../src/core/sparse-scheduler.js';

const kBN = 64, kBlk = 64;
const args = process.argv.slice(2);
const asRan = args.includes('--as-ran');
const arg = (k: string, d: number) => (args.indexOf(k) >= 0 ? Number(args[args.indexOf(k) + 1]) : d);
const nCases = arg('--cases', 2000);
let seed = arg('--seed', 1) >>> 0;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const ri = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1)); // [lo, hi]

interface Shape { b: number; sQ: number; hQ: number; topk: number; len?: Int32Array; extraTopk: number; xLen?: Int32Array; numSms: number; tag: string }
interface Item { eBegin: number; eEnd: number; nTiles: number }
type Id = { batch: number; tile: number } | null;

function partsOf(s: Shape) {
  const inputs = { b: s.b, topk: s.topk, topkLength: s.len, extraTopk: s.extraTopk, extraTopkLength: s.xLen };
  const nParts = sparseNumSmParts(s.numSms, s.sQ, s.hQ);
  const { tileSchedulerMetadata: meta } = planSparseSchedule(inputs, nParts);
  // itemOf (sparse_sm90.cu): entries [eBegin, eEnd) of the request's list, nTiles 64-entry tiles
  const itemOf = (part: number, batch: number): Item => {
    const m = part * 8, beginReq = meta[m + SparseMeta.BeginReqIdx], endReq = meta[m + SparseMeta.EndReqIdx];
    const mainLen = s.len ? Math.min(s.len[batch], s.topk) : s.topk;
    const n = Math.max(mainLen, 1);
    const mainRegion = s.extraTopk ? Math.ceil(n / kBlk) * kBlk : n;
    const listLen = mainRegion + (s.extraTopk ? (s.xLen ? Math.min(s.xLen[batch], s.extraTopk) : s.extraTopk) : 0);
    if (listLen !== sparseListLength(inputs, batch) || mainRegion !== sparseMainRegion(inputs, batch)) throw new Error('list length differs from the scheduler');
    const nBlocks = Math.ceil(listLen / kBlk);
    const eBegin = (batch === beginReq ? meta[m + SparseMeta.BeginBlockIdx] : 0) * kBlk;
    const eEnd = Math.min((batch === endReq ? meta[m + SparseMeta.EndBlockIdx] : nBlocks) * kBlk, listLen);
    return { eBegin, eEnd, nTiles: eEnd > eBegin ? Math.ceil((eEnd - eBegin) / kBN) : 0 };
  };
  return { nParts, meta, itemOf };
}

/** The consumers: for batch in [beginReq, endReq] (and < b), itemOf, then its nTiles tiles, one stage each. */
interface Part { beginReq: number; endReq: number; b: number; itemOf: (batch: number) => Item }
function consumerSeq({ beginReq, endReq, b, itemOf }: Part): string[] {
  const seq: string[] = [];
  for (let batch = beginReq; batch <= endReq && batch < b; ++batch) {
    const it = itemOf(batch);
    for (let t = 0; t < it.nTiles; ++t) seq.push(`${batch}:${t}`);
  }
  return seq;
}

/** produceStream as written (Fl = true: the flag path too); returns, per stage, the tile stored and its flag's tile. */
function producerSeq({ beginReq, endReq, b: nb, itemOf }: Part): { d: string[]; fl: string[] } {
  const last = Math.min(endReq, nb - 1);
  type Cursor = { it: Item; batch: number };
  const cursorAt = (b: number): Cursor => ({ it: b <= last ? itemOf(b) : { eBegin: 0, eEnd: 0, nTiles: 0 }, batch: b });
  const onward = (c: Cursor) => {
    while (c.it.nTiles === 0 && c.batch <= last) Object.assign(c, cursorAt(c.batch + 1));
  };
  const streamId = (cur: Cursor, nxt: Cursor, t: number): Id => {
    if (t < cur.it.nTiles) return { batch: cur.batch, tile: t };
    t -= cur.it.nTiles;
    if (t < nxt.it.nTiles) return { batch: nxt.batch, tile: t };
    return null;
  };
  const str = (id: Id) => (id ? `${id.batch}:${id.tile}` : 'none');
  const out = { d: [] as string[], fl: [] as string[] };
  const cur = cursorAt(beginReq);
  onward(cur);
  let guard = 0;
  const store = () => {
    if (++guard > 1e6) throw new Error('no end');
    out.d.push(str(d)); // step(d, st, fl)
    out.fl.push(str(fl));
  };
  let d: Id, id: Id, fl: Id, fid: Id;
  if (asRan) { // call A's producer: one loop over the stream, two cursors, without the one-tile re-read
    const nxt = cursorAt(cur.batch + 1);
    onward(nxt);
    d = streamId(cur, nxt, 0), id = streamId(cur, nxt, 1), fl = streamId(cur, nxt, 0), fid = streamId(cur, nxt, 1);
    while (cur.it.nTiles > 0) {
      for (let t = 0; t < cur.it.nTiles; ++t) {
        store();
        if (t + 1 >= cur.it.nTiles) onward(nxt);
        if (t + 1 < cur.it.nTiles + nxt.it.nTiles) d = id; // load(d, id)
        if (t + 2 >= cur.it.nTiles) onward(nxt);
        id = streamId(cur, nxt, t + 2);
        fl = fid;
        fid = streamId(cur, nxt, t + 2);
      }
      Object.assign(cur, nxt);
      Object.assign(nxt, cursorAt(cur.batch + 1));
    }
    return out;
  }
  // Session 22 (s7): the first item's positions 0 and 1 against no next item (a one-tile item's position 1 is read in the
  // tail); per item tiles 0..n-3 in shipped's loop (this item's ids only), then the next item's cursor and the last two
  // tiles as the stream's tail (onward after the store; a one-tile item re-reads position 1, the s6 fix).
  const none: Cursor = { it: { eBegin: 0, eEnd: 0, nTiles: 0 }, batch: cur.batch + 1 };
  d = streamId(cur, none, 0), id = streamId(cur, none, 1), fl = streamId(cur, none, 0), fid = streamId(cur, none, 1);
  while (cur.it.nTiles > 0) {
    const n = cur.it.nTiles;
    let t = 0;
    for (; t + 2 < n; ++t) {
      store();
      d = id; // load(d, id)
      id = { batch: cur.batch, tile: t + 2 }; // idAt(cur.it, t + 2)
      fl = fid;
      fid = { batch: cur.batch, tile: t + 2 };
    }
    const nxt = cursorAt(cur.batch + 1);
    for (; t < n; ++t) {
      store();
      onward(nxt);
      if (n === 1) {
        id = streamId(cur, nxt, 1);
        fid = streamId(cur, nxt, 1);
      }
      d = id; // load(d, id), unconditional (past the part's last tile: none, never stored)
      id = streamId(cur, nxt, t + 2);
      fl = fid;
      fid = streamId(cur, nxt, t + 2);
    }
    Object.assign(cur, nxt);
  }
  return out;
}

const items = [0, 0, 0]; // items of 0, 1, >= 2 tiles
let wrongTile = 0, shown = 0;
function checkPart(tag: string, pt: Part): { stages: number; bad: number } {
  for (let b = pt.beginReq; b <= pt.endReq && b < pt.b; ++b) ++items[Math.min(pt.itemOf(b).nTiles, 2)];
  const want = consumerSeq(pt), got = producerSeq(pt);
  let bad = 0;
  for (let u = 0; u < Math.max(want.length, got.d.length); ++u) {
    if (want[u] === got.d[u] && want[u] === got.fl[u]) continue;
    ++bad;
    if (got.d[u] !== 'none') ++wrongTile;
    if (shown++ < 12) console.log(`${tag} stage ${u}: consumers take ${want[u] ?? '(nothing)'}, producer stores ${got.d[u] ?? '(nothing)'} flag ${got.fl[u] ?? '-'}`);
  }
  return { stages: want.length, bad };
}
function check(s: Shape): { parts: number; stages: number; bad: number } {
  const { nParts, meta, itemOf } = partsOf(s);
  let stages = 0, bad = 0;
  for (let part = 0; part < nParts; ++part) {
    const m = part * 8;
    const r = checkPart(`${s.tag} part ${part}`, { beginReq: meta[m + SparseMeta.BeginReqIdx], endReq: meta[m + SparseMeta.EndReqIdx], b: s.b, itemOf: (b) => itemOf(part, b) });
    stages += r.stages, bad += r.bad;
  }
  return { parts: nParts, stages, bad };
}

const randLen = (b: number, max: number, zeros: number) => Int32Array.from({ length: b }, () => (rnd() < zeros ? 0 : ri(0, max)));
const shapes: Shape[] = [
  // call A's failures: the sinks test (topk 1, numSms 1: one part, b·sQ one-tile items) and --items case 2 (b 88, topk 128,
  // s_q 2, a random topkLength 0..topk; 132 SMs, h_q 128: 33 parts)
  { b: 3, sQ: 3, hQ: 128, topk: 1, extraTopk: 0, numSms: 1, tag: 'sinks seed 85253 (b 3 topk 1 numSms 1)' },
];
// sparse-sm90-bitexact --items --extra's six cases (b 40 + 24 (c % 3), topk [64, 192, 128, 320][c % 4], extra 128 in odd
// cases, random topkLength in cases 2, 3 mod 4 and extraTopkLength in 3 mod 4; its own lengths, drawn here)
for (let c = 0; c < 6; ++c) {
  const b = 40 + 24 * (c % 3), topk = [64, 192, 128, 320][c % 4], xTopk = c % 2 ? 128 : 0;
  shapes.push({
    b, sQ: 2, hQ: 128, topk, len: c % 4 >= 2 ? randLen(b, topk, 0) : undefined, extraTopk: xTopk,
    xLen: xTopk && c % 4 === 3 ? randLen(b, xTopk, 0) : undefined, numSms: 132, tag: `--items case ${c} (b ${b} topk ${topk}${c % 4 >= 2 ? ' L' : ''}${xTopk ? ' extra' : ''})`,
  });
}
for (let c = 0; c < nCases; ++c) {
  const b = ri(1, 96), sQ = ri(1, 4), hQ = rnd() < 0.5 ? 64 : 128, topk = [1, 64, 65, 128, 192, 320, 512][ri(0, 6)];
  const withLen = rnd() < 0.7, extra = rnd() < 0.3, xTopk = extra ? [64, 128][ri(0, 1)] : 0;
  shapes.push({
    b, sQ, hQ, topk, len: withLen ? randLen(b, topk, 0.15) : undefined, extraTopk: xTopk,
    xLen: extra && rnd() < 0.5 ? randLen(b, xTopk, 0.3) : undefined, numSms: [1, 2, 8, 33, 78, 132][ri(0, 5)],
    tag: `random ${c} (b ${b} sQ ${sQ} hQ ${hQ} topk ${topk}${withLen ? ' L' : ''}${extra ? ' extra' : ''})`,
  });
}
let badShapes = 0, parts = 0, stages = 0, bad = 0;
for (const [i, s] of shapes.entries()) {
  const r = check(s);
  parts += r.parts, stages += r.stages, bad += r.bad;
  if (r.bad) ++badShapes;
  if (i < 7) console.log(`  ${s.tag}: ${r.parts} parts, ${r.stages} stages, ${r.bad} mismatched`);
}
// Synthetic parts (not from the scheduler, which gives no item without tiles in these shapes): 1-8 items of 0-3 tiles,
// zeros first, last and in runs, endReq past b at times (cursorAt / onward's bound).
for (let c = 0; c < nCases; ++c) {
  const n = ri(1, 8), tiles = Int32Array.from({ length: n }, () => (rnd() < 0.35 ? 0 : ri(1, 3)));
  const b = rnd() < 0.2 ? ri(1, n) : n;
  const r = checkPart(`synthetic ${c} (tiles ${tiles.join(',')} b ${b})`, { beginReq: 0, endReq: n - 1, b, itemOf: (i) => ({ eBegin: 0, eEnd: 64 * tiles[i], nTiles: tiles[i] }) });
  ++parts, stages += r.stages, bad += r.bad;
  if (r.bad) ++badShapes;
}
console.log(`${asRan ? 'as call A ran it' : 'fixed (s7: steady loop + tail)'}: ${shapes.length} shapes + ${nCases} synthetic parts, ${parts} parts, ${stages} stages; ${bad} mismatched stages in ${badShapes} shapes`
  + ` (${wrongTile} of them another item's tile, the rest no tile); items of 0 / 1 / 2+ tiles: ${items.join(' / ')}`);
process.exit(bad ? 1 : 0);
