// scripts/webgpu-tools/spirv-raw.mjs: the matrix kernels' SPIR-V assembled by a SPIRV-Tools that does not know
// SPV_KHR_cooperative_matrix. Session 12's H200 calls assembled every matrix load and store into the variadic
// OpAccessChain before it (spirv-as reads `!word` tokens as its operands); the driver then got a malformed module.
// The module below puts loads and a store right after access chains, as Dawn's dump does; the binary must hold every
// instruction once, with its own word count. Skipped where spirv-as is not installed (Debian: spirv-tools).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs dev tool without type declarations
import { assembleRaw, coopCounts, rawCoopMatrix, stripNops } from '../../scripts/webgpu-tools/spirv-raw.mjs';

const spirvAs = process.env.SPIRV_AS ?? 'spirv-as';
let hasSpirvAs = true;
try { execFileSync(spirvAs, ['--version']); } catch { hasSpirvAs = false; }

const body = (n: number): string => Array.from({ length: n }, (_, i) => `
    %ac${i} = OpAccessChain %_ptr_Workgroup_half %buf %uint_${i % 2}
     %ld${i} = OpCooperativeMatrixLoadKHR %matA %ac${i} %uint_0 %uint_16 NonPrivatePointer
     %ss${i} = OpAccessChain %_ptr_Workgroup_float %sc %uint_${i % 2}
               OpCooperativeMatrixStoreKHR %ss${i} %acc${i} %uint_0 %uint_16 NonPrivatePointer
   %acc${i + 1} = OpCooperativeMatrixMulAddKHR %matC %ld${i} %ld${i} %acc${i}`).join('');

const module = (n: number): string => `; SPIR-V
; Version: 1.4
               OpCapability Shader
               OpCapability VulkanMemoryModel
               OpCapability Float16
               OpCapability CooperativeMatrixKHR
               OpExtension "SPV_KHR_vulkan_memory_model"
               OpExtension "SPV_KHR_cooperative_matrix"
               OpMemoryModel Logical Vulkan
               OpEntryPoint GLCompute %main "main" %buf %sc
               OpExecutionMode %main LocalSize 32 1 1
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
       %uint = OpTypeInt 32 0
       %half = OpTypeFloat 16
      %float = OpTypeFloat 32
     %uint_0 = OpConstant %uint 0
     %uint_1 = OpConstant %uint 1
     %uint_2 = OpConstant %uint 2
     %uint_3 = OpConstant %uint 3
    %uint_16 = OpConstant %uint 16
   %uint_512 = OpConstant %uint 512
       %matA = OpTypeCooperativeMatrixKHR %half %uint_3 %uint_16 %uint_16 %uint_0
       %matC = OpTypeCooperativeMatrixKHR %float %uint_3 %uint_16 %uint_16 %uint_2
     %arr_h = OpTypeArray %half %uint_512
     %arr_f = OpTypeArray %float %uint_512
%_ptr_Workgroup_arr_h = OpTypePointer Workgroup %arr_h
%_ptr_Workgroup_arr_f = OpTypePointer Workgroup %arr_f
%_ptr_Workgroup_half = OpTypePointer Workgroup %half
%_ptr_Workgroup_float = OpTypePointer Workgroup %float
        %buf = OpVariable %_ptr_Workgroup_arr_h Workgroup
         %sc = OpVariable %_ptr_Workgroup_arr_f Workgroup
       %acc0 = OpConstantNull %matC
       %main = OpFunction %void None %fn
      %entry = OpLabel${body(3)}
               OpReturn
               OpFunctionEnd
`;

describe('webgpu tools: cooperative-matrix SPIR-V as raw words', () => {
  test('counts the instructions of a text module', () => {
    const c = coopCounts(module(3));
    assert.deepEqual(c, { OpTypeCooperativeMatrixKHR: 2, OpCooperativeMatrixLoadKHR: 3, OpCooperativeMatrixStoreKHR: 3, OpCooperativeMatrixMulAddKHR: 3, OpCooperativeMatrixLengthKHR: 0, capability: 1 });
    assert.doesNotMatch(rawCoopMatrix(module(3)), /Op\w*CooperativeMatrix\w*KHR|CooperativeMatrixKHR$/m);
    assert.throws(() => rawCoopMatrix('%x = OpCooperativeMatrixLoadKHR %t %p %uint_0 %uint_16 Bogus\n'), /unknown operand Bogus/);
  });

  test('stripNops drops one-word OpNops only', () => {
    const words = new Uint32Array([0x07230203, 0x10400, 0, 9, 0, 0x00010000, (2 << 16) | 17, 1, 0x00010000, (2 << 16) | 17, 6022]);
    const out = new Uint32Array(stripNops(Buffer.from(words.buffer)).buffer.slice(0));
    assert.deepEqual([...out], [0x07230203, 0x10400, 0, 9, 0, (2 << 16) | 17, 1, (2 << 16) | 17, 6022]);
    assert.throws(() => stripNops(Buffer.from(new Uint32Array([0x07230203, 0x10400, 0, 9, 0, 0]).buffer)), /zero word count/);
  });

  test('every load, store and product reaches the binary (after variadic access chains)', { skip: !hasSpirvAs && 'spirv-as not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'spirv-raw-'));
    const text = module(3);
    const got = assembleRaw(text, join(dir, 'm.raw.spvasm'), join(dir, 'm.spv'), spirvAs);
    assert.deepEqual(got, coopCounts(text));
    const bin = readFileSync(join(dir, 'm.spv'));
    const w = new Uint32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    // every access chain keeps its 5 words (result type, result, base, one index), no OpNop is left
    const ops: [number, number][] = [];
    for (let i = 5; i < w.length; i += w[i] >>> 16) ops.push([w[i] & 0xffff, w[i] >>> 16]);
    assert.deepEqual(ops.filter(([op]) => op === 65).map(([, n]) => n), [5, 5, 5, 5, 5, 5]);
    assert.equal(ops.filter(([op]) => op === 0).length, 0);
    assert.deepEqual(ops.filter(([op]) => op >= 4457 && op <= 4459).map(([op, n]) => `${op}:${n}`),
      ['4457:7', '4458:6', '4459:6', '4457:7', '4458:6', '4459:6', '4457:7', '4458:6', '4459:6']);
  });

  test('without the OpNops spirv-as swallows the loads (the failure this guards)', { skip: !hasSpirvAs && 'spirv-as not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'spirv-raw-'));
    const raw = rawCoopMatrix(module(3)).replace(/^OpNop\n/gm, '');
    const file = join(dir, 'bad.raw.spvasm');
    execFileSync('sh', ['-c', `cat > ${file}`], { input: raw });
    execFileSync(spirvAs, ['--target-env', 'vulkan1.3', '-o', join(dir, 'bad.spv'), file]);
    const c = coopCounts(readFileSync(join(dir, 'bad.spv')));
    assert.ok(c.OpCooperativeMatrixLoadKHR < 3, `spirv-as kept the loads apart: ${JSON.stringify(c)} (the OpNops may no longer be needed)`);
  });
});
