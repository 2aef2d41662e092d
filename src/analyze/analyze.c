/*
** analyze.c -- the video pipeline of libfaceline (fl_analyze_file): decode
** sampled frames on the decoder's thread, run the face models on each one
** on the calling thread, follow faces with the tracker, and at the end of
** the video turn tracks into persons, segments and summaries (struct
** fl_result, written as JSON by result.c).
**
** Data flow and memory.  The decoder (src/media) fills a bounded queue of
** refcounted RGB frames, so decoding the next frames overlaps the analysis
** of this one.  A frame is held only while its faces are detected, aligned
** and cropped; then it is released.  What survives a frame is one compact
** record per kept detection (struct rec, ~120 bytes) in a growing array,
** and the tracker's per-track state -- nothing else grows with the video.
** At EOF, records of tracks that ended unconfirmed or were dropped by the
** clustering are discarded and the rest are grouped by track.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/base_int.h"
#include "faceline/fl_analyze.h"
#include "faceline/fl_track.h"

/* One detection kept while the video runs; grouped by track at the end. */
struct rec {
	struct fl_result_detection d;
	int track; /* tracker id */
	int edge;  /* 1: the box touches the frame's border (a cut face) */
};

/* 1 when box [x, y, w, h] reaches within a pixel of a w x h frame's border. */
static int at_edge(const float *b, int width, int height)
{
	return b[0] < 1 || b[1] < 1 || b[0] + b[2] > width - 1 || b[1] + b[3] > height - 1;
}

/* Everything one analysis holds; released by ctx_fini. */
struct ctx {
	struct fl_analyze_params p;
	const char *path;
	struct fl_decoder *dec;
	struct fl_detector *det;
	struct fl_embedder *emb;
	struct fl_expression *expr;
	struct fl_tracker *tr;
	struct fl_face *faces;
	float (*points)[5][2];
	float (*boxes)[4];
	float *embs;  /* max_faces x FL_EMBED_DIM */
	float *probs; /* max_faces x 7 */
	struct fl_track_det *tdets;
	int *ids;
	struct rec *recs;
	size_t n_recs, cap_recs;
	struct fl_result_stats st;
	double t_start;
	double video_time;
};

struct fl_analyze_params fl_analyze_default_params(void)
{
	struct fl_detector_params dp = fl_detector_default_params();
	struct fl_analyze_params p;
	memset(&p, 0, sizeof(p));
	p.fps = 5.0;
	p.gap = 1.0;
	p.min_score = dp.min_score;
	p.min_face_score = dp.min_face_score;
	p.max_faces = 64;
	p.limits = fl_media_default_limits();
	return p;
}

static void ctx_fini(struct ctx *c)
{
	fl_decoder_close(c->dec);
	fl_detector_destroy(c->det);
	fl_embedder_destroy(c->emb);
	fl_expression_destroy(c->expr);
	fl_tracker_destroy(c->tr);
	fl_free(c->faces);
	fl_free(c->points);
	fl_free(c->boxes);
	fl_free(c->embs);
	fl_free(c->probs);
	fl_free(c->tdets);
	fl_free(c->ids);
	fl_free(c->recs);
}

static int canceled(const struct ctx *c)
{
	return c->p.cancel && __atomic_load_n(c->p.cancel, __ATOMIC_RELAXED);
}

static void progress(struct ctx *c, const char *stage)
{
	if (!c->p.progress)
		return;
	const struct fl_video_info *vi = fl_decoder_info(c->dec);
	struct fl_decoder_stats ds;
	struct fl_analyze_progress pr;
	memset(&pr, 0, sizeof(pr));
	fl_decoder_stats(c->dec, &ds);
	pr.elapsed = fl__now() - c->t_start;
	pr.frames_decoded = ds.frames_decoded;
	pr.frames_analysed = c->st.frames_analysed;
	pr.video_time = c->video_time;
	if (!strcmp(stage, "done") || !strcmp(stage, "persons"))
		pr.fraction = 1.0;
	else if (vi->duration > 0)
		pr.fraction = c->video_time / vi->duration;
	else if (vi->n_frames > 0)
		pr.fraction = (double)ds.frames_decoded / (double)vi->n_frames;
	pr.fraction = pr.fraction < 0 ? 0 : pr.fraction > 1 ? 1 : pr.fraction;
	pr.fps = pr.elapsed > 0 ? (double)pr.frames_analysed / pr.elapsed : 0;
	pr.eta = pr.fraction > 0.01 ? pr.elapsed * (1.0 - pr.fraction) / pr.fraction : -1;
	pr.stage = stage;
	c->p.progress(c->p.progress_opaque, &pr);
}

static int64_t peak_rss(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

/* Check params and fill in the resolved values (threads, models dir). */
static int check_params(struct fl_analyze_params *p, char *err, size_t err_size)
{
	if (!p->every_frame && !(p->fps > 0 && p->fps <= 1000)) {
		fl__errf(err, err_size, "analysis rate %g frames/s is out of range (0, 1000]", p->fps);
		return FL_EINVAL;
	}
	if (!(p->gap >= 0 && p->gap <= 1e6)) {
		fl__errf(err, err_size, "gap %g s is out of range", p->gap);
		return FL_EINVAL;
	}
	if (!(p->min_score >= 0 && p->min_score <= 1) || !(p->min_face_score >= 0 && p->min_face_score <= 1)) {
		fl__errf(err, err_size, "scores must lie in [0, 1]");
		return FL_EINVAL;
	}
	if (p->max_faces < 1 || p->max_faces > 1024 || p->threads < 0 || p->threads > 1024) {
		fl__errf(err, err_size, "max_faces must be 1..1024 and threads 0..1024");
		return FL_EINVAL;
	}
	if (p->threads == 0)
		p->threads = fl_cpu_count();
	if (!p->models_dir || !*p->models_dir) {
		const char *env = getenv("FL_MODELS");
		p->models_dir = env && *env ? env : "models";
	}
	return 0;
}

/* ============================================================ per frame */

/* Keep the detection records of one frame (those the tracker assigned). */
static int keep_records(struct ctx *c, const struct fl_frame *fr, int n)
{
	if (c->n_recs + (size_t)n > c->cap_recs) {
		size_t cap = c->cap_recs ? c->cap_recs * 2 : 256;
		while (cap < c->n_recs + (size_t)n)
			cap *= 2;
		struct rec *nr = fl_realloc(c->recs, cap * sizeof(*nr));
		if (!nr)
			return FL_ENOMEM;
		c->recs = nr;
		c->cap_recs = cap;
	}
	for (int i = 0; i < n; i++) {
		if (c->ids[i] < 0)
			continue;
		struct rec *r = &c->recs[c->n_recs++];
		memset(r, 0, sizeof(*r));
		r->track = c->ids[i];
		r->edge = at_edge(c->faces[i].box, fr->width, fr->height);
		r->d.t = fr->t;
		r->d.frame = fr->index;
		memcpy(r->d.box, c->faces[i].box, sizeof(r->d.box));
		r->d.score = c->faces[i].score;
		r->d.face_score = c->faces[i].face_score;
		memcpy(r->d.points, c->faces[i].points, sizeof(r->d.points));
		memcpy(r->d.expression, c->probs + (size_t)i * FL_EXPRESSION_N, sizeof(r->d.expression));
	}
	return 0;
}

/* Expression of the n faces; a batch refused as a whole (a box outside the
** picture) is retried face by face, and a face that still fails gets
** uniform probabilities. */
static int run_expression(struct ctx *c, const struct fl_image *img, int n, char *err, size_t err_size)
{
	int r = fl_expression_run(c->expr, img, (const float(*)[4])c->boxes, n, c->probs);
	if (r == FL_ERANGE) {
		for (int i = 0; i < n; i++) {
			float *pi = c->probs + (size_t)i * FL_EXPRESSION_N;
			r = fl_expression_run(c->expr, img, (const float(*)[4])c->boxes + i, 1, pi);
			if (r == FL_ERANGE)
				for (int k = 0; k < FL_EXPRESSION_N; k++)
					pi[k] = 1.0f / FL_EXPRESSION_N;
			else if (r < 0)
				break;
		}
		if (r == FL_ERANGE)
			r = 0;
	}
	if (r < 0)
		fl__errf(err, err_size, "%s: expression: %s", c->path, fl_expression_errmsg(c->expr));
	return r;
}

/* Detect, embed, classify and track the faces of one frame.  The frame
** stays owned by the caller. */
static int analyse_frame(struct ctx *c, const struct fl_frame *fr, char *err, size_t err_size)
{
	struct fl_image img = {.data = fr->data, .width = fr->width, .height = fr->height, .stride = fr->stride};
	double t0 = fl__now();
	int n = fl_detector_detect(c->det, &img, c->faces, c->p.max_faces);
	if (n < 0) {
		fl__errf(err, err_size, "%s: detection at %.3f s: %s", c->path, fr->t, fl_detector_errmsg(c->det));
		return n;
	}
	/* The tracker refuses empty or non-finite boxes: drop them here. */
	int m = 0;
	for (int i = 0; i < n; i++) {
		const float *b = c->faces[i].box;
		if (isfinite(b[0]) && isfinite(b[1]) && b[2] > 0.5f && b[3] > 0.5f && isfinite(b[2]) && isfinite(b[3]))
			c->faces[m++] = c->faces[i];
	}
	n = m;
	double t1 = fl__now();
	c->st.t_detect += t1 - t0;
	if (n > 0) {
		for (int i = 0; i < n; i++) {
			memcpy(c->points[i], c->faces[i].points, sizeof(c->points[i]));
			memcpy(c->boxes[i], c->faces[i].box, sizeof(c->boxes[i]));
		}
		int r = fl_embedder_run(c->emb, &img, (const float(*)[5][2])c->points, n, c->embs);
		if (r < 0) {
			fl__errf(err, err_size, "%s: embedding at %.3f s: %s", c->path, fr->t, fl_embedder_errmsg(c->emb));
			return r;
		}
		double t2 = fl__now();
		c->st.t_embed += t2 - t1;
		r = run_expression(c, &img, n, err, err_size);
		if (r < 0)
			return r;
		t1 = fl__now();
		c->st.t_expression += t1 - t2;
	}
	for (int i = 0; i < n; i++) {
		const struct fl_face *f = &c->faces[i];
		struct fl_track_det *d = &c->tdets[i];
		memcpy(d->box, f->box, sizeof(d->box));
		d->score = f->score;
		d->quality = f->score * (f->face_score > 0 ? f->face_score : 0.1f) * sqrtf(f->box[2] * f->box[3]);
		/* A face cut by the frame's border embeds poorly: let the track's
		** mean embedding and thumbnail prefer whole faces. */
		if (at_edge(f->box, fr->width, fr->height))
			d->quality *= 0.1f;
		d->emb = c->embs + (size_t)i * FL_EMBED_DIM;
		d->emb_dim = FL_EMBED_DIM;
	}
	int r = fl_tracker_update(c->tr, fr->t, fr->index, c->tdets, n, c->ids);
	if (r == FL_EINVAL) {
		/* A time going backwards (a damaged timestamp): skip the frame. */
		fl_log(FL_LOG_WARN, "%s: frame %lld at %.3f s skipped by the tracker", c->path, (long long)fr->index,
		       fr->t);
		r = 0;
		n = 0;
	}
	if (r < 0)
		return r;
	r = keep_records(c, fr, n);
	c->st.t_track += fl__now() - t1;
	return r;
}

/* ============================================================ the result */

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->track != y->track)
		return x->track < y->track ? -1 : 1;
	return x->d.t < y->d.t ? -1 : x->d.t > y->d.t;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The expression summary of a person from its tracks' detections. */
static void person_expression(struct fl_result *res, struct fl_result_person *pe)
{
	double sum[FL_EXPRESSION_N] = {0};
	int64_t count[FL_EXPRESSION_N + 1] = {0}, n = 0;
	for (int k = 0; k < pe->n_tracks; k++) {
		const struct fl_result_track *tk = &res->tracks[pe->tracks[k] - 1];
		int lo = 0, hi = 0; /* the window [lo, hi) of detections near i */
		for (int i = 0; i < tk->n_detections; i++) {
			const struct fl_result_detection *d = &tk->detections[i];
			while (tk->detections[lo].t < d->t - FL_RESULT_SMOOTH_S - 1e-9)
				lo++;
			while (hi < tk->n_detections && tk->detections[hi].t <= d->t + FL_RESULT_SMOOTH_S + 1e-9)
				hi++;
			double sm[FL_EXPRESSION_N] = {0};
			for (int j = lo; j < hi; j++)
				for (int e = 0; e < FL_EXPRESSION_N; e++)
					sm[e] += tk->detections[j].expression[e];
			int best = FL_EXPRESSION_N; /* uncertain */
			for (int e = 0; e < FL_EXPRESSION_N; e++) {
				sum[e] += d->expression[e];
				if (sm[e] / (hi - lo) >= FL_RESULT_EXPRESSION_MIN)
					best = e;
			}
			count[best]++;
			n++;
		}
	}
	int dom = 0; /* ties go to the lower class; "uncertain" is the last */
	for (int e = 1; e <= FL_EXPRESSION_N; e++)
		if (count[e] > count[dom])
			dom = e;
	pe->dominant = dom == FL_EXPRESSION_N ? FL_RESULT_UNCERTAIN : dom;
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		pe->expression_mean[e] = n ? (float)(sum[e] / (double)n) : 0.0f;
}

/* Group the records into tracks, cluster the tracks into persons and fill
** res (tracks, persons).  Records of unconfirmed or dropped tracks go. */
static int build_result(struct ctx *c, struct fl_result *res, char *err, size_t err_size)
{
	int n_all = fl_tracker_n_tracks(c->tr);
	struct fl_track_summary *sum = NULL;
	int *tid = NULL, *person = NULL, *new_id = NULL, *n_det = NULL;
	double(*spans)[2] = NULL;
	int r = FL_ENOMEM, n_conf = 0;

	sum = fl_calloc((size_t)n_all + 1, sizeof(*sum));
	tid = fl_calloc((size_t)n_all + 1, sizeof(*tid));
	person = fl_calloc((size_t)n_all + 1, sizeof(*person));
	new_id = fl_calloc((size_t)n_all + 1, sizeof(*new_id));
	n_det = fl_calloc((size_t)n_all + 1, sizeof(*n_det));
	if (!sum || !tid || !person || !new_id || !n_det)
		goto fail;
	for (int i = 0; i < n_all; i++) {
		struct fl_track_summary s;
		fl_tracker_get(c->tr, i, &s);
		if (s.confirmed) {
			tid[n_conf] = s.id;
			sum[n_conf++] = s;
		}
	}
	/* A track that only ever saw a face cut by the border has a poor
	** embedding: it clusters as a "short" track (joins a person only when
	** confidently similar, else is dropped) instead of founding a person. */
	for (size_t i = 0; i < c->n_recs; i++)
		if (!c->recs[i].edge && c->recs[i].track > 0 && c->recs[i].track <= n_all)
			n_det[c->recs[i].track] = 1; /* has a whole face; reset below */
	for (int i = 0; i < n_conf; i++)
		if (!n_det[tid[i]])
			sum[i].n_dets = 1;
	memset(n_det, 0, ((size_t)n_all + 1) * sizeof(*n_det));
	int n_persons = fl_cluster_tracks(sum, n_conf, NULL, person);
	if (n_persons < 0) {
		r = n_persons;
		fl__errf(err, err_size, "%s: clustering tracks: %s", c->path, fl_strerror(r));
		goto fail;
	}
	/* Kept tracks, renumbered 1..n in order of creation (= of start). */
	int n_tracks = 0;
	for (int i = 0; i < n_conf; i++)
		if (person[i] > 0)
			new_id[tid[i]] = ++n_tracks;
	for (size_t i = 0; i < c->n_recs; i++) {
		int t = c->recs[i].track;
		c->recs[i].track = t > 0 && t <= n_all ? new_id[t] : 0;
		n_det[c->recs[i].track]++;
	}
	if (c->n_recs) /* recs is NULL when nothing was detected */
		qsort(c->recs, c->n_recs, sizeof(*c->recs), cmp_rec);

	res->tracks = fl_calloc((size_t)n_tracks + 1, sizeof(*res->tracks));
	res->persons = fl_calloc((size_t)n_persons + 1, sizeof(*res->persons));
	if (!res->tracks || !res->persons)
		goto fail;
	res->n_tracks = n_tracks;
	res->n_persons = n_persons;
	size_t at = (size_t)n_det[0]; /* records of dropped tracks sort first */
	for (int i = 0; i < n_conf; i++) {
		if (person[i] <= 0)
			continue;
		struct fl_result_track *tk = &res->tracks[new_id[tid[i]] - 1];
		tk->id = new_id[tid[i]];
		tk->person = person[i];
		tk->start = sum[i].start;
		tk->end = sum[i].end;
		tk->n_detections = n_det[tk->id];
		tk->detections = fl_malloc(((size_t)tk->n_detections + 1) * sizeof(*tk->detections));
		if (!tk->detections)
			goto fail;
		for (int k = 0; k < tk->n_detections; k++)
			tk->detections[k] = c->recs[at + (size_t)k].d;
		at += (size_t)tk->n_detections;
	}
	res->stats.detections = (int64_t)(c->n_recs - (size_t)n_det[0]);
	fl_free(c->recs); /* grouped now */
	c->recs = NULL;
	c->n_recs = c->cap_recs = 0;

	/* Half a sampling interval around each detection: a face seen on one
	** analysed frame was on screen about that long. */
	double fps = c->p.every_frame ? res->video.fps : c->p.fps;
	double half = fps > 0 ? 0.5 / fps : 0.02;
	double t_max = res->video.duration;
	spans = fl_malloc(((size_t)n_tracks + 1) * sizeof(*spans));
	if (!spans)
		goto fail;
	for (int pi = 0; pi < n_persons; pi++) {
		struct fl_result_person *pe = &res->persons[pi];
		pe->id = pi + 1;
		int ns = 0;
		float best_q = -1;
		for (int i = 0; i < n_conf; i++) {
			if (person[i] != pe->id)
				continue;
			const struct fl_result_track *tk = &res->tracks[new_id[tid[i]] - 1];
			double s0 = tk->start - half, s1 = tk->end + half;
			if (s0 < 0)
				s0 = 0;
			if (t_max > 0 && s1 > t_max && tk->end <= t_max)
				s1 = t_max;
			spans[ns][0] = s0;
			spans[ns++][1] = s1;
			if (sum[i].best_quality > best_q) {
				best_q = sum[i].best_quality;
				pe->thumb_t = sum[i].best_t;
				pe->thumb_frame = sum[i].best_frame;
				memcpy(pe->thumb_box, sum[i].best_box, sizeof(pe->thumb_box));
			}
		}
		pe->tracks = fl_malloc(((size_t)ns + 1) * sizeof(*pe->tracks));
		if (!pe->tracks)
			goto fail;
		for (int i = 0, k = 0; i < n_conf; i++)
			if (person[i] == pe->id)
				pe->tracks[k++] = new_id[tid[i]];
		pe->n_tracks = ns;
		qsort(pe->tracks, (size_t)ns, sizeof(int), cmp_int);
		int nseg = fl_timeline_segments((const double(*)[2])spans, ns, c->p.gap, NULL, 0);
		if (nseg < 0) {
			r = nseg;
			goto fail;
		}
		double(*segs)[2] = fl_malloc(((size_t)nseg + 1) * sizeof(*segs));
		pe->segments = fl_malloc(((size_t)nseg + 1) * sizeof(*pe->segments));
		if (!segs || !pe->segments) {
			fl_free(segs);
			goto fail;
		}
		fl_timeline_segments((const double(*)[2])spans, ns, c->p.gap, segs, nseg);
		for (int k = 0; k < nseg; k++) {
			pe->segments[k].start = segs[k][0];
			pe->segments[k].end = segs[k][1];
		}
		pe->n_segments = nseg;
		pe->screen_time = fl_timeline_screen_time((const double(*)[2])segs, nseg);
		pe->first = nseg ? segs[0][0] : 0;
		pe->last = nseg ? segs[nseg - 1][1] : 0;
		fl_free(segs);
		person_expression(res, pe);
	}
	r = 0;
fail:
	if (r == FL_ENOMEM)
		fl__errf(err, err_size, "%s: out of memory building the result", c->path);
	fl_free(sum);
	fl_free(tid);
	fl_free(person);
	fl_free(new_id);
	fl_free(n_det);
	fl_free(spans);
	return r;
}

/* ============================================================ the call */

/* Open the decoder and load the models into c. */
static int open_all(struct ctx *c, char *err, size_t err_size)
{
	struct fl_decoder_params dp = fl_decoder_default_params();
	dp.fps = c->p.every_frame ? 0 : c->p.fps;
	dp.threads = c->p.threads;
	dp.limits = c->p.limits;
	dp.skip_nonref = c->p.skip_nonref;
	int r = fl_decoder_open(c->path, &dp, &c->dec, err, err_size);
	if (r < 0)
		return r;

	double t0 = fl__now();
	struct fl_detector_params detp = fl_detector_default_params();
	detp.n_threads = c->p.threads;
	detp.min_score = c->p.min_score;
	detp.min_face_score = c->p.min_face_score;
	r = fl_detector_create(c->p.models_dir, &detp, &c->det, err, err_size);
	if (r < 0)
		return r;
	struct fl_embedder_params ep = fl_embedder_default_params();
	ep.n_threads = c->p.threads;
	r = fl_embedder_create(c->p.models_dir, &ep, &c->emb, err, err_size);
	if (r < 0)
		return r;
	struct fl_expression_params xp = fl_expression_default_params();
	xp.n_threads = c->p.threads;
	r = fl_expression_create(c->p.models_dir, &xp, &c->expr, err, err_size);
	if (r < 0)
		return r;
	struct fl_tracker_params tp = fl_tracker_default_params();
	tp.emb_dim = FL_EMBED_DIM;
	r = fl_tracker_create(&tp, &c->tr);
	if (r < 0) {
		fl__errf(err, err_size, "creating the tracker: %s", fl_strerror(r));
		return r;
	}
	size_t nf = (size_t)c->p.max_faces;
	c->faces = fl_calloc(nf, sizeof(*c->faces));
	c->points = fl_calloc(nf, sizeof(*c->points));
	c->boxes = fl_calloc(nf, sizeof(*c->boxes));
	c->embs = fl_calloc(nf * FL_EMBED_DIM, sizeof(float));
	c->probs = fl_calloc(nf * FL_EXPRESSION_N, sizeof(float));
	c->tdets = fl_calloc(nf, sizeof(*c->tdets));
	c->ids = fl_calloc(nf, sizeof(*c->ids));
	if (!c->faces || !c->points || !c->boxes || !c->embs || !c->probs || !c->tdets || !c->ids) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	c->st.t_load = fl__now() - t0;
	return 0;
}

int fl_analyze_file(const char *path, const struct fl_analyze_params *params, struct fl_result **out, char *err,
                    size_t err_size)
{
	struct ctx c;
	struct fl_result *res = NULL;
	struct fl_frame *fr = NULL;
	int r;

	if (err && err_size)
		err[0] = '\0';
	if (!out || !path) {
		fl__errf(err, err_size, "no file or no result pointer");
		return FL_EINVAL;
	}
	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.t_start = fl__now();
	c.path = path;
	c.p = params ? *params : fl_analyze_default_params();
	r = check_params(&c.p, err, err_size);
	if (r < 0)
		return r;
	r = open_all(&c, err, err_size);
	if (r < 0)
		goto fail;

	/* The analysis loop: one sampled frame at a time. */
	progress(&c, "analyse");
	for (;;) {
		if (canceled(&c)) {
			fl_decoder_cancel(c.dec);
			r = FL_ECANCELED;
			fl__errf(err, err_size, "%s: analysis canceled", path);
			goto fail;
		}
		double t0 = fl__now();
		r = fl_decoder_receive(c.dec, &fr);
		c.st.t_decode_wait += fl__now() - t0;
		if (r == FL_EOF)
			break;
		if (r < 0) {
			if (r != FL_ECANCELED && c.st.frames_analysed > 0) {
				/* Keep what was analysed before the damage. */
				fl_log(FL_LOG_WARN, "%s: decoding stopped at %.3f s: %s", path, c.video_time,
				       fl_decoder_errmsg(c.dec));
				break;
			}
			fl__errf(err, err_size, "%s", r == FL_ECANCELED ? "analysis canceled" : fl_decoder_errmsg(c.dec));
			goto fail;
		}
		r = analyse_frame(&c, fr, err, err_size);
		c.video_time = fr->t;
		fl_frame_unrefp(&fr);
		if (r < 0)
			goto fail;
		c.st.frames_analysed++;
		progress(&c, "analyse");
	}
	fl_tracker_finish(c.tr);

	/* Persons and the result. */
	progress(&c, "persons");
	double t0 = fl__now();
	res = fl_calloc(1, sizeof(*res));
	if (!res) {
		r = FL_ENOMEM;
		fl__errf(err, err_size, "out of memory");
		goto fail;
	}
	res->v = 1;
	res->video = *fl_decoder_info(c.dec);
	res->path = fl_strdup(path);
	res->models_dir = fl_strdup(c.p.models_dir);
	if (!res->path || !res->models_dir) {
		r = FL_ENOMEM;
		fl__errf(err, err_size, "out of memory");
		goto fail;
	}
	res->params = c.p;
	res->params.models_dir = res->models_dir;
	res->params.progress = NULL;
	res->params.progress_opaque = NULL;
	res->params.cancel = NULL;
	r = build_result(&c, res, err, err_size);
	if (r < 0)
		goto fail;
	struct fl_decoder_stats ds;
	fl_decoder_stats(c.dec, &ds);
	c.st.frames_decoded = ds.frames_decoded;
	c.st.frames_corrupt = ds.frames_corrupt;
	c.st.frames_missing = ds.frames_missing;
	c.st.t_persons = fl__now() - t0;
	c.st.detections = res->stats.detections;
	progress(&c, "done");
	c.st.t_total = fl__now() - c.t_start;
	c.st.peak_rss = peak_rss();
	res->stats = c.st;
	ctx_fini(&c);
	*out = res;
	return 0;

fail:
	fl_frame_unrefp(&fr);
	fl_result_destroy(res);
	ctx_fini(&c);
	return r;
}
