// Edits of the decode kernel's generated WGSL for ablate.mjs: each removes one part of the kernel (the result is
// wrong on purpose, the timing says what that part costs). test/tools/webgpu-tools.test.ts keeps the patterns matching.
export const ablations = {
  // QK multiply-adds (the lines `{ let qv = stageBuf[..]; let kv = stageBuf[..]; s0 = fma(..); .. }`)
  noQK: (s) => s.split('\n').filter((l) => !/^\s*\{ let qv = stageBuf\[.*\}$/.test(l)).join('\n'),
  // PV multiply-adds (fma() or a * b + c form)
  noPV: (s) => s.replace(/a\d+_\d+ = (?:fma\([^;]*\)|[^;]* \* [^;]*);/g, ''),
  // Cache and q loads (addresses stay); the bindings stay used by a never-taken read, or 'auto' layout drops them.
  noLoad: (s) => s.replace(/loadK\((\w+), ([^;]+)\);/g, 'vec4<u32>($2);').replace(/q\[qBase \+ ([^\]]+)\]/g, 'vec4<u32>(qBase + $1)')
    .replace(/(fn main\([^\n]*\{\n)/, '$1 if (u.b == 0xffffffffu) { out[0] = k0[0].x + q[0].x; }\n'),
  // Barriers between stages (the ones inside the stage loops)
  noBar: (s) => s.split('\n').filter((l) => l !== '    workgroupBarrier();').join('\n'),
  // Stores of staged k, q and V into the stage buffers (the loads feeding them then go too: dead code)
  noCommit: (s) => s.replace(/stageBuf\[[^;\]]*\]\[(kC4|qC4|qRow % 4u)\] = [^;]*;/g, '').replace(/stageBuf\[[^;\]]*vIdx\] = [^;]*;/g, ''),
  // exp2 of the scores and the rescaling of O
  noSoftmax: (s) => s.replace('let p = select(0.0, exp2(sc - mNew), sc > NEG * 0.5);', 'let p = sc;').replace(/a\d+_\d+ \*= al;/g, ''),
};

/** The source with the named parts removed; throws when a pattern no longer matches the kernel. */
export function ablate(source, names) {
  return names.reduce((s, name) => {
    const edit = ablations[name];
    if (!edit) throw new Error(`unknown ablation ${name}; known: ${Object.keys(ablations).join(', ')}`);
    const out = edit(s);
    if (out === s) throw new Error(`ablation ${name} matched nothing: the kernel's code changed, update the pattern`);
    return out;
  }, source);
}
