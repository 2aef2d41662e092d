/*
** pool.c -- MAXPOOL and AVGPOOL on NHWC float tensors.  Windows follow
** TF: SAME puts the odd padding pixel bottom/right; MaxPool treats padding
** as -inf (so only real pixels count) and AvgPool divides by the number of
** real pixels under the window.  Rows of the output are split over the
** pool; the channel loop is innermost so it vectorises.
*/
#include "ops_int.h"

#include <math.h>

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

/* Output rows [lo, hi) of N*OH. */
FL_OPS_VECTORIZE static void pool_range(void *arg, int64_t lo, int64_t hi)
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
				o[ch] = c->is_max ? -INFINITY : 0.0f;
			for (int64_t y = y0; y < y1; y++)
				for (int64_t xx = x0; xx < x1; xx++) {
					const float *restrict p = (const float *)c->x->data + ((b * H + y) * W + xx) * C;
					if (c->is_max) {
						for (int64_t ch = 0; ch < C; ch++)
							o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
					} else {
						for (int64_t ch = 0; ch < C; ch++)
							o[ch] += p[ch];
					}
				}
			if (!c->is_max) {
				int64_t cnt = (y1 - y0) * (x1 - x0);
				float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
				for (int64_t ch = 0; ch < C; ch++)
					o[ch] *= inv;
			}
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
	int64_t per_row = FL_MAX(1, (int64_t)c.g.ow * in[0]->dims[3] * c.g.kh * c.g.kw);
	fl__ops_parallel(ex, in[0]->dims[0] * c.g.oh, FL_MAX(1, 65536 / per_row), pool_range, &c);
	return 0;
}

static int64_t pool_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return fl__ops_numel(&out[0]) * (int64_t)FL_MAX(n->attr.ksize[0], 1) * FL_MAX(n->attr.ksize[1], 1);
}

const struct fl_op_def fl__opdef_maxpool = {.tf_name = "MaxPool", .infer = pool_infer, .run = pool_run, .flops = pool_flops};
const struct fl_op_def fl__opdef_avgpool = {.tf_name = "AvgPool", .infer = pool_infer, .run = pool_run, .flops = pool_flops};
