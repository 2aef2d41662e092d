/*
** cli_detect.c -- end-to-end tests of `faceline detect PHOTO`: run the built
** command (build/faceline, or $FL_FACELINE) and check its output and exit
** status (app/exit_codes.h: 0 ok, 1 usage, 2 bad input, 3 missing file) on
** sample photos (verified by FaceMesh, and raw with --no-verify) and on bad
** inputs.  Skipped when the command or the models are absent.
*/
#define _GNU_SOURCE
#include "fl_test.h"
#include "faceline/fl_vision.h"

#include <limits.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin(void)
{
	const char *path = fl_test_faceline();
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not fetched (make models)");
	return path;
}

/* Run `faceline detect ARGS`; stdout and stderr together into *out. */
static int run_detect(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_detect(char **out, const char *fmt, ...)
{
	char args[2 * PATH_MAX], cmd[3 * PATH_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "FL_MODELS='%s' '%s' detect %s 2>&1", fl_test_path("models"), bin(), args);
	return fl_test_capture(cmd, out);
}

static int count_lines_with(const char *s, const char *sub)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

FL_TEST_T(cli_detect_sample, 300)
{
	char photo[PATH_MAX]; /* fl_test_path's buffers rotate: keep a copy */
	snprintf(photo, sizeof(photo), "%s", fl_test_path("models/samples/sample3.jpg"));
	char *out;
	int rc = run_detect(&out, "'%s'", photo);
	ASSERT_MSG(rc == 0, "exit %d:\n%s", rc, out);
	ASSERT_MSG(count_lines_with(out, "  box ") == 3, "want 3 faces:\n%s", out);
	ASSERT_STR_CONTAINS(out, "0  box ");
	ASSERT_STR_CONTAINS(out, "score 0.");
	ASSERT_EQ(count_lines_with(out, "  face "), 3); /* the face score column */
	free(out);

	rc = run_detect(&out, "'%s' --json --min-score 0.6", photo);
	ASSERT_EQ(rc, 0);
	ASSERT_STR_CONTAINS(out, "\"faces\": [");
	ASSERT_STR_CONTAINS(out, "\"width\": 1920, \"height\": 1350");
	ASSERT_EQ(count_lines_with(out, "\"box\": ["), 3);
	ASSERT_EQ(count_lines_with(out, "\"landmarks\": ["), 3);
	ASSERT_EQ(count_lines_with(out, "\"face_score\": "), 3);
	ASSERT_EQ(count_lines_with(out, "\"points\": ["), 3);
	free(out);

	/* sample1: BlazeFace alone finds 5 (clutter and a wine glass); verified, 3. */
	char s1[PATH_MAX];
	snprintf(s1, sizeof(s1), "%s", fl_test_path("models/samples/sample1.jpg"));
	rc = run_detect(&out, "'%s'", s1);
	ASSERT_MSG(rc == 0, "exit %d:\n%s", rc, out);
	ASSERT_MSG(count_lines_with(out, "  box ") == 3, "want 3 faces:\n%s", out);
	ASSERT_EQ(count_lines_with(out, "  face "), 3);
	free(out);
	rc = run_detect(&out, "'%s' --no-verify", s1);
	ASSERT_EQ(rc, 0);
	ASSERT_MSG(count_lines_with(out, "  box ") == 5, "want BlazeFace's 5 boxes:\n%s", out);
	ASSERT_EQ(count_lines_with(out, "  face "), 0);
	free(out);
	rc = run_detect(&out, "'%s' --min-face-score 0", s1);
	ASSERT_EQ(rc, 0);
	ASSERT_MSG(count_lines_with(out, "  face ") == 5, "threshold 0 keeps all:\n%s", out);
	free(out);
	rc = run_detect(&out, "'%s' --json --no-verify", s1);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(count_lines_with(out, "\"face_score\": null"), 5);
	free(out);
	rc = run_detect(&out, "x.jpg --min-face-score 2");
	ASSERT_EQ(rc, 1);
	free(out);

	/* A high threshold keeps fewer; --models works as well as $FL_MODELS. */
	char models[PATH_MAX];
	snprintf(models, sizeof(models), "%s", fl_test_path("models"));
	rc = run_detect(&out, "'%s' --min-score 0.99 --models '%s'", photo, models);
	ASSERT_EQ(rc, 0);
	ASSERT(count_lines_with(out, "  box ") < 3);
	free(out);

	/* --draw writes a PNG we can load back. */
	char png[] = "/tmp/fl-detect-XXXXXX.png";
	int fd = mkstemps(png, 4);
	ASSERT(fd >= 0);
	close(fd);
	rc = run_detect(&out, "'%s' --draw '%s'", photo, png);
	ASSERT_MSG(rc == 0, "--draw: exit %d:\n%s", rc, out);
	struct fl_image img;
	char err[256] = "";
	ASSERT_MSG(fl_image_load(png, NULL, &img, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(img.width, 1920);
	fl_image_fini(&img);
	unlink(png);
	free(out);
}

FL_TEST(cli_detect_bad_inputs)
{
	char *out;
	char dir[] = "/tmp/fl-detect-bad.XXXXXX", p[PATH_MAX + 32], cmd[3 * PATH_MAX];
	bin();
	ASSERT(mkdtemp(dir));

	int rc = run_detect(&out, "%s/nope.jpg", dir);
	ASSERT_MSG(rc == 3, "missing file: exit %d:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "nope.jpg");
	free(out);

	snprintf(p, sizeof(p), "%s/empty.jpg", dir);
	fclose(fopen(p, "w"));
	rc = run_detect(&out, "'%s'", p);
	ASSERT_MSG(rc == 2, "empty file: exit %d:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "empty.jpg");
	free(out);

	snprintf(p, sizeof(p), "%s/text.jpg", dir);
	FILE *f = fopen(p, "w");
	fputs("hello, I am a text file\n", f);
	fclose(f);
	rc = run_detect(&out, "'%s'", p);
	ASSERT_MSG(rc == 2, "text file: exit %d:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "not an image");
	free(out);

	snprintf(cmd, sizeof(cmd), "head -c 100000 '%s' > '%s/cut.jpg'", fl_test_path("models/samples/sample1.jpg"), dir);
	ASSERT(system(cmd) == 0);
	rc = run_detect(&out, "'%s/cut.jpg'", dir);
	ASSERT_MSG(rc == 2, "truncated: exit %d:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "truncated");
	free(out);

	/* Usage errors. */
	rc = run_detect(&out, " ");
	ASSERT_EQ(rc, 1);
	free(out);
	rc = run_detect(&out, "x.jpg --frobnicate");
	ASSERT_EQ(rc, 1);
	free(out);
	rc = run_detect(&out, "x.jpg --min-score abc");
	ASSERT_EQ(rc, 1);
	free(out);
	rc = run_detect(&out, "x.jpg --min-score");
	ASSERT_EQ(rc, 1);
	free(out);

	/* A models folder without the model. */
	snprintf(p, sizeof(p), "%s", fl_test_path("models/samples/sample1.jpg"));
	rc = run_detect(&out, "'%s' --models '%s'", p, dir);
	ASSERT_MSG(rc == 3, "no model: exit %d:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "blazeface.json");
	free(out);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT(system(cmd) == 0);
}
