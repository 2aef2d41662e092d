/*
** track_tracker.c -- tests of struct fl_tracker on synthetic detections:
** constant-velocity faces with noise keep their ids, crossing faces keep
** theirs thanks to embeddings, misses shorter than max_missed_s are
** bridged and longer ones start a new track, low-score detections continue
** but never start tracks, irregular sampling, tentative tracks, bad input,
** and allocation failures (clean FL_ENOMEM, no leak, tracker unchanged).
*/
#include "fl_test.h"
#include "track_util.h"

#include "faceline/fl_track.h"

/* A synthetic face: box at time t = start box + velocity * t. */
struct obj {
	float x, y, w, h, vx, vy; /* pixels, pixels per second */
	int ident;
	float bounce; /* > 0: the velocity reverses at this time (seconds) */
};

static void obj_box(const struct obj *o, double t, struct fl_test_rng *r, float noise, float *b)
{
	float te = (float)t;
	if (o->bounce > 0 && te > o->bounce)
		te = 2 * o->bounce - te; /* back the way it came */
	b[0] = o->x + o->vx * te + fl_test_uniform(r, -noise, noise);
	b[1] = o->y + o->vy * te + fl_test_uniform(r, -noise, noise);
	b[2] = o->w + fl_test_uniform(r, -noise, noise);
	b[3] = o->h + fl_test_uniform(r, -noise, noise);
}

/* Run objects over frames at times ts[]; present(o, f) says whether object
** o is detected at frame f; ids[f][o] receives the id (0 when absent).
** Returns the number of tracks created. */
#define MAX_OBJ 4
#define MAX_FR 200
static int ids[MAX_FR][MAX_OBJ];

static int run_objs(struct fl_tracker *tr, const struct obj *objs, int n_obj, const double *ts, int n_fr, int use_emb,
                    float noise, float score, int (*present)(int o, int f), uint64_t seed)
{
	struct fl_test_rng r = {seed};
	float idv[MAX_OBJ][TU_DIM], emb[MAX_OBJ][TU_DIM];
	tu_identities(&r, MAX_OBJ, idv);
	for (int f = 0; f < n_fr; f++) {
		struct fl_track_det d[MAX_OBJ];
		int map[MAX_OBJ], n = 0, out[MAX_OBJ];
		for (int o = 0; o < n_obj; o++) {
			ids[f][o] = 0;
			if (present && !present(o, f))
				continue;
			memset(&d[n], 0, sizeof(d[n]));
			obj_box(&objs[o], ts[f], &r, noise, d[n].box);
			d[n].score = score;
			d[n].quality = fl_test_uniform(&r, 0.5f, 1);
			if (use_emb) {
				tu_sample(&r, idv[objs[o].ident], 0.5f, emb[o]);
				d[n].emb = emb[o];
				d[n].emb_dim = TU_DIM;
			}
			map[n++] = o;
		}
		int rc = fl_tracker_update(tr, ts[f], f, d, n, out);
		if (rc < 0)
			return rc;
		for (int i = 0; i < n; i++)
			ids[f][map[i]] = out[i];
	}
	return fl_tracker_n_tracks(tr);
}

/* Every detection of object o has the same id, and objects differ. */
static void assert_stable(int n_obj, int n_fr)
{
	int first[MAX_OBJ] = {0};
	for (int f = 0; f < n_fr; f++)
		for (int o = 0; o < n_obj; o++) {
			if (ids[f][o] == 0)
				continue;
			ASSERT_MSG(ids[f][o] > 0, "frame %d object %d unassigned", f, o);
			if (!first[o])
				first[o] = ids[f][o];
			ASSERT_MSG(ids[f][o] == first[o], "frame %d object %d: id %d, was %d", f, o, ids[f][o], first[o]);
		}
	for (int a = 0; a < n_obj; a++)
		for (int b = a + 1; b < n_obj; b++)
			ASSERT(first[a] != first[b]);
}

static void times_5fps(double *ts, int n)
{
	for (int f = 0; f < n; f++)
		ts[f] = 0.2 * f;
}

FL_TEST(track_constant_velocity)
{
	const struct obj objs[3] = {
	    {100, 100, 80, 80, 60, 10, 0},
	    {600, 120, 60, 64, -40, 20, 1},
	    {300, 500, 120, 120, 30, -50, 2},
	};
	double ts[60];
	times_5fps(ts, 60);
	for (int use_emb = 0; use_emb < 2; use_emb++) {
		struct fl_tracker *tr;
		ASSERT_OK(fl_tracker_create(NULL, &tr));
		ASSERT_EQ(run_objs(tr, objs, 3, ts, 60, use_emb, 3, 0.95f, NULL, 1), 3);
		assert_stable(3, 60);
		ASSERT_OK(fl_tracker_finish(tr));
		for (int i = 0; i < 3; i++) {
			struct fl_track_summary s;
			ASSERT_OK(fl_tracker_get(tr, i, &s));
			ASSERT_EQ(s.id, i + 1);
			ASSERT(s.confirmed && !s.active);
			ASSERT_EQ(s.n_dets, 60);
			ASSERT_NEAR(s.start, 0, 1e-9);
			ASSERT_NEAR(s.end, ts[59], 1e-9);
			ASSERT_EQ(s.end_frame, 59);
			ASSERT_EQ(s.emb != NULL, use_emb);
			if (use_emb)
				ASSERT_EQ(s.n_emb, 8);
			/* The filtered box follows the object. */
			ASSERT_NEAR(s.kf_box[0], objs[i].x + objs[i].vx * ts[59], 4);
			ASSERT_NEAR(s.kf_box[1], objs[i].y + objs[i].vy * ts[59], 4);
		}
		fl_tracker_destroy(tr);
	}
}

/* Two faces of the same size walk through each other on the same line:
** their boxes overlap for several frames. */
FL_TEST(track_crossing_keeps_ids)
{
	const struct obj objs[2] = {
	    {100, 200, 80, 80, 150, 0, 0},
	    {700, 210, 80, 80, -150, 0, 1},
	};
	double ts[30];
	times_5fps(ts, 30);
	int overlapping = 0;
	for (int f = 0; f < 30; f++) {
		float dx = fabsf((objs[0].x + objs[0].vx * (float)ts[f]) - (objs[1].x + objs[1].vx * (float)ts[f]));
		overlapping += dx < 80;
	}
	ASSERT(overlapping >= 2);
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct fl_tracker *tr;
		ASSERT_OK(fl_tracker_create(NULL, &tr));
		ASSERT_EQ(run_objs(tr, objs, 2, ts, 30, 1, 2, 0.9f, NULL, seed), 2);
		assert_stable(2, 30);
		fl_tracker_destroy(tr);
	}
}

/* Two faces meet, overlap and go back where they came from: motion alone
** predicts they pass each other (and swaps them); the embedding veto keeps
** each id on its face. */
FL_TEST(track_swap_places_keeps_ids)
{
	const struct obj objs[2] = {
	    {200, 200, 80, 80, 100, 0, 0, 2.0f},
	    {600, 200, 80, 80, -100, 0, 1, 2.0f},
	};
	double ts[40];
	times_5fps(ts, 40);
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct fl_tracker *tr;
		ASSERT_OK(fl_tracker_create(NULL, &tr));
		ASSERT_EQ(run_objs(tr, objs, 2, ts, 40, 1, 2, 0.9f, NULL, seed), 2);
		assert_stable(2, 40);
		fl_tracker_destroy(tr);
	}
	/* Without embeddings the tracker has only motion to go by: it keeps
	** two tracks but (expectedly) may swap them; just no crash, no extras. */
	struct fl_tracker *tr;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	int n = run_objs(tr, objs, 2, ts, 40, 0, 2, 0.9f, NULL, 1);
	ASSERT(n >= 2 && n <= 4);
	fl_tracker_destroy(tr);
}

static int gap_from, gap_to;
static int present_gap(int o, int f)
{
	return f < gap_from || f >= gap_to;
}

FL_TEST(track_short_miss_bridged_long_miss_new_track)
{
	const struct obj o = {200, 200, 80, 80, 20, 0, 0};
	double ts[50];
	times_5fps(ts, 50);
	struct fl_tracker *tr;

	/* Absent at 2.2, 2.4, 2.6 s (0.6 s), back at 2.8 s: same id. */
	gap_from = 11;
	gap_to = 14;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	ASSERT_EQ(run_objs(tr, &o, 1, ts, 50, 1, 2, 0.9f, present_gap, 3), 1);
	assert_stable(1, 50);
	fl_tracker_destroy(tr);

	/* Same without embeddings (geometry alone bridges it). */
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	ASSERT_EQ(run_objs(tr, &o, 1, ts, 50, 0, 2, 0.9f, present_gap, 3), 1);
	fl_tracker_destroy(tr);

	/* Absent 2 s (2.2 .. 4.0), back at 4.2 s: a new track. */
	gap_from = 11;
	gap_to = 21;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	ASSERT_EQ(run_objs(tr, &o, 1, ts, 50, 1, 2, 0.9f, present_gap, 3), 2);
	ASSERT_EQ(ids[10][0], 1);
	ASSERT_EQ(ids[21][0], 2);
	struct fl_track_summary s;
	ASSERT_OK(fl_tracker_get(tr, 0, &s));
	ASSERT(!s.active);
	ASSERT_NEAR(s.end, 2.0, 1e-9); /* the last detection, not the drop time */
	ASSERT_EQ(s.end_frame, 10);
	fl_tracker_destroy(tr);
}

FL_TEST(track_low_score_continues_never_starts)
{
	struct fl_tracker *tr;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	struct fl_track_det d[2];
	int out[2];
	memset(d, 0, sizeof(d));
	for (int f = 0; f < 20; f++) {
		double t = 0.2 * f;
		/* Object A: high score for 5 frames, then 0.4. */
		d[0].box[0] = 100 + 10 * f;
		d[0].box[1] = 100;
		d[0].box[2] = d[0].box[3] = 60;
		d[0].score = f < 5 ? 0.9f : 0.4f;
		/* Object B: always low score, far away. */
		d[1].box[0] = 600;
		d[1].box[1] = 400;
		d[1].box[2] = d[1].box[3] = 60;
		d[1].score = 0.45f;
		ASSERT_OK(fl_tracker_update(tr, t, f, d, 2, out));
		ASSERT_EQ(out[0], 1);
		ASSERT_EQ(out[1], -1);
	}
	ASSERT_EQ(fl_tracker_n_tracks(tr), 1);
	/* Below low_thresh: not even continued. */
	d[0].box[0] = 300;
	d[0].score = 0.1f;
	ASSERT_OK(fl_tracker_update(tr, 4.0, 20, d, 1, out));
	ASSERT_EQ(out[0], -1);
	fl_tracker_destroy(tr);
}

FL_TEST(track_variable_dt)
{
	/* A fast face (300 px/s, 60 px wide) sampled at irregular intervals
	** from 0.05 s to 0.3 s: prediction over the actual interval keeps the
	** IoU with the prediction high even where the raw boxes barely touch. */
	const struct obj o = {50, 300, 60, 60, 300, 0, 0};
	double ts[40];
	struct fl_test_rng r = {77};
	ts[0] = 0;
	for (int f = 1; f < 40; f++)
		ts[f] = ts[f - 1] + fl_test_uniform(&r, 0.05f, 0.3f);
	struct fl_tracker *tr;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	ASSERT_EQ(run_objs(tr, &o, 1, ts, 40, 0, 1, 0.9f, NULL, 5), 1);
	assert_stable(1, 40);
	struct fl_track_summary s;
	ASSERT_OK(fl_tracker_get(tr, 0, &s));
	ASSERT_NEAR(s.kf_box[0], o.x + o.vx * ts[39], 3);
	ASSERT_NEAR(s.end, ts[39], 1e-12);
	fl_tracker_destroy(tr);

	/* Equal times are allowed (zero elapsed), going back is not. */
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	ASSERT_OK(fl_tracker_update(tr, 1.0, 5, NULL, 0, NULL));
	ASSERT_OK(fl_tracker_update(tr, 1.0, 5, NULL, 0, NULL));
	ASSERT_EQ(fl_tracker_update(tr, 0.9, 4, NULL, 0, NULL), FL_EINVAL);
	fl_tracker_destroy(tr);
}

FL_TEST(track_tentative_and_confirm)
{
	struct fl_tracker *tr;
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	struct fl_track_det d = {{10, 10, 50, 50}, 0.7f, 1, NULL, 0};
	int id;
	/* A lone 0.7 detection: a tentative track that dies on its first miss. */
	ASSERT_OK(fl_tracker_update(tr, 0, 0, &d, 1, &id));
	ASSERT_EQ(id, 1);
	struct fl_track_summary s;
	ASSERT_OK(fl_tracker_get(tr, 0, &s));
	ASSERT(!s.confirmed && s.active);
	ASSERT_OK(fl_tracker_update(tr, 0.2, 1, NULL, 0, NULL));
	ASSERT_OK(fl_tracker_get(tr, 0, &s));
	ASSERT(!s.confirmed && !s.active);
	/* Two hits confirm. */
	ASSERT_OK(fl_tracker_update(tr, 0.4, 2, &d, 1, &id));
	ASSERT_EQ(id, 2);
	ASSERT_OK(fl_tracker_update(tr, 0.6, 3, &d, 1, &id));
	ASSERT_EQ(id, 2);
	ASSERT_OK(fl_tracker_get(tr, 1, &s));
	ASSERT(s.confirmed && s.active);
	ASSERT_EQ(s.n_dets, 2);
	/* A very confident first detection is confirmed at once. */
	d.box[0] = 500;
	d.score = 0.95f;
	ASSERT_OK(fl_tracker_update(tr, 0.8, 4, &d, 1, &id));
	ASSERT_EQ(id, 3);
	ASSERT_OK(fl_tracker_get(tr, 2, &s));
	ASSERT(s.confirmed);
	ASSERT_EQ(fl_tracker_get(tr, 3, &s), FL_EINVAL);
	fl_tracker_finish(tr);
	ASSERT_EQ(fl_tracker_update(tr, 1.0, 5, &d, 1, &id), FL_EINVAL);
	ASSERT_EQ(id, -1);
	fl_tracker_destroy(tr);
}

FL_TEST(track_bad_input)
{
	struct fl_tracker *tr;
	struct fl_tracker_params p = fl_tracker_default_params();
	p.low_thresh = 0.9f;
	ASSERT_EQ(fl_tracker_create(&p, &tr), FL_EINVAL);
	ASSERT(tr == NULL);
	p = fl_tracker_default_params();
	p.min_hits = 0;
	ASSERT_EQ(fl_tracker_create(&p, &tr), FL_EINVAL);
	ASSERT_OK(fl_tracker_create(NULL, &tr));
	float e[8] = {1};
	struct fl_track_det d = {{10, 10, 50, 50}, 0.9f, 1, e, 8}; /* wrong dim */
	int id = 5;
	ASSERT_EQ(fl_tracker_update(tr, 0, 0, &d, 1, &id), FL_EINVAL);
	ASSERT_EQ(id, -1);
	d.emb = NULL;
	d.box[2] = 0;
	ASSERT_EQ(fl_tracker_update(tr, 0, 0, &d, 1, &id), FL_EINVAL);
	d.box[2] = NAN;
	ASSERT_EQ(fl_tracker_update(tr, 0, 0, &d, 1, &id), FL_EINVAL);
	ASSERT_EQ(fl_tracker_update(tr, NAN, 0, NULL, 0, NULL), FL_EINVAL);
	ASSERT_EQ(fl_tracker_update(tr, 0, 0, NULL, -1, NULL), FL_EINVAL);
	ASSERT_EQ(fl_tracker_n_tracks(tr), 0);
	fl_tracker_destroy(tr);
	fl_tracker_destroy(NULL);
}

/* The crossing scenario as a fixed script, fed to a tracker while the
** allocation hook fails one allocation; a failed update is retried. */
static int script_run(int fail_at, int *ids_out, int *n_failed)
{
	const struct obj objs[3] = {
	    {100, 200, 80, 80, 150, 0, 0},
	    {700, 210, 80, 80, -150, 0, 1},
	    {300, 500, 60, 60, 0, -30, 2},
	};
	struct fl_test_rng r = {9};
	float idv[3][TU_DIM], emb[3][TU_DIM];
	tu_identities(&r, 3, idv);
	struct fl_tracker *tr = NULL;
	*n_failed = 0;
	if (fail_at)
		fl_alloc_fail_after(fail_at, 0);
	int rc = fl_tracker_create(NULL, &tr);
	if (rc < 0) {
		*n_failed += fl_alloc_fail_after(0, 0);
		if (rc != FL_ENOMEM || tr != NULL)
			return -100;
		fl_alloc_fail_after(0, 0);
		if (fl_tracker_create(NULL, &tr) < 0)
			return -101;
	}
	int k = 0;
	for (int f = 0; f < 30; f++) {
		struct fl_track_det d[3];
		int n = 0, out[3];
		for (int o = 0; o < 3; o++) {
			if (o == 2 && (f < 5 || (f > 12 && f < 16)))
				continue; /* appears later, misses a few frames */
			memset(&d[n], 0, sizeof(d[n]));
			obj_box(&objs[o], 0.2 * f, &r, 2, d[n].box);
			d[n].score = 0.9f;
			d[n].quality = fl_test_uniform(&r, 0, 1);
			tu_sample(&r, idv[o], 0.5f, emb[o]);
			d[n].emb = emb[o];
			d[n].emb_dim = TU_DIM;
			n++;
		}
		rc = fl_tracker_update(tr, 0.2 * f, f, d, n, out);
		if (rc < 0) {
			if (rc != FL_ENOMEM)
				return -102;
			for (int i = 0; i < n; i++)
				if (out[i] != -1)
					return -103;
			*n_failed += fl_alloc_fail_after(0, 0);
			rc = fl_tracker_update(tr, 0.2 * f, f, d, n, out); /* retry: same result */
			if (rc < 0)
				return -104;
		}
		for (int i = 0; i < n; i++)
			ids_out[k++] = out[i];
	}
	fl_tracker_finish(tr);
	k = fl_tracker_n_tracks(tr);
	fl_tracker_destroy(tr);
	*n_failed += fl_alloc_fail_after(0, 0);
	return k;
}

FL_TEST(track_alloc_failures)
{
	int ref[100] = {0}, got[100], nf;
	long live0 = fl_alloc_live();
	int n_ref = script_run(0, ref, &nf);
	ASSERT_EQ(n_ref, 3);
	ASSERT_EQ(fl_alloc_live(), live0);
	int points = 0;
	for (int i = 1; i < 10000; i++) {
		memset(got, 0, sizeof(got));
		int n = script_run(i, got, &nf);
		ASSERT_MSG(n == n_ref, "failure point %d: result %d", i, n);
		ASSERT_MSG(fl_alloc_live() == live0, "failure point %d: %ld blocks leaked", i, fl_alloc_live() - live0);
		ASSERT_MSG(!memcmp(got, ref, sizeof(ref)), "failure point %d: different ids after a retried update", i);
		if (nf == 0)
			break;
		points++;
	}
	printf("  %d failure points\n", points);
	ASSERT(points >= 5);

	/* Repeated failures: every allocation fails from the nth on; the
	** tracker is destroyed cleanly whatever state it was left in. */
	for (int i = 1; i < 40; i++) {
		struct fl_tracker *tr = NULL;
		fl_alloc_fail_after(i, 1);
		int rc = fl_tracker_create(NULL, &tr);
		for (int f = 0; rc == 0 && f < 10; f++) {
			struct fl_track_det d[2] = {{{10.f + f, 10, 50, 50}, 0.9f, 1, NULL, 0},
			                            {{300.f, 10.f + f, 50, 50}, 0.9f, 1, NULL, 0}};
			rc = fl_tracker_update(tr, 0.2 * f, f, d, 2, NULL);
		}
		fl_alloc_fail_after(0, 0);
		ASSERT(rc == 0 || rc == FL_ENOMEM);
		fl_tracker_destroy(tr);
		ASSERT_EQ(fl_alloc_live(), live0);
	}
}

/* ------------------------------------------- the assignment (Hungarian) */

#include "track/track_int.h"

/* Best (most allowed pairs, then least cost) by trying every injection of
** the rows (rows <= cols) into the columns. */
static void brute(const float *c, int rows, int cols, int row, unsigned used, int n_ok, double cost, int *best_n,
                  double *best_cost)
{
	if (row == rows) {
		if (n_ok > *best_n || (n_ok == *best_n && cost < *best_cost - 1e-9)) {
			*best_n = n_ok;
			*best_cost = cost;
		}
		return;
	}
	/* Row unassigned (allowed when it cannot or need not take a column). */
	brute(c, rows, cols, row + 1, used, n_ok, cost, best_n, best_cost);
	for (int j = 0; j < cols; j++) {
		if (used & (1u << j))
			continue;
		float v = c[row * cols + j];
		if (v >= FL__ASSIGN_FORBID)
			continue;
		brute(c, rows, cols, row + 1, used | (1u << j), n_ok + 1, cost + v, best_n, best_cost);
	}
}

FL_TEST(track_assign_vs_brute_force)
{
	struct fl_test_rng r = {5};
	static char scratch[1 << 16] __attribute__((aligned(16)));
	for (int it = 0; it < 3000; it++) {
		int rows = 1 + (int)fl_test_uniform(&r, 0, 6), cols = 1 + (int)fl_test_uniform(&r, 0, 6);
		float c[36], ct[36];
		for (int i = 0; i < rows * cols; i++)
			c[i] = fl_test_uniform(&r, 0, 1) < 0.3f ? FL__ASSIGN_FORBID : fl_test_uniform(&r, 0, 2);
		int r2c[6], c2r[6];
		ASSERT(fl__assign_scratch_size(rows, cols) <= sizeof(scratch));
		fl__assign(c, rows, cols, r2c, c2r, scratch);
		int n_ok = 0;
		double cost = 0;
		unsigned used = 0;
		for (int i = 0; i < rows; i++) {
			if (r2c[i] < 0)
				continue;
			ASSERT(r2c[i] < cols && !(used & (1u << r2c[i])));
			ASSERT_EQ(c2r[r2c[i]], i);
			ASSERT(c[i * cols + r2c[i]] < FL__ASSIGN_FORBID);
			used |= 1u << r2c[i];
			n_ok++;
			cost += c[i * cols + r2c[i]];
		}
		/* Brute force on the orientation with rows <= cols. */
		int bn = -1;
		double bc = 0;
		if (rows <= cols) {
			brute(c, rows, cols, 0, 0, 0, 0, &bn, &bc);
		} else {
			for (int i = 0; i < rows; i++)
				for (int j = 0; j < cols; j++)
					ct[j * rows + i] = c[i * cols + j];
			brute(ct, cols, rows, 0, 0, 0, 0, &bn, &bc);
		}
		ASSERT_MSG(n_ok == bn, "iteration %d (%dx%d): %d pairs, best %d", it, rows, cols, n_ok, bn);
		ASSERT_NEAR(cost, bc, 1e-4);
	}
}

/* The analysis follows faces between detections from fl_tracker_predict,
** ends tracks at shot cuts with fl_tracker_cut, and lets a new face's
** tentative track survive a missed follow for tentative_grace_s. */
FL_TEST(track_predict_cut_grace)
{
	struct fl_tracker *tr;
	struct fl_tracker_params p = fl_tracker_default_params();
	p.emb_dim = 0;
	ASSERT_OK(fl_tracker_create(&p, &tr));
	struct fl_track_det d = {.box = {100, 100, 80, 80}, .score = 0.95f, .quality = 1};
	int id = -1, tid[1];
	/* A face moving right at 50 px/s. */
	for (int k = 0; k < 10; k++) {
		d.box[0] = 100 + 50 * 0.2f * k;
		ASSERT_OK(fl_tracker_update(tr, 0.2 * k, k, &d, 1, tid));
		ASSERT_EQ(tid[0], 1);
	}
	ASSERT_EQ(fl_tracker_n_active(tr), 1);
	float b[4];
	ASSERT_EQ(fl_tracker_predict(tr, 0, 2.0, &id, b), 1); /* confirmed */
	ASSERT_EQ(id, 1);
	ASSERT_NEAR(b[0], 200, 6); /* moved on by its velocity */
	ASSERT_NEAR(b[2], 80, 2);
	ASSERT_EQ(fl_tracker_predict(tr, 1, 2.0, &id, b), FL_EINVAL); /* no such active track */
	ASSERT_EQ(fl_tracker_predict(tr, 0, 1.0, &id, b), FL_EINVAL); /* before the last update */

	/* A cut: the same box afterwards starts a new track. */
	ASSERT_OK(fl_tracker_cut(tr));
	ASSERT_EQ(fl_tracker_n_active(tr), 0);
	d.box[0] = 200;
	ASSERT_OK(fl_tracker_update(tr, 2.0, 10, &d, 1, tid));
	ASSERT_EQ(tid[0], 2);
	struct fl_track_summary s;
	ASSERT_OK(fl_tracker_get(tr, 0, &s));
	ASSERT(!s.active && s.confirmed && s.end == 1.8);
	fl_tracker_destroy(tr);

	/* Grace: a tentative track (score < confirm_score) that misses one
	** frame ends by default, and survives with tentative_grace_s. */
	for (int grace = 0; grace < 2; grace++) {
		p.tentative_grace_s = grace ? 0.4 : 0;
		ASSERT_OK(fl_tracker_create(&p, &tr));
		d.score = 0.7f;
		ASSERT_OK(fl_tracker_update(tr, 0.0, 0, &d, 1, tid));
		ASSERT_OK(fl_tracker_update(tr, 0.2, 1, NULL, 0, NULL)); /* missed */
		ASSERT_OK(fl_tracker_update(tr, 0.4, 2, &d, 1, tid));
		ASSERT_EQ(tid[0], grace ? 1 : 2);
		ASSERT_OK(fl_tracker_get(tr, 0, &s));
		ASSERT_EQ(s.confirmed, grace);
		fl_tracker_destroy(tr);
	}
	p.tentative_grace_s = -1;
	ASSERT_EQ(fl_tracker_create(&p, &tr), FL_EINVAL);
}
