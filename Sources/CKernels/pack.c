// Packing a float32 weight into the bf16 and int8 layouts of CKernels.h, and reading it back.
#include "paths.h"
#include <math.h>
#include <string.h>

size_t mlk_padded_out(size_t out) {
    if (out < 1 || out > MLK_MAX_OUT) return 0;
    return (out + MLK_PANEL - 1) / MLK_PANEL * MLK_PANEL;
}

size_t mlk_packed_bytes(int precision, size_t out, size_t in) {
    size_t padded = mlk_padded_out(out);
    if (padded == 0 || in < 1 || in > MLK_MAX_IN) return 0;
    // At most 2^20 · 2^16 · 2 bytes: no overflow in 64 bits.
    if (precision == MLK_BF16) return padded * mlk_pairs(in) * 4;
    if (precision == MLK_INT8) return padded * mlk_quads(in) * 4;
    return 0;
}

uint16_t mlk_bf16_from_float(float x) { return mlk_bf16_bits(x); }

static int shape_ok(const mlk_weight *w) {
    return w && w->values && mlk_packed_bytes(w->precision, w->out_features, w->in_features) != 0 &&
           (w->precision == MLK_BF16 || (w->scales && w->sums));
}

int mlk_pack(const mlk_weight *w, const float *weight, size_t weight_count) {
    if (!shape_ok(w) || !weight) return MLK_ERR_ARGUMENT;
    size_t in = w->in_features, out = w->out_features, padded = mlk_padded_out(out);
    if (weight_count != in * out) return MLK_ERR_SHAPE;
    memset(w->values, 0, mlk_packed_bytes(w->precision, out, in));
    if (w->precision == MLK_BF16) {
        uint16_t *values = w->values;
        size_t pairs = mlk_pairs(in);
        for (size_t o = 0; o < out; o++) {
            uint16_t *panel = values + (o / MLK_PANEL) * pairs * 2 * MLK_PANEL;
            size_t c = o % MLK_PANEL;
            for (size_t i = 0; i < in; i++)
                panel[(i / 2) * 2 * MLK_PANEL + 2 * c + (i & 1)] = mlk_bf16_from_float(weight[o * in + i]);
        }
        return MLK_OK;
    }
    for (size_t i = 0; i < in * out; i++)
        if (!isfinite(weight[i])) return MLK_ERR_NOT_FINITE;
    int8_t *values = w->values;
    size_t quads = mlk_quads(in);
    memset(w->scales, 0, padded * sizeof(float));
    memset(w->sums, 0, padded * sizeof(int32_t));
    for (size_t o = 0; o < out; o++) {
        const float *row = weight + o * in;
        float largest = 0;
        for (size_t i = 0; i < in; i++) largest = fmaxf(largest, fabsf(row[i]));
        float scale = largest / 127, inverse = largest > 0 ? 127 / largest : 0;
        int8_t *panel = values + (o / MLK_PANEL) * quads * 4 * MLK_PANEL;
        size_t c = o % MLK_PANEL;
        int32_t sum = 0;
        for (size_t i = 0; i < in; i++) {
            float q = roundf(row[i] * inverse);
            q = q > 127 ? 127 : (q < -127 ? -127 : q);
            panel[(i / 4) * 4 * MLK_PANEL + 4 * c + (i & 3)] = (int8_t)q;
            sum += (int32_t)q;
        }
        w->scales[o] = scale;
        w->sums[o] = sum;
    }
    return MLK_OK;
}

int32_t mlk_weight_at(const mlk_weight *w, size_t o, size_t i) {
    if (!shape_ok(w) || o >= w->out_features || i >= w->in_features) return 0;
    if (w->precision == MLK_BF16) {
        const uint16_t *panel = (const uint16_t *)w->values + (o / MLK_PANEL) * mlk_pairs(w->in_features) * 2 * MLK_PANEL;
        return panel[(i / 2) * 2 * MLK_PANEL + 2 * (o % MLK_PANEL) + (i & 1)];
    }
    const int8_t *panel = (const int8_t *)w->values + (o / MLK_PANEL) * mlk_quads(w->in_features) * 4 * MLK_PANEL;
    return panel[(i / 4) * 4 * MLK_PANEL + 4 * (o % MLK_PANEL) + (i & 3)];
}
