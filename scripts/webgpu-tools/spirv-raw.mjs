#!/usr/bin/env node
// Assemble the SPIR-V text Dawn dumps for the matrix kernels with a SPIRV-Tools that does not know
// SPV_KHR_cooperative_matrix (Debian 12's 2023.1): the cooperative-matrix instructions as raw words, checked in the
// binary. Used by pipeline-stats.mjs; on its own it re-assembles a dumped text off the GPU host (a dry run of the
// register-count step):   node scripts/webgpu-tools/spirv-raw.mjs FILE.spvasm OUT.spv
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The SPIR-V text with the KHR cooperative-matrix instructions written as raw words (`!opcode-word` then the operands as
 * ids or `!literal`), which a SPIRV-Tools that does not know them (Debian 12's 2023.1) still assembles. Each raw line
 * follows an `OpNop`: spirv-as reads `!word` tokens as more operands of the instruction before while that one takes a
 * variable operand list (session 12's H200 modules: the 36 matrix loads and 9 stores were appended to the
 * OpAccessChain before each, so the driver got a malformed module and vkstats died). stripNops removes the OpNops from
 * the binary and coopCounts checks that every instruction arrived.
 */
export function rawCoopMatrix(asm) {
  const opcodes = { OpTypeCooperativeMatrixKHR: 4456, OpCooperativeMatrixLoadKHR: 4457, OpCooperativeMatrixStoreKHR: 4458, OpCooperativeMatrixMulAddKHR: 4459, OpCooperativeMatrixLengthKHR: 4460 };
  const memory = { None: 0, NoneKHR: 0, Volatile: 1, Aligned: 2, Nontemporal: 4, MakePointerAvailable: 8, MakePointerAvailableKHR: 8, MakePointerVisible: 16, MakePointerVisibleKHR: 16, NonPrivatePointer: 32, NonPrivatePointerKHR: 32 };
  const operands = { NoneKHR: 0, MatrixASignedComponentsKHR: 1, MatrixBSignedComponentsKHR: 2, MatrixCSignedComponentsKHR: 4, MatrixResultSignedComponentsKHR: 8, SaturatingAccumulationKHR: 16 };
  const word = (tok) => {
    if (tok.startsWith('%')) return tok;
    if (/^-?(0x)?[0-9a-f]+$/i.test(tok)) return `!${Number(tok)}`;
    const bits = tok.split('|').map((k) => memory[k] ?? operands[k] ?? memory[k.replace(/KHR$/, '')]);
    if (bits.some((b) => b === undefined)) throw new Error(`rawCoopMatrix: unknown operand ${tok}`);
    return `!${bits.reduce((a, b) => a | b, 0)}`;
  };
  return asm.split('\n').map((line) => {
    if (/^\s*OpCapability CooperativeMatrixKHR\s*$/.test(line)) return `OpNop\n!${(2 << 16) | 17} !6022`;
    const m = /^\s*(?:(%\S+)\s*=\s*)?(Op\w*CooperativeMatrix\w*KHR)\s*(.*)$/.exec(line);
    if (!m) return line;
    const op = opcodes[m[2]];
    if (op === undefined) throw new Error(`rawCoopMatrix: unknown instruction ${m[2]}`);
    const toks = m[3].trim().split(/\s+/).filter(Boolean).map(word);
    // OpType...: the result is the first word; the others: result type, then result
    const words = !m[1] ? toks : m[2].startsWith('OpType') ? [m[1], ...toks] : [toks[0], m[1], ...toks.slice(1)];
    return `OpNop\n!${((words.length + 1) << 16) | op} ${words.join(' ')}`;
  }).join('\n');
}

/** The SPIR-V binary (a Buffer) without its OpNop instructions (one word, 0x00010000). */
export function stripNops(bin) {
  const w = new Uint32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const out = [...w.subarray(0, 5)];
  for (let i = 5; i < w.length;) {
    const n = w[i] >>> 16;
    if (n === 0) throw new Error(`stripNops: a zero word count at word ${i}`);
    if (w[i] !== 0x00010000) out.push(...w.subarray(i, i + n));
    i += n;
  }
  return Buffer.from(new Uint32Array(out).buffer);
}

/** How many instructions of each KHR cooperative-matrix opcode (and the capability) a text or a binary module has. */
export function coopCounts(mod) {
  const names = ['OpTypeCooperativeMatrixKHR', 'OpCooperativeMatrixLoadKHR', 'OpCooperativeMatrixStoreKHR', 'OpCooperativeMatrixMulAddKHR', 'OpCooperativeMatrixLengthKHR'];
  const c = Object.fromEntries([...names, 'capability'].map((k) => [k, 0]));
  if (typeof mod === 'string') {
    for (const l of mod.split('\n')) {
      const m = /^\s*(?:%\S+\s*=\s*)?(Op\w+)/.exec(l);
      if (m && m[1] in c) c[m[1]]++;
      if (/^\s*OpCapability CooperativeMatrixKHR\s*$/.test(l)) c.capability++;
    }
    return c;
  }
  const w = new Uint32Array(mod.buffer.slice(mod.byteOffset, mod.byteOffset + mod.byteLength));
  for (let i = 5; i < w.length;) {
    const n = w[i] >>> 16;
    const op = w[i] & 0xffff;
    if (n === 0) throw new Error(`coopCounts: a zero word count at word ${i}`);
    if (op >= 4456 && op <= 4460) c[names[op - 4456]]++;
    if (op === 17 && w[i + 1] === 6022) c.capability++;
    i += n;
  }
  return c;
}

/** spirv-as on the raw-word text, OpNops stripped, checked against the text's counts; throws on a mismatch. */
export function assembleRaw(asm, rawFile, spvFile, spirvAs = process.env.SPIRV_AS ?? 'spirv-as') {
  writeFileSync(rawFile, rawCoopMatrix(asm));
  execFileSync(spirvAs, ['--target-env', 'vulkan1.3', '-o', spvFile, rawFile]);
  const bin = stripNops(readFileSync(spvFile));
  writeFileSync(spvFile, bin);
  const want = JSON.stringify(coopCounts(asm));
  const got = JSON.stringify(coopCounts(bin));
  if (want !== got) throw new Error(`assembleRaw: the binary's cooperative-matrix instructions ${got} differ from the text's ${want}`);
  return coopCounts(bin);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [inFile, outFile] = process.argv.slice(2);
  const counts = assembleRaw(readFileSync(inFile, 'utf8'), `${outFile}.raw.spvasm`, outFile);
  console.log(`${outFile}: ${JSON.stringify(counts)}`);
}
