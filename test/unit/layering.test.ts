// The layering the tree promises (docs/architecture.md): core imports no backend, no CLI and nothing Node-only;
// a backend never imports another backend; nothing in src imports the bench or test trees.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : /\.(ts|mjs)$/.test(n) ? [p] : [];
  });
}

/** [file, imported path relative to the repository] for every static or dynamic relative import. */
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(relative(root, resolve(dirname(file), m[1])));
  }
  return out;
}

test('src/core imports no backend, CLI or Node module', () => {
  for (const f of tsFiles(join(root, 'src/core'))) {
    const src = readFileSync(f, 'utf8');
    for (const i of imports(f)) assert.ok(i.startsWith('src/core/'), `${relative(root, f)} imports ${i}`);
    assert.doesNotMatch(src, /from ['"]node:/, `${relative(root, f)} imports a Node module`);
  }
});

test('a backend imports no other backend and no CLI', () => {
  const kinds = readdirSync(join(root, 'src/backends'));
  assert.ok(kinds.length >= 3);
  for (const kind of kinds) {
    for (const f of tsFiles(join(root, 'src/backends', kind))) {
      for (const i of imports(f)) {
        const ok = i.startsWith(`src/backends/${kind}/`) || i.startsWith('src/core/');
        assert.ok(ok, `${relative(root, f)} imports ${i}`);
      }
    }
  }
});

test('src imports nothing from bench/ or test/', () => {
  for (const f of tsFiles(join(root, 'src'))) {
    for (const i of imports(f)) assert.ok(i.startsWith('src/'), `${relative(root, f)} imports ${i}`);
  }
});
