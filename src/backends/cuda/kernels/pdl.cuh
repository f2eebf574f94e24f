// Programmatic dependent launch (PDL, sm_90+): a kernel launched with the programmatic-stream-serialization
// attribute (src/backends/cuda/pdl.ts) may start while the kernel before it on the stream is still running, so its
// launch and prologue overlap that kernel's tail. Such a kernel must call pdlWait() before it reads anything an
// earlier kernel may have written, and before it writes anything an earlier kernel may still read: griddepcontrol.wait
// returns once every prerequisite grid has completed and its memory operations are visible. pdlLaunchDependents()
// lets the next kernel (if it was launched with the attribute) be scheduled now instead of when this grid ends;
// it carries no memory guarantee, the dependent's own pdlWait does. Both are no-ops where the launch had no
// attribute, and compile to nothing below sm_90 (the library launches with the attribute on sm_90 only).
#pragma once

namespace mla {

__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

} // namespace mla
