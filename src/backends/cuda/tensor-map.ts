// Tensor maps for the Hopper bulk tensor copy engine (TMA): `cuTensorMapEncodeTiled` through koffi, and kernel
// argument blocks that carry maps after the packed params struct.
//
// A kernel that copies with `cp.async.bulk.tensor` takes its map as a `const __grid_constant__ CUtensorMap`
// parameter after `MlaParams`; cuLaunchKernel copies each parameter's bytes from the pointer in `argv`, so a map
// is encoded once into native memory (64-byte aligned, as cuda.h declares CUtensorMap) and re-encoded only when
// the tensor it describes moves (`TensorMapSlot.set` skips an unchanged spec). A kernel with fewer parameters
// ignores the extra argv entries, so one block can serve a module's kernels with and without maps.
//
// Everything the driver would refuse is checked here first (`tiledMapArgs`), so a bad map is a typed
// invalid_argument naming the field, never a driver error or a fault on the device.
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import type { Driver } from './driver.js';

/** Bytes of one CUtensorMap (cuda.h: CU_TENSOR_MAP_NUM_QWORDS = 16). */
export const tensorMapBytes = 128;
const tensorMapAlign = 64;

/** Element types we copy (values of CUtensorMapDataType). */
export const tensorMapDtypes = { u8: 0, f16: 6, f32: 7, bf16: 9 } as const;
export type TensorMapDtype = keyof typeof tensorMapDtypes;
const elementBytes: Record<TensorMapDtype, number> = { u8: 1, f16: 2, f32: 4, bf16: 2 };

/** CUtensorMapSwizzle: the shared-memory layout the copy writes (128B = the canonical SW128 wgmma layout). */
export const tensorMapSwizzles = { none: 0, '32B': 1, '64B': 2, '128B': 3 } as const;
export type TensorMapSwizzle = keyof typeof tensorMapSwizzles;
const swizzleSpan: Record<TensorMapSwizzle, number> = { none: Infinity, '32B': 32, '64B': 64, '128B': 128 };

/** CUtensorMapL2promotion: the L2 sector promotion of the copy's reads. */
export const tensorMapL2Promotions = { none: 0, '64B': 1, '128B': 2, '256B': 3 } as const;
export type TensorMapL2Promotion = keyof typeof tensorMapL2Promotions;

/** A tiled map of a strided tensor, innermost dimension first (cuda.h's order). */
export interface TiledTensorMapSpec {
  readonly dtype: TensorMapDtype;
  /** Device address of element (0, 0, ...): 16-byte aligned. */
  readonly base: bigint;
  /** Extent of each dimension in elements, innermost first (rank 1..5). */
  readonly dims: readonly number[];
  /** Byte stride of dimensions 1..rank-1 (dimension 0 is contiguous): multiples of 16 below 2^40. */
  readonly strides: readonly number[];
  /** The box one copy moves, in elements, each 1..256; the innermost in bytes a multiple of 16. */
  readonly box: readonly number[];
  readonly swizzle: TensorMapSwizzle;
  readonly l2Promotion?: TensorMapL2Promotion;
}

/** The arguments cuTensorMapEncodeTiled takes for a spec, after every check the driver would make. */
export interface TiledTensorMapArgs {
  readonly dataType: number;
  readonly rank: number;
  readonly base: bigint;
  readonly globalDim: BigUint64Array;
  readonly globalStrides: BigUint64Array;
  readonly boxDim: Uint32Array;
  readonly elementStrides: Uint32Array;
  readonly interleave: 0;
  readonly swizzle: number;
  readonly l2Promotion: number;
  /** CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: elements outside the tensor read as zero. */
  readonly oobFill: 0;
}

function bad(field: string, expected: string, got: unknown): FlashMlaError {
  return invalidArgument(`tensorMap.${field}`, expected, String(got));
}

/** Check a spec as the driver would (cuda.h's documented limits) and build the encode call's arguments. */
export function tiledMapArgs(spec: TiledTensorMapSpec): TiledTensorMapArgs {
  const { dtype, base, dims, strides, box, swizzle } = spec;
  if (!(dtype in tensorMapDtypes)) throw bad('dtype', Object.keys(tensorMapDtypes).join(' | '), dtype);
  if (!(swizzle in tensorMapSwizzles)) throw bad('swizzle', Object.keys(tensorMapSwizzles).join(' | '), swizzle);
  const l2 = spec.l2Promotion ?? 'none';
  if (!(l2 in tensorMapL2Promotions)) throw bad('l2Promotion', Object.keys(tensorMapL2Promotions).join(' | '), l2);
  const rank = dims.length;
  if (rank < 1 || rank > 5) throw bad('dims', '1 to 5 dimensions', `${rank}`);
  if (strides.length !== rank - 1) throw bad('strides', `${rank - 1} byte strides (dimensions 1..${rank - 1})`, `${strides.length}`);
  if (box.length !== rank) throw bad('box', `${rank} extents`, `${box.length}`);
  if (typeof base !== 'bigint' || base <= 0n || base % 16n !== 0n) throw bad('base', 'a non-null device address aligned to 16 bytes', base);
  const eb = elementBytes[dtype];
  dims.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1 || d > 2 ** 32) throw bad(`dims[${i}]`, 'an integer in 1..2^32', d);
  });
  strides.forEach((s, i) => {
    if (!Number.isInteger(s) || s <= 0 || s % 16 !== 0 || s >= 2 ** 40) throw bad(`strides[${i}]`, 'a positive multiple of 16 below 2^40 bytes', s);
  });
  box.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 1 || b > 256) throw bad(`box[${i}]`, 'an integer in 1..256', b);
    if (b > dims[i]) throw bad(`box[${i}]`, `at most dims[${i}] = ${dims[i]}`, b);
  });
  const innerBytes = box[0] * eb;
  if (innerBytes % 16 !== 0) throw bad('box[0]', `a multiple of ${16 / eb} elements (16 bytes)`, box[0]);
  if (innerBytes > swizzleSpan[swizzle]) throw bad('box[0]', `at most ${swizzleSpan[swizzle] / eb} elements (${swizzle} swizzle span)`, box[0]);
  return {
    dataType: tensorMapDtypes[dtype],
    rank,
    base,
    globalDim: BigUint64Array.from(dims, (d) => BigInt(d)),
    globalStrides: BigUint64Array.from(strides.length ? strides : [0], (s) => BigInt(s)),
    boxDim: Uint32Array.from(box),
    elementStrides: new Uint32Array(rank).fill(1),
    interleave: 0,
    swizzle: tensorMapSwizzles[swizzle],
    l2Promotion: tensorMapL2Promotions[l2],
    oobFill: 0,
  };
}

function sameSpec(a: TiledTensorMapSpec, b: TiledTensorMapSpec): boolean {
  const eq = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.dtype === b.dtype && a.base === b.base && a.swizzle === b.swizzle && (a.l2Promotion ?? 'none') === (b.l2Promotion ?? 'none')
    && eq(a.dims, b.dims) && eq(a.strides, b.strides) && eq(a.box, b.box);
}

/** What a kernel argument block needs of the driver (Driver, or a recording fake in tests). */
export interface TensorMapDriver {
  readonly koffi: Pick<Driver['koffi'], 'alloc' | 'address' | 'encode' | 'view'>;
  /** cuTensorMapEncodeTiled, or undefined where the driver predates it (CUDA < 12). */
  readonly encodeTiled: Driver['encodeTiled'];
}

/** One map's 64-byte-aligned native slot in a `KernelArgs` block. */
export class TensorMapSlot {
  private spec?: TiledTensorMapSpec;
  constructor(private readonly drv: TensorMapDriver, readonly ptr: bigint) {}

  /** Encode `spec` into the slot unless it already holds exactly that map. */
  set(spec: TiledTensorMapSpec): void {
    if (this.spec && sameSpec(this.spec, spec)) return;
    const args = tiledMapArgs(spec);
    this.spec = undefined; // a failed encode leaves no stale map behind the cache check
    const encode = this.drv.encodeTiled;
    if (!encode) throw new FlashMlaError('backend_unavailable', 'cuda: this driver has no cuTensorMapEncodeTiled (CUDA 12 or newer is needed for TMA kernels)');
    encode(this.ptr, args);
    this.spec = spec;
  }
}

/**
 * A kernel's argument block: the packed params struct first (`view`), then `maps` tensor maps, each its own
 * kernel parameter; `argv` is the pointer array cuLaunchKernel takes.
 */
export interface KernelArgs {
  /** The native allocation (params, then the maps): free it with koffi.free, as `argv`. */
  readonly ptr: bigint;
  readonly view: DataView;
  readonly argv: bigint;
  readonly maps: readonly TensorMapSlot[];
}

/** Native memory for a params struct of `paramBytes` and `maps` tensor maps; it never moves (Driver.pinnedParams). */
export function kernelArgs(drv: TensorMapDriver, paramBytes: number, maps: number): KernelArgs {
  const k = drv.koffi;
  const mapBytes = maps * tensorMapBytes;
  const raw = k.alloc('uint8_t', paramBytes + mapBytes + tensorMapAlign) as unknown as bigint;
  const addr = BigInt(k.address(raw));
  const mapBase = (addr + BigInt(paramBytes) + BigInt(tensorMapAlign - 1)) & ~BigInt(tensorMapAlign - 1);
  const argv = k.alloc('void *', 1 + maps) as unknown as bigint;
  const ptrs = [addr, ...Array.from({ length: maps }, (_, i) => mapBase + BigInt(i * tensorMapBytes))];
  k.encode(argv, 'void *[' + ptrs.length + ']', ptrs);
  return {
    ptr: raw,
    view: new DataView(k.view(raw, paramBytes)),
    argv,
    maps: ptrs.slice(1).map((p) => new TensorMapSlot(drv, p)),
  };
}
