// Checks that two dumps of generated WGSL (wgsl-snapshot.ts --dump DIR) differ by the names of identifiers only:
// each pair of files must tokenize to the same sequence once every identifier of the first is replaced by the
// identifier at the same place in the second, and that replacement must be one-to-one within the file.
//   node --import tsx scripts/webgpu-tools/wgsl-names-only.ts BEFORE_DIR AFTER_DIR
// Prints the renames found (old -> new, over all files) and exits 1 on any other difference.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [beforeDir, afterDir] = process.argv.slice(2);
const token = /[A-Za-z_][A-Za-z0-9_]*|\s+|./gs;
const isIdent = (t: string) => /^[A-Za-z_]/.test(t);
const renames = new Map<string, string>();
let bad = 0, same = 0, renamed = 0;
const after = new Set(readdirSync(afterDir));
for (const name of readdirSync(beforeDir).sort()) {
  if (!after.has(name)) { console.log(`${name}: missing after`); bad++; continue; }
  const a = readFileSync(join(beforeDir, name), 'utf8'), b = readFileSync(join(afterDir, name), 'utf8');
  if (a === b) { same++; continue; }
  const ta = a.match(token) ?? [], tb = b.match(token) ?? [];
  const fwd = new Map<string, string>(), back = new Map<string, string>();
  let why = ta.length === tb.length ? '' : `${ta.length} tokens before, ${tb.length} after`;
  for (let i = 0; !why && i < ta.length; i++) {
    const x = ta[i], y = tb[i];
    if (isIdent(x) && isIdent(y)) {
      if ((fwd.get(x) ?? y) !== y || (back.get(y) ?? x) !== x) why = `token ${i}: ${x} -> ${y} conflicts with ${x} -> ${fwd.get(x)} / ${back.get(y)} -> ${y}`;
      fwd.set(x, y); back.set(y, x);
    } else if (x !== y) why = `token ${i}: ${JSON.stringify(x)} became ${JSON.stringify(y)}`;
  }
  if (why) { console.log(`${name}: not a rename: ${why}`); bad++; continue; }
  renamed++;
  for (const [x, y] of fwd) if (x !== y) renames.set(x, y);
}
console.log(`${same} identical, ${renamed} differing by names only, ${bad} otherwise different`);
console.log([...renames].map(([x, y]) => `${x} -> ${y}`).join('\n'));
process.exitCode = bad ? 1 : 0;
