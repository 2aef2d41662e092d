/*
** vision_align.c -- the face crops of the two per-face models, against
** hand-computed expectations: the similarity transform onto the ArcFace
** template (exact for a scaled, turned, moved copy of the template), the
** aligned warp (a known pixel lands where the map says, large faces are
** box-averaged), and FaceExpressionNet's face-api crop (clip and floor,
** centred black padding with the odd pixel bottom/right, legacy bilinear
** resize to 112).
*/
#include "fl_test.h"

#include "faceline/fl.h"

#define NORM(p) (((float)(p) - 127.5f) / 128.0f)

/* The template scaled by s, turned by angle a, moved by (tx, ty). */
static void moved_template(float s, float a, float tx, float ty, float pts[5][2])
{
	for (int i = 0; i < 5; i++) {
		float x = fl_align_template[i][0], y = fl_align_template[i][1];
		pts[i][0] = s * (cosf(a) * x - sinf(a) * y) + tx;
		pts[i][1] = s * (sinf(a) * x + cosf(a) * y) + ty;
	}
}

FL_TEST(vision_align_similarity_exact)
{
	static const float cases[][4] = {{1, 0, 0, 0}, {2.3f, 0.4f, 100, 50}, {0.35f, -1.2f, -20, 300}, {5, 3.0f, 7, 9}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		float src[5][2], m[6];
		moved_template(cases[c][0], cases[c][1], cases[c][2], cases[c][3], src);
		ASSERT_OK(fl_align_similarity((const float(*)[2])src, fl_align_template, 5, m));
		ASSERT_NEAR(m[0], m[4], 1e-6);
		ASSERT_NEAR(m[1], -m[3], 1e-6);
		for (int i = 0; i < 5; i++) {
			ASSERT_NEAR(m[0] * src[i][0] + m[1] * src[i][1] + m[2], fl_align_template[i][0], 2e-3);
			ASSERT_NEAR(m[3] * src[i][0] + m[4] * src[i][1] + m[5], fl_align_template[i][1], 2e-3);
		}
		/* The warp map sends the output pixel index of each template point
		** to the source index of the face's point (continuous positions
		** minus 0.5 on both sides). */
		ASSERT_OK(fl_align_face_map((const float(*)[2])src, 112, m));
		for (int i = 0; i < 5; i++) {
			float u = fl_align_template[i][0] - 0.5f, v = fl_align_template[i][1] - 0.5f;
			ASSERT_NEAR(m[0] * u + m[1] * v + m[2], src[i][0] - 0.5f, 2e-3 * (1 + cases[c][0]));
			ASSERT_NEAR(m[3] * u + m[4] * v + m[5], src[i][1] - 0.5f, 2e-3 * (1 + cases[c][0]));
		}
	}
	/* Least squares: one point moved, the others still close. */
	float src[5][2], m[6];
	moved_template(1, 0, 0, 0, src);
	src[2][0] += 3;
	ASSERT_OK(fl_align_similarity((const float(*)[2])src, fl_align_template, 5, m));
	ASSERT_NEAR(m[0], 1, 0.05);
	/* Degenerate input. */
	float same[5][2] = {{3, 4}, {3, 4}, {3, 4}, {3, 4}, {3, 4}};
	ASSERT_EQ(fl_align_similarity((const float(*)[2])same, fl_align_template, 5, m), FL_EINVAL);
	ASSERT_EQ(fl_align_similarity(fl_align_template, (const float(*)[2])same, 5, m), FL_EINVAL);
	ASSERT_EQ(fl_align_similarity(fl_align_template, fl_align_template, 1, m), FL_EINVAL);
	src[1][1] = NAN;
	ASSERT_EQ(fl_align_face_map((const float(*)[2])src, 112, m), FL_EINVAL);
}

FL_TEST(vision_align_warp_pixels)
{
	struct fl_image img;
	float pts[5][2];
	float *out = malloc(112 * 112 * 3 * sizeof(float));
	ASSERT_OK(fl_image_init(&img, 300, 200));
	/* One red pixel at (60, 80). */
	img.data[80 * img.stride + 60 * 3] = 255;
	/* Moved by (40, 30): output pixel (u, v) is source pixel (u+40, v+30). */
	moved_template(1, 0, 40, 30, pts);
	ASSERT_OK(fl_align_face(&img, (const float(*)[2])pts, 112, out));
	ASSERT_NEAR(out[(50 * 112 + 20) * 3 + 0], NORM(255), 1e-3);
	ASSERT_NEAR(out[(50 * 112 + 20) * 3 + 1], NORM(0), 1e-3);
	ASSERT_NEAR(out[(50 * 112 + 21) * 3 + 0], NORM(0), 1e-3);
	ASSERT_NEAR(out[(51 * 112 + 20) * 3 + 0], NORM(0), 1e-3);
	ASSERT_NEAR(out[(49 * 112 + 19) * 3 + 0], NORM(0), 1e-3);

	/* A face twice as large, at (10, 20): output pixel (u, v) covers
	** source pixels 2u+10..2u+11, 2v+20..2v+21 and averages them. */
	memset(img.data, 0, (size_t)img.stride * img.height);
	img.data[41 * img.stride + 31 * 3 + 1] = 255; /* green at (31, 41) -> output (10, 10) */
	moved_template(2, 0, 10, 20, pts);
	ASSERT_OK(fl_align_face(&img, (const float(*)[2])pts, 112, out));
	ASSERT_NEAR(out[(10 * 112 + 10) * 3 + 1], NORM(255 / 4.0), 1e-3);
	ASSERT_NEAR(out[(10 * 112 + 10) * 3 + 0], NORM(0), 1e-3);
	ASSERT_NEAR(out[(10 * 112 + 11) * 3 + 1], NORM(0), 1e-3);
	ASSERT_NEAR(out[(11 * 112 + 10) * 3 + 1], NORM(0), 1e-3);
	/* Output pixel (111, 111) maps to source ~ (232, 242): below the
	** picture, so 0 after normalisation. */
	ASSERT_NEAR(out[(111 * 112 + 111) * 3 + 2], 0, 1e-6);

	/* A turned face: the template point positions carry the pixel
	** values sampled at the face's points. */
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < img.width; x++)
			img.data[y * img.stride + 3 * x] = (uint8_t)(x / 2), img.data[y * img.stride + 3 * x + 2] = (uint8_t)y;
	moved_template(1.1f, 0.3f, 90, 10, pts);
	ASSERT_OK(fl_align_face(&img, (const float(*)[2])pts, 112, out));
	for (int i = 0; i < 5; i++) {
		/* Output pixel nearest the template point: its centre maps to a
		** source position within ~1 px of the face's point. */
		int u = (int)fl_align_template[i][0], v = (int)fl_align_template[i][1];
		float r = out[(v * 112 + u) * 3] * 128 + 127.5f, b = out[(v * 112 + u) * 3 + 2] * 128 + 127.5f;
		ASSERT_NEAR(r, (pts[i][0] - 0.5f) / 2, 1.0);
		ASSERT_NEAR(b, pts[i][1] - 0.5f, 1.6);
	}
	ASSERT_EQ(fl_align_face(NULL, (const float(*)[2])pts, 112, out), FL_EINVAL);
	fl_image_fini(&img);
	free(out);
}

/* A w x h image whose pixel (x, y) is (10x + y + 1, 100 + y, 200 - x). */
static void ramp(struct fl_image *img, int w, int h)
{
	ASSERT_OK(fl_image_init(img, w, h));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = img->data + y * img->stride + 3 * x;
			p[0] = (uint8_t)(10 * x + y + 1);
			p[1] = (uint8_t)(100 + y);
			p[2] = (uint8_t)(200 - x);
		}
}

static float px(const struct fl_image *img, int x, int y, int c)
{
	return img->data[y * img->stride + 3 * x + c];
}

FL_TEST(vision_align_expression_crop)
{
	struct fl_image img;
	float *out = malloc(112 * 112 * 3 * sizeof(float));
	/* The crop box: x1.13 wide, x1.06 high, down 0.045 w. */
	float box[4] = {100, 50, 200, 100}, fb[4];
	fl_expression_crop_box(box, fb);
	ASSERT_NEAR(fb[2], 226, 1e-3);
	ASSERT_NEAR(fb[3], 106, 1e-3);
	ASSERT_NEAR(fb[0], 200 - 113, 1e-3);
	ASSERT_NEAR(fb[1], 100 + 9 - 53, 1e-3);

	/* 5 x 3 whole picture: padded to 5 x 5 with one black row above and
	** one below.  Output index 56 samples position 56 * 5/112 = 2.5, i.e.
	** the middle of padded rows/columns 2 and 3. */
	ramp(&img, 5, 3);
	float whole[4] = {0, 0, 5, 3};
	ASSERT_OK(fl_expression_crop(&img, whole, out));
	for (int c = 0; c < 3; c++) {
		float want = (px(&img, 2, 1, c) + px(&img, 3, 1, c) + px(&img, 2, 2, c) + px(&img, 3, 2, c)) / 4;
		ASSERT_NEAR(out[(56 * 112 + 56) * 3 + c], want, 1e-4);
		ASSERT_NEAR(out[c], 0, 0); /* (0, 0): padded row 0 is black */
		/* row 112*1/5 -> position 1.0: exactly padded row 1 = image row 0 */
	}
	/* Output row v with v*5/112 in [1, 2) lies between image rows 0 and 1:
	** v = 23 -> 1.02678..., v=45 -> 2.00892... */
	{
		double pos = 23 * 5.0 / 112, f = pos - 1;
		float want = (float)(px(&img, 0, 0, 0) + (px(&img, 0, 1, 0) - px(&img, 0, 0, 0)) * f);
		ASSERT_NEAR(out[(23 * 112 + 0) * 3], want, 1e-4);
	}
	fl_image_fini(&img);

	/* 5 x 2: difference 3, so 1 black row before (top) and 2 after
	** (bottom, the odd pixel).  Position 2.5 is between padded row 2 (image
	** row 1) and row 3 (black). */
	ramp(&img, 5, 2);
	float whole2[4] = {0, 0, 5, 2};
	ASSERT_OK(fl_expression_crop(&img, whole2, out));
	for (int c = 0; c < 3; c++) {
		float want = (px(&img, 2, 1, c) + px(&img, 3, 1, c)) / 4;
		ASSERT_NEAR(out[(56 * 112 + 56) * 3 + c], want, 1e-4);
	}
	/* Position 1.5 (v = 33.6 -> none exact); v = 34 -> 1.5178...: between
	** image rows 0 and 1 (padded rows 1 and 2). */
	{
		double f = 34 * 5.0 / 112 - 1;
		float want = (float)(px(&img, 0, 0, 1) + (px(&img, 0, 1, 1) - px(&img, 0, 0, 1)) * f);
		ASSERT_NEAR(out[(34 * 112 + 0) * 3 + 1], want, 1e-4);
	}
	fl_image_fini(&img);

	/* 2 x 5 (tall): the columns get the padding, the odd one at the right. */
	ramp(&img, 2, 5);
	float whole3[4] = {0, 0, 2, 5};
	ASSERT_OK(fl_expression_crop(&img, whole3, out));
	for (int c = 0; c < 3; c++) {
		float want = (px(&img, 1, 2, c) + px(&img, 1, 3, c)) / 4;
		ASSERT_NEAR(out[(56 * 112 + 56) * 3 + c], want, 1e-4);
	}
	fl_image_fini(&img);

	/* Clipping and flooring: box [-1.5, 0.7, 4, 2.6] on 5 x 3 becomes
	** x 0, y 0 (floor 0.7), w floor(2.5) = 2, h floor(min(2.6, 2.3)) = 2;
	** square already, resized 2 -> 112: index 28 is position 0.5. */
	ramp(&img, 5, 3);
	float clip[4] = {-1.5f, 0.7f, 4.0f, 2.6f};
	ASSERT_OK(fl_expression_crop(&img, clip, out));
	for (int c = 0; c < 3; c++) {
		float want = (px(&img, 0, 0, c) + px(&img, 1, 0, c) + px(&img, 0, 1, c) + px(&img, 1, 1, c)) / 4;
		ASSERT_NEAR(out[(28 * 112 + 28) * 3 + c], want, 1e-4);
		ASSERT_NEAR(out[(111 * 112 + 111) * 3 + c], px(&img, 1, 1, c), 1e-4); /* ceil clamped to 1 */
	}
	/* A 112 x 112 region is copied unchanged. */
	fl_image_fini(&img);
	ASSERT_OK(fl_image_init(&img, 130, 120));
	for (int i = 0; i < img.stride * img.height; i++)
		img.data[i] = (uint8_t)(i * 7);
	float exact[4] = {3.9f, 5.2f, 112.3f, 112.5f}; /* floors to 3, 5, 112, 112 */
	ASSERT_OK(fl_expression_crop(&img, exact, out));
	ASSERT_NEAR(out[(7 * 112 + 9) * 3 + 2], px(&img, 3 + 9, 5 + 7, 2), 0);
	/* Out of the picture. */
	float away[4] = {200, 10, 20, 20};
	ASSERT_EQ(fl_expression_crop(&img, away, out), FL_ERANGE);
	fl_image_fini(&img);
	ASSERT_STR_CONTAINS(fl_expression_label(FL_EXPRESSION_HAPPY), "happy");
	ASSERT(fl_expression_label(7) == NULL);
	free(out);
}
