// Comparison with the float64 reference that holds NaN and infinities to the reference exactly: NaN where and
// only where the reference has NaN, the same infinities, every finite element within the backend's bound. Used
// where inputs carry NaN/inf on purpose (poisoned q or keys); compare.ts is the bar for clean inputs.
import { type HalfDType, bf16ToF32, f16ToF32 } from '../../src/core/dtype.js';
import type { ReferenceOutput } from '../../src/core/reference.js';
import { type Tolerance, ulpOf } from './compare.js';

/** The first disagreement (element index, got, reference), or undefined when out and lse match. */
export function specialsMismatch(out: Uint16Array, lse: Float32Array, ref: ReferenceOutput, dtype: HalfDType, tol: Tolerance, dV = 512): string | undefined {
  if (out.length !== ref.out.length || lse.length !== ref.lse.length) return `sizes: out ${out.length} vs ${ref.out.length}, lse ${lse.length} vs ${ref.lse.length}`;
  const dec = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
  for (let row = 0; row * dV < out.length; row++) {
    let rowMax = 0;
    for (let c = 0; c < dV; c++) { const r = ref.out[row * dV + c]; if (Number.isFinite(r)) rowMax = Math.max(rowMax, Math.abs(r)); }
    for (let c = 0; c < dV; c++) {
      const i = row * dV + c, x = dec(out[i]), r = ref.out[i];
      if (Number.isNaN(r) || Number.isNaN(x)) { if (Number.isNaN(r) !== Number.isNaN(x)) return `out[${i}] (row ${row}, col ${c}): got ${x}, reference ${r}`; continue; }
      if (!Number.isFinite(r) || !Number.isFinite(x)) { if (x !== r) return `out[${i}] (row ${row}, col ${c}): got ${x}, reference ${r}`; continue; }
      if (Math.abs(x - r) > tol.ulps * ulpOf(dtype, r) + tol.rowAbs * rowMax) return `out[${i}] (row ${row}, col ${c}): got ${x}, reference ${r}`;
    }
  }
  for (let k = 0; k < lse.length; k++) {
    const x = lse[k], r = ref.lse[k];
    if (Number.isNaN(r) || Number.isNaN(x)) { if (Number.isNaN(r) !== Number.isNaN(x)) return `lse[${k}]: got ${x}, reference ${r}`; continue; }
    if (!Number.isFinite(r) || !Number.isFinite(x)) { if (x !== r) return `lse[${k}]: got ${x}, reference ${r}`; continue; }
    if (!(Math.abs(x - r) <= Math.max(tol.lseAbs, 1e-5 * Math.abs(r)))) return `lse[${k}]: got ${x}, reference ${r}`;
  }
  return undefined;
}

/** Which rows of out are entirely NaN (with NaN lse at the same index order as the rows' lse positions). */
export function nanRows(out: Uint16Array, dtype: HalfDType, dV = 512): boolean[] {
  const dec = dtype === 'bf16' ? bf16ToF32 : f16ToF32, rows: boolean[] = [];
  for (let row = 0; row * dV < out.length; row++) {
    let all = true;
    for (let c = 0; c < dV && all; c++) all = Number.isNaN(dec(out[row * dV + c]));
    rows.push(all);
  }
  return rows;
}
