/*
** cli_report.c -- the HTML report in a real browser: a clip of two people
** whose file name holds HTML's special characters (<>&"') is analysed by
** `faceline analyze --report`, then tools/browser/report-check.mjs loads
** the report in headless Chromium (playwright-core) and checks that every
** person and every segment of the result is in the DOM (data-person /
** data-segment), that the timeline bars sit at the segments' times, that
** the thumbnails decoded, that the escaped path reads back as the file's
** name, and that no network request was made; it saves a screenshot
** ($FL_REPORT_SHOT or the test's temporary folder).  The same for a clip
** with a 90-degree display rotation, and for a report rendered without
** the video (placeholders instead of thumbnails).  Skipped when
** tools/browser/node_modules (make browser), chromium, node, ffmpeg, the
** models or the photos are missing.
*/
#include "fl_test.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const char *tp(const char *name)
{
	static char buf[8][600];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp_dir, name);
	return buf[k];
}

/* s quoted for sh: '...' with each ' as '\'' */
static const char *shq(const char *s)
{
	static char buf[8][1200];
	static int k;
	k = (k + 1) % 8;
	char *o = buf[k];
	*o++ = '\'';
	for (; *s && o < buf[k] + sizeof(buf[k]) - 6; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *s;
	}
	*o++ = '\'';
	*o = '\0';
	return buf[k];
}

static void setup(void)
{
	fl_test_faceline();
	if (access(fl_test_path("tools/browser/node_modules/playwright-core"), R_OK) != 0)
		FL_SKIP("tools/browser/node_modules is missing (make browser)");
	if (access("/usr/bin/chromium", X_OK) != 0)
		FL_SKIP("chromium is not installed");
	if (system("node --version >/dev/null 2>&1") != 0)
		FL_SKIP("node is not installed");
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("the ffmpeg command is not installed");
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not installed (make models)");
	if (access(fl_test_path("testdata/dlib/johns/John_Salley/000179_02159509.jpg"), R_OK) != 0 ||
	    access(fl_test_path("testdata/dlib/johns/John_Savage/000264_01099001.jpg"), R_OK) != 0)
		FL_SKIP("testdata not installed (tools/fetch-testdata.sh)");
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fl_cli_report_XXXXXX");
	ASSERT(mkdtemp(tmp_dir) != NULL);
	atexit(remove_tmp);
}

/* The two-person clip (tests/unit/render_text.c) at path; `extra` are
** ffmpeg output options (a rotation). */
static void make_clip(const char *path, const char *extra)
{
	char cmd[3000];
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -f lavfi -i color=c=0x4a5560:s=480x270:r=25:d=5 -loop 1 -i %s -loop 1 -i %s "
	         "-filter_complex \"[0][1]overlay=x=40:y=60:enable='between(t,0,2.5)+between(t,3.8,5)'[v1];"
	         "[v1][2]overlay=x=290:y=60:enable='between(t,1.5,5)'\" -t 5 -pix_fmt yuv420p -c:v libx264 "
	         "-preset veryfast %s %s",
	         shq(fl_test_path("testdata/dlib/johns/John_Salley/000179_02159509.jpg")),
	         shq(fl_test_path("testdata/dlib/johns/John_Savage/000264_01099001.jpg")), extra, shq(path));
	ASSERT_MSG(system(cmd) == 0, "ffmpeg failed: %s", cmd);
}

/* Run a command line (stdout+stderr into *out); its exit status. */
static int run(char **out, const char *cmd)
{
	char full[5000];
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	return fl_test_capture(full, out);
}

/* Analyse clip with --report; check the report in Chromium. */
static void analyse_and_check(const char *clip, const char *result, const char *report, const char *shot)
{
	char cmd[4000], *out = NULL;
	snprintf(cmd, sizeof(cmd), "FL_MODELS=%s %s analyze %s -o %s --report %s --quiet", shq(fl_test_path("models")),
	         shq(fl_test_faceline()), shq(clip), shq(result), shq(report));
	int rc = run(&out, cmd);
	ASSERT_MSG(rc == 0, "analyze: exit %d\n%s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "node %s %s %s %s", shq(fl_test_path("tools/browser/report-check.mjs")), shq(report),
	         shq(result), shq(shot));
	rc = run(&out, cmd);
	ASSERT_MSG(rc == 0, "report-check: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "ok 2 persons, 3 segments, 2 thumbnails, 0 requests");
	fprintf(stderr, "  %s", out);
	free(out);
}

static const char *shot_path(const char *name)
{
	const char *env = getenv("FL_REPORT_SHOT");
	static char buf[700];
	if (env && *env) {
		snprintf(buf, sizeof(buf), "%s%s%s", env, strstr(env, ".png") ? "" : "/", strstr(env, ".png") ? "" : name);
		return buf;
	}
	return tp(name);
}

FL_TEST_T(cli_report_browser, 300)
{
	setup();
	/* A name with all of HTML's special characters. */
	const char *clip = tp("a<b>&\"c'd.mp4");
	make_clip(clip, "");
	analyse_and_check(clip, tp("r.json"), tp("report.html"), shot_path("report.png"));
	/* The raw name never appears unescaped in the HTML. */
	char *html = fl_test_read_file(tp("report.html"), NULL);
	ASSERT(html);
	ASSERT(!strstr(html, "a<b>"));
	ASSERT_STR_CONTAINS(html, "a&lt;b&gt;&amp;&quot;c&#39;d.mp4");
	free(html);
	struct stat st;
	ASSERT(stat(shot_path("report.png"), &st) == 0 && st.st_size > 10000);

	/* Without the video: the result's path edited away, placeholders. */
	json_error_t je;
	json_t *doc = json_load_file(tp("r.json"), 0, &je);
	ASSERT(doc);
	json_object_set_new(json_object_get(doc, "video"), "path", json_string(tp("gone.mp4")));
	ASSERT(json_dump_file(doc, tp("gone.json"), JSON_COMPACT) == 0);
	json_decref(doc);
	char cmd[4000], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s render %s --report %s --quiet", shq(fl_test_faceline()), shq(tp("gone.json")),
	         shq(tp("gone.html")));
	int rc = run(&out, cmd);
	ASSERT_MSG(rc == 0, "render: exit %d\n%s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "node %s %s %s %s --no-thumbs", shq(fl_test_path("tools/browser/report-check.mjs")),
	         shq(tp("gone.html")), shq(tp("gone.json")), shq(tp("gone.png")));
	rc = run(&out, cmd);
	ASSERT_MSG(rc == 0, "report-check --no-thumbs: exit %d\n%s", rc, out);
	free(out);
}

/* A phone-style file: stored 270x480, displayed 480x270 (rotation 90);
** the thumbnails must come out upright (checked by eye on the screenshot,
** and by the analysis finding the same two people as in the flat clip). */
FL_TEST_T(cli_report_rotated, 300)
{
	setup();
	make_clip(tp("flat.mp4"), "");
	char cmd[2000];
	/* Frames stored turned a quarter clockwise, a display matrix turning
	** them back (as tests/unit/render_video.c makes it). */
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -i %s -vf transpose=1 -c:v libx264 -preset veryfast %s && "
	         "ffmpeg -v error -y -i %s -c copy -metadata:s:v:0 rotate=90 %s",
	         shq(tp("flat.mp4")), shq(tp("t90.mp4")), shq(tp("t90.mp4")), shq(tp("rot.mp4")));
	ASSERT(system(cmd) == 0);
	analyse_and_check(tp("rot.mp4"), tp("rot.json"), tp("rot.html"), shot_path("report-rotated.png"));
	json_error_t je;
	json_t *doc = json_load_file(tp("rot.json"), 0, &je);
	ASSERT(doc);
	json_t *v = json_object_get(doc, "video");
	/* FFmpeg 5.1 stores the tag as a matrix we read as 270 clockwise. */
	ASSERT(json_integer_value(json_object_get(v, "rotation")) % 180 == 90);
	ASSERT_EQ(json_integer_value(json_object_get(v, "width")), 480);
	ASSERT_EQ(json_integer_value(json_object_get(v, "height")), 270);
	json_decref(doc);
}
