// A SparseMmaRunner host over a fake driver, for the fast tests of the runner's dispatch (no GPU): each fatbin is a
// module handle, each launch is recorded as `label:kernel` with its grid, block and shared memory, where `label` is
// the module's name in `labels` (e.g. { 'sparse_sm90.fatbin': 'sm90' }, the rest 'mma'), and its parameter block in paramsAt.
import type { SparseMmaHost } from '../../src/backends/cuda/sparse.js';

export interface FakeLaunch { name: string; grid: number[]; block: number; smem: number }

export function fakeSparseRunner(labels: Record<string, string>, maxSmem: number) {
  const modules = new Map<string, bigint>(['sparse_mma.fatbin', ...Object.keys(labels)].map((file, i) => [file, BigInt(i + 1)]));
  const labelOf = new Map<bigint, string>([...modules].map(([file, m]) => [m, labels[file] ?? 'mma']));
  const launches: FakeLaunch[] = [];
  /** The parameter block each launch was given (a copy taken at the launch, in launches' order). */
  const paramsAt: DataView[] = [];
  let view = new DataView(new ArrayBuffer(0));
  /** Host-to-device copies: destination and bytes. */
  const copies: { dst: bigint; bytes: Uint8Array }[] = [];
  /** Device memsets: destination, value and 32-bit words. */
  const memsets: { dst: bigint; value: number; words: number }[] = [];
  const names = new Map<bigint, string>();
  let nextFn = 100n, nextPtr = 1n << 20n;
  /** reuse.on: an allocation comes back at the last freed address (as CUDA's allocator may). */
  const reuse = { on: false, freed: [] as bigint[] };
  const drv = {
    pinnedParams: (bytes: number) => ({ ptr: 0n, view: (view = new DataView(new ArrayBuffer(bytes))), argv: 0n }),
    alloc: (bytes: number) => {
      const again = reuse.on ? reuse.freed.pop() : undefined;
      if (again !== undefined) return again;
      const p = nextPtr; nextPtr += BigInt(Math.ceil(bytes / 256) * 256); return p;
    },
    free: (p: bigint) => { reuse.freed.push(p); }, synchronize: () => {},
    copyHtoD: (dst: bigint, src: ArrayBufferView, bytes: number) => { copies.push({ dst, bytes: new Uint8Array(src.buffer, src.byteOffset, bytes).slice() }); },
    memsetD32: (dst: bigint, value: number, words: number) => { memsets.push({ dst, value, words }); },
    check: (rc: number, what: string) => { throw new Error(`${what}: ${rc}`); },
    api: {
      cuLaunchKernel: (f: bigint, gx: number, gy: number, gz: number, bx: number, _by: number, _bz: number, smem: number) => {
        launches.push({ name: names.get(f)!, grid: [gx, gy, gz], block: bx, smem });
        paramsAt.push(new DataView(view.buffer.slice(0)));
        return 0;
      },
    },
  };
  /** A host whose Hopper kernels are there (`hopper`) or not; `extra` adds fields such as denseFp8Sm90. */
  const host = (hopper: boolean, extra: Partial<SparseMmaHost> = {}): SparseMmaHost => ({
    drv: drv as never, stream: 0n, maxSmem, hopper,
    load: (file) => modules.get(file)!,
    fn: (m, name) => { const f = nextFn++; names.set(f, `${labelOf.get(m)}:${name}`); return f; },
    ptrOf: () => 4096n,
    ...extra,
  });
  return { launches, paramsAt, copies, memsets, host, reuse };
}
