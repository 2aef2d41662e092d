/*
** render_text.c -- tests of the text outputs of src/render and of reading
** results back: fl_result_load_json (a real result from the fuzz corpus,
** damaged and other-version variants of it, allocation failures, and an
** analyse -> save -> load -> save round trip on a generated clip),
** WebVTT/SubRip cues and the detections CSV checked against the result
** they came from, and the failure paths every writer shares: an output
** folder that does not exist or is a file, and a full disk (a tiny tmpfs,
** as root) -- an error, and no file under the final name nor a temporary
** one left behind.
*/
#include "fl_test.h"
#include "faceline/fl_analyze.h"
#include "faceline/fl_render.h"

#include <dirent.h>
#include <jansson.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The real result (two people, three segments) the fuzz corpus seeds with. */
#define CORPUS "tests/fuzz/corpus/result/two.json"

static char tmp_dir[256];

static void remove_tmp(void)
{
	if (tmp_dir[0]) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_dir);
	}
}

static void make_tmp(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fl_render_text_XXXXXX");
	ASSERT(mkdtemp(tmp_dir) != NULL);
	atexit(remove_tmp);
}

static const char *tmp_path(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp_dir, name);
	return buf[k];
}

static struct fl_result *load_corpus(void)
{
	struct fl_result *r = NULL;
	char err[512] = "";
	int rc = fl_result_load_json(fl_test_path(CORPUS), &r, err, sizeof(err));
	ASSERT_MSG(rc == 0 && r, "loading %s: %d %s", CORPUS, rc, err);
	return r;
}

static char *read_text(const char *path)
{
	size_t n = 0;
	char *s = fl_test_read_file(path, &n);
	ASSERT_MSG(s != NULL, "%s was not written", path);
	return s;
}

/* Entries in dir other than . and .. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ASSERT(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs(s, f);
	ASSERT(fclose(f) == 0);
}

/* ================================================================ load */

FL_TEST(render_text_load)
{
	make_tmp();
	long live = fl_alloc_live();
	struct fl_result *r = load_corpus();
	json_error_t je;
	json_t *doc = json_load_file(fl_test_path(CORPUS), 0, &je);
	ASSERT(doc);
	json_t *persons = json_object_get(doc, "persons"), *tracks = json_object_get(doc, "tracks");
	ASSERT_EQ(r->v, 1);
	ASSERT_STR_CONTAINS(r->path, "two.mp4");
	ASSERT_EQ(r->video.width, json_integer_value(json_object_get(json_object_get(doc, "video"), "width")));
	ASSERT_EQ(r->video.height, 270);
	ASSERT_NEAR(r->video.duration, 5.0, 1e-9);
	ASSERT_EQ(r->n_persons, (int)json_array_size(persons));
	ASSERT_EQ(r->n_tracks, (int)json_array_size(tracks));
	ASSERT(r->n_persons == 2);
	int64_t dets = 0;
	for (int i = 0; i < r->n_tracks; i++) {
		json_t *t = json_array_get(tracks, (size_t)i);
		ASSERT_EQ(r->tracks[i].id, json_integer_value(json_object_get(t, "id")));
		ASSERT_EQ(r->tracks[i].n_detections, (int)json_array_size(json_object_get(t, "detections")));
		json_t *d0 = json_array_get(json_object_get(t, "detections"), 0);
		ASSERT_NEAR(r->tracks[i].detections[0].box[2],
		            json_number_value(json_array_get(json_object_get(d0, "box"), 2)), 1e-4);
		ASSERT_NEAR(r->tracks[i].detections[0].expression[FL_EXPRESSION_HAPPY],
		            json_number_value(json_object_get(json_object_get(d0, "expression"), "happy")), 1e-6);
		dets += r->tracks[i].n_detections;
	}
	ASSERT_EQ(dets, r->stats.detections);
	for (int i = 0; i < r->n_persons; i++) {
		json_t *p = json_array_get(persons, (size_t)i);
		ASSERT_EQ(r->persons[i].n_segments, (int)json_array_size(json_object_get(p, "segments")));
		const char *dom = json_string_value(json_object_get(json_object_get(p, "expression"), "dominant"));
		ASSERT(!strcmp(fl_result_expression_name(r->persons[i].dominant), dom));
	}
	/* The params' folder is owned by the result and pointed at. */
	ASSERT(r->params.models_dir == r->models_dir && !strcmp(r->models_dir, "models"));
	json_decref(doc);

	/* Save -> load -> save: the same text. */
	char err[512];
	ASSERT_OK(fl_result_save_json(r, tmp_path("a.json"), err, sizeof(err)));
	struct fl_result *r2 = NULL;
	ASSERT_OK(fl_result_load_json(tmp_path("a.json"), &r2, err, sizeof(err)));
	ASSERT_OK(fl_result_save_json(r2, tmp_path("b.json"), err, sizeof(err)));
	char *a = read_text(tmp_path("a.json")), *b = read_text(tmp_path("b.json"));
	ASSERT_MSG(!strcmp(a, b), "save(load(save)) differs from save");
	free(a);
	free(b);
	fl_result_destroy(r);
	fl_result_destroy(r2);
	ASSERT_EQ(fl_alloc_live(), live);
}

/* Every allocation failing in turn: a clean error, nothing leaked. */
FL_TEST(render_text_load_faults)
{
	long live = fl_alloc_live();
	char err[512];
	int n, ok = 0;
	for (n = 1; n < 5000 && !ok; n++) {
		struct fl_result *r = (struct fl_result *)&n;
		fl_alloc_fail_after(n, 0);
		int rc = fl_result_load_json(fl_test_path(CORPUS), &r, err, sizeof(err));
		int failed = fl_alloc_fail_after(0, 0);
		if (rc == 0) {
			ASSERT(r != NULL);
			fl_result_destroy(r);
			ok = failed == 0;
			continue;
		}
		/* jansson reports some of its failed allocations as syntax errors
		** (its lexer gives up on the token): a clean error either way. */
		ASSERT_MSG(rc == FL_ENOMEM || rc == FL_ECORRUPT, "allocation %d failing gave %d (%s)", n, rc, err);
		ASSERT(r == NULL);
		ASSERT_EQ(fl_alloc_live(), live);
	}
	ASSERT_MSG(ok, "still failing after %d allocations", n);
	ASSERT_EQ(fl_alloc_live(), live);
}

/* Load `text` as a file; expect FL_ECORRUPT and a message with the file's
** name and each of the given words (the field). */
static void expect_corrupt(const char *name, const char *text, const char *w1, const char *w2)
{
	const char *path = tmp_path(name);
	write_text(path, text);
	struct fl_result *r = (struct fl_result *)&path;
	char err[512] = "";
	int rc = fl_result_load_json(path, &r, err, sizeof(err));
	ASSERT_MSG(rc == FL_ECORRUPT, "%s: %d (%s), expected FL_ECORRUPT", name, rc, err);
	ASSERT(r == NULL);
	ASSERT_STR_CONTAINS(err, name);
	if (w1)
		ASSERT_STR_CONTAINS(err, w1);
	if (w2)
		ASSERT_STR_CONTAINS(err, w2);
}

/* The corpus result with one change made through jansson, as text. */
static char *variant(void (*edit)(json_t *doc))
{
	json_error_t je;
	json_t *doc = json_load_file(fl_test_path(CORPUS), 0, &je);
	ASSERT(doc);
	edit(doc);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	ASSERT(s);
	return s;
}

static json_t *person0(json_t *doc)
{
	return json_array_get(json_object_get(doc, "persons"), 0);
}
static void ed_v2(json_t *doc)
{
	json_object_set_new(doc, "v", json_integer(2));
}
static void ed_width_string(json_t *doc)
{
	json_object_set_new(json_object_get(doc, "video"), "width", json_string("480"));
}
static void ed_no_persons(json_t *doc)
{
	json_object_del(doc, "persons");
}
static void ed_seg_end(json_t *doc)
{
	json_t *seg = json_array_get(json_object_get(person0(doc), "segments"), 1);
	json_object_set_new(seg, "end", json_string("4.9"));
}
static void ed_dominant(json_t *doc)
{
	json_object_set_new(json_object_get(person0(doc), "expression"), "dominant", json_string("bored"));
}
static void ed_track_person(json_t *doc)
{
	json_object_set_new(json_array_get(json_object_get(doc, "tracks"), 1), "person", json_integer(7));
}
static void ed_landmarks(json_t *doc)
{
	json_t *d = json_array_get(json_object_get(json_array_get(json_object_get(doc, "tracks"), 0), "detections"), 3);
	json_array_remove(json_object_get(d, "landmarks"), 4);
}
static void ed_prob(json_t *doc)
{
	json_t *d = json_array_get(json_object_get(json_array_get(json_object_get(doc, "tracks"), 0), "detections"), 2);
	json_object_set_new(json_object_get(d, "expression"), "sad", json_real(1.5));
}
static void ed_unknown_key(json_t *doc)
{
	json_object_set_new(doc, "comment", json_string("later minor revisions may add keys"));
	json_object_set_new(person0(doc), "nickname", json_string("A"));
}

FL_TEST(render_text_load_bad)
{
	make_tmp();
	char *s;
	/* Another version. */
	s = variant(ed_v2);
	expect_corrupt("v2.json", s, "field v", "version 2");
	free(s);
	/* Cut in the middle: JSON position named. */
	char *full = read_text(fl_test_path(CORPUS));
	full[strlen(full) / 2] = '\0';
	expect_corrupt("truncated.json", full, "line", "column");
	free(full);
	expect_corrupt("empty.json", "", "line", NULL);
	expect_corrupt("text.json", "this is not JSON\n", "invalid JSON", NULL);
	expect_corrupt("array.json", "[1, 2]\n", "expected an object", NULL);
	/* Fields of the wrong type, missing, out of range, dangling. */
	s = variant(ed_width_string);
	expect_corrupt("width.json", s, "video.width", "expected an integer");
	free(s);
	s = variant(ed_no_persons);
	expect_corrupt("nopersons.json", s, "persons", "missing");
	free(s);
	s = variant(ed_seg_end);
	expect_corrupt("segend.json", s, "persons[0].segments[1].end", "expected a number");
	free(s);
	s = variant(ed_dominant);
	expect_corrupt("dominant.json", s, "persons[0].expression.dominant", "bored");
	free(s);
	s = variant(ed_track_person);
	expect_corrupt("dangling.json", s, "tracks[1].person", "7");
	free(s);
	s = variant(ed_landmarks);
	expect_corrupt("landmarks.json", s, "tracks[0].detections[3].landmarks", "5 points");
	free(s);
	s = variant(ed_prob);
	expect_corrupt("prob.json", s, "tracks[0].detections[2].expression.sad", "1.5");
	free(s);
	expect_corrupt("dup.json", "{\"v\": 1, \"v\": 1}", "duplicate", NULL);

	/* Unknown keys are ignored (format rule), a missing file is FL_ENOENT. */
	s = variant(ed_unknown_key);
	write_text(tmp_path("extra.json"), s);
	free(s);
	struct fl_result *r = NULL;
	char err[512];
	ASSERT_OK(fl_result_load_json(tmp_path("extra.json"), &r, err, sizeof(err)));
	ASSERT_EQ(r->n_persons, 2);
	fl_result_destroy(r);
	ASSERT_EQ(fl_result_load_json(tmp_path("missing.json"), &r, err, sizeof(err)), FL_ENOENT);
	ASSERT(r == NULL);
	ASSERT_STR_CONTAINS(err, "missing.json");
}

/* ================================================================ cues */

struct want_cue {
	int64_t a, b; /* ms */
	int person;
};

static int want_cmp(const void *x, const void *y)
{
	const struct want_cue *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->person - q->person;
}

/* "HH:MM:SS<sep>mmm" exactly. */
static int ts_ok(const char *s, char sep)
{
	static const char pat[] = "dd:dd:dd.ddd";
	for (int i = 0; pat[i]; i++) {
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != (pat[i] == '.' ? sep : pat[i]))
			return 0;
	}
	return 1;
}

static int64_t ts_ms(const char *s)
{
	int h, m, sec, ms;
	ASSERT(sscanf(s, "%d:%d:%d%*c%d", &h, &m, &sec, &ms) == 4);
	return ((int64_t)h * 3600 + m * 60 + sec) * 1000 + ms;
}

/* Parse the cues of a VTT (srt = 0) or SRT file and compare with r. */
static void check_cues(const struct fl_result *r, const char *path, int srt)
{
	struct want_cue want[256];
	int n = 0;
	for (int i = 0; i < r->n_persons; i++)
		for (int k = 0; k < r->persons[i].n_segments; k++) {
			ASSERT(n < 256);
			want[n++] = (struct want_cue){llround(r->persons[i].segments[k].start * 1000),
			                              llround(r->persons[i].segments[k].end * 1000), r->persons[i].id};
		}
	qsort(want, (size_t)n, sizeof(want[0]), want_cmp);

	char *text = read_text(path), *save = NULL;
	char *line = strtok_r(text, "\n", &save);
	if (!srt) {
		ASSERT_MSG(line && !strcmp(line, "WEBVTT"), "%s does not start with WEBVTT", path);
		line = strtok_r(NULL, "\n", &save);
	}
	int got = 0;
	int64_t last = -1;
	while (line) {
		ASSERT_MSG(got < n, "%s: more cues than segments (%d)", path, n);
		if (srt) { /* the cue number */
			ASSERT_EQ(atoi(line), got + 1);
			line = strtok_r(NULL, "\n", &save);
			ASSERT(line);
		}
		char sep = srt ? ',' : '.';
		ASSERT_MSG(strlen(line) == 29 && ts_ok(line, sep) && !strncmp(line + 12, " --> ", 5) && ts_ok(line + 17, sep),
		           "%s: bad timing line \"%s\"", path, line);
		int64_t a = ts_ms(line), b = ts_ms(line + 17);
		ASSERT_EQ(a, want[got].a);
		ASSERT_EQ(b, want[got].b);
		ASSERT(a >= last);
		last = a;
		char *cue = strtok_r(NULL, "\n", &save);
		ASSERT(cue);
		const struct fl_result_person *pe = NULL;
		for (int i = 0; i < r->n_persons; i++)
			if (r->persons[i].id == want[got].person)
				pe = &r->persons[i];
		char expect[64];
		if (pe->dominant >= 0)
			snprintf(expect, sizeof(expect), "Person %d \xe2\x80\x94 %s", pe->id, fl_expression_label(pe->dominant));
		else
			snprintf(expect, sizeof(expect), "Person %d", pe->id);
		ASSERT_MSG(!strcmp(cue, expect), "%s: cue %d says \"%s\", expected \"%s\"", path, got + 1, cue, expect);
		got++;
		line = strtok_r(NULL, "\n", &save);
	}
	ASSERT_EQ(got, n);
	free(text);
}

FL_TEST(render_text_vtt_srt)
{
	make_tmp();
	struct fl_result *r = load_corpus();
	char err[512];
	ASSERT_OK(fl_render_vtt(r, tmp_path("a.vtt"), err, sizeof(err)));
	ASSERT_OK(fl_render_srt(r, tmp_path("a.srt"), err, sizeof(err)));
	check_cues(r, tmp_path("a.vtt"), 0);
	check_cues(r, tmp_path("a.srt"), 1);
	/* Segments interleave across persons: the cues are sorted by start. */
	char *t = read_text(tmp_path("a.vtt"));
	ASSERT_STR_CONTAINS(t, "00:00:00.000 --> 00:00:02.500\nPerson 1 \xe2\x80\x94 happy\n\n"
	                       "00:00:01.500 --> 00:00:04.900\nPerson 2 \xe2\x80\x94 happy\n\n"
	                       "00:00:03.700 --> 00:00:04.900\nPerson 1");
	free(t);
	t = read_text(tmp_path("a.srt"));
	ASSERT_STR_CONTAINS(t, "3\n00:00:03,700 --> 00:00:04,900\nPerson 1 \xe2\x80\x94 happy\n\n");
	free(t);

	/* An uncertain person has no expression in the cue; hours count. */
	r->persons[1].dominant = FL_RESULT_UNCERTAIN;
	r->persons[1].segments[0].start = 3725.5;
	r->persons[1].segments[0].end = 3726.25;
	ASSERT_OK(fl_render_vtt(r, tmp_path("b.vtt"), err, sizeof(err)));
	ASSERT_OK(fl_render_srt(r, tmp_path("b.srt"), err, sizeof(err)));
	check_cues(r, tmp_path("b.vtt"), 0);
	check_cues(r, tmp_path("b.srt"), 1);
	t = read_text(tmp_path("b.srt"));
	ASSERT_STR_CONTAINS(t, "3\n01:02:05,500 --> 01:02:06,250\nPerson 2\n\n");
	free(t);
	fl_result_destroy(r);
}

/* ================================================================= CSV */

FL_TEST(render_text_csv)
{
	make_tmp();
	struct fl_result *r = load_corpus();
	char err[512];
	ASSERT_OK(fl_render_csv(r, tmp_path("d.csv"), err, sizeof(err)));
	char *text = read_text(tmp_path("d.csv"));
	static const char head[] = "track,person,t,frame,x,y,w,h,score,face_score,neutral,happy,sad,angry,fearful,"
	                           "disgusted,surprised\r\n";
	ASSERT_MSG(!strncmp(text, head, strlen(head)), "CSV header: %.200s", text);
	/* Every line ends in CRLF; one row per detection, sorted by time. */
	int rows = 0;
	double last_t = -1;
	char *p = text + strlen(head);
	while (*p) {
		char *end = strstr(p, "\r\n");
		ASSERT_MSG(end, "row %d does not end in CRLF", rows + 1);
		*end = '\0';
		ASSERT(!strchr(p, '\n') && !strchr(p, '"'));
		double v[17];
		int nf = 0;
		for (char *s = p;; nf++) {
			ASSERT(nf < 17);
			char *e;
			v[nf] = strtod(s, &e);
			ASSERT_MSG(e != s && (*e == ',' || *e == '\0'), "row %d field %d: \"%s\"", rows + 1, nf + 1, s);
			if (!*e) {
				nf++;
				break;
			}
			s = e + 1;
		}
		ASSERT_EQ(nf, 17);
		/* The detection it names: track id and frame. */
		const struct fl_result_track *tk = NULL;
		for (int i = 0; i < r->n_tracks; i++)
			if (r->tracks[i].id == (int)v[0])
				tk = &r->tracks[i];
		ASSERT(tk);
		ASSERT_EQ(tk->person, (int)v[1]);
		const struct fl_result_detection *d = NULL;
		for (int k = 0; k < tk->n_detections; k++)
			if (tk->detections[k].frame == (int64_t)v[3])
				d = &tk->detections[k];
		ASSERT_MSG(d, "row %d: track %d has no frame %lld", rows + 1, tk->id, (long long)v[3]);
		ASSERT_NEAR(v[2], d->t, 6e-5);
		for (int k = 0; k < 4; k++)
			ASSERT_NEAR(v[4 + k], d->box[k], 6e-3);
		ASSERT_NEAR(v[8], d->score, 6e-5);
		ASSERT_NEAR(v[9], d->face_score, 6e-5);
		double sum = 0;
		for (int e = 0; e < FL_EXPRESSION_N; e++) {
			ASSERT_NEAR(v[10 + e], d->expression[e], 6e-5);
			sum += v[10 + e];
		}
		ASSERT_NEAR(sum, 1.0, 2e-3);
		ASSERT(v[2] >= last_t);
		last_t = v[2];
		rows++;
		p = end + 2;
	}
	ASSERT_EQ(rows, r->stats.detections);
	free(text);

	/* No detections: just the header. */
	struct fl_result *e = NULL;
	ASSERT_OK(fl_result_load_json(fl_test_path("tests/fuzz/corpus/result/empty.json"), &e, err, sizeof(err)));
	ASSERT_OK(fl_render_csv(e, tmp_path("e.csv"), err, sizeof(err)));
	text = read_text(tmp_path("e.csv"));
	ASSERT(!strcmp(text, head));
	free(text);
	ASSERT_OK(fl_render_vtt(e, tmp_path("e.vtt"), err, sizeof(err)));
	text = read_text(tmp_path("e.vtt"));
	ASSERT(!strcmp(text, "WEBVTT\n\n"));
	free(text);
	fl_result_destroy(e);
	fl_result_destroy(r);
}

/* ======================================================== failure paths */

/* Every text writer and the report to `out` fail with `code`; err names out. */
static void expect_write_fails(const struct fl_result *r, const char *out, int code)
{
	char err[512];
	int rc;
	rc = fl_render_vtt(r, out, err, sizeof(err));
	ASSERT_MSG(rc == code, "vtt to %s: %d (%s)", out, rc, err);
	ASSERT_STR_CONTAINS(err, out);
	rc = fl_render_srt(r, out, err, sizeof(err));
	ASSERT_MSG(rc == code, "srt to %s: %d (%s)", out, rc, err);
	rc = fl_render_csv(r, out, err, sizeof(err));
	ASSERT_MSG(rc == code, "csv to %s: %d (%s)", out, rc, err);
	rc = fl_render_report(r, NULL, out, NULL, err, sizeof(err));
	ASSERT_MSG(rc == code, "report to %s: %d (%s)", out, rc, err);
	ASSERT_STR_CONTAINS(err, out);
	ASSERT(access(out, F_OK) != 0);
}

FL_TEST(render_text_unwritable)
{
	make_tmp();
	struct fl_result *r = load_corpus();
	expect_write_fails(r, tmp_path("no-such-dir/out.txt"), FL_ENOENT);
	write_text(tmp_path("plain"), "a regular file\n");
	expect_write_fails(r, tmp_path("plain/out.txt"), FL_ENOENT);
	/* Nothing else appeared: no temporary file left anywhere. */
	ASSERT_EQ(dir_entries(tmp_dir), 1);
	char err[512];
	ASSERT_EQ(fl_render_vtt(r, "", err, sizeof(err)), FL_EINVAL);
	ASSERT_EQ(fl_render_report(NULL, NULL, tmp_path("x.html"), NULL, err, sizeof(err)), FL_EINVAL);
	ASSERT_EQ(dir_entries(tmp_dir), 1);
	fl_result_destroy(r);
}

FL_TEST(render_text_enospc)
{
	if (geteuid() != 0)
		FL_SKIP("mounting a tmpfs needs root");
	make_tmp();
	struct fl_result *r = load_corpus();
	char err[512];
	/* The report's size decides the tmpfs: half of it, in pages. */
	ASSERT_OK(fl_render_report(r, NULL, tmp_path("full.html"), NULL, err, sizeof(err)));
	struct stat st;
	ASSERT(stat(tmp_path("full.html"), &st) == 0);
	long size = ((long)st.st_size / 2) & ~4095L;
	ASSERT_MSG(size >= 4096, "the report is only %ld bytes", (long)st.st_size);
	char mnt[512], opts[64];
	snprintf(mnt, sizeof(mnt), "%s/small", tmp_dir);
	ASSERT(mkdir(mnt, 0755) == 0);
	snprintf(opts, sizeof(opts), "size=%ld", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0)
		FL_SKIP("cannot mount a tmpfs here");
	/* An older report under the final name must survive the failure. */
	char out[600];
	snprintf(out, sizeof(out), "%s/report.html", mnt);
	write_text(out, "old report\n");
	int rc = fl_render_report(r, NULL, out, NULL, err, sizeof(err));
	char *old = fl_test_read_file(out, NULL);
	int entries = dir_entries(mnt);
	/* The CSV too, with the disk still full of the old file plus filler. */
	char filler[600];
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s' bs=1024 count=100000 2>/dev/null", filler);
	if (system(cmd)) {
		/* dd stops at ENOSPC with a nonzero status: expected. */
	}
	char csv[600];
	snprintf(csv, sizeof(csv), "%s/d.csv", mnt);
	int rc_csv = fl_render_csv(r, csv, err, sizeof(err));
	int csv_there = access(csv, F_OK) == 0;
	int entries2 = dir_entries(mnt);
	ASSERT(umount(mnt) == 0);
	ASSERT_MSG(rc == FL_ENOSPC, "report on a full disk: %d (%s)", rc, err);
	ASSERT_MSG(old && !strcmp(old, "old report\n"), "the old report was damaged: %.40s", old ? old : "(gone)");
	ASSERT_MSG(entries == 1, "%d files on the tmpfs after the failure (a temporary left?)", entries);
	ASSERT_MSG(rc_csv == FL_ENOSPC, "csv on a full disk: %d", rc_csv);
	ASSERT(!csv_there);
	ASSERT_EQ(entries2, 2);
	free(old);
	fl_result_destroy(r);
}

/* ========================================================= round trip */

/* A 5 s 480x270 clip: John A 0-2.5 s and 3.8-5 s on the left, John B from
** 1.5 s on the right (dlib's johns photos on a flat background). */
static const char *make_clip(void)
{
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("the ffmpeg command is not installed");
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not installed (make models)");
	const char *a = fl_test_path("testdata/dlib/johns/John_Salley/000179_02159509.jpg");
	const char *b = fl_test_path("testdata/dlib/johns/John_Savage/000264_01099001.jpg");
	if (access(a, R_OK) != 0 || access(b, R_OK) != 0)
		FL_SKIP("testdata not installed (tools/fetch-testdata.sh)");
	static char out[600];
	char cmd[2400];
	snprintf(out, sizeof(out), "%s/two.mp4", tmp_dir);
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -f lavfi -i color=c=0x4a5560:s=480x270:r=25:d=5 -loop 1 -i '%s' -loop 1 -i '%s' "
	         "-filter_complex \"[0][1]overlay=x=40:y=60:enable='between(t,0,2.5)+between(t,3.8,5)'[v1];"
	         "[v1][2]overlay=x=290:y=60:enable='between(t,1.5,5)'\" -t 5 -pix_fmt yuv420p -c:v libx264 "
	         "-preset veryfast '%s'",
	         a, b, out);
	ASSERT_MSG(system(cmd) == 0, "ffmpeg failed: %s", cmd);
	return out;
}

FL_TEST_T(render_text_roundtrip, 300)
{
	make_tmp();
	const char *clip = make_clip();
	struct fl_analyze_params p = fl_analyze_default_params();
	p.models_dir = fl_test_path("models");
	p.threads = 2;
	struct fl_result *r = NULL, *back = NULL;
	char err[512];
	int rc = fl_analyze_file(clip, &p, &r, err, sizeof(err));
	ASSERT_MSG(rc == 0, "analyze: %d %s", rc, err);
	ASSERT_EQ(r->n_persons, 2);
	ASSERT_OK(fl_result_save_json(r, tmp_path("a.json"), err, sizeof(err)));
	rc = fl_result_load_json(tmp_path("a.json"), &back, err, sizeof(err));
	ASSERT_MSG(rc == 0, "load: %d %s", rc, err);
	ASSERT_OK(fl_result_save_json(back, tmp_path("b.json"), err, sizeof(err)));
	char *a = read_text(tmp_path("a.json")), *b = read_text(tmp_path("b.json"));
	if (strcmp(a, b)) {
		size_t i = 0;
		while (a[i] == b[i])
			i++;
		ASSERT_MSG(0, "save(load(save(analyze))) differs at byte %zu: \"%.60s\" vs \"%.60s\"", i,
		           a + (i > 20 ? i - 20 : 0), b + (i > 20 ? i - 20 : 0));
	}
	free(a);
	free(b);
	/* The struct read back is the analysed one, to the file's rounding. */
	ASSERT_EQ(back->n_persons, r->n_persons);
	ASSERT_EQ(back->n_tracks, r->n_tracks);
	for (int i = 0; i < r->n_persons; i++) {
		ASSERT_EQ(back->persons[i].n_segments, r->persons[i].n_segments);
		ASSERT_EQ(back->persons[i].dominant, r->persons[i].dominant);
		ASSERT_NEAR(back->persons[i].segments[0].start, r->persons[i].segments[0].start, 5e-5);
		ASSERT_NEAR(back->persons[i].thumb_box[0], r->persons[i].thumb_box[0], 5e-3);
	}
	for (int i = 0; i < r->n_tracks; i++) {
		ASSERT_EQ(back->tracks[i].n_detections, r->tracks[i].n_detections);
		for (int k = 0; k < r->tracks[i].n_detections; k++) {
			ASSERT_EQ(back->tracks[i].detections[k].frame, r->tracks[i].detections[k].frame);
			ASSERT_NEAR(back->tracks[i].detections[k].points[4][1], r->tracks[i].detections[k].points[4][1], 5e-3);
		}
	}
	fl_result_destroy(back);
	fl_result_destroy(r);
}
