/*
** subs.c -- the text outputs of a result: subtitles (WebVTT and SubRip, one
** cue per person segment) and a CSV of every detection.
**
** Cues: one per segment of each person, sorted by start time (then by
** person id), text "Person 2 — happy" with the person's dominant expression
** (fl_result_person.dominant), or just "Person 2" when the dominant label
** is "uncertain" -- a subtitle saying "neutral/uncertain" would read as a
** claim.  Times are rounded to the millisecond; a cue never ends before it
** starts a millisecond later (players drop empty cues).
**
** CSV (RFC 4180: comma separated, CRLF line ends, a header row, fields with
** commas, quotes or line breaks quoted): one row per detection, ordered by
** time then track id, columns track, person, t, frame, x, y, w, h, score,
** face_score and the seven expression probabilities in enum
** fl_expression_class order.  docs/outputs.md is the reference.
**
** Each file is written under a temporary name and renamed into place when
** complete (outfile.c).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base_int.h"
#include "render_int.h"

/* ================================================================ cues */

struct cue {
	double start, end;
	const struct fl_result_person *pe;
};

static int cue_cmp(const void *a, const void *b)
{
	const struct cue *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->pe->id != y->pe->id)
		return x->pe->id < y->pe->id ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* All segments of all persons as cues, sorted; *n their count.  Returns
** 0 or FL_ENOMEM; *out is fl_free'd by the caller. */
static int make_cues(const struct fl_result *r, struct cue **out, size_t *n)
{
	size_t total = 0;
	for (int i = 0; i < r->n_persons; i++)
		total += (size_t)(r->persons[i].n_segments > 0 ? r->persons[i].n_segments : 0);
	struct cue *c = fl_malloc((total ? total : 1) * sizeof(*c));
	if (!c)
		return FL_ENOMEM;
	size_t k = 0;
	for (int i = 0; i < r->n_persons; i++)
		for (int j = 0; j < r->persons[i].n_segments; j++) {
			c[k].start = r->persons[i].segments[j].start;
			c[k].end = r->persons[i].segments[j].end;
			c[k].pe = &r->persons[i];
			k++;
		}
	if (k > 1)
		qsort(c, k, sizeof(*c), cue_cmp);
	*out = c;
	*n = k;
	return 0;
}

/* Whole milliseconds of a time in seconds (negative and non-finite -> 0). */
static int64_t to_ms(double t)
{
	if (!(t > 0))
		return 0;
	if (t > 1e9)
		t = 1e9;
	return (int64_t)llround(t * 1000.0);
}

/* HH:MM:SS<sep>mmm (hours at least two digits). */
static void fmt_ts(char *buf, size_t n, int64_t ms, char sep)
{
	snprintf(buf, n, "%02lld:%02d:%02d%c%03d", (long long)(ms / 3600000), (int)(ms / 60000 % 60),
	         (int)(ms / 1000 % 60), sep, (int)(ms % 1000));
}

/* The cue's text: "Person 2 — happy" or "Person 2". */
static void cue_text(char *buf, size_t n, const struct fl_result_person *pe)
{
	if (pe->dominant >= 0 && pe->dominant < FL_EXPRESSION_N)
		snprintf(buf, n, "Person %d \xe2\x80\x94 %s", pe->id, fl_expression_label(pe->dominant));
	else
		snprintf(buf, n, "Person %d", pe->id);
}

/* Write the cues as WebVTT (srt = 0) or SubRip (srt = 1). */
static int write_subs(const struct fl_result *r, const char *out, int srt, char *err, size_t err_size)
{
	if (!r) {
		fl__errf(err, err_size, "%s: no result given", out ? out : "(null)");
		return FL_EINVAL;
	}
	struct cue *c = NULL;
	size_t n = 0;
	if (make_cues(r, &c, &n) < 0) {
		fl__errf(err, err_size, "%s: out of memory", out ? out : "(null)");
		return FL_ENOMEM;
	}
	char tmp[FL__PATH_MAX];
	FILE *f = NULL;
	int rc = fl__out_fopen_status(out, tmp, &f, err, err_size);
	if (rc < 0) {
		fl_free(c);
		return rc;
	}
	if (!srt)
		fputs("WEBVTT\n\n", f);
	for (size_t i = 0; i < n; i++) {
		int64_t a = to_ms(c[i].start), b = to_ms(c[i].end);
		if (b <= a)
			b = a + 1;
		char ta[32], tb[32], text[64];
		fmt_ts(ta, sizeof(ta), a, srt ? ',' : '.');
		fmt_ts(tb, sizeof(tb), b, srt ? ',' : '.');
		cue_text(text, sizeof(text), c[i].pe);
		if (srt)
			fprintf(f, "%zu\n%s --> %s\n%s\n\n", i + 1, ta, tb, text);
		else
			fprintf(f, "%s --> %s\n%s\n\n", ta, tb, text);
	}
	fl_free(c);
	return fl__out_commit(f, tmp, out, 0, err, err_size);
}

int fl_render_vtt(const struct fl_result *r, const char *out, char *err, size_t err_size)
{
	return write_subs(r, out, 0, err, err_size);
}

int fl_render_srt(const struct fl_result *r, const char *out, char *err, size_t err_size)
{
	return write_subs(r, out, 1, err, err_size);
}

/* ================================================================= CSV */

/* One field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

struct row {
	double t;
	int track; /* index into r->tracks */
	int det;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->track != y->track)
		return x->track < y->track ? -1 : 1;
	return x->det - y->det;
}

/* Non-finite values (never in a real result) print as 0. */
static double fin(double v)
{
	return isfinite(v) ? v : 0;
}

int fl_render_csv(const struct fl_result *r, const char *out, char *err, size_t err_size)
{
	if (!r) {
		fl__errf(err, err_size, "%s: no result given", out ? out : "(null)");
		return FL_EINVAL;
	}
	size_t n = 0;
	for (int i = 0; i < r->n_tracks; i++)
		n += (size_t)(r->tracks[i].n_detections > 0 ? r->tracks[i].n_detections : 0);
	struct row *rows = fl_malloc((n ? n : 1) * sizeof(*rows));
	if (!rows) {
		fl__errf(err, err_size, "%s: out of memory for %zu rows", out ? out : "(null)", n);
		return FL_ENOMEM;
	}
	size_t k = 0;
	for (int i = 0; i < r->n_tracks; i++)
		for (int j = 0; j < r->tracks[i].n_detections; j++)
			rows[k++] = (struct row){r->tracks[i].detections[j].t, i, j};
	if (k > 1)
		qsort(rows, k, sizeof(*rows), row_cmp);

	char tmp[FL__PATH_MAX];
	FILE *f = NULL;
	int rc = fl__out_fopen_status(out, tmp, &f, err, err_size);
	if (rc < 0) {
		fl_free(rows);
		return rc;
	}
	static const char *const head[] = {"track", "person", "t", "frame", "x", "y", "w", "h", "score", "face_score"};
	for (size_t h = 0; h < FL_ARRAY_SIZE(head); h++) {
		if (h)
			fputc(',', f);
		csv_field(f, head[h]);
	}
	for (int e = 0; e < FL_EXPRESSION_N; e++) {
		fputc(',', f);
		csv_field(f, fl_expression_label(e));
	}
	fputs("\r\n", f);
	for (size_t i = 0; i < k && !ferror(f); i++) {
		const struct fl_result_track *tk = &r->tracks[rows[i].track];
		const struct fl_result_detection *d = &tk->detections[rows[i].det];
		fprintf(f, "%d,%d,%.4f,%lld,%.2f,%.2f,%.2f,%.2f,%.4f,%.4f", tk->id, tk->person, fin(d->t),
		        (long long)d->frame, fin(d->box[0]), fin(d->box[1]), fin(d->box[2]), fin(d->box[3]),
		        fin(d->score), fin(d->face_score));
		for (int e = 0; e < FL_EXPRESSION_N; e++)
			fprintf(f, ",%.4f", fin(d->expression[e]));
		fputs("\r\n", f);
	}
	fl_free(rows);
	return fl__out_commit(f, tmp, out, 0, err, err_size);
}
