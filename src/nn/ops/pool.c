/*
** pool.c -- MAXPOOL and AVGPOOL on NHWC float tensors.  Windows follow
** TF: SAME puts the odd padding pixel bottom/right; MaxPool treats padding
** as -inf (so only real pixels count) and AvgPool divides by the number of
** real pixels under the window.  Rows of the output are split over the
** pool; the channel loop is innermost so it vectorises.  MaxPool is
** separable (column maxima over the window's rows, then maxima over kw
** columns), which CenterNet's 3x3 heatmap NMS needs to be cheap.
*/
#include "ops_int.h"

#include <math.h>

/* Floats of column maxima kept on the stack by one MaxPool task (16 KiB,
** L1-resident); MaxPool windows are at most this wide. */
#define MP_BUF 4096

struct pool_geom {
	int kh, kw, sh, sw, oh, ow, ph, pw; /* ph/pw: leading pad */
};

static int pool_geom(const struct fl_node *n, const struct fl_tensor *x, struct pool_geom *g, char *err,
                     size_t err_size)
{
	const struct fl_attr *a = &n->attr;
	const char *name = n->op == FL_OP_MAXPOOL ? "MaxPool" : "AvgPool";

	if (!x) {
		fl__errf(err, err_size, "%s: missing input", name);
		return FL_EINVAL;
	}
	if (x->dtype != FL_DTYPE_F32) {
		fl__errf(err, err_size, "%s: %s input is not supported", name, fl_dtype_name(x->dtype));
		return FL_EDTYPE;
	}
	if (x->n_dims != 4) {
		fl__errf(err, err_size, "%s: input must be NHWC (rank 4), not rank %d", name, x->n_dims);
		return FL_ESHAPE;
	}
	g->kh = a->ksize[0];
	g->kw = a->ksize[1];
	g->sh = a->stride[0] > 0 ? a->stride[0] : 1;
	g->sw = a->stride[1] > 0 ? a->stride[1] : 1;
	if (g->kh <= 0 || g->kw <= 0) {
		fl__errf(err, err_size, "%s: bad window %dx%d", name, g->kh, g->kw);
		return FL_EINVAL;
	}
	if (n->op == FL_OP_MAXPOOL && g->kw > MP_BUF) {
		fl__errf(err, err_size, "%s: windows wider than %d columns are not supported", name, MP_BUF);
		return FL_EUNSUPPORTED;
	}
	g->oh = fl__conv_out_size((int)x->dims[1], g->kh, g->sh, 1, a->padding, a->pads[0], a->pads[1], &g->ph);
	g->ow = fl__conv_out_size((int)x->dims[2], g->kw, g->sw, 1, a->padding, a->pads[2], a->pads[3], &g->pw);
	if (g->oh < 0 || g->ow < 0) {
		fl__errf(err, err_size, "%s: window %dx%d stride %dx%d does not fit a %lldx%lld input", name, g->kh, g->kw,
		         g->sh, g->sw, (long long)x->dims[1], (long long)x->dims[2]);
		return FL_ESHAPE;
	}
	return 0;
}

static int pool_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	struct pool_geom g;
	int rc = pool_geom(n, in[0], &g, err, err_size);
	if (rc < 0)
		return rc;
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].dims[1] = g.oh;
	out[0].dims[2] = g.ow;
	out[0].data = NULL;
	return 0;
}

struct pool_ctx {
	const struct fl_tensor *x;
	struct fl_tensor *o;
	struct pool_geom g;
	int is_max;
};

/* o[i] = max over kx < kw of t[i + kx*step], for i < m. */
FL_OPS_VECTORIZE static inline void hmax(float *restrict o, const float *restrict t, int64_t step, int64_t kw, int64_t m)
{
	const float *restrict t1 = t + step, *restrict t2 = t + 2 * step;
	int64_t kx;
	if (kw >= 3) {
		for (int64_t i = 0; i < m; i++) {
			float a = t[i] > t1[i] ? t[i] : t1[i];
			o[i] = a > t2[i] ? a : t2[i];
		}
		kx = 3;
	} else if (kw == 2) {
		for (int64_t i = 0; i < m; i++)
			o[i] = t[i] > t1[i] ? t[i] : t1[i];
		kx = 2;
	} else {
		memcpy(o, t, (size_t)m * sizeof(float));
		kx = 1;
	}
	for (; kx < kw; kx++) {
		const float *restrict tk = t + kx * step;
		for (int64_t i = 0; i < m; i++)
			o[i] = tk[i] > o[i] ? tk[i] : o[i];
	}
}

/*
** One output row of a 2x2 stride-2 MaxPool whose two input rows (p, and q
** after it) lie inside the image: per output pixel the max of its two
** columns' vertical maxima; a window column in the left / right padding
** counts as -inf.  BlazeFace's stride-2 blocks pool their 288x512x24 input
** this way: the block loop below costs more than the data's trip from
** memory here.  The comparisons are the general path's, in its order,
** so the results are identical (NaN included).
*/
FL_OPS_VECTORIZE static void maxpool_2x2_row(const float *restrict p, int64_t W, int64_t C, int64_t pw, int64_t ow,
                                            float *restrict o)
{
	const float *restrict q = p + W * C;
	for (int64_t ox = 0; ox < ow; ox++, o += C) {
		const int64_t x0 = 2 * ox - pw;
		const int in0 = x0 >= 0 && x0 < W, in1 = x0 + 1 >= 0 && x0 + 1 < W;
		if (in0 && in1) {
			const float *restrict p0 = p + x0 * C, *restrict q0 = q + x0 * C;
			for (int64_t ch = 0; ch < C; ch++) {
				const float c0 = p0[ch] > q0[ch] ? p0[ch] : q0[ch];
				const float c1 = p0[C + ch] > q0[C + ch] ? p0[C + ch] : q0[C + ch];
				o[ch] = c0 > c1 ? c0 : c1;
			}
		} else {
			/* a column in the padding is -inf, as in the general path */
			const float *pa = in0 ? p + x0 * C : NULL, *qa = in0 ? q + x0 * C : NULL;
			const float *pb = in1 ? p + (x0 + 1) * C : NULL, *qb = in1 ? q + (x0 + 1) * C : NULL;
			for (int64_t ch = 0; ch < C; ch++) {
				const float c0 = pa ? (pa[ch] > qa[ch] ? pa[ch] : qa[ch]) : -INFINITY;
				const float c1 = pb ? (pb[ch] > qb[ch] ? pb[ch] : qb[ch]) : -INFINITY;
				o[ch] = c0 > c1 ? c0 : c1;
			}
		}
	}
}

/*
** MaxPool output rows [lo, hi) of N*OH, separably: max is associative, so
** a window's maximum is the maximum over its columns of each column's
** maximum over the window's rows.  Per output row, a block of input
** columns (all channels, or a channel block when C is large) is reduced
** over the kh rows into t[] -- padding columns hold -inf -- and then each
** output pixel takes the max of kw entries of t[].  kh + kw compares per
** output instead of kh*kw, each loop contiguous over channels (or over
** whole rows for stride 1) so it vectorises.
*/
FL_OPS_VECTORIZE static void maxpool_range(void *arg, int64_t lo, int64_t hi)
{
	const struct pool_ctx *c = arg;
	const struct pool_geom *g = &c->g;
	int64_t H = c->x->dims[1], W = c->x->dims[2], C = c->x->dims[3];
	int64_t kw = g->kw, sw = g->sw, ow = g->ow;
	int64_t cb = FL_MIN(C, MP_BUF / kw);               /* channels per block */
	int64_t nox = FL_MAX(1, (MP_BUF / cb - kw) / sw + 1); /* output columns per block */
	float t[MP_BUF];

	for (int64_t row = lo; row < hi; row++) {
		int64_t b = row / g->oh, oy = row % g->oh;
		int64_t y0 = oy * g->sh - g->ph, y1 = FL_MIN(y0 + g->kh, H);
		const float *xb = (const float *)c->x->data + b * H * W * C;
		float *orow = (float *)c->o->data + row * ow * C;
		if (g->kh == 2 && kw == 2 && g->sh == 2 && sw == 2 && y0 >= 0 && y0 + 1 < H) {
			maxpool_2x2_row(xb + y0 * W * C, W, C, g->pw, ow, orow);
			continue;
		}
		y0 = FL_MAX(y0, 0);
		for (int64_t c0 = 0; c0 < C; c0 += cb) {
			int64_t nc = FL_MIN(cb, C - c0);
			for (int64_t ox0 = 0; ox0 < ow; ox0 += nox) {
				int64_t no = FL_MIN(nox, ow - ox0);
				int64_t xs = ox0 * sw - g->pw, span = (no - 1) * sw + kw;
				int64_t xa = FL_MAX(xs, 0), xe = FL_MIN(xs + span, W);
				/* column maxima over the window's rows; -inf outside */
				for (int64_t i = 0; i < (xa - xs) * nc; i++)
					t[i] = -INFINITY;
				for (int64_t i = (xe - xs) * nc; i < span * nc; i++)
					t[i] = -INFINITY;
				if (y1 <= y0) /* the window lies in the padding */
					for (int64_t i = 0; i < span * nc; i++)
						t[i] = -INFINITY;
				for (int64_t y = y0; y < y1; y++) {
					/* the first pass takes two rows at once, or copies one */
					const float *restrict p = xb + (y * W) * C + c0;
					const float *restrict q = y == y0 && y + 1 < y1 ? p + W * C : NULL;
					if (nc == C) {
						float *restrict tt = t + (xa - xs) * C;
						const float *restrict pp = p + xa * C;
						int64_t m = (xe - xa) * C;
						if (q) {
							const float *restrict qq = q + xa * C;
							for (int64_t i = 0; i < m; i++)
								tt[i] = pp[i] > qq[i] ? pp[i] : qq[i];
						} else if (y == y0) {
							memcpy(tt, pp, (size_t)m * sizeof(float));
						} else {
							for (int64_t i = 0; i < m; i++)
								tt[i] = pp[i] > tt[i] ? pp[i] : tt[i];
						}
					} else {
						for (int64_t x = xa; x < xe; x++) {
							float *restrict tt = t + (x - xs) * nc;
							const float *restrict pp = p + x * C;
							if (q) {
								const float *restrict qq = q + x * C;
								for (int64_t ch = 0; ch < nc; ch++)
									tt[ch] = pp[ch] > qq[ch] ? pp[ch] : qq[ch];
							} else if (y == y0) {
								memcpy(tt, pp, (size_t)nc * sizeof(float));
							} else {
								for (int64_t ch = 0; ch < nc; ch++)
									tt[ch] = pp[ch] > tt[ch] ? pp[ch] : tt[ch];
							}
						}
					}
					y += q != NULL;
				}
				/* maxima over kw columns: the first pass takes two (or three)
				** columns at once, later ones update in place */
				if (sw == 1 && nc == C) {
					float *restrict o = orow + ox0 * C;
					hmax(o, t, C, kw, no * C);
				} else {
					for (int64_t j = 0; j < no; j++)
						hmax(orow + (ox0 + j) * C + c0, t + j * sw * nc, nc, kw, nc);
				}
			}
		}
	}
}

/* AvgPool output rows [lo, hi) of N*OH: sums over the real pixels of each
** window divided by their count. */
FL_OPS_VECTORIZE static void avgpool_range(void *arg, int64_t lo, int64_t hi)
{
	const struct pool_ctx *c = arg;
	const struct pool_geom *g = &c->g;
	int64_t H = c->x->dims[1], W = c->x->dims[2], C = c->x->dims[3];

	for (int64_t row = lo; row < hi; row++) {
		int64_t b = row / g->oh, oy = row % g->oh;
		int64_t y0 = oy * g->sh - g->ph, y1 = FL_MIN(y0 + g->kh, H);
		y0 = FL_MAX(y0, 0);
		for (int64_t ox = 0; ox < g->ow; ox++) {
			int64_t x0 = ox * g->sw - g->pw, x1 = FL_MIN(x0 + g->kw, W);
			x0 = FL_MAX(x0, 0);
			float *restrict o = (float *)c->o->data + ((row * g->ow) + ox) * C;
			for (int64_t ch = 0; ch < C; ch++)
				o[ch] = 0.0f;
			for (int64_t y = y0; y < y1; y++)
				for (int64_t xx = x0; xx < x1; xx++) {
					const float *restrict p = (const float *)c->x->data + ((b * H + y) * W + xx) * C;
					for (int64_t ch = 0; ch < C; ch++)
						o[ch] += p[ch];
				}
			int64_t cnt = (y1 - y0) * (x1 - x0);
			float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
			for (int64_t ch = 0; ch < C; ch++)
				o[ch] *= inv;
		}
	}
}

static int pool_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	struct pool_ctx c = {.x = in[0], .o = &out[0], .is_max = n->op == FL_OP_MAXPOOL};
	int rc = pool_geom(n, in[0], &c.g, NULL, 0);
	if (rc < 0)
		return rc;
	if (in[0]->dims[3] == 0 || c.g.ow == 0)
		return 0;
	int64_t per_row = FL_MAX(1, (int64_t)c.g.ow * in[0]->dims[3] * (c.is_max ? c.g.kh + c.g.kw : c.g.kh * c.g.kw));
	fl__ops_parallel(ex, in[0]->dims[0] * c.g.oh, FL_MAX(1, 65536 / per_row),
	                 c.is_max ? maxpool_range : avgpool_range, &c);
	return 0;
}

static int64_t pool_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return fl__ops_numel(&out[0]) * (int64_t)FL_MAX(n->attr.ksize[0], 1) * FL_MAX(n->attr.ksize[1], 1);
}

const struct fl_op_def fl__opdef_maxpool = {.tf_name = "MaxPool", .infer = pool_infer, .run = pool_run, .flops = pool_flops};
const struct fl_op_def fl__opdef_avgpool = {.tf_name = "AvgPool", .infer = pool_infer, .run = pool_run, .flops = pool_flops};
