// A small tensor descriptor: dtype, shape, contiguous row-major strides, and where the elements live.
// Host tensors hold a typed array; device tensors hold a backend handle (a CUDA device pointer, a GPUBuffer).
import { type DType, type HostArray, dtypeBytes, hostArrayFor } from './dtype.js';
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
    let n = 1;
    const strides = new Array<number>(shape.length);
    for (let i = shape.length - 1; i >= 0; i--) {
      if (!Number.isInteger(shape[i]) || shape[i] < 0) throw invalidArgument('shape', 'non-negative integers', fmtShape(shape));
      strides[i] = n;
      n *= shape[i];
    }
    this.strides = strides;
    this.numel = n;
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

/** A zero-filled host tensor. */
export function empty(dtype: DType, shape: readonly number[]): Tensor<HostArray> {
  return new Tensor(dtype, shape, hostArrayFor(dtype, shape.reduce((a, b) => a * b, 1)));
}

/** Wrap existing host elements. */
export function fromArray<A extends HostArray>(dtype: DType, shape: readonly number[], data: A): Tensor<A> {
  return new Tensor(dtype, shape, data);
}
