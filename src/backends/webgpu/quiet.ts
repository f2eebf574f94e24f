// Dawn (in the `webgpu` package) prints its own warnings straight to file descriptor 2 from native code:
// "Couldn't load Vulkan: libvulkan.so.1 ..." with a build path on machines without Vulkan, and
// "max...PerPipelineLayout artificially reduced ..." on Mesa's lavapipe. They mean nothing to a user of this
// library, so while Dawn starts, fd 2 is pointed at a temporary file (dup/dup2 from libc through koffi); anything
// else written there meanwhile is passed on afterwards, and Dawn's own lines too when FLASHMLA_DAWN_LOG=1.
// Node-only. Where libc or koffi cannot be loaded (Windows, say), nothing is redirected.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Libc { dup(fd: number): number; dup2(from: number, to: number): number }
let libc: Libc | null | undefined;

async function loadLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux' && process.platform !== 'darwin') return libc;
  try {
    const koffi = (await import('koffi')).default;
    const lib = koffi.load(process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6');
    libc = { dup: lib.func('int dup(int)'), dup2: lib.func('int dup2(int, int)') };
  } catch { /* no redirection */ }
  return libc;
}

/** Lines of Dawn's own logging: "Warning: ...", "Error: ..." at the start of a line, or the Vulkan loader note. */
const dawnLine = /^(Warning|Error|Info): |Couldn't load Vulkan/;

/** Run `fn` with native writes to stderr held back; Dawn's lines are dropped unless `show` (or FLASHMLA_DAWN_LOG=1). */
export async function withDawnQuiet<T>(fn: () => Promise<T>, show = process.env.FLASHMLA_DAWN_LOG === '1'): Promise<T> {
  const c = show ? null : await loadLibc();
  if (!c) return fn();
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-dawn-'));
  const file = join(dir, 'stderr');
  const sink = openSync(file, 'w+');
  const saved = c.dup(2);
  if (saved < 0 || c.dup2(sink, 2) < 0) {
    if (saved >= 0) closeSync(saved);
    closeSync(sink);
    rmSync(dir, { recursive: true, force: true });
    return fn();
  }
  try {
    return await fn();
  } finally {
    c.dup2(saved, 2);
    closeSync(saved);
    closeSync(sink);
    const text = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const others = text.split('\n').filter((l) => l !== '' && !dawnLine.test(l));
    if (others.length) process.stderr.write(others.join('\n') + '\n');
  }
}
