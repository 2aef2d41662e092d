/*
** elementwise.c -- the elementwise ops: the binary ops with NumPy
** broadcasting (ADD SUB MUL DIV MAXIMUM MINIMUM SQUARED_DIFF FLOOR_DIV
** FLOOR_MOD EQUAL POW PRELU), the unary activations and maths functions
** (RELU RELU6 SIGMOID SQRT ABS NEG EXP TANH RSQRT LEAKY_RELU IDENTITY) and
** CAST.
**
** Broadcasting is planned once per run: the output shape's dims of size 1
** are dropped, and neighbouring dims along which both inputs step in the
** same way are merged, so a same-shape add becomes one contiguous loop and
** a per-channel add ([N,H,W,C] + [C]) becomes rows of C with the second
** operand rewinding.  The innermost loop has fast paths for the stride
** patterns (1,1), (1,0) and (0,1) that the compiler vectorises.  Large
** tensors are split into a few big ranges on the pool.
*/
#include "ops_int.h"

#include <math.h>

/* Below this many elements a run stays on the caller's thread. */
#define EW_MIN_PER_TASK 32768
/* Per-channel rows shorter than this are batched into rows of about this
** many elements (floats, on the stack). */
#define EW_SHORT_ROW 96

/* ------------------------------------------------------- scalar helpers */

/* TF's FloorMod on floats (google_floor_fmod): the fmod remainder moved
** into the divisor's sign.  Exact, unlike x - floor(x/y)*y. */
static inline float floor_mod_f32(float x, float y)
{
	float r = fmodf(x, y);
	return (r != 0.0f && ((y < 0.0f) != (r < 0.0f))) ? r + y : r;
}

/* Integer division rounding toward -inf, like TF's FloorDiv and Python's
** //.  y != 0 is checked before the loop; y == -1 avoids INT_MIN / -1. */
static inline int32_t floor_div_i32(int32_t x, int32_t y)
{
	if (y == -1)
		return (int32_t)(0u - (uint32_t)x);
	int32_t q = x / y;
	if ((x % y != 0) && ((x < 0) != (y < 0)))
		q--;
	return q;
}

static inline int32_t floor_mod_i32(int32_t x, int32_t y)
{
	if (y == -1)
		return 0;
	int32_t r = x % y;
	if (r != 0 && ((r < 0) != (y < 0)))
		r += y;
	return r;
}

/* C (truncating) integer division, TF's Div on int32. */
static inline int32_t trunc_div_i32(int32_t x, int32_t y)
{
	if (y == -1)
		return (int32_t)(0u - (uint32_t)x);
	return x / y;
}

/* x**y for y >= 0, wrapping like TF's integer pow. */
static inline int32_t pow_i32(int32_t x, int32_t y)
{
	uint32_t r = 1, b = (uint32_t)x;
	while (y > 0) {
		if (y & 1)
			r *= b;
		b *= b;
		y >>= 1;
	}
	return (int32_t)r;
}

/* -------------------------------------------------------- inner kernels */

/* x < 0 ? a*x : x without a branch: a conditional multiply is not
** if-converted under -ftrapping-math, so that form does not vectorise. */
#define PRELU_F32(x, a) (((x) > 0.0f ? (x) : 0.0f) + (a) * ((x) < 0.0f ? (x) : 0.0f))

/*
** One strided run of n elements: o[i] = EXPR(x = a[i*sa], y = b[i*sb]).
** The stride patterns that occur in practice get their own loops.
*/
#define BIN_LOOP(TI, EXPR)                                                    \
	do {                                                                      \
		if (sa == 1 && sb == 1) {                                             \
			for (int64_t i = 0; i < n; i++) {                                 \
				TI x = a[i], y = b[i];                                        \
				o[i] = (EXPR);                                                \
			}                                                                 \
		} else if (sa == 1 && sb == 0) {                                      \
			const TI y = b[0];                                                \
			for (int64_t i = 0; i < n; i++) {                                 \
				TI x = a[i];                                                  \
				o[i] = (EXPR);                                                \
			}                                                                 \
		} else if (sa == 0 && sb == 1) {                                      \
			const TI x = a[0];                                                \
			for (int64_t i = 0; i < n; i++) {                                 \
				TI y = b[i];                                                  \
				o[i] = (EXPR);                                                \
			}                                                                 \
		} else {                                                              \
			for (int64_t i = 0; i < n; i++) {                                 \
				TI x = a[i * sa], y = b[i * sb];                              \
				o[i] = (EXPR);                                                \
			}                                                                 \
		}                                                                     \
	} while (0)

FL_OPS_VECTORIZE static void bin_f32(enum fl_op op, float *restrict o, const float *restrict a, int64_t sa, const float *restrict b,
                    int64_t sb, int64_t n)
{
	switch (op) {
	case FL_OP_ADD: BIN_LOOP(float, x + y); break;
	case FL_OP_SUB: BIN_LOOP(float, x - y); break;
	case FL_OP_MUL: BIN_LOOP(float, x * y); break;
	case FL_OP_DIV: BIN_LOOP(float, x / y); break;
	case FL_OP_MAXIMUM: BIN_LOOP(float, x > y ? x : y); break;
	case FL_OP_MINIMUM: BIN_LOOP(float, x < y ? x : y); break;
	case FL_OP_SQUARED_DIFF: BIN_LOOP(float, (x - y) * (x - y)); break;
	case FL_OP_FLOOR_DIV: BIN_LOOP(float, floorf(x / y)); break;
	case FL_OP_FLOOR_MOD: BIN_LOOP(float, floor_mod_f32(x, y)); break;
	case FL_OP_POW: BIN_LOOP(float, powf(x, y)); break;
	case FL_OP_PRELU: BIN_LOOP(float, PRELU_F32(x, y)); break;
	default: break;
	}
}

/* rows x C: row r reads a + r*ra, b + r*rb (one of them 0: the per-channel
** operand) and writes o + r*C.  One call for a whole range of rows. */
#define ROW_LOOP(EXPR)                                                        \
	for (int64_t r = 0; r < rows; r++) {                                      \
		const float *restrict a = A + r * ra, *restrict b = B + r * rb;       \
		float *restrict o = O + r * C;                                        \
		for (int64_t i = 0; i < C; i++) {                                     \
			float x = a[i], y = b[i];                                         \
			o[i] = (EXPR);                                                    \
		}                                                                     \
	}

FL_OPS_VECTORIZE static void bin_f32_rows(enum fl_op op, float *O, const float *A, int64_t ra, const float *B,
                                          int64_t rb, int64_t C, int64_t rows)
{
	switch (op) {
	case FL_OP_ADD: ROW_LOOP(x + y); break;
	case FL_OP_SUB: ROW_LOOP(x - y); break;
	case FL_OP_MUL: ROW_LOOP(x * y); break;
	case FL_OP_DIV: ROW_LOOP(x / y); break;
	case FL_OP_MAXIMUM: ROW_LOOP(x > y ? x : y); break;
	case FL_OP_MINIMUM: ROW_LOOP(x < y ? x : y); break;
	case FL_OP_SQUARED_DIFF: ROW_LOOP((x - y) * (x - y)); break;
	case FL_OP_PRELU: ROW_LOOP(PRELU_F32(x, y)); break;
	default:
		for (int64_t r = 0; r < rows; r++)
			bin_f32(op, O + r * C, A + r * ra, 1, B + r * rb, 1, C);
		break;
	}
}

/* Integer maths wraps (two's complement) like TF's int32 kernels. */
FL_OPS_VECTORIZE static void bin_i32(enum fl_op op, int32_t *restrict o, const int32_t *restrict a, int64_t sa,
                    const int32_t *restrict b, int64_t sb, int64_t n)
{
	switch (op) {
	case FL_OP_ADD: BIN_LOOP(int32_t, (int32_t)((uint32_t)x + (uint32_t)y)); break;
	case FL_OP_SUB: BIN_LOOP(int32_t, (int32_t)((uint32_t)x - (uint32_t)y)); break;
	case FL_OP_MUL: BIN_LOOP(int32_t, (int32_t)((uint32_t)x * (uint32_t)y)); break;
	case FL_OP_DIV: BIN_LOOP(int32_t, trunc_div_i32(x, y)); break;
	case FL_OP_MAXIMUM: BIN_LOOP(int32_t, x > y ? x : y); break;
	case FL_OP_MINIMUM: BIN_LOOP(int32_t, x < y ? x : y); break;
	case FL_OP_SQUARED_DIFF: BIN_LOOP(int32_t, (int32_t)(((uint32_t)x - (uint32_t)y) * ((uint32_t)x - (uint32_t)y))); break;
	case FL_OP_FLOOR_DIV: BIN_LOOP(int32_t, floor_div_i32(x, y)); break;
	case FL_OP_FLOOR_MOD: BIN_LOOP(int32_t, floor_mod_i32(x, y)); break;
	case FL_OP_POW: BIN_LOOP(int32_t, pow_i32(x, y)); break;
	case FL_OP_PRELU: BIN_LOOP(int32_t, x < 0 ? (int32_t)((uint32_t)x * (uint32_t)y) : x); break;
	default: break;
	}
}

FL_OPS_VECTORIZE static void eq_f32(uint8_t *restrict o, const float *restrict a, int64_t sa, const float *restrict b, int64_t sb,
                   int64_t n)
{
	BIN_LOOP(float, (uint8_t)(x == y));
}

FL_OPS_VECTORIZE static void eq_i32(uint8_t *restrict o, const int32_t *restrict a, int64_t sa, const int32_t *restrict b,
                   int64_t sb, int64_t n)
{
	BIN_LOOP(int32_t, (uint8_t)(x == y));
}

FL_OPS_VECTORIZE static void eq_u8(uint8_t *restrict o, const uint8_t *restrict a, int64_t sa, const uint8_t *restrict b,
                  int64_t sb, int64_t n)
{
	BIN_LOOP(uint8_t, (uint8_t)(x == y));
}

/* A fused activation after ADD (residual block + relu). */
FL_OPS_VECTORIZE static void apply_act_f32(int act, float alpha, float *restrict o, int64_t n)
{
	switch (act) {
	case FL_ACT_RELU:
		for (int64_t i = 0; i < n; i++)
			o[i] = o[i] > 0.0f ? o[i] : 0.0f;
		break;
	case FL_ACT_RELU6:
		for (int64_t i = 0; i < n; i++)
			o[i] = o[i] < 0.0f ? 0.0f : (o[i] > 6.0f ? 6.0f : o[i]);
		break;
	case FL_ACT_LEAKY_RELU:
		for (int64_t i = 0; i < n; i++)
			o[i] = PRELU_F32(o[i], alpha);
		break;
	case FL_ACT_SIGMOID:
		for (int64_t i = 0; i < n; i++)
			o[i] = 1.0f / (1.0f + expf(-o[i]));
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------ broadcast plan */

/* The output as nd dims (collapsed); sa/sb are the inputs' element strides
** along each (0 where the input is broadcast). */
struct bplan {
	int nd;
	int64_t dims[FL_MAX_DIMS];
	int64_t sa[FL_MAX_DIMS], sb[FL_MAX_DIMS];
};

static void bplan_make(struct bplan *p, const struct fl_tensor *a, const struct fl_tensor *b,
                       const struct fl_tensor *o)
{
	int n = o->n_dims;
	int64_t sta[FL_MAX_DIMS], stb[FL_MAX_DIMS];
	fl__ops_strides(a, sta);
	fl__ops_strides(b, stb);
	p->nd = 0;
	for (int i = 0; i < n; i++) {
		int ia = a->n_dims - n + i, ib = b->n_dims - n + i;
		int64_t d = o->dims[i];
		int64_t xa = (ia >= 0 && a->dims[ia] != 1) ? sta[ia] : 0;
		int64_t xb = (ib >= 0 && b->dims[ib] != 1) ? stb[ib] : 0;
		if (d == 1)
			continue;
		if (p->nd > 0) {
			int k = p->nd - 1;
			/* merge into the previous dim when both inputs step evenly */
			if (p->sa[k] == xa * d && p->sb[k] == xb * d) {
				p->dims[k] *= d;
				p->sa[k] = xa;
				p->sb[k] = xb;
				continue;
			}
		}
		p->dims[p->nd] = d;
		p->sa[p->nd] = xa;
		p->sb[p->nd] = xb;
		p->nd++;
	}
	if (p->nd == 0) {
		p->nd = 1;
		p->dims[0] = 1;
		p->sa[0] = p->sb[0] = 0;
	}
}

struct bin_ctx {
	const struct fl_node *n;
	const struct fl_tensor *a, *b;
	struct fl_tensor *o;
	struct bplan p;
};

/* Output elements [lo, hi): walk the collapsed index like an odometer and
** hand each innermost run to the typed kernel. */
static void bin_range(void *arg, int64_t lo, int64_t hi)
{
	struct bin_ctx *c = arg;
	const struct bplan *p = &c->p;
	int nd = p->nd, last = nd - 1;
	int64_t idx[FL_MAX_DIMS], oa = 0, ob = 0, rem = lo;
	size_t esz = fl_dtype_size(c->a->dtype);
	enum fl_op op = c->n->op;

	for (int d = nd - 1; d >= 0; d--) {
		idx[d] = rem % p->dims[d];
		rem /= p->dims[d];
		oa += idx[d] * p->sa[d];
		ob += idx[d] * p->sb[d];
	}
	/* Per-channel pattern ([N,H,W,C] op [C]): whole rows where one operand
	** rewinds go to one row kernel call, without the odometer. */
	if (nd == 2 && p->sa[1] == 1 && p->sb[1] == 1 && idx[1] == 0 && op != FL_OP_EQUAL &&
	    ((p->sa[0] == p->dims[1] && p->sb[0] == 0) || (p->sa[0] == 0 && p->sb[0] == p->dims[1]))) {
		int64_t C = p->dims[1], rows = (hi - lo) / C;
		if (c->a->dtype == FL_DTYPE_F32 && rows > 0) {
			float *po = (float *)c->o->data + lo;
			const float *pa = (const float *)c->a->data + oa, *pb = (const float *)c->b->data + ob;
			int64_t done = 0;
			if (C < EW_SHORT_ROW && rows >= 2 * (EW_SHORT_ROW / C)) {
				/* short rows (an image's 3 channels): the per-channel
				** operand repeated k times makes rows of k*C, so the row
				** kernel's inner loop is long enough to vectorise */
				float rep[EW_SHORT_ROW];
				int64_t k = EW_SHORT_ROW / C, kc = k * C, big = rows / k;
				const float *pc = p->sb[0] == 0 ? pb : pa;
				for (int64_t i = 0; i < kc; i++)
					rep[i] = pc[i % C];
				if (p->sb[0] == 0)
					bin_f32_rows(op, po, pa, kc, rep, 0, kc, big);
				else
					bin_f32_rows(op, po, rep, 0, pb, kc, kc, big);
				done = big * k;
			}
			bin_f32_rows(op, po + done * C, pa + done * p->sa[0], p->sa[0], pb + done * p->sb[0], p->sb[0], C,
			             rows - done);
			if (op == FL_OP_ADD && c->n->attr.act)
				apply_act_f32(c->n->attr.act, c->n->attr.act_alpha, po, rows * C);
			lo += rows * C;
		}
		/* the rest (ints, a partial row) takes the general walk */
		rem = lo;
		oa = ob = 0;
		for (int d = nd - 1; d >= 0; d--) {
			idx[d] = rem % p->dims[d];
			rem /= p->dims[d];
			oa += idx[d] * p->sa[d];
			ob += idx[d] * p->sb[d];
		}
	}
	for (int64_t pos = lo; pos < hi;) {
		int64_t cnt = FL_MIN(p->dims[last] - idx[last], hi - pos);
		const char *pa = (const char *)c->a->data + (size_t)oa * esz;
		const char *pb = (const char *)c->b->data + (size_t)ob * esz;
		if (op == FL_OP_EQUAL) {
			uint8_t *po = (uint8_t *)c->o->data + pos;
			if (c->a->dtype == FL_DTYPE_F32)
				eq_f32(po, (const float *)pa, p->sa[last], (const float *)pb, p->sb[last], cnt);
			else if (c->a->dtype == FL_DTYPE_I32)
				eq_i32(po, (const int32_t *)pa, p->sa[last], (const int32_t *)pb, p->sb[last], cnt);
			else
				eq_u8(po, (const uint8_t *)pa, p->sa[last], (const uint8_t *)pb, p->sb[last], cnt);
		} else if (c->a->dtype == FL_DTYPE_F32) {
			float *po = (float *)c->o->data + pos;
			bin_f32(op, po, (const float *)pa, p->sa[last], (const float *)pb, p->sb[last], cnt);
			if (op == FL_OP_ADD && c->n->attr.act)
				apply_act_f32(c->n->attr.act, c->n->attr.act_alpha, po, cnt);
		} else {
			int32_t *po = (int32_t *)c->o->data + pos;
			bin_i32(op, po, (const int32_t *)pa, p->sa[last], (const int32_t *)pb, p->sb[last], cnt);
			if (op == FL_OP_ADD && (c->n->attr.act == FL_ACT_RELU || c->n->attr.act == FL_ACT_RELU6))
				for (int64_t i = 0; i < cnt; i++)
					po[i] = po[i] < 0 ? 0 : (c->n->attr.act == FL_ACT_RELU6 && po[i] > 6 ? 6 : po[i]);
		}
		pos += cnt;
		idx[last] += cnt;
		oa += cnt * p->sa[last];
		ob += cnt * p->sb[last];
		if (idx[last] < p->dims[last])
			continue;
		/* carry into the outer dims */
		oa -= p->dims[last] * p->sa[last];
		ob -= p->dims[last] * p->sb[last];
		idx[last] = 0;
		for (int d = last - 1; d >= 0; d--) {
			idx[d]++;
			oa += p->sa[d];
			ob += p->sb[d];
			if (idx[d] < p->dims[d])
				break;
			oa -= p->dims[d] * p->sa[d];
			ob -= p->dims[d] * p->sb[d];
			idx[d] = 0;
		}
	}
}

/* ----------------------------------------------------------- binary ops */

static int bin_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                     size_t err_size)
{
	const char *name = fl__op_name(n->op);
	char sa[96], sb[96];

	if (!in[0] || !in[1]) {
		fl__errf(err, err_size, "%s: needs two inputs", name);
		return FL_EINVAL;
	}
	if (in[0]->dtype != in[1]->dtype) {
		fl__errf(err, err_size, "%s: input dtypes differ (%s and %s)", name, fl_dtype_name(in[0]->dtype),
		         fl_dtype_name(in[1]->dtype));
		return FL_EDTYPE;
	}
	if (in[0]->dtype == FL_DTYPE_BOOL && n->op != FL_OP_EQUAL) {
		fl__errf(err, err_size, "%s: bool inputs are not supported", name);
		return FL_EDTYPE;
	}
	if (n->op == FL_OP_ADD && (n->attr.act == FL_ACT_PRELU || n->attr.act < 0 || n->attr.act > FL_ACT_SIGMOID)) {
		fl__errf(err, err_size, "%s: unsupported fused activation %d", name, n->attr.act);
		return FL_EUNSUPPORTED;
	}
	if (fl__broadcast_shape(in[0], in[1], &out[0]) < 0) {
		fl__errf(err, err_size, "%s: cannot broadcast %s with %s", name, fl__ops_shape_str(in[0], sa, sizeof(sa)),
		         fl__ops_shape_str(in[1], sb, sizeof(sb)));
		return FL_ESHAPE;
	}
	if (n->op == FL_OP_PRELU && out[0].n_dims != in[0]->n_dims) {
		fl__errf(err, err_size, "%s: alpha %s has more dims than x %s", name, fl__ops_shape_str(in[1], sb, sizeof(sb)),
		         fl__ops_shape_str(in[0], sa, sizeof(sa)));
		return FL_ESHAPE;
	}
	out[0].dtype = n->op == FL_OP_EQUAL ? FL_DTYPE_BOOL : in[0]->dtype;
	out[0].data = NULL;
	return 0;
}

static int bin_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                   const struct fl_exec *ex)
{
	struct bin_ctx c;
	int64_t total = fl__ops_numel(&out[0]);

	/* integer division by zero and negative integer powers are errors in
	** TF; check the divisor once instead of in the loop */
	if (in[0]->dtype == FL_DTYPE_I32 &&
	    (n->op == FL_OP_DIV || n->op == FL_OP_FLOOR_DIV || n->op == FL_OP_FLOOR_MOD || n->op == FL_OP_POW)) {
		const int32_t *b = in[1]->data;
		int64_t nb = fl__ops_numel(in[1]);
		for (int64_t i = 0; i < nb; i++)
			if (n->op == FL_OP_POW ? b[i] < 0 : b[i] == 0)
				return FL_EINVAL;
	}
	c.n = n;
	c.a = in[0];
	c.b = in[1];
	c.o = &out[0];
	bplan_make(&c.p, in[0], in[1], &out[0]);
	fl__ops_parallel(ex, total, EW_MIN_PER_TASK, bin_range, &c);
	return 0;
}

static int64_t ew_flops(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out)
{
	return fl__ops_numel(&out[0]);
}

#define BIN_DEF(lname, tfname)                                                \
	const struct fl_op_def fl__opdef_##lname = {                              \
		.tf_name = tfname, .infer = bin_infer, .run = bin_run, .flops = ew_flops, \
	}
BIN_DEF(add, "AddV2");
BIN_DEF(sub, "Sub");
BIN_DEF(mul, "Mul");
BIN_DEF(div, "RealDiv");
BIN_DEF(maximum, "Maximum");
BIN_DEF(minimum, "Minimum");
BIN_DEF(squared_diff, "SquaredDifference");
BIN_DEF(floor_div, "FloorDiv");
BIN_DEF(floor_mod, "FloorMod");
BIN_DEF(equal, "Equal");
BIN_DEF(pow, "Pow");
BIN_DEF(prelu, "Prelu");

/* ------------------------------------------------------------ unary ops */

#define UN_LOOP(T, EXPR)                                                      \
	do {                                                                      \
		const T *restrict a = c->x->data;                                     \
		T *restrict o = c->o->data;                                           \
		for (int64_t i = lo; i < hi; i++) {                                   \
			T x = a[i];                                                       \
			o[i] = (EXPR);                                                    \
		}                                                                     \
	} while (0)

/* relu6 written as compares so the loop vectorises (fminf/fmaxf are calls) */
#define HSWISH_R6(t) ((t) < 0.0f ? 0.0f : ((t) > 6.0f ? 6.0f : (t)))

struct un_ctx {
	const struct fl_node *n;
	const struct fl_tensor *x;
	struct fl_tensor *o;
};

FL_OPS_VECTORIZE static void un_range(void *arg, int64_t lo, int64_t hi)
{
	struct un_ctx *c = arg;
	float alpha = c->n->attr.act_alpha;

	if (c->x->dtype == FL_DTYPE_I32) {
		switch (c->n->op) {
		case FL_OP_ABS: UN_LOOP(int32_t, x < 0 ? (int32_t)(0u - (uint32_t)x) : x); break;
		case FL_OP_NEG: UN_LOOP(int32_t, (int32_t)(0u - (uint32_t)x)); break;
		case FL_OP_RELU: UN_LOOP(int32_t, x > 0 ? x : 0); break;
		case FL_OP_RELU6: UN_LOOP(int32_t, x < 0 ? 0 : (x > 6 ? 6 : x)); break;
		default: break;
		}
		return;
	}
	switch (c->n->op) {
	case FL_OP_RELU: UN_LOOP(float, x > 0.0f ? x : 0.0f); break;
	case FL_OP_RELU6: UN_LOOP(float, x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x)); break;
	case FL_OP_LEAKY_RELU: UN_LOOP(float, PRELU_F32(x, alpha)); break;
	case FL_OP_SIGMOID: UN_LOOP(float, 1.0f / (1.0f + expf(-x))); break;
	case FL_OP_SQRT: UN_LOOP(float, sqrtf(x)); break;
	case FL_OP_RSQRT: UN_LOOP(float, 1.0f / sqrtf(x)); break;
	case FL_OP_ABS: UN_LOOP(float, fabsf(x)); break;
	case FL_OP_NEG: UN_LOOP(float, -x); break;
	case FL_OP_EXP: UN_LOOP(float, expf(x)); break;
	case FL_OP_TANH: UN_LOOP(float, tanhf(x)); break;
	case FL_OP_HARD_SWISH: UN_LOOP(float, (alpha * x) * HSWISH_R6(x + 3.0f)); break;
	default: break;
	}
}

static int un_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                    size_t err_size)
{
	const char *name = fl__op_name(n->op);
	int int_ok = n->op == FL_OP_ABS || n->op == FL_OP_NEG || n->op == FL_OP_RELU || n->op == FL_OP_RELU6;

	if (!in[0]) {
		fl__errf(err, err_size, "%s: missing input", name);
		return FL_EINVAL;
	}
	if (n->op != FL_OP_IDENTITY && in[0]->dtype != FL_DTYPE_F32 && !(int_ok && in[0]->dtype == FL_DTYPE_I32)) {
		fl__errf(err, err_size, "%s: %s input is not supported", name, fl_dtype_name(in[0]->dtype));
		return FL_EDTYPE;
	}
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].data = NULL;
	return 0;
}

static int un_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                  const struct fl_exec *ex)
{
	struct un_ctx c = {n, in[0], &out[0]};

	if (n->op == FL_OP_IDENTITY) {
		if (out[0].data != in[0]->data)
			memcpy(out[0].data, in[0]->data, fl__ops_bytes(in[0]));
		return 0;
	}
	fl__ops_parallel(ex, fl__ops_numel(in[0]), EW_MIN_PER_TASK, un_range, &c);
	return 0;
}

#define UN_DEF(lname, tfname)                                                 \
	const struct fl_op_def fl__opdef_##lname = {                              \
		.tf_name = tfname, .infer = un_infer, .run = un_run, .flops = ew_flops, \
	}
UN_DEF(relu, "Relu");
UN_DEF(relu6, "Relu6");
UN_DEF(sigmoid, "Sigmoid");
UN_DEF(sqrt, "Sqrt");
UN_DEF(abs, "Abs");
UN_DEF(neg, "Neg");
UN_DEF(exp, "Exp");
UN_DEF(tanh, "Tanh");
UN_DEF(rsqrt, "Rsqrt");
UN_DEF(leaky_relu, "LeakyRelu");
UN_DEF(hard_swish, "HardSwish");

const struct fl_op_def fl__opdef_identity = {
	.tf_name = "Identity",
	.infer = un_infer,
	.run = un_run,
};

/* ----------------------------------------------------------------- cast */

static int cast_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	if (!in[0]) {
		fl__errf(err, err_size, "CAST: missing input");
		return FL_EINVAL;
	}
	if (fl_dtype_size(n->attr.dtype) == 0) {
		fl__errf(err, err_size, "CAST: unknown target dtype %d", (int)n->attr.dtype);
		return FL_EDTYPE;
	}
	fl__ops_copy_shape(&out[0], in[0]);
	out[0].dtype = n->attr.dtype;
	out[0].data = NULL;
	return 0;
}

/* F32 -> I32 truncates toward 0 like TF (static_cast); out-of-range
** values saturate and NaN gives 0 instead of undefined behaviour. */
static inline int32_t f32_to_i32(float v)
{
	if (!(v == v))
		return 0;
	if (v >= 2147483647.0f)
		return INT32_MAX;
	if (v <= -2147483648.0f)
		return INT32_MIN;
	return (int32_t)v;
}

struct cast_ctx {
	enum fl_dtype from, to;
	const void *src;
	void *dst;
};

/* Elements [lo, hi): one plain loop per dtype pair, so each vectorises
** (bool -> f32 is CenterNet's NMS mask, 1.3 M elements). */
FL_OPS_VECTORIZE static void cast_range(void *arg, int64_t lo, int64_t hi)
{
	const struct cast_ctx *c = arg;
	const float *restrict sf = (const float *)c->src + lo;
	const int32_t *restrict si = (const int32_t *)c->src + lo;
	const uint8_t *restrict sb = (const uint8_t *)c->src + lo;
	float *restrict df = (float *)c->dst + lo;
	int32_t *restrict di = (int32_t *)c->dst + lo;
	uint8_t *restrict db = (uint8_t *)c->dst + lo;
	int64_t n = hi - lo;

	if (c->from == FL_DTYPE_F32 && c->to == FL_DTYPE_I32) {
		for (int64_t i = 0; i < n; i++)
			di[i] = f32_to_i32(sf[i]);
	} else if (c->from == FL_DTYPE_F32) { /* -> bool */
		for (int64_t i = 0; i < n; i++)
			db[i] = sf[i] != 0.0f;
	} else if (c->from == FL_DTYPE_I32 && c->to == FL_DTYPE_F32) {
		for (int64_t i = 0; i < n; i++)
			df[i] = (float)si[i];
	} else if (c->from == FL_DTYPE_I32) { /* -> bool */
		for (int64_t i = 0; i < n; i++)
			db[i] = si[i] != 0;
	} else if (c->to == FL_DTYPE_F32) { /* bool -> */
		for (int64_t i = 0; i < n; i++)
			df[i] = sb[i] != 0 ? 1.0f : 0.0f;
	} else {
		for (int64_t i = 0; i < n; i++)
			di[i] = sb[i] != 0;
	}
}

static int cast_run(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out,
                    const struct fl_exec *ex)
{
	struct cast_ctx c = {in[0]->dtype, out[0].dtype, in[0]->data, out[0].data};

	if (c.from == c.to) {
		if (out[0].data != in[0]->data)
			memcpy(out[0].data, in[0]->data, fl__ops_bytes(in[0]));
		return 0;
	}
	fl__ops_parallel(ex, fl__ops_numel(in[0]), EW_MIN_PER_TASK, cast_range, &c);
	return 0;
}

const struct fl_op_def fl__opdef_cast = {
	.tf_name = "Cast",
	.infer = cast_infer,
	.run = cast_run,
};
