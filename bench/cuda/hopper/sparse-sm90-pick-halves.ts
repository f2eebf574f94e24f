// The ship decision of session 11's first sparse call (docs/notes/cuda-sparse-decode.md, "Next call (session 11)"),
// per class of entries, from sparse-sm90-final-ab.sh's JSON ($OUT/sparse-sm90-final-ab.json):
//   node build/bench/cuda/hopper/sparse-sm90-pick-halves.js $OUT/sparse-sm90-final-ab.json   (or through tsx)
// The pair entries run the h_q-128 shapes (8 of FlashMLA's 12), the one-CTA entries the h_q-64 shapes (4). A class takes
// a candidate's bit when the build was timed (its checks passed), its geomean over the class's shapes is at least
// 0.5 % above the shipped build's in the same process, and no shape of the class is more than 0.5 % slower. Pair
// class: bit 28 (from m1410129928) or bit 27 (m202170376), the faster one that qualifies; one-CTA class: bit 30 (from
// m1410129928). Prints each class's numbers, then `SHIP MODE n` (67952648 plus the bits taken: the #define to set).
import { readFileSync } from 'node:fs';

const SHIPPED = 67952648;
type Build = { name: string; us: number[]; geomean: number };
const file = process.argv[2];
if (!file) throw new Error('usage: sparse-sm90-pick-halves FINAL_AB.json');
const j = JSON.parse(readFileSync(file, 'utf8')) as { shapes: string[]; builds: Build[] };
const byName = new Map(j.builds.map((b) => [b.name, b]));
const shipped = byName.get('shipped');
if (!shipped) throw new Error('no shipped build in ' + file);
const pairIdx = j.shapes.map((s, i) => (/ h(128|256)\b/.test(s) ? i : -1)).filter((i) => i >= 0);
const oneIdx = j.shapes.map((s, i) => (/ h64\b/.test(s) ? i : -1)).filter((i) => i >= 0);
if (pairIdx.length + oneIdx.length !== j.shapes.length) throw new Error('a shape is neither h_q 64 nor 128: ' + j.shapes.join(', '));

/** Speed-up of b over the shipped build on the shapes idx (geomean) and its slowest shape. */
function versus(b: Build, idx: number[]) {
  const r = idx.map((i) => shipped!.us[i] / b.us[i]);
  return { geo: Math.exp(r.reduce((a, x) => a + Math.log(x), 0) / r.length), worst: Math.min(...r) };
}
function take(cls: string, idx: number[], cands: { build: string; bit: number }[]): number {
  let best: { bit: number; geo: number } | undefined;
  for (const c of cands) {
    const b = byName.get(c.build);
    if (!b) {
      console.log(`${cls}: ${c.build} not timed (checks failed or no fatbin)`);
      continue;
    }
    const v = versus(b, idx);
    const ok = v.geo >= 1.005 && v.worst >= 0.995;
    console.log(`${cls}: ${c.build} (bit ${Math.log2(c.bit)}) ${((v.geo - 1) * 100).toFixed(2)} % geomean vs shipped, slowest shape ${((v.worst - 1) * 100).toFixed(2)} %: ${ok ? 'qualifies' : 'no'}`);
    if (ok && (!best || v.geo > best.geo)) best = { bit: c.bit, geo: v.geo };
  }
  const ctl = byName.get('m1947000840');
  if (ctl) {
    const v = versus(ctl, idx);
    console.log(`${cls}: control m1947000840 (halves order, one hand-off) ${((v.geo - 1) * 100).toFixed(2)} %, slowest ${((v.worst - 1) * 100).toFixed(2)} %`);
  }
  return best?.bit ?? 0;
}
const pairBit = take('pair (h_q 128)', pairIdx, [
  { build: 'm1410129928', bit: 268435456 },
  { build: 'm202170376', bit: 134217728 },
]);
const oneBit = take('one-CTA (h_q 64)', oneIdx, [{ build: 'm1410129928', bit: 1073741824 }]);
const mode = SHIPPED + pairBit + oneBit;
const twin: Record<number, string> = {
  [SHIPPED]: 'the shipped build',
  1410129928: 'm1410129928 (timed)',
  336388104: 'sparse_sm90_m336388104.fatbin (pair entries = m1410129928\'s)',
  1141694472: 'sparse_sm90_m1141694472.fatbin (one-CTA entries = m1410129928\'s, pair entries = shipped)',
  202170376: 'm202170376 (timed)',
  1275912200: 'sparse_sm90_m1275912200.fatbin (pair entries = m202170376\'s, one-CTA = m1410129928\'s)',
};
console.log(`SHIP MODE ${mode}${mode === SHIPPED ? ' (unchanged)' : ''}: ${twin[mode] ?? '?'}`);
