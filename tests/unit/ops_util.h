/*
** ops_util.h -- helpers for the op unit tests (tests/unit/ops_*.c): build
** tensors from literals, run one op through its table entry (infer, then
** scratch + run on the caller's thread) and compare results.
*/
#ifndef FL_TEST_OPS_UTIL_H
#define FL_TEST_OPS_UTIL_H

#include "fl_test.h"
#include "nn/nn_int.h"

#include <stdarg.h>

/* A test tensor that owns its data (malloc). */
static inline struct fl_tensor tt_make(enum fl_dtype dt, int n_dims, const int64_t *dims, const void *data)
{
	struct fl_tensor t;
	memset(&t, 0, sizeof(t));
	t.dtype = dt;
	t.n_dims = n_dims;
	for (int i = 0; i < n_dims; i++)
		t.dims[i] = dims[i];
	size_t bytes = (size_t)fl_tensor_numel(&t) * fl_dtype_size(dt);
	t.data = malloc(bytes ? bytes : 1);
	if (data)
		memcpy(t.data, data, bytes);
	else
		memset(t.data, 0, bytes ? bytes : 1);
	return t;
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* TF32(dims..., data...) is awkward in C; use these two-argument forms. */
#define T_F32(dims, ...) tt_make(FL_DTYPE_F32, (int)(sizeof(dims) / sizeof(int64_t)), dims, (const float[]){__VA_ARGS__})
#define T_I32(dims, ...) tt_make(FL_DTYPE_I32, (int)(sizeof(dims) / sizeof(int64_t)), dims, (const int32_t[]){__VA_ARGS__})
#define T_BOOL(dims, ...) tt_make(FL_DTYPE_BOOL, (int)(sizeof(dims) / sizeof(int64_t)), dims, (const uint8_t[]){__VA_ARGS__})
#define T_SCALAR_I32(v) tt_make(FL_DTYPE_I32, 0, NULL, (const int32_t[]){v})

/* The error text of the last tt_run/tt_infer. */
static char tt_err[512];

/* Infer the outputs of `node` (n_out outputs) from inputs (NULL entries for
** absent ones). */
static inline int tt_infer(const struct fl_node *node, const struct fl_tensor *const *in, struct fl_tensor *out)
{
	const struct fl_op_def *def = fl__op_def(node->op);
	tt_err[0] = 0;
	for (int k = 0; k < FL_MAX_DIMS; k++)
		memset(&out[k], 0, sizeof(out[k]));
	return def->infer(node, in, out, tt_err, sizeof(tt_err));
}

/* Infer, allocate the outputs, run.  Returns infer's or run's status. */
static inline int tt_run_pool(const struct fl_node *node, const struct fl_tensor *const *in, struct fl_tensor *out,
                              struct fl_pool *pool)
{
	const struct fl_op_def *def = fl__op_def(node->op);
	struct fl_exec ex;
	int n_out = node->n_out > 0 ? node->n_out : 1;
	int rc = tt_infer(node, in, out);
	if (rc < 0)
		return rc;
	for (int k = 0; k < n_out; k++) {
		size_t bytes = (size_t)fl_tensor_numel(&out[k]) * fl_dtype_size(out[k].dtype);
		out[k].data = malloc(bytes ? bytes : 1);
		memset(out[k].data, 0xA5, bytes ? bytes : 1); /* poison */
	}
	memset(&ex, 0, sizeof(ex));
	ex.pool = pool;
	ex.n_threads = fl__pool_n_threads(pool);
	ex.scratch_size = def->scratch ? def->scratch(node, in, out, ex.n_threads) : 0;
	ex.scratch = ex.scratch_size ? aligned_alloc(64, (ex.scratch_size + 63) & ~(size_t)63) : NULL;
	rc = def->run(node, in, out, &ex);
	free(ex.scratch);
	return rc;
}

static inline int tt_run(const struct fl_node *node, const struct fl_tensor *const *in, struct fl_tensor *out)
{
	return tt_run_pool(node, in, out, NULL);
}

static inline struct fl_node tt_node(enum fl_op op)
{
	struct fl_node n;
	memset(&n, 0, sizeof(n));
	n.op = op;
	n.n_out = 1;
	return n;
}

#define ASSERT_SHAPE(t, ...)                                                  \
	do {                                                                      \
		const int64_t exp_[] = {__VA_ARGS__};                                 \
		int n_ = (int)(sizeof(exp_) / sizeof(exp_[0]));                       \
		ASSERT_EQ((t).n_dims, n_);                                            \
		for (int i_ = 0; i_ < n_; i_++)                                       \
			ASSERT_EQ((t).dims[i_], exp_[i_]);                                \
	} while (0)
#define ASSERT_SHAPE0(t) ASSERT_EQ((t).n_dims, 0)

#define ASSERT_F32S(t, tol, ...)                                              \
	do {                                                                      \
		const float exp_[] = {__VA_ARGS__};                                   \
		long n_ = (long)(sizeof(exp_) / sizeof(exp_[0]));                     \
		ASSERT_EQ(fl_tensor_numel(&(t)), n_);                                 \
		for (long i_ = 0; i_ < n_; i_++)                                      \
			ASSERT_MSG(fabsf(((float *)(t).data)[i_] - exp_[i_]) <= (tol) ||  \
			               (isinf(exp_[i_]) && ((float *)(t).data)[i_] == exp_[i_]), \
			           "element %ld: got %.9g, want %.9g", i_, (double)((float *)(t).data)[i_], (double)exp_[i_]); \
	} while (0)

#define ASSERT_I32S(t, ...)                                                   \
	do {                                                                      \
		const int32_t exp_[] = {__VA_ARGS__};                                 \
		long n_ = (long)(sizeof(exp_) / sizeof(exp_[0]));                     \
		ASSERT_EQ(fl_tensor_numel(&(t)), n_);                                 \
		for (long i_ = 0; i_ < n_; i_++)                                      \
			ASSERT_MSG(((int32_t *)(t).data)[i_] == exp_[i_], "element %ld: got %d, want %d", i_, \
			           ((int32_t *)(t).data)[i_], exp_[i_]);                  \
	} while (0)

#define ASSERT_U8S(t, ...)                                                    \
	do {                                                                      \
		const uint8_t exp_[] = {__VA_ARGS__};                                 \
		long n_ = (long)(sizeof(exp_) / sizeof(exp_[0]));                     \
		ASSERT_EQ(fl_tensor_numel(&(t)), n_);                                 \
		for (long i_ = 0; i_ < n_; i_++)                                      \
			ASSERT_MSG(((uint8_t *)(t).data)[i_] == exp_[i_], "element %ld: got %d, want %d", i_, \
			           ((uint8_t *)(t).data)[i_], exp_[i_]);                  \
	} while (0)

#define IN(...) ((const struct fl_tensor *const[]){__VA_ARGS__})

#endif
