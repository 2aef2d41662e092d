/*
** kern_bench.c -- speed of the convolution kernels on the layer shapes of
** the models faceline runs (BlazeFace 256, MobileFaceNet 112, faceres 224,
** CenterNet 512).  Skipped unless $FL_BENCH=1; prints GFLOP/s per shape at
** 1 and 2 threads on the best ISA (or $FL_CPU); 1-thread times are CPU time
** of the calling thread, 2-thread times are wall-clock.  Tests never assert on
** time: this only reports.
**
**   FL_BENCH=1 [FL_BENCH_ONLY=dw3x3] build/fl_tests kern_bench
*/
#include "kern_util.h"

#include <time.h>

/* This thread's CPU seconds: a 1-thread run is timed by the CPU it used,
** so time spent descheduled on a busy machine does not count. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct bshape {
	const char *name;
	int h, w, ci, k, co, stride, depthwise; /* depthwise 2: separable block */
};

static const struct bshape bshapes[] = {
	{"blaze conv5x5 s2 3->24 @256", 256, 256, 3, 5, 24, 2, 0},
	{"blaze 1x1 24->24 @128", 128, 128, 24, 1, 24, 1, 0},
	{"blaze dw3x3 24 @128", 128, 128, 24, 3, 24, 1, 1},
	{"blaze dw3x3 s2 24 @128", 128, 128, 24, 3, 24, 2, 1},
	{"blaze sep dw3x3+1x1+res 24 @128", 128, 128, 24, 3, 24, 1, 2},
	{"blaze sep dw3x3+1x1+res 24 @64", 64, 64, 24, 3, 24, 1, 2},
	{"blaze sep dw3x3+1x1+res 48 @32", 32, 32, 48, 3, 48, 1, 2},
	{"1x1 32->8 @64 (pair)", 64, 64, 32, 1, 8, 1, 0},
	{"1x1 40->40 @32 (pair)", 32, 32, 40, 1, 40, 1, 0},
	{"blaze sep dw3x3+1x1+res 96 @16", 16, 16, 96, 3, 96, 1, 2},
	{"blaze dw3x3 24 @64 (L2)", 64, 64, 24, 3, 24, 1, 1},
	{"blaze 1x1 24->24 @64 (L2)", 64, 64, 24, 1, 24, 1, 0},
	{"dw3x3 32 @64 (L2)", 64, 64, 32, 3, 32, 1, 1},
	{"blaze 1x1 24->48 @32", 32, 32, 24, 1, 48, 1, 0},
	{"blaze 1x1 48->48 @32", 32, 32, 48, 1, 48, 1, 0},
	{"blaze dw3x3 48 @32", 32, 32, 48, 3, 48, 1, 1},
	{"blaze 1x1 96->96 @16", 16, 16, 96, 1, 96, 1, 0},
	{"blaze 1x1 96->96 @8", 8, 8, 96, 1, 96, 1, 0},
	{"blaze dw3x3 96 @16", 16, 16, 96, 3, 96, 1, 1},
	{"mfn conv3x3 s2 3->64 @112", 112, 112, 3, 3, 64, 2, 0},
	{"mfn dw3x3 64 @56", 56, 56, 64, 3, 64, 1, 1},
	{"mfn 1x1 64->128 @28", 28, 28, 64, 1, 128, 1, 0},
	{"mfn 1x1 128->256 @14", 14, 14, 128, 1, 256, 1, 0},
	{"mfn 1x1 128->512 @7", 7, 7, 128, 1, 512, 1, 0},
	{"faceres conv3x3 s2 3->32 @224", 224, 224, 3, 3, 32, 2, 0},
	{"faceres dw3x3 32 @112", 112, 112, 32, 3, 32, 1, 1},
	{"faceres 1x1 32->64 @112", 112, 112, 32, 1, 64, 1, 0},
	{"faceres 1x1 128->128 @56", 56, 56, 128, 1, 128, 1, 0},
	{"faceres 1x1 256->256 @28", 28, 28, 256, 1, 256, 1, 0},
	{"faceres 1x1 512->512 @14", 14, 14, 512, 1, 512, 1, 0},
	{"faceres dw3x3 512 @14", 14, 14, 512, 3, 512, 1, 1},
	{"faceres 1x1 1024->1024 @7", 7, 7, 1024, 1, 1024, 1, 0},
	{"centernet 1x1 16->64 @256", 256, 256, 16, 1, 64, 1, 0},
	{"centernet dw5x5 s2 72 @128", 128, 128, 72, 5, 72, 2, 1},
	{"centernet 1x1 96->24 @32", 32, 32, 96, 1, 24, 1, 0},
	{"centernet 1x1 128->80 @128", 128, 128, 128, 1, 80, 1, 0},
	{"centernet 1x1 128->4 @128", 128, 128, 128, 1, 4, 1, 0},
	{"generic conv3x3 64->64 @56", 56, 56, 64, 3, 64, 1, 0},
};

/* Seconds per run: the best of 12 batches of >= 10 ms (the minimum is the
** least disturbed by other processes on a shared machine). */
static double time_run(struct kcase *c, struct fl_pool *pool, float *y)
{
	const struct fl_op_def *def = fl__op_def(c->node.op);
	const struct fl_tensor *in[7];
	for (int i = 0; i < 7; i++)
		in[i] = c->have[i] ? &c->t[i] : NULL;
	struct fl_tensor out;
	char err[128];
	def->infer(&c->node, in, &out, err, sizeof(err));
	out.data = y;
	struct fl_exec ex;
	memset(&ex, 0, sizeof(ex));
	ex.pool = pool;
	ex.n_threads = fl__pool_n_threads(pool);
	ex.scratch_size = def->scratch ? def->scratch(&c->node, in, &out, ex.n_threads) : 0;
	ex.scratch = ex.scratch_size ? aligned_alloc(64, (ex.scratch_size + 63) & ~(size_t)63) : NULL;
	double best = 1e30;
	int reps = 1;
	for (int round = 0; round < 13; round++) {
		double t0 = pool ? fl__now() : cpu_now();
		for (int i = 0; i < reps; i++)
			def->run(&c->node, in, &out, &ex);
		double dt = ((pool ? fl__now() : cpu_now()) - t0) / reps;
		if (round > 0 && dt < best)
			best = dt;
		if (round == 0)
			reps = (int)(0.01 / (dt > 1e-7 ? dt : 1e-7)) + 1; /* warm-up sets the count */
	}
	free(ex.scratch);
	return best;
}

FL_TEST_T(kern_bench_conv, 600)
{
	const char *b = getenv("FL_BENCH");
	if (!b || strcmp(b, "1") != 0)
		FL_SKIP("set FL_BENCH=1");
	int isa = fl__cpu_isa();
	struct fl_pool *pool2;
	ASSERT_OK(fl__pool_create(2, &pool2));
	struct fl_test_rng r = {1};
	printf("kernel bench, isa %s (GFLOP/s, ms per run)\n", fl__isa_name(isa));
	printf("%-34s %10s %9s %10s %9s\n", "shape", "1 thread", "ms", "2 threads", "ms");
	for (size_t s = 0; s < FL_ARRAY_SIZE(bshapes); s++) {
		const struct bshape *p = &bshapes[s];
		const char *only = getenv("FL_BENCH_ONLY"); /* substring of the shape names */
		if (only && *only && !strstr(p->name, only))
			continue;
		struct kcase c;
		memset(&c, 0, sizeof(c));
		kc_tensor(&c, 0, 4, (const int64_t[]){1, p->h, p->w, p->ci});
		kc_tensor(&c, 1, 4, p->depthwise == 1 ? (const int64_t[]){p->k, p->k, p->ci, 1}
		                    : p->depthwise == 2 ? (const int64_t[]){1, 1, p->ci, p->co}
		                                        : (const int64_t[]){p->k, p->k, p->ci, p->co});
		kc_tensor(&c, 2, 1, (const int64_t[]){p->co});
		kc_fill(&c, 0, &r, -1, 1);
		kc_fill(&c, 1, &r, -0.1f, 0.1f);
		kc_fill(&c, 2, &r, -1, 1);
		if (p->depthwise == 2) {
			/* BlazeFace block: relu(1x1(dw(x)) + b + x) in one node */
			kc_tensor(&c, 4, 4, (const int64_t[]){1, p->h, p->w, p->co});
			kc_tensor(&c, 5, 4, (const int64_t[]){p->k, p->k, p->ci, 1});
			kc_tensor(&c, 6, 1, (const int64_t[]){p->ci});
			kc_fill(&c, 4, &r, -1, 1);
			kc_fill(&c, 5, &r, -0.1f, 0.1f);
			kc_fill(&c, 6, &r, -1, 1);
		}
		struct fl_attr a = {.padding = FL_PADDING_SAME, .stride = {p->stride, p->stride}, .act = FL_ACT_RELU};
		kc_wire(&c, p->depthwise == 1 ? FL_OP_DWCONV2D : FL_OP_CONV2D, &a, 1);
		kc_prepare(&c, isa);
		const int oh = (p->h + p->stride - 1) / p->stride, ow = (p->w + p->stride - 1) / p->stride;
		const char *yo = getenv("FL_BENCH_YOFF");
		float *ybuf = aligned_alloc(64, ((size_t)oh * ow * p->co * sizeof(float) + 4096 + 63) & ~(size_t)63), *y = ybuf + (yo ? atoi(yo) : 0);
		double flops = p->depthwise == 2 ? 2.0 * oh * ow * p->ci * (p->co + p->k * p->k)
		                                 : 2.0 * oh * ow * p->co * p->k * p->k * (p->depthwise ? 1 : p->ci);
		double t1 = time_run(&c, NULL, y), t2 = time_run(&c, pool2, y);
		printf("%-34s %10.1f %9.3f %10.1f %9.3f\n", p->name, flops / t1 * 1e-9, t1 * 1e3, flops / t2 * 1e-9,
		       t2 * 1e3);
		fflush(stdout);
		free(ybuf);
		kc_free(&c);
	}
	fl__pool_destroy(pool2);
}
