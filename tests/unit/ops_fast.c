/*
** ops_fast.c -- unit tests of the ops' fast paths against naive reference
** loops written here: separable MaxPool (odd sizes, channel tails, channel
** and column blocks, SAME / VALID / explicit padding borders), CAST between
** every dtype pair, TopK on long rows with many ties, ArgMax ties, global
** MEAN / SUM over H,W with its row chunks, and the same ops through a
** 2-thread pool (bit-identical to the serial run).
*/
#include "ops_util.h"

#include <math.h>

/* Deterministic pseudo-random values; `levels` > 0 quantises to that many
** distinct values so ties are frequent. */
static uint32_t fr_state = 12345;
static float fr_next(int levels)
{
	fr_state = fr_state * 1664525u + 1013904223u;
	uint32_t r = fr_state >> 8;
	if (levels > 0)
		return (float)(r % (uint32_t)levels) - (float)(levels / 2);
	return (float)r / (float)(1u << 24) * 8.0f - 4.0f;
}

static struct fl_tensor fr_tensor(int n_dims, const int64_t *dims, int levels)
{
	struct fl_tensor t = tt_make(FL_DTYPE_F32, n_dims, dims, NULL);
	int64_t n = fl_tensor_numel(&t);
	for (int64_t i = 0; i < n; i++)
		((float *)t.data)[i] = fr_next(levels);
	return t;
}

/* Free the data of out[0..n). */
static void fr_free(struct fl_tensor *out, int n)
{
	for (int i = 0; i < n; i++) {
		free(out[i].data);
		out[i].data = NULL;
	}
}

/* ------------------------------------------------------------- maxpool */

/* Naive MaxPool over the real pixels of each window (-inf if none). */
static void ref_maxpool(const struct fl_tensor *x, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow,
                        float *o)
{
	int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
	const float *p = x->data;
	for (int64_t b = 0; b < N; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int64_t c = 0; c < C; c++) {
					float m = -INFINITY;
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++) {
							int64_t y = (int64_t)oy * sh - ph + ky, xx = (int64_t)ox * sw - pw + kx;
							if (y < 0 || y >= H || xx < 0 || xx >= W)
								continue;
							float v = p[((b * H + y) * W + xx) * C + c];
							m = v > m ? v : m;
						}
					o[((b * oh + oy) * ow + ox) * C + c] = m;
				}
}

struct mp_case {
	int64_t n, h, w, c;
	int k, s, padding, pads[4];
};

FL_TEST(ops_fast_maxpool_matches_naive)
{
	static const struct mp_case cases[] = {
		{1, 17, 13, 80, 3, 1, FL_PADDING_SAME, {0}},    /* CenterNet NMS, odd size */
		{1, 16, 31, 5, 3, 1, FL_PADDING_SAME, {0}},     /* channel tail */
		{2, 9, 11, 24, 2, 2, FL_PADDING_SAME, {0}},     /* BlazeFace 2x2/2, odd: pad right */
		{1, 10, 12, 24, 2, 2, FL_PADDING_VALID, {0}},
		{1, 7, 7, 3, 3, 2, FL_PADDING_SAME, {0}},
		{1, 6, 9, 7, 3, 2, FL_PADDING_VALID, {0}},
		{1, 5, 300, 80, 3, 1, FL_PADDING_SAME, {0}},    /* several column blocks */
		{1, 4, 9, 1501, 3, 1, FL_PADDING_SAME, {0}},    /* channel blocks */
		{1, 4, 9, 1501, 2, 2, FL_PADDING_SAME, {0}},
		{1, 6, 6, 4, 3, 1, FL_PADDING_EXPLICIT, {2, 1, 0, 3}},
		{1, 5, 5, 2, 5, 1, FL_PADDING_SAME, {0}},
		{1, 1, 1, 9, 3, 1, FL_PADDING_SAME, {0}},
	};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct mp_case *k = &cases[ci];
		struct fl_tensor out[FL_MAX_DIMS], out2[FL_MAX_DIMS];
		struct fl_node n = tt_node(FL_OP_MAXPOOL);
		struct fl_tensor x = fr_tensor(4, DIMS(k->n, k->h, k->w, k->c), ci % 2 ? 7 : 0);
		int ph = 0, pw = 0;
		n.attr.ksize[0] = n.attr.ksize[1] = k->k;
		n.attr.stride[0] = n.attr.stride[1] = k->s;
		n.attr.padding = k->padding;
		memcpy(n.attr.pads, k->pads, sizeof(k->pads));
		ASSERT_OK(tt_run(&n, IN(&x), out));
		ASSERT_OK(tt_run_pool(&n, IN(&x), out2, pool));
		int oh = (int)out[0].dims[1], ow = (int)out[0].dims[2];
		if (k->padding == FL_PADDING_SAME) {
			ph = (int)FL_MAX(0, ((oh - 1) * k->s + k->k - k->h)) / 2;
			pw = (int)FL_MAX(0, ((ow - 1) * k->s + k->k - k->w)) / 2;
		} else if (k->padding == FL_PADDING_EXPLICIT) {
			ph = k->pads[0];
			pw = k->pads[2];
		}
		int64_t no = fl_tensor_numel(&out[0]);
		float *ref = malloc((size_t)no * sizeof(float));
		ref_maxpool(&x, k->k, k->k, k->s, k->s, ph, pw, oh, ow, ref);
		for (int64_t i = 0; i < no; i++)
			ASSERT_MSG(((float *)out[0].data)[i] == ref[i], "case %zu element %lld: got %g want %g", ci,
			           (long long)i, (double)((float *)out[0].data)[i], (double)ref[i]);
		ASSERT_EQ(memcmp(out[0].data, out2[0].data, (size_t)no * sizeof(float)), 0);
		free(ref);
		fr_free(out, 1);
		fr_free(out2, 1);
		free(x.data);
	}
	fl__pool_destroy(pool);
}

FL_TEST(ops_fast_maxpool_window_in_padding)
{
	/* explicit pads wider than the window: the first output row sees only
	** padding and is -inf */
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_MAXPOOL);
	struct fl_tensor x = T_F32(DIMS(1, 2, 2, 1), 1, 2, 3, 4);
	n.attr.ksize[0] = n.attr.ksize[1] = 1;
	n.attr.stride[0] = n.attr.stride[1] = 1;
	n.attr.padding = FL_PADDING_EXPLICIT;
	n.attr.pads[0] = 1;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 3, 2, 1);
	ASSERT_F32S(out[0], 0, -INFINITY, -INFINITY, 1, 2, 3, 4);
	n.attr.ksize[1] = 5000;
	ASSERT_EQ(tt_infer(&n, IN(&x), out), FL_EUNSUPPORTED);
}

/* ---------------------------------------------------------------- cast */

FL_TEST(ops_fast_cast_every_pair)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_CAST);
	/* 37 elements: a vector tail after the 16/8-wide loops */
	float fv[37];
	int32_t iv[37];
	uint8_t bv[37];
	for (int i = 0; i < 37; i++) {
		fv[i] = (float)(i - 18) * 0.75f;
		iv[i] = (i - 18) * 1000003;
		bv[i] = (uint8_t)(i % 3 == 0 ? 0 : i);
	}
	fv[0] = NAN;
	fv[1] = 3e9f;
	fv[2] = -3e9f;
	fv[3] = -0.0f;
	struct fl_tensor f = tt_make(FL_DTYPE_F32, 1, DIMS(37), fv);
	struct fl_tensor in32 = tt_make(FL_DTYPE_I32, 1, DIMS(37), iv);
	struct fl_tensor b = tt_make(FL_DTYPE_BOOL, 1, DIMS(37), bv);

	n.attr.dtype = FL_DTYPE_I32;
	ASSERT_OK(tt_run(&n, IN(&f), out));
	ASSERT_EQ(((int32_t *)out[0].data)[0], 0);
	ASSERT_EQ(((int32_t *)out[0].data)[1], INT32_MAX);
	ASSERT_EQ(((int32_t *)out[0].data)[2], INT32_MIN);
	for (int i = 3; i < 37; i++)
		ASSERT_EQ(((int32_t *)out[0].data)[i], (int32_t)fv[i]); /* toward 0 */
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_BOOL;
	ASSERT_OK(tt_run(&n, IN(&f), out));
	for (int i = 0; i < 37; i++)
		ASSERT_EQ(((uint8_t *)out[0].data)[i], (uint8_t)(i == 0 || fv[i] != 0.0f)); /* NaN is true */
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_F32;
	ASSERT_OK(tt_run(&n, IN(&in32), out));
	for (int i = 0; i < 37; i++)
		ASSERT_EQ(((float *)out[0].data)[i], (float)iv[i]);
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_BOOL;
	ASSERT_OK(tt_run(&n, IN(&in32), out));
	for (int i = 0; i < 37; i++)
		ASSERT_EQ(((uint8_t *)out[0].data)[i], (uint8_t)(iv[i] != 0));
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_F32;
	ASSERT_OK(tt_run(&n, IN(&b), out));
	for (int i = 0; i < 37; i++)
		ASSERT_EQ(((float *)out[0].data)[i], bv[i] ? 1.0f : 0.0f);
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_I32;
	ASSERT_OK(tt_run(&n, IN(&b), out));
	for (int i = 0; i < 37; i++)
		ASSERT_EQ(((int32_t *)out[0].data)[i], bv[i] ? 1 : 0);
	fr_free(out, 1);
	n.attr.dtype = FL_DTYPE_BOOL;
	ASSERT_OK(tt_run(&n, IN(&b), out));
	ASSERT_EQ(memcmp(out[0].data, bv, 37), 0);
	fr_free(out, 1);

	/* a large cast through a 2-thread pool */
	struct fl_pool *pool;
	struct fl_tensor big = tt_make(FL_DTYPE_BOOL, 1, DIMS(200003), NULL);
	for (int i = 0; i < 200003; i++)
		((uint8_t *)big.data)[i] = (uint8_t)(i % 5 == 0);
	ASSERT_OK(fl__pool_create(2, &pool));
	n.attr.dtype = FL_DTYPE_F32;
	ASSERT_OK(tt_run_pool(&n, IN(&big), out, pool));
	for (int i = 0; i < 200003; i++)
		ASSERT_EQ(((float *)out[0].data)[i], i % 5 == 0 ? 1.0f : 0.0f);
	fr_free(out, 1);
	fl__pool_destroy(pool);
}

/* ---------------------------------------------------------------- topk */

struct vi {
	float v;
	int32_t i;
};

/* Descending value, ties by lower index. */
static int vi_cmp(const void *a, const void *b)
{
	const struct vi *x = a, *y = b;
	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

FL_TEST(ops_fast_topk_long_rows_with_ties)
{
	static const int64_t lens[] = {1, 63, 64, 65, 1000, 4099, 100003};
	static const int ks[] = {1, 5, 64, 100};
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
		for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
			int64_t L = lens[li];
			int k = (int)FL_MIN(ks[ki], L), rows = 3;
			struct fl_tensor out[FL_MAX_DIMS];
			struct fl_node n = tt_node(FL_OP_TOPK);
			n.n_out = 2;
			/* few levels: many ties, and CenterNet-like mostly-zero rows */
			struct fl_tensor x = fr_tensor(2, DIMS(rows, L), 9);
			for (int64_t i = 0; i < rows * L; i++)
				if ((i / L) == 1 && i % 13)
					((float *)x.data)[i] = 0.0f;
			struct fl_tensor kt = T_SCALAR_I32(k);
			struct fl_tensor xi = tt_make(FL_DTYPE_I32, 2, DIMS(rows, L), NULL);
			for (int64_t i = 0; i < rows * L; i++)
				((int32_t *)xi.data)[i] = (int32_t)((float *)x.data)[i] * 1000;
			ASSERT_OK(tt_run(&n, IN(&x, &kt), out));
			struct vi *s = malloc((size_t)L * sizeof(*s));
			for (int r = 0; r < rows; r++) {
				for (int64_t j = 0; j < L; j++) {
					s[j].v = ((float *)x.data)[r * L + j];
					s[j].i = (int32_t)j;
				}
				qsort(s, (size_t)L, sizeof(*s), vi_cmp);
				for (int j = 0; j < k; j++) {
					ASSERT_EQ(((float *)out[0].data)[r * k + j], s[j].v);
					ASSERT_MSG(((int32_t *)out[1].data)[r * k + j] == s[j].i, "L %lld k %d row %d pos %d: %d vs %d",
					           (long long)L, k, r, j, ((int32_t *)out[1].data)[r * k + j], s[j].i);
				}
			}
			fr_free(out, 2);
			/* int32 rows give the same order */
			ASSERT_OK(tt_run(&n, IN(&xi, &kt), out));
			for (int r = 0; r < rows; r++) {
				for (int64_t j = 0; j < L; j++) {
					s[j].v = ((float *)x.data)[r * L + j];
					s[j].i = (int32_t)j;
				}
				qsort(s, (size_t)L, sizeof(*s), vi_cmp);
				for (int j = 0; j < k; j++) {
					ASSERT_EQ(((int32_t *)out[0].data)[r * k + j], (int32_t)s[j].v * 1000);
					ASSERT_EQ(((int32_t *)out[1].data)[r * k + j], s[j].i);
				}
			}
			fr_free(out, 2);
			free(s);
			free(x.data);
			free(xi.data);
		}
}

/* ------------------------------------------------------ mean, argmax */

FL_TEST(ops_fast_mean_sum_over_rows)
{
	static const int64_t shapes[][4] = {{2, 7, 5, 37}, {1, 1000, 1, 3}, {1, 64, 64, 130}, {3, 1, 3, 600}, {1, 2, 2, 1}};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (int op = 0; op < 2; op++) {
			const int64_t *sh = shapes[si];
			struct fl_tensor out[FL_MAX_DIMS], out2[FL_MAX_DIMS];
			struct fl_node n = tt_node(op ? FL_OP_SUM : FL_OP_MEAN);
			struct fl_tensor x = fr_tensor(4, sh, 0);
			struct fl_tensor ax = T_I32(DIMS(2), 1, -2);
			n.attr.keep_dims = (int)si % 2;
			ASSERT_OK(tt_run(&n, IN(&x, &ax), out));
			ASSERT_OK(tt_run_pool(&n, IN(&x, &ax), out2, pool));
			if (n.attr.keep_dims)
				ASSERT_SHAPE(out[0], sh[0], 1, 1, sh[3]);
			else
				ASSERT_SHAPE(out[0], sh[0], sh[3]);
			for (int64_t b = 0; b < sh[0]; b++)
				for (int64_t c = 0; c < sh[3]; c++) {
					double s = 0, sa = 0; /* sa: the scale of the rounding errors */
					for (int64_t r = 0; r < sh[1] * sh[2]; r++) {
						s += ((float *)x.data)[(b * sh[1] * sh[2] + r) * sh[3] + c];
						sa += fabs(((float *)x.data)[(b * sh[1] * sh[2] + r) * sh[3] + c]);
					}
					if (!op) {
						s /= (double)(sh[1] * sh[2]);
						sa /= (double)(sh[1] * sh[2]);
					}
					float got = ((float *)out[0].data)[b * sh[3] + c];
					ASSERT_MSG(fabs(got - s) <= 1e-6 * (1e-3 + sa), "shape %zu b %lld c %lld: %.9g vs %.9g", si,
					           (long long)b, (long long)c, (double)got, s);
				}
			/* the row chunks are fixed: a pool gives the same bits */
			ASSERT_EQ(memcmp(out[0].data, out2[0].data, (size_t)fl_tensor_numel(&out[0]) * 4), 0);
			fr_free(out, 1);
			fr_free(out2, 1);
			free(x.data);
		}
	fl__pool_destroy(pool);
}

FL_TEST(ops_fast_argmax_ties_any_axis)
{
	static const int64_t shapes[][3] = {{1, 2304, 17}, {3, 5, 33}, {2, 1, 7}, {4, 70, 1}};
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (int axis = 0; axis < 3; axis++)
			for (int dt = 0; dt < 2; dt++) {
				const int64_t *sh = shapes[si];
				struct fl_tensor out[FL_MAX_DIMS];
				struct fl_node n = tt_node(FL_OP_ARGMAX);
				struct fl_tensor x = fr_tensor(3, sh, 5); /* 5 levels: ties everywhere */
				if (dt) {
					struct fl_tensor xi = tt_make(FL_DTYPE_I32, 3, sh, NULL);
					for (int64_t i = 0; i < fl_tensor_numel(&x); i++)
						((int32_t *)xi.data)[i] = (int32_t)((float *)x.data)[i];
					free(x.data);
					x = xi;
				}
				struct fl_tensor a = T_SCALAR_I32(axis);
				int64_t st[3] = {sh[1] * sh[2], sh[2], 1}, L = sh[axis];
				ASSERT_OK(tt_run(&n, IN(&x, &a), out));
				for (int64_t i0 = 0; i0 < sh[0]; i0++)
					for (int64_t i1 = 0; i1 < sh[1]; i1++)
						for (int64_t i2 = 0; i2 < sh[2]; i2++) {
							int64_t idx[3] = {i0, i1, i2};
							if (idx[axis] != 0)
								continue;
							int64_t base = i0 * st[0] + i1 * st[1] + i2 * st[2], best = 0;
							for (int64_t j = 1; j < L; j++) {
								double v = dt ? ((int32_t *)x.data)[base + j * st[axis]]
								              : ((float *)x.data)[base + j * st[axis]];
								double bv = dt ? ((int32_t *)x.data)[base + best * st[axis]]
								               : ((float *)x.data)[base + best * st[axis]];
								if (v > bv)
									best = j;
							}
							int64_t o = 0, k = 0;
							for (int d = 0; d < 3; d++)
								if (d != axis) {
									o = o * sh[d] + idx[d];
									k++;
								}
							ASSERT_EQ(((int32_t *)out[0].data)[o], (int32_t)best);
						}
				fr_free(out, 1);
				free(x.data);
			}
}

/* ------------------------------------------- per-channel short rows */

FL_TEST(ops_fast_per_channel_short_rows)
{
	static const int64_t cs[] = {1, 3, 5, 17, 95, 96, 97};
	static const enum fl_op ops[] = {FL_OP_SUB, FL_OP_DIV, FL_OP_ADD};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	for (size_t ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++)
		for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
			for (int side = 0; side < 2; side++) {
				int64_t C = cs[ci], H = 67, W = 129; /* odd row counts: a remainder */
				struct fl_tensor out[FL_MAX_DIMS], out2[FL_MAX_DIMS];
				struct fl_node n = tt_node(ops[oi]);
				struct fl_tensor x = fr_tensor(4, DIMS(1, H, W, C), 0);
				struct fl_tensor v = fr_tensor(1, DIMS(C), 0);
				n.attr.act = ops[oi] == FL_OP_ADD ? FL_ACT_RELU : 0;
				const struct fl_tensor *a = side ? &v : &x, *b = side ? &x : &v;
				ASSERT_OK(tt_run(&n, IN(a, b), out));
				ASSERT_OK(tt_run_pool(&n, IN(a, b), out2, pool));
				for (int64_t i = 0; i < H * W * C; i++) {
					float xa = ((float *)x.data)[i], xv = ((float *)v.data)[i % C];
					float p = side ? xv : xa, q = side ? xa : xv, want;
					want = ops[oi] == FL_OP_SUB ? p - q : ops[oi] == FL_OP_DIV ? p / q : p + q;
					if (ops[oi] == FL_OP_ADD && want < 0.0f)
						want = 0.0f;
					ASSERT_MSG(((float *)out[0].data)[i] == want, "C %lld op %d side %d element %lld", (long long)C,
					           (int)ops[oi], side, (long long)i);
				}
				ASSERT_EQ(memcmp(out[0].data, out2[0].data, (size_t)(H * W * C) * 4), 0);
				fr_free(out, 1);
				fr_free(out2, 1);
				free(x.data);
				free(v.data);
			}
	fl__pool_destroy(pool);
}
