/*
** catalog.c -- tests of the model catalog (src/nn/catalog.c): the table
** compiled into the library agrees with models/manifest.sha256 and
** models/catalog.tsv; the real models folder verifies; a folder with a
** truncated, a missing and a byte-flipped file is reported as such; SHA-256
** of a known vector; failed allocations give FL_ENOMEM without leaks.
*/
#define _GNU_SOURCE
#include "fl_test.h"
#include "faceline/fl_models.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

/* Split the next line of *p at tabs into up to n fields (in place). */
static int next_line(char **p, char **fields, int n)
{
	char *s = *p, *e;
	if (!s || !*s)
		return -1;
	e = strchr(s, '\n');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = s + strlen(s);
	}
	int k = 0;
	fields[k++] = s;
	for (char *c = s; *c && k < n; c++)
		if (*c == '\t') {
			*c = '\0';
			fields[k++] = c + 1;
		}
	return k;
}

/* A fresh directory under $TMPDIR; the caller removes it. */
static char *make_temp_dir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = malloc(PATH_MAX);
	ASSERT(d);
	snprintf(d, PATH_MAX, "%s/fl-catalog.XXXXXX", t && *t ? t : "/tmp");
	ASSERT_MSG(mkdtemp(d), "mkdtemp %s failed", d);
	return d;
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  warning: could not remove %s\n", dir);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	ASSERT_MSG(f, "cannot write %s", path);
	ASSERT(fwrite(data, 1, n, f) == n);
	ASSERT(fclose(f) == 0);
}

/* The real models folder, or skip when it has not been fetched. */
static const char *real_models(void)
{
	struct stat sb;
	const char *m = fl_test_path("models/human");
	if (stat(m, &sb) != 0)
		FL_SKIP("models/ not fetched (run `make models`)");
	return fl_test_path("models");
}

/*
** Mirror the real models folder into `dir` with symlinks, except: the
** first "human/blazeface.bin" is a truncated copy, "expo/pnet.tflite" is
** left out, and "samples/sample1.jpg" is a copy with one byte flipped
** (same size, different hash).
*/
static void make_broken_copy(const char *models, const char *dir)
{
	char src[2 * PATH_MAX], dst[2 * PATH_MAX], abs_models[PATH_MAX];
	ASSERT(realpath(models, abs_models));
	for (int i = 0; i < fl_models_count(); i++) {
		const struct fl_model_info *m = fl_models_get(i);
		snprintf(src, sizeof(src), "%s/%s", abs_models, m->path);
		snprintf(dst, sizeof(dst), "%s/%s", dir, m->path);
		char *slash = strrchr(dst, '/');
		*slash = '\0';
		mkdir(dst, 0755);
		*slash = '/';
		if (strcmp(m->path, "expo/pnet.tflite") == 0)
			continue;
		if (strcmp(m->path, "human/blazeface.bin") == 0 || strcmp(m->path, "samples/sample1.jpg") == 0) {
			size_t n = 0;
			unsigned char *data = fl_test_read_file(src, &n);
			ASSERT_MSG(data, "cannot read %s", src);
			if (m->path[0] == 'h') {
				n /= 2;
			} else {
				data[n / 2] ^= 0x55;
			}
			write_file(dst, data, n);
			free(data);
			continue;
		}
		ASSERT_MSG(symlink(src, dst) == 0, "symlink %s", dst);
	}
}

/* --------------------------------------------------------------- tests */

/* The compiled-in table is exactly manifest.sha256 joined with catalog.tsv. */
FL_TEST(catalog_matches_manifest)
{
	char *man = fl_test_read_file(fl_test_path("models/manifest.sha256"), NULL);
	char *tsv = fl_test_read_file(fl_test_path("models/catalog.tsv"), NULL);
	ASSERT_MSG(man && tsv, "models/manifest.sha256 or models/catalog.tsv not found under FL_ROOT=%s",
	           fl_test_root());
	char *p = man, *f[6];
	int n = 0;
	while (next_line(&p, f, 1) > 0) {
		if (!*f[0])
			continue;
		/* "<64 hex>  models/<path>" */
		ASSERT_MSG(strlen(f[0]) > 66 && f[0][64] == ' ', "bad manifest line '%s'", f[0]);
		const char *path = f[0] + 66;
		ASSERT_MSG(strncmp(path, "models/", 7) == 0, "manifest path '%s' not under models/", path);
		const struct fl_model_info *m = fl_models_get(n);
		ASSERT_MSG(m, "manifest has more entries than the catalog (%d)", fl_models_count());
		ASSERT_MSG(strcmp(m->path, path + 7) == 0, "entry %d: catalog %s, manifest %s", n, m->path, path + 7);
		ASSERT_MSG(strncmp(m->sha256, f[0], 64) == 0 && strlen(m->sha256) == 64, "%s: sha256 differs", m->path);
		ASSERT(fl_models_find(m->path) == m);
		n++;
	}
	ASSERT_EQ(n, fl_models_count());

	int rows = 0;
	p = tsv;
	int k;
	while ((k = next_line(&p, f, 6)) > 0) {
		if (f[0][0] == '#' || !*f[0])
			continue;
		ASSERT_MSG(k == 6, "catalog.tsv: line with %d fields", k);
		const struct fl_model_info *m = fl_models_find(f[0] + 7);
		ASSERT_MSG(m, "catalog.tsv entry %s not compiled in (run tools/gen-catalog.sh)", f[0]);
		ASSERT_EQ(m->size, atoll(f[1]));
		ASSERT_MSG(strcmp(m->package, f[2]) == 0, "%s: package %s vs %s", m->path, m->package, f[2]);
		ASSERT_MSG(strcmp(m->model, strcmp(f[3], "-") ? f[3] : "") == 0, "%s: model differs", m->path);
		ASSERT_MSG(strcmp(m->format, f[4]) == 0, "%s: format differs", m->path);
		ASSERT_MSG(strcmp(m->role, f[5]) == 0, "%s: role differs", m->path);
		rows++;
	}
	ASSERT_EQ(rows, fl_models_count());
	free(man);
	free(tsv);
}

FL_TEST(catalog_lookup)
{
	ASSERT(fl_models_count() >= 40);
	ASSERT(fl_models_get(-1) == NULL);
	ASSERT(fl_models_get(fl_models_count()) == NULL);
	ASSERT(fl_models_find(NULL) == NULL);
	ASSERT(fl_models_find("human/nope.json") == NULL);
	/* The models DESIGN.md's pipeline depends on are all listed. */
	static const char *const need[] = {"human/blazeface.json",       "human/blazeface.bin",
	                                   "human/facemesh.json",        "expo/MobileFaceNet.tflite",
	                                   "faceapi/face_expression_model-weights_manifest.json",
	                                   "faceapi/face_expression_model.bin", "samples/sample1.jpg"};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		const struct fl_model_info *m = fl_models_find(need[i]);
		ASSERT_MSG(m, "%s not in the catalog", need[i]);
		ASSERT(m->size > 0 && strlen(m->sha256) == 64 && *m->package && *m->role);
	}
	ASSERT_STR_CONTAINS(fl_models_find("human/blazeface.json")->package, "@vladmandic/human@3.3.6");
	ASSERT_STR_CONTAINS(fl_models_find("human/blazeface.json")->role, "face detector");
	ASSERT(strcmp(fl_model_state_name(FL_MODEL_ALTERED), "altered") == 0);
	ASSERT(strcmp(fl_model_state_name(99), "?") == 0);
}

FL_TEST(catalog_sha256_vector)
{
	char *dir = make_temp_dir(), path[PATH_MAX], hex[65];
	int64_t size = 0;
	snprintf(path, sizeof(path), "%s/abc", dir);
	write_file(path, "abc", 3);
	ASSERT_OK(fl_models_sha256_file(path, hex, &size));
	ASSERT_EQ(size, 3);
	ASSERT(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	/* Empty file, and one larger than the 1 MiB read chunk. */
	write_file(path, "", 0);
	ASSERT_OK(fl_models_sha256_file(path, hex, &size));
	ASSERT_EQ(size, 0);
	ASSERT(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	size_t big = 3 * (1 << 20) + 7;
	char *buf = malloc(big);
	ASSERT(buf);
	memset(buf, 'a', big);
	write_file(path, buf, big);
	free(buf);
	ASSERT_OK(fl_models_sha256_file(path, hex, &size));
	ASSERT_EQ(size, (long long)big);
	/* Missing file and bad arguments. */
	snprintf(path, sizeof(path), "%s/nope", dir);
	ASSERT_EQ(fl_models_sha256_file(path, hex, &size), FL_ENOENT);
	ASSERT_EQ(size, -1);
	ASSERT(hex[0] == '\0');
	ASSERT_EQ(fl_models_sha256_file(NULL, hex, NULL), FL_EINVAL);
	ASSERT_EQ(fl_models_sha256_file(dir, hex, NULL), FL_EIO); /* a directory */
	rm_rf(dir);
	free(dir);
}

/* Every file of the fetched models folder is present and intact. */
FL_TEST(catalog_verify_real)
{
	const char *models = real_models();
	int n = fl_models_count();
	struct fl_model_status *st = calloc(n, sizeof(*st));
	ASSERT(st);
	int bad = fl_models_verify(models, st, n, 0);
	for (int i = 0; i < n; i++)
		if (st[i].state != FL_MODEL_OK)
			fprintf(stderr, "  %s: %s (size %lld)\n", st[i].info->path, fl_model_state_name(st[i].state),
			        (long long)st[i].size);
	ASSERT_EQ(bad, 0);
	for (int i = 0; i < n; i++) {
		ASSERT(st[i].info == fl_models_get(i));
		ASSERT_EQ(st[i].size, st[i].info->size);
		ASSERT(strcmp(st[i].sha256, st[i].info->sha256) == 0);
	}
	/* Size-only mode agrees and leaves the hash empty; out may be NULL. */
	ASSERT_EQ(fl_models_verify(models, st, n, FL_MODELS_SIZE_ONLY), 0);
	ASSERT(st[0].sha256[0] == '\0');
	ASSERT_EQ(fl_models_verify(models, NULL, 0, FL_MODELS_SIZE_ONLY), 0);
	free(st);
}

/* Truncated -> ALTERED, absent -> MISSING, byte flipped -> ALTERED by hash. */
FL_TEST(catalog_verify_broken)
{
	const char *models = real_models();
	char *dir = make_temp_dir();
	make_broken_copy(models, dir);

	int n = fl_models_count();
	struct fl_model_status *st = calloc(n, sizeof(*st));
	ASSERT(st);
	ASSERT_EQ(fl_models_verify(dir, st, n, 0), 3);
	for (int i = 0; i < n; i++) {
		const char *p = st[i].info->path;
		int want = FL_MODEL_OK;
		if (!strcmp(p, "expo/pnet.tflite"))
			want = FL_MODEL_MISSING;
		else if (!strcmp(p, "human/blazeface.bin") || !strcmp(p, "samples/sample1.jpg"))
			want = FL_MODEL_ALTERED;
		ASSERT_MSG(st[i].state == want, "%s: %s, expected %s", p, fl_model_state_name(st[i].state),
		           fl_model_state_name(want));
	}
	const struct fl_model_info *bz = fl_models_find("human/blazeface.bin");
	struct fl_model_status one;
	ASSERT_OK(fl_models_verify_file(dir, bz, 0, &one));
	ASSERT_EQ(one.state, FL_MODEL_ALTERED);
	ASSERT_EQ(one.size, bz->size / 2);
	ASSERT(one.sha256[0] == '\0'); /* size already differs: not hashed */
	ASSERT_OK(fl_models_verify_file(dir, bz, FL_MODELS_HASH_ALWAYS, &one));
	ASSERT(strlen(one.sha256) == 64 && strcmp(one.sha256, bz->sha256) != 0);
	ASSERT_OK(fl_models_verify_file(dir, fl_models_find("expo/pnet.tflite"), 0, &one));
	ASSERT_EQ(one.state, FL_MODEL_MISSING);
	ASSERT_EQ(one.size, -1);

	/* Sizes only: the flipped byte goes unnoticed. */
	ASSERT_EQ(fl_models_verify(dir, st, n, FL_MODELS_SIZE_ONLY), 2);

	/* A directory where a file should be is UNREADABLE, not a crash. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/expo/pnet.tflite", dir);
	ASSERT(mkdir(path, 0755) == 0);
	ASSERT_OK(fl_models_verify_file(dir, fl_models_find("expo/pnet.tflite"), 0, &one));
	ASSERT_EQ(one.state, FL_MODEL_UNREADABLE);
	ASSERT_EQ(one.error, FL_EIO);

	/* A folder that does not exist: everything MISSING, not an error. */
	snprintf(path, sizeof(path), "%s/none", dir);
	ASSERT_EQ(fl_models_verify(path, NULL, 0, 0), n);
	ASSERT_EQ(fl_models_verify(NULL, NULL, 0, 0), FL_EINVAL);
	ASSERT_EQ(fl_models_verify_file(dir, NULL, 0, &one), FL_EINVAL);
	free(st);
	rm_rf(dir);
	free(dir);
}

/* Failing each allocation in turn gives FL_ENOMEM or success, never a leak. */
FL_TEST(catalog_verify_alloc_failures)
{
	const char *models = real_models();
	struct fl_model_status one;
	const struct fl_model_info *m = fl_models_find("human/blazeface.json");
	long live = fl_alloc_live();
	int ok = 0;
	for (int k = 1; k <= 8 && !ok; k++) {
		fl_alloc_fail_after(k, 0);
		int rc = fl_models_verify_file(models, m, 0, &one);
		fl_alloc_fail_after(0, 0);
		ASSERT_MSG(rc == 0 || rc == FL_ENOMEM, "failing allocation %d: rc %d", k, rc);
		ASSERT_EQ(fl_alloc_live(), live);
		if (rc == 0) {
			ASSERT_EQ(one.state, FL_MODEL_OK);
			ok = 1;
		}
	}
	ASSERT(ok);
	fl_alloc_fail_after(1, 1);
	ASSERT_EQ(fl_models_verify(models, NULL, 0, 0), FL_ENOMEM);
	fl_alloc_fail_after(0, 0);
	ASSERT_EQ(fl_alloc_live(), live);
}

FL_TEST(catalog_default_dir)
{
	char buf[256];
	setenv("FL_MODELS", "/somewhere/models", 1);
	ASSERT_OK(fl_models_default_dir(buf, sizeof(buf)));
	ASSERT(strcmp(buf, "/somewhere/models") == 0);
	ASSERT_EQ(fl_models_default_dir(buf, 5), FL_ERANGE);
	ASSERT(buf[0] == '\0');
	unsetenv("FL_MODELS");
	/* From a directory with no ./models: the installed share dir. */
	char *dir = make_temp_dir(), cwd[PATH_MAX];
	ASSERT(getcwd(cwd, sizeof(cwd)));
	ASSERT(chdir(dir) == 0);
	ASSERT_OK(fl_models_default_dir(buf, sizeof(buf)));
	ASSERT_STR_CONTAINS(buf, "share/faceline/models");
	ASSERT(mkdir("models", 0755) == 0);
	ASSERT_OK(fl_models_default_dir(buf, sizeof(buf)));
	ASSERT(strcmp(buf, "models") == 0);
	ASSERT(chdir(cwd) == 0);
	rm_rf(dir);
	free(dir);
	ASSERT_EQ(fl_models_default_dir(NULL, 0), FL_EINVAL);
}
