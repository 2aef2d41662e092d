/*
** optab.c -- the op table: for each enum fl_op its definition (shape
** inference, reference kernel, scratch, flops, prepare) and its name.
** The convolution family lives in the kernel module (nn/kern/conv.c);
** every other op is defined in a file of src/nn/ops/.
*/
#include "ops_int.h"

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
	[FL_OP_HARD_SWISH] = &fl__opdef_hard_swish,
	[FL_OP_SIGMOID] = &fl__opdef_sigmoid,
	[FL_OP_SQRT] = &fl__opdef_sqrt,
	[FL_OP_ABS] = &fl__opdef_abs,
	[FL_OP_NEG] = &fl__opdef_neg,
	[FL_OP_EXP] = &fl__opdef_exp,
	[FL_OP_TANH] = &fl__opdef_tanh,
	[FL_OP_RSQRT] = &fl__opdef_rsqrt,
	[FL_OP_IDENTITY] = &fl__opdef_identity,
	[FL_OP_LEAKY_RELU] = &fl__opdef_leaky_relu,
	[FL_OP_SOFTMAX] = &fl__opdef_softmax,
	[FL_OP_MAXPOOL] = &fl__opdef_maxpool,
	[FL_OP_AVGPOOL] = &fl__opdef_avgpool,
	[FL_OP_MEAN] = &fl__opdef_mean,
	[FL_OP_SUM] = &fl__opdef_sum,
	[FL_OP_MAX] = &fl__opdef_max,
	[FL_OP_PAD] = &fl__opdef_pad,
	[FL_OP_RESIZE_BILINEAR] = &fl__opdef_resize_bilinear,
	[FL_OP_RESIZE_NEAREST] = &fl__opdef_resize_nearest,
	[FL_OP_RESHAPE] = &fl__opdef_reshape,
	[FL_OP_SQUEEZE] = &fl__opdef_squeeze,
	[FL_OP_EXPAND_DIMS] = &fl__opdef_expand_dims,
	[FL_OP_CONCAT] = &fl__opdef_concat,
	[FL_OP_PACK] = &fl__opdef_pack,
	[FL_OP_UNPACK] = &fl__opdef_unpack,
	[FL_OP_STRIDED_SLICE] = &fl__opdef_strided_slice,
	[FL_OP_SLICE] = &fl__opdef_slice,
	[FL_OP_GATHER] = &fl__opdef_gather,
	[FL_OP_GATHER_ND] = &fl__opdef_gather_nd,
	[FL_OP_ARGMAX] = &fl__opdef_argmax,
	[FL_OP_TOPK] = &fl__opdef_topk,
	[FL_OP_CAST] = &fl__opdef_cast,
	[FL_OP_TRANSPOSE] = &fl__opdef_transpose,
	[FL_OP_TILE] = &fl__opdef_tile,
	[FL_OP_SHAPE] = &fl__opdef_shape,
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
