/*
** fl_track.h -- face tracks, persons and timelines of libfaceline.
**
** The video analysis detects faces on sampled frames (5 fps by default),
** embeds each face (MobileFaceNet, 192-d, L2-normalised) and hands the
** detections of each analysed frame to this module, which answers three
** questions:
**
**   1. Tracks (struct fl_tracker): which detections of consecutive analysed
**      frames are the same face?  ByteTrack-style: a Kalman filter predicts
**      each track's box at the frame's time, high-score detections are
**      matched to predictions by IoU (optimal assignment, with an embedding
**      veto so that faces crossing each other do not swap identities), the
**      leftovers by appearance (embedding cosine, near the prediction), then
**      low-score detections continue the tracks still unmatched; unmatched
**      high-score detections start new tracks; a track survives misses for
**      `max_missed_s` seconds.
**   2. Persons (fl_cluster_tracks): which tracks are the same person?
**      Average-linkage clustering of the tracks' mean embeddings, with the
**      cannot-link rule: two tracks on screen at the same moment are never
**      one person.
**   3. Timelines (fl_timeline_segments): the union of a person's track spans
**      with short gaps closed, its screen time, first and last seen.
**
** Units.  Times are seconds as doubles (the caller's clock: 0 = the first
** video frame), frame numbers are the caller's int64 frame indices (decoded
** frame numbers, not analysed-frame counters), boxes are [x, y, w, h] in
** source pixels (x right, y down; any consistent pixel frame works, the
** tracker only needs the same one for every frame).  Embeddings are float
** vectors of `emb_dim` elements; cosine similarity is used throughout, so
** they need not be normalised (they are normalised here where averaged).
**
** Pure C, no models, no threads: a tracker is used by one thread at a time.
** All allocation goes through fl_malloc (fault injection applies).
*/
#ifndef FL_TRACK_H
#define FL_TRACK_H

#include "fl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- tracker */

/* One detection of an analysed frame, as given to fl_tracker_update. */
struct fl_track_det {
	float box[4];     /* x, y, w, h in source pixels; w, h > 0 */
	float score;      /* detector confidence in [0, 1] */
	float quality;    /* caller's crop quality (e.g. face score x size): the
	                  ** track's mean embedding averages its top-K crops by
	                  ** this value; any monotone scale works */
	const float *emb; /* identity embedding, borrowed for the call; NULL if
	                  ** none (then only geometry associates this det) */
	int emb_dim;      /* elements of emb; must equal the tracker's emb_dim
	                  ** when emb != NULL */
};

struct fl_tracker_params {
	/* Detections with score >= high_thresh take part in the first two
	** association passes and may start tracks; those in
	** [low_thresh, high_thresh) only continue tracks (third pass); lower
	** ones are ignored.  Defaults 0.6 and 0.3. */
	float high_thresh, low_thresh;
	/* IoU gate between a predicted box and a detection: first pass
	** (default 0.2) and low-score pass (default 0.3). */
	float iou_gate, iou_gate_low;
	/* Embedding veto in the IoU passes: when both the track and the
	** detection have embeddings, a pair with cosine < emb_floor is never
	** matched by IoU (default 0.4; different people are ~0.2, the same
	** face across frames >= 0.55).  Pairs that pass get the cost
	** (1 - IoU) + emb_weight * (1 - cosine) (default emb_weight 0.5). */
	float emb_floor, emb_weight;
	/* Appearance pass (leftover high-score detections vs leftover tracks):
	** cosine >= app_thresh (default 0.6) and the detection's centre within
	** app_radius * track size * (1 + seconds since the track's last hit)
	** of the predicted centre, track size = (w + h) / 2 (default 2.0). */
	float app_thresh, app_radius;
	/* A new track is tentative until it has min_hits detections (default
	** 2), or confirmed at once when its first detection scores >=
	** confirm_score (default 0.9; > 1 disables).  A tentative track that
	** misses an analysed frame ends, unconfirmed (ByteTrack's rule: a
	** one-frame false detection never becomes a track). */
	int min_hits;
	float confirm_score;
	/* A tentative track survives misses for this many seconds (default 0:
	** ByteTrack's rule above).  The video analysis sets it to its
	** full-detection interval: between full detections a face is only
	** looked for around its track, and a new face whose following fails
	** once still gets its second chance at the next full detection. */
	double tentative_grace_s;
	/* A confirmed track ends when it has had no detection for more than
	** max_missed_s seconds (default 1.0).  Its end time is its last
	** detection's time, not the time it was dropped. */
	double max_missed_s;
	/* Dimension of embeddings (default 192); 0 = the caller never passes
	** embeddings (then no per-track embedding memory is allocated). */
	int emb_dim;
	/* The mean embedding averages the emb_top_k detections of highest
	** quality (default 8), renormalised to unit length. */
	int emb_top_k;
	/* Kalman noise, as standard deviations in units of the box size
	** ((w + h) / 2): measurement noise (default 0.05), process noise on
	** position per sqrt(second) (default 0.1), on velocity per
	** sqrt(second) (default 1.0; faces change direction quickly), and the
	** initial velocity uncertainty per second (default 1.0). */
	float kf_meas, kf_pos, kf_vel, kf_vel0;
};

/* The defaults documented above. */
struct fl_tracker_params fl_tracker_default_params(void);

struct fl_tracker;

/* Create a tracker.  p may be NULL (defaults); it is copied.  *out is set
** to the tracker, or NULL on failure.  Returns 0, FL_EINVAL (a parameter
** out of range: thresholds outside [0, 1], low > high, min_hits < 1,
** max_missed_s < 0, emb_dim < 0, emb_top_k < 1) or FL_ENOMEM. */
int fl_tracker_create(const struct fl_tracker_params *p, struct fl_tracker **out);
/* Release a tracker and everything it owns (summaries' embeddings too).
** NULL-safe. */
void fl_tracker_destroy(struct fl_tracker *tr);

/*
** Feed the detections of one analysed frame.
**   t      the frame's time in seconds; never smaller than the previous
**          update's (equal is allowed: zero elapsed time).  Sampling may be
**          irregular: the Kalman filter predicts over the actual interval.
**   frame  the frame's number (stored as the tracks' start/end frames).
**   dets   n detections (n >= 0; dets may be NULL when n == 0), borrowed for
**          the call, embeddings included.
**   track_ids  out, n ints (may be NULL): the id of the track each detection
**          was assigned to (a new or an existing one), or -1 when it was not
**          (a low-score detection that matched nothing, or one below
**          low_thresh).
** The tracker does not keep per-detection history: the caller keeps what it
** needs (box, score, landmarks, expression) under the returned track id.
** Ids are stable and increase from 1 in order of creation; a tentative
** track that ends unconfirmed keeps its id (enumerated with confirmed = 0),
** so the caller may discard the detections stored under it.
** Returns 0, FL_EINVAL (t earlier than the previous update, a NaN, a box
** with w or h <= 0, emb_dim mismatch, n < 0, after fl_tracker_finish) or
** FL_ENOMEM.  On any error the tracker is unchanged and track_ids is all -1,
** so the caller may skip the frame and go on.
*/
int fl_tracker_update(struct fl_tracker *tr, double t, int64_t frame, const struct fl_track_det *dets, int n,
                      int *track_ids);

/* A shot cut: end all active tracks now (a face in the next shot starts a
** new track; the clustering decides whether it is the same person).
** Later updates go on as usual.  Returns 0, or FL_EINVAL after finish. */
int fl_tracker_cut(struct fl_tracker *tr);

/* End all tracks (at the end of the video).  Later updates fail with
** FL_EINVAL.  Allocates nothing; returns 0. */
int fl_tracker_finish(struct fl_tracker *tr);

/* What the tracker knows of one track. */
struct fl_track_summary {
	int id;        /* 1, 2, ... in order of creation */
	int confirmed; /* 0: tentative or ended unconfirmed */
	int active;    /* 1 while the track may still receive detections */
	int n_dets;    /* detections assigned (hits) */
	double start, end;              /* seconds of the first and last detection */
	int64_t start_frame, end_frame; /* their frame numbers */
	/* Mean embedding of the top-K quality detections, unit length, emb_dim
	** floats; NULL when no detection of the track had an embedding.  Owned
	** by the tracker: valid until the next fl_tracker_update or
	** fl_tracker_destroy. */
	const float *emb;
	int emb_dim;
	int n_emb; /* embeddings averaged in emb (<= emb_top_k) */
	/* The detection of highest quality (a thumbnail): time, frame, box. */
	double best_t;
	int64_t best_frame;
	float best_box[4];
	float best_quality;
	/* The Kalman-filtered box at the last detection (x, y, w, h). */
	float kf_box[4];
};

/* Number of tracks created so far (active and ended).  Track i (0-based)
** has id i + 1. */
int fl_tracker_n_tracks(const struct fl_tracker *tr);
/* Fill *out with track i (0 <= i < fl_tracker_n_tracks).  Returns 0 or
** FL_EINVAL (i out of range). */
int fl_tracker_get(const struct fl_tracker *tr, int i, struct fl_track_summary *out);

/* Intersection over union of two boxes [x, y, w, h] (0 when either is
** empty or they do not meet). */
float fl_box_iou(const float a[4], const float b[4]);

/* Number of active tracks (those that may still receive detections). */
int fl_tracker_n_active(const struct fl_tracker *tr);

/*
** The Kalman prediction at time t (>= the last update's) of active track k
** (0 <= k < fl_tracker_n_active, in order of creation): its box [x, y, w,
** h] into box and its id into *id (may be NULL).  The tracker is not
** changed.  Returns 1 for a confirmed track, 0 for a tentative one, or
** FL_EINVAL.  The video analysis uses it to follow faces between full
** detections (it looks for each tracked face around its prediction).
*/
int fl_tracker_predict(const struct fl_tracker *tr, int k, double t, int *id, float box[4]);

/* ---------------------------------------------------------------- persons */

struct fl_cluster_params {
	/* Two clusters merge while their average cosine (mean over all pairs
	** of member tracks' mean embeddings) is >= same_person (default
	** 0.55) and no member of one overlaps in time a member of the other. */
	float same_person;
	/* A track is "short" when it is unconfirmed or has fewer than
	** min_dets detections (default 2).  Short tracks do not take part in
	** the clustering (one noisy crop must not bridge two people); after
	** it, each joins the person with the highest average cosine when that
	** is >= short_match (default 0.6, the confident side of the undecided
	** band) and no cannot-link forbids it; otherwise it becomes its own
	** person when keep_short (default 0) or is dropped (person 0). */
	int min_dets;
	float short_match;
	int keep_short;
};

/* The defaults documented above. */
struct fl_cluster_params fl_cluster_default_params(void);

/*
** Group tracks into persons.
**   tracks  n summaries (from fl_tracker_get, or made by the caller),
**           borrowed.  Only id-independent fields are read: confirmed,
**           n_dets, start, end, start_frame, end_frame, emb, emb_dim.
**           Embeddings of different emb_dim never match.
**   p       NULL for the defaults.
**   person_of_track  out, n ints: the person (1, 2, ...) of each track, or
**           0 for a dropped short track.  Persons are numbered in order of
**           first appearance (earliest start time of their tracks; ties by
**           the lower track index).
** Cannot-link: tracks i and j overlap when their frame spans intersect
** (start_frame_i <= end_frame_j and start_frame_j <= end_frame_i), i.e. both
** had a detection-bounded span covering a common analysed frame; such
** tracks never share a person.  A non-short track without an embedding is
** its own person.
** Cost: O(n^2) memory (a float similarity matrix), about O(n^2) time for
** typical data (worst case O(n^3)).
** Returns the number of persons (>= 0), FL_EINVAL (n < 0, NULL arrays with
** n > 0, bad parameters) or FL_ENOMEM (person_of_track is then all 0).
*/
int fl_cluster_tracks(const struct fl_track_summary *tracks, int n, const struct fl_cluster_params *p,
                      int *person_of_track);

/* -------------------------------------------------------------- timelines */

/*
** The segments of a timeline: the union of n spans [start, end] (seconds;
** any order, start <= end) where consecutive pieces separated by a gap
** shorter than `gap` seconds are joined (overlapping and touching spans are
** always joined).  Writes the first max_out segments, sorted, to out and
** returns the total number of segments (like snprintf: call with
** max_out = 0 to size the array), or FL_EINVAL (n < 0, gap < 0 or NaN, a
** span with end < start or a NaN) or FL_ENOMEM.  spans and out may not
** overlap.  A person's screen time is then fl_timeline_screen_time(out),
** first seen out[0][0], last seen out[k-1][1].  Spans of single detections
** have zero length: the caller may widen each by half its sampling interval.
*/
int fl_timeline_segments(const double (*spans)[2], int n, double gap, double (*out)[2], int max_out);

/* Sum of end - start over n segments (seconds); 0 for n <= 0. */
double fl_timeline_screen_time(const double (*segs)[2], int n);

#ifdef __cplusplus
}
#endif
#endif /* FL_TRACK_H */
