/*
** slice.c -- STRIDED_SLICE (TF's StridedSlice with all five masks, ported
** from tensorflow/core/util/strided_slice_op.cc) and SLICE.  Both plan a
** view of the input (a start offset, one size and one step per dim) in
** infer() and copy it with fl__ops_strided_copy() in run().
*/
#include "ops_int.h"

/* A planned slice: the "processing shape" over the input's dims, each with
** a start and a step; the output shape drops shrunk dims and adds new ones. */
struct slice_plan {
	int rank;                /* input rank */
	int64_t begin[FL_MAX_DIMS], size[FL_MAX_DIMS], step[FL_MAX_DIMS];
	int out_rank;
	int64_t out_dims[FL_MAX_DIMS];
};

#define SS_MAX_SPEC 16 /* entries of begin/end/strides */

/*
** TF's algorithm.  The sparse spec (begin/end/strides with masks, as given)
** is expanded to a dense one with one entry per input dim: the ellipsis
** (implicitly at the end when absent) covers the dims that the other
** entries do not name, new_axis entries name no input dim.  Each dense dim
** is then canonicalised: masked begin/end take the full range for the
** step's sign, negative indices count from the end, and indices clamp to
** [0, dim] (step > 0) or [-1, dim-1] (step < 0); a shrunk dim takes the one
** element at begin, which must be in range.
*/
static int ss_plan(const struct fl_node *n, const struct fl_tensor *const *in, struct slice_plan *p, char *err,
                   size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int64_t sb[SS_MAX_SPEC], se[SS_MAX_SPEC], ss[SS_MAX_SPEC];
	int nb, ne, ns, sdims, rc;
	int ellipsis = n->attr.ellipsis_mask, new_axis = n->attr.new_axis_mask;
	int n_after = 0, seen = 0, full = 0;
	/* the dense spec */
	int64_t db[FL_MAX_DIMS], de[FL_MAX_DIMS], ds[FL_MAX_DIMS];
	int dbm = 0, dem = 0, dshrink = 0;
	int gather[SS_MAX_SPEC + FL_MAX_DIMS], n_gather = 0; /* >= 0 dense dim, -1 new axis, -2 shrunk */

	if (!x) {
		fl__errf(err, err_size, "StridedSlice: missing input");
		return FL_EINVAL;
	}
	if ((nb = fl__ops_read_ints(in[1], sb, SS_MAX_SPEC - 1, "StridedSlice", "begin", err, err_size)) < 0)
		return nb;
	if ((ne = fl__ops_read_ints(in[2], se, SS_MAX_SPEC - 1, "StridedSlice", "end", err, err_size)) < 0)
		return ne;
	if (in[3]) {
		if ((ns = fl__ops_read_ints(in[3], ss, SS_MAX_SPEC - 1, "StridedSlice", "strides", err, err_size)) < 0)
			return ns;
	} else {
		ns = nb;
		for (int i = 0; i < ns; i++)
			ss[i] = 1;
	}
	if (nb != ne || nb != ns) {
		fl__errf(err, err_size, "StridedSlice: begin, end and strides have %d, %d and %d entries", nb, ne, ns);
		return FL_EINVAL;
	}
	sdims = nb;
	for (int i = 0; i < sdims; i++) {
		if (ellipsis & (1 << i)) {
			if (seen) {
				fl__errf(err, err_size, "StridedSlice: more than one ellipsis");
				return FL_EINVAL;
			}
			seen = 1;
		}
	}
	if (!seen) {
		ellipsis |= 1 << sdims; /* implicit ellipsis at the end */
		sb[sdims] = se[sdims] = 0;
		ss[sdims] = 1;
		sdims++;
	}
	seen = 0;
	for (int i = 0; i < sdims; i++) {
		if (seen && (new_axis & (1 << i)))
			n_after++;
		if (ellipsis & (1 << i))
			seen = 1;
	}
	/* sparse -> dense */
	for (int i = 0; i < sdims; i++) {
		if (ellipsis & (1 << i)) {
			int next = FL_MIN(x->n_dims - (sdims - i) + 1 + n_after, x->n_dims);
			for (; full < next; full++) {
				db[full] = de[full] = 0;
				ds[full] = 1;
				dbm |= 1 << full;
				dem |= 1 << full;
				gather[n_gather++] = full;
			}
		} else if (new_axis & (1 << i)) {
			gather[n_gather++] = -1;
		} else {
			if (full == x->n_dims) {
				fl__errf(err, err_size, "StridedSlice: index %d out of range: the input has only %d dims", full,
				         x->n_dims);
				return FL_EINVAL;
			}
			db[full] = sb[i];
			de[full] = se[i];
			ds[full] = ss[i];
			if (n->attr.begin_mask & (1 << i))
				dbm |= 1 << full;
			if (n->attr.end_mask & (1 << i))
				dem |= 1 << full;
			if (n->attr.shrink_axis_mask & (1 << i)) {
				gather[n_gather++] = -2;
				dshrink |= 1 << full;
			} else {
				gather[n_gather++] = full;
			}
			full++;
		}
	}
	/* dims not named by any entry (possible only when full < rank: TF pads
	** the dense spec the same way, with full ranges) */
	for (; full < x->n_dims; full++) {
		db[full] = de[full] = 0;
		ds[full] = 1;
		dbm |= 1 << full;
		dem |= 1 << full;
		gather[n_gather++] = full;
	}
	/* canonicalise each dense dim */
	p->rank = x->n_dims;
	for (int i = 0; i < x->n_dims; i++) {
		int64_t dim = x->dims[i], st = ds[i], b = db[i], e = de[i];
		int shrink = (dshrink >> i) & 1;
		int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? dim : dim - 1;
		if (st == 0) {
			fl__errf(err, err_size, "StridedSlice: stride of dim %d is 0", i);
			return FL_EINVAL;
		}
		if (shrink) {
			int64_t fwd = b < 0 ? dim + b : b;
			if (st <= 0) {
				fl__errf(err, err_size, "StridedSlice: only stride 1 allowed on a shrunk dim %d", i);
				return FL_EINVAL;
			}
			if (fwd < 0 || fwd >= dim) {
				fl__errf(err, err_size, "StridedSlice: index %lld of dim %d out of bounds (size %lld)", (long long)b, i,
				         (long long)dim);
				return FL_EINVAL;
			}
			b = fwd;
			e = fwd + 1;
			st = 1;
		} else {
			if ((dbm >> i) & 1) {
				b = st > 0 ? lo : hi;
			} else {
				b = b < 0 ? dim + b : b;
				b = b < lo ? lo : (b > hi ? hi : b);
			}
			if ((dem >> i) & 1) {
				e = st > 0 ? hi : lo;
			} else {
				e = e < 0 ? dim + e : e;
				e = e < lo ? lo : (e > hi ? hi : e);
			}
		}
		int64_t len = e - b, size;
		if (len == 0 || ((len < 0) != (st < 0)))
			size = 0;
		else
			size = len / st + (len % st != 0 ? 1 : 0);
		p->begin[i] = size > 0 ? b : 0;
		p->size[i] = size;
		p->step[i] = st;
	}
	/* the final shape */
	p->out_rank = 0;
	for (int k = 0; k < n_gather; k++) {
		if (gather[k] == -2)
			continue;
		if (p->out_rank == FL_MAX_DIMS) {
			fl__errf(err, err_size, "StridedSlice: result has more than %d dims", FL_MAX_DIMS);
			return FL_EUNSUPPORTED;
		}
		p->out_dims[p->out_rank++] = gather[k] == -1 ? 1 : p->size[gather[k]];
	}
	rc = 0;
	return rc;
}

static int plan_infer(const struct slice_plan *p, const struct fl_tensor *x, struct fl_tensor *out)
{
	memset(out, 0, sizeof(*out));
	out->dtype = x->dtype;
	out->n_dims = p->out_rank;
	for (int i = 0; i < p->out_rank; i++)
		out->dims[i] = p->out_dims[i];
	return 0;
}

static void plan_run(const struct slice_plan *p, const struct fl_tensor *x, struct fl_tensor *out)
{
	int64_t st[FL_MAX_DIMS], ss[FL_MAX_DIMS], off = 0;
	size_t esz = fl_dtype_size(x->dtype);
	fl__ops_strides(x, st);
	for (int i = 0; i < p->rank; i++) {
		if (p->size[i] == 0)
			return;
		off += p->begin[i] * st[i];
		ss[i] = p->step[i] * st[i];
	}
	fl__ops_strided_copy(out->data, (const char *)x->data + (size_t)off * esz, esz, p->rank, p->size, ss);
}

static int ss_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                    size_t err_size)
{
	struct slice_plan p;
	int rc = ss_plan(n, in, &p, err, err_size);
	return rc < 0 ? rc : plan_infer(&p, in[0], &out[0]);
}

static int ss_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                  const struct fl_exec *ex)
{
	struct slice_plan p;
	int rc = ss_plan(n, in, &p, NULL, 0);
	if (rc < 0)
		return rc;
	plan_run(&p, in[0], &out[0]);
	return 0;
}

const struct fl_op_def fl__opdef_strided_slice = {.tf_name = "StridedSlice", .infer = ss_infer, .run = ss_run};

/* ---------------------------------------------------------------- slice */

/* Slice(x, begin, size): size -1 means "to the end"; everything must fit. */
static int slice_plan(const struct fl_tensor *const *in, struct slice_plan *p, char *err, size_t err_size)
{
	const struct fl_tensor *x = in[0];
	int64_t b[FL_MAX_DIMS], s[FL_MAX_DIMS];
	int nb, ns;

	if (!x) {
		fl__errf(err, err_size, "Slice: missing input");
		return FL_EINVAL;
	}
	if ((nb = fl__ops_read_ints(in[1], b, FL_MAX_DIMS, "Slice", "begin", err, err_size)) < 0)
		return nb;
	if ((ns = fl__ops_read_ints(in[2], s, FL_MAX_DIMS, "Slice", "size", err, err_size)) < 0)
		return ns;
	if (nb != x->n_dims || ns != x->n_dims) {
		fl__errf(err, err_size, "Slice: begin and size have %d and %d entries for rank %d", nb, ns, x->n_dims);
		return FL_ESHAPE;
	}
	p->rank = p->out_rank = x->n_dims;
	for (int i = 0; i < x->n_dims; i++) {
		int64_t sz = s[i] == -1 ? x->dims[i] - b[i] : s[i];
		if (b[i] < 0 || sz < 0 || b[i] + sz > x->dims[i]) {
			fl__errf(err, err_size, "Slice: begin %lld size %lld do not fit dim %d of size %lld", (long long)b[i],
			         (long long)s[i], i, (long long)x->dims[i]);
			return FL_EINVAL;
		}
		p->begin[i] = b[i];
		p->size[i] = p->out_dims[i] = sz;
		p->step[i] = 1;
	}
	return 0;
}

static int slice_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                       size_t err_size)
{
	struct slice_plan p;
	int rc = slice_plan(in, &p, err, err_size);
	return rc < 0 ? rc : plan_infer(&p, in[0], &out[0]);
}

static int slice_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                     const struct fl_exec *ex)
{
	struct slice_plan p;
	int rc = slice_plan(in, &p, NULL, 0);
	if (rc < 0)
		return rc;
	plan_run(&p, in[0], &out[0]);
	return 0;
}

const struct fl_op_def fl__opdef_slice = {.tf_name = "Slice", .infer = slice_infer, .run = slice_run};
