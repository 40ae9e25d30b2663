#ifndef CKERNELS_PATHS_H
#define CKERNELS_PATHS_H
// The block functions every path implements. A block is up to MLK_ROW_BLOCK rows of activations
// already converted (see CKernels.h) and the output panels [p0, p1); y points at the block's first
// row. Sizes are checked by `mlk_linear` before any block runs.
#include "CKernels.h"

#pragma STDC FP_CONTRACT OFF

/// bf16 activations: `rows` rows of ceil(in / 2) dwords.
typedef void (*mlk_bf16_block)(const mlk_weight *w, const uint32_t *act, size_t rows, size_t p0, size_t p1,
                               const float *bias, float *y);
/// int8 activations: `rows` rows of ceil(in / 4) dwords, with each row's scale and zero point.
typedef void (*mlk_int8_block)(const mlk_weight *w, const uint32_t *act, const float *row_scale, const int32_t *row_zero,
                               size_t rows, size_t p0, size_t p1, const float *bias, float *y);

void mlk_bf16_block_portable(const mlk_weight *, const uint32_t *, size_t, size_t, size_t, const float *, float *);
void mlk_int8_block_portable(const mlk_weight *, const uint32_t *, const float *, const int32_t *, size_t, size_t, size_t,
                             const float *, float *);
#if defined(__x86_64__)
void mlk_bf16_block_avx2(const mlk_weight *, const uint32_t *, size_t, size_t, size_t, const float *, float *);
void mlk_int8_block_avx2(const mlk_weight *, const uint32_t *, const float *, const int32_t *, size_t, size_t, size_t,
                         const float *, float *);
void mlk_bf16_block_avx512(const mlk_weight *, const uint32_t *, size_t, size_t, size_t, const float *, float *);
void mlk_int8_block_avx512(const mlk_weight *, const uint32_t *, const float *, const int32_t *, size_t, size_t, size_t,
                           const float *, float *);
#endif

static inline size_t mlk_pairs(size_t in) { return (in + 1) / 2; }
static inline size_t mlk_quads(size_t in) { return (in + 3) / 4; }

/// bf16 bits of x, rounded to nearest even; NaN stays NaN (quiet), subnormals become signed zero.
/// Selects rather than branches, so the conversion loops vectorize.
static inline uint16_t mlk_bf16_bits(float x) {
    union { float f; uint32_t u; } v = { x };
    uint32_t bits = v.u, exponent = bits & 0x7f800000u;
    uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1)) >> 16;
    uint32_t special = (bits >> 16) | ((bits & 0x007fffffu) ? 0x40u : 0);
    uint32_t zero = (bits >> 16) & 0x8000u;
    return (uint16_t)(exponent == 0x7f800000u ? special : (exponent == 0 ? zero : rounded));
}

/// A float from bf16 bits (exact).
static inline float mlk_float_from_bf16(uint32_t bits) {
    union { uint32_t u; float f; } v = { bits << 16 };
    return v.f;
}

/// Writes one row of a tile, columns [col, col + cols): y = sums + bias, in this order on every path.
/// (Two loops: one with a test of `bias` inside becomes a masked load from NULL, which AMD CPUs run
/// by a slow microcode assist.)
static inline void mlk_store_row(float *y, const float *sums, const float *bias, size_t col, size_t cols) {
    if (bias) {
        for (size_t c = 0; c < cols; c++) y[col + c] = sums[c] + bias[col + c];
    } else {
        for (size_t c = 0; c < cols; c++) y[col + c] = sums[c];
    }
}

/// Writes one row of an int8 tile: y = float(sum − zero · Σw) · (scale_o · row scale) + bias.
static inline void mlk_store_int8_row(float *y, const int32_t *sums, const mlk_weight *w, float row_scale, int32_t row_zero,
                                      const float *bias, size_t col, size_t cols) {
    for (size_t c = 0; c < cols; c++)
        y[col + c] = (float)(sums[c] - row_zero * w->sums[col + c]) * (w->scales[col + c] * row_scale);
    if (bias)
        for (size_t c = 0; c < cols; c++) y[col + c] += bias[col + c];
}
#endif
