/*
** load_tflite.c -- tests of the TFLite loader (src/nn/load/tflite.c) on the
** real model files under models/expo: MobileFaceNet's graph (names, shapes,
** op counts, layout conversion, the batch rule), the MTCNN and
** anti-spoofing files (load, or a clean FL_EUNSUPPORTED naming the op),
** truncated and byte-flipped copies (a clean error or a valid graph, never
** a crash), and allocation failures (a clean error, no leak).
*/
#include "fl_test.h"

#include "nn/nn_int.h"

#define MFN "models/expo/MobileFaceNet.tflite"

/* Load a file's bytes, skipping the test when the models are not there. */
static uint8_t *read_model(const char *rel, size_t *size)
{
	uint8_t *b = fl_test_read_file(fl_test_path(rel), size);
	if (!b)
		FL_SKIP("model files missing (make models)");
	return b;
}

static int count_op(const struct fl_graph *g, enum fl_op op)
{
	int n = 0;
	for (int i = 0; i < g->n_nodes; i++)
		n += g->nodes[i].op == op;
	return n;
}

FL_TEST(load_tflite_mobilefacenet)
{
	struct fl_graph g;
	char err[512] = "";
	long live0 = fl_alloc_live();
	size_t size;
	uint8_t *file = read_model(MFN, &size);
	free(file);

	ASSERT_OK(fl__graph_init(&g, fl_test_path(MFN)));
	int r = fl__load_tflite(&g, fl_test_path(MFN), err, sizeof err);
	ASSERT_MSG(r == 0, "load: %d %s", r, err);

	/* Input [-1,112,112,3] "input", output [-1,192] "embeddings". */
	ASSERT_EQ(g.n_inputs, 1);
	ASSERT_EQ(g.n_outputs, 1);
	const struct fl_value *in = &g.values[g.inputs[0]], *out = &g.values[g.outputs[0]];
	ASSERT_MSG(!strcmp(in->name, "input"), "input name %s", in->name);
	ASSERT_MSG(!strcmp(out->name, "embeddings"), "output name %s", out->name);
	ASSERT_EQ(in->dtype, FL_DTYPE_F32);
	ASSERT_EQ(in->n_dims, 4);
	ASSERT_EQ(in->dims[0], -1);
	ASSERT_EQ(in->dims[1], 112);
	ASSERT_EQ(in->dims[2], 112);
	ASSERT_EQ(in->dims[3], 3);
	ASSERT_EQ(out->n_dims, 2);
	ASSERT_EQ(out->dims[0], -1);
	ASSERT_EQ(out->dims[1], 192);

	/* The file's 230 operators map one to one. */
	ASSERT_EQ(g.n_nodes, 230);
	ASSERT_EQ(count_op(&g, FL_OP_CONV2D), 35);
	ASSERT_EQ(count_op(&g, FL_OP_DWCONV2D), 17);
	ASSERT_EQ(count_op(&g, FL_OP_ADD), 45);
	ASSERT_EQ(count_op(&g, FL_OP_SUB), 33);
	ASSERT_EQ(count_op(&g, FL_OP_MUL), 33);
	ASSERT_EQ(count_op(&g, FL_OP_ABS), 33);
	ASSERT_EQ(count_op(&g, FL_OP_RELU), 33);
	ASSERT_EQ(count_op(&g, FL_OP_RESHAPE), 1);

	/* First node: the 3x3 stride-2 SAME conv, filter now HWIO [3,3,3,64]. */
	const struct fl_node *n0 = &g.nodes[0];
	ASSERT_EQ(n0->op, FL_OP_CONV2D);
	ASSERT_EQ(n0->n_in, 3);
	ASSERT_EQ(n0->in[0], g.inputs[0]);
	ASSERT_EQ(n0->attr.padding, FL_PADDING_SAME);
	ASSERT_EQ(n0->attr.stride[0], 2);
	ASSERT_EQ(n0->attr.stride[1], 2);
	const struct fl_value *f = &g.values[n0->in[1]];
	ASSERT(f->data != NULL);
	ASSERT_EQ(f->n_dims, 4);
	ASSERT_EQ(f->dims[0], 3);
	ASSERT_EQ(f->dims[1], 3);
	ASSERT_EQ(f->dims[2], 3);
	ASSERT_EQ(f->dims[3], 64);
	ASSERT(g.values[n0->in[2]].data != NULL);
	ASSERT_EQ(g.values[n0->in[2]].dims[0], 64);

	/* Depthwise filters become [KH,KW,C,1]. */
	int found_dw = 0;
	for (int i = 0; i < g.n_nodes && !found_dw; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op != FL_OP_DWCONV2D)
			continue;
		const struct fl_value *w = &g.values[n->in[1]];
		ASSERT_EQ(w->n_dims, 4);
		ASSERT_EQ(w->dims[0], 3);
		ASSERT_EQ(w->dims[1], 3);
		ASSERT_EQ(w->dims[2], 64);
		ASSERT_EQ(w->dims[3], 1);
		found_dw = 1;
	}
	ASSERT(found_dw);

	/* The reshape's target [2,192] became [-1,192] (the batch rule). */
	for (int i = 0; i < g.n_nodes; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op != FL_OP_RESHAPE)
			continue;
		const struct fl_value *s = &g.values[n->in[1]];
		ASSERT(s->data != NULL);
		ASSERT_EQ(s->dtype, FL_DTYPE_I32);
		ASSERT_EQ(s->dims[0], 2);
		ASSERT_EQ(((int32_t *)s->data)[0], -1);
		ASSERT_EQ(((int32_t *)s->data)[1], 192);
		ASSERT_EQ(n->out[0], g.outputs[0]);
	}

	/* Every input of every node is produced or constant: link succeeds. */
	r = fl__graph_link(&g, err, sizeof err);
	ASSERT_MSG(r == 0, "link: %s", err);
	fl__graph_fini(&g);
	ASSERT_EQ(fl_alloc_live(), live0);
}

/* The conversion of one conv filter element: OHWI in the file vs HWIO. */
FL_TEST(load_tflite_filter_layout)
{
	struct fl_graph g;
	char err[512] = "";
	size_t size;
	uint8_t *file = read_model(MFN, &size);
	ASSERT_OK(fl__graph_init(&g, MFN));
	int r = fl__load_tflite_mem(&g, file, size, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	/* Find the first conv's filter bytes in the file: the values
	** [co=0][kh][kw][ci] form its first 27 floats.  HWIO puts element
	** (kh,kw,ci,co) at ((kh*3+kw)*3+ci)*64+co. */
	const struct fl_value *f = &g.values[g.nodes[0].in[1]];
	const float *w = f->data;
	float first[27];
	for (int i = 0; i < 27; i++)
		first[i] = w[i * 64];
	/* The same 27 floats must appear contiguously in the file. */
	int hit = 0;
	for (size_t off = 0; off + sizeof first <= size && !hit; off += 4)
		hit = !memcmp(file + off, first, sizeof first);
	ASSERT_MSG(hit, "filter [co=0] not found contiguous in the file");
	fl__graph_fini(&g);
	free(file);
}

/* The other TFLite files: each loads or fails with FL_EUNSUPPORTED/EDTYPE
** naming an operator or tensor; never a crash, never a leak. */
FL_TEST(load_tflite_other_models)
{
	static const char *const files[] = {"models/expo/pnet.tflite", "models/expo/rnet.tflite",
	                                    "models/expo/onet.tflite", "models/expo/FaceAntiSpoofing.tflite"};
	long live0 = fl_alloc_live();
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct fl_graph g;
		char err[512] = "";
		size_t size;
		free(read_model(files[i], &size));
		ASSERT_OK(fl__graph_init(&g, fl_test_path(files[i])));
		int r = fl__load_tflite(&g, fl_test_path(files[i]), err, sizeof err);
		fprintf(stderr, "  %s: %d %s (%d nodes)\n", files[i], r, err, g.n_nodes);
		if (r == 0) {
			ASSERT(g.n_inputs == 1 && g.n_outputs >= 2);
			ASSERT_EQ(g.values[g.inputs[0]].dims[0], -1);
			r = fl__graph_link(&g, err, sizeof err);
			ASSERT_MSG(r == 0, "%s: link: %s", files[i], err);
		} else {
			ASSERT_MSG(r == FL_EUNSUPPORTED || r == FL_EDTYPE, "%s: %d %s", files[i], r, err);
			ASSERT_STR_CONTAINS(err, ".tflite: ");
		}
		fl__graph_fini(&g);
	}
	ASSERT_EQ(fl_alloc_live(), live0);
}

/* MTCNN: PReLU spelled with RELU/NEG/MUL/ADD, FULLY_CONNECTED on a 4-D
** input (flattened first), softmax spelled REDUCE_MAX/SUB/EXP/SUM/DIV. */
FL_TEST(load_tflite_onet)
{
	struct fl_graph g;
	char err[512] = "";
	size_t size;
	free(read_model("models/expo/onet.tflite", &size));
	ASSERT_OK(fl__graph_init(&g, "onet.tflite"));
	int r = fl__load_tflite(&g, fl_test_path("models/expo/onet.tflite"), err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	ASSERT_EQ(g.n_outputs, 3);
	ASSERT_EQ(count_op(&g, FL_OP_MATMUL), 4);
	ASSERT_EQ(count_op(&g, FL_OP_MAXPOOL), 3);
	ASSERT_EQ(count_op(&g, FL_OP_MAX), 1);
	ASSERT_EQ(count_op(&g, FL_OP_SUM), 1);
	ASSERT_EQ(count_op(&g, FL_OP_DIV), 1);
	/* One flatten reshape before the first fully connected layer. */
	ASSERT_EQ(count_op(&g, FL_OP_RESHAPE), 1);
	for (int i = 0; i < g.n_nodes; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op == FL_OP_MATMUL) {
			ASSERT_EQ(n->attr.transpose_b, 1);
			ASSERT_EQ(g.values[n->in[0]].n_dims, 2);
		}
		if (n->op == FL_OP_RESHAPE) {
			const int32_t *s = g.values[n->in[1]].data;
			ASSERT_EQ(s[0], -1);
			ASSERT_EQ(s[1], 1152);
		}
	}
	const struct fl_value *o0 = &g.values[g.outputs[0]];
	ASSERT_MSG(!strcmp(o0->name, "onet/prob1"), "%s", o0->name);
	ASSERT_EQ(o0->dims[0], -1);
	ASSERT_EQ(o0->dims[1], 2);
	ASSERT_OK(fl__graph_link(&g, err, sizeof err));
	fl__graph_fini(&g);
}

/* Load buf[0..size) and check the outcome is clean: 0 with a linkable
** graph, or an error with a message naming the file. */
static int load_clean(const uint8_t *buf, size_t size, const char *what)
{
	struct fl_graph g;
	char err[512] = "";
	long live0 = fl_alloc_live();
	ASSERT_OK(fl__graph_init(&g, "MobileFaceNet.tflite"));
	int r = fl__load_tflite_mem(&g, buf, size, err, sizeof err);
	if (r == 0) {
		ASSERT(g.n_inputs >= 1 && g.n_outputs >= 1);
	} else {
		ASSERT_MSG(r == FL_ECORRUPT || r == FL_ETRUNCATED || r == FL_EUNSUPPORTED || r == FL_EDTYPE,
		           "%s: unexpected code %d (%s)", what, r, err);
		ASSERT_MSG(!strncmp(err, "MobileFaceNet.tflite: ", 22), "%s: message \"%s\"", what, err);
	}
	fl__graph_fini(&g);
	ASSERT_MSG(fl_alloc_live() == live0, "%s: %ld allocations leaked", what, fl_alloc_live() - live0);
	return r;
}

FL_TEST(load_tflite_truncated)
{
	size_t size;
	uint8_t *file = read_model(MFN, &size);
	size_t cuts[] = {0, 1, 4, 7, 8, 12, 16, 100, 1000, 4096, 65536, size / 4, size / 2, size - 4096, size - 100,
	                 size - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[64];
		/* A fresh copy of exactly the cut length, so reads past it trap
		** under ASan. */
		uint8_t *b = malloc(cuts[i] ? cuts[i] : 1);
		memcpy(b, file, cuts[i]);
		snprintf(what, sizeof what, "cut at %zu", cuts[i]);
		int r = load_clean(b, cuts[i], what);
		/* The file's last 8 bytes are an unreferenced table left by its
		** writer, so only cuts before them must fail. */
		if (cuts[i] + 8 < size)
			ASSERT_MSG(r < 0, "%s loaded", what);
		free(b);
	}
	free(file);
}

FL_TEST_T(load_tflite_byteflips, 300)
{
	size_t size;
	uint8_t *file = read_model(MFN, &size);
	struct fl_test_rng rng = {0x7f1e5eedULL};
	/* The FlatBuffer's tables sit before the weights: flip there mostly
	** (the first 64 KiB hold every table, vector header and name), and
	** anywhere sometimes. */
	int errors = 0;
	for (int it = 0; it < 400; it++) {
		size_t limit = (it % 4 == 3) ? size : (size < 65536 ? size : 65536);
		size_t pos = (size_t)fl_test_uniform(&rng, 0, (float)limit);
		if (pos >= size)
			pos = size - 1;
		uint8_t old = file[pos];
		file[pos] ^= (uint8_t)(1u << ((unsigned)fl_test_uniform(&rng, 0, 8) & 7));
		if (it % 5 == 0)
			file[pos] = (uint8_t)fl_test_uniform(&rng, 0, 256);
		char what[64];
		snprintf(what, sizeof what, "flip %d at %zu", it, pos);
		errors += load_clean(file, size, what) < 0;
		file[pos] = old;
	}
	fprintf(stderr, "  400 flips: %d rejected\n", errors);
	free(file);
}

FL_TEST_T(load_tflite_alloc_failures, 300)
{
	size_t size;
	uint8_t *file = read_model(MFN, &size);
	long live0 = fl_alloc_live();
	int tried = 0;
	for (int i = 1; i < 100000; i += (i < 50 ? 1 : 37)) {
		struct fl_graph g;
		char err[512] = "";
		ASSERT_OK(fl__graph_init(&g, "MobileFaceNet.tflite"));
		fl_alloc_fail_after(i, 1);
		int r = fl__load_tflite_mem(&g, file, size, err, sizeof err);
		int failed = fl_alloc_fail_after(0, 0);
		fl__graph_fini(&g);
		ASSERT_MSG(fl_alloc_live() == live0, "fail at %d: leak of %ld", i, fl_alloc_live() - live0);
		tried++;
		if (r == 0) {
			ASSERT_EQ(failed, 0);
			break;
		}
		ASSERT_MSG(r == FL_ENOMEM, "fail at %d: %d %s", i, r, err);
		ASSERT_STR_CONTAINS(err, "MobileFaceNet.tflite: ");
	}
	fprintf(stderr, "  %d allocation-failure points\n", tried);
	free(file);
}

/* The public entry point, with the lead's passes after the loader. */
FL_TEST(load_tflite_model_api)
{
	struct fl_model *m = NULL;
	char err[512] = "";
	size_t size;
	free(read_model(MFN, &size));
	int r = fl_model_load(fl_test_path(MFN), &m, err, sizeof err);
	ASSERT_MSG(r == 0, "%d %s", r, err);
	const char *name;
	struct fl_tensor t;
	ASSERT_OK(fl_model_output(m, 0, &name, &t));
	ASSERT_MSG(!strcmp(name, "embeddings"), "%s", name);
	ASSERT_EQ(t.dims[1], 192);
	fl_model_destroy(m);
}

/* The batch rule end to end: MobileFaceNet's file fixes batch 2, but a
** session at batch 1 and 3 must give each face's LiteRT.js embedding
** (reference vectors from build/ref, made by `make refs`). */
FL_TEST(load_tflite_any_batch)
{
	size_t in_size, out_size;
	float *ref_in = fl_test_read_file(fl_test_path("build/ref/mobilefacenet/face/in_0.f32"), &in_size);
	float *ref_out = fl_test_read_file(fl_test_path("build/ref/mobilefacenet/face/out_0.f32"), &out_size);
	if (!ref_in || !ref_out)
		FL_SKIP("no reference vectors (make refs)");
	ASSERT_EQ(in_size, 2 * 112 * 112 * 3 * sizeof(float));
	ASSERT_EQ(out_size, 2 * 192 * sizeof(float));
	struct fl_model *m = NULL;
	char err[512] = "";
	int r = fl_model_load(fl_test_path(MFN), &m, err, sizeof err);
	ASSERT_MSG(r == 0, "%s", err);
	const size_t img = 112 * 112 * 3;
	for (int batch = 1; batch <= 3; batch += 2) {
		/* Faces 0, 1, 0 (batch 3) or face 1 alone (batch 1). */
		int face[3] = {batch == 1 ? 1 : 0, 1, 0};
		float *x = malloc(sizeof(float) * img * (size_t)batch);
		for (int b = 0; b < batch; b++)
			memcpy(x + img * (size_t)b, ref_in + img * (size_t)face[b], sizeof(float) * img);
		struct fl_tensor shape = {FL_DTYPE_F32, 4, {batch, 112, 112, 3}, NULL};
		struct fl_session_params p = fl_session_default_params();
		p.n_threads = 1;
		p.input_shapes = &shape;
		p.n_input_shapes = 1;
		struct fl_session *s = NULL;
		r = fl_session_create(m, &p, &s, err, sizeof err);
		ASSERT_MSG(r == 0, "batch %d: %s", batch, err);
		shape.data = x;
		r = fl_session_run(s, &shape, 1);
		ASSERT_MSG(r == 0, "batch %d: %s", batch, fl_session_errmsg(s));
		struct fl_tensor y;
		ASSERT_OK(fl_session_output(s, 0, &y));
		ASSERT_EQ(y.n_dims, 2);
		ASSERT_EQ(y.dims[0], batch);
		ASSERT_EQ(y.dims[1], 192);
		for (int b = 0; b < batch; b++) {
			char msg[256];
			long bad = fl_test_allclose((const float *)y.data + 192 * b, ref_out + 192 * face[b], 192, 1e-4, 1e-3,
			                            msg, sizeof msg);
			ASSERT_MSG(bad == 0, "batch %d row %d: %s", batch, b, msg);
		}
		fl_session_destroy(s);
		free(x);
	}
	fl_model_destroy(m);
	free(ref_in);
	free(ref_out);
}
