/*
** track_cluster.c -- tests of fl_cluster_tracks (persons from tracks) and
** fl_timeline_segments on synthetic data: three identities with several
** tracks each cluster into exactly three persons; simultaneous tracks never
** merge, however similar; persons are numbered by first appearance; short
** tracks join, stand alone or drop; timelines close gaps shorter than the
** tolerance; allocation failures return FL_ENOMEM without leaks.
*/
#include "fl_test.h"
#include "track_util.h"

#include "faceline/fl_track.h"

static float embs[64][TU_DIM];

static struct fl_track_summary mk(int i, double start, double end, int n_dets, const float *e)
{
	struct fl_track_summary s;
	memset(&s, 0, sizeof(s));
	s.id = i + 1;
	s.confirmed = 1;
	s.n_dets = n_dets;
	s.start = start;
	s.end = end;
	s.start_frame = (int64_t)llround(start * 25);
	s.end_frame = (int64_t)llround(end * 25);
	if (e) {
		memcpy(embs[i], e, sizeof(embs[i]));
		s.emb = embs[i];
		s.emb_dim = TU_DIM;
	}
	return s;
}

FL_TEST(track_cluster_three_identities)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct fl_test_rng r = {seed};
		float idv[3][TU_DIM], e[TU_DIM];
		tu_identities(&r, 3, idv);
		/* 15 tracks, identities in a shuffled order, one after another in
		** time (no overlaps), so only embeddings decide. */
		struct fl_track_summary t[15];
		int truth[15];
		double within = 0, between = 0;
		int nw = 0, nb = 0;
		for (int i = 0; i < 15; i++) {
			truth[i] = (int)fl_test_uniform(&r, 0, 3);
			if (i < 3)
				truth[i] = i; /* each identity appears */
			tu_sample(&r, idv[truth[i]], 0.65f, e);
			t[i] = mk(i, 2.0 * i, 2.0 * i + 1.5, 8, e);
		}
		for (int i = 0; i < 15; i++)
			for (int j = i + 1; j < 15; j++) {
				float c = tu_cos(t[i].emb, t[j].emb);
				if (truth[i] == truth[j])
					within += c, nw++;
				else
					between += c, nb++;
			}
		if (seed == 1)
			printf("  mean cosine within %.2f, between %.2f\n", within / nw, between / nb);
		int person[15];
		ASSERT_EQ(fl_cluster_tracks(t, 15, NULL, person), 3);
		/* One-to-one map identity <-> person, and ids by first appearance
		** (identity 0 appears first, then 1, then 2). */
		for (int i = 0; i < 15; i++)
			ASSERT_MSG(person[i] == truth[i] + 1, "seed %d track %d: person %d, identity %d", (int)seed, i,
			           person[i], truth[i]);
	}
}

FL_TEST(track_cluster_cannot_link)
{
	struct fl_test_rng r = {4};
	float idv[1][TU_DIM], e[TU_DIM];
	tu_identities(&r, 1, idv);
	struct fl_track_summary t[3];
	int person[3];
	/* Two tracks on screen together with near-identical embeddings (twins,
	** a photo on the wall): two persons. */
	tu_sample(&r, idv[0], 0.1f, e);
	t[0] = mk(0, 0, 10, 50, e);
	tu_sample(&r, idv[0], 0.1f, e);
	t[1] = mk(1, 5, 15, 50, e);
	ASSERT(tu_cos(t[0].emb, t[1].emb) > 0.95f);
	ASSERT_EQ(fl_cluster_tracks(t, 2, NULL, person), 2);
	ASSERT_EQ(person[0], 1);
	ASSERT_EQ(person[1], 2);
	/* Overlap by one analysed frame is enough (end frame == start frame). */
	t[1] = mk(1, 10, 15, 50, e);
	ASSERT_EQ(fl_cluster_tracks(t, 2, NULL, person), 2);
	/* A gap of one frame: the same person. */
	t[1] = mk(1, 10.04, 15, 50, e);
	ASSERT_EQ(fl_cluster_tracks(t, 2, NULL, person), 1);
	/* A third similar track later joins one of them, never both. */
	t[1] = mk(1, 5, 15, 50, e);
	tu_sample(&r, idv[0], 0.1f, e);
	t[2] = mk(2, 20, 30, 50, e);
	ASSERT_EQ(fl_cluster_tracks(t, 3, NULL, person), 2);
	ASSERT(person[0] != person[1]);
	ASSERT(person[2] == person[0] || person[2] == person[1]);
}

FL_TEST(track_cluster_first_appearance_order)
{
	struct fl_test_rng r = {8};
	float idv[3][TU_DIM], e[TU_DIM];
	tu_identities(&r, 3, idv);
	struct fl_track_summary t[5];
	int person[5];
	/* Listed out of time order on purpose. */
	tu_sample(&r, idv[2], 0.3f, e);
	t[0] = mk(0, 30, 40, 20, e);
	tu_sample(&r, idv[0], 0.3f, e);
	t[1] = mk(1, 50, 60, 20, e);
	tu_sample(&r, idv[1], 0.3f, e);
	t[2] = mk(2, 1, 5, 20, e);
	tu_sample(&r, idv[0], 0.3f, e);
	t[3] = mk(3, 12, 20, 20, e);
	tu_sample(&r, idv[2], 0.3f, e);
	t[4] = mk(4, 70, 80, 20, e);
	ASSERT_EQ(fl_cluster_tracks(t, 5, NULL, person), 3);
	ASSERT_EQ(person[2], 1); /* identity 1 first at 1 s */
	ASSERT_EQ(person[3], 2); /* identity 0 at 12 s */
	ASSERT_EQ(person[1], 2);
	ASSERT_EQ(person[0], 3); /* identity 2 at 30 s */
	ASSERT_EQ(person[4], 3);
}

FL_TEST(track_cluster_short_tracks)
{
	struct fl_test_rng r = {12};
	float idv[2][TU_DIM], e[TU_DIM];
	tu_identities(&r, 2, idv);
	struct fl_track_summary t[5];
	int person[5];
	tu_sample(&r, idv[0], 0.3f, e);
	t[0] = mk(0, 0, 10, 40, e);
	tu_sample(&r, idv[1], 0.3f, e);
	t[1] = mk(1, 20, 30, 40, e);
	/* Short: one detection of identity 0 later (joins person 1), one of a
	** stranger (dropped by default, own person with keep_short), one
	** unconfirmed during person 1's track (cannot join it: dropped). */
	tu_sample(&r, idv[0], 0.3f, e);
	t[2] = mk(2, 40, 40, 1, e);
	float stranger[1][TU_DIM];
	tu_identities(&r, 1, stranger);
	t[3] = mk(3, 45, 45, 1, stranger[0]);
	tu_sample(&r, idv[0], 0.3f, e);
	t[4] = mk(4, 5, 5.2, 2, e);
	t[4].confirmed = 0;
	ASSERT_EQ(fl_cluster_tracks(t, 5, NULL, person), 2);
	ASSERT_EQ(person[0], 1);
	ASSERT_EQ(person[1], 2);
	ASSERT_EQ(person[2], 1);
	ASSERT_EQ(person[3], 0);
	ASSERT_EQ(person[4], 0);
	struct fl_cluster_params p = fl_cluster_default_params();
	p.keep_short = 1;
	ASSERT_EQ(fl_cluster_tracks(t, 5, &p, person), 4);
	ASSERT_EQ(person[4], 2); /* at 5 s: after person 1 (0 s), before identity 1 (20 s) */
	ASSERT_EQ(person[1], 3);
	ASSERT_EQ(person[3], 4);
	/* Tracks without embeddings are their own persons. */
	t[0].emb = NULL;
	t[1].emb = NULL;
	ASSERT_EQ(fl_cluster_tracks(t, 2, NULL, person), 2);
	/* Empty and bad input. */
	ASSERT_EQ(fl_cluster_tracks(NULL, 0, NULL, NULL), 0);
	ASSERT_EQ(fl_cluster_tracks(NULL, 2, NULL, person), FL_EINVAL);
}

FL_TEST(track_cluster_alloc_failures)
{
	struct fl_test_rng r = {3};
	float idv[3][TU_DIM], e[TU_DIM];
	tu_identities(&r, 3, idv);
	struct fl_track_summary t[12];
	for (int i = 0; i < 12; i++) {
		tu_sample(&r, idv[i % 3], 0.5f, e);
		t[i] = mk(i, 3.0 * i, 3.0 * i + 2, i == 11 ? 1 : 5, e);
	}
	int ref[12], got[12];
	long live0 = fl_alloc_live();
	ASSERT_EQ(fl_cluster_tracks(t, 12, NULL, ref), 3);
	int points = 0;
	for (int i = 1; i < 1000; i++) {
		fl_alloc_fail_after(i, 1);
		int rc = fl_cluster_tracks(t, 12, NULL, got);
		int failed = fl_alloc_fail_after(0, 0);
		ASSERT_EQ(fl_alloc_live(), live0);
		if (!failed) {
			ASSERT_EQ(rc, 3);
			ASSERT(!memcmp(got, ref, sizeof(ref)));
			break;
		}
		ASSERT_EQ(rc, FL_ENOMEM);
		for (int k = 0; k < 12; k++)
			ASSERT_EQ(got[k], 0);
		points++;
	}
	ASSERT(points >= 5);

	double spans[3][2] = {{0, 1}, {1.5, 2}, {5, 6}}, out[3][2];
	fl_alloc_fail_after(1, 0);
	ASSERT_EQ(fl_timeline_segments(spans, 3, 1.0, out, 3), FL_ENOMEM);
	fl_alloc_fail_after(0, 0);
	ASSERT_EQ(fl_alloc_live(), live0);
}

/* A larger problem: 300 tracks of 30 identities, consistent with the truth. */
FL_TEST(track_cluster_many)
{
	struct fl_test_rng r = {21};
	static float idv[30][TU_DIM];
	float e[TU_DIM];
	tu_identities(&r, 30, idv);
	int n = 300;
	struct fl_track_summary *t = calloc((size_t)n, sizeof(*t));
	float (*eb)[TU_DIM] = calloc((size_t)n, sizeof(*eb));
	int *truth = calloc((size_t)n, sizeof(int)), *person = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++) {
		truth[i] = i < 30 ? i : (int)fl_test_uniform(&r, 0, 30);
		tu_sample(&r, idv[truth[i]], 0.65f, e);
		memcpy(eb[i], e, sizeof(e));
		t[i].id = i + 1;
		t[i].confirmed = 1;
		t[i].n_dets = 10;
		t[i].start = i;
		t[i].end = i + 0.5;
		t[i].start_frame = 10 * i;
		t[i].end_frame = 10 * i + 5;
		t[i].emb = eb[i];
		t[i].emb_dim = TU_DIM;
	}
	ASSERT_EQ(fl_cluster_tracks(t, n, NULL, person), 30);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(person[i], truth[i] + 1);
	free(t);
	free(eb);
	free(truth);
	free(person);
}

/* ------------------------------------------------------------- timelines */

FL_TEST(track_timeline_gaps)
{
	double out[4][2];
	/* 0.9 s gap closed at gap = 1, 1.1 s gap not. */
	double a[2][2] = {{0, 2}, {2.9, 4}};
	ASSERT_EQ(fl_timeline_segments(a, 2, 1.0, out, 4), 1);
	ASSERT_NEAR(out[0][0], 0, 0);
	ASSERT_NEAR(out[0][1], 4, 0);
	double b[2][2] = {{0, 2}, {3.1, 4}};
	ASSERT_EQ(fl_timeline_segments(b, 2, 1.0, out, 4), 2);
	ASSERT_NEAR(out[1][0], 3.1, 0);
	ASSERT_NEAR(fl_timeline_screen_time(out, 2), 2.9, 1e-12);
	/* Unsorted, overlapping, nested and touching spans, gap 0. */
	double c[5][2] = {{10, 12}, {0, 3}, {1, 2}, {3, 4}, {11, 11.5}};
	ASSERT_EQ(fl_timeline_segments(c, 5, 0, out, 4), 2);
	ASSERT_NEAR(out[0][0], 0, 0);
	ASSERT_NEAR(out[0][1], 4, 0);
	ASSERT_NEAR(out[1][0], 10, 0);
	ASSERT_NEAR(out[1][1], 12, 0);
	ASSERT_NEAR(fl_timeline_screen_time(out, 2), 6, 1e-12);
	/* Sizing call and truncated output. */
	double d[3][2] = {{0, 1}, {5, 6}, {10, 11}};
	ASSERT_EQ(fl_timeline_segments(d, 3, 1.0, NULL, 0), 3);
	out[1][0] = -7;
	ASSERT_EQ(fl_timeline_segments(d, 3, 1.0, out, 1), 3);
	ASSERT_NEAR(out[0][1], 1, 0);
	ASSERT_NEAR(out[1][0], -7, 0);
	/* Empty, zero-length spans, bad input. */
	ASSERT_EQ(fl_timeline_segments(NULL, 0, 1.0, out, 4), 0);
	ASSERT_NEAR(fl_timeline_screen_time(out, 0), 0, 0);
	double z[2][2] = {{3, 3}, {3.5, 3.5}};
	ASSERT_EQ(fl_timeline_segments(z, 2, 1.0, out, 4), 1);
	ASSERT_NEAR(out[0][1], 3.5, 0);
	double bad[1][2] = {{2, 1}};
	ASSERT_EQ(fl_timeline_segments(bad, 1, 1.0, out, 4), FL_EINVAL);
	ASSERT_EQ(fl_timeline_segments(d, 3, -1, out, 4), FL_EINVAL);
	ASSERT_EQ(fl_timeline_segments(d, 3, NAN, out, 4), FL_EINVAL);
}
