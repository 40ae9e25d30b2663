#ifndef CKERNELS_H
#define CKERNELS_H
// Low-precision matrix products (bf16 and int8) with one entry point and a code path chosen at run
// time from the CPU's features. The target is compiled for baseline x86-64 (or any other CPU); the
// AVX2 and AVX-512 functions carry their own `target` attributes and run only when cpuid says so.
//
// The product: y[rows × out] = x[rows × in] · Wᵀ + bias, W stored [out × in] as PyTorch stores it.
// x and y are row-major and dense (x's rows are `in` floats apart, y's `out`).
//
// Packed layouts (one allocation of `mlk_packed_bytes`, 64-byte aligned by the caller). Output
// features are grouped in panels of MLK_PANEL = 16 (the last panel padded with zero weights); a
// panel is stored whole before the next.
//  - bf16: a panel is ceil(in / 2) steps of 16 dwords; dword c of step p holds output (16·panel + c)'s
//    weights for inputs 2p (low half) and 2p + 1 (high half) as bf16: the operand `vdpbf16ps` wants.
//    An odd last input is paired with a zero. Panel bytes: ceil(in / 2) · 64.
//  - int8: a panel is ceil(in / 4) steps of 16 dwords; dword c of step q holds output (16·panel + c)'s
//    weights for inputs 4q … 4q + 3 as signed bytes (byte j = input 4q + j), the operand of
//    `vpdpbusd`; missing inputs are zero. Panel bytes: ceil(in / 4) · 64. Each output o has a scale
//    scales[o] = max|W[o]| / 127 (weights are round(W / scale), in -127 … 127) and sums[o], the sum of
//    its int8 weights, which removes the activations' zero point. `scales` and `sums` hold
//    panels · 16 entries (padding zero).
// Activations are converted per call, per block of up to MLK_ROW_BLOCK rows, into the caller's
// scratch: bf16 (round to nearest even) pairs, or per row u8 with a scale and zero point
// (x ≈ scale · (q − zero); the range always includes 0).
//
// Limits: 1 ≤ in ≤ MLK_MAX_IN (so an int8 dot product, at most 255 · 127 · in, fits int32) and
// 1 ≤ out ≤ MLK_MAX_OUT. Every function checks the sizes it is given and returns an error code
// instead of reading or writing outside them.

#include <stddef.h>
#include <stdint.h>

#define MLK_PANEL 16
#define MLK_ROW_BLOCK 96
#define MLK_MAX_IN 65536
#define MLK_MAX_OUT (1 << 20)

enum { MLK_BF16 = 1, MLK_INT8 = 2 };
/// Code paths, lesser first; a request above what the CPU has runs the best it has.
enum { MLK_PORTABLE = 0, MLK_AVX2 = 1, MLK_AVX512 = 2 };
enum { MLK_OK = 0, MLK_ERR_SHAPE = -1, MLK_ERR_ARGUMENT = -2, MLK_ERR_SCRATCH = -3, MLK_ERR_NOT_FINITE = -4 };

/// A packed weight: the caller owns the three buffers.
typedef struct {
    int32_t precision;   // MLK_BF16 or MLK_INT8
    int32_t reserved;
    size_t in_features;
    size_t out_features;
    void *values;        // mlk_packed_bytes(precision, out, in) bytes
    float *scales;       // int8: mlk_padded_out(out) scales; bf16: NULL
    int32_t *sums;       // int8: mlk_padded_out(out) sums; bf16: NULL
} mlk_weight;

/// The best path this CPU runs (AVX-512 needs F, BW, VL, BF16 and VNNI with the OS saving zmm state;
/// AVX2 needs AVX2 and FMA with ymm state). Detected once.
int mlk_cpu_path(void);
/// "avx512", "avx2" or "portable" ("unknown" for anything else).
const char *mlk_path_name(int path);

/// Panels · 16, or 0 when `out` is outside 1 … MLK_MAX_OUT.
size_t mlk_padded_out(size_t out);
/// Bytes of a packed weight's `values`, or 0 when the shape or precision is out of range.
size_t mlk_packed_bytes(int precision, size_t out, size_t in);
/// Packs `weight` [out × in] into `w` (whose precision, sizes and buffers are set). int8 needs finite weights.
int mlk_pack(const mlk_weight *w, const float *weight, size_t weight_count);

/// Scratch bytes `mlk_linear` needs for `rows` rows of `in` inputs (0 when out of range).
size_t mlk_scratch_bytes(int precision, size_t in, size_t rows);
/// y[rows × out] = x[rows × in] · Wᵀ + bias (bias may be NULL) for output panels [panel_begin, panel_end):
/// only those panels' columns of y are written. `path` is clamped to `mlk_cpu_path()`.
int mlk_linear(int path, const mlk_weight *w, const float *x, size_t rows, size_t panel_begin, size_t panel_end,
               const float *bias, float *y, void *scratch, size_t scratch_bytes);

// The conversions and packed values, exposed so tests can compute exact references.
/// bf16 of x, rounded to nearest even (NaN stays NaN; subnormals become signed zero, as vdpbf16ps reads them).
uint16_t mlk_bf16_from_float(float x);
/// One row quantized as `mlk_linear` quantizes it: q[i] = clamp(round(x[i] / scale) + zero, 0, 255).
/// A row with a non-finite value gets scale NaN (its outputs are NaN).
void mlk_quantize_row(const float *x, size_t n, uint8_t *q, float *scale, int32_t *zero);
/// The packed weight of output o, input i: bf16 bits (bf16) or the int8 value (int8); 0 out of range.
int32_t mlk_weight_at(const mlk_weight *w, size_t o, size_t i);

#endif
