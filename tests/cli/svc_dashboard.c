/*
** svc_dashboard.c -- the dashboard of `faceline serve` in a real browser:
** tools/browser/dashboard-check.mjs drives headless Chromium (playwright-core)
** against a server started here, uploads a generated two-person clip
** through the page's form, records the progress bar while the job runs,
** and checks the person timeline (one row per person) and thumbnails.
** Screenshots are kept in the data directory, named in the output.
** Skipped when node, playwright-core (make browser) or chromium is missing.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

/* Shared with svc_http.c (same test binary). */
struct svct_server {
	pid_t pid;
	int port;
	char dir[PATH_MAX];
	char base[64];
	char token[64];
};
void svct_require(void);
void svct_make_video(const char *out, double seconds, int two_people);
void svct_tmpdir(char *out, size_t n);
int svct_start(struct svct_server *srv, const char *const *env, const char *const *extra);
int svct_stop(struct svct_server *srv, int sig);

FL_TEST_T(svc_dashboard, 300)
{
	svct_require();
	const char *script = fl_test_path("tools/browser/dashboard-check.mjs");
	char script_copy[PATH_MAX];
	snprintf(script_copy, sizeof(script_copy), "%s", script);
	if (access(fl_test_path("tools/browser/node_modules/playwright-core/package.json"), R_OK) != 0)
		FL_SKIP("playwright-core not installed (make browser)");
	const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
	if (access(chromium, X_OK) != 0)
		FL_SKIP("chromium not installed");
	if (system("node --version >/dev/null 2>&1") != 0)
		FL_SKIP("node not installed");

	struct svct_server srv = {0};
	svct_tmpdir(srv.dir, sizeof(srv.dir));
	char video[PATH_MAX + 16];
	snprintf(video, sizeof(video), "%s/two-people.mp4", srv.dir);
	/* Long enough (200 frames analysed, several seconds) for a few
	** progress readings at the page's one poll per second. */
	svct_make_video(video, 20, 1);
	const char *extra[] = {"--workers", "1", "--threads", "1", NULL};
	ASSERT_EQ(svct_start(&srv, NULL, extra), 0);

	char cmd[4 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof(cmd), "node '%s' '%s' '%s' '%s' --persons 2 --fps 10 2>&1", script_copy, srv.base, video, srv.dir);
	int rc = fl_test_capture(cmd, &out);
	svct_stop(&srv, SIGTERM);
	ASSERT_MSG(rc == 0, "dashboard check failed (exit %d), screenshots in %s:\n%s", rc, srv.dir, out);
	/* The last line is the JSON report: progress readings went up through
	** values strictly between 0 and 100. */
	const char *line = strstr(out, "{\"ok\"");
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;
	ASSERT_MSG(j, "no JSON report:\n%s", out);
	ASSERT(json_is_true(json_object_get(j, "ok")));
	ASSERT_EQ(json_integer_value(json_object_get(j, "persons")), 2);
	ASSERT(json_array_size(json_object_get(j, "progress")) >= 3);
	fprintf(stderr, "  progress readings: ");
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(j, "progress"), i, v)
		fprintf(stderr, "%s%.1f", i ? " " : "", json_number_value(v));
	fprintf(stderr, "\n  screenshots: %s/dashboard-running.png, %s/dashboard-done.png\n", srv.dir, srv.dir);
	json_decref(j);
	free(out);
}
