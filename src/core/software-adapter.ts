// Which adapters are software renderers (lavapipe, llvmpipe, SwiftShader): benchmarks pick smaller grids there and
// skip warming a clock the adapter does not have. Browser-safe.
import type { BackendInfo } from './problem.js';

export function isSoftwareAdapter(info: BackendInfo): boolean {
  const text = `${info.device} ${JSON.stringify(info.details ?? {})}`;
  return /lavapipe|llvmpipe|swiftshader|software|"(adapterType|type)":"cpu"/i.test(text);
}
