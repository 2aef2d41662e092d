/*
** passes.c -- load-time graph rewriting, run once per model before its
** weights are packed:
**
**   1. constant folding: a node whose inputs are all constants is run
**      once with the reference kernels and replaced by its result (shape
**      arithmetic, weight transposes, dequantisation left in the graph);
**   2. fusion into convolutions: a per-channel constant Mul folds into the
**      filter, a per-channel constant Add becomes the bias, a following
**      Relu / Relu6 / Prelu / Sigmoid becomes the fused activation; a Relu
**      after an Add becomes the Add's activation (residual blocks);
**      TFLite's PReLU spelled relu(x) + alpha*(x-|x|)*0.5 becomes PRELU;
**   3. Identity removal and dead-node removal.
**
** Every rewrite checks that the intermediate value has exactly one use
** and is not a graph output, so nothing observable changes.
*/
#include "nn_int.h"

#include <math.h>

#define FOLD_MAX_ELEMS (1 << 24)

static int is_const(const struct fl_graph *g, int vi)
{
	return vi >= 0 && g->values[vi].data != NULL;
}

static int is_graph_output(const struct fl_graph *g, int vi)
{
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] == vi)
			return 1;
	return 0;
}

static int64_t value_numel(const struct fl_value *v)
{
	int64_t n = 1;
	for (int i = 0; i < v->n_dims; i++)
		n *= v->dims[i];
	return n;
}

static void value_tensor(const struct fl_value *v, struct fl_tensor *t)
{
	t->dtype = v->dtype;
	t->n_dims = v->n_dims;
	memcpy(t->dims, v->dims, sizeof(t->dims));
	t->data = v->data;
}

/* Mark node k dead: its slot is compacted away by sweep(). */
static void kill_node(struct fl_node *n)
{
	if (n->prep) {
		const struct fl_op_def *d = fl__op_def(n->op);
		if (d->release)
			d->release(n);
		n->prep = NULL;
	}
	fl_free(n->name);
	fl_free(n->in);
	fl_free(n->out);
	memset(n, 0, sizeof(*n));
	n->n_out = -1; /* tombstone */
}

static void sweep(struct fl_graph *g)
{
	int w = 0;
	for (int k = 0; k < g->n_nodes; k++)
		if (g->nodes[k].n_out >= 0)
			g->nodes[w++] = g->nodes[k];
	g->n_nodes = w;
}

/* Replace every use of value `from` by `to` (nodes and graph outputs). */
static void replace_uses(struct fl_graph *g, int from, int to)
{
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out < 0)
			continue;
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] == from)
				n->in[j] = to;
	}
}

/* ------------------------------------------------------------- folding */

static int fold_node(struct fl_graph *g, struct fl_node *n, char *err, size_t err_size)
{
	const struct fl_op_def *d = fl__op_def(n->op);
	struct fl_tensor tin[16], *pin[16];
	struct fl_tensor tout[8];
	if (n->n_in > 16 || n->n_out > 8 || !d->infer || !d->run)
		return 0;
	for (int j = 0; j < n->n_in; j++) {
		if (n->in[j] < 0) {
			pin[j] = NULL;
			continue;
		}
		value_tensor(&g->values[n->in[j]], &tin[j]);
		pin[j] = &tin[j];
	}
	memset(tout, 0, sizeof(tout));
	char msg[256] = "";
	int r = d->infer(n, (const struct fl_tensor *const *)pin, tout, msg, sizeof(msg));
	if (r < 0) {
		fl__errf(err, err_size, "%s: node \"%s\" (%s): %s", g->path ? g->path : "graph", n->name, fl__op_name(n->op),
		         msg);
		return r;
	}
	for (int j = 0; j < n->n_out; j++) {
		int64_t ne = fl_tensor_numel(&tout[j]);
		if (ne > FOLD_MAX_ELEMS)
			return 0; /* too big to keep as a constant: leave it to run */
		tout[j].data = fl_aligned_alloc(64, (size_t)(ne ? ne : 1) * fl_dtype_size(tout[j].dtype));
		if (!tout[j].data)
			goto nomem;
	}
	size_t ss = d->scratch ? d->scratch(n, (const struct fl_tensor *const *)pin, tout, 1) : 0;
	void *scratch = ss ? fl_aligned_alloc(64, ss) : NULL;
	if (ss && !scratch)
		goto nomem;
	struct fl_exec ex = {.pool = NULL, .n_threads = 1, .scratch = scratch, .scratch_size = ss};
	r = d->run(n, (const struct fl_tensor *const *)pin, tout, &ex);
	fl_free(scratch);
	if (r < 0) {
		fl__errf(err, err_size, "%s: node \"%s\" (%s): folding failed: %s", g->path ? g->path : "graph", n->name,
		         fl__op_name(n->op), fl_strerror(r));
		for (int j = 0; j < n->n_out; j++)
			fl_free(tout[j].data);
		return r;
	}
	for (int j = 0; j < n->n_out; j++) {
		struct fl_value *v = &g->values[n->out[j]];
		fl_free(v->data);
		v->data = tout[j].data;
		v->dtype = tout[j].dtype;
		v->n_dims = tout[j].n_dims;
		memcpy(v->dims, tout[j].dims, sizeof(v->dims));
		v->producer = -1;
	}
	kill_node(n);
	return 1;
nomem:
	for (int j = 0; j < n->n_out; j++)
		fl_free(tout[j].data);
	fl__errf(err, err_size, "%s: out of memory folding node \"%s\"", g->path ? g->path : "graph", n->name);
	return FL_ENOMEM;
}

static int fold_constants(struct fl_graph *g, char *err, size_t err_size)
{
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out < 0 || n->op == FL_OP_CONV2D || n->op == FL_OP_DWCONV2D || n->op == FL_OP_MATMUL)
			continue;
		int all = n->n_in > 0;
		for (int j = 0; j < n->n_in && all; j++)
			if (n->in[j] >= 0 && !is_const(g, n->in[j]))
				all = 0;
		if (!all)
			continue;
		int r = fold_node(g, n, err, err_size);
		if (r < 0)
			return r;
	}
	sweep(g);
	return 0;
}

/* -------------------------------------------------------------- fusion */

/* Count uses of each value (nodes + graph outputs) into uses[]. */
static void count_uses(const struct fl_graph *g, int *uses)
{
	memset(uses, 0, sizeof(int) * g->n_values);
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		if (n->n_out < 0)
			continue;
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] >= 0)
				uses[n->in[j]]++;
	}
	for (int i = 0; i < g->n_outputs; i++)
		uses[g->outputs[i]] += 1000000; /* never fuse away an output */
}

/* Producer node index of each value, from the current node list. */
static void map_producers(const struct fl_graph *g, int *prod)
{
	for (int i = 0; i < g->n_values; i++)
		prod[i] = -1;
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		if (n->n_out < 0)
			continue;
		for (int j = 0; j < n->n_out; j++)
			prod[n->out[j]] = k;
	}
}

static int is_convlike(enum fl_op op)
{
	return op == FL_OP_CONV2D || op == FL_OP_DWCONV2D || op == FL_OP_MATMUL;
}

/* Output channels of a conv-like node with a constant filter, or -1. */
static int64_t conv_out_channels(const struct fl_graph *g, const struct fl_node *n)
{
	if (n->n_in < 2 || !is_const(g, n->in[1]))
		return -1;
	const struct fl_value *f = &g->values[n->in[1]];
	if (n->op == FL_OP_CONV2D && f->n_dims == 4)
		return f->dims[3];
	if (n->op == FL_OP_DWCONV2D && f->n_dims == 4)
		return f->dims[2] * f->dims[3];
	if (n->op == FL_OP_MATMUL && f->n_dims == 2)
		return n->attr.transpose_b ? f->dims[0] : f->dims[1];
	return -1;
}

/* A constant F32 whose elements broadcast along the last axis only (shape
** [C], [1,C], [1,1,1,C]) with C == channels; or a scalar (C taken as 1). */
static int per_channel_const(const struct fl_graph *g, int vi, int64_t channels)
{
	if (!is_const(g, vi) || g->values[vi].dtype != FL_DTYPE_F32)
		return 0;
	const struct fl_value *v = &g->values[vi];
	int64_t ne = value_numel(v);
	if (ne == 1)
		return 1;
	if (v->n_dims < 1 || v->dims[v->n_dims - 1] != channels || ne != channels)
		return 0;
	return 1;
}

static float pc_get(const struct fl_graph *g, int vi, int64_t c)
{
	const struct fl_value *v = &g->values[vi];
	const float *d = v->data;
	return value_numel(v) == 1 ? d[0] : d[c];
}

/* Ensure node n has its bias input (slot 2) as a fresh constant of C
** zeros that this node alone owns; returns the value index or <0. */
static int own_bias(struct fl_graph *g, struct fl_node **pn, int64_t channels, const int *uses)
{
	struct fl_node *n = *pn;
	if (n->n_in > 2 && n->in[2] >= 0 && is_const(g, n->in[2]) && uses[n->in[2]] == 1)
		return n->in[2];
	float *b = fl_calloc((size_t)channels, sizeof(float));
	if (!b)
		return FL_ENOMEM;
	if (n->n_in > 2 && n->in[2] >= 0 && is_const(g, n->in[2]))
		memcpy(b, g->values[n->in[2]].data, sizeof(float) * channels);
	char name[64];
	snprintf(name, sizeof(name), "fused_bias_%d", g->n_values);
	int64_t dims[1] = {channels};
	ptrdiff_t k = n - g->nodes;
	int vi = fl__graph_add_const(g, name, FL_DTYPE_F32, 1, dims, b);
	if (vi < 0)
		return vi;
	n = *pn = &g->nodes[k];
	if (n->n_in < 3) {
		int *in = fl_realloc(n->in, sizeof(int) * 3);
		if (!in)
			return FL_ENOMEM;
		n->in = in;
		while (n->n_in < 3)
			n->in[n->n_in++] = -1;
	}
	n->in[2] = vi;
	return vi;
}

/* Own a private copy of the filter constant (it may be shared). */
static int own_filter(struct fl_graph *g, struct fl_node **pn, const int *uses)
{
	struct fl_node *n = *pn;
	int fi = n->in[1];
	if (uses[fi] == 1)
		return fi;
	struct fl_value *f = &g->values[fi];
	size_t bytes = (size_t)value_numel(f) * fl_dtype_size(f->dtype);
	void *d = fl_malloc(bytes);
	if (!d)
		return FL_ENOMEM;
	memcpy(d, f->data, bytes);
	char name[64];
	snprintf(name, sizeof(name), "fused_filter_%d", g->n_values);
	ptrdiff_t k = n - g->nodes;
	int64_t dims[FL_MAX_DIMS];
	memcpy(dims, f->dims, sizeof(dims));
	int vi = fl__graph_add_const(g, name, f->dtype, f->n_dims, dims, d);
	if (vi < 0)
		return vi;
	n = *pn = &g->nodes[k];
	n->in[1] = vi;
	return vi;
}

static int act_of(enum fl_op op)
{
	switch (op) {
	case FL_OP_RELU:
		return FL_ACT_RELU;
	case FL_OP_RELU6:
		return FL_ACT_RELU6;
	case FL_OP_SIGMOID:
		return FL_ACT_SIGMOID;
	case FL_OP_LEAKY_RELU:
		return FL_ACT_LEAKY_RELU;
	default:
		return -1;
	}
}

/* Let consumer m's output take over producer n's output value: n now
** writes m's output, m dies. */
static void absorb(struct fl_graph *g, struct fl_node *n, struct fl_node *m)
{
	int mid = n->out[0];
	n->out[0] = m->out[0];
	(void)mid;
	kill_node(m);
	(void)g;
}

/*
** One sweep of fusions.  For each conv-like node n with a single-use output
** consumed by node m, try in order: Mul(const per-channel) into the filter
** (only when the conv has no activation yet and no bias — or scale the bias
** too), Add(const per-channel) into the bias, activation into attr.act.
** For Add nodes: a following Relu/Relu6 becomes the Add's act.
*/
static int fuse_pass(struct fl_graph *g, int *changed)
{
	int *uses = fl_malloc(sizeof(int) * (g->n_values + 1));
	int *prod = fl_malloc(sizeof(int) * (g->n_values + 1));
	int *consumer = fl_malloc(sizeof(int) * (g->n_values + 1));
	int r = 0;
	if (!uses || !prod || !consumer) {
		r = FL_ENOMEM;
		goto out;
	}
	count_uses(g, uses);
	map_producers(g, prod);
	for (int i = 0; i < g->n_values; i++)
		consumer[i] = -1;
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out < 0)
			continue;
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] >= 0)
				consumer[n->in[j]] = k;
	}
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out != 1)
			continue;
		int y = n->out[0];
		if (uses[y] != 1 || consumer[y] < 0)
			continue;
		struct fl_node *m = &g->nodes[consumer[y]];
		if (m->n_out != 1 || g->values[m->out[0]].dtype != FL_DTYPE_F32)
			continue;
		int other = -1;
		if (m->n_in == 2)
			other = m->in[0] == y ? m->in[1] : m->in[0];

		if (is_convlike(n->op) && n->attr.act == FL_ACT_NONE) {
			int64_t C = conv_out_channels(g, n);
			if (C <= 0)
				continue;
			if (m->op == FL_OP_MUL && m->n_in == 2 && per_channel_const(g, other, C) &&
			    (n->op != FL_OP_MATMUL || !n->attr.transpose_b)) {
				/* y*s: scale filter columns (last axis = out channel for
				** HWIO / [KH,KW,C,M] flattened / [K,N]) and the bias. */
				int fi = own_filter(g, &n, uses);
				if (fi < 0) {
					r = fi;
					goto out;
				}
				m = &g->nodes[consumer[y]];
				float *f = g->values[fi].data;
				int64_t ne = value_numel(&g->values[fi]);
				for (int64_t i = 0; i < ne; i++)
					f[i] *= pc_get(g, other, i % C);
				if (n->n_in > 2 && n->in[2] >= 0) {
					int bi = own_bias(g, &n, C, uses);
					if (bi < 0) {
						r = bi;
						goto out;
					}
					m = &g->nodes[consumer[y]];
					float *b = g->values[bi].data;
					for (int64_t c = 0; c < C; c++)
						b[c] *= pc_get(g, other, c);
				}
				absorb(g, n, m);
				*changed = 1;
				goto out;
			}
			if ((m->op == FL_OP_ADD || (m->op == FL_OP_SUB && m->in[0] == y)) && m->n_in == 2 &&
			    m->attr.act == FL_ACT_NONE && per_channel_const(g, other, C)) {
				int bi = own_bias(g, &n, C, uses);
				if (bi < 0) {
					r = bi;
					goto out;
				}
				m = &g->nodes[consumer[y]];
				float *b = g->values[bi].data;
				float sgn = m->op == FL_OP_SUB ? -1.f : 1.f;
				for (int64_t c = 0; c < C; c++)
					b[c] += sgn * pc_get(g, other, c);
				absorb(g, n, m);
				*changed = 1;
				goto out;
			}
			if (m->op == FL_OP_PRELU && m->in[0] == y && per_channel_const(g, m->in[1], C) &&
			    value_numel(&g->values[m->in[1]]) == C) {
				if (n->n_in < 4) {
					int *in = fl_realloc(n->in, sizeof(int) * 4);
					if (!in) {
						r = FL_ENOMEM;
						goto out;
					}
					n->in = in;
					while (n->n_in < 4)
						n->in[n->n_in++] = -1;
				}
				n->in[3] = m->in[1];
				n->attr.act = FL_ACT_PRELU;
				absorb(g, n, m);
				*changed = 1;
				continue;
			}
		}
		if ((is_convlike(n->op) || n->op == FL_OP_ADD) && n->attr.act == FL_ACT_NONE && m->n_in == 1) {
			int a = act_of(m->op);
			if (a >= 0 && (n->op != FL_OP_ADD || a == FL_ACT_RELU || a == FL_ACT_RELU6)) {
				n->attr.act = a;
				n->attr.act_alpha = m->attr.act_alpha;
				absorb(g, n, m);
				*changed = 1;
				continue;
			}
		}
	}
out:
	fl_free(uses);
	fl_free(prod);
	fl_free(consumer);
	sweep(g);
	return r;
}

/*
** TFLite converters spell PReLU without a PRELU op:
**     relu(x) + c * (x - |x|)          (c = alpha / 2, constant)
** x - |x| is 2*min(x, 0) exactly in floating point, and (2c)*x == c*(2x)
** exactly, so PRELU(x, 2c) gives bit-identical results.  The ADD node is
** rewritten in place; the RELU/ABS/SUB/MUL it used become dead.
*/
static int match_tflite_prelu(struct fl_graph *g, char *err, size_t err_size)
{
	int *prod = fl_malloc(sizeof(int) * (g->n_values + 1));
	if (!prod)
		return FL_ENOMEM;
	map_producers(g, prod);
	int r = 0;
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out != 1 || n->op != FL_OP_ADD || n->n_in != 2 || n->attr.act != FL_ACT_NONE)
			continue;
		for (int side = 0; side < 2; side++) {
			int pr = prod[n->in[side]], pm = prod[n->in[!side]];
			if (pr < 0 || pm < 0 || g->nodes[pr].op != FL_OP_RELU || g->nodes[pm].op != FL_OP_MUL)
				continue;
			int x = g->nodes[pr].in[0];
			struct fl_node *mul = &g->nodes[pm];
			int cidx = is_const(g, mul->in[0]) ? 0 : is_const(g, mul->in[1]) ? 1 : -1;
			if (cidx < 0)
				continue;
			int c = mul->in[cidx], sv = mul->in[!cidx];
			int ps = prod[sv];
			if (ps < 0 || g->nodes[ps].op != FL_OP_SUB || g->nodes[ps].in[0] != x)
				continue;
			int pa = prod[g->nodes[ps].in[1]];
			if (pa < 0 || g->nodes[pa].op != FL_OP_ABS || g->nodes[pa].in[0] != x)
				continue;
			const struct fl_value *cv = &g->values[c];
			if (cv->dtype != FL_DTYPE_F32)
				continue;
			int64_t C = value_numel(cv);
			/* alpha must broadcast along the last axis only */
			int ok = 1;
			for (int d = 0; d < cv->n_dims - 1; d++)
				ok &= cv->dims[d] == 1;
			if (!ok || C < 1)
				continue;
			float *alpha = fl_malloc(sizeof(float) * C);
			if (!alpha) {
				r = FL_ENOMEM;
				goto out;
			}
			for (int64_t i = 0; i < C; i++)
				alpha[i] = 2.0f * ((const float *)cv->data)[i];
			char name[64];
			snprintf(name, sizeof(name), "prelu_alpha_%d", g->n_values);
			int64_t dims[1] = {C};
			int av = fl__graph_add_const(g, name, FL_DTYPE_F32, 1, dims, alpha);
			if (av < 0) {
				r = av;
				goto out;
			}
			n = &g->nodes[k];
			n->op = FL_OP_PRELU;
			n->in[0] = x;
			n->in[1] = av;
			break;
		}
	}
out:
	if (r < 0)
		fl__errf(err, err_size, "%s: out of memory matching PReLU", g->path ? g->path : "graph");
	fl_free(prod);
	return r;
}

/* A constant F32 scalar (any shape of one element) equal to v, or v NULL. */
static int scalar_const(const struct fl_graph *g, int vi, const float *v, float *out)
{
	if (vi < 0 || !is_const(g, vi) || g->values[vi].dtype != FL_DTYPE_F32 || value_numel(&g->values[vi]) != 1)
		return 0;
	float x = ((const float *)g->values[vi].data)[0];
	if (out)
		*out = x;
	return !v || x == *v;
}

/*
** MobileNetV3's h-swish as TF exports it (CenterNet):
**     m = c * x;  r = relu6(x + 3);  y = m * r        (c = 1/6)
** After fusion the relu6 sits on the ADD.  The final MUL becomes one
** HARD_SWISH node computing the same float operations in the same order.
*/
static int match_hard_swish(struct fl_graph *g)
{
	int *prod = fl_malloc(sizeof(int) * (g->n_values + 1));
	if (!prod)
		return FL_ENOMEM;
	map_producers(g, prod);
	const float three = 3.0f;
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out != 1 || n->op != FL_OP_MUL || n->n_in != 2)
			continue;
		for (int side = 0; side < 2; side++) {
			int pm = prod[n->in[side]], pa = prod[n->in[!side]];
			if (pm < 0 || pa < 0)
				continue;
			struct fl_node *m = &g->nodes[pm], *a = &g->nodes[pa];
			if (m->op != FL_OP_MUL || m->n_in != 2 || m->attr.act != FL_ACT_NONE)
				continue;
			/* r: ADD(x, 3) with act RELU6, or RELU6(ADD(x, 3)) */
			if (a->op == FL_OP_RELU6 && prod[a->in[0]] >= 0 && g->nodes[prod[a->in[0]]].op == FL_OP_ADD &&
			    g->nodes[prod[a->in[0]]].attr.act == FL_ACT_NONE)
				a = &g->nodes[prod[a->in[0]]];
			else if (!(a->op == FL_OP_ADD && a->attr.act == FL_ACT_RELU6))
				continue;
			if (a->n_in != 2)
				continue;
			int x;
			if (scalar_const(g, a->in[1], &three, NULL))
				x = a->in[0];
			else if (scalar_const(g, a->in[0], &three, NULL))
				x = a->in[1];
			else
				continue;
			float c;
			int ok = (m->in[0] == x && scalar_const(g, m->in[1], NULL, &c)) ||
			         (m->in[1] == x && scalar_const(g, m->in[0], NULL, &c));
			if (!ok || g->values[x].dtype != FL_DTYPE_F32)
				continue;
			n->op = FL_OP_HARD_SWISH;
			n->n_in = 1;
			n->in[0] = x;
			memset(&n->attr, 0, sizeof(n->attr));
			n->attr.act_alpha = c;
			break;
		}
	}
	fl_free(prod);
	return 0;
}

/* Grow node n's input list to at least `want` slots (new ones -1). */
static int widen_inputs(struct fl_node *n, int want)
{
	if (n->n_in >= want)
		return 0;
	int *in = fl_realloc(n->in, sizeof(int) * want);
	if (!in)
		return FL_ENOMEM;
	n->in = in;
	while (n->n_in < want)
		n->in[n->n_in++] = -1;
	return 0;
}

/*
** Separable convolutions: a DWCONV2D (no activation, multiplier 1, constant
** filter) whose output only feeds a 1x1 stride-1 CONV2D becomes part of
** that conv (inputs 5 and 6; the depthwise geometry moves into the conv's
** attributes).  The kernel keeps the depthwise rows in L1 instead of
** writing a whole intermediate tensor out and reading it back.
*/
static int fuse_separable(struct fl_graph *g)
{
	int *uses = fl_malloc(sizeof(int) * (g->n_values + 1));
	int *prod = fl_malloc(sizeof(int) * (g->n_values + 1));
	int r = 0;
	if (!uses || !prod) {
		r = FL_ENOMEM;
		goto out;
	}
	count_uses(g, uses);
	map_producers(g, prod);
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *c = &g->nodes[k];
		if (c->n_out != 1 || c->op != FL_OP_CONV2D || c->n_in < 2 || c->in[0] < 0 || !is_const(g, c->in[1]))
			continue;
		if (c->n_in > 4 && (c->in[4] >= 0 || (c->n_in > 5 && c->in[5] >= 0)))
			continue; /* already residual or separable */
		const struct fl_value *f = &g->values[c->in[1]];
		if (f->n_dims != 4 || f->dims[0] != 1 || f->dims[1] != 1 || FL_MAX(c->attr.stride[0], 1) != 1 ||
		    FL_MAX(c->attr.stride[1], 1) != 1 || (c->attr.padding == FL_PADDING_EXPLICIT &&
		    (c->attr.pads[0] | c->attr.pads[1] | c->attr.pads[2] | c->attr.pads[3])))
			continue;
		int x = c->in[0], pd = prod[x];
		if (pd < 0 || uses[x] != 1)
			continue;
		struct fl_node *d = &g->nodes[pd];
		if (d->op != FL_OP_DWCONV2D || d->n_out != 1 || d->attr.act != FL_ACT_NONE || d->n_in < 2 ||
		    !is_const(g, d->in[1]))
			continue;
		const struct fl_value *df = &g->values[d->in[1]];
		if (df->n_dims != 4 || df->dims[3] != 1 || df->dims[2] != f->dims[2] || df->dtype != FL_DTYPE_F32)
			continue;
		if ((r = widen_inputs(c, 7)) < 0)
			goto out;
		c->in[0] = d->in[0];
		c->in[5] = d->in[1];
		c->in[6] = d->n_in > 2 ? d->in[2] : -1;
		c->attr.stride[0] = d->attr.stride[0];
		c->attr.stride[1] = d->attr.stride[1];
		c->attr.dilation[0] = d->attr.dilation[0];
		c->attr.dilation[1] = d->attr.dilation[1];
		c->attr.padding = d->attr.padding;
		memcpy(c->attr.pads, d->attr.pads, sizeof(c->attr.pads));
		kill_node(d);
		uses[x] = 0;
	}
out:
	fl_free(uses);
	fl_free(prod);
	sweep(g);
	return r;
}

/*
** Shapes of every value at the graph's declared input shapes with the
** spatial dims multiplied by `scale` (unknown dims taken as 1) -- a
** load-time dry run of shape inference, used to prove two values have the
** same shape before a fusion relies on it.  dims[v] gets n_dims in [0] and
** the dims after it; returns 0, or <0 when inference fails.
*/
static int dry_shapes(const struct fl_graph *g, int scale, int64_t (*dims)[FL_MAX_DIMS + 1])
{
	struct fl_tensor *t = fl_calloc(g->n_values + 1, sizeof(*t));
	struct fl_tensor out[8];
	const struct fl_tensor *pin[64];
	int r = 0;
	if (!t)
		return FL_ENOMEM;
	for (int v = 0; v < g->n_values; v++)
		value_tensor(&g->values[v], &t[v]);
	for (int i = 0; i < g->n_inputs; i++) {
		struct fl_tensor *x = &t[g->inputs[i]];
		for (int d = 0; d < x->n_dims; d++) {
			if (x->dims[d] <= 0)
				x->dims[d] = 1;
			else if (x->n_dims == 4 && (d == 1 || d == 2))
				x->dims[d] *= scale;
		}
		x->data = NULL;
	}
	for (int k = 0; k < g->n_nodes && r == 0; k++) {
		const struct fl_node *n = &g->nodes[k];
		if (n->n_in > 64 || n->n_out > 8) {
			r = FL_EUNSUPPORTED;
			break;
		}
		for (int j = 0; j < n->n_in; j++)
			pin[j] = n->in[j] >= 0 ? &t[n->in[j]] : NULL;
		memset(out, 0, sizeof(out));
		char msg[128];
		r = fl__op_def(n->op)->infer(n, pin, out, msg, sizeof(msg));
		for (int j = 0; j < n->n_out && r == 0; j++) {
			t[n->out[j]] = out[j];
			t[n->out[j]].data = NULL;
		}
	}
	for (int v = 0; v < g->n_values && r == 0; v++) {
		dims[v][0] = t[v].n_dims;
		for (int d = 0; d < t[v].n_dims; d++)
			dims[v][d + 1] = t[v].dims[d];
	}
	fl_free(t);
	return r;
}

/*
** Residual adds: ADD(y, r) where y is a CONV2D's output (no activation,
** used once) becomes the conv's residual input 4, and the ADD's activation
** the conv's.  The conv kernel adds r while it stores y.  r must have y's
** shape (the kernel does not broadcast): proven by two dry runs of shape
** inference, at the declared input size and at twice it.
*/
static int fuse_residual(struct fl_graph *g)
{
	int *uses = fl_malloc(sizeof(int) * (g->n_values + 1));
	int *prod = fl_malloc(sizeof(int) * (g->n_values + 1));
	int *consumer = NULL;
	int64_t(*d1)[FL_MAX_DIMS + 1] = fl_calloc(g->n_values + 1, sizeof(*d1)); /* zeroed: compared whole */
	int64_t(*d2)[FL_MAX_DIMS + 1] = fl_calloc(g->n_values + 1, sizeof(*d2));
	int r = 0;
	if (!uses || !prod || !d1 || !d2) {
		r = FL_ENOMEM;
		goto out;
	}
	if (dry_shapes(g, 1, d1) < 0 || dry_shapes(g, 2, d2) < 0)
		goto out; /* cannot prove shapes: leave the graph as it is */
	count_uses(g, uses);
	map_producers(g, prod);
	consumer = fl_malloc(sizeof(int) * (g->n_values + 1));
	if (!consumer) {
		r = FL_ENOMEM;
		goto out;
	}
	for (int i = 0; i < g->n_values; i++)
		consumer[i] = -1;
	for (int k = 0; k < g->n_nodes; k++)
		for (int j = 0; j < g->nodes[k].n_in; j++)
			if (g->nodes[k].in[j] >= 0)
				consumer[g->nodes[k].in[j]] = k;
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *a = &g->nodes[k];
		if (a->op != FL_OP_ADD || a->n_out != 1 || a->n_in != 2 || a->in[0] < 0 || a->in[1] < 0 ||
		    a->in[0] == a->in[1])
			continue;
		if (a->attr.act != FL_ACT_NONE && a->attr.act != FL_ACT_RELU && a->attr.act != FL_ACT_RELU6)
			continue;
		for (int side = 0; side < 2; side++) {
			int y = a->in[side], res = a->in[!side], pc = prod[y];
			if (pc < 0 || uses[y] != 1 || is_const(g, res) || g->values[res].dtype != FL_DTYPE_F32)
				continue;
			struct fl_node *c = &g->nodes[pc];
			if (c->op != FL_OP_CONV2D || c->n_out != 1 || c->attr.act != FL_ACT_NONE ||
			    (c->n_in > 4 && c->in[4] >= 0))
				continue;
			if (memcmp(d1[y], d1[res], sizeof(d1[y])) || memcmp(d2[y], d2[res], sizeof(d2[y])) ||
			    d1[y][0] != 4)
				continue;
			/* A PRELU right after an activation-less ADD (FaceMesh's
			** residual blocks) moves into the conv too. */
			struct fl_node *pr = NULL;
			if (a->attr.act == FL_ACT_NONE && uses[a->out[0]] == 1 && consumer[a->out[0]] >= 0) {
				struct fl_node *q = &g->nodes[consumer[a->out[0]]];
				int64_t C = conv_out_channels(g, c);
				if (q->op == FL_OP_PRELU && q->n_out == 1 && q->n_in == 2 && q->in[0] == a->out[0] && C > 0 &&
				    per_channel_const(g, q->in[1], C) && value_numel(&g->values[q->in[1]]) == C)
					pr = q;
			}
			/* the conv now writes the ADD's (or the PRELU's) output value */
			ptrdiff_t ai = a - g->nodes, pi = pr ? pr - g->nodes : -1;
			if ((r = widen_inputs(c, 5)) < 0)
				goto out;
			c = &g->nodes[pc];
			a = &g->nodes[ai];
			c->in[4] = res;
			if (pi >= 0) {
				pr = &g->nodes[pi];
				c->in[3] = pr->in[1];
				c->attr.act = FL_ACT_PRELU;
				c->out[0] = pr->out[0];
				kill_node(pr);
			} else {
				c->attr.act = a->attr.act;
				c->out[0] = a->out[0];
			}
			kill_node(a);
			uses[y] = 0;
			break;
		}
	}
out:
	fl_free(consumer);
	fl_free(uses);
	fl_free(prod);
	fl_free(d1);
	fl_free(d2);
	sweep(g);
	return r;
}

/* Identity nodes whose output is not a graph output: bypass them. */
static void remove_identities(struct fl_graph *g)
{
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		if (n->n_out != 1 || n->op != FL_OP_IDENTITY || n->n_in < 1 || n->in[0] < 0)
			continue;
		if (is_graph_output(g, n->out[0]))
			continue;
		replace_uses(g, n->out[0], n->in[0]);
		kill_node(n);
	}
	sweep(g);
}

/* Remove nodes none of whose outputs are used, until none is left. */
static void remove_dead(struct fl_graph *g)
{
	int *uses = fl_malloc(sizeof(int) * (g->n_values + 1));
	if (!uses)
		return; /* an optimisation only */
	int changed = 1;
	while (changed) {
		changed = 0;
		count_uses(g, uses);
		for (int k = g->n_nodes - 1; k >= 0; k--) {
			struct fl_node *n = &g->nodes[k];
			if (n->n_out < 0)
				continue;
			int used = 0;
			for (int j = 0; j < n->n_out; j++)
				used |= uses[n->out[j]] > 0;
			if (!used) {
				for (int j = 0; j < n->n_in; j++)
					if (n->in[j] >= 0)
						uses[n->in[j]]--;
				kill_node(n);
				changed = 1;
			}
		}
		sweep(g);
	}
	/* Release the data of constants nobody reads any more. */
	count_uses(g, uses);
	for (int i = 0; i < g->n_values; i++)
		if (uses[i] == 0 && g->values[i].data && !is_graph_output(g, i)) {
			int keep = 0;
			for (int j = 0; j < g->n_inputs; j++)
				keep |= g->inputs[j] == i;
			if (!keep) {
				fl_free(g->values[i].data);
				g->values[i].data = fl_malloc(0); /* still a constant, now empty */
				g->values[i].n_dims = 1;
				g->values[i].dims[0] = 0;
			}
		}
	fl_free(uses);
}

int fl__graph_optimize(struct fl_graph *g, char *err, size_t err_size)
{
	int r = fl__graph_link(g, err, err_size);
	if (r < 0)
		return r;
	if ((r = fold_constants(g, err, err_size)) < 0)
		return r;
	remove_identities(g);
	if ((r = match_tflite_prelu(g, err, err_size)) < 0)
		return r;
	remove_dead(g);
	for (int iter = 0; iter < 100000; iter++) {
		int changed = 0;
		r = fuse_pass(g, &changed);
		if (r < 0) {
			fl__errf(err, err_size, "%s: out of memory fusing", g->path ? g->path : "graph");
			return r;
		}
		if (!changed)
			break;
	}
	if ((r = match_hard_swish(g)) < 0 || (r = fuse_separable(g)) < 0) {
		fl__errf(err, err_size, "%s: out of memory fusing", g->path ? g->path : "graph");
		return r;
	}
	remove_dead(g);
	/* the dry runs of shape inference need the graph in order */
	if ((r = fl__graph_link(g, err, err_size)) < 0)
		return r;
	if ((r = fuse_residual(g)) < 0) {
		fl__errf(err, err_size, "%s: out of memory fusing residual adds", g->path ? g->path : "graph");
		return r;
	}
	return fl__graph_link(g, err, err_size);
}
