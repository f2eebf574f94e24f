// The WebAssembly SIMD kernel's source: WAT text for the two products of a 64-key tile, generated here so the
// register blocks (4 rows x 2 keys for Q K^T, 2 rows x 16 columns for P V) are written once and unrolled.
// scripts/build-wasm.mjs assembles it (wabt) into module.ts; test/backends/cpu-paths.test.ts re-assembles and compares.
//
//   qk(q, k, s, rows, n)       s[r * 64 + t] = q_r . k_t            q [rows, 576] f32, k [64, 576] f32
//   pv(p, k, o, re, rows, n)   o_r = o_r * re[r] + sum_t p[r*64+t] k_t[0:512]      o [rows, 512] f32
//   bf16(src, dst, count)      dst[i] = f32 of bf16 src[i] (a 16-bit shift), count a multiple of 8
// Pointers are byte offsets into the exported memory. fma: f32x4.relaxed_madd (relaxed SIMD) instead of mul+add.
const DQK = 576, DV = 512, BN = 64;
const ROW = DQK * 4; // bytes per q / key row

function madd(fma, a, b, c) {
  return fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
}

function hsum(v) {
  return `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;
}

/** One RB x KB block of scores at (local $r, local $t). */
function qkBlock(fma, RB, KB) {
  const acc = (i, j) => `$a${i}${j}`;
  const lines = [];
  for (let i = 0; i < RB; i++) for (let j = 0; j < KB; j++) lines.push(`(local.set ${acc(i, j)} (v128.const i32x4 0 0 0 0))`);
  lines.push('(local.set $qp (i32.add (local.get $q) (i32.mul (local.get $r) (i32.const ' + ROW + '))))');
  lines.push('(local.set $kp (i32.add (local.get $k) (i32.mul (local.get $t) (i32.const ' + ROW + '))))');
  lines.push('(local.set $d (i32.const 0))');
  lines.push('(loop $ld');
  for (let j = 0; j < KB; j++) lines.push(`  (local.set $k${j} (v128.load offset=${j * ROW} (i32.add (local.get $kp) (local.get $d))))`);
  for (let i = 0; i < RB; i++) {
    lines.push(`  (local.set $qv (v128.load offset=${i * ROW} (i32.add (local.get $qp) (local.get $d))))`);
    for (let j = 0; j < KB; j++) lines.push(`  (local.set ${acc(i, j)} ${madd(fma, '(local.get $qv)', `(local.get $k${j})`, `(local.get ${acc(i, j)})`)})`);
  }
  lines.push(`  (br_if $ld (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 16))) (i32.const ${ROW}))))`);
  lines.push(`(local.set $sp (i32.add (local.get $s) (i32.shl (i32.add (i32.mul (local.get $r) (i32.const ${BN})) (local.get $t)) (i32.const 2))))`);
  for (let i = 0; i < RB; i++) for (let j = 0; j < KB; j++) lines.push(`(f32.store offset=${(i * BN + j) * 4} (local.get $sp) ${hsum(`(local.get ${acc(i, j)})`)})`);
  return lines.join('\n      ');
}

function qk(fma) {
  const accs = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) accs.push(`$a${i}${j}`);
  const rowsLoop = (RB) => `
    (block $rd${RB} (loop $rl${RB}
      (br_if $rd${RB} (i32.gt_s (i32.add (local.get $r) (i32.const ${RB})) (local.get $rows)))
      (local.set $t (i32.const 0))
      (block $td2 (loop $tl2
        (br_if $td2 (i32.gt_s (i32.add (local.get $t) (i32.const 2)) (local.get $n)))
      ${qkBlock(fma, RB, 2)}
        (local.set $t (i32.add (local.get $t) (i32.const 2)))
        (br $tl2)))
      (if (i32.lt_s (local.get $t) (local.get $n)) (then
      ${qkBlock(fma, RB, 1)}))
      (local.set $r (i32.add (local.get $r) (i32.const ${RB})))
      (br $rl${RB})))`;
  return `
  (func (export "qk") (param $q i32) (param $k i32) (param $s i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $t i32) (local $d i32) (local $qp i32) (local $kp i32) (local $sp i32)
    (local $qv v128) (local $k0 v128) (local $k1 v128) ${accs.map((a) => `(local ${a} v128)`).join(' ')}
    ${rowsLoop(4)}
    ${rowsLoop(1)})`;
}

/** RB rows x 16 columns of o at (local $r, local $c). */
function pvBlock(fma, RB) {
  const lines = [];
  for (let i = 0; i < RB; i++) {
    lines.push(`(local.set $op (i32.add (local.get $o) (i32.add (i32.mul (i32.add (local.get $r) (i32.const ${i})) (i32.const ${DV * 4})) (i32.shl (local.get $c) (i32.const 2)))))`);
    lines.push(`(local.set $sc (f32x4.splat (f32.load (i32.add (local.get $re) (i32.shl (i32.add (local.get $r) (i32.const ${i})) (i32.const 2))))))`);
    for (let j = 0; j < 4; j++) lines.push(`(local.set $a${i}${j} (f32x4.mul (v128.load offset=${j * 16} (local.get $op)) (local.get $sc)))`);
  }
  lines.push(`(local.set $vp (i32.add (local.get $k) (i32.shl (local.get $c) (i32.const 2))))`);
  lines.push(`(local.set $pp (i32.add (local.get $p) (i32.shl (i32.mul (local.get $r) (i32.const ${BN})) (i32.const 2))))`);
  lines.push('(local.set $t (i32.const 0))');
  lines.push('(block $pd (loop $pl');
  lines.push('  (br_if $pd (i32.ge_s (local.get $t) (local.get $n)))');
  for (let j = 0; j < 4; j++) lines.push(`  (local.set $v${j} (v128.load offset=${j * 16} (local.get $vp)))`);
  for (let i = 0; i < RB; i++) {
    lines.push(`  (local.set $sc (v128.load32_splat offset=${i * BN * 4} (local.get $pp)))`);
    for (let j = 0; j < 4; j++) lines.push(`  (local.set $a${i}${j} ${madd(fma, '(local.get $sc)', `(local.get $v${j})`, `(local.get $a${i}${j})`)})`);
  }
  lines.push(`  (local.set $vp (i32.add (local.get $vp) (i32.const ${ROW})))`);
  lines.push('  (local.set $pp (i32.add (local.get $pp) (i32.const 4)))');
  lines.push('  (local.set $t (i32.add (local.get $t) (i32.const 1)))');
  lines.push('  (br $pl)))');
  for (let i = 0; i < RB; i++) {
    lines.push(`(local.set $op (i32.add (local.get $o) (i32.add (i32.mul (i32.add (local.get $r) (i32.const ${i})) (i32.const ${DV * 4})) (i32.shl (local.get $c) (i32.const 2)))))`);
    for (let j = 0; j < 4; j++) lines.push(`(v128.store offset=${j * 16} (local.get $op) (local.get $a${i}${j}))`);
  }
  return lines.join('\n        ');
}

function pv(fma) {
  const accs = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) accs.push(`$a${i}${j}`);
  // Columns outermost: the 64 x 16 slice of V stays in L1 while every row block uses it.
  return `
  (func (export "pv") (param $p i32) (param $k i32) (param $o i32) (param $re i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $c i32) (local $t i32) (local $op i32) (local $vp i32) (local $pp i32)
    (local $sc v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) ${accs.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $c (i32.const 0))
    (loop $cl
      (local.set $r (i32.const 0))
      (block $rd2 (loop $rl2
        (br_if $rd2 (i32.gt_s (i32.add (local.get $r) (i32.const 2)) (local.get $rows)))
        ${pvBlock(fma, 2)}
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $rl2)))
      (if (i32.lt_s (local.get $r) (local.get $rows)) (then
        ${pvBlock(fma, 1)}))
      (br_if $cl (i32.lt_s (local.tee $c (i32.add (local.get $c) (i32.const 16))) (i32.const ${DV})))))`;
}

function bf16() {
  return `
  (func (export "bf16") (param $src i32) (param $dst i32) (param $count i32)
    (local $end i32) (local $h v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 1))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (local.set $h (v128.load (local.get $src)))
      (v128.store (local.get $dst) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $h)) (i32.const 16)))
      (v128.store offset=16 (local.get $dst) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $h)) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br $l))))`;
}

/** The module's WAT text; `fma` selects relaxed-SIMD multiply-add. */
export function decodeWat(fma) {
  return `(module
  (memory (export "memory") 4)
${qk(fma)}
${pv(fma)}
${bf16()})
`;
}
