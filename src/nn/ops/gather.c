/*
** gather.c -- GATHER (TF's GatherV2 with axis and batch_dims) and
** GATHER_ND.  Indices are int32 (float indices holding integers are
** accepted); an index out of range -- negative ones included -- is an
** error, as on TF's CPU, reported through fl_log since run() has no
** message buffer.
*/
#include "ops_int.h"

/* -------------------------------------------------------------- gather */

/* Normalised axis and batch_dims of a GatherV2 node. */
static int gather_axes(const struct fl_node *n, const struct fl_tensor *const *in, int *axis, int *bd, char *err,
                       size_t err_size)
{
	const struct fl_tensor *p = in[0], *ix = in[1];
	int64_t v[1] = {0};
	int rc, b = n->attr.batch_dims;

	if (!p || !ix) {
		fl__errf(err, err_size, "GatherV2: missing params or indices");
		return FL_EINVAL;
	}
	if (ix->dtype == FL_DTYPE_BOOL) {
		fl__errf(err, err_size, "GatherV2: indices must be int32");
		return FL_EDTYPE;
	}
	if (n->n_in > 2 && in[2]) {
		if ((rc = fl__ops_read_ints(in[2], v, 1, "GatherV2", "axis", err, err_size)) < 0)
			return rc;
		if (rc != 1) {
			fl__errf(err, err_size, "GatherV2: axis must have one element");
			return FL_EINVAL;
		}
	}
	if (b < 0)
		b += ix->n_dims;
	if (b < 0 || b > ix->n_dims) {
		fl__errf(err, err_size, "GatherV2: batch_dims %d out of range for indices of rank %d", n->attr.batch_dims,
		         ix->n_dims);
		return FL_EINVAL;
	}
	if ((rc = fl__ops_axis(v[0], p->n_dims, "GatherV2", err, err_size)) < 0)
		return rc;
	if (rc < b) {
		fl__errf(err, err_size, "GatherV2: axis %d is less than batch_dims %d", rc, b);
		return FL_EINVAL;
	}
	for (int i = 0; i < b; i++)
		if (p->dims[i] != ix->dims[i]) {
			fl__errf(err, err_size, "GatherV2: batch dim %d differs: params %lld, indices %lld", i,
			         (long long)p->dims[i], (long long)ix->dims[i]);
			return FL_ESHAPE;
		}
	*axis = rc;
	*bd = b;
	return 0;
}

static int gather_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                        char *err, size_t err_size)
{
	int axis, bd, r = 0, rc;
	const struct fl_tensor *p = in[0], *ix = in[1];

	if ((rc = gather_axes(n, in, &axis, &bd, err, err_size)) < 0)
		return rc;
	if (p->n_dims - 1 + ix->n_dims - bd > FL_MAX_DIMS) {
		fl__errf(err, err_size, "GatherV2: result has more than %d dims", FL_MAX_DIMS);
		return FL_EUNSUPPORTED;
	}
	memset(&out[0], 0, sizeof(out[0]));
	out[0].dtype = p->dtype;
	for (int i = 0; i < axis; i++)
		out[0].dims[r++] = p->dims[i];
	for (int i = bd; i < ix->n_dims; i++)
		out[0].dims[r++] = ix->dims[i];
	for (int i = axis + 1; i < p->n_dims; i++)
		out[0].dims[r++] = p->dims[i];
	out[0].n_dims = r;
	return 0;
}

/* out[b, o, i, :] = params[b, o, idx[b, i], :] with b over batch dims, o
** over params dims batch_dims..axis-1, i over the remaining index dims. */
static int gather_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                      const struct fl_exec *ex)
{
	const struct fl_tensor *p = in[0], *ix = in[1];
	int axis, bd, rc = gather_axes(n, in, &axis, &bd, NULL, 0);
	int64_t B = 1, O = 1, I = 1, inner = 1, N;
	size_t esz = fl_dtype_size(p->dtype);
	char *o = out[0].data;

	if (rc < 0)
		return rc;
	for (int i = 0; i < bd; i++)
		B *= p->dims[i];
	for (int i = bd; i < axis; i++)
		O *= p->dims[i];
	for (int i = bd; i < ix->n_dims; i++)
		I *= ix->dims[i];
	for (int i = axis + 1; i < p->n_dims; i++)
		inner *= p->dims[i];
	N = p->dims[axis];
	size_t row = (size_t)inner * esz;
	for (int64_t b = 0; b < B; b++)
		for (int64_t oo = 0; oo < O; oo++)
			for (int64_t i = 0; i < I; i++) {
				int64_t k = fl__tensor_get_int(ix, b * I + i);
				if (k < 0 || k >= N) {
					fl_log(FL_LOG_ERROR, "GatherV2: index %lld out of range [0, %lld)", (long long)k, (long long)N);
					return FL_EINVAL;
				}
				memcpy(o, (const char *)p->data + (size_t)(((b * O + oo) * N + k) * inner) * esz, row);
				o += row;
			}
	return 0;
}

const struct fl_op_def fl__opdef_gather = {.tf_name = "GatherV2", .infer = gather_infer, .run = gather_run};

/* ----------------------------------------------------------- gather_nd */

static int gather_nd_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                           char *err, size_t err_size)
{
	const struct fl_tensor *p = in[0], *ix = in[1];
	int64_t K;
	int r = 0;

	if (!p || !ix) {
		fl__errf(err, err_size, "GatherNd: missing params or indices");
		return FL_EINVAL;
	}
	if (ix->dtype == FL_DTYPE_BOOL) {
		fl__errf(err, err_size, "GatherNd: indices must be int32");
		return FL_EDTYPE;
	}
	if (n->attr.batch_dims != 0) {
		fl__errf(err, err_size, "GatherNd: batch_dims %d is not supported", n->attr.batch_dims);
		return FL_EUNSUPPORTED;
	}
	if (ix->n_dims < 1) {
		fl__errf(err, err_size, "GatherNd: indices must have rank >= 1");
		return FL_ESHAPE;
	}
	K = ix->dims[ix->n_dims - 1];
	if (K > p->n_dims) {
		fl__errf(err, err_size, "GatherNd: index depth %lld exceeds params rank %d", (long long)K, p->n_dims);
		return FL_ESHAPE;
	}
	if (ix->n_dims - 1 + p->n_dims - K > FL_MAX_DIMS) {
		fl__errf(err, err_size, "GatherNd: result has more than %d dims", FL_MAX_DIMS);
		return FL_EUNSUPPORTED;
	}
	memset(&out[0], 0, sizeof(out[0]));
	out[0].dtype = p->dtype;
	for (int i = 0; i < ix->n_dims - 1; i++)
		out[0].dims[r++] = ix->dims[i];
	for (int i = (int)K; i < p->n_dims; i++)
		out[0].dims[r++] = p->dims[i];
	out[0].n_dims = r;
	return 0;
}

static int gather_nd_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                         const struct fl_exec *ex)
{
	const struct fl_tensor *p = in[0], *ix = in[1];
	int K = (int)ix->dims[ix->n_dims - 1];
	int64_t M = 1, inner = 1, st[FL_MAX_DIMS];
	size_t esz = fl_dtype_size(p->dtype);

	for (int i = 0; i < ix->n_dims - 1; i++)
		M *= ix->dims[i];
	for (int i = K; i < p->n_dims; i++)
		inner *= p->dims[i];
	fl__ops_strides(p, st);
	for (int64_t m = 0; m < M; m++) {
		int64_t off = 0;
		for (int k = 0; k < K; k++) {
			int64_t v = fl__tensor_get_int(ix, m * K + k);
			if (v < 0 || v >= p->dims[k]) {
				fl_log(FL_LOG_ERROR, "GatherNd: index %lld out of range [0, %lld) on dim %d", (long long)v,
				       (long long)p->dims[k], k);
				return FL_EINVAL;
			}
			off += v * st[k];
		}
		memcpy((char *)out[0].data + (size_t)(m * inner) * esz, (const char *)p->data + (size_t)off * esz,
		       (size_t)inner * esz);
	}
	return 0;
}

const struct fl_op_def fl__opdef_gather_nd = {.tf_name = "GatherNd", .infer = gather_nd_infer, .run = gather_nd_run};
