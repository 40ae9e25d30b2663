// The AVX-512 path: vdpbf16ps (bf16 pairs into fp32) and vpdpbusd (u8 × s8 quads into int32), tiles
// of up to 12 rows × 16 outputs so twelve sums, the weight and a broadcast stay in registers.
#include "paths.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx512vnni")))
#define TILE 12

// `rows` is a constant at each call (the switch below), so after inlining the sums live in registers.
static inline __attribute__((always_inline)) AVX512 void bf16_tile(const uint32_t *act, size_t pairs, const uint32_t *panel,
                                                                  int rows, __mmask16 mask, const float *bias, float *y, size_t ldy) {
    __m512 sums[TILE];
    for (int r = 0; r < rows; r++) sums[r] = _mm512_setzero_ps();
    for (size_t k = 0; k < pairs; k++) {
        __m512bh weights = (__m512bh)_mm512_loadu_si512(panel + k * MLK_PANEL);
        for (int r = 0; r < rows; r++)
            sums[r] = _mm512_dpbf16_ps(sums[r], (__m512bh)_mm512_set1_epi32((int)act[r * pairs + k]), weights);
    }
    __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(y + r * ldy, mask, _mm512_add_ps(sums[r], b));
}

static inline __attribute__((always_inline)) AVX512 void int8_tile(const uint32_t *act, size_t quads, const uint32_t *panel,
                                                                  int rows, __mmask16 mask, const float *scales, const int32_t *weight_sums,
                                                                  const float *row_scale, const int32_t *row_zero,
                                                                  const float *bias, float *y, size_t ldy) {
    __m512i sums[TILE];
    for (int r = 0; r < rows; r++) sums[r] = _mm512_setzero_si512();
    for (size_t k = 0; k < quads; k++) {
        __m512i weights = _mm512_loadu_si512(panel + k * MLK_PANEL);
        for (int r = 0; r < rows; r++)
            sums[r] = _mm512_dpbusd_epi32(sums[r], _mm512_set1_epi32((int)act[r * quads + k]), weights);
    }
    __m512 s = _mm512_maskz_loadu_ps(mask, scales), b = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
    __m512i ws = _mm512_maskz_loadu_epi32(mask, weight_sums);
    for (int r = 0; r < rows; r++) {
        __m512i centred = _mm512_sub_epi32(sums[r], _mm512_mullo_epi32(_mm512_set1_epi32(row_zero[r]), ws));
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(centred), _mm512_mul_ps(s, _mm512_set1_ps(row_scale[r])));
        _mm512_mask_storeu_ps(y + r * ldy, mask, bias ? _mm512_add_ps(v, b) : v);
    }
}

#define ROWS_CASES(CALL) \
    switch (n) { \
    case 12: CALL(12); break; case 11: CALL(11); break; case 10: CALL(10); break; case 9: CALL(9); break; \
    case 8: CALL(8); break; case 7: CALL(7); break; case 6: CALL(6); break; case 5: CALL(5); break; \
    case 4: CALL(4); break; case 3: CALL(3); break; case 2: CALL(2); break; default: CALL(1); break; }

AVX512 void mlk_bf16_block_avx512(const mlk_weight *w, const uint32_t *act, size_t rows, size_t p0, size_t p1,
                                  const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, pairs = mlk_pairs(in);
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const uint32_t *panel = values + p * pairs * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        __mmask16 mask = (__mmask16)((1u << cols) - 1);
        for (size_t r = 0; r < rows; r += TILE) {
            size_t n = rows - r < TILE ? rows - r : TILE;
#define BF16(R) bf16_tile(act + r * pairs, pairs, panel, R, mask, bias ? bias + col : NULL, y + r * out + col, out)
            ROWS_CASES(BF16)
#undef BF16
        }
    }
}

AVX512 void mlk_int8_block_avx512(const mlk_weight *w, const uint32_t *act, const float *row_scale, const int32_t *row_zero,
                                  size_t rows, size_t p0, size_t p1, const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, quads = mlk_quads(in);
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const uint32_t *panel = values + p * quads * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        __mmask16 mask = (__mmask16)((1u << cols) - 1);
        for (size_t r = 0; r < rows; r += TILE) {
            size_t n = rows - r < TILE ? rows - r : TILE;
#define INT8(R) int8_tile(act + r * quads, quads, panel, R, mask, w->scales + col, w->sums + col, row_scale + r, row_zero + r, \
                          bias ? bias + col : NULL, y + r * out + col, out)
            ROWS_CASES(INT8)
#undef INT8
        }
    }
}
#endif
