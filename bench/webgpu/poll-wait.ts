// What Dawn's polling costs a long wait (src/backends/webgpu/poll.ts): a b=4 s_k=8192 h_q=64 decode awaited with
// synchronize(), five calls a process, wall time and the process's CPU time a call; processes alternate between the
// spaced polling (the default) and Dawn's own (FLASHMLA_DAWN_POLL=spin). On lavapipe the decode itself runs on the
// CPU, so a spinning poll takes a core from it.
//   node --import tsx bench/webgpu/poll-wait.ts [--rounds 3] [--json out.json]
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

if (process.env.POLL_WAIT_CHILD) {
  const { createBackend } = await import('../../src/node.js');
  const { MlaDecoder } = await import('../../src/index.js');
  const { fromArray } = await import('../../src/core/tensor.js');
  const sK = 8192, hQ = 64, page = 64, pages = sK / page, b = 4;
  const be = await createBackend('webgpu');
  const k = be.upload(fromArray('bf16', [b * pages, page, 1, 576], Uint16Array.from({ length: b * pages * page * 576 }, (_, i) => 0x3c00 + (i % 251))));
  const q = be.upload(fromArray('bf16', [b, 1, hQ, 576], new Uint16Array(b * hQ * 576).fill(0x3c00)));
  const dec = new MlaDecoder(be, { hQ });
  dec.plan(new Int32Array(b).fill(sK), fromArray('i32', [b, pages], Int32Array.from({ length: b * pages }, (_, i) => i)));
  await dec.run(q, k);
  await be.synchronize();
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < 5; i++) { await dec.run(q, k); await be.synchronize(); }
  const t1 = performance.now(), c1 = process.cpuUsage(c0);
  console.log(JSON.stringify({ device: be.info.device, wall_ms: (t1 - t0) / 5, cpu_ms: (c1.user + c1.system) / 1000 / 5 }));
  be.dispose();
} else {
  const { values: v } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, json: { type: 'string' } } });
  const rows = [];
  for (let r = 0; r < Number(v.rounds); r++) {
    for (const poll of ['10', 'spin']) {
      const load = loadavg()[0];
      const c = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname], { env: { ...process.env, POLL_WAIT_CHILD: '1', FLASHMLA_DAWN_POLL: poll }, encoding: 'utf8' });
      const line = c.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`child failed: ${c.stderr}`);
      const row = { round: r, poll, load_before: load, ...JSON.parse(line) };
      rows.push(row);
      console.log(`round ${r} poll ${poll.padEnd(4)} wall ${row.wall_ms.toFixed(1)} ms  cpu ${row.cpu_ms.toFixed(1)} ms a call  (load ${load.toFixed(2)})`);
    }
  }
  if (v.json) writeFileSync(v.json, JSON.stringify({ what: 'bench/webgpu/poll-wait.ts', date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, rows }, null, 1) + '\n');
}
