#include "half_kernels.h"

#include <immintrin.h>

// The kernel is compiled for AVX2/FMA/F16C by function attribute only, so the rest of the
// binary keeps the baseline x86-64 instruction set and older CPUs take the portable path.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

int copilot_half_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
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
    __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
    sum4 = _mm_add_ss(sum4, _mm_movehdup_ps(sum4));
    float sum = _mm_cvtss_f32(sum4);
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

#else

int copilot_half_kernels_available(void) { return 0; }

void copilot_half_matrix_vector(
    const uint16_t *rows, size_t row_count, size_t width, const float *x, float *out) {
    (void)rows; (void)row_count; (void)width; (void)x; (void)out;
}

#endif
