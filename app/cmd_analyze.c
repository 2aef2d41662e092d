/*
** cmd_analyze.c -- `faceline analyze VIDEO`: run the video analysis
** (fl_analyze_file) and print a table of the persons found -- screen time,
** first and last seen, segments, dominant expression -- or, with --json,
** the result JSON v1 (docs/result-format.md) on stdout.  -o writes the JSON
** to a file as well.  A progress bar goes to stderr when stderr is a
** terminal (never with --quiet); --profile prints the time per stage.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "faceline/fl.h"
#include "faceline/fl_analyze.h"

static void analyze_usage(FILE *f)
{
	fprintf(f, "usage: faceline analyze VIDEO [-o result.json] [--fps N] [--every-frame] [--threads N]\n"
	           "                         [--gap S] [--detect-every S] [--full-every S] [--models DIR] [--profile] [--json] [--quiet]\n"
	           "  Finds every person in the video and prints one line per person: screen time,\n"
	           "  first and last seen, segments and dominant expression (times in seconds).\n"
	           "  --json prints the result JSON (docs/result-format.md) instead; -o FILE writes it.\n"
	           "  --fps N     analysis rate, frames per second (default 5); --every-frame: all frames\n"
	           "  --gap S     join a person's appearances closer than S seconds (default 1)\n"
	           "  --detect-every S  seconds between searches for new faces (default 0.4); tracked\n"
	           "              faces are followed between them; 0 = full detection on every frame\n"
	           "  --full-every S    seconds between full-resolution searches (default 1.2)\n"
	           "  --threads N threads per model (default: the CPUs available; decoding gets N/4, at least 1)\n"
	           "  --profile   print the time per stage and per model to stderr\n"
	           "  --decode-all  decode every frame (by default frames nothing references that lie\n"
	           "              between sampling instants are skipped; the analysed frames are the same)\n"
	           "  --predecode (bench) decode the whole video first, then analyse: each stage's\n"
	           "              standalone speed; memory grows with the video\n"
	           "  --quiet     no progress bar and no warnings\n");
	fputs("  Outputs made from the result (docs/outputs.md):\n", f);
	fputs(app_outputs_usage, f);
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* "1:02.5" style time for the table. */
static void fmt_time(char *buf, size_t n, double t)
{
	int m = (int)(t / 60);
	snprintf(buf, n, "%d:%04.1f", m, t - 60.0 * m);
}

static void progress_bar(void *opaque, const struct fl_analyze_progress *p)
{
	(void)opaque;
	int width = 30, fill = (int)(p->fraction * width + 0.5);
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	if (p->eta >= 0)
		fprintf(stderr, "\r[%s] %3.0f%%  %5.1f frames/s  ETA %4.0f s  %-8s", bar, p->fraction * 100, p->fps, p->eta,
		        p->stage);
	else
		fprintf(stderr, "\r[%s] %3.0f%%  %5.1f frames/s  ETA    ? s  %-8s", bar, p->fraction * 100, p->fps,
		        p->stage);
	if (!strcmp(p->stage, "done"))
		fprintf(stderr, "\r%*s\r", width + 52, "");
	fflush(stderr);
}

static void print_table(FILE *f, const struct fl_result *r)
{
	fprintf(f, "%s: %.1f s, %dx%d, %.2f frames/s; %d person%s, %lld frames analysed\n", r->path,
	        r->video.duration, r->video.width, r->video.height, r->video.fps, r->n_persons,
	        r->n_persons == 1 ? "" : "s", (long long)r->stats.frames_analysed);
	if (r->n_persons == 0)
		return;
	fprintf(f, "%-7s %11s %9s %9s  %-18s  %s\n", "person", "screen time", "first", "last", "expression",
	        "segments");
	for (int i = 0; i < r->n_persons; i++) {
		const struct fl_result_person *pe = &r->persons[i];
		char a[32], b[32];
		fmt_time(a, sizeof(a), pe->first);
		fmt_time(b, sizeof(b), pe->last);
		fprintf(f, "%-7d %10.1fs %9s %9s  %-18s ", pe->id, pe->screen_time, a, b,
		        fl_result_expression_name(pe->dominant));
		for (int k = 0; k < pe->n_segments; k++)
			fprintf(f, " %.1f-%.1f", pe->segments[k].start, pe->segments[k].end);
		fputc('\n', f);
	}
}

static void print_profile(FILE *f, const struct fl_result *r)
{
	const struct fl_result_stats *s = &r->stats;
	double dur = r->video.duration;
	double n = s->frames_analysed > 0 ? (double)s->frames_analysed : 1;
	fprintf(f, "profile (%d threads): %lld frames decoded, %lld analysed, %lld corrupt, %lld detections\n",
	        r->params.threads, (long long)s->frames_decoded, (long long)s->frames_analysed,
	        (long long)s->frames_corrupt, (long long)s->detections);
	fprintf(f, "  %-34s %9s %12s\n", "stage (model)", "seconds", "ms/frame");
	struct {
		const char *name;
		double t;
	} rows[] = {
		{"load models", s->t_load},
		{"decode (wait for frames)", s->t_decode_wait},
		{"detect (blazeface + facemesh)", s->t_detect},
		{"embed (align + MobileFaceNet)", s->t_embed},
		{"expression (FaceExpressionNet)", s->t_expression},
		{"track", s->t_track},
		{"persons + result", s->t_persons},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "  %-34s %9.3f %12.2f\n", rows[i].name, rows[i].t, 1000.0 * rows[i].t / n);
	fprintf(f, "  %-34s %9.3f\n", "total", s->t_total);
	fprintf(f, "  %-34s %9s %12s %8s\n", "model", "seconds", "ms/run", "runs");
	for (int m = 0; m < FL_PROFILE_N; m++)
		fprintf(f, "  %-34s %9.3f %12.2f %8lld\n", fl_profile_model_name(m), s->t_model[m],
		        s->n_model[m] ? 1000.0 * s->t_model[m] / (double)s->n_model[m] : 0.0, (long long)s->n_model[m]);
	fprintf(f, "  full detection on %lld of %lld analysed frames (every %.2f s; new faces every %.2f s)\n",
	        (long long)s->frames_full, (long long)s->frames_analysed, r->params.full_interval,
	        r->params.detect_interval);
	if (s->t_total > 0 && dur > 0)
		fprintf(f, "  real-time factor %.2fx (%.1f s of video), peak RSS %.1f MB\n", dur / s->t_total, dur,
		        (double)s->peak_rss / 1e6);
}

int cmd_analyze(int argc, char **argv)
{
	struct fl_analyze_params p = fl_analyze_default_params();
	const char *video = NULL, *out_path = NULL;
	int json = 0, profile = 0, quiet = 0;
	struct app_outputs outs = {0}; /* --report, --vtt, ... (app/outputs.c) */

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--profile"))
			profile = 1;
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			quiet = 1;
		else if (!strcmp(a, "--every-frame"))
			p.every_frame = 1;
		else if (!strcmp(a, "--predecode"))
			p.predecode = 1;
		else if (!strcmp(a, "--decode-all"))
			p.skip_nonref = 0;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			analyze_usage(stdout);
			return FL_EXIT_OK;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--fps") || !strcmp(a, "--threads") || !strcmp(a, "--gap") ||
		           !strcmp(a, "--models") || !strcmp(a, "--detect-every") ||
		           !strcmp(a, "--full-every")) {
			if (!v) {
				fprintf(stderr, "faceline analyze: %s needs a value\n", a);
				return FL_EXIT_USAGE;
			}
			i++;
			double d = 0;
			if (!strcmp(a, "-o"))
				out_path = v;
			else if (!strcmp(a, "--models"))
				p.models_dir = v;
			else if (!strcmp(a, "--fps"))
				bad = parse_double(v, 0.001, 1000, &p.fps);
			else if (!strcmp(a, "--gap"))
				bad = parse_double(v, 0, 1e6, &p.gap);
			else if (!strcmp(a, "--detect-every"))
				bad = parse_double(v, 0, 3600, &p.detect_interval);
			else if (!strcmp(a, "--full-every"))
				bad = parse_double(v, 0, 3600, &p.full_interval);
			else if (!(bad = parse_double(v, 0, 1024, &d)) && d == floor(d))
				p.threads = (int)d;
			else
				bad = -1;
			if (bad) {
				fprintf(stderr, "faceline analyze: bad value for %s: \"%s\"\n", a, v);
				return FL_EXIT_USAGE;
			}
		} else if ((bad = app_outputs_parse(&outs, argc, argv, &i, "analyze")) != 0) {
			if (bad < 0)
				return FL_EXIT_USAGE;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "faceline analyze: unknown option \"%s\"\n", a);
			analyze_usage(stderr);
			return FL_EXIT_USAGE;
		} else if (!video)
			video = a;
		else {
			fprintf(stderr, "faceline analyze: one video at a time (got \"%s\" and \"%s\")\n", video, a);
			return FL_EXIT_USAGE;
		}
	}
	if (!video) {
		analyze_usage(stderr);
		return FL_EXIT_USAGE;
	}
	int out_check = app_outputs_check(&outs, "analyze");
	if (out_check != FL_EXIT_OK)
		return out_check;
	if (quiet && fl_log_get_level() > FL_LOG_ERROR)
		fl_log_set_level(FL_LOG_ERROR);
	int tty = !quiet && isatty(STDERR_FILENO);
	if (tty)
		p.progress = progress_bar;

	char err[1024] = "";
	struct fl_result *res = NULL;
	int r = fl_analyze_file(video, &p, &res, err, sizeof(err));
	if (r < 0) {
		if (tty)
			fputc('\n', stderr);
		fprintf(stderr, "faceline analyze: %s\n", err[0] ? err : fl_strerror(r));
		/* A path that is not a readable video of ours is bad input even
		** when the code is generic. */
		return fl_exit_from_status(r);
	}
	int code = FL_EXIT_OK;
	if (out_path && (r = fl_result_save_json(res, out_path, err, sizeof(err))) < 0) {
		fprintf(stderr, "faceline analyze: %s\n", err);
		code = FL_EXIT_MISSING;
	}
	if (code == FL_EXIT_OK && app_outputs_any(&outs))
		code = app_outputs_write("analyze", res, video, &outs, p.threads, NULL);
	if (json) {
		if (fl_result_write_json(res, stdout) < 0) {
			fprintf(stderr, "faceline analyze: writing the JSON to stdout failed\n");
			code = FL_EXIT_INTERNAL;
		}
	} else
		print_table(stdout, res);
	if (profile)
		print_profile(stderr, res);
	fl_result_destroy(res);
	return code;
}
