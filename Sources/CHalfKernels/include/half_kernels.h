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

/// outs[v][r] = sum_i half(rows[r * width + i]) * xs[v * width + i] for r in [0, row_count) and
/// v in [0, x_count): copilot_half_matrix_vector for several vectors, each row read once. The
/// values equal x_count calls of copilot_half_matrix_vector. Same requirement.
void copilot_half_matrix_vectors(
    const uint16_t *rows, size_t row_count, size_t width, const float *xs, size_t x_count, float *const *outs);

/// out[v * out_stride + r] (+)= alpha * sum_i rows[r * row_stride + i] * xs[v * x_stride + i] for r in
/// [0, row_count), v in [0, x_count), i in [0, width); "+=" when accumulate is non-zero. Each row is
/// read from memory once for all the vectors: a matrix times a few vectors (a decoder step of a
/// few sequences) without packing the matrix as a general matrix product does. AVX2 and FMA;
/// call only when copilot_half_kernels_available() returned 1.
void copilot_rows_dot_vectors(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *xs, size_t x_count,
    size_t x_stride, float *out, size_t out_stride, float alpha, int accumulate);

/// out[v * out_stride + c] = sum_r weights[v * weight_stride + r] * rows[r * row_stride + c] for v in
/// [0, count), c in [0, width), r in [0, row_count): several attention-weighted sums of the same
/// rows (values), each row read once. Same requirement.
void copilot_weighted_row_sums(
    const float *rows, size_t row_count, size_t width, size_t row_stride, const float *weights, size_t weight_stride,
    size_t count, float *out, size_t out_stride);

#endif
