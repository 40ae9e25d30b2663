// The entry point: checks every size, converts the activations block by block into the scratch and
// hands each block to the chosen path.
#include "paths.h"
#include <math.h>
#include <string.h>

static float from_key(int32_t key) {
    union { uint32_t u; float f; } v = { (uint32_t)key ^ ((uint32_t)(key >> 31) & 0x7fffffffu) };
    return v.f;
}

void mlk_quantize_row(const float *x, size_t n, uint8_t *q, float *scale, int32_t *zero) {
    // Three loops that vectorize: the order of a minimum or a maximum does not change it.
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !(x[i] - x[i] == 0);  // NaN for infinity and NaN
    // Floats compared as integers that order as they do (x's bits with the magnitude flipped when
    // negative), so the minimum and maximum vectorize without assuming there is no NaN.
    int32_t least = 0, most = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        int32_t key = (int32_t)(bits ^ ((uint32_t)((int32_t)bits >> 31) & 0x7fffffffu));
        least = key < least ? key : least;
        most = key > most ? key : most;
    }
    float low = from_key(least), high = from_key(most);
    int finite = !bad;
    float step = (high - low) / 255;
    if (!finite || !isfinite(step)) {
        memset(q, 0, n);
        *scale = NAN;
        *zero = 0;
        return;
    }
    if (step == 0) {
        memset(q, 0, n);
        *scale = 0;
        *zero = 0;
        return;
    }
    float inverse = 1 / step, z = roundf(-low * inverse);
    z = z > 255 ? 255 : (z < 0 ? 0 : z);
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * inverse + z;
        v = v > 255 ? 255 : (v < 0 ? 0 : v);
        q[i] = (uint8_t)(v + 0.5f);
    }
    *scale = step;
    *zero = (int32_t)z;
}

size_t mlk_scratch_bytes(int precision, size_t in, size_t rows) {
    if (in < 1 || in > MLK_MAX_IN) return 0;
    size_t block = rows < MLK_ROW_BLOCK ? (rows ? rows : 1) : MLK_ROW_BLOCK;
    if (precision == MLK_BF16) return block * mlk_pairs(in) * 4;
    // The quantized rows, then each row's scale and zero point.
    if (precision == MLK_INT8) return block * (mlk_quads(in) * 4 + sizeof(float) + sizeof(int32_t));
    return 0;
}

static void bf16_rows(const float *x, size_t rows, size_t in, uint32_t *act) {
    size_t pairs = mlk_pairs(in);
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * in;
        uint32_t *out = act + r * pairs;
        for (size_t p = 0; p < in / 2; p++)
            out[p] = mlk_bf16_bits(row[2 * p]) | ((uint32_t)mlk_bf16_bits(row[2 * p + 1]) << 16);
        if (in % 2) out[pairs - 1] = mlk_bf16_bits(row[in - 1]);
    }
}

static void int8_rows(const float *x, size_t rows, size_t in, uint32_t *act, float *scales, int32_t *zeros) {
    size_t stride = mlk_quads(in) * 4;
    uint8_t *bytes = (uint8_t *)act;
    for (size_t r = 0; r < rows; r++) {
        uint8_t *row = bytes + r * stride;
        mlk_quantize_row(x + r * in, in, row, &scales[r], &zeros[r]);
        memset(row + in, 0, stride - in);
    }
}

int mlk_linear(int path, const mlk_weight *w, const float *x, size_t rows, size_t panel_begin, size_t panel_end,
               const float *bias, float *y, void *scratch, size_t scratch_bytes) {
    if (!w || !w->values || (w->precision == MLK_INT8 && (!w->scales || !w->sums))) return MLK_ERR_ARGUMENT;
    size_t in = w->in_features, out = w->out_features, padded = mlk_padded_out(out);
    if (mlk_packed_bytes(w->precision, out, in) == 0) return MLK_ERR_SHAPE;
    if (panel_begin > panel_end || panel_end > padded / MLK_PANEL) return MLK_ERR_SHAPE;
    if (rows == 0 || panel_begin == panel_end) return MLK_OK;
    if (!x || !y || !scratch) return MLK_ERR_ARGUMENT;
    if (rows > SIZE_MAX / (in > out ? in : out)) return MLK_ERR_SHAPE;
    if (scratch_bytes < mlk_scratch_bytes(w->precision, in, rows)) return MLK_ERR_SCRATCH;
    int best = mlk_cpu_path();
    if (path > best) path = best;
    if (path < MLK_PORTABLE) path = MLK_PORTABLE;

    mlk_bf16_block bf16 = mlk_bf16_block_portable;
    mlk_int8_block int8 = mlk_int8_block_portable;
#if defined(__x86_64__)
    if (path == MLK_AVX512) { bf16 = mlk_bf16_block_avx512; int8 = mlk_int8_block_avx512; }
    if (path == MLK_AVX2) { bf16 = mlk_bf16_block_avx2; int8 = mlk_int8_block_avx2; }
#endif
    size_t quad_bytes = mlk_quads(in) * 4;
    uint32_t *act = scratch;
    for (size_t r0 = 0; r0 < rows; r0 += MLK_ROW_BLOCK) {
        size_t n = rows - r0 < MLK_ROW_BLOCK ? rows - r0 : MLK_ROW_BLOCK;
        if (w->precision == MLK_BF16) {
            bf16_rows(x + r0 * in, n, in, act);
            bf16(w, act, n, panel_begin, panel_end, bias, y + r0 * out);
        } else {
            // Scales and zero points after the whole block's rows (sized for the block in mlk_scratch_bytes).
            size_t block = rows < MLK_ROW_BLOCK ? rows : MLK_ROW_BLOCK;
            float *scales = (float *)((uint8_t *)scratch + block * quad_bytes);
            int32_t *zeros = (int32_t *)(scales + block);
            int8_rows(x + r0 * in, n, in, act, scales, zeros);
            int8(w, act, scales, zeros, n, panel_begin, panel_end, bias, y + r0 * out);
        }
    }
    return MLK_OK;
}
