/*
** engine.c -- tests of the graph IR, the load-time passes and sessions on
** small hand-built graphs: topological ordering, cycle and dangling-input
** errors, constant folding, bias/activation fusion (and that fusion does
** not change results), the memory plan reusing space, input checking.
*/
#include "fl_test.h"

#include "faceline/fl.h"
#include "nn/nn_int.h"

static float *fdup(const float *src, int n)
{
	float *p = fl_malloc(sizeof(float) * n);
	memcpy(p, src, sizeof(float) * n);
	return p;
}

/* x[1,4,4,2] -> conv 3x3 (2->3) SAME -> add bias const -> relu -> y.
** Built unfused; the passes must fuse bias and relu into the conv. */
static struct fl_model *build_conv_model(void)
{
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	struct fl_graph *g = &m->g;
	ASSERT_OK(fl__graph_init(g, "test-graph"));
	int64_t xd[4] = {1, -1, -1, 2};
	int x = fl__graph_add_value(g, "x", FL_DTYPE_F32, 4, xd);
	float w[3 * 3 * 2 * 3], b[3] = {0.5f, -1.0f, 0.25f};
	for (int i = 0; i < 54; i++)
		w[i] = (float)((i * 7) % 11 - 5) / 8.0f;
	int64_t wd[4] = {3, 3, 2, 3}, bd[1] = {3};
	int wv = fl__graph_add_const(g, "w", FL_DTYPE_F32, 4, wd, fdup(w, 54));
	int bv = fl__graph_add_const(g, "b", FL_DTYPE_F32, 1, bd, fdup(b, 3));
	int c = fl__graph_add_value(g, "conv", FL_DTYPE_F32, 0, NULL);
	int a = fl__graph_add_value(g, "add", FL_DTYPE_F32, 0, NULL);
	int y = fl__graph_add_value(g, "y", FL_DTYPE_F32, 0, NULL);
	struct fl_attr at = {0};
	at.padding = FL_PADDING_SAME;
	/* nodes added out of order on purpose: link must sort them */
	ASSERT(fl__graph_add_node(g, FL_OP_RELU, "relu", &a, 1, &y, 1, NULL) >= 0);
	int cin[2] = {x, wv};
	ASSERT(fl__graph_add_node(g, FL_OP_CONV2D, "conv", cin, 2, &c, 1, &at) >= 0);
	int ain[2] = {c, bv};
	ASSERT(fl__graph_add_node(g, FL_OP_ADD, "add", ain, 2, &a, 1, NULL) >= 0);
	ASSERT_OK(fl__graph_set_io(g, &x, 1, &y, 1));
	return m;
}

static void run_model(struct fl_model *m, const float *x, float *y, int h, int w)
{
	struct fl_tensor in = {FL_DTYPE_F32, 4, {1, h, w, 2}, (void *)x};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = 1;
	sp.input_shapes = &in;
	sp.n_input_shapes = 1;
	struct fl_session *s;
	char err[256];
	ASSERT_MSG(fl_session_create(m, &sp, &s, err, sizeof(err)) == 0, "%s", err);
	ASSERT_OK(fl_session_run(s, &in, 1));
	struct fl_tensor out;
	ASSERT_OK(fl_session_output(s, 0, &out));
	ASSERT_EQ(out.n_dims, 4);
	ASSERT_EQ(out.dims[1], h);
	ASSERT_EQ(out.dims[3], 3);
	memcpy(y, out.data, sizeof(float) * h * w * 3);
	fl_session_destroy(s);
}

FL_TEST(engine_fusion_keeps_results)
{
	float x[1 * 5 * 4 * 2], y0[5 * 4 * 3], y1[5 * 4 * 3];
	for (int i = 0; i < 40; i++)
		x[i] = (float)((i * 13) % 17 - 8) / 4.0f;
	/* unfused: link + prepare only */
	struct fl_model *m0 = build_conv_model();
	char err[256];
	ASSERT_OK(fl__graph_link(&m0->g, err, sizeof(err)));
	ASSERT_EQ(m0->g.nodes[0].op, FL_OP_CONV2D); /* sorted */
	ASSERT_OK(fl__graph_prepare(&m0->g, FL_ISA_REF, err, sizeof(err)));
	run_model(m0, x, y0, 5, 4);
	/* fused */
	struct fl_model *m1 = build_conv_model();
	ASSERT_OK(fl__graph_optimize(&m1->g, err, sizeof(err)));
	ASSERT_EQ(m1->g.n_nodes, 1);
	ASSERT_EQ(m1->g.nodes[0].attr.act, FL_ACT_RELU);
	ASSERT_OK(fl__graph_prepare(&m1->g, fl__cpu_detect(), err, sizeof(err)));
	run_model(m1, x, y1, 5, 4);
	char msg[256];
	ASSERT_MSG(fl_test_allclose(y1, y0, 60, 1e-5, 1e-5, msg, sizeof(msg)) == 0, "%s", msg);
	int pos = 0;
	for (int i = 0; i < 60; i++)
		pos += y0[i] > 0;
	ASSERT(pos > 5 && pos < 55); /* the relu matters */
	fl_model_destroy(m0);
	fl_model_destroy(m1);
}

FL_TEST(engine_errors_name_the_node)
{
	struct fl_graph g;
	char err[256];
	ASSERT_OK(fl__graph_init(&g, "cyc.json"));
	int a = fl__graph_add_value(&g, "a", FL_DTYPE_F32, 0, NULL);
	int b = fl__graph_add_value(&g, "b", FL_DTYPE_F32, 0, NULL);
	ASSERT(fl__graph_add_node(&g, FL_OP_RELU, "r1", &a, 1, &b, 1, NULL) >= 0);
	ASSERT(fl__graph_add_node(&g, FL_OP_RELU, "r2", &b, 1, &a, 1, NULL) >= 0);
	ASSERT_OK(fl__graph_set_io(&g, NULL, 0, &b, 1));
	ASSERT_EQ(fl__graph_link(&g, err, sizeof(err)), FL_ECORRUPT);
	ASSERT_STR_CONTAINS(err, "cycle");
	ASSERT_STR_CONTAINS(err, "cyc.json");
	fl__graph_fini(&g);

	ASSERT_OK(fl__graph_init(&g, "dangling.json"));
	a = fl__graph_add_value(&g, "nowhere", FL_DTYPE_F32, 0, NULL);
	b = fl__graph_add_value(&g, "b", FL_DTYPE_F32, 0, NULL);
	ASSERT(fl__graph_add_node(&g, FL_OP_RELU, "relu_7", &a, 1, &b, 1, NULL) >= 0);
	ASSERT_OK(fl__graph_set_io(&g, NULL, 0, &b, 1));
	ASSERT_EQ(fl__graph_link(&g, err, sizeof(err)), FL_ECORRUPT);
	ASSERT_STR_CONTAINS(err, "relu_7");
	ASSERT_STR_CONTAINS(err, "nowhere");
	fl__graph_fini(&g);
}

FL_TEST(engine_constant_folding)
{
	/* y = x + (c1 * c2): the Mul of two constants is folded away. */
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	struct fl_graph *g = &m->g;
	char err[256];
	ASSERT_OK(fl__graph_init(g, "fold"));
	int64_t d1[1] = {3};
	float c1[3] = {1, 2, 3}, c2[3] = {4, 5, 6};
	int x = fl__graph_add_value(g, "x", FL_DTYPE_F32, 1, d1);
	int k1 = fl__graph_add_const(g, "c1", FL_DTYPE_F32, 1, d1, fdup(c1, 3));
	int k2 = fl__graph_add_const(g, "c2", FL_DTYPE_F32, 1, d1, fdup(c2, 3));
	int p = fl__graph_add_value(g, "p", FL_DTYPE_F32, 0, NULL);
	int y = fl__graph_add_value(g, "y", FL_DTYPE_F32, 0, NULL);
	int min[2] = {k1, k2}, ain[2] = {x, p};
	ASSERT(fl__graph_add_node(g, FL_OP_MUL, "mul", min, 2, &p, 1, NULL) >= 0);
	ASSERT(fl__graph_add_node(g, FL_OP_ADD, "add", ain, 2, &y, 1, NULL) >= 0);
	ASSERT_OK(fl__graph_set_io(g, &x, 1, &y, 1));
	ASSERT_OK(fl__graph_optimize(g, err, sizeof(err)));
	ASSERT_EQ(g->n_nodes, 1);
	ASSERT_OK(fl__graph_prepare(g, FL_ISA_REF, err, sizeof(err)));
	struct fl_session *s;
	ASSERT_OK(fl_session_create(m, NULL, &s, err, sizeof(err)));
	float xv[3] = {1, 1, 1};
	struct fl_tensor in = {FL_DTYPE_F32, 1, {3}, xv}, out;
	ASSERT_OK(fl_session_run(s, &in, 1));
	fl_session_output(s, 0, &out);
	ASSERT_NEAR(((float *)out.data)[2], 19, 0);
	/* wrong shape and wrong count are clean errors */
	struct fl_tensor bad = {FL_DTYPE_F32, 1, {4}, xv};
	ASSERT_EQ(fl_session_run(s, &bad, 1), FL_ESHAPE);
	ASSERT_STR_CONTAINS(fl_session_errmsg(s), "\"x\"");
	ASSERT_EQ(fl_session_run(s, &in, 2), FL_EINVAL);
	fl_session_destroy(s);
	fl_model_destroy(m);
}

FL_TEST(engine_arena_reuses_memory)
{
	/* a chain of 20 relus of 1000 floats needs 2 live buffers, not 20 */
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	struct fl_graph *g = &m->g;
	char err[256];
	ASSERT_OK(fl__graph_init(g, "chain"));
	int64_t d[1] = {1000};
	int prev = fl__graph_add_value(g, "x", FL_DTYPE_F32, 1, d), x = prev;
	for (int i = 0; i < 20; i++) {
		int v = fl__graph_add_value(g, NULL, FL_DTYPE_F32, 0, NULL);
		ASSERT(fl__graph_add_node(g, i & 1 ? FL_OP_RELU : FL_OP_NEG, NULL, &prev, 1, &v, 1, NULL) >= 0);
		prev = v;
	}
	ASSERT_OK(fl__graph_set_io(g, &x, 1, &prev, 1));
	ASSERT_OK(fl__graph_optimize(g, err, sizeof(err)));
	ASSERT_OK(fl__graph_prepare(g, FL_ISA_REF, err, sizeof(err)));
	struct fl_session *s;
	ASSERT_OK(fl_session_create(m, NULL, &s, err, sizeof(err)));
	ASSERT_MSG(fl_session_arena_bytes(s) <= 3 * 4096, "arena %zu bytes", fl_session_arena_bytes(s));
	float xv[1000];
	for (int i = 0; i < 1000; i++)
		xv[i] = i - 500.0f;
	struct fl_tensor in = {FL_DTYPE_F32, 1, {1000}, xv}, out;
	ASSERT_OK(fl_session_run(s, &in, 1));
	fl_session_output(s, 0, &out);
	/* neg,relu x10: relu(-relu(-x)) ... = 0 for all after two rounds */
	for (int i = 0; i < 1000; i++)
		ASSERT_NEAR(((float *)out.data)[i], 0, 0);
	fl_session_destroy(s);
	fl_model_destroy(m);
}

/* h-swish spelled as TF exports it collapses into one HARD_SWISH node
** with bit-identical results. */
FL_TEST(engine_hard_swish_pattern)
{
	float xs[7] = {-5, -3, -1.5f, 0, 0.7f, 3, 9};
	float want[7];
	const float c = 0.16666667f;
	for (int i = 0; i < 7; i++) {
		float t = xs[i] + 3.0f;
		t = t < 0 ? 0 : t > 6 ? 6 : t;
		want[i] = (c * xs[i]) * t;
	}
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	struct fl_graph *g = &m->g;
	char err[256];
	ASSERT_OK(fl__graph_init(g, "hswish"));
	int64_t d[1] = {7};
	float one_c[1] = {c}, one_3[1] = {3};
	int x = fl__graph_add_value(g, "x", FL_DTYPE_F32, 1, d);
	int kc = fl__graph_add_const(g, "c", FL_DTYPE_F32, 0, NULL, fdup(one_c, 1));
	int k3 = fl__graph_add_const(g, "three", FL_DTYPE_F32, 0, NULL, fdup(one_3, 1));
	int mv = fl__graph_add_value(g, "m", FL_DTYPE_F32, 0, NULL);
	int av = fl__graph_add_value(g, "a", FL_DTYPE_F32, 0, NULL);
	int rv = fl__graph_add_value(g, "r", FL_DTYPE_F32, 0, NULL);
	int y = fl__graph_add_value(g, "y", FL_DTYPE_F32, 0, NULL);
	int i1[2] = {kc, x}, i2[2] = {x, k3}, i4[2] = {mv, rv};
	ASSERT(fl__graph_add_node(g, FL_OP_MUL, "mul", i1, 2, &mv, 1, NULL) >= 0);
	ASSERT(fl__graph_add_node(g, FL_OP_ADD, "add", i2, 2, &av, 1, NULL) >= 0);
	ASSERT(fl__graph_add_node(g, FL_OP_RELU6, "relu6", &av, 1, &rv, 1, NULL) >= 0);
	ASSERT(fl__graph_add_node(g, FL_OP_MUL, "mul_1", i4, 2, &y, 1, NULL) >= 0);
	ASSERT_OK(fl__graph_set_io(g, &x, 1, &y, 1));
	ASSERT_OK(fl__graph_optimize(g, err, sizeof(err)));
	ASSERT_EQ(g->n_nodes, 1);
	ASSERT_EQ(g->nodes[0].op, FL_OP_HARD_SWISH);
	ASSERT_OK(fl__graph_prepare(g, FL_ISA_REF, err, sizeof(err)));
	struct fl_session *s;
	ASSERT_OK(fl_session_create(m, NULL, &s, err, sizeof(err)));
	struct fl_tensor in = {FL_DTYPE_F32, 1, {7}, xs}, out;
	ASSERT_OK(fl_session_run(s, &in, 1));
	fl_session_output(s, 0, &out);
	for (int i = 0; i < 7; i++)
		ASSERT_MSG(((float *)out.data)[i] == want[i], "x=%g: got %g want %g", xs[i], ((float *)out.data)[i], want[i]);
	fl_session_destroy(s);
	fl_model_destroy(m);
}

/* conv + ADD(residual) fuses only when the residual has the conv output's
** shape: a broadcasting [1,1,1,C] operand must stay a separate ADD. */
static struct fl_model *build_residual(int64_t rh, int64_t rw)
{
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	struct fl_graph *g = &m->g;
	ASSERT_OK(fl__graph_init(g, "residual"));
	int64_t xd[4] = {1, 4, 4, 3}, rd[4] = {1, rh, rw, 3}, wd[4] = {1, 1, 3, 3};
	float w[9] = {1, 0.5f, 0, -1, 2, 0.25f, 0, 1, -0.5f};
	int x = fl__graph_add_value(g, "x", FL_DTYPE_F32, 4, xd);
	int r = fl__graph_add_value(g, "r", FL_DTYPE_F32, 4, rd);
	int wv = fl__graph_add_const(g, "w", FL_DTYPE_F32, 4, wd, fdup(w, 9));
	int c = fl__graph_add_value(g, "c", FL_DTYPE_F32, 0, NULL);
	int y = fl__graph_add_value(g, "y", FL_DTYPE_F32, 0, NULL);
	struct fl_attr at = {0};
	int cin[2] = {x, wv}, ain[2] = {c, r};
	ASSERT(fl__graph_add_node(g, FL_OP_CONV2D, "conv", cin, 2, &c, 1, &at) >= 0);
	at.act = FL_ACT_RELU;
	ASSERT(fl__graph_add_node(g, FL_OP_ADD, "add", ain, 2, &y, 1, &at) >= 0);
	int ins[2] = {x, r};
	ASSERT_OK(fl__graph_set_io(g, ins, 2, &y, 1));
	char err[256];
	ASSERT_OK(fl__graph_optimize(g, err, sizeof(err)));
	ASSERT_OK(fl__graph_prepare(g, fl__cpu_detect(), err, sizeof(err)));
	return m;
}

FL_TEST(engine_residual_fusion_only_for_equal_shapes)
{
	float xv[48], rv[48], want[48];
	for (int i = 0; i < 48; i++)
		xv[i] = (float)((i * 5) % 13 - 6) / 3.0f, rv[i] = (float)((i * 7) % 11 - 5) / 2.0f;
	const float w[9] = {1, 0.5f, 0, -1, 2, 0.25f, 0, 1, -0.5f};
	for (int full = 0; full < 2; full++) {
		struct fl_model *m = build_residual(full ? 4 : 1, full ? 4 : 1);
		ASSERT_EQ(m->g.n_nodes, full ? 1 : 2);
		for (int p = 0; p < 16; p++)
			for (int o = 0; o < 3; o++) {
				float acc = 0;
				for (int i = 0; i < 3; i++)
					acc += xv[p * 3 + i] * w[i * 3 + o];
				acc += full ? rv[p * 3 + o] : rv[o];
				want[p * 3 + o] = acc > 0 ? acc : 0;
			}
		struct fl_tensor in[2] = {{FL_DTYPE_F32, 4, {1, 4, 4, 3}, xv},
		                          {FL_DTYPE_F32, 4, {1, full ? 4 : 1, full ? 4 : 1, 3}, rv}}, out;
		struct fl_session *s;
		char err[256];
		struct fl_session_params sp = fl_session_default_params();
		sp.input_shapes = in;
		sp.n_input_shapes = 2;
		ASSERT_MSG(fl_session_create(m, &sp, &s, err, sizeof(err)) == 0, "%s", err);
		ASSERT_OK(fl_session_run(s, in, 2));
		fl_session_output(s, 0, &out);
		char msg[200];
		ASSERT_MSG(fl_test_allclose(out.data, want, 48, 1e-5, 1e-5, msg, sizeof(msg)) == 0, "%s", msg);
		fl_session_destroy(s);
		fl_model_destroy(m);
	}
}
