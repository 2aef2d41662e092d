/*
** cli_nn.c -- end-to-end tests of `faceline nn run` and `faceline nn info`:
** run the built command on a reference vector's input and compare the raw
** outputs it writes with the runtime's; check meta.json; check the exit
** codes for a missing model, a corrupt model, a wrong-sized input and a
** bad --shape.  Skipped when build/faceline or the reference vectors are
** absent.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ref_dir(void)
{
	const char *r = getenv("FL_REF");
	return r && *r ? r : "build/ref";
}

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char args[3 * PATH_MAX], cmd[4 * PATH_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' nn %s 2>&1", fl_test_faceline(), args);
	return fl_test_capture(cmd, out);
}

static char tmpdir[64];
static const char *mktmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_cli_nn_XXXXXX");
	ASSERT(mkdtemp(tmpdir));
	return tmpdir;
}

/* Run nn run on REF/<model>/random and compare every output by name. */
static void run_and_compare(const char *model_name, const char *model_file, const char *extra)
{
	char dir[PATH_MAX], path[2 * PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s/random", ref_dir(), model_name);
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	json_t *meta = json_load_file(path, 0, NULL);
	if (!meta)
		FL_SKIP("no reference vectors (make refs)");
	json_t *in = json_array_get(json_object_get(meta, "inputs"), 0);
	json_t *sh = json_object_get(in, "shape");
	char shape[128] = "";
	for (size_t i = 0; i < json_array_size(sh); i++)
		snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%lld", i ? "," : "",
		         (long long)json_integer_value(json_array_get(sh, i)));
	const char *out = mktmp();
	char *log;
	int rc = run(&log, "run '%s' --input '%s/%s' --shape %s %s --out '%s'", fl_test_path(model_file), dir,
	             json_string_value(json_object_get(in, "file")), shape, extra, out);
	ASSERT_MSG(rc == 0, "exit %d: %s", rc, log);
	snprintf(path, sizeof(path), "%s/meta.json", out);
	json_t *got = json_load_file(path, 0, NULL);
	ASSERT_MSG(got, "no meta.json written");
	json_t *gouts = json_object_get(got, "outputs"), *routs = json_object_get(meta, "outputs");
	ASSERT(json_array_size(gouts) >= 1);
	int compared = 0;
	for (size_t k = 0; k < json_array_size(routs); k++) {
		json_t *r = json_array_get(routs, k);
		const char *name = json_string_value(json_object_get(r, "name"));
		for (size_t j = 0; j < json_array_size(gouts); j++) {
			json_t *g = json_array_get(gouts, j);
			if (strcmp(json_string_value(json_object_get(g, "name")), name))
				continue;
			char a[2 * PATH_MAX], b[2 * PATH_MAX];
			snprintf(a, sizeof(a), "%s/%s", out, json_string_value(json_object_get(g, "file")));
			snprintf(b, sizeof(b), "%s/%s", dir, json_string_value(json_object_get(r, "file")));
			size_t na, nb;
			float *fa = fl_test_read_file(a, &na), *fb = fl_test_read_file(b, &nb);
			ASSERT(fa && fb && na == nb);
			char msg[256];
			ASSERT_MSG(fl_test_allclose(fa, fb, (long)(na / 4), 1e-4, 1e-3, msg, sizeof(msg)) == 0, "%s: %s", name,
			           msg);
			free(fa);
			free(fb);
			compared++;
		}
	}
	ASSERT_EQ(compared, (int)json_array_size(routs));
	json_decref(meta);
	json_decref(got);
	free(log);
}

FL_TEST(cli_nn_run_blazeface)
{
	run_and_compare("blazeface", "models/human/blazeface.json", "");
}

FL_TEST(cli_nn_run_movenet_int32)
{
	run_and_compare("movenet-lightning", "models/human/movenet-lightning.json", "--dtype int32");
}

FL_TEST(cli_nn_run_mobilefacenet_tflite)
{
	run_and_compare("mobilefacenet", "models/expo/MobileFaceNet.tflite", "--threads 1");
}

FL_TEST(cli_nn_info)
{
	char *log;
	int rc = run(&log, "info '%s'", fl_test_path("models/human/blazeface.json"));
	ASSERT_MSG(rc == 0, "%s", log);
	ASSERT_STR_CONTAINS(log, "input  0 input");
	ASSERT_STR_CONTAINS(log, "Identity_3");
	free(log);
}

FL_TEST(cli_nn_errors)
{
	char *log;
	const char *out = mktmp();
	char in[128];
	snprintf(in, sizeof(in), "%s/in.f32", out);
	FILE *f = fopen(in, "wb");
	float z[12] = {0};
	fwrite(z, 4, 12, f);
	fclose(f);
	/* missing model: exit 3, the path named */
	ASSERT_EQ(run(&log, "run /nonexistent/m.json --input %s --shape 1,2,2,3 --out %s", in, out), 3);
	ASSERT_STR_CONTAINS(log, "/nonexistent/m.json");
	free(log);
	/* a text file as a model: exit 2 */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/bad.json", out);
	f = fopen(bad, "w");
	fputs("this is not json", f);
	fclose(f);
	ASSERT_EQ(run(&log, "run %s --input %s --shape 1,2,2,3 --out %s", bad, in, out), 2);
	ASSERT_STR_CONTAINS(log, "bad.json");
	free(log);
	/* input file size does not match the shape: exit 2, sizes named */
	ASSERT_EQ(run(&log, "run '%s' --input %s --shape 1,256,256,3 --out %s",
	              fl_test_path("models/human/blazeface.json"), in, out), 2);
	ASSERT_STR_CONTAINS(log, "48 bytes");
	free(log);
	/* bad --shape: usage error */
	ASSERT_EQ(run(&log, "run '%s' --input %s --shape 1,-2,x --out %s", fl_test_path("models/human/blazeface.json"),
	              in, out), 1);
	ASSERT_STR_CONTAINS(log, "--shape");
	free(log);
	/* wrong rank for the model: a clear error naming the input */
	ASSERT_EQ(run(&log, "run '%s' --input %s --shape 12 --out %s", fl_test_path("models/human/blazeface.json"), in,
	              out), 2);
	ASSERT_STR_CONTAINS(log, "input");
	free(log);
}
