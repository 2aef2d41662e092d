/*
** tracker.c -- struct fl_tracker: the multi-object face tracker (ByteTrack
** style) that turns per-frame detections into tracks.
**
** Each update runs in two phases so that a failure leaves no trace:
**   plan    predict every active track's box at the frame's time, run the
**           three association passes (IoU + embedding veto on high-score
**           detections, appearance on the leftovers, IoU on low-score
**           detections), and reserve all memory the commit needs (scratch,
**           the track array, the new tracks' embedding buffers);
**   commit  apply the Kalman updates, embeddings and hit counts, end the
**           tracks that missed too long, start the new ones.  Allocates
**           nothing.
**
** The Kalman filter is constant velocity on (centre x, centre y, w, h).
** With a transition that moves each coordinate by its own velocity, a
** diagonal process noise and a measurement of the four coordinates with
** diagonal noise, the four (position, velocity) pairs never couple, so the
** 8x8 filter is exactly four independent 2x2 filters -- which is what is
** stored.  Noise scales with the box size and with the elapsed time, so
** irregular sampling (variable frame rate, dropped frames) is handled by
** predicting over the actual interval.
*/
#include "faceline/fl_track.h"
#include "base/base_int.h"
#include "track_int.h"

#include <math.h>
#include <stdalign.h>
#include <stdlib.h>

enum track_state {
	TRACK_TENTATIVE = 0,
	TRACK_CONFIRMED = 1,
	TRACK_ENDED = 2,
};

struct track {
	int id, state, confirmed, n_dets;
	double start, end;     /* first and last detection, seconds */
	int64_t start_frame, end_frame;
	/* Kalman state per coordinate (cx, cy, w, h): position, velocity and
	** the symmetric covariance (p00, p01, p11), valid at time kt. */
	double kx[4][2], kp[4][3], kt;
	float *mean;  /* emb_dim floats, unit length when n_emb > 0 */
	float *topk;  /* emb_top_k * emb_dim normalised embeddings, then
	              ** emb_top_k qualities; freed when the track ends */
	int n_emb;
	double best_t;
	int64_t best_frame;
	float best_box[4], best_quality;
};

struct fl_tracker {
	struct fl_tracker_params p;
	struct track *tracks; /* all tracks ever created; id = index + 1 */
	int n_tracks, cap_tracks;
	int *act; /* indices of active tracks, in creation order */
	int n_act, cap_act;
	double last_t;
	int has_t, finished;
	void *scr; /* per-update scratch, grow-only */
	size_t scr_size;
};

/* ------------------------------------------------------------ parameters */

struct fl_tracker_params fl_tracker_default_params(void)
{
	struct fl_tracker_params p = {
		.high_thresh = 0.6f,
		.low_thresh = 0.3f,
		.iou_gate = 0.2f,
		.iou_gate_low = 0.3f,
		.emb_floor = 0.4f,
		.emb_weight = 0.5f,
		.app_thresh = 0.6f,
		.app_radius = 2.0f,
		.min_hits = 2,
		.confirm_score = 0.9f,
		.max_missed_s = 1.0,
		.emb_dim = 192,
		.emb_top_k = 8,
		.kf_meas = 0.05f,
		.kf_pos = 0.1f,
		.kf_vel = 1.0f,
		.kf_vel0 = 1.0f,
	};
	return p;
}

static int unit(float x)
{
	return x >= 0 && x <= 1;
}

static int params_ok(const struct fl_tracker_params *p)
{
	return unit(p->high_thresh) && unit(p->low_thresh) && p->low_thresh <= p->high_thresh && unit(p->iou_gate) &&
	       unit(p->iou_gate_low) && p->emb_floor >= -1 && p->emb_floor <= 1 && p->emb_weight >= 0 &&
	       p->app_thresh >= -1 && p->app_thresh <= 1 && p->app_radius >= 0 && p->min_hits >= 1 &&
	       !isnan(p->confirm_score) && p->max_missed_s >= 0 && p->tentative_grace_s >= 0 && p->emb_dim >= 0 && p->emb_dim <= 65536 &&
	       p->emb_top_k >= 1 && p->emb_top_k <= 1024 && p->kf_meas > 0 && p->kf_pos >= 0 && p->kf_vel >= 0 &&
	       p->kf_vel0 >= 0;
}

/* --------------------------------------------------------------- lifetime */

int fl_tracker_create(const struct fl_tracker_params *p, struct fl_tracker **out)
{
	struct fl_tracker_params def = fl_tracker_default_params();
	struct fl_tracker *tr = NULL;
	if (!out)
		return FL_EINVAL;
	*out = NULL;
	if (!p)
		p = &def;
	if (!params_ok(p)) {
		fl_log(FL_LOG_ERROR, "fl_tracker_create: parameter out of range");
		return FL_EINVAL;
	}
	tr = fl_calloc(1, sizeof(*tr));
	if (!tr)
		return FL_ENOMEM;
	tr->p = *p;
	*out = tr;
	return 0;
}

static void track_free(struct track *t)
{
	fl_free(t->mean);
	fl_free(t->topk);
	t->mean = t->topk = NULL;
}

void fl_tracker_destroy(struct fl_tracker *tr)
{
	if (!tr)
		return;
	for (int i = 0; i < tr->n_tracks; i++)
		track_free(&tr->tracks[i]);
	fl_free(tr->tracks);
	fl_free(tr->act);
	fl_free(tr->scr);
	fl_free(tr);
}

/* ---------------------------------------------------------------- Kalman */

static double box_size(double w, double h)
{
	double s = 0.5 * (w + h);
	return s > 1 ? s : 1;
}

/* Start the filter at box b (x, y, w, h) at time t. */
static void kf_init(const struct fl_tracker_params *p, struct track *k, const float *b, double t)
{
	double z[4] = {b[0] + 0.5 * b[2], b[1] + 0.5 * b[3], b[2], b[3]};
	double s = box_size(b[2], b[3]);
	for (int d = 0; d < 4; d++) {
		k->kx[d][0] = z[d];
		k->kx[d][1] = 0;
		double sp = 2 * p->kf_meas * s, sv = p->kf_vel0 * s;
		k->kp[d][0] = sp * sp;
		k->kp[d][1] = 0;
		k->kp[d][2] = sv * sv;
	}
	k->kt = t;
}

/* The predicted state at time t, without changing the track. */
static void kf_predict(const struct fl_tracker_params *p, const struct track *k, double t, double x[4][2],
                       double P[4][3])
{
	double dt = t - k->kt;
	double s = box_size(k->kx[2][0], k->kx[3][0]);
	double qp = (double)p->kf_pos * p->kf_pos * s * s * dt;
	double qv = (double)p->kf_vel * p->kf_vel * s * s * dt;
	for (int d = 0; d < 4; d++) {
		const double *P0 = k->kp[d];
		x[d][0] = k->kx[d][0] + dt * k->kx[d][1];
		x[d][1] = k->kx[d][1];
		P[d][0] = P0[0] + 2 * dt * P0[1] + dt * dt * P0[2] + qp;
		P[d][1] = P0[1] + dt * P0[2];
		P[d][2] = P0[2] + qv;
	}
	/* Sizes stay positive however the velocities extrapolate. */
	for (int d = 2; d < 4; d++)
		if (x[d][0] < 1)
			x[d][0] = 1;
}

static void state_box(const double x[4][2], float *b)
{
	b[2] = (float)x[2][0];
	b[3] = (float)x[3][0];
	b[0] = (float)(x[0][0] - 0.5 * x[2][0]);
	b[1] = (float)(x[1][0] - 0.5 * x[3][0]);
}

/* Predict to t and correct with the measured box b. */
static void kf_update(const struct fl_tracker_params *p, struct track *k, double t, const float *b)
{
	double x[4][2], P[4][3];
	kf_predict(p, k, t, x, P);
	double z[4] = {b[0] + 0.5 * b[2], b[1] + 0.5 * b[3], b[2], b[3]};
	double sm = p->kf_meas * box_size(x[2][0], x[3][0]);
	double r = sm * sm;
	for (int d = 0; d < 4; d++) {
		double y = z[d] - x[d][0];
		double S = P[d][0] + r;
		double K0 = P[d][0] / S, K1 = P[d][1] / S;
		k->kx[d][0] = x[d][0] + K0 * y;
		k->kx[d][1] = x[d][1] + K1 * y;
		k->kp[d][0] = (1 - K0) * P[d][0];
		k->kp[d][1] = (1 - K0) * P[d][1];
		k->kp[d][2] = P[d][2] - K1 * P[d][1];
	}
	for (int d = 2; d < 4; d++)
		if (k->kx[d][0] < 1)
			k->kx[d][0] = 1;
	k->kt = t;
}

/* ------------------------------------------------------------- geometry */

float fl_box_iou(const float a[4], const float b[4])
{
	float x0 = FL_MAX(a[0], b[0]), y0 = FL_MAX(a[1], b[1]);
	float x1 = FL_MIN(a[0] + a[2], b[0] + b[2]), y1 = FL_MIN(a[1] + a[3], b[1] + b[3]);
	if (x1 <= x0 || y1 <= y0)
		return 0;
	float in = (x1 - x0) * (y1 - y0);
	float un = a[2] * a[3] + b[2] * b[3] - in;
	return un > 0 ? in / un : 0;
}

/* ------------------------------------------------------------ embeddings */

/* Add a detection's embedding to the track's top-K by quality and recompute
** the mean.  The buffers exist (allocated when the track was created). */
static void emb_add(const struct fl_tracker_params *p, struct track *k, const float *e, float quality)
{
	int dim = p->emb_dim, K = p->emb_top_k;
	float *q = k->topk + (size_t)K * dim;
	int slot;
	if (k->n_emb < K) {
		slot = k->n_emb++;
	} else {
		slot = 0; /* replace the lowest quality, if this one is better */
		for (int i = 1; i < K; i++)
			if (q[i] < q[slot])
				slot = i;
		if (!(quality > q[slot]))
			return;
	}
	double nn = 0;
	for (int i = 0; i < dim; i++)
		nn += (double)e[i] * e[i];
	float inv = nn > 0 ? (float)(1 / sqrt(nn)) : 0;
	float *dst = k->topk + (size_t)slot * dim;
	for (int i = 0; i < dim; i++)
		dst[i] = e[i] * inv;
	q[slot] = quality;

	/* Mean of the kept ones, renormalised. */
	double mm = 0;
	for (int i = 0; i < dim; i++) {
		float s = 0;
		for (int j = 0; j < k->n_emb; j++)
			s += k->topk[(size_t)j * dim + i];
		k->mean[i] = s;
		mm += (double)s * s;
	}
	float im = mm > 0 ? (float)(1 / sqrt(mm)) : 0;
	for (int i = 0; i < dim; i++)
		k->mean[i] *= im;
}

/* ----------------------------------------------------------------- update */

/* Scratch of one update, carved out of tr->scr. */
struct plan {
	float (*pred)[4]; /* predicted box of each active track */
	float *cosm;      /* n_det x n_act cosine, NAN where unknown */
	float *cost;      /* pass cost matrix (rows x cols) */
	int *det_trk;     /* per det: active slot matched, -1 */
	int *trk_det;     /* per active slot: det matched, -1 */
	int *rows, *cols, *r2c;
	int *eligible;    /* per active slot: may still be matched */
	void *hung;
};

static size_t align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* Reserve the scratch for n dets and a active tracks and lay it out. */
static int plan_reserve(struct fl_tracker *tr, int n, int a, struct plan *pl)
{
	size_t na = (size_t)n * a;
	size_t sz[9] = {
		fl__assign_scratch_size(n, a),
		sizeof(float) * 4 * (size_t)a,
		sizeof(float) * na,
		sizeof(float) * na,
		sizeof(int) * (size_t)n,
		sizeof(int) * (size_t)a,
		sizeof(int) * (size_t)n,
		sizeof(int) * (size_t)a,
		sizeof(int) * (size_t)(n + a) * 2,
	};
	size_t total = 0;
	for (int i = 0; i < 9; i++)
		total += align8(sz[i]);
	if (total > tr->scr_size) {
		void *s = fl_malloc(total);
		if (!s)
			return FL_ENOMEM;
		fl_free(tr->scr);
		tr->scr = s;
		tr->scr_size = total;
	}
	char *c = tr->scr;
	void *ptr[9];
	for (int i = 0; i < 9; i++) {
		ptr[i] = c;
		c += align8(sz[i]);
	}
	pl->hung = ptr[0];
	pl->pred = ptr[1];
	pl->cosm = ptr[2];
	pl->cost = ptr[3];
	pl->det_trk = ptr[4];
	pl->trk_det = ptr[5];
	pl->rows = ptr[6];
	pl->cols = ptr[7];
	pl->r2c = ptr[8];
	pl->eligible = pl->r2c + n; /* r2c needs n; eligible a; spare after */
	return 0;
}

enum pass_kind {
	PASS_IOU_HIGH,
	PASS_APPEARANCE,
	PASS_IOU_LOW,
};

/* One association pass over the dets and active slots still unmatched that
** the pass admits; records its matches in det_trk / trk_det. */
static void run_pass(struct fl_tracker *tr, struct plan *pl, const struct fl_track_det *dets, int n, double t,
                     enum pass_kind kind)
{
	const struct fl_tracker_params *p = &tr->p;
	int a = tr->n_act, nr = 0, nc = 0;
	for (int i = 0; i < n; i++) {
		if (pl->det_trk[i] >= 0)
			continue;
		float s = dets[i].score;
		int ok = kind == PASS_IOU_LOW ? (s >= p->low_thresh && s < p->high_thresh) : s >= p->high_thresh;
		if (kind == PASS_APPEARANCE && !dets[i].emb)
			ok = 0;
		if (ok)
			pl->rows[nr++] = i;
	}
	for (int k = 0; k < a; k++) {
		const struct track *trk = &tr->tracks[tr->act[k]];
		if (pl->trk_det[k] >= 0 || !pl->eligible[k])
			continue;
		if (kind == PASS_APPEARANCE && trk->n_emb == 0)
			continue;
		pl->cols[nc++] = k;
	}
	if (nr == 0 || nc == 0)
		return;

	int any = 0;
	for (int r = 0; r < nr; r++) {
		int i = pl->rows[r];
		for (int c = 0; c < nc; c++) {
			int k = pl->cols[c];
			const struct track *trk = &tr->tracks[tr->act[k]];
			const float *pb = pl->pred[k];
			float cs = pl->cosm[(size_t)i * a + k];
			float cost = FL__ASSIGN_FORBID;
			if (kind == PASS_APPEARANCE) {
				const float *db = dets[i].box;
				float dx = db[0] + 0.5f * db[2] - (pb[0] + 0.5f * pb[2]);
				float dy = db[1] + 0.5f * db[3] - (pb[1] + 0.5f * pb[3]);
				double missed = t - trk->end;
				double rad = p->app_radius * box_size(pb[2], pb[3]) * (1 + missed);
				if (cs >= p->app_thresh && (double)dx * dx + (double)dy * dy <= rad * rad)
					cost = 1 - cs;
			} else {
				float gate = kind == PASS_IOU_LOW ? p->iou_gate_low : p->iou_gate;
				float ov = fl_box_iou(pb, dets[i].box);
				if (ov >= gate && ov > 0) {
					if (isnan(cs))
						cost = 1 - ov;
					else if (cs >= p->emb_floor)
						cost = 1 - ov + p->emb_weight * (1 - cs);
				}
			}
			pl->cost[(size_t)r * nc + c] = cost;
			any |= cost < FL__ASSIGN_FORBID;
		}
	}
	if (!any)
		return;
	fl__assign(pl->cost, nr, nc, pl->r2c, NULL, pl->hung);
	for (int r = 0; r < nr; r++) {
		if (pl->r2c[r] < 0)
			continue;
		int i = pl->rows[r], k = pl->cols[pl->r2c[r]];
		pl->det_trk[i] = k;
		pl->trk_det[k] = i;
	}
}

static int dets_ok(const struct fl_tracker *tr, const struct fl_track_det *dets, int n)
{
	for (int i = 0; i < n; i++) {
		const struct fl_track_det *d = &dets[i];
		if (!(d->box[2] > 0) || !(d->box[3] > 0) || !isfinite(d->box[0]) || !isfinite(d->box[1]) ||
		    !isfinite(d->box[2]) || !isfinite(d->box[3]) || isnan(d->score) || isnan(d->quality))
			return 0;
		if (d->emb && d->emb_dim != tr->p.emb_dim)
			return 0;
	}
	return 1;
}

/* Grow an array of `size`-byte elements to hold at least `need`. */
static int grow(void **arr, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return 0;
	int nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *a = fl_realloc(*arr, (size_t)nc * size);
	if (!a)
		return FL_ENOMEM;
	*arr = a;
	*cap = nc;
	return 0;
}

int fl_tracker_update(struct fl_tracker *tr, double t, int64_t frame, const struct fl_track_det *dets, int n,
                      int *track_ids)
{
	const struct fl_tracker_params *p;
	struct plan pl;
	float **bufs = NULL; /* the new tracks' mean and top-K buffers */
	int n_new = 0, r;

	if (track_ids)
		for (int i = 0; i < n; i++)
			track_ids[i] = -1;
	if (!tr || n < 0 || (n > 0 && !dets) || isnan(t) || tr->finished || (tr->has_t && t < tr->last_t))
		return FL_EINVAL;
	if (!dets_ok(tr, dets, n)) {
		fl_log(FL_LOG_ERROR, "fl_tracker_update: bad detection (box size, NaN or embedding size)");
		return FL_EINVAL;
	}
	p = &tr->p;

	/* ---- plan: nothing below changes the tracker until the commit. */
	int a = tr->n_act;
	if ((r = plan_reserve(tr, n, a, &pl)) < 0)
		return r;
	for (int i = 0; i < n; i++)
		pl.det_trk[i] = -1;
	for (int k = 0; k < a; k++) {
		const struct track *trk = &tr->tracks[tr->act[k]];
		double x[4][2], P[4][3];
		kf_predict(p, trk, t, x, P);
		state_box(x, pl.pred[k]);
		pl.trk_det[k] = -1;
		/* A track that already missed for longer than allowed is ended
		** in the commit, never matched. */
		pl.eligible[k] = t - trk->end <= p->max_missed_s + 1e-9;
		for (int i = 0; i < n; i++)
			pl.cosm[(size_t)i * a + k] =
			    dets[i].emb && trk->n_emb ? fl__cosine(dets[i].emb, trk->mean, p->emb_dim) : NAN;
	}
	run_pass(tr, &pl, dets, n, t, PASS_IOU_HIGH);
	run_pass(tr, &pl, dets, n, t, PASS_APPEARANCE);
	run_pass(tr, &pl, dets, n, t, PASS_IOU_LOW);

	/* Unmatched high-score detections start tracks: reserve for them. */
	for (int i = 0; i < n; i++)
		if (pl.det_trk[i] < 0 && dets[i].score >= p->high_thresh)
			n_new++;
	if (n_new > 0) {
		if (grow((void **)&tr->tracks, &tr->cap_tracks, tr->n_tracks + n_new, sizeof(*tr->tracks)) < 0 ||
		    grow((void **)&tr->act, &tr->cap_act, tr->n_act + n_new, sizeof(*tr->act)) < 0)
			return FL_ENOMEM;
		if (p->emb_dim > 0) {
			bufs = fl_calloc((size_t)n_new * 2, sizeof(*bufs));
			if (!bufs)
				return FL_ENOMEM;
			for (int j = 0; j < n_new; j++) {
				bufs[2 * j] = fl_malloc(sizeof(float) * p->emb_dim);
				bufs[2 * j + 1] = fl_malloc(sizeof(float) * (size_t)p->emb_top_k * (p->emb_dim + 1));
				if (!bufs[2 * j] || !bufs[2 * j + 1])
					goto fail;
			}
		}
	}

	/* ---- commit: allocates nothing. */
	for (int k = 0; k < a; k++) {
		struct track *trk = &tr->tracks[tr->act[k]];
		int i = pl.trk_det[k];
		if (i < 0) {
			if ((trk->state == TRACK_TENTATIVE && t - trk->end > p->tentative_grace_s + 1e-9) || !pl.eligible[k] ||
			    t - trk->end > p->max_missed_s + 1e-9)
				trk->state = TRACK_ENDED;
			continue;
		}
		const struct fl_track_det *d = &dets[i];
		kf_update(p, trk, t, d->box);
		trk->end = t;
		trk->end_frame = frame;
		trk->n_dets++;
		if (trk->state == TRACK_TENTATIVE && trk->n_dets >= p->min_hits)
			trk->state = TRACK_CONFIRMED;
		trk->confirmed = trk->state == TRACK_CONFIRMED;
		if (d->quality > trk->best_quality) {
			trk->best_quality = d->quality;
			trk->best_t = t;
			trk->best_frame = frame;
			for (int c = 0; c < 4; c++)
				trk->best_box[c] = d->box[c];
		}
		if (d->emb && trk->topk)
			emb_add(p, trk, d->emb, d->quality);
		if (track_ids)
			track_ids[i] = trk->id;
	}
	int j = 0;
	for (int i = 0; i < n; i++) {
		const struct fl_track_det *d = &dets[i];
		if (pl.det_trk[i] >= 0 || d->score < p->high_thresh)
			continue;
		struct track *trk = &tr->tracks[tr->n_tracks];
		memset(trk, 0, sizeof(*trk));
		trk->id = tr->n_tracks + 1;
		trk->state = (d->score >= p->confirm_score || p->min_hits <= 1) ? TRACK_CONFIRMED : TRACK_TENTATIVE;
		trk->confirmed = trk->state == TRACK_CONFIRMED;
		trk->n_dets = 1;
		trk->start = trk->end = t;
		trk->start_frame = trk->end_frame = frame;
		kf_init(p, trk, d->box, t);
		trk->best_quality = d->quality;
		trk->best_t = t;
		trk->best_frame = frame;
		for (int c = 0; c < 4; c++)
			trk->best_box[c] = d->box[c];
		if (bufs) {
			trk->mean = bufs[2 * j];
			trk->topk = bufs[2 * j + 1];
			if (d->emb)
				emb_add(p, trk, d->emb, d->quality);
		}
		j++;
		tr->act[tr->n_act++] = tr->n_tracks;
		tr->n_tracks++;
		if (track_ids)
			track_ids[i] = trk->id;
	}
	/* Compact the active list; ended tracks give back their top-K. */
	int w = 0;
	for (int k = 0; k < tr->n_act; k++) {
		struct track *trk = &tr->tracks[tr->act[k]];
		if (trk->state == TRACK_ENDED) {
			fl_free(trk->topk);
			trk->topk = NULL;
			continue;
		}
		tr->act[w++] = tr->act[k];
	}
	tr->n_act = w;
	tr->last_t = t;
	tr->has_t = 1;
	fl_free(bufs);
	return 0;

fail:
	for (int q = 0; q < 2 * n_new; q++)
		fl_free(bufs[q]);
	fl_free(bufs);
	return FL_ENOMEM;
}

/* End every active track (they give back their top-K buffers). */
static void end_all(struct fl_tracker *tr)
{
	for (int k = 0; k < tr->n_act; k++) {
		struct track *trk = &tr->tracks[tr->act[k]];
		trk->state = TRACK_ENDED;
		fl_free(trk->topk);
		trk->topk = NULL;
	}
	tr->n_act = 0;
}

int fl_tracker_cut(struct fl_tracker *tr)
{
	if (!tr || tr->finished)
		return FL_EINVAL;
	end_all(tr);
	return 0;
}

int fl_tracker_finish(struct fl_tracker *tr)
{
	if (!tr)
		return FL_EINVAL;
	end_all(tr);
	tr->finished = 1;
	return 0;
}

/* -------------------------------------------------------------- accessors */

int fl_tracker_n_tracks(const struct fl_tracker *tr)
{
	return tr ? tr->n_tracks : 0;
}

int fl_tracker_get(const struct fl_tracker *tr, int i, struct fl_track_summary *out)
{
	if (!tr || !out || i < 0 || i >= tr->n_tracks)
		return FL_EINVAL;
	const struct track *k = &tr->tracks[i];
	memset(out, 0, sizeof(*out));
	out->id = k->id;
	out->confirmed = k->confirmed;
	out->active = k->state != TRACK_ENDED;
	out->n_dets = k->n_dets;
	out->start = k->start;
	out->end = k->end;
	out->start_frame = k->start_frame;
	out->end_frame = k->end_frame;
	out->emb = k->n_emb ? k->mean : NULL;
	out->emb_dim = k->n_emb ? tr->p.emb_dim : 0;
	out->n_emb = k->n_emb;
	out->best_t = k->best_t;
	out->best_frame = k->best_frame;
	out->best_quality = k->best_quality;
	for (int c = 0; c < 4; c++)
		out->best_box[c] = k->best_box[c];
	double x[4][2];
	for (int d = 0; d < 4; d++)
		x[d][0] = k->kx[d][0];
	state_box(x, out->kf_box);
	return 0;
}

int fl_tracker_n_active(const struct fl_tracker *tr)
{
	return tr ? tr->n_act : 0;
}

int fl_tracker_predict(const struct fl_tracker *tr, int k, double t, int *id, float box[4])
{
	if (!tr || k < 0 || k >= tr->n_act || !box || !(t >= tr->last_t) || !isfinite(t))
		return FL_EINVAL;
	const struct track *trk = &tr->tracks[tr->act[k]];
	double x[4][2], P[4][3];
	kf_predict(&tr->p, trk, t, x, P);
	state_box(x, box);
	if (id)
		*id = trk->id;
	return trk->confirmed;
}
