#ifndef COPILOT_HALF_KERNELS_H
#define COPILOT_HALF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the instructions the half-precision kernels use (AVX2, FMA, F16C).
/// When it returns 0, callers must use their portable path instead.
int copilot_half_kernels_available(void);

/// out[r] = sum_i half(rows[r * width + i]) * x[i] for r in [0, row_count): IEEE float16 rows
/// (any alignment) widened exactly to float32, products accumulated in float32 with fused
/// multiply-adds. Call only when copilot_half_kernels_available() returned 1.
void copilot_half_matrix_vector(
    const uint16_t *rows, size_t row_count, size_t width, const float *x, float *out);

#endif
