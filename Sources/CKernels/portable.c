// The portable path: plain C over the packed layouts, for CPUs without AVX2 (and the reference the
// vector paths are held to).
#include "paths.h"

void mlk_bf16_block_portable(const mlk_weight *w, const uint32_t *act, size_t rows, size_t p0, size_t p1,
                             const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, pairs = mlk_pairs(in);
    const uint32_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const uint32_t *panel = values + p * pairs * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        for (size_t r = 0; r < rows; r++) {
            float sums[MLK_PANEL] = { 0 };
            const uint32_t *a = act + r * pairs;
            for (size_t k = 0; k < pairs; k++) {
                float even = mlk_float_from_bf16(a[k] & 0xffff), odd = mlk_float_from_bf16(a[k] >> 16);
                const uint32_t *step = panel + k * MLK_PANEL;
                for (size_t c = 0; c < MLK_PANEL; c++) {
                    sums[c] += even * mlk_float_from_bf16(step[c] & 0xffff);
                    sums[c] += odd * mlk_float_from_bf16(step[c] >> 16);
                }
            }
            mlk_store_row(y + r * out, sums, bias, col, cols);
        }
    }
}

void mlk_int8_block_portable(const mlk_weight *w, const uint32_t *act, const float *row_scale, const int32_t *row_zero,
                             size_t rows, size_t p0, size_t p1, const float *bias, float *y) {
    size_t in = w->in_features, out = w->out_features, quads = mlk_quads(in);
    const int8_t *values = w->values;
    for (size_t p = p0; p < p1; p++) {
        const int8_t *panel = values + p * quads * 4 * MLK_PANEL;
        size_t col = p * MLK_PANEL, cols = out - col < MLK_PANEL ? out - col : MLK_PANEL;
        for (size_t r = 0; r < rows; r++) {
            int32_t sums[MLK_PANEL] = { 0 };
            const uint8_t *a = (const uint8_t *)(act + r * quads);
            for (size_t k = 0; k < quads; k++) {
                const int8_t *step = panel + k * 4 * MLK_PANEL;
                for (size_t c = 0; c < MLK_PANEL; c++)
                    for (size_t j = 0; j < 4; j++) sums[c] += (int32_t)a[4 * k + j] * step[4 * c + j];
            }
            mlk_store_int8_row(y + r * out, sums, w, row_scale[r], row_zero[r], bias, col, cols);
        }
    }
}
