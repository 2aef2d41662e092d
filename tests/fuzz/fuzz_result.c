/*
** fuzz_result.c -- libFuzzer target for the result JSON v1 reader
** (fl_result_load_json through its in-memory entry fl__result_load_buffer)
** and the writers fed from what it accepts.
**
** An input is the JSON text.  Every input must end in success or a clean
** error (FL_ECORRUPT / FL_ENOMEM with a message).  A loaded result must
** also survive the outputs: it is written back as JSON, which must load
** again and write the same text (the reader accepts whatever the writer
** makes, and load+save is idempotent), and rendered as WebVTT, SubRip,
** CSV and an HTML report without video into a private folder under
** /dev/shm (memory, so the fsyncs cost nothing).
**
** Build and run: make fuzz (FUZZ_TIME=60); alone:
**   build-fuzz/fuzz_result -max_total_time=60 build-fuzz/corpus-fuzz_result tests/fuzz/corpus/result
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faceline/fl_render.h"
#include "render/render_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* r as JSON text in a malloc'd buffer (NULL when writing fails). */
static char *to_json(const struct fl_result *r, size_t *n)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, n);
	if (!f)
		return NULL;
	int rc = fl_result_write_json(r, f);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char dir[64];

/* Remove the outputs and their folder when the fuzzer exits. */
static void cleanup(void)
{
	static const char *const names[] = {"out.vtt", "out.srt", "out.csv", "out.html"};
	char path[128];
	if (strcmp(dir, "/tmp") == 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "", path[128];
	struct fl_result *r = NULL, *r2 = NULL;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/fl_fuzz_result_XXXXXX");
		if (!mkdtemp(dir))
			snprintf(dir, sizeof(dir), "/tmp");
		atexit(cleanup);
		fl_log_set_level(FL_LOG_ERROR);
	}
	int rc = fl__result_load_buffer((const char *)data, size, "fuzz.json", &r, err, sizeof(err));
	if (rc < 0) {
		if (r || (rc != FL_ECORRUPT && rc != FL_ENOMEM) || !err[0]) {
			fprintf(stderr, "bad failure: %d (%s) r=%p\n", rc, err, (void *)r);
			abort();
		}
		return 0;
	}

	/* Write, load the text written, write again: the same text. */
	size_t n1 = 0, n2 = 0;
	char *j1 = to_json(r, &n1);
	if (!j1)
		abort();
	rc = fl__result_load_buffer(j1, n1, "rewritten.json", &r2, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "the reader refuses what the writer wrote: %s\n%s\n", err, j1);
		abort();
	}
	char *j2 = to_json(r2, &n2);
	if (!j2 || n1 != n2 || memcmp(j1, j2, n1) != 0) {
		fprintf(stderr, "load+save is not idempotent:\n%s\n---\n%s\n", j1, j2 ? j2 : "(null)");
		abort();
	}
	free(j1);
	free(j2);
	fl_result_destroy(r2);

	/* The text outputs and the report must take any loaded result. */
	snprintf(path, sizeof(path), "%s/out.vtt", dir);
	if (fl_render_vtt(r, path, err, sizeof(err)) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/out.srt", dir);
	if (fl_render_srt(r, path, err, sizeof(err)) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/out.csv", dir);
	if (fl_render_csv(r, path, err, sizeof(err)) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/out.html", dir);
	if (fl_render_report(r, NULL, path, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "report failed: %s\n", err);
		abort();
	}
	fl_result_destroy(r);
	return 0;
}
