/*
** cli_models.c -- end-to-end tests of `faceline models list|verify`: run
** the built command (build/faceline, or $FL_FACELINE) through popen and
** check its exit status (app/exit_codes.h) and what it says.  Skipped when
** the command has not been built.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run `faceline ARGS` (a shell fragment); stdout and stderr into *out. */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char args[3 * PATH_MAX], cmd[4 * PATH_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", fl_test_faceline(), args);
	return fl_test_capture(cmd, out);
}

static const char *models_dir(void)
{
	struct stat sb;
	if (stat(fl_test_path("models/human"), &sb) != 0)
		FL_SKIP("models/ not fetched (run `make models`)");
	return fl_test_path("models");
}

FL_TEST(cli_models_verify_ok)
{
	const char *models = models_dir();
	char *out;
	int rc = run(&out, "models verify --dir '%s'", models);
	ASSERT_MSG(rc == 0, "exit %d, output:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "files ok in");
	free(out);
	rc = run(&out, "models verify --quick --dir '%s'", models);
	ASSERT_EQ(rc, 0);
	free(out);
}

FL_TEST(cli_models_verify_broken)
{
	fl_test_faceline(); /* skip before making anything */
	const char *models = models_dir();
	char tmpl[] = "/tmp/fl-cli-models.XXXXXX", abs_models[PATH_MAX], cmd[4 * PATH_MAX], *out;
	ASSERT(mkdtemp(tmpl));
	ASSERT(realpath(models, abs_models));
	/* A symlinked mirror with one file truncated and one missing. */
	snprintf(cmd, sizeof(cmd),
	         "cp -rs '%s/.' '%s/' && rm '%s/expo/pnet.tflite' '%s/human/blazeface.bin' && "
	         "head -c 1000 '%s/human/blazeface.bin' > '%s/human/blazeface.bin'",
	         abs_models, tmpl, tmpl, tmpl, abs_models, tmpl);
	ASSERT_MSG(system(cmd) == 0, "%s", cmd);

	int rc = run(&out, "models verify --dir '%s'", tmpl);
	ASSERT_MSG(rc == 2, "exit %d (want 2, bad input), output:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "MISSING");
	ASSERT_STR_CONTAINS(out, "expo/pnet.tflite");
	ASSERT_STR_CONTAINS(out, "ALTERED");
	ASSERT_STR_CONTAINS(out, "human/blazeface.bin: size 1000, expected 538928");
	ASSERT_STR_CONTAINS(out, "2 of ");
	free(out);

	rc = run(&out, "models list --dir '%s'", tmpl);
	ASSERT_EQ(rc, 0);
	ASSERT_STR_CONTAINS(out, "missing");
	ASSERT_STR_CONTAINS(out, "altered");
	free(out);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	ASSERT(system(cmd) == 0);
}

FL_TEST(cli_models_missing_dir_and_usage)
{
	char *out;
	int rc = run(&out, "models verify --dir /nonexistent/fl-models");
	ASSERT_MSG(rc == 3, "exit %d (want 3, missing), output:\n%s", rc, out);
	ASSERT_STR_CONTAINS(out, "does not exist");
	free(out);
	rc = run(&out, "models frobnicate");
	ASSERT_EQ(rc, 1);
	ASSERT_STR_CONTAINS(out, "usage:");
	free(out);
	rc = run(&out, "models verify --bogus");
	ASSERT_EQ(rc, 1);
	free(out);
	rc = run(&out, "models --help");
	ASSERT_EQ(rc, 0);
	free(out);
}

FL_TEST(cli_models_list)
{
	const char *models = models_dir();
	char *out;
	int rc = run(&out, "models list --dir '%s'", models);
	ASSERT_EQ(rc, 0);
	ASSERT_STR_CONTAINS(out, "FILE");
	ASSERT_STR_CONTAINS(out, "human/blazeface.json");
	ASSERT_STR_CONTAINS(out, "@vladmandic/human@3.3.6");
	ASSERT_STR_CONTAINS(out, "face detector");
	ASSERT_STR_CONTAINS(out, " 0 missing or altered");
	free(out);
	rc = run(&out, "models list --json --quick --dir '%s'", models);
	ASSERT_EQ(rc, 0);
	ASSERT_STR_CONTAINS(out, "\"n_bad\": 0");
	ASSERT_STR_CONTAINS(out, "\"path\": \"expo/MobileFaceNet.tflite\"");
	ASSERT_STR_CONTAINS(out, "\"status\": \"ok\"");
	free(out);
	/* $FL_MODELS picks the folder when --dir is absent. */
	setenv("FL_MODELS", "/nonexistent/x", 1);
	rc = run(&out, "models verify");
	ASSERT_EQ(rc, 3);
	ASSERT_STR_CONTAINS(out, "/nonexistent/x");
	free(out);
}
