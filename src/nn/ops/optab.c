/*
** optab.c -- the op table: for each enum fl_op its definition (shape
** inference, reference kernel, scratch, flops, prepare) and its name.
** The convolution family lives in the kernel module (nn/kern/conv.c);
** every other op is defined in a file of src/nn/ops/.
*/
#include "ops_int.h"

static int todo_infer(const struct fl_node *n, const struct fl_tensor *const *in, struct fl_tensor *out, char *err,
                      size_t err_size)
{
	fl__errf(err, err_size, "%s: not implemented yet", fl__op_name(n->op));
	return FL_EUNSUPPORTED;
}

static const struct fl_op_def todo_def = {.tf_name = "?", .infer = todo_infer};

static const struct fl_op_def *const op_table[FL_OP__COUNT] = {
	[FL_OP_CONV2D] = &fl__opdef_conv2d,
	[FL_OP_DWCONV2D] = &fl__opdef_dwconv2d,
	[FL_OP_MATMUL] = &fl__opdef_matmul,
	[FL_OP_ADD] = &fl__opdef_add,
	[FL_OP_SUB] = &fl__opdef_sub,
	[FL_OP_MUL] = &fl__opdef_mul,
	[FL_OP_DIV] = &fl__opdef_div,
	[FL_OP_MAXIMUM] = &fl__opdef_maximum,
	[FL_OP_MINIMUM] = &fl__opdef_minimum,
	[FL_OP_SQUARED_DIFF] = &fl__opdef_squared_diff,
	[FL_OP_FLOOR_DIV] = &fl__opdef_floor_div,
	[FL_OP_FLOOR_MOD] = &fl__opdef_floor_mod,
	[FL_OP_EQUAL] = &fl__opdef_equal,
	[FL_OP_POW] = &fl__opdef_pow,
	[FL_OP_PRELU] = &fl__opdef_prelu,
	[FL_OP_RELU] = &fl__opdef_relu,
	[FL_OP_RELU6] = &fl__opdef_relu6,
	[FL_OP_SIGMOID] = &fl__opdef_sigmoid,
	[FL_OP_SQRT] = &fl__opdef_sqrt,
	[FL_OP_ABS] = &fl__opdef_abs,
	[FL_OP_NEG] = &fl__opdef_neg,
	[FL_OP_EXP] = &fl__opdef_exp,
	[FL_OP_TANH] = &fl__opdef_tanh,
	[FL_OP_RSQRT] = &fl__opdef_rsqrt,
	[FL_OP_IDENTITY] = &fl__opdef_identity,
	[FL_OP_LEAKY_RELU] = &fl__opdef_leaky_relu,
	[FL_OP_SOFTMAX] = &todo_def, /* softmax: pending */
	[FL_OP_MAXPOOL] = &todo_def, /* maxpool: pending */
	[FL_OP_AVGPOOL] = &todo_def, /* avgpool: pending */
	[FL_OP_MEAN] = &todo_def, /* mean: pending */
	[FL_OP_SUM] = &todo_def, /* sum: pending */
	[FL_OP_MAX] = &todo_def, /* max: pending */
	[FL_OP_PAD] = &todo_def, /* pad: pending */
	[FL_OP_RESIZE_BILINEAR] = &todo_def, /* resize_bilinear: pending */
	[FL_OP_RESIZE_NEAREST] = &todo_def, /* resize_nearest: pending */
	[FL_OP_RESHAPE] = &todo_def, /* reshape: pending */
	[FL_OP_SQUEEZE] = &todo_def, /* squeeze: pending */
	[FL_OP_EXPAND_DIMS] = &todo_def, /* expand_dims: pending */
	[FL_OP_CONCAT] = &todo_def, /* concat: pending */
	[FL_OP_PACK] = &todo_def, /* pack: pending */
	[FL_OP_UNPACK] = &todo_def, /* unpack: pending */
	[FL_OP_STRIDED_SLICE] = &todo_def, /* strided_slice: pending */
	[FL_OP_SLICE] = &todo_def, /* slice: pending */
	[FL_OP_GATHER] = &todo_def, /* gather: pending */
	[FL_OP_GATHER_ND] = &todo_def, /* gather_nd: pending */
	[FL_OP_ARGMAX] = &todo_def, /* argmax: pending */
	[FL_OP_TOPK] = &todo_def, /* topk: pending */
	[FL_OP_CAST] = &fl__opdef_cast,
	[FL_OP_TRANSPOSE] = &todo_def, /* transpose: pending */
	[FL_OP_TILE] = &todo_def, /* tile: pending */
	[FL_OP_SHAPE] = &todo_def, /* shape: pending */
};

static const char *const op_names[FL_OP__COUNT] = {
#define FL__OPX(name) [FL_OP_##name] = #name,
	FL_OP_MAP(FL__OPX)
#undef FL__OPX
};

/* Never NULL for op < FL_OP__COUNT (tests/unit/ops_optab.c checks that
** every slot is filled); NULL for anything else. */
const struct fl_op_def *fl__op_def(enum fl_op op)
{
	if ((unsigned)op >= FL_OP__COUNT)
		return NULL;
	return op_table[op];
}

const char *fl__op_name(enum fl_op op)
{
	if ((unsigned)op >= FL_OP__COUNT)
		return "UNKNOWN";
	return op_names[op];
}
