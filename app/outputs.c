/*
** outputs.c -- the output options shared by `faceline analyze` and
** `faceline render` (--report, --vtt, --srt, --csv, --annotate, --clips,
** --crop): parsing them, checking them before any work, and writing the
** requested files from a result with libfaceline's writers (fl_render.h).
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "faceline/fl.h"
#include "faceline/fl_render.h"

const char *const app_outputs_usage =
	"  --report F.html  a self-contained HTML report (timeline, thumbnails, expressions)\n"
	"  --vtt F.vtt      WebVTT subtitles, one cue per person segment (--srt F.srt: SubRip)\n"
	"  --csv F.csv      one row per detection\n"
	"  --annotate F.mp4 the video with each face's box, person and expression drawn\n"
	"  --clips DIR      one MP4 per person segment in DIR (must exist); --crop: follow the face\n";

int app_outputs_parse(struct app_outputs *o, int argc, char **argv, int *i, const char *cmd)
{
	const char *a = argv[*i];
	const char **slot = NULL;
	if (!strcmp(a, "--crop")) {
		o->crop = 1;
		return 1;
	}
	if (!strcmp(a, "--report"))
		slot = &o->report;
	else if (!strcmp(a, "--vtt"))
		slot = &o->vtt;
	else if (!strcmp(a, "--srt"))
		slot = &o->srt;
	else if (!strcmp(a, "--csv"))
		slot = &o->csv;
	else if (!strcmp(a, "--annotate"))
		slot = &o->annotate;
	else if (!strcmp(a, "--clips"))
		slot = &o->clips;
	else
		return 0;
	if (*i + 1 >= argc || !argv[*i + 1][0]) {
		fprintf(stderr, "faceline %s: %s needs a file name\n", cmd, a);
		return -1;
	}
	*slot = argv[++*i];
	return 1;
}

int app_outputs_any(const struct app_outputs *o)
{
	return o->report || o->vtt || o->srt || o->csv || o->annotate || o->clips;
}

/* The folder a file would be created in must exist: "no such directory"
** now rather than after a long analysis. */
static int dir_of_exists(const char *path)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s", path);
	char *s = strrchr(d, '/');
	if (!s)
		return 1;
	if (s == d)
		s[1] = '\0';
	else
		*s = '\0';
	struct stat st;
	return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

int app_outputs_check(const struct app_outputs *o, const char *cmd)
{
	if (o->crop && !o->clips) {
		fprintf(stderr, "faceline %s: --crop applies to --clips DIR, which is not given\n", cmd);
		return FL_EXIT_USAGE;
	}
	const char *files[] = {o->report, o->vtt, o->srt, o->csv, o->annotate};
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
		if (files[k] && !dir_of_exists(files[k])) {
			fprintf(stderr, "faceline %s: %s: the folder of this output does not exist\n", cmd, files[k]);
			return FL_EXIT_MISSING;
		}
	struct stat st;
	if (o->clips && (stat(o->clips, &st) != 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "faceline %s: %s: the clips folder does not exist (create it first)\n", cmd, o->clips);
		return FL_EXIT_MISSING;
	}
	return FL_EXIT_OK;
}

int app_outputs_write(const char *cmd, const struct fl_result *r, const char *video, const struct app_outputs *o,
                      int threads, FILE *log)
{
	char err[1024] = "";
	struct fl_render_opts ro = fl_render_default_opts();
	ro.threads = threads;
	ro.crop = o->crop;
	int rc = 0;

	if ((o->annotate || o->clips) && !video) {
		fprintf(stderr,
		        "faceline %s: --annotate and --clips need the video: give --video FILE (the result's video "
		        "\"%s\" cannot be opened)\n",
		        cmd, r->path ? r->path : "");
		return FL_EXIT_MISSING;
	}
	/* The cheap ones first; stop at the first failure. */
	if (o->vtt && (rc = fl_render_vtt(r, o->vtt, err, sizeof(err))) >= 0 && log)
		fprintf(log, "wrote %s\n", o->vtt);
	if (rc >= 0 && o->srt && (rc = fl_render_srt(r, o->srt, err, sizeof(err))) >= 0 && log)
		fprintf(log, "wrote %s\n", o->srt);
	if (rc >= 0 && o->csv && (rc = fl_render_csv(r, o->csv, err, sizeof(err))) >= 0 && log)
		fprintf(log, "wrote %s\n", o->csv);
	if (rc >= 0 && o->report && (rc = fl_render_report(r, video, o->report, &ro, err, sizeof(err))) >= 0 && log)
		fprintf(log, "wrote %s%s\n", o->report, video ? "" : " (no thumbnails: no video)");
	if (rc >= 0 && o->annotate && (rc = fl_render_annotate(r, video, o->annotate, &ro, err, sizeof(err))) >= 0 &&
	    log)
		fprintf(log, "wrote %s\n", o->annotate);
	if (rc >= 0 && o->clips && (rc = fl_render_clips(r, video, o->clips, &ro, err, sizeof(err))) >= 0 && log)
		fprintf(log, "wrote %d clip%s in %s\n", rc, rc == 1 ? "" : "s", o->clips);
	if (rc >= 0)
		return FL_EXIT_OK;
	fprintf(stderr, "faceline %s: %s\n", cmd, err[0] ? err : fl_strerror(rc));
	return fl_exit_from_status(rc);
}
