// Runs the flashmla command as a user does (node bin/flashmla.mjs ...) on the TypeScript sources
// (FLASHMLA_CLI_SOURCE=1), so a stale dist/ is never what a test checks; scripts/check-package.mjs runs the built one.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function flashmlaCli(args: string[], cwd = root): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/flashmla.mjs'), ...args], {
    cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FLASHMLA_DEBUG: '', FLASHMLA_CLI_SOURCE: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
