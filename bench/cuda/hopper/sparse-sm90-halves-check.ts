// Host check of sparse_sm90.cu's bits 28 / 30 (the stage written and handed over in two halves), without a GPU: the
// producer's lane map, store addresses and byte counts, transcribed from produceTile / storeHalf, checked for
//  1. coverage: every 16-byte chunk of a key tile (kNB boxes x 64 rows x 8 chunks) written exactly once per CTA and
//     stage, with the columns wgmma expects there (box k, row r, logical chunk j at physical chunk j ^ (r & 7)), and in
//     the half S reads it from (chunks 0..3: k-steps 0, 1 = half 0; chunks 4..7 = half 1);
//  2. the bytes the peer's producer sends into each half (pair) equal the expect_tx of that half (kPeerBytes0 / 1);
//  3. bank groups: the 8 lanes of every quarter warp hit 8 distinct 16-byte bank groups on every 16-byte store;
//  4. loads: each lane's four 16-byte NoPE loads cover its box's 64 bytes once.
// Run: node --import tsx bench/cuda/hopper/sparse-sm90-halves-check.ts (prints one line per entry, exits 1 on a failure).
const kBox = 64 * 64 * 2;
let failures = 0;
const fail = (msg: string): void => {
  failures++;
  if (failures <= 20) console.log('FAIL ' + msg);
};

interface Store {
  cta: number; // the CTA whose stage it lands in
  viaPeer: boolean; // st.async into the peer
  addr: number; // byte offset in the key tile
  col: number; // first of the 8 columns (of d_qk) it holds, -1 for a validity flag
  row: number;
  half: number; // 0 or 1: which hand-off it belongs to
  bytes: number;
  pt: number;
  instr: string; // which store instruction of the thread (for the bank-group check)
}

function check(m1: boolean, pair: boolean): void {
  const kNB = m1 ? 8 : 9, kNope = m1 ? 7 : 8, kRounds = pair ? 2 : 4;
  const stores: Store[] = [];
  for (let rank = 0; rank < (pair ? 2 : 1); rank++) {
    const r0 = pair ? 2 * rank : 0;
    for (let pt = 0; pt < 128; pt++) {
      const pq = (pt >> 3) & 3, pi = pt & 7;
      const k = (pq & 1) + 4 * (pq >> 1) + 2 * (pi >> 2);
      const tokInRound = 8 * (pt >> 6) + 2 * ((pt >> 5) & 1) + (pi & 1) + 4 * ((pi >> 1) & 1);
      const rot = (k >> 1) & 1;
      // loads: slot c <- e4m3 chunk c ^ rot of box k
      if (k < kNope) {
        const seen = new Set<number>();
        for (let c = 0; c < 4; c++) seen.add(c ^ rot);
        if (seen.size !== 4) fail(`loads of pt ${pt}`);
      }
      for (let g = 0; g < 2; g++)
        for (let rnd = 0; rnd < kRounds; rnd++) {
          const r = (r0 + rnd) * 16 + tokInRound;
          const row = k * kBox + r * 128;
          const put = (addr: number, col: number, instr: string): void => {
            stores.push({ cta: rank, viaPeer: false, addr, col, row: r, half: g, bytes: 16, pt, instr });
            if (pair) stores.push({ cta: rank ^ 1, viaPeer: true, addr, col, row: r, half: g, bytes: 16, pt, instr });
          };
          if (k < kNope)
            for (let cc = 0; cc < 2; cc++) {
              const c = 2 * g + cc, ch = 2 * (c ^ rot);
              const e4 = c ^ rot; // the loaded e4m3 chunk in slot c: columns 64k + 16 e4 .. + 15
              put(row + ((ch ^ (r & 7)) << 4), 64 * k + 16 * e4, `g${g} r${rnd} c${cc} lo`);
              put(row + (((ch + 1) ^ (r & 7)) << 4), 64 * k + 16 * e4 + 8, `g${g} r${rnd} c${cc} hi`);
            }
          if (k >> 2 === g) put((kNB - 1) * kBox + r * 128 + ((k ^ (r & 7)) << 4), 64 * (kNB - 1) + 8 * k, `g${g} r${rnd} rope`);
          if (g === 0 && k === 0) {
            stores.push({ cta: rank, viaPeer: false, addr: -1, col: -1, row: r, half: 0, bytes: 4, pt, instr: 'valid' });
            if (pair) stores.push({ cta: rank ^ 1, viaPeer: true, addr: -1, col: -1, row: r, half: 0, bytes: 4, pt, instr: 'valid' });
          }
        }
    }
  }
  const name = `${m1 ? 'MODEL1' : 'V3.2'} ${pair ? 'pair' : 'one-CTA'}`;
  // 1. coverage and columns
  for (let cta = 0; cta < (pair ? 2 : 1); cta++) {
    const got = new Map<number, Store[]>();
    for (const s of stores) if (s.cta === cta && s.addr >= 0) got.set(s.addr, [...(got.get(s.addr) ?? []), s]);
    for (let box = 0; box < kNB; box++)
      for (let r = 0; r < 64; r++)
        for (let j = 0; j < 8; j++) {
          const addr = box * kBox + r * 128 + ((j ^ (r & 7)) << 4);
          const w = got.get(addr) ?? [];
          if (w.length !== 1) {
            fail(`${name} cta ${cta}: box ${box} row ${r} chunk ${j} written ${w.length} times`);
            continue;
          }
          if (w[0].row !== r || w[0].col !== 64 * box + 8 * j) fail(`${name} cta ${cta}: box ${box} row ${r} chunk ${j} holds row ${w[0].row} col ${w[0].col}`);
          if (w[0].half !== j >> 2) fail(`${name}: box ${box} chunk ${j} in half ${w[0].half}`);
        }
    if (got.size !== kNB * 64 * 8) fail(`${name} cta ${cta}: ${got.size} chunks written, ${kNB * 64 * 8} expected`);
    const flags = new Set(stores.filter((s) => s.cta === cta && s.addr < 0).map((s) => s.row));
    if (flags.size !== 64) fail(`${name} cta ${cta}: ${flags.size} validity flags`);
    // 2. the peer's bytes per half
    if (pair) {
      const expect = [32 * (kNope * 64 + 64 + 4), 32 * (kNope * 64 + 64)];
      for (let g = 0; g < 2; g++) {
        const b = stores.filter((s) => s.cta === cta && s.viaPeer && s.half === g).reduce((a, s) => a + s.bytes, 0);
        if (b !== expect[g]) fail(`${name} cta ${cta}: the peer sends ${b} bytes in half ${g}, expect_tx ${expect[g]}`);
      }
    }
  }
  // 3. bank groups per quarter warp and store instruction (this CTA's stage; the peer's copies use the same offsets)
  let instrs = 0;
  const byInstr = new Map<string, Store[]>();
  for (const s of stores)
    if (s.cta === 0 && !s.viaPeer && s.addr >= 0) {
      const key = `${s.pt >> 3}|${s.instr}|${Math.floor(s.row / 16) - (pair ? 0 : 0)}`;
      byInstr.set(key, [...(byInstr.get(key) ?? []), s]);
    }
  for (const [key, ss] of byInstr) {
    instrs++;
    const groups = new Set(ss.map((s) => (s.addr >> 4) & 7));
    if (groups.size !== ss.length) fail(`${name}: quarter/instruction ${key}: ${ss.length} lanes on ${groups.size} bank groups`);
  }
  console.log(`${name}: ${stores.length} stores, ${instrs} quarter-instructions checked`);
}

for (const m1 of [false, true]) for (const pair of [false, true]) check(m1, pair);
console.log(failures ? `${failures} failures` : 'all checks pass');
process.exitCode = failures ? 1 : 0;
