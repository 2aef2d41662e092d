/*
** tfjs.c -- the TensorFlow.js graph-model loader: model.json (the graph's
** nodes, their attributes, the weights manifest and the signature) plus
** the .bin files beside it, translated into the engine's graph IR
** (nn_int.h).  No pass runs here; the caller optimises and prepares.
**
** How the translation goes:
**   1. Every topology node is checked (name, op, inputs, attrs) and put in
**      a name table; an op outside the table below is FL_EUNSUPPORTED.
**   2. Every node gets its values: Const nodes become constants (weights
**      by name from the manifest, else the tensor in attr.value),
**      Placeholders become graph inputs, other nodes one value per output
**      ("name" for output 0, "name:k" for output k).  TF.js nodes are not
**      always in topological order, so all values exist before any node.
**   3. Every op node becomes one engine node (AddN a chain of ADDs); its
**      inputs are resolved by name ("x:1" = output 1 of x, "^x" = control
**      dependency, dropped).
**   4. Inputs and outputs follow the signature ("signature" or
**      "userDefinedMetadata.signature") when there is one; otherwise
**      Placeholders in file order, and the nodes nobody consumes.
** Errors name the file, the node and its op, e.g.
**   models/x.json: node "model/conv2d_3" (FooOp): unsupported op
*/
#define _GNU_SOURCE
#include "load_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#define MAX_NODE_INPUTS 4096
#define MAX_NAME 4096
#define MAX_INLINE_NUMEL (1 << 22)

/* How a TF op is translated. */
enum kind {
	K_CONST, K_INPUT, K_NOOP,
	K_CONV,     /* Conv2D, _FusedConv2D, (Fused)DepthwiseConv2dNative */
	K_MATMUL,   /* MatMul, _FusedMatMul */
	K_BIASADD,  /* BiasAdd: ADD after a data_format check */
	K_PLAIN,    /* inputs passed through, no attributes */
	K_LEAKY, K_SOFTMAX, K_POOL, K_REDUCE, K_PAD, K_PADV2, K_RESIZE,
	K_SQUEEZE, K_CONCAT, K_PACK, K_UNPACK, K_SSLICE, K_GATHER, K_ARGMAX,
	K_TOPK, K_CAST, K_SHAPE, K_ADDN,
};

struct opdesc {
	const char *tf;
	int kind;
	int op; /* enum fl_op, -1 for non-op nodes */
	int min_in, max_in;
};

/*
** Every TF op we read, with the engine op it becomes and its data-input
** count (control inputs not counted).  The fused forms carry bias (and
** PReLU alpha) as extra inputs; num_args and fused_ops must agree with
** the count (checked in attr_fused).  Anything not listed is rejected by
** name, so an unknown model fails at load, never at run time.
*/
static const struct opdesc opdescs[] = {
	/* graph plumbing */
	{"Const", K_CONST, -1, 0, 0},
	{"Placeholder", K_INPUT, -1, 0, 0},
	{"NoOp", K_NOOP, -1, 0, 0},
	/* convolutions and matrix products */
	{"Conv2D", K_CONV, FL_OP_CONV2D, 2, 2},
	{"_FusedConv2D", K_CONV, FL_OP_CONV2D, 2, 4},
	{"DepthwiseConv2dNative", K_CONV, FL_OP_DWCONV2D, 2, 2},
	{"FusedDepthwiseConv2dNative", K_CONV, FL_OP_DWCONV2D, 2, 4},
	{"MatMul", K_MATMUL, FL_OP_MATMUL, 2, 2},
	{"_FusedMatMul", K_MATMUL, FL_OP_MATMUL, 2, 4},
	/* elementwise, NumPy broadcasting */
	{"BiasAdd", K_BIASADD, FL_OP_ADD, 2, 2},
	{"Add", K_PLAIN, FL_OP_ADD, 2, 2},
	{"AddV2", K_PLAIN, FL_OP_ADD, 2, 2},
	{"Sub", K_PLAIN, FL_OP_SUB, 2, 2},
	{"Mul", K_PLAIN, FL_OP_MUL, 2, 2},
	{"RealDiv", K_PLAIN, FL_OP_DIV, 2, 2},
	{"Maximum", K_PLAIN, FL_OP_MAXIMUM, 2, 2},
	{"Minimum", K_PLAIN, FL_OP_MINIMUM, 2, 2},
	{"SquaredDifference", K_PLAIN, FL_OP_SQUARED_DIFF, 2, 2},
	{"FloorDiv", K_PLAIN, FL_OP_FLOOR_DIV, 2, 2},
	{"FloorMod", K_PLAIN, FL_OP_FLOOR_MOD, 2, 2},
	{"Equal", K_PLAIN, FL_OP_EQUAL, 2, 2},
	{"Pow", K_PLAIN, FL_OP_POW, 2, 2},
	{"Prelu", K_PLAIN, FL_OP_PRELU, 2, 2},
	/* unary */
	{"Relu", K_PLAIN, FL_OP_RELU, 1, 1},
	{"Relu6", K_PLAIN, FL_OP_RELU6, 1, 1},
	{"Sigmoid", K_PLAIN, FL_OP_SIGMOID, 1, 1},
	{"Sqrt", K_PLAIN, FL_OP_SQRT, 1, 1},
	{"Rsqrt", K_PLAIN, FL_OP_RSQRT, 1, 1},
	{"Abs", K_PLAIN, FL_OP_ABS, 1, 1},
	{"Neg", K_PLAIN, FL_OP_NEG, 1, 1},
	{"Exp", K_PLAIN, FL_OP_EXP, 1, 1},
	{"Tanh", K_PLAIN, FL_OP_TANH, 1, 1},
	{"Identity", K_PLAIN, FL_OP_IDENTITY, 1, 1},
	{"StopGradient", K_PLAIN, FL_OP_IDENTITY, 1, 1},
	{"Snapshot", K_PLAIN, FL_OP_IDENTITY, 1, 1},
	{"LeakyRelu", K_LEAKY, FL_OP_LEAKY_RELU, 1, 1},
	{"Softmax", K_SOFTMAX, FL_OP_SOFTMAX, 1, 1},
	/* spatial and reductions; parameters given as tensors stay inputs */
	{"MaxPool", K_POOL, FL_OP_MAXPOOL, 1, 1},
	{"AvgPool", K_POOL, FL_OP_AVGPOOL, 1, 1},
	{"Mean", K_REDUCE, FL_OP_MEAN, 2, 2},
	{"Sum", K_REDUCE, FL_OP_SUM, 2, 2},
	{"Max", K_REDUCE, FL_OP_MAX, 2, 2},
	{"Pad", K_PAD, FL_OP_PAD, 2, 2},
	{"PadV2", K_PADV2, FL_OP_PAD, 3, 3},
	{"ResizeBilinear", K_RESIZE, FL_OP_RESIZE_BILINEAR, 2, 2},
	{"ResizeNearestNeighbor", K_RESIZE, FL_OP_RESIZE_NEAREST, 2, 2},
	/* shape manipulation, indexing */
	{"Reshape", K_PLAIN, FL_OP_RESHAPE, 2, 2},
	{"Squeeze", K_SQUEEZE, FL_OP_SQUEEZE, 1, 1},
	{"ExpandDims", K_PLAIN, FL_OP_EXPAND_DIMS, 2, 2},
	{"ConcatV2", K_CONCAT, FL_OP_CONCAT, 2, MAX_NODE_INPUTS},
	{"Pack", K_PACK, FL_OP_PACK, 1, MAX_NODE_INPUTS},
	{"Unpack", K_UNPACK, FL_OP_UNPACK, 1, 1},
	{"StridedSlice", K_SSLICE, FL_OP_STRIDED_SLICE, 4, 4},
	{"Slice", K_PLAIN, FL_OP_SLICE, 3, 3},
	{"GatherV2", K_GATHER, FL_OP_GATHER, 3, 3},
	{"GatherNd", K_PLAIN, FL_OP_GATHER_ND, 2, 2},
	{"ArgMax", K_ARGMAX, FL_OP_ARGMAX, 2, 2},
	{"TopKV2", K_TOPK, FL_OP_TOPK, 2, 2},
	{"Cast", K_CAST, FL_OP_CAST, 1, 1},
	{"Transpose", K_PLAIN, FL_OP_TRANSPOSE, 2, 2},
	{"Tile", K_PLAIN, FL_OP_TILE, 2, 2},
	{"Shape", K_SHAPE, FL_OP_SHAPE, 1, 1},
	/* becomes a chain of two-input ADDs */
	{"AddN", K_ADDN, FL_OP_ADD, 1, MAX_NODE_INPUTS},
};

/* One topology node. */
struct tnode {
	const char *name, *op; /* borrowed from the JSON */
	const json_t *attr;    /* object or NULL */
	const json_t *inputs;  /* array or NULL */
	const struct opdesc *d;
	int n_out;
	int val;  /* value of output 0 (outputs are val..val+n_out-1) */
	int used; /* consumed by some node */
};

struct ctx {
	struct fl_graph *g;
	const char *label; /* the model's path, for messages */
	char *err;
	size_t err_size;
	json_t *root;
	const json_t *sig; /* signature object or NULL */
	struct tnode *nodes;
	int n_nodes;
	int *hash;
	unsigned hash_mask;
	struct fl__weights w;
};

/* ============================================================== errors */

static int node_err(struct ctx *c, const struct tnode *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "<file>: node "<name>" (<op>): <message>"; returns code. */
static int node_err(struct ctx *c, const struct tnode *n, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fl__errf(c->err, c->err_size, "%s: node \"%s\" (%s): %s", c->label, n->name, n->op, msg);
	return code;
}

/* ============================================================ helpers */

static unsigned name_hash(const char *s, size_t len)
{
	unsigned h = 2166136261u;
	size_t i;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The node named s[0..len), or NULL. */
static struct tnode *find_node(const struct ctx *c, const char *s, size_t len)
{
	unsigned h;
	for (h = name_hash(s, len) & c->hash_mask; c->hash[h] >= 0; h = (h + 1) & c->hash_mask) {
		struct tnode *t = &c->nodes[c->hash[h]];
		if (!strncmp(t->name, s, len) && t->name[len] == 0)
			return t;
	}
	return NULL;
}

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decode base64 `s` into out[0..cap); returns the byte count or -1 if s
** is not base64 or does not fit. */
static long b64decode(const char *s, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *s && *s != '='; s++) {
		int v = b64val((unsigned char)*s);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	for (; *s == '='; s++)
		;
	return *s ? -1 : (long)n;
}

/* =========================================================== attributes */

/* The AttrValue object attr[key], or NULL when absent. */
static const json_t *attr_get(const struct tnode *n, const char *key)
{
	return n->attr ? json_object_get(n->attr, key) : NULL;
}

static int attr_bad(struct ctx *c, const struct tnode *n, const char *key)
{
	return node_err(c, n, FL_ECORRUPT, "attr \"%s\" is malformed", key);
}

static int attr_int(struct ctx *c, const struct tnode *n, const char *key, int64_t def, int64_t lo, int64_t hi, int *out)
{
	const json_t *a = attr_get(n, key);
	int64_t v = def;
	if (a && (!json_is_object(a) || fl__json_int(json_object_get(a, "i"), &v)))
		return attr_bad(c, n, key);
	if (v < lo || v > hi)
		return node_err(c, n, FL_ECORRUPT, "attr \"%s\" = %lld is out of range", key, (long long)v);
	*out = (int)v;
	return 0;
}

static int attr_bool(struct ctx *c, const struct tnode *n, const char *key, int def, int *out)
{
	const json_t *a = attr_get(n, key), *b;
	*out = def;
	if (!a)
		return 0;
	b = json_is_object(a) ? json_object_get(a, "b") : NULL;
	/* proto3 JSON omits false: {} means false */
	if (json_is_object(a) && !b && json_object_size(a) == 0) {
		*out = 0;
		return 0;
	}
	if (!json_is_boolean(b))
		return attr_bad(c, n, key);
	*out = json_is_true(b);
	return 0;
}

static int attr_float(struct ctx *c, const struct tnode *n, const char *key, float def, float *out)
{
	const json_t *a = attr_get(n, key), *f;
	*out = def;
	if (!a)
		return 0;
	f = json_is_object(a) ? json_object_get(a, "f") : NULL;
	if (!json_is_number(f) || !isfinite(json_number_value(f)))
		return attr_bad(c, n, key);
	*out = (float)json_number_value(f);
	return 0;
}

/* A base64 "s" attribute decoded into buf (NUL-terminated); *present set. */
static int attr_str(struct ctx *c, const struct tnode *n, const char *key, char *buf, size_t cap, int *present)
{
	const json_t *a = attr_get(n, key), *s;
	long len;
	*present = 0;
	buf[0] = 0;
	if (!a)
		return 0;
	s = json_is_object(a) ? json_object_get(a, "s") : NULL;
	if (!json_is_string(s) || (len = b64decode(json_string_value(s), (uint8_t *)buf, cap - 1)) < 0)
		return attr_bad(c, n, key);
	buf[len] = 0;
	*present = 1;
	return 0;
}

/* TF DataType name to ours.  TF.js keeps every integer as int32, so
** DT_INT64 is read as int32 too. */
static int parse_tf_type(const char *s, enum fl_dtype *dt)
{
	if (!strcmp(s, "DT_FLOAT"))
		*dt = FL_DTYPE_F32;
	else if (!strcmp(s, "DT_INT32") || !strcmp(s, "DT_INT64"))
		*dt = FL_DTYPE_I32;
	else if (!strcmp(s, "DT_BOOL"))
		*dt = FL_DTYPE_BOOL;
	else
		return FL_EUNSUPPORTED;
	return 0;
}

static int attr_type(struct ctx *c, const struct tnode *n, const char *key, enum fl_dtype def, enum fl_dtype *out)
{
	const json_t *a = attr_get(n, key), *t;
	*out = def;
	if (!a)
		return 0;
	t = json_is_object(a) ? json_object_get(a, "type") : NULL;
	if (!json_is_string(t))
		return attr_bad(c, n, key);
	if (parse_tf_type(json_string_value(t), out))
		return node_err(c, n, FL_EUNSUPPORTED, "attr \"%s\": unsupported type %s", key, json_string_value(t));
	return 0;
}

/* list.i of attr key into v[0..max); *count = entries (-1 if absent). */
static int attr_ilist(struct ctx *c, const struct tnode *n, const char *key, int64_t *v, int max, int *count)
{
	const json_t *a = attr_get(n, key), *l, *li;
	size_t i;
	*count = -1;
	if (!a)
		return 0;
	l = json_is_object(a) ? json_object_get(a, "list") : NULL;
	if (!json_is_object(l))
		return attr_bad(c, n, key);
	li = json_object_get(l, "i");
	if (!li) {
		*count = 0; /* {"list": {}}: an empty list */
		return 0;
	}
	if (!json_is_array(li) || json_array_size(li) > (size_t)max)
		return attr_bad(c, n, key);
	for (i = 0; i < json_array_size(li); i++) {
		if (fl__json_int(json_array_get(li, i), &v[i]) || v[i] < -(1LL << 31) || v[i] >= (1LL << 31))
			return attr_bad(c, n, key);
	}
	*count = (int)json_array_size(li);
	return 0;
}

/* list.s of attr key, each decoded into s[i] (32 bytes each). */
static int attr_slist(struct ctx *c, const struct tnode *n, const char *key, char (*s)[32], int max, int *count)
{
	const json_t *a = attr_get(n, key), *l, *ls;
	size_t i;
	*count = 0;
	if (!a)
		return 0;
	l = json_is_object(a) ? json_object_get(a, "list") : NULL;
	if (!json_is_object(l))
		return attr_bad(c, n, key);
	ls = json_object_get(l, "s");
	if (!ls)
		return 0;
	if (!json_is_array(ls) || json_array_size(ls) > (size_t)max)
		return attr_bad(c, n, key);
	for (i = 0; i < json_array_size(ls); i++) {
		const json_t *e = json_array_get(ls, i);
		long len;
		if (!json_is_string(e) || (len = b64decode(json_string_value(e), (uint8_t *)s[i], 31)) < 0)
			return attr_bad(c, n, key);
		s[i][len] = 0;
	}
	*count = (int)json_array_size(ls);
	return 0;
}

/* data_format, when given, must be NHWC. */
static int check_nhwc(struct ctx *c, const struct tnode *n)
{
	char fmt[32];
	int present, rc = attr_str(c, n, "data_format", fmt, sizeof(fmt), &present);
	if (rc)
		return rc;
	if (present && strcmp(fmt, "NHWC"))
		return node_err(c, n, FL_EUNSUPPORTED, "data_format %s is unsupported (NHWC only)", fmt);
	return 0;
}

/* An NHWC 4-list (strides, dilations, ksize) into hw[2]; batch and
** channel entries must be 1. */
static int attr_hw(struct ctx *c, const struct tnode *n, const char *key, int required, int hw[2])
{
	int64_t v[8];
	int cnt, rc = attr_ilist(c, n, key, v, 8, &cnt);
	if (rc)
		return rc;
	if (cnt <= 0) {
		if (required)
			return node_err(c, n, FL_ECORRUPT, "attr \"%s\" is missing", key);
		hw[0] = hw[1] = 1;
		return 0;
	}
	if (cnt != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 4096 || v[2] > 4096)
		return node_err(c, n, FL_EUNSUPPORTED, "attr \"%s\" must be [1, h, w, 1] with 1 <= h, w <= 4096", key);
	hw[0] = (int)v[1];
	hw[1] = (int)v[2];
	return 0;
}

/* padding (SAME/VALID/EXPLICIT with explicit_paddings) into a. */
static int attr_padding(struct ctx *c, const struct tnode *n, struct fl_attr *a)
{
	char pad[32];
	int present, rc = attr_str(c, n, "padding", pad, sizeof(pad), &present);
	if (rc)
		return rc;
	if (!present)
		return node_err(c, n, FL_ECORRUPT, "attr \"padding\" is missing");
	if (!strcmp(pad, "SAME")) {
		a->padding = FL_PADDING_SAME;
	} else if (!strcmp(pad, "VALID")) {
		a->padding = FL_PADDING_VALID;
	} else if (!strcmp(pad, "EXPLICIT")) {
		int64_t v[8];
		int cnt, i;
		if ((rc = attr_ilist(c, n, "explicit_paddings", v, 8, &cnt)))
			return rc;
		if (cnt != 8 || v[0] || v[1] || v[6] || v[7])
			return node_err(c, n, FL_EUNSUPPORTED, "explicit_paddings must pad only H and W");
		for (i = 2; i < 6; i++) {
			if (v[i] < 0 || v[i] > 4096)
				return node_err(c, n, FL_ECORRUPT, "explicit_paddings out of range");
			a->pads[i - 2] = (int)v[i];
		}
		a->padding = FL_PADDING_EXPLICIT;
	} else {
		return node_err(c, n, FL_EUNSUPPORTED, "padding %s is unsupported", pad);
	}
	return 0;
}

/* fused_ops of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul:
** sets a->act and the number of inputs the node must have. */
static int attr_fused(struct ctx *c, const struct tnode *n, struct fl_attr *a, int *want_in)
{
	char f[4][32];
	int cnt, rc = attr_slist(c, n, "fused_ops", f, 4, &cnt);
	if (rc)
		return rc;
	a->act = FL_ACT_NONE;
	*want_in = 2;
	if (cnt == 0)
		return 0;
	if (strcmp(f[0], "BiasAdd") || cnt > 2)
		goto unsupported;
	*want_in = 3;
	if (cnt == 1)
		return 0;
	if (!strcmp(f[1], "Relu")) {
		a->act = FL_ACT_RELU;
	} else if (!strcmp(f[1], "Relu6")) {
		a->act = FL_ACT_RELU6;
	} else if (!strcmp(f[1], "Sigmoid")) {
		a->act = FL_ACT_SIGMOID;
	} else if (!strcmp(f[1], "Prelu")) {
		a->act = FL_ACT_PRELU;
		*want_in = 4;
	} else if (!strcmp(f[1], "LeakyRelu")) {
		a->act = FL_ACT_LEAKY_RELU;
		if ((rc = attr_float(c, n, "leakyrelu_alpha", 0.2f, &a->act_alpha)))
			return rc;
	} else {
		goto unsupported;
	}
	return 0;
unsupported:
	return node_err(c, n, FL_EUNSUPPORTED, "fused_ops [%s%s%s] are unsupported", f[0], cnt > 1 ? ", " : "",
	                cnt > 1 ? f[1] : "");
}

/* ============================================================= shapes */

/* A TensorShapeProto ({"dim": [{"size": "3"}, ...]}) into dims. */
static int parse_shape(struct ctx *c, const struct tnode *n, const json_t *ts, int allow_unknown, int *n_dims,
                       int64_t *dims)
{
	const json_t *jd;
	size_t i;
	if (!json_is_object(ts))
		return node_err(c, n, FL_ECORRUPT, "malformed tensor shape");
	if (json_is_true(json_object_get(ts, "unknownRank")))
		return node_err(c, n, FL_EUNSUPPORTED, "tensor shape of unknown rank");
	jd = json_object_get(ts, "dim");
	if (!jd) {
		*n_dims = 0; /* a scalar */
		return 0;
	}
	if (!json_is_array(jd))
		return node_err(c, n, FL_ECORRUPT, "malformed tensor shape");
	if (json_array_size(jd) > FL_MAX_DIMS)
		return node_err(c, n, FL_EUNSUPPORTED, "tensor of %zu dims (at most %d)", json_array_size(jd), FL_MAX_DIMS);
	for (i = 0; i < json_array_size(jd); i++) {
		const json_t *e = json_array_get(jd, i), *sz;
		int64_t v = 0;
		if (!json_is_object(e))
			return node_err(c, n, FL_ECORRUPT, "malformed tensor shape");
		sz = json_object_get(e, "size"); /* absent: proto3's default 0 */
		if (sz && fl__json_int(sz, &v))
			return node_err(c, n, FL_ECORRUPT, "malformed tensor shape");
		if ((v < 0 && !(allow_unknown && v == -1)) || v > FL__LOAD_MAX_DIM)
			return node_err(c, n, FL_ECORRUPT, "bad dimension %lld", (long long)v);
		dims[i] = v;
	}
	*n_dims = (int)json_array_size(jd);
	return 0;
}

static void fmt_dims(char *buf, size_t cap, int n_dims, const int64_t *dims)
{
	size_t len = 0;
	int i;
	len += (size_t)snprintf(buf, cap, "[");
	for (i = 0; i < n_dims && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)dims[i]);
	if (len < cap)
		snprintf(buf + len, cap - len, "]");
}

/* ============================================================ constants */

/* The tensor in a Const node's attr.value, without manifest weights. */
static int inline_tensor(struct ctx *c, struct tnode *n, const json_t *t, enum fl_dtype dt, int n_dims,
                         const int64_t *dims)
{
	const json_t *content = json_object_get(t, "tensorContent");
	const char *vkey = dt == FL_DTYPE_F32 ? "floatVal" : dt == FL_DTYPE_I32 ? "intVal" : "boolVal";
	const json_t *vals = json_object_get(t, vkey);
	int64_t numel = 1, i;
	size_t esz = fl_dtype_size(dt);
	uint8_t *data;
	int rc;

	/* Inline values may be repeated to fill the shape, so a few bytes of
	** JSON could ask for a huge tensor: bound it well below the limit
	** for weights (which must be backed by .bin bytes). */
	for (i = 0; i < n_dims; i++) {
		numel *= dims[i];
		if (numel > MAX_INLINE_NUMEL)
			return node_err(c, n, FL_EUNSUPPORTED, "inline constant of more than %d elements", MAX_INLINE_NUMEL);
	}
	data = fl_calloc((size_t)(numel ? numel : 1), esz);
	if (!data)
		return FL_ENOMEM;
	if (content) {
		long got;
		if (!json_is_string(content) ||
		    (got = b64decode(json_string_value(content), data, (size_t)numel * esz)) != (long)((size_t)numel * esz)) {
			fl_free(data);
			return node_err(c, n, FL_ECORRUPT, "tensorContent does not hold %lld elements", (long long)numel);
		}
		/* little-endian bytes; our hosts are little-endian (x86) */
	} else if (vals) {
		size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
		if (!json_is_array(vals) || (int64_t)nv > numel || (nv == 0 && numel > 0)) {
			fl_free(data);
			return node_err(c, n, FL_ECORRUPT, "%s does not fit the shape", vkey);
		}
		/* TF: fewer values than elements repeat the last one. */
		for (i = 0; i < numel; i++) {
			const json_t *e = json_array_get(vals, (size_t)i < nv ? (size_t)i : nv - 1);
			int64_t iv;
			if (dt == FL_DTYPE_F32 && json_is_number(e)) {
				((float *)data)[i] = (float)json_number_value(e);
			} else if (dt == FL_DTYPE_I32 && !fl__json_int(e, &iv) && iv >= INT32_MIN && iv <= INT32_MAX) {
				((int32_t *)data)[i] = (int32_t)iv;
			} else if (dt == FL_DTYPE_BOOL && json_is_boolean(e)) {
				data[i] = json_is_true(e);
			} else {
				fl_free(data);
				return node_err(c, n, FL_ECORRUPT, "malformed %s", vkey);
			}
		}
	} else if (numel > 0) {
		fl_free(data);
		return node_err(c, n, FL_ECORRUPT, "constant without data (no weight of this name, no tensor value)");
	}
	rc = fl__graph_add_const(c->g, n->name, dt, n_dims, dims, data);
	if (rc < 0)
		return rc;
	n->val = rc;
	return 0;
}

static int load_const(struct ctx *c, struct tnode *n)
{
	const json_t *value = attr_get(n, "value");
	const json_t *t = json_is_object(value) ? json_object_get(value, "tensor") : NULL;
	const struct fl__wspec *s = fl__weights_find(&c->w, n->name);
	enum fl_dtype dt;
	int n_dims = -1, rc;
	int64_t dims[FL_MAX_DIMS];
	void *data;

	if ((rc = attr_type(c, n, "dtype", FL_DTYPE_F32, &dt)))
		return rc;
	if (t && !json_is_object(t))
		return node_err(c, n, FL_ECORRUPT, "attr \"value\" is malformed");
	if (t) {
		const json_t *tdt = json_object_get(t, "dtype");
		if (tdt && (!json_is_string(tdt) || parse_tf_type(json_string_value(tdt), &dt)))
			return node_err(c, n, FL_EUNSUPPORTED, "constant of unsupported dtype %s",
			                json_is_string(tdt) ? json_string_value(tdt) : "?");
		if (json_object_get(t, "tensorShape") &&
		    (rc = parse_shape(c, n, json_object_get(t, "tensorShape"), 0, &n_dims, dims)))
			return rc;
	}
	if (!s) {
		if (!t)
			return node_err(c, n, FL_ECORRUPT, "constant without data (no weight of this name, no tensor value)");
		return inline_tensor(c, n, t, dt, n_dims < 0 ? 0 : n_dims, dims);
	}
	/* A manifest weight: its dtype and shape must agree with the node's. */
	if (s->dtype != dt)
		return node_err(c, n, FL_ECORRUPT, "weight dtype %s does not match the node's %s", fl_dtype_name(s->dtype),
		                fl_dtype_name(dt));
	if (n_dims >= 0 && (n_dims != s->n_dims || memcmp(dims, s->dims, (size_t)n_dims * sizeof(dims[0])))) {
		char a[128], b[128];
		fmt_dims(a, sizeof(a), s->n_dims, s->dims);
		fmt_dims(b, sizeof(b), n_dims, dims);
		return node_err(c, n, FL_ECORRUPT, "weight shape %s (%zu bytes) does not match the node's shape %s", a,
		                s->nbytes, b);
	}
	rc = fl__weights_decode(&c->w, s, &data, c->label, c->err, c->err_size);
	if (rc == FL_ETRUNCATED)
		return node_err(c, n, rc, "weight needs bytes [%zu, %zu) but the .bin data holds %zu: truncated", s->offset,
		                s->offset + s->nbytes, c->w.size);
	if (rc)
		return rc;
	rc = fl__graph_add_const(c->g, n->name, s->dtype, s->n_dims, s->dims, data);
	if (rc < 0)
		return rc;
	n->val = rc;
	return 0;
}

/* ============================================================== values */

/* The signature's entry for input/output `name` ("x" or "x:0"), or NULL. */
static const json_t *sig_find(const struct ctx *c, const char *which, const char *name)
{
	const json_t *obj = c->sig ? json_object_get(c->sig, which) : NULL, *v;
	const char *key;
	size_t len = strlen(name);
	if (!json_is_object(obj))
		return NULL;
	json_object_foreach((json_t *)obj, key, v) {
		const json_t *jn = json_is_object(v) ? json_object_get(v, "name") : NULL;
		const char *s = json_is_string(jn) ? json_string_value(jn) : key;
		if (!strncmp(s, name, len) && (s[len] == 0 || !strcmp(s + len, ":0")))
			return v;
	}
	return NULL;
}

static int load_input(struct ctx *c, struct tnode *n)
{
	const json_t *shp = attr_get(n, "shape");
	enum fl_dtype dt;
	int64_t dims[FL_MAX_DIMS];
	int n_dims = 0, rc;

	if ((rc = attr_type(c, n, "dtype", FL_DTYPE_F32, &dt)))
		return rc;
	shp = json_is_object(shp) ? json_object_get(shp, "shape") : NULL;
	if (!shp || json_is_true(json_object_get(shp, "unknownRank"))) {
		/* No declared shape on the node: take the signature's. */
		const json_t *sv = sig_find(c, "inputs", n->name);
		shp = sv ? json_object_get(sv, "tensorShape") : NULL;
		if (!shp)
			return node_err(c, n, FL_EUNSUPPORTED, "input without a declared shape");
	}
	if ((rc = parse_shape(c, n, shp, 1, &n_dims, dims)))
		return rc;
	rc = fl__graph_add_value(c->g, n->name, dt, n_dims, dims);
	if (rc < 0)
		return rc;
	n->val = rc;
	return 0;
}

/* Outputs and their dtypes of an op node. */
static int op_outputs(struct ctx *c, struct tnode *n, enum fl_dtype *dts, int max)
{
	enum fl_dtype t;
	int rc, num;

	switch (n->d->kind) {
	case K_NOOP:
		n->n_out = 0;
		return 0;
	case K_UNPACK:
		if ((rc = attr_int(c, n, "num", -1, 1, max, &num)))
			return rc == FL_ECORRUPT && !attr_get(n, "num") ? node_err(c, n, FL_ECORRUPT, "attr \"num\" is missing")
			                                                : rc;
		if ((rc = attr_type(c, n, "T", FL_DTYPE_F32, &t)))
			return rc;
		n->n_out = num;
		for (rc = 0; rc < num; rc++)
			dts[rc] = t;
		return 0;
	case K_TOPK:
		n->n_out = 2;
		dts[1] = FL_DTYPE_I32;
		return attr_type(c, n, "T", FL_DTYPE_F32, &dts[0]);
	default:
		break;
	}
	n->n_out = 1;
	switch (n->d->op) {
	case FL_OP_EQUAL:
		dts[0] = FL_DTYPE_BOOL;
		return 0;
	case FL_OP_SHAPE:
		dts[0] = FL_DTYPE_I32;
		return 0;
	case FL_OP_ARGMAX:
		return attr_type(c, n, "output_type", FL_DTYPE_I32, &dts[0]);
	case FL_OP_CAST:
		return attr_type(c, n, "DstT", FL_DTYPE_F32, &dts[0]);
	case FL_OP_GATHER:
	case FL_OP_GATHER_ND:
		return attr_type(c, n, "Tparams", FL_DTYPE_F32, &dts[0]);
	default:
		return attr_type(c, n, "T", FL_DTYPE_F32, &dts[0]);
	}
}

static int make_values(struct ctx *c, struct tnode *n)
{
	enum fl_dtype dts[1024];
	char *name = NULL;
	int k, rc;

	if (n->d->kind == K_CONST || n->d->kind == K_INPUT) {
		n->n_out = 1;
		return n->d->kind == K_CONST ? load_const(c, n) : load_input(c, n);
	}
	if ((rc = op_outputs(c, n, dts, (int)FL_ARRAY_SIZE(dts))))
		return rc;
	for (k = 0; k < n->n_out; k++) {
		const char *vn = n->name;
		if (k > 0) {
			size_t len = strlen(n->name) + 16;
			if (!name && !(name = fl_malloc(len)))
				return FL_ENOMEM;
			snprintf(name, len, "%s:%d", n->name, k);
			vn = name;
		}
		/* Intermediate shapes are unknown here: the session infers them. */
		rc = fl__graph_add_value(c->g, vn, dts[k], 0, NULL);
		if (rc < 0)
			break;
		if (k == 0)
			n->val = rc;
		else if (rc != n->val + k) {
			rc = FL_EINTERNAL;
			break;
		}
		rc = 0;
	}
	fl_free(name);
	return rc;
}

/* =============================================================== inputs */

/* Resolve a reference "name", "name:k" or "^name" (*val = -1 for a
** control input).  `who` names the referring node in messages (NULL: the
** signature). */
static int resolve(struct ctx *c, const struct tnode *who, const char *ref, int *val)
{
	size_t len = strlen(ref), j;
	long idx = 0;
	struct tnode *t;

	*val = -1;
	if (ref[0] == '^')
		return 0;
	/* a trailing ":<digits>" selects an output */
	for (j = len; j > 0 && ref[j - 1] >= '0' && ref[j - 1] <= '9'; j--)
		;
	if (j > 1 && j < len && ref[j - 1] == ':' && len - j <= 6) {
		idx = strtol(ref + j, NULL, 10);
		len = j - 1;
	}
	t = len ? find_node(c, ref, len) : NULL;
	if (!t || idx >= t->n_out || (t->d->kind == K_CONST || t->d->kind == K_INPUT ? idx > 0 : 0)) {
		int code = FL_ECORRUPT;
		if (who)
			return node_err(c, who, code, "input \"%s\" names %s", ref, t ? "a missing output" : "no node");
		fl__errf(c->err, c->err_size, "%s: signature: \"%s\" names %s", c->label, ref,
		         t ? "a missing output" : "no node");
		return code;
	}
	t->used = 1;
	*val = t->val + (int)idx;
	return 0;
}

/* A constant scalar value's float (PadV2's constant_values). */
static int const_scalar(struct ctx *c, const struct tnode *n, int v, float *out)
{
	const struct fl_value *fv = &c->g->values[v];
	int64_t numel = 1;
	int i;
	for (i = 0; i < fv->n_dims; i++)
		numel *= fv->dims[i];
	if (!fv->data || numel != 1)
		return node_err(c, n, FL_EUNSUPPORTED, "constant_values must be a constant scalar");
	*out = fv->dtype == FL_DTYPE_F32 ? *(float *)fv->data : fv->dtype == FL_DTYPE_I32 ? (float)*(int32_t *)fv->data
	                                                                                  : *(uint8_t *)fv->data;
	return 0;
}

/* ================================================================ nodes */

static int add_node(struct ctx *c, const struct tnode *n, int op, const char *name, const int *in, int n_in,
                    const int *out, int n_out, const struct fl_attr *a)
{
	int rc = fl__graph_add_node(c->g, (enum fl_op)op, name, in, n_in, out, n_out, a);
	return rc < 0 ? rc : 0;
}

/* AddN: a left-to-right chain of ADDs, the last one writing n's value. */
static int add_addn(struct ctx *c, const struct tnode *n, const int *in, int n_in)
{
	char *name = NULL;
	size_t len = strlen(n->name) + 24;
	int acc = in[0], i, rc = 0, pair[2];

	if (n_in == 1)
		return add_node(c, n, FL_OP_IDENTITY, n->name, in, 1, &n->val, 1, NULL);
	if (!(name = fl_malloc(len)))
		return FL_ENOMEM;
	for (i = 1; i < n_in && !rc; i++) {
		int out = n->val;
		if (i < n_in - 1) {
			snprintf(name, len, "%s/AddN_%d", n->name, i);
			rc = fl__graph_add_value(c->g, name, c->g->values[n->val].dtype, 0, NULL);
			if (rc < 0)
				break;
			out = rc;
		} else {
			snprintf(name, len, "%s", n->name);
		}
		pair[0] = acc;
		pair[1] = in[i];
		rc = add_node(c, n, FL_OP_ADD, name, pair, 2, &out, 1, NULL);
		acc = out;
	}
	fl_free(name);
	return rc < 0 ? rc : 0;
}

/*
** Step 3 for one op node: resolve its inputs, decode the attributes its
** kind needs into a struct fl_attr (zero = the engine's default), and add
** the engine node, named like the TF node so errors and profiles match
** the file.
*/
static int translate(struct ctx *c, struct tnode *n)
{
	const struct opdesc *d = n->d;
	struct fl_attr a;
	int in[MAX_NODE_INPUTS], n_in = 0, out[1024], k, rc, want = -1;
	size_t i;

	/* Data inputs, in order; control inputs ("^x") dropped. */
	for (i = 0; n->inputs && i < json_array_size(n->inputs); i++) {
		int v;
		if ((rc = resolve(c, n, json_string_value(json_array_get(n->inputs, i)), &v)))
			return rc;
		if (v < 0)
			continue;
		if (n_in == MAX_NODE_INPUTS)
			return node_err(c, n, FL_ECORRUPT, "too many inputs");
		in[n_in++] = v;
	}
	if (n_in < d->min_in || n_in > d->max_in)
		return node_err(c, n, FL_ECORRUPT, "%d inputs (expected %d%s%d)", n_in, d->min_in,
		                d->min_in == d->max_in ? "" : "..", d->min_in == d->max_in ? 0 : d->max_in);
	for (k = 0; k < n->n_out; k++)
		out[k] = n->val + k;
	memset(&a, 0, sizeof(a));

	/* Attributes per kind; TF's defaults apply to absent ones. */
	switch (d->kind) {
	case K_CONV:
		if ((rc = check_nhwc(c, n)) || (rc = attr_hw(c, n, "strides", 1, a.stride)) ||
		    (rc = attr_hw(c, n, "dilations", 0, a.dilation)) || (rc = attr_padding(c, n, &a)) ||
		    (rc = attr_fused(c, n, &a, &want)))
			return rc;
		break;
	case K_MATMUL:
		if ((rc = attr_bool(c, n, "transpose_a", 0, &a.transpose_a)) ||
		    (rc = attr_bool(c, n, "transpose_b", 0, &a.transpose_b)) || (rc = attr_fused(c, n, &a, &want)))
			return rc;
		break;
	case K_BIASADD:
		if ((rc = check_nhwc(c, n)))
			return rc;
		break;
	case K_LEAKY:
		if ((rc = attr_float(c, n, "alpha", 0.2f, &a.act_alpha)))
			return rc;
		break;
	case K_SOFTMAX:
		a.axis = -1;
		break;
	case K_POOL:
		if ((rc = check_nhwc(c, n)) || (rc = attr_hw(c, n, "ksize", 1, a.ksize)) ||
		    (rc = attr_hw(c, n, "strides", 1, a.stride)) || (rc = attr_padding(c, n, &a)))
			return rc;
		break;
	case K_REDUCE:
		if ((rc = attr_bool(c, n, "keep_dims", 0, &a.keep_dims)))
			return rc;
		break;
	case K_PADV2:
		/* the fill value must be a constant: it becomes an attribute */
		if ((rc = const_scalar(c, n, in[2], &a.pad_value)))
			return rc;
		n_in = 2;
		break;
	case K_RESIZE:
		if ((rc = attr_bool(c, n, "align_corners", 0, &a.align_corners)) ||
		    (rc = attr_bool(c, n, "half_pixel_centers", 0, &a.half_pixel)))
			return rc;
		if (a.align_corners && a.half_pixel)
			return node_err(c, n, FL_ECORRUPT, "align_corners and half_pixel_centers are exclusive");
		break;
	case K_SQUEEZE: {
		int64_t v[FL_MAX_DIMS];
		int cnt, j;
		if ((rc = attr_ilist(c, n, "squeeze_dims", v, FL_MAX_DIMS, &cnt)))
			return rc;
		if (cnt < 0 && (rc = attr_ilist(c, n, "axis", v, FL_MAX_DIMS, &cnt)))
			return rc;
		for (j = 0; j < cnt; j++) {
			if (v[j] < -FL_MAX_DIMS || v[j] >= FL_MAX_DIMS)
				return node_err(c, n, FL_ECORRUPT, "squeeze_dims out of range");
			a.axes[j] = (int)v[j];
		}
		a.n_axes = cnt < 0 ? 0 : cnt;
		break;
	}
	case K_CONCAT:
		/* N data inputs, then the axis tensor */
		if ((rc = attr_int(c, n, "N", n_in - 1, n_in - 1, n_in - 1, &k)))
			return rc;
		break;
	case K_PACK:
		if ((rc = attr_int(c, n, "N", n_in, n_in, n_in, &k)) ||
		    (rc = attr_int(c, n, "axis", 0, -FL_MAX_DIMS, FL_MAX_DIMS, &a.axis)))
			return rc;
		break;
	case K_UNPACK:
		if ((rc = attr_int(c, n, "axis", 0, -FL_MAX_DIMS, FL_MAX_DIMS, &a.axis)))
			return rc;
		break;
	case K_SSLICE:
		if ((rc = attr_int(c, n, "begin_mask", 0, 0, 0xffff, &a.begin_mask)) ||
		    (rc = attr_int(c, n, "end_mask", 0, 0, 0xffff, &a.end_mask)) ||
		    (rc = attr_int(c, n, "ellipsis_mask", 0, 0, 0xffff, &a.ellipsis_mask)) ||
		    (rc = attr_int(c, n, "new_axis_mask", 0, 0, 0xffff, &a.new_axis_mask)) ||
		    (rc = attr_int(c, n, "shrink_axis_mask", 0, 0, 0xffff, &a.shrink_axis_mask)))
			return rc;
		break;
	case K_GATHER:
		if ((rc = attr_int(c, n, "batch_dims", 0, -FL_MAX_DIMS, FL_MAX_DIMS, &a.batch_dims)))
			return rc;
		break;
	case K_ARGMAX:
		if ((rc = attr_type(c, n, "output_type", FL_DTYPE_I32, &a.dtype)))
			return rc;
		if (a.dtype != FL_DTYPE_I32)
			return node_err(c, n, FL_EUNSUPPORTED, "output_type must be an integer type");
		break;
	case K_TOPK:
		if ((rc = attr_bool(c, n, "sorted", 1, &a.sorted)))
			return rc;
		break;
	case K_CAST:
		if ((rc = attr_type(c, n, "DstT", FL_DTYPE_F32, &a.dtype)))
			return rc;
		break;
	case K_SHAPE:
		a.dtype = FL_DTYPE_I32;
		break;
	case K_ADDN:
		return add_addn(c, n, in, n_in);
	default:
		break;
	}
	if (want >= 0 && n_in != want)
		return node_err(c, n, FL_ECORRUPT, "%d inputs, but its fused ops need %d", n_in, want);
	return add_node(c, n, d->op, n->name, in, n_in, out, n->n_out, &a);
}

/* ======================================================== the whole file */

static const struct opdesc *find_op(const char *op)
{
	size_t i;
	for (i = 0; i < FL_ARRAY_SIZE(opdescs); i++)
		if (!strcmp(opdescs[i].tf, op))
			return &opdescs[i];
	return NULL;
}

/* Step 1: check each node's fields and build the name table. */
static int scan_nodes(struct ctx *c, const json_t *jnodes)
{
	size_t i, cap;

	if (json_array_size(jnodes) > FL__LOAD_MAX_NODES) {
		fl__errf(c->err, c->err_size, "%s: %zu nodes (at most %d)", c->label, json_array_size(jnodes),
		         FL__LOAD_MAX_NODES);
		return FL_ERANGE;
	}
	c->nodes = fl_calloc(json_array_size(jnodes) + 1, sizeof(*c->nodes));
	for (cap = 16; cap < 2 * json_array_size(jnodes); cap *= 2)
		;
	c->hash = fl_malloc(cap * sizeof(int));
	if (!c->nodes || !c->hash)
		return FL_ENOMEM;
	memset(c->hash, 0xff, cap * sizeof(int));
	c->hash_mask = (unsigned)cap - 1;

	for (i = 0; i < json_array_size(jnodes); i++) {
		const json_t *jn = json_array_get(jnodes, i), *name, *op, *inputs, *attr;
		struct tnode *n = &c->nodes[c->n_nodes];
		size_t j;
		unsigned h;

		name = json_object_get(jn, "name");
		op = json_object_get(jn, "op");
		if (!json_is_object(jn) || !json_is_string(name) || !json_is_string(op) || json_string_length(name) == 0 ||
		    json_string_length(name) > MAX_NAME || strlen(json_string_value(name)) != json_string_length(name) ||
		    strchr(json_string_value(name), ':') || json_string_value(name)[0] == '^') {
			fl__errf(c->err, c->err_size, "%s: modelTopology.node[%zu]: missing or malformed \"name\" or \"op\"",
			         c->label, i);
			return FL_ECORRUPT;
		}
		n->name = json_string_value(name);
		n->op = json_string_value(op);
		n->val = -1;
		inputs = json_object_get(jn, "input");
		attr = json_object_get(jn, "attr");
		if ((inputs && !json_is_array(inputs)) || (attr && !json_is_object(attr)))
			return node_err(c, n, FL_ECORRUPT, "\"input\" or \"attr\" of the wrong type");
		for (j = 0; inputs && j < json_array_size(inputs); j++) {
			const json_t *e = json_array_get(inputs, j);
			if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
				return node_err(c, n, FL_ECORRUPT, "input %zu is not a string", j);
		}
		n->inputs = inputs;
		n->attr = attr;
		n->d = find_op(n->op);
		if (!n->d)
			return node_err(c, n, FL_EUNSUPPORTED, "unsupported op");
		for (h = name_hash(n->name, strlen(n->name)) & c->hash_mask; c->hash[h] >= 0; h = (h + 1) & c->hash_mask) {
			if (!strcmp(c->nodes[c->hash[h]].name, n->name))
				return node_err(c, n, FL_ECORRUPT, "a second node of this name");
		}
		c->hash[h] = c->n_nodes++;
	}
	return 0;
}

/* Step 4: graph inputs and outputs. */
static int set_io(struct ctx *c)
{
	int *ins = NULL, *outs = NULL, n_ins = 0, n_outs = 0, i, rc;
	const json_t *sin = c->sig ? json_object_get(c->sig, "inputs") : NULL;
	const json_t *sout = c->sig ? json_object_get(c->sig, "outputs") : NULL;
	const char *key;
	json_t *v;

	ins = fl_malloc(((size_t)c->n_nodes + 1) * sizeof(int));
	outs = fl_malloc(((size_t)c->n_nodes + (json_is_object(sout) ? json_object_size(sout) : 0) + 1) * sizeof(int));
	if (!ins || !outs) {
		rc = FL_ENOMEM;
		goto fail;
	}
	/* Inputs: the signature's order, then any other Placeholder. */
	if (json_is_object(sin)) {
		json_object_foreach((json_t *)sin, key, v) {
			const json_t *jn = json_is_object(v) ? json_object_get(v, "name") : NULL;
			const char *ref = json_is_string(jn) ? json_string_value(jn) : key;
			int val, j;
			if ((rc = resolve(c, NULL, ref, &val)))
				goto fail;
			if (val < 0 || c->g->values[val].producer >= 0 || c->g->values[val].data) {
				fl__errf(c->err, c->err_size, "%s: signature input \"%s\" is not a Placeholder", c->label, ref);
				rc = FL_ECORRUPT;
				goto fail;
			}
			for (j = 0; j < n_ins && ins[j] != val; j++)
				;
			if (j == n_ins)
				ins[n_ins++] = val;
		}
	}
	for (i = 0; i < c->n_nodes; i++) {
		int j;
		if (c->nodes[i].d->kind != K_INPUT)
			continue;
		for (j = 0; j < n_ins && ins[j] != c->nodes[i].val; j++)
			;
		if (j == n_ins)
			ins[n_ins++] = c->nodes[i].val;
	}
	/* Outputs: the signature's order, else the nodes nobody consumes. */
	if (json_is_object(sout) && json_object_size(sout) > 0) {
		json_object_foreach((json_t *)sout, key, v) {
			const json_t *jn = json_is_object(v) ? json_object_get(v, "name") : NULL;
			const char *ref = json_is_string(jn) ? json_string_value(jn) : key;
			int val;
			if ((rc = resolve(c, NULL, ref, &val)))
				goto fail;
			if (val < 0) {
				fl__errf(c->err, c->err_size, "%s: signature output \"%s\" is a control reference", c->label, ref);
				rc = FL_ECORRUPT;
				goto fail;
			}
			outs[n_outs++] = val;
		}
	} else {
		for (i = 0; i < c->n_nodes; i++) {
			const struct tnode *n = &c->nodes[i];
			int k;
			if (n->used || n->d->kind == K_CONST || n->d->kind == K_INPUT || n->d->kind == K_NOOP)
				continue;
			for (k = 0; k < n->n_out; k++)
				outs[n_outs++] = n->val + k;
		}
	}
	if (n_outs == 0) {
		fl__errf(c->err, c->err_size, "%s: the graph has no outputs", c->label);
		rc = FL_ECORRUPT;
		goto fail;
	}
	rc = fl__graph_set_io(c->g, ins, n_ins, outs, n_outs);
fail:
	fl_free(ins);
	fl_free(outs);
	return rc < 0 ? rc : 0;
}

int fl__load_tfjs_buf(struct fl_graph *g, const char *json, size_t json_size, const char *dir, const uint8_t *bin,
                      size_t bin_size, const char *label, char *err, size_t err_size)
{
	struct ctx c;
	const json_t *topo, *jnodes, *fmt, *manifest, *udm;
	int i, rc;

	memset(&c, 0, sizeof(c));
	c.g = g;
	c.label = label ? label : "<memory>";
	c.err = err;
	c.err_size = err_size;
	if (err && err_size)
		err[0] = 0;

	if ((rc = fl__json_parse(json, json_size, c.label, &c.root, err, err_size)))
		goto fail;
	if (!json_is_object(c.root)) {
		fl__errf(err, err_size, "%s: not a JSON object", c.label);
		rc = FL_ECORRUPT;
		goto fail;
	}
	fmt = json_object_get(c.root, "format");
	if (fmt && (!json_is_string(fmt) || strcmp(json_string_value(fmt), "graph-model"))) {
		fl__errf(err, err_size, "%s: format \"%s\" is unsupported (graph-model only)", c.label,
		         json_is_string(fmt) ? json_string_value(fmt) : "?");
		rc = FL_EUNSUPPORTED;
		goto fail;
	}
	topo = json_object_get(c.root, "modelTopology");
	jnodes = json_is_object(topo) ? json_object_get(topo, "node") : NULL;
	if (!json_is_array(jnodes)) {
		fl__errf(err, err_size, "%s: no \"modelTopology.node\" array: not a TF.js graph model", c.label);
		rc = FL_ECORRUPT;
		goto fail;
	}
	c.sig = json_object_get(c.root, "signature");
	udm = json_object_get(c.root, "userDefinedMetadata");
	if (!c.sig && json_is_object(udm))
		c.sig = json_object_get(udm, "signature");
	if (c.sig && !json_is_object(c.sig))
		c.sig = NULL;

	manifest = json_object_get(c.root, "weightsManifest");
	if (!manifest) {
		/* a graph of only inline constants */
		manifest = json_array();
		if (!manifest) {
			rc = FL_ENOMEM;
			goto fail;
		}
		rc = fl__weights_load(&c.w, (json_t *)manifest, dir, bin, bin_size, c.label, err, err_size);
		json_decref((json_t *)manifest);
	} else {
		rc = fl__weights_load(&c.w, (json_t *)manifest, dir, bin, bin_size, c.label, err, err_size);
	}
	if (rc)
		goto fail;

	if ((rc = scan_nodes(&c, jnodes)))
		goto fail;
	for (i = 0; i < c.n_nodes; i++)
		if ((rc = make_values(&c, &c.nodes[i])))
			goto fail;
	for (i = 0; i < c.n_nodes; i++) {
		int kind = c.nodes[i].d->kind;
		if (kind == K_CONST || kind == K_INPUT || kind == K_NOOP)
			continue;
		if ((rc = translate(&c, &c.nodes[i])))
			goto fail;
	}
	rc = set_io(&c);
fail:
	if (rc == FL_ENOMEM && err && err_size && !err[0])
		fl__errf(err, err_size, "%s: out of memory", c.label);
	fl__weights_fini(&c.w);
	fl_free(c.nodes);
	fl_free(c.hash);
	json_decref(c.root);
	return rc;
}

int fl__load_tfjs_mem(struct fl_graph *g, const char *json, size_t json_size, const char *dir, char *err,
                      size_t err_size)
{
	return fl__load_tfjs_buf(g, json, json_size, dir ? dir : ".", NULL, 0, NULL, err, err_size);
}

int fl__load_tfjs(struct fl_graph *g, const char *path, char *err, size_t err_size)
{
	char *data = NULL, *dir = NULL, *slash;
	size_t size = 0;
	int rc;

	if (err && err_size)
		err[0] = 0;
	rc = fl__read_file(path, FL__LOAD_MAX_JSON, &data, &size, err, err_size);
	if (rc)
		return rc;
	/* The .bin files live beside model.json. */
	dir = fl_strdup(path);
	if (!dir) {
		fl_free(data);
		return FL_ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	rc = fl__load_tfjs_buf(g, data, size, dir, NULL, 0, path, err, err_size);
	fl_free(dir);
	fl_free(data);
	return rc;
}
