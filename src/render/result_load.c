/*
** result_load.c -- reading a result JSON v1 file (docs/result-format.md)
** back into a struct fl_result: the inverse of fl_result_write_json
** (src/analyze/result.c), so `faceline render` can make its outputs from a
** saved analysis.
**
** The reader is strict about what the writer always writes -- every key it
** emits must be present with its JSON type (integers as integers, times as
** numbers, flags as booleans), "v" must be 1 -- and ignores keys it does not
** know (the format allows later minor revisions to add keys).  The keys
** added to v1 after its first writers may be missing (stats.frames_missing,
** frames_full and models, params.detect_interval and full_interval); they
** then take the value that describes those older runs.  Cross references are checked too (a track's person exists,
** a person's track ids exist, segments are ordered), because the renderers
** follow them.  Any failure is FL_ECORRUPT with a message naming the file
** and the field ("r.json: persons[1].segments[0].end: expected a number"),
** or the JSON line and column for text that is not JSON.
**
** Everything in the result is allocated with fl_malloc/fl_calloc, exactly
** as fl_result_destroy frees it.  Rounded values (times to 0.1 ms, pixels
** to 0.01, probabilities to 1e-4) survive the float fields of the struct,
** so load -> save gives the same text as the file loaded.
*/
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/base_int.h"
#include "render_int.h"

/* A result file larger than this is refused (the JSON tree takes several
** times the text's size in memory). */
#define RESULT_MAX_BYTES ((size_t)1 << 30)

/* The reader's state: the file's name for messages and the error buffer. */
struct ld {
	const char *file;
	char *err;
	size_t err_size;
};

/* Write "<file>: <where>.<key>: <message>" and return FL_ECORRUPT. */
static int bad(struct ld *L, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(struct ld *L, const char *where, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fl__errf(L->err, L->err_size, "%s: not a faceline result v1: field %s%s%s: %s", L->file, where,
	         where[0] && key[0] && key[0] != '[' ? "." : "", key, msg);
	return FL_ECORRUPT;
}

enum jt { T_INT, T_NUM, T_STR, T_BOOL, T_ARR, T_OBJ };

static const char *jt_name(enum jt t)
{
	static const char *const n[] = {"an integer", "a number", "a string", "true or false", "an array",
	                                "an object"};
	return n[t];
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int type_ok(const json_t *v, enum jt t)
{
	switch (t) {
	case T_INT: return json_is_integer(v);
	case T_NUM: return json_is_number(v);
	case T_STR: return json_is_string(v);
	case T_BOOL: return json_is_boolean(v);
	case T_ARR: return json_is_array(v);
	case T_OBJ: return json_is_object(v);
	}
	return 0;
}

/* The value v (named where.key) checked to be of type t; NULL (error set in
** *rc) otherwise.  v may be NULL: the field is missing. */
static json_t *check(struct ld *L, json_t *v, const char *where, const char *key, enum jt t, int *rc)
{
	if (!v) {
		*rc = bad(L, where, key, "missing");
		return NULL;
	}
	if (!type_ok(v, t)) {
		*rc = bad(L, where, key, "expected %s, found %s", jt_name(t), json_type_name(v));
		return NULL;
	}
	return v;
}

/* obj[key] of type t, or NULL with *rc set. */
static json_t *field(struct ld *L, json_t *obj, const char *where, const char *key, enum jt t, int *rc)
{
	return check(L, json_object_get(obj, key), where, key, t, rc);
}

static int get_i64(struct ld *L, json_t *obj, const char *where, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
	int rc = 0;
	json_t *v = field(L, obj, where, key, T_INT, &rc);
	if (!v)
		return rc;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return bad(L, where, key, "%lld is outside %lld..%lld", (long long)x, (long long)lo, (long long)hi);
	*out = x;
	return 0;
}

static int get_int(struct ld *L, json_t *obj, const char *where, const char *key, int lo, int hi, int *out)
{
	int64_t x = 0;
	int rc = get_i64(L, obj, where, key, lo, hi, &x);
	if (rc == 0)
		*out = (int)x;
	return rc;
}

/* A number (integer or real) within lo..hi. */
static int num_value(struct ld *L, json_t *v, const char *where, const char *key, double lo, double hi,
                     double *out)
{
	int rc = 0;
	if (!check(L, v, where, key, T_NUM, &rc))
		return rc;
	double x = json_number_value(v);
	if (!(x >= lo && x <= hi))
		return bad(L, where, key, "%g is outside %g..%g", x, lo, hi);
	*out = x;
	return 0;
}

static int get_num(struct ld *L, json_t *obj, const char *where, const char *key, double lo, double hi,
                   double *out)
{
	return num_value(L, json_object_get(obj, key), where, key, lo, hi, out);
}

static int get_float(struct ld *L, json_t *obj, const char *where, const char *key, double lo, double hi,
                     float *out)
{
	double x = 0;
	int rc = get_num(L, obj, where, key, lo, hi, &x);
	if (rc == 0)
		*out = (float)x;
	return rc;
}

static int get_bool(struct ld *L, json_t *obj, const char *where, const char *key, int *out)
{
	int rc = 0;
	json_t *v = field(L, obj, where, key, T_BOOL, &rc);
	if (v)
		*out = json_is_true(v);
	return rc;
}

/* Largest magnitude accepted for times and pixel coordinates: far beyond
** any real video (24 h, 8192 px) yet safe to multiply and format. */
#define BIG 1e9

/* [x, y, w, h] */
static int get_box(struct ld *L, json_t *obj, const char *where, const char *key, float box[4])
{
	int rc = 0;
	json_t *a = field(L, obj, where, key, T_ARR, &rc);
	if (!a)
		return rc;
	if (json_array_size(a) != 4)
		return bad(L, where, key, "expected 4 numbers [x, y, w, h], found %zu values", json_array_size(a));
	char w[160];
	snprintf(w, sizeof(w), "%s%s%s", where, where[0] ? "." : "", key);
	for (int k = 0; k < 4; k++) {
		char kk[16];
		double x = 0;
		snprintf(kk, sizeof(kk), "[%d]", k);
		if ((rc = num_value(L, json_array_get(a, (size_t)k), w, kk, k < 2 ? -BIG : 0, BIG, &x)) < 0)
			return rc;
		box[k] = (float)x;
	}
	return 0;
}

/* {label: p} for the seven classes. */
static int get_expr(struct ld *L, json_t *obj, const char *where, const char *key, float p[FL_EXPRESSION_N])
{
	int rc = 0;
	json_t *o = field(L, obj, where, key, T_OBJ, &rc);
	if (!o)
		return rc;
	char w[160];
	snprintf(w, sizeof(w), "%s%s%s", where, where[0] ? "." : "", key);
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		if ((rc = get_float(L, o, w, fl_expression_label(e), 0, 1, &p[e])) < 0)
			return rc;
	return 0;
}

/* Copy a string field into a fixed buffer (cut to fit, like the prober). */
static int get_strbuf(struct ld *L, json_t *obj, const char *where, const char *key, char *buf, size_t n)
{
	int rc = 0;
	json_t *v = field(L, obj, where, key, T_STR, &rc);
	if (v)
		snprintf(buf, n, "%s", json_string_value(v));
	return rc;
}

static int get_strdup(struct ld *L, json_t *obj, const char *where, const char *key, char **out)
{
	int rc = 0;
	json_t *v = field(L, obj, where, key, T_STR, &rc);
	if (!v)
		return rc;
	/* A NUL inside the string would cut it silently. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(L, where, key, "contains a NUL character");
	if (!(*out = fl_strdup(json_string_value(v)))) {
		fl__errf(L->err, L->err_size, "%s: out of memory", L->file);
		return FL_ENOMEM;
	}
	return 0;
}

/* An array field; its length (fitting an int) in *n. */
static json_t *get_array(struct ld *L, json_t *obj, const char *where, const char *key, int *n, int *rc)
{
	json_t *a = field(L, obj, where, key, T_ARR, rc);
	if (a && json_array_size(a) > (size_t)INT_MAX / 2) {
		*rc = bad(L, where, key, "too many elements");
		return NULL;
	}
	if (a)
		*n = (int)json_array_size(a);
	return a;
}

static void *alloc_array(struct ld *L, int n, size_t size, int *rc)
{
	void *p = fl_calloc(n > 0 ? (size_t)n : 1, size);
	if (!p) {
		fl__errf(L->err, L->err_size, "%s: out of memory", L->file);
		*rc = FL_ENOMEM;
	}
	return p;
}

/* ================================================================ parts */

static int load_video(struct ld *L, json_t *root, struct fl_result *r)
{
	int rc = 0;
	json_t *o = field(L, root, "", "video", T_OBJ, &rc);
	if (!o)
		return rc;
	struct fl_video_info *v = &r->video;
	const char *w = "video";
	if ((rc = get_strdup(L, o, w, "path", &r->path)) < 0 ||
	    (rc = get_num(L, o, w, "duration", 0, BIG, &v->duration)) < 0 ||
	    (rc = get_num(L, o, w, "fps", 0, 1e6, &v->fps)) < 0 ||
	    (rc = get_int(L, o, w, "width", 0, 1 << 16, &v->width)) < 0 ||
	    (rc = get_int(L, o, w, "height", 0, 1 << 16, &v->height)) < 0 ||
	    (rc = get_i64(L, o, w, "frames", 0, INT64_MAX, &v->n_frames)) < 0 ||
	    (rc = get_int(L, o, w, "rotation", 0, 270, &v->rotation)) < 0 ||
	    (rc = get_strbuf(L, o, w, "codec", v->codec, sizeof(v->codec))) < 0 ||
	    (rc = get_strbuf(L, o, w, "format", v->format, sizeof(v->format))) < 0)
		return rc;
	if (v->rotation % 90)
		return bad(L, w, "rotation", "%d is not 0, 90, 180 or 270", v->rotation);
	/* Not in the file: the stored size is the displayed one turned back. */
	int swap = v->rotation == 90 || v->rotation == 270;
	v->coded_width = swap ? v->height : v->width;
	v->coded_height = swap ? v->width : v->height;
	return 0;
}

static int load_params(struct ld *L, json_t *root, struct fl_result *r)
{
	int rc = 0;
	json_t *o = field(L, root, "", "params", T_OBJ, &rc);
	if (!o)
		return rc;
	struct fl_analyze_params *p = &r->params;
	const char *w = "params";
	if ((rc = get_num(L, o, w, "fps", 0, 1e6, &p->fps)) < 0 ||
	    (rc = get_bool(L, o, w, "every_frame", &p->every_frame)) < 0 ||
	    (rc = get_int(L, o, w, "threads", 0, 1 << 16, &p->threads)) < 0 ||
	    (rc = get_num(L, o, w, "gap", 0, BIG, &p->gap)) < 0 ||
	    (rc = get_float(L, o, w, "min_score", 0, 1, &p->min_score)) < 0 ||
	    (rc = get_float(L, o, w, "min_face_score", 0, 1, &p->min_face_score)) < 0 ||
	    (rc = get_int(L, o, w, "max_faces", 0, INT_MAX, &p->max_faces)) < 0 ||
	    (rc = get_bool(L, o, w, "skip_nonref", &p->skip_nonref)) < 0 ||
	    (rc = get_strdup(L, o, w, "models", &r->models_dir)) < 0)
		return rc;
	p->models_dir = r->models_dir;
	/* The detection schedule came later in v1: absent means the full
	** detector on every analysed frame (0). */
	p->detect_interval = 0;
	p->full_interval = 0;
	if ((json_object_get(o, "detect_interval") &&
	     (rc = get_num(L, o, w, "detect_interval", 0, BIG, &p->detect_interval)) < 0) ||
	    (json_object_get(o, "full_interval") &&
	     (rc = get_num(L, o, w, "full_interval", 0, BIG, &p->full_interval)) < 0))
		return rc;
	return 0;
}

static int load_models(struct ld *L, json_t *root)
{
	int rc = 0, n = 0;
	json_t *a = get_array(L, root, "", "models", &n, &rc);
	if (!a)
		return rc;
	for (int i = 0; i < n; i++) {
		char w[32], s[8];
		snprintf(w, sizeof(w), "models[%d]", i);
		json_t *m = check(L, json_array_get(a, (size_t)i), "models", w + 6, T_OBJ, &rc);
		if (!m)
			return rc;
		static const char *const keys[] = {"name", "role", "package", "version", "file"};
		for (size_t k = 0; k < FL_ARRAY_SIZE(keys); k++)
			if ((rc = get_strbuf(L, m, w, keys[k], s, sizeof(s))) < 0)
				return rc;
	}
	return 0;
}

/* The dominant expression's name back to its class (or FL_RESULT_UNCERTAIN). */
static int parse_dominant(const char *s, int *out)
{
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		if (!strcmp(s, fl_expression_label(e))) {
			*out = e;
			return 0;
		}
	if (!strcmp(s, fl_result_expression_name(FL_RESULT_UNCERTAIN))) {
		*out = FL_RESULT_UNCERTAIN;
		return 0;
	}
	return -1;
}

static int load_person(struct ld *L, json_t *o, const char *w, struct fl_result_person *pe)
{
	int rc = 0, n = 0;
	if ((rc = get_int(L, o, w, "id", 0, INT_MAX, &pe->id)) < 0)
		return rc;
	json_t *segs = get_array(L, o, w, "segments", &n, &rc);
	if (!segs)
		return rc;
	if (!(pe->segments = alloc_array(L, n, sizeof(*pe->segments), &rc)))
		return rc;
	pe->n_segments = n;
	for (int k = 0; k < n; k++) {
		char ws[96];
		snprintf(ws, sizeof(ws), "%s.segments[%d]", w, k);
		json_t *s = check(L, json_array_get(segs, (size_t)k), w, ws + strlen(w) + 1, T_OBJ, &rc);
		if (!s)
			return rc;
		struct fl_result_segment *sg = &pe->segments[k];
		if ((rc = get_num(L, s, ws, "start", 0, BIG, &sg->start)) < 0 ||
		    (rc = get_num(L, s, ws, "end", 0, BIG, &sg->end)) < 0)
			return rc;
		if (sg->end < sg->start)
			return bad(L, ws, "end", "%g is before start %g", sg->end, sg->start);
		if (k > 0 && sg->start < pe->segments[k - 1].end)
			return bad(L, ws, "start", "%g overlaps the previous segment (ends %g)", sg->start,
			           pe->segments[k - 1].end);
	}
	if ((rc = get_num(L, o, w, "screen_time", 0, BIG, &pe->screen_time)) < 0 ||
	    (rc = get_num(L, o, w, "first", 0, BIG, &pe->first)) < 0 ||
	    (rc = get_num(L, o, w, "last", 0, BIG, &pe->last)) < 0)
		return rc;
	json_t *tr = get_array(L, o, w, "tracks", &n, &rc);
	if (!tr)
		return rc;
	if (!(pe->tracks = alloc_array(L, n, sizeof(*pe->tracks), &rc)))
		return rc;
	pe->n_tracks = n;
	char wt[96];
	snprintf(wt, sizeof(wt), "%s.tracks", w);
	for (int k = 0; k < n; k++) {
		char kk[16];
		snprintf(kk, sizeof(kk), "[%d]", k);
		json_t *v = check(L, json_array_get(tr, (size_t)k), wt, kk, T_INT, &rc);
		if (!v)
			return rc;
		json_int_t id = json_integer_value(v);
		if (id < 0 || id > INT_MAX)
			return bad(L, wt, kk, "%lld is not a track id", (long long)id);
		pe->tracks[k] = (int)id;
	}
	char we[96];
	snprintf(we, sizeof(we), "%s.expression", w);
	json_t *ex = field(L, o, w, "expression", T_OBJ, &rc);
	if (!ex)
		return rc;
	json_t *dom = field(L, ex, we, "dominant", T_STR, &rc);
	if (!dom)
		return rc;
	if (parse_dominant(json_string_value(dom), &pe->dominant) < 0)
		return bad(L, we, "dominant", "\"%.40s\" is not an expression name", json_string_value(dom));
	if ((rc = get_expr(L, ex, we, "mean", pe->expression_mean)) < 0)
		return rc;
	char wth[96];
	snprintf(wth, sizeof(wth), "%s.thumbnail", w);
	json_t *th = field(L, o, w, "thumbnail", T_OBJ, &rc);
	if (!th)
		return rc;
	if ((rc = get_num(L, th, wth, "t", 0, BIG, &pe->thumb_t)) < 0 ||
	    (rc = get_i64(L, th, wth, "frame", 0, INT64_MAX, &pe->thumb_frame)) < 0 ||
	    (rc = get_box(L, th, wth, "box", pe->thumb_box)) < 0)
		return rc;
	return 0;
}

static int load_detection(struct ld *L, json_t *o, const char *w, struct fl_result_detection *d)
{
	int rc = 0;
	if ((rc = get_num(L, o, w, "t", 0, BIG, &d->t)) < 0 ||
	    (rc = get_i64(L, o, w, "frame", 0, INT64_MAX, &d->frame)) < 0 ||
	    (rc = get_box(L, o, w, "box", d->box)) < 0 ||
	    (rc = get_float(L, o, w, "score", 0, 1, &d->score)) < 0 ||
	    (rc = get_float(L, o, w, "face_score", 0, 1, &d->face_score)) < 0)
		return rc;
	json_t *lm = field(L, o, w, "landmarks", T_ARR, &rc);
	if (!lm)
		return rc;
	if (json_array_size(lm) != 5)
		return bad(L, w, "landmarks", "expected 5 points, found %zu", json_array_size(lm));
	char wl[128];
	snprintf(wl, sizeof(wl), "%s.landmarks", w);
	for (int k = 0; k < 5; k++) {
		char kk[16];
		snprintf(kk, sizeof(kk), "[%d]", k);
		json_t *pt = check(L, json_array_get(lm, (size_t)k), wl, kk, T_ARR, &rc);
		if (!pt)
			return rc;
		if (json_array_size(pt) != 2)
			return bad(L, wl, kk, "expected [x, y], found %zu values", json_array_size(pt));
		char wp[160];
		snprintf(wp, sizeof(wp), "%s%s", wl, kk);
		double x = 0, y = 0;
		if ((rc = num_value(L, json_array_get(pt, 0), wp, "[0]", -BIG, BIG, &x)) < 0 ||
		    (rc = num_value(L, json_array_get(pt, 1), wp, "[1]", -BIG, BIG, &y)) < 0)
			return rc;
		d->points[k][0] = (float)x;
		d->points[k][1] = (float)y;
	}
	return get_expr(L, o, w, "expression", d->expression);
}

static int load_track(struct ld *L, json_t *o, const char *w, struct fl_result_track *tk)
{
	int rc = 0, n = 0;
	if ((rc = get_int(L, o, w, "id", 0, INT_MAX, &tk->id)) < 0 ||
	    (rc = get_int(L, o, w, "person", 0, INT_MAX, &tk->person)) < 0 ||
	    (rc = get_num(L, o, w, "start", 0, BIG, &tk->start)) < 0 ||
	    (rc = get_num(L, o, w, "end", 0, BIG, &tk->end)) < 0)
		return rc;
	json_t *dets = get_array(L, o, w, "detections", &n, &rc);
	if (!dets)
		return rc;
	if (!(tk->detections = alloc_array(L, n, sizeof(*tk->detections), &rc)))
		return rc;
	tk->n_detections = n;
	for (int i = 0; i < n; i++) {
		char wd[96];
		snprintf(wd, sizeof(wd), "%s.detections[%d]", w, i);
		json_t *d = check(L, json_array_get(dets, (size_t)i), w, wd + strlen(w) + 1, T_OBJ, &rc);
		if (!d)
			return rc;
		if ((rc = load_detection(L, d, wd, &tk->detections[i])) < 0)
			return rc;
		if (i > 0 && tk->detections[i].t < tk->detections[i - 1].t)
			return bad(L, wd, "t", "%g is before the previous detection's %g", tk->detections[i].t,
			           tk->detections[i - 1].t);
	}
	return 0;
}

static int load_stats(struct ld *L, json_t *root, struct fl_result_stats *s)
{
	int rc = 0;
	json_t *o = field(L, root, "", "stats", T_OBJ, &rc);
	if (!o)
		return rc;
	const char *w = "stats";
	if ((rc = get_i64(L, o, w, "frames_decoded", 0, INT64_MAX, &s->frames_decoded)) < 0 ||
	    (rc = get_i64(L, o, w, "frames_analysed", 0, INT64_MAX, &s->frames_analysed)) < 0 ||
	    (rc = get_i64(L, o, w, "frames_corrupt", 0, INT64_MAX, &s->frames_corrupt)) < 0)
		return rc;
	/* Added to v1 after its first writers: absent means none. */
	if (json_object_get(o, "frames_missing") &&
	    (rc = get_i64(L, o, w, "frames_missing", 0, INT64_MAX, &s->frames_missing)) < 0)
		return rc;
	if ((rc = get_i64(L, o, w, "detections", 0, INT64_MAX, &s->detections)) < 0)
		return rc;
	json_t *t = field(L, o, w, "time", T_OBJ, &rc);
	if (!t)
		return rc;
	struct {
		const char *key;
		double *v;
	} times[] = {
		{"decode_wait", &s->t_decode_wait}, {"detect", &s->t_detect}, {"embed", &s->t_embed},
		{"expression", &s->t_expression},   {"track", &s->t_track},   {"persons", &s->t_persons},
		{"load", &s->t_load},               {"total", &s->t_total},
	};
	for (size_t i = 0; i < FL_ARRAY_SIZE(times); i++)
		if ((rc = get_num(L, t, "stats.time", times[i].key, 0, BIG, times[i].v)) < 0)
			return rc;
	/* Later v1 additions, optional: frames that ran the full detector
	** (absent: all of them) and the per-model times. */
	s->frames_full = s->frames_analysed;
	if (json_object_get(o, "frames_full") &&
	    (rc = get_i64(L, o, w, "frames_full", 0, INT64_MAX, &s->frames_full)) < 0)
		return rc;
	if (json_object_get(o, "models")) {
		json_t *m = field(L, o, w, "models", T_OBJ, &rc);
		if (!m)
			return rc;
		for (int i = 0; i < FL_PROFILE_N; i++) {
			const char *name = fl_profile_model_name(i);
			if (!json_object_get(m, name))
				continue;
			char wm[64];
			snprintf(wm, sizeof(wm), "stats.models.%s", name);
			json_t *e = field(L, m, "stats.models", name, T_OBJ, &rc);
			if (!e || (rc = get_num(L, e, wm, "seconds", 0, BIG, &s->t_model[i])) < 0 ||
			    (rc = get_i64(L, e, wm, "runs", 0, INT64_MAX, &s->n_model[i])) < 0)
				return rc ? rc : FL_ECORRUPT;
		}
	}
	return get_i64(L, o, w, "peak_rss", 0, INT64_MAX, &s->peak_rss);
}

/* Every track's person exists, every person's track ids exist. */
static int check_refs(struct ld *L, const struct fl_result *r)
{
	char w[64];
	for (int i = 0; i < r->n_tracks; i++) {
		int found = 0;
		for (int j = 0; j < r->n_persons && !found; j++)
			found = r->persons[j].id == r->tracks[i].person;
		if (!found) {
			snprintf(w, sizeof(w), "tracks[%d]", i);
			return bad(L, w, "person", "%d is not the id of a person in the file", r->tracks[i].person);
		}
	}
	for (int j = 0; j < r->n_persons; j++)
		for (int k = 0; k < r->persons[j].n_tracks; k++) {
			int found = 0;
			for (int i = 0; i < r->n_tracks && !found; i++)
				found = r->tracks[i].id == r->persons[j].tracks[k];
			if (!found) {
				snprintf(w, sizeof(w), "persons[%d].tracks[%d]", j, k);
				return bad(L, w, "", "%d is not the id of a track in the file", r->persons[j].tracks[k]);
			}
		}
	return 0;
}

static int load_root(struct ld *L, json_t *root, struct fl_result *r)
{
	int rc = 0, n = 0;
	if (!json_is_object(root))
		return bad(L, "", "(top level)", "expected an object, found %s", json_type_name(root));
	json_t *v = field(L, root, "", "v", T_INT, &rc);
	if (!v)
		return rc;
	if (json_integer_value(v) != 1) {
		fl__errf(L->err, L->err_size,
		         "%s: field v: result format version %lld, this build of faceline reads version 1",
		         L->file, (long long)json_integer_value(v));
		return FL_ECORRUPT;
	}
	r->v = 1;
	if ((rc = load_video(L, root, r)) < 0 || (rc = load_models(L, root)) < 0 || (rc = load_params(L, root, r)) < 0)
		return rc;

	json_t *pa = get_array(L, root, "", "persons", &n, &rc);
	if (!pa)
		return rc;
	if (!(r->persons = alloc_array(L, n, sizeof(*r->persons), &rc)))
		return rc;
	r->n_persons = n;
	for (int i = 0; i < n; i++) {
		char w[32];
		snprintf(w, sizeof(w), "persons[%d]", i);
		json_t *o = check(L, json_array_get(pa, (size_t)i), "persons", w + 7, T_OBJ, &rc);
		if (!o || (rc = load_person(L, o, w, &r->persons[i])) < 0)
			return rc;
	}

	json_t *ta = get_array(L, root, "", "tracks", &n, &rc);
	if (!ta)
		return rc;
	if (!(r->tracks = alloc_array(L, n, sizeof(*r->tracks), &rc)))
		return rc;
	r->n_tracks = n;
	for (int i = 0; i < n; i++) {
		char w[32];
		snprintf(w, sizeof(w), "tracks[%d]", i);
		json_t *o = check(L, json_array_get(ta, (size_t)i), "tracks", w + 6, T_OBJ, &rc);
		if (!o || (rc = load_track(L, o, w, &r->tracks[i])) < 0)
			return rc;
	}
	if ((rc = load_stats(L, root, &r->stats)) < 0)
		return rc;
	return check_refs(L, r);
}

/* ================================================================ entry */

int fl__result_load_buffer(const char *data, size_t size, const char *name, struct fl_result **out, char *err,
                           size_t err_size)
{
	struct ld L = {name ? name : "(buffer)", err, err_size};
	*out = NULL;
	json_error_t je;
	json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			fl__errf(err, err_size, "%s: out of memory parsing the result", L.file);
			return FL_ENOMEM;
		}
		/* jansson reports a failed allocation as out_of_memory, or with no
		** position at all when it fails before parsing starts. */
		if (je.line < 0 && !je.text[0]) {
			fl__errf(err, err_size, "%s: out of memory parsing the result", L.file);
			return FL_ENOMEM;
		}
		fl__errf(err, err_size, "%s: not a faceline result: invalid JSON at line %d, column %d: %s", L.file,
		         je.line, je.column, je.text);
		return FL_ECORRUPT;
	}
	struct fl_result *r = fl_calloc(1, sizeof(*r));
	if (!r) {
		json_decref(root);
		fl__errf(err, err_size, "%s: out of memory", L.file);
		return FL_ENOMEM;
	}
	/* What the file does not hold keeps the defaults (limits, callbacks). */
	r->params = fl_analyze_default_params();
	r->params.models_dir = NULL;
	int rc = load_root(&L, root, r);
	json_decref(root);
	if (rc < 0) {
		fl_result_destroy(r);
		return rc;
	}
	*out = r;
	return 0;
}

int fl_result_load_json(const char *path, struct fl_result **out, char *err, size_t err_size)
{
	if (!out)
		return FL_EINVAL;
	*out = NULL;
	if (!path || !*path) {
		fl__errf(err, err_size, "no result file given");
		return FL_EINVAL;
	}
	char *data = NULL;
	size_t size = 0;
	int rc = fl__read_file(path, RESULT_MAX_BYTES, &data, &size, err, err_size);
	if (rc < 0)
		return rc == FL_ERANGE ? FL_ECORRUPT : rc;
	rc = fl__result_load_buffer(data, size, path, out, err, err_size);
	fl_free(data);
	return rc;
}
