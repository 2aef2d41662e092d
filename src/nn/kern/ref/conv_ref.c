/*
** conv_ref.c -- the reference convolution, depthwise convolution and
** matrix-multiply kernels: plain C loops that follow TensorFlow's
** definitions directly, always built, used when no SIMD family is chosen
** ($FL_CPU=ref, valgrind builds), when weights are not constants, and as
** the oracle that the optimised kernels are tested against.
**
** The loops are ordered so the innermost one runs over output channels
** (contiguous in HWIO filters and NHWC outputs), which the compiler can
** vectorise, but nothing else is clever here on purpose.
*/
#include "../kern_int.h"

static float alpha_at(const float *alpha, int alpha_n, int c)
{
	if (!alpha)
		return 0.0f;
	return alpha_n == 1 ? alpha[0] : alpha[c];
}

void fl__conv_ref(const struct fl__conv_geom *g, const float *x, const float *w, const float *bias,
                  int act, float slope, const float *alpha, int alpha_n, const float *res, float *y)
{
	const int co = g->co, ci = g->ci;
	for (int b = 0; b < g->n; b++)
		for (int oy = 0; oy < g->oh; oy++)
			for (int ox = 0; ox < g->ow; ox++) {
				float *out = y + (((int64_t)b * g->oh + oy) * g->ow + ox) * co;
				for (int o = 0; o < co; o++)
					out[o] = bias ? bias[o] : 0.0f;
				for (int ky = 0; ky < g->kh; ky++) {
					int iy = oy * g->sh - g->pt + ky * g->dh;
					if (iy < 0 || iy >= g->ih)
						continue; /* zero padding */
					for (int kx = 0; kx < g->kw; kx++) {
						int ix = ox * g->sw - g->pl + kx * g->dw;
						if (ix < 0 || ix >= g->iw)
							continue;
						const float *in = x + (((int64_t)b * g->ih + iy) * g->iw + ix) * ci;
						const float *f = w + ((int64_t)ky * g->kw + kx) * ci * co;
						for (int c = 0; c < ci; c++) {
							float v = in[c];
							const float *fr = f + (int64_t)c * co;
							for (int o = 0; o < co; o++)
								out[o] += v * fr[o];
						}
					}
				}
				if (res) {
					const float *rr = res + (out - y);
					for (int o = 0; o < co; o++)
						out[o] += rr[o];
				}
				for (int o = 0; o < co; o++)
					out[o] = fl__act_apply(act, out[o], slope, alpha_at(alpha, alpha_n, o));
			}
}

void fl__dwconv_ref(const struct fl__conv_geom *g, const float *x, const float *w, const float *bias,
                    int act, float slope, const float *alpha, int alpha_n, float *y)
{
	const int ci = g->ci, mult = g->mult, co = g->co;
	for (int b = 0; b < g->n; b++)
		for (int oy = 0; oy < g->oh; oy++)
			for (int ox = 0; ox < g->ow; ox++) {
				float *out = y + (((int64_t)b * g->oh + oy) * g->ow + ox) * co;
				for (int o = 0; o < co; o++)
					out[o] = bias ? bias[o] : 0.0f;
				for (int ky = 0; ky < g->kh; ky++) {
					int iy = oy * g->sh - g->pt + ky * g->dh;
					if (iy < 0 || iy >= g->ih)
						continue;
					for (int kx = 0; kx < g->kw; kx++) {
						int ix = ox * g->sw - g->pl + kx * g->dw;
						if (ix < 0 || ix >= g->iw)
							continue;
						const float *in = x + (((int64_t)b * g->ih + iy) * g->iw + ix) * ci;
						const float *f = w + ((int64_t)ky * g->kw + kx) * co;
						/* filter [kh][kw][ci][mult]: channel c*mult+m */
						for (int o = 0; o < co; o++)
							out[o] += in[o / mult] * f[o];
					}
				}
				for (int o = 0; o < co; o++)
					out[o] = fl__act_apply(act, out[o], slope, alpha_at(alpha, alpha_n, o));
			}
}

void fl__matmul_ref(int batch, int m, int n, int k, const float *a, int64_t a_stride, int ta,
                    const float *b, int64_t b_stride, int tb, const float *bias, int act, float slope,
                    const float *alpha, int alpha_n, float *y)
{
	for (int bi = 0; bi < batch; bi++) {
		const float *A = a + bi * a_stride;
		const float *B = b + bi * b_stride;
		float *Y = y + (int64_t)bi * m * n;
		for (int i = 0; i < m; i++) {
			float *row = Y + (int64_t)i * n;
			for (int j = 0; j < n; j++)
				row[j] = bias ? bias[j] : 0.0f;
			for (int l = 0; l < k; l++) {
				/* op(a)[i][l]: a is [m,k], or [k,m] when transposed */
				float v = ta ? A[(int64_t)l * m + i] : A[(int64_t)i * k + l];
				if (tb) {
					/* b is [n,k] */
					for (int j = 0; j < n; j++)
						row[j] += v * B[(int64_t)j * k + l];
				} else {
					const float *br = B + (int64_t)l * n;
					for (int j = 0; j < n; j++)
						row[j] += v * br[j];
				}
			}
			for (int j = 0; j < n; j++)
				row[j] = fl__act_apply(act, row[j], slope, alpha_at(alpha, alpha_n, j));
		}
	}
}
