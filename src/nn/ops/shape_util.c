/*
** shape_util.c -- shape arithmetic shared by the engine: convolution and
** pooling output sizes (TF's SAME/VALID rules), NumPy broadcasting, reading
** integer parameters out of constant tensors, plus the small helpers of
** ops_int.h (axis normalisation, shape strings, parallel ranges).
*/
#include "ops_int.h"

/*
** TF's rules (tensorflow/core/framework/kernel_shape_util.cc):
**   effective kernel  ek = (k - 1) * dilation + 1
**   VALID     out = ceil((in - ek + 1) / stride), no padding
**   SAME      out = ceil(in / stride), pad_total = max((out-1)*stride + ek - in, 0),
**             pad_before = pad_total / 2 (the odd pixel goes bottom/right)
**   EXPLICIT  out = (in + lo + hi - ek) / stride + 1, pad_before = lo
** Returns the output size (> 0) or FL_ESHAPE when the window does not fit.
*/
int fl__conv_out_size(int in, int k, int stride, int dilation, int padding, int pad_lo, int pad_hi, int *pad_before)
{
	int s = stride > 0 ? stride : 1;
	int d = dilation > 0 ? dilation : 1;
	int ek = (k - 1) * d + 1;
	int out, before = 0;

	if (in <= 0 || k <= 0)
		return FL_ESHAPE;
	switch (padding) {
	case FL_PADDING_VALID:
		if (in < ek)
			return FL_ESHAPE;
		out = (in - ek) / s + 1;
		break;
	case FL_PADDING_SAME: {
		out = (in + s - 1) / s;
		int total = (out - 1) * s + ek - in;
		if (total < 0)
			total = 0;
		before = total / 2;
		break;
	}
	case FL_PADDING_EXPLICIT:
		if (pad_lo < 0 || pad_hi < 0 || in + pad_lo + pad_hi < ek)
			return FL_ESHAPE;
		out = (in + pad_lo + pad_hi - ek) / s + 1;
		before = pad_lo;
		break;
	default:
		return FL_EINVAL;
	}
	if (pad_before)
		*pad_before = before;
	return out;
}

/* NumPy: align the shapes at the right; each pair of dims must be equal
** or one of them 1 (a 0 pairs with 1 to give 0).  out gets a's dtype. */
int fl__broadcast_shape(const struct fl_tensor *a, const struct fl_tensor *b, struct fl_tensor *out)
{
	int n = FL_MAX(a->n_dims, b->n_dims);
	int64_t dims[FL_MAX_DIMS];

	for (int i = 0; i < n; i++) {
		int ia = a->n_dims - n + i, ib = b->n_dims - n + i;
		int64_t da = ia >= 0 ? a->dims[ia] : 1;
		int64_t db = ib >= 0 ? b->dims[ib] : 1;
		if (da == db || db == 1)
			dims[i] = da;
		else if (da == 1)
			dims[i] = db;
		else
			return FL_ESHAPE;
	}
	out->dtype = a->dtype;
	out->n_dims = n;
	for (int i = 0; i < FL_MAX_DIMS; i++)
		out->dims[i] = i < n ? dims[i] : 0;
	return 0;
}

int64_t fl__tensor_get_int(const struct fl_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case FL_DTYPE_I32:
		return ((const int32_t *)t->data)[i];
	case FL_DTYPE_F32:
		return (int64_t)((const float *)t->data)[i];
	case FL_DTYPE_BOOL:
		return ((const uint8_t *)t->data)[i];
	}
	return 0;
}

int fl__ops_axis(int64_t axis, int rank, const char *what, char *err, size_t err_size)
{
	if (axis < -rank || axis >= rank) {
		fl__errf(err, err_size, "%s%saxis %lld out of range for rank %d", what ? what : "",
		         what ? " " : "", (long long)axis, rank);
		return FL_EINVAL;
	}
	return (int)(axis < 0 ? axis + rank : axis);
}

const char *fl__ops_shape_str(const struct fl_tensor *t, char *buf, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return buf;
	buf[0] = 0;
	len += (size_t)snprintf(buf + len, size - len, "[");
	for (int i = 0; i < t->n_dims && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
	if (len < size)
		snprintf(buf + len, size - len, "]");
	return buf;
}

int fl__ops_need_const(const struct fl_tensor *t, const char *op, const char *what, char *err, size_t err_size)
{
	if (!t) {
		fl__errf(err, err_size, "%s: missing %s input", op, what);
		return FL_EINVAL;
	}
	if (!t->data) {
		fl__errf(err, err_size, "%s: %s must be a constant", op, what);
		return FL_EUNSUPPORTED;
	}
	if (t->dtype != FL_DTYPE_I32 && t->dtype != FL_DTYPE_F32) {
		fl__errf(err, err_size, "%s: %s must be int32, not %s", op, what, fl_dtype_name(t->dtype));
		return FL_EDTYPE;
	}
	return 0;
}

/* ------------------------------------------------------ parallel ranges */

struct par_ctx {
	fl__ops_range_fn fn;
	void *arg;
	int64_t n, per;
};

static void par_task(void *arg, int task, int thread)
{
	struct par_ctx *c = arg;
	int64_t lo = (int64_t)task * c->per;
	int64_t hi = FL_MIN(c->n, lo + c->per);
	(void)thread;
	if (lo < hi)
		c->fn(c->arg, lo, hi);
}

/* A few big tasks (2 per thread, for balance on a noisy machine); small
** ranges run inline on the caller. */
void fl__ops_parallel(const struct fl_exec *ex, int64_t n, int64_t min_per_task, fl__ops_range_fn fn, void *arg)
{
	int n_threads = ex && ex->pool ? ex->n_threads : 1;
	int64_t n_tasks;
	struct par_ctx c;

	if (n <= 0)
		return;
	if (min_per_task < 1)
		min_per_task = 1;
	n_tasks = n_threads > 1 ? FL_MIN((int64_t)n_threads * 2, n / min_per_task) : 1;
	if (n_tasks <= 1) {
		fn(arg, 0, n);
		return;
	}
	c.fn = fn;
	c.arg = arg;
	c.n = n;
	c.per = (n + n_tasks - 1) / n_tasks;
	fl__pool_run(ex->pool, par_task, &c, (int)((n + c.per - 1) / c.per));
}

/* --------------------------------------------------------- strided copy */

void fl__ops_strided_copy(void *dst, const void *src, size_t esz, int nd, const int64_t *dims, const int64_t *sstrides)
{
	int64_t d[2 * FL_MAX_DIMS], s[2 * FL_MAX_DIMS], idx[2 * FL_MAX_DIMS];
	int n = 0;
	char *o = dst;
	const char *base = src;

	/* drop size-1 dims, merge neighbours that step evenly in src */
	for (int k = 0; k < nd; k++) {
		if (dims[k] == 0)
			return;
		if (dims[k] == 1)
			continue;
		if (n > 0 && s[n - 1] == sstrides[k] * dims[k]) {
			d[n - 1] *= dims[k];
			s[n - 1] = sstrides[k];
			continue;
		}
		d[n] = dims[k];
		s[n] = sstrides[k];
		n++;
	}
	if (n == 0) {
		memcpy(o, base, esz);
		return;
	}
	for (int k = 0; k < n; k++)
		idx[k] = 0;
	int last = n - 1;
	int64_t inner = d[last], is = s[last], off = 0;
	for (;;) {
		const char *p = base + off * (int64_t)esz;
		if (is == 1) {
			memcpy(o, p, (size_t)inner * esz);
		} else if (esz == 4) {
			uint32_t *o4 = (uint32_t *)o;
			for (int64_t j = 0; j < inner; j++)
				memcpy(&o4[j], p + j * is * 4, 4);
		} else {
			for (int64_t j = 0; j < inner; j++)
				memcpy(o + j * (int64_t)esz, p + j * is * (int64_t)esz, esz);
		}
		o += inner * (int64_t)esz;
		int k = last - 1;
		for (; k >= 0; k--) {
			idx[k]++;
			off += s[k];
			if (idx[k] < d[k])
				break;
			off -= d[k] * s[k];
			idx[k] = 0;
		}
		if (k < 0)
			return;
	}
}

int fl__ops_read_ints(const struct fl_tensor *t, int64_t *v, int max, const char *op, const char *what, char *err,
                      size_t err_size)
{
	int rc = fl__ops_need_const(t, op, what, err, err_size);
	int64_t n;
	if (rc < 0)
		return rc;
	if (t->n_dims > 1) {
		fl__errf(err, err_size, "%s: %s must be a scalar or a vector, not rank %d", op, what, t->n_dims);
		return FL_EINVAL;
	}
	n = fl__ops_numel(t);
	if (n > max) {
		fl__errf(err, err_size, "%s: %s has %lld entries, at most %d supported", op, what, (long long)n, max);
		return FL_EINVAL;
	}
	for (int64_t i = 0; i < n; i++)
		v[i] = fl__tensor_get_int(t, i);
	return (int)n;
}
