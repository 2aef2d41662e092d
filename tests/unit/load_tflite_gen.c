/*
** load_tflite_gen.c -- TFLite loader tests on small models generated in C
** (load_tflite_gen.h): exact layout conversions, option mapping, float16
** DEQUANTIZE, FULLY_CONNECTED flattening, externally stored buffers, and
** one defect per file (index out of range, wrong buffer size, bad dims,
** quantised types, unknown ops) with the message each must give.
**
** With FL_WRITE_CORPUS=DIR set, load_tflite_gen_corpus writes every
** generated model into DIR (the fuzz seed corpus, tests/fuzz/corpus/tflite).
*/
#include "fl_test.h"

#include "load_tflite_gen.h"
#include "nn/nn_int.h"

static const float filter_ohwi[6] = {1, 2, 3, 4, 5, 6}; /* [3,1,1,2] */
static const float bias3[3] = {0.5f, -0.5f, 0.25f};

/* input [1,4,4,2] -> CONV_2D (1x1, VALID, RELU6) -> output [1,4,4,3] */
static void conv_model(struct gen_model *m)
{
	memset(m, 0, sizeof *m);
	m->n_codes = 1;
	m->codes[0] = 3; /* CONV_2D */
	m->n_tensors = 4;
	m->t[0] = (struct gen_tensor){"input", 0, 4, {1, 4, 4, 2}, 0};
	m->t[1] = (struct gen_tensor){"filter", 0, 4, {3, 1, 1, 2}, 1};
	m->t[2] = (struct gen_tensor){"bias", 0, 1, {3}, 2};
	m->t[3] = (struct gen_tensor){"output", 0, 4, {1, 4, 4, 3}, 0};
	m->n_ops = 1;
	m->ops[0] = (struct gen_op){0, 3, {0, 1, 2}, 1, {3}, 1, 4, {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 1, 3}}};
	m->n_in = 1;
	m->in[0] = 0;
	m->n_out = 1;
	m->out[0] = 3;
	m->n_bufs = 3;
	m->bufs[1] = (struct gen_buffer){filter_ohwi, sizeof filter_ohwi, 0};
	m->bufs[2] = (struct gen_buffer){bias3, sizeof bias3, 0};
}

static struct fbw W;

/* Generate m, load it; returns the status with err filled. */
static int load_gen(const struct gen_model *m, struct fl_graph *g, char *err, size_t err_size)
{
	size_t n = gen_tflite(&W, m);
	ASSERT_OK(fl__graph_init(g, "gen.tflite"));
	err[0] = 0;
	return fl__load_tflite_mem(g, W.b, n, err, err_size);
}

/* Load expecting failure with `code` and a message containing `sub`. */
static void expect_fail(const struct gen_model *m, int code, const char *sub)
{
	struct fl_graph g;
	char err[512];
	long live0 = fl_alloc_live();
	int r = load_gen(m, &g, err, sizeof err);
	fl__graph_fini(&g);
	ASSERT_MSG(r == code, "expected %d, got %d (%s)", code, r, err);
	ASSERT_STR_CONTAINS(err, "gen.tflite: ");
	ASSERT_STR_CONTAINS(err, sub);
	ASSERT_EQ(fl_alloc_live(), live0);
}

FL_TEST(load_tflite_gen_conv)
{
	struct gen_model m;
	struct fl_graph g;
	char err[512];
	conv_model(&m);
	int r = load_gen(&m, &g, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	ASSERT_EQ(g.n_nodes, 1);
	const struct fl_node *n = &g.nodes[0];
	ASSERT_EQ(n->op, FL_OP_CONV2D);
	ASSERT_EQ(n->attr.padding, FL_PADDING_VALID);
	ASSERT_EQ(n->attr.act, FL_ACT_RELU6);
	ASSERT_EQ(n->attr.stride[0], 1);
	ASSERT_EQ(n->attr.dilation[0], 1); /* the schema default */
	/* OHWI [3,1,1,2] -> HWIO [1,1,2,3]: out[ci][co] = in[co][ci]. */
	const struct fl_value *f = &g.values[n->in[1]];
	ASSERT_EQ(f->dims[0], 1);
	ASSERT_EQ(f->dims[2], 2);
	ASSERT_EQ(f->dims[3], 3);
	const float *w = f->data;
	const float want[6] = {1, 3, 5, 2, 4, 6};
	for (int i = 0; i < 6; i++)
		ASSERT_NEAR(w[i], want[i], 0);
	ASSERT_NEAR(((const float *)g.values[n->in[2]].data)[2], 0.25, 0);
	/* Batch 1 in the file: input and output declared with batch -1. */
	ASSERT_EQ(g.values[g.inputs[0]].dims[0], -1);
	ASSERT_EQ(g.values[g.outputs[0]].dims[0], -1);
	ASSERT_EQ(g.values[g.outputs[0]].dims[3], 3);
	fl__graph_fini(&g);
}

FL_TEST(load_tflite_gen_external_buffer)
{
	/* The filter stored after the FlatBuffer (the >2 GB layout). */
	struct gen_model m;
	struct fl_graph g;
	char err[512];
	conv_model(&m);
	m.bufs[1].external = 1;
	int r = load_gen(&m, &g, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	ASSERT_NEAR(((const float *)g.values[g.nodes[0].in[1]].data)[1], 3, 0);
	fl__graph_fini(&g);
	/* ... and pointing past the end. */
	size_t n = gen_tflite(&W, &m);
	ASSERT_OK(fl__graph_init(&g, "gen.tflite"));
	r = fl__load_tflite_mem(&g, W.b, n - 4, err, sizeof err);
	fl__graph_fini(&g);
	ASSERT_EQ(r, FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "past the end");
}

FL_TEST(load_tflite_gen_defects)
{
	struct gen_model m;

	conv_model(&m);
	m.ops[0].opcode = 5;
	expect_fail(&m, FL_ECORRUPT, "operator 0: opcode_index 5 out of range (1 operator codes)");

	conv_model(&m);
	m.ops[0].in[1] = 9;
	expect_fail(&m, FL_ECORRUPT, "operator 0 (CONV_2D): input tensor index 9 out of range (4 tensors)");

	conv_model(&m);
	m.ops[0].out[0] = -3;
	expect_fail(&m, FL_ECORRUPT, "output tensor index -3 out of range");

	conv_model(&m);
	m.bufs[2].n = 8; /* bias [3] with 8 bytes */
	expect_fail(&m, FL_ECORRUPT, "tensor 2 \"bias\": buffer has 8 bytes, its shape and FLOAT32 need 12");

	conv_model(&m);
	m.t[0].dims[1] = -4;
	expect_fail(&m, FL_ECORRUPT, "tensor 0 \"input\": negative dim -4");

	conv_model(&m);
	m.t[3].n_dims = 7;
	expect_fail(&m, FL_ECORRUPT, "7 dims (at most 6)");

	conv_model(&m);
	m.t[2].buffer = 12;
	expect_fail(&m, FL_ECORRUPT, "buffer index 12 out of range (3 buffers)");

	conv_model(&m);
	m.t[0].type = 3; /* UINT8 */
	expect_fail(&m, FL_EDTYPE, "tensor 0 \"input\" is UINT8");

	conv_model(&m);
	m.t[1].type = 9; /* INT8 filter */
	expect_fail(&m, FL_EDTYPE, "\"filter\" is INT8");

	conv_model(&m);
	m.codes[0] = 5; /* DEPTH_TO_SPACE */
	expect_fail(&m, FL_EUNSUPPORTED, "operator 0 (DEPTH_TO_SPACE): not supported");

	conv_model(&m);
	m.codes[0] = 200;
	expect_fail(&m, FL_EUNSUPPORTED, "operator 0 (builtin code 200): not supported");

	conv_model(&m);
	m.ops[0].opt[3].v = 2; /* RELU_N1_TO_1 */
	expect_fail(&m, FL_EUNSUPPORTED, "fused activation 2");

	conv_model(&m);
	m.ops[0].opt_type = 2; /* DepthwiseConv2DOptions on a CONV_2D */
	expect_fail(&m, FL_ECORRUPT, "builtin options of type 2, expected 1");

	conv_model(&m);
	m.ops[0].in[0] = 3; /* reads its own output */
	expect_fail(&m, FL_ECORRUPT, "neither a constant, a graph input nor written");

	conv_model(&m);
	m.ops[0].out[0] = 0; /* writes the graph input */
	expect_fail(&m, FL_ECORRUPT, "written twice");

	conv_model(&m);
	m.t[0].n_sig = 4;
	memcpy(m.t[0].sig, (int[]){-1, 4, 5, 2}, sizeof(int) * 4);
	expect_fail(&m, FL_ECORRUPT, "shape_signature dim 2 is 5");
}

FL_TEST(load_tflite_gen_signature)
{
	/* shape_signature's -1 (spatial dims unknown) carries into the input. */
	struct gen_model m;
	struct fl_graph g;
	char err[512];
	conv_model(&m);
	m.t[0].n_sig = 4;
	memcpy(m.t[0].sig, (int[]){-1, -1, -1, 2}, sizeof(int) * 4);
	ASSERT_MSG(load_gen(&m, &g, err, sizeof err) == 0, "%s", err);
	const struct fl_value *in = &g.values[g.inputs[0]];
	ASSERT_EQ(in->dims[0], -1);
	ASSERT_EQ(in->dims[1], -1);
	ASSERT_EQ(in->dims[3], 2);
	fl__graph_fini(&g);
}

/* Half-precision bits of small integers (exact). */
static uint16_t half_of(int v)
{
	/* v in 1..7: exponent 15 + floor(log2 v), mantissa the rest. */
	int e = 0;
	while ((v >> (e + 1)) > 0)
		e++;
	return (uint16_t)(((15 + e) << 10) | (((v << 10) >> e) & 0x3ff));
}

FL_TEST(load_tflite_gen_dequantize_f16)
{
	/* filter stored as float16, DEQUANTIZE -> conv filter. */
	struct gen_model m;
	struct fl_graph g;
	char err[512];
	uint16_t h[6];
	for (int i = 0; i < 6; i++)
		h[i] = half_of(i + 1);
	conv_model(&m);
	m.codes[1] = 6; /* DEQUANTIZE */
	m.n_codes = 2;
	m.t[4] = (struct gen_tensor){"filter_f16", 1, 4, {3, 1, 1, 2}, 1};
	m.t[1].buffer = 0; /* "filter" is now the DEQUANTIZE output */
	m.n_tensors = 5;
	m.ops[1] = m.ops[0];
	m.ops[0] = (struct gen_op){1, 1, {4}, 1, {1}, 0, 0, {{0}}};
	m.n_ops = 2;
	m.bufs[1] = (struct gen_buffer){h, sizeof h, 0};
	int r = load_gen(&m, &g, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	ASSERT_EQ(g.n_nodes, 1);
	const struct fl_value *f = &g.values[g.nodes[0].in[1]];
	ASSERT_MSG(!strcmp(f->name, "filter"), "%s", f->name);
	const float want[6] = {1, 3, 5, 2, 4, 6};
	for (int i = 0; i < 6; i++)
		ASSERT_NEAR(((const float *)f->data)[i], want[i], 0);
	fl__graph_fini(&g);

	/* A float16 tensor used directly is a dtype error. */
	m.ops[1].in[1] = 4;
	expect_fail(&m, FL_EDTYPE, "\"filter_f16\" is FLOAT16");
}

FL_TEST(load_tflite_gen_fc_and_acts)
{
	/* x [2,1,1,4] -> FULLY_CONNECTED (W [3,4]) -> y [2,3]
	** -> MUL(y, y) fused RELU6 -> z; ADD(z, z) fused RELU -> out */
	static const float wfc[12] = {0};
	struct gen_model m;
	struct fl_graph g;
	char err[512];
	memset(&m, 0, sizeof m);
	m.n_codes = 3;
	m.codes[0] = 9;  /* FULLY_CONNECTED */
	m.codes[1] = 18; /* MUL */
	m.codes[2] = 0;  /* ADD */
	m.n_tensors = 5;
	m.t[0] = (struct gen_tensor){"x", 0, 4, {2, 1, 1, 4}, 0};
	m.t[1] = (struct gen_tensor){"w", 0, 2, {3, 4}, 1};
	m.t[2] = (struct gen_tensor){"y", 0, 2, {2, 3}, 0};
	m.t[3] = (struct gen_tensor){"z", 0, 2, {2, 3}, 0};
	m.t[4] = (struct gen_tensor){"out", 0, 2, {2, 3}, 0};
	m.n_ops = 3;
	m.ops[0] = (struct gen_op){0, 3, {0, 1, -1}, 1, {2}, 8, 0, {{0}}};
	m.ops[1] = (struct gen_op){1, 2, {2, 2}, 1, {3}, 21, 1, {{0, 1, 3}}};
	m.ops[2] = (struct gen_op){2, 2, {3, 3}, 1, {4}, 11, 1, {{0, 1, 1}}};
	m.n_in = 1;
	m.n_out = 1;
	m.out[0] = 4;
	m.n_bufs = 2;
	m.bufs[1] = (struct gen_buffer){wfc, sizeof wfc, 0};
	int r = load_gen(&m, &g, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	/* RESHAPE, MATMUL, MUL, RELU6, ADD(act RELU) */
	ASSERT_EQ(g.n_nodes, 5);
	ASSERT_EQ(g.nodes[0].op, FL_OP_RESHAPE);
	const int32_t *s = g.values[g.nodes[0].in[1]].data;
	ASSERT_EQ(s[0], -1);
	ASSERT_EQ(s[1], 4);
	ASSERT_EQ(g.nodes[1].op, FL_OP_MATMUL);
	ASSERT_EQ(g.nodes[1].attr.transpose_b, 1);
	ASSERT_EQ(g.nodes[1].in[2], -1);
	ASSERT_EQ(g.nodes[2].op, FL_OP_MUL);
	ASSERT_EQ(g.nodes[3].op, FL_OP_RELU6);
	ASSERT_EQ(g.nodes[3].out[0], fl__graph_find_value(&g, "z"));
	ASSERT_EQ(g.nodes[4].op, FL_OP_ADD);
	ASSERT_EQ(g.nodes[4].attr.act, FL_ACT_RELU);
	ASSERT_EQ(g.values[g.outputs[0]].dims[0], -1);
	ASSERT_OK(fl__graph_link(&g, err, sizeof err));
	fl__graph_fini(&g);
}

/* Write the generated models as the fuzz seed corpus. */
FL_TEST(load_tflite_gen_corpus)
{
	const char *dir = getenv("FL_WRITE_CORPUS");
	if (!dir)
		FL_SKIP("set FL_WRITE_CORPUS=DIR to write the seed corpus");
	struct gen_model m[3];
	uint16_t h[6];
	for (int i = 0; i < 6; i++)
		h[i] = half_of(i + 1);
	conv_model(&m[0]);
	conv_model(&m[1]);
	m[1].bufs[1].external = 1;
	conv_model(&m[2]);
	m[2].codes[1] = 6;
	m[2].n_codes = 2;
	m[2].t[4] = (struct gen_tensor){"filter_f16", 1, 4, {3, 1, 1, 2}, 1};
	m[2].t[1].buffer = 0;
	m[2].n_tensors = 5;
	m[2].ops[1] = m[2].ops[0];
	m[2].ops[0] = (struct gen_op){1, 1, {4}, 1, {1}, 0, 0, {{0}}};
	m[2].n_ops = 2;
	m[2].bufs[1] = (struct gen_buffer){h, sizeof h, 0};
	for (int i = 0; i < 3; i++) {
		char path[1024];
		size_t n = gen_tflite(&W, &m[i]);
		snprintf(path, sizeof path, "%s/gen_%d.tflite", dir, i);
		FILE *f = fopen(path, "wb");
		ASSERT_MSG(f, "cannot write %s", path);
		ASSERT_EQ(fwrite(W.b, 1, n, f), n);
		fclose(f);
	}
}
