/*
** kern_simd.h -- the SIMD convolution kernels written once for any vector
** width: the GEMM micro-kernels (1x1 and im2col convolutions, matmul) and
** the direct NHWC depthwise convolution.  conv_avx512.c and conv_avx2.c
** define the vector macros below and include this file, so both families
** run the same algorithm with 16- or 8-float vectors.
**
** The including file defines:
**   VW            floats per vector (16, 8)
**   VEC, MASK     the vector and lane-mask types
**   V_LOAD(p) V_STORE(p,v) V_SET1(f) V_ZERO() V_FMA(a,b,c)=a*b+c
**   V_MAX V_MIN V_ADD V_SUB V_MUL V_DIV  lane-wise
**   V_ROUND(v)    round to nearest integer (as float)
**   V_SCALE2(v,n) v * 2^n for integral n in [-126, 127]
**   V_MASK(n)     mask of the first n lanes (1 <= n <= VW)
**   V_LOADM(p,m)  masked load (lanes off read as 0, never fault)
**   V_STOREM(p,m,v)
**   MR_OF(nv)     micro-kernel rows for nv vectors per row (<= MR_MAX)
**   NV_MAX, MR_MAX
**   FN(name)      the exported name of `name` (fl__name_avx512)
**
** GEMM: accumulators for an MR x (NV*VW) tile of C stay in registers; per
** k the kernel loads NV vectors of the packed B row and broadcasts one A
** value per row.  Bias initialises the accumulators; the activation is
** applied before the store; the last vector of a panel is stored with a
** mask when the panel runs past N.  Each (MR, NV) pair is its own
** function, generated below, so every loop over them unrolls completely.
*/
#include "../kern_int.h"

#define KS_INLINE static inline __attribute__((always_inline))
/* Hide a pointer's value from the optimiser (no instruction emitted). */
#define KS_OPAQUE(p) __asm__ volatile("" : "+r"(p))

/* e^x (Cephes expf polynomial, ~1 ulp over the clamped range). */
KS_INLINE VEC ks_exp(VEC x)
{
	x = V_MIN(V_MAX(x, V_SET1(-87.3f)), V_SET1(88.3f));
	const VEC n = V_ROUND(V_MUL(x, V_SET1(1.44269504088896341f)));
	VEC r = V_FMA(n, V_SET1(-0.693359375f), x); /* x - n ln2, two parts */
	r = V_FMA(n, V_SET1(2.12194440e-4f), r);
	VEC p = V_SET1(1.9875691500e-4f);
	p = V_FMA(p, r, V_SET1(1.3981999507e-3f));
	p = V_FMA(p, r, V_SET1(8.3334519073e-3f));
	p = V_FMA(p, r, V_SET1(4.1665795894e-2f));
	p = V_FMA(p, r, V_SET1(1.6666665459e-1f));
	p = V_FMA(p, r, V_SET1(5.0000001201e-1f));
	p = V_FMA(p, V_MUL(r, r), V_ADD(r, V_SET1(1.0f)));
	return V_SCALE2(p, n); /* p * 2^n */
}

/* Activation of one vector; alpha is the PReLU vector for these lanes. */
KS_INLINE VEC ks_act(int kind, VEC v, VEC slope_or_alpha)
{
	switch (kind) {
	case FL_ACT_RELU:
		return V_MAX(v, V_ZERO());
	case FL_ACT_RELU6:
		return V_MIN(V_MAX(v, V_ZERO()), V_SET1(6.0f));
	case FL_ACT_PRELU:
	case FL_ACT_LEAKY_RELU:
		/* max(v,0) + a * min(v,0) */
		return V_FMA(slope_or_alpha, V_MIN(v, V_ZERO()), V_MAX(v, V_ZERO()));
	case FL_ACT_SIGMOID:
		return V_DIV(V_SET1(1.0f), V_ADD(V_SET1(1.0f), ks_exp(V_SUB(V_ZERO(), v))));
	default:
		return v;
	}
}

/* ------------------------------------------------------------------ GEMM */

struct ks_tile {
	int k;
	const float *a;
	ptrdiff_t lda;
	const float *b; /* panel start */
	int nr;         /* packed row stride */
	const float *bias;
	const float *alpha; /* NULL unless PReLU */
	int act;
	float slope;
	float *c;
	ptrdiff_t ldc;
	int last; /* valid lanes of the last vector, 1..VW */
	const float *res; /* residual tile (row stride ldc), or NULL */
	/* implicit conv: row r's tap t starts at rows[r] + toff[t]; k = ci */
	const float *const *rows;
	const ptrdiff_t *toff;
	int taps;
};

KS_INLINE void ks_ukr(const int MR, const int NV, const int CONV, const struct ks_tile *t)
{
	/* fixed sizes (not VLAs) so that, fully unrolled, they become
	** registers; only MR <= MR_MAX is instantiated below */
	VEC acc[MR_MAX][NV_MAX];
	const float *ap[MR_MAX];
	const float *b = t->b;
	const int k = t->k, nr = t->nr;

#pragma GCC unroll 16
	for (int v = 0; v < NV; v++) {
		VEC bv = V_LOAD(t->bias + v * VW);
#pragma GCC unroll 32
		for (int r = 0; r < MR; r++)
			acc[r][v] = bv;
	}
	if (CONV) {
		/* taps outer, input channels inner: the packed B rows follow
		** HWIO order, so b just advances */
		for (int tp = 0; tp < t->taps; tp++) {
			const ptrdiff_t off = t->toff[tp];
#pragma GCC unroll 32
			for (int r = 0; r < MR; r++)
				ap[r] = t->rows[r] + off;
			for (int l = 0; l < k; l++) {
				VEC bb[NV_MAX];
#pragma GCC unroll 16
				for (int v = 0; v < NV; v++)
					bb[v] = V_LOAD(b + v * VW);
				b += nr;
#pragma GCC unroll 32
				for (int r = 0; r < MR; r++) {
					VEC av = V_SET1(ap[r][l]);
#pragma GCC unroll 16
					for (int v = 0; v < NV; v++)
						acc[r][v] = V_FMA(av, bb[v], acc[r][v]);
				}
			}
		}
	} else {
#pragma GCC unroll 32
		for (int r = 0; r < MR; r++)
			ap[r] = t->a + r * t->lda;
		for (int l = 0; l < k; l++) {
			VEC bb[NV_MAX];
#pragma GCC unroll 16
			for (int v = 0; v < NV; v++)
				bb[v] = V_LOAD(b + v * VW);
			b += nr;
#pragma GCC unroll 32
			for (int r = 0; r < MR; r++) {
				VEC av = V_SET1(ap[r][l]);
#pragma GCC unroll 16
				for (int v = 0; v < NV; v++)
					acc[r][v] = V_FMA(av, bb[v], acc[r][v]);
			}
		}
	}

	/* epilogue: activation + (masked) store */
	VEC sa[NV_MAX];
#pragma GCC unroll 16
	for (int v = 0; v < NV; v++)
		sa[v] = t->act == FL_ACT_PRELU ? V_LOAD(t->alpha + v * VW) : V_SET1(t->slope);
	const MASK m = V_MASK(t->last);
	if (t->res) {
#pragma GCC unroll 32
		for (int r = 0; r < MR; r++) {
			const float *rr = t->res + r * t->ldc;
#pragma GCC unroll 16
			for (int v = 0; v < NV; v++)
				acc[r][v] = V_ADD(acc[r][v], v == NV - 1 && t->last != VW ? V_LOADM(rr + v * VW, m)
				                                                          : V_LOAD(rr + v * VW));
		}
	}
#pragma GCC unroll 32
	for (int r = 0; r < MR; r++) {
		float *c = t->c + r * t->ldc;
#pragma GCC unroll 16
		for (int v = 0; v < NV; v++) {
			VEC o = ks_act(t->act, acc[r][v], sa[v]);
			if (v == NV - 1 && t->last != VW)
				V_STOREM(c + v * VW, m, o);
			else
				V_STORE(c + v * VW, o);
		}
	}
}

typedef void (*ks_ukr_fn)(const struct ks_tile *t);

#define KS_UKR_DEF(mr, nv)                                                     \
	static void ks_ukr_##mr##_##nv(const struct ks_tile *t) { ks_ukr(mr, nv, 0, t); } \
	static void ks_cukr_##mr##_##nv(const struct ks_tile *t) { ks_ukr(mr, nv, 1, t); }
/* Kernels for MR = 1 .. n rows (n = MR_OF(nv)), and their table rows (the
** entries past MR_OF(nv) stay NULL: never called, never instantiated, so
** no loop of a kernel runs past acc[MR_MAX]). */
#define KS_UPTO4(nv) KS_UKR_DEF(1, nv) KS_UKR_DEF(2, nv) KS_UKR_DEF(3, nv) KS_UKR_DEF(4, nv)
#define KS_UPTO6(nv) KS_UPTO4(nv) KS_UKR_DEF(5, nv) KS_UKR_DEF(6, nv)
#define KS_UPTO8(nv) KS_UPTO6(nv) KS_UKR_DEF(7, nv) KS_UKR_DEF(8, nv)
#define KS_UPTO12(nv) KS_UPTO8(nv) KS_UKR_DEF(9, nv) KS_UKR_DEF(10, nv) KS_UKR_DEF(11, nv) KS_UKR_DEF(12, nv)
#define KS_UPTO14(nv) KS_UPTO12(nv) KS_UKR_DEF(13, nv) KS_UKR_DEF(14, nv)
#define KS_REF4(p, nv) p##_1_##nv, p##_2_##nv, p##_3_##nv, p##_4_##nv
#define KS_REF6(p, nv) KS_REF4(p, nv), p##_5_##nv, p##_6_##nv
#define KS_REF8(p, nv) KS_REF6(p, nv), p##_7_##nv, p##_8_##nv
#define KS_REF12(p, nv) KS_REF8(p, nv), p##_9_##nv, p##_10_##nv, p##_11_##nv, p##_12_##nv
#define KS_REF14(p, nv) KS_REF12(p, nv), p##_13_##nv, p##_14_##nv

#if VW == 16
/* MR_OF: 14, 12, 8, 6 rows for 1..4 vectors */
KS_UPTO14(1)
KS_UPTO12(2)
KS_UPTO8(3)
KS_UPTO6(4)
#define KS_TABLE(p) {{KS_REF14(p, 1)}, {KS_REF12(p, 2)}, {KS_REF8(p, 3)}, {KS_REF6(p, 4)}}
#else
/* MR_OF: 12, 6, 4 rows for 1..3 vectors */
KS_UPTO12(1)
KS_UPTO6(2)
KS_UPTO4(3)
#define KS_TABLE(p) {{KS_REF12(p, 1)}, {KS_REF6(p, 2)}, {KS_REF4(p, 3)}}
#endif

static const ks_ukr_fn ks_ukr_table[NV_MAX][MR_MAX] = KS_TABLE(ks_ukr);
static const ks_ukr_fn ks_cukr_table[NV_MAX][MR_MAX] = KS_TABLE(ks_cukr);

/* One MR x panel tile of a GEMM at rows m, panel p. */
static inline void ks_gemm_tile(const struct fl__gemm *g, struct ks_tile *t, int m, int mr, int p)
{
	const int col = p * g->nr;
	const int ncol = FL_MIN(g->nr, g->n - col);
	const int nv = (ncol + VW - 1) / VW;
	t->a = g->a + m * g->lda;
	t->b = g->b + (ptrdiff_t)p * g->nr * g->k;
	t->bias = g->bias + col;
	t->alpha = g->act.alpha ? g->act.alpha + col : NULL;
	t->c = g->c + m * g->ldc + col;
	t->res = g->res ? g->res + m * g->ldc + col : NULL;
	t->last = ncol - (nv - 1) * VW;
	ks_ukr_table[nv - 1][mr - 1](t);
}

void FN(gemm)(const struct fl__gemm *g, int m0, int m1, int p0, int p1)
{
	const int mr_max = MR_OF(g->nv);
	struct ks_tile t;
	memset(&t, 0, sizeof(t));
	t.k = g->k;
	t.lda = g->lda;
	t.nr = g->nr;
	t.act = g->act.kind;
	t.slope = g->act.slope;
	t.ldc = g->ldc;
	if (m1 - m0 < (p1 - p0) * g->nr) {
		/* fewer rows than columns (late layers, FC): B is the big operand,
		** so stream each panel once and keep the rows of A in cache */
		for (int p = p0; p < p1; p++)
			for (int m = m0; m < m1; m += mr_max)
				ks_gemm_tile(g, &t, m, FL_MIN(mr_max, m1 - m), p);
	} else {
		/* many rows (early layers): keep MR rows of A in L1 across the
		** panels of B */
		for (int m = m0; m < m1; m += mr_max)
			for (int p = p0; p < p1; p++)
				ks_gemm_tile(g, &t, m, FL_MIN(mr_max, m1 - m), p);
	}
}

void FN(conv)(const struct fl__convk *ck, int m0, int m1, float *scratch)
{
	const struct fl__conv_geom *g = &ck->g;
	const struct fl__gemm *gm = &ck->gm;
	const int mr_max = MR_OF(gm->nv), plane = g->oh * g->ow;
	const int ekh = (g->kh - 1) * g->dh, ekw = (g->kw - 1) * g->dw;
	const float *rows[MR_MAX];
	struct ks_tile t;
	memset(&t, 0, sizeof(t));
	t.nr = gm->nr;
	t.act = gm->act.kind;
	t.slope = gm->act.slope;
	t.ldc = gm->ldc;
	t.rows = rows;
	t.toff = ck->toff;
	t.taps = ck->taps;
	for (int m = m0; m < m1; m += mr_max) {
		const int mr = FL_MIN(mr_max, m1 - m);
		/* every pixel's window inside the image: read in place (pixel
		** coordinates advance incrementally: no divisions per row) */
		int inside = ck->toff != NULL;
		{
			int b = m / plane, oy = (m % plane) / g->ow, ox = m % g->ow;
			for (int r = 0; r < mr && inside; r++) {
				const int iy = oy * g->sh - g->pt, ix = ox * g->sw - g->pl;
				inside = iy >= 0 && iy + ekh < g->ih && ix >= 0 && ix + ekw < g->iw;
				if (inside)
					rows[r] = ck->x + (((ptrdiff_t)b * g->ih + iy) * g->iw + ix) * g->ci;
				if (++ox == g->ow) {
					ox = 0;
					if (++oy == g->oh) {
						oy = 0;
						b++;
					}
				}
			}
		}
		if (inside) {
			t.k = ck->tap_k;
		} else {
			fl__im2col(g, ck->x, m, mr, scratch);
			t.k = gm->k;
			t.a = scratch;
			t.lda = gm->k;
		}
		const int n_panels = (gm->n + gm->nr - 1) / gm->nr;
		for (int p = 0; p < n_panels; p++) {
			const int col = p * gm->nr;
			const int ncol = FL_MIN(gm->nr, gm->n - col);
			const int nv = (ncol + VW - 1) / VW;
			t.b = gm->b + (ptrdiff_t)p * gm->nr * gm->k;
			t.bias = gm->bias + col;
			t.alpha = gm->act.alpha ? gm->act.alpha + col : NULL;
			t.c = gm->c + (ptrdiff_t)m * gm->ldc + col;
			t.res = gm->res ? gm->res + (ptrdiff_t)m * gm->ldc + col : NULL;
			t.last = ncol - (nv - 1) * VW;
			if (inside)
				ks_cukr_table[nv - 1][mr - 1](&t);
			else
				ks_ukr_table[nv - 1][mr - 1](&t);
		}
	}
}

/* ------------------------------------------------------------- depthwise */

/*
** Depthwise, multiplier 1: for each output row and each block of VW
** channels, the K input rows are given as K row pointers -- rows above or
** below the image point at a zero row (d->zero), so top/bottom padding
** costs nothing.  Columns whose window lies inside the image run the
** unrolled interior kernel (3x3 / 5x5, dilation 1); the few left/right
** edge columns skip their out-of-image taps.  Other filters go through the
** generic per-pixel loop.
*/

/* Masked or plain load of one channel block: `full` is a constant. */
#define KS_LD(full, p, m) ((full) ? V_LOAD(p) : V_LOADM(p, m))

KS_INLINE void ks_dw_out(const int full, float *y, MASK m, VEC v)
{
	if (full)
		V_STORE(y, v);
	else
		V_STOREM(y, m, v);
}

/* Generic pixel: rows [ky0, ky1), columns inside the image. */
KS_INLINE VEC ks_dw_pixel(const struct fl__dw *d, const float *xb, int iy0, int ix0, int ky0, int ky1,
                          const float *w, VEC acc, MASK m)
{
	const struct fl__conv_geom *g = &d->g;
	for (int ky = ky0; ky < ky1; ky++) {
		const int iy = iy0 + ky * g->dh;
		const float *xr = xb + (ptrdiff_t)iy * g->iw * g->ci;
		for (int kx = 0; kx < g->kw; kx++) {
			const int ix = ix0 + kx * g->dw;
			if (ix < 0 || ix >= g->iw)
				continue;
			acc = V_FMA(V_LOADM(xr + (ptrdiff_t)ix * g->ci, m), V_LOAD(w + (ky * g->kw + kx) * d->cp), acc);
		}
	}
	return acc;
}

/* One row's channel block for a K x K filter: rp[ky] point at the input
** rows (already offset to this channel block), columns [0, ow). */
KS_INLINE void ks_dw_row(const int K, const int full, const float *const *rp, int iw, int pl, int sw, int c,
                         const float *w, int cp, VEC bias, float *y, int ow, int ox_lo, int ox_hi, MASK m, int act,
                         VEC sa, int interior)
{
	VEC wt[25];
#pragma GCC unroll 25
	for (int t = 0; t < K * K; t++)
		wt[t] = V_LOAD(w + t * cp);
	const ptrdiff_t ps = (ptrdiff_t)sw * c;

	/* edge columns: taps outside the image skipped */
	for (int ox = 0; ox < ow; ox++) {
		if (ox == ox_lo && ox_hi > ox_lo)
			ox = ox_hi;
		if (ox >= ow)
			break;
		const int ix0 = ox * sw - pl;
		VEC a = bias;
#pragma GCC unroll 5
		for (int ky = 0; ky < K; ky++)
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
				const int ix = ix0 + kx;
				if (ix >= 0 && ix < iw)
					a = V_FMA(KS_LD(full, rp[ky] + (ptrdiff_t)ix * c, m), wt[ky * K + kx], a);
			}
		ks_dw_out(full, y + (ptrdiff_t)ox * c, m, ks_act(act, a, sa));
	}

	if (!interior)
		return;
	/* interior: 4 pixels per iteration, each with two accumulators (even /
	** odd taps), so 8 independent FMA chains hide the FMA latency */
	const ptrdiff_t xoff = (ptrdiff_t)(ox_lo * sw - pl) * c;
	const int count = ox_hi - ox_lo;
	float *yo = y + (ptrdiff_t)ox_lo * c;
	int i = 0;
	for (; i + 4 <= count; i += 4) {
		VEC a0 = bias, a1 = bias, a2 = bias, a3 = bias;
		VEC b0 = V_ZERO(), b1 = V_ZERO(), b2 = V_ZERO(), b3 = V_ZERO();
#pragma GCC unroll 5
		for (int ky = 0; ky < K; ky++) {
			/* opaque row pointers: the compiler addresses taps as
			** [row + kx*c] instead of hoisting K*K*4 offsets into
			** (spilled) registers */
			const float *r0 = rp[ky] + xoff + i * ps;
			KS_OPAQUE(r0);
			const float *r1 = r0 + ps, *r2 = r0 + 2 * ps, *r3 = r1 + 2 * ps;
			KS_OPAQUE(r1);
			KS_OPAQUE(r2);
			KS_OPAQUE(r3);
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
				const VEC wv = wt[ky * K + kx];
				const ptrdiff_t o = kx * c;
				if ((ky * K + kx) & 1) {
					b0 = V_FMA(KS_LD(full, r0 + o, m), wv, b0);
					b1 = V_FMA(KS_LD(full, r1 + o, m), wv, b1);
					b2 = V_FMA(KS_LD(full, r2 + o, m), wv, b2);
					b3 = V_FMA(KS_LD(full, r3 + o, m), wv, b3);
				} else {
					a0 = V_FMA(KS_LD(full, r0 + o, m), wv, a0);
					a1 = V_FMA(KS_LD(full, r1 + o, m), wv, a1);
					a2 = V_FMA(KS_LD(full, r2 + o, m), wv, a2);
					a3 = V_FMA(KS_LD(full, r3 + o, m), wv, a3);
				}
			}
		}
		float *yp = yo + i * c;
		ks_dw_out(full, yp, m, ks_act(act, V_ADD(a0, b0), sa));
		ks_dw_out(full, yp + c, m, ks_act(act, V_ADD(a1, b1), sa));
		ks_dw_out(full, yp + 2 * c, m, ks_act(act, V_ADD(a2, b2), sa));
		ks_dw_out(full, yp + 3 * c, m, ks_act(act, V_ADD(a3, b3), sa));
	}
	for (; i < count; i++) {
		VEC a0 = bias, b0 = V_ZERO();
#pragma GCC unroll 5
		for (int ky = 0; ky < K; ky++) {
			const float *r0 = rp[ky] + xoff + i * ps;
#pragma GCC unroll 5
			for (int kx = 0; kx < K; kx++) {
				if ((ky * K + kx) & 1)
					b0 = V_FMA(KS_LD(full, r0 + kx * c, m), wt[ky * K + kx], b0);
				else
					a0 = V_FMA(KS_LD(full, r0 + kx * c, m), wt[ky * K + kx], a0);
			}
		}
		ks_dw_out(full, yo + i * c, m, ks_act(act, V_ADD(a0, b0), sa));
	}
}

#define KS_DW_ROW_DEF(K)                                                                                     \
	static void ks_dw_row##K(int full, const float *const *rp, int iw, int pl, int sw, int c, const float *w, \
	                         int cp, VEC bias, float *y, int ow, int ox_lo, int ox_hi, MASK m, int act, VEC sa, \
	                         int interior)                                                                   \
	{                                                                                                        \
		if (full)                                                                                            \
			ks_dw_row(K, 1, rp, iw, pl, sw, c, w, cp, bias, y, ow, ox_lo, ox_hi, m, act, sa, interior);      \
		else                                                                                                 \
			ks_dw_row(K, 0, rp, iw, pl, sw, c, w, cp, bias, y, ow, ox_lo, ox_hi, m, act, sa, interior);      \
	}
KS_DW_ROW_DEF(3)
KS_DW_ROW_DEF(5)

/*
** Stride 1: the interior of a row seen as one flat array of (ox, c)
** values, y[j] = sum over taps of x_row[ky][j + (kx - pl) * c] * w(tap, j mod c),
** vectorised along j with every lane in use whatever c is (24 channels
** would waste half of a second 16-lane block otherwise).  The weights
** repeat every L = lcm(VW, c) floats, so the row is done in P = L / VW
** phases, each with its own pre-expanded tap vectors (d->wpat).
*/
KS_INLINE void ks_dw_flat(const int K, const struct fl__dw *d, const float *const *rows, float *yr, int ox_lo,
                          int ox_hi)
{
	const int c = d->g.ci, P = d->nphase, L = P * VW, act = d->act.kind;
	const ptrdiff_t j0 = (ptrdiff_t)ox_lo * c, j1 = (ptrdiff_t)ox_hi * c;
	const ptrdiff_t base = -(ptrdiff_t)d->g.pl * c;
	/* segments of ~1024 floats: the K input row pieces stay in L1 while the
	** P phases pass over them.  Whole 4-chunk steps (4L), so that only the
	** row's last segment leaves single chunks to the masked tail loop: a tail
	** chunk is one latency-bound FMA chain, and with ~1024-float segments of
	** whole periods alone they took a third of a 24-channel row's time. */
	const ptrdiff_t seg = (ptrdiff_t)4 * L * ((1024 + 4 * L - 1) / (4 * L));
	for (ptrdiff_t s0 = j0; s0 < j1; s0 += seg) {
		const ptrdiff_t s1 = s0 + seg < j1 ? s0 + seg : j1;
		for (int ph = 0; ph < P; ph++) {
			VEC wt[25];
			const float *wp = d->wpat + (ptrdiff_t)ph * K * K * VW;
#pragma GCC unroll 25
			for (int t = 0; t < K * K; t++)
				wt[t] = V_LOAD(wp + t * VW);
			const VEC bias = V_LOAD(d->bpat + ph * VW);
			const VEC sa = act == FL_ACT_PRELU ? V_LOAD(d->apat + ph * VW) : V_SET1(d->act.slope);
			ptrdiff_t j = s0 + ph * VW;
			for (; j + 3 * L + VW <= s1; j += 4 * L) {
				/* 4 chunks x 2 accumulators (even / odd taps): short chains */
				VEC a0 = bias, a1 = bias, a2 = bias, a3 = bias;
				VEC b0 = V_ZERO(), b1 = V_ZERO(), b2 = V_ZERO(), b3 = V_ZERO();
#pragma GCC unroll 5
				for (int ky = 0; ky < K; ky++) {
					const float *r0 = rows[ky] + base + j;
					KS_OPAQUE(r0);
					const float *r1 = r0 + L, *r2 = r0 + 2 * L, *r3 = r1 + 2 * L;
					KS_OPAQUE(r1);
					KS_OPAQUE(r2);
					KS_OPAQUE(r3);
#pragma GCC unroll 5
					for (int kx = 0; kx < K; kx++) {
						const VEC wv = wt[ky * K + kx];
						const ptrdiff_t o = (ptrdiff_t)kx * c;
						if ((ky * K + kx) & 1) {
							b0 = V_FMA(V_LOAD(r0 + o), wv, b0);
							b1 = V_FMA(V_LOAD(r1 + o), wv, b1);
							b2 = V_FMA(V_LOAD(r2 + o), wv, b2);
							b3 = V_FMA(V_LOAD(r3 + o), wv, b3);
						} else {
							a0 = V_FMA(V_LOAD(r0 + o), wv, a0);
							a1 = V_FMA(V_LOAD(r1 + o), wv, a1);
							a2 = V_FMA(V_LOAD(r2 + o), wv, a2);
							a3 = V_FMA(V_LOAD(r3 + o), wv, a3);
						}
					}
				}
				V_STORE(yr + j, ks_act(act, V_ADD(a0, b0), sa));
				V_STORE(yr + j + L, ks_act(act, V_ADD(a1, b1), sa));
				V_STORE(yr + j + 2 * L, ks_act(act, V_ADD(a2, b2), sa));
				V_STORE(yr + j + 3 * L, ks_act(act, V_ADD(a3, b3), sa));
			}
			if (j < s1) {
				/* the last (up to 4) chunks together, masked: independent
				** chains instead of one latency-bound chain per chunk */
				MASK m[4];
				VEC a[4], b[4];
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++) {
					const ptrdiff_t left = s1 - (j + (ptrdiff_t)i * L);
					m[i] = V_MASK(left <= 0 ? 0 : left < VW ? (int)left : VW);
					a[i] = bias;
					b[i] = V_ZERO();
				}
#pragma GCC unroll 5
				for (int ky = 0; ky < K; ky++)
#pragma GCC unroll 5
					for (int kx = 0; kx < K; kx++) {
						const float *xp = rows[ky] + base + j + (ptrdiff_t)kx * c;
#pragma GCC unroll 4
						for (int i = 0; i < 4; i++) {
							const VEC xv = V_LOADM(xp + (ptrdiff_t)i * L, m[i]);
							if ((ky * K + kx) & 1)
								b[i] = V_FMA(xv, wt[ky * K + kx], b[i]);
							else
								a[i] = V_FMA(xv, wt[ky * K + kx], a[i]);
						}
					}
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++)
					V_STOREM(yr + j + (ptrdiff_t)i * L, m[i], ks_act(act, V_ADD(a[i], b[i]), sa));
			}
		}
	}
}

static void ks_dw_flat3(const struct fl__dw *d, const float *const *rows, float *yr, int ox_lo, int ox_hi)
{
	ks_dw_flat(3, d, rows, yr, ox_lo, ox_hi);
}

static void ks_dw_flat5(const struct fl__dw *d, const float *const *rows, float *yr, int ox_lo, int ox_hi)
{
	ks_dw_flat(5, d, rows, yr, ox_lo, ox_hi);
}

/*
** Two output rows of the stride-1 3x3 flat kernel at once: they share two
** of their input rows, so each vector of the four input rows is loaded once
** and feeds both rows' accumulators (2/3 of a load per FMA instead of one;
** with c = 24 most of these loads straddle two cache lines).  rows[0..3]:
** the input rows of output row 0 (rows 0-2) and row 1 (rows 1-3).
*/
static void ks_dw_flat3x2(const struct fl__dw *d, const float *const *rows, float *yr0, float *yr1, int ox_lo,
                          int ox_hi)
{
	const int c = d->g.ci, P = d->nphase, L = P * VW, act = d->act.kind;
	const ptrdiff_t j0 = (ptrdiff_t)ox_lo * c, j1 = (ptrdiff_t)ox_hi * c;
	const ptrdiff_t base = -(ptrdiff_t)d->g.pl * c;
	const ptrdiff_t seg = (ptrdiff_t)4 * L * ((1024 + 4 * L - 1) / (4 * L));
	for (ptrdiff_t s0 = j0; s0 < j1; s0 += seg) {
		const ptrdiff_t s1 = s0 + seg < j1 ? s0 + seg : j1;
		for (int ph = 0; ph < P; ph++) {
			VEC wt[9];
			const float *wp = d->wpat + (ptrdiff_t)ph * 9 * VW;
#pragma GCC unroll 9
			for (int t = 0; t < 9; t++)
				wt[t] = V_LOAD(wp + t * VW);
			const VEC bias = V_LOAD(d->bpat + ph * VW);
			const VEC sa = act == FL_ACT_PRELU ? V_LOAD(d->apat + ph * VW) : V_SET1(d->act.slope);
			ptrdiff_t j = s0 + ph * VW;
			for (; j + 3 * L + VW <= s1; j += 4 * L) {
				/* 4 chunks x 2 rows: 8 accumulators */
				VEC a0 = bias, a1 = bias, a2 = bias, a3 = bias;
				VEC b0 = bias, b1 = bias, b2 = bias, b3 = bias;
#pragma GCC unroll 4
				for (int iy = 0; iy < 4; iy++) {
					const float *r0 = rows[iy] + base + j;
					KS_OPAQUE(r0);
					const float *r1 = r0 + L, *r2 = r0 + 2 * L, *r3 = r1 + 2 * L;
					KS_OPAQUE(r1);
					KS_OPAQUE(r2);
					KS_OPAQUE(r3);
#pragma GCC unroll 3
					for (int kx = 0; kx < 3; kx++) {
						const ptrdiff_t o = (ptrdiff_t)kx * c;
						const VEC x0 = V_LOAD(r0 + o), x1 = V_LOAD(r1 + o), x2 = V_LOAD(r2 + o),
						          x3 = V_LOAD(r3 + o);
						if (iy < 3) {
							const VEC wv = wt[iy * 3 + kx];
							a0 = V_FMA(x0, wv, a0);
							a1 = V_FMA(x1, wv, a1);
							a2 = V_FMA(x2, wv, a2);
							a3 = V_FMA(x3, wv, a3);
						}
						if (iy > 0) {
							const VEC wv = wt[(iy - 1) * 3 + kx];
							b0 = V_FMA(x0, wv, b0);
							b1 = V_FMA(x1, wv, b1);
							b2 = V_FMA(x2, wv, b2);
							b3 = V_FMA(x3, wv, b3);
						}
					}
				}
				V_STORE(yr0 + j, ks_act(act, a0, sa));
				V_STORE(yr0 + j + L, ks_act(act, a1, sa));
				V_STORE(yr0 + j + 2 * L, ks_act(act, a2, sa));
				V_STORE(yr0 + j + 3 * L, ks_act(act, a3, sa));
				V_STORE(yr1 + j, ks_act(act, b0, sa));
				V_STORE(yr1 + j + L, ks_act(act, b1, sa));
				V_STORE(yr1 + j + 2 * L, ks_act(act, b2, sa));
				V_STORE(yr1 + j + 3 * L, ks_act(act, b3, sa));
			}
			if (j < s1) {
				/* the last (up to 4) chunks of both rows, masked */
				MASK m[4];
				VEC a[4], b[4];
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++) {
					const ptrdiff_t left = s1 - (j + (ptrdiff_t)i * L);
					m[i] = V_MASK(left <= 0 ? 0 : left < VW ? (int)left : VW);
					a[i] = bias;
					b[i] = bias;
				}
#pragma GCC unroll 4
				for (int iy = 0; iy < 4; iy++)
#pragma GCC unroll 3
					for (int kx = 0; kx < 3; kx++) {
						const float *xp = rows[iy] + base + j + (ptrdiff_t)kx * c;
#pragma GCC unroll 4
						for (int i = 0; i < 4; i++) {
							const VEC xv = V_LOADM(xp + (ptrdiff_t)i * L, m[i]);
							if (iy < 3)
								a[i] = V_FMA(xv, wt[iy * 3 + kx], a[i]);
							if (iy > 0)
								b[i] = V_FMA(xv, wt[(iy - 1) * 3 + kx], b[i]);
						}
					}
#pragma GCC unroll 4
				for (int i = 0; i < 4; i++) {
					V_STOREM(yr0 + j + (ptrdiff_t)i * L, m[i], ks_act(act, a[i], sa));
					V_STOREM(yr1 + j + (ptrdiff_t)i * L, m[i], ks_act(act, b[i], sa));
				}
			}
		}
	}
}

static inline int ks_cdiv(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

void FN(dw)(const struct fl__dw *d, int r0, int r1)
{
	const struct fl__conv_geom *g = &d->g;
	const int c = g->ci;
	const int act = d->act.kind;
	/* interior columns: ox*sw - pl >= 0 and ox*sw - pl + (kw-1)*dw <= iw-1 */
	int ox_lo = FL_MIN(g->ow, ks_cdiv(g->pl, g->sw));
	int hi_num = g->iw - 1 - (g->kw - 1) * g->dw + g->pl;
	int ox_hi = hi_num < 0 ? 0 : FL_MIN(g->ow, hi_num / g->sw + 1);
	if (ox_hi < ox_lo)
		ox_hi = ox_lo;
	const int fast = g->kh == g->kw && (g->kh == 3 || g->kh == 5) && g->dh == 1 && g->dw == 1 && d->zero;

	/* stride-1 3x3 flat rows go two at a time */
	const int pairs = fast && g->kh == 3 && g->sh == 1 && g->sw == 1 && d->wpat && ox_hi > ox_lo &&
	                  (!d->yrow || d->yrow_ld);
	for (int r = r0; r < r1; r++) {
		const int b = r / g->oh, oy = r % g->oh;
		const int iy0 = oy * g->sh - g->pt;
		const float *xb = d->x + (ptrdiff_t)b * g->ih * g->iw * c;
		float *yr = d->yrow ? d->yrow + (r - r0) * d->yrow_ld : d->y + ((ptrdiff_t)b * g->oh + oy) * g->ow * c;
		if (pairs && r + 1 < r1 && oy + 1 < g->oh) {
			const float *rows[4];
			for (int ky = 0; ky < 4; ky++) {
				const int iy = iy0 + ky;
				rows[ky] = iy >= 0 && iy < g->ih ? xb + (ptrdiff_t)iy * g->iw * c : d->zero;
			}
			float *yr1 = d->yrow ? yr + d->yrow_ld : yr + (ptrdiff_t)g->ow * c;
			/* edge columns of both rows, then their interiors together */
			for (int cb = 0; cb < c; cb += VW) {
				const int full = cb + VW <= c;
				const MASK m = V_MASK(full ? VW : c - cb);
				const VEC bias = V_LOAD(d->bias + cb);
				const VEC sa = act == FL_ACT_PRELU ? V_LOAD(d->act.alpha + cb) : V_SET1(d->act.slope);
				const float *rp[4];
				for (int ky = 0; ky < 4; ky++)
					rp[ky] = rows[ky] + cb;
				ks_dw_row3(full, rp, g->iw, g->pl, 1, c, d->w + cb, d->cp, bias, yr + cb, g->ow, ox_lo, ox_hi, m,
				           act, sa, 0);
				ks_dw_row3(full, rp + 1, g->iw, g->pl, 1, c, d->w + cb, d->cp, bias, yr1 + cb, g->ow, ox_lo, ox_hi,
				           m, act, sa, 0);
			}
			ks_dw_flat3x2(d, rows, yr, yr1, ox_lo, ox_hi);
			r++;
			continue;
		}
		if (fast) {
			const float *rows[5];
			for (int ky = 0; ky < g->kh; ky++) {
				const int iy = iy0 + ky;
				rows[ky] = iy >= 0 && iy < g->ih ? xb + (ptrdiff_t)iy * g->iw * c : d->zero;
			}
			const int flat = g->sw == 1 && d->wpat;
			for (int cb = 0; cb < c; cb += VW) {
				const int full = cb + VW <= c;
				const MASK m = V_MASK(full ? VW : c - cb);
				const VEC bias = V_LOAD(d->bias + cb);
				const VEC sa = act == FL_ACT_PRELU ? V_LOAD(d->act.alpha + cb) : V_SET1(d->act.slope);
				const float *rp[5];
				for (int ky = 0; ky < g->kh; ky++)
					rp[ky] = rows[ky] + cb;
				(g->kh == 3 ? ks_dw_row3 : ks_dw_row5)(full, rp, g->iw, g->pl, g->sw, c, d->w + cb, d->cp, bias,
				                                       yr + cb, g->ow, ox_lo, ox_hi, m, act, sa, !flat);
			}
			if (flat && ox_hi > ox_lo)
				(g->kh == 3 ? ks_dw_flat3 : ks_dw_flat5)(d, rows, yr, ox_lo, ox_hi);
		} else {
			int ky0 = iy0 < 0 ? ks_cdiv(-iy0, g->dh) : 0;
			int ky1 = g->ih - iy0 <= 0 ? 0 : FL_MIN(g->kh, ks_cdiv(g->ih - iy0, g->dh));
			if (ky1 < ky0)
				ky1 = ky0;
			for (int cb = 0; cb < c; cb += VW) {
				const MASK m = V_MASK(FL_MIN(VW, c - cb));
				const VEC bias = V_LOAD(d->bias + cb);
				const VEC sa = act == FL_ACT_PRELU ? V_LOAD(d->act.alpha + cb) : V_SET1(d->act.slope);
				for (int ox = 0; ox < g->ow; ox++) {
					VEC acc = ks_dw_pixel(d, xb + cb, iy0, ox * g->sw - g->pl, ky0, ky1, d->w + cb, bias, m);
					V_STOREM(yr + (ptrdiff_t)ox * c + cb, m, ks_act(act, acc, sa));
				}
			}
		}
	}
}
