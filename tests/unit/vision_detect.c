/*
** vision_detect.c -- unit tests of BlazeFace's building blocks that need no
** model: anchor generation (order and counts against the model's output
** sizes), decoding of logits and regressors, and (weighted) NMS; FaceMesh's
** crop box and five points; the verification parameters (the last test
** uses the BlazeFace model, without FaceMesh, when present).
*/
#include "fl_test.h"
#include "faceline/fl_vision.h"
#include <unistd.h>

FL_TEST(vision_anchors_256)
{
	/* The model's outputs at 256x256 are [1,512,*] and [1,384,*]. */
	ASSERT_EQ(fl_blazeface_n_anchors(256, 256), 512 + 384);
	static float a[2 * 896];
	ASSERT_EQ(fl_blazeface_anchors(256, 256, a), 896);
	/* Stride 16, two anchors per cell, cells row-major. */
	ASSERT_NEAR(a[0], 8, 0);
	ASSERT_NEAR(a[1], 8, 0);
	ASSERT_NEAR(a[2], 8, 0);
	ASSERT_NEAR(a[3], 8, 0);
	ASSERT_NEAR(a[4], 24, 0); /* next cell to the right */
	ASSERT_NEAR(a[5], 8, 0);
	ASSERT_NEAR(a[2 * 32], 8, 0); /* cell (0, 1): second row */
	ASSERT_NEAR(a[2 * 32 + 1], 24, 0);
	ASSERT_NEAR(a[2 * 511], 248, 0);
	ASSERT_NEAR(a[2 * 511 + 1], 248, 0);
	/* Then stride 32, six anchors per cell. */
	for (int k = 0; k < 6; k++) {
		ASSERT_NEAR(a[2 * (512 + k)], 16, 0);
		ASSERT_NEAR(a[2 * (512 + k) + 1], 16, 0);
	}
	ASSERT_NEAR(a[2 * (512 + 6)], 48, 0);
	ASSERT_NEAR(a[2 * 895], 240, 0);
	ASSERT_NEAR(a[2 * 895 + 1], 240, 0);
}

FL_TEST(vision_anchors_wide)
{
	/* 576 high x 1024 wide: 36x64 cells x2 + 18x32 cells x6. */
	int n = fl_blazeface_n_anchors(576, 1024);
	ASSERT_EQ(n, 36 * 64 * 2 + 18 * 32 * 6);
	float *a = malloc(sizeof(float) * 2 * n);
	ASSERT_EQ(fl_blazeface_anchors(576, 1024, a), n);
	/* Last anchor of the first grid: cell (63, 35). */
	ASSERT_NEAR(a[2 * (36 * 64 * 2 - 1)], 16 * 63.5, 0);
	ASSERT_NEAR(a[2 * (36 * 64 * 2 - 1) + 1], 16 * 35.5, 0);
	/* Second row of the second grid starts after 32 cells x 6. */
	int i = 36 * 64 * 2 + 32 * 6;
	ASSERT_NEAR(a[2 * i], 16, 0);
	ASSERT_NEAR(a[2 * i + 1], 48, 0);
	free(a);
}

FL_TEST(vision_decode)
{
	float anchors[4] = {8, 8, 24, 8};
	float logits[2] = {3.0f, -2.0f};
	float reg[32] = {0};
	/* Anchor 0: centre moved by (+2, -1), box 20x30, keypoints around. */
	reg[0] = 2;
	reg[1] = -1;
	reg[2] = 20;
	reg[3] = 30;
	for (int k = 0; k < 6; k++) {
		reg[4 + 2 * k] = (float)k;
		reg[5 + 2 * k] = (float)-k;
	}
	struct fl_detection d[2];
	int n = fl_blazeface_decode(logits, reg, anchors, 2, 0.5f, d, 2);
	ASSERT_EQ(n, 1); /* sigmoid(-2) = 0.12 is dropped */
	ASSERT_NEAR(d[0].score, 1.0 / (1.0 + exp(-3.0)), 1e-6);
	ASSERT_NEAR(d[0].x1, 10 - 10, 1e-6);
	ASSERT_NEAR(d[0].x2, 10 + 10, 1e-6);
	ASSERT_NEAR(d[0].y1, 7 - 15, 1e-6);
	ASSERT_NEAR(d[0].y2, 7 + 15, 1e-6);
	ASSERT_NEAR(d[0].kp[5][0], 8 + 5, 1e-6);
	ASSERT_NEAR(d[0].kp[5][1], 8 - 5, 1e-6);
	/* Logits far outside +-100 are clipped, NaN scores are dropped. */
	logits[0] = 1e30f;
	logits[1] = NAN;
	reg[16 + 2] = reg[16 + 3] = 10;
	n = fl_blazeface_decode(logits, reg, anchors, 2, 0.0f, d, 2);
	ASSERT_EQ(n, 1);
	ASSERT_NEAR(d[0].score, 1.0, 1e-6);
	/* A zero-size box is dropped even with a high score. */
	logits[0] = logits[1] = 5;
	reg[2] = 0;
	n = fl_blazeface_decode(logits, reg, anchors, 2, 0.5f, d, 2);
	ASSERT_EQ(n, 1);
	ASSERT_NEAR(d[0].x1, 24 - 5, 1e-6);
	/* max_out bounds the output. */
	reg[2] = 20;
	ASSERT_EQ(fl_blazeface_decode(logits, reg, anchors, 2, 0.5f, d, 1), 1);
}

static struct fl_detection box(float x1, float y1, float x2, float y2, float s)
{
	struct fl_detection d = {x1, y1, x2, y2, s, {{0}}};
	for (int k = 0; k < 6; k++) {
		d.kp[k][0] = x1;
		d.kp[k][1] = y1;
	}
	return d;
}

FL_TEST(vision_iou)
{
	struct fl_detection a = box(0, 0, 10, 10, 1), b = box(5, 0, 15, 10, 1), c = box(20, 20, 30, 30, 1);
	ASSERT_NEAR(fl_detection_iou(&a, &b), 50.0 / 150.0, 1e-6);
	ASSERT_NEAR(fl_detection_iou(&a, &a), 1.0, 1e-6);
	ASSERT_NEAR(fl_detection_iou(&a, &c), 0.0, 0);
	struct fl_detection e = box(3, 3, 3, 3, 1);
	ASSERT_NEAR(fl_detection_iou(&a, &e), 0.0, 0);
}

FL_TEST(vision_nms_plain)
{
	struct fl_detection d[5] = {
		box(0, 0, 10, 10, 0.6f), box(1, 0, 11, 10, 0.9f), /* overlap 0.82 */
		box(50, 50, 60, 60, 0.7f), box(5, 0, 15, 10, 0.8f), /* overlaps the 0.9 by 0.43 */
		box(100, 100, 110, 110, 0.55f),
	};
	int n = fl_detection_nms(d, 5, 0.3f, 0, 0);
	ASSERT_EQ(n, 3);
	ASSERT_NEAR(d[0].score, 0.9, 1e-6);
	ASSERT_NEAR(d[0].x1, 1, 0);
	ASSERT_NEAR(d[1].score, 0.7, 1e-6);
	ASSERT_NEAR(d[2].score, 0.55, 1e-6);
	/* A looser threshold keeps the 0.43 overlap. */
	struct fl_detection e[3] = {box(0, 0, 10, 10, 0.6f), box(1, 0, 11, 10, 0.9f), box(5, 0, 15, 10, 0.8f)};
	ASSERT_EQ(fl_detection_nms(e, 3, 0.5f, 0, 0), 2);
	ASSERT_EQ(fl_detection_nms(e, 0, 0.5f, 0, 0), 0);
}

FL_TEST(vision_nms_weighted)
{
	struct fl_detection d[3] = {box(0, 0, 10, 10, 0.75f), box(2, 0, 12, 10, 0.25f), box(40, 0, 50, 10, 0.6f)};
	int n = fl_detection_nms(d, 3, 0.3f, 0, 1);
	ASSERT_EQ(n, 2);
	/* Score-weighted mean of the merged pair; the best score is kept. */
	ASSERT_NEAR(d[0].x1, 0.5, 1e-5);
	ASSERT_NEAR(d[0].x2, 10.5, 1e-5);
	ASSERT_NEAR(d[0].kp[3][0], 0.5, 1e-5);
	ASSERT_NEAR(d[0].score, 0.75, 1e-6);
	ASSERT_NEAR(d[1].x1, 40, 1e-6);
}

FL_TEST(vision_nms_containment)
{
	/* A big face and two fragments inside it (IoU < 0.3), one lower-scored
	** box half inside, and a fragment scoring above the big box. */
	struct fl_detection d[4] = {box(0, 0, 100, 100, 0.9f), box(10, 10, 50, 50, 0.7f), box(60, 40, 110, 90, 0.6f),
	                            box(80, 80, 160, 160, 0.55f)};
	ASSERT_EQ(fl_detection_nms(d, 4, 0.3f, 0.75f, 1), 2);
	ASSERT_NEAR(d[0].x2, 100, 1e-5); /* not averaged with the fragments */
	ASSERT_NEAR(d[1].x1, 80, 1e-6);
	struct fl_detection e[2] = {box(0, 0, 100, 100, 0.5f), box(10, 10, 50, 50, 0.7f)};
	ASSERT_EQ(fl_detection_nms(e, 2, 0.3f, 0.75f, 1), 2);
	struct fl_detection f[2] = {box(0, 0, 100, 100, 0.9f), box(10, 10, 50, 50, 0.7f)};
	ASSERT_EQ(fl_detection_nms(f, 2, 0.3f, 0, 1), 2); /* off */
}

FL_TEST(vision_detector_bad_args)
{
	struct fl_detector *det = (struct fl_detector *)1;
	char err[256] = "";
	ASSERT_EQ(fl_detector_create("/nonexistent/dir", NULL, &det, err, sizeof(err)), FL_ENOENT);
	ASSERT(det == NULL);
	ASSERT_STR_CONTAINS(err, "/nonexistent/dir");
	struct fl_detector_params p = fl_detector_default_params();
	p.min_score = 2;
	ASSERT_EQ(fl_detector_create(fl_test_path("models"), &p, &det, err, sizeof(err)) < 0, 1);
	ASSERT(det == NULL);
	fl_detector_destroy(NULL);
	ASSERT_EQ(fl_detector_detect(NULL, NULL, NULL, 0), FL_EINVAL);
}

FL_TEST(vision_facemesh_crop_box)
{
	/* human: enlarge x1.4 around the centre, square on the larger side,
	** corners rounded half up. */
	float crop[4];
	const float box[4] = {100, 200, 50, 40}; /* centre (125, 220) */
	fl_facemesh_crop_box(box, 1.4f, crop);
	ASSERT_NEAR(crop[0], 90, 0); /* 125 - 35 */
	ASSERT_NEAR(crop[1], 185, 0);
	ASSERT_NEAR(crop[2], 70, 0);
	ASSERT_NEAR(crop[3], 70, 0);
	const float odd[4] = {10.25f, 0, 11, 11}; /* centre 15.75, half 7.7 */
	fl_facemesh_crop_box(odd, 1.4f, crop);
	ASSERT_NEAR(crop[0], 8, 0);  /* round(8.05) */
	ASSERT_NEAR(crop[2], 15, 0); /* round(23.45) - 8 */
	ASSERT_NEAR(crop[1], -2, 0); /* round(-2.2) */
	ASSERT_NEAR(crop[3], 15, 0); /* round(13.2) + 2 */
}

FL_TEST(vision_facemesh_points)
{
	/* Mesh point i at (i, 1000 + i): the eye centres are the means of
	** their contours, the rest single points. */
	static float mesh[FL_FACEMESH_N_POINTS][3];
	for (int i = 0; i < FL_FACEMESH_N_POINTS; i++) {
		mesh[i][0] = (float)i;
		mesh[i][1] = 1000.0f + (float)i;
	}
	float pt[5][2];
	fl_facemesh_points((const float(*)[3])mesh, pt);
	const double right = (246 + 161 + 160 + 159 + 158 + 157 + 173 + 33 + 7 + 163 + 144 + 145 + 153 + 154 + 155 + 133) / 16.0;
	const double left = (466 + 388 + 387 + 386 + 385 + 384 + 398 + 263 + 249 + 390 + 373 + 374 + 380 + 381 + 382 + 362) / 16.0;
	ASSERT_NEAR(pt[FL_FACE_POINT_RIGHT_EYE][0], right, 1e-3);
	ASSERT_NEAR(pt[FL_FACE_POINT_RIGHT_EYE][1], 1000 + right, 1e-3);
	ASSERT_NEAR(pt[FL_FACE_POINT_LEFT_EYE][0], left, 1e-3);
	ASSERT_NEAR(pt[FL_FACE_POINT_NOSE][0], 1, 0);
	ASSERT_NEAR(pt[FL_FACE_POINT_MOUTH_RIGHT][0], 61, 0);
	ASSERT_NEAR(pt[FL_FACE_POINT_MOUTH_LEFT][0], 291, 0);
	ASSERT_NEAR(pt[FL_FACE_POINT_MOUTH_LEFT][1], 1291, 0);
}

FL_TEST(vision_detector_verify_params)
{
	struct fl_detector *det = NULL;
	char err[512] = "", dir[] = "/tmp/fl-vdet.XXXXXX", cmd[1024];
	struct fl_detector_params p = fl_detector_default_params();
	ASSERT_EQ(p.verify, 1);
	ASSERT_NEAR(p.min_face_score, 0.1, 1e-6);
	p.min_face_score = 1.5f;
	ASSERT_EQ(fl_detector_create(fl_test_path("models"), &p, &det, err, sizeof(err)), FL_EINVAL);
	ASSERT(det == NULL);
	p = fl_detector_default_params();
	p.verify_scale = 0.5f;
	ASSERT_EQ(fl_detector_create(fl_test_path("models"), &p, &det, err, sizeof(err)), FL_EINVAL);
	/* A folder with BlazeFace but no FaceMesh: verification needs it. */
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models/human not present");
	ASSERT(mkdtemp(dir));
	char *json = realpath(fl_test_path("models/human/blazeface.json"), NULL);
	char *bin = realpath(fl_test_path("models/human/blazeface.bin"), NULL);
	ASSERT(json && bin);
	snprintf(cmd, sizeof(cmd), "ln -s '%s' '%s'/ && ln -s '%s' '%s'/", json, dir, bin, dir);
	free(json);
	free(bin);
	ASSERT(system(cmd) == 0);
	p = fl_detector_default_params();
	ASSERT_EQ(fl_detector_create(dir, &p, &det, err, sizeof(err)), FL_ENOENT);
	ASSERT(det == NULL);
	ASSERT_STR_CONTAINS(err, "facemesh.json");
	p.verify = 0;
	ASSERT_OK(fl_detector_create(dir, &p, &det, err, sizeof(err)));
	/* Without verification there are no meshes or face scores. */
	float mesh[FL_FACEMESH_N_POINTS][3], score, box[4] = {0, 0, 10, 10};
	struct fl_image img;
	ASSERT_OK(fl_image_init(&img, 64, 64));
	ASSERT_EQ(fl_detector_mesh(det, 0, mesh), FL_ENOENT);
	ASSERT_EQ(fl_detector_face_score(det, &img, box, 0, &score, NULL), FL_ENOENT);
	fl_image_fini(&img);
	fl_detector_destroy(det);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT(system(cmd) == 0);
}
