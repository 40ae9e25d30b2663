// The AVX2 + FMA path for CPUs without AVX-512: bf16 widened to fp32 (exact) and multiplied with
// FMA; int8 widened to int16 and multiplied in pairs with vpmaddwd into int32, exact as vpdpbusd
// (vpmaddubsw would saturate at 16 bits).
#include "paths.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define BF16_TILE 4
#define INT8_TILE 3

static inline __attribute__((always_inline)) AVX2 void bf16_tile(const uint32_t *act, size_t pairs, const uint32_t *panel,
                                                                int rows, const float *bias, float *y, size_t ldy, size_t col, size_t cols) {
    __m256 low[BF16_TILE], high[BF16_TILE];
    for (int r = 0; r < rows; r++) low[r] = high[r] = _mm256_setzero_ps();
    const __m256i top = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t k = 0; k < pairs; k++) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + k * MLK_PANEL));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + k * MLK_PANEL + 8));
        __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16)), odd0 = _mm256_castsi256_ps(_mm256_and_si256(w0, top));
        __m256 even1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16)), odd1 = _mm256_castsi256_ps(_mm256_and_si256(w1, top));
        for (int r = 0; r < rows; r++) {
            uint32_t a = act[r * pairs + k];
            __m256 even = _mm256_set1_ps(mlk_float_from_bf16(a & 0xffff)), odd = _mm256_set1_ps(mlk_float_from_bf16(a >> 16));
            // The products of bf16 values are exact in fp32, so each FMA rounds once, as the portable sum does.
            low[r] = _mm256_fmadd_ps(odd, odd0, _mm256_fmadd_ps(even, even0, low[r]));
            high[r] = _mm256_fmadd_ps(odd, odd1, _mm256_fmadd_ps(even, even1, high[r]));
        }
    }
    for (int r = 0; r < rows; r++) {
        float sums[MLK_PANEL];
        _mm256_storeu_ps(sums, low[r]);
        _mm256_storeu_ps(sums + 8, high[r]);
        mlk_store_row(y + r * ldy, sums, bias, col, cols);
    }
}

static inline __attribute__((always_inline)) AVX2 void int8_tile(const mlk_weight *w, const uint32_t *act, size_t quads, const uint32_t *panel,
                                                                int rows, const float *row_scale, const int32_t *row_zero,
                                                                const float *bias, float *y, size_t ldy, size_t col, size_t cols) {
    // sums[r][j] lane 2m + h: output 4j + m, inputs 4q + 2h and 4q + 2h + 1.
    __m256i sums[INT8_TILE][4];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < 4; j++) sums[r][j] = _mm256_setzero_si256();
    for (size_t k = 0; k < quads; k++) {
        __m256i x[INT8_TILE];
        for (int r = 0; r < rows; r++) x[r] = _mm256_cvtepu8_epi16(_mm_set1_epi32((int)act[r * quads + k]));
        for (int j = 0; j < 4; j++) {
            __m256i weights = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(panel + k * MLK_PANEL + 4 * j)));
            for (int r = 0; r < rows; r++) sums[r][j] = _mm256_add_epi32(sums[r][j], _mm256_madd_epi16(x[r], weights));
        }
    }
    for (int r = 0; r < rows; r++) {
        int32_t halves[2 * MLK_PANEL], whole[MLK_PANEL];
        for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(halves + 8 * j), sums[r][j]);
        for (int c = 0; c < MLK_PANEL; c++) whole[c] = halves[2 * c] + halves[2 * c + 1];
        mlk_store_int8_row(y + r * ldy, whole, w, row_scale[r], row_zero[r], bias, col, cols);
    }
}

AVX2 void mlk_bf16_block_avx2(const mlk_weight *w, const uint32_t *act, size_t rows, size_t p0, size_t p1,
                              const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, pairs = mlk_pairs(in);
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const uint32_t *panel = values + p * pairs * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        for (size_t r = 0; r < rows; r += BF16_TILE) {
            const uint32_t *a = act + r * pairs;
            float *o = y + r * out;
            switch (rows - r < BF16_TILE ? rows - r : BF16_TILE) {
            case 4: bf16_tile(a, pairs, panel, 4, bias, o, out, col, cols); break;
            case 3: bf16_tile(a, pairs, panel, 3, bias, o, out, col, cols); break;
            case 2: bf16_tile(a, pairs, panel, 2, bias, o, out, col, cols); break;
            default: bf16_tile(a, pairs, panel, 1, bias, o, out, col, cols); break;
            }
        }
    }
}

AVX2 void mlk_int8_block_avx2(const mlk_weight *w, const uint32_t *act, const float *row_scale, const int32_t *row_zero,
                              size_t rows, size_t p0, size_t p1, const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, quads = mlk_quads(in);
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const uint32_t *panel = values + p * quads * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        for (size_t r = 0; r < rows; r += INT8_TILE) {
            const uint32_t *a = act + r * quads;
            float *o = y + r * out;
            switch (rows - r < INT8_TILE ? rows - r : INT8_TILE) {
            case 3: int8_tile(w, a, quads, panel, 3, row_scale + r, row_zero + r, bias, o, out, col, cols); break;
            case 2: int8_tile(w, a, quads, panel, 2, row_scale + r, row_zero + r, bias, o, out, col, cols); break;
            default: int8_tile(w, a, quads, panel, 1, row_scale + r, row_zero + r, bias, o, out, col, cols); break;
            }
        }
    }
}
#endif
