/*
** nn_int.h -- the engine's internal picture: the graph IR that every loader
** produces, the op table that gives each op its shape inference and
** kernels, and the kernel execution context.
**
** Data flow:  loader (nn/load/tfjs.c, tflite.c, faceapi.c) builds a
** struct fl_graph with fl__graph_* calls  ->  fl__graph_optimize()
** (nn/passes.c: constant folding, fusion of bias/activation into
** convolutions, dead-node removal)  ->  each node's op "prepare" packs its
** constant weights for the chosen ISA (the model is then immutable)  ->
** a session (nn/session.c) infers concrete shapes for its input shapes,
** plans one arena (nn/plan.c) and runs the nodes in order.
**
** Conventions every op follows (TensorFlow semantics exactly):
**   - Images are NHWC.  Conv filters are HWIO [KH, KW, CI, CO]; depthwise
**     filters are [KH, KW, C, M] with output channel c*M + m.  Loaders
**     convert other layouts (TFLite OHWI, [1,KH,KW,C*M]) to these.
**   - Padding SAME puts the odd pixel at the bottom/right; MaxPool SAME
**     pads with -inf; AvgPool SAME divides by the count of real pixels.
**   - Binary elementwise ops broadcast like NumPy.
**   - Parameters that TF passes as tensors (Reshape's shape, ConcatV2's
**     axis, Mean's axes, Pad's paddings, StridedSlice's begin/end/strides,
**     GatherV2's axis, TopKV2's k, ResizeBilinear's size, ExpandDims' dim)
**     stay node inputs; they must be constants when a session is created
**     (after folding they are, for every model we load).
*/
#ifndef FL_NN_INT_H
#define FL_NN_INT_H

#include "faceline/fl_nn.h"
#include "../base/base_int.h"

/* ------------------------------------------------------------------- ops */

/*
** X(NAME): append only.  Inputs of each op, by position ("?" optional,
** given as -1 when absent):
**   CONV2D          x, filter HWIO, bias?, prelu_alpha? (when act PRELU),
**                   residual? (output-shaped, added before the activation:
**                   a fused residual ADD), dw_filter?, dw_bias?  -- with
**                   dw_filter [KH,KW,C,1] the node is a separable conv: a
**                   depthwise stage (dw_filter, dw_bias, the node's stride /
**                   dilation / padding, no activation) then the 1x1 filter
**                   [1,1,C,CO] (a fused DWCONV2D -> 1x1 CONV2D pair)
**   DWCONV2D        x, filter [KH,KW,C,M], bias?, prelu_alpha?
**   MATMUL          a, b, bias?, prelu_alpha?   (attr transpose_a/b, act)
**   ADD SUB MUL DIV MAXIMUM MINIMUM SQUARED_DIFF FLOOR_DIV FLOOR_MOD
**   EQUAL POW      a, b (broadcast; EQUAL outputs BOOL).  ADD may carry a
**                   fused act (residual add + relu).
**   PRELU           x, alpha (broadcast over the last dim)
**   RELU RELU6 SIGMOID SQRT ABS NEG EXP TANH RSQRT IDENTITY   x
**   LEAKY_RELU      x (attr act_alpha)
**   SOFTMAX         x (attr axis, -1 = last)
**   MAXPOOL AVGPOOL x (attr ksize, stride, padding)
**   MEAN SUM MAX    x, axes (I32 const) (attr keep_dims)
**   PAD             x, paddings [n_dims,2] (I32 const) (attr pad_value)
**   RESIZE_BILINEAR x, size [2] (attr align_corners, half_pixel)
**   RESIZE_NEAREST  x, size [2] (attr align_corners, half_pixel)
**   RESHAPE         x, shape (I32 const)
**   SQUEEZE         x (attr axes/n_axes; none = all size-1 dims)
**   EXPAND_DIMS     x, dim (I32 const scalar)
**   CONCAT          x0..xn-1, axis (I32 const scalar, LAST input)
**   PACK            x0..xn-1 (attr axis)
**   UNPACK          x (attr axis; n_out outputs)
**   STRIDED_SLICE   x, begin, end, strides (attr masks)
**   SLICE           x, begin, size
**   GATHER          params, indices, axis (I32 const scalar) (attr batch_dims)
**   GATHER_ND       params, indices
**   ARGMAX          x, axis (I32 const scalar) (attr dtype = I32)
**   TOPK            x, k (I32 const scalar) -> values, indices (attr sorted)
**   CAST            x (attr dtype = target)
**   TRANSPOSE       x, perm (I32 const)
**   TILE            x, multiples (I32 const)
**   SHAPE           x -> I32 [n_dims]
**   HARD_SWISH      x (attr act_alpha = c): (c*x) * min(max(x+3, 0), 6),
**                   MobileNetV3's h-swish in the order TF computes it (c is
**                   the graph's 1/6 constant), so results are bit-identical
*/
#define FL_OP_MAP(X)                                                          \
	X(CONV2D) X(DWCONV2D) X(MATMUL)                                           \
	X(ADD) X(SUB) X(MUL) X(DIV) X(MAXIMUM) X(MINIMUM) X(SQUARED_DIFF)          \
	X(FLOOR_DIV) X(FLOOR_MOD) X(EQUAL) X(POW)                                 \
	X(PRELU) X(RELU) X(RELU6) X(SIGMOID) X(SQRT) X(ABS) X(NEG) X(EXP)         \
	X(TANH) X(RSQRT) X(IDENTITY) X(LEAKY_RELU)                                \
	X(SOFTMAX) X(MAXPOOL) X(AVGPOOL) X(MEAN) X(SUM) X(MAX) X(PAD)             \
	X(RESIZE_BILINEAR) X(RESIZE_NEAREST) X(RESHAPE) X(SQUEEZE)                \
	X(EXPAND_DIMS) X(CONCAT) X(PACK) X(UNPACK) X(STRIDED_SLICE) X(SLICE)      \
	X(GATHER) X(GATHER_ND) X(ARGMAX) X(TOPK) X(CAST) X(TRANSPOSE) X(TILE)     \
	X(SHAPE) X(HARD_SWISH)

enum fl_op {
#define FL__OPX(name) FL_OP_##name,
	FL_OP_MAP(FL__OPX)
#undef FL__OPX
	FL_OP__COUNT
};

/* "CONV2D" etc. */
const char *fl__op_name(enum fl_op op);

enum fl_padding {
	FL_PADDING_VALID = 0,
	FL_PADDING_SAME = 1,
	FL_PADDING_EXPLICIT = 2, /* attr.pads */
};

/* Fused activations (conv, depthwise, matmul, add). */
enum fl_act {
	FL_ACT_NONE = 0,
	FL_ACT_RELU = 1,
	FL_ACT_RELU6 = 2,
	FL_ACT_PRELU = 3, /* per-channel alpha: the node's last input */
	FL_ACT_LEAKY_RELU = 4, /* slope attr.act_alpha */
	FL_ACT_SIGMOID = 5,
};

/* All attributes of all ops, in one flat struct (zero = default). */
struct fl_attr {
	int stride[2];   /* h, w (conv, pool); 0 means 1 */
	int dilation[2]; /* h, w; 0 means 1 */
	int ksize[2];    /* pooling window h, w */
	int padding;     /* enum fl_padding */
	int pads[4];     /* EXPLICIT: top, bottom, left, right */
	int act;         /* enum fl_act */
	float act_alpha; /* LEAKY_RELU slope */
	int transpose_a, transpose_b;
	int axis;
	int keep_dims;
	int n_axes;
	int axes[FL_MAX_DIMS]; /* SQUEEZE */
	int align_corners, half_pixel;
	int begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask;
	int batch_dims;
	int sorted;
	enum fl_dtype dtype; /* CAST target, ARGMAX output */
	float pad_value;
};

/* ----------------------------------------------------------------- graph */

/* A tensor edge.  Shapes here are the declared ones (-1 unknown) or, for
** constants, exact. */
struct fl_value {
	char *name;
	enum fl_dtype dtype;
	int n_dims;
	int64_t dims[FL_MAX_DIMS];
	void *data;    /* constant data (fl_malloc, owned by the graph) or NULL */
	int producer;  /* node index, -1 for graph inputs and constants */
	int n_uses;    /* consumers (+1 if a graph output); set by fl__graph_link */
};

struct fl_node {
	enum fl_op op;
	char *name;
	int n_in, n_out;
	int *in;  /* value indices (-1: optional input absent) */
	int *out; /* value indices */
	struct fl_attr attr;
	void *prep; /* op-owned data built by prepare() (packed weights) */
	int isa;    /* the enum fl_isa prepare() chose for */
};

struct fl_graph {
	struct fl_value *values;
	int n_values, cap_values;
	struct fl_node *nodes; /* topologically ordered after fl__graph_link */
	int n_nodes, cap_nodes;
	int *inputs, n_inputs;   /* value indices */
	int *outputs, n_outputs; /* value indices */
	char *path;              /* file loaded, for messages */
};

int fl__graph_init(struct fl_graph *g, const char *path);
/* Releases everything, including each node's prep (via its op). */
void fl__graph_fini(struct fl_graph *g);
/* Add a (non-constant) value; returns its index >= 0 or FL_ENOMEM. */
int fl__graph_add_value(struct fl_graph *g, const char *name, enum fl_dtype dtype, int n_dims, const int64_t *dims);
/* Add a constant; `data` (fl_malloc'd, numel*dtype_size bytes) is
** transferred to the graph on success AND on failure. */
int fl__graph_add_const(struct fl_graph *g, const char *name, enum fl_dtype dtype, int n_dims, const int64_t *dims, void *data);
/* Add a node; in/out arrays are copied; attr may be NULL.  Sets each
** output value's producer.  Returns the node index or FL_ENOMEM. */
int fl__graph_add_node(struct fl_graph *g, enum fl_op op, const char *name, const int *in, int n_in, const int *out, int n_out, const struct fl_attr *attr);
/* Index of the value named `name`, or -1. */
int fl__graph_find_value(const struct fl_graph *g, const char *name);
/* Set the graph's inputs and outputs (value indices, copied). */
int fl__graph_set_io(struct fl_graph *g, const int *in, int n_in, const int *out, int n_out);
/* Order nodes topologically, count uses, check every input is produced;
** errors (a cycle, a dangling input) name the node. */
int fl__graph_link(struct fl_graph *g, char *err, size_t err_size);
/* Load-time passes: fold constants, fuse, remove dead nodes, then link. */
int fl__graph_optimize(struct fl_graph *g, char *err, size_t err_size);
/* Run every node's op prepare() for `isa`. */
int fl__graph_prepare(struct fl_graph *g, int isa, char *err, size_t err_size);

/* ------------------------------------------------------------ op table */

/* What a kernel gets besides its tensors. */
struct fl_exec {
	struct fl_pool *pool; /* may be NULL: run on the caller */
	int n_threads;        /* fl__pool_n_threads(pool) */
	void *scratch;        /* >= op->scratch() bytes, 64-byte aligned */
	size_t scratch_size;
};

/*
** One op's behaviour.  `in[i]` is NULL for an absent optional input.  In
** infer(), an input's data is non-NULL when its value is known (constant);
** infer() fills out[k].dtype/n_dims/dims (data stays NULL) and writes a
** message naming the problem into err on failure (the caller prefixes the
** node's name and op).  run() reads in[] and writes out[] (preallocated by
** the session with the inferred shapes; outputs never alias inputs).
*/
struct fl_op_def {
	const char *tf_name; /* for messages */
	int (*infer)(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err, size_t err_size);
	int (*run)(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, const struct fl_exec *ex);
	/* Scratch bytes a run needs with these shapes; NULL = none. */
	size_t (*scratch)(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out, int n_threads);
	/* Floating-point ops of a run (for GFLOP/s); NULL = count as 0. */
	int64_t (*flops)(const struct fl_node *n, const struct fl_tensor *const *in, const struct fl_tensor *out);
	/* Once per model: pack constant weights into node->prep for `isa`
	** (sets node->isa); NULL = nothing to prepare.  g is the whole graph
	** (constants in g->values[...].data). */
	int (*prepare)(struct fl_node *n, const struct fl_graph *g, int isa, char *err, size_t err_size);
	void (*release)(struct fl_node *n);
};

/* The definition of `op` (never NULL for op < FL_OP__COUNT). */
const struct fl_op_def *fl__op_def(enum fl_op op);

/* Defined by nn/kern/conv.c, matmul.c (the kernel module). */
extern const struct fl_op_def fl__opdef_conv2d;
extern const struct fl_op_def fl__opdef_dwconv2d;
extern const struct fl_op_def fl__opdef_matmul;

/* ------------------------------------------------------- shape helpers */

/* SAME/VALID/EXPLICIT output size and leading pad of one spatial dim. */
int fl__conv_out_size(int in, int k, int stride, int dilation, int padding, int pad_lo, int pad_hi, int *pad_before);
/* Broadcast shapes a and b (NumPy rules) into out; FL_ESHAPE if they do not. */
int fl__broadcast_shape(const struct fl_tensor *a, const struct fl_tensor *b, struct fl_tensor *out);
/* Read an I32 (or F32 integral) constant tensor's element i. */
int64_t fl__tensor_get_int(const struct fl_tensor *t, int64_t i);

/* -------------------------------------------------------------- loaders */

int fl__load_tfjs(struct fl_graph *g, const char *path, char *err, size_t err_size);
int fl__load_tflite(struct fl_graph *g, const char *path, char *err, size_t err_size);
int fl__load_faceapi(struct fl_graph *g, const char *path, char *err, size_t err_size);
/* In-memory entry points for fuzzing and tests: json/bin or tflite bytes. */
int fl__load_tfjs_mem(struct fl_graph *g, const char *json, size_t json_size, const char *dir, char *err, size_t err_size);
int fl__load_tflite_mem(struct fl_graph *g, const uint8_t *buf, size_t size, char *err, size_t err_size);

/* The model object (nn/model.c). */
struct fl_model {
	struct fl_graph g;
	int isa;
};

/* fl_model_load with an explicit kernel family (tests compare them). */
int fl__model_load_isa(const char *path, int isa, struct fl_model **out, char *err, size_t err_size);

#endif /* FL_NN_INT_H */
