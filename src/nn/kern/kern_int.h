/*
** kern_int.h -- private interface of the convolution / matmul kernels
** (nn/kern): the geometry of one convolution, the packed-weight formats
** that prepare() builds, and the entry points of the reference and the
** x86 (AVX2, AVX-512) kernels that conv.c dispatches to.
**
** Layouts.  Activations are NHWC floats.  A GEMM here computes
**     C[M x N] = act(A[M x K] * B[K x N] + bias)
** where A is row-major with row stride lda (for a 1x1 convolution A is the
** input itself: M = pixels, K = CI, lda = CI) and B is packed once by
** prepare() into panels of NR columns: panel p holds columns
** [p*NR, p*NR + NR) as K rows of NR floats (zero-padded past N), so the
** micro-kernel reads one contiguous NR-wide row per k.  NR is a multiple
** of the ISA's vector width (16 floats for AVX-512, 8 for AVX2); the
** bias and PReLU alpha vectors are padded with zeros to the panels' width.
**
** Depthwise weights [KH, KW, C, 1] are packed as KH*KW rows of Cp floats
** (C rounded up to the vector width, zero-padded).
**
** Nothing here is global or depends on the ISA of another model: each
** node's prep says which family packed it, and only that family's
** functions ever see it.
*/
#ifndef FL_KERN_INT_H
#define FL_KERN_INT_H

#include "../nn_int.h"
#include <stddef.h>
#include <string.h>

/* Geometry of one convolution (also depthwise, with mult = M). */
struct fl__conv_geom {
	int n;            /* batch */
	int ih, iw, ci;   /* input */
	int oh, ow, co;   /* output (co = ci * mult for depthwise) */
	int kh, kw;       /* filter */
	int sh, sw;       /* stride */
	int dh, dw;       /* dilation */
	int pt, pl;       /* leading pads (top, left); trailing pads are implied */
	int mult;         /* depthwise channel multiplier (1 for CONV2D) */
};

/* A fused activation with its parameters.  alpha is per output channel
** (padded like the bias) for FL_ACT_PRELU, else unused. */
struct fl__act {
	int kind;          /* enum fl_act */
	float slope;       /* FL_ACT_LEAKY_RELU */
	const float *alpha;
};

/* Apply an activation to one value (scalar tails and the reference). */
static inline float fl__act_apply(int kind, float v, float slope, float alpha)
{
	switch (kind) {
	case FL_ACT_RELU:
		return v > 0.0f ? v : 0.0f;
	case FL_ACT_RELU6:
		return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
	case FL_ACT_PRELU:
		return v > 0.0f ? v : v * alpha;
	case FL_ACT_LEAKY_RELU:
		return v > 0.0f ? v : v * slope;
	case FL_ACT_SIGMOID:
		return 1.0f / (1.0f + __builtin_expf(-v));
	default:
		return v;
	}
}

/* One GEMM problem for the optimised kernels (see the top of the file). */
struct fl__gemm {
	int m, n, k;
	const float *a;
	ptrdiff_t lda;
	const float *b;   /* packed panels */
	int nr;           /* panel width (floats) */
	int nv;           /* vectors per panel: nr / vector width */
	const float *bias;/* >= n_panels * nr floats, never NULL */
	struct fl__act act;
	float *c;
	ptrdiff_t ldc;
	/* residual added before the activation (row stride ldc), or NULL */
	const float *res;
};

/* A K x K (or strided / padded 1x1) convolution as an implicit GEMM: the
** GEMM's A row for output pixel m is its receptive field.  Interior tiles
** read the input in place (tap t of a pixel starts at its window's corner
** + toff[t]); tiles touching the padding are gathered (im2col) into the
** caller's scratch first.  gm.a / gm.lda / gm.m are unused. */
struct fl__convk {
	struct fl__conv_geom g;
	const float *x;
	struct fl__gemm gm;
	/* Interior tiles: `taps` tap offsets in floats (from the window's
	** corner), each followed by tap_k contiguous floats -- kh*kw taps of ci
	** floats, or with dilation_w 1 kh taps of kw*ci floats.  NULL: always
	** gather. */
	const ptrdiff_t *toff;
	int taps, tap_k;
};

/* Gather the receptive fields of output pixels [m0, m0+cnt) into buf: cnt
** rows of kh*kw*ci floats in HWIO order, zeros for padding. */
static inline void fl__im2col(const struct fl__conv_geom *g, const float *x, int m0, int cnt, float *buf)
{
	const int ci = g->ci, plane = g->oh * g->ow;
	const size_t kwc = (size_t)g->kw * ci;
	int b = m0 / plane, oy = (m0 % plane) / g->ow, ox = m0 % g->ow;
	for (int i = 0; i < cnt; i++) {
		const float *xb = x + (int64_t)b * g->ih * g->iw * ci;
		float *row = buf + (size_t)i * g->kh * kwc;
		const int ix0 = ox * g->sw - g->pl;
		/* taps kx in [kx0, kx1) fall inside the image */
		int kx0 = 0, kx1 = g->kw;
		while (kx0 < kx1 && ix0 + kx0 * g->dw < 0)
			kx0++;
		while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dw >= g->iw)
			kx1--;
		for (int ky = 0; ky < g->kh; ky++, row += kwc) {
			const int iy = oy * g->sh - g->pt + ky * g->dh;
			if (iy < 0 || iy >= g->ih || kx0 == kx1) {
				memset(row, 0, kwc * sizeof(float));
				continue;
			}
			memset(row, 0, (size_t)kx0 * ci * sizeof(float));
			const float *src = xb + ((int64_t)iy * g->iw + ix0 + kx0 * g->dw) * ci;
			if (g->dw == 1) {
				memcpy(row + (size_t)kx0 * ci, src, (size_t)(kx1 - kx0) * ci * sizeof(float));
			} else {
				for (int kx = kx0; kx < kx1; kx++)
					memcpy(row + (size_t)kx * ci, src + (size_t)(kx - kx0) * g->dw * ci, ci * sizeof(float));
			}
			memset(row + (size_t)kx1 * ci, 0, (size_t)(g->kw - kx1) * ci * sizeof(float));
		}
		if (++ox == g->ow) {
			ox = 0;
			if (++oy == g->oh) {
				oy = 0;
				b++;
			}
		}
	}
}

/* One depthwise convolution (mult 1) for the optimised kernels. */
struct fl__dw {
	struct fl__conv_geom g;
	const float *x;
	float *y;
	const float *w;    /* [kh*kw][cp] */
	const float *bias; /* [cp] */
	int cp;            /* channels padded to the vector width */
	struct fl__act act;
	const float *zero; /* iw*ci + 16 zeros (stands in for padding rows), or
	                   ** NULL: generic per-pixel path only */
	/* Stride-1 flat kernel: weights, bias and alpha expanded over
	** L = lcm(VW, ci) lanes, nphase = L / VW vectors per tap (NULL if not
	** packed). wpat is [nphase][kh*kw][VW]. */
	const float *wpat, *bpat, *apat;
	int nphase;
	/* when set, output rows go here (one row at a time: r1 == r0 + 1)
	** instead of into y: the separable conv's row buffer; with yrow_ld
	** (floats) non-zero, two rows may be asked for at once (r1 == r0 + 2),
	** the second going to yrow + yrow_ld */
	float *yrow;
	ptrdiff_t yrow_ld;
};

/* A GEMM with N = 8 * nq output channels (nq 1 or 3) on AVX-512, two
** output pixels per vector (see conv_avx512.c): rows of A are either plain
** (a, lda) or an implicit convolution's receptive fields (ck).  b, bias
** and alpha are the pair packing of conv.c; C has ldc == N. */
struct fl__pair {
	int nq, k;
	const float *b;     /* [k][nq * 16]: weight of channel 8j+i at lanes 2i, 2i+1 of vector j */
	const float *bias;  /* [nq * 16], interleaved like b */
	const float *alpha; /* [nq * 16]: lane l of vector o is channel (16o + l) mod N; PReLU only */
	int act;
	float slope;
	float *c;
	const float *res;   /* shaped like C, or NULL */
	const float *a;
	ptrdiff_t lda;
	const struct fl__convk *ck; /* non-NULL: implicit convolution */
	/* The k-pair packing, or NULL: the k inputs as kq_taps pieces of
	** kq_tap_k (a window's rows, as struct fl__convk's taps; 1 piece of k for
	** a 1x1); per piece (kq_tap_k + 1) / 2 rows of nq vectors, lane 2i + s of
	** vector j the weight of the piece's input 2kk + s (zero past its end)
	** for channel 8j + i; kbias [nq * 16], bias of channel 8j + i at lane 2i,
	** zero at 2i + 1.  Used where the rows' pieces match (kq_ukr: plain
	** rows, one even piece; kqc_ukr: a window's pieces; conv_avx512.c). */
	const float *kb, *kbias;
	int kq_taps, kq_tap_k;
};

/* Floats of per-thread scratch fl__pair_avx512 needs for K = k. */
static inline size_t fl__pair_scratch(int k) { return (size_t)2 * 28 * k + 16; }

/* ------------------------------------------------------------ reference */

/* Direct convolution of the whole batch.  w is HWIO [kh,kw,ci,co]; bias,
** alpha (alpha_n: 1 broadcasts, else co values) and res (a residual shaped
** like y, added before the activation) may be NULL. */
void fl__conv_ref(const struct fl__conv_geom *g, const float *x, const float *w, const float *bias,
                  int act, float slope, const float *alpha, int alpha_n, const float *res, float *y);
/* Depthwise: w is [kh,kw,ci,mult], output channel c*mult + m. */
void fl__dwconv_ref(const struct fl__conv_geom *g, const float *x, const float *w, const float *bias,
                    int act, float slope, const float *alpha, int alpha_n, float *y);
/* y[b][m][n] = act(op(a)[m][k] * op(b)[k][n] + bias[n]); a_stride/b_stride
** step between batches (0 broadcasts b). */
void fl__matmul_ref(int batch, int m, int n, int k, const float *a, int64_t a_stride, int ta,
                    const float *b, int64_t b_stride, int tb, const float *bias, int act, float slope,
                    const float *alpha, int alpha_n, float *y);

/* -------------------------------------------------------- x86 kernels */

/* Vector width (floats), largest vectors per GEMM panel row, and the GEMM
** micro-kernel rows for `nv` vectors -- must match MR_OF in conv_avx*.c. */
static inline int fl__isa_vw(int isa) { return isa == FL_ISA_AVX512 ? 16 : 8; }
static inline int fl__isa_nv_max(int isa) { return isa == FL_ISA_AVX512 ? 4 : 3; }
static inline int fl__gemm_mr(int isa, int nv)
{
	if (isa == FL_ISA_AVX512)
		return nv == 1 ? 14 : nv == 2 ? 12 : nv == 3 ? 8 : 6;
	return nv == 1 ? 12 : nv == 2 ? 6 : 4;
}

/* Rows [m0, m1) x panels [p0, p1) of a GEMM. */
void fl__gemm_avx512(const struct fl__gemm *g, int m0, int m1, int p0, int p1);
void fl__gemm_avx2(const struct fl__gemm *g, int m0, int m1, int p0, int p1);
/* Output pixels [m0, m1) of an implicit-GEMM convolution; scratch holds
** MR_MAX (14) x gm.k floats for this thread. */
void fl__conv_avx512(const struct fl__convk *ck, int m0, int m1, float *scratch);
void fl__conv_avx2(const struct fl__convk *ck, int m0, int m1, float *scratch);
/* Output pixels [m0, m1) of a pair GEMM (AVX-512 only). */
void fl__pair_avx512(const struct fl__pair *pp, int m0, int m1, float *scratch);
/* Output rows [r0, r1) of a depthwise conv (a row = one (n, oy)). */
void fl__dw_avx512(const struct fl__dw *d, int r0, int r1);
void fl__dw_avx2(const struct fl__dw *d, int r0, int r1);

#endif /* FL_KERN_INT_H */
