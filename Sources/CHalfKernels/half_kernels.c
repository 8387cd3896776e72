#include "half_kernels.h"

#include <immintrin.h>

// The kernel is compiled for AVX2/FMA/F16C by function attribute only, so the rest of the
// binary keeps the baseline x86-64 instruction set and older CPUs take the portable path.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

int copilot_half_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

// The sum of the lanes of four accumulators, in one fixed order.
__attribute__((target("avx2,fma")))
static inline float horizontal_sum(__m256 acc0, __m256 acc1, __m256 acc2, __m256 acc3) {
    __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
    sum4 = _mm_add_ss(sum4, _mm_movehdup_ps(sum4));
    return _mm_cvtss_f32(sum4);
}

__attribute__((target("avx2,fma,f16c")))
static float half_row_dot(const uint16_t *row, size_t width, const float *x) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= width; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i))), _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i + 8))), _mm256_loadu_ps(x + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i + 16))), _mm256_loadu_ps(x + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i + 24))), _mm256_loadu_ps(x + i + 24), acc3);
    }
    for (; i + 8 <= width; i += 8) {
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i))), _mm256_loadu_ps(x + i), acc0);
    }
    float sum = horizontal_sum(acc0, acc1, acc2, acc3);
    for (; i < width; i++) {
        sum += _cvtsh_ss(row[i]) * x[i];
    }
    return sum;
}

__attribute__((target("avx2,fma,f16c")))
void copilot_half_matrix_vector(
    const uint16_t *rows, size_t row_count, size_t width, const float *x, float *out) {
    for (size_t r = 0; r < row_count; r++) {
        out[r] = half_row_dot(rows + r * width, width, x);
    }
}

__attribute__((target("avx2,fma,f16c")))
void copilot_half_matrix_vectors(
    const uint16_t *rows, size_t row_count, size_t width, const float *xs, size_t x_count, float *const *outs) {
    // Each row is read from memory once and then stays in L1 for the other vectors; each dot
    // product is half_row_dot's, so every vector gets the same values as alone.
    for (size_t r = 0; r < row_count; r++) {
        const uint16_t *row = rows + r * width;
        for (size_t v = 0; v < x_count; v++) {
            outs[v][r] = half_row_dot(row, width, xs + v * width);
        }
    }
}

__attribute__((target("avx2,fma")))
static float float_dot(const float *a, const float *b, size_t width) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= width; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= width; i += 8) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    }
    float sum = horizontal_sum(acc0, acc1, acc2, acc3);
    for (; i < width; i++) {
        sum += a[i] * b[i];
    }
    return sum;
}

__attribute__((target("avx2,fma")))
void copilot_rows_dot_vectors(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *xs, size_t x_count,
    size_t x_stride, float *out, size_t out_stride, float alpha, int accumulate) {
    for (size_t r = 0; r < row_count; r++) {
        const float *row = rows + r * row_stride;
        for (size_t v = 0; v < x_count; v++) {
            float value = alpha * float_dot(row, xs + v * x_stride, width);
            float *target = out + v * out_stride + r;
            *target = accumulate ? *target + value : value;
        }
    }
}

__attribute__((target("avx2,fma")))
void copilot_weighted_row_sums(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *weights, size_t weight_stride,
    size_t count, float *out, size_t out_stride) {
    // Per output, 64 columns at a time in eight registers over all the rows (a head's values
    // stay in L2 between the outputs), so each output is stored once.
    for (size_t v = 0; v < count; v++) {
        const float *w = weights + v * weight_stride;
        float *o = out + v * out_stride;
        size_t c = 0;
        for (; c + 64 <= width; c += 64) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            __m256 a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps();
            for (size_t r = 0; r < row_count; r++) {
                const float *row = rows + r * row_stride + c;
                __m256 s = _mm256_set1_ps(w[r]);
                a0 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row), a0);
                a1 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 8), a1);
                a2 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 16), a2);
                a3 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 24), a3);
                a4 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 32), a4);
                a5 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 40), a5);
                a6 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 48), a6);
                a7 = _mm256_fmadd_ps(s, _mm256_loadu_ps(row + 56), a7);
            }
            _mm256_storeu_ps(o + c, a0);
            _mm256_storeu_ps(o + c + 8, a1);
            _mm256_storeu_ps(o + c + 16, a2);
            _mm256_storeu_ps(o + c + 24, a3);
            _mm256_storeu_ps(o + c + 32, a4);
            _mm256_storeu_ps(o + c + 40, a5);
            _mm256_storeu_ps(o + c + 48, a6);
            _mm256_storeu_ps(o + c + 56, a7);
        }
        for (; c + 8 <= width; c += 8) {
            __m256 a = _mm256_setzero_ps();
            for (size_t r = 0; r < row_count; r++) {
                a = _mm256_fmadd_ps(_mm256_set1_ps(w[r]), _mm256_loadu_ps(rows + r * row_stride + c), a);
            }
            _mm256_storeu_ps(o + c, a);
        }
        for (; c < width; c++) {
            float sum = 0;
            for (size_t r = 0; r < row_count; r++) sum += w[r] * rows[r * row_stride + c];
            o[c] = sum;
        }
    }
}

#else

int copilot_half_kernels_available(void) { return 0; }

void copilot_rows_dot_vectors(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *xs, size_t x_count,
    size_t x_stride, float *out, size_t out_stride, float alpha, int accumulate) {
    (void)rows; (void)row_count; (void)width; (void)row_stride; (void)xs; (void)x_count; (void)x_stride;
    (void)out; (void)out_stride; (void)alpha; (void)accumulate;
}

void copilot_weighted_row_sums(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *weights, size_t weight_stride,
    size_t count, float *out, size_t out_stride) {
    (void)rows; (void)row_count; (void)width; (void)row_stride; (void)weights; (void)weight_stride; (void)count;
    (void)out; (void)out_stride;
}

void copilot_half_matrix_vectors(
    const uint16_t *rows, size_t row_count, size_t width, const float *xs, size_t x_count, float *const *outs) {
    (void)rows; (void)row_count; (void)width; (void)xs; (void)x_count; (void)outs;
}

void copilot_half_matrix_vector(
    const uint16_t *rows, size_t row_count, size_t width, const float *x, float *out) {
    (void)rows; (void)row_count; (void)width; (void)x; (void)out;
}

#endif
