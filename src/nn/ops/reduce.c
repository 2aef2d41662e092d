/*
** reduce.c -- ops that reduce along axes: MEAN, SUM and MAX over any set
** of axes (with keep_dims), SOFTMAX along one axis (numerically stable),
** ARGMAX (int32 result, first maximum on ties) and TOPK along the last axis
** (sorted descending, ties by lower index).
*/
#include "ops_int.h"

#include <float.h>
#include <math.h>

/* ------------------------------------------------------ mean, sum, max */

/* The reduced axes of a MEAN/SUM/MAX node as a bit mask. */
static int reduce_mask(const struct fl_node *n, const struct fl_tensor *const *in, int *mask, char *err,
                       size_t err_size)
{
	const char *name = n->op == FL_OP_MEAN ? "Mean" : n->op == FL_OP_SUM ? "Sum" : "Max";
	int64_t ax[FL_MAX_DIMS * 2];
	int na, m = 0;

	if (!in[0]) {
		fl__errf(err, err_size, "%s: missing input", name);
		return FL_EINVAL;
	}
	if (in[0]->dtype == FL_DTYPE_BOOL) {
		fl__errf(err, err_size, "%s: bool input is not supported", name);
		return FL_EDTYPE;
	}
	na = fl__ops_read_ints(in[1], ax, FL_MAX_DIMS * 2, name, "axes", err, err_size);
	if (na < 0)
		return na;
	for (int i = 0; i < na; i++) {
		int a = fl__ops_axis(ax[i], in[0]->n_dims, name, err, err_size);
		if (a < 0)
			return a;
		m |= 1 << a;
	}
	*mask = m;
	return 0;
}

static int reduce_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                        char *err, size_t err_size)
{
	int mask, rc, r = 0;
	if ((rc = reduce_mask(n, in, &mask, err, err_size)) < 0)
		return rc;
	memset(&out[0], 0, sizeof(out[0]));
	out[0].dtype = in[0]->dtype;
	for (int i = 0; i < in[0]->n_dims; i++) {
		if (!((mask >> i) & 1))
			out[0].dims[r++] = in[0]->dims[i];
		else if (n->attr.keep_dims)
			out[0].dims[r++] = 1;
	}
	out[0].n_dims = r;
	return 0;
}

/* Row chunks of the [outer, R, C] fast path; fixed, so the sum's order
** (and the result) does not depend on the thread count. */
#define RED_CHUNKS 4
/* Rows summed in float before they go into the double partial sums, and
** the channel block those float sums live in (on the stack). */
#define RED_ROWS 8
#define RED_CB 512

/* SUM/MEAN accumulate in double (the session's scratch): one double per
** output element, and RED_CHUNKS partial sums each for the fast path. */
static size_t reduce_scratch(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out,
                             int n_threads)
{
	if (n->op == FL_OP_MAX)
		return 0;
	return (size_t)fl__ops_numel(&out[0]) * (1 + RED_CHUNKS) * sizeof(double);
}

/* The [outer, R, C] -> [outer, C] sum (a global pool over H,W of NHWC). */
struct rsum_ctx {
	const float *x;
	double *part; /* [outer][RED_CHUNKS][C] */
	int64_t R, C;
};

/*
** Items [lo, hi) of outer*RED_CHUNKS: item t sums its chunk of rows into
** part[t*C ..].  Channels go in blocks of RED_CB; RED_ROWS rows at a time
** are summed in float (vectorised over channels), then added to double.
*/
FL_OPS_VECTORIZE static void rsum_range(void *arg, int64_t lo, int64_t hi)
{
	const struct rsum_ctx *c = arg;
	int64_t R = c->R, C = c->C, per = (R + RED_CHUNKS - 1) / RED_CHUNKS;
	float s[RED_CB];

	for (int64_t t = lo; t < hi; t++) {
		int64_t o = t / RED_CHUNKS, r0 = (t % RED_CHUNKS) * per, r1 = FL_MIN(r0 + per, R);
		double *restrict acc = c->part + t * C;
		for (int64_t j = 0; j < C; j++)
			acc[j] = 0.0;
		for (int64_t c0 = 0; c0 < C; c0 += RED_CB) {
			int64_t nc = FL_MIN(RED_CB, C - c0);
			for (int64_t r = r0; r < r1; r += RED_ROWS) {
				int64_t re = FL_MIN(r + RED_ROWS, r1);
				const float *restrict xr = c->x + (o * R + r) * C + c0;
				for (int64_t j = 0; j < nc; j++)
					s[j] = xr[j];
				for (int64_t q = r + 1; q < re; q++) {
					xr += C;
					for (int64_t j = 0; j < nc; j++)
						s[j] += xr[j];
				}
				for (int64_t j = 0; j < nc; j++)
					acc[c0 + j] += (double)s[j];
			}
		}
	}
}

/*
** Walk the input once, in memory order.  Dims are collapsed into runs of
** reduced / kept dims; each input dim gets an output stride (0 if
** reduced), and the innermost run is either kept (acc[j] op= x[j]) or
** reduced (acc[0] op= sum of the run).
*/
FL_OPS_VECTORIZE static int reduce_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                      const struct fl_exec *ex)
{
	const struct fl_tensor *x = in[0];
	int mask, rc = reduce_mask(n, in, &mask, NULL, 0), nd = 0;
	int64_t d[FL_MAX_DIMS], os[FL_MAX_DIMS], red[FL_MAX_DIMS], idx[FL_MAX_DIMS];
	int64_t n_out = fl__ops_numel(&out[0]), n_in = fl__ops_numel(x), count;
	int is_f32 = x->dtype == FL_DTYPE_F32, is_max = n->op == FL_OP_MAX;
	double *acc = ex->scratch;
	float *of = out[0].data;
	int32_t *oi = out[0].data;

	if (rc < 0)
		return rc;
	if (!is_max && (!acc || ex->scratch_size < (size_t)n_out * sizeof(double)))
		return FL_EINTERNAL;
	/* collapse: output strides over the input dims */
	{
		int64_t s = 1;
		int64_t ost[FL_MAX_DIMS];
		for (int i = x->n_dims - 1; i >= 0; i--) {
			ost[i] = ((mask >> i) & 1) ? 0 : s;
			if (!((mask >> i) & 1))
				s *= x->dims[i];
		}
		for (int i = 0; i < x->n_dims; i++) {
			int r = (mask >> i) & 1;
			if (x->dims[i] == 1)
				continue;
			if (nd > 0 && red[nd - 1] == r && (r || os[nd - 1] == ost[i] * x->dims[i])) {
				d[nd - 1] *= x->dims[i];
				os[nd - 1] = ost[i];
				continue;
			}
			d[nd] = x->dims[i];
			os[nd] = ost[i];
			red[nd] = r;
			nd++;
		}
	}
	count = n_out > 0 ? n_in / n_out : 0;
	for (int64_t j = 0; j < n_out; j++) {
		if (is_max) {
			if (is_f32)
				of[j] = -INFINITY;
			else
				oi[j] = INT32_MIN;
		} else {
			acc[j] = 0.0;
		}
	}
	if (is_f32 && !is_max && n_in > 0 && ex->scratch_size >= (size_t)n_out * (1 + RED_CHUNKS) * sizeof(double) &&
	    ((nd == 2 && red[0] && !red[1]) || (nd == 3 && !red[0] && red[1] && !red[2]))) {
		/* [outer, R, C]: row chunks in parallel, then combined in order */
		struct rsum_ctx c = {x->data, acc + n_out, d[nd - 2], d[nd - 1]};
		int64_t outer = nd == 3 ? d[0] : 1;
		fl__ops_parallel(ex, outer * RED_CHUNKS, n_in >= 65536 ? 1 : outer * RED_CHUNKS, rsum_range, &c);
		for (int64_t o = 0; o < outer; o++)
			for (int64_t j = 0; j < c.C; j++) {
				double v = 0.0;
				for (int q = 0; q < RED_CHUNKS; q++)
					v += c.part[(o * RED_CHUNKS + q) * c.C + j];
				acc[o * c.C + j] = v;
			}
	} else if (n_in > 0 && nd == 0) {
		/* every dim is 1 */
		if (is_max)
			memcpy(out[0].data, x->data, fl_dtype_size(x->dtype));
		else
			acc[0] = is_f32 ? ((const float *)x->data)[0] : ((const int32_t *)x->data)[0];
	} else if (n_in > 0) {
		int last = nd - 1;
		int64_t inner = d[last], o = 0, pos = 0;
		for (int k = 0; k < nd; k++)
			idx[k] = 0;
		for (;;) {
			if (is_f32) {
				const float *xp = (const float *)x->data + pos;
				if (red[last]) {
					if (is_max) {
						float m = of[o];
						for (int64_t j = 0; j < inner; j++)
							m = xp[j] > m ? xp[j] : m;
						of[o] = m;
					} else {
						double s = 0;
						for (int64_t j = 0; j < inner; j++)
							s += xp[j];
						acc[o] += s;
					}
				} else if (is_max) {
					for (int64_t j = 0; j < inner; j++)
						of[o + j] = xp[j] > of[o + j] ? xp[j] : of[o + j];
				} else {
					for (int64_t j = 0; j < inner; j++)
						acc[o + j] += xp[j];
				}
			} else {
				const int32_t *xp = (const int32_t *)x->data + pos;
				int64_t step = red[last] ? 0 : 1;
				for (int64_t j = 0; j < inner; j++) {
					if (is_max)
						oi[o + j * step] = xp[j] > oi[o + j * step] ? xp[j] : oi[o + j * step];
					else
						acc[o + j * step] += xp[j];
				}
			}
			pos += inner;
			int k = last - 1;
			for (; k >= 0; k--) {
				idx[k]++;
				o += os[k];
				if (idx[k] < d[k])
					break;
				o -= d[k] * os[k];
				idx[k] = 0;
			}
			if (k < 0)
				break;
		}
	}
	if (!is_max) {
		for (int64_t j = 0; j < n_out; j++) {
			double v = acc[j];
			if (n->op == FL_OP_MEAN)
				v = count > 0 ? (is_f32 ? v / (double)count : (double)(int64_t)(v / (double)count)) : NAN;
			if (is_f32)
				of[j] = (float)v;
			else
				oi[j] = (int32_t)(int64_t)v;
		}
	}
	return 0;
}

static int64_t reduce_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return fl__ops_numel(in[0]);
}

const struct fl_op_def fl__opdef_mean = {
	.tf_name = "Mean", .infer = reduce_infer, .run = reduce_run, .scratch = reduce_scratch, .flops = reduce_flops};
const struct fl_op_def fl__opdef_sum = {
	.tf_name = "Sum", .infer = reduce_infer, .run = reduce_run, .scratch = reduce_scratch, .flops = reduce_flops};
const struct fl_op_def fl__opdef_max = {
	.tf_name = "Max", .infer = reduce_infer, .run = reduce_run, .scratch = reduce_scratch, .flops = reduce_flops};

/* -------------------------------------------------------------- softmax */

static int softmax_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                         char *err, size_t err_size)
{
	int rc;
	if (!in[0]) {
		fl__errf(err, err_size, "Softmax: missing input");
		return FL_EINVAL;
	}
	if (in[0]->dtype != FL_DTYPE_F32) {
		fl__errf(err, err_size, "Softmax: %s input is not supported", fl_dtype_name(in[0]->dtype));
		return FL_EDTYPE;
	}
	if (in[0]->n_dims == 0) {
		fl__errf(err, err_size, "Softmax: input must have rank >= 1");
		return FL_ESHAPE;
	}
	if ((rc = fl__ops_axis(n->attr.axis, in[0]->n_dims, "Softmax", err, err_size)) < 0)
		return rc;
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].data = NULL;
	return 0;
}

struct softmax_ctx {
	const float *x;
	float *o;
	int64_t len, inner;
};

/* Rows [lo, hi) of outer*inner: y = exp(x - max) / sum(exp(x - max)). */
FL_OPS_VECTORIZE static void softmax_range(void *arg, int64_t lo, int64_t hi)
{
	struct softmax_ctx *c = arg;
	int64_t L = c->len, in = c->inner;
	for (int64_t r = lo; r < hi; r++) {
		int64_t base = (r / in) * L * in + r % in;
		const float *x = c->x + base;
		float *o = c->o + base;
		float m = -INFINITY;
		double s = 0;
		for (int64_t j = 0; j < L; j++)
			m = x[j * in] > m ? x[j * in] : m;
		for (int64_t j = 0; j < L; j++) {
			o[j * in] = expf(x[j * in] - m);
			s += o[j * in];
		}
		float inv = (float)(1.0 / s);
		for (int64_t j = 0; j < L; j++)
			o[j * in] *= inv;
	}
}

static int softmax_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                       const struct fl_exec *ex)
{
	const struct fl_tensor *x = in[0];
	int axis = n->attr.axis < 0 ? n->attr.axis + x->n_dims : n->attr.axis;
	struct softmax_ctx c = {x->data, out[0].data, x->dims[axis], 1};
	int64_t outer = 1;
	for (int i = 0; i < axis; i++)
		outer *= x->dims[i];
	for (int i = axis + 1; i < x->n_dims; i++)
		c.inner *= x->dims[i];
	if (c.len == 0)
		return 0;
	fl__ops_parallel(ex, outer * c.inner, FL_MAX(1, 16384 / c.len), softmax_range, &c);
	return 0;
}

static int64_t softmax_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return 4 * fl__ops_numel(in[0]);
}

const struct fl_op_def fl__opdef_softmax = {
	.tf_name = "Softmax", .infer = softmax_infer, .run = softmax_run, .flops = softmax_flops};

/* --------------------------------------------------------------- argmax */

static int argmax_axis(const struct fl_tensor *const *in, char *err, size_t err_size)
{
	int64_t v[1];
	int rc;
	if (!in[0]) {
		fl__errf(err, err_size, "ArgMax: missing input");
		return FL_EINVAL;
	}
	if (in[0]->dtype == FL_DTYPE_BOOL) {
		fl__errf(err, err_size, "ArgMax: bool input is not supported");
		return FL_EDTYPE;
	}
	if ((rc = fl__ops_read_ints(in[1], v, 1, "ArgMax", "axis", err, err_size)) < 0)
		return rc;
	if (rc != 1) {
		fl__errf(err, err_size, "ArgMax: axis must have one element");
		return FL_EINVAL;
	}
	return fl__ops_axis(v[0], in[0]->n_dims, "ArgMax", err, err_size);
}

static int argmax_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                        size_t err_size)
{
	int axis = argmax_axis(in, err, err_size), r = 0;
	if (axis < 0)
		return axis;
	if (in[0]->dims[axis] == 0) {
		fl__errf(err, err_size, "ArgMax: reduction dim %d is empty", axis);
		return FL_ESHAPE;
	}
	memset(&out[0], 0, sizeof(out[0]));
	out[0].dtype = FL_DTYPE_I32;
	for (int i = 0; i < in[0]->n_dims; i++)
		if (i != axis)
			out[0].dims[r++] = in[0]->dims[i];
	out[0].n_dims = r;
	return 0;
}

/* Columns of an ArgMax with inner > 1 tracked at once (on the stack). */
#define AM_CB 256

/*
** The first maximum along the axis.  With inner > 1 (MoveNet's heatmap
** argmax over [1, 2304, 17]) the input is walked in memory order: a block
** of up to AM_CB columns keeps its best value and index, each new row
** updating them with a strict compare (ties keep the lower index), which
** vectorises as compare + blend.  T is float or int32_t.
*/
#define ARGMAX_BLOCK(T)                                                       \
	do {                                                                      \
		const T *restrict p = (const T *)x->data + base;                      \
		T bv[AM_CB];                                                          \
		int32_t bi[AM_CB];                                                    \
		for (int64_t b = 0; b < nb; b++) {                                    \
			bv[b] = p[b];                                                     \
			bi[b] = 0;                                                        \
		}                                                                     \
		for (int64_t j = 1; j < L; j++) {                                     \
			const T *restrict q = p + j * inner;                              \
			for (int64_t b = 0; b < nb; b++) {                                \
				int gt = q[b] > bv[b];                                        \
				bv[b] = gt ? q[b] : bv[b];                                    \
				bi[b] = gt ? (int32_t)j : bi[b];                              \
			}                                                                 \
		}                                                                     \
		memcpy(o + a * inner + b0, bi, (size_t)nb * sizeof(int32_t));        \
	} while (0)

FL_OPS_VECTORIZE static int argmax_run(const struct fl_node *n, const struct fl_tensor *const *in,
                                       struct fl_tensor *out, const struct fl_exec *ex)
{
	const struct fl_tensor *x = in[0];
	int axis = argmax_axis(in, NULL, 0);
	int64_t outer = 1, inner = 1, L;
	int32_t *o = out[0].data;

	if (axis < 0)
		return axis;
	L = x->dims[axis];
	for (int i = 0; i < axis; i++)
		outer *= x->dims[i];
	for (int i = axis + 1; i < x->n_dims; i++)
		inner *= x->dims[i];
	for (int64_t a = 0; a < outer; a++) {
		if (inner == 1) {
			int64_t best = 0;
			if (x->dtype == FL_DTYPE_F32) {
				const float *p = (const float *)x->data + a * L;
				for (int64_t j = 1; j < L; j++)
					if (p[j] > p[best])
						best = j;
			} else {
				const int32_t *p = (const int32_t *)x->data + a * L;
				for (int64_t j = 1; j < L; j++)
					if (p[j] > p[best])
						best = j;
			}
			o[a] = (int32_t)best;
			continue;
		}
		for (int64_t b0 = 0; b0 < inner; b0 += AM_CB) {
			int64_t nb = FL_MIN(AM_CB, inner - b0), base = a * L * inner + b0;
			if (x->dtype == FL_DTYPE_F32)
				ARGMAX_BLOCK(float);
			else
				ARGMAX_BLOCK(int32_t);
		}
	}
	return 0;
}

const struct fl_op_def fl__opdef_argmax = {.tf_name = "ArgMax", .infer = argmax_infer, .run = argmax_run};

/* ----------------------------------------------------------------- topk */

static int topk_k(const struct fl_tensor *const *in, char *err, size_t err_size)
{
	int64_t v[1];
	int rc;
	if (!in[0]) {
		fl__errf(err, err_size, "TopKV2: missing input");
		return FL_EINVAL;
	}
	if (in[0]->dtype == FL_DTYPE_BOOL) {
		fl__errf(err, err_size, "TopKV2: bool input is not supported");
		return FL_EDTYPE;
	}
	if (in[0]->n_dims < 1) {
		fl__errf(err, err_size, "TopKV2: input must have rank >= 1");
		return FL_ESHAPE;
	}
	if ((rc = fl__ops_read_ints(in[1], v, 1, "TopKV2", "k", err, err_size)) < 0)
		return rc;
	if (rc != 1) {
		fl__errf(err, err_size, "TopKV2: k must have one element");
		return FL_EINVAL;
	}
	if (v[0] < 0 || v[0] > in[0]->dims[in[0]->n_dims - 1]) {
		fl__errf(err, err_size, "TopKV2: k %lld out of range for a last dim of %lld", (long long)v[0],
		         (long long)in[0]->dims[in[0]->n_dims - 1]);
		return FL_EINVAL;
	}
	return (int)v[0];
}

static int topk_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	int k = topk_k(in, err, err_size);
	if (k < 0)
		return k;
	if (n->n_out != 2) {
		fl__errf(err, err_size, "TopKV2: needs 2 outputs, the node has %d", n->n_out);
		return FL_EINVAL;
	}
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].dims[out[0].n_dims - 1] = k;
	out[0].data = NULL;
	out[1] = out[0];
	out[1].dtype = FL_DTYPE_I32;
	return 0;
}

/* Elements a TopK row is scanned in: a block whose maximum does not beat
** the current k-th value is skipped after one vectorised pass. */
#define TOPK_BLOCK 64

/*
** Per row, keep the best k seen so far in the outputs themselves, sorted
** descending; a new element goes after every kept one that is >= it, so
** equal values stay in index order (TF's tie rule).  Once k are kept, the
** row is read in blocks of TOPK_BLOCK checked first: only a block with
** an element strictly above the k-th is walked one by one,
** so a long row (CenterNet's 1.3 M scores, k = 100) costs one vectorised
** pass.  T is float or int32_t.
*/
#define TOPK_ROW(T)                                                           \
	do {                                                                      \
		const T *restrict xr = (const T *)x->data + r * L;                    \
		T *restrict ov = (T *)out[0].data + r * k;                            \
		int64_t j = 0;                                                        \
		int cnt = 0;                                                          \
		while (j < L) {                                                       \
			if (cnt == k && j + TOPK_BLOCK <= L) {                            \
				const T th = ov[k - 1];                                       \
				int hit = 0;                                                  \
				for (int q = 0; q < TOPK_BLOCK; q++)                          \
					hit |= xr[j + q] > th;                                    \
				if (!hit) {                                                   \
					j += TOPK_BLOCK;                                          \
					continue;                                                 \
				}                                                             \
			}                                                                 \
			int64_t je = cnt == k ? FL_MIN(j + TOPK_BLOCK, L) : j + 1;        \
			for (; j < je; j++) {                                             \
				T v = xr[j];                                                  \
				if (cnt == k && !(v > ov[k - 1]))                             \
					continue;                                                 \
				int pos = cnt < k ? cnt : k - 1;                              \
				while (pos > 0 && v > ov[pos - 1]) {                          \
					ov[pos] = ov[pos - 1];                                    \
					oi[pos] = oi[pos - 1];                                    \
					pos--;                                                    \
				}                                                             \
				ov[pos] = v;                                                  \
				oi[pos] = (int32_t)j;                                         \
				if (cnt < k)                                                  \
					cnt++;                                                    \
			}                                                                 \
		}                                                                     \
	} while (0)

FL_OPS_VECTORIZE static int topk_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	const struct fl_tensor *x = in[0];
	int k = topk_k(in, NULL, 0);
	int64_t L = x->dims[x->n_dims - 1], rows = L > 0 ? fl__ops_numel(x) / L : 0;

	if (k < 0)
		return k;
	if (k == 0)
		return 0;
	for (int64_t r = 0; r < rows; r++) {
		int32_t *restrict oi = (int32_t *)out[1].data + r * k;
		if (x->dtype == FL_DTYPE_F32)
			TOPK_ROW(float);
		else
			TOPK_ROW(int32_t);
	}
	return 0;
}

const struct fl_op_def fl__opdef_topk = {.tf_name = "TopKV2", .infer = topk_infer, .run = topk_run};
