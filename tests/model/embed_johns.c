/*
** embed_johns.c -- MobileFaceNet identity features on real faces with
** known identities: dlib's examples/johns (5 people x 11 photos, fetched
** into testdata/dlib by tools/fetch-testdata.sh; skipped without it).
** Each photo: detector, largest face, alignment by its five FaceMesh
** points, embedding.  Every same-person and different-person pair is
** scored by cosine; the test prints the score distributions, AUC and
** equal-error rate, and asserts AUC >= 0.99, >= 95 % of same-person pairs
** >= 0.45 and >= 99 % of different-person pairs < 0.55.  The same again
** with each photo shrunk (area average) so the face is 40 px wide, and
** each face's embedding at full size vs at 64 and 40 px must agree
** (cosine >= 0.8).
*/
#include "fl_test.h"

#include <dirent.h>
#include <time.h>

#include "faceline/fl.h"

#define MAX_PHOTOS 128

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

struct photo {
	int person;
	struct fl_image img;
	float box[4];
	float points[5][2];
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a directory (not starting with '.'), malloc'd. */
static int list_dir(const char *path, char **names, int max)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	return n;
}

/* Shrink src by factor f (< 1) into dst with an area average (what a video
** scaler does), so small faces look like small faces, not aliased ones. */
static void shrink(const struct fl_image *src, float f, struct fl_image *dst)
{
	int w = (int)(src->width * f + 0.5f), h = (int)(src->height * f + 0.5f);
	ASSERT_OK(fl_image_init(dst, w, h));
	const int k = 8; /* sub-samples per axis per output pixel */
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float acc[3] = {0, 0, 0};
			for (int j = 0; j < k; j++)
				for (int i = 0; i < k; i++) {
					int sx = (int)((x + (i + 0.5f) / k) / f), sy = (int)((y + (j + 0.5f) / k) / f);
					sx = sx < src->width ? sx : src->width - 1;
					sy = sy < src->height ? sy : src->height - 1;
					for (int c = 0; c < 3; c++)
						acc[c] += src->data[sy * src->stride + 3 * sx + c];
				}
			for (int c = 0; c < 3; c++)
				dst->data[y * dst->stride + 3 * x + c] = (uint8_t)(acc[c] / (k * k) + 0.5f);
		}
}

struct stats {
	double auc, eer, eer_thr;
	double same_ge_045, diff_lt_055;
	double same_min, same_mean, diff_max, diff_mean;
};

static int cmp_f(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static void pair_stats(const float *emb, const struct photo *ph, int n, struct stats *st, const char *what)
{
	float *same = malloc(sizeof(float) * n * n), *diff = malloc(sizeof(float) * n * n);
	int ns = 0, nd = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			float c = fl_embed_cosine(emb + i * FL_EMBED_DIM, emb + j * FL_EMBED_DIM, FL_EMBED_DIM);
			if (ph[i].person == ph[j].person)
				same[ns++] = c;
			else
				diff[nd++] = c;
		}
	qsort(same, ns, sizeof(float), cmp_f);
	qsort(diff, nd, sizeof(float), cmp_f);
	/* AUC: P(same > diff), ties count half. */
	double wins = 0;
	for (int i = 0, lo = 0, hi = 0; i < ns; i++) {
		while (lo < nd && diff[lo] < same[i])
			lo++;
		hi = lo;
		while (hi < nd && diff[hi] == same[i])
			hi++;
		wins += lo + 0.5 * (hi - lo);
	}
	st->auc = wins / ((double)ns * nd);
	/* EER: the threshold where false rejects (same < t) and false accepts
	** (diff >= t) cross, scanned over all scores. */
	st->eer = 1;
	for (int t = 0; t < ns + nd; t++) {
		float thr = t < ns ? same[t] : diff[t - ns];
		int fr = 0, fa = 0;
		while (fr < ns && same[fr] < thr)
			fr++;
		for (int i = nd - 1; i >= 0 && diff[i] >= thr; i--)
			fa++;
		double frr = (double)fr / ns, far = (double)fa / nd, e = frr > far ? frr : far;
		if (e < st->eer) {
			st->eer = e;
			st->eer_thr = thr;
		}
	}
	int a = 0, b = 0;
	double ms = 0, md = 0;
	for (int i = 0; i < ns; i++)
		a += same[i] >= 0.45f, ms += same[i];
	for (int i = 0; i < nd; i++)
		b += diff[i] < 0.55f, md += diff[i];
	st->same_ge_045 = (double)a / ns;
	st->diff_lt_055 = (double)b / nd;
	st->same_min = same[0];
	st->same_mean = ms / ns;
	st->diff_max = diff[nd - 1];
	st->diff_mean = md / nd;
	printf("%s: %d same-person pairs, %d different-person pairs\n", what, ns, nd);
	printf("  same: min %.3f p5 %.3f median %.3f mean %.3f max %.3f\n", same[0], same[ns / 20], same[ns / 2],
	       st->same_mean, same[ns - 1]);
	printf("  diff: min %.3f median %.3f mean %.3f p95 %.3f p99 %.3f max %.3f\n", diff[0], diff[nd / 2], st->diff_mean,
	       diff[nd * 95 / 100], diff[nd * 99 / 100], diff[nd - 1]);
	printf("  AUC %.4f, EER %.2f %% (threshold %.3f); same >= 0.45: %.1f %%; diff < 0.55: %.1f %%\n", st->auc,
	       100 * st->eer, st->eer_thr, 100 * st->same_ge_045, 100 * st->diff_lt_055);
	free(same);
	free(diff);
}

FL_TEST_T(embed_johns, 600)
{
	char err[512] = "", path[4096];
	char *people[16], *files[64];
	struct photo *ph = calloc(MAX_PHOTOS, sizeof(*ph));
	int n = 0, n_people;
	const char *root = fl_test_path("testdata/dlib/johns");
	char rootbuf[4096];
	snprintf(rootbuf, sizeof(rootbuf), "%s", root);
	if ((n_people = list_dir(rootbuf, people, 16)) <= 0)
		FL_SKIP("testdata/dlib/johns missing (tools/fetch-testdata.sh)");

	struct fl_detector *det = NULL;
	struct fl_embedder *e = NULL;
	struct fl_detector_params dp = fl_detector_default_params();
	struct fl_embedder_params ep = fl_embedder_default_params();
	dp.n_threads = ep.n_threads = 1;
	ASSERT_MSG(fl_detector_create(fl_test_path("models"), &dp, &det, err, sizeof(err)) == 0, "%s", err);
	ASSERT_MSG(fl_embedder_create(fl_test_path("models"), &ep, &e, err, sizeof(err)) == 0, "%s", err);

	for (int p = 0; p < n_people; p++) {
		snprintf(path, sizeof(path), "%s/%s", rootbuf, people[p]);
		int nf = list_dir(path, files, 64);
		ASSERT(nf > 0);
		for (int f = 0; f < nf && n < MAX_PHOTOS; f++) {
			struct fl_face faces[8];
			snprintf(path, sizeof(path), "%s/%s/%s", rootbuf, people[p], files[f]);
			free(files[f]);
			ASSERT_MSG(fl_image_load(path, NULL, &ph[n].img, err, sizeof(err)) == 0, "%s", err);
			int k = fl_detector_detect(det, &ph[n].img, faces, 8);
			ASSERT_MSG(k > 0, "%s: no face", path);
			int best = 0;
			for (int i = 1; i < k; i++)
				if (faces[i].box[2] * faces[i].box[3] > faces[best].box[2] * faces[best].box[3])
					best = i;
			memcpy(ph[n].box, faces[best].box, sizeof(ph[n].box));
			memcpy(ph[n].points, faces[best].points, sizeof(ph[n].points));
			ph[n].person = p;
			n++;
		}
	}
	ASSERT(n >= 20);

	/* Full resolution; also timed: align + embed per face, 1 thread. */
	float *emb = malloc(sizeof(float) * n * FL_EMBED_DIM), *emb2 = malloc(sizeof(float) * n * FL_EMBED_DIM);
	/* (the first call plans the batch-1 session: not timed) */
	ASSERT_OK(fl_embedder_run(e, &ph[0].img, (const float(*)[5][2])&ph[0].points, 1, emb));
	double t0 = now_s();
	for (int i = 0; i < n; i++)
		ASSERT_MSG(fl_embedder_run(e, &ph[i].img, (const float(*)[5][2])&ph[i].points, 1, emb + i * FL_EMBED_DIM) ==
		               0,
		           "%s", fl_embedder_errmsg(e));
	double t1 = now_s();
	printf("align + embed: %.2f ms per face (1 thread, one at a time)\n", (t1 - t0) * 1e3 / n);
	for (int i = 0; i < n; i++) {
		double ss = 0;
		for (int k = 0; k < FL_EMBED_DIM; k++)
			ss += (double)emb[i * FL_EMBED_DIM + k] * emb[i * FL_EMBED_DIM + k];
		ASSERT_NEAR(ss, 1.0, 1e-4);
	}
	struct stats st;
	pair_stats(emb, ph, n, &st, "johns, aligned, full size");
	ASSERT(st.auc >= 0.99);
	ASSERT(st.same_ge_045 >= 0.95);
	ASSERT(st.diff_lt_055 >= 0.99);

	/* All faces in one batched call give the same embeddings. */
	float(*pts)[5][2] = malloc(sizeof(*pts) * n);
	for (int i = 0; i < n; i++)
		memcpy(pts[i], ph[i].points, sizeof(pts[i]));
	/* (one image per call: batch the faces of the first photo repeated) */
	for (int i = 0; i < 11; i++)
		memcpy(pts[i], ph[0].points, sizeof(pts[i]));
	ASSERT_OK(fl_embedder_run(e, &ph[0].img, (const float(*)[5][2])pts, 11, emb2));
	for (int i = 0; i < 11; i++)
		ASSERT_NEAR(fl_embed_cosine(emb2 + i * FL_EMBED_DIM, emb, FL_EMBED_DIM), 1.0, 1e-5);

	/* Smaller faces: 64 px and 40 px wide (area-averaged shrink). */
	static const float sizes[2] = {64, 40};
	for (int s = 0; s < 2; s++) {
		float min_same_face = 1;
		for (int i = 0; i < n; i++) {
			struct fl_image small;
			float f = sizes[s] / ph[i].box[2], p2[5][2];
			shrink(&ph[i].img, f, &small);
			for (int k = 0; k < 5; k++)
				p2[k][0] = ph[i].points[k][0] * f, p2[k][1] = ph[i].points[k][1] * f;
			ASSERT_OK(fl_embedder_run(e, &small, (const float(*)[5][2])&p2, 1, emb2 + i * FL_EMBED_DIM));
			float c = fl_embed_cosine(emb + i * FL_EMBED_DIM, emb2 + i * FL_EMBED_DIM, FL_EMBED_DIM);
			if (c < min_same_face)
				min_same_face = c;
			fl_image_fini(&small);
		}
		char what[64];
		snprintf(what, sizeof(what), "johns, aligned, faces %.0f px", sizes[s]);
		pair_stats(emb2, ph, n, &st, what);
		printf("  same face, full size vs %.0f px: min cosine %.3f\n", sizes[s], min_same_face);
		ASSERT(st.auc >= 0.99);
		ASSERT_MSG(min_same_face >= 0.8f, "a face at %.0f px vs full size: cosine %.3f", sizes[s], min_same_face);
	}
	for (int i = 0; i < n; i++)
		fl_image_fini(&ph[i].img);
	for (int p = 0; p < n_people; p++)
		free(people[p]);
	free(pts);
	free(ph);
	free(emb);
	free(emb2);
	fl_embedder_destroy(e);
	fl_detector_destroy(det);
}
