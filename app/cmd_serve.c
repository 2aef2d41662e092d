/*
** cmd_serve.c -- `faceline serve --data DIR`: the HTTP job service.  Creates
** DIR, DIR/uploads and DIR/results, opens the job store (DIR/faceline.db),
** starts the analysis workers and the HTTP server (src/svc), prints the
** URL, and runs until SIGTERM or SIGINT; then it stops the server (no new
** requests), stops the workers gracefully (running jobs are released back
** to the queue) and closes the store.
**
** Unlike the other commands this one uses the service's internal headers
** (src/svc/svc.h, src/store/store.h): the service is part of the
** faceline program, not of the library's public API.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "faceline/fl.h"
#include "svc/svc.h"

static void serve_usage(FILE *f)
{
	fprintf(f,
	        "usage: faceline serve --data DIR [--listen HOST:PORT] [--workers N] [--threads N]\n"
	        "                      [--token-file F] [--allowed-root DIR] [--max-upload BYTES]\n"
	        "                      [--max-attempts N] [--webhook-loopback] [--models DIR]\n"
	        "  An HTTP job service (docs/service.md): POST a video to /v1/jobs, poll /v1/jobs/ID,\n"
	        "  fetch /v1/jobs/ID/result; the dashboard is at /, Prometheus metrics at /metrics.\n"
	        "  --data DIR          the job database, uploads and results (created if missing)\n"
	        "  --listen HOST:PORT  default 127.0.0.1:8080 (port 0: any free port; [::1]:PORT for IPv6)\n"
	        "  --workers N         analyses run at the same time (default 1)\n"
	        "  --threads N         threads per analysis (default: the CPUs / workers)\n"
	        "  --token-file F      bearer token clients must send (else $FACELINE_TOKEN); required\n"
	        "                      when HOST is not a loopback address\n"
	        "  --allowed-root DIR  JSON {\"path\": ...} jobs may name files under DIR (off by default)\n"
	        "  --max-upload BYTES  largest upload (suffix K, M, G; default 4G)\n"
	        "  --max-attempts N    attempts before a job is dead (default 3)\n"
	        "  --webhook-loopback  allow webhooks to loopback addresses\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "123", "10K", "50M", "4G" -> bytes. */
static int parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v > 0))
		return -1;
	double mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024.0, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024.0 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024.0 * 1024 * 1024, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * mul < 1 || v * mul > 9.0e18)
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

/* The token from a file: first line, surrounding white space removed. */
static char *read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "faceline serve: cannot read the token file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char buf[1024];
	char *line = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!line)
		buf[0] = '\0';
	char *p = buf;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	if (!n) {
		fprintf(stderr, "faceline serve: the token file %s is empty\n", path);
		return NULL;
	}
	return strdup(p);
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST) {
		struct stat sb;
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;
		fprintf(stderr, "faceline serve: %s exists and is not a directory\n", path);
		return -1;
	}
	fprintf(stderr, "faceline serve: cannot create %s: %s\n", path, strerror(errno));
	return -1;
}

int cmd_serve(int argc, char **argv)
{
	struct fl_svc_config cfg = fl_svc_default_config();
	const char *token_file = NULL;
	char *token = NULL;
	int rc = FL_EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			serve_usage(stdout);
			return FL_EXIT_OK;
		} else if (!strcmp(a, "--webhook-loopback")) {
			cfg.webhook_loopback = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "faceline serve: %s needs a value\n", a);
			serve_usage(stderr);
			return FL_EXIT_USAGE;
		}
		i++;
		if (!strcmp(a, "--data"))
			cfg.data_dir = v;
		else if (!strcmp(a, "--listen"))
			cfg.listen = v;
		else if (!strcmp(a, "--workers") && parse_long(v, 1, 64, &n) == 0)
			cfg.workers = (int)n;
		else if (!strcmp(a, "--threads") && parse_long(v, 1, 256, &n) == 0)
			cfg.threads_per_job = (int)n;
		else if (!strcmp(a, "--token-file"))
			token_file = v;
		else if (!strcmp(a, "--allowed-root"))
			cfg.allowed_root = v;
		else if (!strcmp(a, "--max-upload") && parse_size(v, &cfg.max_upload) == 0)
			;
		else if (!strcmp(a, "--max-attempts") && parse_long(v, 1, 100, &n) == 0)
			cfg.max_attempts = (int)n;
		else if (!strcmp(a, "--models"))
			cfg.models_dir = v;
		else if (!strcmp(a, "--lease") && parse_long(v, 1, 3600, &n) == 0)
			cfg.lease_s = (double)n; /* undocumented: the crash test's short lease */
		else {
			fprintf(stderr, "faceline serve: bad option or value: %s %s\n", a, v);
			serve_usage(stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (!cfg.data_dir) {
		fprintf(stderr, "faceline serve: --data DIR is required\n");
		serve_usage(stderr);
		return FL_EXIT_USAGE;
	}
	if (token_file) {
		token = read_token(token_file);
		if (!token)
			return FL_EXIT_MISSING;
	} else if (getenv("FACELINE_TOKEN") && *getenv("FACELINE_TOKEN")) {
		token = strdup(getenv("FACELINE_TOKEN"));
	}
	cfg.token = token;

	char uploads[4096], results[4096];
	snprintf(uploads, sizeof(uploads), "%s/uploads", cfg.data_dir);
	snprintf(results, sizeof(results), "%s/results", cfg.data_dir);
	if (make_dir(cfg.data_dir) < 0 || make_dir(uploads) < 0 || make_dir(results) < 0) {
		free(token);
		return FL_EXIT_MISSING;
	}

	/* SIGINT/SIGTERM are taken by sigwait below: block them before any
	** thread starts so every thread inherits the mask.  A client that
	** goes away must not kill the server with SIGPIPE. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	char err[1024] = "";
	struct fl_store *st = NULL;
	struct fl_workers *w = NULL;
	struct fl_server *srv = NULL;
	int s = fl_store_open(cfg.data_dir, &st, err, sizeof(err));
	if (s < 0) {
		fprintf(stderr, "faceline serve: %s\n", err);
		rc = fl_exit_from_status(s);
		goto out;
	}
	s = fl_workers_start(&cfg, st, &w, err, sizeof(err));
	if (s < 0) {
		fprintf(stderr, "faceline serve: %s\n", err);
		rc = fl_exit_from_status(s);
		goto out;
	}
	s = fl_server_start(&cfg, st, w, &srv, err, sizeof(err));
	if (s < 0) {
		fprintf(stderr, "faceline serve: %s\n", err);
		rc = s == FL_EINVAL ? FL_EXIT_USAGE : fl_exit_from_status(s);
		goto out;
	}
	const char *listen_addr = cfg.listen ? cfg.listen : "127.0.0.1:8080";
	const char *colon = listen_addr[0] == '[' ? strstr(listen_addr, "]:") + 1 : strrchr(listen_addr, ':');
	printf("faceline serve: http://%.*s:%d/ (data %s, %d worker%s%s)\n", (int)(colon - listen_addr), listen_addr,
	       fl_server_port(srv), cfg.data_dir, cfg.workers, cfg.workers == 1 ? "" : "s",
	       token ? ", bearer token required" : "");
	fflush(stdout);

	int sig = 0;
	sigwait(&sigs, &sig);
	fprintf(stderr, "faceline serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = FL_EXIT_OK;
out:
	fl_server_stop(srv);
	if (w)
		fl_workers_stop(w, 1);
	fl_store_close(st);
	free(token);
	return rc;
}
