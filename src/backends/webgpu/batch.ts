// A WebGPU call described before it is encoded (WebGpuBackend.batch): the host bytes it needs in place (its uniform
// blocks, host index tensors), the copies from device index tensors, and its passes. Outside a batch the host bytes go
// by queue.writeBuffer and the call is encoded and submitted at once, as before batches existed. Inside one, the host
// bytes are packed into an upload ring and copied to their destinations by the command encoder, just before the call's
// passes: every call then reads its own uniforms although all calls share one uniform buffer and one submission
// (a queue.writeBuffer lands before the whole submission, so the last call's bytes would win).
// A call is only ever recorded whole, after its checks: a call that throws leaves nothing half-encoded.
import type { Dispatch } from './program.js';

/** A timed repetition's two timestamps (WebGpuBackend.timeMs): query 2 * slot at the start, 2 * slot + 1 at the end. */
export interface TimingSlot { set: GPUQuerySet; slot: number; begun: boolean }

/** Host bytes (a whole number of 4-byte words) that must be at dst + dstOffset when the call's passes run. */
export interface Upload { dst: GPUBuffer; dstOffset: number; data: Uint8Array<ArrayBuffer> }

export interface Copy { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }

/** One dispatch of a pass: a pipeline, its bind group (group 0) and the workgroup counts. */
export interface PassDispatch { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; groups: Dispatch }

/** One compute pass; each dispatch is its own usage scope (a later one sees an earlier one's writes). */
export interface Pass { label: string; dispatches: readonly PassDispatch[] }

export interface CallWork {
  /** The command encoder's label when the call is submitted alone. */
  label: string;
  uploads: Upload[];
  copies: Copy[];
  passes: Pass[];
  /** The repetition it belongs to when timeMs times it; absent for untimed work (the layer ops). */
  timing?: TimingSlot;
}

/** A call as encoded: its copies (from the ring and from device tensors, in that order), passes and timing. */
export interface Encodable { copies: readonly Copy[]; passes: readonly Pass[]; timing?: TimingSlot }

/**
 * Encode calls in order. Timestamps: the first pass of a repetition writes its start (once: `begun`), and the last
 * pass of the last call of that repetition among these calls writes its end, so no query is written twice in one
 * command buffer. A single call gets the writes it always got: start on its first pass, end on its last.
 */
export function encodeCalls(enc: GPUCommandEncoder, calls: readonly Encodable[]): void {
  const lastOf = new Map<TimingSlot, number>();
  calls.forEach((c, i) => { if (c.timing) lastOf.set(c.timing, i); });
  calls.forEach((c, i) => {
    for (const k of c.copies) enc.copyBufferToBuffer(k.src, k.srcOffset, k.dst, k.dstOffset, k.size);
    const t = c.timing;
    c.passes.forEach((p, j) => {
      const begin = !!t && !t.begun && j === 0;
      const end = !!t && lastOf.get(t) === i && j === c.passes.length - 1;
      if (begin) t!.begun = true;
      const pass = enc.beginComputePass({
        label: p.label,
        timestampWrites: begin || end ? {
          querySet: t!.set, ...(begin ? { beginningOfPassWriteIndex: 2 * t!.slot } : {}), ...(end ? { endOfPassWriteIndex: 2 * t!.slot + 1 } : {}),
        } : undefined,
      });
      for (const d of p.dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.groups);
      }
      pass.end();
    });
  });
}

/** Offsets in the upload ring: 16-byte steps (copyBufferToBuffer needs 4). */
const ringAlign = 16;
const aligned = (n: number) => Math.ceil(n / ringAlign) * ringAlign;

/** Ring bytes the uploads of one call take. */
export function ringBytesOf(uploads: readonly Upload[]): number {
  let n = 0;
  for (const u of uploads) n += aligned(u.data.byteLength);
  return n;
}

/**
 * The batch's host bytes: packed into a host copy as calls are recorded, written to the GPU buffer by one
 * queue.writeBuffer when the batch is submitted (it lands before the submission, which is all its copies need), then
 * reused from offset 0 (a later writeBuffer lands after the earlier submission's copies). Fixed size: a batch whose
 * calls would overflow it is submitted in parts (WebGpuBackend.record).
 */
export class UploadRing {
  private readonly host: Uint8Array<ArrayBuffer>;
  private gpu?: GPUBuffer;
  used = 0;

  constructor(readonly capacity: number, private readonly make: (bytes: number) => GPUBuffer) {
    this.host = new Uint8Array(capacity);
  }

  fits(bytes: number): boolean { return this.used + bytes <= this.capacity; }

  /** Pack a call's uploads (fits() first); the copies that put them in place. */
  place(uploads: readonly Upload[]): Copy[] {
    this.gpu ??= this.make(this.capacity);
    const out: Copy[] = [];
    for (const u of uploads) {
      this.host.set(u.data, this.used);
      out.push({ src: this.gpu, srcOffset: this.used, dst: u.dst, dstOffset: u.dstOffset, size: u.data.byteLength });
      this.used += aligned(u.data.byteLength);
    }
    return out;
  }

  /** Queue the packed bytes (before the submission that copies them) and start again at 0. */
  write(queue: GPUQueue): void {
    if (this.used && this.gpu) queue.writeBuffer(this.gpu, 0, this.host.buffer, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.gpu?.destroy();
    this.gpu = undefined;
    this.used = 0;
  }
}
