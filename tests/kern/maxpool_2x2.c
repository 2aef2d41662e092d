/*
** maxpool_2x2.c -- the 2x2 stride-2 MaxPool rows (BlazeFace's stride-2
** blocks) against a naive pool: SAME / VALID / EXPLICIT padding on every
** side, odd and even sizes, batch 2, channel counts off the vector width,
** negative values and ties, on the caller's thread and on a 2-thread pool.
*/
#include "../unit/ops_util.h"

#include <math.h>

/* Naive MaxPool (kh x kw, stride s) over the real pixels of each window. */
static void naive_maxpool(const struct fl_tensor *x, int k, int s, int ph, int pw, int oh, int ow, float *o)
{
	const int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
	const float *p = x->data;
	for (int64_t b = 0; b < N; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++)
				for (int64_t c = 0; c < C; c++) {
					float m = -INFINITY;
					for (int ky = 0; ky < k; ky++)
						for (int kx = 0; kx < k; kx++) {
							const int64_t y = (int64_t)oy * s - ph + ky, xx = (int64_t)ox * s - pw + kx;
							if (y >= 0 && y < H && xx >= 0 && xx < W) {
								const float v = p[((b * H + y) * W + xx) * C + c];
								m = v > m ? v : m;
							}
						}
					o[((b * oh + oy) * ow + ox) * C + c] = m;
				}
}

FL_TEST(kern_maxpool_2x2_rows)
{
	static const struct {
		int64_t n, h, w, c;
		int padding, pads[4];
	} cases[] = {
		{1, 288, 512, 24, FL_PADDING_VALID, {0}}, /* BlazeFace at 576x1024 */
		{2, 9, 11, 24, FL_PADDING_SAME, {0}},     /* odd: bottom / right window half out */
		{1, 10, 12, 3, FL_PADDING_SAME, {0}},
		{1, 7, 13, 37, FL_PADDING_VALID, {0}},
		{1, 8, 9, 5, FL_PADDING_EXPLICIT, {1, 1, 1, 0}}, /* left and top pad */
		{2, 6, 6, 17, FL_PADDING_EXPLICIT, {0, 2, 1, 1}},
		{1, 5, 5, 1, FL_PADDING_EXPLICIT, {1, 0, 3, 2}}, /* a window wholly in the padding */
		{1, 2, 2, 48, FL_PADDING_VALID, {0}},
	};
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	struct fl_test_rng r = {0x2a2au};
	for (size_t i = 0; i < FL_ARRAY_SIZE(cases); i++) {
		struct fl_tensor x = tt_make(FL_DTYPE_F32, 4, DIMS(cases[i].n, cases[i].h, cases[i].w, cases[i].c), NULL);
		float *xp = x.data;
		for (int64_t e = 0; e < fl_tensor_numel(&x); e++)
			xp[e] = floorf(fl_test_uniform(&r, -8.0f, 8.0f)) * 0.5f; /* ties and negatives */
		struct fl_node n;
		memset(&n, 0, sizeof(n));
		n.op = FL_OP_MAXPOOL;
		n.n_in = 1;
		n.n_out = 1;
		n.attr.ksize[0] = n.attr.ksize[1] = 2;
		n.attr.stride[0] = n.attr.stride[1] = 2;
		n.attr.padding = cases[i].padding;
		memcpy(n.attr.pads, cases[i].pads, sizeof(n.attr.pads));
		for (int t = 0; t < 2; t++) {
			struct fl_tensor out[FL_MAX_DIMS];
			ASSERT_OK(t ? tt_run_pool(&n, IN(&x), out, pool) : tt_run(&n, IN(&x), out));
			const int oh = (int)out[0].dims[1], ow = (int)out[0].dims[2];
			int ph = 0, pw = 0;
			if (cases[i].padding == FL_PADDING_SAME) {
				ph = (int)FL_MAX(0, (oh - 1) * 2 + 2 - cases[i].h) / 2;
				pw = (int)FL_MAX(0, (ow - 1) * 2 + 2 - cases[i].w) / 2;
			} else if (cases[i].padding == FL_PADDING_EXPLICIT) {
				ph = cases[i].pads[0];
				pw = cases[i].pads[2];
			}
			const int64_t no = fl_tensor_numel(&out[0]);
			float *want = malloc((size_t)no * sizeof(float));
			naive_maxpool(&x, 2, 2, ph, pw, oh, ow, want);
			for (int64_t e = 0; e < no; e++)
				ASSERT_MSG(((float *)out[0].data)[e] == want[e], "case %zu threads %d element %lld: got %g want %g",
				           i, t + 1, (long long)e, (double)((float *)out[0].data)[e], (double)want[e]);
			free(want);
			free(out[0].data);
		}
		free(x.data);
	}
	fl__pool_destroy(pool);
}
