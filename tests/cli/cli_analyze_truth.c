/*
** cli_analyze_truth.c -- end-to-end tests of `faceline analyze` on real faces
** with known truth (issue 3).  tests/data/make_clip.py composes clips at test
** time from dlib's johns photos and face-api's group photos (person A, then
** B, both, nobody, A again from another photo growing; and a five-person
** variant with a group-photo crop) and writes the true face box of every face
** at every frame next to each clip.  The tests run the built command on them
** and check: the number of persons, a one-to-one map from true to reported
** persons, time-IoU of each person's segments >= 0.9, nobody reported in
** empty stretches, >= 95 % of true boxes at analysed frames found (IoU >=
** 0.5); and on bad inputs the documented exit code, a message naming the
** file, a damaged middle still analysed and counted in stats.  The measured
** numbers are printed.  Skipped when the command (or its analyze
** subcommand), the models, the photos, python3 or ffmpeg are absent.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Limit for one command (a hang is a failure, not a stuck suite). */
#define CMD_TIMEOUT_S 240

/* ------------------------------------------------------------------ setup */

static char g_bin[PATH_MAX], g_root[PATH_MAX], g_models[PATH_MAX];

/* Run a shell command; its stdout+stderr into *out (malloc'd); the exit code,
** or -1 when it was killed by a signal. */
static int run_cmd(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_cmd(char **out, const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	ASSERT(p);
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap);
	ASSERT(buf);
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (cap - n < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			ASSERT(buf);
		}
	}
	buf[n] = 0;
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Find the command, the models and the tools, or skip. */
static void setup(void)
{
	const char *env = getenv("FL_FACELINE");
	snprintf(g_bin, sizeof(g_bin), "%s", env && *env ? env : fl_test_path("build/faceline"));
	snprintf(g_root, sizeof(g_root), "%s", fl_test_root());
	snprintf(g_models, sizeof(g_models), "%s", fl_test_path("models"));
	if (access(g_bin, X_OK) != 0)
		FL_SKIP("build/faceline not built");
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not fetched (make models)");
	if (access(fl_test_path("testdata/dlib/johns/John_Simm"), R_OK) != 0)
		FL_SKIP("dlib photos not fetched (tools/fetch-testdata.sh)");
	if (run_cmd(NULL, "python3 -c pass >/dev/null 2>&1") != 0 ||
	    run_cmd(NULL, "ffmpeg -hide_banner -version >/dev/null 2>&1") != 0)
		FL_SKIP("python3 or ffmpeg missing");
	char *out;
	int rc = run_cmd(&out, "'%s' analyze --help 2>&1", g_bin);
	int missing = strstr(out, "unknown command") != NULL || (rc != 0 && !strstr(out, "analyze"));
	free(out);
	if (missing)
		FL_SKIP("faceline analyze not available yet");
}

/* Make a temporary directory and a clip (or the bad inputs) in it. */
static void make(const char *what, char *dir, size_t dir_size)
{
	snprintf(dir, dir_size, "/tmp/fl-analyze-%s.XXXXXX", what);
	ASSERT(mkdtemp(dir));
	char *out;
	int rc = run_cmd(&out,
	                 "cd '%s' && FL_ROOT='%s' FL_FACELINE='%s' FL_MODELS='%s' "
	                 "timeout -k 5 %d python3 tests/data/make_clip.py %s '%s' 2>&1",
	                 g_root, g_root, g_bin, g_models, CMD_TIMEOUT_S, what, dir);
	ASSERT_MSG(rc == 0, "make_clip.py %s: exit %d:\n%s", what, rc, out);
	free(out);
}

static void rm_dir(const char *dir)
{
	if (!getenv("FL_KEEP"))
		run_cmd(NULL, "rm -rf '%s'", dir);
	else
		printf("kept %s\n", dir);
}

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	ASSERT_MSG(j, "%s: %s (line %d)", path, e.text, e.line);
	return j;
}

static double num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ASSERT_MSG(json_is_number(v), "\"%s\" is not a number", key);
	return json_number_value(v);
}

static void get_box(const json_t *a, double b[4])
{
	ASSERT(json_is_array(a) && json_array_size(a) == 4);
	for (int i = 0; i < 4; i++)
		b[i] = json_number_value(json_array_get(a, i));
}

static double box_iou(const double *a, const double *b)
{
	double ix = fmin(a[0] + a[2], b[0] + b[2]) - fmax(a[0], b[0]);
	double iy = fmin(a[1] + a[3], b[1] + b[3]) - fmax(a[1], b[1]);
	double i = ix > 0 && iy > 0 ? ix * iy : 0;
	double u = a[2] * a[3] + b[2] * b[3] - i;
	return u > 0 ? i / u : 0;
}

/* -------------------------------------------------------------- intervals */

#define MAX_SEG 64

struct segs {
	int n;
	double a[MAX_SEG], b[MAX_SEG];
};

static double segs_len(const struct segs *s)
{
	double l = 0;
	for (int i = 0; i < s->n; i++)
		l += s->b[i] - s->a[i];
	return l;
}

/* Overlap of two lists of disjoint intervals. */
static double segs_inter(const struct segs *x, const struct segs *y)
{
	double l = 0;
	for (int i = 0; i < x->n; i++)
		for (int j = 0; j < y->n; j++) {
			double o = fmin(x->b[i], y->b[j]) - fmax(x->a[i], y->a[j]);
			if (o > 0)
				l += o;
		}
	return l;
}

static void segs_print(const struct segs *s, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < s->n && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%.2f-%.2f", i ? " " : "", s->a[i], s->b[i]);
}

/* ------------------------------------------------------------- evaluation */

#define MAX_P 16

/*
** Check a result against a truth file; print the measured numbers.  Every
** assertion of the issue is evaluated and reported before the test fails, so
** one run says all that is wrong.
*/
static void evaluate(const char *clip, const char *truth_path, const char *result_path, const char *dir)
{
	json_t *truth = load_json(truth_path), *res = load_json(result_path);
	char failures[8192] = "";
	size_t fl = 0;
#define FAILF(...) (fl += (size_t)snprintf(failures + fl, fl < sizeof(failures) ? sizeof(failures) - fl : 0, __VA_ARGS__))

	/* The result's frame: the contract's fields. */
	ASSERT_EQ(num(res, "v"), 1);
	json_t *video = json_object_get(res, "video");
	ASSERT(json_is_object(video));
	ASSERT_EQ(num(video, "width"), num(truth, "width"));
	ASSERT_EQ(num(video, "height"), num(truth, "height"));
	ASSERT_NEAR(num(video, "fps"), num(truth, "fps"), 0.01);
	ASSERT_NEAR(num(video, "duration"), num(truth, "duration"), 0.1);
	ASSERT_NEAR(num(video, "frames"), num(truth, "frames"), 1);
	ASSERT_EQ(num(video, "rotation"), 0);
	ASSERT(json_is_string(json_object_get(video, "path")));
	ASSERT(json_object_get(res, "models") && json_object_get(res, "stats"));
	json_t *params = json_object_get(res, "params");
	double afps = params && json_is_number(json_object_get(params, "fps")) ? num(params, "fps") : 5.0;
	double vfps = num(truth, "fps");
	int step = (int)lround(vfps / afps);
	if (step < 1 || (params && json_is_true(json_object_get(params, "every_frame"))))
		step = 1;

	/* Truth persons. */
	json_t *tp = json_object_get(truth, "persons");
	int ntp = (int)json_array_size(tp);
	ASSERT(ntp > 0 && ntp <= MAX_P);
	const char *tname[MAX_P];
	struct segs tseg[MAX_P];
	for (int i = 0; i < ntp; i++) {
		json_t *p = json_array_get(tp, (size_t)i);
		tname[i] = json_string_value(json_object_get(p, "name"));
		json_t *s = json_object_get(p, "segments");
		tseg[i].n = (int)json_array_size(s);
		ASSERT(tseg[i].n <= MAX_SEG);
		for (int k = 0; k < tseg[i].n; k++) {
			tseg[i].a[k] = json_number_value(json_array_get(json_array_get(s, (size_t)k), 0));
			tseg[i].b[k] = json_number_value(json_array_get(json_array_get(s, (size_t)k), 1));
		}
	}

	/* Result persons (ids) and their segments. */
	json_t *rp = json_object_get(res, "persons");
	ASSERT(json_is_array(rp));
	int nrp = (int)json_array_size(rp);
	long rid[MAX_P];
	struct segs rseg[MAX_P];
	int nrp_kept = nrp < MAX_P ? nrp : MAX_P;
	for (int i = 0; i < nrp_kept; i++) {
		json_t *p = json_array_get(rp, (size_t)i);
		rid[i] = (long)num(p, "id");
		json_t *s = json_object_get(p, "segments");
		ASSERT(json_is_array(s));
		rseg[i].n = (int)json_array_size(s) < MAX_SEG ? (int)json_array_size(s) : MAX_SEG;
		for (int k = 0; k < rseg[i].n; k++) {
			rseg[i].a[k] = num(json_array_get(s, (size_t)k), "start");
			rseg[i].b[k] = num(json_array_get(s, (size_t)k), "end");
		}
		ASSERT(json_is_array(json_object_get(p, "tracks")));
		ASSERT(json_is_object(json_object_get(p, "expression")));
	}
	printf("%s: %d persons reported, %d true\n", clip, nrp, ntp);
	if (nrp != ntp)
		FAILF("%d persons reported, %d true\n", nrp, ntp);

	/* All result detections, flattened: frame, time, box, person index. */
	json_t *tracks = json_object_get(res, "tracks");
	ASSERT(json_is_array(tracks));
	size_t ndet = 0;
	for (size_t i = 0; i < json_array_size(tracks); i++)
		ndet += json_array_size(json_object_get(json_array_get(tracks, i), "detections"));
	struct det {
		long frame;
		double t, box[4];
		int person; /* index into rp, -1 if none */
		int used;
	} *det = calloc(ndet + 1, sizeof(*det));
	ASSERT(det);
	size_t nd = 0;
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		json_t *tr = json_array_get(tracks, i);
		long person = (long)num(tr, "person");
		int pi = -1;
		for (int k = 0; k < nrp_kept; k++)
			if (rid[k] == person)
				pi = k;
		json_t *ds = json_object_get(tr, "detections");
		for (size_t k = 0; k < json_array_size(ds); k++, nd++) {
			json_t *d = json_array_get(ds, k);
			det[nd].t = num(d, "t");
			json_t *fr = json_object_get(d, "frame");
			det[nd].frame = json_is_number(fr) ? (long)json_number_value(fr) : lround(det[nd].t * vfps);
			get_box(json_object_get(d, "box"), det[nd].box);
			det[nd].person = pi;
		}
	}

	/* Box recall at analysed frames, and who got each true face. */
	json_t *faces = json_object_get(truth, "faces");
	int hits[MAX_P][MAX_P + 1] = {{0}}; /* [true][result], last column: a box of no person */
	int want[MAX_P] = {0}, found[MAX_P] = {0};
	int total = 0, matched = 0;
	double iou_sum = 0;
	for (size_t i = 0; i < json_array_size(faces); i++) {
		json_t *f = json_array_get(faces, i);
		long n = (long)num(f, "n");
		if (n % step)
			continue;
		const char *who = json_string_value(json_object_get(f, "person"));
		int ti = 0;
		while (ti < ntp && strcmp(tname[ti], who))
			ti++;
		ASSERT(ti < ntp);
		double tb[4], best = 0;
		get_box(json_object_get(f, "box"), tb);
		long bi = -1;
		for (size_t k = 0; k < nd; k++)
			if (det[k].frame == n || fabs(det[k].t - (double)n / vfps) < 0.5 / vfps) {
				double v = box_iou(tb, det[k].box);
				if (v > best && !det[k].used) {
					best = v;
					bi = (long)k;
				}
			}
		total++;
		want[ti]++;
		if (best >= 0.5) {
			matched++;
			found[ti]++;
			iou_sum += best;
			det[bi].used = 1;
			hits[ti][det[bi].person >= 0 ? det[bi].person : MAX_P]++;
		}
	}
	double recall = total ? (double)matched / total : 0;
	printf("%s: box recall %d/%d = %.3f (mean IoU of matches %.3f), %zu detections\n", clip, matched, total,
	       recall, matched ? iou_sum / matched : 0, nd);
	if (recall < 0.95)
		FAILF("box recall %.3f < 0.95\n", recall);

	/* Map each true person to the result person that holds most of its boxes. */
	int map[MAX_P];
	for (int i = 0; i < ntp; i++) {
		map[i] = -1;
		int best = 0;
		for (int k = 0; k < nrp_kept; k++)
			if (hits[i][k] > best) {
				best = hits[i][k];
				map[i] = k;
			}
		char ts[512], rs[512] = "-";
		segs_print(&tseg[i], ts, sizeof(ts));
		if (map[i] < 0) {
			printf("  %s: boxes %d/%d, no result person (truth %s)\n", tname[i], found[i], want[i], ts);
			FAILF("%s: maps to no result person\n", tname[i]);
			continue;
		}
		struct segs *r = &rseg[map[i]];
		segs_print(r, rs, sizeof(rs));
		double inter = segs_inter(&tseg[i], r);
		double tiou = inter / (segs_len(&tseg[i]) + segs_len(r) - inter);
		double purity = found[i] ? (double)hits[i][map[i]] / found[i] : 0;
		printf("  %s -> person %ld: time-IoU %.3f, boxes %d/%d (recall %.3f), %.3f of them in this person; "
		       "truth %s, result %s\n",
		       tname[i], rid[map[i]], tiou, found[i], want[i], want[i] ? (double)found[i] / want[i] : 0,
		       purity, ts, rs);
		if (tiou < 0.9)
			FAILF("%s (person %ld): time-IoU %.3f < 0.9 (truth %s, result %s)\n", tname[i], rid[map[i]], tiou, ts,
			      rs);
		if (purity < 0.95)
			FAILF("%s: split over several result persons (%.3f in person %ld)\n", tname[i], purity,
			      rid[map[i]]);
		for (int j = 0; j < i; j++)
			if (map[j] == map[i])
				FAILF("%s and %s both map to person %ld\n", tname[j], tname[i], rid[map[i]]);
	}

	/* Nobody in the empty stretches: no detection at a frame inside one, and
	** segments reach into one by at most an analysis interval. */
	json_t *empty = json_object_get(truth, "empty");
	for (size_t i = 0; i < json_array_size(empty); i++) {
		double a = json_number_value(json_array_get(json_array_get(empty, i), 0));
		double b = json_number_value(json_array_get(json_array_get(empty, i), 1));
		int in = 0;
		for (size_t k = 0; k < nd; k++)
			if (det[k].t >= a - 0.25 / vfps && det[k].t < b - 0.25 / vfps)
				in++;
		struct segs e = {1, {a}, {b}};
		double over = 0; /* the most any one person's segments reach into it */
		for (int k = 0; k < nrp_kept; k++)
			over = fmax(over, segs_inter(&rseg[k], &e));
		printf("  empty %.2f-%.2f: %d detections, segments reach %.2f s into it\n", a, b, in, over);
		if (in)
			FAILF("%d detections in the empty stretch %.2f-%.2f\n", in, a, b);
		if (over > 1.0 / afps + 1e-6)
			FAILF("segments reach %.2f s into the empty stretch %.2f-%.2f\n", over, a, b);
	}
	free(det);
	json_decref(truth);
	json_decref(res);
	rm_dir(dir);
	ASSERT_MSG(!failures[0], "%s:\n%s", clip, failures);
#undef FAILF
}

/* Make clip `what`, analyse it with `args`, and evaluate. */
static void run_clip(const char *what, const char *args)
{
	setup();
	char dir[PATH_MAX], clip[PATH_MAX + 32], truth[PATH_MAX + 32], result[PATH_MAX + 32];
	make(what, dir, sizeof(dir));
	snprintf(clip, sizeof(clip), "%s/%s.mp4", dir, what);
	snprintf(truth, sizeof(truth), "%s/%s.truth.json", dir, what);
	snprintf(result, sizeof(result), "%s/%s.json", dir, what);
	char *out;
	int rc = run_cmd(&out, "FL_MODELS='%s' timeout -k 5 %d '%s' analyze '%s' -o '%s' %s --quiet 2>&1", g_models,
	                 CMD_TIMEOUT_S, g_bin, clip, result, args);
	ASSERT_MSG(rc != 124 && rc != 137, "analyze %s: timed out after %d s", clip, CMD_TIMEOUT_S);
	ASSERT_MSG(rc == 0, "analyze %s: exit %d:\n%s", clip, rc, out);
	printf("%s", out);
	free(out);
	evaluate(what, truth, result, dir); /* removes dir */
}

/* A, B, A+B, nobody, A again from another photo, growing. */
FL_TEST_T(cli_analyze_truth_clip1, 600)
{
	run_clip("clip1", "--fps 5");
}

/* The same at every frame: boxes at all 425 frames, segments to the frame. */
FL_TEST_T(cli_analyze_truth_clip1_every_frame, 600)
{
	run_clip("clip1", "--every-frame");
}

/* Three people overlapping, nobody, two faces of a group photo, the first
** again from another photo. */
FL_TEST_T(cli_analyze_truth_clip2, 600)
{
	run_clip("clip2", "--fps 5");
}

/* --------------------------------------------------------------- bad input */

/* Any number > 0 under a stats key that names damage. */
static int stats_damage(const json_t *stats)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)stats, k, v)
	{
		if ((strstr(k, "corrupt") || strstr(k, "damage")) && json_is_number(v) && json_number_value(v) > 0)
			return 1;
	}
	return 0;
}

/* Does the command's output say the file is damaged or cut short? */
static int said_damage(const char *out)
{
	static const char *words[] = {"trunc", "damage", "corrupt", "incomplete", "cut short", "ended early",
	                              "Trunc", "Damage", "Corrupt", "Incomplete"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(out, words[i]))
			return 1;
	return 0;
}

FL_TEST_T(cli_analyze_truth_bad_inputs, 600)
{
	setup();
	char dir[PATH_MAX], spec[PATH_MAX + 32];
	make("bad", dir, sizeof(dir));
	snprintf(spec, sizeof(spec), "%s/bad.json", dir);
	json_t *codes = load_json(spec);
	char failures[8192] = "";
	size_t fl = 0;
	const char *name;
	json_t *want;
	json_object_foreach(codes, name, want)
	{
		char path[2 * PATH_MAX], result[PATH_MAX + 32], *out;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(result, sizeof(result), "%s/out.json", dir);
		unlink(result);
		int expect = (int)json_integer_value(want);
		/* the cut file is analysed up to the cut, with a warning (not --quiet) */
		int cut = !strcmp(name, "cut_mid_data.mp4");
		int rc = run_cmd(&out, "FL_MODELS='%s' timeout -k 5 %d '%s' analyze '%s' -o '%s' %s 2>&1", g_models,
		                 CMD_TIMEOUT_S, g_bin, path, result, cut ? "" : "--quiet");
		/* the message names the file (its last path component at least) */
		const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		char line[256];
		snprintf(line, sizeof(line), "%.200s", out);
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		printf("  %-40s exit %d (want %d): %s\n", name, rc, expect, line);
		if (rc == 124 || rc == 137 || rc < 0)
			fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: hung or crashed (%d)\n", name, rc);
		else if (rc != expect)
			fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: exit %d, want %d: %s\n", name, rc,
			                       expect, out);
		else if (rc != 0 && !strstr(out, base))
			fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: message does not name the file: %s\n",
			                       name, out);
		else if (rc == 0) {
			json_error_t e;
			json_t *r = json_load_file(result, 0, &e);
			json_t *stats = r ? json_object_get(r, "stats") : NULL;
			json_t *an = stats ? json_object_get(stats, "frames_analysed") : NULL;
			const char *vp = r ? json_string_value(json_object_get(json_object_get(r, "video"), "path")) : NULL;
			if (!r || !stats)
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: no result JSON\n", name);
			else if (json_is_number(an) && json_number_value(an) < 5)
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: only %g frames analysed\n",
				                       name, json_number_value(an));
			else if (!strcmp(name, "corrupt_middle.mp4") && !stats_damage(stats))
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: damage not counted in stats\n",
				                       name);
			else if (cut && !stats_damage(stats) && !said_damage(out))
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl,
				                       "%s: analysed up to the cut with no message and no damage in stats: %s\n",
				                       name, out);
			else if (strchr(name, '/') && (!vp || !strstr(vp, base)))
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, "%s: video.path is %s\n", name,
				                       vp ? vp : "(none)");
			if (stats) { /* (not json_dumps: libfaceline routes jansson's allocations through fl_malloc) */
				const char *k;
				json_t *v;
				printf("    stats");
				json_object_foreach(stats, k, v)
				{
					if (json_is_number(v))
						printf(" %s %g", k, json_number_value(v));
				}
				printf("\n");
			}
			json_decref(r);
		}
		free(out);
	}
	json_decref(codes);
	rm_dir(dir);
	ASSERT_MSG(!failures[0], "bad inputs:\n%s", failures);
}

/* The generator alone: its truth boxes against `faceline detect` on frames
** extracted from the clip (runs without the analyze command). */
FL_TEST_T(cli_analyze_truth_generator, 600)
{
	const char *env = getenv("FL_FACELINE");
	snprintf(g_bin, sizeof(g_bin), "%s", env && *env ? env : fl_test_path("build/faceline"));
	snprintf(g_root, sizeof(g_root), "%s", fl_test_root());
	snprintf(g_models, sizeof(g_models), "%s", fl_test_path("models"));
	if (access(g_bin, X_OK) != 0 || access(fl_test_path("models/human/blazeface.json"), R_OK) != 0 ||
	    access(fl_test_path("testdata/dlib/johns/John_Simm"), R_OK) != 0)
		FL_SKIP("faceline, models or dlib photos missing");
	if (run_cmd(NULL, "python3 -c pass >/dev/null 2>&1") != 0 ||
	    run_cmd(NULL, "ffmpeg -hide_banner -version >/dev/null 2>&1") != 0)
		FL_SKIP("python3 or ffmpeg missing");
	char dir[PATH_MAX], *out;
	make("clip1", dir, sizeof(dir));
	int rc = run_cmd(&out,
	                 "cd '%s' && FL_ROOT='%s' FL_FACELINE='%s' FL_MODELS='%s' "
	                 "timeout -k 5 %d python3 tests/data/make_clip.py check '%s/clip1.mp4' 10 2>&1",
	                 g_root, g_root, g_bin, g_models, CMD_TIMEOUT_S, dir);
	printf("%s", out);
	ASSERT_MSG(rc == 0, "truth vs detect: exit %d:\n%s", rc, out);
	free(out);
	rm_dir(dir);
}
