/*
** shape_ops.c -- ops that move data without arithmetic: RESHAPE, SQUEEZE,
** EXPAND_DIMS, CONCAT, PACK, UNPACK, PAD, TRANSPOSE, TILE and SHAPE.
** Their parameters (target shape, axis, paddings, perm, multiples) come
** from constant inputs or attributes and are checked in infer(); run()
** trusts the shapes the session allocated from infer().
*/
#include "ops_int.h"

/* Shared check: input i is present. */
static int need_input(const struct fl_tensor *const *in, int i, const char *op, char *err, size_t err_size)
{
	if (!in[i]) {
		fl__errf(err, err_size, "%s: missing input %d", op, i);
		return FL_EINVAL;
	}
	return 0;
}

static void set_shape(struct fl_tensor *out, enum fl_dtype dt, int n_dims, const int64_t *dims)
{
	memset(out, 0, sizeof(*out));
	out->dtype = dt;
	out->n_dims = n_dims;
	for (int i = 0; i < n_dims; i++)
		out->dims[i] = dims[i];
}

/* Same bytes, new shape: RESHAPE, SQUEEZE, EXPAND_DIMS. */
static int copy_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	if (out[0].data != in[0]->data)
		memcpy(out[0].data, in[0]->data, fl__ops_bytes(in[0]));
	return 0;
}

/* -------------------------------------------------------------- reshape */

/*
** RESHAPE's target shape comes from a constant.  One -1 is inferred as in
** TF.  Models whose final Reshape was frozen for one input size (BlazeFace's
** [1,512,1] at 256x256) still have to run on other sizes (a 576x1024
** frame), so when the element counts differ and there is no -1:
**   1. if shape[0] equals the input's batch and the trailing dims
**      shape[2..] divide the remaining element count, dim 1 is inferred
**      (treated as -1): [1,512,1] on a [1,36,64,...] input -> [1,N/1,1];
**   2. else if shape[0] == 1 and the counts differ exactly by the input's
**      batch factor, dim 0 becomes the input batch (a file that fixed
**      batch 1, run at batch B);
**   3. both together (shape[0] == 1, batch B: dim 0 = B, then rule 1);
** anything else is an FL_ESHAPE error naming both element counts.
*/
static int reshape_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                         char *err, size_t err_size)
{
	int64_t s[FL_MAX_DIMS], total, prod = 1, batch;
	int r, neg = -1, rc;
	char buf[96];

	if ((rc = need_input(in, 0, "Reshape", err, err_size)) < 0)
		return rc;
	r = fl__ops_read_ints(in[1], s, FL_MAX_DIMS, "Reshape", "shape", err, err_size);
	if (r < 0)
		return r;
	total = fl__ops_numel(in[0]);
	for (int i = 0; i < r; i++) {
		if (s[i] == -1 && neg < 0) {
			neg = i;
		} else if (s[i] == -1) {
			fl__errf(err, err_size, "Reshape: more than one -1 in the shape");
			return FL_EINVAL;
		} else if (s[i] < 0) {
			fl__errf(err, err_size, "Reshape: negative dim %lld in the shape", (long long)s[i]);
			return FL_EINVAL;
		} else {
			prod *= s[i];
		}
	}
	if (neg >= 0) {
		if (prod == 0 || total % prod != 0) {
			struct fl_tensor t = {.n_dims = r};
			memcpy(t.dims, s, sizeof(int64_t) * (size_t)r);
			fl__errf(err, err_size, "Reshape: cannot infer the -1 of %s from %lld elements",
			         fl__ops_shape_str(&t, buf, sizeof(buf)), (long long)total);
			return FL_ESHAPE;
		}
		s[neg] = total / prod;
		prod = total;
	}
	batch = in[0]->n_dims > 0 ? in[0]->dims[0] : 1;
	if (prod != total && in[0]->n_dims > 0) {
		int64_t trail = 1;
		for (int i = 2; i < r; i++)
			trail *= s[i];
		if (r >= 2 && s[0] == batch && trail > 0 && batch > 0 && total % (batch * trail) == 0) {
			s[1] = total / (batch * trail); /* rule 1 */
			prod = total;
		} else if (r >= 1 && s[0] == 1 && prod * batch == total) {
			s[0] = batch; /* rule 2 */
			prod = total;
		} else if (r >= 2 && s[0] == 1 && batch > 1 && trail > 0 && total % (batch * trail) == 0) {
			s[0] = batch; /* rule 3 */
			s[1] = total / (batch * trail);
			prod = total;
		}
	}
	if (prod != total) {
		struct fl_tensor t = {.n_dims = r};
		memcpy(t.dims, s, sizeof(int64_t) * (size_t)r);
		fl__errf(err, err_size, "Reshape: shape %s has %lld elements, input has %lld",
		         fl__ops_shape_str(&t, buf, sizeof(buf)), (long long)prod, (long long)total);
		return FL_ESHAPE;
	}
	set_shape(&out[0], in[0]->dtype, r, s);
	return 0;
}

const struct fl_op_def fl__opdef_reshape = {.tf_name = "Reshape", .infer = reshape_infer, .run = copy_run};

/* -------------------------------------------------- squeeze, expand_dims */

static int squeeze_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                         char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int drop[FL_MAX_DIMS] = {0}, rc, r = 0;
	int64_t dims[FL_MAX_DIMS];

	if ((rc = need_input(in, 0, "Squeeze", err, err_size)) < 0)
		return rc;
	if (n->attr.n_axes < 0 || n->attr.n_axes > FL_MAX_DIMS) {
		fl__errf(err, err_size, "Squeeze: bad number of axes %d", n->attr.n_axes);
		return FL_EINVAL;
	}
	for (int i = 0; i < n->attr.n_axes; i++) {
		int a = fl__ops_axis(n->attr.axes[i], x->n_dims, "Squeeze", err, err_size);
		if (a < 0)
			return a;
		if (x->dims[a] != 1) {
			fl__errf(err, err_size, "Squeeze: cannot squeeze dim %d of size %lld", a, (long long)x->dims[a]);
			return FL_ESHAPE;
		}
		drop[a] = 1;
	}
	for (int i = 0; i < x->n_dims; i++) {
		if (n->attr.n_axes == 0 ? x->dims[i] == 1 : drop[i])
			continue;
		dims[r++] = x->dims[i];
	}
	set_shape(&out[0], x->dtype, r, dims);
	return 0;
}

const struct fl_op_def fl__opdef_squeeze = {.tf_name = "Squeeze", .infer = squeeze_infer, .run = copy_run};

static int expand_dims_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                             char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int64_t v[1], dims[FL_MAX_DIMS];
	int rc, r;

	if ((rc = need_input(in, 0, "ExpandDims", err, err_size)) < 0)
		return rc;
	if ((rc = fl__ops_read_ints(in[1], v, 1, "ExpandDims", "dim", err, err_size)) < 0)
		return rc;
	if (rc != 1) {
		fl__errf(err, err_size, "ExpandDims: dim must have one element");
		return FL_EINVAL;
	}
	if (x->n_dims >= FL_MAX_DIMS) {
		fl__errf(err, err_size, "ExpandDims: rank %d is the maximum", x->n_dims);
		return FL_EUNSUPPORTED;
	}
	r = fl__ops_axis(v[0], x->n_dims + 1, "ExpandDims", err, err_size);
	if (r < 0)
		return r;
	for (int i = 0, j = 0; i <= x->n_dims; i++)
		dims[i] = i == r ? 1 : x->dims[j++];
	set_shape(&out[0], x->dtype, x->n_dims + 1, dims);
	return 0;
}

const struct fl_op_def fl__opdef_expand_dims = {.tf_name = "ExpandDims", .infer = expand_dims_infer, .run = copy_run};

/* ------------------------------------------------------- concat and pack */

/* Concatenate n_x tensors along `axis` of the output (all shapes checked):
** for each of `outer` rows, copy each input's slab in turn. */
static void concat_copy(void *dst, const struct fl_tensor *const *xs, int n_x, int axis, int is_pack)
{
	char *o = dst;
	int64_t outer = 1, inner = 1;
	size_t esz = fl_dtype_size(xs[0]->dtype);
	const struct fl_tensor *x0 = xs[0];

	for (int i = 0; i < axis; i++)
		outer *= x0->dims[i];
	for (int i = is_pack ? axis : axis + 1; i < x0->n_dims; i++)
		inner *= x0->dims[i];
	for (int64_t r = 0; r < outer; r++) {
		for (int k = 0; k < n_x; k++) {
			size_t slab = (size_t)((is_pack ? 1 : xs[k]->dims[axis]) * inner) * esz;
			memcpy(o, (const char *)xs[k]->data + (size_t)r * slab, slab);
			o += slab;
		}
	}
}

static int concat_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                        char *err, size_t err_size)
{
	int n_x = n->n_in - 1, axis, rc;
	int64_t v[1], dims[FL_MAX_DIMS];
	char b0[96], b1[96];

	if (n_x < 1) {
		fl__errf(err, err_size, "ConcatV2: needs at least one input and the axis");
		return FL_EINVAL;
	}
	if ((rc = fl__ops_read_ints(in[n_x], v, 1, "ConcatV2", "axis", err, err_size)) < 0)
		return rc;
	if (rc != 1) {
		fl__errf(err, err_size, "ConcatV2: axis must have one element");
		return FL_EINVAL;
	}
	for (int k = 0; k < n_x; k++)
		if ((rc = need_input(in, k, "ConcatV2", err, err_size)) < 0)
			return rc;
	axis = fl__ops_axis(v[0], in[0]->n_dims, "ConcatV2", err, err_size);
	if (axis < 0)
		return axis;
	memcpy(dims, in[0]->dims, sizeof(dims));
	for (int k = 1; k < n_x; k++) {
		const struct fl_tensor *x = in[k];
		int ok = x->n_dims == in[0]->n_dims && x->dtype == in[0]->dtype;
		for (int i = 0; ok && i < x->n_dims; i++)
			ok = i == axis || x->dims[i] == in[0]->dims[i];
		if (!ok) {
			fl__errf(err, err_size, "ConcatV2: input %d %s %s does not fit input 0 %s %s on axis %d", k,
			         fl_dtype_name(x->dtype), fl__ops_shape_str(x, b1, sizeof(b1)), fl_dtype_name(in[0]->dtype),
			         fl__ops_shape_str(in[0], b0, sizeof(b0)), axis);
			return x->dtype != in[0]->dtype ? FL_EDTYPE : FL_ESHAPE;
		}
		dims[axis] += x->dims[axis];
	}
	set_shape(&out[0], in[0]->dtype, in[0]->n_dims, dims);
	return 0;
}

static int concat_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                      const struct fl_exec *ex)
{
	int axis = (int)fl__tensor_get_int(in[n->n_in - 1], 0);
	if (axis < 0)
		axis += in[0]->n_dims;
	concat_copy(out[0].data, in, n->n_in - 1, axis, 0);
	return 0;
}

const struct fl_op_def fl__opdef_concat = {.tf_name = "ConcatV2", .infer = concat_infer, .run = concat_run};

static int pack_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	int axis, rc;
	int64_t dims[FL_MAX_DIMS];
	char b0[96], b1[96];

	if (n->n_in < 1) {
		fl__errf(err, err_size, "Pack: needs at least one input");
		return FL_EINVAL;
	}
	for (int k = 0; k < n->n_in; k++)
		if ((rc = need_input(in, k, "Pack", err, err_size)) < 0)
			return rc;
	if (in[0]->n_dims >= FL_MAX_DIMS) {
		fl__errf(err, err_size, "Pack: rank %d is the maximum", in[0]->n_dims);
		return FL_EUNSUPPORTED;
	}
	axis = fl__ops_axis(n->attr.axis, in[0]->n_dims + 1, "Pack", err, err_size);
	if (axis < 0)
		return axis;
	for (int k = 1; k < n->n_in; k++) {
		int ok = in[k]->n_dims == in[0]->n_dims && in[k]->dtype == in[0]->dtype;
		for (int i = 0; ok && i < in[0]->n_dims; i++)
			ok = in[k]->dims[i] == in[0]->dims[i];
		if (!ok) {
			fl__errf(err, err_size, "Pack: input %d %s %s differs from input 0 %s %s", k, fl_dtype_name(in[k]->dtype),
			         fl__ops_shape_str(in[k], b1, sizeof(b1)), fl_dtype_name(in[0]->dtype),
			         fl__ops_shape_str(in[0], b0, sizeof(b0)));
			return in[k]->dtype != in[0]->dtype ? FL_EDTYPE : FL_ESHAPE;
		}
	}
	for (int i = 0, j = 0; i <= in[0]->n_dims; i++)
		dims[i] = i == axis ? n->n_in : in[0]->dims[j++];
	set_shape(&out[0], in[0]->dtype, in[0]->n_dims + 1, dims);
	return 0;
}

static int pack_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	int axis = n->attr.axis < 0 ? n->attr.axis + in[0]->n_dims + 1 : n->attr.axis;
	concat_copy(out[0].data, in, n->n_in, axis, 1);
	return 0;
}

const struct fl_op_def fl__opdef_pack = {.tf_name = "Pack", .infer = pack_infer, .run = pack_run};

static int unpack_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                        char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int axis, rc;
	int64_t dims[FL_MAX_DIMS];

	if ((rc = need_input(in, 0, "Unpack", err, err_size)) < 0)
		return rc;
	axis = fl__ops_axis(n->attr.axis, x->n_dims, "Unpack", err, err_size);
	if (axis < 0)
		return axis;
	if (x->dims[axis] != n->n_out) {
		fl__errf(err, err_size, "Unpack: dim %d has size %lld but the node has %d outputs", axis,
		         (long long)x->dims[axis], n->n_out);
		return FL_ESHAPE;
	}
	for (int i = 0, j = 0; i < x->n_dims; i++)
		if (i != axis)
			dims[j++] = x->dims[i];
	for (int k = 0; k < n->n_out; k++)
		set_shape(&out[k], x->dtype, x->n_dims - 1, dims);
	return 0;
}

static int unpack_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                      const struct fl_exec *ex)
{
	const struct fl_tensor *x = in[0];
	int axis = n->attr.axis < 0 ? n->attr.axis + x->n_dims : n->attr.axis;
	int64_t outer = 1, inner = 1;
	size_t esz = fl_dtype_size(x->dtype);

	for (int i = 0; i < axis; i++)
		outer *= x->dims[i];
	for (int i = axis + 1; i < x->n_dims; i++)
		inner *= x->dims[i];
	for (int64_t r = 0; r < outer; r++)
		for (int k = 0; k < n->n_out; k++)
			memcpy((char *)out[k].data + (size_t)(r * inner) * esz,
			       (const char *)x->data + (size_t)((r * n->n_out + k) * inner) * esz, (size_t)inner * esz);
	return 0;
}

const struct fl_op_def fl__opdef_unpack = {.tf_name = "Unpack", .infer = unpack_infer, .run = unpack_run};

/* ------------------------------------------------------------------ pad */

/* paddings [rank, 2] (before, after) into pads; checks they fit. */
static int pad_read(const struct fl_tensor *const *in, int64_t *pads, char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0], *p = in[1];
	int rc = fl__ops_need_const(p, "Pad", "paddings", err, err_size);
	if (rc < 0)
		return rc;
	if (!(p->n_dims == 2 && p->dims[0] == x->n_dims && p->dims[1] == 2) && !(x->n_dims == 0 && fl__ops_numel(p) == 0)) {
		char b[96];
		fl__errf(err, err_size, "Pad: paddings %s do not fit rank %d", fl__ops_shape_str(p, b, sizeof(b)), x->n_dims);
		return FL_ESHAPE;
	}
	for (int i = 0; i < 2 * x->n_dims; i++) {
		pads[i] = fl__tensor_get_int(p, i);
		if (pads[i] < 0) {
			fl__errf(err, err_size, "Pad: negative padding %lld on dim %d", (long long)pads[i], i / 2);
			return FL_EINVAL;
		}
	}
	return 0;
}

static int pad_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                     size_t err_size)
{
	int64_t pads[2 * FL_MAX_DIMS], dims[FL_MAX_DIMS];
	int rc;

	if ((rc = need_input(in, 0, "Pad", err, err_size)) < 0)
		return rc;
	if ((rc = pad_read(in, pads, err, err_size)) < 0)
		return rc;
	for (int i = 0; i < in[0]->n_dims; i++)
		dims[i] = in[0]->dims[i] + pads[2 * i] + pads[2 * i + 1];
	set_shape(&out[0], in[0]->dtype, in[0]->n_dims, dims);
	return 0;
}

struct pad_ctx {
	const struct fl_tensor *x;
	struct fl_tensor *o;
	int64_t pads[2 * FL_MAX_DIMS];
	float value;
};

FL_OPS_VECTORIZE static void fill_value(void *dst, enum fl_dtype dt, float v, int64_t n)
{
	if (dt == FL_DTYPE_F32) {
		float *d = dst;
		for (int64_t i = 0; i < n; i++)
			d[i] = v;
	} else if (dt == FL_DTYPE_I32) {
		int32_t *d = dst, iv = (int32_t)v;
		for (int64_t i = 0; i < n; i++)
			d[i] = iv;
	} else {
		memset(dst, v != 0.0f, (size_t)n);
	}
}

/* Output rows [lo, hi) (a row = the last dim): a row that maps into the
** input gets pad + copy + pad, any other row is all padding value.  The
** row's coordinates advance like an odometer (no division per row). */
static void pad_range(void *arg, int64_t lo, int64_t hi)
{
	struct pad_ctx *c = arg;
	const struct fl_tensor *x = c->x;
	int last = x->n_dims - 1;
	size_t esz = fl_dtype_size(x->dtype);
	int64_t ow = c->o->dims[last], iw = x->dims[last], pl = c->pads[2 * last], pr = c->pads[2 * last + 1];
	int64_t xst[FL_MAX_DIMS], idx[FL_MAX_DIMS], rem = lo;

	fl__ops_strides(x, xst);
	for (int d = last - 1; d >= 0; d--) {
		idx[d] = rem % c->o->dims[d];
		rem /= c->o->dims[d];
	}
	for (int64_t row = lo; row < hi; row++) {
		char *o = (char *)c->o->data + (size_t)(row * ow) * esz;
		int64_t off = 0;
		int inside = 1;
		for (int d = 0; d < last; d++) {
			int64_t i = idx[d] - c->pads[2 * d];
			inside &= i >= 0 && i < x->dims[d];
			off += i * xst[d];
		}
		if (!inside) {
			fill_value(o, x->dtype, c->value, ow);
		} else {
			fill_value(o, x->dtype, c->value, pl);
			memcpy(o + (size_t)pl * esz, (const char *)x->data + (size_t)off * esz, (size_t)iw * esz);
			fill_value(o + (size_t)(pl + iw) * esz, x->dtype, c->value, pr);
		}
		for (int d = last - 1; d >= 0; d--) {
			if (++idx[d] < c->o->dims[d])
				break;
			idx[d] = 0;
		}
	}
}

static int pad_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                   const struct fl_exec *ex)
{
	struct pad_ctx c = {.x = in[0], .o = &out[0], .value = n->attr.pad_value};
	int rc = pad_read(in, c.pads, NULL, 0);
	int64_t rows = 1;

	if (rc < 0)
		return rc;
	if (in[0]->n_dims == 0) {
		memcpy(out[0].data, in[0]->data, fl_dtype_size(in[0]->dtype));
		return 0;
	}
	if (fl__ops_numel(&out[0]) == 0)
		return 0;
	for (int i = 0; i < out[0].n_dims - 1; i++)
		rows *= out[0].dims[i];
	fl__ops_parallel(ex, rows, FL_MAX(1, 16384 / FL_MAX(1, out[0].dims[out[0].n_dims - 1])), pad_range, &c);
	return 0;
}

const struct fl_op_def fl__opdef_pad = {.tf_name = "PadV2", .infer = pad_infer, .run = pad_run};

/* ------------------------------------------------------------ transpose */

static int transpose_read(const struct fl_tensor *const *in, int64_t *perm, char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int seen[FL_MAX_DIMS] = {0};
	int r = fl__ops_read_ints(in[1], perm, FL_MAX_DIMS, "Transpose", "perm", err, err_size);
	if (r < 0)
		return r;
	if (r != x->n_dims) {
		fl__errf(err, err_size, "Transpose: perm has %d entries for rank %d", r, x->n_dims);
		return FL_ESHAPE;
	}
	for (int i = 0; i < r; i++) {
		int a = fl__ops_axis(perm[i], r, "Transpose perm", err, err_size);
		if (a < 0)
			return a;
		if (seen[a]++) {
			fl__errf(err, err_size, "Transpose: perm repeats axis %d", a);
			return FL_EINVAL;
		}
		perm[i] = a;
	}
	return r;
}

static int transpose_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                           char *err, size_t err_size)
{
	int64_t perm[FL_MAX_DIMS], dims[FL_MAX_DIMS];
	int r, rc;

	if ((rc = need_input(in, 0, "Transpose", err, err_size)) < 0)
		return rc;
	if ((r = transpose_read(in, perm, err, err_size)) < 0)
		return r;
	for (int i = 0; i < r; i++)
		dims[i] = in[0]->dims[perm[i]];
	set_shape(&out[0], in[0]->dtype, r, dims);
	return 0;
}

static int transpose_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                         const struct fl_exec *ex)
{
	int64_t perm[FL_MAX_DIMS], st[FL_MAX_DIMS], ss[FL_MAX_DIMS];
	int r = transpose_read(in, perm, NULL, 0);
	if (r < 0)
		return r;
	fl__ops_strides(in[0], st);
	for (int i = 0; i < r; i++)
		ss[i] = st[perm[i]];
	fl__ops_strided_copy(out[0].data, in[0]->data, fl_dtype_size(in[0]->dtype), r, out[0].dims, ss);
	return 0;
}

const struct fl_op_def fl__opdef_transpose = {.tf_name = "Transpose", .infer = transpose_infer, .run = transpose_run};

/* ----------------------------------------------------------------- tile */

static int tile_read(const struct fl_tensor *const *in, int64_t *m, char *err, size_t err_size)
{
	int r = fl__ops_read_ints(in[1], m, FL_MAX_DIMS, "Tile", "multiples", err, err_size);
	if (r < 0)
		return r;
	if (r != in[0]->n_dims) {
		fl__errf(err, err_size, "Tile: multiples has %d entries for rank %d", r, in[0]->n_dims);
		return FL_ESHAPE;
	}
	for (int i = 0; i < r; i++)
		if (m[i] < 0) {
			fl__errf(err, err_size, "Tile: negative multiple %lld on dim %d", (long long)m[i], i);
			return FL_EINVAL;
		}
	return r;
}

static int tile_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	int64_t m[FL_MAX_DIMS], dims[FL_MAX_DIMS];
	int r, rc;

	if ((rc = need_input(in, 0, "Tile", err, err_size)) < 0)
		return rc;
	if ((r = tile_read(in, m, err, err_size)) < 0)
		return r;
	for (int i = 0; i < r; i++)
		dims[i] = in[0]->dims[i] * m[i];
	set_shape(&out[0], in[0]->dtype, r, dims);
	return 0;
}

/* Output dim i is viewed as (multiple, dim) with source strides (0, stride). */
static int tile_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	int64_t m[FL_MAX_DIMS], st[FL_MAX_DIMS], dims[2 * FL_MAX_DIMS], ss[2 * FL_MAX_DIMS];
	int r = tile_read(in, m, NULL, 0);
	if (r < 0)
		return r;
	fl__ops_strides(in[0], st);
	for (int i = 0; i < r; i++) {
		dims[2 * i] = m[i];
		ss[2 * i] = 0;
		dims[2 * i + 1] = in[0]->dims[i];
		ss[2 * i + 1] = st[i];
	}
	fl__ops_strided_copy(out[0].data, in[0]->data, fl_dtype_size(in[0]->dtype), 2 * r, dims, ss);
	return 0;
}

const struct fl_op_def fl__opdef_tile = {.tf_name = "Tile", .infer = tile_infer, .run = tile_run};

/* ---------------------------------------------------------------- shape */

static int shape_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                       size_t err_size)
{
	int64_t d[1];
	int rc;
	if ((rc = need_input(in, 0, "Shape", err, err_size)) < 0)
		return rc;
	d[0] = in[0]->n_dims;
	set_shape(&out[0], FL_DTYPE_I32, 1, d);
	return 0;
}

static int shape_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                     const struct fl_exec *ex)
{
	for (int i = 0; i < in[0]->n_dims; i++)
		((int32_t *)out[0].data)[i] = (int32_t)in[0]->dims[i];
	return 0;
}

const struct fl_op_def fl__opdef_shape = {.tf_name = "Shape", .infer = shape_infer, .run = shape_run};
