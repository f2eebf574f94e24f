// Host check of sparse_sm90.cu's bits 31 / 32 (the token-contiguous key tile, FlashMLA's no-swizzle layout), without a
// GPU: the producer's lane map and store addresses (produceTile / storeRound / keyAt, transcribed) against what the
// consumers' no-swizzle descriptors read (the canonical layouts of cute's GMMA descriptors: K-major
// ((8,m),(T,2)):((1T,SBO),(1,LBO)), MN-major ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO)), T = 8 bf16), checked for
//  1. coverage: every 16-byte chunk of a key tile written exactly once per CTA and stage (both CTAs of a pair together);
//  2. S = Q K^T: each of the 36 (V3.2) / 32 (MODEL1) m64n64k16 wgmmas reads, for token n and column kc of its k-step,
//     the bytes the producer wrote for that token and column (start kt + 8192 b + 2048 kk, LBO 1024, SBO 128);
//  3. O += P V: each warpgroup's m64n256k16 reads V[token][column] where the producer wrote it (start
//     kt + 8192 (c0 / 64) + 256 kk, LBO 128, SBO 1024);
//  4. every quarter warp's 16-byte store is one aligned 128-byte line (distinct banks; whole lines for st.async).
// Run: node --import tsx bench/cuda/hopper/sparse-sm90-tok-check.ts (one line per entry; exits 1 on a failure). Change
// the map or a descriptor stride below and it fails.
const kBox = 64 * 64 * 2;
let failures = 0;
const fail = (msg: string): void => {
  failures++;
  if (failures <= 20) console.log('FAIL ' + msg);
};

/** The producer's map of bits 31 / 32: thread pt -> box k and token of the 16-token round. */
const mapOf = (pt: number) => ({ k: 4 * (pt >> 6) + ((pt >> 3) & 3), tok: 8 * ((pt >> 5) & 1) + (pt & 7) });
const keyAt = (box: number, ch: number, r: number) => box * kBox + ch * 1024 + r * 16;

function check(m1: boolean, pair: boolean): void {
  const kNB = m1 ? 8 : 9, kNope = m1 ? 7 : 8, kRounds = pair ? 2 : 4;
  // byte offset in the tile -> [token, first column] of the 8 bf16 values stored there
  const held = new Map<number, [number, number]>();
  let stores = 0;
  for (let rank = 0; rank < (pair ? 2 : 1); rank++) {
    const r0 = pair ? 2 * rank : 0;
    for (let rnd = 0; rnd < kRounds; rnd++) {
      const lines = new Map<string, number[]>(); // quarter warp + store slot -> addresses
      for (let pt = 0; pt < 128; pt++) {
        const { k, tok } = mapOf(pt);
        const r = (r0 + rnd) * 16 + tok;
        const put = (addr: number, col: number, slot: string) => {
          stores++;
          if (held.has(addr)) fail(`${m1 ? 'MODEL1' : 'V3.2'} ${pair ? 'pair' : 'one'}: chunk at ${addr} written twice`);
          held.set(addr, [r, col]);
          const key = `${pt >> 3}/${slot}`;
          lines.set(key, [...(lines.get(key) ?? []), addr]);
        };
        if (k < kNope) for (let ch = 0; ch < 8; ch++) put(keyAt(k, ch, r), 64 * k + 8 * ch, `n${ch}`);
        put(keyAt(kNB - 1, k, r), 64 * (kNB - 1) + 8 * k, 'rope');
      }
      for (const [key, a] of lines) {
        if (a.length !== 8) continue; // MODEL1's box-7 lanes store no NoPE chunk
        const lo = Math.min(...a), hi = Math.max(...a);
        if (lo % 128 !== 0 || hi - lo !== 112 || new Set(a).size !== 8) fail(`quarter ${key}: not one aligned 128-byte line (${a.join(',')})`);
      }
    }
  }
  if (held.size !== kNB * 64 * 8) fail(`${held.size} chunks written of ${kNB * 64 * 8}`);
  // what the descriptors read: the element at (token, column) -> its byte address, compared with what was written there
  const wrote = (addr: number, token: number, col: number, what: string) => {
    const at = held.get(addr & ~15);
    const off = (addr & 15) / 2;
    if (!at || at[0] !== token || at[1] + off !== col) fail(`${what}: token ${token} column ${col} reads ${addr} holding ${at ? `${at[0]}/${at[1] + off}` : 'nothing'}`);
  };
  const kMajor = (start: number, lbo: number, sbo: number, n: number, kc: number) => start + (n % 8) * 16 + Math.floor(n / 8) * sbo + Math.floor(kc / 8) * lbo + (kc % 8) * 2;
  const mnMajor = (start: number, lbo: number, sbo: number, n: number, kr: number) => start + (n % 8) * 2 + Math.floor(n / 8) * sbo + (kr % 8) * 16 + Math.floor(kr / 8) * lbo;
  for (let b = 0; b < kNB; b++)
    for (let kk = 0; kk < 4; kk++)
      for (let n = 0; n < 64; n++)
        for (let kc = 0; kc < 16; kc++) wrote(kMajor(b * kBox + kk * 2048, 1024, 128, n, kc), n, 64 * b + 16 * kk + kc, `S box ${b} k-step ${kk}`);
  for (const c0 of [0, 256])
    for (let kk = 0; kk < 4; kk++)
      for (let n = 0; n < 256; n++)
        for (let kr = 0; kr < 16; kr++) wrote(mnMajor((c0 / 64) * kBox + kk * 256, 128, 1024, n, kr), 16 * kk + kr, c0 + n, `P V columns ${c0}.. k-step ${kk}`);
  console.log(`${m1 ? 'MODEL1' : 'V3.2'} ${pair ? 'pair' : 'one-CTA'}: ${stores} 16-byte stores a stage, ${held.size} chunks, S and P V reads checked`);
}

for (const m1 of [false, true]) for (const pair of [true, false]) check(m1, pair);
console.log(failures ? `${failures} failures` : 'all checks pass');
process.exit(failures ? 1 : 0);
