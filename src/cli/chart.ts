// A self-contained SVG chart of a bench result: per config, GB/s (top panel) and TFLOPS (bottom panel), ours
// beside FlashMLA's when the result has them. Hand-written SVG: no dependencies, opens in any browser.
import type { BenchResult, BenchRow } from './harness.js';
import { describe } from './harness.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : String(Number(x.toPrecision(3)));
}

/** A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above x. */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return ([1, 2, 5, 10].find((m) => m * p >= x) ?? 10) * p;
}

export function renderChart(r: BenchResult): string {
  const rows = r.rows;
  const withF = rows.some((x) => x.flashmla_ms !== undefined);
  const series: { name: string; color: string; get: (x: BenchRow, m: 'GBps' | 'TFLOPS') => number | undefined }[] = [
    { name: `flashmla-ts (${r.backend})`, color: '#2563eb', get: (x, m) => x[m] },
  ];
  if (withF) series.push({ name: 'FlashMLA', color: '#f97316', get: (x, m) => (m === 'GBps' ? x.flashmla_GBps : x.flashmla_TFLOPS) });
  const bar = 14, gap = 10, left = 70, right = 20, top = 80, panelH = 200, labelH = 150;
  const width = Math.max(720, left + right + rows.length * (series.length * bar + gap));
  // Groups share the plot's width; bars sit in the middle of their group.
  const groupW = (width - left - right) / Math.max(1, rows.length);
  const pad = (groupW - series.length * bar) / 2;
  const height = top + 2 * panelH + 40 + labelH;
  const out: string[] = [];
  const svgW = width + 110; // room for the last config's slanted label
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${svgW}" height="${height}" viewBox="0 0 ${svgW} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">MLA decode: ${esc(r.backend)} on ${esc(r.card)}</text>`);
  out.push(`<text x="${left}" y="36" fill="#555">${esc(`${r.date} · commit ${r.commit.slice(0, 12)} · median of ${r.reps} reps`)}${r.flashmla_card ? esc(` · FlashMLA on ${r.flashmla_card}`) : ''}</text>`);
  series.forEach((s, i) => {
    const x = left + i * 220, y = 46;
    out.push(`<rect x="${x}" y="${y}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${y + 9}">${esc(s.name)}</text>`);
  });
  (['GBps', 'TFLOPS'] as const).forEach((m, pi) => {
    const y0 = top + pi * (panelH + 20), h = panelH - 20;
    const max = niceMax(Math.max(0, ...rows.flatMap((x) => series.map((s) => s.get(x, m) ?? 0))));
    out.push(`<text x="10" y="${y0 + h / 2}" transform="rotate(-90 10 ${y0 + h / 2})" text-anchor="middle">${m === 'GBps' ? 'GB/s' : 'TFLOPS'}</text>`);
    for (let t = 0; t <= 4; t++) {
      const y = y0 + h - (t / 4) * h;
      out.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 4}" y="${y + 4}" text-anchor="end" fill="#555">${num((max * t) / 4)}</text>`);
    }
    rows.forEach((x, ri) => {
      series.forEach((s, si) => {
        const v = s.get(x, m);
        if (v === undefined) return;
        const bh = (Math.max(0, v) / max) * h;
        const bx = left + pad + ri * groupW + si * bar;
        out.push(`<rect x="${bx}" y="${y0 + h - bh}" width="${bar - 2}" height="${bh}" fill="${s.color}"><title>${esc(`${describe(x)}: ${s.name} ${num(v)} ${m === 'GBps' ? 'GB/s' : 'TFLOPS'}`)}</title></rect>`);
      });
      if (pi === 0 && x.ratio_vs_flashmla !== undefined) {
        out.push(`<text x="${left + (ri + 0.5) * groupW}" y="${y0 - 4}" text-anchor="middle" font-size="9" fill="#333">${x.ratio_vs_flashmla.toFixed(2)}x</text>`);
      }
    });
  });
  const ly = top + 2 * panelH + 30;
  rows.forEach((x, ri) => {
    const lx = left + (ri + 0.5) * groupW;
    out.push(`<text x="${lx}" y="${ly}" transform="rotate(60 ${lx} ${ly})" font-size="10">${esc(describe(x))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
