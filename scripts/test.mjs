#!/usr/bin/env node
// The test runner behind `npm test` and `npm run test:long`: Node's test runner through tsx, one file at a time,
// with a closing summary that also counts suites which failed to load (test/support/summary-reporter.mjs).
//   node scripts/test.mjs            test/{unit,backends,browser,cli,tools}/*.test.ts   (npm test: a few minutes on
//                                    2 cores with lavapipe)
//   node scripts/test.mjs long       test/long/*.test.ts   (npm run test:long: the long sweeps; CI runs both)
//   node scripts/test.mjs FILE...    the named files
// The long suites read the full golden set (../shared/golden, or $FLASHMLA_GOLDEN) when it is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const suite = args[0] === 'long' ? 'long' : args.length ? 'files' : 'fast';
const list = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));
/**
 * The fast suite's folders, by what they test (test/gpu runs on the GPU host, test/long in `npm run test:long`).
 * test/ itself is listed too so a suite added there before it finds its group still runs.
 */
const fastGroups = ['test', 'test/unit', 'test/backends', 'test/browser', 'test/cli', 'test/tools'];
const files = suite === 'fast' ? fastGroups.flatMap(list) : suite === 'long' ? list('test/long') : args;
const env = { ...process.env };
if (suite === 'long' && !env.FLASHMLA_GOLDEN_SET && (env.FLASHMLA_GOLDEN || existsSync(join(root, '../shared/golden/metadata_cases.json')))) {
  env.FLASHMLA_GOLDEN_SET = 'full';
}
const r = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=1',
  '--test-reporter', process.stdout.isTTY ? 'spec' : 'tap', '--test-reporter-destination', 'stdout',
  '--test-reporter', './test/support/summary-reporter.mjs', '--test-reporter-destination', 'stdout',
  ...files,
], { cwd: root, env, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
