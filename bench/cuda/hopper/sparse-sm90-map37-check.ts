// Host check of sparse_sm90.cu's bit 37 (session 11, round 2), without a GPU: the one-CTA producer takes bit 31's lane
// map (thread pt -> box 4 (pt / 64) + (pt / 8) % 4, token 8 ((pt / 32) % 2) + pt % 8 of each 16-token round, register
// slot c = chunk c) but stores into the shipped 128-byte-swizzled key tile (storeRound's non-token-contiguous branch,
// transcribed), which the shipped consumers read (token n, column c of box b at b * 8192 + 128 n + 16 ((c / 8) ^ (n % 8))
// + 2 (c % 8)). Checked for both formats (4 rounds of 16 tokens, one CTA):
//  1. coverage: every 16-byte chunk of the tile written exactly once, with the token and columns the consumers read there;
//  2. banks: the 8 lanes of every quarter warp's 16-byte store hit 8 distinct 16-byte bank groups (one wavefront).
// Run: node --import tsx bench/cuda/hopper/sparse-sm90-map37-check.ts (exits 1 on a failure; alter the map or the
// swizzle below and it fails).
const kBox = 64 * 64 * 2;
let failures = 0;
const fail = (msg: string): void => {
  failures++;
  if (failures <= 20) console.log('FAIL ' + msg);
};
const mapOf = (pt: number) => ({ k: 4 * (pt >> 6) + ((pt >> 3) & 3), tok: 8 * ((pt >> 5) & 1) + (pt & 7) });
/** Where the shipped consumers read the 8 values of token r, columns 64 box + 8 ch .. + 7. */
const swz = (box: number, ch: number, r: number) => box * kBox + r * 128 + ((ch ^ (r & 7)) << 4);

function check(m1: boolean): void {
  const kNB = m1 ? 8 : 9, kNope = m1 ? 7 : 8;
  const held = new Map<number, string>();
  let stores = 0;
  for (let rnd = 0; rnd < 4; rnd++) {
    const quarters = new Map<string, number[]>();
    for (let pt = 0; pt < 128; pt++) {
      const { k, tok } = mapOf(pt);
      const r = rnd * 16 + tok;
      const put = (addr: number, what: string, slot: string) => {
        stores++;
        if (held.has(addr)) fail(`${m1 ? 'MODEL1' : 'V3.2'}: chunk at ${addr} written twice`);
        held.set(addr, what);
        const key = `${pt >> 3}/${slot}`;
        quarters.set(key, [...(quarters.get(key) ?? []), addr]);
      };
      if (k < kNope)
        for (let c = 0; c < 4; c++) {
          const ch = 2 * c; // storeRound: ch = 2 ((c + rot) & 3), rot 0 with the map
          put(k * kBox + r * 128 + ((ch ^ (r & 7)) << 4), `${r}/${64 * k + 8 * ch}`, `n${c}lo`);
          put(k * kBox + r * 128 + (((ch + 1) ^ (r & 7)) << 4), `${r}/${64 * k + 8 * ch + 8}`, `n${c}hi`);
        }
      put((kNB - 1) * kBox + r * 128 + ((k ^ (r & 7)) << 4), `${r}/${64 * (kNB - 1) + 8 * k}`, 'rope');
    }
    for (const [key, a] of quarters) {
      if (a.length !== 8) continue; // MODEL1's box-7 lanes store no NoPE chunk
      if (new Set(a.map((x) => (x >> 4) & 7)).size !== 8) fail(`quarter ${key}: bank groups ${a.map((x) => (x >> 4) & 7).join(',')}`);
    }
  }
  if (held.size !== kNB * 64 * 8) fail(`${held.size} chunks written of ${kNB * 64 * 8}`);
  for (let b = 0; b < kNB; b++)
    for (let n = 0; n < 64; n++)
      for (let ch = 0; ch < 8; ch++) {
        const got = held.get(swz(b, ch, n));
        if (got !== `${n}/${64 * b + 8 * ch}`) fail(`box ${b} token ${n} chunk ${ch}: the consumers read ${got ?? 'nothing'}`);
      }
  console.log(`${m1 ? 'MODEL1' : 'V3.2'} one-CTA (bit 37): ${stores} 16-byte stores a stage, ${held.size} chunks, swizzled reads and banks checked`);
}

for (const m1 of [false, true]) check(m1);
console.log(failures ? `${failures} failures` : 'all checks pass');
process.exit(failures ? 1 : 0);
