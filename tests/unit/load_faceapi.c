/*
** load_faceapi.c -- tests of the face-api FaceExpressionNet loader
** (src/nn/load/faceapi.c) and of weights-manifest decoding (weights.c):
** the built graph's inputs, outputs and op counts, dequantised weights
** against the raw .bin bytes, a run through a session (probabilities sum
** to one and are the softmax of the logits), errors, and the loader run
** failing each allocation in turn.
*/
#include "fl_test.h"

#include <unistd.h>

#include "faceline/fl.h"
#include "nn/load/load_int.h"

static const char *manifest_path(void)
{
	const char *p = fl_test_path("models/faceapi/face_expression_model-weights_manifest.json");
	if (access(p, R_OK))
		FL_SKIP("models/faceapi missing (make models)");
	return p;
}

FL_TEST(load_faceapi_expression_graph)
{
	const char *path = manifest_path();
	char err[512];
	struct fl_graph g;
	long live0 = fl_alloc_live();
	ASSERT_OK(fl__graph_init(&g, path));
	int rc = fl__load_faceapi(&g, path, err, sizeof(err));
	ASSERT_MSG(rc == 0, "%d %s", rc, err);
	ASSERT_EQ(g.n_inputs, 1);
	const struct fl_value *in = &g.values[g.inputs[0]];
	ASSERT(!strcmp(in->name, "input"));
	ASSERT_EQ(in->n_dims, 4);
	ASSERT_EQ(in->dims[0], -1);
	ASSERT_EQ(in->dims[1], 112);
	ASSERT_EQ(in->dims[2], 112);
	ASSERT_EQ(in->dims[3], 3);
	ASSERT_EQ(g.n_outputs, 2);
	ASSERT(!strcmp(g.values[g.outputs[0]].name, "expressions"));
	ASSERT(!strcmp(g.values[g.outputs[1]].name, "logits"));

	/* 1 + 3 + 3*4 convs, 3 + 3*4 depthwise, 6 adds per block, 6 others */
	int count[FL_OP__COUNT] = {0};
	for (int i = 0; i < g.n_nodes; i++)
		count[g.nodes[i].op]++;
	ASSERT_EQ(g.n_nodes, 61);
	ASSERT_EQ(count[FL_OP_CONV2D], 16);
	ASSERT_EQ(count[FL_OP_DWCONV2D], 15);
	ASSERT_EQ(count[FL_OP_ADD], 24);
	ASSERT_EQ(count[FL_OP_AVGPOOL], 1);
	ASSERT_EQ(count[FL_OP_MATMUL], 1);
	ASSERT_EQ(count[FL_OP_SOFTMAX], 1);

	/* dense0/conv0: a 3x3 stride-2 SAME conv with bias and relu */
	const struct fl_node *c0 = &g.nodes[2];
	ASSERT_EQ(c0->op, FL_OP_CONV2D);
	ASSERT_EQ(c0->attr.stride[0], 2);
	ASSERT_EQ(c0->attr.padding, FL_PADDING_SAME);
	ASSERT_EQ(c0->attr.act, FL_ACT_RELU);
	ASSERT_EQ(c0->n_in, 3);

	/* uint8 dequantisation against the raw bytes: first weight is
	** dense0/conv0/filters (scale and min from the manifest) */
	size_t bsize;
	uint8_t *bin = fl_test_read_file(fl_test_path("models/faceapi/face_expression_model.bin"), &bsize);
	ASSERT(bin && bsize == 329468);
	const struct fl_value *f = &g.values[c0->in[1]];
	ASSERT(!strcmp(f->name, "dense0/conv0/filters"));
	for (int i = 0; i < 3 * 3 * 3 * 32; i++)
		ASSERT_NEAR(((float *)f->data)[i], (float)(bin[i] * 0.0057930146946626555 + -0.7125408074435067), 0);
	/* the next weight, dense0/conv0/bias, is raw float32 */
	const struct fl_value *b = &g.values[c0->in[2]];
	float b0;
	memcpy(&b0, bin + 864, 4);
	ASSERT_NEAR(((float *)b->data)[0], b0, 0);
	free(bin);

	ASSERT_OK(fl__graph_link(&g, err, sizeof(err)));
	fl__graph_fini(&g);
	ASSERT_EQ(fl_alloc_live(), live0);
}

FL_TEST(load_faceapi_expression_runs)
{
	const char *path = manifest_path();
	char err[512];
	struct fl_model *m;
	int rc = fl_model_load(path, &m, err, sizeof(err));
	ASSERT_MSG(rc == 0, "%d %s", rc, err);
	ASSERT_EQ(fl_model_n_inputs(m), 1);
	ASSERT_EQ(fl_model_n_outputs(m), 2);
	const char *name;
	struct fl_tensor info;
	ASSERT_OK(fl_model_output(m, 0, &name, &info));
	ASSERT(!strcmp(name, "expressions"));

	/* a batch of two deterministic "images" */
	static float x[2 * 112 * 112 * 3];
	struct fl_test_rng rng = {12345};
	for (int i = 0; i < 2 * 112 * 112 * 3; i++)
		x[i] = fl_test_uniform(&rng, 0, 255);
	struct fl_tensor in = {FL_DTYPE_F32, 4, {2, 112, 112, 3}, x};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = 1;
	sp.input_shapes = &in;
	sp.n_input_shapes = 1;
	struct fl_session *s;
	rc = fl_session_create(m, &sp, &s, err, sizeof(err));
	ASSERT_MSG(rc == 0, "%d %s", rc, err);
	ASSERT_OK(fl_session_run(s, &in, 1));
	struct fl_tensor p, l;
	ASSERT_OK(fl_session_output(s, 0, &p));
	ASSERT_OK(fl_session_output(s, 1, &l));
	ASSERT_EQ(p.n_dims, 2);
	ASSERT_EQ(p.dims[0], 2);
	ASSERT_EQ(p.dims[1], 7);
	for (int r = 0; r < 2; r++) {
		const float *pp = (float *)p.data + 7 * r, *ll = (float *)l.data + 7 * r;
		double sum = 0, mx = ll[0], z = 0;
		for (int k = 0; k < 7; k++)
			mx = ll[k] > mx ? ll[k] : mx;
		for (int k = 0; k < 7; k++)
			z += exp(ll[k] - mx);
		for (int k = 0; k < 7; k++) {
			sum += pp[k];
			ASSERT_NEAR(pp[k], exp(ll[k] - mx) / z, 1e-5);
		}
		ASSERT_NEAR(sum, 1.0, 1e-5);
	}
	fl_session_destroy(s);
	fl_model_destroy(m);
}

FL_TEST(load_faceapi_errors)
{
	char err[512];
	struct fl_graph g;
	/* another face-api manifest: not FaceExpressionNet */
	const char *p = fl_test_path("models/faceapi/tiny_face_detector_model-weights_manifest.json");
	if (access(p, R_OK))
		FL_SKIP("models/faceapi missing (make models)");
	ASSERT_OK(fl__graph_init(&g, p));
	ASSERT_EQ(fl__load_faceapi(&g, p, err, sizeof(err)), FL_EUNSUPPORTED);
	ASSERT_STR_CONTAINS(err, "tiny_face_detector_model-weights_manifest.json: weight \"dense0/conv0/filters\"");
	fl__graph_fini(&g);

	/* truncated weights, from memory */
	size_t jsize, bsize;
	char *json = fl_test_read_file(manifest_path(), &jsize);
	uint8_t *bin = fl_test_read_file(fl_test_path("models/faceapi/face_expression_model.bin"), &bsize);
	ASSERT(json && bin);
	ASSERT_OK(fl__graph_init(&g, "m"));
	ASSERT_OK(fl__load_faceapi_buf(&g, json, jsize, bin, bsize, "expr.json", err, sizeof(err)));
	fl__graph_fini(&g);
	ASSERT_OK(fl__graph_init(&g, "m"));
	ASSERT_EQ(fl__load_faceapi_buf(&g, json, jsize, bin, bsize - 1, "expr.json", err, sizeof(err)), FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "expr.json: weight \"fc/bias\"");
	fl__graph_fini(&g);
	/* an object, not a manifest array */
	ASSERT_OK(fl__graph_init(&g, "m"));
	ASSERT_EQ(fl__load_faceapi_buf(&g, "{}", 2, bin, bsize, "expr.json", err, sizeof(err)), FL_ECORRUPT);
	ASSERT_STR_CONTAINS(err, "expr.json: not a weights manifest");
	fl__graph_fini(&g);
	free(json);
	free(bin);
}

FL_TEST_T(load_faceapi_alloc_failures, 300)
{
	const char *path = manifest_path();
	char err[512];
	int i, rc = -1;
	for (i = 1; i < 100000 && rc != 0; i++) {
		struct fl_graph g;
		long live0 = fl_alloc_live();
		ASSERT_OK(fl__graph_init(&g, path));
		fl_alloc_fail_after(i, 1);
		rc = fl__load_faceapi(&g, path, err, sizeof(err));
		fl_alloc_fail_after(0, 0);
		ASSERT_MSG(rc == 0 || rc == FL_ENOMEM, "allocation %d: code %d (%s)", i, rc, err);
		fl__graph_fini(&g);
		ASSERT_MSG(fl_alloc_live() == live0, "allocation %d: %ld blocks leaked", i, fl_alloc_live() - live0);
	}
	ASSERT_EQ(rc, 0);
}

/* ------------------------------------------------ weights manifest decode */

FL_TEST(load_weights_decode)
{
	/* every storage kind in one manifest, two groups */
	static const char manifest[] =
	    "[{\"paths\":[\"a.bin\"],\"weights\":["
	    "{\"name\":\"u8\",\"shape\":[3],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.1,\"min\":-1}},"
	    "{\"name\":\"u16\",\"shape\":[2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint16\",\"scale\":0.001,\"min\":2}},"
	    "{\"name\":\"f16\",\"shape\":[2,2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\"}}]},"
	    "{\"paths\":[\"b.bin\"],\"weights\":["
	    "{\"name\":\"i32q\",\"shape\":[3],\"dtype\":\"int32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}},"
	    "{\"name\":\"i32\",\"shape\":[1],\"dtype\":\"int32\"},"
	    "{\"name\":\"f32\",\"shape\":[],\"dtype\":\"float32\"},"
	    "{\"name\":\"bool\",\"shape\":[2],\"dtype\":\"bool\"}]}]";
	uint8_t buf[64], *p = buf;
	/* u8: 0, 10, 255 */
	*p++ = 0, *p++ = 10, *p++ = 255;
	/* u16: 0, 1000 (LE) */
	*p++ = 0, *p++ = 0, *p++ = 0xe8, *p++ = 0x03;
	/* f16: 1.0, -2.5, 65504 (max), 2^-24 (smallest subnormal) */
	*p++ = 0x00, *p++ = 0x3c, *p++ = 0x00, *p++ = 0xc1, *p++ = 0xff, *p++ = 0x7b, *p++ = 0x01, *p++ = 0x00;
	/* i32q: 0 -> -1, 3 -> 0.5 -> rounds to 1, 5 -> 1.5 -> 2 */
	*p++ = 0, *p++ = 3, *p++ = 5;
	/* i32: -7 */
	*p++ = 0xf9, *p++ = 0xff, *p++ = 0xff, *p++ = 0xff;
	/* f32: 3.25 */
	float f = 3.25f;
	memcpy(p, &f, 4);
	p += 4;
	/* bool */
	*p++ = 1, *p++ = 0;
	size_t n = (size_t)(p - buf);

	char err[256];
	json_t *j;
	ASSERT_OK(fl__json_parse(manifest, strlen(manifest), "test", &j, err, sizeof(err)));
	struct fl__weights w;
	ASSERT_MSG(fl__weights_load(&w, j, NULL, buf, n, "test", err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(w.n_specs, 7);
	void *d;
#define DECODE(name)                                                                                 \
	do {                                                                                             \
		const struct fl__wspec *s_ = fl__weights_find(&w, name);                                     \
		ASSERT_MSG(s_, "no weight %s", name);                                                        \
		ASSERT_OK(fl__weights_decode(&w, s_, &d, "test", err, sizeof(err)));                         \
	} while (0)
	DECODE("u8");
	ASSERT_NEAR(((float *)d)[0], -1.0f, 0);
	ASSERT_NEAR(((float *)d)[1], (float)(10 * 0.1 - 1), 0);
	ASSERT_NEAR(((float *)d)[2], (float)(255 * 0.1 - 1), 0);
	fl_free(d);
	DECODE("u16");
	ASSERT_NEAR(((float *)d)[0], 2.0f, 0);
	ASSERT_NEAR(((float *)d)[1], (float)(1000 * 0.001 + 2), 0);
	fl_free(d);
	DECODE("f16");
	ASSERT_NEAR(((float *)d)[0], 1.0f, 0);
	ASSERT_NEAR(((float *)d)[1], -2.5f, 0);
	ASSERT_NEAR(((float *)d)[2], 65504.0f, 0);
	ASSERT_NEAR(((float *)d)[3], ldexp(1.0, -24), 0);
	fl_free(d);
	DECODE("i32q");
	ASSERT_EQ(((int32_t *)d)[0], -1);
	ASSERT_EQ(((int32_t *)d)[1], 1);
	ASSERT_EQ(((int32_t *)d)[2], 2);
	fl_free(d);
	DECODE("i32");
	ASSERT_EQ(((int32_t *)d)[0], -7);
	fl_free(d);
	DECODE("f32");
	ASSERT_NEAR(((float *)d)[0], 3.25f, 0);
	ASSERT_EQ(fl__weights_find(&w, "f32")->n_dims, 0);
	fl_free(d);
	DECODE("bool");
	ASSERT_EQ(((uint8_t *)d)[0], 1);
	ASSERT_EQ(((uint8_t *)d)[1], 0);
	fl_free(d);
	ASSERT(fl__weights_find(&w, "nope") == NULL);
	fl__weights_fini(&w);

	/* one byte short: the last weight does not fit */
	ASSERT_EQ(fl__weights_load(&w, j, NULL, buf, n - 1, "test", err, sizeof(err)), FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "test: weight \"bool\"");
	fl__weights_fini(&w);
	json_decref(j);
#undef DECODE
}
