// The decode products probe's forms (`--form I` of scripts/webgpu-decode-products-probe.ts). Side-effect free, so
// the test imports it.
import type { DecodeProductSpec } from '../src/bench/webgpu-decode-products.js';

// 0-2: 32-key tiles, Qᵀ from storage every tile, O split 1 / 2 / 4 ways along rows. 3-4: 16-key tiles (two subgroups
// a score block), Qᵀ held in registers (18 matrices a subgroup) or from storage. 5: 32-key tiles with all 36 Qᵀ
// matrices of a subgroup in registers (over the register file with O's 16: expected to spill). 6-7: form 0's score
// phase alone and its PV phase alone. 8-9: 32 rows a workgroup (O in 8 result matrices a subgroup, so two workgroups
// can share an SM), Qᵀ from storage or in registers (18 matrices a subgroup). 10-11: 32 rows in 16-key tiles, Qᵀ in
// registers (9 matrices a subgroup, O in 8): 28 KiB of workgroup memory and few registers, so several workgroups an SM.
// Session 46 / 59: a matrix loaded from storage becomes scalar loads (no LDSM), so the storage forms may trail.
export const productForms: DecodeProductSpec[] = [
  { keyTile: 32, q: 'storage', pvRows: 1 }, { keyTile: 32, q: 'storage', pvRows: 2 }, { keyTile: 32, q: 'storage', pvRows: 4 },
  { keyTile: 16, q: 'registers', pvRows: 1 }, { keyTile: 16, q: 'storage', pvRows: 1 }, { keyTile: 32, q: 'registers', pvRows: 1 },
  { keyTile: 32, q: 'storage', pvRows: 1, only: 'qk' }, { keyTile: 32, q: 'storage', pvRows: 1, only: 'pv' },
  { keyTile: 32, q: 'storage', pvRows: 1, rows: 32 }, { keyTile: 32, q: 'registers', pvRows: 1, rows: 32 },
  { keyTile: 16, q: 'registers', pvRows: 1, rows: 32 }, { keyTile: 16, q: 'registers', pvRows: 2, rows: 32 },
  // 12-18 (session 63, after form 3 led session 63's first call at 121 TFLOPS on the H100): form 3 with its 18 score
  // products a tile split into 2 / 3 independent chains (12-13), with O split 2 ways too (14); form 10 (32 rows) in 3
  // chains (15); form 3's score phase alone in 1 / 2 chains (16-17) and its PV phase alone (18). The 32-key tiles
  // cannot take a second chain: its partials push workgroup memory past 48 KiB.
  { keyTile: 16, q: 'registers', pvRows: 1, chains: 2 }, { keyTile: 16, q: 'registers', pvRows: 1, chains: 3 },
  { keyTile: 16, q: 'registers', pvRows: 2, chains: 2 }, { keyTile: 16, q: 'registers', pvRows: 1, rows: 32, chains: 3 },
  { keyTile: 16, q: 'registers', pvRows: 1, only: 'qk' }, { keyTile: 16, q: 'registers', pvRows: 1, chains: 2, only: 'qk' },
  { keyTile: 16, q: 'registers', pvRows: 1, only: 'pv' },
  // 19-20: 16 rows a workgroup (a memory-bound decode's rows a KV head; 16 groups a request), 32-key tiles, Qᵀ (9
  // matrices a subgroup) in registers or from storage; 47.6 KiB of workgroup memory, so at most four an SM.
  { keyTile: 32, q: 'registers', pvRows: 1, rows: 16 }, { keyTile: 32, q: 'storage', pvRows: 1, rows: 16 },
];
