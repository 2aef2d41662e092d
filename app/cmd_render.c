/*
** cmd_render.c -- `faceline render RESULT.json`: make the outputs of a
** saved analysis (fl_result_load_json) without analysing again: an HTML
** report, subtitles, a CSV of detections, an annotated video, per-person
** clips (app/outputs.c writes them).  The video is --video, or the
** result's video.path when that file exists.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "faceline/fl.h"
#include "faceline/fl_render.h"

static void render_usage(FILE *f)
{
	fprintf(f,
	        "usage: faceline render RESULT.json [--video VIDEO] [--report F.html] [--vtt F.vtt] [--srt F.srt]\n"
	        "                       [--csv F.csv] [--annotate F.mp4] [--clips DIR [--crop]] [--threads N] [--quiet]\n"
	        "  Makes outputs from a result saved by `faceline analyze -o RESULT.json`, without analysing\n"
	        "  again.  At least one output is needed.\n"
	        "%s"
	        "  --video V  the analysed video (default: the result's video.path when it exists); the report\n"
	        "             takes its thumbnails from it, --annotate and --clips need it\n"
	        "  --threads N  decoder/encoder threads (default: the CPUs available)\n"
	        "  --quiet    do not list the files written\n"
	        "Exit codes: 0 ok, 1 usage, 2 the result is damaged or of another version, 3 a file or\n"
	        "folder is missing or cannot be written, 4 internal error, 5 disk full (nothing half-written).\n",
	        app_outputs_usage);
}

int cmd_render(int argc, char **argv)
{
	struct app_outputs outs = {0};
	const char *result = NULL, *video = NULL;
	int threads = 0, quiet = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int got;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			render_usage(stdout);
			return FL_EXIT_OK;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = 1;
		} else if (!strcmp(a, "--video") || !strcmp(a, "--threads")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "faceline render: %s needs a value\n", a);
				return FL_EXIT_USAGE;
			}
			const char *v = argv[++i];
			if (!strcmp(a, "--video")) {
				video = v;
			} else {
				char *end;
				long n = strtol(v, &end, 10);
				if (end == v || *end || n < 0 || n > 256) {
					fprintf(stderr, "faceline render: bad value for --threads: \"%s\" (0..256)\n", v);
					return FL_EXIT_USAGE;
				}
				threads = (int)n;
			}
		} else if ((got = app_outputs_parse(&outs, argc, argv, &i, "render")) != 0) {
			if (got < 0)
				return FL_EXIT_USAGE;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "faceline render: unknown option \"%s\"\n", a);
			render_usage(stderr);
			return FL_EXIT_USAGE;
		} else if (!result) {
			result = a;
		} else {
			fprintf(stderr, "faceline render: one result at a time (got \"%s\" and \"%s\")\n", result, a);
			return FL_EXIT_USAGE;
		}
	}
	if (!result) {
		render_usage(stderr);
		return FL_EXIT_USAGE;
	}
	if (!app_outputs_any(&outs)) {
		fprintf(stderr, "faceline render: nothing to make: give --report, --vtt, --srt, --csv, --annotate or "
		                "--clips\n");
		return FL_EXIT_USAGE;
	}
	int code = app_outputs_check(&outs, "render");
	if (code != FL_EXIT_OK)
		return code;
	if (video && access(video, R_OK) != 0) {
		fprintf(stderr, "faceline render: %s: the video cannot be opened\n", video);
		return FL_EXIT_MISSING;
	}

	char err[1024] = "";
	struct fl_result *r = NULL;
	int rc = fl_result_load_json(result, &r, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "faceline render: %s\n", err[0] ? err : fl_strerror(rc));
		return fl_exit_from_status(rc);
	}
	/* The result names the video it was made from: use it when it is there. */
	int need_video = outs.report || outs.annotate || outs.clips;
	if (!video && need_video && r->path && r->path[0] && access(r->path, R_OK) == 0)
		video = r->path;
	if (!video && outs.report && !quiet)
		fprintf(stderr, "faceline render: the video \"%s\" is not there: the report will have no thumbnails "
		                "(give --video)\n",
		        r->path ? r->path : "");
	code = app_outputs_write("render", r, video, &outs, threads, quiet ? NULL : stdout);
	fl_result_destroy(r);
	return code;
}
