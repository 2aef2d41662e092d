/*
** tflite.c -- the TFLite model loader: reads a ".tflite" FlatBuffer (schema
** tensorflow/lite/schema/schema.fbs, file identifier "TFL3") with the
** bounds-checked reader of flatbuf.c and builds the graph IR (nn_int.h).
**
** What is read: Model.operator_codes, Model.buffers and the first
** SubGraph's tensors, inputs, outputs and operators (in execution order).
** Each TFLite tensor becomes a graph value named after it; tensors whose
** buffer holds data become constants (copied, converted to the IR's
** layouts).  Each operator becomes one IR node, or a few when the IR says
** things differently (a fused activation the IR op cannot carry, a
** FULLY_CONNECTED on a 4-D input that needs flattening first).  No graph
** pass runs here; the caller optimises afterwards.
**
** Only float32 models are loaded: tensors must be FLOAT32 or INT32 (BOOL
** where an op produces one); a FLOAT16 constant is accepted only as the
** input of a DEQUANTIZE, which becomes a float32 constant.  Anything else is
** FL_EDTYPE (quantised models) or FL_EUNSUPPORTED (an op the IR lacks),
** with a message naming the tensor or operator.
**
** Batch: a TFLite file fixes the batch size in every declared shape
** (MobileFaceNet's is 2).  The loader declares the graph inputs' first
** dimension as -1 so a session may pick any batch, and marks it -1 in every
** non-constant value whose first dimension equals the file's batch.  A
** RESHAPE whose target shape starts with the file's batch (MobileFaceNet's
** [2, 192]) gets a shape constant starting with -1 instead, so the reshape
** follows the batch a session runs with (see reshape_shape()).
**
** Everything read from the file is checked: offsets and lengths (flatbuf.c),
** operator-code and tensor indices, buffer sizes against shape x type, dims
** (>= 0, at most FL_MAX_DIMS).  Errors name the file and the operator or
** tensor, e.g. "MobileFaceNet.tflite: operator 12 (CONV_2D): input tensor
** index 913 out of range (412 tensors)".
*/
#include "../nn_int.h"
#include "flatbuf_int.h"

#include <math.h>
#include <stdarg.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tflite.c copies little-endian tensor data as is"
#endif

/* Files larger than this are refused (TFLite's own limit is 2 GB for the
** FlatBuffer; buffers stored after it may take the file beyond). */
#define TFL_MAX_FILE ((size_t)4 << 30)

/* ------------------------------------------------------------ schema ids */

/* Field ids (declaration order in schema.fbs; a union takes two). */
enum {
	MODEL_VERSION = 0, MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4,
	OPCODE_DEPRECATED_CODE = 0, OPCODE_CUSTOM = 1, OPCODE_CODE = 3,
	SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3,
	TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_SPARSITY = 6,
	TENSOR_SIGNATURE = 7,
	OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3,
	BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2,
};

/* TensorType values. */
enum { TT_FLOAT32 = 0, TT_FLOAT16 = 1, TT_INT32 = 2, TT_BOOL = 6 };

/* BuiltinOptions union members used here (1-based union type values). */
enum {
	OPT_CONV2D = 1, OPT_DWCONV2D = 2, OPT_POOL2D = 5, OPT_FC = 8, OPT_SOFTMAX = 9, OPT_CONCAT = 10,
	OPT_ADD = 11, OPT_RESIZE_BILINEAR = 15, OPT_RESHAPE = 17, OPT_MUL = 21, OPT_GATHER = 23, OPT_REDUCER = 27,
	OPT_SUB = 28, OPT_DIV = 29, OPT_SQUEEZE = 30, OPT_STRIDED_SLICE = 32, OPT_CAST = 37, OPT_ARGMAX = 40,
	OPT_SHAPE = 55, OPT_PACK = 59, OPT_UNPACK = 64, OPT_RESIZE_NEAREST = 74, OPT_LEAKY_RELU = 75,
	OPT_BATCH_MATMUL = 101,
};

/* ActivationFunctionType. */
enum { TACT_NONE = 0, TACT_RELU = 1, TACT_RELU_N1_TO_1 = 2, TACT_RELU6 = 3, TACT_TANH = 4 };

/* BuiltinOperator codes, for messages (index = code). */
static const char *const op_names[] = {
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
	"EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
	"LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
	"RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
	"CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
	"UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
	"SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
	"EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
	"MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
	"SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
	"NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
	"REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
	"FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
	"RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE",
	"CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE",
	"MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
	"NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
	"BATCH_MATMUL",
};

/* The builtin codes this loader maps (the others are FL_EUNSUPPORTED). */
enum {
	B_ADD = 0, B_AVERAGE_POOL_2D = 1, B_CONCATENATION = 2, B_CONV_2D = 3, B_DEPTHWISE_CONV_2D = 4,
	B_DEQUANTIZE = 6, B_FULLY_CONNECTED = 9, B_LOGISTIC = 14, B_MAX_POOL_2D = 17, B_MUL = 18, B_RELU = 19,
	B_RELU6 = 21, B_RESHAPE = 22, B_RESIZE_BILINEAR = 23, B_SOFTMAX = 25, B_TANH = 28, B_CUSTOM = 32,
	B_PAD = 34, B_GATHER = 36, B_TRANSPOSE = 39, B_MEAN = 40, B_SUB = 41, B_DIV = 42, B_SQUEEZE = 43,
	B_STRIDED_SLICE = 45, B_EXP = 47, B_TOPK_V2 = 48, B_CAST = 53, B_PRELU = 54, B_MAXIMUM = 55,
	B_ARG_MAX = 56, B_MINIMUM = 57, B_NEG = 59, B_PADV2 = 60, B_SLICE = 65, B_TILE = 69, B_EXPAND_DIMS = 70,
	B_EQUAL = 71, B_SUM = 74, B_SQRT = 75, B_RSQRT = 76, B_SHAPE = 77, B_POW = 78, B_REDUCE_MAX = 82,
	B_PACK = 83, B_UNPACK = 88, B_FLOOR_DIV = 90, B_SQUARE = 92, B_FLOOR_MOD = 95, B_RESIZE_NEAREST = 97,
	B_LEAKY_RELU = 98, B_SQUARED_DIFFERENCE = 99, B_ABS = 101, B_GATHER_ND = 107, B_BATCH_MATMUL = 126,
};

static const char *op_name(int32_t code)
{
	if (code >= 0 && (size_t)code < FL_ARRAY_SIZE(op_names))
		return op_names[code];
	return "BUILTIN";
}

/* Whether the loader maps builtin `code` (kept in step with map_op()). */
static int op_supported(int32_t code)
{
	switch (code) {
	case B_ADD: case B_AVERAGE_POOL_2D: case B_CONCATENATION: case B_CONV_2D: case B_DEPTHWISE_CONV_2D:
	case B_DEQUANTIZE: case B_FULLY_CONNECTED: case B_LOGISTIC: case B_MAX_POOL_2D: case B_MUL: case B_RELU:
	case B_RELU6: case B_RESHAPE: case B_RESIZE_BILINEAR: case B_SOFTMAX: case B_TANH: case B_PAD:
	case B_GATHER: case B_TRANSPOSE: case B_MEAN: case B_SUB: case B_DIV: case B_SQUEEZE:
	case B_STRIDED_SLICE: case B_EXP: case B_TOPK_V2: case B_CAST: case B_PRELU: case B_MAXIMUM:
	case B_ARG_MAX: case B_MINIMUM: case B_NEG: case B_PADV2: case B_SLICE: case B_TILE: case B_EXPAND_DIMS:
	case B_EQUAL: case B_SUM: case B_SQRT: case B_RSQRT: case B_SHAPE: case B_POW: case B_REDUCE_MAX:
	case B_PACK: case B_UNPACK: case B_FLOOR_DIV: case B_SQUARE: case B_FLOOR_MOD: case B_RESIZE_NEAREST:
	case B_LEAKY_RELU: case B_SQUARED_DIFFERENCE: case B_ABS: case B_GATHER_ND: case B_BATCH_MATMUL:
		return 1;
	default:
		return 0;
	}
}

/* --------------------------------------------------------------- state */

/* How a constant tensor is converted for its consumer (one cached graph
** value per tensor and kind). */
enum ckind {
	CK_PLAIN = 0,   /* as stored */
	CK_HWIO,        /* CONV_2D filter OHWI -> HWIO */
	CK_DW,          /* DEPTHWISE filter [1,KH,KW,C*M] -> [KH,KW,C,M] */
	CK_SHAPE,       /* RESHAPE target with the batch rewritten to -1 */
	CK__COUNT
};

/* One tensor as read from the file. */
struct tinfo {
	const char *name; /* NUL-terminated, in the file buffer; NULL: unnamed */
	int type;         /* TensorType */
	int n_dims;
	int64_t dims[FL_MAX_DIMS]; /* shape, with shape_signature's -1 folded in */
	const uint8_t *data;       /* buffer bytes (NULL: not a constant) */
	uint64_t nbytes;
};

struct loader {
	struct fl_graph *g;
	const char *file; /* basename for messages */
	char *err;
	size_t err_size;
	struct fl_fb fb;
	struct fl_fb_vec opcodes, buffers, tensors, operators;
	int32_t *codes;  /* builtin code of each operator code */
	int *val;        /* tensor -> non-constant value index, -1 none */
	int *cval;       /* [CK__COUNT][n_tensors] constant values, -1 none */
	int *deq;        /* tensor -> the float16 tensor its DEQUANTIZE reads, -1 */
	uint8_t *named;  /* tensor -> its name is taken by a value */
	int64_t batch;   /* the file's batch (first input's dims[0]), 0 unknown */
	int op;          /* operator being mapped (messages), -1 none */
	int32_t code;    /* its builtin code */
};

/* Write "<file>: [operator k (NAME): ]<message>" and return status. */
static int failf(struct loader *L, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(struct loader *L, int status, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (L->op >= 0)
		fl__errf(L->err, L->err_size, "%s: operator %d (%s): %s", L->file, L->op, op_name(L->code), msg);
	else
		fl__errf(L->err, L->err_size, "%s: %s", L->file, msg);
	return status;
}

/* Turn a recorded reader error into a message naming `what`. */
static int fb_fail(struct loader *L, const char *what)
{
	return failf(L, L->fb.status ? L->fb.status : FL_ECORRUPT, "%s: %s", what, L->fb.msg);
}

/* -------------------------------------------------------------- tensors */

static int dtype_of(int type, enum fl_dtype *dt)
{
	switch (type) {
	case TT_FLOAT32: *dt = FL_DTYPE_F32; return 0;
	case TT_INT32: *dt = FL_DTYPE_I32; return 0;
	case TT_BOOL: *dt = FL_DTYPE_BOOL; return 0;
	default: return FL_EDTYPE;
	}
}

static const char *type_name(int type)
{
	static const char *const names[] = {"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL",
	                                    "INT16", "COMPLEX64", "INT8", "FLOAT64"};
	return type >= 0 && (size_t)type < FL_ARRAY_SIZE(names) ? names[type] : "type";
}

/* Elements of a tensor (unknown dims count as 0), saturating at 2^48 so
** that products of hostile dims never overflow (no buffer is that big). */
#define TFL_NUMEL_CAP ((int64_t)1 << 48)
static int64_t numel_of(const struct tinfo *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->n_dims; i++) {
		int64_t d = t->dims[i] < 0 ? 0 : t->dims[i];
		if (d && n > TFL_NUMEL_CAP / d)
			return TFL_NUMEL_CAP;
		n *= d;
	}
	return n;
}

/* Read tensor `idx` (checked < n_tensors by the caller) into *t. */
static int read_tensor(struct loader *L, uint32_t idx, struct tinfo *t)
{
	struct fl_fb_table tt, bt;
	struct fl_fb_vec shape, sig, data;
	uint32_t name_len;
	char what[64];

	memset(t, 0, sizeof *t);
	snprintf(what, sizeof what, "tensor %u", idx);
	fl__fb_vec_table(&L->tensors, idx, &tt);
	fl__fb_vector(&tt, TENSOR_SHAPE, 4, &shape);
	fl__fb_vector(&tt, TENSOR_SIGNATURE, 4, &sig);
	fl__fb_string(&tt, TENSOR_NAME, &t->name, &name_len);
	t->type = fl__fb_i8(&tt, TENSOR_TYPE, 0);
	uint32_t buf = fl__fb_u32(&tt, TENSOR_BUFFER, 0);
	int sparse = fl__fb_has(&tt, TENSOR_SPARSITY);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, what);
	if (t->name && !t->name[0])
		t->name = NULL;
	const char *nm = t->name ? t->name : "";

	if (shape.n > FL_MAX_DIMS)
		return failf(L, FL_ECORRUPT, "tensor %u \"%s\": %u dims (at most %d)", idx, nm, shape.n, FL_MAX_DIMS);
	if (sig.n && sig.n != shape.n)
		return failf(L, FL_ECORRUPT, "tensor %u \"%s\": shape_signature has %u dims, shape %u", idx, nm, sig.n,
		             shape.n);
	t->n_dims = (int)shape.n;
	for (uint32_t i = 0; i < shape.n; i++) {
		int32_t d = fl__fb_vec_i32(&shape, i);
		if (d < 0)
			return failf(L, FL_ECORRUPT, "tensor %u \"%s\": negative dim %d", idx, nm, d);
		t->dims[i] = d;
		if (sig.n) {
			int32_t s = fl__fb_vec_i32(&sig, i);
			if (s < -1 || (s >= 0 && s != d))
				return failf(L, FL_ECORRUPT, "tensor %u \"%s\": shape_signature dim %u is %d, shape %d", idx,
				             nm, i, s, d);
			if (s == -1)
				t->dims[i] = -1;
		}
	}

	/* Its buffer: inline data, or (files over 2 GB) offset/size into the
	** file; offsets 0 and 1 mean "no data". */
	if (buf >= L->buffers.n)
		return failf(L, FL_ECORRUPT, "tensor %u \"%s\": buffer index %u out of range (%u buffers)", idx, nm, buf,
		             L->buffers.n);
	fl__fb_vec_table(&L->buffers, buf, &bt);
	fl__fb_vector(&bt, BUFFER_DATA, 1, &data);
	uint64_t off = fl__fb_u64(&bt, BUFFER_OFFSET, 0), size = fl__fb_u64(&bt, BUFFER_SIZE, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, what);
	if (data.n) {
		t->data = fl__fb_vec_data(&data);
		t->nbytes = data.n;
	} else if (off > 1 && size) {
		if (off > L->fb.size || size > L->fb.size - off)
			return failf(L, FL_ETRUNCATED, "tensor %u \"%s\": buffer %u at offset %llu (%llu bytes) past the end "
			             "(%zu bytes)", idx, nm, buf, (unsigned long long)off, (unsigned long long)size, L->fb.size);
		t->data = L->fb.buf + off;
		t->nbytes = size;
	}
	if (t->data && sparse)
		return failf(L, FL_EUNSUPPORTED, "tensor %u \"%s\": sparse constants are not supported", idx, nm);
	return 0;
}

/* Bounds-check a tensor index read from operator inputs/outputs. */
static int check_index(struct loader *L, int32_t idx, const char *role)
{
	if (idx < 0 || (uint32_t)idx >= L->tensors.n)
		return failf(L, FL_ECORRUPT, "%s tensor index %d out of range (%u tensors)", role, idx, L->tensors.n);
	return 0;
}

/* A name for a new value made from tensor `idx`: the tensor's own name
** the first time, then "<name>/<suffix>" (graph names stay unique). */
static void value_name(struct loader *L, uint32_t idx, const struct tinfo *t, const char *suffix, char *buf,
                       size_t size)
{
	char base[512];
	if (t->name)
		snprintf(base, sizeof base, "%s", t->name);
	else
		snprintf(base, sizeof base, "tensor_%u", idx);
	if (!L->named[idx] || !suffix)
		snprintf(buf, size, "%s", base);
	else
		snprintf(buf, size, "%s/%s", base, suffix);
	L->named[idx] = 1;
}

/* The declared dims of a non-constant value: the file's, with the batch
** marked unknown (see the file comment). */
static void value_dims(const struct loader *L, const struct tinfo *t, int64_t *dims)
{
	for (int i = 0; i < t->n_dims; i++)
		dims[i] = t->dims[i];
	if (t->n_dims >= 2 && L->batch > 0 && dims[0] == L->batch)
		dims[0] = -1;
}

/* Add a graph input or an operator's output for tensor idx. */
static int make_value(struct loader *L, uint32_t idx, int is_input)
{
	struct tinfo t;
	enum fl_dtype dt;
	int64_t dims[FL_MAX_DIMS];
	char name[600];
	int r = read_tensor(L, idx, &t);
	if (r < 0)
		return r;
	if (L->val[idx] >= 0)
		return failf(L, FL_ECORRUPT, "tensor %u \"%s\" is written twice (by an operator and %s)", idx,
		             t.name ? t.name : "", L->g->values[L->val[idx]].producer >= 0 ? "an earlier operator" :
		             "as a graph input");
	if (dtype_of(t.type, &dt) < 0)
		return failf(L, FL_EDTYPE, "tensor %u \"%s\" is %s: only float32 models are supported", idx,
		             t.name ? t.name : "", type_name(t.type));
	value_dims(L, &t, dims);
	if (is_input && t.n_dims >= 1)
		dims[0] = -1;
	value_name(L, idx, &t, NULL, name, sizeof name);
	r = fl__graph_add_value(L->g, name, dt, t.n_dims, dims);
	if (r < 0)
		return failf(L, r, "tensor %u: %s", idx, fl_strerror(r));
	L->val[idx] = r;
	return r;
}

/*
** The RESHAPE target for the batch rule: when the target's first entry is
** the file's batch and the reshaped tensor's first dim is that batch too,
** it becomes -1 so the reshape keeps whatever batch a session runs with.
** A -1 elsewhere in the target is then resolved from the input's declared
** size first (only one -1 is allowed).
*/
static void reshape_shape(const struct loader *L, int32_t *s, int n, const struct tinfo *in)
{
	if (n < 1 || L->batch <= 0 || s[0] != L->batch || !in || in->n_dims < 1 || in->dims[0] != L->batch)
		return;
	int64_t known = 1, total = numel_of(in);
	int free_at = -1;
	for (int i = 0; i < in->n_dims; i++)
		if (in->dims[i] < 0)
			return; /* input size unknown: leave the target alone */
	for (int i = 1; i < n; i++) {
		if (s[i] == -1 && free_at < 0)
			free_at = i;
		else if (s[i] <= 0 || known > TFL_NUMEL_CAP / s[i])
			return;
		else
			known *= s[i];
	}
	if (free_at > 0) {
		int64_t rest = (total / L->batch) / known;
		if ((total / L->batch) % known != 0 || rest > INT32_MAX)
			return;
		s[free_at] = (int32_t)rest;
	}
	s[0] = -1;
}

/* Create the constant for tensor idx converted as `kind`.  `aux` is the
** depthwise channel count (CK_DW); `reshape_in` the reshaped input
** (CK_SHAPE).  With `f16` the tensor is a DEQUANTIZE's float16 source,
** converted to float32 first.  The value is cached in cval. */
static int make_const(struct loader *L, uint32_t idx, const struct tinfo *t, enum ckind kind, int64_t aux,
                      const struct tinfo *reshape_in, int f16)
{
	enum fl_dtype dt;
	const char *nm = t->name ? t->name : "";
	int64_t numel = numel_of(t), dims[FL_MAX_DIMS];
	int n_dims = t->n_dims;
	char name[600];
	static const char *const suffix[CK__COUNT] = {NULL, "hwio", "dw", "shape"};

	if (f16) {
		if (t->type != TT_FLOAT16)
			return failf(L, FL_EUNSUPPORTED, "DEQUANTIZE of %s tensor %u \"%s\" (only float16 constants)",
			             type_name(t->type), idx, nm);
		dt = FL_DTYPE_F32;
	} else if (t->type == TT_BOOL || dtype_of(t->type, &dt) < 0) {
		return failf(L, FL_EDTYPE, "tensor %u \"%s\" is %s: only float32 models are supported", idx, nm,
		             type_name(t->type));
	}
	for (int i = 0; i < n_dims; i++) {
		if (t->dims[i] < 0)
			return failf(L, FL_ECORRUPT, "constant tensor %u \"%s\" has an unknown dim", idx, nm);
		dims[i] = t->dims[i];
	}
	uint64_t esize = f16 ? 2 : 4;
	if ((uint64_t)numel * esize != t->nbytes)
		return failf(L, FL_ECORRUPT, "tensor %u \"%s\": buffer has %llu bytes, its shape and %s need %llu", idx,
		             nm, (unsigned long long)t->nbytes, type_name(t->type), (unsigned long long)numel * esize);
	if (kind == CK_HWIO && n_dims != 4)
		return failf(L, FL_ECORRUPT, "filter tensor %u \"%s\" has %d dims, expected 4", idx, nm, n_dims);
	if (kind == CK_DW && (n_dims != 4 || dims[0] != 1 || aux <= 0 || dims[3] % aux != 0))
		return failf(L, FL_ECORRUPT, "depthwise filter tensor %u \"%s\" does not fit %lld input channels", idx,
		             nm, (long long)aux);

	/* The elements as 4-byte values (float16 widened), then the layout. */
	uint8_t *data = fl_malloc((size_t)numel * 4), *tmp = NULL;
	if (!data)
		return failf(L, FL_ENOMEM, "tensor %u: out of memory", idx);
	if (f16) {
		for (int64_t i = 0; i < numel; i++) {
			uint16_t h;
			memcpy(&h, t->data + 2 * i, 2);
			float v = fl__half_to_float(h);
			memcpy(data + 4 * i, &v, 4);
		}
	} else {
		memcpy(data, t->data, (size_t)numel * 4);
	}
	switch (kind) {
	case CK_HWIO: {
		/* out[kh][kw][ci][co] = in[co][kh][kw][ci] */
		int64_t co = dims[0], kh = dims[1], kw = dims[2], ci = dims[3];
		if (!(tmp = fl_malloc((size_t)numel * 4))) {
			fl_free(data);
			return failf(L, FL_ENOMEM, "tensor %u: out of memory", idx);
		}
		for (int64_t c = 0; c < co; c++)
			for (int64_t y = 0; y < kh; y++)
				for (int64_t x = 0; x < kw; x++)
					for (int64_t i = 0; i < ci; i++)
						memcpy(tmp + 4 * (((y * kw + x) * ci + i) * co + c), data + 4 * (((c * kh + y) * kw + x) * ci + i), 4);
		fl_free(data);
		data = tmp;
		dims[0] = kh;
		dims[1] = kw;
		dims[2] = ci;
		dims[3] = co;
		break;
	}
	case CK_DW:
		/* [1,KH,KW,C*M] is already [KH,KW,C,M] in memory (channel c*M+m). */
		dims[0] = dims[1];
		dims[1] = dims[2];
		dims[2] = aux;
		dims[3] = dims[3] / aux;
		break;
	case CK_SHAPE:
		if (dt == FL_DTYPE_I32 && n_dims == 1 && numel <= FL_MAX_DIMS) {
			int32_t s[FL_MAX_DIMS];
			memcpy(s, data, (size_t)numel * 4);
			reshape_shape(L, s, (int)numel, reshape_in);
			memcpy(data, s, (size_t)numel * 4);
		}
		break;
	default:
		break;
	}
	value_name(L, idx, t, suffix[kind], name, sizeof name);
	int r = fl__graph_add_const(L->g, name, dt, n_dims, dims, data); /* takes data */
	if (r < 0)
		return failf(L, r, "tensor %u: %s", idx, fl_strerror(r));
	L->cval[(size_t)kind * L->tensors.n + idx] = r;
	return r;
}

/* The graph value operator input `idx` refers to, converted as `kind`:
** -1 for an absent optional input (idx -1), else a value index or an
** error.  The output of a DEQUANTIZE reads as its float16 source, widened,
** under the output's name. */
static int input_value(struct loader *L, int32_t idx, enum ckind kind, int64_t aux, const struct tinfo *reshape_in)
{
	struct tinfo t;
	if (idx == -1)
		return -1;
	int r = check_index(L, idx, "input");
	if (r < 0)
		return r;
	if (L->val[idx] >= 0)
		return L->val[idx];
	int c = L->cval[(size_t)kind * L->tensors.n + (uint32_t)idx];
	if (c >= 0)
		return c;
	if ((r = read_tensor(L, (uint32_t)idx, &t)) < 0)
		return r;
	int src = L->deq[idx];
	if (src >= 0) {
		struct tinfo s;
		if ((r = read_tensor(L, (uint32_t)src, &s)) < 0)
			return r;
		s.name = t.name;
		return make_const(L, (uint32_t)idx, &s, kind, aux, reshape_in, 1);
	}
	if (!t.data)
		return failf(L, FL_ECORRUPT, "input tensor %d \"%s\" is neither a constant, a graph input nor written "
		             "by an earlier operator", idx, t.name ? t.name : "");
	return make_const(L, (uint32_t)idx, &t, kind, aux, reshape_in, 0);
}

/* A new constant made by the loader (an axis, a shape): int32 data,
** copied.  Named "<base>/<suffix>". */
static int small_const(struct loader *L, const char *base, const char *suffix, enum fl_dtype dt, int n_dims,
                       const int64_t *dims, const void *src, size_t nbytes)
{
	char name[600];
	void *data = fl_malloc(nbytes);
	if (!data)
		return failf(L, FL_ENOMEM, "out of memory");
	memcpy(data, src, nbytes);
	snprintf(name, sizeof name, "%s/%s", base, suffix);
	int r = fl__graph_add_const(L->g, name, dt, n_dims, dims, data);
	if (r < 0)
		return failf(L, r, "%s", fl_strerror(r));
	return r;
}

/* ----------------------------------------------------------- operators */

/* What an operator reads: its table, inputs and outputs vectors. */
struct opinfo {
	struct fl_fb_table t, opt;
	uint8_t opt_type;
	struct fl_fb_vec in, out;
};

static int32_t in_at(const struct opinfo *o, uint32_t i)
{
	return i < o->in.n ? fl__fb_vec_i32(&o->in, i) : -1;
}

/* The operator's options table, checked to be of `type` (an absent table
** reads as all defaults). */
static int options(struct loader *L, struct opinfo *o, int type)
{
	if (o->opt_type != 0 && o->opt_type != type)
		return failf(L, FL_ECORRUPT, "builtin options of type %u, expected %d", o->opt_type, type);
	return 0;
}

/* Map a TFLite fused activation: *act is what the IR op carries, *post an
** activation node to add after it (FL_OP__COUNT: none). */
static int fused_act(struct loader *L, int tact, int can_fuse, int *act, enum fl_op *post)
{
	*act = FL_ACT_NONE;
	*post = FL_OP__COUNT;
	switch (tact) {
	case TACT_NONE: return 0;
	case TACT_RELU:
		if (can_fuse)
			*act = FL_ACT_RELU;
		else
			*post = FL_OP_RELU;
		return 0;
	case TACT_RELU6:
		if (can_fuse)
			*act = FL_ACT_RELU6;
		else
			*post = FL_OP_RELU6;
		return 0;
	case TACT_TANH: *post = FL_OP_TANH; return 0;
	default: return failf(L, FL_EUNSUPPORTED, "fused activation %d is not supported", tact);
	}
}

/*
** Add the node for the operator: inputs in[0..n_in) (value indices), its
** outputs are the operator's output tensors (values made here).  With a
** `post` activation the op writes "<out>/pre_act" and the activation node
** writes the output tensor.
*/
static int emit(struct loader *L, struct opinfo *o, enum fl_op op, const int *in, int n_in, int n_out_expected,
                const struct fl_attr *attr, enum fl_op post)
{
	int out[16], r;
	uint32_t n_out = o->out.n;
	if (n_out < 1 || n_out > FL_ARRAY_SIZE(out) || (n_out_expected > 0 && n_out != (uint32_t)n_out_expected))
		return failf(L, FL_ECORRUPT, "%u outputs", n_out);
	for (uint32_t i = 0; i < n_out; i++) {
		int32_t idx = fl__fb_vec_i32(&o->out, i);
		if ((r = check_index(L, idx, "output")) < 0)
			return r;
		if ((r = make_value(L, (uint32_t)idx, 0)) < 0)
			return r;
		out[i] = r;
	}
	const char *name = L->g->values[out[0]].name;
	if (post != FL_OP__COUNT) {
		char pre[640];
		struct fl_value v = L->g->values[out[0]]; /* a copy: adding values moves the array */
		snprintf(pre, sizeof pre, "%s/pre_act", name);
		int mid = fl__graph_add_value(L->g, pre, v.dtype, v.n_dims, v.dims);
		if (mid < 0)
			return failf(L, mid, "%s", fl_strerror(mid));
		name = L->g->values[out[0]].name;
		if ((r = fl__graph_add_node(L->g, op, L->g->values[mid].name, in, n_in, &mid, 1, attr)) < 0)
			return failf(L, r, "%s", fl_strerror(r));
		if ((r = fl__graph_add_node(L->g, post, name, &mid, 1, out, 1, NULL)) < 0)
			return failf(L, r, "%s", fl_strerror(r));
		return 0;
	}
	if ((r = fl__graph_add_node(L->g, op, name, in, n_in, out, (int)n_out, attr)) < 0)
		return failf(L, r, "%s", fl_strerror(r));
	return 0;
}

/* Read the operator's inputs [0, n) as plain values (n == -1: all). */
static int plain_inputs(struct loader *L, struct opinfo *o, int *in, int n, int n_min)
{
	if ((int64_t)o->in.n < n_min)
		return failf(L, FL_ECORRUPT, "%u inputs, expected at least %d", o->in.n, n_min);
	for (int i = 0; i < n; i++) {
		int r = input_value(L, in_at(o, (uint32_t)i), CK_PLAIN, 0, NULL);
		if (r < -1)
			return r;
		if (r == -1 && i < n_min)
			return failf(L, FL_ECORRUPT, "input %d is absent", i);
		in[i] = r;
	}
	return 0;
}

/* Padding enum of the file -> the IR's. */
static int padding_of(struct loader *L, int p, int *out)
{
	if (p == 0)
		*out = FL_PADDING_SAME;
	else if (p == 1)
		*out = FL_PADDING_VALID;
	else
		return failf(L, FL_ECORRUPT, "padding %d", p);
	return 0;
}

/* Tensor info of operator input i (for shapes the mapping needs). */
static int input_info(struct loader *L, struct opinfo *o, uint32_t i, struct tinfo *t)
{
	int32_t idx = in_at(o, i);
	int r = check_index(L, idx, "input");
	return r < 0 ? r : read_tensor(L, (uint32_t)idx, t);
}

static int map_conv(struct loader *L, struct opinfo *o, int depthwise)
{
	struct fl_attr a = {0};
	struct tinfo x;
	enum fl_op post;
	int in[3], r;
	if ((r = options(L, o, depthwise ? OPT_DWCONV2D : OPT_CONV2D)) < 0)
		return r;
	/* Conv2DOptions and DepthwiseConv2DOptions share padding, strides; the
	** activation and dilations sit one field later in the depthwise one. */
	int k = depthwise ? 1 : 0;
	if ((r = padding_of(L, fl__fb_i8(&o->opt, 0, 0), &a.padding)) < 0)
		return r;
	a.stride[1] = fl__fb_i32(&o->opt, 1, 1);
	a.stride[0] = fl__fb_i32(&o->opt, 2, 1);
	int tact = fl__fb_i8(&o->opt, 3 + k, 0);
	a.dilation[1] = fl__fb_i32(&o->opt, 4 + k, 1);
	a.dilation[0] = fl__fb_i32(&o->opt, 5 + k, 1);
	int mult = depthwise ? fl__fb_i32(&o->opt, 3, 0) : 0;
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	for (int i = 0; i < 2; i++)
		if (a.stride[i] < 1 || a.dilation[i] < 1 || a.stride[i] > 1024 || a.dilation[i] > 1024)
			return failf(L, FL_ECORRUPT, "stride %dx%d, dilation %dx%d", a.stride[0], a.stride[1], a.dilation[0],
			             a.dilation[1]);
	if ((r = fused_act(L, tact, 1, &a.act, &post)) < 0)
		return r;
	if (o->in.n < 2)
		return failf(L, FL_ECORRUPT, "%u inputs, expected at least 2", o->in.n);
	if ((r = plain_inputs(L, o, in, 1, 1)) < 0)
		return r;
	int64_t channels = 0;
	if (depthwise) {
		/* C from the input's declared channels, else filter / multiplier. */
		struct tinfo f;
		if ((r = input_info(L, o, 0, &x)) < 0 || (r = input_info(L, o, 1, &f)) < 0)
			return r;
		if (x.n_dims == 4 && x.dims[3] > 0)
			channels = x.dims[3];
		else if (f.n_dims == 4 && mult > 0 && f.dims[3] % mult == 0)
			channels = f.dims[3] / mult;
	}
	if ((r = input_value(L, in_at(o, 1), depthwise ? CK_DW : CK_HWIO, channels, NULL)) < 0)
		return r == -1 ? failf(L, FL_ECORRUPT, "filter is absent") : r;
	in[1] = r;
	if (L->g->values[in[1]].data == NULL)
		return failf(L, FL_EUNSUPPORTED, "a filter that is not a constant");
	if ((r = input_value(L, in_at(o, 2), CK_PLAIN, 0, NULL)) < -1)
		return r;
	in[2] = r;
	return emit(L, o, depthwise ? FL_OP_DWCONV2D : FL_OP_CONV2D, in, 3, 1, &a, post);
}

static int map_pool(struct loader *L, struct opinfo *o, enum fl_op op)
{
	struct fl_attr a = {0};
	enum fl_op post;
	int in[1], act, r;
	if ((r = options(L, o, OPT_POOL2D)) < 0 || (r = padding_of(L, fl__fb_i8(&o->opt, 0, 0), &a.padding)) < 0)
		return r;
	a.stride[1] = fl__fb_i32(&o->opt, 1, 1);
	a.stride[0] = fl__fb_i32(&o->opt, 2, 1);
	a.ksize[1] = fl__fb_i32(&o->opt, 3, 1);
	a.ksize[0] = fl__fb_i32(&o->opt, 4, 1);
	int tact = fl__fb_i8(&o->opt, 5, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	for (int i = 0; i < 2; i++)
		if (a.stride[i] < 1 || a.ksize[i] < 1 || a.stride[i] > 4096 || a.ksize[i] > 4096)
			return failf(L, FL_ECORRUPT, "window %dx%d, stride %dx%d", a.ksize[0], a.ksize[1], a.stride[0],
			             a.stride[1]);
	if ((r = fused_act(L, tact, 0, &act, &post)) < 0 || (r = plain_inputs(L, o, in, 1, 1)) < 0)
		return r;
	return emit(L, o, op, in, 1, 1, &a, post);
}

/* ADD SUB MUL DIV with their fused activation (ADD carries RELU/RELU6). */
static int map_arith(struct loader *L, struct opinfo *o, enum fl_op op, int opt_type)
{
	struct fl_attr a = {0};
	enum fl_op post;
	int in[2], r;
	if ((r = options(L, o, opt_type)) < 0)
		return r;
	int tact = fl__fb_i8(&o->opt, 0, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	if ((r = fused_act(L, tact, op == FL_OP_ADD, &a.act, &post)) < 0 || (r = plain_inputs(L, o, in, 2, 2)) < 0)
		return r;
	return emit(L, o, op, in, 2, 1, &a, post);
}

/* Operators whose inputs map one to one and need no attributes. */
static int map_simple(struct loader *L, struct opinfo *o, enum fl_op op, int n_in, int n_out)
{
	int in[4], r;
	if (o->in.n != (uint32_t)n_in)
		return failf(L, FL_ECORRUPT, "%u inputs, expected %d", o->in.n, n_in);
	if ((r = plain_inputs(L, o, in, n_in, n_in)) < 0)
		return r;
	return emit(L, o, op, in, n_in, n_out, NULL, FL_OP__COUNT);
}

static int map_reshape(struct loader *L, struct opinfo *o)
{
	struct tinfo x;
	int in[2], r;
	if ((r = options(L, o, OPT_RESHAPE)) < 0 || (r = plain_inputs(L, o, in, 1, 1)) < 0 ||
	    (r = input_info(L, o, 0, &x)) < 0)
		return r;
	if (o->in.n >= 2 && in_at(o, 1) >= 0) {
		int32_t sidx = in_at(o, 1);
		if ((r = check_index(L, sidx, "shape")) < 0)
			return r;
		if (L->val[sidx] >= 0)
			return failf(L, FL_EUNSUPPORTED, "a shape that is not a constant");
		if ((r = input_value(L, sidx, CK_SHAPE, 0, &x)) < 0)
			return r;
		in[1] = r;
	} else {
		/* No shape input: ReshapeOptions.new_shape, else the output's shape. */
		struct fl_fb_vec ns;
		int32_t s[FL_MAX_DIMS];
		int64_t n;
		fl__fb_vector(&o->opt, 0, 4, &ns);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if (ns.n > FL_MAX_DIMS)
			return failf(L, FL_ECORRUPT, "new_shape has %u dims", ns.n);
		n = ns.n;
		for (uint32_t i = 0; i < ns.n; i++)
			s[i] = fl__fb_vec_i32(&ns, i);
		if (!ns.n) {
			struct tinfo y;
			int32_t oi = o->out.n ? fl__fb_vec_i32(&o->out, 0) : -1;
			if ((r = check_index(L, oi, "output")) < 0 || (r = read_tensor(L, (uint32_t)oi, &y)) < 0)
				return r;
			n = y.n_dims;
			for (int i = 0; i < y.n_dims; i++)
				s[i] = (int32_t)y.dims[i];
		}
		reshape_shape(L, s, (int)n, &x);
		int64_t d = n;
		const char *base = L->g->values[in[0]].name;
		if ((r = small_const(L, base, "reshape_shape", FL_DTYPE_I32, 1, &d, s, sizeof(int32_t) * (size_t)n)) < 0)
			return r;
		in[1] = r;
	}
	return emit(L, o, FL_OP_RESHAPE, in, 2, 1, NULL, FL_OP__COUNT);
}

/* FULLY_CONNECTED: y = x W^T + b, W [CO, CI].  x is flattened to [-1, CI]
** first when it is not 2-D (TFLite's rule); with keep_num_dims the result
** is reshaped back to the output's declared dims. */
static int map_fc(struct loader *L, struct opinfo *o)
{
	struct fl_attr a = {0};
	struct tinfo x, w, y;
	enum fl_op post;
	int in[3], r;
	if ((r = options(L, o, OPT_FC)) < 0)
		return r;
	int tact = fl__fb_i8(&o->opt, 0, 0), fmt = fl__fb_i8(&o->opt, 1, 0), keep = fl__fb_u8(&o->opt, 2, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	if (fmt != 0)
		return failf(L, FL_EUNSUPPORTED, "weights format %d", fmt);
	if ((r = fused_act(L, tact, 1, &a.act, &post)) < 0 || (r = plain_inputs(L, o, in, 3, 2)) < 0)
		return r;
	if ((r = input_info(L, o, 0, &x)) < 0 || (r = input_info(L, o, 1, &w)) < 0)
		return r;
	if (o->out.n != 1)
		return failf(L, FL_ECORRUPT, "%u outputs", o->out.n);
	int32_t oi = fl__fb_vec_i32(&o->out, 0);
	if ((r = check_index(L, oi, "output")) < 0 || (r = read_tensor(L, (uint32_t)oi, &y)) < 0)
		return r;
	if (w.n_dims != 2 || w.dims[1] <= 0)
		return failf(L, FL_ECORRUPT, "weights of %d dims, expected [CO, CI]", w.n_dims);
	a.transpose_b = 1;
	if (x.n_dims == 2 && !keep)
		return emit(L, o, FL_OP_MATMUL, in, 3, 1, &a, post);

	/* Flatten x to [-1, CI]. */
	const char *base = y.name ? y.name : "fully_connected";
	int32_t shape2[2] = {-1, (int32_t)w.dims[1]};
	int64_t two = 2, d2[2] = {-1, w.dims[1]};
	char name[640];
	int sh = small_const(L, base, "flatten_shape", FL_DTYPE_I32, 1, &two, shape2, sizeof shape2);
	if (sh < 0)
		return sh;
	snprintf(name, sizeof name, "%s/flatten", base);
	int flat = fl__graph_add_value(L->g, name, FL_DTYPE_F32, 2, d2);
	if (flat < 0)
		return failf(L, flat, "%s", fl_strerror(flat));
	int rin[2] = {in[0], sh};
	if ((r = fl__graph_add_node(L->g, FL_OP_RESHAPE, name, rin, 2, &flat, 1, NULL)) < 0)
		return failf(L, r, "%s", fl_strerror(r));
	in[0] = flat;
	if (!keep || y.n_dims == 2)
		return emit(L, o, FL_OP_MATMUL, in, 3, 1, &a, post);

	/* keep_num_dims: matmul to [-1, CO], then reshape to y's dims. */
	int32_t back[FL_MAX_DIMS];
	int64_t nb = y.n_dims, dco[2] = {-1, w.dims[0]};
	for (int i = 0; i < y.n_dims; i++) {
		if (y.dims[i] < 0 && i > 0)
			return failf(L, FL_EUNSUPPORTED, "keep_num_dims with an unknown output dim");
		back[i] = (int32_t)y.dims[i];
	}
	back[0] = -1;
	snprintf(name, sizeof name, "%s/2d", base);
	int mm = fl__graph_add_value(L->g, name, FL_DTYPE_F32, 2, dco);
	if (mm < 0)
		return failf(L, mm, "%s", fl_strerror(mm));
	if (post != FL_OP__COUNT)
		return failf(L, FL_EUNSUPPORTED, "keep_num_dims with a TANH activation");
	if ((r = fl__graph_add_node(L->g, FL_OP_MATMUL, name, in, 3, &mm, 1, &a)) < 0)
		return failf(L, r, "%s", fl_strerror(r));
	if ((sh = small_const(L, base, "unflatten_shape", FL_DTYPE_I32, 1, &nb, back, sizeof(int32_t) * (size_t)nb)) < 0)
		return sh;
	int bin[2] = {mm, sh};
	return emit(L, o, FL_OP_RESHAPE, bin, 2, 1, NULL, FL_OP__COUNT);
}

/* Reductions: x, axes (constant); ReducerOptions.keep_dims. */
static int map_reduce(struct loader *L, struct opinfo *o, enum fl_op op)
{
	struct fl_attr a = {0};
	int in[2], r;
	if ((r = options(L, o, OPT_REDUCER)) < 0)
		return r;
	a.keep_dims = fl__fb_u8(&o->opt, 0, 0) != 0;
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	if ((r = plain_inputs(L, o, in, 2, 2)) < 0)
		return r;
	return emit(L, o, op, in, 2, 1, &a, FL_OP__COUNT);
}

/* The rank of operator output 0 (for normalising negative axes). */
static int out_rank(struct loader *L, struct opinfo *o, int *rank)
{
	struct tinfo y;
	int32_t oi = o->out.n ? fl__fb_vec_i32(&o->out, 0) : -1;
	int r = check_index(L, oi, "output");
	if (r < 0 || (r = read_tensor(L, (uint32_t)oi, &y)) < 0)
		return r;
	*rank = y.n_dims;
	return 0;
}

static int map_concat(struct loader *L, struct opinfo *o)
{
	enum fl_op post;
	int act, r, rank, in[65];
	if ((r = options(L, o, OPT_CONCAT)) < 0)
		return r;
	int32_t axis = fl__fb_i32(&o->opt, 0, 0);
	int tact = fl__fb_i8(&o->opt, 1, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "options");
	if (o->in.n < 1 || o->in.n > 64)
		return failf(L, FL_EUNSUPPORTED, "%u inputs (1 to 64 supported)", o->in.n);
	if ((r = fused_act(L, tact, 0, &act, &post)) < 0 || (r = out_rank(L, o, &rank)) < 0)
		return r;
	if (axis < 0)
		axis += rank;
	if (axis < 0 || axis >= (rank ? rank : 1))
		return failf(L, FL_ECORRUPT, "axis %d for rank %d", axis, rank);
	int n = (int)o->in.n;
	if ((r = plain_inputs(L, o, in, n, n)) < 0)
		return r;
	int64_t none = 0;
	const char *base = L->g->values[in[0]].name;
	if ((r = small_const(L, base, "concat_axis", FL_DTYPE_I32, 0, &none, &axis, sizeof axis)) < 0)
		return r;
	in[n] = r;
	return emit(L, o, FL_OP_CONCAT, in, n + 1, 1, NULL, post);
}

/* One operator: read it and dispatch on its builtin code. */
static int map_op(struct loader *L, uint32_t k)
{
	struct opinfo o;
	struct fl_attr a = {0};
	int in[4], r;

	memset(&o, 0, sizeof o);
	fl__fb_vec_table(&L->operators, k, &o.t);
	uint32_t opc = fl__fb_u32(&o.t, OP_OPCODE, 0);
	fl__fb_vector(&o.t, OP_INPUTS, 4, &o.in);
	fl__fb_vector(&o.t, OP_OUTPUTS, 4, &o.out);
	fl__fb_union(&o.t, OP_OPTIONS_TYPE, &o.opt_type, &o.opt);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "operator");
	L->code = L->codes[opc]; /* opc checked by check_ops() */

	switch (L->code) {
	case B_CONV_2D: return map_conv(L, &o, 0);
	case B_DEPTHWISE_CONV_2D: return map_conv(L, &o, 1);
	case B_AVERAGE_POOL_2D: return map_pool(L, &o, FL_OP_AVGPOOL);
	case B_MAX_POOL_2D: return map_pool(L, &o, FL_OP_MAXPOOL);
	case B_ADD: return map_arith(L, &o, FL_OP_ADD, OPT_ADD);
	case B_SUB: return map_arith(L, &o, FL_OP_SUB, OPT_SUB);
	case B_MUL: return map_arith(L, &o, FL_OP_MUL, OPT_MUL);
	case B_DIV: return map_arith(L, &o, FL_OP_DIV, OPT_DIV);
	case B_FULLY_CONNECTED: return map_fc(L, &o);
	case B_RESHAPE: return map_reshape(L, &o);
	case B_CONCATENATION: return map_concat(L, &o);
	case B_MEAN: return map_reduce(L, &o, FL_OP_MEAN);
	case B_SUM: return map_reduce(L, &o, FL_OP_SUM);
	case B_REDUCE_MAX: return map_reduce(L, &o, FL_OP_MAX);
	case B_RELU: return map_simple(L, &o, FL_OP_RELU, 1, 1);
	case B_RELU6: return map_simple(L, &o, FL_OP_RELU6, 1, 1);
	case B_LOGISTIC: return map_simple(L, &o, FL_OP_SIGMOID, 1, 1);
	case B_TANH: return map_simple(L, &o, FL_OP_TANH, 1, 1);
	case B_EXP: return map_simple(L, &o, FL_OP_EXP, 1, 1);
	case B_NEG: return map_simple(L, &o, FL_OP_NEG, 1, 1);
	case B_SQRT: return map_simple(L, &o, FL_OP_SQRT, 1, 1);
	case B_RSQRT: return map_simple(L, &o, FL_OP_RSQRT, 1, 1);
	case B_ABS: return map_simple(L, &o, FL_OP_ABS, 1, 1);
	case B_PRELU: return map_simple(L, &o, FL_OP_PRELU, 2, 1);
	case B_MAXIMUM: return map_simple(L, &o, FL_OP_MAXIMUM, 2, 1);
	case B_MINIMUM: return map_simple(L, &o, FL_OP_MINIMUM, 2, 1);
	case B_POW: return map_simple(L, &o, FL_OP_POW, 2, 1);
	case B_EQUAL: return map_simple(L, &o, FL_OP_EQUAL, 2, 1);
	case B_FLOOR_DIV: return map_simple(L, &o, FL_OP_FLOOR_DIV, 2, 1);
	case B_FLOOR_MOD: return map_simple(L, &o, FL_OP_FLOOR_MOD, 2, 1);
	case B_SQUARED_DIFFERENCE: return map_simple(L, &o, FL_OP_SQUARED_DIFF, 2, 1);
	case B_PAD: return map_simple(L, &o, FL_OP_PAD, 2, 1);
	case B_TRANSPOSE: return map_simple(L, &o, FL_OP_TRANSPOSE, 2, 1);
	case B_TILE: return map_simple(L, &o, FL_OP_TILE, 2, 1);
	case B_EXPAND_DIMS: return map_simple(L, &o, FL_OP_EXPAND_DIMS, 2, 1);
	case B_SLICE: return map_simple(L, &o, FL_OP_SLICE, 3, 1);
	case B_GATHER_ND: return map_simple(L, &o, FL_OP_GATHER_ND, 2, 1);
	case B_SQUARE: {
		if (o.in.n != 1)
			return failf(L, FL_ECORRUPT, "%u inputs, expected 1", o.in.n);
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		in[1] = in[0];
		return emit(L, &o, FL_OP_MUL, in, 2, 1, NULL, FL_OP__COUNT);
	}
	case B_DEQUANTIZE: {
		/* Only float16 constants: consumers of the output read the source,
		** widened (input_value()); no node. */
		struct tinfo t, y;
		int32_t xi = in_at(&o, 0), yi = o.out.n == 1 ? fl__fb_vec_i32(&o.out, 0) : -1;
		if (o.in.n != 1 || o.out.n != 1)
			return failf(L, FL_ECORRUPT, "%u inputs, %u outputs", o.in.n, o.out.n);
		if ((r = check_index(L, xi, "input")) < 0 || (r = check_index(L, yi, "output")) < 0)
			return r;
		if ((r = read_tensor(L, (uint32_t)xi, &t)) < 0 || (r = read_tensor(L, (uint32_t)yi, &y)) < 0)
			return r;
		if (!t.data || L->val[xi] >= 0 || L->deq[xi] >= 0)
			return failf(L, FL_EUNSUPPORTED, "DEQUANTIZE of a non-constant tensor");
		if (t.type != TT_FLOAT16 || y.type != TT_FLOAT32)
			return failf(L, FL_EUNSUPPORTED, "DEQUANTIZE from %s to %s (only float16 constants)",
			             type_name(t.type), type_name(y.type));
		if (L->val[yi] >= 0 || L->deq[yi] >= 0 || y.data)
			return failf(L, FL_ECORRUPT, "tensor %d is written twice", yi);
		L->deq[yi] = xi;
		return 0;
	}
	case B_SOFTMAX: {
		if ((r = options(L, &o, OPT_SOFTMAX)) < 0)
			return r;
		float beta = fl__fb_f32(&o.opt, 0, 0.0f);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		a.axis = -1;
		if (beta != 1.0f && beta != 0.0f) {
			/* softmax(beta * x): scale first. */
			char name[640];
			int64_t none = 0;
			int b = small_const(L, L->g->values[in[0]].name, "softmax_beta", FL_DTYPE_F32, 0, &none, &beta, sizeof beta);
			if (b < 0)
				return b;
			snprintf(name, sizeof name, "%s/scaled", L->g->values[in[0]].name);
			struct fl_value xv = L->g->values[in[0]]; /* a copy: adding values moves the array */
			int s = fl__graph_add_value(L->g, name, FL_DTYPE_F32, xv.n_dims, xv.dims);
			if (s < 0)
				return failf(L, s, "%s", fl_strerror(s));
			int min[2] = {in[0], b};
			if ((r = fl__graph_add_node(L->g, FL_OP_MUL, name, min, 2, &s, 1, NULL)) < 0)
				return failf(L, r, "%s", fl_strerror(r));
			in[0] = s;
		}
		return emit(L, &o, FL_OP_SOFTMAX, in, 1, 1, &a, FL_OP__COUNT);
	}
	case B_LEAKY_RELU:
		if ((r = options(L, &o, OPT_LEAKY_RELU)) < 0)
			return r;
		a.act_alpha = fl__fb_f32(&o.opt, 0, 0.0f);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		return emit(L, &o, FL_OP_LEAKY_RELU, in, 1, 1, &a, FL_OP__COUNT);
	case B_RESIZE_BILINEAR:
	case B_RESIZE_NEAREST: {
		int bil = L->code == B_RESIZE_BILINEAR;
		if ((r = options(L, &o, bil ? OPT_RESIZE_BILINEAR : OPT_RESIZE_NEAREST)) < 0)
			return r;
		a.align_corners = fl__fb_u8(&o.opt, bil ? 2 : 0, 0) != 0;
		a.half_pixel = fl__fb_u8(&o.opt, bil ? 3 : 1, 0) != 0;
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 2, 2)) < 0)
			return r;
		return emit(L, &o, bil ? FL_OP_RESIZE_BILINEAR : FL_OP_RESIZE_NEAREST, in, 2, 1, &a, FL_OP__COUNT);
	}
	case B_PADV2: {
		/* x, paddings, constant_values (a float32 scalar constant). */
		if (o.in.n != 3 || (r = plain_inputs(L, &o, in, 3, 3)) < 0)
			return o.in.n != 3 ? failf(L, FL_ECORRUPT, "%u inputs, expected 3", o.in.n) : r;
		const struct fl_value *cv = &L->g->values[in[2]];
		int64_t n = 1;
		for (int i = 0; i < cv->n_dims; i++)
			n *= cv->dims[i];
		if (!cv->data || cv->dtype != FL_DTYPE_F32 || n != 1)
			return failf(L, FL_EUNSUPPORTED, "a pad value that is not a float32 scalar constant");
		memcpy(&a.pad_value, cv->data, sizeof(float));
		return emit(L, &o, FL_OP_PAD, in, 2, 1, &a, FL_OP__COUNT);
	}
	case B_GATHER: {
		if ((r = options(L, &o, OPT_GATHER)) < 0)
			return r;
		int32_t axis = fl__fb_i32(&o.opt, 0, 0);
		a.batch_dims = fl__fb_i32(&o.opt, 1, 0);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 2, 2)) < 0)
			return r;
		int64_t none = 0;
		if ((r = small_const(L, L->g->values[in[0]].name, "gather_axis", FL_DTYPE_I32, 0, &none, &axis,
		                     sizeof axis)) < 0)
			return r;
		in[2] = r;
		return emit(L, &o, FL_OP_GATHER, in, 3, 1, &a, FL_OP__COUNT);
	}
	case B_SQUEEZE: {
		struct fl_fb_vec sd;
		if ((r = options(L, &o, OPT_SQUEEZE)) < 0)
			return r;
		fl__fb_vector(&o.opt, 0, 4, &sd);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if (sd.n > FL_MAX_DIMS)
			return failf(L, FL_ECORRUPT, "%u squeeze dims", sd.n);
		a.n_axes = (int)sd.n;
		for (uint32_t i = 0; i < sd.n; i++)
			a.axes[i] = fl__fb_vec_i32(&sd, i);
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		return emit(L, &o, FL_OP_SQUEEZE, in, 1, 1, &a, FL_OP__COUNT);
	}
	case B_STRIDED_SLICE:
		if ((r = options(L, &o, OPT_STRIDED_SLICE)) < 0)
			return r;
		a.begin_mask = fl__fb_i32(&o.opt, 0, 0);
		a.end_mask = fl__fb_i32(&o.opt, 1, 0);
		a.ellipsis_mask = fl__fb_i32(&o.opt, 2, 0);
		a.new_axis_mask = fl__fb_i32(&o.opt, 3, 0);
		a.shrink_axis_mask = fl__fb_i32(&o.opt, 4, 0);
		if (fl__fb_u8(&o.opt, 5, 0))
			return failf(L, FL_EUNSUPPORTED, "offset mode");
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 4, 4)) < 0)
			return r;
		return emit(L, &o, FL_OP_STRIDED_SLICE, in, 4, 1, &a, FL_OP__COUNT);
	case B_CAST: {
		struct tinfo y;
		int32_t yi = o.out.n ? fl__fb_vec_i32(&o.out, 0) : -1;
		if ((r = check_index(L, yi, "output")) < 0 || (r = read_tensor(L, (uint32_t)yi, &y)) < 0)
			return r;
		if (dtype_of(y.type, &a.dtype) < 0)
			return failf(L, FL_EDTYPE, "CAST to %s", type_name(y.type));
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		return emit(L, &o, FL_OP_CAST, in, 1, 1, &a, FL_OP__COUNT);
	}
	case B_ARG_MAX: {
		if ((r = options(L, &o, OPT_ARGMAX)) < 0)
			return r;
		int t = fl__fb_i8(&o.opt, 0, TT_INT32);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if (t != TT_INT32)
			return failf(L, FL_EDTYPE, "ARG_MAX to %s", type_name(t));
		a.dtype = FL_DTYPE_I32;
		if ((r = plain_inputs(L, &o, in, 2, 2)) < 0)
			return r;
		return emit(L, &o, FL_OP_ARGMAX, in, 2, 1, &a, FL_OP__COUNT);
	}
	case B_SHAPE: {
		if ((r = options(L, &o, OPT_SHAPE)) < 0)
			return r;
		int t = fl__fb_i8(&o.opt, 0, TT_INT32);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if (t != TT_INT32)
			return failf(L, FL_EDTYPE, "SHAPE to %s", type_name(t));
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0)
			return r;
		return emit(L, &o, FL_OP_SHAPE, in, 1, 1, NULL, FL_OP__COUNT);
	}
	case B_TOPK_V2:
		a.sorted = 1;
		if ((r = plain_inputs(L, &o, in, 2, 2)) < 0)
			return r;
		return emit(L, &o, FL_OP_TOPK, in, 2, 2, &a, FL_OP__COUNT);
	case B_PACK:
	case B_UNPACK: {
		int pack = L->code == B_PACK, rank = 0;
		if ((r = options(L, &o, pack ? OPT_PACK : OPT_UNPACK)) < 0)
			return r;
		a.axis = fl__fb_i32(&o.opt, 1, 0);
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if (pack) {
			int pin[16];
			if (o.in.n < 1 || o.in.n > 16)
				return failf(L, FL_EUNSUPPORTED, "%u inputs (1 to 16 supported)", o.in.n);
			if ((r = out_rank(L, &o, &rank)) < 0 || (r = plain_inputs(L, &o, pin, (int)o.in.n, (int)o.in.n)) < 0)
				return r;
			if (a.axis < 0)
				a.axis += rank;
			return emit(L, &o, FL_OP_PACK, pin, (int)o.in.n, 1, &a, FL_OP__COUNT);
		}
		struct tinfo x;
		if ((r = plain_inputs(L, &o, in, 1, 1)) < 0 || (r = input_info(L, &o, 0, &x)) < 0)
			return r;
		if (a.axis < 0)
			a.axis += x.n_dims;
		return emit(L, &o, FL_OP_UNPACK, in, 1, -1, &a, FL_OP__COUNT);
	}
	case B_BATCH_MATMUL:
		if ((r = options(L, &o, OPT_BATCH_MATMUL)) < 0)
			return r;
		a.transpose_a = fl__fb_u8(&o.opt, 0, 0) != 0;
		a.transpose_b = fl__fb_u8(&o.opt, 1, 0) != 0;
		if (fl__fb_failed(&L->fb))
			return fb_fail(L, "options");
		if ((r = plain_inputs(L, &o, in, 2, 2)) < 0)
			return r;
		return emit(L, &o, FL_OP_MATMUL, in, 2, 1, &a, FL_OP__COUNT);
	default:
		return failf(L, FL_EUNSUPPORTED, "not supported");
	}
}

/* ------------------------------------------------------------- the model */

/* Read the operator codes; check every operator's opcode_index and that
** every operator is one the loader maps, before building anything. */
static int check_ops(struct loader *L)
{
	uint32_t n = L->opcodes.n;
	if (!(L->codes = fl_malloc(sizeof(int32_t) * (n ? n : 1))))
		return failf(L, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct fl_fb_table t;
		fl__fb_vec_table(&L->opcodes, i, &t);
		int32_t dep = fl__fb_i8(&t, OPCODE_DEPRECATED_CODE, 0), code = fl__fb_i32(&t, OPCODE_CODE, 0);
		L->codes[i] = dep > code ? dep : code; /* the larger of the two is the code */
	}
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "operator codes");
	for (uint32_t k = 0; k < L->operators.n; k++) {
		struct fl_fb_table t;
		fl__fb_vec_table(&L->operators, k, &t);
		uint32_t opc = fl__fb_u32(&t, OP_OPCODE, 0);
		if (fl__fb_failed(&L->fb)) {
			char what[48];
			snprintf(what, sizeof what, "operator %u", k);
			return fb_fail(L, what);
		}
		if (opc >= n)
			return failf(L, FL_ECORRUPT, "operator %u: opcode_index %u out of range (%u operator codes)", k, opc, n);
		int32_t code = L->codes[opc];
		if (code == B_CUSTOM) {
			struct fl_fb_table ct;
			const char *cname = NULL;
			uint32_t len;
			fl__fb_vec_table(&L->opcodes, opc, &ct);
			fl__fb_string(&ct, OPCODE_CUSTOM, &cname, &len);
			return failf(L, FL_EUNSUPPORTED, "operator %u: custom op \"%.64s\" is not supported", k,
			             cname ? cname : "");
		}
		if (!op_supported(code)) {
			if (code >= 0 && (size_t)code < FL_ARRAY_SIZE(op_names))
				return failf(L, FL_EUNSUPPORTED, "operator %u (%s): not supported", k, op_names[code]);
			return failf(L, FL_EUNSUPPORTED, "operator %u (builtin code %d): not supported", k, code);
		}
	}
	return 0;
}

static int load(struct loader *L, const uint8_t *buf, size_t size)
{
	struct fl_fb_table model, sg;
	struct fl_fb_vec subgraphs, gin, gout;
	int *io = NULL, r;

	L->op = -1;
	if ((r = fl__fb_init(&L->fb, buf, size, "TFL3")) < 0)
		return fb_fail(L, "not a TFLite model");
	fl__fb_root(&L->fb, &model);
	fl__fb_vector(&model, MODEL_OPCODES, 4, &L->opcodes);
	fl__fb_vector(&model, MODEL_SUBGRAPHS, 4, &subgraphs);
	fl__fb_vector(&model, MODEL_BUFFERS, 4, &L->buffers);
	uint32_t version = fl__fb_u32(&model, MODEL_VERSION, 0);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "model");
	if (version > 3)
		return failf(L, FL_EUNSUPPORTED, "schema version %u (3 supported)", version);
	if (subgraphs.n < 1)
		return failf(L, FL_ECORRUPT, "no subgraph");
	fl__fb_vec_table(&subgraphs, 0, &sg);
	fl__fb_vector(&sg, SG_TENSORS, 4, &L->tensors);
	fl__fb_vector(&sg, SG_INPUTS, 4, &gin);
	fl__fb_vector(&sg, SG_OUTPUTS, 4, &gout);
	fl__fb_vector(&sg, SG_OPERATORS, 4, &L->operators);
	if (fl__fb_failed(&L->fb))
		return fb_fail(L, "subgraph 0");
	if (gin.n < 1 || gout.n < 1)
		return failf(L, FL_ECORRUPT, "subgraph 0 has %u inputs and %u outputs", gin.n, gout.n);
	if ((r = check_ops(L)) < 0)
		return r;

	/* Per-tensor maps: one int per tensor and conversion kind. */
	size_t nt = L->tensors.n;
	L->val = fl_malloc(sizeof(int) * (nt ? nt : 1));
	L->cval = fl_malloc(sizeof(int) * CK__COUNT * (nt ? nt : 1));
	L->deq = fl_malloc(sizeof(int) * (nt ? nt : 1));
	L->named = fl_calloc(nt ? nt : 1, 1);
	io = fl_malloc(sizeof(int) * ((size_t)gin.n + gout.n));
	if (!L->val || !L->cval || !L->deq || !L->named || !io) {
		r = failf(L, FL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nt; i++)
		L->val[i] = L->deq[i] = -1;
	for (size_t i = 0; i < nt * CK__COUNT; i++)
		L->cval[i] = -1;

	/* Graph inputs; their batch is the file's batch. */
	for (uint32_t i = 0; i < gin.n; i++) {
		int32_t idx = fl__fb_vec_i32(&gin, i);
		struct tinfo t;
		if ((r = check_index(L, idx, "graph input")) < 0 || (r = read_tensor(L, (uint32_t)idx, &t)) < 0)
			goto fail;
		if (i == 0 && t.n_dims >= 1)
			L->batch = t.dims[0];
		if ((r = make_value(L, (uint32_t)idx, 1)) < 0)
			goto fail;
		io[i] = r;
	}
	for (uint32_t k = 0; k < L->operators.n; k++) {
		L->op = (int)k;
		if ((r = map_op(L, k)) < 0)
			goto fail;
	}
	L->op = -1;
	for (uint32_t i = 0; i < gout.n; i++) {
		int32_t idx = fl__fb_vec_i32(&gout, i);
		if ((r = check_index(L, idx, "graph output")) < 0)
			goto fail;
		if ((r = input_value(L, idx, CK_PLAIN, 0, NULL)) < 0)
			goto fail;
		io[gin.n + i] = r;
	}
	if ((r = fl__graph_set_io(L->g, io, (int)gin.n, io + gin.n, (int)gout.n)) < 0) {
		r = failf(L, r, "graph inputs/outputs: %s", fl_strerror(r));
		goto fail;
	}
	r = 0;
fail:
	fl_free(io);
	return r;
}

int fl__load_tflite_mem(struct fl_graph *g, const uint8_t *buf, size_t size, char *err, size_t err_size)
{
	struct loader L;
	memset(&L, 0, sizeof L);
	L.g = g;
	L.err = err;
	L.err_size = err_size;
	L.file = "<memory>";
	if (g->path) {
		const char *slash = strrchr(g->path, '/');
		L.file = slash ? slash + 1 : g->path;
	}
	int r = load(&L, buf, size);
	fl_free(L.codes);
	fl_free(L.val);
	fl_free(L.cval);
	fl_free(L.deq);
	fl_free(L.named);
	return r;
}

int fl__load_tflite(struct fl_graph *g, const char *path, char *err, size_t err_size)
{
	char *data = NULL;
	size_t size = 0;
	int r = fl__read_file(path, TFL_MAX_FILE, &data, &size, err, err_size);
	if (r < 0)
		return r;
	r = fl__load_tflite_mem(g, (const uint8_t *)data, size, err, err_size);
	fl_free(data);
	return r;
}
