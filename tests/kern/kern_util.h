/*
** kern_util.h -- helpers for the convolution kernel tests (tests/kern/):
** build a one-node graph (input, filter/b, bias, alpha) by hand, prepare
** it for an ISA through the op table, run it with or without a thread
** pool, and fill tensors with deterministic random data.
*/
#ifndef FL_TEST_KERN_UTIL_H
#define FL_TEST_KERN_UTIL_H

#include "fl_test.h"
#include "nn/kern/kern_int.h"

/* A one-node graph: values 0 = input, 1 = filter (or b), 2 = bias,
** 3 = alpha, 4 = residual (CONV2D), 5 / 6 = depthwise filter / bias of a
** separable CONV2D.  Tensors own malloc'd data; the graph's values point at it
** (the graph is never passed to fl__graph_fini). */
struct kcase {
	struct fl_tensor t[7];
	int have[7];
	struct fl_value v[7];
	struct fl_graph g;
	struct fl_node node;
	int in_idx[7], out_idx[1];
};

static inline void kc_tensor(struct kcase *c, int i, int n_dims, const int64_t *dims)
{
	struct fl_tensor *t = &c->t[i];
	memset(t, 0, sizeof(*t));
	t->dtype = FL_DTYPE_F32;
	t->n_dims = n_dims;
	for (int d = 0; d < n_dims; d++)
		t->dims[d] = dims[d];
	size_t n = (size_t)fl_tensor_numel(t);
	/* 64-byte aligned like a session's arena */
	size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
	t->data = aligned_alloc(64, bytes);
	memset(t->data, 0, bytes);
	c->have[i] = 1;
}

static inline void kc_fill(struct kcase *c, int i, struct fl_test_rng *r, float lo, float hi)
{
	float *p = c->t[i].data;
	for (int64_t k = 0; k < fl_tensor_numel(&c->t[i]); k++)
		p[k] = fl_test_uniform(r, lo, hi);
}

/* Wire the node after the tensors are made; `const_w` marks the filter,
** bias and alpha as graph constants (prepare can pack them). */
static inline void kc_wire(struct kcase *c, enum fl_op op, const struct fl_attr *attr, int const_w)
{
	memset(&c->g, 0, sizeof(c->g));
	memset(&c->node, 0, sizeof(c->node));
	for (int i = 0; i < 7; i++) {
		memset(&c->v[i], 0, sizeof(c->v[i]));
		c->v[i].dtype = c->t[i].dtype;
		c->v[i].n_dims = c->t[i].n_dims;
		for (int d = 0; d < c->t[i].n_dims; d++)
			c->v[i].dims[d] = c->t[i].dims[d];
		c->v[i].data = (i > 0 && i != 4 && const_w && c->have[i]) ? c->t[i].data : NULL;
		c->v[i].producer = -1;
		c->in_idx[i] = c->have[i] ? i : -1;
	}
	c->g.values = c->v;
	c->g.n_values = 7;
	c->node.op = op;
	c->node.n_in = 7;
	c->node.in = c->in_idx;
	c->node.n_out = 1;
	c->out_idx[0] = 3;
	c->node.out = c->out_idx;
	if (attr)
		c->node.attr = *attr;
}

static inline void kc_free(struct kcase *c)
{
	const struct fl_op_def *def = fl__op_def(c->node.op);
	if (def->release)
		def->release(&c->node);
	for (int i = 0; i < 7; i++)
		free(c->have[i] ? c->t[i].data : NULL);
	memset(c->have, 0, sizeof(c->have));
}

/* Infer + run into a fresh output with guard values after it.  Returns the
** output (malloc'd, out->data) or fails the test. */
#define KC_GUARD 64
static inline float *kc_run(struct kcase *c, struct fl_pool *pool, struct fl_tensor *out)
{
	const struct fl_op_def *def = fl__op_def(c->node.op);
	const struct fl_tensor *in[7];
	char err[256] = "";
	for (int i = 0; i < 7; i++)
		in[i] = c->have[i] ? &c->t[i] : NULL;
	memset(out, 0, sizeof(*out));
	int rc = def->infer(&c->node, in, out, err, sizeof(err));
	ASSERT_MSG(rc == 0, "infer failed: %d %s", rc, err);
	size_t n = (size_t)fl_tensor_numel(out);
	float *y = malloc((n + KC_GUARD) * sizeof(float));
	for (size_t i = 0; i < n + KC_GUARD; i++)
		y[i] = i < n ? NAN : 12345.0f; /* poison + guard */
	out->data = y;
	struct fl_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.pool = pool;
	ex.n_threads = fl__pool_n_threads(pool);
	ex.scratch_size = def->scratch ? def->scratch(&c->node, in, out, ex.n_threads) : 0;
	ex.scratch = ex.scratch_size ? aligned_alloc(64, (ex.scratch_size + 63) & ~(size_t)63) : NULL;
	rc = def->run(&c->node, in, out, &ex);
	free(ex.scratch);
	ASSERT_MSG(rc == 0, "run failed: %d", rc);
	for (size_t i = n; i < n + KC_GUARD; i++)
		ASSERT_MSG(y[i] == 12345.0f, "kernel wrote past the output (element %zu of %zu)", i, n);
	return y;
}

/* Prepare the node for `isa` (released first). */
static inline void kc_prepare(struct kcase *c, int isa)
{
	const struct fl_op_def *def = fl__op_def(c->node.op);
	char err[256] = "";
	if (def->release)
		def->release(&c->node);
	int rc = def->prepare(&c->node, &c->g, isa, err, sizeof(err));
	ASSERT_MSG(rc == 0, "prepare failed: %d %s", rc, err);
}

#endif
