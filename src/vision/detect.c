/*
** detect.c -- the BlazeFace face detector: anchors, decoding, non-maximum
** suppression, and struct fl_detector, which runs the model over a whole
** picture.
**
** The model (MediaPipe BlazeFace, back-camera variant, as shipped by
** @vladmandic/human) is fully convolutional.  At an input of H x W it
** outputs, for a stride-16 grid (H/16 x W/16 cells, 2 anchors per cell) and
** a stride-32 grid (H/32 x W/32 cells, 6 anchors per cell), one classifier
** logit and 16 regressor values per anchor; the graph reshapes them to
** [1, N, 1] and [1, N, 16], cells row-major and the anchors of a cell
** adjacent.  The regressors are in input pixels relative to the anchor
** centre (stride*(cell+0.5)): box centre dx, dy, box width, height, then six
** keypoints dx, dy.  Box sizes are absolute pixels, not anchor-relative,
** which is what lets us run the model at any input size with the anchors
** regenerated for that grid.
**
** A detection runs two passes: the picture fit (aspect kept, padded) into
** about 1024x576 so faces stay >= ~20 px, and the picture fit into 256x256
** for faces too large for the first; the candidates of both are merged by
** (weighted) NMS and mapped back to source pixels.
**
** BlazeFace on a whole picture also fires on background clutter (scores up
** to ~0.7 on the samples: a wine glass, a boot).  So each box left after NMS
** is verified, best score first: FaceMesh (facemesh.c) runs on human's crop
** of it and the box is kept only when its face probability reaches
** min_face_score; the mesh gives the five alignment points too.
*/
#include "faceline/fl_vision.h"
#include "faceline/fl_nn.h"
#include "base/base_int.h"
#include "vision_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#define N_KP 6
#define N_REG 16
#define CLOSE_UP_SIZE 256
#define MAX_PAR 4   /* parallel FaceMesh instances at most */
#define N_CACHED 3 /* sessions kept: the close-up one and two more sizes */

/* ------------------------------------------------------------ anchors */

int fl_blazeface_n_anchors(int in_h, int in_w)
{
	return (in_h / 16) * (in_w / 16) * 2 + (in_h / 32) * (in_w / 32) * 6;
}

int fl_blazeface_anchors(int in_h, int in_w, float *anchors)
{
	static const int strides[2] = {16, 32}, per_cell[2] = {2, 6};
	int n = 0;
	for (int l = 0; l < 2; l++) {
		int s = strides[l];
		for (int gy = 0; gy < in_h / s; gy++)
			for (int gx = 0; gx < in_w / s; gx++)
				for (int a = 0; a < per_cell[l]; a++) {
					anchors[2 * n] = (float)s * ((float)gx + 0.5f);
					anchors[2 * n + 1] = (float)s * ((float)gy + 0.5f);
					n++;
				}
	}
	return n;
}

/* ------------------------------------------------------------ decoding */

static float sigmoid_clipped(float x)
{
	if (!(x > -100.0f)) /* also catches NaN */
		x = -100.0f;
	if (x > 100.0f)
		x = 100.0f;
	return 1.0f / (1.0f + expf(-x));
}

int fl_blazeface_decode(const float *logits, const float *regressors, const float *anchors, int n,
                        float min_score, struct fl_detection *out, int max_out)
{
	int k = 0;
	for (int i = 0; i < n && k < max_out; i++) {
		if (isnan(logits[i]))
			continue;
		float score = sigmoid_clipped(logits[i]);
		if (!(score >= min_score))
			continue;
		const float *r = regressors + (size_t)i * N_REG;
		const float ax = anchors[2 * i], ay = anchors[2 * i + 1];
		float cx = ax + r[0], cy = ay + r[1];
		float w = r[2], h = r[3];
		if (!isfinite(cx) || !isfinite(cy) || !(w > 0) || !(h > 0) || !isfinite(w) || !isfinite(h))
			continue;
		struct fl_detection *d = &out[k++];
		d->x1 = cx - 0.5f * w;
		d->y1 = cy - 0.5f * h;
		d->x2 = cx + 0.5f * w;
		d->y2 = cy + 0.5f * h;
		d->score = score;
		for (int p = 0; p < N_KP; p++) {
			d->kp[p][0] = ax + r[4 + 2 * p];
			d->kp[p][1] = ay + r[5 + 2 * p];
		}
	}
	return k;
}

/* ----------------------------------------------------------------- NMS */

float fl_detection_iou(const struct fl_detection *a, const struct fl_detection *b)
{
	float iw = FL_MIN(a->x2, b->x2) - FL_MAX(a->x1, b->x1);
	float ih = FL_MIN(a->y2, b->y2) - FL_MAX(a->y1, b->y1);
	if (!(iw > 0) || !(ih > 0))
		return 0.0f;
	float inter = iw * ih;
	float ua = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
	return ua > 0 ? inter / ua : 0.0f;
}

/* The part of a's area inside b (0..1). */
static float inside_part(const struct fl_detection *a, const struct fl_detection *b)
{
	float iw = FL_MIN(a->x2, b->x2) - FL_MAX(a->x1, b->x1);
	float ih = FL_MIN(a->y2, b->y2) - FL_MAX(a->y1, b->y1);
	float area = (a->x2 - a->x1) * (a->y2 - a->y1);
	if (!(iw > 0) || !(ih > 0) || !(area > 0))
		return 0.0f;
	return iw * ih / area;
}

static int by_score_desc(const void *pa, const void *pb)
{
	const struct fl_detection *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

int fl_detection_nms(struct fl_detection *dets, int n, float iou, float containment, int weighted)
{
	if (n <= 0)
		return 0;
	qsort(dets, (size_t)n, sizeof(*dets), by_score_desc);
	/* Greedy, in decreasing score.  `alive` is dets[i].score >= 0; a
	** suppressed one is marked with score -1.  Kept ones are compacted to
	** the front as we go (k <= i, so nothing unread is overwritten). */
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (dets[i].score < 0)
			continue;
		struct fl_detection best = dets[i];
		double wsum = best.score, acc[4 + 2 * N_KP];
		if (weighted) {
			const float *src[4] = {&best.x1, &best.y1, &best.x2, &best.y2};
			for (int c = 0; c < 4; c++)
				acc[c] = *src[c] * best.score;
			for (int p = 0; p < N_KP; p++) {
				acc[4 + 2 * p] = best.kp[p][0] * best.score;
				acc[5 + 2 * p] = best.kp[p][1] * best.score;
			}
		}
		for (int j = i + 1; j < n; j++) {
			struct fl_detection *o = &dets[j];
			if (o->score < 0)
				continue;
			if (!(fl_detection_iou(&best, o) > iou)) {
				/* Not the same box, but mostly inside the kept one: a
				** fragment of a large face.  Dropped, not averaged. */
				if (containment > 0 && inside_part(o, &best) > containment)
					o->score = -1.0f;
				continue;
			}
			if (weighted) {
				acc[0] += o->x1 * o->score;
				acc[1] += o->y1 * o->score;
				acc[2] += o->x2 * o->score;
				acc[3] += o->y2 * o->score;
				for (int p = 0; p < N_KP; p++) {
					acc[4 + 2 * p] += o->kp[p][0] * o->score;
					acc[5 + 2 * p] += o->kp[p][1] * o->score;
				}
				wsum += o->score;
			}
			o->score = -1.0f;
		}
		if (weighted) {
			best.x1 = (float)(acc[0] / wsum);
			best.y1 = (float)(acc[1] / wsum);
			best.x2 = (float)(acc[2] / wsum);
			best.y2 = (float)(acc[3] / wsum);
			for (int p = 0; p < N_KP; p++) {
				best.kp[p][0] = (float)(acc[4 + 2 * p] / wsum);
				best.kp[p][1] = (float)(acc[5 + 2 * p] / wsum);
			}
		}
		dets[k++] = best;
	}
	return k;
}

/* ------------------------------------------------------------ detector */

struct cached_session {
	int in_h, in_w; /* 0 when the slot is empty */
	struct fl_session *s;
	uint64_t last_used;
	/* Output indices: logits and regressors of the stride-16 and -32 grids. */
	int out_cls[2], out_reg[2];
};

struct fl_detector {
	struct fl_detector_params p;
	struct fl_model *model;
	struct cached_session cache[N_CACHED];
	uint64_t tick;
	float *input; /* model input buffer */
	size_t input_cap;
	float *anchors; /* anchors of the current pass */
	size_t anchors_cap;
	struct fl_detection *dets; /* candidates of all passes */
	int n_dets, dets_cap;
	struct fl__facemesh *mesh_model; /* NULL when not verifying */
	float (*meshes)[FL_FACEMESH_N_POINTS][3]; /* per face of the last detection */
	size_t meshes_cap;
	int n_meshes; /* faces of the last detection */
	/* Several faces' FaceMesh runs side by side: one single-threaded
	** FaceMesh per pool thread (a 192x192 model gains little from
	** intra-op threads; faces in parallel gain ~2x on two cores). */
	struct fl__facemesh *fm_par[MAX_PAR];
	int n_par;
	struct fl_pool *pool;
	float (*mm_crop)[4]; /* per-call scratch of mesh_many */
	float *mm_angle, *mm_score;
	int *mm_rc;
	size_t mm_cap;
	struct fl_detector_stats st;
	char errmsg[512];
};

struct fl_detector_params fl_detector_default_params(void)
{
	struct fl_detector_params p = {0};
	p.min_score = 0.5f;
	p.iou = 0.3f;
	p.weighted_nms = 1;
	p.containment = 0.75f;
	p.long_side = 1024;
	p.short_side = 576;
	p.close_up_pass = 1;
	p.n_threads = 0;
	p.verify = 1;
	p.min_face_score = 0.1f;
	p.verify_scale = 1.4f;
	p.verify_rotate = 1;
	return p;
}

static void set_err(struct fl_detector *det, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct fl_detector *det, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(det->errmsg, sizeof(det->errmsg), fmt, ap);
	va_end(ap);
}

const char *fl_detector_errmsg(const struct fl_detector *det)
{
	return det ? det->errmsg : "no detector";
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fl_detector_create(const char *models, const struct fl_detector_params *params, struct fl_detector **out,
                       char *err, size_t err_size)
{
	struct fl_detector *det = NULL;
	char path[4096];
	int r;

	*out = NULL;
	if (!models) {
		fl__errf(err, err_size, "fl_detector_create: models path is NULL");
		return FL_EINVAL;
	}
	/* A .json file, or a directory holding blazeface.json or human/blazeface.json. */
	size_t len = strlen(models);
	if (len >= 5 && !strcmp(models + len - 5, ".json")) {
		snprintf(path, sizeof(path), "%s", models);
	} else {
		snprintf(path, sizeof(path), "%s/blazeface.json", models);
		if (!is_file(path))
			snprintf(path, sizeof(path), "%s/human/blazeface.json", models);
	}
	if (!is_file(path)) {
		fl__errf(err, err_size, "%s: BlazeFace model not found (looked for blazeface.json in %s and %s/human)",
		         models, models, models);
		return FL_ENOENT;
	}
	struct fl_detector_params p = params ? *params : fl_detector_default_params();
	if (!(p.min_score >= 0 && p.min_score <= 1) || !(p.iou >= 0 && p.iou <= 1) || p.long_side < 0 ||
	    p.short_side < 0 || p.long_side > 8192 || p.short_side > 8192 || p.n_threads < 0 ||
	    (p.long_side == 0 && !p.close_up_pass) || !(p.min_face_score >= 0 && p.min_face_score <= 1) ||
	    (p.verify && !(p.verify_scale >= 1 && p.verify_scale <= 4))) {
		fl__errf(err, err_size, "fl_detector_create: invalid parameters (min_score %g, iou %g, sides %dx%d)",
		         (double)p.min_score, (double)p.iou, p.long_side, p.short_side);
		return FL_EINVAL;
	}
	if (p.long_side > 0 && p.short_side == 0)
		p.short_side = p.long_side;

	det = fl_calloc(1, sizeof(*det));
	if (!det) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	det->p = p;
	r = fl_model_load(path, &det->model, err, err_size);
	if (r < 0)
		goto fail;
	if (fl_model_n_inputs(det->model) != 1 || fl_model_n_outputs(det->model) != 4) {
		fl__errf(err, err_size, "%s: not a BlazeFace model (%d inputs, %d outputs; expected 1 and 4)", path,
		         fl_model_n_inputs(det->model), fl_model_n_outputs(det->model));
		r = FL_EUNSUPPORTED;
		goto fail;
	}
	if (p.verify) {
		/* facemesh.json next to blazeface.json. */
		char *slash = strrchr(path, '/');
		if (slash)
			snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "facemesh.json");
		else
			snprintf(path, sizeof(path), "facemesh.json");
		if (!is_file(path)) {
			fl__errf(err, err_size, "%s: FaceMesh model not found (needed to verify faces; verify = 0 turns that off)",
			         path);
			r = FL_ENOENT;
			goto fail;
		}
		r = fl__facemesh_create(path, p.n_threads, &det->mesh_model, err, err_size);
		if (r < 0)
			goto fail;
		int nt = p.n_threads > 0 ? p.n_threads : fl_cpu_count();
		if (nt >= 2) {
			det->n_par = FL_MIN(nt, MAX_PAR);
			for (int i = 0; i < det->n_par; i++)
				if ((r = fl__facemesh_create(path, 1, &det->fm_par[i], err, err_size)) < 0)
					goto fail;
			if ((r = fl__pool_create(det->n_par, &det->pool)) < 0) {
				fl__errf(err, err_size, "cannot start %d threads: %s", det->n_par, fl_strerror(r));
				goto fail;
			}
		}
	}
	*out = det;
	return 0;
fail:
	fl_detector_destroy(det);
	return r;
}

void fl_detector_destroy(struct fl_detector *det)
{
	if (!det)
		return;
	for (int i = 0; i < N_CACHED; i++)
		fl_session_destroy(det->cache[i].s);
	fl_model_destroy(det->model);
	fl_free(det->input);
	fl_free(det->anchors);
	fl_free(det->dets);
	fl__facemesh_destroy(det->mesh_model);
	for (int i = 0; i < MAX_PAR; i++)
		fl__facemesh_destroy(det->fm_par[i]);
	fl__pool_destroy(det->pool);
	fl_free(det->mm_crop);
	fl_free(det->mm_angle);
	fl_free(det->mm_score);
	fl_free(det->mm_rc);
	fl_free(det->meshes);
	fl_free(det);
}

/* Grow *buf to hold n elements of size sz. */
static int reserve(void **buf, size_t *cap, size_t n, size_t sz)
{
	if (n <= *cap)
		return 0;
	void *p = fl_realloc(*buf, n * sz);
	if (!p)
		return FL_ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Find which output is which by its shape: [1, N, 1] or [1, N, 16], with N
** the anchor count of the stride-16 or stride-32 grid. */
static int map_outputs(struct fl_detector *det, struct cached_session *c)
{
	const int64_t n16 = (int64_t)(c->in_h / 16) * (c->in_w / 16) * 2;
	const int64_t n32 = (int64_t)(c->in_h / 32) * (c->in_w / 32) * 6;
	c->out_cls[0] = c->out_cls[1] = c->out_reg[0] = c->out_reg[1] = -1;
	for (int i = 0; i < 4; i++) {
		struct fl_tensor t;
		int r = fl_session_output(c->s, i, &t);
		if (r < 0)
			return r;
		/* Before the first run the view may carry no data, only the shape. */
		if (t.n_dims != 3 || t.dtype != FL_DTYPE_F32 || t.dims[0] != 1)
			goto bad;
		int level = t.dims[1] == n16 ? 0 : t.dims[1] == n32 ? 1 : -1;
		if (level < 0)
			goto bad;
		if (t.dims[2] == 1)
			c->out_cls[level] = i;
		else if (t.dims[2] == N_REG)
			c->out_reg[level] = i;
		else
			goto bad;
		continue;
	bad:
		set_err(det, "%s: output %d at input %dx%d has shape [%lld, %lld, %lld]; expected [1, %lld or %lld, 1 or 16]",
		        fl_model_path(det->model), i, c->in_w, c->in_h, (long long)t.dims[0],
		        (long long)(t.n_dims > 1 ? t.dims[1] : 0), (long long)(t.n_dims > 2 ? t.dims[2] : 0),
		        (long long)n16, (long long)n32);
		return FL_ESHAPE;
	}
	for (int l = 0; l < 2; l++)
		if (c->out_cls[l] < 0 || c->out_reg[l] < 0) {
			set_err(det, "%s: outputs at input %dx%d do not form two grids", fl_model_path(det->model), c->in_w,
			        c->in_h);
			return FL_ESHAPE;
		}
	return 0;
}

/* The session for an in_h x in_w input: cached, or created (evicting the
** least recently used slot). */
static int get_session(struct fl_detector *det, int in_h, int in_w, struct cached_session **out)
{
	struct cached_session *slot = NULL;
	det->tick++;
	for (int i = 0; i < N_CACHED; i++)
		if (det->cache[i].s && det->cache[i].in_h == in_h && det->cache[i].in_w == in_w) {
			det->cache[i].last_used = det->tick;
			*out = &det->cache[i];
			return 0;
		}
	/* An empty slot, else the least recently used one. */
	for (int i = 0; i < N_CACHED && !slot; i++)
		if (!det->cache[i].s)
			slot = &det->cache[i];
	if (!slot) {
		slot = &det->cache[0];
		for (int i = 1; i < N_CACHED; i++)
			if (det->cache[i].last_used < slot->last_used)
				slot = &det->cache[i];
	}
	fl_session_destroy(slot->s);
	memset(slot, 0, sizeof(*slot));

	struct fl_tensor shape = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, in_h, in_w, 3}};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = det->p.n_threads;
	sp.input_shapes = &shape;
	sp.n_input_shapes = 1;
	char err[400];
	err[0] = 0;
	int r = fl_session_create(det->model, &sp, &slot->s, err, sizeof(err));
	if (r < 0) {
		set_err(det, "%s: cannot run at %dx%d: %s", fl_model_path(det->model), in_w, in_h, err);
		slot->s = NULL;
		return r;
	}
	slot->in_h = in_h;
	slot->in_w = in_w;
	slot->last_used = det->tick;
	r = map_outputs(det, slot);
	if (r < 0) {
		fl_session_destroy(slot->s);
		memset(slot, 0, sizeof(*slot));
		return r;
	}
	*out = slot;
	return 0;
}

/* One pass: fit the image into in_h x in_w, run, decode candidates (in
** source pixels) onto det->dets. */
static int run_pass_(struct fl_detector *det, const struct fl_image *img, int in_h, int in_w, float *scale)
{
	struct cached_session *c;
	int r = get_session(det, in_h, in_w, &c);
	if (r < 0)
		return r;
	size_t n_in = (size_t)in_h * in_w * 3;
	int n_anchors = fl_blazeface_n_anchors(in_h, in_w);
	if (reserve((void **)&det->input, &det->input_cap, n_in, sizeof(float)) < 0 ||
	    reserve((void **)&det->anchors, &det->anchors_cap, 2 * (size_t)n_anchors, sizeof(float)) < 0) {
		set_err(det, "out of memory for a %dx%d input", in_w, in_h);
		return FL_ENOMEM;
	}
	size_t dcap = (size_t)det->dets_cap;
	if (reserve((void **)&det->dets, &dcap, (size_t)det->n_dets + n_anchors, sizeof(struct fl_detection)) < 0) {
		set_err(det, "out of memory for %d candidates", n_anchors);
		return FL_ENOMEM;
	}
	det->dets_cap = (int)dcap;

	/* Picture -> input: aspect kept, centred, black padding, x/127.5 - 1. */
	struct fl_resize_params rp = fl_resize_default_params();
	rp.out_w = in_w;
	rp.out_h = in_h;
	rp.mode = FL_RESIZE_FIT;
	rp.sample = FL_SAMPLE_HALF_PIXEL;
	rp.scale = 1.0f / 127.5f;
	rp.offset = -1.0f;
	struct fl_resize_map map;
	r = fl_image_resize_to_tensor(img, &rp, det->input, &map);
	if (r < 0) {
		set_err(det, "cannot resize a %dx%d image to %dx%d", img->width, img->height, in_w, in_h);
		return r;
	}
	struct fl_tensor in = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, in_h, in_w, 3}, .data = det->input};
	r = fl_session_run(c->s, &in, 1);
	if (r < 0) {
		set_err(det, "%s at %dx%d: %s", fl_model_path(det->model), in_w, in_h, fl_session_errmsg(c->s));
		return r;
	}
	fl_blazeface_anchors(in_h, in_w, det->anchors);

	/* Decode each grid with its slice of the anchors. */
	int first = det->n_dets, anchor0 = 0;
	for (int l = 0; l < 2; l++) {
		struct fl_tensor cls, reg;
		if (fl_session_output(c->s, c->out_cls[l], &cls) < 0 || fl_session_output(c->s, c->out_reg[l], &reg) < 0 ||
		    !cls.data || !reg.data) {
			set_err(det, "%s: no outputs after a run", fl_model_path(det->model));
			return FL_EINTERNAL;
		}
		int n = (int)cls.dims[1];
		det->n_dets += fl_blazeface_decode(cls.data, reg.data, det->anchors + 2 * anchor0, n, det->p.min_score,
		                                   det->dets + det->n_dets, det->dets_cap - det->n_dets);
		anchor0 += n;
	}
	*scale = 1.0f / map.scale_x;
	/* Tensor pixels -> source pixels. */
	for (int i = first; i < det->n_dets; i++) {
		struct fl_detection *d = &det->dets[i];
		d->x1 = d->x1 * map.scale_x + map.off_x;
		d->x2 = d->x2 * map.scale_x + map.off_x;
		d->y1 = d->y1 * map.scale_y + map.off_y;
		d->y2 = d->y2 * map.scale_y + map.off_y;
		for (int p = 0; p < N_KP; p++) {
			d->kp[p][0] = d->kp[p][0] * map.scale_x + map.off_x;
			d->kp[p][1] = d->kp[p][1] * map.scale_y + map.off_y;
		}
	}
	return 0;
}

static int run_pass(struct fl_detector *det, const struct fl_image *img, int in_h, int in_w, float *scale)
{
	double t0 = fl__now();
	int r = run_pass_(det, img, in_h, in_w, scale);
	det->st.t_blazeface += fl__now() - t0;
	det->st.n_blazeface++;
	return r;
}

/*
** A face larger than about MAX_LARGE_PASS_FACE px in the whole-picture
** pass's input is beyond what BlazeFace was trained for: that pass returns
** fragments of it (an eye and a cheek) with good scores, which NMS would
** average into the close-up pass's correct box.  So a close-up detection
** that big takes precedence: whole-picture detections lying mostly inside it
** are dropped before NMS.  dets[0..n_large) came from the whole-picture
** pass, at `large_scale` input pixels per source pixel.
*/
#define MAX_LARGE_PASS_FACE 160.0f

static void drop_fragments(struct fl_detector *det, int n_large, float large_scale)
{
	struct fl_detection *d = det->dets;
	int keep = 0;
	for (int i = 0; i < n_large; i++) {
		int drop = 0;
		for (int j = n_large; j < det->n_dets && !drop; j++)
			if ((d[j].x2 - d[j].x1) * large_scale > MAX_LARGE_PASS_FACE && inside_part(&d[i], &d[j]) > 0.5f)
				drop = 1;
		if (!drop)
			d[keep++] = d[i];
	}
	/* Close the gap: move the close-up detections down. */
	memmove(d + keep, d + n_large, sizeof(*d) * (size_t)(det->n_dets - n_large));
	det->n_dets -= n_large - keep;
}

/* FaceMesh on n crops (source pixels) turned by angles[i]: scores[i] and,
** when meshes is not NULL, meshes[i].  Side by side on the pool when the
** detector has one and there are several faces. */
struct mesh_job {
	struct fl_detector *det;
	const struct fl_image *img;
	float (*meshes)[FL_FACEMESH_N_POINTS][3];
};

static void mesh_task(void *arg, int i, int thread)
{
	struct mesh_job *j = arg;
	struct fl_detector *det = j->det;
	char err[400] = "";
	det->mm_rc[i] = fl__facemesh_run(det->fm_par[thread], j->img, det->mm_crop[i], det->mm_angle[i],
	                                 &det->mm_score[i], j->meshes ? j->meshes[i] : NULL, err, sizeof(err));
	if (det->mm_rc[i] < 0 && thread == 0)
		set_err(det, "%s", err);
}

static int mesh_reserve(struct fl_detector *det, size_t n)
{
	if (n <= det->mm_cap)
		return 0;
	size_t cap = FL_MAX(n, 2 * det->mm_cap);
	size_t c1 = det->mm_cap, c2 = det->mm_cap, c3 = det->mm_cap, c4 = det->mm_cap;
	if (reserve((void **)&det->mm_crop, &c1, cap, sizeof(*det->mm_crop)) < 0 ||
	    reserve((void **)&det->mm_angle, &c2, cap, sizeof(float)) < 0 ||
	    reserve((void **)&det->mm_score, &c3, cap, sizeof(float)) < 0 ||
	    reserve((void **)&det->mm_rc, &c4, cap, sizeof(int)) < 0) {
		set_err(det, "out of memory for %zu face meshes", n);
		return FL_ENOMEM;
	}
	det->mm_cap = cap;
	return 0;
}

/* Run FaceMesh on det->mm_crop/mm_angle[0..n) into mm_score (and meshes). */
static int mesh_many(struct fl_detector *det, const struct fl_image *img, int n,
                     float (*meshes)[FL_FACEMESH_N_POINTS][3])
{
	double t0 = fl__now();
	int r = 0;
	if (det->pool && n > 1) {
		struct mesh_job j = {det, img, meshes};
		fl__pool_run(det->pool, mesh_task, &j, n);
		for (int i = 0; i < n && r == 0; i++)
			if (det->mm_rc[i] < 0) {
				r = det->mm_rc[i];
				if (!det->errmsg[0])
					set_err(det, "FaceMesh failed on face %d: %s", i, fl_strerror(r));
			}
	} else {
		for (int i = 0; i < n && r == 0; i++) {
			char err[400] = "";
			r = fl__facemesh_run(det->mesh_model, img, det->mm_crop[i], det->mm_angle[i], &det->mm_score[i],
			                     meshes ? meshes[i] : NULL, err, sizeof(err));
			if (r < 0)
				set_err(det, "%s", err);
		}
	}
	det->st.t_facemesh += fl__now() - t0;
	det->st.n_facemesh += n;
	return r;
}

static int round_up32(double v)
{
	int x = (int)ceil(v - 1e-6);
	return FL_MAX(32, (x + 31) / 32 * 32);
}

int fl_detector_detect(struct fl_detector *det, const struct fl_image *img, struct fl_face *faces, int max_faces)
{
	if (!det)
		return FL_EINVAL;
	return fl_detector_detect_at(det, img, det->p.long_side, det->p.short_side, det->p.close_up_pass, faces,
	                             max_faces);
}

int fl_detector_detect_at(struct fl_detector *det, const struct fl_image *img, int long_side, int short_side,
                          int close_up_pass, struct fl_face *faces, int max_faces)
{
	if (!det)
		return FL_EINVAL;
	if (long_side < 0 || short_side < 0 || long_side > 8192 || short_side > 8192 ||
	    (long_side > 0 && short_side <= 0) || (long_side <= 0 && !close_up_pass)) {
		set_err(det, "fl_detector_detect_at: bad pass sizes %dx%d", long_side, short_side);
		return FL_EINVAL;
	}
	det->errmsg[0] = 0;
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width ||
	    max_faces < 0 || (max_faces > 0 && !faces)) {
		set_err(det, "fl_detector_detect: invalid image or output array");
		return FL_EINVAL;
	}
	det->n_dets = 0;
	int r, n_large = 0;
	float large_scale = 0, close_scale = 0;
	if (long_side > 0) {
		/* The whole picture fit into long x short (oriented like it). */
		int landscape = img->width >= img->height;
		double bw = landscape ? long_side : short_side;
		double bh = landscape ? short_side : long_side;
		double s = FL_MIN(bw / img->width, bh / img->height);
		r = run_pass(det, img, round_up32(img->height * s), round_up32(img->width * s), &large_scale);
		if (r < 0)
			return r;
		n_large = det->n_dets;
	}
	if (close_up_pass) {
		r = run_pass(det, img, CLOSE_UP_SIZE, CLOSE_UP_SIZE, &close_scale);
		if (r < 0)
			return r;
		if (n_large && large_scale > close_scale)
			drop_fragments(det, n_large, large_scale);
	}
	int n = fl_detection_nms(det->dets, det->n_dets, det->p.iou, det->p.containment, det->p.weighted_nms);
	det->n_meshes = 0;
	if (det->mesh_model && max_faces > 0 && n > 0) {
		size_t cap = det->meshes_cap;
		if (reserve((void **)&det->meshes, &cap, (size_t)n, sizeof(*det->meshes)) < 0) {
			set_err(det, "out of memory for %d face meshes", n);
			return FL_ENOMEM;
		}
		det->meshes_cap = cap;
		if ((r = mesh_reserve(det, (size_t)n)) < 0)
			return r;
		/* Verify on the unclipped boxes: human crops them as they are, and
		** outside the picture is black.  The roll: BlazeFace's eye line
		** (subject's right eye first). */
		for (int i = 0; i < n; i++) {
			const struct fl_detection *d = &det->dets[i];
			const float raw[4] = {d->x1, d->y1, d->x2 - d->x1, d->y2 - d->y1};
			fl_facemesh_crop_box(raw, det->p.verify_scale, det->mm_crop[i]);
			det->mm_angle[i] = det->p.verify_rotate ? atan2f(d->kp[FL_FACE_LEFT_EYE][1] - d->kp[FL_FACE_RIGHT_EYE][1],
			                                                 d->kp[FL_FACE_LEFT_EYE][0] - d->kp[FL_FACE_RIGHT_EYE][0])
			                                        : 0.0f;
		}
		if ((r = mesh_many(det, img, n, det->meshes)) < 0)
			return r;
	}
	int n_out = 0;
	const float W = (float)img->width, H = (float)img->height;
	/* In decreasing BlazeFace score, until max_faces faces are kept. */
	for (int i = 0; i < n && n_out < max_faces; i++) {
		const struct fl_detection *d = &det->dets[i];
		struct fl_face *f = &faces[n_out];
		const float raw[4] = {d->x1, d->y1, d->x2 - d->x1, d->y2 - d->y1};
		f->face_score = -1.0f;
		if (det->mesh_model) {
			f->face_score = det->mm_score[i];
			if (f->face_score < det->p.min_face_score)
				continue;
			if (n_out != i)
				memcpy(det->meshes[n_out], det->meshes[i], sizeof(det->meshes[0]));
			fl_facemesh_points((const float(*)[3])det->meshes[n_out], f->points);
		} else {
			/* BlazeFace's own estimates: eyes, nose; the mouth centre twice. */
			memcpy(f->points[FL_FACE_POINT_RIGHT_EYE], d->kp[FL_FACE_RIGHT_EYE], sizeof(f->points[0]));
			memcpy(f->points[FL_FACE_POINT_LEFT_EYE], d->kp[FL_FACE_LEFT_EYE], sizeof(f->points[0]));
			memcpy(f->points[FL_FACE_POINT_NOSE], d->kp[FL_FACE_NOSE], sizeof(f->points[0]));
			memcpy(f->points[FL_FACE_POINT_MOUTH_RIGHT], d->kp[FL_FACE_MOUTH], sizeof(f->points[0]));
			memcpy(f->points[FL_FACE_POINT_MOUTH_LEFT], d->kp[FL_FACE_MOUTH], sizeof(f->points[0]));
		}
		/* Clip the box to the picture. */
		float x1 = FL_MAX(d->x1, 0.0f), y1 = FL_MAX(d->y1, 0.0f);
		float x2 = FL_MIN(d->x2, W), y2 = FL_MIN(d->y2, H);
		f->box[0] = x1;
		f->box[1] = y1;
		f->box[2] = FL_MAX(x2 - x1, 0.0f);
		f->box[3] = FL_MAX(y2 - y1, 0.0f);
		memcpy(f->raw_box, raw, sizeof(f->raw_box));
		f->score = d->score;
		memcpy(f->landmarks, d->kp, sizeof(f->landmarks));
		n_out++;
	}
	if (det->mesh_model)
		det->n_meshes = n_out;
	return n_out;
}

int fl_detector_mesh(const struct fl_detector *det, int i, float mesh[][3])
{
	if (!det || !mesh || i < 0)
		return FL_EINVAL;
	if (!det->mesh_model)
		return FL_ENOENT;
	if (i >= det->n_meshes)
		return FL_EINVAL;
	memcpy(mesh, det->meshes[i], sizeof(det->meshes[i]));
	return 0;
}

int fl_detector_face_score(struct fl_detector *det, const struct fl_image *img, const float box[4], float angle,
                           float *score, float mesh[][3])
{
	if (!det)
		return FL_EINVAL;
	det->errmsg[0] = 0;
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || !box ||
	    !score || !(box[2] > 0) || !(box[3] > 0) || !isfinite(box[0]) || !isfinite(box[1]) || !isfinite(box[2]) ||
	    !isfinite(box[3])) {
		set_err(det, "fl_detector_face_score: invalid image, box or output");
		return FL_EINVAL;
	}
	if (!det->mesh_model) {
		set_err(det, "fl_detector_face_score: this detector was created without verification");
		return FL_ENOENT;
	}
	float crop[4];
	fl_facemesh_crop_box(box, det->p.verify_scale, crop);
	char err[400] = "";
	double t0 = fl__now();
	int r = fl__facemesh_run(det->mesh_model, img, crop, isfinite(angle) ? angle : 0.0f, score, mesh, err,
	                         sizeof(err));
	det->st.t_facemesh += fl__now() - t0;
	det->st.n_facemesh++;
	if (r < 0)
		set_err(det, "%s", err);
	return r;
}

int fl_detector_face_scores(struct fl_detector *det, const struct fl_image *img, int n, const float (*boxes)[4],
                            const float *angles, float *scores, float (*meshes)[FL_FACEMESH_N_POINTS][3])
{
	if (!det)
		return FL_EINVAL;
	det->errmsg[0] = 0;
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || n < 0 ||
	    (n > 0 && (!boxes || !scores))) {
		set_err(det, "fl_detector_face_scores: invalid image, boxes or output");
		return FL_EINVAL;
	}
	if (!det->mesh_model) {
		set_err(det, "fl_detector_face_scores: this detector was created without verification");
		return FL_ENOENT;
	}
	for (int i = 0; i < n; i++) {
		const float *b = boxes[i];
		if (!(b[2] > 0) || !(b[3] > 0) || !isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) ||
		    !isfinite(b[3])) {
			set_err(det, "fl_detector_face_scores: box %d is empty or not finite", i);
			return FL_EINVAL;
		}
	}
	if (n == 0)
		return 0;
	int r = mesh_reserve(det, (size_t)n);
	if (r < 0)
		return r;
	for (int i = 0; i < n; i++) {
		fl_facemesh_crop_box(boxes[i], det->p.verify_scale, det->mm_crop[i]);
		det->mm_angle[i] = angles && isfinite(angles[i]) ? angles[i] : 0.0f;
	}
	r = mesh_many(det, img, n, meshes);
	if (r < 0)
		return r;
	memcpy(scores, det->mm_score, (size_t)n * sizeof(float));
	return 0;
}

void fl_detector_get_stats(const struct fl_detector *det, struct fl_detector_stats *st)
{
	if (!st)
		return;
	if (det)
		*st = det->st;
	else
		memset(st, 0, sizeof(*st));
}
