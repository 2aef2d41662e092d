/*
** resize.c -- RESIZE_BILINEAR and RESIZE_NEAREST on NHWC float tensors,
** exactly as TF's kernels (resize_bilinear_op.cc,
** resize_nearest_neighbor_op.cc):
**
**   scale = in / out, or (in-1)/(out-1) with align_corners and out > 1
**   bilinear, legacy:       src = dst * scale
**   bilinear, half-pixel:   src = (dst + 0.5) * scale - 0.5
**       lower = max(floor(src), 0), upper = min(ceil(src), in-1),
**       lerp = src - floor(src);
**       top = tl + (tr - tl) * xl, bottom = bl + (br - bl) * xl,
**       out = top + (bottom - top) * yl
**   nearest, legacy:        src = dst * scale
**   nearest, half-pixel:    src = (dst + 0.5) * scale  (no -0.5)
**       i = min(align_corners ? roundf(src) : floorf(src), in-1),
**       then max(i, 0) in half-pixel mode.
** All of it in float like TF.  The per-column and per-row source indices
** and weights are computed once per run into the session's scratch.
*/
#include "ops_int.h"

#include <math.h>

struct interp {
	int64_t lo, hi;
	float lerp;
};

static int resize_size(const struct fl_node *n, const struct fl_tensor *const *in, int64_t *oh, int64_t *ow,
                       char *err, size_t err_size)
{
	const char *name = n->op == FL_OP_RESIZE_BILINEAR ? "ResizeBilinear" : "ResizeNearestNeighbor";
	const struct fl_tensor *x = in[0];
	int64_t v[2];
	int rc;

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
	if ((rc = fl__ops_read_ints(in[1], v, 2, name, "size", err, err_size)) < 0)
		return rc;
	if (rc != 2 || v[0] <= 0 || v[1] <= 0) {
		fl__errf(err, err_size, "%s: size must be two positive values", name);
		return FL_EINVAL;
	}
	if (x->dims[1] <= 0 || x->dims[2] <= 0) {
		fl__errf(err, err_size, "%s: empty input", name);
		return FL_ESHAPE;
	}
	if (n->attr.align_corners && n->attr.half_pixel) {
		fl__errf(err, err_size, "%s: align_corners and half_pixel_centers cannot both be set", name);
		return FL_EINVAL;
	}
	*oh = v[0];
	*ow = v[1];
	return 0;
}

static int resize_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                        char *err, size_t err_size)
{
	int64_t oh, ow;
	int rc = resize_size(n, in, &oh, &ow, err, err_size);
	if (rc < 0)
		return rc;
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].dims[1] = oh;
	out[0].dims[2] = ow;
	out[0].data = NULL;
	return 0;
}

static size_t resize_scratch(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out,
                             int n_threads)
{
	return (size_t)(out[0].dims[1] + out[0].dims[2]) * sizeof(struct interp);
}

static float resize_scale(int64_t in, int64_t out, int align_corners)
{
	return (align_corners && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
}

/* TF's compute_interpolation_weights / nearest index rule for one axis. */
static void make_interp(struct interp *t, int64_t out, int64_t in, int align, int half, int bilinear)
{
	float scale = resize_scale(in, out, align);
	for (int64_t i = 0; i < out; i++) {
		if (bilinear) {
			float src = half ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
			float fl = floorf(src);
			t[i].lo = FL_MAX((int64_t)fl, 0);
			t[i].hi = FL_MIN((int64_t)ceilf(src), in - 1);
			t[i].lerp = src - fl;
		} else {
			float src = half ? ((float)i + 0.5f) * scale : (float)i * scale;
			int64_t k = FL_MIN(align ? (int64_t)roundf(src) : (int64_t)floorf(src), in - 1);
			if (half)
				k = FL_MAX(k, 0);
			t[i].lo = t[i].hi = k;
			t[i].lerp = 0.0f;
		}
	}
}

struct resize_ctx {
	const struct fl_tensor *x;
	struct fl_tensor *o;
	const struct interp *ys, *xs;
	int bilinear;
};

/* Output rows [lo, hi) of N*OH. */
FL_OPS_VECTORIZE static void resize_range(void *arg, int64_t lo, int64_t hi)
{
	const struct resize_ctx *c = arg;
	int64_t H = c->x->dims[1], W = c->x->dims[2], C = c->x->dims[3];
	int64_t OH = c->o->dims[1], OW = c->o->dims[2];
	const float *xd = c->x->data;

	for (int64_t row = lo; row < hi; row++) {
		int64_t b = row / OH, oy = row % OH;
		const struct interp *yi = &c->ys[oy];
		const float *top = xd + (b * H + yi->lo) * W * C;
		const float *bot = xd + (b * H + yi->hi) * W * C;
		float *o = (float *)c->o->data + row * OW * C;
		float yl = yi->lerp;
		for (int64_t ox = 0; ox < OW; ox++, o += C) {
			const struct interp *xi = &c->xs[ox];
			if (!c->bilinear) {
				memcpy(o, top + xi->lo * C, (size_t)C * sizeof(float));
				continue;
			}
			const float *tl = top + xi->lo * C, *tr = top + xi->hi * C;
			const float *bl = bot + xi->lo * C, *br = bot + xi->hi * C;
			float xl = xi->lerp;
			for (int64_t ch = 0; ch < C; ch++) {
				float t = tl[ch] + (tr[ch] - tl[ch]) * xl;
				float bo = bl[ch] + (br[ch] - bl[ch]) * xl;
				o[ch] = t + (bo - t) * yl;
			}
		}
	}
}

static int resize_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                      const struct fl_exec *ex)
{
	int64_t OH = out[0].dims[1], OW = out[0].dims[2];
	struct interp *t = ex->scratch;
	struct resize_ctx c = {.x = in[0], .o = &out[0], .bilinear = n->op == FL_OP_RESIZE_BILINEAR};

	if (!t || ex->scratch_size < (size_t)(OH + OW) * sizeof(*t))
		return FL_EINTERNAL;
	make_interp(t, OH, in[0]->dims[1], n->attr.align_corners, n->attr.half_pixel, c.bilinear);
	make_interp(t + OH, OW, in[0]->dims[2], n->attr.align_corners, n->attr.half_pixel, c.bilinear);
	c.ys = t;
	c.xs = t + OH;
	fl__ops_parallel(ex, out[0].dims[0] * OH, FL_MAX(1, 32768 / FL_MAX(1, OW * out[0].dims[3])), resize_range, &c);
	return 0;
}

static int64_t resize_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return n->op == FL_OP_RESIZE_BILINEAR ? 6 * fl__ops_numel(&out[0]) : 0;
}

const struct fl_op_def fl__opdef_resize_bilinear = {.tf_name = "ResizeBilinear",
                                                    .infer = resize_infer,
                                                    .run = resize_run,
                                                    .scratch = resize_scratch,
                                                    .flops = resize_flops};
const struct fl_op_def fl__opdef_resize_nearest = {.tf_name = "ResizeNearestNeighbor",
                                                   .infer = resize_infer,
                                                   .run = resize_run,
                                                   .scratch = resize_scratch};
