/*
** runner.c -- runs the registered tests (see fl_test.h), each in a forked
** child with a timeout, and prints "N passed, N failed" last.
**
** Usage: fl_tests [-l] [-j N] [SUBSTRING...]
**   -l        list test names
**   SUBSTRING run only tests whose name contains one of them
** Environment: FL_ROOT (data root, default "."), FL_TEST_TIMEOUT_SCALE
** (multiply every timeout, for sanitizer and valgrind builds).
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test {
	const char *name;
	fl_test_fn fn;
	int timeout_s;
};

static struct test *tests;
static int n_tests, cap_tests;

void fl_test_register(const char *name, fl_test_fn fn, int timeout_s)
{
	if (n_tests == cap_tests) {
		cap_tests = cap_tests ? 2 * cap_tests : 64;
		tests = realloc(tests, cap_tests * sizeof(*tests));
		if (!tests)
			abort();
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	tests[n_tests].timeout_s = timeout_s;
	n_tests++;
}

#define EXIT_SKIP 77

void fl_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

void fl_test_skip(const char *why)
{
	fprintf(stderr, "  skipped: %s\n", why);
	fflush(stderr);
	_exit(EXIT_SKIP);
}

const char *fl_test_root(void)
{
	const char *r = getenv("FL_ROOT");
	return r && *r ? r : ".";
}

const char *fl_test_path(const char *rel)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ & 7];
	snprintf(b, sizeof(buf[0]), "%s/%s", fl_test_root(), rel);
	return b;
}

long fl_test_allclose(const float *got, const float *ref, long n, double atol, double rtol, char *msg, size_t msg_size)
{
	long bad = 0, worst = -1;
	double worst_excess = 0;
	for (long i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)ref[i]);
		double tol = atol + rtol * fabs((double)ref[i]);
		if (!(d <= tol)) { /* also catches NaN */
			bad++;
			double ex = isnan(d) ? INFINITY : d - tol;
			if (worst < 0 || ex > worst_excess) {
				worst = i;
				worst_excess = ex;
			}
		}
	}
	if (msg && msg_size) {
		if (bad)
			snprintf(msg, msg_size, "%ld of %ld out of tolerance; worst at %ld: got %.9g want %.9g", bad, n,
			         worst, got[worst], ref[worst]);
		else
			snprintf(msg, msg_size, "all %ld within tolerance", n);
	}
	return bad;
}

void *fl_test_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc(n + 1);
	if (p && fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p) {
		p[n] = 0;
		if (size)
			*size = n;
	}
	return p;
}

const char *fl_test_faceline(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("FL_FACELINE");
	snprintf(path, sizeof(path), "%s", env && *env ? env : fl_test_path("build/faceline"));
	if (access(path, X_OK) != 0)
		fl_test_skip("build/faceline not built");
	return path;
}

int fl_test_capture(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		fl_test_fail(__FILE__, __LINE__, "popen %s failed", cmd);
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				abort();
		}
	}
	buf[n] = 0;
	int st = pclose(p);
	if (!WIFEXITED(st))
		fl_test_fail(__FILE__, __LINE__, "%s: killed (status %d); output:\n%s", cmd, st, buf);
	if (out)
		*out = buf;
	else
		free(buf);
	return WEXITSTATUS(st);
}

static int cmp_test(const void *a, const void *b)
{
	return strcmp(((const struct test *)a)->name, ((const struct test *)b)->name);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run one test in a child; 0 pass, 1 fail, 2 skip. */
static int run_one(const struct test *t, double scale)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	double deadline = now() + t->timeout_s * scale;
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "  timed out after %.0f s\n", t->timeout_s * scale);
			return 1;
		}
		usleep(2000);
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0)
			return 0;
		if (WEXITSTATUS(status) == EXIT_SKIP)
			return 2;
		return 1;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "  killed by signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 1;
}

int main(int argc, char **argv)
{
	int list = 0, n_filters = 0;
	char **filters = calloc(argc, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l"))
			list = 1;
		else
			filters[n_filters++] = argv[i];
	}
	qsort(tests, n_tests, sizeof(*tests), cmp_test);
	double scale = 1;
	if (getenv("FL_TEST_TIMEOUT_SCALE"))
		scale = atof(getenv("FL_TEST_TIMEOUT_SCALE"));
	if (scale <= 0)
		scale = 1;
	int passed = 0, failed = 0, skipped = 0;
	for (int i = 0; i < n_tests; i++) {
		const struct test *t = &tests[i];
		int match = n_filters == 0;
		for (int k = 0; k < n_filters && !match; k++)
			match = strstr(t->name, filters[k]) != NULL;
		if (!match)
			continue;
		if (list) {
			printf("%s\n", t->name);
			continue;
		}
		double t0 = now();
		int r = run_one(t, scale);
		double dt = now() - t0;
		printf("%-4s %-56s %7.2f s\n", r == 0 ? "ok" : r == 2 ? "skip" : "FAIL", t->name, dt);
		fflush(stdout);
		if (r == 0)
			passed++;
		else if (r == 2)
			skipped++;
		else
			failed++;
	}
	free(filters);
	if (list)
		return 0;
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
