/*
** conv.c -- the CONV2D, DWCONV2D and MATMUL ops: shape inference, weight
** packing (prepare), scratch sizing, FLOP counts, and the dispatch of a
** run to the reference kernels (nn/kern/ref/conv_ref.c) or to the
** AVX2 / AVX-512 kernels (nn/kern/x86/), split into tasks over the thread
** pool.
**
** How a convolution runs on the optimised path:
**   - 1x1, stride 1, no padding: a GEMM straight on the NHWC input
**     (M = N*H*W pixels, K = CI, N = CO);
**   - anything else: implicit GEMM -- the micro-kernel reads each output
**     pixel's receptive field in place (tap offsets from the window's
**     corner); tiles that touch the padding are first gathered (im2col,
**     zeros for padding) into the task's slice of the scratch buffer;
**   - depthwise (multiplier 1): a direct NHWC kernel, vectorised over
**     channels (stride 1: over the flat (x, channel) row), split over
**     output rows;
**   - separable CONV2D (a depthwise filter in input 5): per output row (two
**     rows on the pair path, sharing their input rows), the depthwise stage
**     into a per-thread row buffer, then the 1x1 GEMM on it -- the
**     intermediate never leaves L1;
**   - a residual (input 4) and the activation are applied in the GEMM's
**     store;
**   - AVX-512 and CO = 8 or 24: any of the above GEMMs runs
**     as the pixel-pair GEMM (conv_avx512.c), two pixels per vector, so
**     the half-empty last vector of a plain panel is never computed; with
**     plain rows (1x1, separable) and K even, as its k-pair form, which
**     reads A in place (two inputs of one pixel per lane pair) instead of
**     interleaving pixel pairs first.
** Weights, bias and PReLU alpha are packed by prepare() into n->prep for
** the node's ISA.  When they are not constants, the multiplier is not 1,
** or the ISA is FL_ISA_REF, the node has no prep and runs the reference.
** This file is compiled without ISA flags: it only calls an x86 kernel
** when the node's prep says that family packed it.
*/
#include "kern_int.h"

#include <stdint.h>
#include <stdlib.h>

/* Weights packed for one node. */
struct kprep {
	int isa;
	int nv, nr, mr;   /* GEMM panel: nv vectors = nr floats; mr rows */
	int k, n;         /* GEMM K and N */
	int n_panels;
	int cp;           /* depthwise: channels padded to the vector width */
	int tb;           /* matmul: b was transposed when packed */
	float *w;         /* panels, or depthwise taps [kh*kw][cp] */
	float *bias;      /* zero-padded, never NULL */
	float *alpha;     /* PReLU alpha, zero-padded, or NULL */
	/* depthwise stride-1 flat kernel (see struct fl__dw) */
	int nphase;
	float *wpat, *bpat, *apat;
	/* separable CONV2D: the depthwise stage's packing */
	struct kprep *dw;
	/* AVX-512 pair GEMM (N = 8 * pnq, see struct fl__pair), pnq 0: none */
	int pnq;
	float *pw, *pbias, *palpha;
	/* its k-pair packing, or NULL, and its pieces (see struct fl__pair) */
	float *kw, *kbias;
	int kq_taps, kq_tap_k;
};

/* ------------------------------------------------------------ geometry */

/* TF output size and leading pad of one spatial dimension; -1 when the
** window does not fit. */
static int out_dim(int in, int k, int s, int d, int padding, int plo, int phi, int *pad_before)
{
	const int ek = (k - 1) * d + 1;
	int out;
	*pad_before = 0;
	if (in < 0)
		return -1;
	switch (padding) {
	case FL_PADDING_SAME: {
		out = (in + s - 1) / s;
		int total = (out - 1) * s + ek - in;
		if (total < 0)
			total = 0;
		*pad_before = total / 2; /* the odd pixel goes bottom/right */
		return out;
	}
	case FL_PADDING_EXPLICIT:
		*pad_before = plo;
		in += plo + phi;
		/* fall through */
	default:
		if (in < ek)
			return -1;
		return (in - ek) / s + 1;
	}
}

static int attr_or1(int v) { return v > 0 ? v : 1; }

/* Fill g from x (NHWC) and the filter's shape; depthwise: [kh,kw,c,mult]. */
static int conv_geom(const struct fl_node *n, const struct fl_tensor *x, const struct fl_tensor *f, int depthwise,
                     struct fl__conv_geom *g, char *err, size_t err_size)
{
	const struct fl_attr *a = &n->attr;
	if (x->dtype != FL_DTYPE_F32 || f->dtype != FL_DTYPE_F32) {
		fl__errf(err, err_size, "input and filter must be float32");
		return FL_EDTYPE;
	}
	if (x->n_dims != 4 || f->n_dims != 4) {
		fl__errf(err, err_size, "input (%d dims) and filter (%d dims) must be 4-D", x->n_dims, f->n_dims);
		return FL_ESHAPE;
	}
	memset(g, 0, sizeof(*g));
	g->n = (int)x->dims[0];
	g->ih = (int)x->dims[1];
	g->iw = (int)x->dims[2];
	g->ci = (int)x->dims[3];
	g->kh = (int)f->dims[0];
	g->kw = (int)f->dims[1];
	g->sh = attr_or1(a->stride[0]);
	g->sw = attr_or1(a->stride[1]);
	g->dh = attr_or1(a->dilation[0]);
	g->dw = attr_or1(a->dilation[1]);
	if (f->dims[2] != x->dims[3] && x->dims[3] >= 0) {
		fl__errf(err, err_size, "filter expects %lld input channels, input has %lld", (long long)f->dims[2],
		         (long long)x->dims[3]);
		return FL_ESHAPE;
	}
	if (g->kh <= 0 || g->kw <= 0 || f->dims[3] <= 0) {
		fl__errf(err, err_size, "empty filter");
		return FL_ESHAPE;
	}
	if (depthwise) {
		g->mult = (int)f->dims[3];
		g->co = (int)f->dims[2] * g->mult;
	} else {
		g->mult = 1;
		g->co = (int)f->dims[3];
	}
	int pad = a->padding;
	g->oh = out_dim(g->ih, g->kh, g->sh, g->dh, pad, a->pads[0], a->pads[1], &g->pt);
	g->ow = out_dim(g->iw, g->kw, g->sw, g->dw, pad, a->pads[2], a->pads[3], &g->pl);
	if ((g->oh < 0 && g->ih >= 0) || (g->ow < 0 && g->iw >= 0)) {
		fl__errf(err, err_size, "filter %dx%d does not fit the %dx%d input", g->kh, g->kw, g->ih, g->iw);
		return FL_ESHAPE;
	}
	return 0;
}

/* Check the optional bias / alpha inputs against `co` channels. */
static int check_extra(const struct fl_node *n, const struct fl_tensor *const *in, int co, char *err, size_t err_size)
{
	if (n->n_in > 2 && in[2]) {
		int64_t k = fl_tensor_numel(in[2]);
		if (in[2]->dtype != FL_DTYPE_F32 || (k != co && co >= 0)) {
			fl__errf(err, err_size, "bias has %lld values for %d channels", (long long)k, co);
			return FL_ESHAPE;
		}
	}
	if (n->attr.act == FL_ACT_PRELU) {
		if (n->n_in < 4 || !in[3]) {
			fl__errf(err, err_size, "PReLU activation without alpha");
			return FL_EINVAL;
		}
		int64_t k = fl_tensor_numel(in[3]);
		if (in[3]->dtype != FL_DTYPE_F32 || (k != co && k != 1 && co >= 0)) {
			fl__errf(err, err_size, "PReLU alpha has %lld values for %d channels", (long long)k, co);
			return FL_ESHAPE;
		}
	}
	return 0;
}

static const float *bias_of(const struct fl_node *n, const struct fl_tensor *const *in)
{
	return n->n_in > 2 && in[2] ? (const float *)in[2]->data : NULL;
}

/* CONV2D's optional residual (input 4), added before the activation. */
static const float *res_of(const struct fl_node *n, const struct fl_tensor *const *in)
{
	return n->op == FL_OP_CONV2D && n->n_in > 4 && in[4] ? (const float *)in[4]->data : NULL;
}

static const float *alpha_of(const struct fl_node *n, const struct fl_tensor *const *in, int *alpha_n)
{
	*alpha_n = 0;
	if (n->attr.act != FL_ACT_PRELU || n->n_in < 4 || !in[3])
		return NULL;
	*alpha_n = (int)fl_tensor_numel(in[3]);
	return (const float *)in[3]->data;
}

/* ------------------------------------------------------------- packing */

static void prep_free(struct kprep *p)
{
	if (!p)
		return;
	fl_free(p->w);
	fl_free(p->bias);
	fl_free(p->alpha);
	fl_free(p->wpat);
	fl_free(p->bpat);
	fl_free(p->apat);
	fl_free(p->pw);
	fl_free(p->pbias);
	fl_free(p->palpha);
	fl_free(p->kw);
	fl_free(p->kbias);
	prep_free(p->dw);
	fl_free(p);
}

static void op_release(struct fl_node *n)
{
	prep_free(n->prep);
	n->prep = NULL;
	n->isa = FL_ISA_REF;
}

/* Constant data of input i, or NULL (absent or not constant). */
static const struct fl_value *const_in(const struct fl_node *n, const struct fl_graph *g, int i)
{
	if (i >= n->n_in || n->in[i] < 0 || n->in[i] >= g->n_values)
		return NULL;
	return &g->values[n->in[i]];
}

/* Panel width for N columns: vectors per panel that waste the least
** padding, ties going to fewer (taller micro-kernel tiles). */
static int choose_nv(int isa, int n)
{
	const int vw = fl__isa_vw(isa), nv_max = fl__isa_nv_max(isa);
	const int nvec = (n + vw - 1) / vw;
	if (nvec <= nv_max)
		return nvec;
	int best = 2, best_pad = INT32_MAX;
	for (int nv = 2; nv <= nv_max; nv++) {
		int pad = (nvec + nv - 1) / nv * nv - nvec;
		if (pad < best_pad) {
			best_pad = pad;
			best = nv;
		}
	}
	return best;
}

/*
** Allocate a prep for a GEMM with K x N weights: B(k, j) = b[k*ldk + j*ldj]
** (HWIO filters and plain matmul b: ldk = N, ldj = 1; transposed b:
** ldk = 1, ldj = K), bias/alpha (alpha_n 1 broadcasts) may be NULL.
*/
static int pack_gemm(int isa, int k, int n, const float *b, int64_t ldk, int64_t ldj, const float *bias,
                     const float *alpha, int alpha_n, struct kprep **out)
{
	struct kprep *p = fl_calloc(1, sizeof(*p));
	if (!p)
		return FL_ENOMEM;
	p->isa = isa;
	p->nv = choose_nv(isa, n);
	p->nr = p->nv * fl__isa_vw(isa);
	p->mr = fl__gemm_mr(isa, p->nv);
	p->k = k;
	p->n = n;
	p->n_panels = (n + p->nr - 1) / p->nr;
	const size_t npad = (size_t)p->n_panels * p->nr;
	p->w = fl_aligned_alloc(64, npad * (size_t)k * sizeof(float) + 64);
	p->bias = fl_aligned_alloc(64, npad * sizeof(float));
	if (alpha)
		p->alpha = fl_aligned_alloc(64, npad * sizeof(float));
	if (!p->w || !p->bias || (alpha && !p->alpha)) {
		prep_free(p);
		return FL_ENOMEM;
	}
	for (int pi = 0; pi < p->n_panels; pi++) {
		float *dst = p->w + (size_t)pi * p->nr * k;
		for (int l = 0; l < k; l++)
			for (int j = 0; j < p->nr; j++) {
				int col = pi * p->nr + j;
				dst[(size_t)l * p->nr + j] = col < n ? b[l * ldk + col * ldj] : 0.0f;
			}
	}
	for (size_t j = 0; j < npad; j++) {
		p->bias[j] = bias && (int)j < n ? bias[j] : 0.0f;
		if (p->alpha)
			p->alpha[j] = (int)j < n ? alpha[alpha_n == 1 ? 0 : j] : 0.0f;
	}
	*out = p;
	return 0;
}

/* N values the pair GEMM serves: 8 and 24 (plain panels would leave 8 of
** 16 lanes idle in the last vector; at 40 they measured as fast). */
static int pair_nq(int isa, int n)
{
	return isa == FL_ISA_AVX512 && (n == 8 || n == 24) ? n / 8 : 0;
}

/* Add the pair packing of the K x N HWIO weights b (row stride N) to p;
** the k-pair packing takes the K inputs as `taps` pieces of tap_k. */
static int pack_pair(struct kprep *p, const float *b, const float *bias, const float *alpha, int alpha_n, int taps,
                     int tap_k)
{
	const int k = p->k, n = p->n, nq = pair_nq(p->isa, n), w = nq * 16;
	p->pw = fl_aligned_alloc(64, (size_t)k * w * sizeof(float));
	p->pbias = fl_aligned_alloc(64, (size_t)w * sizeof(float));
	if (alpha)
		p->palpha = fl_aligned_alloc(64, (size_t)w * sizeof(float));
	if (!p->pw || !p->pbias || (alpha && !p->palpha))
		return FL_ENOMEM;
	/* lanes 2i and 2i+1 of vector j: channel 8j + i (of either pixel) */
	for (int l = 0; l < k; l++)
		for (int j = 0; j < w; j++)
			p->pw[(size_t)l * w + j] = b[(size_t)l * n + (j / 16) * 8 + (j % 16) / 2];
	for (int j = 0; j < w; j++) {
		const int ch = (j / 16) * 8 + (j % 16) / 2;
		p->pbias[j] = bias ? bias[ch] : 0.0f;
		if (p->palpha)
			p->palpha[j] = alpha[alpha_n == 1 ? 0 : j % n]; /* output order */
	}
	p->pnq = nq;
	/* the k-pair packing ($FL_KERN_NOKPAIR: A/B timing and the tests of
	** the interleaved path) */
	if (taps * tap_k == k && !getenv("FL_KERN_NOKPAIR")) {
		const int hp = (tap_k + 1) / 2;
		p->kw = fl_aligned_alloc(64, (size_t)taps * hp * w * sizeof(float));
		p->kbias = fl_aligned_alloc(64, (size_t)w * sizeof(float));
		if (!p->kw || !p->kbias)
			return FL_ENOMEM;
		for (int t = 0; t < taps; t++)
			for (int kk = 0; kk < hp; kk++)
				for (int j = 0; j < w; j++) {
					const int l = 2 * kk + j % 2; /* input of the piece */
					p->kw[((size_t)t * hp + kk) * w + j] =
					    l < tap_k ? b[(size_t)(t * tap_k + l) * n + (j / 16) * 8 + (j % 16) / 2] : 0.0f;
				}
		for (int j = 0; j < w; j++)
			p->kbias[j] = bias && j % 2 == 0 ? bias[(j / 16) * 8 + (j % 16) / 2] : 0.0f;
		p->kq_taps = taps;
		p->kq_tap_k = tap_k;
	}
	return 0;
}

/* Bias and alpha constants (when present) of a node, or -1 if one of them
** is not constant. */
static int extras_const(const struct fl_node *n, const struct fl_graph *g, const float **bias, const float **alpha,
                        int *alpha_n)
{
	const struct fl_value *v;
	*bias = NULL;
	*alpha = NULL;
	*alpha_n = 0;
	if ((v = const_in(n, g, 2))) {
		if (!v->data || v->dtype != FL_DTYPE_F32)
			return -1;
		*bias = v->data;
	}
	if (n->attr.act == FL_ACT_PRELU) {
		if (!(v = const_in(n, g, 3)) || !v->data || v->dtype != FL_DTYPE_F32)
			return -1;
		*alpha = v->data;
		int64_t cnt = 1;
		for (int i = 0; i < v->n_dims; i++)
			cnt *= v->dims[i];
		*alpha_n = (int)cnt;
	}
	return 0;
}

static int pack_dw(int isa, const struct fl_value *f, const float *bias, const float *alpha, int alpha_n,
                   struct kprep **out);

static int clamp_isa(int isa)
{
	if (isa > FL_ISA_AVX512)
		isa = FL_ISA_AVX512;
	int det = fl__cpu_detect();
	return isa > det ? det : isa;
}

static int conv_prepare(struct fl_node *n, const struct fl_graph *g, int isa, char *err, size_t err_size)
{
	op_release(n);
	isa = clamp_isa(isa);
	const struct fl_value *f = const_in(n, g, 1);
	const float *bias, *alpha;
	int alpha_n;
	if (isa == FL_ISA_REF || !f || !f->data || f->dtype != FL_DTYPE_F32 || f->n_dims != 4 ||
	    extras_const(n, g, &bias, &alpha, &alpha_n) < 0)
		return 0; /* reference path */
	const int kh = (int)f->dims[0], kw = (int)f->dims[1], ci = (int)f->dims[2], co = (int)f->dims[3];
	const struct fl_value *fd = const_in(n, g, 5), *bd = const_in(n, g, 6);
	struct kprep *dwp = NULL;
	if (fd) {
		/* separable: pack the depthwise stage too, or run the reference */
		if (!fd->data || fd->dtype != FL_DTYPE_F32 || fd->n_dims != 4 || fd->dims[3] != 1 ||
		    (bd && (!bd->data || bd->dtype != FL_DTYPE_F32)))
			return 0;
		if (pack_dw(isa, fd, bd ? bd->data : NULL, NULL, 0, &dwp) < 0) {
			fl__errf(err, err_size, "out of memory packing weights");
			return FL_ENOMEM;
		}
	}
	struct kprep *p;
	int rc = pack_gemm(isa, kh * kw * ci, co, f->data, co, 1, bias, alpha, alpha_n, &p);
	if (rc < 0) {
		prep_free(dwp);
		fl__errf(err, err_size, "out of memory packing weights");
		return rc;
	}
	p->dw = dwp;
	/* $FL_KERN_NOPAIR (any value) keeps the plain panels: A/B timing only */
	/* the window's pieces as conv_taps() cuts them: kh rows of kw * ci
	** floats, or with dilation kh * kw taps of ci */
	const int dil_w = n->attr.dilation[1] > 0 ? n->attr.dilation[1] : 1;
	const int taps = dil_w == 1 ? kh : kh * kw, tap_k = dil_w == 1 ? kw * ci : ci;
	if (pair_nq(isa, co) && !getenv("FL_KERN_NOPAIR") &&
	    pack_pair(p, f->data, bias, alpha, alpha_n, taps, tap_k) < 0) {
		prep_free(p);
		fl__errf(err, err_size, "out of memory packing weights");
		return FL_ENOMEM;
	}
	n->prep = p;
	n->isa = isa;
	return 0;
}

/* Pack depthwise taps f ([kh,kw,c,1] constant), bias and alpha (may be
** NULL) for `isa`. */
static int pack_dw(int isa, const struct fl_value *f, const float *bias, const float *alpha, int alpha_n,
                   struct kprep **out)
{
	const int taps = (int)(f->dims[0] * f->dims[1]), c = (int)f->dims[2];
	const int vw = fl__isa_vw(isa);
	struct kprep *p = fl_calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	p->isa = isa;
	p->cp = (c + vw - 1) / vw * vw;
	p->w = fl_aligned_alloc(64, (size_t)taps * p->cp * sizeof(float));
	p->bias = fl_aligned_alloc(64, (size_t)p->cp * sizeof(float));
	if (alpha)
		p->alpha = fl_aligned_alloc(64, (size_t)p->cp * sizeof(float));
	if (!p->w || !p->bias || (alpha && !p->alpha))
		goto fail;
	const float *w = f->data;
	for (int t = 0; t < taps; t++)
		for (int j = 0; j < p->cp; j++)
			p->w[(size_t)t * p->cp + j] = j < c ? w[(size_t)t * c + j] : 0.0f;
	for (int j = 0; j < p->cp; j++) {
		p->bias[j] = bias && j < c ? bias[j] : 0.0f;
		if (p->alpha)
			p->alpha[j] = j < c ? alpha[alpha_n == 1 ? 0 : j] : 0.0f;
	}
	/* the flat stride-1 kernel's patterns: lane l of phase ph is channel
	** (ph*vw + l) mod c; only for 3x3 / 5x5 and a bounded pattern size */
	int g_ = c, b_ = vw;
	while (b_) {
		int t_ = g_ % b_;
		g_ = b_;
		b_ = t_;
	}
	const int nphase = c / g_; /* lcm(vw, c) / vw */
	if ((taps == 9 || taps == 25) && f->dims[0] == f->dims[1] && nphase <= 64) {
		const int lanes = nphase * vw;
		p->nphase = nphase;
		p->wpat = fl_aligned_alloc(64, (size_t)lanes * taps * sizeof(float));
		p->bpat = fl_aligned_alloc(64, (size_t)lanes * sizeof(float));
		if (alpha)
			p->apat = fl_aligned_alloc(64, (size_t)lanes * sizeof(float));
		if (!p->wpat || !p->bpat || (alpha && !p->apat))
			goto fail;
		for (int ph = 0; ph < nphase; ph++)
			for (int l = 0; l < vw; l++) {
				const int ch = (ph * vw + l) % c;
				for (int t = 0; t < taps; t++)
					p->wpat[((size_t)ph * taps + t) * vw + l] = w[(size_t)t * c + ch];
				p->bpat[ph * vw + l] = p->bias[ch];
				if (p->apat)
					p->apat[ph * vw + l] = p->alpha[ch];
			}
	}
	*out = p;
	return 0;
fail:
	prep_free(p);
	return FL_ENOMEM;
}

static int dw_prepare(struct fl_node *n, const struct fl_graph *g, int isa, char *err, size_t err_size)
{
	op_release(n);
	isa = clamp_isa(isa);
	const struct fl_value *f = const_in(n, g, 1);
	const float *bias, *alpha;
	int alpha_n;
	if (isa == FL_ISA_REF || !f || !f->data || f->dtype != FL_DTYPE_F32 || f->n_dims != 4 || f->dims[3] != 1 ||
	    extras_const(n, g, &bias, &alpha, &alpha_n) < 0)
		return 0;
	struct kprep *p;
	if (pack_dw(isa, f, bias, alpha, alpha_n, &p) < 0) {
		fl__errf(err, err_size, "out of memory packing weights");
		return FL_ENOMEM;
	}
	n->prep = p;
	n->isa = isa;
	return 0;
}

/* --------------------------------------------------------------- infer */

/* A separable CONV2D (input 5 present): a depthwise stage (filter in[5],
** bias in[6]?, the node's stride / dilation / padding, no activation)
** followed by this node's 1x1 convolution (filter in[1] [1,1,C,CO]). */
static int is_sep(const struct fl_node *n, const struct fl_tensor *const *in)
{
	return n->op == FL_OP_CONV2D && n->n_in > 5 && in[5];
}

/* The geometries of a separable conv's stages: gd (depthwise on x) and g
** (the 1x1 on gd's output). */
static int sep_geom(const struct fl_node *n, const struct fl_tensor *const *in, struct fl__conv_geom *gd,
                    struct fl__conv_geom *g, char *err, size_t err_size)
{
	int rc = conv_geom(n, in[0], in[5], 1, gd, err, err_size);
	if (rc < 0)
		return rc;
	const struct fl_tensor *f = in[1];
	if (gd->mult != 1 || f->dtype != FL_DTYPE_F32 || f->n_dims != 4 || f->dims[0] != 1 || f->dims[1] != 1 ||
	    (f->dims[2] != gd->co && gd->co >= 0)) {
		fl__errf(err, err_size, "separable conv needs a multiplier-1 depthwise and a 1x1 filter on its %d channels",
		         gd->co);
		return FL_ESHAPE;
	}
	if (n->n_in > 6 && in[6] && (in[6]->dtype != FL_DTYPE_F32 || fl_tensor_numel(in[6]) != gd->co)) {
		fl__errf(err, err_size, "depthwise bias has %lld values for %d channels", (long long)fl_tensor_numel(in[6]),
		         gd->co);
		return FL_ESHAPE;
	}
	memset(g, 0, sizeof(*g));
	g->n = gd->n;
	g->ih = g->oh = gd->oh;
	g->iw = g->ow = gd->ow;
	g->ci = gd->co;
	g->co = (int)f->dims[3];
	g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = g->mult = 1;
	return 0;
}

static int conv_infer_common(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                             int depthwise, char *err, size_t err_size)
{
	struct fl__conv_geom g, gd;
	if (n->n_in < 2 || !in[0] || !in[1]) {
		fl__errf(err, err_size, "needs an input and a filter");
		return FL_EINVAL;
	}
	int rc = !depthwise && is_sep(n, in) ? sep_geom(n, in, &gd, &g, err, err_size)
	                                     : conv_geom(n, in[0], in[1], depthwise, &g, err, err_size);
	if (rc < 0)
		return rc;
	if ((rc = check_extra(n, in, g.co, err, err_size)) < 0)
		return rc;
	out[0].dtype = FL_DTYPE_F32;
	out[0].n_dims = 4;
	out[0].dims[0] = g.n;
	out[0].dims[1] = g.oh;
	out[0].dims[2] = g.ow;
	out[0].dims[3] = g.co;
	out[0].data = NULL;
	if (!depthwise && n->n_in > 4 && in[4]) {
		/* the residual must have the output's shape exactly */
		const struct fl_tensor *r = in[4];
		int same = r->dtype == FL_DTYPE_F32 && r->n_dims == 4;
		for (int i = 0; same && i < 4; i++)
			same = r->dims[i] == out[0].dims[i];
		if (!same) {
			fl__errf(err, err_size, "residual input does not have the output's shape [%d,%d,%d,%d]", g.n, g.oh,
			         g.ow, g.co);
			return FL_ESHAPE;
		}
	}
	return 0;
}

static int conv_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	return conv_infer_common(n, in, out, 0, err, err_size);
}

static int dw_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                    size_t err_size)
{
	return conv_infer_common(n, in, out, 1, err, err_size);
}

static int64_t conv_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	const struct fl_tensor *f = in[1];
	int64_t fl = 2 * fl_tensor_numel(out) * f->dims[0] * f->dims[1] * f->dims[2];
	if (is_sep(n, in)) /* + the depthwise stage: per output pixel, C * taps */
		fl += 2 * (fl_tensor_numel(out) / (out->dims[3] > 0 ? out->dims[3] : 1)) * f->dims[2] * in[5]->dims[0] *
		      in[5]->dims[1];
	return fl;
}

static int64_t dw_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	const struct fl_tensor *f = in[1];
	return 2 * fl_tensor_numel(out) * f->dims[0] * f->dims[1];
}

/* ------------------------------------------------------------ threading */

static void gemm_call(int isa, const struct fl__gemm *g, int m0, int m1, int p0, int p1)
{
	if (isa == FL_ISA_AVX512)
		fl__gemm_avx512(g, m0, m1, p0, p1);
	else
		fl__gemm_avx2(g, m0, m1, p0, p1);
}

/* A GEMM (or an im2col convolution) split into tasks: task t covers rows
** [mi*m_chunk, ...) and panels [pi*p_chunk, ...) with mi = t / n_pt. */
struct gemm_job {
	const struct kprep *p;
	struct fl__gemm gm;
	int m_chunk, p_chunk, n_pt;
	/* implicit-GEMM convolution */
	struct fl__convk ck;
	int m_total;
	float *scratch;
	size_t slice; /* floats per thread */
	/* pair GEMM (p->pnq): rows split in m_chunk tasks */
	struct fl__pair pr;
};

/* Below this much work a run stays on the calling thread: waking the
** pool costs more than the second thread saves. */
#define PAR_MIN_FLOPS 1000000.0

/* Threads worth using for `flops` of work. */
static int par_threads(const struct fl_exec *ex, double flops, double min_flops)
{
	int n = ex ? FL_MAX(ex->n_threads, 1) : 1;
	return flops < min_flops ? 1 : n;
}

/* Split m rows x n_panels panels into tasks for n_thr threads; rows in
** multiples of `align`. */
static int split_work(int m, int n_panels, int align, int n_thr, int *m_chunk, int *p_chunk, int *n_pt)
{
	*p_chunk = n_panels;
	*n_pt = 1;
	if (n_thr <= 1) {
		*m_chunk = m;
		return 1;
	}
	int m_blocks = (m + align - 1) / align;
	int want = 3 * n_thr; /* a few tasks per thread balance a noisy machine */
	if (m_blocks >= want) {
		*m_chunk = (m_blocks + want - 1) / want * align;
		return (m + *m_chunk - 1) / *m_chunk;
	}
	if (n_panels >= want) {
		/* few rows, wide B (late layers, FC): split the columns, so each
		** task streams only its own panels of the weights */
		*m_chunk = m_blocks * align;
		*p_chunk = (n_panels + want - 1) / want;
		*n_pt = (n_panels + *p_chunk - 1) / *p_chunk;
		return *n_pt;
	}
	if (m_blocks >= 2 * n_thr || n_panels < 2) {
		*m_chunk = align;
		return m_blocks;
	}
	/* few rows: split the panels as well */
	*m_chunk = m_blocks * align;
	int pt = FL_MIN(n_panels, want);
	*p_chunk = (n_panels + pt - 1) / pt;
	*n_pt = (n_panels + *p_chunk - 1) / *p_chunk;
	return *n_pt;
}

static void gemm_task(void *arg, int task, int thread)
{
	const struct gemm_job *j = arg;
	int mi = task / j->n_pt, pi = task % j->n_pt;
	int m0 = mi * j->m_chunk, m1 = FL_MIN(j->gm.m, m0 + j->m_chunk);
	int p0 = pi * j->p_chunk, p1 = FL_MIN(j->p->n_panels, p0 + j->p_chunk);
	if (m0 < m1 && p0 < p1)
		gemm_call(j->p->isa, &j->gm, m0, m1, p0, p1);
}

/* Per-thread scratch of an implicit-GEMM convolution: one micro-kernel
** tile (at most 14 rows) of gathered input, in 64-byte units. */
static size_t conv_slice(const struct kprep *p)
{
	if (p->pnq) /* pair GEMM: interleaved tile + im2col tile */
		return (fl__pair_scratch(p->k) + 15) / 16 * 16;
	return ((size_t)14 * p->k + 15) / 16 * 16;
}

static void conv_task(void *arg, int task, int thread)
{
	const struct gemm_job *j = arg;
	int m0 = task * j->m_chunk, m1 = FL_MIN(j->m_total, m0 + j->m_chunk);
	float *buf = j->scratch + (size_t)thread * j->slice;
	if (m0 >= m1)
		return;
	if (j->p->isa == FL_ISA_AVX512)
		fl__conv_avx512(&j->ck, m0, m1, buf);
	else
		fl__conv_avx2(&j->ck, m0, m1, buf);
}

/* Pixel rows of a pair GEMM (plain or implicit conv). */
static void pair_task(void *arg, int task, int thread)
{
	const struct gemm_job *j = arg;
	int m0 = task * j->m_chunk, m1 = FL_MIN(j->m_total, m0 + j->m_chunk);
	if (m0 < m1)
		fl__pair_avx512(&j->pr, m0, m1, j->scratch + (size_t)thread * j->slice);
}

/* Fill a pair GEMM from the prep and the plain GEMM's C / residual / act. */
static void pair_init(const struct kprep *p, const struct fl__gemm *gm, struct fl__pair *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->nq = p->pnq;
	pr->k = p->k;
	pr->b = p->pw;
	pr->bias = p->pbias;
	pr->alpha = p->palpha;
	pr->kb = p->kw;
	pr->kbias = p->kbias;
	pr->kq_taps = p->kq_taps;
	pr->kq_tap_k = p->kq_tap_k;
	pr->act = gm->act.kind;
	pr->slope = gm->act.slope;
	pr->c = gm->c;
	pr->res = gm->res;
	pr->a = gm->a;
	pr->lda = gm->lda;
}

static int is_direct(const struct fl__conv_geom *g)
{
	return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->ih &&
	       g->ow == g->iw;
}

/* Separable conv scratch: a zero row for the depthwise padding, then one
** depthwise output row per thread (64-byte multiples). */
static size_t sep_zero_floats(const struct fl__conv_geom *gd)
{
	return ((size_t)gd->iw * gd->ci + 16 + 15) / 16 * 16;
}

static size_t sep_row_floats(const struct fl__conv_geom *gd)
{
	return ((size_t)gd->ow * gd->co + 15) / 16 * 16;
}

/* Per-thread floats of a separable conv: two rows, then the pair GEMM's. */
static size_t sep_slice(const struct kprep *p, const struct fl__conv_geom *gd)
{
	return sep_row_floats(gd) * 2 + (p->pnq ? (fl__pair_scratch(p->k) + 15) / 16 * 16 : 0);
}

static size_t conv_scratch(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out,
                           int n_threads)
{
	const struct kprep *p = n->prep;
	struct fl__conv_geom g, gd;
	if (is_sep(n, in)) {
		if (sep_geom(n, in, &gd, &g, NULL, 0) < 0)
			return 0;
		if (!p || !p->dw) /* reference: the whole depthwise output */
			return (size_t)gd.n * gd.oh * gd.ow * gd.co * sizeof(float);
		return (sep_zero_floats(&gd) + sep_slice(p, &gd) * (size_t)FL_MAX(n_threads, 1)) * sizeof(float);
	}
	if (!p || conv_geom(n, in[0], in[1], 0, &g, NULL, 0) < 0 || (is_direct(&g) && !p->pnq))
		return 0;
	return conv_slice(p) * sizeof(float) * (size_t)FL_MAX(n_threads, 1);
}

static void init_act(const struct fl_node *n, const struct kprep *p, struct fl__act *a)
{
	a->kind = n->attr.act;
	a->slope = n->attr.act_alpha;
	a->alpha = p->alpha;
}

/* ----------------------------------------------------------------- run */

/* A separable conv's rows: each task runs the depthwise stage one output
** row at a time into its row buffer (in L1), then the 1x1 GEMM on it with
** bias, residual and activation fused into the store. */
struct sep_job {
	const struct kprep *p;
	struct fl__dw d;
	struct fl__gemm gm;
	int rows, chunk, ow, co;
	float *bufs;
	size_t slice, row; /* per-thread floats; the row buffer's part */
	float *y;
	const float *res;
};

static void sep_task(void *arg, int task, int thread)
{
	const struct sep_job *j = arg;
	int r0 = task * j->chunk, r1 = FL_MIN(j->rows, r0 + j->chunk);
	struct fl__dw d = j->d;
	struct fl__gemm gm = j->gm;
	float *buf = j->bufs + (size_t)thread * j->slice;
	d.yrow = buf;
	gm.a = buf;
	struct fl__pair pr;
	if (j->p->pnq)
		pair_init(j->p, &gm, &pr);
	/* pair path: rows two at a time, the depthwise stage sharing their
	** input rows (into two row buffers) */
	const int two = j->p->pnq;
	d.yrow_ld = two ? (ptrdiff_t)j->row : 0;
	for (int r = r0; r < r1; r++) {
		const ptrdiff_t off = (ptrdiff_t)r * j->ow * j->co;
		gm.c = j->y + off;
		gm.res = j->res ? j->res + off : NULL;
		if (two && r + 1 < r1) {
			/* two rows: the depthwise stage shares their input rows */
			fl__dw_avx512(&d, r, r + 2);
			for (int i = 0; i < 2; i++) {
				pr.a = buf + (size_t)i * j->row;
				pr.c = j->y + off + (ptrdiff_t)i * j->ow * j->co;
				pr.res = j->res ? j->res + off + (ptrdiff_t)i * j->ow * j->co : NULL;
				fl__pair_avx512(&pr, 0, j->ow, buf + 2 * j->row);
			}
			r++;
		} else if (j->p->pnq) {
			pr.a = buf;
			fl__dw_avx512(&d, r, r + 1);
			pr.c = gm.c;
			pr.res = gm.res;
			fl__pair_avx512(&pr, 0, j->ow, buf + 2 * j->row);
		} else if (j->p->isa == FL_ISA_AVX512) {
			fl__dw_avx512(&d, r, r + 1);
			fl__gemm_avx512(&gm, 0, j->ow, 0, j->p->n_panels);
		} else {
			fl__dw_avx2(&d, r, r + 1);
			fl__gemm_avx2(&gm, 0, j->ow, 0, j->p->n_panels);
		}
	}
}

static int sep_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                   const struct fl_exec *ex)
{
	struct fl__conv_geom g, gd;
	int rc = sep_geom(n, in, &gd, &g, NULL, 0);
	if (rc < 0)
		return rc;
	const struct kprep *p = n->prep;
	const float *dbias = n->n_in > 6 && in[6] ? in[6]->data : NULL;
	if (!p || !p->dw || p->k != g.ci || p->n != g.co) {
		/* reference: the depthwise output in the scratch, then the 1x1 */
		size_t need = (size_t)gd.n * gd.oh * gd.ow * gd.co * sizeof(float);
		if (need && (!ex || !ex->scratch || ex->scratch_size < need))
			return FL_EINTERNAL;
		int alpha_n;
		const float *alpha = alpha_of(n, in, &alpha_n);
		fl__dwconv_ref(&gd, in[0]->data, in[5]->data, dbias, FL_ACT_NONE, 0.0f, NULL, 0, ex ? ex->scratch : NULL);
		fl__conv_ref(&g, ex ? ex->scratch : NULL, in[1]->data, bias_of(n, in), n->attr.act, n->attr.act_alpha, alpha,
		             alpha_n, res_of(n, in), out[0].data);
		return 0;
	}
	struct sep_job j;
	memset(&j, 0, sizeof(j));
	j.rows = g.n * g.oh;
	j.ow = g.ow;
	j.co = g.co;
	if (j.rows == 0 || g.ow == 0)
		return 0;
	const int n_thr_all = ex ? FL_MAX(ex->n_threads, 1) : 1;
	const size_t zn = sep_zero_floats(&gd);
	j.slice = sep_slice(p, &gd);
	j.row = sep_row_floats(&gd);
	if (!ex || !ex->scratch || ex->scratch_size < (zn + j.slice * n_thr_all) * sizeof(float))
		return FL_EINTERNAL;
	memset(ex->scratch, 0, zn * sizeof(float));
	j.p = p;
	j.d.g = gd;
	j.d.x = in[0]->data;
	j.d.w = p->dw->w;
	j.d.bias = p->dw->bias;
	j.d.cp = p->dw->cp;
	j.d.act.kind = FL_ACT_NONE;
	j.d.zero = ex->scratch;
	j.d.wpat = p->dw->wpat;
	j.d.bpat = p->dw->bpat;
	j.d.nphase = p->dw->nphase;
	j.gm.m = g.ow;
	j.gm.n = g.co;
	j.gm.k = g.ci;
	j.gm.lda = g.ci;
	j.gm.b = p->w;
	j.gm.nr = p->nr;
	j.gm.nv = p->nv;
	j.gm.bias = p->bias;
	init_act(n, p, &j.gm.act);
	j.gm.ldc = g.co;
	j.bufs = (float *)ex->scratch + zn;
	j.y = out[0].data;
	j.res = res_of(n, in);
	const double flops = 2.0 * j.rows * g.ow * g.ci * (g.co + gd.kh * gd.kw);
	const int n_thr = par_threads(ex, flops, PAR_MIN_FLOPS);
	int tasks = n_thr == 1 ? 1 : FL_MIN(j.rows, 4 * n_thr);
	j.chunk = (j.rows + tasks - 1) / tasks;
	tasks = (j.rows + j.chunk - 1) / j.chunk;
	fl__pool_run(ex->pool, sep_task, &j, tasks);
	return 0;
}

/* The tap offsets of an implicit-GEMM convolution (toff: 64 entries) into
** ck (toff, taps, tap_k); more than 64 taps: ck->toff NULL (always gather). */
static void conv_taps(const struct fl__conv_geom *g, ptrdiff_t *toff, struct fl__convk *ck)
{
	int taps = g->kh * g->kw, tap_k = g->ci;
	if (g->dw == 1) {
		/* the kw taps of a window row are contiguous in NHWC: one tap of
		** kw*ci floats per row (fewer, longer inner loops) */
		taps = g->kh;
		tap_k = g->kw * g->ci;
	}
	for (int t = 0; t < taps && taps <= 64; t++) {
		const int ky = g->dw == 1 ? t : t / g->kw, kx = g->dw == 1 ? 0 : t % g->kw;
		toff[t] = ((ptrdiff_t)ky * g->dh * g->iw + (ptrdiff_t)kx * g->dw) * g->ci;
	}
	ck->toff = taps <= 64 ? toff : NULL;
	ck->taps = taps;
	ck->tap_k = tap_k;
}

static int conv_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	struct fl__conv_geom g;
	if (is_sep(n, in))
		return sep_run(n, in, out, ex);
	int rc = conv_geom(n, in[0], in[1], 0, &g, NULL, 0);
	if (rc < 0)
		return rc;
	const struct kprep *p = n->prep;
	if (!p || p->k != g.kh * g.kw * g.ci || p->n != g.co) {
		int alpha_n;
		const float *alpha = alpha_of(n, in, &alpha_n);
		fl__conv_ref(&g, in[0]->data, in[1]->data, bias_of(n, in), n->attr.act, n->attr.act_alpha, alpha, alpha_n,
		             res_of(n, in), out[0].data);
		return 0;
	}
	const int n_thr_all = ex ? FL_MAX(ex->n_threads, 1) : 1;
	const int n_thr = par_threads(ex, 2.0 * g.n * g.oh * g.ow * g.co * p->k, PAR_MIN_FLOPS);
	struct gemm_job j;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.gm.m = g.n * g.oh * g.ow;
	j.gm.n = g.co;
	j.gm.k = p->k;
	j.gm.b = p->w;
	j.gm.nr = p->nr;
	j.gm.nv = p->nv;
	j.gm.bias = p->bias;
	init_act(n, p, &j.gm.act);
	j.gm.c = out[0].data;
	j.gm.ldc = g.co;
	j.gm.res = res_of(n, in);
	if (j.gm.m == 0)
		return 0;
	if (p->pnq) {
		/* pair GEMM: plain rows (1x1) or receptive fields */
		j.slice = conv_slice(p);
		if (!ex || !ex->scratch || ex->scratch_size < j.slice * sizeof(float) * n_thr_all)
			return FL_EINTERNAL;
		j.gm.a = in[0]->data;
		j.gm.lda = g.ci;
		pair_init(p, &j.gm, &j.pr);
		ptrdiff_t toff[64];
		if (!is_direct(&g)) {
			j.ck.g = g;
			j.ck.x = in[0]->data;
			conv_taps(&g, toff, &j.ck);
			j.pr.ck = &j.ck;
		}
		j.m_total = j.gm.m;
		j.scratch = ex->scratch;
		int dummy_pc, dummy_npt;
		int tasks = split_work(j.gm.m, 1, 2 * 8, n_thr, &j.m_chunk, &dummy_pc, &dummy_npt);
		fl__pool_run(ex->pool, pair_task, &j, tasks);
		return 0;
	}
	if (is_direct(&g)) {
		j.gm.a = in[0]->data;
		j.gm.lda = g.ci;
		int tasks = split_work(j.gm.m, p->n_panels, p->mr, n_thr, &j.m_chunk, &j.p_chunk, &j.n_pt);
		fl__pool_run(ex ? ex->pool : NULL, gemm_task, &j, tasks);
		return 0;
	}
	/* implicit GEMM: interior tiles read the input in place at these tap
	** offsets, border tiles are gathered into the thread's scratch */
	ptrdiff_t toff[64];
	conv_taps(&g, toff, &j.ck);
	j.slice = conv_slice(p);
	if (!ex || !ex->scratch || ex->scratch_size < j.slice * sizeof(float) * n_thr_all)
		return FL_EINTERNAL; /* the session did not give the scratch asked for */
	j.ck.g = g;
	j.ck.x = in[0]->data;
	j.ck.gm = j.gm;
	j.m_total = j.gm.m;
	j.scratch = ex->scratch;
	int dummy_pc, dummy_npt;
	int tasks = split_work(j.gm.m, 1, p->mr, n_thr, &j.m_chunk, &dummy_pc, &dummy_npt);
	fl__pool_run(ex->pool, conv_task, &j, tasks);
	return 0;
}

/* Floats of the depthwise zero row: one input row plus a vector. */
static size_t dw_zero_floats(const struct fl__conv_geom *g)
{
	return (size_t)g->iw * g->ci + 16;
}

static size_t dw_scratch(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out,
                         int n_threads)
{
	struct fl__conv_geom g;
	if (!n->prep || conv_geom(n, in[0], in[1], 1, &g, NULL, 0) < 0 || g.iw < 0 || g.ci < 0)
		return 0;
	return dw_zero_floats(&g) * sizeof(float);
}

struct dw_job {
	const struct kprep *p;
	struct fl__dw d;
	int chunk, rows;
};

static void dw_task(void *arg, int task, int thread)
{
	const struct dw_job *j = arg;
	int r0 = task * j->chunk, r1 = FL_MIN(j->rows, r0 + j->chunk);
	if (r0 >= r1)
		return;
	if (j->p->isa == FL_ISA_AVX512)
		fl__dw_avx512(&j->d, r0, r1);
	else
		fl__dw_avx2(&j->d, r0, r1);
}

static int dw_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                  const struct fl_exec *ex)
{
	struct fl__conv_geom g;
	int rc = conv_geom(n, in[0], in[1], 1, &g, NULL, 0);
	if (rc < 0)
		return rc;
	const struct kprep *p = n->prep;
	if (!p || g.mult != 1 || p->cp < g.ci) {
		int alpha_n;
		const float *alpha = alpha_of(n, in, &alpha_n);
		fl__dwconv_ref(&g, in[0]->data, in[1]->data, bias_of(n, in), n->attr.act, n->attr.act_alpha, alpha, alpha_n,
		               out[0].data);
		return 0;
	}
	struct dw_job j;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.d.g = g;
	j.d.x = in[0]->data;
	j.d.y = out[0].data;
	j.d.w = p->w;
	j.d.bias = p->bias;
	j.d.cp = p->cp;
	j.d.wpat = p->wpat;
	j.d.bpat = p->bpat;
	j.d.apat = p->apat;
	j.d.nphase = p->nphase;
	init_act(n, p, &j.d.act);
	j.rows = g.n * g.oh;
	if (j.rows == 0 || g.ow == 0)
		return 0;
	/* a zero row stands in for the rows of the top/bottom padding */
	const size_t zn = dw_zero_floats(&g);
	j.d.zero = NULL;
	if (ex && ex->scratch && ex->scratch_size >= zn * sizeof(float)) {
		memset(ex->scratch, 0, zn * sizeof(float));
		j.d.zero = ex->scratch;
	}
	const int n_thr = par_threads(ex, 2.0 * j.rows * g.ow * g.co * g.kh * g.kw, PAR_MIN_FLOPS / 4);
	int tasks = n_thr == 1 ? 1 : FL_MIN(j.rows, 4 * n_thr);
	j.chunk = (j.rows + tasks - 1) / tasks;
	tasks = (j.rows + j.chunk - 1) / j.chunk;
	fl__pool_run(ex ? ex->pool : NULL, dw_task, &j, tasks);
	return 0;
}

/* -------------------------------------------------------------- matmul */

/* Shapes of a matmul: batch x [m,k] * [k,n]; strides between batches. */
struct mm_shape {
	int batch, m, n, k;
	int64_t a_stride, b_stride;
};

static int mm_shape(const struct fl_node *n, const struct fl_tensor *a, const struct fl_tensor *b, struct mm_shape *s,
                    struct fl_tensor *out, char *err, size_t err_size)
{
	if (a->dtype != FL_DTYPE_F32 || b->dtype != FL_DTYPE_F32) {
		fl__errf(err, err_size, "operands must be float32");
		return FL_EDTYPE;
	}
	if (a->n_dims < 2 || b->n_dims < 2) {
		fl__errf(err, err_size, "operands must have at least 2 dims (%d, %d)", a->n_dims, b->n_dims);
		return FL_ESHAPE;
	}
	const int ta = n->attr.transpose_a, tb = n->attr.transpose_b;
	const int64_t am = a->dims[a->n_dims - 2], ak = a->dims[a->n_dims - 1];
	const int64_t bk = b->dims[b->n_dims - 2], bn = b->dims[b->n_dims - 1];
	s->m = (int)(ta ? ak : am);
	s->k = (int)(ta ? am : ak);
	int kb = (int)(tb ? bn : bk);
	s->n = (int)(tb ? bk : bn);
	if (kb != s->k && kb >= 0 && s->k >= 0) {
		fl__errf(err, err_size, "inner dimensions differ: %d vs %d", s->k, kb);
		return FL_ESHAPE;
	}
	/* leading (batch) dims: one side 2-D, or both the same */
	const struct fl_tensor *lead = a->n_dims >= b->n_dims ? a : b;
	int64_t batch = 1;
	for (int i = 0; i < lead->n_dims - 2; i++)
		batch *= lead->dims[i];
	if (a->n_dims > 2 && b->n_dims > 2) {
		int same = a->n_dims == b->n_dims;
		for (int i = 0; same && i < a->n_dims - 2; i++)
			same = a->dims[i] == b->dims[i];
		if (!same) {
			fl__errf(err, err_size, "batch dimensions of the operands differ");
			return FL_EUNSUPPORTED;
		}
	}
	s->batch = (int)batch;
	s->a_stride = a->n_dims > 2 ? (int64_t)s->m * s->k : 0;
	s->b_stride = b->n_dims > 2 ? (int64_t)s->k * s->n : 0;
	if (out) {
		out->dtype = FL_DTYPE_F32;
		out->n_dims = lead->n_dims;
		for (int i = 0; i < lead->n_dims - 2; i++)
			out->dims[i] = lead->dims[i];
		out->dims[lead->n_dims - 2] = s->m;
		out->dims[lead->n_dims - 1] = s->n;
		out->data = NULL;
	}
	return 0;
}

static int mm_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                    size_t err_size)
{
	struct mm_shape s;
	if (n->n_in < 2 || !in[0] || !in[1]) {
		fl__errf(err, err_size, "needs two operands");
		return FL_EINVAL;
	}
	int rc = mm_shape(n, in[0], in[1], &s, &out[0], err, err_size);
	if (rc < 0)
		return rc;
	return check_extra(n, in, s.n, err, err_size);
}

static int64_t mm_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	struct mm_shape s;
	if (mm_shape(n, in[0], in[1], &s, NULL, NULL, 0) < 0)
		return 0;
	return 2LL * s.batch * s.m * s.n * s.k;
}

static int mm_prepare(struct fl_node *n, const struct fl_graph *g, int isa, char *err, size_t err_size)
{
	op_release(n);
	isa = clamp_isa(isa);
	const struct fl_value *b = const_in(n, g, 1);
	const float *bias, *alpha;
	int alpha_n;
	if (isa == FL_ISA_REF || !b || !b->data || b->dtype != FL_DTYPE_F32 || b->n_dims != 2 ||
	    extras_const(n, g, &bias, &alpha, &alpha_n) < 0)
		return 0;
	const int tb = n->attr.transpose_b;
	const int k = (int)(tb ? b->dims[1] : b->dims[0]), nn = (int)(tb ? b->dims[0] : b->dims[1]);
	struct kprep *p;
	int rc = tb ? pack_gemm(isa, k, nn, b->data, 1, k, bias, alpha, alpha_n, &p)
	            : pack_gemm(isa, k, nn, b->data, nn, 1, bias, alpha, alpha_n, &p);
	if (rc < 0) {
		fl__errf(err, err_size, "out of memory packing weights");
		return rc;
	}
	p->tb = tb;
	n->prep = p;
	n->isa = isa;
	return 0;
}

static size_t mm_scratch(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out,
                         int n_threads)
{
	struct mm_shape s;
	if (!n->prep || !n->attr.transpose_a || mm_shape(n, in[0], in[1], &s, NULL, NULL, 0) < 0)
		return 0;
	return (size_t)s.m * s.k * sizeof(float);
}

static int mm_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                  const struct fl_exec *ex)
{
	struct mm_shape s;
	int rc = mm_shape(n, in[0], in[1], &s, NULL, NULL, 0);
	if (rc < 0)
		return rc;
	const struct kprep *p = n->prep;
	const int ta = n->attr.transpose_a;
	const size_t need = ta ? (size_t)s.m * s.k * sizeof(float) : 0;
	if (!p || in[1]->n_dims != 2 || p->k != s.k || p->n != s.n || (ta && in[0]->n_dims != 2) ||
	    (need && (!ex || ex->scratch_size < need))) {
		int alpha_n;
		const float *alpha = alpha_of(n, in, &alpha_n);
		fl__matmul_ref(s.batch, s.m, s.n, s.k, in[0]->data, s.a_stride, ta, in[1]->data, s.b_stride,
		               n->attr.transpose_b, bias_of(n, in), n->attr.act, n->attr.act_alpha, alpha, alpha_n,
		               out[0].data);
		return 0;
	}
	const float *a = in[0]->data;
	if (ta) {
		/* a is [k, m]: transpose into the scratch */
		float *t = ex->scratch;
		for (int i = 0; i < s.m; i++)
			for (int l = 0; l < s.k; l++)
				t[(size_t)i * s.k + l] = a[(size_t)l * s.m + i];
		a = t;
	}
	struct gemm_job j;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.gm.m = s.batch * s.m; /* b is 2-D: the batch folds into rows */
	j.gm.n = s.n;
	j.gm.k = s.k;
	j.gm.a = a;
	j.gm.lda = s.k;
	j.gm.b = p->w;
	j.gm.nr = p->nr;
	j.gm.nv = p->nv;
	j.gm.bias = p->bias;
	init_act(n, p, &j.gm.act);
	j.gm.c = out[0].data;
	j.gm.ldc = s.n;
	if (j.gm.m == 0 || s.n == 0)
		return 0;
	if (s.k == 0) {
		/* empty sum: bias + activation only */
		fl__matmul_ref(1, j.gm.m, s.n, 0, a, 0, 0, in[1]->data, 0, 0, bias_of(n, in), n->attr.act,
		               n->attr.act_alpha, p->alpha, s.n, out[0].data);
		return 0;
	}
	const int n_thr = par_threads(ex, 2.0 * j.gm.m * s.n * s.k, PAR_MIN_FLOPS);
	int tasks = split_work(j.gm.m, p->n_panels, p->mr, n_thr, &j.m_chunk, &j.p_chunk, &j.n_pt);
	fl__pool_run(ex ? ex->pool : NULL, gemm_task, &j, tasks);
	return 0;
}

/* ------------------------------------------------------------- op defs */

const struct fl_op_def fl__opdef_conv2d = {
	.tf_name = "Conv2D",
	.infer = conv_infer,
	.run = conv_run,
	.scratch = conv_scratch,
	.flops = conv_flops,
	.prepare = conv_prepare,
	.release = op_release,
};

const struct fl_op_def fl__opdef_dwconv2d = {
	.tf_name = "DepthwiseConv2dNative",
	.infer = dw_infer,
	.run = dw_run,
	.scratch = dw_scratch,
	.flops = dw_flops,
	.prepare = dw_prepare,
	.release = op_release,
};

const struct fl_op_def fl__opdef_matmul = {
	.tf_name = "MatMul",
	.infer = mm_infer,
	.run = mm_run,
	.scratch = mm_scratch,
	.flops = mm_flops,
	.prepare = mm_prepare,
	.release = op_release,
};
