// A small safetensors reader: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then raw little-endian tensor bytes.
// Reads BF16, F16 and F32 (widened to Float32Array). Browser-safe: takes the file's bytes.
import { bf16ToF32, f16ToF32 } from '../dtype.js';
import { invalidArgument } from '../errors.js';

/** A JSON excerpt for a message (a header can be megabytes). */
function clip(s: string | undefined): string {
  return s === undefined ? 'undefined' : s.length > 120 ? `${s.slice(0, 120)}...` : s;
}

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export class SafetensorsFile {
  readonly entries = new Map<string, SafetensorsEntry>();
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  constructor(private readonly bytes: Uint8Array, private readonly label = 'safetensors') {
    if (bytes.length < 8) throw invalidArgument(label, 'at least 8 bytes (the header length)', `${bytes.length} bytes`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(dv.getBigUint64(0, true));
    if (n > bytes.length - 8) throw invalidArgument(label, `a header of at most ${bytes.length - 8} bytes`, `${n} bytes`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    } catch (e) {
      throw invalidArgument(label, 'a JSON header', `unparsable JSON (${(e as Error).message})`);
    }
    const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    if (!isObject(header)) throw invalidArgument(label, 'a JSON object as the header', clip(JSON.stringify(header)));
    this.dataStart = 8 + n;
    const dataLen = bytes.length - this.dataStart;
    const meta = header.__metadata__ ?? {};
    if (!isObject(meta) || Object.values(meta).some((v) => typeof v !== 'string')) {
      throw invalidArgument(`${label}: __metadata__`, 'an object of strings', clip(JSON.stringify(meta)));
    }
    this.metadata = meta as Record<string, string>;
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const e = (isObject(raw) ? raw : {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const shape = e.shape, off = e.data_offsets;
      if (typeof e.dtype !== 'string' || !Array.isArray(shape) || !Array.isArray(off) || off.length !== 2) {
        throw invalidArgument(`${label}: ${name}`, '{dtype, shape, data_offsets: [begin, end]}', clip(JSON.stringify(raw)));
      }
      if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw invalidArgument(`${label}: ${name}.shape`, 'non-negative integers', clip(JSON.stringify(shape)));
      }
      const [begin, end] = off as number[];
      if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && begin <= end && end <= dataLen)) {
        throw invalidArgument(`${label}: ${name}.data_offsets`, `a range inside 0..${dataLen}`, JSON.stringify(off));
      }
      this.entries.set(name, { dtype: e.dtype, shape: shape as number[], begin, end });
    }
  }

  has(name: string): boolean { return this.entries.has(name); }

  /** A tensor widened to f32, checked against the expected shape when given. */
  f32(name: string, expectedShape?: readonly number[]): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw invalidArgument(`${this.label}: ${name}`, 'a tensor of that name', `names ${[...this.entries.keys()].slice(0, 8).join(', ')}${this.entries.size > 8 ? ', ...' : ''}`);
    if (expectedShape && (e.shape.length !== expectedShape.length || e.shape.some((d, i) => d !== expectedShape[i]))) {
      throw invalidArgument(`${this.label}: ${name}`, `shape [${expectedShape.join(', ')}]`, `[${e.shape.join(', ')}]`);
    }
    const count = e.shape.reduce((a, b) => a * b, 1);
    const size = { BF16: 2, F16: 2, F32: 4 }[e.dtype];
    if (!size) throw invalidArgument(`${this.label}: ${name}.dtype`, 'BF16, F16 or F32', e.dtype);
    if (e.end - e.begin !== count * size) throw invalidArgument(`${this.label}: ${name}`, `${count * size} bytes for its shape`, `${e.end - e.begin}`);
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.dataStart + e.begin, e.end - e.begin);
    const out = new Float32Array(count);
    if (e.dtype === 'F32') for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
    else {
      const f = e.dtype === 'BF16' ? bf16ToF32 : f16ToF32;
      for (let i = 0; i < count; i++) out[i] = f(dv.getUint16(2 * i, true));
    }
    return out;
  }
}

/** Write tensors as a safetensors file (F32, or BF16/F16 given raw bits); for tests and small exports. */
export function writeSafetensors(tensors: Record<string, { dtype: 'F32' | 'BF16' | 'F16'; shape: number[]; data: Float32Array | Uint16Array }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // keep the data 8-byte aligned, as the format recommends
  const hdr = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hdr.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hdr.length), true);
  out.set(hdr, 8);
  let p = 8 + hdr.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p); // little-endian hosts
    p += t.data.byteLength;
  }
  return out;
}
