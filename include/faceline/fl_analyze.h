/*
** fl_analyze.h -- the video analysis of libfaceline: who appears when in a
** video, where their faces are, and their facial expressions.
**
** fl_analyze_file() runs the whole pipeline on one file:
**
**   probe (limits) -> decode thread (bounded queue of sampled RGB frames)
**     -> per analysed frame: BlazeFace on the whole frame + FaceMesh
**        verification (fl_detector), MobileFaceNet embeddings of the aligned
**        faces and FaceExpressionNet probabilities (batched over the faces
**        of the frame), tracker update
**     -> at the end: tracks clustered into persons (cannot-link), each
**        person's segments, screen time, expression summary, thumbnail.
**
** and returns a struct fl_result, a plain documented tree of arrays that
** the caller reads directly and writes as JSON (docs/result-format.md).
** Decoding overlaps analysis through the decoder's queue; memory does not
** grow with the video except by the per-detection records (~120 bytes per
** face per analysed frame).
**
** Units: times are seconds (double) from the first video frame; frame
** numbers are 0-based indices among all decoded frames; boxes are
** [x, y, w, h] in pixels of the displayed (rotation-applied) frame.
*/
#ifndef FL_ANALYZE_H
#define FL_ANALYZE_H

#include <stdio.h>

#include "fl_base.h"
#include "fl_media.h"
#include "fl_vision.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- progress */

/* What the progress callback is told, after each analysed frame and at
** each change of stage. */
struct fl_analyze_progress {
	double fraction;          /* 0..1 of the video's duration analysed */
	int64_t frames_decoded;   /* frames out of the decoder so far */
	int64_t frames_analysed;  /* sampled frames run through the models */
	double fps;               /* analysed frames per wall-clock second */
	double eta;               /* seconds left (estimate; -1 when unknown) */
	double elapsed;           /* wall-clock seconds since the start */
	double video_time;        /* time of the last analysed frame, seconds */
	const char *stage;        /* "load", "analyse", "persons", "done" (static) */
};

typedef void (*fl_analyze_progress_fn)(void *opaque, const struct fl_analyze_progress *p);

/* --------------------------------------------------------------- params */

struct fl_analyze_params {
	double fps;       /* analysis rate, frames per second; default 5 */
	int every_frame;  /* 1: analyse every decoded frame (fps ignored); default 0 */
	int threads;      /* threads of each model session (the decoder gets threads/4, at least 1); 0 = fl_cpu_count() */
	double gap;       /* a person's segments closer than this (seconds) are joined; default 1.0 */
	/* Folder of the models (human/, expo/, faceapi/ inside); NULL = $FL_MODELS,
	** or "models" when that is unset.  Borrowed for the call. */
	const char *models_dir;
	float min_score;      /* BlazeFace score to keep a box; default: the detector's (0.5) */
	float min_face_score; /* FaceMesh face score to keep a face; default: the detector's (0.1) */
	int max_faces;        /* faces per frame at most; default 64 */
	/* 1: let libavcodec skip the non-reference frames that lie between
	** sampling instants (fl_decoder_params.skip_nonref: the same frames are
	** analysed, decoding costs ~1/3 less); default 1, 0 = decode all. */
	int skip_nonref;
	/* The detection schedule.  Every full_interval seconds the full
	** detector runs (BlazeFace on the whole picture fit into 1024x576,
	** faces down to ~20 px, plus the 256x256 close-up pass, each box
	** verified by FaceMesh); every detect_interval seconds in between a
	** pass at half that size looks for new faces of ~40 px and more; on the
	** other analysed frames each tracked face is followed by FaceMesh
	** around its predicted box (MediaPipe's detect-then-track scheme).
	** Identity embeddings are taken on full detections.  Defaults 0.4 and
	** 1.2; either 0 = the full detector on every analysed frame. */
	double detect_interval;
	double full_interval;
	/* 1: decode the whole video first (frames held in memory, which then
	** grows with the video), then analyse: the stages' standalone
	** throughputs for bench/video.sh (stats.t_decode_wait is then the
	** decode stage alone).  Default 0. */
	int predecode;
	struct fl_media_limits limits; /* default fl_media_default_limits() */
	/* Called on the analysing thread (the caller's); may be NULL. */
	fl_analyze_progress_fn progress;
	void *progress_opaque;
	/* If not NULL, set *cancel to nonzero from any thread to stop the
	** analysis: fl_analyze_file then returns FL_ECANCELED soon after. */
	volatile int *cancel;
};

/* The defaults above. */
struct fl_analyze_params fl_analyze_default_params(void);

/* --------------------------------------------------------------- result */

/* One face on one analysed frame. */
struct fl_result_detection {
	double t;             /* seconds */
	int64_t frame;        /* frame number */
	float box[4];         /* x, y, w, h (BlazeFace's tight box) */
	float score;          /* BlazeFace score 0..1 */
	float face_score;     /* FaceMesh face score 0..1 */
	float points[5][2];   /* enum fl_face_point order: eyes, nose, mouth corners */
	float expression[FL_EXPRESSION_N]; /* enum fl_expression_class order, sums to 1 */
};

/* A confirmed track: one face followed over consecutive analysed frames. */
struct fl_result_track {
	int id;               /* 1..n_tracks, in order of start */
	int person;           /* the person's id */
	double start, end;    /* seconds of its first and last detection */
	int n_detections;
	struct fl_result_detection *detections; /* in time order */
};

struct fl_result_segment {
	double start, end; /* seconds */
};

/* FL_RESULT_UNCERTAIN: no expression reaches the naming threshold. */
#define FL_RESULT_UNCERTAIN (-1)
/* Probability at which a (smoothed) expression is named. */
#define FL_RESULT_EXPRESSION_MIN 0.7f
/* Half-width of the expression smoothing window, seconds (~1 s window). */
#define FL_RESULT_SMOOTH_S 0.5

struct fl_result_person {
	int id;                 /* 1..n_persons, in order of first appearance */
	int n_segments;
	struct fl_result_segment *segments; /* sorted, disjoint */
	double screen_time;     /* sum of the segments' lengths, seconds */
	double first, last;     /* start of the first segment, end of the last */
	int n_tracks;
	int *tracks;            /* its track ids, ascending */
	/* Mean of the 7 probabilities over all its detections. */
	float expression_mean[FL_EXPRESSION_N];
	/* The dominant expression (enum fl_expression_class) or
	** FL_RESULT_UNCERTAIN.  Each detection's probabilities are averaged
	** over +-FL_RESULT_SMOOTH_S seconds of its track; a detection is
	** labelled with the class whose smoothed probability is >= 0.7, or
	** "uncertain"; the dominant one is the most frequent label (ties: the
	** lower class), uncertain included. */
	int dominant;
	/* The best-quality detection (face score x score x size). */
	double thumb_t;
	int64_t thumb_frame;
	float thumb_box[4];
};

/* The models timed by --profile (fl_result_stats.t_model / n_model). */
enum fl_profile_model {
	FL_PROFILE_BLAZEFACE,
	FL_PROFILE_FACEMESH,
	FL_PROFILE_MOBILEFACENET,
	FL_PROFILE_FACEEXPRESSION,
	FL_PROFILE_N
};
/* "blazeface", "facemesh", "mobilefacenet", "faceexpressionnet". */
const char *fl_profile_model_name(int m);

struct fl_result_stats {
	int64_t frames_decoded, frames_analysed, frames_corrupt;
	int64_t frames_missing; /* frames the container promised after the file's end (cut short) */
	int64_t detections;     /* detections kept in the result */
	/* Wall-clock seconds per stage on the analysing thread: waiting for
	** the decoder (decode work not hidden behind analysis), detection
	** (BlazeFace + FaceMesh), embedding (align + MobileFaceNet),
	** expression (crop + FaceExpressionNet), tracking, clustering and
	** result building, model loading, and the whole call. */
	double t_decode_wait, t_detect, t_embed, t_expression, t_track, t_persons, t_load, t_total;
	int64_t peak_rss;       /* bytes (getrusage ru_maxrss) */
	int64_t frames_full;    /* analysed frames that ran the full-frame detector */
	/* Per model: wall-clock seconds (input preparation included) and runs
	** (a BlazeFace run is one pass; embedder/expression runs are batches). */
	double t_model[FL_PROFILE_N];
	int64_t n_model[FL_PROFILE_N];
};

/* The result of one analysis; everything in it is owned by it. */
struct fl_result {
	int v;                        /* format version: 1 */
	char *path;                   /* the file as given */
	struct fl_video_info video;
	struct fl_analyze_params params; /* as used: threads resolved, callbacks NULL */
	char *models_dir;             /* params.models_dir points here */
	int n_persons;
	struct fl_result_person *persons;
	int n_tracks;
	struct fl_result_track *tracks;
	struct fl_result_stats stats;
};

/* ------------------------------------------------------------ functions */

/*
** Analyse the video at `path` (borrowed).  p may be NULL for the defaults.
** On success *out owns a result (fl_result_destroy) and 0 is returned.  On
** failure *out is NULL, a message naming the file (or the model) and what
** was wrong is written to err (may be NULL), and the code is one of:
**   FL_ENOENT / FL_EACCES   the video (or a model) cannot be opened
**   FL_EDECODE / FL_ECORRUPT / FL_EUNSUPPORTED / FL_ERANGE
**                           not a usable video (see fl_media.h)
**   FL_EINVAL               bad params
**   FL_ECANCELED            *p->cancel was set
**   FL_ENOMEM, or an engine error.
** A damaged frame in the middle is not a failure: it is counted in
** stats.frames_corrupt and the rest is analysed.  A decoding failure after
** some frames were analysed is not fatal either: the frames before it make
** the result and a warning is logged.
*/
int fl_analyze_file(const char *path, const struct fl_analyze_params *p, struct fl_result **out, char *err,
                    size_t err_size);

/* Free a result.  NULL-safe. */
void fl_result_destroy(struct fl_result *r);

/* "happy", ... or "neutral/uncertain" for a person's dominant value. */
const char *fl_result_expression_name(int dominant);

/*
** Write r as result JSON v1 (docs/result-format.md) to f (borrowed).
** Memory stays bounded: the tracks are serialised one at a time.
** Returns 0, FL_EIO (a write failed) or FL_ENOMEM.
*/
int fl_result_write_json(const struct fl_result *r, FILE *f);

/* The same into the file at `path` (created or replaced).  Returns 0,
** FL_EIO (message naming the path in err) or FL_ENOMEM. */
int fl_result_save_json(const struct fl_result *r, const char *path, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
#endif /* FL_ANALYZE_H */
