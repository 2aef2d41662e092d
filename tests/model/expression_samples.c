/*
** expression_samples.c -- FaceExpressionNet on real faces: face-api's
** sample photos (models/samples), faces found by the detector and cut as
** face-api cuts them.  Faces were labelled by looking at them: eight clear
** (toothy or broad) smiles must come out happy >= 0.7, and a clearly
** neutral face neutral >= 0.7; every row sums to 1; a batch gives the
** same rows as one face at a time.  (That the network itself matches
** face-api on a given 112x112 tensor is model_ref.c's job; the crop is
** checked by hand in tests/unit/vision_align.c.)
*/
#include "fl_test.h"

#include "faceline/fl.h"

struct labelled {
	int sample;
	float cx, cy; /* centre of the face's BlazeFace box, source pixels */
	int cls;
};

static const struct labelled faces[] = {
	{1, 1570, 341, FL_EXPRESSION_HAPPY},  {3, 1575, 455, FL_EXPRESSION_HAPPY},
	{3, 1185, 381, FL_EXPRESSION_HAPPY},  {4, 1366, 290, FL_EXPRESSION_HAPPY},
	{5, 468, 1044, FL_EXPRESSION_HAPPY},  {5, 674, 560, FL_EXPRESSION_HAPPY},
	{6, 351, 646, FL_EXPRESSION_HAPPY},   {6, 783, 498, FL_EXPRESSION_HAPPY},
	{6, 1267, 461, FL_EXPRESSION_NEUTRAL},
};

FL_TEST_T(expression_samples, 300)
{
	char err[512] = "";
	struct fl_detector *det = NULL;
	struct fl_expression *x = NULL;
	struct fl_detector_params dp = fl_detector_default_params();
	struct fl_expression_params xp = fl_expression_default_params();
	dp.n_threads = xp.n_threads = 1;
	xp.max_batch = 4; /* so 5 faces run as 4 + 1 */
	if (!fl_test_read_file(fl_test_path("models/samples/sample1.jpg"), NULL))
		FL_SKIP("models/samples missing");
	ASSERT_MSG(fl_detector_create(fl_test_path("models"), &dp, &det, err, sizeof(err)) == 0, "%s", err);
	ASSERT_MSG(fl_expression_create(fl_test_path("models"), &xp, &x, err, sizeof(err)) == 0, "%s", err);
	int checked = 0;
	for (int s = 1; s <= 6; s++) {
		char rel[64];
		struct fl_image img;
		struct fl_face f[16];
		float probs[16 * 7], one[7], boxes[16][4];
		snprintf(rel, sizeof(rel), "models/samples/sample%d.jpg", s);
		ASSERT_MSG(fl_image_load(fl_test_path(rel), NULL, &img, err, sizeof(err)) == 0, "%s", err);
		int n = fl_detector_detect(det, &img, f, 16);
		ASSERT(n > 0);
		for (int i = 0; i < n; i++)
			memcpy(boxes[i], f[i].box, sizeof(boxes[i]));
		ASSERT_MSG(fl_expression_run(x, &img, (const float(*)[4])boxes, n, probs) == 0, "%s",
		           fl_expression_errmsg(x));
		for (int i = 0; i < n; i++) {
			const float *p = probs + 7 * i;
			double sum = 0;
			int best = 0;
			for (int k = 0; k < 7; k++) {
				sum += p[k];
				ASSERT(p[k] >= 0 && p[k] <= 1);
				if (p[k] > p[best])
					best = k;
			}
			ASSERT_NEAR(sum, 1.0, 1e-4);
			printf("sample%d face at %4.0f,%4.0f: %-9s %.3f (neutral %.3f happy %.3f sad %.3f angry %.3f "
			       "fearful %.3f disgusted %.3f surprised %.3f)\n",
			       s, f[i].box[0] + f[i].box[2] / 2, f[i].box[1] + f[i].box[3] / 2, fl_expression_label(best),
			       p[best], p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
			/* One at a time gives the same row as in the batch. */
			ASSERT_OK(fl_expression_run(x, &img, (const float(*)[4])boxes + i, 1, one));
			for (int k = 0; k < 7; k++)
				ASSERT_NEAR(one[k], p[k], 1e-5);
			for (size_t l = 0; l < sizeof(faces) / sizeof(faces[0]); l++) {
				const struct labelled *L = &faces[l];
				if (L->sample != s || fabsf(f[i].box[0] + f[i].box[2] / 2 - L->cx) > 30 ||
				    fabsf(f[i].box[1] + f[i].box[3] / 2 - L->cy) > 30)
					continue;
				ASSERT_MSG(p[L->cls] >= 0.7f, "sample%d face at %.0f,%.0f: %s %.3f, expected >= 0.7", s, L->cx,
				           L->cy, fl_expression_label(L->cls), p[L->cls]);
				checked++;
			}
		}
		fl_image_fini(&img);
	}
	ASSERT_EQ(checked, (int)(sizeof(faces) / sizeof(faces[0])));
	/* A box outside the picture is refused with a message. */
	struct fl_image img;
	ASSERT_OK(fl_image_init(&img, 64, 64));
	float away[1][4] = {{500, 500, 40, 40}}, p7[7];
	ASSERT_EQ(fl_expression_run(x, &img, (const float(*)[4])away, 1, p7), FL_ERANGE);
	ASSERT_STR_CONTAINS(fl_expression_errmsg(x), "outside");
	fl_image_fini(&img);
	fl_expression_destroy(x);
	fl_detector_destroy(det);
}
