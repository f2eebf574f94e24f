// The MLA attention layer around the decode kernel: config and RoPE/YaRN, weights (arrays or safetensors), the
// layer, its CPU GEMM and the float64 reference.
export * from './config.js';
export * from './safetensors.js';
export * from './weights.js';
export * from './gemm.js';
export * from './layer.js';
export * from './reference.js';
export type { DeviceGemm, LayerPrecision, MlaDeviceOps } from './device.js';
