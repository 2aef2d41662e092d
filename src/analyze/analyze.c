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

/*
** What the analysis keeps of a track between full detections, to follow
** its face with FaceMesh: where BlazeFace's box sits relative to the
** FaceMesh landmarks' bounding box (measured at the track's last full
** detection, so followed boxes keep BlazeFace's convention and the
** tracker sees one kind of box), its last five points (for the roll of
** the next crop) and its last BlazeFace score.
*/
struct follow {
	float rel[4];     /* box = (mx + rel0*mw, my + rel1*mh, rel2*mw, rel3*mh) */
	float points[5][2];
	float score;
	double last_det_t; /* time the detector last found this track's face */
	float raw[4];      /* its last box, unclipped (detected or followed) */
	int valid;
};

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
	int *src;     /* per kept face: its index in the detector's last result, -1 if followed */
	int *has_emb; /* per kept face: 1 when it was embedded on this frame */
	double *frec; /* per followed face: when the detector last saw its track */
	/* follow_faces' candidates: crop boxes, rolls, track ids, covering
	** detection, FaceMesh scores and meshes (max_faces of each). */
	float (*fbox)[4];
	float *fangle, *fscore;
	int *fid, *fcov;
	float (*meshes)[FL_FACEMESH_N_POINTS][3];
	float (*mesh)[3];
	struct follow *fol; /* by track id */
	int cap_fol;
	double last_full_t; /* time of the last full detection */
	double last_detect_t; /* ... and of the last detection pass (full or scout) */
	int have_full;
	double half_dt;     /* half the sampling interval, seconds */
	float sig[16 * 9];  /* the last analysed frame's signature (shot_cut) */
	int have_sig;
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
	p.skip_nonref = 1;
	p.detect_interval = 0.4;
	p.full_interval = 1.2;
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
	fl_free(c->src);
	fl_free(c->has_emb);
	fl_free(c->frec);
	fl_free(c->fbox);
	fl_free(c->fangle);
	fl_free(c->fscore);
	fl_free(c->fid);
	fl_free(c->fcov);
	fl_free(c->meshes);
	fl_free(c->mesh);
	fl_free(c->fol);
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
	if (!(p->detect_interval >= 0 && p->detect_interval <= 3600)) {
		fl__errf(err, err_size, "detection interval %g s is out of range [0, 3600]", p->detect_interval);
		return FL_EINVAL;
	}
	if (!(p->full_interval >= 0 && p->full_interval <= 3600)) {
		fl__errf(err, err_size, "full detection interval %g s is out of range [0, 3600]", p->full_interval);
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

/* Bounding box of a mesh's x, y. */
static void mesh_bbox(const float (*mesh)[3], float *x0, float *y0, float *x1, float *y1)
{
	float a = mesh[0][0], b = mesh[0][1], cx = a, d = b;
	for (int k = 1; k < FL_FACEMESH_N_POINTS; k++) {
		a = fminf(a, mesh[k][0]);
		cx = fmaxf(cx, mesh[k][0]);
		b = fminf(b, mesh[k][1]);
		d = fmaxf(d, mesh[k][1]);
	}
	*x0 = a;
	*y0 = b;
	*x1 = cx;
	*y1 = d;
}

/* Room for track id `id` in c->fol. */
static int fol_reserve(struct ctx *c, int id)
{
	if (id < c->cap_fol)
		return 0;
	int cap = c->cap_fol ? c->cap_fol : 16;
	while (cap <= id)
		cap *= 2;
	struct follow *nf = fl_realloc(c->fol, (size_t)cap * sizeof(*nf));
	if (!nf)
		return FL_ENOMEM;
	memset(nf + c->cap_fol, 0, (size_t)(cap - c->cap_fol) * sizeof(*nf));
	c->fol = nf;
	c->cap_fol = cap;
	return 0;
}

/* After a full detection: remember, per track, where its box sits relative
** to its mesh (faces i with c->ids[i] > 0). */
static int remember_follow(struct ctx *c, int n, double t)
{
	for (int i = 0; i < n; i++) {
		int id = c->ids[i];
		if (id <= 0)
			continue;
		if (fol_reserve(c, id) < 0)
			return FL_ENOMEM;
		if (c->src[i] < 0)
			continue; /* followed, not detected: keep what the track had */
		struct follow *fo = &c->fol[id];
		fo->valid = 0;
		if (fl_detector_mesh(c->det, c->src[i], c->mesh) < 0)
			continue;
		float x0, y0, x1, y1;
		mesh_bbox((const float(*)[3])c->mesh, &x0, &y0, &x1, &y1);
		float mw = x1 - x0, mh = y1 - y0;
		const float *b = c->faces[i].raw_box;
		if (!(mw > 1 && mh > 1) || !(b[2] > 0 && b[3] > 0))
			continue;
		fo->rel[0] = (b[0] - x0) / mw;
		fo->rel[1] = (b[1] - y0) / mh;
		fo->rel[2] = b[2] / mw;
		fo->rel[3] = b[3] / mh;
		memcpy(fo->points, c->faces[i].points, sizeof(fo->points));
		fo->score = c->faces[i].score;
		fo->last_det_t = t;
		memcpy(fo->raw, b, sizeof(fo->raw));
		fo->valid = 1;
	}
	return 0;
}

/* The part of the smaller of boxes a and b that lies in the other. */
static float overlap(const float *a, const float *b)
{
	float x0 = fmaxf(a[0], b[0]), y0 = fmaxf(a[1], b[1]);
	float x1 = fminf(a[0] + a[2], b[0] + b[2]), y1 = fminf(a[1] + a[3], b[1] + b[3]);
	float in = fmaxf(x1 - x0, 0) * fmaxf(y1 - y0, 0);
	float small = fminf(a[2] * a[3], b[2] * b[3]);
	return small > 0 ? in / small : 0;
}

/*
** Between full detections: look for each active track's face around its
** predicted box with FaceMesh alone.  A face whose score reaches
** min_face_score gives a detection with the box rebuilt from its mesh (in
** BlazeFace's convention, see struct follow) and its five points.
** Faces are appended after the n0 that a detection pass wrote (tracks
** whose prediction overlaps one of those are not followed).  Returns the
** number of faces in c->faces or an error.
*/
static int follow_faces(struct ctx *c, const struct fl_image *img, double t, int n0, char *err, size_t err_size)
{
	int na = fl_tracker_n_active(c->tr), n = n0, nc = 0;
	const float W = (float)img->width, H = (float)img->height;
	/* The crops of the tracks to follow, then FaceMesh on all of them at
	** once (side by side on the detector's threads), then the faces. */
	for (int k = 0; k < na && nc < c->p.max_faces; k++) {
		int id = 0;
		float pb[4];
		if (fl_tracker_predict(c->tr, k, t, &id, pb) < 0 || id >= c->cap_fol || !c->fol[id].valid)
			continue;
		struct follow *fo = &c->fol[id];
		/* The detection of this pass that covers the prediction, if any. */
		int cov = -1;
		float best = 0.3f;
		for (int j = 0; j < n0; j++) {
			float o = overlap(c->faces[j].box, pb);
			if (c->src[j] >= 0 && o > best) {
				best = o;
				cov = j;
			}
		}
		/* FaceMesh's crop: the face's last box moved as the track
		** predicts (not the Kalman-smoothed box itself: on a still face
		** this is exactly the crop the detection verified, so the box
		** rebuilt from the mesh does not jitter). */
		struct fl_track_summary ts;
		float *cb = c->fbox[nc];
		memcpy(cb, pb, sizeof(pb));
		if (fl_tracker_get(c->tr, id - 1, &ts) == 0 && ts.kf_box[2] > 0 && ts.kf_box[3] > 0) {
			float sx = pb[2] / ts.kf_box[2], sy = pb[3] / ts.kf_box[3];
			float cx = fo->raw[0] + 0.5f * fo->raw[2] + (pb[0] + 0.5f * pb[2]) - (ts.kf_box[0] + 0.5f * ts.kf_box[2]);
			float cy = fo->raw[1] + 0.5f * fo->raw[3] + (pb[1] + 0.5f * pb[3]) - (ts.kf_box[1] + 0.5f * ts.kf_box[3]);
			cb[2] = fo->raw[2] * sx;
			cb[3] = fo->raw[3] * sy;
			cb[0] = cx - 0.5f * cb[2];
			cb[1] = cy - 0.5f * cb[3];
		}
		if (!(cb[2] > 0 && cb[3] > 0 && isfinite(cb[0]) && isfinite(cb[1])))
			continue;
		const float(*pt)[2] = (const float(*)[2])fo->points;
		c->fangle[nc] = atan2f(pt[FL_FACE_POINT_LEFT_EYE][1] - pt[FL_FACE_POINT_RIGHT_EYE][1],
		                       pt[FL_FACE_POINT_LEFT_EYE][0] - pt[FL_FACE_POINT_RIGHT_EYE][0]);
		c->fid[nc] = id;
		c->fcov[nc] = cov;
		nc++;
	}
	if (nc == 0)
		return n;
	int r = fl_detector_face_scores(c->det, img, nc, (const float(*)[4])c->fbox, c->fangle, c->fscore, c->meshes);
	if (r < 0) {
		fl__errf(err, err_size, "%s: following faces at %.3f s: %s", c->path, t, fl_detector_errmsg(c->det));
		return r;
	}
	for (int q = 0; q < nc && n < c->p.max_faces; q++) {
		struct follow *fo = &c->fol[c->fid[q]];
		int cov = c->fcov[q];
		float score = c->fscore[q];
		const float(*mesh)[3] = (const float(*)[3])c->meshes[q];
		if (!(score >= c->p.min_face_score))
			continue; /* lost here; a covering detection stays as it is */
		float x0, y0, x1, y1;
		mesh_bbox(mesh, &x0, &y0, &x1, &y1);
		float mw = x1 - x0, mh = y1 - y0;
		struct fl_face ff, *f = &ff;
		memset(f, 0, sizeof(*f));
		f->raw_box[0] = x0 + fo->rel[0] * mw;
		f->raw_box[1] = y0 + fo->rel[1] * mh;
		f->raw_box[2] = fo->rel[2] * mw;
		f->raw_box[3] = fo->rel[3] * mh;
		float bx0 = fmaxf(f->raw_box[0], 0), by0 = fmaxf(f->raw_box[1], 0);
		float bx1 = fminf(f->raw_box[0] + f->raw_box[2], W), by1 = fminf(f->raw_box[1] + f->raw_box[3], H);
		if (!(bx1 - bx0 > 0.5f && by1 - by0 > 0.5f))
			continue;
		f->box[0] = bx0;
		f->box[1] = by0;
		f->box[2] = bx1 - bx0;
		f->box[3] = by1 - by0;
		f->score = fo->score;
		f->face_score = score;
		fl_facemesh_points(mesh, f->points);
		if (cov >= 0) {
			/* The scout pass found this face too: the followed box (in the
			** track's calibrated convention, from a full-size crop) is the
			** better one when both agree; when they do not, the face jumped
			** (a cut) and FaceMesh latched onto what was left in its crop:
			** the detection stands. */
			if (fl_box_iou(f->box, c->faces[cov].box) >= 0.5f) {
				f->score = c->faces[cov].score;
				c->faces[cov] = *f;
				c->src[cov] = -1;
				fo->last_det_t = t;
				memcpy(fo->points, f->points, sizeof(fo->points));
				memcpy(fo->raw, f->raw_box, sizeof(fo->raw));
			}
			continue;
		}
		/* FaceMesh also "finds" a face that is only partly in its crop --
		** a face that jumped away, or another one that came near.  A
		** followed face overlapping a detected one is that one; two
		** followed faces on one face keep the track the detector saw last. */
		int drop = 0;
		for (int j = 0; j < n0 && !drop; j++)
			drop = overlap(c->faces[j].box, f->box) > 0.3f;
		for (int j = n0; j < n && !drop; j++) {
			if (overlap(c->faces[j].box, f->box) <= 0.3f)
				continue;
			drop = 1;
			if (c->frec[j] < fo->last_det_t ||
			    (c->frec[j] == fo->last_det_t && c->faces[j].face_score < score)) {
				/* This one wins: it takes the loser's slot. */
				c->faces[j] = *f;
				c->frec[j] = fo->last_det_t;
				memcpy(fo->points, f->points, sizeof(fo->points));
				memcpy(fo->raw, f->raw_box, sizeof(fo->raw));
			}
		}
		if (drop)
			continue;
		c->faces[n] = *f;
		c->src[n] = -1;
		c->frec[n] = fo->last_det_t;
		memcpy(fo->points, f->points, sizeof(fo->points));
		memcpy(fo->raw, f->raw_box, sizeof(fo->raw));
		n++;
	}
	return n;
}

/* Run the detector (whole-picture pass fit into long x short, plus the
** close-up pass when close_up) into c->faces; c->src[i] = i.  Returns the
** count. */
static int detect_faces(struct ctx *c, const struct fl_image *img, double t, int long_side, int short_side,
                        int close_up, char *err, size_t err_size)
{
	int n = fl_detector_detect_at(c->det, img, long_side, short_side, close_up, c->faces, c->p.max_faces);
	if (n < 0) {
		fl__errf(err, err_size, "%s: detection at %.3f s: %s", c->path, t, fl_detector_errmsg(c->det));
		return n;
	}
	for (int i = 0; i < n; i++)
		c->src[i] = i;
	return n;
}

/*
** Identity embeddings of the frame's faces: all of them on a full
** detection; on a scout pass only the detected faces that no track's
** prediction covers (new faces: a track born there must not wait for the
** next full detection to have an identity); none on followed frames.
** c->has_emb[i] says which faces got one.
*/
static int embed_faces(struct ctx *c, const struct fl_image *img, double t, int n, int full, char *err,
                       size_t err_size)
{
	int m = 0, na = fl_tracker_n_active(c->tr);
	for (int i = 0; i < n; i++) {
		int want = full;
		if (!full && c->src[i] >= 0) {
			want = 1;
			for (int k = 0; k < na && want; k++) {
				float pb[4];
				if (fl_tracker_predict(c->tr, k, t, NULL, pb) >= 0 && fl_box_iou(pb, c->faces[i].box) >= 0.3f)
					want = 0;
			}
		}
		c->has_emb[i] = want;
		if (want)
			memcpy(c->points[m++], c->faces[i].points, sizeof(c->points[0]));
	}
	if (m == 0)
		return 0;
	int r = fl_embedder_run(c->emb, img, (const float(*)[5][2])c->points, m, c->embs);
	if (r < 0) {
		fl__errf(err, err_size, "%s: embedding at %.3f s: %s", c->path, t, fl_embedder_errmsg(c->emb));
		return r;
	}
	c->st.n_model[FL_PROFILE_MOBILEFACENET]++;
	/* Spread the m embeddings out to their faces' slots (backwards, so
	** nothing is overwritten before it is moved). */
	for (int i = n - 1, j = m - 1; i >= 0 && j >= 0; i--)
		if (c->has_emb[i]) {
			if (i != j)
				memcpy(c->embs + (size_t)i * FL_EMBED_DIM, c->embs + (size_t)j * FL_EMBED_DIM,
				       FL_EMBED_DIM * sizeof(float));
			j--;
		}
	/* c->points is the faces' again (the expression crop does not use it,
	** but keep it consistent). */
	for (int i = 0; i < n; i++)
		memcpy(c->points[i], c->faces[i].points, sizeof(c->points[i]));
	return 0;
}

/*
** Shot cuts.  Following a face across a cut would hand its track to
** whatever face sits near the same place in the next shot, so a cut
** ends all tracks (fl_tracker_cut) and forces a full detection; the
** clustering then decides who in the new shot was seen before.  A frame's
** signature is the mean luma of a 16 x 9 grid (4 x 4 samples a cell); a
** cut is a mean absolute change of more than CUT_THRESHOLD levels between
** consecutive analysed frames, well above what a pan or a moving person
** gives at 5 frames/s.
*/
#define SIG_W 16
#define SIG_H 9
#define CUT_THRESHOLD 24.0f

static void frame_signature(const struct fl_image *img, float *sig)
{
	for (int cy = 0; cy < SIG_H; cy++)
		for (int cx = 0; cx < SIG_W; cx++) {
			float sum = 0;
			for (int sy = 0; sy < 4; sy++)
				for (int sx = 0; sx < 4; sx++) {
					int x = (int)(((cx * 4 + sx) + 0.5) * img->width / (SIG_W * 4));
					int y = (int)(((cy * 4 + sy) + 0.5) * img->height / (SIG_H * 4));
					const uint8_t *px = img->data + (size_t)y * (size_t)img->stride + 3 * (size_t)x;
					sum += 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
				}
			sig[cy * SIG_W + cx] = sum / 16;
		}
}

/* 1 when this frame starts a new shot (updates c->sig). */
static int shot_cut(struct ctx *c, const struct fl_image *img)
{
	float sig[SIG_W * SIG_H];
	frame_signature(img, sig);
	float d = 0;
	for (int i = 0; i < SIG_W * SIG_H; i++)
		d += fabsf(sig[i] - c->sig[i]);
	d /= SIG_W * SIG_H;
	int cut = c->have_sig && d > CUT_THRESHOLD;
	memcpy(c->sig, sig, sizeof(sig));
	c->have_sig = 1;
	return cut;
}

/* Detect (or follow), embed, classify and track the faces of one frame.
** The frame stays owned by the caller.
**
** Three kinds of analysed frames.  Every full_interval seconds the full
** detector runs (whole picture at 1024x576, faces down to ~20 px, plus the
** 256x256 close-up pass).  Every detect_interval seconds in between a
** "scout" pass runs at half that size (new faces of ~40 px and more) and
** tracked faces it did not find are followed.  On the other frames each
** tracked face is followed by FaceMesh around its predicted box.  Identity
** embeddings are taken on full frames (the tracker associates by geometry
** in between: the faces were followed). */
static int analyse_frame(struct ctx *c, const struct fl_frame *fr, char *err, size_t err_size)
{
	struct fl_image img = {.data = fr->data, .width = fr->width, .height = fr->height, .stride = fr->stride};
	double t0 = fl__now();
	const struct fl_detector_params dp = fl_detector_default_params();
	double di = c->p.detect_interval, fi = c->p.full_interval;
	int cut = shot_cut(c, &img);
	if (cut)
		fl_tracker_cut(c->tr);
	int full = cut || !c->have_full || di <= 0 || fi <= 0 || fr->t - c->last_full_t >= fi - c->half_dt;
	int scout = !full && fr->t - c->last_detect_t >= di - c->half_dt;
	int n = 0;
	if (full || scout) {
		/* Scouts skip the 256x256 close-up pass: a face too large for the
		** half-size pass (over about half the picture's height) entering is
		** rare, and the next full detection finds it. */
		n = detect_faces(c, &img, fr->t, full ? dp.long_side : dp.long_side / 2,
		                 full ? dp.short_side : dp.short_side / 2, full, err, err_size);
		if (n < 0)
			return n;
		c->last_detect_t = fr->t;
		if (full) {
			c->have_full = 1;
			c->last_full_t = fr->t;
			c->st.frames_full++;
		}
	}
	if (!full) {
		int m = follow_faces(c, &img, fr->t, n, err, err_size);
		if (m < 0)
			return m;
		n = m;
	}
	/* The tracker refuses empty or non-finite boxes: drop them here. */
	int m = 0;
	for (int i = 0; i < n; i++) {
		const float *b = c->faces[i].box;
		if (isfinite(b[0]) && isfinite(b[1]) && b[2] > 0.5f && b[3] > 0.5f && isfinite(b[2]) && isfinite(b[3])) {
			c->src[m] = c->src[i];
			c->faces[m++] = c->faces[i];
		}
	}
	n = m;
	double t1 = fl__now();
	c->st.t_detect += t1 - t0;
	if (n > 0) {
		for (int i = 0; i < n; i++) {
			memcpy(c->points[i], c->faces[i].points, sizeof(c->points[i]));
			memcpy(c->boxes[i], c->faces[i].box, sizeof(c->boxes[i]));
		}
		/* Identity on detections (see embed_faces): a track's embedding
		** is the mean of its best crops, and between detections the
		** tracker associates by geometry (the face was followed). */
		int r = embed_faces(c, &img, fr->t, n, full, err, err_size);
		if (r < 0)
			return r;
		double t2 = fl__now();
		c->st.t_embed += t2 - t1;
		r = run_expression(c, &img, n, err, err_size);
		if (r < 0)
			return r;
		c->st.n_model[FL_PROFILE_FACEEXPRESSION]++;
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
		d->emb = c->has_emb[i] ? c->embs + (size_t)i * FL_EMBED_DIM : NULL;
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
	if ((full || scout) && (r = remember_follow(c, n, fr->t)) < 0)
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
	if (fl_log_get_level() >= FL_LOG_DEBUG)
		for (int i = 0; i < n_conf; i++)
			for (int j = i + 1; j < n_conf; j++)
				if (sum[i].emb && sum[j].emb)
					fl_log(FL_LOG_DEBUG, "tracks %d and %d: cosine %.3f", sum[i].id, sum[j].id,
					       fl_embed_cosine(sum[i].emb, sum[j].emb, FL_EMBED_DIM));
	for (int i = 0; n_persons >= 0 && i < n_conf; i++)
		fl_log(FL_LOG_DEBUG, "track %d: %.2f-%.2f s, %d detections, %d embeddings -> person %d", sum[i].id,
		       sum[i].start, sum[i].end, sum[i].n_dets, sum[i].n_emb, person[i]);
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
	/* The decode thread runs beside the models, which use every core: one
	** libavcodec thread per four analysis threads (frame threads cost
	** more than they gain here: 1080p 9.3x -> 10.1x real time with one
	** on two cores). */
	dp.threads = c->p.threads >= 4 ? c->p.threads / 4 : 1;
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
	tp.tentative_grace_s = c->p.detect_interval;
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
	c->src = fl_calloc(nf, sizeof(*c->src));
	c->has_emb = fl_calloc(nf, sizeof(*c->has_emb));
	c->frec = fl_calloc(nf, sizeof(*c->frec));
	c->fbox = fl_calloc(nf, sizeof(*c->fbox));
	c->fangle = fl_calloc(nf, sizeof(*c->fangle));
	c->fscore = fl_calloc(nf, sizeof(*c->fscore));
	c->fid = fl_calloc(nf, sizeof(*c->fid));
	c->fcov = fl_calloc(nf, sizeof(*c->fcov));
	c->meshes = fl_calloc(nf, sizeof(*c->meshes));
	c->mesh = fl_calloc(FL_FACEMESH_N_POINTS, sizeof(*c->mesh));
	if (!c->faces || !c->points || !c->boxes || !c->embs || !c->probs || !c->tdets || !c->ids || !c->src || !c->has_emb || !c->frec ||
	    !c->fbox || !c->fangle || !c->fscore || !c->fid || !c->fcov || !c->meshes ||
	    !c->mesh) {
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
	{
		double vfps = fl_decoder_info(c.dec)->fps;
		double rate = c.p.every_frame ? (vfps > 0 ? vfps : 25) : c.p.fps;
		c.half_dt = 0.5 / rate;
	}

	/* The analysis loop: one sampled frame at a time.  With predecode (a
	** bench of the stages) the decoder first runs alone to the end, its
	** frames held in `held`, and then the analysis runs alone on them. */
	progress(&c, "analyse");
	struct fl_frame **held = NULL;
	size_t n_held = 0, cap_held = 0, next_held = 0;
	int decoding = 1;
	for (;;) {
		if (canceled(&c)) {
			fl_decoder_cancel(c.dec);
			r = FL_ECANCELED;
			fl__errf(err, err_size, "%s: analysis canceled", path);
			goto fail_held;
		}
		if (decoding) {
			double t0 = fl__now();
			r = fl_decoder_receive(c.dec, &fr);
			c.st.t_decode_wait += fl__now() - t0;
			if (r == FL_EOF) {
				r = 0;
				decoding = 0;
			} else if (r < 0) {
				if (r != FL_ECANCELED && (c.st.frames_analysed > 0 || n_held > 0)) {
					/* Keep what was analysed before the damage. */
					fl_log(FL_LOG_WARN, "%s: decoding stopped at %.3f s: %s", path, c.video_time,
					       fl_decoder_errmsg(c.dec));
					decoding = 0;
				} else {
					fl__errf(err, err_size, "%s",
					         r == FL_ECANCELED ? "analysis canceled" : fl_decoder_errmsg(c.dec));
					goto fail_held;
				}
			} else if (c.p.predecode) {
				if (n_held == cap_held) {
					size_t cap = cap_held ? 2 * cap_held : 64;
					struct fl_frame **nh = fl_realloc(held, cap * sizeof(*nh));
					if (!nh) {
						r = FL_ENOMEM;
						fl__errf(err, err_size, "out of memory holding decoded frames");
						goto fail_held;
					}
					held = nh;
					cap_held = cap;
				}
				held[n_held++] = fr;
				fr = NULL;
				continue;
			}
		}
		if (!fr) {
			if (decoding || next_held == n_held)
				break;
			fr = held[next_held];
			held[next_held++] = NULL;
		}
		r = analyse_frame(&c, fr, err, err_size);
		c.video_time = fr->t;
		fl_frame_unrefp(&fr);
		if (r < 0)
			goto fail_held;
		c.st.frames_analysed++;
		progress(&c, "analyse");
	}
	fl_free(held);
	held = NULL;
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
	{
		struct fl_detector_stats dst;
		fl_detector_get_stats(c.det, &dst);
		c.st.t_model[FL_PROFILE_BLAZEFACE] = dst.t_blazeface;
		c.st.n_model[FL_PROFILE_BLAZEFACE] = dst.n_blazeface;
		c.st.t_model[FL_PROFILE_FACEMESH] = dst.t_facemesh;
		c.st.n_model[FL_PROFILE_FACEMESH] = dst.n_facemesh;
		c.st.t_model[FL_PROFILE_MOBILEFACENET] = c.st.t_embed;
		c.st.t_model[FL_PROFILE_FACEEXPRESSION] = c.st.t_expression;
	}
	c.st.peak_rss = peak_rss();
	res->stats = c.st;
	ctx_fini(&c);
	*out = res;
	return 0;

fail_held:
	for (size_t i = next_held; i < n_held; i++)
		fl_frame_unrefp(&held[i]);
	fl_free(held);
fail:
	fl_frame_unrefp(&fr);
	fl_result_destroy(res);
	ctx_fini(&c);
	return r;
}
