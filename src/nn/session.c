/*
** session.c -- a session: everything mutable about running one model at
** one set of input shapes.  Creation infers every value's concrete shape,
** plans one arena for all activations (plan_memory: greedy by size over
** lifetimes, as TFLite's arena planner does), sizes one scratch buffer for
** the largest kernel workspace, and starts the session's thread pool.
** fl_session_run() then walks the nodes in order and allocates nothing.
*/
#include "nn_int.h"

#include <math.h>
#include <stdlib.h>

#define ALIGN 64
#define MAX_IN 64

struct fl_session {
	const struct fl_model *model;
	const struct fl_graph *g;
	struct fl_tensor *vals;  /* per value: concrete shape and data */
	struct fl_tensor **outs; /* per node: its outputs, contiguous */
	const struct fl_tensor ***ins; /* per node: pointers to inputs */
	uint8_t *arena;
	size_t arena_size;
	size_t *offset; /* per value: arena offset, or SIZE_MAX */
	void *scratch;
	size_t scratch_size;
	struct fl_pool *pool;
	int n_threads;
	int64_t flops;
	int profiling;
	double *prof;  /* per node: accumulated seconds */
	long prof_runs;
	char errmsg[512];
};

struct fl_session_params fl_session_default_params(void)
{
	struct fl_session_params p;
	memset(&p, 0, sizeof(p));
	return p;
}

static size_t align_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static size_t tensor_bytes(const struct fl_tensor *t)
{
	int64_t n = fl_tensor_numel(t);
	return (size_t)(n > 0 ? n : 0) * fl_dtype_size(t->dtype);
}

/*
** Memory plan.  Each non-constant value lives from the node that writes it
** (graph inputs: before the first node) to its last reader (graph outputs:
** to the end).  Values are placed largest first at the lowest offset that
** does not overlap any already-placed value whose lifetime intersects.
**
** RESHAPE, SQUEEZE, EXPAND_DIMS and IDENTITY only relabel bytes: their
** output shares its input's buffer (one block whose lifetime is the union),
** and their kernels see out == in and copy nothing.
*/
static int is_alias_op(enum fl_op op)
{
	return op == FL_OP_RESHAPE || op == FL_OP_SQUEEZE || op == FL_OP_EXPAND_DIMS || op == FL_OP_IDENTITY;
}

struct block {
	int v;
	int first, last;
	size_t size, off;
};

static int cmp_block(const void *a, const void *b)
{
	const struct block *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->v - y->v;
}

static int plan_memory(struct fl_session *s)
{
	const struct fl_graph *g = s->g;
	int nv = g->n_values;
	int *first = fl_malloc(sizeof(int) * (nv + 1));
	int *last = fl_malloc(sizeof(int) * (nv + 1));
	struct block *b = fl_malloc(sizeof(*b) * (nv + 1));
	struct block **placed = fl_malloc(sizeof(*placed) * (nv + 1));
	int *root = fl_malloc(sizeof(int) * (nv + 1));
	int r = FL_ENOMEM;
	if (!first || !last || !b || !placed || !root)
		goto out;
	for (int v = 0; v < nv; v++)
		root[v] = v;
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		int x = n->n_in > 0 ? n->in[0] : -1;
		if (!is_alias_op(n->op) || n->n_out != 1 || x < 0 || g->values[x].data)
			continue;
		if (tensor_bytes(&s->vals[x]) != tensor_bytes(&s->vals[n->out[0]]))
			continue;
		root[n->out[0]] = root[x]; /* nodes are in order: root[x] is final */
	}
	for (int i = 0; i < nv; i++) {
		first[i] = INT32_MAX;
		last[i] = -2;
		s->offset[i] = SIZE_MAX;
	}
	for (int i = 0; i < g->n_inputs; i++)
		first[g->inputs[i]] = -1, last[g->inputs[i]] = FL_MAX(last[g->inputs[i]], -1);
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		for (int j = 0; j < n->n_out; j++) {
			int v = n->out[j];
			if (first[v] > k)
				first[v] = k;
			if (last[v] < k)
				last[v] = k;
		}
		for (int j = 0; j < n->n_in; j++) {
			int v = n->in[j];
			if (v >= 0 && last[v] < k)
				last[v] = k;
		}
	}
	for (int i = 0; i < g->n_outputs; i++)
		last[g->outputs[i]] = g->n_nodes;
	for (int v = 0; v < nv; v++) {
		int rt = root[v];
		if (rt == v || first[v] == INT32_MAX)
			continue;
		if (first[v] < first[rt])
			first[rt] = first[v];
		if (last[v] > last[rt])
			last[rt] = last[v];
	}
	int nb = 0;
	for (int v = 0; v < nv; v++) {
		if (g->values[v].data || first[v] == INT32_MAX || root[v] != v)
			continue;
		b[nb].v = v;
		b[nb].first = first[v];
		b[nb].last = last[v];
		b[nb].size = align_up(FL_MAX(tensor_bytes(&s->vals[v]), 1));
		nb++;
	}
	qsort(b, nb, sizeof(*b), cmp_block);
	size_t total = 0;
	int np = 0;
	for (int i = 0; i < nb; i++) {
		size_t off = 0;
		/* placed[] kept sorted by offset: first fit among overlapping */
		for (int j = 0; j < np; j++) {
			struct block *p = placed[j];
			if (p->last < b[i].first || b[i].last < p->first)
				continue; /* lifetimes disjoint */
			if (off + b[i].size <= p->off)
				break;
			if (p->off + p->size > off)
				off = p->off + p->size;
		}
		b[i].off = off;
		int pos = np;
		while (pos > 0 && placed[pos - 1]->off > off) {
			placed[pos] = placed[pos - 1];
			pos--;
		}
		placed[pos] = &b[i];
		np++;
		if (off + b[i].size > total)
			total = off + b[i].size;
	}
	s->arena_size = total;
	s->arena = fl_aligned_alloc(ALIGN, total ? total : 1);
	if (!s->arena)
		goto out;
	for (int i = 0; i < nb; i++) {
		s->offset[b[i].v] = b[i].off;
		s->vals[b[i].v].data = s->arena + b[i].off;
	}
	for (int v = 0; v < nv; v++)
		if (root[v] != v && s->offset[root[v]] != SIZE_MAX) {
			s->offset[v] = s->offset[root[v]];
			s->vals[v].data = s->vals[root[v]].data;
		}
	r = 0;
out:
	fl_free(root);
	fl_free(first);
	fl_free(last);
	fl_free(b);
	fl_free(placed);
	return r;
}

static void serr(struct fl_session *s, char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void serr(struct fl_session *s, char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	if (err && err_size)
		snprintf(err, err_size, "%s", s->errmsg);
}

int fl_session_create(const struct fl_model *model, const struct fl_session_params *params, struct fl_session **out,
                      char *err, size_t err_size)
{
	*out = NULL;
	if (!model) {
		fl__errf(err, err_size, "no model");
		return FL_EINVAL;
	}
	struct fl_session_params defp = fl_session_default_params();
	if (!params)
		params = &defp;
	const struct fl_graph *g = &model->g;
	const char *path = g->path ? g->path : "model";
	int r = FL_ENOMEM;
	struct fl_session *s = fl_calloc(1, sizeof(*s));
	if (!s) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	s->model = model;
	s->g = g;
	s->vals = fl_calloc(g->n_values + 1, sizeof(*s->vals));
	s->offset = fl_calloc(g->n_values + 1, sizeof(*s->offset));
	s->outs = fl_calloc(g->n_nodes + 1, sizeof(*s->outs));
	s->ins = fl_calloc(g->n_nodes + 1, sizeof(*s->ins));
	s->prof = fl_calloc(g->n_nodes + 1, sizeof(double));
	if (!s->vals || !s->offset || !s->outs || !s->ins || !s->prof)
		goto nomem;
	for (int k = 0; k < g->n_nodes; k++) {
		s->outs[k] = fl_calloc(g->nodes[k].n_out, sizeof(struct fl_tensor));
		s->ins[k] = fl_calloc(g->nodes[k].n_in + 1, sizeof(struct fl_tensor *));
		if (!s->outs[k] || !s->ins[k])
			goto nomem;
	}
	/* Constants: exact shapes and their data. */
	for (int v = 0; v < g->n_values; v++) {
		const struct fl_value *fv = &g->values[v];
		s->vals[v].dtype = fv->dtype;
		s->vals[v].n_dims = fv->n_dims;
		memcpy(s->vals[v].dims, fv->dims, sizeof(fv->dims));
		s->vals[v].data = fv->data;
	}
	/* Inputs: given shapes, or the declared ones with unknown dims = 1. */
	if (params->input_shapes && params->n_input_shapes != g->n_inputs) {
		serr(s, err, err_size, "%s: %d input shapes given, the model has %d inputs", path, params->n_input_shapes,
		     g->n_inputs);
		r = FL_EINVAL;
		goto fail;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		int v = g->inputs[i];
		struct fl_tensor *t = &s->vals[v];
		const struct fl_value *fv = &g->values[v];
		if (params->input_shapes && params->input_shapes[i].n_dims > 0) {
			const struct fl_tensor *want = &params->input_shapes[i];
			if (want->n_dims != fv->n_dims) {
				serr(s, err, err_size, "%s: input \"%s\": rank %d given, the model expects rank %d", path,
				     fv->name, want->n_dims, fv->n_dims);
				r = FL_ESHAPE;
				goto fail;
			}
			for (int d = 0; d < want->n_dims; d++) {
				if (want->dims[d] <= 0 || want->dims[d] > (1 << 20)) {
					serr(s, err, err_size, "%s: input \"%s\": dimension %d is %lld", path, fv->name, d,
					     (long long)want->dims[d]);
					r = FL_ESHAPE;
					goto fail;
				}
				t->dims[d] = want->dims[d];
			}
		} else {
			for (int d = 0; d < t->n_dims; d++)
				if (t->dims[d] <= 0)
					t->dims[d] = 1;
		}
		t->data = NULL;
	}
	/* Shape inference, node by node. */
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		const struct fl_op_def *d = fl__op_def(n->op);
		for (int j = 0; j < n->n_in; j++)
			s->ins[k][j] = n->in[j] >= 0 ? &s->vals[n->in[j]] : NULL;
		char msg[256] = "";
		for (int j = 0; j < n->n_out; j++)
			memset(&s->outs[k][j], 0, sizeof(struct fl_tensor));
		int rr = d->infer(n, s->ins[k], s->outs[k], msg, sizeof(msg));
		if (rr < 0) {
			serr(s, err, err_size, "%s: node \"%s\" (%s): %s", path, n->name, fl__op_name(n->op),
			     msg[0] ? msg : fl_strerror(rr));
			r = rr;
			goto fail;
		}
		for (int j = 0; j < n->n_out; j++) {
			struct fl_tensor *t = &s->vals[n->out[j]];
			*t = s->outs[k][j];
			t->data = NULL;
			int64_t ne = fl_tensor_numel(t);
			if (ne < 0 || ne > ((int64_t)1 << 32)) {
				serr(s, err, err_size, "%s: node \"%s\" (%s): output of %lld elements", path, n->name,
				     fl__op_name(n->op), (long long)ne);
				r = FL_ESHAPE;
				goto fail;
			}
		}
	}
	if ((r = plan_memory(s)) < 0)
		goto nomem;
	/* Kernel views and flops, now that data pointers are known. */
	s->n_threads = params->n_threads > 0 ? params->n_threads : fl_cpu_count();
	size_t scratch = 0;
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		const struct fl_op_def *d = fl__op_def(n->op);
		for (int j = 0; j < n->n_out; j++)
			s->outs[k][j] = s->vals[n->out[j]];
		if (d->scratch) {
			size_t ss = d->scratch(n, s->ins[k], s->outs[k], s->n_threads);
			if (ss > scratch)
				scratch = ss;
		}
		if (d->flops)
			s->flops += d->flops(n, s->ins[k], s->outs[k]);
	}
	s->scratch_size = scratch;
	if (scratch && !(s->scratch = fl_aligned_alloc(ALIGN, scratch)))
		goto nomem;
	if (s->n_threads > 1 && (r = fl__pool_create(s->n_threads, &s->pool)) < 0)
		goto nomem;
	*out = s;
	return 0;
nomem:
	r = FL_ENOMEM;
	serr(s, err, err_size, "%s: out of memory creating a session", path);
fail:
	fl_session_destroy(s);
	return r;
}

void fl_session_destroy(struct fl_session *s)
{
	if (!s)
		return;
	fl__pool_destroy(s->pool);
	if (s->outs)
		for (int k = 0; k < s->g->n_nodes; k++)
			fl_free(s->outs[k]);
	if (s->ins)
		for (int k = 0; k < s->g->n_nodes; k++)
			fl_free((void *)s->ins[k]);
	fl_free(s->outs);
	fl_free(s->ins);
	fl_free(s->vals);
	fl_free(s->offset);
	fl_free(s->arena);
	fl_free(s->scratch);
	fl_free(s->prof);
	fl_free(s);
}

static int same_shape(const struct fl_tensor *a, const struct fl_tensor *b)
{
	if (a->n_dims != b->n_dims)
		return 0;
	for (int i = 0; i < a->n_dims; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

static void shape_str(const struct fl_tensor *t, char *buf, size_t n)
{
	size_t o = snprintf(buf, n, "[");
	for (int i = 0; i < t->n_dims && o < n; i++)
		o += snprintf(buf + o, n - o, i ? ",%lld" : "%lld", (long long)t->dims[i]);
	if (o < n)
		snprintf(buf + o, n - o, "]");
}

int fl_session_run(struct fl_session *s, const struct fl_tensor *inputs, int n_inputs)
{
	const struct fl_graph *g = s->g;
	s->errmsg[0] = 0;
	if (n_inputs != g->n_inputs || (!inputs && n_inputs)) {
		serr(s, NULL, 0, "%d inputs given, the model has %d", n_inputs, g->n_inputs);
		return FL_EINVAL;
	}
	for (int i = 0; i < n_inputs; i++) {
		int v = g->inputs[i];
		struct fl_tensor *t = &s->vals[v];
		const struct fl_tensor *in = &inputs[i];
		if (!same_shape(in, t)) {
			char a[96], b[96];
			shape_str(in, a, sizeof(a));
			shape_str(t, b, sizeof(b));
			serr(s, NULL, 0, "input \"%s\": shape %s given, the session was created for %s", g->values[v].name, a, b);
			return FL_ESHAPE;
		}
		if (!in->data) {
			serr(s, NULL, 0, "input \"%s\": no data", g->values[v].name);
			return FL_EINVAL;
		}
		int64_t ne = fl_tensor_numel(t);
		if (in->dtype == t->dtype) {
			memcpy(t->data, in->data, tensor_bytes(t));
		} else if (in->dtype == FL_DTYPE_F32 && t->dtype == FL_DTYPE_I32) {
			const float *src = in->data;
			int32_t *dst = t->data;
			for (int64_t e = 0; e < ne; e++)
				dst[e] = (int32_t)lrintf(src[e]);
		} else {
			serr(s, NULL, 0, "input \"%s\": dtype %s given, the model expects %s", g->values[v].name,
			     fl_dtype_name(in->dtype), fl_dtype_name(t->dtype));
			return FL_EDTYPE;
		}
	}
	struct fl_exec ex = {.pool = s->pool, .n_threads = fl__pool_n_threads(s->pool), .scratch = s->scratch,
	                     .scratch_size = s->scratch_size};
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		const struct fl_op_def *d = fl__op_def(n->op);
		double t0 = s->profiling ? fl__now() : 0;
		int r = d->run(n, s->ins[k], s->outs[k], &ex);
		if (s->profiling)
			s->prof[k] += fl__now() - t0;
		if (r < 0) {
			serr(s, NULL, 0, "%s: node \"%s\" (%s): %s", g->path ? g->path : "model", n->name, fl__op_name(n->op),
			     fl_strerror(r));
			return r;
		}
	}
	if (s->profiling)
		s->prof_runs++;
	return 0;
}

int fl_session_output(const struct fl_session *s, int i, struct fl_tensor *t)
{
	if (!s || i < 0 || i >= s->g->n_outputs)
		return FL_EINVAL;
	*t = s->vals[s->g->outputs[i]];
	return 0;
}

int fl_session_input(const struct fl_session *s, int i, struct fl_tensor *t)
{
	if (!s || i < 0 || i >= s->g->n_inputs)
		return FL_EINVAL;
	*t = s->vals[s->g->inputs[i]];
	return 0;
}

const char *fl_session_errmsg(const struct fl_session *s)
{
	return s ? s->errmsg : "no session";
}

int64_t fl_session_flops(const struct fl_session *s)
{
	return s->flops;
}

size_t fl_session_arena_bytes(const struct fl_session *s)
{
	return s->arena_size;
}

void fl_session_set_profiling(struct fl_session *s, int on)
{
	s->profiling = on;
	if (on) {
		memset(s->prof, 0, sizeof(double) * s->g->n_nodes);
		s->prof_runs = 0;
	}
}

void fl_session_profile_dump(const struct fl_session *s)
{
	const struct fl_graph *g = s->g;
	if (!s->prof_runs)
		return;
	double total = 0;
	for (int k = 0; k < g->n_nodes; k++)
		total += s->prof[k];
	fl_log(FL_LOG_INFO, "profile: %ld runs, %.3f ms per run", s->prof_runs, 1e3 * total / s->prof_runs);
	for (int k = 0; k < g->n_nodes; k++) {
		const struct fl_node *n = &g->nodes[k];
		char shp[96];
		shape_str(&s->vals[n->out[0]], shp, sizeof(shp));
		fl_log(FL_LOG_INFO, "%4d %-14s %8.3f ms %5.1f%% %-20s %s", k, fl__op_name(n->op),
		       1e3 * s->prof[k] / s->prof_runs, 100 * s->prof[k] / (total > 0 ? total : 1), shp, n->name);
	}
}
