/*
** vision_resize.c -- unit tests of the bilinear resize: identity, known
** values in both sampling modes against hand-computed TF formulas, FIT
** padding and the output -> source map, crops reaching outside the image,
** normalisation, and resizing into an image.
*/
#include "fl_test.h"
#include "faceline/fl_vision.h"

/* A w x h image with pixel (x, y) = (x*10 + c, y*10 + c, x + y) -- a linear
** ramp, so bilinear samples have exact expected values. */
static void ramp(struct fl_image *img, int w, int h)
{
	ASSERT_OK(fl_image_init(img, w, h));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = img->data + y * img->stride + 3 * x;
			p[0] = (uint8_t)(x * 10);
			p[1] = (uint8_t)(y * 10);
			p[2] = (uint8_t)(x + y);
		}
}

FL_TEST(vision_resize_identity)
{
	struct fl_image img;
	ramp(&img, 7, 5);
	for (int mode = 0; mode < 2; mode++) {
		struct fl_resize_params p = fl_resize_default_params();
		p.out_w = 7;
		p.out_h = 5;
		p.sample = mode;
		float out[7 * 5 * 3];
		struct fl_resize_map map;
		ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, &map));
		for (int i = 0; i < 7 * 5 * 3; i++)
			ASSERT_NEAR(out[i], img.data[(i / 21) * img.stride + i % 21], 1e-5);
		ASSERT_NEAR(map.scale_x, 1, 1e-6);
		ASSERT_NEAR(map.off_x, 0, 1e-6);
	}
	fl_image_fini(&img);
}

FL_TEST(vision_resize_sampling)
{
	struct fl_image img;
	ramp(&img, 8, 4);
	float out[4 * 2 * 3];
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = 4;
	p.out_h = 2;
	/* Legacy (TF1): u samples x = 2u, v samples y = 2v -> exact pixels. */
	p.sample = FL_SAMPLE_LEGACY;
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, NULL));
	for (int v = 0; v < 2; v++)
		for (int u = 0; u < 4; u++) {
			ASSERT_NEAR(out[(v * 4 + u) * 3 + 0], 2 * u * 10, 1e-4);
			ASSERT_NEAR(out[(v * 4 + u) * 3 + 1], 2 * v * 10, 1e-4);
		}
	/* Half-pixel: x = (u + 0.5)*2 - 0.5 = 2u + 0.5 -> halfway between. */
	p.sample = FL_SAMPLE_HALF_PIXEL;
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, NULL));
	for (int u = 0; u < 4; u++)
		ASSERT_NEAR(out[u * 3 + 0], (2 * u + 0.5) * 10, 1e-4);
	ASSERT_NEAR(out[3 * 4 + 1], 2.5 * 10, 1e-4);
	/* Upscaling clamps at the edges: x = (u+0.5)/2 - 0.5 = -0.25 -> pixel 0. */
	struct fl_resize_params q = fl_resize_default_params();
	q.out_w = 16;
	q.out_h = 8;
	float big[16 * 8 * 3];
	ASSERT_OK(fl_image_resize_to_tensor(&img, &q, big, NULL));
	ASSERT_NEAR(big[0], 0, 1e-5);
	ASSERT_NEAR(big[3 * 1], 2.5, 1e-4); /* x = 0.25 */
	ASSERT_NEAR(big[3 * 15], 70, 1e-4); /* x = 7.25 -> clamped to 7 */
	fl_image_fini(&img);
}

FL_TEST(vision_resize_fit)
{
	/* 20x10 into 8x8 FIT: scale 0.4 -> 8x4 content, 2 rows of padding above. */
	struct fl_image img;
	ramp(&img, 20, 10);
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = 8;
	p.out_h = 8;
	p.mode = FL_RESIZE_FIT;
	p.pad_value = 0;
	p.scale = 1.0f / 127.5f;
	p.offset = -1.0f;
	float out[8 * 8 * 3];
	struct fl_resize_map m;
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, &m));
	for (int v = 0; v < 8; v++) {
		int pad = v < 2 || v >= 6;
		for (int u = 0; u < 8; u++)
			if (pad)
				ASSERT_NEAR(out[(v * 8 + u) * 3], -1, 1e-6);
	}
	/* Row 2 holds source row y = 0.5/0.4 - 0.5 = 0.75 -> G = 7.5 */
	ASSERT_NEAR(out[(2 * 8 + 0) * 3 + 1], 7.5 / 127.5 - 1, 1e-5);
	/* The map sends tensor (0, 2) to source (0, 0) and (8, 6) to (20, 10). */
	ASSERT_NEAR(0 * m.scale_x + m.off_x, 0, 1e-5);
	ASSERT_NEAR(2 * m.scale_y + m.off_y, 0, 1e-5);
	ASSERT_NEAR(8 * m.scale_x + m.off_x, 20, 1e-4);
	ASSERT_NEAR(6 * m.scale_y + m.off_y, 10, 1e-4);
	fl_image_fini(&img);
}

FL_TEST(vision_resize_crop_outside)
{
	/* A crop half outside the image: the outside half is pad_value. */
	struct fl_image img;
	ramp(&img, 10, 10);
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = 10;
	p.out_h = 10;
	p.crop_x = -5;
	p.crop_y = 0;
	p.crop_w = 10;
	p.crop_h = 10;
	p.pad_value = 255;
	float out[10 * 10 * 3];
	struct fl_resize_map m;
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, &m));
	for (int u = 0; u < 5; u++)
		ASSERT_NEAR(out[u * 3], 255, 0);
	for (int u = 5; u < 10; u++)
		ASSERT_NEAR(out[u * 3], (u - 5) * 10, 1e-5);
	ASSERT_NEAR(m.off_x, -5, 1e-6);
	/* Bad parameters are refused. */
	p.out_w = 0;
	ASSERT_EQ(fl_image_resize_to_tensor(&img, &p, out, NULL), FL_EINVAL);
	ASSERT_EQ(fl_image_resize_to_tensor(NULL, &p, out, NULL), FL_EINVAL);
	fl_image_fini(&img);
}

FL_TEST(vision_resize_image)
{
	/* A 2x2 checker upscaled to 4x4 image, then down again. */
	struct fl_image a, b, c;
	ASSERT_OK(fl_image_init(&a, 2, 2));
	memset(a.data, 200, (size_t)a.stride * 2);
	ASSERT_OK(fl_image_init(&b, 4, 4));
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = 4;
	p.out_h = 4;
	ASSERT_OK(fl_image_resize(&a, &p, &b, NULL));
	for (int i = 0; i < 4 * 4 * 3; i++)
		ASSERT_EQ(b.data[i], 200);
	ASSERT_OK(fl_image_init(&c, 3, 3));
	ASSERT_EQ(fl_image_resize(&a, &p, &c, NULL), FL_EINVAL); /* size mismatch */
	fl_image_fini(&a);
	fl_image_fini(&b);
	fl_image_fini(&c);
	fl_image_fini(NULL);
}

FL_TEST(vision_resize_tf_crop)
{
	/* tf.image.cropAndResize: box [c/n, (c+len)/n] normalised, then
	** src = (c/n)*(n-1) + u*(len/n)*(n-1)/(out-1). */
	struct fl_image img;
	ramp(&img, 8, 4);
	struct fl_resize_params p = fl_resize_default_params();
	p.sample = FL_SAMPLE_TF_CROP;
	p.out_w = 5;
	p.out_h = 1;
	p.crop_x = 2;
	p.crop_w = 4;
	p.crop_y = 1;
	p.crop_h = 2;
	float out[5 * 3];
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, NULL));
	for (int u = 0; u < 5; u++) {
		float x = 2.0f * 7 / 8 + u * 0.5f * 7 / 4; /* 1.75 .. 5.25 */
		float y = 0.5f * (1.0f / 4 + 3.0f / 4) * 3; /* one row: the box's middle */
		ASSERT_NEAR(out[3 * u + 0], 10 * x, 1e-3);
		ASSERT_NEAR(out[3 * u + 1], 10 * y, 1e-3);
	}
	/* A crop reaching left of the image: samples below 0 are padding. */
	p.crop_x = -2;
	p.out_w = 3;
	p.pad_value = 77;
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, out, NULL));
	ASSERT_NEAR(out[0], 77, 0);          /* x = -1.75 */
	ASSERT_NEAR(out[3], 0, 1e-4);        /* x = 0 */
	ASSERT_NEAR(out[6], 17.5f, 1e-3);    /* x = 1.75 */
	/* FIT has no meaning for it. */
	p.mode = FL_RESIZE_FIT;
	ASSERT_EQ(fl_image_resize_to_tensor(&img, &p, out, NULL), FL_EINVAL);
	fl_image_fini(&img);
}
