// A second reporter for Node's test runner (scripts/test.mjs adds it after the default one): it counts a suite or
// file that failed by itself (a throw while loading or while declaring its tests) as a failure, which the runner's
// own totals leave out, lists every failure and every distinct skip reason, and ends with one closing line.
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  const failures = [], skips = new Map(), todos = new Map();
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data, suite = d.details?.type === 'suite';
    const err = d.details?.error;
    if (d.todo !== undefined && !suite) {
      // A todo test records a known defect: listed, never counted as passed or failed.
      const what = `${d.name}: ${typeof d.todo === 'string' ? d.todo : 'todo'} (${ev.type === 'test:fail' ? 'still failing' : 'now passing'})`;
      todos.set(what, (todos.get(what) ?? 0) + 1);
      continue;
    }
    if (ev.type === 'test:fail') {
      // A suite that failed only because tests inside it failed is already counted through them.
      if (suite && err?.failureType === 'subtestsFailed') continue;
      failed++;
      const why = String(err?.cause?.message ?? err?.message ?? 'failed').split('\n')[0];
      failures.push(`${d.file ? `${d.file.replace(process.cwd() + '/', '')}: ` : ''}${d.name}: ${why}`);
    } else if (!suite || d.skip !== undefined) {
      // A skipped suite runs none of its tests: it counts once, with its reason.
      if (d.skip !== undefined) {
        skipped++;
        const reason = typeof d.skip === 'string' ? d.skip : 'skipped';
        skips.set(reason, (skips.get(reason) ?? 0) + 1);
      } else passed++;
    }
  }
  let text = '\n';
  for (const [reason, n] of skips) text += `skipped ${n}: ${reason}\n`;
  for (const [what] of todos) text += `todo: ${what}\n`;
  for (const f of failures) text += `FAILED ${f}\n`;
  text += `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
  yield text;
}
