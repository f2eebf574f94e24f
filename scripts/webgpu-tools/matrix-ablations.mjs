// The ablation markers of the matrix kernels and the cut sets the H200 ablation round times (ablate-matrix.mjs,
// ablate-matrix4.mjs; test/backends/webgpu-matrix-ablate.test.ts compiles every set through Tint). A marker is a pair of
// comments the generator writes around a part, `// <name>` ... `// </name>`; cutting it removes every occurrence (the
// kernel then computes wrong results on purpose: only its time means something).

/** The markers each version writes (kernels/decode-matrix4.ts, decode-matrix5.ts, decode-matrix6.ts). */
export const matrixMarkers = {
  4: ['qk-convert', 'qk-load', 'qk-product', 'qk-fma', 'pv-convert', 'pv-load', 'pv-product', 'pv-fma'],
  5: ['tile-load', 'tile-max', 'tile-convert', 'qk-product', 'softmax', 'pv-product', 'pv-fma', 'pv-sync'],
  6: ['tile-load', 'tile-max', 'tile-convert', 'qk-product', 'softmax', 'pv-product', 'pv-fma', 'pv-sync'],
};

const work = ['tile-load', 'tile-max', 'tile-convert', 'qk-product', 'softmax', 'pv-product', 'pv-fma'];

/**
 * The cut sets of the v5 / v6 round, in timing order (the most telling first, should the call run out of time; the
 * two without PV's barriers last: lavapipe's compiler takes minutes over them, the H200's is untried):
 * 'barriers-only' keeps the loop, the key lookups and the 14 barriers a tile; 'loop-only' also drops PV's 7.
 * `numSms` plans the base kernel for that many SM parts instead (16-row shapes only: does a second workgroup an SM
 * overlap?).
 */
export const ablationSets = [
  { label: 'base', cut: [] },
  { label: 'barriers-only', cut: work },
  { label: '-pv-work', cut: ['pv-product', 'pv-fma'] },
  { label: '-tile-convert', cut: ['tile-convert'] },
  { label: '-qk-product', cut: ['qk-product'] },
  { label: '-softmax', cut: ['softmax'] },
  { label: '-tile-max', cut: ['tile-max'] },
  { label: '-tile-load', cut: ['tile-load'] },
  { label: '-pv-product', cut: ['pv-product'] },
  { label: '-pv-fma', cut: ['pv-fma'] },
  { label: '-pv-sync', cut: ['pv-sync'] },
  { label: 'loop-only', cut: [...work, 'pv-sync'] },
  { label: 'numSms=264', cut: [], numSms: 264, maxRows: 32 },
];

/** The names of the resource bindings a WGSL source declares (`@binding(N) var<...> name`), by binding number. */
export function bindingNames(src) {
  return [...src.matchAll(/@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)\s*:/g)].map((m) => ({ binding: Number(m[1]), name: m[2] }));
}

/**
 * The source with the named parts cut out; a name the source does not hold is an error (a renamed marker). A cut
 * source keeps every binding of the base: a cut can remove the last use of one (barriers-only, loop-only and
 * -tile-load cut every cache read), and the pipeline's auto layout would then lack it, so the bind group the backend
 * builds for the base kernel would not fit (session 10's first H200 call: `binding index 6 not present`). Phony
 * assignments of each binding's address at the top of main() make every binding statically used (so it stays in the
 * layout) at no cost: they read nothing, and the compiler drops them after reflection.
 */
export function ablateSource(src, names) {
  if (names.length === 0) return src;
  for (const n of names) {
    const re = new RegExp(`// <${n}>[\\s\\S]*?// </${n}>`, 'g');
    if (!re.test(src)) throw new Error(`matrix ablation: no part named ${n}`);
    src = src.replace(re, `// (${n} cut)`);
  }
  return keepBindings(src);
}

/** src with a phony use of each binding it declares at the top of main() (why: ablateSource). */
export function keepBindings(src) {
  const head = /\n(fn main\([^\n]*\) \{)\n/;
  if (!head.test(src)) throw new Error('matrix ablation: no one-line head `fn main(...) {` to keep the bindings in');
  const keep = bindingNames(src).map((b) => `_ = &${b.name};`).join(' ');
  return src.replace(head, (_, h) => `\n${h}\n // (ablation: every binding stays in the layout)\n ${keep}\n`);
}

/**
 * Patch a matrix Program in place so that its source has the parts `names()` returns cut out, and its pipeline key
 * names them (each cut set compiles a pipeline of its own). Returns a function that undoes the patch.
 */
export function patchProgram(program, names) {
  const source = program.source, key = program.key;
  program.key = (spec) => { const n = names(); return n.length ? `${key.call(program, spec)}.cut.${n.join('.')}` : key.call(program, spec); };
  program.source = (spec) => ablateSource(source.call(program, spec), names());
  return () => { program.source = source; program.key = key; };
}
