// A small tensor descriptor: dtype, shape, contiguous row-major strides, and where the elements live.
// Host tensors hold a typed array; device tensors hold a backend handle (a CUDA device pointer, a GPUBuffer).
import { type DType, type HostArray, checkDtypeName, dtypeBytes, hostArrayFor, hostArrayTypes } from './dtype.js';
import { fmtShape, invalidArgument } from './errors.js';

export type DeviceKind = 'cpu' | 'cuda' | 'webgpu';

/** Device memory owned by a backend. `byteOffset` lets a tensor view part of an allocation. */
export interface DeviceStorage {
  readonly device: Exclude<DeviceKind, 'cpu'>;
  readonly byteLength: number;
  /** CUDA: the device pointer (CUdeviceptr) of byte 0. */
  readonly ptr?: bigint;
  /** WebGPU: the buffer. */
  readonly buffer?: GPUBuffer;
  /** Backend-specific owner used by dispose(). */
  readonly owner?: unknown;
}

export class Tensor<S extends HostArray | DeviceStorage = HostArray | DeviceStorage> {
  readonly strides: readonly number[];
  readonly numel: number;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: S,
    /** Offset of element 0 into `data`, in elements. */
    readonly offset = 0,
  ) {
    checkDtypeName('dtype', dtype);
    const n = numelOf(shape);
    const strides = new Array<number>(shape.length);
    for (let i = shape.length - 1, s = 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
    this.strides = strides;
    this.numel = n;
    if (isHostArray(data) && !(data instanceof hostArrayTypes[dtype])) {
      // A Float32Array given as bf16 would be read as bit patterns: garbage, not an error, without this check.
      throw invalidArgument('data', `a ${hostArrayTypes[dtype].name} for dtype ${dtype}${dtype === 'bf16' || dtype === 'f16' ? ' (raw 16-bit patterns; encodeHalf converts floats)' : ''}`,
        Object.prototype.toString.call(data).slice(8, -1));
    }
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('offset', 'a non-negative integer', String(offset));
    const capacity = isHostArray(data) ? data.length : Math.floor(data.byteLength / dtypeBytes[dtype]);
    if (offset + n > capacity) {
      throw invalidArgument('data', `at least ${offset + n} elements for shape ${fmtShape(shape)}`, `${capacity}`);
    }
  }

  get device(): DeviceKind { return isHostArray(this.data) ? 'cpu' : (this.data as DeviceStorage).device; }
  get byteLength(): number { return this.numel * dtypeBytes[this.dtype]; }
  get byteOffset(): number { return this.offset * dtypeBytes[this.dtype]; }

  /** The host elements (throws for a device tensor). */
  host(): S extends HostArray ? S : HostArray {
    if (!isHostArray(this.data)) throw invalidArgument('tensor', 'a host tensor', `a ${this.device} tensor`);
    const a = this.data as HostArray;
    const view = this.offset === 0 && a.length === this.numel ? a : a.subarray(this.offset, this.offset + this.numel);
    return view as S extends HostArray ? S : HostArray;
  }

  /** Same elements, another shape of the same size. */
  reshape(shape: readonly number[]): Tensor<S> {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== this.numel) throw invalidArgument('shape', `${this.numel} elements`, `${fmtShape(shape)} (${n})`);
    return new Tensor(this.dtype, shape, this.data, this.offset);
  }
}

export type HostTensor<A extends HostArray = HostArray> = Tensor<A>;

export function isHostArray(x: unknown): x is HostArray {
  return ArrayBuffer.isView(x);
}

export function isHostTensor(t: Tensor): t is Tensor<HostArray> {
  return isHostArray(t.data);
}

/**
 * Elements of a shape: every dimension a non-negative integer and the product a safe integer (checked before
 * anything is allocated for it).
 */
export function numelOf(shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw invalidArgument('shape', 'an array of non-negative integers', String(shape));
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalidArgument('shape', 'non-negative integers', fmtShape(shape));
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw invalidArgument('shape', 'at most 2^53 - 1 elements', `${fmtShape(shape)} (${n})`);
  return n;
}

/** A zero-filled host tensor (FlashMlaError 'out_of_memory' when the host cannot allocate it). */
export function empty(dtype: DType, shape: readonly number[]): Tensor<HostArray> {
  return new Tensor(dtype, shape, hostArrayFor(dtype, numelOf(shape), `empty(${dtype}, ${fmtShape(shape)})`));
}

/**
 * Wrap existing host elements. The array's type must match the dtype: Uint16Array for bf16/f16 (bit patterns),
 * Float32Array for f32, Float64Array for f64, Int32Array for i32, Uint8Array for fp8_e4m3.
 */
export function fromArray<A extends HostArray>(dtype: DType, shape: readonly number[], data: A): Tensor<A> {
  return new Tensor(dtype, shape, data);
}
