/*
** conv_avx2.c -- the AVX2 + FMA convolution kernels: kern_simd.h with
** 8-float ymm vectors; channel tails use vmaskmov.  Built with -mavx2
** -mfma (Makefile rule for *_avx2.c); conv.c only calls these for nodes
** that prepare() packed for FL_ISA_AVX2.
**
** GEMM tiles: 12 rows x 8, 6 x 16, 4 x 24 floats (16 ymm registers).
*/
#include <immintrin.h>

#define VW 8
#define VEC __m256
#define MASK __m256i
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps((p), (v))
#define V_SET1(f) _mm256_set1_ps(f)
#define V_ZERO() _mm256_setzero_ps()
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define V_MAX(a, b) _mm256_max_ps((a), (b))
#define V_MIN(a, b) _mm256_min_ps((a), (b))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_SUB(a, b) _mm256_sub_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_DIV(a, b) _mm256_div_ps((a), (b))
#define V_ROUND(a) _mm256_round_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/* 2^n built in the exponent field */
#define V_SCALE2(v, n)                                                         \
	_mm256_mul_ps((v), _mm256_castsi256_ps(_mm256_slli_epi32(                  \
	                       _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)))
/* lane i on when i < n */
#define V_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define V_LOADM(p, m) _mm256_maskload_ps((p), (m))
#define V_STOREM(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define NV_MAX 3
#define MR_MAX 12
#define MR_OF(nv) ((nv) == 1 ? 12 : (nv) == 2 ? 6 : 4)
#define FN(name) fl__##name##_avx2

#include "kern_simd.h"
