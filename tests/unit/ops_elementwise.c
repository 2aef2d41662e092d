/*
** ops_elementwise.c -- unit tests of the elementwise ops, the op table and
** the shape helpers: hand-computed values, NumPy broadcasting, TF's
** FloorDiv/FloorMod on negative numbers, fused activations, casts, error
** messages, and the pooled path against the single-threaded one.
*/
#include "ops_util.h"

FL_TEST(ops_optab_complete)
{
	for (int op = 0; op < FL_OP__COUNT; op++) {
		const struct fl_op_def *d = fl__op_def((enum fl_op)op);
		ASSERT_MSG(d && d->infer && d->tf_name, "op %d (%s) has no definition", op, fl__op_name((enum fl_op)op));
		ASSERT(strcmp(fl__op_name((enum fl_op)op), "UNKNOWN") != 0);
	}
	ASSERT(fl__op_def(FL_OP__COUNT) == NULL);
	ASSERT(strcmp(fl__op_name(FL_OP_RESIZE_BILINEAR), "RESIZE_BILINEAR") == 0);
}

FL_TEST(ops_shape_helpers)
{
	int pb = -1;
	/* SAME: odd pixel bottom/right */
	ASSERT_EQ(fl__conv_out_size(5, 3, 2, 1, FL_PADDING_SAME, 0, 0, &pb), 3);
	ASSERT_EQ(pb, 1);
	ASSERT_EQ(fl__conv_out_size(4, 3, 2, 1, FL_PADDING_SAME, 0, 0, &pb), 2);
	ASSERT_EQ(pb, 0); /* total 1 -> 0 before, 1 after */
	ASSERT_EQ(fl__conv_out_size(256, 5, 1, 1, FL_PADDING_SAME, 0, 0, &pb), 256);
	ASSERT_EQ(pb, 2);
	ASSERT_EQ(fl__conv_out_size(7, 3, 1, 2, FL_PADDING_VALID, 0, 0, &pb), 3);
	ASSERT_EQ(pb, 0);
	ASSERT_EQ(fl__conv_out_size(2, 3, 1, 1, FL_PADDING_VALID, 0, 0, &pb), FL_ESHAPE);
	ASSERT_EQ(fl__conv_out_size(5, 3, 2, 1, FL_PADDING_EXPLICIT, 1, 1, &pb), 3);
	ASSERT_EQ(pb, 1);

	struct fl_tensor a = {.n_dims = 3, .dims = {4, 1, 3}}, b = {.n_dims = 2, .dims = {5, 1}}, o;
	ASSERT_OK(fl__broadcast_shape(&a, &b, &o));
	ASSERT_SHAPE(o, 4, 5, 3);
	struct fl_tensor c = {.n_dims = 1, .dims = {4}};
	ASSERT_EQ(fl__broadcast_shape(&a, &c, &o), FL_ESHAPE);
	struct fl_tensor s = {.n_dims = 0};
	ASSERT_OK(fl__broadcast_shape(&s, &s, &o));
	ASSERT_EQ(o.n_dims, 0);

	struct fl_tensor t = {.dtype = FL_DTYPE_F32, .n_dims = 1, .dims = {2}, .data = (float[]){3.0f, -2.0f}};
	ASSERT_EQ(fl__tensor_get_int(&t, 1), -2);
	ASSERT_EQ(fl_dtype_size(FL_DTYPE_BOOL), 1);
	ASSERT(strcmp(fl_dtype_name(FL_DTYPE_I32), "int32") == 0);
	struct fl_tensor u = {.n_dims = 2, .dims = {-1, 3}};
	ASSERT_EQ(fl_tensor_numel(&u), 0);
	ASSERT_EQ(fl_tensor_numel(&s), 1);
}

FL_TEST(ops_add_same_and_broadcast)
{
	struct fl_node n = tt_node(FL_OP_ADD);
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_tensor a = T_F32(DIMS(2, 3), 1, 2, 3, 4, 5, 6);
	struct fl_tensor b = T_F32(DIMS(2, 3), 10, 20, 30, 40, 50, 60);
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 11, 22, 33, 44, 55, 66);

	/* per-channel [C] */
	struct fl_tensor c = T_F32(DIMS(3), 100, 200, 300);
	ASSERT_OK(tt_run(&n, IN(&a, &c), out));
	ASSERT_F32S(out[0], 0, 101, 202, 303, 104, 205, 306);
	/* column [2,1] on the left operand */
	struct fl_tensor col = T_F32(DIMS(2, 1), 1000, 2000);
	ASSERT_OK(tt_run(&n, IN(&col, &a), out));
	ASSERT_F32S(out[0], 0, 1001, 1002, 1003, 2004, 2005, 2006);
	/* outer product [2,1] + [1,3] -> [2,3] */
	struct fl_tensor row = T_F32(DIMS(1, 3), 1, 2, 3);
	ASSERT_OK(tt_run(&n, IN(&col, &row), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 1001, 1002, 1003, 2001, 2002, 2003);
	/* scalar */
	struct fl_tensor s = tt_make(FL_DTYPE_F32, 0, NULL, (const float[]){0.5f});
	ASSERT_OK(tt_run(&n, IN(&s, &a), out));
	ASSERT_F32S(out[0], 0, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5);
	/* middle broadcast [2,1,2] + [2,3,1]... -> [2,3,2] */
	struct fl_tensor m1 = T_F32(DIMS(2, 1, 2), 1, 2, 3, 4);
	struct fl_tensor m2 = T_F32(DIMS(2, 3, 1), 10, 20, 30, 40, 50, 60);
	ASSERT_OK(tt_run(&n, IN(&m1, &m2), out));
	ASSERT_SHAPE(out[0], 2, 3, 2);
	ASSERT_F32S(out[0], 0, 11, 12, 21, 22, 31, 32, 43, 44, 53, 54, 63, 64);
}

FL_TEST(ops_binary_values)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_tensor a = T_F32(DIMS(4), 7, -7, 7.5f, -7.5f);
	struct fl_tensor b = T_F32(DIMS(4), 2, 2, -2, -2);
	struct fl_node n = tt_node(FL_OP_SUB);
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 5, -9, 9.5f, -5.5f);
	n.op = FL_OP_MUL;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 14, -14, -15, 15);
	n.op = FL_OP_DIV;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 1e-6, 3.5f, -3.5f, -3.75f, 3.75f);
	n.op = FL_OP_MAXIMUM;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 7, 2, 7.5f, -2);
	n.op = FL_OP_MINIMUM;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 2, -7, -2, -7.5f);
	n.op = FL_OP_SQUARED_DIFF;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 25, 81, 90.25f, 30.25f);
	/* FloorDiv/FloorMod round toward -inf; mod takes the divisor's sign */
	n.op = FL_OP_FLOOR_DIV;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 3, -4, -4, 3);
	n.op = FL_OP_FLOOR_MOD;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 1e-6, 1, 1, -0.5f, -1.5f);
	n.op = FL_OP_POW;
	struct fl_tensor p = T_F32(DIMS(4), 2, 3, 0.5f, -1);
	struct fl_tensor q = T_F32(DIMS(4), 3, 2, 2, 3);
	ASSERT_OK(tt_run(&n, IN(&p, &q), out));
	ASSERT_F32S(out[0], 1e-6, 8, 9, 0.25f, -1);
	n.op = FL_OP_EQUAL;
	ASSERT_OK(tt_run(&n, IN(&p, &q), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_BOOL);
	ASSERT_U8S(out[0], 0, 0, 0, 0);
	struct fl_tensor two = tt_make(FL_DTYPE_F32, 0, NULL, (const float[]){2});
	ASSERT_OK(tt_run(&n, IN(&p, &two), out));
	ASSERT_U8S(out[0], 1, 0, 0, 0);
}

FL_TEST(ops_binary_int)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_tensor a = T_I32(DIMS(6), 7, -7, 7, -7, 0, -1);
	struct fl_tensor b = T_I32(DIMS(6), 3, 3, -3, -3, 5, 5);
	struct fl_node n = tt_node(FL_OP_FLOOR_DIV);
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_I32);
	ASSERT_I32S(out[0], 2, -3, -3, 2, 0, -1);
	n.op = FL_OP_FLOOR_MOD;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_I32S(out[0], 1, 2, -2, -1, 0, 4);
	n.op = FL_OP_DIV; /* C truncation, TF's Div on int32 */
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_I32S(out[0], 2, -2, -2, 2, 0, 0);
	n.op = FL_OP_ADD;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_I32S(out[0], 10, -4, 4, -10, 5, 4);
	n.op = FL_OP_POW;
	struct fl_tensor e = T_I32(DIMS(6), 2, 0, 3, 1, 2, 1);
	ASSERT_OK(tt_run(&n, IN(&b, &e), out));
	ASSERT_I32S(out[0], 9, 1, -27, -3, 25, 5);
	n.op = FL_OP_EQUAL;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_U8S(out[0], 0, 0, 0, 0, 0, 0);
	/* division by zero is an error, like TF */
	n.op = FL_OP_FLOOR_MOD;
	struct fl_tensor z = T_I32(DIMS(1), 0);
	ASSERT_EQ(tt_run(&n, IN(&a, &z), out), FL_EINVAL);
}

FL_TEST(ops_binary_errors)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_MUL);
	struct fl_tensor a = T_F32(DIMS(2, 3), 1, 2, 3, 4, 5, 6);
	struct fl_tensor b = T_F32(DIMS(2), 1, 2);
	ASSERT_EQ(tt_infer(&n, IN(&a, &b), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "cannot broadcast [2,3] with [2]");
	struct fl_tensor i = T_I32(DIMS(3), 1, 2, 3);
	ASSERT_EQ(tt_infer(&n, IN(&a, &i), out), FL_EDTYPE);
	ASSERT_STR_CONTAINS(tt_err, "float32 and int32");
}

FL_TEST(ops_add_fused_act_and_prelu)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_ADD);
	struct fl_tensor a = T_F32(DIMS(1, 1, 2, 2), -3, 1, 5, 2);
	struct fl_tensor b = T_F32(DIMS(1, 1, 2, 2), 1, 1, 3, -4);
	n.attr.act = FL_ACT_RELU;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 0, 2, 8, 0);
	n.attr.act = FL_ACT_RELU6;
	ASSERT_OK(tt_run(&n, IN(&a, &b), out));
	ASSERT_F32S(out[0], 0, 0, 2, 6, 0);

	/* PRELU: alpha per channel, as [C] or [1,1,C] */
	struct fl_node p = tt_node(FL_OP_PRELU);
	struct fl_tensor x = T_F32(DIMS(1, 2, 1, 2), -2, -2, 3, -4);
	struct fl_tensor al = T_F32(DIMS(2), 0.5f, 0.25f);
	ASSERT_OK(tt_run(&p, IN(&x, &al), out));
	ASSERT_SHAPE(out[0], 1, 2, 1, 2);
	ASSERT_F32S(out[0], 0, -1, -0.5f, 3, -1);
	struct fl_tensor al3 = T_F32(DIMS(1, 1, 2), 0.5f, 0.25f);
	ASSERT_OK(tt_run(&p, IN(&x, &al3), out));
	ASSERT_F32S(out[0], 0, -1, -0.5f, 3, -1);
}

FL_TEST(ops_unary)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_tensor x = T_F32(DIMS(5), -2, -0.5f, 0, 4, 9);
	struct fl_node n = tt_node(FL_OP_RELU);
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 0, 0, 0, 0, 4, 9);
	n.op = FL_OP_RELU6;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 0, 0, 0, 0, 4, 6);
	n.op = FL_OP_LEAKY_RELU;
	n.attr.act_alpha = 0.1f;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-7, -0.2f, -0.05f, 0, 4, 9);
	n.op = FL_OP_SIGMOID;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-6, 0.11920292f, 0.37754067f, 0.5f, 0.98201379f, 0.99987661f);
	n.op = FL_OP_ABS;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 0, 2, 0.5f, 0, 4, 9);
	n.op = FL_OP_NEG;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 0, 2, 0.5f, 0, -4, -9);
	n.op = FL_OP_TANH;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-6, -0.96402758f, -0.46211716f, 0, 0.99932930f, 0.99999997f);
	n.op = FL_OP_EXP;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-3, 0.13533528f, 0.60653066f, 1, 54.59815f, 8103.0839f);
	struct fl_tensor y = T_F32(DIMS(3), 4, 9, 0.25f);
	n.op = FL_OP_SQRT;
	ASSERT_OK(tt_run(&n, IN(&y), out));
	ASSERT_F32S(out[0], 1e-6, 2, 3, 0.5f);
	n.op = FL_OP_RSQRT;
	ASSERT_OK(tt_run(&n, IN(&y), out));
	ASSERT_F32S(out[0], 1e-6, 0.5f, 1.0f / 3, 2);
	n.op = FL_OP_IDENTITY;
	struct fl_tensor b = T_BOOL(DIMS(3), 1, 0, 1);
	ASSERT_OK(tt_run(&n, IN(&b), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_BOOL);
	ASSERT_U8S(out[0], 1, 0, 1);
	n.op = FL_OP_EXP;
	ASSERT_EQ(tt_infer(&n, IN(&b), out), FL_EDTYPE);
	struct fl_tensor i = T_I32(DIMS(2), -3, 4);
	n.op = FL_OP_ABS;
	ASSERT_OK(tt_run(&n, IN(&i), out));
	ASSERT_I32S(out[0], 3, 4);
}

FL_TEST(ops_cast)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_CAST);
	struct fl_tensor x = T_F32(DIMS(5), 1.7f, -1.7f, 0, 2.5f, -0.2f);
	n.attr.dtype = FL_DTYPE_I32;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_I32);
	ASSERT_I32S(out[0], 1, -1, 0, 2, 0);
	n.attr.dtype = FL_DTYPE_BOOL;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_U8S(out[0], 1, 1, 0, 1, 1);
	struct fl_tensor b = T_BOOL(DIMS(2), 1, 0);
	n.attr.dtype = FL_DTYPE_F32;
	ASSERT_OK(tt_run(&n, IN(&b), out));
	ASSERT_F32S(out[0], 0, 1, 0);
	struct fl_tensor i = T_I32(DIMS(2), -5, 16777217);
	ASSERT_OK(tt_run(&n, IN(&i), out));
	ASSERT_F32S(out[0], 0, -5, 16777216);
}

/* A large broadcast add through a 2-thread pool equals the serial result. */
FL_TEST(ops_elementwise_pool_matches_serial)
{
	struct fl_tensor out1[FL_MAX_DIMS], out2[FL_MAX_DIMS];
	struct fl_test_rng r = {42};
	struct fl_tensor a = tt_make(FL_DTYPE_F32, 4, DIMS(1, 37, 61, 48), NULL);
	struct fl_tensor b = tt_make(FL_DTYPE_F32, 3, DIMS(37, 1, 48), NULL);
	for (int64_t i = 0; i < fl_tensor_numel(&a); i++)
		((float *)a.data)[i] = fl_test_uniform(&r, -1, 1);
	for (int64_t i = 0; i < fl_tensor_numel(&b); i++)
		((float *)b.data)[i] = fl_test_uniform(&r, -1, 1);
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	struct fl_node n = tt_node(FL_OP_SQUARED_DIFF);
	ASSERT_OK(tt_run(&n, IN(&a, &b), out1));
	ASSERT_OK(tt_run_pool(&n, IN(&a, &b), out2, pool));
	ASSERT_SHAPE(out2[0], 1, 37, 61, 48);
	/* check against a naive formula as well */
	for (int64_t h = 0; h < 37; h++)
		for (int64_t w = 0; w < 61; w++)
			for (int64_t c = 0; c < 48; c++) {
				int64_t i = (h * 61 + w) * 48 + c;
				float d = ((float *)a.data)[i] - ((float *)b.data)[h * 48 + c];
				ASSERT_EQ(((float *)out1[0].data)[i] == d * d, 1);
				ASSERT_EQ(((float *)out2[0].data)[i] == d * d, 1);
			}
	fl__pool_destroy(pool);
}
