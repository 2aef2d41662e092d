/*
** detect_human.c -- faceline's BlazeFace pre- and post-processing against
** @vladmandic/human's own code, on sample1.jpg at 256x256.
**
** tools/human-ref/run.sh runs human 3.3.6's src/face/blazeface.ts (bundled,
** TF.js CPU) on the pixels faceline decodes and writes, under
** $FL_REF/blazeface_human/: human's 256x256 model input, the four raw
** outputs, and the faces human reports (squarified, detector scale 1.0,
** min score 0.5, IoU 0.3).  Here we check that
**   1. our resize (stretch, legacy sampling, x/127.5-1) gives human's input;
**   2. our anchors + decoding + plain NMS on human's raw outputs give
**      human's faces: same scores, boxes within rounding, same landmarks;
**   3. when the engine can run the model, its outputs match human's and
**      decode to the same faces.
** Skipped when the reference files are absent.
*/
#include "fl_test.h"
#include "faceline/fl_nn.h"
#include "faceline/fl_vision.h"

#define MAXF 32

struct ref {
	float *input;   /* [256*256*3] */
	float *out[4];  /* in signature order */
	int n_anchor[4], depth[4];
	int n_faces;
	double faces[MAXF][17]; /* x1 y1 x2 y2 score, 6 x (x, y) */
};

static const char *ref_dir(void)
{
	static char dir[512];
	const char *r = getenv("FL_REF");
	snprintf(dir, sizeof(dir), "%s/blazeface_human", r ? r : fl_test_path("build/ref"));
	return dir;
}

static void *ref_file(const char *name, size_t *n)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", ref_dir(), name);
	return fl_test_read_file(p, n);
}

static void load_ref(struct ref *r)
{
	size_t n;
	memset(r, 0, sizeof(*r));
	r->input = ref_file("input256.f32", &n);
	if (!r->input)
		FL_SKIP("no human BlazeFace reference (tools/human-ref/run.sh)");
	ASSERT_EQ(n, 256 * 256 * 3 * 4);
	char *desc = ref_file("outputs.txt", &n);
	ASSERT(desc);
	char *line = desc;
	for (int i = 0; i < 4; i++) {
		char name[64];
		int one, a, d;
		ASSERT_EQ(sscanf(line, "%63s %d %d %d", name, &one, &a, &d), 4);
		r->n_anchor[i] = a;
		r->depth[i] = d;
		char fn[32];
		snprintf(fn, sizeof(fn), "out%d.f32", i);
		r->out[i] = ref_file(fn, &n);
		ASSERT(r->out[i]);
		ASSERT_EQ(n, (size_t)a * d * 4);
		line = strchr(line, '\n') + 1;
	}
	free(desc);
	char *boxes = ref_file("boxes.txt", &n);
	ASSERT(boxes);
	char *save, *tok = strtok_r(boxes, "\n", &save);
	while (tok && r->n_faces < MAXF) {
		char *p = tok;
		for (int k = 0; k < 17; k++)
			r->faces[r->n_faces][k] = strtod(p, &p);
		r->n_faces++;
		tok = strtok_r(NULL, "\n", &save);
	}
	free(boxes);
}

/* Decode four outputs the way faceline does, into source pixels of a
** W x H image stretched to 256x256, then plain NMS and human's squarify. */
static int decode(float *const out[4], const int n_anchor[4], const int depth[4], int W, int H,
                  struct fl_detection *dets)
{
	float anchors[2 * 896];
	ASSERT_EQ(fl_blazeface_anchors(256, 256, anchors), 896);
	int n = 0;
	/* The stride-16 grid has 512 anchors, the stride-32 one 384. */
	for (int level = 0; level < 2; level++) {
		int want = level ? 384 : 512;
		const float *cls = NULL, *reg = NULL;
		for (int i = 0; i < 4; i++)
			if (n_anchor[i] == want) {
				if (depth[i] == 1)
					cls = out[i];
				else
					reg = out[i];
			}
		ASSERT(cls && reg);
		n += fl_blazeface_decode(cls, reg, anchors + (level ? 2 * 512 : 0), want, 0.5f, dets + n, 896 - n);
	}
	float fx = W / 256.0f, fy = H / 256.0f;
	for (int i = 0; i < n; i++) {
		dets[i].x1 *= fx;
		dets[i].x2 *= fx;
		dets[i].y1 *= fy;
		dets[i].y2 *= fy;
		for (int k = 0; k < 6; k++) {
			dets[i].kp[k][0] *= fx;
			dets[i].kp[k][1] *= fy;
		}
	}
	return fl_detection_nms(dets, n, 0.3f, 0, 0);
}

static void compare_faces(const struct ref *r, const struct fl_detection *d, int n, double score_tol)
{
	ASSERT_EQ(n, r->n_faces);
	for (int i = 0; i < n; i++) {
		const double *h = r->faces[i];
		ASSERT_NEAR(d[i].score, h[4], score_tol);
		/* human's squarify: centre kept, side = max(w, h), corners rounded. */
		double cx = (d[i].x1 + d[i].x2) / 2, cy = (d[i].y1 + d[i].y2) / 2;
		double half = fmax(d[i].x2 - d[i].x1, d[i].y2 - d[i].y1) / 2;
		ASSERT_NEAR(round(cx - half), h[0], 1.0);
		ASSERT_NEAR(round(cy - half), h[1], 1.0);
		ASSERT_NEAR(round(cx + half), h[2], 1.0);
		ASSERT_NEAR(round(cy + half), h[3], 1.0);
		for (int k = 0; k < 6; k++) {
			ASSERT_NEAR(d[i].kp[k][0], h[5 + 2 * k], 0.05);
			ASSERT_NEAR(d[i].kp[k][1], h[6 + 2 * k], 0.05);
		}
	}
}

FL_TEST(detect_human_resize)
{
	struct ref r;
	load_ref(&r);
	struct fl_image img;
	char err[256] = "";
	ASSERT_MSG(fl_image_load(fl_test_path("models/samples/sample1.jpg"), NULL, &img, err, sizeof(err)) == 0, "%s",
	           err);
	struct fl_resize_params p = fl_resize_default_params();
	p.out_w = p.out_h = 256;
	p.mode = FL_RESIZE_STRETCH;
	p.sample = FL_SAMPLE_LEGACY;
	p.scale = 1.0f / 127.5f;
	p.offset = -1.0f;
	float *t = malloc(sizeof(float) * 256 * 256 * 3);
	ASSERT_OK(fl_image_resize_to_tensor(&img, &p, t, NULL));
	char msg[256];
	long bad = fl_test_allclose(t, r.input, 256 * 256 * 3, 1e-5, 1e-5, msg, sizeof(msg));
	ASSERT_MSG(bad == 0, "resize differs from human's in %ld values: %s", bad, msg);
	free(t);
	fl_image_fini(&img);
}

FL_TEST(detect_human_decode)
{
	struct ref r;
	load_ref(&r);
	ASSERT(r.n_faces >= 1);
	static struct fl_detection d[896];
	int n = decode(r.out, r.n_anchor, r.depth, 1920, 1280, d);
	compare_faces(&r, d, n, 1e-6);
}

FL_TEST(detect_human_engine)
{
	struct ref r;
	load_ref(&r);
	struct fl_model *m = NULL;
	char err[512] = "";
	if (fl_model_load(fl_test_path("models/human/blazeface.json"), &m, err, sizeof(err)) < 0)
		FL_SKIP("the engine cannot load blazeface.json yet");
	struct fl_session *s = NULL;
	ASSERT_MSG(fl_session_create(m, NULL, &s, err, sizeof(err)) == 0, "%s", err);
	struct fl_tensor in = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, 256, 256, 3}, .data = r.input};
	ASSERT_MSG(fl_session_run(s, &in, 1) == 0, "%s", fl_session_errmsg(s));
	float *outs[4];
	int na[4], dp[4];
	for (int i = 0; i < 4; i++) {
		struct fl_tensor t;
		ASSERT_OK(fl_session_output(s, i, &t));
		ASSERT_EQ(t.n_dims, 3);
		ASSERT_EQ(t.dims[1], r.n_anchor[i]);
		ASSERT_EQ(t.dims[2], r.depth[i]);
		outs[i] = t.data;
		na[i] = (int)t.dims[1];
		dp[i] = (int)t.dims[2];
		char msg[256];
		long bad = fl_test_allclose(outs[i], r.out[i], (long)na[i] * dp[i], 1e-3, 1e-3, msg, sizeof(msg));
		ASSERT_MSG(bad == 0, "output %d: %ld values off: %s", i, bad, msg);
	}
	static struct fl_detection d[896];
	int n = decode(outs, na, dp, 1920, 1280, d);
	compare_faces(&r, d, n, 1e-4);
	fl_session_destroy(s);
	fl_model_destroy(m);
}
