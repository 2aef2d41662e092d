/*
** conv_conform.c -- conformance tests of CONV2D, DWCONV2D and MATMUL
** (checkasm / test-backend-ops style): hand-computed cases check the
** reference kernels against TensorFlow's definitions, then for every SIMD
** family this CPU has, many random shapes (odd sizes, channel counts off
** the vector width, kernels 1..7, strides, dilations, SAME / VALID /
** EXPLICIT padding, every activation, with and without bias, 1 and 2
** threads) are run on the packed kernels and compared with the reference.
*/
#include "kern_util.h"

/* ------------------------------------------------------ hand-checked */

static void hand_conv(int stride, const float *want, int n_want)
{
	struct kcase c;
	memset(&c, 0, sizeof(c));
	kc_tensor(&c, 0, 4, (const int64_t[]){1, 4, 4, 1});
	kc_tensor(&c, 1, 4, (const int64_t[]){3, 3, 1, 1});
	for (int i = 0; i < 16; i++)
		((float *)c.t[0].data)[i] = (float)(i + 1);
	for (int i = 0; i < 9; i++)
		((float *)c.t[1].data)[i] = 1.0f;
	struct fl_attr a = {.padding = FL_PADDING_SAME, .stride = {stride, stride}};
	kc_wire(&c, FL_OP_CONV2D, &a, 1);
	for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(&c, isa);
		struct fl_tensor out;
		float *y = kc_run(&c, NULL, &out);
		ASSERT_EQ(fl_tensor_numel(&out), n_want);
		for (int i = 0; i < n_want; i++)
			ASSERT_MSG(y[i] == want[i], "isa %d element %d: %g, want %g", isa, i, y[i], want[i]);
		free(y);
	}
	kc_free(&c);
}

FL_TEST(kern_conv_hand_same)
{
	/* 3x3 box sums of 1..16 on a 4x4 grid, zero padded */
	static const float want[16] = {14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54};
	hand_conv(1, want, 16);
}

FL_TEST(kern_conv_hand_same_stride2)
{
	/* TF SAME, stride 2 on an even input: pad_total 1 goes bottom/right,
	** so window (0,0) covers rows/cols 0..2. */
	static const float want[4] = {54, 45, 72, 54};
	hand_conv(2, want, 4);
}

FL_TEST(kern_conv_hand_valid_bias_act)
{
	/* 2x2 VALID on 3x3, CO=2, bias, RELU6 / LEAKY */
	struct kcase c;
	memset(&c, 0, sizeof(c));
	kc_tensor(&c, 0, 4, (const int64_t[]){1, 3, 3, 1});
	kc_tensor(&c, 1, 4, (const int64_t[]){2, 2, 1, 2});
	kc_tensor(&c, 2, 1, (const int64_t[]){2});
	for (int i = 0; i < 9; i++)
		((float *)c.t[0].data)[i] = (float)(i + 1);
	float *w = c.t[1].data; /* HWIO: w[ky][kx][0][co] */
	w[0] = 1, w[1] = -1, w[2] = 0, w[3] = 0, w[4] = 0, w[5] = 0, w[6] = 0, w[7] = 0;
	((float *)c.t[2].data)[0] = 0.5f;
	((float *)c.t[2].data)[1] = 1.0f;
	struct fl_attr a = {.padding = FL_PADDING_VALID, .act = FL_ACT_LEAKY_RELU, .act_alpha = 0.25f};
	kc_wire(&c, FL_OP_CONV2D, &a, 1);
	/* co0 = x + 0.5, co1 = -x + 1 -> leaky 0.25 */
	const float xs[4] = {1, 2, 4, 5};
	for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(&c, isa);
		struct fl_tensor out;
		float *y = kc_run(&c, NULL, &out);
		ASSERT_EQ(out.dims[1], 2);
		ASSERT_EQ(out.dims[3], 2);
		for (int p = 0; p < 4; p++) {
			ASSERT_NEAR(y[2 * p], xs[p] + 0.5f, 1e-6);
			float v = 1.0f - xs[p];
			ASSERT_NEAR(y[2 * p + 1], v > 0 ? v : 0.25f * v, 1e-6);
		}
		free(y);
	}
	kc_free(&c);
}

FL_TEST(kern_dwconv_hand_mult2)
{
	struct kcase c;
	memset(&c, 0, sizeof(c));
	kc_tensor(&c, 0, 4, (const int64_t[]){1, 1, 1, 2});
	kc_tensor(&c, 1, 4, (const int64_t[]){1, 1, 2, 2});
	((float *)c.t[0].data)[0] = 3;
	((float *)c.t[0].data)[1] = 5;
	for (int i = 0; i < 4; i++)
		((float *)c.t[1].data)[i] = (float)(i + 1);
	kc_wire(&c, FL_OP_DWCONV2D, NULL, 1);
	for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(&c, isa);
		struct fl_tensor out;
		float *y = kc_run(&c, NULL, &out);
		ASSERT_EQ(out.dims[3], 4);
		/* channel c*M + m = x[c] * w[c][m] */
		ASSERT_EQ(y[0], 3);
		ASSERT_EQ(y[1], 6);
		ASSERT_EQ(y[2], 15);
		ASSERT_EQ(y[3], 20);
		free(y);
	}
	kc_free(&c);
}

FL_TEST(kern_matmul_hand)
{
	static const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			struct kcase c;
			memset(&c, 0, sizeof(c));
			kc_tensor(&c, 0, 2, (const int64_t[]){2, 2});
			kc_tensor(&c, 1, 2, (const int64_t[]){2, 2});
			/* store op(a) = [[1,2],[3,4]] and op(b) = [[5,6],[7,8]] */
			for (int i = 0; i < 2; i++)
				for (int j = 0; j < 2; j++) {
					((float *)c.t[0].data)[ta ? j * 2 + i : i * 2 + j] = a[i * 2 + j];
					((float *)c.t[1].data)[tb ? j * 2 + i : i * 2 + j] = b[i * 2 + j];
				}
			struct fl_attr at = {.transpose_a = ta, .transpose_b = tb};
			kc_wire(&c, FL_OP_MATMUL, &at, 1);
			for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
				kc_prepare(&c, isa);
				struct fl_tensor out;
				float *y = kc_run(&c, NULL, &out);
				ASSERT_EQ(y[0], 19);
				ASSERT_EQ(y[1], 22);
				ASSERT_EQ(y[2], 43);
				ASSERT_EQ(y[3], 50);
				free(y);
			}
			kc_free(&c);
		}
}

FL_TEST(kern_conv_shape_errors)
{
	struct kcase c;
	memset(&c, 0, sizeof(c));
	kc_tensor(&c, 0, 4, (const int64_t[]){1, 2, 2, 3});
	kc_tensor(&c, 1, 4, (const int64_t[]){3, 3, 3, 4});
	kc_wire(&c, FL_OP_CONV2D, &(struct fl_attr){.padding = FL_PADDING_VALID}, 1);
	const struct fl_tensor *in[7] = {&c.t[0], &c.t[1], NULL, NULL, NULL, NULL, NULL};
	struct fl_tensor out;
	char err[128] = "";
	ASSERT_EQ(fl__opdef_conv2d.infer(&c.node, in, &out, err, sizeof(err)), FL_ESHAPE); /* 3x3 on 2x2 */
	c.node.attr.padding = FL_PADDING_SAME;
	ASSERT_OK(fl__opdef_conv2d.infer(&c.node, in, &out, err, sizeof(err)));
	struct fl_tensor res = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, 2, 2, 3}};
	const struct fl_tensor *in5[7] = {&c.t[0], &c.t[1], NULL, NULL, &res, NULL, NULL};
	ASSERT_EQ(fl__opdef_conv2d.infer(&c.node, in5, &out, err, sizeof(err)), FL_ESHAPE); /* residual: 3 != 4 ch */
	res.dims[3] = 4;
	ASSERT_OK(fl__opdef_conv2d.infer(&c.node, in5, &out, err, sizeof(err)));
	c.t[1].dims[2] = 5; /* channel mismatch */
	ASSERT_EQ(fl__opdef_conv2d.infer(&c.node, in, &out, err, sizeof(err)), FL_ESHAPE);
	kc_free(&c);
}

/* -------------------------------------------------------- random cases */

static const int chans[] = {1, 3, 5, 8, 16, 17, 24, 31, 33, 48, 96, 40, 24};
static const int acts[] = {FL_ACT_NONE, FL_ACT_RELU, FL_ACT_RELU6, FL_ACT_PRELU, FL_ACT_LEAKY_RELU, FL_ACT_SIGMOID};

static int rnd(struct fl_test_rng *r, int lo, int hi) /* [lo, hi] */
{
	int v = lo + (int)fl_test_uniform(r, 0.0f, (float)(hi - lo + 1));
	return v > hi ? hi : v;
}

/* Compare the node's prepared run (1 and 2 threads) with the reference on
** the same inputs.  k_sum: terms per output, for the tolerance. */
static void compare(struct kcase *c, struct fl_pool *pool2, int k_sum, const char *what)
{
	struct fl_tensor out;
	const struct fl_op_def *def = fl__op_def(c->node.op);
	def->release(&c->node); /* no prep: reference */
	float *ref = kc_run(c, NULL, &out);
	long n = (long)fl_tensor_numel(&out);
	double atol = 1e-4 + 2e-6 * k_sum;
	char msg[256];
	for (int isa = FL_ISA_AVX2; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(c, isa);
		ASSERT_MSG(c->node.isa == isa || c->node.prep == NULL, "%s: isa %d not taken", what, isa);
		for (int t = 0; t < 2; t++) {
			struct fl_tensor o2;
			float *got = kc_run(c, t ? pool2 : NULL, &o2);
			long bad = fl_test_allclose(got, ref, n, atol, 1e-3, msg, sizeof(msg));
			ASSERT_MSG(bad == 0, "%s isa %s threads %d: %ld of %ld off: %s", what, fl__isa_name(isa), t + 1, bad, n,
			           msg);
			free(got);
		}
	}
	free(ref);
}

static void random_conv(struct fl_test_rng *r, struct fl_pool *pool, int depthwise, int n_cases)
{
	for (int it = 0; it < n_cases; it++) {
		struct kcase c;
		memset(&c, 0, sizeof(c));
		struct fl_attr a;
		memset(&a, 0, sizeof(a));
		const int k = (int[]){1, 1, 3, 3, 5, 7, 2}[rnd(r, 0, 6)];
		const int kw = rnd(r, 0, 4) == 0 ? rnd(r, 1, 5) : k;
		a.stride[0] = a.stride[1] = rnd(r, 1, 2);
		if (rnd(r, 0, 4) == 0)
			a.stride[1] = rnd(r, 1, 3);
		a.dilation[0] = a.dilation[1] = rnd(r, 0, 5) == 0 ? 2 : rnd(r, 0, 1); /* 0 means 1 */
		a.padding = rnd(r, 0, 2);
		if (a.padding == FL_PADDING_EXPLICIT)
			for (int i = 0; i < 4; i++)
				a.pads[i] = rnd(r, 0, 2);
		a.act = acts[rnd(r, 0, 5)];
		a.act_alpha = 0.1f;
		const int n = rnd(r, 1, 3);
		const int ekh = (k - 1) * (a.dilation[0] > 0 ? a.dilation[0] : 1) + 1;
		const int ekw = (kw - 1) * (a.dilation[1] > 0 ? a.dilation[1] : 1) + 1;
		const int h = rnd(r, ekh, ekh + 20), w = rnd(r, ekw, ekw + 30);
		const int ci = chans[rnd(r, 0, 12)];
		const int mult = depthwise ? (rnd(r, 0, 3) == 0 ? 2 : 1) : 1;
		const int co = depthwise ? ci * mult : chans[rnd(r, 0, 12)];
		const int has_bias = rnd(r, 0, 3) != 0;
		kc_tensor(&c, 0, 4, (const int64_t[]){n, h, w, ci});
		kc_tensor(&c, 1, 4, depthwise ? (const int64_t[]){k, kw, ci, mult} : (const int64_t[]){k, kw, ci, co});
		kc_fill(&c, 0, r, -1, 1);
		const int ksum = k * kw * (depthwise ? 1 : ci);
		const float ws = 1.0f / sqrtf((float)ksum);
		kc_fill(&c, 1, r, -ws, ws);
		if (has_bias) {
			kc_tensor(&c, 2, 1, (const int64_t[]){co});
			kc_fill(&c, 2, r, -1, 1);
		}
		if (a.act == FL_ACT_PRELU) {
			kc_tensor(&c, 3, rnd(r, 0, 4) == 0 ? 0 : 1, (const int64_t[]){co});
			kc_fill(&c, 3, r, -0.5f, 0.5f);
		}
		const int has_res = !depthwise && rnd(r, 0, 2) == 0;
		kc_wire(&c, depthwise ? FL_OP_DWCONV2D : FL_OP_CONV2D, &a, 1);
		if (has_res) {
			/* a fused residual ADD: shaped like the output */
			struct fl_tensor o;
			const struct fl_tensor *in[7] = {&c.t[0], &c.t[1], c.have[2] ? &c.t[2] : NULL, c.have[3] ? &c.t[3] : NULL, NULL, NULL, NULL};
			char e[128];
			ASSERT_OK(fl__opdef_conv2d.infer(&c.node, in, &o, e, sizeof(e)));
			kc_tensor(&c, 4, 4, o.dims);
			kc_fill(&c, 4, r, -1, 1);
			kc_wire(&c, FL_OP_CONV2D, &a, 1);
		}
		char what[256];
		snprintf(what, sizeof(what), "%s case %d: n%d %dx%dx%d k%dx%d co%d s%d,%d d%d pad%d(%d,%d,%d,%d) act%d bias%d res%d",
		         depthwise ? "dwconv" : "conv", it, n, h, w, ci, k, kw, co, a.stride[0], a.stride[1], a.dilation[0],
		         a.padding, a.pads[0], a.pads[1], a.pads[2], a.pads[3], a.act, has_bias, has_res);
		compare(&c, pool, ksum, what);
		kc_free(&c);
	}
}

FL_TEST(kern_conv_random)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	struct fl_test_rng r = {0x1234567u};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	random_conv(&r, pool, 0, 250);
	fl__pool_destroy(pool);
}

FL_TEST(kern_dwconv_random)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	struct fl_test_rng r = {0x7654321u};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	random_conv(&r, pool, 1, 300);
	fl__pool_destroy(pool);
}

/* The model shapes exactly (first layers, 1x1, depthwise at 128x128). */
FL_TEST(kern_conv_model_shapes)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	struct fl_test_rng r = {99};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	static const int shapes[][7] = {
		/* h, w, ci, k, co, stride, depthwise */
		{256, 256, 3, 5, 24, 2, 0}, {128, 128, 24, 1, 24, 1, 0}, {128, 128, 24, 3, 24, 1, 1},
		{64, 64, 24, 3, 24, 2, 1},  {14, 14, 512, 1, 512, 1, 0}, {7, 7, 1024, 3, 1024, 1, 1},
		{224, 224, 3, 3, 32, 2, 0}, {32, 32, 72, 5, 72, 2, 1},   {8, 8, 96, 1, 6, 1, 0},
	};
	for (size_t s = 0; s < FL_ARRAY_SIZE(shapes); s++) {
		const int *p = shapes[s];
		struct kcase c;
		memset(&c, 0, sizeof(c));
		kc_tensor(&c, 0, 4, (const int64_t[]){1, p[0], p[1], p[2]});
		kc_tensor(&c, 1, 4, p[6] ? (const int64_t[]){p[3], p[3], p[2], 1} : (const int64_t[]){p[3], p[3], p[2], p[4]});
		kc_tensor(&c, 2, 1, (const int64_t[]){p[4]});
		kc_fill(&c, 0, &r, -1, 1);
		int ksum = p[3] * p[3] * (p[6] ? 1 : p[2]);
		kc_fill(&c, 1, &r, -1.0f / sqrtf((float)ksum), 1.0f / sqrtf((float)ksum));
		kc_fill(&c, 2, &r, -1, 1);
		struct fl_attr a = {.padding = FL_PADDING_SAME, .stride = {p[5], p[5]}, .act = FL_ACT_RELU};
		kc_wire(&c, p[6] ? FL_OP_DWCONV2D : FL_OP_CONV2D, &a, 1);
		char what[64];
		snprintf(what, sizeof(what), "model shape %zu", s);
		compare(&c, pool, ksum, what);
		kc_free(&c);
	}
	fl__pool_destroy(pool);
}

FL_TEST(kern_matmul_random)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	struct fl_test_rng r = {4242};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	for (int it = 0; it < 120; it++) {
		struct kcase c;
		memset(&c, 0, sizeof(c));
		struct fl_attr a;
		memset(&a, 0, sizeof(a));
		a.transpose_a = rnd(&r, 0, 1);
		a.transpose_b = rnd(&r, 0, 1);
		a.act = acts[rnd(&r, 0, 5)];
		a.act_alpha = 0.2f;
		const int m = rnd(&r, 1, 40), k = rnd(&r, 1, 300), n = rnd(&r, 1, 200);
		const int batch = a.transpose_a ? 0 : rnd(&r, 0, 3); /* leading dims on a */
		if (batch > 1)
			kc_tensor(&c, 0, 3, (const int64_t[]){batch, m, k});
		else
			kc_tensor(&c, 0, 2, a.transpose_a ? (const int64_t[]){k, m} : (const int64_t[]){m, k});
		kc_tensor(&c, 1, 2, a.transpose_b ? (const int64_t[]){n, k} : (const int64_t[]){k, n});
		kc_fill(&c, 0, &r, -1, 1);
		kc_fill(&c, 1, &r, -1.0f / sqrtf((float)k), 1.0f / sqrtf((float)k));
		if (rnd(&r, 0, 2)) {
			kc_tensor(&c, 2, 1, (const int64_t[]){n});
			kc_fill(&c, 2, &r, -1, 1);
		}
		if (a.act == FL_ACT_PRELU) {
			kc_tensor(&c, 3, 1, (const int64_t[]){n});
			kc_fill(&c, 3, &r, -0.5f, 0.5f);
		}
		kc_wire(&c, FL_OP_MATMUL, &a, 1);
		char what[128];
		snprintf(what, sizeof(what), "matmul %d: b%d %dx%dx%d ta%d tb%d act%d", it, batch, m, k, n, a.transpose_a,
		         a.transpose_b, a.act);
		compare(&c, pool, k, what);
		kc_free(&c);
	}
	fl__pool_destroy(pool);
}

/* Weights that are not constants run the reference path on any ISA. */
FL_TEST(kern_conv_dynamic_filter)
{
	struct fl_test_rng r = {7};
	struct kcase c;
	memset(&c, 0, sizeof(c));
	kc_tensor(&c, 0, 4, (const int64_t[]){2, 9, 7, 5});
	kc_tensor(&c, 1, 4, (const int64_t[]){3, 3, 5, 17});
	kc_tensor(&c, 2, 1, (const int64_t[]){17});
	kc_fill(&c, 0, &r, -1, 1);
	kc_fill(&c, 1, &r, -1, 1);
	kc_fill(&c, 2, &r, -1, 1);
	struct fl_attr a = {.padding = FL_PADDING_SAME, .act = FL_ACT_RELU};
	kc_wire(&c, FL_OP_CONV2D, &a, 0);
	struct fl_tensor out;
	float *ref = kc_run(&c, NULL, &out);
	kc_prepare(&c, fl__cpu_detect());
	ASSERT(c.node.prep == NULL);
	float *got = kc_run(&c, NULL, &out);
	ASSERT(memcmp(ref, got, fl_tensor_numel(&out) * sizeof(float)) == 0);
	free(ref);
	free(got);
	kc_free(&c);
}

/* The vector sigmoid (fused into the store) against libm over a wide
** range, through a 1x1 identity convolution. */
FL_TEST(kern_conv_sigmoid_accuracy)
{
	struct kcase c;
	memset(&c, 0, sizeof(c));
	const int n_px = 4001, ch = 17;
	kc_tensor(&c, 0, 4, (const int64_t[]){1, 1, n_px, ch});
	kc_tensor(&c, 1, 4, (const int64_t[]){1, 1, ch, ch});
	float *x = c.t[0].data, *w = c.t[1].data;
	for (int i = 0; i < n_px * ch; i++)
		x[i] = -100.0f + 200.0f * (float)i / (float)(n_px * ch);
	for (int i = 0; i < ch; i++)
		w[i * ch + i] = 1.0f;
	struct fl_attr a = {.act = FL_ACT_SIGMOID};
	kc_wire(&c, FL_OP_CONV2D, &a, 1);
	for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(&c, isa);
		struct fl_tensor out;
		float *y = kc_run(&c, NULL, &out);
		for (int i = 0; i < n_px * ch; i++) {
			double want = 1.0 / (1.0 + exp(-(double)x[i]));
			ASSERT_MSG(fabs(y[i] - want) <= 1e-7 + 2e-6 * want, "isa %d: sigmoid(%g) = %.9g, want %.9g", isa, x[i],
			           y[i], want);
		}
		free(y);
	}
	kc_free(&c);
}

/*
** Separable CONV2D (depthwise filter in input 5, its bias in 6, then the
** node's 1x1 filter, bias, residual and activation) against a DWCONV2D
** node followed by a 1x1 CONV2D node, both reference.
*/
FL_TEST(kern_sepconv_random)
{
	struct fl_test_rng r = {0xabcdefu};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	for (int it = 0; it < 80; it++) {
		const int k = rnd(&r, 0, 1) ? 3 : 5, stride = rnd(&r, 1, 2), n = rnd(&r, 1, 2);
		const int h = rnd(&r, k, k + 30), w = rnd(&r, k, k + 40);
		const int c = it == 0 ? 24 : chans[rnd(&r, 0, 12)], co = it == 0 ? 24 : chans[rnd(&r, 0, 12)];
		struct fl_attr a;
		memset(&a, 0, sizeof(a));
		a.stride[0] = a.stride[1] = stride;
		a.padding = rnd(&r, 0, 1) ? FL_PADDING_SAME : FL_PADDING_VALID;
		a.act = acts[rnd(&r, 0, 5)];
		a.act_alpha = 0.1f;
		const int has_db = rnd(&r, 0, 3) != 0, has_b = rnd(&r, 0, 3) != 0, has_res = rnd(&r, 0, 1);

		/* stage 1: depthwise alone (reference) */
		struct kcase d;
		memset(&d, 0, sizeof(d));
		kc_tensor(&d, 0, 4, (const int64_t[]){n, h, w, c});
		kc_fill(&d, 0, &r, -1, 1);
		kc_tensor(&d, 1, 4, (const int64_t[]){k, k, c, 1});
		kc_fill(&d, 1, &r, -0.3f, 0.3f);
		if (has_db) {
			kc_tensor(&d, 2, 1, (const int64_t[]){c});
			kc_fill(&d, 2, &r, -1, 1);
		}
		struct fl_attr ad = a;
		ad.act = FL_ACT_NONE;
		kc_wire(&d, FL_OP_DWCONV2D, &ad, 1);
		struct fl_tensor mid;
		float *mid_y = kc_run(&d, NULL, &mid);

		/* stage 2: 1x1 conv on it (reference) */
		struct kcase p;
		memset(&p, 0, sizeof(p));
		kc_tensor(&p, 0, 4, mid.dims);
		memcpy(p.t[0].data, mid_y, fl_tensor_numel(&mid) * sizeof(float));
		kc_tensor(&p, 1, 4, (const int64_t[]){1, 1, c, co});
		kc_fill(&p, 1, &r, -1.0f / sqrtf((float)c), 1.0f / sqrtf((float)c));
		if (has_b) {
			kc_tensor(&p, 2, 1, (const int64_t[]){co});
			kc_fill(&p, 2, &r, -1, 1);
		}
		if (a.act == FL_ACT_PRELU) {
			kc_tensor(&p, 3, 1, (const int64_t[]){co});
			kc_fill(&p, 3, &r, -0.5f, 0.5f);
		}
		if (has_res) {
			kc_tensor(&p, 4, 4, (const int64_t[]){mid.dims[0], mid.dims[1], mid.dims[2], co});
			kc_fill(&p, 4, &r, -1, 1);
		}
		struct fl_attr ap = {.act = a.act, .act_alpha = a.act_alpha};
		kc_wire(&p, FL_OP_CONV2D, &ap, 1);
		struct fl_tensor want_t;
		float *want = kc_run(&p, NULL, &want_t);

		/* the fused node: x, 1x1 filter, bias, alpha, residual, dw filter, dw bias */
		struct kcase f;
		memset(&f, 0, sizeof(f));
		const int map[7][2] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 1}, {6, 2}};
		for (int i = 0; i < 7; i++) {
			struct kcase *src = i >= 5 || i == 0 ? &d : &p;
			int si = map[i][1];
			if (!src->have[si])
				continue;
			kc_tensor(&f, i, src->t[si].n_dims, src->t[si].dims);
			memcpy(f.t[i].data, src->t[si].data, fl_tensor_numel(&src->t[si]) * sizeof(float));
		}
		kc_wire(&f, FL_OP_CONV2D, &a, 1);
		char what[160], msg[256];
		snprintf(what, sizeof(what), "sepconv %d: n%d %dx%dx%d k%d s%d pad%d co%d act%d db%d b%d res%d", it, n, h, w, c, k,
		         stride, a.padding, co, a.act, has_db, has_b, has_res);
		const long ne = (long)fl_tensor_numel(&want_t);
		for (int isa = FL_ISA_REF; isa <= fl__cpu_detect(); isa++) {
			kc_prepare(&f, isa);
			for (int t = 0; t < 2; t++) {
				struct fl_tensor o;
				float *got = kc_run(&f, t ? pool : NULL, &o);
				ASSERT_EQ(fl_tensor_numel(&o), ne);
				long bad = fl_test_allclose(got, want, ne, 1e-4 + 2e-6 * (k * k + c), 1e-3, msg, sizeof(msg));
				ASSERT_MSG(bad == 0, "%s isa %d threads %d: %s", what, isa, t + 1, msg);
				free(got);
			}
		}
		free(mid_y);
		free(want);
		kc_free(&d);
		kc_free(&p);
		kc_free(&f);
	}
	fl__pool_destroy(pool);
}
