/*
** detect_samples.c -- the BlazeFace detector, verified by FaceMesh, on real
** photos and on synthetic ones with a known answer.
**
**  - The six group photos of models/samples hold 22 faces (3, 3, 3, 4, 5, 4;
**    counted by eye, centres marked by hand from a drawn copy).  After
**    verification each photo gives exactly that many faces, each marked
**    centre inside one box of plausible shape and size, with FaceMesh's
**    five points on the face.
**  - BlazeFace's false boxes on those photos (found without verification,
**    down to score 0.3) all get face scores below the threshold, and the
**    real faces well above it; crops of noise, flat grey and background
**    are rejected.
**  - A face cut from sample3 and pasted (with our own resize) at a known
**    place and size into a blank picture must be found with IoU >= 0.5, for
**    a small face (found by the whole-picture pass) and a close-up (found by
**    the 256x256 pass).
**  - The API: max_faces, score order, repeated calls and changing sizes.
*/
#include "fl_test.h"
#include "faceline/fl_nn.h"
#include "faceline/fl_vision.h"

#include <unistd.h>

static struct fl_detector *open_detector(const struct fl_detector_params *p)
{
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models/human not present (make models)");
	struct fl_detector *det = NULL;
	char err[512] = "";
	int r = fl_detector_create(fl_test_path("models"), p, &det, err, sizeof(err));
	ASSERT_MSG(r == 0, "fl_detector_create: %s", err);
	return det;
}

static void load(const char *rel, struct fl_image *img)
{
	char err[512] = "";
	ASSERT_MSG(fl_image_load(fl_test_path(rel), NULL, img, err, sizeof(err)) == 0, "%s", err);
}

/* Hand-marked face centres (source pixels) of sample1..6. */
static const float centres[6][5][2] = {
	{{518, 500}, {1570, 341}, {942, 558}},
	{{984, 355}, {1552, 291}, {459, 289}},
	{{692, 488}, {1575, 455}, {1184, 381}},
	{{758, 210}, {1081, 323}, {327, 340}, {1366, 290}},
	{{860, 244}, {468, 1044}, {1200, 351}, {674, 560}, {1522, 541}},
	{{1267, 461}, {351, 646}, {1593, 432}, {783, 498}},
};
static const int n_centres[6] = {3, 3, 3, 4, 5, 4};

FL_TEST_T(detect_samples, 300)
{
	struct fl_detector *det = open_detector(NULL);
	int found_total = 0, want_total = 0;
	for (int s = 0; s < 6; s++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "models/samples/sample%d.jpg", s + 1);
		struct fl_image img;
		load(rel, &img);
		struct fl_face faces[64];
		int n = fl_detector_detect(det, &img, faces, 64);
		ASSERT_MSG(n >= 0, "%s: %s", rel, fl_detector_errmsg(det));
		/* Every face plausible: inside the picture, about square, face-sized. */
		for (int i = 0; i < n; i++) {
			const float *b = faces[i].box;
			ASSERT(b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= img.width + 0.01f && b[1] + b[3] <= img.height + 0.01f);
			ASSERT_MSG(b[2] > 0.7f * b[3] && b[2] < 1.4f * b[3], "%s face %d: box %gx%g", rel, i, b[2], b[3]);
			ASSERT_MSG(b[2] >= 40 && b[2] <= 0.6f * img.width, "%s face %d: width %g", rel, i, b[2]);
			ASSERT(faces[i].score >= 0.5f && faces[i].score <= 1.0f);
			if (i)
				ASSERT(faces[i].score <= faces[i - 1].score);
		}
		int found = 0, used[64] = {0};
		for (int c = 0; c < n_centres[s]; c++) {
			float x = centres[s][c][0], y = centres[s][c][1];
			for (int i = 0; i < n; i++) {
				const float *b = faces[i].box;
				if (x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3]) {
					ASSERT_MSG(!used[i], "%s: face %d holds two marked centres", rel, i);
					used[i] = 1;
					/* The eyes of a found face lie inside its box, too. */
					for (int k = 0; k < 2; k++) {
						ASSERT(faces[i].landmarks[k][0] >= b[0] && faces[i].landmarks[k][0] <= b[0] + b[2]);
						ASSERT(faces[i].landmarks[k][1] >= b[1] && faces[i].landmarks[k][1] <= b[1] + b[3]);
					}
					/* FaceMesh's five points lie in the box and agree with
					** BlazeFace's eyes and nose within a fifth of the box. */
					ASSERT_MSG(faces[i].face_score >= 0.15f, "%s face %d: face score %g", rel, i,
					           faces[i].face_score);
					for (int k = 0; k < 5; k++) {
						ASSERT(faces[i].points[k][0] >= b[0] && faces[i].points[k][0] <= b[0] + b[2]);
						ASSERT(faces[i].points[k][1] >= b[1] && faces[i].points[k][1] <= b[1] + b[3]);
					}
					for (int k = 0; k < 3; k++) {
						float dx = faces[i].points[k][0] - faces[i].landmarks[k][0];
						float dy = faces[i].points[k][1] - faces[i].landmarks[k][1];
						ASSERT_MSG(sqrtf(dx * dx + dy * dy) < 0.2f * b[2], "%s face %d point %d: %g px from BlazeFace's",
						           rel, i, k, sqrtf(dx * dx + dy * dy));
					}
					ASSERT(faces[i].points[FL_FACE_POINT_RIGHT_EYE][0] < faces[i].points[FL_FACE_POINT_LEFT_EYE][0]);
					ASSERT(faces[i].points[FL_FACE_POINT_MOUTH_RIGHT][0] < faces[i].points[FL_FACE_POINT_MOUTH_LEFT][0]);
					found++;
					break;
				}
			}
		}
		fprintf(stderr, "  %s: %d faces, %d of %d marked faces found; face scores", rel, n, found, n_centres[s]);
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %.3f", faces[i].face_score);
		fprintf(stderr, "\n");
		/* Verified: every marked face, and nothing else. */
		ASSERT_MSG(found == n_centres[s], "%s: only %d of %d faces found", rel, found, n_centres[s]);
		ASSERT_MSG(n == n_centres[s], "%s: %d faces for %d in the photo", rel, n, n_centres[s]);
		found_total += found;
		want_total += n_centres[s];
		fl_image_fini(&img);
	}
	ASSERT_MSG(found_total == want_total, "%d of %d faces found", found_total, want_total);
	fl_detector_destroy(det);
}

/* Does box b hold one of the marked centres of sample s? */
static int holds_centre(int s, const float b[4])
{
	for (int c = 0; c < n_centres[s]; c++) {
		float x = centres[s][c][0], y = centres[s][c][1];
		if (x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3])
			return 1;
	}
	return 0;
}

/* BlazeFace's raw boxes (no verification, score >= 0.3) on the samples: the
** false ones score below the threshold with FaceMesh, the faces above it. */
FL_TEST_T(detect_false_boxes, 300)
{
	struct fl_detector_params p = fl_detector_default_params();
	p.verify = 0;
	p.min_score = 0.3f;
	struct fl_detector *raw = open_detector(&p);
	struct fl_detector *ver = open_detector(NULL); /* for fl_detector_face_score */
	const float thr = fl_detector_default_params().min_face_score;
	float worst_false = 0, worst_face = 1;
	int n_false = 0;
	for (int s = 0; s < 6; s++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "models/samples/sample%d.jpg", s + 1);
		struct fl_image img;
		load(rel, &img);
		struct fl_face faces[64];
		int n = fl_detector_detect(raw, &img, faces, 64);
		ASSERT_MSG(n >= n_centres[s], "%s: %s", rel, fl_detector_errmsg(raw));
		for (int i = 0; i < n; i++) {
			ASSERT_NEAR(faces[i].face_score, -1, 0); /* not verified */
			float fs;
			/* As the detector does: turned by BlazeFace's eye line. */
			const float *re = faces[i].landmarks[FL_FACE_RIGHT_EYE], *le = faces[i].landmarks[FL_FACE_LEFT_EYE];
			const float angle = atan2f(le[1] - re[1], le[0] - re[0]);
			ASSERT_MSG(fl_detector_face_score(ver, &img, faces[i].box, angle, &fs, NULL) == 0, "%s",
			           fl_detector_errmsg(ver));
			int face = holds_centre(s, faces[i].box);
			if (!face) {
				n_false++;
				worst_false = fmaxf(worst_false, fs);
				fprintf(stderr, "  %s: false box [%.0f %.0f %.0f %.0f] BlazeFace %.3f, roll %.0f deg, face score %.4f\n",
				        rel, faces[i].box[0], faces[i].box[1], faces[i].box[2], faces[i].box[3], faces[i].score,
				        angle * 57.29578f, fs);
				ASSERT_MSG(fs < thr, "%s: false box %d scores %g", rel, i, fs);
			} else {
				worst_face = fminf(worst_face, fs);
				ASSERT_MSG(fs >= 0.15f, "%s: face %d scores %g", rel, i, fs);
			}
		}
		fl_image_fini(&img);
	}
	fprintf(stderr, "  %d false boxes, highest face score %.4f; lowest face score of a real face %.3f\n", n_false,
	        worst_false, worst_face);
	/* sample1's clutter and wine glass and sample2's boot are among them. */
	ASSERT(n_false >= 3);
	fl_detector_destroy(raw);
	fl_detector_destroy(ver);
}

/* Crops of noise, flat grey and a background wall are no faces; the mesh
** of a real face comes back in source pixels around it. */
FL_TEST_T(detect_verify_rejects, 300)
{
	struct fl_detector *det = open_detector(NULL);
	const float thr = fl_detector_default_params().min_face_score;
	struct fl_image img;
	ASSERT_OK(fl_image_init(&img, 640, 480));
	uint32_t seed = 12345;
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < 3 * img.width; x++) {
			seed = seed * 1664525u + 1013904223u;
			img.data[(size_t)y * img.stride + x] = (uint8_t)(seed >> 24);
		}
	const float boxes[3][4] = {{100, 100, 150, 150}, {300, 50, 80, 80}, {-40, 380, 200, 200}};
	float fs;
	for (int b = 0; b < 3; b++) {
		ASSERT_OK(fl_detector_face_score(det, &img, boxes[b], 0, &fs, NULL));
		fprintf(stderr, "  noise box %d: face score %.5f\n", b, fs);
		ASSERT(fs >= 0 && fs < thr);
	}
	/* A whole noise picture gives no verified face at all. */
	struct fl_face faces[16];
	ASSERT_EQ(fl_detector_detect(det, &img, faces, 16), 0);
	memset(img.data, 128, (size_t)img.stride * img.height);
	ASSERT_OK(fl_detector_face_score(det, &img, boxes[0], 0, &fs, NULL));
	fprintf(stderr, "  grey: face score %.5f\n", fs);
	ASSERT(fs < thr);
	fl_image_fini(&img);

	/* sample1: the wall top left, and the first face. */
	load("models/samples/sample1.jpg", &img);
	const float wall[4] = {300, 60, 150, 150};
	ASSERT_OK(fl_detector_face_score(det, &img, wall, 0, &fs, NULL));
	fprintf(stderr, "  sample1 wall: face score %.5f\n", fs);
	ASSERT(fs < thr);
	int n = fl_detector_detect(det, &img, faces, 16);
	ASSERT_EQ(n, 3);
	static float mesh[FL_FACEMESH_N_POINTS][3], mesh2[FL_FACEMESH_N_POINTS][3];
	ASSERT_OK(fl_detector_mesh(det, 0, mesh));
	ASSERT_EQ(fl_detector_mesh(det, 3, mesh), FL_EINVAL);
	ASSERT_EQ(fl_detector_mesh(det, -1, mesh), FL_EINVAL);
	const float *b = faces[0].box;
	int inside = 0;
	for (int i = 0; i < FL_FACEMESH_N_POINTS; i++)
		inside += mesh[i][0] >= b[0] - 0.2f * b[2] && mesh[i][0] <= b[0] + 1.2f * b[2] &&
		          mesh[i][1] >= b[1] - 0.3f * b[3] && mesh[i][1] <= b[1] + 1.2f * b[3];
	ASSERT_MSG(inside == FL_FACEMESH_N_POINTS, "%d of 468 mesh points near the box", inside);
	/* fl_detector_face_score on the box gives the same mesh and score
	** (the box was not clipped: it lies inside the picture). */
	const float *re = faces[0].landmarks[FL_FACE_RIGHT_EYE], *le = faces[0].landmarks[FL_FACE_LEFT_EYE];
	ASSERT_OK(fl_detector_face_score(det, &img, b, atan2f(le[1] - re[1], le[0] - re[0]), &fs, mesh2));
	ASSERT_NEAR(fs, faces[0].face_score, 1e-6);
	for (int i = 0; i < FL_FACEMESH_N_POINTS; i++)
		ASSERT_NEAR(mesh2[i][0], mesh[i][0], 1e-3);
	/* Bad arguments. */
	ASSERT_EQ(fl_detector_face_score(det, &img, NULL, 0, &fs, NULL), FL_EINVAL);
	const float empty[4] = {10, 10, 0, 10};
	ASSERT_EQ(fl_detector_face_score(det, &img, empty, 0, &fs, NULL), FL_EINVAL);
	ASSERT_EQ(fl_detector_face_score(NULL, &img, wall, 0, &fs, NULL), FL_EINVAL);
	fl_image_fini(&img);
	fl_detector_destroy(det);
}

/* Paste the face of sample3 around (1184, 381) (its BlazeFace box is about
** 254 px) into a grey picture of W x H, the face scaled to `side` px with its
** box's top-left at (x, y).  *truth receives that box. */
static void synth(struct fl_image *dst, int W, int H, int x, int y, int side, float truth[4])
{
	struct fl_image src;
	load("models/samples/sample3.jpg", &src);
	ASSERT_OK(fl_image_init(dst, W, H));
	memset(dst->data, 128, (size_t)dst->stride * H);
	/* Cut a 2x region around the face box: box [1057, 254, 254, 254]. */
	const float bx = 1057, by = 254, bs = 254, m = 0.5f * bs;
	int out = (int)(side * 2.0f + 0.5f);
	struct fl_image crop;
	ASSERT_OK(fl_image_init(&crop, out, out));
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = p.out_h = out;
	p.crop_x = bx - m;
	p.crop_y = by - m;
	p.crop_w = p.crop_h = bs + 2 * m;
	p.pad_value = 128;
	ASSERT_OK(fl_image_resize(&src, &p, &crop, NULL));
	int ox = x - side / 2, oy = y - side / 2; /* crop's top-left in dst */
	for (int r = 0; r < out; r++)
		for (int c = 0; c < out; c++) {
			int X = ox + c, Y = oy + r;
			if (X >= 0 && Y >= 0 && X < W && Y < H)
				memcpy(dst->data + (size_t)Y * dst->stride + 3 * X, crop.data + (size_t)r * crop.stride + 3 * c, 3);
		}
	float k = (float)out / (bs + 2 * m);
	truth[0] = ox + m * k;
	truth[1] = oy + m * k;
	truth[2] = truth[3] = bs * k;
	fl_image_fini(&crop);
	fl_image_fini(&src);
}

static float iou4(const float a[4], const float b[4])
{
	struct fl_detection da = {a[0], a[1], a[0] + a[2], a[1] + a[3], 1, {{0}}};
	struct fl_detection db = {b[0], b[1], b[0] + b[2], b[1] + b[3], 1, {{0}}};
	return fl_detection_iou(&da, &db);
}

static void check_synth(struct fl_detector *det, int W, int H, int x, int y, int side)
{
	struct fl_image img;
	float truth[4];
	synth(&img, W, H, x, y, side, truth);
	struct fl_face faces[16];
	int n = fl_detector_detect(det, &img, faces, 16);
	ASSERT_MSG(n >= 1, "face of %d px at (%d, %d) in %dx%d not found (%d: %s)", side, x, y, W, H, n,
	           fl_detector_errmsg(det));
	float best = 0;
	for (int i = 0; i < n; i++)
		best = fmaxf(best, iou4(faces[i].box, truth));
	fprintf(stderr, "  %dx%d, face %d px: %d detections, best IoU %.3f, score %.3f\n", W, H, side, n, best,
	        faces[0].score);
	/* $FL_DEBUG_DIR: save the picture with truth (blue) and detections (green). */
	const char *dbg = getenv("FL_DEBUG_DIR");
	if (dbg) {
		char path[512], err[256];
		snprintf(path, sizeof(path), "%s/synth_%d.png", dbg, side);
		fl_image_draw_rect(&img, truth[0], truth[1], truth[2], truth[3], 2, 0, 0, 255);
		for (int i = 0; i < n; i++)
			fl_image_draw_rect(&img, faces[i].box[0], faces[i].box[1], faces[i].box[2], faces[i].box[3], 2, 0, 255, 0);
		fl_image_save_png(&img, path, err, sizeof(err));
	}
	ASSERT_MSG(best >= 0.5f, "face of %d px: best IoU %.3f (truth %g %g %g)", side, best, truth[0], truth[1],
	           truth[2]);
	ASSERT_MSG(faces[0].face_score >= 0.15f, "pasted face of %d px: face score %g", side, faces[0].face_score);
	fl_image_fini(&img);
}

FL_TEST_T(detect_synthetic, 300)
{
	struct fl_detector *det = open_detector(NULL);
	check_synth(det, 1280, 720, 900, 300, 48);   /* small: whole-picture pass */
	check_synth(det, 1280, 720, 300, 500, 110);  /* medium */
	check_synth(det, 1280, 720, 500, 160, 400);  /* close-up: 256 pass */
	check_synth(det, 600, 1000, 200, 700, 90);   /* portrait picture */
	fl_detector_destroy(det);
}

FL_TEST_T(detect_api, 300)
{
	struct fl_detector_params p = fl_detector_default_params();
	p.n_threads = 1;
	struct fl_detector *det = open_detector(&p);
	struct fl_image img, small;
	load("models/samples/sample5.jpg", &img);
	struct fl_face a[16], b[16];
	int n = fl_detector_detect(det, &img, a, 16);
	ASSERT(n >= 4);
	/* max_faces keeps the best ones. */
	ASSERT_EQ(fl_detector_detect(det, &img, b, 2), 2);
	ASSERT(!memcmp(a, b, 2 * sizeof(b[0])));
	ASSERT_EQ(fl_detector_detect(det, &img, NULL, 0), 0);
	/* Other sizes in between (session cache eviction), then the same answer. */
	for (int s = 0; s < 4; s++) {
		ASSERT_OK(fl_image_init(&small, 200 + 150 * s, 300));
		ASSERT(fl_detector_detect(det, &small, b, 16) >= 0);
		fl_image_fini(&small);
	}
	ASSERT_EQ(fl_detector_detect(det, &img, b, 16), n);
	ASSERT(!memcmp(a, b, (size_t)n * sizeof(b[0])));
	/* Every face verified. */
	for (int i = 0; i < n; i++)
		ASSERT(a[i].face_score >= p.min_face_score && a[i].face_score <= 1);
	/* Bad arguments. */
	ASSERT_EQ(fl_detector_detect(det, NULL, b, 16), FL_EINVAL);
	ASSERT_EQ(fl_detector_detect(det, &img, NULL, 4), FL_EINVAL);
	ASSERT(fl_detector_errmsg(det)[0] != 0);
	/* Only the close-up pass, and only the whole-picture pass. */
	fl_detector_destroy(det);
	p.long_side = 0;
	det = open_detector(&p);
	ASSERT(fl_detector_detect(det, &img, b, 16) >= 1);
	fl_detector_destroy(det);
	p = fl_detector_default_params();
	p.close_up_pass = 0;
	det = open_detector(&p);
	ASSERT(fl_detector_detect(det, &img, b, 16) >= 4);
	fl_detector_destroy(det);
	/* Without verification: the same boxes, face score -1, BlazeFace's
	** points, and no meshes. */
	p = fl_detector_default_params();
	p.n_threads = 1;
	p.verify = 0;
	det = open_detector(&p);
	int n_raw = fl_detector_detect(det, &img, b, 16);
	ASSERT(n_raw >= n);
	for (int i = 0; i < n_raw; i++) {
		ASSERT_NEAR(b[i].face_score, -1, 0);
		ASSERT_NEAR(b[i].points[FL_FACE_POINT_NOSE][0], b[i].landmarks[FL_FACE_NOSE][0], 0);
	}
	ASSERT(!memcmp(a[0].box, b[0].box, sizeof(a[0].box)));
	static float mesh[FL_FACEMESH_N_POINTS][3];
	ASSERT_EQ(fl_detector_mesh(det, 0, mesh), FL_ENOENT);
	fl_detector_destroy(det);
	fl_image_fini(&img);
}

/* FaceMesh on several faces at once (fl_detector_face_scores): with two
** threads the faces run side by side on single-threaded FaceMesh copies;
** the scores and meshes match one face at a time on a one-thread detector
** and the detector's own verification. */
FL_TEST_T(detect_face_scores_parallel, 300)
{
	struct fl_detector_params p1 = fl_detector_default_params(), p2 = p1;
	p1.n_threads = 1;
	p2.n_threads = 2;
	struct fl_detector *d1 = open_detector(&p1), *d2 = open_detector(&p2);
	struct fl_image img;
	load("models/samples/sample5.jpg", &img);
	struct fl_face faces[16];
	int n = fl_detector_detect(d2, &img, faces, 16);
	ASSERT(n >= 4);
	float boxes[16][4], angles[16], s1[16], s2[16];
	static float m1[16][FL_FACEMESH_N_POINTS][3], m2[16][FL_FACEMESH_N_POINTS][3];
	for (int i = 0; i < n; i++) {
		memcpy(boxes[i], faces[i].raw_box, sizeof(boxes[i]));
		angles[i] = 0;
	}
	ASSERT_OK(fl_detector_face_scores(d2, &img, n, (const float(*)[4])boxes, angles, s2, m2));
	for (int i = 0; i < n; i++) {
		ASSERT_OK(fl_detector_face_score(d1, &img, boxes[i], 0, &s1[i], m1[i]));
		ASSERT_NEAR(s2[i], s1[i], 1e-4);
		for (int k = 0; k < FL_FACEMESH_N_POINTS; k++)
			ASSERT_NEAR(m2[i][k][0], m1[i][k][0], 1e-2);
		ASSERT(s2[i] >= 0.5f); /* faces the detector verified */
	}
	/* Bad boxes are refused as a whole. */
	boxes[1][2] = 0;
	ASSERT_EQ(fl_detector_face_scores(d2, &img, n, (const float(*)[4])boxes, angles, s2, NULL), FL_EINVAL);
	ASSERT_OK(fl_detector_face_scores(d2, &img, 0, NULL, NULL, NULL, NULL));
	fl_image_fini(&img);
	fl_detector_destroy(d1);
	fl_detector_destroy(d2);
}
