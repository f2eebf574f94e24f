// scripts/device-preflight.sh: the bytes a device call would carry (tracked + untracked-not-ignored + carried) against the
// tool's 64 MiB, and the packed runtime's parts, checked in a scratch repository (sizes from sparse files: no disk used).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const MiB = 1024 * 1024;
const hasGit = spawnSync('git', ['--version']).status === 0;

function scratch(): { dir: string; run: (...args: string[]) => { status: number | null; out: string } } {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-preflight-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(root, 'scripts/device-preflight.sh'), join(dir, 'scripts/device-preflight.sh'));
  const git = (...a: string[]) => assert.equal(spawnSync('git', a, { cwd: dir }).status, 0, `git ${a.join(' ')}`);
  git('init', '-q');
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n');
  mkdirSync(join(dir, 'results'));
  const sized = (p: string, n: number) => { writeFileSync(join(dir, p), ''); truncateSync(join(dir, p), n); };
  sized('results/old.json', 30 * MiB);
  sized('src.ts', 10 * MiB);
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x');
  mkdirSync(join(dir, '.ghc/node_modules/koffi'), { recursive: true });
  writeFileSync(join(dir, '.ghc/enter.sh'), '# packed\n');
  sized('.ghc/node.xz', 20 * MiB); // untracked, not ignored: travels
  sized('.ghc/node_modules/koffi/koffi.node', 8 * MiB); // ignored: travels only when carried
  const run = (...args: string[]) => {
    const r = spawnSync('bash', [join(dir, 'scripts/device-preflight.sh'), ...args], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  return { dir, run };
}

test('the tree, the untracked files and the carried paths are summed against 64 MiB; results/ is named when it is the way out', { skip: hasGit ? undefined : 'no git here' }, () => {
  const { dir, run } = scratch();
  try {
    // 40 MiB tracked (30 of them results/) + 20 untracked + 8 carried = 68 MiB: over.
    const over = run('--carry', '.ghc/node_modules');
    assert.equal(over.status, 1, over.out);
    // (The sparse files' sizes exactly; the script, .gitignore and enter.sh add a few KiB.)
    const num = (out: string, re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
    const near = (got: number, want: number) => assert.ok(got >= want && got < want + 64 * 1024, `${got} vs ${want}`);
    near(num(over.out, /^travels\s+(\d+)$/m), 68 * MiB);
    near(num(over.out, /^travels with results\/ moved out\s+(\d+)$/m), 38 * MiB);
    near(num(over.out, /over the limit by (\d+) bytes/), 4 * MiB);
    assert.match(over.out, /mv results/);
    assert.match(over.out, /note: \.ghc\/node_modules\/webgpu missing/);
    // Not carried, the ignored 8 MiB stay behind: 60 MiB fits.
    const fits = run();
    assert.equal(fits.status, 0, fits.out);
    assert.match(fits.out, /preflight: ok/);
    // results/ moved out (as docs/gpu-host.md says): tracked but absent files do not travel.
    renameSync(join(dir, 'results'), join(dir, '..', `${dir.split('/').pop()}-results`));
    const moved = run('--carry', '.ghc/node_modules');
    assert.equal(moved.status, 0, moved.out);
    near(num(moved.out, /^travels\s+(\d+)$/m), 38 * MiB);
    rmSync(join(dir, '..', `${dir.split('/').pop()}-results`), { recursive: true, force: true });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a missing carried path, a missing file the call needs, or an incomplete packed runtime is not ready', { skip: hasGit ? undefined : 'no git here' }, () => {
  const { dir, run } = scratch();
  try {
    const missing = run('--carry', 'nowhere', '.devstage/pack.tar.xz');
    assert.equal(missing.status, 1, missing.out);
    assert.match(missing.out, /missing carried path: nowhere/);
    assert.match(missing.out, /missing: \.devstage\/pack\.tar\.xz/);
    rmSync(join(dir, '.ghc/node_modules/koffi'), { recursive: true });
    const noKoffi = run('--carry', '.ghc/node_modules');
    assert.equal(noKoffi.status, 1, noKoffi.out);
    assert.match(noKoffi.out, /\.ghc\/node_modules\/koffi missing: npm install, then \.\.\/shared\/tools\/gpu-host\/pack\.sh \.ghc/);
    rmSync(join(dir, '.ghc/enter.sh'));
    const noEnter = run();
    assert.equal(noEnter.status, 1, noEnter.out);
    assert.match(noEnter.out, /\.ghc\/enter\.sh missing/);
    assert.match(noEnter.out, /preflight: NOT ready/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
