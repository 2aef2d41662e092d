/*
** cmd_nn.c -- `faceline nn run` and `faceline nn info`: run any model on a
** raw little-endian float32 tensor and write each output as a raw .f32
** file plus a meta.json with names and shapes -- the tool for debugging a
** model or comparing runtimes.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "faceline/fl.h"

#define MAX_INPUTS 8

static int parse_shape(const char *s, struct fl_tensor *t)
{
	memset(t, 0, sizeof(*t));
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (end == p || errno || v <= 0 || v > (1 << 20) || t->n_dims == FL_MAX_DIMS)
			return -1;
		t->dims[t->n_dims++] = v;
		p = end;
		if (*p == ',' || *p == 'x')
			p++;
		else if (*p)
			return -1;
	}
	return t->n_dims > 0 ? 0 : -1;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_shape(FILE *f, const struct fl_tensor *t)
{
	fputc('[', f);
	for (int i = 0; i < t->n_dims; i++)
		fprintf(f, i ? ",%lld" : "%lld", (long long)t->dims[i]);
	fputc(']', f);
}

static int nn_info(const char *path)
{
	char err[512];
	struct fl_model *m;
	int r = fl_model_load(path, &m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "faceline: %s\n", err);
		return fl_exit_from_status(r);
	}
	printf("%s: %d nodes after optimisation\n", path, fl_model_n_nodes(m));
	for (int i = 0; i < fl_model_n_inputs(m); i++) {
		const char *name;
		struct fl_tensor t;
		fl_model_input(m, i, &name, &t);
		printf("input  %d %-40s %-5s ", i, name, fl_dtype_name(t.dtype));
		json_shape(stdout, &t);
		printf("\n");
	}
	for (int i = 0; i < fl_model_n_outputs(m); i++) {
		const char *name;
		struct fl_tensor t;
		fl_model_output(m, i, &name, &t);
		printf("output %d %-40s %-5s ", i, name, fl_dtype_name(t.dtype));
		json_shape(stdout, &t);
		printf("\n");
	}
	fl_model_destroy(m);
	return 0;
}

static int nn_run(int argc, char **argv)
{
	const char *model_path = NULL, *out_dir = NULL;
	const char *inputs[MAX_INPUTS];
	struct fl_tensor shapes[MAX_INPUTS];
	int n_in = 0, n_shapes = 0, threads = 0, profile = 0;
	enum fl_dtype dtype = FL_DTYPE_F32;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--input") && i + 1 < argc) {
			if (n_in == MAX_INPUTS)
				goto usage;
			inputs[n_in++] = argv[++i];
		} else if (!strcmp(a, "--shape") && i + 1 < argc) {
			if (n_shapes == MAX_INPUTS || parse_shape(argv[++i], &shapes[n_shapes]) < 0) {
				fprintf(stderr, "faceline nn run: --shape \"%s\": expected positive integers like 1,256,256,3\n",
				        argv[i]);
				return FL_EXIT_USAGE;
			}
			n_shapes++;
		} else if (!strcmp(a, "--dtype") && i + 1 < argc) {
			const char *d = argv[++i];
			if (!strcmp(d, "int32"))
				dtype = FL_DTYPE_I32;
			else if (!strcmp(d, "float32"))
				dtype = FL_DTYPE_F32;
			else {
				fprintf(stderr, "faceline nn run: --dtype \"%s\": expected float32 or int32\n", d);
				return FL_EXIT_USAGE;
			}
		} else if (!strcmp(a, "--out") && i + 1 < argc) {
			out_dir = argv[++i];
		} else if (!strcmp(a, "--threads") && i + 1 < argc) {
			threads = atoi(argv[++i]);
		} else if (!strcmp(a, "--profile")) {
			profile = 1;
		} else if (a[0] != '-' && !model_path) {
			model_path = a;
		} else {
			fprintf(stderr, "faceline nn run: unknown argument \"%s\"\n", a);
			goto usage;
		}
	}
	if (!model_path || !out_dir || n_in == 0 || n_shapes != n_in)
		goto usage;

	char err[1024];
	struct fl_model *m = NULL;
	struct fl_session *s = NULL;
	float *bufs[MAX_INPUTS] = {0};
	struct fl_tensor tin[MAX_INPUTS];
	int rc = FL_EXIT_OK, r;
	if ((r = fl_model_load(model_path, &m, err, sizeof(err))) < 0) {
		fprintf(stderr, "faceline: %s\n", err);
		return fl_exit_from_status(r);
	}
	if (n_in != fl_model_n_inputs(m)) {
		fprintf(stderr, "faceline: %s has %d inputs, %d given\n", model_path, fl_model_n_inputs(m), n_in);
		rc = FL_EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < n_in; i++) {
		int64_t ne = fl_tensor_numel(&shapes[i]);
		FILE *f = fopen(inputs[i], "rb");
		if (!f) {
			fprintf(stderr, "faceline: %s: %s\n", inputs[i], strerror(errno));
			rc = errno == ENOENT ? FL_EXIT_MISSING : FL_EXIT_BAD_INPUT;
			goto out;
		}
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		fseek(f, 0, SEEK_SET);
		if (size != ne * 4) {
			fprintf(stderr, "faceline: %s: %ld bytes, but shape needs %lld float32 values (%lld bytes)\n", inputs[i],
			        size, (long long)ne, (long long)ne * 4);
			fclose(f);
			rc = FL_EXIT_BAD_INPUT;
			goto out;
		}
		bufs[i] = malloc(size ? size : 1);
		if (!bufs[i] || fread(bufs[i], 1, size, f) != (size_t)size) {
			fprintf(stderr, "faceline: %s: read error\n", inputs[i]);
			fclose(f);
			rc = FL_EXIT_BAD_INPUT;
			goto out;
		}
		fclose(f);
		tin[i] = shapes[i];
		tin[i].dtype = FL_DTYPE_F32; /* the session converts to int32 for an int32 input */
		tin[i].data = bufs[i];
		const char *name;
		struct fl_tensor decl;
		fl_model_input(m, i, &name, &decl);
		if (decl.dtype != dtype && !(decl.dtype == FL_DTYPE_I32 && dtype == FL_DTYPE_F32))
			fprintf(stderr, "faceline: note: input \"%s\" is %s\n", name, fl_dtype_name(decl.dtype));
	}
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = threads;
	sp.input_shapes = shapes;
	sp.n_input_shapes = n_in;
	if ((r = fl_session_create(m, &sp, &s, err, sizeof(err))) < 0) {
		fprintf(stderr, "faceline: %s\n", err);
		rc = fl_exit_from_status(r);
		goto out;
	}
	if (profile) {
		fl_log_set_level(FL_LOG_INFO);
		fl_session_set_profiling(s, 1);
	}
	if ((r = fl_session_run(s, tin, n_in)) < 0) {
		fprintf(stderr, "faceline: %s: %s\n", model_path, fl_session_errmsg(s));
		rc = fl_exit_from_status(r);
		goto out;
	}
	if (profile)
		fl_session_profile_dump(s);
	if (mkdir(out_dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "faceline: %s: %s\n", out_dir, strerror(errno));
		rc = FL_EXIT_BAD_INPUT;
		goto out;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/meta.json", out_dir);
	FILE *mf = fopen(path, "w");
	if (!mf) {
		fprintf(stderr, "faceline: %s: %s\n", path, strerror(errno));
		rc = FL_EXIT_BAD_INPUT;
		goto out;
	}
	fprintf(mf, "{\n  \"model\": ");
	json_str(mf, model_path);
	fprintf(mf, ",\n  \"inputs\": [");
	for (int i = 0; i < n_in; i++) {
		const char *name;
		struct fl_tensor decl;
		fl_model_input(m, i, &name, &decl);
		fprintf(mf, "%s\n    {\"name\": ", i ? "," : "");
		json_str(mf, name);
		fprintf(mf, ", \"dtype\": \"%s\", \"shape\": ", fl_dtype_name(decl.dtype));
		json_shape(mf, &shapes[i]);
		fprintf(mf, ", \"file\": ");
		json_str(mf, inputs[i]);
		fputc('}', mf);
	}
	fprintf(mf, "\n  ],\n  \"outputs\": [");
	for (int i = 0; i < fl_model_n_outputs(m); i++) {
		const char *name;
		struct fl_tensor t, decl;
		fl_model_output(m, i, &name, &decl);
		fl_session_output(s, i, &t);
		char fname[64];
		snprintf(fname, sizeof(fname), "output_%d.f32", i);
		snprintf(path, sizeof(path), "%s/%s", out_dir, fname);
		FILE *of = fopen(path, "wb");
		if (!of) {
			fprintf(stderr, "faceline: %s: %s\n", path, strerror(errno));
			fclose(mf);
			rc = FL_EXIT_BAD_INPUT;
			goto out;
		}
		int64_t ne = fl_tensor_numel(&t);
		for (int64_t e = 0; e < ne; e++) {
			float v;
			if (t.dtype == FL_DTYPE_F32)
				v = ((const float *)t.data)[e];
			else if (t.dtype == FL_DTYPE_I32)
				v = (float)((const int32_t *)t.data)[e];
			else
				v = (float)((const uint8_t *)t.data)[e];
			fwrite(&v, 4, 1, of);
		}
		fclose(of);
		fprintf(mf, "%s\n    {\"name\": ", i ? "," : "");
		json_str(mf, name);
		fprintf(mf, ", \"dtype\": \"%s\", \"shape\": ", fl_dtype_name(t.dtype));
		json_shape(mf, &t);
		fprintf(mf, ", \"file\": \"%s\"}", fname);
	}
	fprintf(mf, "\n  ]\n}\n");
	fclose(mf);
	printf("%s: %d outputs written to %s\n", model_path, fl_model_n_outputs(m), out_dir);
out:
	for (int i = 0; i < n_in; i++)
		free(bufs[i]);
	fl_session_destroy(s);
	fl_model_destroy(m);
	return rc;
usage:
	fprintf(stderr, "usage: faceline nn run MODEL --input FILE.f32 --shape 1,H,W,C [--dtype int32] --out DIR "
	                "[--threads N] [--profile]\n       (one --input/--shape pair per model input)\n");
	return FL_EXIT_USAGE;
}

int cmd_nn(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "run"))
		return nn_run(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return nn_info(argv[2]);
	fprintf(stderr, "usage: faceline nn run MODEL --input FILE.f32 --shape 1,H,W,C [--dtype int32] --out DIR\n"
	                "       faceline nn info MODEL\n");
	return FL_EXIT_USAGE;
}
