// Loops Tint can prove finite (session 18 probe, docs/notes/webgpu-tensor-core.md, "Session 18, round 2"). With
// robustness on, Dawn's compiler gives every loop it cannot prove finite a 64-bit iteration counter (a vec2<u32>
// decremented with a carry, tested for zero at the top of the body): an extra exit that the driver's compiler cannot
// count, so such a loop is not unrolled and a load in it waits for the previous iteration. It proves a loop finite
// only when its counter starts anywhere, steps by exactly 1 and the first test of the body compares it with a
// constant (measured on Dawn 0.6.2: a `let`, a uniform or a function parameter as the bound keeps the counter).
// finiteLoopsWgsl rewrites a kernel's loops with a runtime bound or a step other than 1 into that form, the same
// iterations in the same order:
//   for (var x = a; x <= b; x++) {          ->  for (var x = a; x < 2147483647; x++) { if (x > b) { break; }
//   for (var x = a; x < b; x++) {           ->  for (var x = a; x < 2147483647; x++) { if (x >= b) { break; }
//   for (var x = a; x < b; x += s) {        ->  for (var x_n = 0; x_n < 2147483647; x_n++) { let x = a + x_n * s;
//                                                 if (x >= b) { break; }
// (the first two only with a bound that is not a literal; the third only where the body never assigns x; loops whose
// variable is named in `keep` stay as they are). The
// constant is i32's largest value, which suits both integer types (every rewritten loop exits through its break
// first: its runtime bound is below it), or ceil(b / s) for a u32 loop to a literal b by a literal s (x starts at 0 or
// above).

const head = /for \(var (\w+) = ([^;]+); \1 (<=|<) ([^;]+); \1(\+\+| \+= ([^)]+))\) \{/g;
const literal = /^\d+u?$/;

export function finiteLoopsWgsl(src: string, keep: readonly string[] = []): string {
  const rest = src.replace(head, '');
  return src.replace(head, (all, x: string, a: string, op: string, b: string, inc: string, step: string | undefined) => {
    if (keep.includes(x)) return all;
    if (!step) {
      if (literal.test(b.trim())) return all;
      return `for (var ${x} = ${a}; ${x} < 2147483647; ${x}++) { if (${x} ${op === '<=' ? '>' : '>='} ${b}) { break; }`;
    }
    if (op !== '<') return all;
    if (new RegExp(`(?<!(?:let|var) )\\b${x} (?:[-+*/]?=)(?!=)`).test(rest)) {
      throw new Error(`finiteLoopsWgsl: ${x} is assigned in its loop`);
    }
    const zero = /u$/.test(step.trim()) ? '0u' : '0';
    // a u32 loop from a lane index to a literal by a literal step: at most ceil(b / s) iterations
    const n = zero === '0u' && literal.test(b.trim()) && literal.test(step.trim()) ? Math.ceil(parseInt(b, 10) / parseInt(step, 10)) : 2147483647;
    return `for (var ${x}_n = ${zero}; ${x}_n < ${n}; ${x}_n++) { let ${x} = ${a} + ${x}_n * ${step.trim()}; if (${x} >= ${b}) { break; }`;
  });
}
