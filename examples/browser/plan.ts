// The split-KV plan as a picture: one row per SM part, its 64-key blocks coloured by sequence, the points where a
// sequence is cut between parts, and the combine that merges the pieces. Built from getMlaMetadata's output only
// (the same walk the kernels do, partWork), as an SVG string: pure, so Node tests can check it too.
import { Meta, blockSizeN, fixedOverheadNumBlocks, metadataFields, partWork, type WorkItem } from '../../src/index.js';

export interface PlanPart {
  part: number;
  /** The part's tileSchedulerMetadata fields 0..4. */
  fields: { beginIdx: number; beginSeqlen: number; endIdx: number; endSeqlen: number; beginNSplitIdx: number };
  items: (WorkItem & { blocks: number; piece: number })[];
  /** 64-key blocks plus one fixed overhead per piece: what the scheduler balances. */
  cost: number;
}

export interface PlanModel {
  parts: PlanPart[];
  b: number;
  /** Sequences computed in more than one piece, with their piece count (numSplits[i+1] − numSplits[i]). */
  split: { batch: number; pieces: number }[];
  /** Cuts: Σ (pieces − 1) over split sequences. */
  splitPoints: number;
  maxCost: number;
  meanCost: number;
  /** Longest part over the mean (1 = perfect balance). */
  balance: number;
}

export function planModel(meta: Int32Array, numSplits: Int32Array, seqlens: ArrayLike<number>): PlanModel {
  const numParts = meta.length / metadataFields;
  const parts: PlanPart[] = [];
  for (let p = 0; p < numParts; p++) {
    const m = p * metadataFields;
    const items = partWork(meta, numSplits, seqlens, p)
      .filter((w) => w.kEnd > w.kBegin || (seqlens[w.batch] === 0 && w.kBegin === 0))
      .map((w) => ({ ...w, blocks: Math.ceil(w.kEnd / blockSizeN) - Math.floor(w.kBegin / blockSizeN), piece: w.splitSlot - numSplits[w.batch] }));
    parts.push({
      part: p,
      fields: {
        beginIdx: meta[m + Meta.BeginIdx], beginSeqlen: meta[m + Meta.BeginSeqlen], endIdx: meta[m + Meta.EndIdx],
        endSeqlen: meta[m + Meta.EndSeqlen], beginNSplitIdx: meta[m + Meta.BeginNSplitIdx],
      },
      items,
      cost: items.reduce((a, w) => a + w.blocks + fixedOverheadNumBlocks, 0),
    });
  }
  const split: PlanModel['split'] = [];
  for (let i = 0; i < seqlens.length; i++) {
    const pieces = numSplits[i + 1] - numSplits[i];
    if (pieces > 1) split.push({ batch: i, pieces });
  }
  const maxCost = Math.max(0, ...parts.map((p) => p.cost));
  const meanCost = parts.reduce((a, p) => a + p.cost, 0) / Math.max(1, parts.length);
  return {
    parts, b: seqlens.length, split, splitPoints: split.reduce((a, s) => a + s.pieces - 1, 0),
    maxCost, meanCost, balance: meanCost > 0 ? maxCost / meanCost : 1,
  };
}

/** A colour per sequence: golden-angle hues, so neighbours differ. */
export function seqColour(i: number): string {
  return `hsl(${Math.round((i * 137.508) % 360)} 62% 52%)`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The plan as SVG markup. Each part is a <g class="part" data-part="p"> row; each piece a <rect class="piece">;
 * each cut a <line class="split-point">; each split sequence a <g class="combine"> whose links join its pieces.
 */
export function planSvg(model: PlanModel, seqlens: ArrayLike<number>, width = 800): string {
  const n = model.parts.length;
  const rowH = n <= 16 ? 22 : n <= 40 ? 12 : 8, gap = rowH >= 12 ? 3 : 2;
  const narrow = width < 560;
  const labelW = narrow ? 26 : 40, combineW = narrow ? 84 : 120, top = 18, barW = width - labelW - combineW - 8;
  const height = top + n * (rowH + gap) + 22;
  const scale = barW / Math.max(1, model.maxCost);
  const xOf = (c: number) => labelW + c * scale;
  const yOf = (p: number) => top + p * (rowH + gap);
  const out: string[] = [];
  out.push(`<svg class="plan" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="split-KV plan: ${n} SM parts, ${model.splitPoints} split points">`);
  // One white rule every 64-key block, when blocks are at least 3 units wide.
  if (scale >= 3) {
    out.push(`<defs><pattern id="blk" width="${scale}" height="${rowH}" patternUnits="userSpaceOnUse"><rect x="${scale - 0.6}" width="0.6" height="${rowH}" fill="#fff" fill-opacity="0.7"/></pattern></defs>`);
  }
  out.push(`<text x="${labelW}" y="12" class="axis">${narrow ? '64-key blocks (grey: fixed cost) →' : `64-key blocks (grey: the fixed cost of ${fixedOverheadNumBlocks} blocks per piece) →`}</text>`);
  out.push(`<text x="${labelW + barW + 14}" y="12" class="axis">combine</text>`);
  const mean = xOf(model.meanCost);
  const pieceEnds = new Map<number, { x: number; y: number }[]>();
  for (const part of model.parts) {
    const y = yOf(part.part);
    out.push(`<g class="part" data-part="${part.part}">`);
    out.push(`<rect class="row-bg" x="0" y="${y - gap / 2}" width="${labelW + barW}" height="${rowH + gap}" fill="transparent"/>`);
    out.push(`<text x="${labelW - 6}" y="${y + rowH / 2 + 4}" text-anchor="end" class="label">${part.part}</text>`);
    let c = 0;
    for (const w of part.items) {
      const x0 = xOf(c);
      out.push(`<rect class="overhead" x="${x0}" y="${y}" width="${fixedOverheadNumBlocks * scale}" height="${rowH}" fill="#c9ced6"/>`);
      c += fixedOverheadNumBlocks;
      const x1 = xOf(c), wpx = w.blocks * scale;
      const title = `seq ${w.batch}: keys ${w.kBegin}–${w.kEnd} of ${seqlens[w.batch]}${w.noSplit ? '' : ` (piece ${w.piece})`}`;
      out.push(`<rect class="piece" data-batch="${w.batch}" x="${x1}" y="${y}" width="${wpx}" height="${rowH}" fill="${seqColour(w.batch)}"><title>${esc(title)}</title></rect>`);
      if (scale >= 3 && wpx > 0) out.push(`<rect x="${x1}" y="${y}" width="${wpx}" height="${rowH}" fill="url(#blk)" pointer-events="none"/>`);
      if (rowH >= 12 && wpx > 26) {
        out.push(`<text x="${x1 + 3}" y="${y + rowH / 2 + 4}" class="seq" pointer-events="none">${w.batch}</text>`);
      }
      c += w.blocks;
      if (!w.noSplit) {
        const ends = pieceEnds.get(w.batch) ?? [];
        // Links leave from the row's right edge, so they never cross another piece.
        ends.push({ x: labelW + barW + 2, y: y + rowH / 2 });
        pieceEnds.set(w.batch, ends);
        // A cut: this piece stops before the sequence ends.
        if (w.kEnd < seqlens[w.batch]) {
          out.push(`<line class="split-point" data-batch="${w.batch}" x1="${xOf(c)}" x2="${xOf(c)}" y1="${y - 1}" y2="${y + rowH + 1}" stroke="#111" stroke-width="2.5"/>`);
        }
      }
    }
    out.push('</g>');
  }
  // The combine: every split sequence's pieces are merged by log-sum-exp weights into one row of out / lse.
  const cx = labelW + barW + (narrow ? 22 : 34);
  let lastLabel = -Infinity;
  for (const s of model.split) {
    const ends = pieceEnds.get(s.batch) ?? [];
    if (!ends.length) continue;
    const cy = ends.reduce((a, e) => a + e.y, 0) / ends.length;
    out.push(`<g class="combine" data-batch="${s.batch}" data-pieces="${s.pieces}">`);
    for (const e of ends) {
      out.push(`<path class="link" d="M${e.x} ${e.y} C ${cx - 20} ${e.y}, ${cx - 20} ${cy}, ${cx} ${cy}" fill="none" stroke="${seqColour(s.batch)}" stroke-width="1.4" stroke-opacity="0.85"/>`);
    }
    out.push(`<circle cx="${cx}" cy="${cy}" r="${Math.min(8, rowH / 2 + 2)}" fill="${seqColour(s.batch)}" stroke="#111" stroke-width="1"><title>seq ${s.batch}: ${s.pieces} pieces merged by the combine kernel</title></circle>`);
    // Labels only where they do not overlap the previous one (the circles' titles name every sequence).
    if (cy - lastLabel >= 12) { out.push(`<text x="${cx + 11}" y="${cy + 4}" class="label">seq ${s.batch} ×${s.pieces}</text>`); lastLabel = cy; }
    out.push('</g>');
  }
  out.push(`<line class="mean" x1="${mean}" x2="${mean}" y1="${top - 4}" y2="${yOf(n) + 2}" stroke="#333" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${mean}" y="${yOf(n) + 14}" text-anchor="middle" class="axis">mean</text>`);
  out.push('</svg>');
  return out.join('');
}
