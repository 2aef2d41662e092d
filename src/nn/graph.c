/*
** graph.c -- building and ordering the graph IR (struct fl_graph, see
** nn_int.h): values (tensor edges, constants carry their data), nodes,
** graph inputs/outputs.  Loaders call the fl__graph_add_* builders;
** fl__graph_link() then orders the nodes topologically and checks that
** every input is produced.
*/
#include "nn_int.h"

#include <stdlib.h>

int fl__graph_init(struct fl_graph *g, const char *path)
{
	memset(g, 0, sizeof(*g));
	if (path && !(g->path = fl_strdup(path)))
		return FL_ENOMEM;
	return 0;
}

static void node_free(struct fl_node *n)
{
	if (n->prep) {
		const struct fl_op_def *d = fl__op_def(n->op);
		if (d && d->release)
			d->release(n);
		n->prep = NULL;
	}
	fl_free(n->name);
	fl_free(n->in);
	fl_free(n->out);
}

void fl__graph_fini(struct fl_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_nodes; i++)
		node_free(&g->nodes[i]);
	for (int i = 0; i < g->n_values; i++) {
		fl_free(g->values[i].name);
		fl_free(g->values[i].data);
	}
	fl_free(g->nodes);
	fl_free(g->values);
	fl_free(g->inputs);
	fl_free(g->outputs);
	fl_free(g->path);
	memset(g, 0, sizeof(*g));
}

static int grow(void **p, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return 0;
	int nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *q = fl_realloc(*p, (size_t)nc * elem);
	if (!q)
		return FL_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int add_value(struct fl_graph *g, const char *name, enum fl_dtype dtype, int n_dims, const int64_t *dims, void *data)
{
	if (n_dims < 0 || n_dims > FL_MAX_DIMS)
		return FL_EINVAL;
	if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(*g->values)))
		return FL_ENOMEM;
	struct fl_value *v = &g->values[g->n_values];
	memset(v, 0, sizeof(*v));
	char buf[32];
	if (!name) {
		snprintf(buf, sizeof(buf), "v%d", g->n_values);
		name = buf;
	}
	if (!(v->name = fl_strdup(name)))
		return FL_ENOMEM;
	v->dtype = dtype;
	v->n_dims = n_dims;
	for (int i = 0; i < n_dims; i++)
		v->dims[i] = dims[i];
	v->data = data;
	v->producer = -1;
	return g->n_values++;
}

int fl__graph_add_value(struct fl_graph *g, const char *name, enum fl_dtype dtype, int n_dims, const int64_t *dims)
{
	return add_value(g, name, dtype, n_dims, dims, NULL);
}

int fl__graph_add_const(struct fl_graph *g, const char *name, enum fl_dtype dtype, int n_dims, const int64_t *dims, void *data)
{
	if (!data) {
		/* A constant with zero elements still needs a non-NULL marker. */
		if (!(data = fl_malloc(0)))
			return FL_ENOMEM;
	}
	int r = add_value(g, name, dtype, n_dims, dims, data);
	if (r < 0)
		fl_free(data);
	return r;
}

int fl__graph_add_node(struct fl_graph *g, enum fl_op op, const char *name, const int *in, int n_in, const int *out, int n_out, const struct fl_attr *attr)
{
	if ((unsigned)op >= FL_OP__COUNT || n_in < 0 || n_out < 1)
		return FL_EINVAL;
	for (int i = 0; i < n_in; i++)
		if (in[i] < -1 || in[i] >= g->n_values)
			return FL_EINVAL;
	for (int i = 0; i < n_out; i++)
		if (out[i] < 0 || out[i] >= g->n_values)
			return FL_EINVAL;
	if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(*g->nodes)))
		return FL_ENOMEM;
	struct fl_node *n = &g->nodes[g->n_nodes];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->n_in = n_in;
	n->n_out = n_out;
	n->name = fl_strdup(name ? name : fl__op_name(op));
	n->in = fl_malloc(sizeof(int) * (n_in ? n_in : 1));
	n->out = fl_malloc(sizeof(int) * n_out);
	if (!n->name || !n->in || !n->out) {
		node_free(n);
		return FL_ENOMEM;
	}
	if (n_in)
		memcpy(n->in, in, sizeof(int) * n_in);
	memcpy(n->out, out, sizeof(int) * n_out);
	if (attr)
		n->attr = *attr;
	for (int i = 0; i < n_out; i++)
		g->values[out[i]].producer = g->n_nodes;
	return g->n_nodes++;
}

int fl__graph_find_value(const struct fl_graph *g, const char *name)
{
	/* Later values win: a loader may shadow a name. */
	for (int i = g->n_values - 1; i >= 0; i--)
		if (!strcmp(g->values[i].name, name))
			return i;
	return -1;
}

int fl__graph_set_io(struct fl_graph *g, const int *in, int n_in, const int *out, int n_out)
{
	int *a = fl_malloc(sizeof(int) * (n_in ? n_in : 1));
	int *b = fl_malloc(sizeof(int) * (n_out ? n_out : 1));
	if (!a || !b) {
		fl_free(a);
		fl_free(b);
		return FL_ENOMEM;
	}
	for (int i = 0; i < n_in; i++)
		if (in[i] < 0 || in[i] >= g->n_values)
			goto bad;
	for (int i = 0; i < n_out; i++)
		if (out[i] < 0 || out[i] >= g->n_values)
			goto bad;
	if (n_in)
		memcpy(a, in, sizeof(int) * n_in);
	if (n_out)
		memcpy(b, out, sizeof(int) * n_out);
	fl_free(g->inputs);
	fl_free(g->outputs);
	g->inputs = a;
	g->n_inputs = n_in;
	g->outputs = b;
	g->n_outputs = n_out;
	return 0;
bad:
	fl_free(a);
	fl_free(b);
	return FL_EINVAL;
}

/*
** Topological order (Kahn), keeping the loader's order among ready nodes so
** the schedule stays the one the file had.  Also recomputes producers and
** use counts.
*/
int fl__graph_link(struct fl_graph *g, char *err, size_t err_size)
{
	int r = FL_ENOMEM;
	int *indeg = fl_calloc(g->n_nodes + 1, sizeof(int));
	int *order = fl_malloc(sizeof(int) * (g->n_nodes + 1));
	int *is_input = fl_calloc(g->n_values + 1, sizeof(int));
	struct fl_node *sorted = NULL;
	if (!indeg || !order || !is_input)
		goto out;
	for (int i = 0; i < g->n_values; i++) {
		g->values[i].producer = -1;
		g->values[i].n_uses = 0;
	}
	for (int i = 0; i < g->n_inputs; i++)
		is_input[g->inputs[i]] = 1;
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		for (int j = 0; j < n->n_out; j++) {
			struct fl_value *v = &g->values[n->out[j]];
			if (v->producer >= 0 || v->data || is_input[n->out[j]]) {
				fl__errf(err, err_size, "%s: node \"%s\" (%s): output \"%s\" is produced twice", g->path ? g->path : "graph",
				         n->name, fl__op_name(n->op), v->name);
				r = FL_ECORRUPT;
				goto out;
			}
			v->producer = k;
		}
	}
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		for (int j = 0; j < n->n_in; j++) {
			int vi = n->in[j];
			if (vi < 0)
				continue;
			struct fl_value *v = &g->values[vi];
			v->n_uses++;
			if (v->producer >= 0)
				indeg[k]++;
			else if (!v->data && !is_input[vi]) {
				fl__errf(err, err_size, "%s: node \"%s\" (%s): input \"%s\" is not produced by any node",
				         g->path ? g->path : "graph", n->name, fl__op_name(n->op), v->name);
				r = FL_ECORRUPT;
				goto out;
			}
		}
	}
	for (int i = 0; i < g->n_outputs; i++) {
		struct fl_value *v = &g->values[g->outputs[i]];
		v->n_uses++;
		if (v->producer < 0 && !v->data && !is_input[g->outputs[i]]) {
			fl__errf(err, err_size, "%s: output \"%s\" is not produced by any node", g->path ? g->path : "graph", v->name);
			r = FL_ECORRUPT;
			goto out;
		}
	}
	/* Kahn's algorithm; a simple O(n^2)-free queue in the original order. */
	int head = 0, tail = 0;
	for (int k = 0; k < g->n_nodes; k++)
		if (indeg[k] == 0)
			order[tail++] = k;
	/* consumers: scan lazily -- build a CSR of value -> consumer nodes. */
	int *cstart = fl_calloc(g->n_values + 1, sizeof(int));
	int *clist = NULL;
	if (!cstart)
		goto out;
	int total = 0;
	for (int k = 0; k < g->n_nodes; k++)
		for (int j = 0; j < g->nodes[k].n_in; j++)
			if (g->nodes[k].in[j] >= 0)
				cstart[g->nodes[k].in[j] + 1]++, total++;
	for (int i = 0; i < g->n_values; i++)
		cstart[i + 1] += cstart[i];
	clist = fl_malloc(sizeof(int) * (total + 1));
	int *fillp = fl_malloc(sizeof(int) * (g->n_values + 1));
	if (!clist || !fillp) {
		fl_free(cstart);
		fl_free(clist);
		fl_free(fillp);
		goto out;
	}
	memcpy(fillp, cstart, sizeof(int) * g->n_values);
	for (int k = 0; k < g->n_nodes; k++)
		for (int j = 0; j < g->nodes[k].n_in; j++)
			if (g->nodes[k].in[j] >= 0)
				clist[fillp[g->nodes[k].in[j]]++] = k;
	fl_free(fillp);
	while (head < tail) {
		int k = order[head++];
		struct fl_node *n = &g->nodes[k];
		for (int j = 0; j < n->n_out; j++) {
			int vi = n->out[j];
			for (int c = cstart[vi]; c < cstart[vi + 1]; c++) {
				int m = clist[c];
				/* one decrement per matching input slot */
				if (--indeg[m] == 0)
					order[tail++] = m;
			}
		}
	}
	fl_free(cstart);
	fl_free(clist);
	if (tail != g->n_nodes) {
		for (int k = 0; k < g->n_nodes; k++)
			if (indeg[k] > 0) {
				fl__errf(err, err_size, "%s: node \"%s\" (%s) is part of a cycle", g->path ? g->path : "graph",
				         g->nodes[k].name, fl__op_name(g->nodes[k].op));
				break;
			}
		r = FL_ECORRUPT;
		goto out;
	}
	sorted = fl_malloc(sizeof(*sorted) * (g->n_nodes + 1));
	if (!sorted)
		goto out;
	for (int k = 0; k < g->n_nodes; k++)
		sorted[k] = g->nodes[order[k]];
	memcpy(g->nodes, sorted, sizeof(*sorted) * g->n_nodes);
	for (int k = 0; k < g->n_nodes; k++)
		for (int j = 0; j < g->nodes[k].n_out; j++)
			g->values[g->nodes[k].out[j]].producer = k;
	r = 0;
out:
	if (r == FL_ENOMEM)
		fl__errf(err, err_size, "%s: out of memory ordering the graph", g->path ? g->path : "graph");
	fl_free(sorted);
	fl_free(indeg);
	fl_free(order);
	fl_free(is_input);
	return r;
}

int fl__graph_prepare(struct fl_graph *g, int isa, char *err, size_t err_size)
{
	for (int k = 0; k < g->n_nodes; k++) {
		struct fl_node *n = &g->nodes[k];
		const struct fl_op_def *d = fl__op_def(n->op);
		n->isa = isa;
		if (d->prepare) {
			int r = d->prepare(n, g, isa, err, err_size);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
