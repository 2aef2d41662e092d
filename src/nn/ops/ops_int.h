/*
** ops_int.h -- private helpers shared by the op files in src/nn/ops/: the
** op definitions each file exports to the op table (optab.c), and small
** shape utilities (element strides, axis normalisation, dtype checks) that
** every op's infer()/run() uses.  Not seen outside src/nn/ops/.
*/
#ifndef FL_OPS_INT_H
#define FL_OPS_INT_H

#include "../nn_int.h"

/*
** GCC 12 at -O2 vectorises only loops it deems "very cheap" (trip counts
** known at compile time); the hot loops here have run-time counts, so they
** ask for the dynamic cost model (2-3x on elementwise ops, measured).
** Clang vectorises them at -O2 already.
*/
#if defined(__GNUC__) && !defined(__clang__)
#define FL_OPS_VECTORIZE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define FL_OPS_VECTORIZE
#endif

/* ---------------------------------------------------- the op definitions */

/* elementwise.c */
extern const struct fl_op_def fl__opdef_add, fl__opdef_sub, fl__opdef_mul, fl__opdef_div;
extern const struct fl_op_def fl__opdef_maximum, fl__opdef_minimum, fl__opdef_squared_diff;
extern const struct fl_op_def fl__opdef_floor_div, fl__opdef_floor_mod, fl__opdef_equal, fl__opdef_pow;
extern const struct fl_op_def fl__opdef_prelu, fl__opdef_relu, fl__opdef_relu6, fl__opdef_sigmoid;
extern const struct fl_op_def fl__opdef_sqrt, fl__opdef_abs, fl__opdef_neg, fl__opdef_exp;
extern const struct fl_op_def fl__opdef_tanh, fl__opdef_rsqrt, fl__opdef_identity, fl__opdef_leaky_relu;
extern const struct fl_op_def fl__opdef_hard_swish;
extern const struct fl_op_def fl__opdef_cast;
/* pool.c */
extern const struct fl_op_def fl__opdef_maxpool, fl__opdef_avgpool;
/* reduce.c */
extern const struct fl_op_def fl__opdef_mean, fl__opdef_sum, fl__opdef_max, fl__opdef_softmax;
extern const struct fl_op_def fl__opdef_argmax, fl__opdef_topk;
/* resize.c */
extern const struct fl_op_def fl__opdef_resize_bilinear, fl__opdef_resize_nearest;
/* shape_ops.c */
extern const struct fl_op_def fl__opdef_reshape, fl__opdef_squeeze, fl__opdef_expand_dims;
extern const struct fl_op_def fl__opdef_concat, fl__opdef_pack, fl__opdef_unpack, fl__opdef_pad;
extern const struct fl_op_def fl__opdef_transpose, fl__opdef_tile, fl__opdef_shape;
/* slice.c */
extern const struct fl_op_def fl__opdef_strided_slice, fl__opdef_slice;
/* gather.c */
extern const struct fl_op_def fl__opdef_gather, fl__opdef_gather_nd;

/* ------------------------------------------------------------ utilities */

/* Row-major element strides of t (strides[n_dims-1] == 1). */
static inline void fl__ops_strides(const struct fl_tensor *t, int64_t *strides)
{
	int64_t s = 1;
	for (int i = t->n_dims - 1; i >= 0; i--) {
		strides[i] = s;
		s *= t->dims[i];
	}
}

/* Number of elements of a concrete tensor (dims >= 0; 1 for a scalar). */
static inline int64_t fl__ops_numel(const struct fl_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->n_dims; i++)
		n *= t->dims[i];
	return n;
}

/* Bytes of a concrete tensor's data. */
static inline size_t fl__ops_bytes(const struct fl_tensor *t)
{
	return (size_t)fl__ops_numel(t) * fl_dtype_size(t->dtype);
}

/*
** Normalise a possibly negative axis for a tensor of `rank` dims (the valid
** range is [-rank, rank)).  Returns the axis >= 0, or FL_EINVAL with
** "<what> axis A out of range for rank R" in err.
*/
int fl__ops_axis(int64_t axis, int rank, const char *what, char *err, size_t err_size);

/* Shape as "[1,2,3]" into buf (for messages); returns buf. */
const char *fl__ops_shape_str(const struct fl_tensor *t, char *buf, size_t size);

/* Copy t's dtype and shape into out (data stays as it is in out). */
static inline void fl__ops_copy_shape(struct fl_tensor *out, const struct fl_tensor *t)
{
	out->dtype = t->dtype;
	out->n_dims = t->n_dims;
	for (int i = 0; i < FL_MAX_DIMS; i++)
		out->dims[i] = i < t->n_dims ? t->dims[i] : 0;
}

/* Check that a parameter input (axes, shape, begin...) is present and a
** constant of an integer-valued dtype; message names op and what. */
int fl__ops_need_const(const struct fl_tensor *t, const char *op, const char *what, char *err, size_t err_size);

/*
** Split [0, n) into at most `max_tasks` tasks of at least `min_per_task`
** items and run fn over them on ex->pool (or inline).  fn gets [lo, hi).
*/
typedef void (*fl__ops_range_fn)(void *arg, int64_t lo, int64_t hi);
void fl__ops_parallel(const struct fl_exec *ex, int64_t n, int64_t min_per_task, fl__ops_range_fn fn, void *arg);

/*
** Copy a strided view into dense dst: dst walks dims[0..nd) row-major and
** contiguously, src element (i0..) is at src + sum(i_k * sstrides[k])
** elements (strides may be 0 or negative).  nd <= 2*FL_MAX_DIMS.  Used by
** transpose, tile, slices.
*/
void fl__ops_strided_copy(void *dst, const void *src, size_t esz, int nd, const int64_t *dims, const int64_t *sstrides);

/* Read a constant I32 parameter vector (scalar or 1-D) of at most `max`
** entries into v; returns its length or FL_EINVAL (too long, or not 1-D). */
int fl__ops_read_ints(const struct fl_tensor *t, int64_t *v, int max, const char *op, const char *what, char *err,
                      size_t err_size);

#endif /* FL_OPS_INT_H */
