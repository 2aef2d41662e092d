/*
** cmd_bench.c -- `faceline bench models`: time every model the project
** uses, at 1 and 2 threads, on seeded random inputs, and print a table (or
** JSON for bench/peers/compare.mjs): median ms of >= 20 runs after a
** warm-up, and GFLOP/s achieved (multiply-add = 2 flops).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "faceline/fl.h"

struct bench_model {
	const char *name;  /* the name bench/peers uses too */
	const char *file;  /* relative to the models dir */
	int64_t dims[4];
	float lo, hi;      /* input value range */
};

static const struct bench_model models[] = {
	{"blazeface", "human/blazeface.json", {1, 256, 256, 3}, -1, 1},
	{"blazeface-576x1024", "human/blazeface.json", {1, 576, 1024, 3}, -1, 1},
	{"facemesh", "human/facemesh.json", {1, 192, 192, 3}, 0, 1},
	{"faceres", "human/faceres.json", {1, 224, 224, 3}, 0, 1},
	{"emotion", "human/emotion.json", {1, 64, 64, 1}, 0, 1},
	{"centernet", "human/centernet.json", {1, 512, 512, 3}, 0, 255},
	{"movenet-lightning", "human/movenet-lightning.json", {1, 192, 192, 3}, 0, 255},
	{"faceexpression", "faceapi/face_expression_model-weights_manifest.json", {1, 112, 112, 3}, 0, 255},
	{"mobilefacenet", "expo/MobileFaceNet.tflite", {2, 112, 112, 3}, -1, 1},
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int cmd_bench(int argc, char **argv)
{
	int json = 0, iters = 20, n_thr = 0, thr[8];
	const char *dir = getenv("FL_MODELS");
	const char *only = NULL;
	int profile = 0;
	if (!dir || !*dir)
		dir = "models";
	if (argc < 2 || strcmp(argv[1], "models") != 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--profile"))
			profile = 1;
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--models") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			char *s = argv[++i];
			while (*s && n_thr < 8) {
				thr[n_thr++] = (int)strtol(s, &s, 10);
				if (*s == ',')
					s++;
				else if (*s)
					goto usage;
			}
		} else
			goto usage;
	}
	if (iters < 1)
		iters = 1;
	if (n_thr == 0) {
		thr[n_thr++] = 1;
		thr[n_thr++] = 2;
	}
	if (!json)
		printf("%-20s %-16s %7s %10s %9s\n", "model", "input", "threads", "ms", "GFLOP/s");
	else
		printf("[");
	int first = 1, rc = 0;
	for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++) {
		const struct bench_model *bm = &models[mi];
		if (only && !strstr(bm->name, only))
			continue;
		char path[4096], err[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, bm->file);
		struct fl_model *m;
		int r = fl_model_load(path, &m, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "faceline bench: %s\n", err);
			rc = fl_exit_from_status(r);
			continue;
		}
		struct fl_tensor in = {FL_DTYPE_F32, 4, {bm->dims[0], bm->dims[1], bm->dims[2], bm->dims[3]}, NULL};
		int64_t ne = fl_tensor_numel(&in);
		float *data = malloc(sizeof(float) * ne);
		uint64_t seed = 0x9e3779b97f4a7c15ULL;
		for (int64_t e = 0; e < ne; e++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			float u = (float)((seed >> 40) * (1.0 / 16777216.0));
			data[e] = bm->lo + (bm->hi - bm->lo) * u;
			if (bm->hi > 2)
				data[e] = (float)(int)data[e];
		}
		in.data = data;
		for (int ti = 0; ti < n_thr; ti++) {
			struct fl_session_params sp = fl_session_default_params();
			sp.n_threads = thr[ti];
			sp.input_shapes = &in;
			sp.n_input_shapes = 1;
			struct fl_session *s;
			if ((r = fl_session_create(m, &sp, &s, err, sizeof(err))) < 0) {
				fprintf(stderr, "faceline bench: %s\n", err);
				rc = fl_exit_from_status(r);
				break;
			}
			double *t = malloc(sizeof(double) * (iters + 1000));
			int n = 0;
			for (int w = 0; w < 5; w++)
				fl_session_run(s, &in, 1);
			double start = now();
			while (n < iters || (now() - start < 0.5 && n < iters + 1000)) {
				double t0 = now();
				if ((r = fl_session_run(s, &in, 1)) < 0) {
					fprintf(stderr, "faceline bench: %s\n", fl_session_errmsg(s));
					rc = fl_exit_from_status(r);
					break;
				}
				t[n++] = now() - t0;
			}
			if (profile) {
				fl_log_set_level(FL_LOG_INFO);
				fl_session_set_profiling(s, 1);
				for (int k = 0; k < 10; k++)
					fl_session_run(s, &in, 1);
				fl_session_profile_dump(s);
			}
			qsort(t, n, sizeof(double), cmp_double);
			double ms = n ? 1e3 * t[n / 2] : 0;
			double gf = ms > 0 ? (double)fl_session_flops(s) / (ms * 1e6) : 0;
			char shape[64];
			snprintf(shape, sizeof(shape), "%lldx%lldx%lldx%lld", (long long)bm->dims[0], (long long)bm->dims[1],
			         (long long)bm->dims[2], (long long)bm->dims[3]);
			if (json)
				printf("%s\n  {\"model\": \"%s\", \"shape\": \"%s\", \"threads\": %d, \"ms\": %.4f, \"gflops\": %.2f}",
				       first ? "" : ",", bm->name, shape, thr[ti], ms, gf);
			else
				printf("%-20s %-16s %7d %10.3f %9.1f\n", bm->name, shape, thr[ti], ms, gf);
			fflush(stdout);
			first = 0;
			free(t);
			fl_session_destroy(s);
		}
		free(data);
		fl_model_destroy(m);
	}
	if (json)
		printf("\n]\n");
	return rc;
usage:
	fprintf(stderr, "usage: faceline bench models [--json] [--threads 1,2] [--iters N] [--models DIR] [--only NAME] "
	                "[--profile]\n");
	return FL_EXIT_USAGE;
}
