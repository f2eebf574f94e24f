// flashmla-ts/webgpu: the WebGPU backend. Works in browsers and in Node (pass `gpu`, or use ./node.js there).
import { defaultNumSms } from '../../core/constants.js';
import { FlashMlaError } from '../../core/errors.js';
import type { Backend } from '../../core/problem.js';
import { WebGpuBackend, type WebGpuBackendOptions, checkWebGpuBackendOptions } from './backend.js';
import type { DeviceCaps } from './program.js';
import { pickSubgroupMatrix } from './kernels/path.js';

export { WebGpuBackend, WebGpuStorage, type WebGpuBackendOptions } from './backend.js';
export type { DeviceCaps, Program } from './program.js';
export { decodeProgram, chooseDecodeSpec } from './kernels/decode.js';
export { combineProgram } from './kernels/combine.js';
export { type DecodePath, chooseDecodePath } from './kernels/path.js';

export interface CreateWebGpuBackendOptions extends WebGpuBackendOptions {
  /**
   * An existing device. One this library requested (another backend's) is recognised; for a device of your own, pass
   * its `adapter` too: Dawn's `device.adapterInfo` lacks the subgroup-matrix configurations, and without them the
   * backend would not run the matrix kernel.
   */
  device?: GPUDevice;
  adapter?: GPUAdapter;
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Optional features not to request, e.g. to run the workgroup-memory or f32 paths on a device that has more. */
  disableFeatures?: readonly ('shader-f16' | 'subgroups' | 'timestamp-query' | 'chromium-experimental-subgroup-matrix')[];
}

const wanted = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix'] as const;
const wantedLimits = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
] as const;

/**
 * The adapter information of the devices this module requested. A backend made later on such a device alone
 * (`createWebGpuBackend({ device })`) reads it from here: Dawn's `device.adapterInfo` has no `subgroupMatrixConfigs` on
 * the H200 (session 45), so such a backend saw no subgroup matrices and ran another decode kernel than the first
 * backend of the device (session 43's "batched step" mismatch was this).
 */
const adapterInfoOf = new WeakMap<GPUDevice, GPUAdapterInfo>();

type InfoWithMatrices = GPUAdapterInfo & { subgroupMinSize?: number; subgroupMatrixConfigs?: unknown[] };

/** The adapter information a backend on `device` goes by: the adapter's, the one recorded for the device, else the device's. */
function adapterInfo(device: GPUDevice, adapter?: GPUAdapter): InfoWithMatrices | undefined {
  return (adapter?.info ?? adapterInfoOf.get(device) ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo) as InfoWithMatrices | undefined;
}

/** The device's abilities as code generation sees them. */
export function capsOf(device: GPUDevice, adapter?: GPUAdapter): DeviceCaps {
  const lim = device.limits;
  const info = adapterInfo(device, adapter);
  const matrix = device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName) && device.features.has('shader-f16') ? pickSubgroupMatrix(info?.subgroupMatrixConfigs) : undefined;
  const sgMin = info?.subgroupMinSize ?? (lim as unknown as { minSubgroupSize?: number }).minSubgroupSize ?? 4;
  return {
    f16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    ...(matrix ? { subgroupMatrixF16: matrix } : {}),
    ...(info?.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(describe(info)) ? { software: true } : {}),
    subgroupMinSize: sgMin,
    timestamps: device.features.has('timestamp-query'),
    maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
    maxBufferSize: lim.maxBufferSize,
    maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension,
    minStorageBufferOffsetAlignment: lim.minStorageBufferOffsetAlignment,
  };
}

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'WebGPU device';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length);
  return parts.length ? parts.join(' ') : 'WebGPU device';
}

/**
 * A WebGPU backend on `device`, or on a new device of `adapter` / `gpu` / navigator.gpu with the optional
 * features the kernels use (shader-f16, subgroups, timestamp-query) and the adapter's largest limits.
 */
export async function createWebGpuBackend(opts: CreateWebGpuBackendOptions = {}): Promise<Backend & WebGpuBackend> {
  checkWebGpuBackendOptions(opts);
  let device = opts.device;
  let adapter = opts.adapter;
  let ownsDevice = false;
  if (!device) {
    if (!adapter) {
      const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
      if (!gpu) throw new FlashMlaError('backend_unavailable', 'WebGPU: no navigator.gpu here (in Node, use createNodeWebGpuBackend from flashmla-ts/webgpu/node)');
      adapter = (await gpu.requestAdapter({ powerPreference: opts.powerPreference })) ?? undefined;
      if (!adapter) throw new FlashMlaError('backend_unavailable', 'webgpu: requestAdapter() found no adapter');
    }
    const requiredFeatures = wanted.filter((f) => adapter!.features.has(f) && !opts.disableFeatures?.includes(f)) as GPUFeatureName[];
    const requiredLimits: Record<string, number> = {};
    for (const k of wantedLimits) requiredLimits[k] = adapter.limits[k];
    device = await adapter.requestDevice({ label: 'flashmla', requiredFeatures, requiredLimits });
    adapterInfoOf.set(device, adapter.info);
    ownsDevice = true;
  }
  const caps = capsOf(device, adapter);
  const info = adapterInfo(device, adapter);
  let backend: WebGpuBackend;
  try {
    backend = new WebGpuBackend(device, caps, describe(info), { ...opts, ownsDevice: opts.ownsDevice ?? ownsDevice });
  } catch (e) {
    if (ownsDevice) device.destroy(); // a device made here for a backend that failed (a limit the device sets) is not left behind
    throw e;
  }
  if (opts.numSms === undefined) {
    // WebGPU hides the processor count; a CPU adapter wants few parts, a discrete GPU many.
    const cpuLike = info?.isFallbackAdapter || /llvmpipe|swiftshader|lavapipe/i.test(describe(info));
    (backend.info as { numSms: number }).numSms = cpuLike ? 8 : defaultNumSms;
  }
  if (info) (backend.info.details as Record<string, unknown>).adapter = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter };
  return backend;
}
