/*
** ops_spatial.c -- unit tests of the NHWC spatial ops and the reductions:
** pooling (MaxPool SAME pads with -inf, AvgPool SAME counts real pixels),
** ResizeBilinear / ResizeNearestNeighbor in legacy, align_corners and
** half-pixel modes against values computed by hand from TF's formulas,
** Mean/Sum/Max, Softmax, ArgMax and TopK.
*/
#include "ops_util.h"

static struct fl_tensor size2(int h, int w)
{
	return T_I32(DIMS(2), h, w);
}

FL_TEST(ops_maxpool_same_pads_with_neg_inf)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_MAXPOOL);
	struct fl_tensor x = T_F32(DIMS(1, 3, 3, 1), -1, -2, -3, -4, -5, -6, -7, -8, -9);
	n.attr.ksize[0] = n.attr.ksize[1] = 2;
	n.attr.stride[0] = n.attr.stride[1] = 2;
	n.attr.padding = FL_PADDING_SAME;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 2, 2, 1);
	/* zero padding would give 0 in the last three windows */
	ASSERT_F32S(out[0], 0, -1, -3, -7, -9);

	n.op = FL_OP_AVGPOOL; /* divides by the real pixels: 4, 2, 2, 1 */
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-6, -3, -4.5f, -7.5f, -9);

	n.attr.padding = FL_PADDING_VALID;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 1, 1, 1);
	ASSERT_F32S(out[0], 1e-6, -3);

	/* 3x3 stride 1 SAME max: the window at each corner sees 4 pixels */
	n.op = FL_OP_MAXPOOL;
	n.attr.ksize[0] = n.attr.ksize[1] = 3;
	n.attr.stride[0] = n.attr.stride[1] = 1;
	n.attr.padding = FL_PADDING_SAME;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 3, 3, 1);
	ASSERT_F32S(out[0], 0, -1, -1, -2, -1, -1, -2, -4, -4, -5);
}

FL_TEST(ops_avgpool_channels_and_errors)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_AVGPOOL);
	/* 2x2 image with 2 channels, global 2x2 VALID */
	struct fl_tensor x = T_F32(DIMS(1, 2, 2, 2), 1, 10, 2, 20, 3, 30, 4, 40);
	n.attr.ksize[0] = n.attr.ksize[1] = 2;
	n.attr.stride[0] = n.attr.stride[1] = 2;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_SHAPE(out[0], 1, 1, 1, 2);
	ASSERT_F32S(out[0], 1e-6, 2.5f, 25);
	n.attr.ksize[0] = n.attr.ksize[1] = 3;
	ASSERT_EQ(tt_infer(&n, IN(&x), out), FL_ESHAPE);
	ASSERT_STR_CONTAINS(tt_err, "does not fit");
	struct fl_tensor y = T_F32(DIMS(2, 2), 1, 2, 3, 4);
	ASSERT_EQ(tt_infer(&n, IN(&y), out), FL_ESHAPE);
}

FL_TEST(ops_resize_bilinear_modes)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_RESIZE_BILINEAR);
	struct fl_tensor x = T_F32(DIMS(1, 2, 2, 1), 1, 2, 3, 4);
	struct fl_tensor s3 = size2(3, 3), s4 = size2(4, 4);

	/* legacy: src = dst * 2/3 */
	ASSERT_OK(tt_run(&n, IN(&x, &s3), out));
	ASSERT_SHAPE(out[0], 1, 3, 3, 1);
	ASSERT_F32S(out[0], 1e-5, 1, 5.0f / 3, 2, 7.0f / 3, 3, 10.0f / 3, 3, 11.0f / 3, 4);
	/* align_corners: src = dst * 1/2 */
	n.attr.align_corners = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &s3), out));
	ASSERT_F32S(out[0], 1e-6, 1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4);
	/* half-pixel: src = (dst + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 */
	n.attr.align_corners = 0;
	n.attr.half_pixel = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &s4), out));
	ASSERT_SHAPE(out[0], 1, 4, 4, 1);
	ASSERT_F32S(out[0], 1e-6, 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f,
	            4);

	/* downsampling 4 -> 2 along W: legacy picks 0 and 2, half-pixel averages */
	struct fl_tensor r = T_F32(DIMS(1, 1, 4, 2), 0, 100, 10, 200, 20, 300, 30, 400);
	struct fl_tensor s12 = size2(1, 2);
	n.attr.half_pixel = 0;
	ASSERT_OK(tt_run(&n, IN(&r, &s12), out));
	ASSERT_F32S(out[0], 1e-5, 0, 100, 20, 300);
	n.attr.half_pixel = 1;
	ASSERT_OK(tt_run(&n, IN(&r, &s12), out));
	ASSERT_F32S(out[0], 1e-5, 5, 150, 25, 350);

	n.attr.align_corners = 1;
	ASSERT_EQ(tt_infer(&n, IN(&x, &s3), out), FL_EINVAL);
}

FL_TEST(ops_resize_nearest_modes)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_RESIZE_NEAREST);
	struct fl_tensor x = T_F32(DIMS(1, 1, 3, 1), 10, 20, 30);
	struct fl_tensor s12 = size2(1, 2);
	/* 3 -> 2: legacy src 0, 1.5 -> 0, 1 */
	ASSERT_OK(tt_run(&n, IN(&x, &s12), out));
	ASSERT_F32S(out[0], 0, 10, 20);
	/* half-pixel: (dst + 0.5) * 1.5 = 0.75, 2.25 -> 0, 2 */
	n.attr.half_pixel = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &s12), out));
	ASSERT_F32S(out[0], 0, 10, 30);
	/* align_corners: scale 2, round(0), round(2) */
	n.attr.half_pixel = 0;
	n.attr.align_corners = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &s12), out));
	ASSERT_F32S(out[0], 0, 10, 30);

	/* 4 -> 3 with align_corners: scale 1.5, round(1.5) = 2 */
	struct fl_tensor y = T_F32(DIMS(1, 1, 4, 1), 1, 2, 3, 4);
	struct fl_tensor s13 = size2(1, 3);
	ASSERT_OK(tt_run(&n, IN(&y, &s13), out));
	ASSERT_F32S(out[0], 0, 1, 3, 4);
	n.attr.align_corners = 0; /* legacy: 0, 1.33, 2.67 -> 0, 1, 2 */
	ASSERT_OK(tt_run(&n, IN(&y, &s13), out));
	ASSERT_F32S(out[0], 0, 1, 2, 3);

	/* upsampling 2x2 -> 4x4 repeats pixels in both modes */
	struct fl_tensor z = T_F32(DIMS(1, 2, 2, 1), 1, 2, 3, 4);
	struct fl_tensor s4 = size2(4, 4);
	for (int hp = 0; hp < 2; hp++) {
		n.attr.half_pixel = hp;
		ASSERT_OK(tt_run(&n, IN(&z, &s4), out));
		ASSERT_F32S(out[0], 0, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
	}
}

/* A large bilinear resize through a 2-thread pool equals the serial one. */
FL_TEST(ops_resize_pool_matches_serial)
{
	struct fl_tensor out1[FL_MAX_DIMS], out2[FL_MAX_DIMS];
	struct fl_test_rng r = {7};
	struct fl_tensor x = tt_make(FL_DTYPE_F32, 4, DIMS(2, 37, 53, 3), NULL);
	for (int64_t i = 0; i < fl_tensor_numel(&x); i++)
		((float *)x.data)[i] = fl_test_uniform(&r, 0, 255);
	struct fl_tensor sz = size2(128, 96);
	struct fl_node n = tt_node(FL_OP_RESIZE_BILINEAR);
	struct fl_pool *pool;
	ASSERT_OK(fl__pool_create(2, &pool));
	n.attr.half_pixel = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &sz), out1));
	ASSERT_OK(tt_run_pool(&n, IN(&x, &sz), out2, pool));
	ASSERT_EQ(memcmp(out1[0].data, out2[0].data, (size_t)fl_tensor_numel(&out1[0]) * 4), 0);
	fl__pool_destroy(pool);
}

FL_TEST(ops_reduce)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_MEAN);
	struct fl_tensor x = T_F32(DIMS(2, 3), 1, 2, 3, 4, 5, 6);
	struct fl_tensor a0 = T_I32(DIMS(1), 0), am1 = T_SCALAR_I32(-1), a01 = T_I32(DIMS(2), 0, -1);
	ASSERT_OK(tt_run(&n, IN(&x, &a0), out));
	ASSERT_SHAPE(out[0], 3);
	ASSERT_F32S(out[0], 1e-6, 2.5f, 3.5f, 4.5f);
	ASSERT_OK(tt_run(&n, IN(&x, &am1), out));
	ASSERT_SHAPE(out[0], 2);
	ASSERT_F32S(out[0], 1e-6, 2, 5);
	n.op = FL_OP_SUM;
	ASSERT_OK(tt_run(&n, IN(&x, &a01), out));
	ASSERT_SHAPE0(out[0]);
	ASSERT_F32S(out[0], 0, 21);
	n.attr.keep_dims = 1;
	ASSERT_OK(tt_run(&n, IN(&x, &a01), out));
	ASSERT_SHAPE(out[0], 1, 1);
	n.op = FL_OP_MAX;
	ASSERT_OK(tt_run(&n, IN(&x, &am1), out));
	ASSERT_SHAPE(out[0], 2, 1);
	ASSERT_F32S(out[0], 0, 3, 6);

	/* global average pool: NHWC mean over [1, 2] */
	struct fl_tensor img = T_F32(DIMS(1, 2, 2, 3), 1, 10, 100, 2, 20, 200, 3, 30, 300, 4, 40, 400);
	struct fl_tensor a12 = T_I32(DIMS(2), 1, 2);
	n.op = FL_OP_MEAN;
	ASSERT_OK(tt_run(&n, IN(&img, &a12), out));
	ASSERT_SHAPE(out[0], 1, 1, 1, 3);
	ASSERT_F32S(out[0], 1e-5, 2.5f, 25, 250);
	/* middle axis of [2,2,3], not kept */
	n.attr.keep_dims = 0;
	n.op = FL_OP_SUM;
	struct fl_tensor y = T_F32(DIMS(2, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
	struct fl_tensor a1 = T_I32(DIMS(1), 1);
	ASSERT_OK(tt_run(&n, IN(&y, &a1), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_F32S(out[0], 0, 5, 7, 9, 17, 19, 21);
	/* ints */
	struct fl_tensor xi = T_I32(DIMS(2, 2), 1, -8, 3, 4);
	n.op = FL_OP_MAX;
	ASSERT_OK(tt_run(&n, IN(&xi, &a0), out));
	ASSERT_I32S(out[0], 3, 4);
	n.op = FL_OP_MEAN;
	ASSERT_OK(tt_run(&n, IN(&xi, &a1), out));
	ASSERT_I32S(out[0], -3, 3); /* -7/2 truncates like TF */
	/* bad axis */
	struct fl_tensor a4 = T_I32(DIMS(1), 4);
	ASSERT_EQ(tt_infer(&n, IN(&img, &a4), out), FL_EINVAL);
	ASSERT_STR_CONTAINS(tt_err, "axis 4 out of range for rank 4");
}

FL_TEST(ops_softmax)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_SOFTMAX);
	struct fl_tensor x = T_F32(DIMS(2, 3), 1, 2, 3, 1000, 1000, 1000);
	n.attr.axis = -1;
	ASSERT_OK(tt_run(&n, IN(&x), out));
	ASSERT_F32S(out[0], 1e-6, 0.09003057f, 0.24472847f, 0.66524096f, 1.0f / 3, 1.0f / 3, 1.0f / 3);
	n.attr.axis = 0;
	struct fl_tensor y = T_F32(DIMS(2, 2), 0, 1, 0, 1);
	ASSERT_OK(tt_run(&n, IN(&y), out));
	ASSERT_F32S(out[0], 1e-6, 0.5f, 0.5f, 0.5f, 0.5f);
	n.attr.axis = 2;
	ASSERT_EQ(tt_infer(&n, IN(&y), out), FL_EINVAL);
}

FL_TEST(ops_argmax_topk)
{
	struct fl_tensor out[FL_MAX_DIMS];
	struct fl_node n = tt_node(FL_OP_ARGMAX);
	struct fl_tensor x = T_F32(DIMS(2, 4), 1, 3, 3, 2, 9, 0, 9, 9);
	struct fl_tensor a1 = T_SCALAR_I32(1), a0 = T_SCALAR_I32(0);
	ASSERT_OK(tt_run(&n, IN(&x, &a1), out));
	ASSERT_EQ(out[0].dtype, FL_DTYPE_I32);
	ASSERT_SHAPE(out[0], 2);
	ASSERT_I32S(out[0], 1, 0); /* first max on ties */
	ASSERT_OK(tt_run(&n, IN(&x, &a0), out));
	ASSERT_I32S(out[0], 1, 0, 1, 1);

	struct fl_node t = tt_node(FL_OP_TOPK);
	t.n_out = 2;
	struct fl_tensor y = T_F32(DIMS(2, 5), 1, 3, 3, 2, 5, -1, -2, -3, -4, -5);
	struct fl_tensor k3 = T_SCALAR_I32(3);
	ASSERT_OK(tt_run(&t, IN(&y, &k3), out));
	ASSERT_SHAPE(out[0], 2, 3);
	ASSERT_EQ(out[1].dtype, FL_DTYPE_I32);
	ASSERT_F32S(out[0], 0, 5, 3, 3, -1, -2, -3);
	ASSERT_I32S(out[1], 4, 1, 2, 0, 1, 2);
	struct fl_tensor k6 = T_SCALAR_I32(6);
	ASSERT_EQ(tt_infer(&t, IN(&y, &k6), out), FL_EINVAL);
	/* all equal: indices in order */
	struct fl_tensor z = T_F32(DIMS(4), 7, 7, 7, 7);
	ASSERT_OK(tt_run(&t, IN(&z, &k3), out));
	ASSERT_I32S(out[1], 0, 1, 2);
}
