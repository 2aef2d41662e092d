/*
** cluster.c -- fl_cluster_tracks: tracks grouped into persons by their mean
** embeddings, average linkage, with the cannot-link rule.
**
** The "long" tracks (confirmed, at least min_dets detections, with an
** embedding) are clustered agglomeratively: start with one cluster per
** track, repeatedly merge the two clusters of highest average cosine (the
** mean over all cross pairs of member tracks) while it is >= same_person
** and no member of one overlaps in time a member of the other.  The
** cluster-to-cluster similarities are kept in a matrix updated by the
** Lance-Williams formula for average linkage, and the cannot-link relation
** by OR-ing rows, so a merge costs O(n); each row caches its best allowed
** partner, recomputed only when that partner was merged (average linkage
** never makes a merged cluster more similar than the better of its parts,
** and cannot-links only grow), which makes the whole about O(n^2).
**
** Short tracks join afterwards, one by one, so that a single noisy crop
** cannot bridge two people; see fl_cluster_params in fl_track.h.
*/
#include "faceline/fl_track.h"
#include "base/base_int.h"
#include "track_int.h"

#include <math.h>
#include <stdlib.h>

#define NO_SIM (-3.0f) /* below any cosine: "never merge" */

struct fl_cluster_params fl_cluster_default_params(void)
{
	struct fl_cluster_params p = {
		.same_person = 0.55f,
		.min_dets = 2,
		.short_match = 0.6f,
		.keep_short = 0,
	};
	return p;
}

static int overlap(const struct fl_track_summary *a, const struct fl_track_summary *b)
{
	return a->start_frame <= b->end_frame && b->start_frame <= a->end_frame;
}

static float track_sim(const struct fl_track_summary *a, const struct fl_track_summary *b)
{
	if (!a->emb || !b->emb || a->emb_dim != b->emb_dim || a->emb_dim <= 0)
		return NO_SIM;
	return fl__cosine(a->emb, b->emb, a->emb_dim);
}

/* Row k's best allowed partner among active clusters (-1 if none). */
static void row_best(int m, const float *sim, const unsigned char *cl, const unsigned char *alive, int k, int *best)
{
	int b = -1;
	float bs = NO_SIM;
	for (int l = 0; l < m; l++) {
		if (l == k || !alive[l] || cl[(size_t)k * m + l])
			continue;
		float s = sim[(size_t)k * m + l];
		if (b < 0 || s > bs) {
			b = l;
			bs = s;
		}
	}
	best[k] = b;
}

/* Sort key for numbering persons: first appearance, then track index. */
struct label_key {
	double start;
	int first, label;
};

static int cmp_key(const void *pa, const void *pb)
{
	const struct label_key *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->first > b->first) - (a->first < b->first);
}

int fl_cluster_tracks(const struct fl_track_summary *tracks, int n, const struct fl_cluster_params *p,
                      int *person_of_track)
{
	struct fl_cluster_params def = fl_cluster_default_params();
	float *sim = NULL;
	unsigned char *cl = NULL, *alive = NULL;
	int *idx = NULL, *best = NULL, *size = NULL, *parent = NULL, *lab = NULL, *cnt = NULL;
	double *sum = NULL;
	unsigned char *conflict = NULL;
	struct label_key *keys = NULL;
	int m = 0, n_lab = 0, ret = FL_ENOMEM;

	if (n < 0 || (n > 0 && (!tracks || !person_of_track)))
		return FL_EINVAL;
	if (!p)
		p = &def;
	if (isnan(p->same_person) || isnan(p->short_match) || p->min_dets < 0)
		return FL_EINVAL;
	for (int i = 0; i < n; i++)
		person_of_track[i] = 0;
	if (n == 0)
		return 0;

	idx = fl_malloc(sizeof(int) * n);
	lab = fl_malloc(sizeof(int) * n);
	if (!idx || !lab)
		goto fail;

	/* ---- long tracks with embeddings: agglomerative clustering. */
	for (int i = 0; i < n; i++) {
		const struct fl_track_summary *t = &tracks[i];
		int is_short = !t->confirmed || t->n_dets < p->min_dets;
		lab[i] = -1;
		if (!is_short && t->emb && t->emb_dim > 0)
			idx[m++] = i;
	}
	if (m > 0) {
		sim = fl_malloc(sizeof(float) * (size_t)m * m);
		cl = fl_malloc((size_t)m * m);
		alive = fl_malloc((size_t)m);
		best = fl_malloc(sizeof(int) * m);
		size = fl_malloc(sizeof(int) * m);
		parent = fl_malloc(sizeof(int) * m);
		if (!sim || !cl || !alive || !best || !size || !parent)
			goto fail;
		for (int a = 0; a < m; a++) {
			alive[a] = 1;
			size[a] = 1;
			parent[a] = a;
			sim[(size_t)a * m + a] = 1;
			cl[(size_t)a * m + a] = 0;
			for (int b = a + 1; b < m; b++) { /* symmetric: one half, mirrored */
				const struct fl_track_summary *ta = &tracks[idx[a]], *tb = &tracks[idx[b]];
				sim[(size_t)a * m + b] = sim[(size_t)b * m + a] = track_sim(ta, tb);
				cl[(size_t)a * m + b] = cl[(size_t)b * m + a] = (unsigned char)overlap(ta, tb);
			}
		}
		for (int a = 0; a < m; a++)
			row_best(m, sim, cl, alive, a, best);

		for (;;) {
			/* The globally best allowed pair. */
			int i = -1;
			float bs = NO_SIM;
			for (int a = 0; a < m; a++) {
				if (!alive[a] || best[a] < 0)
					continue;
				float s = sim[(size_t)a * m + best[a]];
				if (i < 0 || s > bs) {
					i = a;
					bs = s;
				}
			}
			if (i < 0 || !(bs >= p->same_person))
				break;
			int j = best[i];
			/* Merge j into i: Lance-Williams average linkage, OR of the
			** cannot-links. */
			alive[j] = 0;
			parent[j] = i;
			float wi = (float)size[i] / (float)(size[i] + size[j]), wj = 1 - wi;
			for (int k = 0; k < m; k++) {
				if (!alive[k] || k == i)
					continue;
				float si = sim[(size_t)k * m + i], sj = sim[(size_t)k * m + j];
				float s = (si <= NO_SIM || sj <= NO_SIM) ? NO_SIM : wi * si + wj * sj;
				sim[(size_t)k * m + i] = sim[(size_t)i * m + k] = s;
				unsigned char c = cl[(size_t)k * m + i] | cl[(size_t)k * m + j];
				cl[(size_t)k * m + i] = cl[(size_t)i * m + k] = c;
			}
			size[i] += size[j];
			for (int k = 0; k < m; k++) {
				if (!alive[k] || k == i)
					continue;
				if (best[k] == i || best[k] == j)
					row_best(m, sim, cl, alive, k, best);
				else if (!cl[(size_t)k * m + i] &&
				         (best[k] < 0 || sim[(size_t)k * m + i] > sim[(size_t)k * m + best[k]]))
					best[k] = i;
			}
			row_best(m, sim, cl, alive, i, best);
		}
		/* Label each long track by its cluster's root. */
		for (int a = 0; a < m; a++)
			if (alive[a])
				best[a] = n_lab++; /* reuse best[] as root -> label */
		for (int a = 0; a < m; a++) {
			int r = a;
			while (parent[r] != r)
				r = parent[r];
			lab[idx[a]] = best[r];
		}
	}

	/* ---- long tracks without an embedding: each its own person. */
	for (int i = 0; i < n; i++) {
		const struct fl_track_summary *t = &tracks[i];
		if (lab[i] < 0 && t->confirmed && t->n_dets >= p->min_dets && !(t->emb && t->emb_dim > 0))
			lab[i] = n_lab++;
	}

	/* ---- short tracks: join a confident match, or stand alone, or drop. */
	sum = fl_malloc(sizeof(double) * n);
	cnt = fl_malloc(sizeof(int) * n);
	conflict = fl_malloc((size_t)n);
	if (!sum || !cnt || !conflict)
		goto fail;
	for (int s = 0; s < n; s++) {
		const struct fl_track_summary *ts = &tracks[s];
		if (lab[s] >= 0 || (ts->confirmed && ts->n_dets >= p->min_dets))
			continue;
		int pick = -1;
		if (ts->emb && ts->emb_dim > 0) {
			for (int l = 0; l < n_lab; l++) {
				sum[l] = 0;
				cnt[l] = 0;
				conflict[l] = 0;
			}
			for (int i = 0; i < n; i++) {
				if (lab[i] < 0)
					continue;
				if (overlap(ts, &tracks[i]))
					conflict[lab[i]] = 1;
				float c = track_sim(ts, &tracks[i]);
				if (c > NO_SIM) {
					sum[lab[i]] += c;
					cnt[lab[i]]++;
				}
			}
			double bs = 0;
			for (int l = 0; l < n_lab; l++) {
				if (conflict[l] || cnt[l] == 0)
					continue;
				double avg = sum[l] / cnt[l];
				if (avg >= p->short_match && (pick < 0 || avg > bs)) {
					pick = l;
					bs = avg;
				}
			}
		}
		if (pick >= 0)
			lab[s] = pick;
		else if (p->keep_short)
			lab[s] = n_lab++;
	}

	/* ---- number persons by first appearance. */
	keys = fl_malloc(sizeof(*keys) * (n_lab > 0 ? n_lab : 1));
	if (!keys)
		goto fail;
	for (int l = 0; l < n_lab; l++) {
		keys[l].start = INFINITY;
		keys[l].first = n;
		keys[l].label = l;
	}
	for (int i = 0; i < n; i++) {
		int l = lab[i];
		if (l < 0)
			continue;
		if (tracks[i].start < keys[l].start || (tracks[i].start == keys[l].start && i < keys[l].first)) {
			keys[l].start = tracks[i].start;
			keys[l].first = i;
		}
	}
	qsort(keys, (size_t)n_lab, sizeof(*keys), cmp_key);
	for (int r = 0; r < n_lab; r++)
		cnt[keys[r].label] = r + 1; /* reuse cnt[] as label -> person */
	for (int i = 0; i < n; i++)
		person_of_track[i] = lab[i] >= 0 ? cnt[lab[i]] : 0;
	ret = n_lab;

fail:
	fl_free(sim);
	fl_free(cl);
	fl_free(alive);
	fl_free(idx);
	fl_free(best);
	fl_free(size);
	fl_free(parent);
	fl_free(lab);
	fl_free(sum);
	fl_free(cnt);
	fl_free(conflict);
	fl_free(keys);
	return ret;
}
