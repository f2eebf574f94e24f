// f32 GEMM for the layer's projections on the CPU: y[m, n] = x[m, k] · w[n, k]ᵀ (torch.nn.Linear's layout).
// Rows of x and of w are read contiguously; a 4 x 4 block of outputs keeps 16 accumulators live, so each loaded
// x and w value is used four times. Strides let a call read one head's columns of a wider matrix in place.

export interface GemmArgs {
  m: number;
  n: number;
  k: number;
  x: Float32Array;
  /** Element offset of x[0, 0] and the distance between rows (default k). */
  xOff?: number;
  xStride?: number;
  w: Float32Array;
  wOff?: number;
  /** Distance between rows of w (default k). */
  wStride?: number;
  y: Float32Array;
  yOff?: number;
  yStride?: number;
  /** Add to y instead of overwriting it. */
  accumulate?: boolean;
  /** Independent products (e.g. one per head), each offset by these strides from the previous one. */
  batch?: number;
  xBatchStride?: number;
  wBatchStride?: number;
  yBatchStride?: number;
}

export function gemm(a: GemmArgs): void {
  for (let b = 0; b < (a.batch ?? 1); b++) {
    gemmColumns(b === 0 ? a : {
      ...a, xOff: (a.xOff ?? 0) + b * (a.xBatchStride ?? 0), wOff: (a.wOff ?? 0) + b * (a.wBatchStride ?? 0), yOff: (a.yOff ?? 0) + b * (a.yBatchStride ?? 0),
    }, 0, a.n);
  }
}

/** Columns j0 .. j1 - 1 of y (j0 a multiple of 4 keeps the 4-wide blocks aligned): one worker's share. */
export function gemmColumns(a: GemmArgs, j0: number, j1: number): void {
  const { m, k, x, w, y } = a;
  const n = j1;
  const xOff = a.xOff ?? 0, xs = a.xStride ?? k, wOff = a.wOff ?? 0, ws = a.wStride ?? k, yOff = a.yOff ?? 0, ys = a.yStride ?? a.n;
  const acc = a.accumulate === true;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const x0 = xOff + i * xs, x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
    let j = j0;
    for (; j + 4 <= n; j += 4) {
      const w0 = wOff + j * ws, w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < k; t++) {
        const a0 = x[x0 + t], a1 = x[x1 + t], a2 = x[x2 + t], a3 = x[x3 + t];
        const b0 = w[w0 + t], b1 = w[w1 + t], b2 = w[w2 + t], b3 = w[w3 + t];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
      }
      store4(y, yOff + i * ys + j, s00, s01, s02, s03, acc);
      store4(y, yOff + (i + 1) * ys + j, s10, s11, s12, s13, acc);
      store4(y, yOff + (i + 2) * ys + j, s20, s21, s22, s23, acc);
      store4(y, yOff + (i + 3) * ys + j, s30, s31, s32, s33, acc);
    }
    for (; j < n; j++) for (let r = 0; r < 4; r++) put(y, yOff + (i + r) * ys + j, dot(x, xOff + (i + r) * xs, w, wOff + j * ws, k), acc);
  }
  for (; i < m; i++) {
    const xr = xOff + i * xs;
    let j = j0;
    for (; j + 4 <= n; j += 4) {
      const w0 = wOff + j * ws, w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = 0; t < k; t++) {
        const a0 = x[xr + t];
        s0 += a0 * w[w0 + t]; s1 += a0 * w[w1 + t]; s2 += a0 * w[w2 + t]; s3 += a0 * w[w3 + t];
      }
      store4(y, yOff + i * ys + j, s0, s1, s2, s3, acc);
    }
    for (; j < n; j++) put(y, yOff + i * ys + j, dot(x, xr, w, wOff + j * ws, k), acc);
  }
}

function dot(x: Float32Array, xo: number, w: Float32Array, wo: number, k: number): number {
  let s = 0;
  for (let t = 0; t < k; t++) s += x[xo + t] * w[wo + t];
  return s;
}
function put(y: Float32Array, o: number, v: number, acc: boolean): void { y[o] = acc ? y[o] + v : v; }
function store4(y: Float32Array, o: number, a: number, b: number, c: number, d: number, acc: boolean): void {
  if (acc) { y[o] += a; y[o + 1] += b; y[o + 2] += c; y[o + 3] += d; } else { y[o] = a; y[o + 1] = b; y[o + 2] = c; y[o + 3] = d; }
}
