/*
** conv_avx512.c -- the AVX-512 convolution kernels: kern_simd.h with
** 16-float zmm vectors and mask registers for channel tails.  Built with
** -mavx512f/bw/dq/vl (Makefile rule for *_avx512.c); conv.c only calls
** these for nodes that prepare() packed for FL_ISA_AVX512.
**
** GEMM tiles: 14 rows x 16, 12 x 32, 8 x 48, 6 x 64 floats, so that
** MR * NV accumulators + NV B vectors + 1 broadcast fit 32 zmm registers.
*/
#include <immintrin.h>

#define VW 16
#define VEC __m512
#define MASK __mmask16
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps((p), (v))
#define V_SET1(f) _mm512_set1_ps(f)
#define V_ZERO() _mm512_setzero_ps()
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_MAX(a, b) _mm512_max_ps((a), (b))
#define V_MIN(a, b) _mm512_min_ps((a), (b))
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define V_SUB(a, b) _mm512_sub_ps((a), (b))
#define V_MUL(a, b) _mm512_mul_ps((a), (b))
#define V_DIV(a, b) _mm512_div_ps((a), (b))
#define V_ROUND(a) _mm512_roundscale_ps((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_SCALE2(v, n) _mm512_scalef_ps((v), (n))
#define V_MASK(n) ((__mmask16)(0xFFFFu >> (16 - (n))))
#define V_LOADM(p, m) _mm512_maskz_loadu_ps((m), (p))
#define V_STOREM(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define NV_MAX 4
#define MR_MAX 14
#define MR_OF(nv) ((nv) == 1 ? 14 : (nv) == 2 ? 12 : (nv) == 3 ? 8 : 6)
#define FN(name) fl__##name##_avx512

#include "kern_simd.h"
