// The AVX-512 path: vdpbf16ps (bf16 pairs into fp32) and vpdpbusd (u8 × s8 quads into int32). A tile
// is up to 12 rows × 2 panels (32 outputs): 24 sums, two weight vectors and a broadcast fit the 32
// registers, and each broadcast activation meets two weight vectors (one load for two products).
#include "paths.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))
#define TILE 12

/// The columns of panel p that exist, as a lane mask.
static __mmask16 panel_mask(size_t out, size_t p) {
    size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
    return (__mmask16)((1u << cols) - 1);
}

// `rows` and `width` (panels: 1 or 2) are constants at each call (the switch below), so after
// inlining the sums live in registers. `panel` is the first panel; the second follows it, `step`
// dwords on. y and bias point at the tile's first column.
INLINE AVX512 void bf16_tile(const uint32_t *act, size_t pairs, const uint32_t *panel, size_t step, int rows, int width,
                             __mmask16 mask0, __mmask16 mask1, const float *bias, float *y, size_t ldy) {
    __m512 sums[TILE][2];
    for (int r = 0; r < rows; r++) sums[r][0] = sums[r][1] = _mm512_setzero_ps();
    for (size_t k = 0; k < pairs; k++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel + k * MLK_PANEL);
        __m512bh w1 = width > 1 ? (__m512bh)_mm512_loadu_si512(panel + step + k * MLK_PANEL) : w0;
        for (int r = 0; r < rows; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)act[r * pairs + k]);
            sums[r][0] = _mm512_dpbf16_ps(sums[r][0], x, w0);
            if (width > 1) sums[r][1] = _mm512_dpbf16_ps(sums[r][1], x, w1);
        }
    }
    for (int h = 0; h < width; h++) {
        __mmask16 mask = h ? mask1 : mask0;
        __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + h * MLK_PANEL) : _mm512_setzero_ps();
        for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(y + r * ldy + h * MLK_PANEL, mask, _mm512_add_ps(sums[r][h], b));
    }
}

// scales, weight_sums, bias and y point at the tile's first column.
INLINE AVX512 void int8_tile(const uint32_t *act, size_t quads, const uint32_t *panel, size_t step, int rows, int width,
                             __mmask16 mask0, __mmask16 mask1, const float *scales, const int32_t *weight_sums,
                             const float *row_scale, const int32_t *row_zero, const float *bias, float *y, size_t ldy) {
    __m512i sums[TILE][2];
    for (int r = 0; r < rows; r++) sums[r][0] = sums[r][1] = _mm512_setzero_si512();
    for (size_t k = 0; k < quads; k++) {
        __m512i w0 = _mm512_loadu_si512(panel + k * MLK_PANEL);
        __m512i w1 = width > 1 ? _mm512_loadu_si512(panel + step + k * MLK_PANEL) : w0;
        for (int r = 0; r < rows; r++) {
            __m512i x = _mm512_set1_epi32((int)act[r * quads + k]);
            sums[r][0] = _mm512_dpbusd_epi32(sums[r][0], x, w0);
            if (width > 1) sums[r][1] = _mm512_dpbusd_epi32(sums[r][1], x, w1);
        }
    }
    for (int h = 0; h < width; h++) {
        __mmask16 mask = h ? mask1 : mask0;
        __m512 s = _mm512_maskz_loadu_ps(mask, scales + h * MLK_PANEL);
        __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + h * MLK_PANEL) : _mm512_setzero_ps();
        __m512i ws = _mm512_maskz_loadu_epi32(mask, weight_sums + h * MLK_PANEL);
        for (int r = 0; r < rows; r++) {
            __m512i centred = _mm512_sub_epi32(sums[r][h], _mm512_mullo_epi32(_mm512_set1_epi32(row_zero[r]), ws));
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(centred), _mm512_mul_ps(s, _mm512_set1_ps(row_scale[r])));
            _mm512_mask_storeu_ps(y + r * ldy + h * MLK_PANEL, mask, bias ? _mm512_add_ps(v, b) : v);
        }
    }
}

#define ROWS_CASES(CALL, W) \
    switch (n) { \
    case 12: CALL(12, W); break; case 11: CALL(11, W); break; case 10: CALL(10, W); break; case 9: CALL(9, W); break; \
    case 8: CALL(8, W); break; case 7: CALL(7, W); break; case 6: CALL(6, W); break; case 5: CALL(5, W); break; \
    case 4: CALL(4, W); break; case 3: CALL(3, W); break; case 2: CALL(2, W); break; default: CALL(1, W); break; }

AVX512 void mlk_bf16_block_avx512(const mlk_weight *w, const uint32_t *act, size_t rows, size_t p0, size_t p1,
                                  const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, pairs = mlk_pairs(in), step = pairs * MLK_PANEL;
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p += 2) {
        const uint32_t *panel = values + p * step;
        size_t col = p * MLK_PANEL;
        int two = p + 1 < p1;
        __mmask16 mask0 = panel_mask(out, p), mask1 = two ? panel_mask(out, p + 1) : 0;
        for (size_t r = 0; r < rows; r += TILE) {
            size_t n = rows - r < TILE ? rows - r : TILE;
#define BF16(R, W) bf16_tile(act + r * pairs, pairs, panel, step, R, W, mask0, mask1, bias ? bias + col : NULL, y + r * out + col, out)
            if (two) { ROWS_CASES(BF16, 2) } else { ROWS_CASES(BF16, 1) }
#undef BF16
        }
    }
}

AVX512 void mlk_int8_block_avx512(const mlk_weight *w, const uint32_t *act, const float *row_scale, const int32_t *row_zero,
                                  size_t rows, size_t p0, size_t p1, const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, quads = mlk_quads(in), step = quads * MLK_PANEL;
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p += 2) {
        const uint32_t *panel = values + p * step;
        size_t col = p * MLK_PANEL;
        int two = p + 1 < p1;
        __mmask16 mask0 = panel_mask(out, p), mask1 = two ? panel_mask(out, p + 1) : 0;
        for (size_t r = 0; r < rows; r += TILE) {
            size_t n = rows - r < TILE ? rows - r : TILE;
#define INT8(R, W) int8_tile(act + r * quads, quads, panel, step, R, W, mask0, mask1, w->scales + col, w->sums + col, \
                             row_scale + r, row_zero + r, bias ? bias + col : NULL, y + r * out + col, out)
            if (two) { ROWS_CASES(INT8, 2) } else { ROWS_CASES(INT8, 1) }
#undef INT8
        }
    }
}
#endif
