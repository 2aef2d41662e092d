/*
** timeline.c -- a person's timeline: the union of its track spans with
** short gaps closed (fl_timeline_segments) and its screen time.
*/
#include "faceline/fl_track.h"
#include "base/base_int.h"

#include <math.h>
#include <stdlib.h>

static int cmp_span(const void *pa, const void *pb)
{
	const double *a = pa, *b = pb;
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return (a[1] > b[1]) - (a[1] < b[1]);
}

int fl_timeline_segments(const double (*spans)[2], int n, double gap, double (*out)[2], int max_out)
{
	if (n < 0 || max_out < 0 || !(gap >= 0) || (n > 0 && !spans) || (max_out > 0 && !out))
		return FL_EINVAL;
	for (int i = 0; i < n; i++)
		if (isnan(spans[i][0]) || isnan(spans[i][1]) || spans[i][1] < spans[i][0])
			return FL_EINVAL;
	if (n == 0)
		return 0;

	/* Sort a copy by start time, then sweep. */
	double (*s)[2] = fl_malloc(sizeof(*s) * (size_t)n);
	if (!s)
		return FL_ENOMEM;
	memcpy(s, spans, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_span);

	int k = 0;
	double cs = s[0][0], ce = s[0][1];
	for (int i = 1; i <= n; i++) {
		/* Overlapping or touching spans always join; others when the gap
		** between them is shorter than `gap`. */
		if (i < n && (s[i][0] <= ce || s[i][0] - ce < gap)) {
			if (s[i][1] > ce)
				ce = s[i][1];
			continue;
		}
		if (k < max_out) {
			out[k][0] = cs;
			out[k][1] = ce;
		}
		k++;
		if (i < n) {
			cs = s[i][0];
			ce = s[i][1];
		}
	}
	fl_free(s);
	return k;
}

double fl_timeline_screen_time(const double (*segs)[2], int n)
{
	double t = 0;
	for (int i = 0; i < n; i++)
		t += segs[i][1] - segs[i][0];
	return t;
}
