/*
** cli_render.c -- end-to-end tests of `faceline render RESULT.json` and of
** the same output flags on `faceline analyze`: a 5 s clip of two people
** (dlib's johns photos composed with ffmpeg) is analysed with --vtt --csv
** --report, then the saved result is rendered again and must give the very
** same files; the video outputs go through the same plumbing; a result
** whose video is gone still gives a report (no thumbnails) but not an
** annotated video; and the bad requests get their documented exit codes
** and messages: another version or a damaged result 2 (naming the file),
** a missing result or output folder 3, usage errors 1.  Skipped without
** the command, ffmpeg, the models or the photos.
*/
#include "fl_test.h"

#include <dirent.h>
#include <limits.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORPUS "tests/fuzz/corpus/result/"

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
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fl_cli_render_XXXXXX");
	ASSERT(mkdtemp(tmp_dir) != NULL);
	atexit(remove_tmp);
}

static const char *tp(const char *name)
{
	static char buf[8][600];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp_dir, name);
	return buf[k];
}

/* An absolute path of the repository's rel (the commands run in tmp_dir). */
static const char *abs_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int k;
	k = (k + 1) % 4;
	if (!realpath(rel, buf[k]))
		snprintf(buf[k], sizeof(buf[k]), "%s", rel);
	return buf[k];
}

/* Run `faceline ARGS` in tmp_dir (stdout and stderr together into *out). */
static int faceline(char **out, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && FL_MODELS='%s' '%s' %s 2>&1", tmp_dir, abs_path(fl_test_path("models")),
	         abs_path(fl_test_faceline()), args);
	return fl_test_capture(cmd, out);
}

static int same_file(const char *a, const char *b)
{
	size_t na = 0, nb = 0;
	char *x = fl_test_read_file(a, &na), *y = fl_test_read_file(b, &nb);
	int same = x && y && na == nb && !memcmp(x, y, na);
	free(x);
	free(y);
	return same;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ASSERT(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Two people, three segments (see tests/unit/render_text.c), in tmp_dir. */
static void make_clip(void)
{
	fl_test_faceline();
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("the ffmpeg command is not installed");
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not installed (make models)");
	const char *a = fl_test_path("testdata/dlib/johns/John_Salley/000179_02159509.jpg");
	const char *b = fl_test_path("testdata/dlib/johns/John_Savage/000264_01099001.jpg");
	if (access(a, R_OK) != 0 || access(b, R_OK) != 0)
		FL_SKIP("testdata not installed (tools/fetch-testdata.sh)");
	char cmd[2400];
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -f lavfi -i color=c=0x4a5560:s=480x270:r=25:d=5 -loop 1 -i '%s' -loop 1 -i '%s' "
	         "-filter_complex \"[0][1]overlay=x=40:y=60:enable='between(t,0,2.5)+between(t,3.8,5)'[v1];"
	         "[v1][2]overlay=x=290:y=60:enable='between(t,1.5,5)'\" -t 5 -pix_fmt yuv420p -c:v libx264 "
	         "-preset veryfast '%s'",
	         a, b, tp("two.mp4"));
	ASSERT_MSG(system(cmd) == 0, "ffmpeg failed: %s", cmd);
}

static int total_segments(const char *result)
{
	json_error_t je;
	json_t *doc = json_load_file(result, 0, &je);
	ASSERT_MSG(doc, "%s: %s", result, je.text);
	int n = 0;
	json_t *pe;
	size_t i;
	json_array_foreach(json_object_get(doc, "persons"), i, pe)
		n += (int)json_array_size(json_object_get(pe, "segments"));
	json_decref(doc);
	return n;
}

FL_TEST_T(cli_render_outputs, 300)
{
	make_tmp();
	make_clip();
	char *out = NULL;
	int rc = faceline(&out, "analyze two.mp4 -o r.json --quiet --vtt a.vtt --srt a.srt --csv a.csv --report a.html");
	ASSERT_MSG(rc == 0, "analyze with outputs: exit %d\n%s", rc, out);
	free(out);
	int segs = total_segments(tp("r.json"));
	ASSERT_EQ(segs, 3);

	rc = faceline(&out, "render r.json --vtt b.vtt --srt b.srt --csv b.csv --report b.html");
	ASSERT_MSG(rc == 0, "render: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "wrote b.vtt");
	ASSERT_STR_CONTAINS(out, "wrote b.html");
	free(out);
	/* The same result and video: the same files, byte for byte. */
	ASSERT_MSG(same_file(tp("a.vtt"), tp("b.vtt")), "vtt differs");
	ASSERT_MSG(same_file(tp("a.srt"), tp("b.srt")), "srt differs");
	ASSERT_MSG(same_file(tp("a.csv"), tp("b.csv")), "csv differs");
	ASSERT_MSG(same_file(tp("a.html"), tp("b.html")), "report differs");
	/* One cue per segment; the report has the thumbnails (the result's video was found). */
	char *vtt = fl_test_read_file(tp("b.vtt"), NULL), *html = fl_test_read_file(tp("b.html"), NULL);
	int cues = 0;
	for (char *p = vtt; (p = strstr(p, " --> ")); p++)
		cues++;
	ASSERT_EQ(cues, segs);
	int imgs = 0;
	for (char *p = html; (p = strstr(p, "src=\"data:image/jpeg;base64,")); p++)
		imgs++;
	ASSERT_EQ(imgs, 2);
	free(vtt);
	free(html);

	/* Another video than the one analysed: refused, nothing written. */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -v error -y -f lavfi -i color=c=gray:s=160x120:r=10:d=5 -pix_fmt yuv420p -c:v libx264 '%s'",
	         tp("other.mp4"));
	ASSERT(system(cmd) == 0);
	rc = faceline(&out, "render r.json --report c.html --video other.mp4");
	ASSERT_MSG(rc == 1, "another video: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "160x120");
	free(out);
	ASSERT(access(tp("c.html"), F_OK) != 0);

	/* The video outputs through the same flags. */
	ASSERT(mkdir(tp("clips"), 0755) == 0);
	rc = faceline(&out, "render r.json --annotate ann.mp4 --clips clips --crop --quiet");
	ASSERT_MSG(rc == 0, "render video outputs: exit %d\n%s", rc, out);
	free(out);
	struct stat st;
	ASSERT(stat(tp("ann.mp4"), &st) == 0 && st.st_size > 1000);
	ASSERT_EQ(count_entries(tp("clips")), segs);
}

/* The result's video is gone: a report without thumbnails, no annotation. */
FL_TEST_T(cli_render_no_video, 120)
{
	make_tmp();
	fl_test_faceline();
	char *out = NULL;
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fl_test_path(CORPUS "two.json"), tp("r.json"));
	ASSERT(system(cmd) == 0);
	int rc = faceline(&out, "render r.json --report rep.html --vtt r.vtt");
	ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "no thumbnails");
	free(out);
	char *html = fl_test_read_file(tp("rep.html"), NULL);
	ASSERT(html);
	ASSERT_STR_CONTAINS(html, "no video given");
	ASSERT(!strstr(html, "data:image/jpeg"));
	free(html);

	rc = faceline(&out, "render r.json --annotate a.mp4");
	ASSERT_MSG(rc == 3, "annotate without the video: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "--video");
	free(out);
	rc = faceline(&out, "render r.json --report x.html --video /nonexistent/v.mp4");
	ASSERT_MSG(rc == 3, "missing --video: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "/nonexistent/v.mp4");
	free(out);
	ASSERT(access(tp("a.mp4"), F_OK) != 0 && access(tp("x.html"), F_OK) != 0);
}

FL_TEST(cli_render_bad)
{
	make_tmp();
	fl_test_faceline();
	char *out = NULL;
	int rc;
	/* Another version of the format. */
	FILE *f = fopen(tp("v2.json"), "w");
	ASSERT(f);
	char *good = fl_test_read_file(fl_test_path(CORPUS "two.json"), NULL);
	ASSERT(good && !strncmp(good, "{\"v\": 1", 7));
	good[6] = '2';
	fputs(good, f);
	fclose(f);
	rc = faceline(&out, "render v2.json --vtt o.vtt");
	ASSERT_MSG(rc == 2, "v2: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "v2.json");
	ASSERT_STR_CONTAINS(out, "version 2");
	free(out);
	/* Damaged: cut in the middle. */
	good[6] = '1';
	good[strlen(good) / 3] = '\0';
	f = fopen(tp("cut.json"), "w");
	ASSERT(f);
	fputs(good, f);
	fclose(f);
	free(good);
	rc = faceline(&out, "render cut.json --vtt o.vtt --report o.html");
	ASSERT_MSG(rc == 2, "cut: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "cut.json");
	ASSERT_STR_CONTAINS(out, "line");
	free(out);
	/* Missing result; missing output folder. */
	rc = faceline(&out, "render missing.json --vtt o.vtt");
	ASSERT_MSG(rc == 3, "missing: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "missing.json");
	free(out);
	char args[1200];
	snprintf(args, sizeof(args), "render '%s' --csv nodir/o.csv", abs_path(fl_test_path(CORPUS "two.json")));
	rc = faceline(&out, args);
	ASSERT_MSG(rc == 3, "no such folder: exit %d\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "nodir/o.csv");
	free(out);
	/* Usage errors. */
	const char *usage[] = {
		"render",
		"render r.json",
		"render r.json --vtt",
		"render r.json --bogus x",
		"render r.json --crop --vtt o.vtt",
		"render a.json b.json --vtt o.vtt",
		"render r.json --vtt o.vtt --threads many",
		"analyze two.mp4 --report",
		"analyze two.mp4 --crop",
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		rc = faceline(&out, usage[i]);
		ASSERT_MSG(rc == 1, "\"%s\": exit %d\n%s", usage[i], rc, out);
		free(out);
	}
	rc = faceline(&out, "render --help");
	ASSERT_EQ(rc, 0);
	ASSERT_STR_CONTAINS(out, "--report");
	free(out);
	/* Nothing written by any of these. */
	ASSERT_EQ(count_entries(tmp_dir), 2);
}
