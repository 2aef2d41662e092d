/*
** cmd_detect.c -- `faceline detect PHOTO`: find the faces in a photo with
** BlazeFace, verified by FaceMesh, and print one line per face (index, box
** [x y w h] in source pixels, BlazeFace score, FaceMesh face score), or a
** JSON document with the landmarks too.  --no-verify shows BlazeFace's raw
** result.  --draw OUT.png writes a copy of the photo with the boxes drawn,
** for looking at.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "faceline/fl.h"
#include "faceline/fl_vision.h"

#define MAX_FACES 1024

static void detect_usage(FILE *f)
{
	fprintf(f, "usage: faceline detect PHOTO [--json] [--min-score S] [--models DIR] [--max-faces N]\n"
	           "                        [--threads N] [--size LONGxSHORT] [--no-close-up] [--draw OUT.png]\n"
	           "                        [--no-verify] [--min-face-score S]\n"
	           "  Prints one line per face: index, box x y w h (pixels), BlazeFace score, and\n"
	           "  FaceMesh's face score (boxes below --min-face-score, default 0.1, are dropped;\n"
	           "  --no-verify keeps BlazeFace's raw boxes and prints no face score).\n");
}

/* Print s as a JSON string. */
static void json_string(FILE *f, const char *s)
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

/* Parse a float option value; 0 on success. */
static int parse_float(const char *s, float lo, float hi, float *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = (float)v;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_detect(int argc, char **argv)
{
	struct fl_detector_params dp = fl_detector_default_params();
	const char *photo = NULL, *models = getenv("FL_MODELS"), *draw = NULL;
	int json = 0, max_faces = 100;
	if (!models || !*models)
		models = "models";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--no-close-up"))
			dp.close_up_pass = 0;
		else if (!strcmp(a, "--no-verify"))
			dp.verify = 0;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			detect_usage(stdout);
			return FL_EXIT_OK;
		} else if (!strcmp(a, "--min-score") || !strcmp(a, "--models") || !strcmp(a, "--max-faces") ||
		           !strcmp(a, "--threads") || !strcmp(a, "--draw") || !strcmp(a, "--size") ||
		           !strcmp(a, "--min-face-score")) {
			if (!v) {
				fprintf(stderr, "faceline detect: %s needs a value\n", a);
				return FL_EXIT_USAGE;
			}
			i++;
			if (!strcmp(a, "--min-score"))
				bad = parse_float(v, 0.0f, 1.0f, &dp.min_score);
			else if (!strcmp(a, "--min-face-score"))
				bad = parse_float(v, 0.0f, 1.0f, &dp.min_face_score);
			else if (!strcmp(a, "--models"))
				models = v;
			else if (!strcmp(a, "--max-faces"))
				bad = parse_int(v, 1, MAX_FACES, &max_faces);
			else if (!strcmp(a, "--threads"))
				bad = parse_int(v, 0, 1024, &dp.n_threads);
			else if (!strcmp(a, "--draw"))
				draw = v;
			else if (sscanf(v, "%dx%d", &dp.long_side, &dp.short_side) != 2 || dp.long_side < 32 ||
			         dp.short_side < 32 || dp.long_side > 8192 || dp.short_side > 8192)
				bad = -1;
			if (bad) {
				fprintf(stderr, "faceline detect: bad value for %s: \"%s\"\n", a, v);
				return FL_EXIT_USAGE;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "faceline detect: unknown option \"%s\"\n", a);
			detect_usage(stderr);
			return FL_EXIT_USAGE;
		} else if (!photo)
			photo = a;
		else {
			fprintf(stderr, "faceline detect: one photo at a time (got \"%s\" and \"%s\")\n", photo, a);
			return FL_EXIT_USAGE;
		}
	}
	if (!photo) {
		detect_usage(stderr);
		return FL_EXIT_USAGE;
	}

	char err[1024] = "";
	struct fl_image img = {0};
	struct fl_detector *det = NULL;
	struct fl_face *faces = NULL;
	int code = FL_EXIT_OK;

	int r = fl_image_load(photo, NULL, &img, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "faceline detect: %s\n", err);
		return fl_exit_from_status(r);
	}
	r = fl_detector_create(models, &dp, &det, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "faceline detect: %s\n", err);
		/* A missing model is a missing file; anything else about it is bad input. */
		code = fl_exit_from_status(r);
		goto done;
	}
	faces = calloc((size_t)max_faces, sizeof(*faces));
	if (!faces) {
		fprintf(stderr, "faceline detect: out of memory\n");
		code = FL_EXIT_INTERNAL;
		goto done;
	}
	int n = fl_detector_detect(det, &img, faces, max_faces);
	if (n < 0) {
		fprintf(stderr, "faceline detect: %s: %s\n", photo, fl_detector_errmsg(det));
		code = n == FL_EINVAL ? FL_EXIT_INTERNAL : fl_exit_from_status(n);
		goto done;
	}

	if (json) {
		printf("{\"file\": ");
		json_string(stdout, photo);
		printf(", \"width\": %d, \"height\": %d, \"faces\": [", img.width, img.height);
		for (int i = 0; i < n; i++) {
			const struct fl_face *f = &faces[i];
			printf("%s\n  {\"box\": [%.1f, %.1f, %.1f, %.1f], \"score\": %.4f, ", i ? "," : "", (double)f->box[0],
			       (double)f->box[1], (double)f->box[2], (double)f->box[3], (double)f->score);
			/* null: not verified (--no-verify). */
			if (f->face_score >= 0)
				printf("\"face_score\": %.4f, ", (double)f->face_score);
			else
				printf("\"face_score\": null, ");
			printf("\"landmarks\": [");
			for (int k = 0; k < 6; k++)
				printf("%s[%.1f, %.1f]", k ? ", " : "", (double)f->landmarks[k][0], (double)f->landmarks[k][1]);
			/* Eyes (subject's right, left), nose tip, mouth corners (right, left). */
			printf("], \"points\": [");
			for (int k = 0; k < 5; k++)
				printf("%s[%.1f, %.1f]", k ? ", " : "", (double)f->points[k][0], (double)f->points[k][1]);
			printf("]}");
		}
		printf("%s]}\n", n ? "\n" : "");
	} else {
		for (int i = 0; i < n; i++) {
			printf("%d  box %.0f %.0f %.0f %.0f  score %.3f", i, (double)faces[i].box[0], (double)faces[i].box[1],
			       (double)faces[i].box[2], (double)faces[i].box[3], (double)faces[i].score);
			if (faces[i].face_score >= 0)
				printf("  face %.3f", (double)faces[i].face_score);
			printf("\n");
		}
		if (!n)
			fprintf(stderr, "faceline detect: %s: no faces found\n", photo);
	}

	if (draw) {
		for (int i = 0; i < n; i++) {
			const struct fl_face *f = &faces[i];
			int t = f->box[2] > 60 ? 3 : 2;
			fl_image_draw_rect(&img, f->box[0], f->box[1], f->box[2], f->box[3], t, 0, 255, 0);
			/* BlazeFace's keypoints red; FaceMesh's five points blue. */
			for (int k = 0; k < 6; k++)
				fl_image_draw_rect(&img, f->landmarks[k][0] - 2, f->landmarks[k][1] - 2, 5, 5, 5, 255, 0, 0);
			if (f->face_score >= 0)
				for (int k = 0; k < 5; k++)
					fl_image_draw_rect(&img, f->points[k][0] - 2, f->points[k][1] - 2, 5, 5, 5, 0, 128, 255);
		}
		r = fl_image_save_png(&img, draw, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "faceline detect: %s\n", err);
			code = fl_exit_from_status(r);
		}
	}
done:
	free(faces);
	fl_detector_destroy(det);
	fl_image_fini(&img);
	return code;
}
