/*
** analyze_result.c -- tests of src/analyze: the result JSON writer checked
** against docs/result.schema.json (by a tiny validator of the keywords the
** schema uses), and the whole pipeline (fl_analyze_file) on short clips
** generated with ffmpeg from a sample photo: persons, segments, boxes,
** progress, cancellation and the errors of bad inputs.  Pipeline tests skip
** without the ffmpeg command or the models.
*/
#include "fl_test.h"
#include "faceline/fl_analyze.h"

#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

/* ============================================ a tiny JSON Schema checker */

/*
** Validates the subset of draft 2020-12 that result.schema.json uses:
** type, const, enum, required, properties, additionalProperties (a
** schema), items, minItems, maxItems, minimum, maximum and local $ref
** ("#/$defs/NAME").  Returns 0, or -1 with the JSON path in msg.
*/
static int check(const json_t *root, const json_t *s, const json_t *v, const char *path, char *msg, size_t n);

static int type_ok(const char *t, const json_t *v)
{
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	return json_is_null(v);
}

static int fail_at(char *msg, size_t n, const char *path, const char *what)
{
	snprintf(msg, n, "%s: %s", path, what);
	return -1;
}

static int check(const json_t *root, const json_t *s, const json_t *v, const char *path, char *msg, size_t n)
{
	const json_t *x;
	char sub[512];
	if ((x = json_object_get(s, "$ref"))) {
		const char *ref = json_string_value(x);
		if (!ref || strncmp(ref, "#/$defs/", 8))
			return fail_at(msg, n, path, "unsupported $ref");
		const json_t *def = json_object_get(json_object_get(root, "$defs"), ref + 8);
		if (!def)
			return fail_at(msg, n, path, "dangling $ref");
		return check(root, def, v, path, msg, n);
	}
	if ((x = json_object_get(s, "type")) && !type_ok(json_string_value(x), v))
		return fail_at(msg, n, path, "wrong type");
	if ((x = json_object_get(s, "const")) && !json_equal((json_t *)x, (json_t *)v))
		return fail_at(msg, n, path, "not the const value");
	if ((x = json_object_get(s, "enum"))) {
		size_t i;
		json_t *e;
		int found = 0;
		json_array_foreach(x, i, e) found |= json_equal(e, (json_t *)v);
		if (!found)
			return fail_at(msg, n, path, "not in enum");
	}
	if (json_is_number(v)) {
		double d = json_number_value(v);
		if ((x = json_object_get(s, "minimum")) && d < json_number_value(x))
			return fail_at(msg, n, path, "below minimum");
		if ((x = json_object_get(s, "maximum")) && d > json_number_value(x))
			return fail_at(msg, n, path, "above maximum");
	}
	if (json_is_object(v)) {
		size_t i;
		json_t *e;
		const char *key;
		json_array_foreach(json_object_get(s, "required"), i, e) if (!json_object_get(v, json_string_value(e)))
		{
			snprintf(sub, sizeof(sub), "missing required \"%s\"", json_string_value(e));
			return fail_at(msg, n, path, sub);
		}
		const json_t *props = json_object_get(s, "properties"), *extra = json_object_get(s, "additionalProperties");
		json_object_foreach((json_t *)v, key, e)
		{
			const json_t *ps = props ? json_object_get(props, key) : NULL;
			if (!ps)
				ps = extra;
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (ps && json_is_object(ps) && check(root, ps, e, sub, msg, n) < 0)
				return -1;
		}
	}
	if (json_is_array(v)) {
		size_t i, len = json_array_size(v);
		json_t *e;
		if ((x = json_object_get(s, "minItems")) && (json_int_t)len < json_integer_value(x))
			return fail_at(msg, n, path, "too few items");
		if ((x = json_object_get(s, "maxItems")) && (json_int_t)len > json_integer_value(x))
			return fail_at(msg, n, path, "too many items");
		const json_t *items = json_object_get(s, "items");
		json_array_foreach(v, i, e)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (items && check(root, items, e, sub, msg, n) < 0)
				return -1;
		}
	}
	return 0;
}

/* Write r to a temporary file, parse it back (the caller json_decref's)
** and validate it against docs/result.schema.json. */
static json_t *write_and_validate(const struct fl_result *r)
{
	json_error_t je;
	FILE *f = tmpfile();
	ASSERT(f);
	ASSERT_OK(fl_result_write_json(r, f));
	rewind(f);
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	ASSERT_MSG(doc, "result JSON does not parse: %s at line %d", je.text, je.line);
	json_t *schema = json_load_file(fl_test_path("docs/result.schema.json"), 0, &je);
	ASSERT_MSG(schema, "schema does not parse: %s", je.text);
	char msg[600];
	int rc = check(schema, schema, doc, "$", msg, sizeof(msg));
	json_decref(schema);
	ASSERT_MSG(rc == 0, "result JSON violates the schema: %s", msg);
	return doc;
}

/* ================================================== the writer, by hand */

FL_TEST(analyze_result_json_schema)
{
	struct fl_result_detection dets[3];
	memset(dets, 0, sizeof(dets));
	for (int i = 0; i < 3; i++) {
		dets[i].t = 0.2 * i;
		dets[i].frame = 5 * i;
		dets[i].box[0] = 10.123456f;
		dets[i].box[1] = 20;
		dets[i].box[2] = dets[i].box[3] = 50;
		dets[i].score = 0.9f;
		dets[i].face_score = 0.8f;
		dets[i].expression[FL_EXPRESSION_HAPPY] = 0.75f;
		dets[i].expression[FL_EXPRESSION_NEUTRAL] = 0.25f;
	}
	struct fl_result_track tracks[1] = {{.id = 1, .person = 1, .start = 0, .end = 0.4, .n_detections = 3,
	                                     .detections = dets}};
	struct fl_result_segment segs[1] = {{0, 0.5}};
	int tids[1] = {1};
	struct fl_result_person persons[1] = {{.id = 1, .n_segments = 1, .segments = segs, .screen_time = 0.5,
	                                       .first = 0, .last = 0.5, .n_tracks = 1, .tracks = tids,
	                                       .dominant = FL_EXPRESSION_HAPPY, .thumb_t = 0.2, .thumb_frame = 5}};
	struct fl_result r;
	memset(&r, 0, sizeof(r));
	r.v = 1;
	r.path = (char *)"a \"quoted\" path/é.mp4";
	r.video.width = 640;
	r.video.height = 480;
	r.video.duration = 3;
	r.video.fps = 25;
	r.params = fl_analyze_default_params();
	r.params.threads = 2;
	r.n_persons = 1;
	r.persons = persons;
	r.n_tracks = 1;
	r.tracks = tracks;

	json_t *doc = write_and_validate(&r);
	ASSERT_EQ(json_integer_value(json_object_get(doc, "v")), 1);
	ASSERT(!strcmp(json_string_value(json_object_get(json_object_get(doc, "video"), "path")), r.path));
	json_t *p0 = json_array_get(json_object_get(doc, "persons"), 0);
	ASSERT(!strcmp(json_string_value(json_object_get(json_object_get(p0, "expression"), "dominant")), "happy"));
	json_t *d0 = json_array_get(json_object_get(json_array_get(json_object_get(doc, "tracks"), 0), "detections"), 0);
	/* Rounded to 0.01 px in the file. */
	ASSERT_NEAR(json_number_value(json_array_get(json_object_get(d0, "box"), 0)), 10.12, 1e-9);
	ASSERT_EQ(json_array_size(json_object_get(d0, "landmarks")), 5);

	/* The checker does catch violations. */
	json_error_t je;
	json_t *schema = json_load_file(fl_test_path("docs/result.schema.json"), 0, &je);
	ASSERT(schema);
	char msg[600];
	json_object_set_new(d0, "score", json_real(1.5));
	ASSERT(check(schema, schema, doc, "$", msg, sizeof(msg)) < 0);
	ASSERT_STR_CONTAINS(msg, "score");
	json_object_set_new(d0, "score", json_real(0.5));
	ASSERT(check(schema, schema, doc, "$", msg, sizeof(msg)) == 0);
	json_object_del(json_object_get(p0, "thumbnail"), "box");
	ASSERT(check(schema, schema, doc, "$", msg, sizeof(msg)) < 0);
	ASSERT_STR_CONTAINS(msg, "box");
	json_decref(schema);
	json_decref(doc);

	/* No persons at all is a valid result too, and uncertain is named. */
	persons[0].dominant = FL_RESULT_UNCERTAIN;
	ASSERT(!strcmp(fl_result_expression_name(FL_RESULT_UNCERTAIN), "neutral/uncertain"));
	r.n_persons = 0;
	r.n_tracks = 0;
	doc = write_and_validate(&r);
	ASSERT_EQ(json_array_size(json_object_get(doc, "persons")), 0);
	json_decref(doc);
	fl_result_destroy(NULL);
}

FL_TEST(analyze_result_write_error)
{
	struct fl_result r;
	memset(&r, 0, sizeof(r));
	r.v = 1;
	r.path = (char *)"x";
	char err[256] = "";
	ASSERT_EQ(fl_result_save_json(&r, "/nonexistent-dir/r.json", err, sizeof(err)), FL_EIO);
	ASSERT_STR_CONTAINS(err, "/nonexistent-dir/r.json");
	FILE *f = fopen("/dev/full", "w");
	if (f) {
		ASSERT_EQ(fl_result_write_json(&r, f), FL_EIO);
		fclose(f);
	}
}

/* ======================================================== the pipeline */

static char tmp_dir[256];

static void remove_tmp(void)
{
	if (tmp_dir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_dir);
	}
}

/* Skip without ffmpeg or models; make a temporary directory. */
static void setup(void)
{
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("the ffmpeg command is not installed");
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0 ||
	    access(fl_test_path("models/samples/sample6.jpg"), R_OK) != 0)
		FL_SKIP("models not installed (make models)");
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fl_analyze_XXXXXX");
	ASSERT(mkdtemp(tmp_dir) != NULL);
	atexit(remove_tmp);
}

/* A still of sample6.jpg (4 faces), 1280 wide, `secs` long at 25 fps. */
static const char *gen_still(const char *name, double secs)
{
	static char out[512];
	char cmd[1400];
	snprintf(out, sizeof(out), "%s/%s", tmp_dir, name);
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -loop 1 -i '%s' -t %g -r 25 -vf scale=1280:-2 -pix_fmt yuv420p -c:v libx264 "
	         "'%s'",
	         fl_test_path("models/samples/sample6.jpg"), secs, out);
	ASSERT_MSG(system(cmd) == 0, "ffmpeg failed: %s", cmd);
	return out;
}

static struct fl_analyze_params test_params(void)
{
	struct fl_analyze_params p = fl_analyze_default_params();
	p.models_dir = fl_test_path("models");
	p.threads = 2;
	return p;
}

struct prog {
	int calls, done, bad;
	double last;
};

static void on_progress(void *opaque, const struct fl_analyze_progress *p)
{
	struct prog *g = opaque;
	g->calls++;
	if (p->fraction < g->last - 1e-9 || p->fraction < 0 || p->fraction > 1 || !p->stage)
		g->bad++;
	g->last = p->fraction;
	if (p->stage && !strcmp(p->stage, "done"))
		g->done++;
}

FL_TEST_T(analyze_pipeline_still, 300)
{
	setup();
	const char *clip = gen_still("still.mp4", 3);
	struct fl_analyze_params p = test_params();
	struct prog g = {0};
	p.progress = on_progress;
	p.progress_opaque = &g;
	struct fl_result *r = NULL;
	char err[512];
	int rc = fl_analyze_file(clip, &p, &r, err, sizeof(err));
	ASSERT_MSG(rc == 0, "analyze failed: %d %s", rc, err);

	/* 3 s at 5 fps: 15 analysed frames of 75 decoded; four people who never
	** move, each one person with one segment over the whole clip. */
	ASSERT_EQ(r->stats.frames_decoded, 75);
	ASSERT_EQ(r->stats.frames_analysed, 15);
	ASSERT_EQ(r->n_persons, 4);
	ASSERT_EQ(r->n_tracks, 4);
	ASSERT_EQ(r->video.width, 1280);
	for (int i = 0; i < r->n_persons; i++) {
		const struct fl_result_person *pe = &r->persons[i];
		ASSERT_EQ(pe->id, i + 1);
		ASSERT_EQ(pe->n_segments, 1);
		ASSERT_NEAR(pe->first, 0.0, 1e-6);
		ASSERT_NEAR(pe->last, 2.9, 0.05);
		ASSERT_NEAR(pe->screen_time, pe->last - pe->first, 1e-6);
		ASSERT_EQ(pe->n_tracks, 1);
		float s = 0;
		for (int e = 0; e < FL_EXPRESSION_N; e++)
			s += pe->expression_mean[e];
		ASSERT_NEAR(s, 1.0, 1e-3);
	}
	for (int i = 0; i < r->n_tracks; i++) {
		const struct fl_result_track *tk = &r->tracks[i];
		ASSERT_EQ(tk->id, i + 1);
		ASSERT_EQ(tk->n_detections, 15);
		for (int k = 0; k < tk->n_detections; k++) {
			const struct fl_result_detection *d = &tk->detections[k];
			ASSERT_NEAR(d->t, 0.2 * k, 1e-3);
			ASSERT_EQ(d->frame, 5 * k);
			ASSERT(d->box[0] >= -1 && d->box[1] >= -1 && d->box[2] > 20 &&
			       d->box[0] + d->box[2] <= r->video.width + 1 && d->box[1] + d->box[3] <= r->video.height + 1);
			/* A still: the box does not move (beyond the few per cent by
			** which FaceMesh's box, on followed frames, differs from
			** BlazeFace's). */
			ASSERT_NEAR(d->box[0], tk->detections[0].box[0], 0.04 * tk->detections[0].box[2]);
			ASSERT_NEAR(d->box[2], tk->detections[0].box[2], 0.04 * tk->detections[0].box[2]);
		}
	}
	ASSERT(r->stats.peak_rss > 0);
	ASSERT(g.calls >= 15 && g.done == 1 && g.bad == 0);
	ASSERT_NEAR(g.last, 1.0, 1e-9);
	json_t *doc = write_and_validate(r);
	json_decref(doc);
	fl_result_destroy(r);
}

FL_TEST_T(analyze_pipeline_errors, 300)
{
	setup();
	struct fl_analyze_params p = test_params();
	struct fl_result *r = (struct fl_result *)&p; /* must be set to NULL */
	char err[512];
	char path[600];

	snprintf(path, sizeof(path), "%s/missing.mp4", tmp_dir);
	ASSERT_EQ(fl_analyze_file(path, &p, &r, err, sizeof(err)), FL_ENOENT);
	ASSERT(r == NULL);
	ASSERT_STR_CONTAINS(err, "missing.mp4");

	snprintf(path, sizeof(path), "%s/text.mp4", tmp_dir);
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("this is not a video\n", f);
	fclose(f);
	int rc = fl_analyze_file(path, &p, &r, err, sizeof(err));
	ASSERT_MSG(rc == FL_EDECODE || rc == FL_ECORRUPT, "text file: %d %s", rc, err);
	ASSERT_STR_CONTAINS(err, "text.mp4");

	const char *clip = gen_still("short.mp4", 1);
	struct fl_analyze_params bad = p;
	bad.fps = -1;
	ASSERT_EQ(fl_analyze_file(clip, &bad, &r, err, sizeof(err)), FL_EINVAL);
	bad = p;
	bad.models_dir = "/nonexistent-models";
	ASSERT_EQ(fl_analyze_file(clip, &bad, &r, err, sizeof(err)), FL_ENOENT);
	ASSERT(r == NULL);

	/* Canceled before the first frame. */
	volatile int cancel = 1;
	bad = p;
	bad.cancel = &cancel;
	ASSERT_EQ(fl_analyze_file(clip, &bad, &r, err, sizeof(err)), FL_ECANCELED);
	ASSERT(r == NULL);
}

/* Every frame of a 1 s clip: 25 analysed frames; nothing leaks. */
FL_TEST_T(analyze_pipeline_every_frame, 300)
{
	setup();
	const char *clip = gen_still("every.mp4", 1);
	struct fl_analyze_params p = test_params();
	p.every_frame = 1;
	long live = fl_alloc_live();
	struct fl_result *r = NULL;
	char err[512];
	int rc = fl_analyze_file(clip, &p, &r, err, sizeof(err));
	ASSERT_MSG(rc == 0, "analyze failed: %d %s", rc, err);
	ASSERT_EQ(r->stats.frames_analysed, 25);
	ASSERT_EQ(r->n_persons, 4);
	for (int i = 0; i < r->n_tracks; i++)
		ASSERT_EQ(r->tracks[i].n_detections, 25);
	/* Half a frame interval around the detections: 0 .. 0.98 s. */
	ASSERT_NEAR(r->persons[0].last, 0.98, 0.01);
	fl_result_destroy(r);
	ASSERT_EQ(fl_alloc_live(), live);
}

/* ============================================================ the CLI */

/* Run a shell command; its exit status, stdout captured into out. */
static int run_cmd(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	ASSERT(p);
	size_t got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

FL_TEST_T(analyze_cli, 300)
{
	char bin[600];
	const char *env = getenv("FL_FACELINE");
	snprintf(bin, sizeof(bin), "%s", env && *env ? env : fl_test_path("build/faceline"));
	if (access(bin, X_OK) != 0)
		FL_SKIP("build/faceline not built");
	setup();
	const char *clip = gen_still("cli clip é.mp4", 1);
	static char out[1 << 20];
	char cmd[2400];

	/* --json: the document on stdout, valid against the schema; -o too. */
	snprintf(cmd, sizeof(cmd), "FL_MODELS='%s' '%s' analyze '%s' --json --threads 2 -o '%s/r.json' 2>/dev/null",
	         fl_test_path("models"), bin, clip, tmp_dir);
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 0);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	ASSERT_MSG(doc, "stdout is not JSON: %s", je.text);
	ASSERT_EQ(json_array_size(json_object_get(doc, "persons")), 4);
	json_decref(doc);
	snprintf(cmd, sizeof(cmd), "%s/r.json", tmp_dir);
	doc = json_load_file(cmd, 0, &je);
	ASSERT_MSG(doc, "-o file is not JSON: %s", je.text);
	json_decref(doc);

	/* The table. */
	snprintf(cmd, sizeof(cmd), "FL_MODELS='%s' '%s' analyze '%s' --quiet 2>/dev/null", fl_test_path("models"), bin,
	         clip);
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 0);
	ASSERT_STR_CONTAINS(out, "4 persons");
	ASSERT_STR_CONTAINS(out, "screen time");

	/* Exit codes: missing 3, not a video 2, usage 1. */
	snprintf(cmd, sizeof(cmd), "'%s' analyze '%s/missing.mp4' 2>&1", bin, tmp_dir);
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 3);
	ASSERT_STR_CONTAINS(out, "missing.mp4");
	snprintf(cmd, sizeof(cmd), "'%s' analyze '%s' 2>&1", bin, fl_test_path("docs/result-format.md"));
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 2);
	ASSERT_STR_CONTAINS(out, "result-format.md");
	snprintf(cmd, sizeof(cmd), "'%s' analyze '%s' --fps x 2>&1", bin, clip);
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 1);
	snprintf(cmd, sizeof(cmd), "'%s' analyze 2>&1", bin);
	ASSERT_EQ(run_cmd(cmd, out, sizeof(out)), 1);
}
