// Items (requests) and 64-token tiles a part of the sparse scheduler on FlashMLA's 12 sparse shapes, 132 SMs
// (CPU only): the table of docs/notes/cuda-sparse-decode.md, "The fixed part and the item boundary".
//   node --import tsx bench/cuda/hopper/sparse-schedule-stats.ts
// CONFIG3/4 draw their extra topk_length at random in bench --mode sparse; a fixed spread 0..extraTopk stands in here.
import { flashmlaSparseShapes } from '../../../src/cli/bench-sparse.js';
import { planSparseSchedule, sparseListLength, sparseNumSmParts, sparsePartWork } from '../../../src/core/sparse-scheduler.js';

const hist = (a: number[]) => {
  const m = new Map<number, number>();
  for (const x of a) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k}:${v}`).join(' ');
};
for (const s of flashmlaSparseShapes) {
  const parts = sparseNumSmParts(132, s.sQ, s.hQ);
  const extraTopkLength = s.extraTopkLength ? Int32Array.from({ length: s.b }, (_, i) => (i * 7919) % (s.extraTopk! + 1)) : undefined;
  const inp = { b: s.b, topk: s.topk, extraTopk: s.extraTopk ?? 0, extraTopkLength };
  const sch = planSparseSchedule(inp, parts);
  const blocks = (r: number) => Math.ceil(Math.max(sparseListLength(inp, r), 1) / 64);
  const items: number[] = [], tiles: number[] = [];
  for (let p = 0; p < parts; p++) {
    const w = sparsePartWork(sch.tileSchedulerMetadata, sch.numSplits, blocks, p);
    items.push(w.length);
    tiles.push(w.reduce((a, x) => a + x.blockEnd - x.blockBegin, 0));
  }
  const split = [...Array(s.b).keys()].filter((r) => sch.numSplits[r + 1] - sch.numSplits[r] > 1).length;
  console.log(`${s.label} b=${s.b} h_q=${s.hQ} s_q=${s.sQ} topk=${s.topk}${s.extraTopk ? `+${s.extraTopk}` : ''}: ${parts} parts, ` +
    `split requests ${split}; items a part (count:parts) ${hist(items)}; tiles a part ${hist(tiles)}`);
}
