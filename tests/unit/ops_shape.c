/*
** ops_shape.c -- unit tests of the data-movement ops: Reshape (with -1 and
** the re-size rule for graphs frozen at another input size), Squeeze,
** ExpandDims, ConcatV2, Pack/Unpack, Pad (any rank, constant value),
** Transpose, Tile, Shape, StridedSlice with each of TF's masks, Slice,
** GatherV2 (axis, batch_dims, bad indices) and GatherNd.
*/
#include "ops_util.h"

static struct fl_tensor iota_f32(int n_dims, const int64_t *dims)
{
	struct fl_tensor t = tt_make(FL_DTYPE_F32, n_dims, dims, NULL);
	for (int64_t i = 0; i < fl_tensor_numel(&t); i++)
		((float *)t.data)[i] = (float)i;
	return t;
}

FL_TEST(ops_reshape)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_RESHAPE);
	struct fl_tensor x = iota_f32(4, DIMS(1, 16, 16, 2)); /* 512 */
	struct fl_tensor s = T_I32(DIMS(3), 1, 512, 1);
	ASSERT_OK(tt_run(&n, IN(&x, &s), out));
	ASSERT_SHAPE(out[0], 1, 512, 1);
	ASSERT_EQ(((float *)out[0].data)[511], 511);
	struct fl_tensor m = T_I32(DIMS(3), 1, -1, 4);
	ASSERT_OK(tt_infer(&n, IN(&x, &m), out));
	ASSERT_SHAPE(out[0], 1, 128, 4);

	/* rule 1: frozen for 256x256, run on a bigger frame: dim 1 inferred */
	struct fl_tensor big = iota_f32(4, DIMS(1, 36, 64, 2)); /* 4608 */
	ASSERT_OK(tt_infer(&n, IN(&big, &s), out));
	ASSERT_SHAPE(out[0], 1, 4608, 1);
	struct fl_tensor s16 = T_I32(DIMS(3), 1, 896, 16);
	struct fl_tensor reg = iota_f32(4, DIMS(1, 36, 64, 32)); /* 73728 = 4608*16 */
	ASSERT_OK(tt_infer(&n, IN(&reg, &s16), out));
	ASSERT_SHAPE(out[0], 1, 4608, 16);
	/* rule 2: frozen at batch 1, run at batch 4 */
	struct fl_tensor b4 = iota_f32(4, DIMS(4, 16, 16, 2));
	ASSERT_OK(tt_infer(&n, IN(&b4, &s), out));
	ASSERT_SHAPE(out[0], 4, 512, 1);
	/* both: batch 2 on a bigger frame */
	struct fl_tensor b2 = iota_f32(4, DIMS(2, 36, 64, 2));
	ASSERT_OK(tt_infer(&n, IN(&b2, &s), out));
	ASSERT_SHAPE(out[0], 2, 4608, 1);
	/* no rule fits */
	struct fl_tensor bad = T_I32(DIMS(3), 1, 512, 5);
	struct fl_tensor x3 = iota_f32(3, DIMS(1, 3, 512));
	ASSERT_EQ(tt_infer(&n, IN(&x3, &bad), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "Reshape: shape [1,512,5] has 2560 elements, input has 1536");
	struct fl_tensor two = T_I32(DIMS(3), 2, 512, 1);
	ASSERT_EQ(tt_infer(&n, IN(&x3, &two), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "has 1024 elements, input has 1536");
	struct fl_tensor neg2 = T_I32(DIMS(2), -1, -1);
	ASSERT_EQ(tt_infer(&n, IN(&x3, &neg2), out), FL_EINVAL);
	struct fl_tensor nonconst = {.dtype = FL_DTYPE_I32, .n_dims = 1, .dims = {2}};
	ASSERT_EQ(tt_infer(&n, IN(&x3, &nonconst), out), FL_EUNSUPPORTED);
}

FL_TEST(ops_squeeze_expand_shape)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_SQUEEZE);
	struct fl_tensor x = iota_f32(4, DIMS(1, 3, 1, 2));
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 3, 2);
	n.attr.n_axes = 1;
	n.attr.axes[0] = -2;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 3, 2);
	n.attr.axes[0] = 1;
	ASSERT_EQ(tt_infer(&n, IN(&x), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "dim 1 of size 3");

	struct fl_node e = tt_node(FL_OP_EXPAND_DIMS);
	struct fl_tensor d0 = T_SCALAR_I32(0), dm1 = T_SCALAR_I32(-1), d9 = T_SCALAR_I32(9);
	struct fl_tensor y = iota_f32(2, DIMS(3, 2));
	ASSERT_OK(tt_run(&e, IN(&y, &d0), out));
	ASSERT_SHAPE(out[0], 1, 3, 2);
	ASSERT_OK(tt_run(&e, IN(&y, &dm1), out));
	ASSERT_SHAPE(out[0], 3, 2, 1);
	ASSERT_F32S(out[0], 0, 0, 1, 2, 3, 4, 5);
	ASSERT_EQ(tt_infer(&e, IN(&y, &d9), out), FL_EINVAL);

	struct fl_node s = tt_node(FL_OP_SHAPE);
	ASSERT_OK(tt_run(&s, IN(&x), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_I32);
	ASSERT_I32S(out[0], 1, 3, 1, 2);
}

FL_TEST(ops_concat_pack_unpack)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_CONCAT);
	struct fl_tensor a = T_F32(DIMS(2, 2), 1, 2, 3, 4);
	struct fl_tensor b = T_F32(DIMS(2, 1), 5, 6);
	struct fl_tensor ax1 = T_SCALAR_I32(-1), ax0 = T_SCALAR_I32(0);
	n.n_in = 3;
	ASSERT_OK(tt_run(&n, IN(&a, &b, &ax1), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 1, 2, 5, 3, 4, 6);
	ASSERT_EQ(tt_infer(&n, IN(&a, &b, &ax0), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "input 1");
	struct fl_tensor c = T_F32(DIMS(1, 2), 7, 8);
	ASSERT_OK(tt_run(&n, IN(&a, &c, &ax0), out));
	ASSERT_SHAPE(out[0], 3, 2);
	ASSERT_F32S(out[0], 0, 1, 2, 3, 4, 7, 8);

	struct fl_node p = tt_node(FL_OP_PACK);
	struct fl_tensor u = T_F32(DIMS(2), 1, 2), v = T_F32(DIMS(2), 3, 4), w = T_F32(DIMS(2), 5, 6);
	p.n_in = 3;
	ASSERT_OK(tt_run(&p, IN(&u, &v, &w), out));
	ASSERT_SHAPE(out[0], 3, 2);
	ASSERT_F32S(out[0], 0, 1, 2, 3, 4, 5, 6);
	p.attr.axis = 1;
	ASSERT_OK(tt_run(&p, IN(&u, &v, &w), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 1, 3, 5, 2, 4, 6);
	p.attr.axis = -1;
	ASSERT_OK(tt_run(&p, IN(&u, &v, &w), out));
	ASSERT_F32S(out[0], 0, 1, 3, 5, 2, 4, 6);

	struct fl_node q = tt_node(FL_OP_UNPACK);
	struct fl_tensor m = T_F32(DIMS(2, 3), 1, 2, 3, 4, 5, 6);
	q.attr.axis = 1;
	q.n_out = 3;
	ASSERT_OK(tt_run(&q, IN(&m), out));
	ASSERT_SHAPE(out[2], 2);
	ASSERT_F32S(out[0], 0, 1, 4);
	ASSERT_F32S(out[1], 0, 2, 5);
	ASSERT_F32S(out[2], 0, 3, 6);
	q.n_out = 2;
	ASSERT_EQ(tt_infer(&q, IN(&m), out), FL_ESHAPE);
}

FL_TEST(ops_pad)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_PAD);
	struct fl_tensor x = T_F32(DIMS(1, 2, 2, 1), 1, 2, 3, 4);
	struct fl_tensor p = T_I32(DIMS(4, 2), 0, 0, 1, 1, 0, 1, 0, 0);
	ASSERT_OK(tt_run(&n, IN(&x, &p), out));
	ASSERT_SHAPE(out[0], 1, 4, 3, 1);
	ASSERT_F32S(out[0], 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0);
	/* BlazeFace pads channels: [1,1,2,2] -> [1,1,2,4] with value -1 */
	struct fl_tensor c = T_F32(DIMS(1, 1, 2, 2), 1, 2, 3, 4);
	struct fl_tensor pc = T_I32(DIMS(4, 2), 0, 0, 0, 0, 0, 0, 0, 2);
	n.attr.pad_value = -1;
	ASSERT_OK(tt_run(&n, IN(&c, &pc), out));
	ASSERT_SHAPE(out[0], 1, 1, 2, 4);
	ASSERT_F32S(out[0], 0, 1, 2, -1, -1, 3, 4, -1, -1);
	/* rank 1, before and after */
	struct fl_tensor v = T_I32(DIMS(2), 5, 6);
	struct fl_tensor p1 = T_I32(DIMS(1, 2), 2, 1);
	n.attr.pad_value = 0;
	ASSERT_OK(tt_run(&n, IN(&v, &p1), out));
	ASSERT_I32S(out[0], 0, 0, 5, 6, 0);
	ASSERT_EQ(tt_infer(&n, IN(&x, &p1), out), FL_ESHAPE);
	struct fl_tensor pn = T_I32(DIMS(1, 2), -1, 0);
	ASSERT_EQ(tt_infer(&n, IN(&v, &pn), out), FL_EINVAL);
}

FL_TEST(ops_transpose_tile)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_TRANSPOSE);
	struct fl_tensor x = iota_f32(3, DIMS(2, 3, 2)); /* [[[0,1],[2,3],[4,5]],[[6,7],[8,9],[10,11]]] */
	struct fl_tensor perm = T_I32(DIMS(3), 2, 0, 1);
	ASSERT_OK(tt_run(&n, IN(&x, &perm), out));
	ASSERT_SHAPE(out[0], 2, 2, 3);
	ASSERT_F32S(out[0], 0, 0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11);
	struct fl_tensor bad = T_I32(DIMS(3), 0, 0, 1);
	ASSERT_EQ(tt_infer(&n, IN(&x, &bad), out), FL_EINVAL);

	struct fl_node t = tt_node(FL_OP_TILE);
	struct fl_tensor y = T_F32(DIMS(2, 2), 1, 2, 3, 4);
	struct fl_tensor mul = T_I32(DIMS(2), 2, 3);
	ASSERT_OK(tt_run(&t, IN(&y, &mul), out));
	ASSERT_SHAPE(out[0], 4, 6);
	ASSERT_F32S(out[0], 0, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4);
}

/* x = [3,4] of 0..11 */
static int ss(struct fl_node *n, struct fl_tensor *x, struct fl_tensor b, struct fl_tensor e, struct fl_tensor s,
              struct fl_tensor *out)
{
	return tt_run(n, IN(x, &b, &e, &s), out);
}

FL_TEST(ops_strided_slice_masks)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_STRIDED_SLICE);
	struct fl_tensor x = iota_f32(2, DIMS(3, 4));

	/* x[1:3, 0:4:2] */
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(2), 1, 0), T_I32(DIMS(2), 3, 4), T_I32(DIMS(2), 1, 2), out));
	ASSERT_SHAPE(out[0], 2, 2);
	ASSERT_F32S(out[0], 0, 4, 6, 8, 10);
	/* x[1] (shrink) */
	n.attr.shrink_axis_mask = 1;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(1), 1), T_I32(DIMS(1), 2), T_I32(DIMS(1), 1), out));
	ASSERT_SHAPE(out[0], 4);
	ASSERT_F32S(out[0], 0, 4, 5, 6, 7);
	/* x[-1] */
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(1), -1), T_I32(DIMS(1), 0), T_I32(DIMS(1), 1), out));
	ASSERT_F32S(out[0], 0, 8, 9, 10, 11);
	/* x[5] is out of bounds */
	ASSERT_EQ(ss(&n, &x, T_I32(DIMS(1), 5), T_I32(DIMS(1), 6), T_I32(DIMS(1), 1), out), FL_EINVAL);
	ASSERT_STR_CONTAINS(tt_err, "out of bounds");
	/* x[-1::-1] (begin -1, end masked, stride -1): rows reversed */
	n.attr.shrink_axis_mask = 0;
	n.attr.end_mask = 1;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(1), -1), T_I32(DIMS(1), 0), T_I32(DIMS(1), -1), out));
	ASSERT_SHAPE(out[0], 3, 4);
	ASSERT_F32S(out[0], 0, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	/* x[::-2, 3:0:-1]: rows 2, 0; cols 3, 2, 1 */
	n.attr.begin_mask = 1;
	n.attr.end_mask = 1;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(2), 0, 3), T_I32(DIMS(2), 0, 0), T_I32(DIMS(2), -2, -1), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 11, 10, 9, 3, 2, 1);
	/* x[..., 1] (ellipsis + shrink) */
	n.attr.begin_mask = n.attr.end_mask = 0;
	n.attr.ellipsis_mask = 1;
	n.attr.shrink_axis_mask = 2;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(2), 0, 1), T_I32(DIMS(2), 0, 2), T_I32(DIMS(2), 1, 1), out));
	ASSERT_SHAPE(out[0], 3);
	ASSERT_F32S(out[0], 0, 1, 5, 9);
	/* x[:, None, 1:3] (new axis) */
	n.attr.ellipsis_mask = 0;
	n.attr.shrink_axis_mask = 0;
	n.attr.begin_mask = 1;
	n.attr.end_mask = 1;
	n.attr.new_axis_mask = 2;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(3), 0, 0, 1), T_I32(DIMS(3), 0, 0, 3), T_I32(DIMS(3), 1, 1, 1), out));
	ASSERT_SHAPE(out[0], 3, 1, 2);
	ASSERT_F32S(out[0], 0, 1, 2, 5, 6, 9, 10);
	/* x[None] then the rest implicit */
	n.attr.begin_mask = n.attr.end_mask = 0;
	n.attr.new_axis_mask = 1;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(1), 0), T_I32(DIMS(1), 0), T_I32(DIMS(1), 1), out));
	ASSERT_SHAPE(out[0], 1, 3, 4);
	/* out-of-range ends clamp: x[0:10, 2:100] */
	n.attr.new_axis_mask = 0;
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(2), 0, 2), T_I32(DIMS(2), 10, 100), T_I32(DIMS(2), 1, 1), out));
	ASSERT_SHAPE(out[0], 3, 2);
	ASSERT_F32S(out[0], 0, 2, 3, 6, 7, 10, 11);
	/* empty: x[2:1] */
	ASSERT_OK(ss(&n, &x, T_I32(DIMS(1), 2), T_I32(DIMS(1), 1), T_I32(DIMS(1), 1), out));
	ASSERT_SHAPE(out[0], 0, 4);
	/* BlazeFace-style x[:, :, 0:1] on [1,6,3] with begin/end masks */
	struct fl_tensor r = iota_f32(3, DIMS(1, 6, 3));
	n.attr.begin_mask = 3;
	n.attr.end_mask = 3;
	ASSERT_OK(ss(&n, &r, T_I32(DIMS(3), 0, 0, 0), T_I32(DIMS(3), 0, 0, 1), T_I32(DIMS(3), 1, 1, 1), out));
	ASSERT_SHAPE(out[0], 1, 6, 1);
	ASSERT_F32S(out[0], 0, 0, 3, 6, 9, 12, 15);
	/* errors */
	n.attr.begin_mask = n.attr.end_mask = 0;
	ASSERT_EQ(ss(&n, &x, T_I32(DIMS(1), 0), T_I32(DIMS(1), 1), T_I32(DIMS(1), 0), out), FL_EINVAL);
	ASSERT_STR_CONTAINS(tt_err, "stride");
	ASSERT_EQ(ss(&n, &x, T_I32(DIMS(3), 0, 0, 0), T_I32(DIMS(3), 1, 1, 1), T_I32(DIMS(3), 1, 1, 1), out), FL_EINVAL);
	n.attr.ellipsis_mask = 3;
	ASSERT_EQ(ss(&n, &x, T_I32(DIMS(2), 0, 0), T_I32(DIMS(2), 1, 1), T_I32(DIMS(2), 1, 1), out), FL_EINVAL);
}

FL_TEST(ops_slice)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_SLICE);
	struct fl_tensor x = iota_f32(2, DIMS(3, 4));
	struct fl_tensor b = T_I32(DIMS(2), 1, 1), s = T_I32(DIMS(2), -1, 2);
	ASSERT_OK(tt_run(&n, IN(&x, &b, &s), out));
	ASSERT_SHAPE(out[0], 2, 2);
	ASSERT_F32S(out[0], 0, 5, 6, 9, 10);
	struct fl_tensor s2 = T_I32(DIMS(2), 3, 1);
	ASSERT_EQ(tt_infer(&n, IN(&x, &b, &s2), out), FL_EINVAL);
	ASSERT_STR_CONTAINS(tt_err, "dim 0 of size 3");
}

FL_TEST(ops_gather)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_GATHER);
	struct fl_tensor p = T_F32(DIMS(3, 2), 1, 2, 3, 4, 5, 6);
	fl_log_set_level(-1); /* the bad-index cases below log an error */
	struct fl_tensor i = T_I32(DIMS(2), 2, 0);
	struct fl_tensor a0 = T_SCALAR_I32(0), a1 = T_SCALAR_I32(1);
	n.n_in = 3;
	ASSERT_OK(tt_run(&n, IN(&p, &i, &a0), out));
	ASSERT_SHAPE(out[0], 2, 2);
	ASSERT_F32S(out[0], 0, 5, 6, 1, 2);
	ASSERT_EQ(tt_run(&n, IN(&p, &i, &a1), out), FL_EINVAL); /* index 2 >= 2 */
	struct fl_tensor i1 = T_I32(DIMS(2, 1), 1, 0);
	ASSERT_OK(tt_run(&n, IN(&p, &i1, &a1), out));
	ASSERT_SHAPE(out[0], 3, 2, 1);
	ASSERT_F32S(out[0], 0, 2, 1, 4, 3, 6, 5);
	/* negative index: error */
	struct fl_tensor ineg = T_I32(DIMS(1), -1);
	ASSERT_EQ(tt_run(&n, IN(&p, &ineg, &a0), out), FL_EINVAL);
	/* batch_dims 1: params [2,3], indices [2,2], axis 1 */
	struct fl_tensor q = T_F32(DIMS(2, 3), 1, 2, 3, 4, 5, 6);
	struct fl_tensor iq = T_I32(DIMS(2, 2), 0, 2, 1, 1);
	n.attr.batch_dims = 1;
	ASSERT_OK(tt_run(&n, IN(&q, &iq, &a1), out));
	ASSERT_SHAPE(out[0], 2, 2);
	ASSERT_F32S(out[0], 0, 1, 3, 5, 5);
	ASSERT_EQ(tt_infer(&n, IN(&q, &iq, &a0), out), FL_EINVAL); /* axis < batch_dims */

	struct fl_node g = tt_node(FL_OP_GATHER_ND);
	struct fl_tensor pp = T_F32(DIMS(2, 2), 1, 2, 3, 4);
	struct fl_tensor ii = T_I32(DIMS(2, 2), 1, 0, 0, 1);
	ASSERT_OK(tt_run(&g, IN(&pp, &ii), out));
	ASSERT_SHAPE(out[0], 2);
	ASSERT_F32S(out[0], 0, 3, 2);
	struct fl_tensor row = T_I32(DIMS(1, 1), 1);
	ASSERT_OK(tt_run(&g, IN(&pp, &row), out));
	ASSERT_SHAPE(out[0], 1, 2);
	ASSERT_F32S(out[0], 0, 3, 4);
	struct fl_tensor oob = T_I32(DIMS(1, 2), 2, 0);
	ASSERT_EQ(tt_run(&g, IN(&pp, &oob), out), FL_EINVAL);
}
