/*
** conv_avx512.c -- the AVX-512 convolution kernels: kern_simd.h with
** 16-float zmm vectors and mask registers for channel tails.  Built with
** -mavx512f/bw/dq/vl (Makefile rule for *_avx512.c); conv.c only calls
** these for nodes that prepare() packed for FL_ISA_AVX512.
**
** GEMM tiles: 14 rows x 16, 12 x 32, 8 x 48, 6 x 64 floats, so that
** MR * NV accumulators + NV B vectors + 1 broadcast fit 32 zmm registers.
** Below them, the GEMMs for 8 and 24 output channels: the pixel-pair GEMM
** (A interleaved two pixels at a time) and its k-pair form for plain rows
** (A read in place, two inputs of one pixel per lane pair).
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

/* ---------------------------------------------------------- pair GEMM */

/*
** The pixel-pair GEMM for N = 8 * NQ output channels, NQ 1 or 3 (8, 24;
** at 40 the plain 3-vector panels measured as fast): plain NR-wide panels would leave 8 of every 16 lanes idle in the
** last vector.  Here two pixels share each vector instead: lane 2i + s of
** vector j holds channel 8j + i of pixel s of the pair, so NQ vectors
** carry both pixels' N channels with no idle lane.  A is first gathered
** pair-interleaved (a[k][s], the pair's two values of input k adjacent)
** so that one 64-bit broadcast feeds every vector of the pair; B is packed
** with each weight duplicated over both lanes (struct fl__pair).  In the
** store, the interleaved lanes are permuted back: the pair's 2N outputs
** are contiguous in C (ldc == N), so they leave as NQ full vectors.
*/

struct kp_tile {
	int k;
	const float *a; /* pair q at a + q * 2k */
	const float *b; /* [k][NQ * 16] */
	const float *bias; /* [NQ * 16] interleaved */
	const float *alpha; /* [NQ * 16] in output order, PReLU only */
	int act;
	float slope;
	float *c; /* pair q at c + q * 2N */
	const float *res;
};

KS_INLINE __m512 kp_bcast2(const float *p)
{
	double d;
	memcpy(&d, p, sizeof(d));
	return _mm512_castpd_ps(_mm512_set1_pd(d));
}

KS_INLINE void kp_ukr(const int MQ, const int NQ, const struct kp_tile *t)
{
	__m512 acc[14][5];
	const int k = t->k;
	const float *b = t->b;
#pragma GCC unroll 8
	for (int v = 0; v < NQ; v++) {
		const __m512 bv = _mm512_loadu_ps(t->bias + v * 16);
#pragma GCC unroll 16
		for (int q = 0; q < MQ; q++)
			acc[q][v] = bv;
	}
	for (int l = 0; l < k; l++) {
		__m512 bb[5];
#pragma GCC unroll 8
		for (int v = 0; v < NQ; v++)
			bb[v] = _mm512_loadu_ps(b + v * 16);
		b += NQ * 16;
#pragma GCC unroll 16
		for (int q = 0; q < MQ; q++) {
			const __m512 av = kp_bcast2(t->a + (ptrdiff_t)q * 2 * k + 2 * l);
#pragma GCC unroll 8
			for (int v = 0; v < NQ; v++)
				acc[q][v] = _mm512_fmadd_ps(av, bb[v], acc[q][v]);
		}
	}
	/* output vector o takes halves h = 2o, 2o+1 of the pair's stream:
	** half h is pixel h / NQ's lanes of accumulator h % NQ */
	__m512i idx[5];
	__m512 sa[5];
#pragma GCC unroll 8
	for (int o = 0; o < NQ; o++) {
		const int h0 = 2 * o, h1 = 2 * o + 1;
		const int s0 = h0 / NQ, s1 = h1 / NQ;
		int ix[16];
		for (int i = 0; i < 8; i++) {
			ix[i] = 2 * i + s0;
			ix[8 + i] = 16 + 2 * i + s1;
		}
		idx[o] = _mm512_loadu_si512(ix);
		sa[o] = t->act == FL_ACT_PRELU ? _mm512_loadu_ps(t->alpha + o * 16) : _mm512_set1_ps(t->slope);
	}
#pragma GCC unroll 16
	for (int q = 0; q < MQ; q++) {
		float *c = t->c + (ptrdiff_t)q * NQ * 16;
#pragma GCC unroll 8
		for (int o = 0; o < NQ; o++) {
			__m512 v = _mm512_permutex2var_ps(acc[q][(2 * o) % NQ], idx[o], acc[q][(2 * o + 1) % NQ]);
			if (t->res)
				v = _mm512_add_ps(v, _mm512_loadu_ps(t->res + (ptrdiff_t)q * NQ * 16 + o * 16));
			_mm512_storeu_ps(c + o * 16, ks_act(t->act, v, sa[o]));
		}
	}
}

typedef void (*kp_ukr_fn)(const struct kp_tile *t);
#define KP_DEF(mq, nq)                                                         \
	static void kp_ukr_##mq##_##nq(const struct kp_tile *t) { kp_ukr(mq, nq, t); }
KP_DEF(1, 1) KP_DEF(2, 1) KP_DEF(3, 1) KP_DEF(4, 1) KP_DEF(5, 1) KP_DEF(6, 1) KP_DEF(7, 1)
KP_DEF(8, 1) KP_DEF(9, 1) KP_DEF(10, 1) KP_DEF(11, 1) KP_DEF(12, 1) KP_DEF(13, 1) KP_DEF(14, 1)
KP_DEF(1, 3) KP_DEF(2, 3) KP_DEF(3, 3) KP_DEF(4, 3) KP_DEF(5, 3) KP_DEF(6, 3) KP_DEF(7, 3) KP_DEF(8, 3)

/* pairs per tile for NQ vectors: MQ * NQ accumulators + NQ + 1 <= 32 */
#define KP_MQ(nq) ((nq) == 1 ? 14 : 8)
static const kp_ukr_fn kp_tab1[14] = {kp_ukr_1_1, kp_ukr_2_1, kp_ukr_3_1, kp_ukr_4_1, kp_ukr_5_1,
                                      kp_ukr_6_1, kp_ukr_7_1, kp_ukr_8_1, kp_ukr_9_1, kp_ukr_10_1,
                                      kp_ukr_11_1, kp_ukr_12_1, kp_ukr_13_1, kp_ukr_14_1};
static const kp_ukr_fn kp_tab3[8] = {kp_ukr_1_3, kp_ukr_2_3, kp_ukr_3_3, kp_ukr_4_3,
                                     kp_ukr_5_3, kp_ukr_6_3, kp_ukr_7_3, kp_ukr_8_3};

static void kp_call(int nq, int mq, const struct kp_tile *t)
{
	if (nq == 1)
		kp_tab1[mq - 1](t);
	else
		kp_tab3[mq - 1](t);
}

/* Interleave len floats of p0 and p1 into dst (2 * len floats). */
static inline void kp_zip(float *dst, const float *p0, const float *p1, int len)
{
	const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
	for (int j = 0; j < len; j += 16) {
		const int n = len - j < 16 ? len - j : 16;
		const __mmask16 m = V_MASK(n);
		const __m512 a = _mm512_maskz_loadu_ps(m, p0 + j), b = _mm512_maskz_loadu_ps(m, p1 + j);
		const __m512 zl = _mm512_permutex2var_ps(a, lo, b), zh = _mm512_permutex2var_ps(a, hi, b);
		if (n == 16) {
			_mm512_storeu_ps(dst + 2 * j, zl);
			_mm512_storeu_ps(dst + 2 * j + 16, zh);
		} else {
			_mm512_mask_storeu_ps(dst + 2 * j, V_MASK(n >= 8 ? 16 : 2 * n), zl);
			if (n > 8)
				_mm512_mask_storeu_ps(dst + 2 * j + 16, V_MASK(2 * n - 16), zh);
		}
	}
}

/* kp_zip for len a multiple of 8: per 8 floats of each pixel two 256-bit
** loads, one permute, one store (no masks, no read past either row). */
static inline void kp_zip8(float *dst, const float *p0, const float *p1, int len)
{
	const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	for (int j = 0; j < len; j += 8) {
		const __m512 a = _mm512_castps256_ps512(_mm256_loadu_ps(p0 + j));
		const __m512 b = _mm512_castps256_ps512(_mm256_loadu_ps(p1 + j));
		_mm512_storeu_ps(dst + 2 * j, _mm512_permutex2var_ps(a, lo, b));
	}
}

/*
** Zip contiguous pairs: pixel 2q + s's A row is the k floats at
** a + (2q + s) * k (k a multiple of 8, here K), so a pair is 2K contiguous
** floats -- 2K / 16 whole vectors, loaded once.  Output vector m (inputs
** 8m .. 8m + 7) takes pixel 0's 8 values from half (m % 2) of vector m / 2
** and pixel 1's from half ((K + 8m) / 8) % 2 of vector (K + 8m) / 16: one
** permute each, no masks, no per-piece bookkeeping (this gather is a third of
** a K = 24 pair GEMM's time done piece by piece).
*/
KS_INLINE void kp_zipc_k(const int K, float *dst, const float *a, int pairs)
{
	/* idx[h0][h1]: lane 2i <- lane 8 h0 + i of the first source, lane 2i + 1
	** <- lane 8 h1 + i of the second */
	__m512i idx[2][2];
	for (int h0 = 0; h0 < 2; h0++)
		for (int h1 = 0; h1 < 2; h1++) {
			int ix[16];
			for (int i = 0; i < 8; i++) {
				ix[2 * i] = 8 * h0 + i;
				ix[2 * i + 1] = 16 + 8 * h1 + i;
			}
			idx[h0][h1] = _mm512_loadu_si512(ix);
		}
	for (int q = 0; q < pairs; q++) {
		const float *src = a + (ptrdiff_t)q * 2 * K;
		float *d = dst + (ptrdiff_t)q * 2 * K;
		__m512 v[16];
#pragma GCC unroll 16
		for (int i = 0; i < 2 * K / 16; i++)
			v[i] = _mm512_loadu_ps(src + 16 * i);
#pragma GCC unroll 16
		for (int m = 0; m < K / 8; m++) {
			const int f1 = K + 8 * m;
			_mm512_storeu_ps(d + 16 * m,
			                 _mm512_permutex2var_ps(v[m / 2], idx[m % 2][(f1 / 8) % 2], v[f1 / 16]));
		}
	}
}

static void kp_zipc24(float *dst, const float *a, int pairs) { kp_zipc_k(24, dst, a, pairs); }

static void kp_zipc(float *dst, const float *a, int pairs, int k)
{
	switch (k) {
	case 8: kp_zipc_k(8, dst, a, pairs); break;
	case 16: kp_zipc_k(16, dst, a, pairs); break;
	case 24: kp_zipc24(dst, a, pairs); break;
	case 32: kp_zipc_k(32, dst, a, pairs); break;
	case 40: kp_zipc_k(40, dst, a, pairs); break;
	case 48: kp_zipc_k(48, dst, a, pairs); break;
	case 64: kp_zipc_k(64, dst, a, pairs); break;
	}
}

/* kp_zipc handles this k */
static int kp_zipc_ok(int k) { return k == 8 || k == 16 || k == 24 || k == 32 || k == 40 || k == 48 || k == 64; }

/* One pair's taps of tap_k < 16 floats each (the first convolution: 5
** taps of 5 x 3 floats): one masked load per pixel and tap, masks and
** permutes hoisted out of the loop (kp_zip's general loop spent more than
** the kernel's FMAs' worth here). */
static void kp_zip_small(float *d, const float *p0, const ptrdiff_t *o0, const float *p1, const ptrdiff_t *o1,
                         int taps, int tap_k)
{
	const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
	const __mmask16 m = V_MASK(tap_k);
	if (tap_k > 8) {
		const __mmask16 mh = V_MASK(2 * tap_k - 16);
		for (int t = 0; t < taps; t++) {
			const __m512 a = _mm512_maskz_loadu_ps(m, p0 + o0[t]), b = _mm512_maskz_loadu_ps(m, p1 + o1[t]);
			float *dt = d + 2 * t * tap_k;
			_mm512_storeu_ps(dt, _mm512_permutex2var_ps(a, lo, b));
			_mm512_mask_storeu_ps(dt + 16, mh, _mm512_permutex2var_ps(a, hi, b));
		}
	} else {
		const __mmask16 ml = V_MASK(2 * tap_k);
		for (int t = 0; t < taps; t++) {
			const __m512 a = _mm512_maskz_loadu_ps(m, p0 + o0[t]), b = _mm512_maskz_loadu_ps(m, p1 + o1[t]);
			_mm512_mask_storeu_ps(d + 2 * t * tap_k, ml, _mm512_permutex2var_ps(a, lo, b));
		}
	}
}

/* Gather pair tile rows: pixel r's A row is taps pieces of tap_k floats at
** rows[r] + offs[r][t]; an odd last pixel is paired with itself. */
static void kp_gather(float *dst, const float *const *rows, const ptrdiff_t *const *offs, int cnt, int taps,
                      int tap_k)
{
	const int k = taps * tap_k;
	for (int r = 0; r < cnt; r += 2) {
		const int r1 = r + 1 < cnt ? r + 1 : r;
		const float *p0 = rows[r], *p1 = rows[r1];
		const ptrdiff_t *o0 = offs[r], *o1 = offs[r1];
		float *d = dst + (ptrdiff_t)r * k;
		if (tap_k % 8 == 0)
			for (int t = 0; t < taps; t++)
				kp_zip8(d + 2 * t * tap_k, p0 + o0[t], p1 + o1[t], tap_k);
		else if (tap_k < 16)
			kp_zip_small(d, p0, o0, p1, o1, taps, tap_k);
		else
			for (int t = 0; t < taps; t++)
				kp_zip(d + 2 * t * tap_k, p0 + o0[t], p1 + o1[t], tap_k);
	}
}

/* One tile of cnt pixels (<= 2 * KP_MQ) starting at output pixel m, A
** already gathered into a. */
static void kp_tile_run(const struct fl__pair *pp, int m, int cnt, const float *a)
{
	const int nq = pp->nq, n = nq * 8;
	struct kp_tile t;
	t.k = pp->k;
	t.a = a;
	t.b = pp->b;
	t.bias = pp->bias;
	t.alpha = pp->alpha;
	t.act = pp->act;
	t.slope = pp->slope;
	t.c = pp->c + (ptrdiff_t)m * n;
	t.res = pp->res ? pp->res + (ptrdiff_t)m * n : NULL;
	const int pairs = cnt / 2;
	if (pairs)
		kp_call(nq, pairs, &t);
	if (cnt & 1) {
		/* the odd pixel, paired with itself, through a local C */
		float cbuf[80], rbuf[80];
		t.a = a + (ptrdiff_t)pairs * 2 * t.k;
		float *c = t.c + (ptrdiff_t)pairs * 2 * n;
		if (t.res) {
			memcpy(rbuf, t.res + (ptrdiff_t)pairs * 2 * n, n * sizeof(float));
			memset(rbuf + n, 0, n * sizeof(float));
			t.res = rbuf;
		}
		t.c = cbuf;
		kp_call(nq, 1, &t);
		memcpy(c, cbuf, n * sizeof(float));
	}
}

/* The k-pair store: lane pairs summed, residual, activation; pixel r's N
** outputs at c0 + r * N. */
KS_INLINE void kq_store(const int MR, const int NQ, __m512 (*acc)[3], float *c0, const float *res, int act,
                        float slope, const float *alpha)
{
	/* pixels in pairs: the pair's 2 NQ half-vectors (8 channels each) in
	** output order are half h -> pixel h / NQ, accumulator h % NQ; output
	** vector o sums the lane pairs of halves 2o and 2o + 1 */
	const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
	const int N = NQ * 8;
#pragma GCC unroll 16
	for (int r = 0; r < MR; r += 2) {
		const int two = r + 1 < MR; /* else a last pixel alone: NQ halves */
		const int halves = two ? 2 * NQ : NQ;
		float *c = c0 + (ptrdiff_t)r * N;
		const float *rs = res ? res + (ptrdiff_t)r * N : NULL;
#pragma GCC unroll 4
		for (int o = 0; o < NQ; o++) {
			const int h0 = 2 * o, h1 = 2 * o + 1;
			if (h0 >= halves)
				break;
			const __m512 x0 = acc[r + h0 / NQ][h0 % NQ];
			const __m512 x1 = h1 < halves ? acc[r + h1 / NQ][h1 % NQ] : _mm512_setzero_ps();
			__m512 y = _mm512_add_ps(_mm512_permutex2var_ps(x0, ev, x1), _mm512_permutex2var_ps(x0, od, x1));
			const __mmask16 m = h1 < halves ? 0xFFFF : 0x00FF;
			if (rs)
				y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, rs + o * 16));
			const __m512 sa = act == FL_ACT_PRELU ? _mm512_loadu_ps(alpha + o * 16) : _mm512_set1_ps(slope);
			y = ks_act(act, y, sa);
			if (h1 < halves)
				_mm512_storeu_ps(c + o * 16, y);
			else
				_mm512_mask_storeu_ps(c + o * 16, m, y);
		}
	}
}

/*
** The k-pair GEMM for plain rows (a 1x1 convolution's input, the separable
** conv's depthwise row) and K even: a 64-bit broadcast of two consecutive
** inputs (2kk, 2kk + 1) of ONE pixel, straight from its NHWC row, times a
** vector whose lanes 2i, 2i + 1 hold those inputs' weights for channel
** 8j + i.  Lanes 2i and 2i + 1 then carry two halves of channel 8j + i's sum;
** the epilogue adds them (two permutes and an add per output vector, the
** pixel-pair GEMM's permute count) -- and no gather pass at all: A is read
** in place.  Same FMA count as the pair GEMM, no idle lane.  Tiles of MR
** pixels; MR * NQ accumulators + NQ + 1 <= 32.
*/
struct kq_tile {
	int kh;                   /* K / 2 */
	const float *a;           /* pixel r's row at a + r * lda */
	ptrdiff_t lda;
	const float *b;           /* [kh][NQ * 16] */
	const float *bias;        /* [NQ * 16] */
	const float *alpha;       /* [NQ * 16] output order, PReLU only */
	int act;
	float slope;
	float *c;                 /* pixel r's outputs at c + r * N */
	const float *res;
};

KS_INLINE void kq_ukr(const int MR, const int NQ, const struct kq_tile *t)
{
	__m512 acc[16][3];
	const float *ap[16];
	const float *b = t->b;
#pragma GCC unroll 16
	for (int r = 0; r < MR; r++)
		ap[r] = t->a + r * t->lda;
#pragma GCC unroll 4
	for (int v = 0; v < NQ; v++) {
		const __m512 bv = _mm512_loadu_ps(t->bias + v * 16);
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++)
			acc[r][v] = bv;
	}
	for (int kk = 0; kk < t->kh; kk++) {
		__m512 bb[3];
#pragma GCC unroll 4
		for (int v = 0; v < NQ; v++)
			bb[v] = _mm512_loadu_ps(b + v * 16);
		b += NQ * 16;
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++) {
			const __m512 av = kp_bcast2(ap[r] + 2 * kk);
#pragma GCC unroll 4
			for (int v = 0; v < NQ; v++)
				acc[r][v] = _mm512_fmadd_ps(av, bb[v], acc[r][v]);
		}
	}
	kq_store(MR, NQ, acc, t->c, t->res, t->act, t->slope, t->alpha);
}

#define KQ_DEF(mr, nq)                                                         \
	static void kq_ukr_##mr##_##nq(const struct kq_tile *t) { kq_ukr(mr, nq, t); }
KQ_DEF(1, 1) KQ_DEF(2, 1) KQ_DEF(3, 1) KQ_DEF(4, 1) KQ_DEF(5, 1) KQ_DEF(6, 1) KQ_DEF(7, 1) KQ_DEF(8, 1)
KQ_DEF(9, 1) KQ_DEF(10, 1) KQ_DEF(11, 1) KQ_DEF(12, 1) KQ_DEF(13, 1) KQ_DEF(14, 1) KQ_DEF(15, 1) KQ_DEF(16, 1)
KQ_DEF(1, 3) KQ_DEF(2, 3) KQ_DEF(3, 3) KQ_DEF(4, 3) KQ_DEF(5, 3) KQ_DEF(6, 3) KQ_DEF(7, 3) KQ_DEF(8, 3)

typedef void (*kq_ukr_fn)(const struct kq_tile *t);
/* pixels per tile for NQ vectors: MR * NQ accumulators + NQ + 1 <= 32 */
#define KQ_MR(nq) ((nq) == 1 ? 16 : 8)
static const kq_ukr_fn kq_tab1[16] = {kq_ukr_1_1,  kq_ukr_2_1,  kq_ukr_3_1,  kq_ukr_4_1,  kq_ukr_5_1,  kq_ukr_6_1,
                                      kq_ukr_7_1,  kq_ukr_8_1,  kq_ukr_9_1,  kq_ukr_10_1, kq_ukr_11_1, kq_ukr_12_1,
                                      kq_ukr_13_1, kq_ukr_14_1, kq_ukr_15_1, kq_ukr_16_1};
static const kq_ukr_fn kq_tab3[8] = {kq_ukr_1_3, kq_ukr_2_3, kq_ukr_3_3, kq_ukr_4_3,
                                     kq_ukr_5_3, kq_ukr_6_3, kq_ukr_7_3, kq_ukr_8_3};

static void kq_run(const struct fl__pair *pp, int m0, int m1)
{
	const int nq = pp->nq, n = nq * 8, mr = KQ_MR(nq);
	struct kq_tile t;
	t.kh = pp->k / 2;
	t.lda = pp->lda;
	t.b = pp->kb;
	t.bias = pp->kbias;
	t.alpha = pp->alpha;
	t.act = pp->act;
	t.slope = pp->slope;
	for (int m = m0; m < m1; m += mr) {
		const int cnt = m1 - m < mr ? m1 - m : mr;
		t.a = pp->a + (ptrdiff_t)m * pp->lda;
		t.c = pp->c + (ptrdiff_t)m * n;
		t.res = pp->res ? pp->res + (ptrdiff_t)m * n : NULL;
		if (nq == 1)
			kq_tab1[cnt - 1](&t);
		else
			kq_tab3[cnt - 1](&t);
	}
}

/*
** The k-pair GEMM of an implicit convolution: the K inputs of a window come
** as `taps` pieces of tap_k floats read in place (the 5x5x3 first conv of
** BlazeFace: 5 window rows of 15), k-pairs within each piece; an odd
** piece's last input is broadcast alone into the even lanes (zeros in the
** odd ones, whose weights are zero).  Windows touching the padding are
** gathered (im2col) first, in the same piece structure.  No interleaving
** pass: the pixel-pair GEMM spent a third of this conv gathering.
*/
struct kqc_tile {
	const float *const *rows;  /* pixel r's piece t at rows[r] + offs[r][t] */
	const ptrdiff_t *const *offs;
	int taps, tap_k;
	const float *b;            /* [taps][(tap_k + 1) / 2][NQ * 16] */
	const float *bias;         /* [NQ * 16] */
	const float *alpha;        /* [NQ * 16] output order, PReLU only */
	int act;
	float slope;
	float *c;                  /* pixel r's outputs at c + r * N */
	const float *res;
};

KS_INLINE void kqc_ukr(const int MR, const int NQ, const struct kqc_tile *t)
{
	__m512 acc[16][3];
	const float *ap[16];
	const float *b = t->b;
	const int hk = t->tap_k / 2, odd = t->tap_k & 1;
#pragma GCC unroll 4
	for (int v = 0; v < NQ; v++) {
		const __m512 bv = _mm512_loadu_ps(t->bias + v * 16);
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++)
			acc[r][v] = bv;
	}
	for (int tp = 0; tp < t->taps; tp++) {
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++)
			ap[r] = t->rows[r] + t->offs[r][tp];
		for (int kk = 0; kk < hk; kk++) {
			__m512 bb[3];
#pragma GCC unroll 4
			for (int v = 0; v < NQ; v++)
				bb[v] = _mm512_loadu_ps(b + v * 16);
			b += NQ * 16;
#pragma GCC unroll 16
			for (int r = 0; r < MR; r++) {
				const __m512 av = kp_bcast2(ap[r] + 2 * kk);
#pragma GCC unroll 4
				for (int v = 0; v < NQ; v++)
					acc[r][v] = _mm512_fmadd_ps(av, bb[v], acc[r][v]);
			}
		}
		if (odd) {
			__m512 bb[3];
#pragma GCC unroll 4
			for (int v = 0; v < NQ; v++)
				bb[v] = _mm512_loadu_ps(b + v * 16);
			b += NQ * 16;
#pragma GCC unroll 16
			for (int r = 0; r < MR; r++) {
				const __m512 av = _mm512_maskz_broadcastss_ps(0x5555, _mm_load_ss(ap[r] + 2 * hk));
#pragma GCC unroll 4
				for (int v = 0; v < NQ; v++)
					acc[r][v] = _mm512_fmadd_ps(av, bb[v], acc[r][v]);
			}
		}
	}
	kq_store(MR, NQ, acc, t->c, t->res, t->act, t->slope, t->alpha);
}

#define KQC_DEF(mr, nq)                                                         \
	static void kqc_ukr_##mr##_##nq(const struct kqc_tile *t) { kqc_ukr(mr, nq, t); }
KQC_DEF(1, 1) KQC_DEF(2, 1) KQC_DEF(3, 1) KQC_DEF(4, 1) KQC_DEF(5, 1) KQC_DEF(6, 1) KQC_DEF(7, 1) KQC_DEF(8, 1)
KQC_DEF(9, 1) KQC_DEF(10, 1) KQC_DEF(11, 1) KQC_DEF(12, 1) KQC_DEF(13, 1) KQC_DEF(14, 1) KQC_DEF(15, 1) KQC_DEF(16, 1)
KQC_DEF(1, 3) KQC_DEF(2, 3) KQC_DEF(3, 3) KQC_DEF(4, 3) KQC_DEF(5, 3) KQC_DEF(6, 3) KQC_DEF(7, 3) KQC_DEF(8, 3)

typedef void (*kqc_ukr_fn)(const struct kqc_tile *t);
#define KQC_MR(nq) KQ_MR(nq)
static const kqc_ukr_fn kqc_tab1[16] = {kqc_ukr_1_1,  kqc_ukr_2_1,  kqc_ukr_3_1,  kqc_ukr_4_1,  kqc_ukr_5_1,  kqc_ukr_6_1,
                                      kqc_ukr_7_1,  kqc_ukr_8_1,  kqc_ukr_9_1,  kqc_ukr_10_1, kqc_ukr_11_1, kqc_ukr_12_1,
                                      kqc_ukr_13_1, kqc_ukr_14_1, kqc_ukr_15_1, kqc_ukr_16_1};
static const kqc_ukr_fn kqc_tab3[8] = {kqc_ukr_1_3, kqc_ukr_2_3, kqc_ukr_3_3, kqc_ukr_4_3,
                                     kqc_ukr_5_3, kqc_ukr_6_3, kqc_ukr_7_3, kqc_ukr_8_3};

/* Output pixels [m0, m1) of an implicit convolution on the k-pair GEMM:
** windows read in place where they lie inside the image, gathered (im2col,
** zeros for padding) into col otherwise. */
static void kqc_run(const struct fl__pair *pp, int m0, int m1, float *col)
{
	const int nq = pp->nq, n = nq * 8, mr = KQC_MR(nq), k = pp->k;
	const struct fl__convk *ck = pp->ck;
	const float *rows[16];
	const ptrdiff_t *offs[16];
	const ptrdiff_t zero = 0;
	ptrdiff_t coff[64];
	struct kqc_tile t;
	t.rows = rows;
	t.offs = offs;
	t.taps = pp->kq_taps;
	t.tap_k = pp->kq_tap_k;
	t.b = pp->kb;
	t.bias = pp->kbias;
	t.alpha = pp->alpha;
	t.act = pp->act;
	t.slope = pp->slope;
	for (int tp = 0; ck && tp < t.taps; tp++)
		coff[tp] = (ptrdiff_t)tp * t.tap_k;
	const struct fl__conv_geom *g = ck ? &ck->g : NULL;
	const int plane = g ? g->oh * g->ow : 0;
	const int ekh = g ? (g->kh - 1) * g->dh : 0, ekw = g ? (g->kw - 1) * g->dw : 0;
	for (int m = m0; m < m1; m += mr) {
		const int cnt = m1 - m < mr ? m1 - m : mr;
		if (!ck) {
			for (int r = 0; r < cnt; r++) {
				rows[r] = pp->a + (ptrdiff_t)(m + r) * pp->lda;
				offs[r] = &zero;
			}
		} else {
			int b = m / plane, oy = (m % plane) / g->ow, ox = m % g->ow;
			for (int r = 0; r < cnt; r++) {
				const int iy = oy * g->sh - g->pt, ix = ox * g->sw - g->pl;
				if (iy >= 0 && iy + ekh < g->ih && ix >= 0 && ix + ekw < g->iw) {
					rows[r] = ck->x + (((ptrdiff_t)b * g->ih + iy) * g->iw + ix) * g->ci;
					offs[r] = ck->toff;
				} else {
					rows[r] = col + (ptrdiff_t)r * k;
					offs[r] = coff;
					fl__im2col(g, ck->x, m + r, 1, col + (ptrdiff_t)r * k);
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
		t.c = pp->c + (ptrdiff_t)m * n;
		t.res = pp->res ? pp->res + (ptrdiff_t)m * n : NULL;
		if (nq == 1)
			kqc_tab1[cnt - 1](&t);
		else
			kqc_tab3[cnt - 1](&t);
	}
}

void FN(pair)(const struct fl__pair *pp, int m0, int m1, float *scratch)
{
	/* the k-pair GEMM where its packing's pieces are these rows' */
	if (pp->kb && !pp->ck && pp->kq_taps == 1 && pp->kq_tap_k == pp->k && pp->k % 2 == 0) {
		kq_run(pp, m0, m1);
		return;
	}
	if (pp->kb && pp->ck && pp->ck->toff && pp->ck->taps == pp->kq_taps && pp->ck->tap_k == pp->kq_tap_k) {
		kqc_run(pp, m0, m1, scratch);
		return;
	}
	const int tile = 2 * KP_MQ(pp->nq), k = pp->k;
	const float *rows[28];
	const ptrdiff_t *offs[28];
	const ptrdiff_t zero = 0;
	const struct fl__convk *ck = pp->ck;
	float *zip = scratch;
	float *col = scratch + (ptrdiff_t)tile * k; /* im2col rows (conv borders) */
	/* a gathered row in the tap structure of the in-place ones */
	ptrdiff_t coff[64];
	const int split = ck && ck->toff;
	for (int t = 0; split && t < ck->taps; t++)
		coff[t] = (ptrdiff_t)t * ck->tap_k;
	for (int m = m0; m < m1; m += tile) {
		const int cnt = m1 - m < tile ? m1 - m : tile;
		if (!ck && pp->lda == k && kp_zipc_ok(k)) {
			/* consecutive rows: whole pairs are contiguous */
			kp_zipc(zip, pp->a + (ptrdiff_t)m * k, cnt / 2, k);
			if (cnt & 1) {
				rows[0] = pp->a + (ptrdiff_t)(m + cnt - 1) * k;
				offs[0] = &zero;
				kp_gather(zip + (ptrdiff_t)(cnt - 1) * k, rows, offs, 1, 1, k);
			}
		} else if (!ck) {
			for (int r = 0; r < cnt; r++) {
				rows[r] = pp->a + (ptrdiff_t)(m + r) * pp->lda;
				offs[r] = &zero;
			}
			kp_gather(zip, rows, offs, cnt, 1, k);
		} else if (!split) {
			/* too many taps for in-place offsets: gather every row */
			fl__im2col(&ck->g, ck->x, m, cnt, col);
			for (int r = 0; r < cnt; r++) {
				rows[r] = col + (ptrdiff_t)r * k;
				offs[r] = &zero;
			}
			kp_gather(zip, rows, offs, cnt, 1, k);
		} else {
			/* pixels whose window is inside the image are read in place,
			** the others gathered (im2col, zeros for padding) one by one */
			const struct fl__conv_geom *g = &ck->g;
			const int plane = g->oh * g->ow;
			const int ekh = (g->kh - 1) * g->dh, ekw = (g->kw - 1) * g->dw;
			int b = m / plane, oy = (m % plane) / g->ow, ox = m % g->ow;
			for (int r = 0; r < cnt; r++) {
				const int iy = oy * g->sh - g->pt, ix = ox * g->sw - g->pl;
				if (iy >= 0 && iy + ekh < g->ih && ix >= 0 && ix + ekw < g->iw) {
					rows[r] = ck->x + (((ptrdiff_t)b * g->ih + iy) * g->iw + ix) * g->ci;
					offs[r] = ck->toff;
				} else {
					rows[r] = col + (ptrdiff_t)r * k;
					offs[r] = coff;
					fl__im2col(g, ck->x, m + r, 1, col + (ptrdiff_t)r * k);
				}
				if (++ox == g->ow) {
					ox = 0;
					if (++oy == g->oh) {
						oy = 0;
						b++;
					}
				}
			}
			kp_gather(zip, rows, offs, cnt, ck->taps, ck->tap_k);
		}
		kp_tile_run(pp, m, cnt, zip);
	}
}
