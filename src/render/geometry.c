/*
** geometry.c -- where things are drawn or cut in the video outputs, from a
** struct fl_result: a track's box at any time (linear interpolation
** between its sampled detections), each detection's smoothed expression
** label, the person colours, and the crop window of a clip (a square that
** follows the face, smoothed by a centred moving average so it does not
** jitter, clamped inside the frame).
*/
#include "render_video_int.h"

#include <math.h>
#include <stdlib.h>

/* Eight colours that stay apart after 4:2:0 compression. */
static const uint8_t palette[8][3] = {
	{255, 215, 0},   /* yellow */
	{0, 200, 255},   /* cyan */
	{255, 64, 160},  /* pink */
	{64, 255, 64},   /* green */
	{255, 128, 0},   /* orange */
	{160, 96, 255},  /* violet */
	{255, 255, 255}, /* white */
	{255, 32, 32},   /* red */
};

void fl__person_rgb(int person, uint8_t rgb[3])
{
	if (person <= 0) {
		rgb[0] = rgb[1] = rgb[2] = 160;
		return;
	}
	const uint8_t *c = palette[(person - 1) % 8];
	rgb[0] = c[0];
	rgb[1] = c[1];
	rgb[2] = c[2];
}

double fl__result_interval(const struct fl_result *r)
{
	double vfps = r->video.fps > 0 ? r->video.fps : 25.0;
	if (r->params.every_frame || r->params.fps <= 0 || r->params.fps > vfps)
		return 1.0 / vfps;
	return 1.0 / r->params.fps;
}

int fl__track_box_at(const struct fl_result_track *tk, double t, double hold, double max_gap, float box[4],
                     int *det)
{
	const struct fl_result_detection *d = tk->detections;
	int n = tk->n_detections;
	const double eps = 1e-6;
	if (n <= 0 || t < d[0].t - eps || t > d[n - 1].t + hold + eps)
		return 0;
	/* The last detection at or before t. */
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (d[mid].t <= t + eps)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (det)
		*det = lo;
	if (lo == n - 1) {
		memcpy(box, d[lo].box, sizeof(d[lo].box));
		return 1;
	}
	double gap = d[lo + 1].t - d[lo].t;
	if (gap > max_gap) {
		if (t > d[lo].t + hold + eps)
			return 0;
		memcpy(box, d[lo].box, sizeof(d[lo].box));
		return 1;
	}
	double a = gap > 0 ? (t - d[lo].t) / gap : 0.0;
	a = a < 0 ? 0 : a > 1 ? 1 : a;
	for (int k = 0; k < 4; k++)
		box[k] = (float)((1.0 - a) * d[lo].box[k] + a * d[lo + 1].box[k]);
	return 1;
}

void fl__track_labels(const struct fl_result_track *tk, int *labels)
{
	const struct fl_result_detection *d = tk->detections;
	int lo = 0, hi = 0; /* the window [lo, hi) of detections near i */
	for (int i = 0; i < tk->n_detections; i++) {
		while (d[lo].t < d[i].t - FL_RESULT_SMOOTH_S - 1e-9)
			lo++;
		while (hi < tk->n_detections && d[hi].t <= d[i].t + FL_RESULT_SMOOTH_S + 1e-9)
			hi++;
		double sm[FL_EXPRESSION_N] = {0};
		for (int j = lo; j < hi; j++)
			for (int e = 0; e < FL_EXPRESSION_N; e++)
				sm[e] += d[j].expression[e];
		labels[i] = FL_RESULT_UNCERTAIN;
		for (int e = 0; e < FL_EXPRESSION_N; e++)
			if (sm[e] / (hi - lo) >= FL_RESULT_EXPRESSION_MIN)
				labels[i] = e;
	}
}

/* ------------------------------------------------------------------ crop */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

int fl__crop_init(struct fl__crop *c, const struct fl_result *r, const struct fl_result_person *pe, double t0,
                  double t1, int w, int h)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->pe = pe;
	c->t0 = t0;
	c->t1 = t1;
	c->w = w;
	c->h = h;
	c->step = r->video.fps > 0 ? 1.0 / r->video.fps : 0.04;

	/* The median face size (longer side) over the segment. */
	int n = 0;
	for (int k = 0; k < pe->n_tracks; k++) {
		const struct fl_result_track *tk = &r->tracks[pe->tracks[k] - 1];
		for (int i = 0; i < tk->n_detections; i++)
			if (tk->detections[i].t >= t0 - 1e-6 && tk->detections[i].t <= t1 + 1e-6)
				n++;
	}
	float *sz = fl_malloc(sizeof(float) * (size_t)(n ? n : 1));
	if (!sz)
		return FL_ENOMEM;
	n = 0;
	for (int k = 0; k < pe->n_tracks; k++) {
		const struct fl_result_track *tk = &r->tracks[pe->tracks[k] - 1];
		for (int i = 0; i < tk->n_detections; i++) {
			const struct fl_result_detection *d = &tk->detections[i];
			if (d->t >= t0 - 1e-6 && d->t <= t1 + 1e-6)
				sz[n++] = FL_MAX(d->box[2], d->box[3]);
		}
	}
	float face = FL_MAX(pe->thumb_box[2], pe->thumb_box[3]);
	if (n) {
		qsort(sz, (size_t)n, sizeof(float), cmp_float);
		face = sz[n / 2];
	}
	fl_free(sz);
	int limit = FL_MIN(w, h) & ~1;
	int side = (int)lround(2.75 * face);
	side = FL_MAX(side, FL_MIN(64, limit));
	side = FL_MIN(side, limit) & ~1;
	c->side = side > 0 ? side : limit;
	return 0;
}

/* The face centre at t, unsmoothed: the track of the person present at t
** (interpolated), else the person's detection nearest in time. */
static void raw_centre(const struct fl__crop *c, double t, double *cx, double *cy)
{
	const struct fl_result *r = c->r;
	const struct fl_result_person *pe = c->pe;
	float box[4];
	double best = INFINITY;
	*cx = c->w / 2.0;
	*cy = c->h / 2.0;
	for (int k = 0; k < pe->n_tracks; k++) {
		const struct fl_result_track *tk = &r->tracks[pe->tracks[k] - 1];
		if (fl__track_box_at(tk, t, 0.0, INFINITY, box, NULL)) {
			*cx = box[0] + box[2] / 2.0;
			*cy = box[1] + box[3] / 2.0;
			return;
		}
		for (int i = 0; i < tk->n_detections; i += tk->n_detections - 1 > 0 ? tk->n_detections - 1 : 1) {
			const struct fl_result_detection *d = &tk->detections[i];
			if (fabs(d->t - t) < best) {
				best = fabs(d->t - t);
				*cx = d->box[0] + d->box[2] / 2.0;
				*cy = d->box[1] + d->box[3] / 2.0;
			}
		}
	}
}

void fl__crop_at(const struct fl__crop *c, double t, int *x, int *y)
{
	int k_half = (int)lround(0.5 / c->step);
	double sx = 0, sy = 0;
	for (int k = -k_half; k <= k_half; k++) {
		double tt = t + k * c->step, cx, cy;
		tt = tt < c->t0 ? c->t0 : tt > c->t1 ? c->t1 : tt;
		raw_centre(c, tt, &cx, &cy);
		sx += cx;
		sy += cy;
	}
	double n = 2.0 * k_half + 1.0;
	long x0 = lround(sx / n - c->side / 2.0), y0 = lround(sy / n - c->side / 2.0);
	x0 = x0 < 0 ? 0 : x0 > c->w - c->side ? c->w - c->side : x0;
	y0 = y0 < 0 ? 0 : y0 > c->h - c->side ? c->h - c->side : y0;
	*x = (int)x0 & ~1;
	*y = (int)y0 & ~1;
}
