/*
** expression.c -- facial expression: struct fl_expression runs face-api's
** FaceExpressionNet (weights-only manifest; the graph is built by
** nn/load/faceapi.c and normalises its own input) on faces cut the way
** face-api cuts them, in batches (batch.c).
**
** The crop replicates @vladmandic/face-api 1.7.15 for a tensor input, step
** by step, because the network is sensitive to it (a 1 px shift of the
** padding moved probabilities by up to 0.17):
**   1. extractFaceTensors: Box.clipAtImageBorders -- x, y clamped at 0,
**      width/height cut at the picture's right/bottom edge, then each of
**      x, y, width, height floored -- and tf.slice of that region;
**   2. NetInput.toBatchTensor(112, true) -> padToSquare(t, true): zeros
**      (black) on both sides of the shorter axis; the side appended after
**      the image gets Math.round(diff / 2) (half up), the side before it
**      the rest, so an odd extra pixel goes to the bottom/right;
**   3. tf.image.resizeBilinear(t, [112, 112], alignCorners false,
**      halfPixelCenters false), skipped when the square is already 112:
**      source position = out index * (S / 112), the two neighbours floor
**      and min(S-1, ceil), weights from the fraction -- computed in double
**      like tfjs-backend-cpu's kernel, then stored as float.
** The black padding is part of the padded square, so a sample next to the
** face's edge blends image and black, never pixels from beyond the box.
*/
#include "faceline/fl_vision.h"
#include "base/base_int.h"
#include "batch_int.h"

#include <math.h>
#include <sys/stat.h>

#define SIZE FL_EXPRESSION_SIZE
#define MAX_SQUARE 16384 /* largest padded square accepted (taps are on the stack per axis) */

struct fl_expression {
	struct fl__batch b;
	float *crops; /* max_batch crops, filled by fl_expression_run */
};

static const char *const labels[FL_EXPRESSION_N] = {"neutral", "happy", "sad", "angry", "fearful", "disgusted",
                                                    "surprised"};

const char *fl_expression_label(int i)
{
	return i >= 0 && i < FL_EXPRESSION_N ? labels[i] : NULL;
}

struct fl_expression_params fl_expression_default_params(void)
{
	struct fl_expression_params p = {0};
	p.n_threads = 0;
	p.max_batch = 8;
	return p;
}

/* ------------------------------------------------------------------ crop */

void fl_expression_crop_box(const float box[4], float out[4])
{
	const float w = box[2], h = box[3];
	const float cx = box[0] + 0.5f * w, cy = box[1] + 0.5f * h + 0.045f * w;
	const float nw = 1.13f * w, nh = 1.06f * h;
	out[0] = cx - 0.5f * nw;
	out[1] = cy - 0.5f * nh;
	out[2] = nw;
	out[3] = nh;
}

/* One axis of the legacy resize from the padded square (side s) to SIZE:
** per output index, the two padded-square indices and the weight of the
** second. */
struct tap {
	int i0, i1;
	double frac;
};

static void make_taps(struct tap *t, int s)
{
	const double ratio = (double)s / (double)SIZE;
	for (int u = 0; u < SIZE; u++) {
		const double pos = ratio * u;
		const double f = floor(pos);
		t[u].i0 = (int)f;
		t[u].frac = pos - f;
		t[u].i1 = FL_MIN(s - 1, (int)ceil(pos));
	}
}

int fl_expression_crop(const struct fl_image *img, const float face[4], float *out)
{
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || !face ||
	    !out)
		return FL_EINVAL;
	for (int k = 0; k < 4; k++)
		if (!isfinite(face[k]))
			return FL_EINVAL;
	/* 1. Box.clipAtImageBorders (in double, as JavaScript computes). */
	const double x = face[0], y = face[1], right = x + face[2], bottom = y + face[3];
	const double cxd = fmax(x, 0.0), cyd = fmax(y, 0.0);
	const double cwd = fmin(right - cxd, img->width - cxd), chd = fmin(bottom - cyd, img->height - cyd);
	const double fx = floor(cxd), fy = floor(cyd), fw = floor(cwd), fh = floor(chd);
	if (!(fw > 0 && fh > 0) || fx >= img->width || fy >= img->height)
		return FL_ERANGE; /* face-api drops such boxes */
	const int x0 = (int)fx, y0 = (int)fy, w = (int)fw, h = (int)fh;
	/* 2. padToSquare(centred): `before` black pixels, then the image, then
	** round(diff / 2) more on the shorter axis. */
	const int s = FL_MAX(w, h);
	if (s > MAX_SQUARE)
		return FL_ERANGE;
	const int diff = s - FL_MIN(w, h);
	const int after = (int)floor(diff * 0.5 + 0.5), before = diff - after;
	const int pad_x = w < h ? before : 0, pad_y = h < w ? before : 0;
	/* 3. Legacy bilinear resize of the padded square to SIZE x SIZE; a
	** padded-square index p is image pixel p - pad (+ x0/y0) when that is
	** inside the slice, else black. */
	struct tap tx[SIZE], ty[SIZE];
	make_taps(tx, s);
	make_taps(ty, s);
	for (int v = 0; v < SIZE; v++) {
		const int r0 = ty[v].i0 - pad_y, r1 = ty[v].i1 - pad_y;
		const uint8_t *row0 = r0 >= 0 && r0 < h ? img->data + (size_t)(y0 + r0) * img->stride : NULL;
		const uint8_t *row1 = r1 >= 0 && r1 < h ? img->data + (size_t)(y0 + r1) * img->stride : NULL;
		for (int u = 0; u < SIZE; u++) {
			const int c0 = tx[u].i0 - pad_x, c1 = tx[u].i1 - pad_x;
			const int in0 = c0 >= 0 && c0 < w, in1 = c1 >= 0 && c1 < w;
			float *q = out + ((size_t)v * SIZE + u) * 3;
			for (int ch = 0; ch < 3; ch++) {
				const double tl = row0 && in0 ? row0[3 * (x0 + c0) + ch] : 0.0;
				const double tr = row0 && in1 ? row0[3 * (x0 + c1) + ch] : 0.0;
				const double bl = row1 && in0 ? row1[3 * (x0 + c0) + ch] : 0.0;
				const double br = row1 && in1 ? row1[3 * (x0 + c1) + ch] : 0.0;
				const double top = tl + (tr - tl) * tx[u].frac;
				const double bot = bl + (br - bl) * tx[u].frac;
				q[ch] = (float)(top + (bot - top) * ty[v].frac);
			}
		}
	}
	return 0;
}

/* ----------------------------------------------------------------- model */

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fl_expression_create(const char *models, const struct fl_expression_params *params,
                         struct fl_expression **out, char *err, size_t err_size)
{
	static const char manifest[] = "face_expression_model-weights_manifest.json";
	struct fl_expression *x = NULL;
	char path[4096];
	int r;

	if (!out)
		return FL_EINVAL;
	*out = NULL;
	if (!models) {
		fl__errf(err, err_size, "fl_expression_create: models path is NULL");
		return FL_EINVAL;
	}
	/* The manifest itself, or a directory holding it directly or in faceapi/. */
	size_t len = strlen(models);
	if (len >= 5 && !strcmp(models + len - 5, ".json")) {
		snprintf(path, sizeof(path), "%s", models);
	} else {
		snprintf(path, sizeof(path), "%s/%s", models, manifest);
		if (!is_file(path))
			snprintf(path, sizeof(path), "%s/faceapi/%s", models, manifest);
	}
	if (!is_file(path)) {
		fl__errf(err, err_size, "%s: FaceExpressionNet not found (looked for %s in %s and %s/faceapi)", models,
		         manifest, models, models);
		return FL_ENOENT;
	}
	struct fl_expression_params p = params ? *params : fl_expression_default_params();
	if (!(x = fl_calloc(1, sizeof(*x)))) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	r = fl__batch_init(&x->b, path, "FaceExpressionNet", "expressions", SIZE, SIZE, 3, FL_EXPRESSION_N,
	                   p.n_threads, p.max_batch, err, err_size);
	if (r < 0)
		goto fail;
	x->crops = fl_malloc((size_t)p.max_batch * SIZE * SIZE * 3 * sizeof(float));
	if (!x->crops) {
		fl__errf(err, err_size, "out of memory");
		r = FL_ENOMEM;
		goto fail;
	}
	*out = x;
	return 0;
fail:
	fl_expression_destroy(x);
	return r;
}

void fl_expression_destroy(struct fl_expression *x)
{
	if (!x)
		return;
	fl__batch_fini(&x->b);
	fl_free(x->crops);
	fl_free(x);
}

const char *fl_expression_errmsg(const struct fl_expression *x)
{
	return x ? x->b.errmsg : "no expression classifier";
}

int fl_expression_run_crops(struct fl_expression *x, const float *crops, int n, float *probs)
{
	if (!x)
		return FL_EINVAL;
	if (n < 0 || (n > 0 && (!crops || !probs))) {
		snprintf(x->b.errmsg, sizeof(x->b.errmsg), "fl_expression_run_crops: invalid arguments (n %d)", n);
		return FL_EINVAL;
	}
	return fl__batch_run(&x->b, crops, n, probs);
}

int fl_expression_run(struct fl_expression *x, const struct fl_image *img, const float (*boxes)[4], int n,
                      float *probs)
{
	const size_t per = (size_t)SIZE * SIZE * 3;
	float face[4];
	int r;

	if (!x)
		return FL_EINVAL;
	if (n < 0 || (n > 0 && (!img || !boxes || !probs))) {
		snprintf(x->b.errmsg, sizeof(x->b.errmsg), "fl_expression_run: invalid arguments (n %d)", n);
		return FL_EINVAL;
	}
	for (int done = 0; done < n;) {
		const int k = FL_MIN(n - done, x->b.max_batch);
		for (int i = 0; i < k; i++) {
			fl_expression_crop_box(boxes[done + i], face);
			if ((r = fl_expression_crop(img, face, x->crops + i * per)) < 0) {
				snprintf(x->b.errmsg, sizeof(x->b.errmsg),
				         "fl_expression_run: face %d: box [%g, %g, %g, %g] is %s", done + i,
				         (double)boxes[done + i][0], (double)boxes[done + i][1], (double)boxes[done + i][2],
				         (double)boxes[done + i][3], r == FL_ERANGE ? "outside the picture" : "invalid");
				return r;
			}
		}
		if ((r = fl__batch_run(&x->b, x->crops, k, probs + (size_t)done * FL_EXPRESSION_N)) < 0)
			return r;
		done += k;
	}
	return 0;
}
