/*
** detect_samples.c -- the BlazeFace detector on real photos and on
** synthetic ones with a known answer.
**
**  - The six group photos of models/samples hold 22 faces (3, 3, 3, 4, 5, 4;
**    counted by eye, centres marked by hand from a drawn copy).  Each marked
**    centre must fall inside a detected box of plausible shape and size.
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
		int found = 0;
		for (int c = 0; c < n_centres[s]; c++) {
			float x = centres[s][c][0], y = centres[s][c][1];
			for (int i = 0; i < n; i++) {
				const float *b = faces[i].box;
				if (x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3]) {
					/* The eyes of a found face lie inside its box, too. */
					for (int k = 0; k < 2; k++) {
						ASSERT(faces[i].landmarks[k][0] >= b[0] && faces[i].landmarks[k][0] <= b[0] + b[2]);
						ASSERT(faces[i].landmarks[k][1] >= b[1] && faces[i].landmarks[k][1] <= b[1] + b[3]);
					}
					found++;
					break;
				}
			}
		}
		fprintf(stderr, "  %s: %d detections, %d of %d marked faces found\n", rel, n, found, n_centres[s]);
		ASSERT_MSG(found >= n_centres[s] - 1, "%s: only %d of %d faces found", rel, found, n_centres[s]);
		/* BlazeFace alone has false positives (FaceMesh verifies later); not too many. */
		ASSERT_MSG(n <= n_centres[s] + 3, "%s: %d detections for %d faces", rel, n, n_centres[s]);
		found_total += found;
		want_total += n_centres[s];
		fl_image_fini(&img);
	}
	ASSERT_MSG(found_total >= want_total - 1, "%d of %d faces found", found_total, want_total);
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
	fl_image_fini(&img);
}
