#!/usr/bin/env node
// Session 13 (helper s13-h4): v5's GPU WGSL (result matrices, the lazy rescale, trim) with working matrix functions
// (test/support/matrix-stub.ts functionalMatrixWgsl) on an adapter without subgroup matrices (lavapipe), 4 subgroups,
// against the float64 reference on keys growing along the sequence: trim with the register knobs of the register slot
// (docs/notes/webgpu-matrix-trim.md, "Session 13's register slot"). Slow (each lane computes its subgroup's whole
// product; ~5 min a case on a loaded 2-core machine): small cases only. `mut` is trim + noPrefetch loading the other
// parity's key rows (it must FAIL). `bnd` (session 18): trim + bounded (docs/notes/webgpu-tensor-core.md, "Session 18"). Runs the tsc output (build/, as `tsc -p tsconfig.json --outDir build`).
//   PROBES=trim,nopf,lean,nl,mut SMS=1 SEQ='[40]' node scripts/webgpu-tools/functional-knobs.mjs
const root = new URL('../../build', import.meta.url).pathname;
const { createNodeWebGpuBackend } = await import(root + '/src/backends/webgpu/node.js');
const { decodeMatrix5Program } = await import(root + '/src/backends/webgpu/kernels/decode-matrix5.js');
const { functionalMatrixWgsl } = await import(root + '/test/support/matrix-stub.js');
const { closeToReference } = await import(root + '/test/support/matrix-emu.js');
const { growingCase } = await import(root + '/test/support/webgpu-matrix.js');
const m16 = { m: 16, n: 16, k: 16, result: 'f32' };
const b = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, subgroups: 4 } });
const { source, key } = decodeMatrix5Program;
const probes = (process.env.PROBES ?? 'trim,nopf,lean,nl').split(',');
const P = { trim: {}, nopf: { noPrefetch: true }, lean: { lean: true }, nl: { noPrefetch: true, lean: true }, mut: { noPrefetch: true }, bnd: { bounded: true } };
for (const name of probes) {
  const probe = { trim: true, ...P[name] };
  decodeMatrix5Program.source = (s) => {
    let code = functionalMatrixWgsl(source.call(decodeMatrix5Program, { ...s, emulate: false, config: m16, ...probe }));
    // mutant: the words of the tile loaded from the other parity's rows (the next tile's): must fail
    if (name === 'mut') code = code.replace('let ls = keySeg[par * 16u + lk];\n    let lr = keyRow[par * 16u + lk];', 'let ls = keySeg[(1u - par) * 16u + lk];\n    let lr = keyRow[(1u - par) * 16u + lk];');
    return code;
  };
  decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, { ...s, ...probe })}.functional.${name}`;
  const t0 = Date.now();
  for (const numSms of (process.env.SMS ?? '132,1').split(',').map(Number)) {
    try { await closeToReference(b, growingCase(...(process.env.SEQ ? [JSON.parse(process.env.SEQ)] : [])), numSms, `${name} ${numSms}`); console.log(`PASS ${name} growing keys ${numSms} SMs ${((Date.now() - t0) / 1e3).toFixed(1)} s`); }
    catch (e) { console.log(`FAIL ${name} ${numSms}: ${String(e.message).split('\n').slice(0, 2).join(' ').slice(0, 200)}`); }
  }
}
b.dispose?.();
