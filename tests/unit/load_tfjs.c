/*
** load_tfjs.c -- tests of the TensorFlow.js graph-model loader
** (src/nn/load/tfjs.c) and the shared weights decoding (weights.c): every
** human model we use loads with the expected inputs, outputs and node
** counts; a hand-written tiny model (written to a temporary folder) checks
** attribute and weight decoding (uint8, float16, inline constants); broken
** variants of it check that each error is the right code with a message
** naming the file and the node; and the loader is run failing each
** allocation in turn (clean error, no leak).
*/
#include "fl_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "faceline/fl.h"
#include "nn/load/load_int.h"

/* ------------------------------------------------------------ helpers */

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	ASSERT_MSG(f, "cannot write %s", path);
	ASSERT(fwrite(data, 1, size, f) == size);
	fclose(f);
}

/* Temporary folders made by the running test (each test runs in its own
** forked child, which ends with _exit), removed when it passes. */
static char tmp_dirs[64][64];
static int n_tmp_dirs;

static void remove_tmp_dirs(void)
{
	char p[128];
	for (int i = 0; i < n_tmp_dirs; i++) {
		snprintf(p, sizeof(p), "%s/model.json", tmp_dirs[i]);
		unlink(p);
		snprintf(p, sizeof(p), "%s/tiny.bin", tmp_dirs[i]);
		unlink(p);
		rmdir(tmp_dirs[i]);
	}
	n_tmp_dirs = 0;
}

/* A fresh temporary folder. */
static const char *tmp_dir(void)
{
	ASSERT(n_tmp_dirs < 64);
	char *dir = tmp_dirs[n_tmp_dirs];
	snprintf(dir, sizeof(tmp_dirs[0]), "/tmp/fl_tfjs_XXXXXX");
	ASSERT(mkdtemp(dir));
	n_tmp_dirs++;
	return dir;
}

/* Load `path` into a fresh graph; returns the code, graph kept in *g. */
static int load(struct fl_graph *g, const char *path, char *err, size_t err_size)
{
	ASSERT_OK(fl__graph_init(g, path));
	return fl__load_tfjs(g, path, err, err_size);
}

static int value_dims_eq(const struct fl_value *v, int n, const int64_t *d)
{
	if (v->n_dims != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (v->dims[i] != d[i])
			return 0;
	return 1;
}

/* -------------------------------------------------------- human models */

struct model_case {
	const char *file;
	int n_nodes; /* engine nodes before any pass */
	const char *input;
	int in_dtype;
	int64_t in_dims[4];
	int n_outputs;
	const char *outputs[4];
};

static const struct model_case human_models[] = {
	{"blazeface", 144, "input", FL_DTYPE_F32, {1, 256, 256, 3}, 4, {"Identity_3", "Identity", "Identity_1", "Identity_2"}},
	{"facemesh", 120, "input_1", FL_DTYPE_F32, {-1, 192, 192, 3}, 3, {"Identity_2", "Identity_1", "Identity"}},
	{"faceres", 154, "input_1", FL_DTYPE_F32, {-1, 224, 224, 3}, 3,
	 {"gender_pred/Sigmoid", "global_pooling/Mean", "age_pred/Softmax"}},
	{"emotion", 21, "input_1", FL_DTYPE_F32, {-1, 64, 64, 1}, 1, {"Identity"}},
	{"movenet-lightning", 150, "input", FL_DTYPE_I32, {1, 192, 192, 3}, 1, {"Identity"}},
	{"centernet", 276, "tower_0/images", FL_DTYPE_F32, {1, 512, 512, 3}, 3,
	 {"tower_0/wh", "tower_0/keypoints", "tower_0/detections"}},
	{"iris", 142, "input_1", FL_DTYPE_F32, {-1, 64, 64, 3}, 1, {"Identity"}},
	{"antispoof", 14, "conv2d_input", FL_DTYPE_F32, {-1, 128, 128, 3}, 1, {"Identity"}},
	{"liveness", 21, "conv2d_1_input", FL_DTYPE_F32, {-1, 32, 32, 3}, 1, {"Identity"}},
	{"handlandmark-lite", 146, "input_1", FL_DTYPE_F32, {1, 224, 224, 3}, 4,
	 {"Identity_1", "Identity", "Identity_2", "Identity_3"}},
};

FL_TEST(load_tfjs_human_models)
{
	char path[512], err[512];
	for (size_t k = 0; k < sizeof(human_models) / sizeof(human_models[0]); k++) {
		const struct model_case *mc = &human_models[k];
		snprintf(path, sizeof(path), "%s", fl_test_path("models/human/"));
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s.json", mc->file);
		if (access(path, R_OK))
			FL_SKIP("models/human missing (make models)");
		long live0 = fl_alloc_live();
		struct fl_graph g;
		int rc = load(&g, path, err, sizeof(err));
		ASSERT_MSG(rc == 0, "%s: %d %s", mc->file, rc, err);
		ASSERT_MSG(g.n_nodes == mc->n_nodes, "%s: %d nodes, expected %d", mc->file, g.n_nodes, mc->n_nodes);
		ASSERT_EQ(g.n_inputs, 1);
		const struct fl_value *in = &g.values[g.inputs[0]];
		ASSERT_MSG(!strcmp(in->name, mc->input), "%s: input %s", mc->file, in->name);
		ASSERT_EQ(in->dtype, mc->in_dtype);
		ASSERT_MSG(value_dims_eq(in, 4, mc->in_dims), "%s: input dims", mc->file);
		ASSERT_EQ(g.n_outputs, mc->n_outputs);
		for (int i = 0; i < mc->n_outputs; i++)
			ASSERT_MSG(!strcmp(g.values[g.outputs[i]].name, mc->outputs[i]), "%s: output %d is %s, expected %s",
			           mc->file, i, g.values[g.outputs[i]].name, mc->outputs[i]);
		/* every input resolves; no cycle */
		ASSERT_MSG(fl__graph_link(&g, err, sizeof(err)) == 0, "%s: link: %s", mc->file, err);
		fl__graph_fini(&g);
		ASSERT_EQ(fl_alloc_live(), live0);
	}
}

/* A few exact translations, checked on the real files. */
FL_TEST(load_tfjs_human_attrs)
{
	char err[512];
	struct fl_graph g;
	const char *path = fl_test_path("models/human/facemesh.json");
	if (access(path, R_OK))
		FL_SKIP("models/human missing (make models)");
	ASSERT_MSG(load(&g, path, err, sizeof(err)) == 0, "%s", err);
	/* _FusedConv2D [BiasAdd, Prelu]: 4 inputs, act PRELU; stride 2 somewhere */
	int prelu = 0, stride2 = 0, maxpool = 0, pad = 0;
	for (int i = 0; i < g.n_nodes; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op == FL_OP_CONV2D && n->attr.act == FL_ACT_PRELU) {
			ASSERT_EQ(n->n_in, 4);
			ASSERT(g.values[n->in[3]].data != NULL);
			prelu++;
		}
		if ((n->op == FL_OP_CONV2D || n->op == FL_OP_DWCONV2D) && n->attr.stride[0] == 2)
			stride2++;
		if (n->op == FL_OP_MAXPOOL) {
			ASSERT_EQ(n->attr.ksize[0], 2);
			ASSERT_EQ(n->attr.stride[1], 2);
			maxpool++;
		}
		if (n->op == FL_OP_PAD) {
			ASSERT_EQ(n->n_in, 2);
			pad++;
		}
	}
	ASSERT(prelu > 0 && stride2 > 0);
	ASSERT_EQ(maxpool, 7);
	ASSERT_EQ(pad, 3);
	fl__graph_fini(&g);

	/* movenet: Unpack outputs, ResizeBilinear half-pixel, GatherNd, ArgMax */
	path = fl_test_path("models/human/movenet-lightning.json");
	ASSERT_MSG(load(&g, path, err, sizeof(err)) == 0, "%s", err);
	int unpack = 0, resize = 0, argmax = 0;
	for (int i = 0; i < g.n_nodes; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op == FL_OP_UNPACK) {
			ASSERT(n->n_out >= 1 && n->n_out <= 2);
			unpack++;
		}
		if (n->op == FL_OP_RESIZE_BILINEAR) {
			ASSERT(n->attr.half_pixel && !n->attr.align_corners);
			resize++;
		}
		if (n->op == FL_OP_ARGMAX) {
			ASSERT_EQ(n->attr.dtype, FL_DTYPE_I32);
			ASSERT_EQ(g.values[n->out[0]].dtype, FL_DTYPE_I32);
			argmax++;
		}
	}
	ASSERT_EQ(unpack, 3);
	ASSERT_EQ(resize, 3);
	ASSERT_EQ(argmax, 2);
	fl__graph_fini(&g);

	/* centernet: TopKV2 has two outputs, the second int32 */
	path = fl_test_path("models/human/centernet.json");
	ASSERT_MSG(load(&g, path, err, sizeof(err)) == 0, "%s", err);
	int topk = 0;
	for (int i = 0; i < g.n_nodes; i++) {
		const struct fl_node *n = &g.nodes[i];
		if (n->op == FL_OP_TOPK) {
			ASSERT_EQ(n->n_out, 2);
			ASSERT(n->attr.sorted);
			ASSERT_EQ(g.values[n->out[1]].dtype, FL_DTYPE_I32);
			topk++;
		}
	}
	ASSERT_EQ(topk, 1);
	fl__graph_fini(&g);
}

FL_TEST(load_tfjs_handtrack_unsupported)
{
	char err[512];
	struct fl_graph g;
	const char *path = fl_test_path("models/human/handtrack.json");
	if (access(path, R_OK))
		FL_SKIP("models/human missing (make models)");
	ASSERT_EQ(load(&g, path, err, sizeof(err)), FL_EUNSUPPORTED);
	ASSERT_STR_CONTAINS(err, "handtrack.json: node \"");
	ASSERT_STR_CONTAINS(err, "(TensorListReserve): unsupported op");
	fl__graph_fini(&g);
}

/* ----------------------------------------------------------- tiny model */

/*
** x[-1,4] -> _FusedMatMul(w[4,2] uint8-quantised, b[2] float16) + Relu
** -> Mul by an inline scalar 0.5 -> Identity.  w = q*0.5 - 1 for q = 0..7,
** b = (1.0, -2.0).
*/
static const char tiny_json[] =
    "{\"format\":\"graph-model\",\"modelTopology\":{\"node\":["
    "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},"
    "\"shape\":{\"shape\":{\"dim\":[{\"size\":\"-1\"},{\"size\":\"4\"}]}}}},"
    "{\"name\":\"w\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},\"value\":{\"tensor\":{"
    "\"dtype\":\"DT_FLOAT\",\"tensorShape\":{\"dim\":[{\"size\":\"4\"},{\"size\":\"2\"}]}}}}},"
    "{\"name\":\"b\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},\"value\":{\"tensor\":{"
    "\"dtype\":\"DT_FLOAT\",\"tensorShape\":{\"dim\":[{\"size\":\"2\"}]}}}}},"
    "{\"name\":\"c\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},\"value\":{\"tensor\":{"
    "\"dtype\":\"DT_FLOAT\",\"tensorShape\":{},\"floatVal\":[0.5]}}}},"
    "{\"name\":\"model/dense/Relu\",\"op\":\"_FusedMatMul\",\"input\":[\"x\",\"w\",\"b\"],\"attr\":{"
    "\"fused_ops\":{\"list\":{\"s\":[\"Qmlhc0FkZA==\",\"UmVsdQ==\"]}},\"num_args\":{\"i\":\"1\"},"
    "\"transpose_a\":{\"b\":false},\"transpose_b\":{\"b\":false},\"T\":{\"type\":\"DT_FLOAT\"}}},"
    "{\"name\":\"model/mul\",\"op\":\"Mul\",\"input\":[\"model/dense/Relu\",\"c\",\"^w\"],"
    "\"attr\":{\"T\":{\"type\":\"DT_FLOAT\"}}},"
    "{\"name\":\"Identity\",\"op\":\"Identity\",\"input\":[\"model/mul:0\"]}"
    "]},\"weightsManifest\":[{\"paths\":[\"tiny.bin\"],\"weights\":["
    "{\"name\":\"w\",\"shape\":[4,2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1.0}},"
    "{\"name\":\"b\",\"shape\":[2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\"}}]}],"
    "\"signature\":{\"inputs\":{\"x:0\":{\"name\":\"x:0\"}},\"outputs\":{\"Identity:0\":{\"name\":\"Identity:0\"}}}}";

static const uint8_t tiny_bin[12] = {0, 1, 2, 3, 4, 5, 6, 7, 0x00, 0x3c, 0x00, 0xc0};

/* Write tiny_json with `from` replaced by `to` (NULL: unchanged) and
** bin_size bytes of tiny_bin (bin_size < 0: no .bin) into a fresh folder;
** returns the model.json path. */
static const char *write_tiny(const char *from, const char *to, long bin_size)
{
	static char path[128];
	const char *dir = tmp_dir();
	char json[sizeof(tiny_json) + 1024];
	const char *at = from ? strstr(tiny_json, from) : NULL;
	ASSERT_MSG(!from || at, "pattern %s not in the tiny model", from);
	if (at)
		snprintf(json, sizeof(json), "%.*s%s%s", (int)(at - tiny_json), tiny_json, to, at + strlen(from));
	else
		snprintf(json, sizeof(json), "%s", tiny_json);
	snprintf(path, sizeof(path), "%s/tiny.bin", dir);
	if (bin_size >= 0) {
		uint8_t big[64] = {0};
		memcpy(big, tiny_bin, sizeof(tiny_bin));
		write_file(path, big, (size_t)bin_size);
	}
	snprintf(path, sizeof(path), "%s/model.json", dir);
	write_file(path, json, strlen(json));
	return path;
}

FL_TEST(load_tfjs_tiny_model)
{
	char err[512];
	struct fl_graph g;
	const char *path = write_tiny(NULL, NULL, sizeof(tiny_bin));
	ASSERT_MSG(load(&g, path, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(g.n_nodes, 3);
	ASSERT_EQ(g.n_inputs, 1);
	ASSERT_EQ(g.n_outputs, 1);
	ASSERT(!strcmp(g.values[g.outputs[0]].name, "Identity"));
	int64_t xd[2] = {-1, 4};
	ASSERT(value_dims_eq(&g.values[g.inputs[0]], 2, xd));

	const struct fl_node *mm = &g.nodes[0];
	ASSERT_EQ(mm->op, FL_OP_MATMUL);
	ASSERT(!strcmp(mm->name, "model/dense/Relu"));
	ASSERT_EQ(mm->attr.act, FL_ACT_RELU);
	ASSERT_EQ(mm->n_in, 3);
	const float *w = g.values[mm->in[1]].data, *b = g.values[mm->in[2]].data;
	for (int i = 0; i < 8; i++)
		ASSERT_NEAR(w[i], i * 0.5 - 1.0, 0);
	ASSERT_NEAR(b[0], 1.0, 0);
	ASSERT_NEAR(b[1], -2.0, 0);
	const struct fl_node *mul = &g.nodes[1];
	ASSERT_EQ(mul->op, FL_OP_MUL);
	ASSERT_EQ(mul->n_in, 2); /* the control input ^w is dropped */
	ASSERT_EQ(g.values[mul->in[1]].n_dims, 0);
	ASSERT_NEAR(*(float *)g.values[mul->in[1]].data, 0.5, 0);
	ASSERT_EQ(g.nodes[2].op, FL_OP_IDENTITY);
	ASSERT_OK(fl__graph_link(&g, err, sizeof(err)));
	fl__graph_fini(&g);
	remove_tmp_dirs();
}

/* The tiny model end to end through fl_model_load and a session. */
FL_TEST(load_tfjs_tiny_model_runs)
{
	char err[512];
	const char *path = write_tiny(NULL, NULL, sizeof(tiny_bin));
	struct fl_model *m;
	int rc = fl_model_load(path, &m, err, sizeof(err));
	ASSERT_MSG(rc == 0, "%d %s", rc, err);
	float x[2 * 4] = {1, 0, 0, 0, 1, 2, -1, 0.5f};
	struct fl_tensor in = {FL_DTYPE_F32, 2, {2, 4}, x};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = 1;
	sp.input_shapes = &in;
	sp.n_input_shapes = 1;
	struct fl_session *s;
	rc = fl_session_create(m, &sp, &s, err, sizeof(err));
	ASSERT_MSG(rc == 0, "%d %s", rc, err);
	ASSERT_OK(fl_session_run(s, &in, 1));
	struct fl_tensor out;
	ASSERT_OK(fl_session_output(s, 0, &out));
	ASSERT_EQ(out.n_dims, 2);
	ASSERT_EQ(out.dims[1], 2);
	/* y = 0.5 * relu(x @ w + b), w[k][j] = (2k + j)*0.5 - 1 */
	for (int r = 0; r < 2; r++)
		for (int j = 0; j < 2; j++) {
			double acc = j == 0 ? 1.0 : -2.0;
			for (int k = 0; k < 4; k++)
				acc += x[r * 4 + k] * ((2 * k + j) * 0.5 - 1.0);
			ASSERT_NEAR(((float *)out.data)[r * 2 + j], 0.5 * (acc > 0 ? acc : 0), 1e-5);
		}
	fl_session_destroy(s);
	fl_model_destroy(m);
	remove_tmp_dirs();
}

/* ------------------------------------------------------------- errors */

struct err_case {
	const char *what;
	const char *from, *to; /* substitution in tiny_json */
	long bin_size;          /* bytes of .bin written (-1: none) */
	int code;
	const char *msg; /* the message must contain this (and the file) */
};

static const struct err_case err_cases[] = {
	{"truncated .bin", NULL, NULL, 10, FL_ETRUNCATED, "weight \"b\""},
	{"missing .bin", NULL, NULL, -1, FL_ENOENT, "tiny.bin"},
	{"longer .bin", NULL, NULL, 20, FL_ECORRUPT, "the .bin files hold 20 bytes"},
	{"bad JSON", "\"signature\"", "\"signature\":,", 12, FL_ECORRUPT, "line 1"},
	{"unknown op", "\"op\":\"Mul\"", "\"op\":\"FooOp\"", 12, FL_EUNSUPPORTED,
	 "node \"model/mul\" (FooOp): unsupported op"},
	{"dangling input", "\"c\",\"^w\"", "\"nothing\"", 12, FL_ECORRUPT,
	 "node \"model/mul\" (Mul): input \"nothing\" names no node"},
	{"missing output index", "\"model/mul:0\"", "\"model/mul:3\"", 12, FL_ECORRUPT,
	 "node \"Identity\" (Identity): input \"model/mul:3\""},
	{"weight shape differs from the node's", "\"shape\":[4,2]", "\"shape\":[8,1]", 12, FL_ECORRUPT,
	 "node \"w\" (Const): weight shape [8, 1]"},
	{"weight bigger than the .bin", "\"shape\":[4,2]", "\"shape\":[4,3]", 12, FL_ETRUNCATED, "weight \"b\""},
	{"negative manifest dim", "\"shape\":[4,2]", "\"shape\":[-4,2]", 12, FL_ECORRUPT, "weight \"w\": bad dimension"},
	{"negative input dim", "{\"size\":\"-1\"},{\"size\":\"4\"}", "{\"size\":\"-7\"},{\"size\":\"4\"}", 12, FL_ECORRUPT,
	 "node \"x\" (Placeholder): bad dimension -7"},
	{"huge input dim", "{\"size\":\"-1\"},{\"size\":\"4\"}", "{\"size\":\"99999999999999\"},{\"size\":\"4\"}", 12,
	 FL_ECORRUPT, "node \"x\" (Placeholder): bad dimension"},
	{"too many dims", "\"shape\":[4,2]", "\"shape\":[1,1,1,1,1,1,4,2]", 12, FL_EUNSUPPORTED, "weight \"w\": 8 dims"},
	{"FusedBatchNorm", "\"UmVsdQ==\"", "\"RnVzZWRCYXRjaE5vcm0=\"", 12, FL_EUNSUPPORTED,
	 "node \"model/dense/Relu\" (_FusedMatMul): fused_ops [BiasAdd, FusedBatchNorm]"},
	{"non-object JSON", "{\"format\"", "[1],{\"format\"", 12, FL_ECORRUPT, "line 1"},
	{"not graph-model", "\"graph-model\"", "\"layers-model\"", 12, FL_EUNSUPPORTED, "format \"layers-model\""},
	{"path escape", "\"tiny.bin\"", "\"../tiny.bin\"", 12, FL_ECORRUPT, "bad path"},
	{"constant without data", "\"floatVal\":[0.5]", "\"x\":1", 12, FL_ECORRUPT, "node \"c\" (Const): constant without data"},
	{"wrong attr type", "\"num_args\":{\"i\":\"1\"},\"transpose_a\":{\"b\":false}",
	 "\"num_args\":{\"i\":\"1\"},\"transpose_a\":{\"b\":7}", 12, FL_ECORRUPT,
	 "node \"model/dense/Relu\" (_FusedMatMul): attr \"transpose_a\" is malformed"},
	{"duplicate node", "{\"name\":\"c\",", "{\"name\":\"b\",", 12, FL_ECORRUPT, "node \"b\" (Const): a second node"},
	{"missing input count", "[\"x\",\"w\",\"b\"]", "[\"x\",\"w\"]", 12, FL_ECORRUPT,
	 "node \"model/dense/Relu\" (_FusedMatMul): 2 inputs, but its fused ops need 3"},
	{"bad weight dtype", "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\"}",
	 "\"dtype\":\"complex64\"", 12, FL_EUNSUPPORTED, "weight \"b\": unsupported dtype complex64"},
};

FL_TEST(load_tfjs_errors)
{
	for (size_t k = 0; k < sizeof(err_cases) / sizeof(err_cases[0]); k++) {
		const struct err_case *ec = &err_cases[k];
		char err[512] = "";
		struct fl_graph g;
		const char *path = write_tiny(ec->from, ec->to, ec->bin_size);
		long live0 = fl_alloc_live();
		int rc = load(&g, path, err, sizeof(err));
		ASSERT_MSG(rc == ec->code, "%s: code %d (%s), expected %d; message: %s", ec->what, rc, fl_status_name(rc),
		           ec->code, err);
		ASSERT_MSG(strstr(err, path), "%s: message lacks the path: %s", ec->what, err);
		ASSERT_MSG(strstr(err, ec->msg), "%s: message \"%s\" lacks \"%s\"", ec->what, err, ec->msg);
		fl__graph_fini(&g);
		ASSERT_EQ(fl_alloc_live(), live0);
	}
	remove_tmp_dirs();
}

FL_TEST(load_tfjs_nchw_unsupported)
{
	/* a conv with data_format NCHW */
	char err[512];
	struct fl_graph g;
	const char *path = write_tiny(
	    "{\"name\":\"Identity\"",
	    "{\"name\":\"conv\",\"op\":\"Conv2D\",\"input\":[\"x\",\"w\"],\"attr\":{\"data_format\":{\"s\":\"TkNIVw==\"},"
	    "\"padding\":{\"s\":\"U0FNRQ==\"},\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}}}},"
	    "{\"name\":\"Identity\"",
	    sizeof(tiny_bin));
	ASSERT_EQ(load(&g, path, err, sizeof(err)), FL_EUNSUPPORTED);
	ASSERT_STR_CONTAINS(err, path);
	ASSERT_STR_CONTAINS(err, "node \"conv\" (Conv2D): data_format NCHW is unsupported");
	fl__graph_fini(&g);
	remove_tmp_dirs();
}

/* Without a signature: inputs are the Placeholders, outputs the nodes
** nobody consumes; conv attributes (strides, dilations, explicit pads). */
FL_TEST(load_tfjs_no_signature)
{
	char err[512];
	struct fl_graph g;
	char *json = fl_strdup(tiny_json);
	char *sig = strstr(json, ",\"signature\"");
	strcpy(sig, "}");
	const char *dir = tmp_dir();
	char path[128];
	snprintf(path, sizeof(path), "%s/tiny.bin", dir);
	write_file(path, tiny_bin, sizeof(tiny_bin));
	/* add a dangling explicit-padding dilated conv: a second output */
	const char *conv =
	    "{\"name\":\"conv\",\"op\":\"_FusedConv2D\",\"input\":[\"x\",\"w\",\"b\"],\"attr\":{"
	    "\"padding\":{\"s\":\"RVhQTElDSVQ=\"},\"explicit_paddings\":{\"list\":{\"i\":[\"0\",\"0\",\"1\",\"2\",\"3\",\"4\",\"0\","
	    "\"0\"]}},\"strides\":{\"list\":{\"i\":[\"1\",\"2\",\"3\",\"1\"]}},\"dilations\":{\"list\":{\"i\":[\"1\",\"2\",\"2\","
	    "\"1\"]}},\"fused_ops\":{\"list\":{\"s\":[\"Qmlhc0FkZA==\",\"TGVha3lSZWx1\"]}},\"leakyrelu_alpha\":{\"f\":0.25}}},";
	char *full = fl_malloc(strlen(json) + strlen(conv) + 1);
	char *at = strstr(json, "{\"name\":\"Identity\"");
	sprintf(full, "%.*s%s%s", (int)(at - json), json, conv, at);
	snprintf(path, sizeof(path), "%s/model.json", dir);
	write_file(path, full, strlen(full));
	fl_free(full);
	fl_free(json);

	ASSERT_MSG(load(&g, path, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(g.n_inputs, 1);
	ASSERT_EQ(g.n_outputs, 2);
	ASSERT(!strcmp(g.values[g.outputs[0]].name, "conv"));
	ASSERT(!strcmp(g.values[g.outputs[1]].name, "Identity"));
	const struct fl_node *n = &g.nodes[2];
	ASSERT(!strcmp(n->name, "conv"));
	ASSERT_EQ(n->attr.padding, FL_PADDING_EXPLICIT);
	ASSERT_EQ(n->attr.pads[0], 1);
	ASSERT_EQ(n->attr.pads[1], 2);
	ASSERT_EQ(n->attr.pads[2], 3);
	ASSERT_EQ(n->attr.pads[3], 4);
	ASSERT_EQ(n->attr.stride[0], 2);
	ASSERT_EQ(n->attr.stride[1], 3);
	ASSERT_EQ(n->attr.dilation[0], 2);
	ASSERT_EQ(n->attr.act, FL_ACT_LEAKY_RELU);
	ASSERT_NEAR(n->attr.act_alpha, 0.25, 0);
	fl__graph_fini(&g);
	remove_tmp_dirs();
}

/* In-memory entry point, with the weights given as bytes. */
FL_TEST(load_tfjs_from_memory)
{
	char err[512];
	struct fl_graph g;
	ASSERT_OK(fl__graph_init(&g, "mem"));
	int rc = fl__load_tfjs_buf(&g, tiny_json, strlen(tiny_json), NULL, tiny_bin, sizeof(tiny_bin), "mem.json", err,
	                           sizeof(err));
	ASSERT_MSG(rc == 0, "%s", err);
	ASSERT_EQ(g.n_nodes, 3);
	fl__graph_fini(&g);
	ASSERT_OK(fl__graph_init(&g, "mem"));
	rc = fl__load_tfjs_buf(&g, tiny_json, strlen(tiny_json), NULL, tiny_bin, 9, "mem.json", err, sizeof(err));
	ASSERT_EQ(rc, FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "mem.json: weight \"b\"");
	fl__graph_fini(&g);
}

/* ------------------------------------------------------ fault injection */

FL_TEST_T(load_tfjs_alloc_failures, 300)
{
	const char *path = write_tiny(NULL, NULL, sizeof(tiny_bin));
	char err[512];
	int i, rc = -1;
	for (i = 1; i < 100000 && rc != 0; i++) {
		struct fl_graph g;
		long live0 = fl_alloc_live();
		ASSERT_OK(fl__graph_init(&g, path));
		fl_alloc_fail_after(i, 1);
		rc = fl__load_tfjs(&g, path, err, sizeof(err));
		int failed = fl_alloc_fail_after(0, 0);
		ASSERT_MSG(rc == 0 || rc == FL_ENOMEM, "allocation %d: code %d (%s)", i, rc, err);
		ASSERT_MSG(rc == 0 || failed > 0, "allocation %d: failed without a failed allocation", i);
		fl__graph_fini(&g);
		ASSERT_MSG(fl_alloc_live() == live0, "allocation %d: %ld blocks leaked", i, fl_alloc_live() - live0);
	}
	ASSERT_EQ(rc, 0);
	ASSERT(i > 10);
	remove_tmp_dirs();
}
