/*
** pair_conform.c -- conformance of the AVX-512 pair GEMM paths and the
** flat depthwise kernel's edge cases against the reference kernels:
**   - the k-pair GEMM (1x1 / separable with 8 or 24 output channels and an
**     even input count: lane pairs summed in the store) and, with
**     $FL_KERN_NOKPAIR, the interleaved pair GEMM with its contiguous-pair
**     zip (input counts 8 .. 64) and its general gather (the others);
**     odd and even pixel counts (a last pixel alone), residual, every
**     activation, per-channel and broadcast PReLU alpha;
**   - implicit convolutions whose taps are shorter than a vector (the 5x5x3
**     first layer of BlazeFace: taps of 15 floats; 5, 6, 9, 10 floats), on
**     the k-pair GEMM (odd pieces) and the interleaved one;
**   - stride-1 3x3 / 5x5 depthwise rows of every width up to a few
**     segments (the flat kernel's 4-chunk steps and its masked tail), alone
**     and inside the separable conv.
** Each case runs on every SIMD family this CPU has, on 1 and 2 threads.
*/
#include "kern_util.h"

#include <math.h>

static const int acts[] = {FL_ACT_NONE, FL_ACT_RELU, FL_ACT_RELU6, FL_ACT_PRELU, FL_ACT_LEAKY_RELU, FL_ACT_SIGMOID};

/* Run c's node prepared for every SIMD family on 1 and 2 threads and
** compare with its reference run; k_sum: terms per output (tolerance). */
static void check_all(struct kcase *c, struct fl_pool *pool2, int k_sum, const char *what)
{
	struct fl_tensor out;
	const struct fl_op_def *def = fl__op_def(c->node.op);
	def->release(&c->node);
	float *ref = kc_run(c, NULL, &out);
	const long n = (long)fl_tensor_numel(&out);
	char msg[256];
	for (int isa = FL_ISA_AVX2; isa <= fl__cpu_detect(); isa++) {
		kc_prepare(c, isa);
		ASSERT_MSG(c->node.prep != NULL, "%s: isa %s not packed", what, fl__isa_name(isa));
		for (int t = 0; t < 2; t++) {
			struct fl_tensor o;
			float *got = kc_run(c, t ? pool2 : NULL, &o);
			long bad = fl_test_allclose(got, ref, n, 1e-4 + 2e-6 * k_sum, 1e-3, msg, sizeof(msg));
			ASSERT_MSG(bad == 0, "%s isa %s threads %d: %ld of %ld off: %s", what, fl__isa_name(isa), t + 1, bad,
			           n, msg);
			free(got);
		}
	}
	free(ref);
}

/* Bias, alpha (per channel or one value) and optionally a residual for an
** output of `co` channels and dims od. */
static void add_extras(struct kcase *c, struct fl_test_rng *r, int co, int act, int alpha_one, int res,
                       const int64_t *od)
{
	kc_tensor(c, 2, 1, (const int64_t[]){co});
	kc_fill(c, 2, r, -1, 1);
	if (act == FL_ACT_PRELU) {
		kc_tensor(c, 3, 1, (const int64_t[]){alpha_one ? 1 : co});
		kc_fill(c, 3, r, -0.5f, 0.5f);
	}
	if (res) {
		kc_tensor(c, 4, 4, od);
		kc_fill(c, 4, r, -1, 1);
	}
}

/* 1x1 convolutions with 8 / 24 outputs: the k-pair GEMM (even ci) and, with
** FL_KERN_NOKPAIR, the interleaved pair GEMM (zipped or gathered). */
FL_TEST(kern_pair_1x1)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	static const int cis[] = {2, 4, 6, 8, 10, 16, 24, 32, 40, 48, 64, 3, 5};
	static const int hw[][3] = {{1, 1, 1}, {1, 1, 3}, {1, 3, 5}, {2, 7, 9}, {1, 16, 17}, {1, 4, 4}};
	struct fl_test_rng r = {0x5a17u};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	int it = 0;
	for (int mode = 0; mode < 2; mode++) {
		if (mode)
			setenv("FL_KERN_NOKPAIR", "1", 1);
		for (size_t i = 0; i < FL_ARRAY_SIZE(cis); i++)
			for (int co = 8; co <= 24; co += 16)
				for (size_t s = 0; s < FL_ARRAY_SIZE(hw); s++, it++) {
					const int ci = cis[i], n = hw[s][0], h = hw[s][1], w = hw[s][2];
					const int act = acts[it % 6], res = it % 3 != 1, alpha_one = it % 4 == 0;
					struct kcase c;
					memset(&c, 0, sizeof(c));
					kc_tensor(&c, 0, 4, (const int64_t[]){n, h, w, ci});
					kc_fill(&c, 0, &r, -1, 1);
					kc_tensor(&c, 1, 4, (const int64_t[]){1, 1, ci, co});
					kc_fill(&c, 1, &r, -1.0f / sqrtf((float)ci), 1.0f / sqrtf((float)ci));
					add_extras(&c, &r, co, act, alpha_one, res, (const int64_t[]){n, h, w, co});
					struct fl_attr a = {.padding = FL_PADDING_SAME, .act = act, .act_alpha = 0.2f};
					kc_wire(&c, FL_OP_CONV2D, &a, 1);
					char what[160];
					snprintf(what, sizeof(what), "1x1 %s n%d %dx%dx%d -> %d act%d res%d alpha1 %d",
					         mode ? "interleaved" : "k-pair", n, h, w, ci, co, act, res, alpha_one);
					check_all(&c, pool, ci, what);
					kc_free(&c);
				}
	}
	unsetenv("FL_KERN_NOKPAIR");
	fl__pool_destroy(pool);
}

/* Implicit convolutions with taps shorter than a vector (kw * ci < 16). */
FL_TEST(kern_pair_short_taps)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	/* k, ci, stride, h, w */
	static const int shp[][5] = {
		{5, 3, 2, 37, 41}, {5, 3, 2, 16, 16}, {5, 1, 1, 11, 13}, {3, 3, 2, 20, 23},
		{3, 2, 1, 9, 14},  {2, 5, 1, 8, 9},   {5, 3, 1, 12, 7},  {3, 3, 1, 5, 5},
	};
	struct fl_test_rng r = {0xc0ffeeu};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	int it = 0;
	for (int mode = 0; mode < 2; mode++) {
		if (mode)
			setenv("FL_KERN_NOKPAIR", "1", 1);
		for (size_t s = 0; s < FL_ARRAY_SIZE(shp); s++)
			for (int co = 8; co <= 24; co += 16)
				for (int pad = 0; pad < 2; pad++, it++) {
					const int k = shp[s][0], ci = shp[s][1], st = shp[s][2], h = shp[s][3], w = shp[s][4];
					const int act = acts[it % 6], res = it % 2;
					struct fl_attr a = {.padding = pad ? FL_PADDING_VALID : FL_PADDING_SAME,
					                    .stride = {st, st},
					                    .act = act,
					                    .act_alpha = 0.2f};
					struct kcase c;
					memset(&c, 0, sizeof(c));
					kc_tensor(&c, 0, 4, (const int64_t[]){1, h, w, ci});
					kc_fill(&c, 0, &r, -1, 1);
					kc_tensor(&c, 1, 4, (const int64_t[]){k, k, ci, co});
					const float ws = 1.0f / sqrtf((float)(k * k * ci));
					kc_fill(&c, 1, &r, -ws, ws);
					struct fl_attr a0 = a;
					a0.act = FL_ACT_NONE; /* the output's shape, before alpha exists */
					kc_wire(&c, FL_OP_CONV2D, &a0, 1);
					struct fl_tensor o;
					const struct fl_tensor *in[7] = {&c.t[0], &c.t[1], NULL, NULL, NULL, NULL, NULL};
					char e[128];
					ASSERT_OK(fl__opdef_conv2d.infer(&c.node, in, &o, e, sizeof(e)));
					add_extras(&c, &r, co, act, 0, res, o.dims);
					kc_wire(&c, FL_OP_CONV2D, &a, 1);
					char what[160];
					snprintf(what, sizeof(what), "conv %s k%d s%d %s %dx%dx%d -> %d act%d res%d",
					         mode ? "interleaved" : "k-pair", k, st, pad ? "VALID" : "SAME", h, w, ci, co, act, res);
					check_all(&c, pool, k * k * ci, what);
					kc_free(&c);
				}
	}
	unsetenv("FL_KERN_NOKPAIR");
	fl__pool_destroy(pool);
}

/* Stride-1 depthwise rows of every width from 1 to 70 (the 24-channel flat
** kernel steps 8 pixels and segments rows at 48), alone and fused with a
** 24-output 1x1 (the BlazeFace block, k-pair and interleaved). */
FL_TEST(kern_dw_flat_widths)
{
	if (fl__cpu_detect() == FL_ISA_REF)
		FL_SKIP("no SIMD family on this CPU");
	static const int chans[] = {24, 8, 40, 17, 3, 48};
	struct fl_test_rng r = {0xd1a7u};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	int it = 0;
	for (int w = 1; w <= 70; w++, it++) {
		const int k = w % 5 == 4 ? 5 : 3, h = 2 + w % 4, c = chans[it % 6];
		const int act = acts[it % 6];
		if (w < k && it % 2)
			continue; /* VALID needs the window; SAME below takes any width */
		struct fl_attr a = {.padding = w < k || it % 3 ? FL_PADDING_SAME : FL_PADDING_VALID,
		                    .act = act,
		                    .act_alpha = 0.2f};
		/* depthwise alone */
		struct kcase d;
		memset(&d, 0, sizeof(d));
		kc_tensor(&d, 0, 4, (const int64_t[]){1, h + k, w, c});
		kc_fill(&d, 0, &r, -1, 1);
		kc_tensor(&d, 1, 4, (const int64_t[]){k, k, c, 1});
		kc_fill(&d, 1, &r, -0.3f, 0.3f);
		kc_tensor(&d, 2, 1, (const int64_t[]){c});
		kc_fill(&d, 2, &r, -1, 1);
		if (act == FL_ACT_PRELU) {
			kc_tensor(&d, 3, 1, (const int64_t[]){c});
			kc_fill(&d, 3, &r, -0.5f, 0.5f);
		}
		kc_wire(&d, FL_OP_DWCONV2D, &a, 1);
		char what[160];
		snprintf(what, sizeof(what), "dw k%d %s %dx%dx%d act%d", k, a.padding == FL_PADDING_SAME ? "SAME" : "VALID",
		         h + k, w, c, act);
		check_all(&d, pool, k * k, what);
		kc_free(&d);

		/* the separable block: relu(1x1(dw(x)) + b + x), 24 channels */
		for (int mode = 0; mode < 2; mode++) {
			if (mode)
				setenv("FL_KERN_NOKPAIR", "1", 1);
			struct fl_attr as = {.padding = FL_PADDING_SAME, .act = act, .act_alpha = 0.2f};
			struct kcase f;
			memset(&f, 0, sizeof(f));
			kc_tensor(&f, 0, 4, (const int64_t[]){1, h, w, 24});
			kc_fill(&f, 0, &r, -1, 1);
			kc_tensor(&f, 1, 4, (const int64_t[]){1, 1, 24, 24});
			kc_fill(&f, 1, &r, -0.2f, 0.2f);
			add_extras(&f, &r, 24, act, 0, 1, (const int64_t[]){1, h, w, 24});
			kc_tensor(&f, 5, 4, (const int64_t[]){3, 3, 24, 1});
			kc_fill(&f, 5, &r, -0.3f, 0.3f);
			kc_tensor(&f, 6, 1, (const int64_t[]){24});
			kc_fill(&f, 6, &r, -1, 1);
			kc_wire(&f, FL_OP_CONV2D, &as, 1);
			snprintf(what, sizeof(what), "sep %s %dx%dx24 act%d", mode ? "interleaved" : "k-pair", h, w, act);
			check_all(&f, pool, 9 + 24, what);
			kc_free(&f);
		}
		unsetenv("FL_KERN_NOKPAIR");
	}
	fl__pool_destroy(pool);
}
