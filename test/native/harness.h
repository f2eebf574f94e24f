// Shared by the C harnesses test/backends/cpu-neon-qemu.test.ts builds (neon-decode.c, sparse-cross.c): a seeded
// xorshift generator (the caller sets `rng`) and bf16 / f16 conversions (f32 rounded to nearest even; a NaN stays NaN).
#ifndef FLASHMLA_TEST_NATIVE_HARNESS_H
#define FLASHMLA_TEST_NATIVE_HARNESS_H
#include <stdint.h>
#include <string.h>

static uint64_t rng;
static uint32_t next_u32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
/** Uniform in [0, 1). */
static double uniform01(void) { return next_u32() / 4294967296.0; }

/** x rounded to f32, then to bf16 or f16 bits. */
static uint16_t to_half(double x, int f16) {
  if (f16) {
    const _Float16 h = (_Float16)(float)x;
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
  }
  const float f = (float)x;
  uint32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

static double from_half(uint16_t v, int f16) {
  if (f16) {
    _Float16 h;
    memcpy(&h, &v, 2);
    return (double)h;
  }
  const uint32_t b = (uint32_t)v << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}
#endif
