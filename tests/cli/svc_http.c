/*
** svc_http.c -- end-to-end tests of `faceline serve`: the built command is
** started on 127.0.0.1 port 0 in a temporary data directory and driven over
** HTTP with libcurl (and raw sockets for the slow-header attack).
**
**   svc_http_jobs     raw and multipart uploads of a real short video (a
**                     face photo from testdata/dlib/johns composed into a
**                     clip by ffmpeg) run to "succeeded"; result, persons_only,
**                     track pagination, thumbnail JPEG, idempotency key,
**                     cancel, list with state filter and cursor, metrics
**   svc_http_hostile  oversize bodies (413, nothing left in uploads/),
**                     slowloris headers (closed by the server's timeout),
**                     path traversal and symlink escape, malformed JSON and
**                     multipart, not-a-video, unknown routes and methods,
**                     huge headers (431), 1000 concurrent status polls
**   svc_http_token    bearer token: missing/wrong -> 401, right -> 200; a
**                     non-loopback listen address without a token is refused
**   svc_http_crash    kill -9 during an analysis, restart with a short lease:
**                     the job completes with exactly one result and an upload
**                     acknowledged before the kill is processed too
**
** The helpers svct_* are shared with svc_dashboard.c (same test binary).
** Skipped when the command, the models or the test photos are missing.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* =============================================================== helpers */

struct svct_server {
	pid_t pid;
	int port;
	char dir[PATH_MAX];   /* data directory */
	char base[64];        /* http://127.0.0.1:PORT */
	char token[64];       /* sent as a bearer token when not empty */
};

struct svct_resp {
	long status;
	char *body;
	size_t len;
	char ctype[128];
	char allow[128];
	char www_auth[128];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Skip unless the command, the models and ffmpeg are there. */
void svct_require(void);
void svct_require(void)
{
	fl_test_faceline();
	if (access(fl_test_path("models/human/blazeface.json"), R_OK) != 0)
		FL_SKIP("models not fetched (make models)");
	if (access(fl_test_path("testdata/dlib/johns/John_Salley"), R_OK) != 0)
		FL_SKIP("testdata/dlib not fetched (tools/fetch-testdata.sh)");
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("ffmpeg not installed");
}

/*
** A test clip: `seconds` of a johns face photo on a grey 320x240 canvas,
** sliding slowly (so frames differ), 10 frames/s H.264.  With two_people, a
** second person appears beside the first after a third of the clip.
*/
void svct_make_video(const char *out, double seconds, int two_people);
void svct_make_video(const char *out, double seconds, int two_people)
{
	char a[PATH_MAX], b[PATH_MAX], cmd[4 * PATH_MAX];
	snprintf(a, sizeof(a), "%s", fl_test_path("testdata/dlib/johns/John_Salley/000179_02159509.jpg"));
	DIR *d = opendir(fl_test_path("testdata/dlib/johns/John_Simm"));
	ASSERT(d);
	struct dirent *e;
	b[0] = '\0';
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".jpg") && !b[0])
			snprintf(b, sizeof(b), "%s/%s", fl_test_path("testdata/dlib/johns/John_Simm"), e->d_name);
	closedir(d);
	ASSERT(b[0]);
	if (two_people)
		snprintf(cmd, sizeof(cmd),
		         "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0x808080:s=480x240:r=10 -loop 1 -i '%s' "
		         "-loop 1 -i '%s' -filter_complex "
		         "\"[0][1]overlay=x='20+10*t':y=45[v1];[v1][2]overlay=x=300:y=45:enable='gte(t,%.2f)'\" "
		         "-t %.2f -r 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p '%s'",
		         a, b, seconds / 3, seconds, out);
	else
		snprintf(cmd, sizeof(cmd),
		         "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0x808080:s=320x240:r=10 -loop 1 -i '%s' "
		         "-filter_complex \"[0][1]overlay=x='60+10*t':y=45\" -t %.2f -r 10 -c:v libx264 -preset ultrafast "
		         "-pix_fmt yuv420p '%s'",
		         a, seconds, out);
	ASSERT_MSG(system(cmd) == 0, "ffmpeg failed: %s", cmd);
}

/* A fresh temporary directory. */
void svct_tmpdir(char *out, size_t n);
void svct_tmpdir(char *out, size_t n)
{
	snprintf(out, n, "/tmp/fl-svc-XXXXXX");
	ASSERT(mkdtemp(out));
}

/*
** Start `faceline serve --data srv->dir --listen 127.0.0.1:0 EXTRA...` (NULL
** ended), with optional environment assignments env ("K=V", NULL ended).
** Reads the URL line from its stdout.  The server dies with the test
** (PR_SET_PDEATHSIG).  Returns 0, or its exit status if it refused to start.
*/
int svct_start(struct svct_server *srv, const char *const *env, const char *const *extra);
int svct_start(struct svct_server *srv, const char *const *env, const char *const *extra)
{
	const char *bin = fl_test_faceline();
	int pfd[2];
	ASSERT(pipe(pfd) == 0);
	char logp[PATH_MAX + 16];
	snprintf(logp, sizeof(logp), "%s/serve.log", srv->dir);
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (lfd >= 0)
			dup2(lfd, 2);
		setenv("FL_MODELS", fl_test_path("models"), 1);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		const char *argv[32] = {bin, "serve", "--data", srv->dir, "--listen", "127.0.0.1:0"};
		int k = 6;
		for (int i = 0; extra && extra[i] && k < 31; i++)
			argv[k++] = extra[i];
		argv[k] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	srv->pid = pid;
	char line[512];
	size_t n = 0;
	double t0 = now_s();
	while (n < sizeof(line) - 1 && now_s() - t0 < 30) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t r = read(pfd[0], line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(pfd[0]);
	const char *u = strstr(line, "http://127.0.0.1:");
	if (!u) {
		int st = 0;
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		srv->pid = 0;
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	srv->port = atoi(u + strlen("http://127.0.0.1:"));
	snprintf(srv->base, sizeof(srv->base), "http://127.0.0.1:%d", srv->port);
	return 0;
}

/* SIGTERM (graceful) or SIGKILL; waits.  Returns the exit status (-signal). */
int svct_stop(struct svct_server *srv, int sig);
int svct_stop(struct svct_server *srv, int sig)
{
	if (srv->pid <= 0)
		return 0;
	kill(srv->pid, sig);
	int st = 0;
	double t0 = now_s();
	while (waitpid(srv->pid, &st, WNOHANG) == 0) {
		if (now_s() - t0 > 30) {
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, &st, 0);
			break;
		}
		usleep(20000);
	}
	srv->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct svct_resp *r = ud;
	size_t k = size * n;
	char *b = realloc(r->body, r->len + k + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, p, k);
	r->body = b;
	r->len += k;
	b[r->len] = '\0';
	return k;
}

static void copy_header(char *dst, size_t n, const char *line, size_t len)
{
	const char *v = memchr(line, ':', len);
	if (!v)
		return;
	v++;
	while (*v == ' ')
		v++;
	size_t k = (size_t)(line + len - v);
	while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
		k--;
	if (k >= n)
		k = n - 1;
	memcpy(dst, v, k);
	dst[k] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct svct_resp *r = ud;
	size_t k = size * n;
	if (!strncasecmp(p, "Content-Type:", 13))
		copy_header(r->ctype, sizeof(r->ctype), p, k);
	else if (!strncasecmp(p, "Allow:", 6))
		copy_header(r->allow, sizeof(r->allow), p, k);
	else if (!strncasecmp(p, "WWW-Authenticate:", 17))
		copy_header(r->www_auth, sizeof(r->www_auth), p, k);
	return k;
}

void svct_resp_free(struct svct_resp *r);
void svct_resp_free(struct svct_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/*
** One request.  body: bytes (len) or, with file, the file streamed from
** disk; mime_file: a multipart upload of that file as field "video" plus
** form "field=value" pairs in form (NULL ended).  hdrs: extra headers
** (NULL ended).  The token is sent when srv->token is set.
*/
struct svct_req {
	const char *method, *path;
	const char *const *hdrs;
	const char *body;
	size_t len;
	const char *file;       /* raw body from this file */
	const char *mime_file;  /* multipart upload of this file */
	const char *const *form;
	int chunked;
};

void svct_http(const struct svct_server *srv, const struct svct_req *q, struct svct_resp *r);
void svct_http(const struct svct_server *srv, const struct svct_req *q, struct svct_resp *r)
{
	memset(r, 0, sizeof(*r));
	CURL *c = curl_easy_init();
	ASSERT(c);
	char url[1024], auth[128];
	snprintf(url, sizeof(url), "%s%s", srv->base, q->path);
	struct curl_slist *h = NULL;
	for (int i = 0; q->hdrs && q->hdrs[i]; i++)
		h = curl_slist_append(h, q->hdrs[i]);
	if (srv->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", srv->token);
		h = curl_slist_append(h, auth);
	}
	if (q->chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	FILE *f = NULL;
	curl_mime *mime = NULL;
	if (q->mime_file) {
		mime = curl_mime_init(c);
		for (int i = 0; q->form && q->form[i]; i++) {
			char name[64];
			const char *eq = strchr(q->form[i], '=');
			snprintf(name, sizeof(name), "%.*s", (int)(eq - q->form[i]), q->form[i]);
			curl_mimepart *p = curl_mime_addpart(mime);
			curl_mime_name(p, name);
			curl_mime_data(p, eq + 1, CURL_ZERO_TERMINATED);
		}
		curl_mimepart *p = curl_mime_addpart(mime);
		curl_mime_name(p, "video");
		curl_mime_filedata(p, q->mime_file);
		curl_mime_type(p, "video/mp4");
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	} else if (q->file) {
		f = fopen(q->file, "rb");
		ASSERT(f);
		struct stat sb;
		fstat(fileno(f), &sb);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, f);
		if (!q->chunked)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
	} else if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
	}
	if (q->method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		r->status = -(long)rc;
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	curl_mime_free(mime);
	if (f)
		fclose(f);
	if (!r->body)
		r->body = calloc(1, 1);
}

/* GET path -> status, body in r. */
static void get(const struct svct_server *srv, const char *path, struct svct_resp *r)
{
	struct svct_req q = {.path = path};
	svct_http(srv, &q, r);
}

/* Parse the body as JSON (fails the test if it is not). */
json_t *svct_json(const struct svct_resp *r);
json_t *svct_json(const struct svct_resp *r)
{
	json_error_t e;
	json_t *j = json_loads(r->body, 0, &e);
	ASSERT_MSG(j, "not JSON (%s): %.300s", e.text, r->body);
	return j;
}

/* The error code of an error answer. */
static const char *err_code(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* Upload a video raw; returns the new job id (static buffer rotated by caller). */
static void submit_raw(const struct svct_server *srv, const char *video, const char *query, char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/v1/jobs%s", query ? query : "");
	const char *hd[] = {"Content-Type: video/mp4", NULL};
	struct svct_req q = {.method = "POST", .path = path, .hdrs = hd, .file = video};
	struct svct_resp r;
	svct_http(srv, &q, &r);
	ASSERT_MSG(r.status == 201, "upload: %ld %s", r.status, r.body);
	json_t *j = svct_json(&r);
	snprintf(id, 32, "%s", json_string_value(json_object_get(j, "id")));
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(j, "state")), "queued");
	json_decref(j);
	svct_resp_free(&r);
}

/* Poll a job until it is in `want` (or a final state); returns the job. */
json_t *svct_wait(const struct svct_server *srv, const char *id, const char *want, double timeout);
json_t *svct_wait(const struct svct_server *srv, const char *id, const char *want, double timeout)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	double t0 = now_s();
	for (;;) {
		struct svct_resp r;
		get(srv, path, &r);
		ASSERT_MSG(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
		json_t *j = svct_json(&r);
		svct_resp_free(&r);
		const char *st = json_string_value(json_object_get(j, "state"));
		if (!strcmp(st, want))
			return j;
		if (!strcmp(st, "failed") || !strcmp(st, "dead") || !strcmp(st, "canceled") ||
		    (!strcmp(st, "succeeded") && strcmp(want, "succeeded"))) {
			char *txt = json_dumps(j, 0);
			fl_test_fail(__FILE__, __LINE__, "job %s is %s while waiting for %s: %s", id, st, want, txt);
		}
		if (now_s() - t0 > timeout) {
			char *txt = json_dumps(j, 0);
			fl_test_fail(__FILE__, __LINE__, "job %s still %s after %.0f s (want %s): %s", id, st, timeout, want,
			             txt);
		}
		json_decref(j);
		usleep(100000);
	}
}

/* Files in dir whose name contains sub. */
static int count_files(const char *dir, const char *sub)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (!sub || strstr(e->d_name, sub)))
			n++;
	closedir(d);
	return n;
}

/* A metric's value from /metrics text ("name{labels}"); NAN when absent. */
static double metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

void svct_rmrf(const char *dir);
void svct_rmrf(const char *dir)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", dir);
}

/* ================================================================= jobs */

FL_TEST_T(svc_http_jobs, 300)
{
	svct_require();
	struct svct_server srv = {0};
	svct_tmpdir(srv.dir, sizeof(srv.dir));
	char v1[PATH_MAX + 16], v2[PATH_MAX + 16];
	snprintf(v1, sizeof(v1), "%s/one.mp4", srv.dir);
	snprintf(v2, sizeof(v2), "%s/two.mp4", srv.dir);
	svct_make_video(v1, 3, 0);
	svct_make_video(v2, 4.5, 1);
	const char *extra[] = {"--workers", "1", "--threads", "2", NULL};
	ASSERT_EQ(svct_start(&srv, NULL, extra), 0);

	/* Raw body with parameters in the query string, and a multipart form. */
	char a[32], b[32];
	submit_raw(&srv, v1, "?fps=5", a);
	struct svct_resp r;
	const char *form[] = {"fps=5", "gap=1", NULL};
	struct svct_req mq = {.method = "POST", .path = "/v1/jobs", .mime_file = v2, .form = form};
	svct_http(&srv, &mq, &r);
	ASSERT_MSG(r.status == 201, "multipart upload: %ld %s", r.status, r.body);
	json_t *j = svct_json(&r);
	snprintf(b, sizeof(b), "%s", json_string_value(json_object_get(j, "id")));
	ASSERT_NEAR(json_real_value(json_object_get(json_object_get(j, "params"), "gap")), 1.0, 1e-9);
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(j, "video")), "two.mp4"); /* the client's name */
	json_decref(j);
	svct_resp_free(&r);
	ASSERT(strcmp(a, b) != 0);

	/* While the first runs: progress is reported, never above 100 %. */
	json_t *ja = svct_wait(&srv, a, "succeeded", 120);
	ASSERT_NEAR(json_number_value(json_object_get(ja, "percent")), 100, 1e-9);
	ASSERT_EQ(json_integer_value(json_object_get(ja, "attempts")), 1);
	json_decref(ja);
	json_t *jb = svct_wait(&srv, b, "succeeded", 120);
	json_decref(jb);

	/* The whole result: a v1 document with the person. */
	char path[256];
	snprintf(path, sizeof(path), "/v1/jobs/%s/result", a);
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_CONTAINS(r.ctype, "application/json");
	j = svct_json(&r);
	svct_resp_free(&r);
	ASSERT_EQ(json_integer_value(json_object_get(j, "v")), 1);
	ASSERT_EQ(json_array_size(json_object_get(j, "persons")), 1);
	ASSERT(json_array_size(json_object_get(j, "tracks")) >= 1);
	ASSERT(json_integer_value(json_object_get(json_object_get(j, "stats"), "frames_analysed")) >= 14);
	json_decref(j);

	/* Two people: persons_only drops the tracks; pages of one track. */
	snprintf(path, sizeof(path), "/v1/jobs/%s/result?persons_only=1", b);
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 200);
	j = svct_json(&r);
	svct_resp_free(&r);
	size_t n_persons = json_array_size(json_object_get(j, "persons"));
	ASSERT_MSG(n_persons == 2, "want 2 persons, got %zu", n_persons);
	ASSERT(!json_object_get(j, "tracks"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/jobs/%s/result", b);
	get(&srv, path, &r);
	j = svct_json(&r);
	svct_resp_free(&r);
	size_t total = json_array_size(json_object_get(j, "tracks"));
	ASSERT(total >= 2);
	json_decref(j);
	char cursor[64] = "";
	size_t seen = 0;
	int pages = 0;
	for (;;) {
		snprintf(path, sizeof(path), "/v1/jobs/%s/result?limit=1%s%s", b, cursor[0] ? "&cursor=" : "", cursor);
		get(&srv, path, &r);
		ASSERT_MSG(r.status == 200, "%s: %ld %s", path, r.status, r.body);
		j = svct_json(&r);
		svct_resp_free(&r);
		json_t *tr = json_object_get(j, "tracks");
		ASSERT_EQ(json_array_size(tr), 1);
		ASSERT_EQ(json_integer_value(json_object_get(json_array_get(tr, 0), "id")), (long long)seen + 1);
		json_t *page = json_object_get(j, "page");
		ASSERT_EQ(json_integer_value(json_object_get(page, "total_tracks")), (long long)total);
		seen++;
		pages++;
		json_t *next = json_object_get(page, "next_cursor");
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(j);
		ASSERT(pages < 100);
	}
	ASSERT_EQ(seen, total);
	snprintf(path, sizeof(path), "/v1/jobs/%s/result?limit=1&cursor=bogus", b);
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 400);
	svct_resp_free(&r);

	/* A thumbnail is a JPEG; an unknown person is 404. */
	snprintf(path, sizeof(path), "/v1/jobs/%s/thumbnail/2", b);
	get(&srv, path, &r);
	ASSERT_MSG(r.status == 200, "thumbnail: %ld %s", r.status, r.body);
	ASSERT_STR_CONTAINS(r.ctype, "image/jpeg");
	ASSERT(r.len > 500 && (unsigned char)r.body[0] == 0xFF && (unsigned char)r.body[1] == 0xD8);
	svct_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/jobs/%s/thumbnail/9", b);
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 404);
	svct_resp_free(&r);

	/* Idempotency-Key: the same key gives the same job, and no second copy. */
	char updir[PATH_MAX + 16];
	snprintf(updir, sizeof(updir), "%s/uploads", srv.dir);
	int n_up = count_files(updir, NULL);
	const char *hd[] = {"Content-Type: video/mp4", "Idempotency-Key: test-key-1", NULL};
	struct svct_req iq = {.method = "POST", .path = "/v1/jobs", .hdrs = hd, .file = v1};
	svct_http(&srv, &iq, &r);
	ASSERT_EQ(r.status, 201);
	j = svct_json(&r);
	svct_resp_free(&r);
	char k1[32];
	snprintf(k1, sizeof(k1), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	svct_http(&srv, &iq, &r);
	ASSERT_MSG(r.status == 200, "replayed key: %ld %s", r.status, r.body);
	j = svct_json(&r);
	svct_resp_free(&r);
	ASSERT_MSG(!strcmp(k1, json_string_value(json_object_get(j, "id"))), "same key, other job");
	json_decref(j);
	ASSERT_EQ(count_files(updir, NULL), n_up + 1);
	json_decref(svct_wait(&srv, k1, "succeeded", 120));

	/* Cancel: a queued job (behind a running one) becomes canceled; a
	** finished one cannot be canceled; a canceled one has no result. */
	char c1[32], c2[32];
	submit_raw(&srv, v2, "?fps=10", c1);
	submit_raw(&srv, v1, NULL, c2);
	snprintf(path, sizeof(path), "/v1/jobs/%s", c2);
	struct svct_req dq = {.method = "DELETE", .path = path};
	svct_http(&srv, &dq, &r);
	ASSERT_MSG(r.status == 200 || r.status == 202, "cancel: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	json_decref(svct_wait(&srv, c2, "canceled", 30));
	snprintf(path, sizeof(path), "/v1/jobs/%s/result", c2);
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 410);
	svct_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/jobs/%s", a);
	dq.path = path;
	svct_http(&srv, &dq, &r);
	ASSERT_EQ(r.status, 409);
	j = svct_json(&r);
	ASSERT_STR_CONTAINS(err_code(j), "finished");
	json_decref(j);
	svct_resp_free(&r);
	json_decref(svct_wait(&srv, c1, "succeeded", 120));

	/* List: 4 succeeded (a, b, k1, c1) in pages of 3, newest first; 1 canceled. */
	get(&srv, "/v1/jobs?state=succeeded&limit=3", &r);
	ASSERT_EQ(r.status, 200);
	j = svct_json(&r);
	svct_resp_free(&r);
	ASSERT_EQ(json_array_size(json_object_get(j, "jobs")), 3);
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(json_array_get(json_object_get(j, "jobs"), 0), "id")), c1);
	char lpath[256];
	snprintf(lpath, sizeof(lpath), "/v1/jobs?state=succeeded&limit=3&cursor=%s",
	         json_string_value(json_object_get(j, "next_cursor")));
	json_decref(j);
	get(&srv, lpath, &r);
	ASSERT_EQ(r.status, 200);
	j = svct_json(&r);
	svct_resp_free(&r);
	ASSERT_EQ(json_array_size(json_object_get(j, "jobs")), 1);
	ASSERT(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);
	get(&srv, "/v1/jobs?state=canceled", &r);
	j = svct_json(&r);
	svct_resp_free(&r);
	ASSERT_EQ(json_array_size(json_object_get(j, "jobs")), 1);
	json_decref(j);
	get(&srv, "/v1/jobs?state=bogus", &r);
	ASSERT_EQ(r.status, 400);
	svct_resp_free(&r);

	/* Metrics: Prometheus text that counts what happened. */
	get(&srv, "/metrics", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_CONTAINS(r.ctype, "text/plain");
	ASSERT_EQ(metric(r.body, "faceline_jobs{state=\"succeeded\"}"), 4);
	ASSERT_EQ(metric(r.body, "faceline_jobs{state=\"canceled\"}"), 1);
	ASSERT_EQ(metric(r.body, "faceline_queue_depth"), 0);
	ASSERT(metric(r.body, "faceline_frames_analysed_total") >= 40);
	ASSERT(metric(r.body, "faceline_stage_seconds_total{stage=\"detect\"}") > 0);
	double ratio = metric(r.body, "faceline_worker_busy_ratio");
	ASSERT(ratio > 0 && ratio <= 1);
	ASSERT_EQ(metric(r.body, "faceline_http_requests_total{route=\"/v1/jobs\",code=\"201\"}"), 5);
	ASSERT_EQ(metric(r.body, "faceline_http_requests_total{route=\"/v1/jobs/{id}/result\",code=\"410\"}"), 1);
	/* Every sample line is "name[{labels}] number". */
	for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		char *sp = strrchr(line, ' '), *end;
		ASSERT_MSG(sp && !strncmp(line, "faceline_", 9), "bad line: %s", line);
		strtod(sp + 1, &end);
		ASSERT_MSG(*end == '\0', "bad value: %s", line);
	}
	svct_resp_free(&r);

	/* Graceful stop: exit status 0. */
	ASSERT_EQ(svct_stop(&srv, SIGTERM), 0);
	svct_rmrf(srv.dir);
}

/* ============================================================== hostile */

struct poller {
	const struct svct_server *srv;
	const char *path;
	int ok, n;
};

static void *poll_main(void *arg)
{
	struct poller *p = arg;
	CURL *c = curl_easy_init();
	char url[256];
	snprintf(url, sizeof(url), "%s%s", p->srv->base, p->path);
	for (int i = 0; i < p->n && c; i++) {
		struct svct_resp r;
		memset(&r, 0, sizeof(r));
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		long status = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200 && r.body && strstr(r.body, "\"state\""))
			p->ok++;
		free(r.body);
	}
	curl_easy_cleanup(c);
	return NULL;
}

/* Send headers a few bytes at a time; returns seconds until the server closed. */
static double slowloris(int port, double give_up)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	const char *start = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	ASSERT(send(fd, start, strlen(start), MSG_NOSIGNAL) > 0);
	double t0 = now_s();
	while (now_s() - t0 < give_up) {
		if (send(fd, "X-a: b\r\n", 8, MSG_NOSIGNAL) < 0)
			break;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 250) > 0) {
			char buf[256];
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
		}
	}
	close(fd);
	return now_s() - t0;
}

FL_TEST_T(svc_http_hostile, 300)
{
	svct_require();
	struct svct_server srv = {0};
	svct_tmpdir(srv.dir, sizeof(srv.dir));
	char root[PATH_MAX + 16], video[PATH_MAX + 32], big[PATH_MAX + 16], junk[PATH_MAX + 16], lnk[PATH_MAX + 32];
	snprintf(root, sizeof(root), "%s/root", srv.dir);
	ASSERT(mkdir(root, 0755) == 0);
	snprintf(video, sizeof(video), "%s/clip.mp4", root);
	svct_make_video(video, 2, 0);
	struct stat sb;
	ASSERT(stat(video, &sb) == 0);
	/* A file of max-upload + 1 bytes; the limit is set just above the clip. */
	snprintf(big, sizeof(big), "%s/big.mp4", srv.dir);
	long limit = (long)sb.st_size + 1000;
	FILE *f = fopen(big, "wb");
	ASSERT(f);
	for (long i = 0; i <= limit; i++)
		fputc((int)(i * 7 & 0xff), f);
	fclose(f);
	snprintf(junk, sizeof(junk), "%s/junk.mp4", srv.dir);
	f = fopen(junk, "wb");
	ASSERT(f);
	for (int i = 0; i < 5000; i++)
		fputc(i * 13 & 0xff, f);
	fclose(f);
	/* Symlinks inside the root pointing out of it. */
	snprintf(lnk, sizeof(lnk), "%s/escape.mp4", root);
	ASSERT(symlink(big, lnk) == 0);
	snprintf(lnk, sizeof(lnk), "%s/etc", root);
	ASSERT(symlink("/etc", lnk) == 0);

	char maxs[32];
	snprintf(maxs, sizeof(maxs), "%ld", limit);
	const char *env[] = {"FL_HTTP_TIMEOUT=2", NULL};
	const char *extra[] = {"--max-upload", maxs, "--allowed-root", root, NULL};
	ASSERT_EQ(svct_start(&srv, env, extra), 0);
	char updir[PATH_MAX + 16];
	snprintf(updir, sizeof(updir), "%s/uploads", srv.dir);
	struct svct_resp r;
	json_t *j;

	/* Oversize: with Content-Length, chunked, and as a form. */
	const char *hv[] = {"Content-Type: video/mp4", NULL};
	struct svct_req q = {.method = "POST", .path = "/v1/jobs", .hdrs = hv, .file = big};
	svct_http(&srv, &q, &r);
	ASSERT_MSG(r.status == 413, "oversize: %ld %s", r.status, r.body);
	j = svct_json(&r);
	ASSERT_STR_CONTAINS(err_code(j), "too_large");
	json_decref(j);
	svct_resp_free(&r);
	q.chunked = 1;
	svct_http(&srv, &q, &r);
	ASSERT_MSG(r.status == 413, "oversize chunked: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	struct svct_req mq = {.method = "POST", .path = "/v1/jobs", .mime_file = big};
	svct_http(&srv, &mq, &r);
	ASSERT_MSG(r.status == 413, "oversize form: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	ASSERT_EQ(count_files(updir, NULL), 0);

	/* Not a video: 415, nothing kept. */
	struct svct_req jq = {.method = "POST", .path = "/v1/jobs", .hdrs = hv, .file = junk};
	svct_http(&srv, &jq, &r);
	ASSERT_MSG(r.status == 415, "junk: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	const char *htext[] = {"Content-Type: text/plain", NULL};
	struct svct_req tq = {.method = "POST", .path = "/v1/jobs", .hdrs = htext, .body = "hello", .len = 5};
	svct_http(&srv, &tq, &r);
	ASSERT_EQ(r.status, 415);
	svct_resp_free(&r);
	ASSERT_EQ(count_files(updir, NULL), 0);

	/* Malformed JSON and multipart; unknown parameters. */
	const char *hj[] = {"Content-Type: application/json", NULL};
	const char *bad_json[] = {"{\"path\": ", "[1,2]", "{\"path\": 5}", "{\"path\":\"clip.mp4\",\"params\":{\"fps\":-1}}",
	                          "{\"path\":\"clip.mp4\",\"nope\":1}", "{\"path\":\"clip.mp4\",\"webhook\":\"ftp://x\"}",
	                          "{\"path\":\"clip.mp4\",\"webhook\":\"http://127.0.0.1:9/\"}", NULL};
	for (int i = 0; bad_json[i]; i++) {
		struct svct_req b = {.method = "POST", .path = "/v1/jobs", .hdrs = hj, .body = bad_json[i],
		                     .len = strlen(bad_json[i])};
		svct_http(&srv, &b, &r);
		ASSERT_MSG(r.status == 400, "%s: %ld %s", bad_json[i], r.status, r.body);
		j = svct_json(&r);
		ASSERT(err_code(j));
		json_decref(j);
		svct_resp_free(&r);
	}
	const char *hm[] = {"Content-Type: multipart/form-data; boundary=XYZ", NULL};
	const char *bad_mp[] = {"no boundary here at all",
	                        "--XYZ\r\nContent-Disposition: form-data; name=\"fps\"\r\n\r\n5\r\n--XYZ--\r\n",
	                        "--XYZ\r\nContent-Disposition: form-data; name=\"video\"; filename=\"a.mp4\"\r\n"
	                        "Content-Type: video/mp4\r\n\r\nshort and cut",
	                        NULL};
	for (int i = 0; bad_mp[i]; i++) {
		struct svct_req b = {.method = "POST", .path = "/v1/jobs", .hdrs = hm, .body = bad_mp[i],
		                     .len = strlen(bad_mp[i])};
		svct_http(&srv, &b, &r);
		ASSERT_MSG(r.status == 400 || r.status == 415, "multipart %d: %ld %s", i, r.status, r.body);
		svct_resp_free(&r);
	}
	const char *hnob[] = {"Content-Type: multipart/form-data", NULL};
	struct svct_req nb = {.method = "POST", .path = "/v1/jobs", .hdrs = hnob, .body = "x", .len = 1};
	svct_http(&srv, &nb, &r);
	ASSERT_EQ(r.status, 400);
	svct_resp_free(&r);
	struct svct_req pq = {.method = "POST", .path = "/v1/jobs?fps=abc", .hdrs = hv, .file = video};
	svct_http(&srv, &pq, &r);
	ASSERT_MSG(r.status == 400, "fps=abc: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	pq.path = "/v1/jobs?colour=blue";
	svct_http(&srv, &pq, &r);
	ASSERT_EQ(r.status, 400);
	svct_resp_free(&r);
	ASSERT_EQ(count_files(updir, NULL), 0);

	/* Path jobs: inside the root yes; "..", absolute paths outside and
	** symlinks out of the root no. */
	char body[PATH_MAX * 2];
	const char *paths_bad[] = {"../big.mp4", "etc/passwd", "escape.mp4", "/etc/passwd", "sub/../../big.mp4", NULL};
	for (int i = 0; paths_bad[i]; i++) {
		snprintf(body, sizeof(body), "{\"path\": \"%s\"}", paths_bad[i]);
		struct svct_req b = {.method = "POST", .path = "/v1/jobs", .hdrs = hj, .body = body, .len = strlen(body)};
		svct_http(&srv, &b, &r);
		ASSERT_MSG(r.status == 403, "%s: %ld %s", paths_bad[i], r.status, r.body);
		svct_resp_free(&r);
	}
	snprintf(body, sizeof(body), "{\"path\": \"%s\"}", big);
	struct svct_req ab = {.method = "POST", .path = "/v1/jobs", .hdrs = hj, .body = body, .len = strlen(body)};
	svct_http(&srv, &ab, &r);
	ASSERT_MSG(r.status == 403, "absolute outside: %ld %s", r.status, r.body);
	svct_resp_free(&r);
	snprintf(body, sizeof(body), "{\"path\": \"clip.mp4\", \"params\": {\"fps\": 5}}");
	struct svct_req ok = {.method = "POST", .path = "/v1/jobs", .hdrs = hj, .body = body, .len = strlen(body)};
	svct_http(&srv, &ok, &r);
	ASSERT_MSG(r.status == 201, "path job: %ld %s", r.status, r.body);
	j = svct_json(&r);
	svct_resp_free(&r);
	char id[32];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "id")));
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(j, "source")), "path");
	json_decref(j);

	/* Unknown routes, wrong methods, unknown jobs. */
	get(&srv, "/v2/jobs", &r);
	ASSERT_EQ(r.status, 404);
	j = svct_json(&r);
	ASSERT_STR_CONTAINS(err_code(j), "not_found");
	json_decref(j);
	svct_resp_free(&r);
	get(&srv, "/v1/jobs/jNOSUCHJOB000000000000", &r);
	ASSERT_EQ(r.status, 404);
	svct_resp_free(&r);
	get(&srv, "/v1/jobs/..%2f..%2fetc%2fpasswd", &r);
	ASSERT_EQ(r.status, 404);
	svct_resp_free(&r);
	struct svct_req mth = {.method = "PUT", .path = "/v1/jobs"};
	svct_http(&srv, &mth, &r);
	ASSERT_EQ(r.status, 405);
	ASSERT_STR_CONTAINS(r.allow, "POST");
	svct_resp_free(&r);
	char jp[128];
	snprintf(jp, sizeof(jp), "/v1/jobs/%s", id);
	mth.method = "PATCH";
	mth.path = jp;
	svct_http(&srv, &mth, &r);
	ASSERT_EQ(r.status, 405);
	ASSERT_STR_CONTAINS(r.allow, "DELETE");
	svct_resp_free(&r);
	mth.method = "POST";
	mth.path = "/metrics";
	svct_http(&srv, &mth, &r);
	ASSERT_EQ(r.status, 405);
	svct_resp_free(&r);

	/* Headers beyond the limit: 431. */
	char *hbig = malloc(100 * 1024);
	ASSERT(hbig);
	strcpy(hbig, "X-Big: ");
	memset(hbig + 7, 'a', 100 * 1024 - 8);
	hbig[100 * 1024 - 1] = '\0';
	const char *hb[] = {hbig, NULL};
	struct svct_req bq = {.path = "/healthz", .hdrs = hb};
	svct_http(&srv, &bq, &r);
	ASSERT_MSG(r.status == 431, "big headers: %ld", r.status);
	svct_resp_free(&r);
	free(hbig);

	/* Slowloris: headers trickling in are cut off by the 2 s timeout. */
	double t = slowloris(srv.port, 20);
	ASSERT_MSG(t >= 1.5 && t < 8, "slow headers: connection open for %.1f s (timeout 2 s)", t);

	/* 1000 concurrent status polls: 50 threads x 20 requests, all 200. */
	struct poller p[50];
	pthread_t th[50];
	for (int i = 0; i < 50; i++) {
		p[i] = (struct poller){&srv, jp, 0, 20};
		ASSERT(pthread_create(&th[i], NULL, poll_main, &p[i]) == 0);
	}
	int okn = 0;
	for (int i = 0; i < 50; i++) {
		pthread_join(th[i], NULL);
		okn += p[i].ok;
	}
	ASSERT_EQ(okn, 1000);

	/* Still up, and the path job ran. */
	get(&srv, "/healthz", &r);
	ASSERT_EQ(r.status, 200);
	svct_resp_free(&r);
	json_decref(svct_wait(&srv, id, "succeeded", 120));
	ASSERT_EQ(count_files(updir, NULL), 0);
	ASSERT_EQ(svct_stop(&srv, SIGTERM), 0);
	svct_rmrf(srv.dir);
}

/* ================================================================ token */

FL_TEST_T(svc_http_token, 120)
{
	svct_require();
	struct svct_server srv = {0};
	svct_tmpdir(srv.dir, sizeof(srv.dir));
	char tf[PATH_MAX + 16];
	snprintf(tf, sizeof(tf), "%s/token", srv.dir);
	FILE *f = fopen(tf, "w");
	ASSERT(f);
	fputs("s3cret-token-0123456789\n", f);
	fclose(f);

	/* Not loopback and no token: refused with a usage error. */
	struct svct_server open_srv = {0};
	snprintf(open_srv.dir, sizeof(open_srv.dir), "%s/other", srv.dir);
	char *out;
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "env -u FACELINE_TOKEN '%s' serve --data '%s' --listen 0.0.0.0:0 2>&1",
	         fl_test_faceline(), open_srv.dir);
	int rc = fl_test_capture(cmd, &out);
	ASSERT_MSG(rc == 1, "exit %d: %s", rc, out);
	ASSERT_STR_CONTAINS(out, "token");
	free(out);

	/* Usage errors: exit 1 with a message; a missing token file: exit 3. */
	const char *bad_args[] = {"", "--workers 2", "--data '%s' --workers 0", "--data '%s' --max-upload 12Q",
	                          "--data '%s' --bogus 1", "--data '%s' --listen 127.0.0.1", NULL};
	for (int i = 0; bad_args[i]; i++) {
		char args[PATH_MAX * 2];
		snprintf(args, sizeof(args), bad_args[i], open_srv.dir);
		snprintf(cmd, sizeof(cmd), "'%s' serve %s 2>&1", fl_test_faceline(), args);
		rc = fl_test_capture(cmd, &out);
		ASSERT_MSG(rc == 1, "serve %s: exit %d: %s", args, rc, out);
		ASSERT_STR_CONTAINS(out, "serve");
		free(out);
	}
	snprintf(cmd, sizeof(cmd), "'%s' serve --data '%s' --token-file '%s/none' 2>&1", fl_test_faceline(),
	         open_srv.dir, srv.dir);
	rc = fl_test_capture(cmd, &out);
	ASSERT_MSG(rc == 3, "missing token file: exit %d: %s", rc, out);
	free(out);

	const char *extra[] = {"--token-file", tf, NULL};
	ASSERT_EQ(svct_start(&srv, NULL, extra), 0);
	struct svct_resp r;
	get(&srv, "/v1/jobs", &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_CONTAINS(r.www_auth, "Bearer");
	json_t *j = svct_json(&r);
	ASSERT_STR_CONTAINS(err_code(j), "unauthorized");
	json_decref(j);
	svct_resp_free(&r);
	get(&srv, "/metrics", &r);
	ASSERT_EQ(r.status, 401);
	svct_resp_free(&r);
	snprintf(srv.token, sizeof(srv.token), "s3cret-token-012345678X");
	get(&srv, "/v1/jobs", &r);
	ASSERT_EQ(r.status, 401);
	svct_resp_free(&r);
	snprintf(srv.token, sizeof(srv.token), "s3cret");
	get(&srv, "/v1/jobs", &r);
	ASSERT_EQ(r.status, 401);
	svct_resp_free(&r);
	snprintf(srv.token, sizeof(srv.token), "s3cret-token-0123456789");
	get(&srv, "/v1/jobs", &r);
	ASSERT_EQ(r.status, 200);
	svct_resp_free(&r);
	get(&srv, "/metrics", &r);
	ASSERT_EQ(r.status, 200);
	svct_resp_free(&r);
	/* The page and the health check are open (the page asks for the token). */
	srv.token[0] = '\0';
	get(&srv, "/healthz", &r);
	ASSERT_EQ(r.status, 200);
	svct_resp_free(&r);
	get(&srv, "/", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_CONTAINS(r.ctype, "text/html");
	ASSERT_STR_CONTAINS(r.body, "app.js");
	svct_resp_free(&r);
	get(&srv, "/app.js", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_CONTAINS(r.body, "/v1/jobs");
	svct_resp_free(&r);
	ASSERT_EQ(svct_stop(&srv, SIGTERM), 0);
	svct_rmrf(srv.dir);
}

/* ================================================================ crash */

FL_TEST_T(svc_http_crash, 300)
{
	svct_require();
	struct svct_server srv = {0};
	svct_tmpdir(srv.dir, sizeof(srv.dir));
	char longv[PATH_MAX + 16], shortv[PATH_MAX + 16];
	snprintf(longv, sizeof(longv), "%s/long.mp4", srv.dir);
	snprintf(shortv, sizeof(shortv), "%s/short.mp4", srv.dir);
	svct_make_video(longv, 40, 0);
	svct_make_video(shortv, 2, 0);
	const char *extra[] = {"--workers", "1", "--lease", "2", "--threads", "1", NULL};
	ASSERT_EQ(svct_start(&srv, NULL, extra), 0);

	/* The long job runs (every frame, the full detector on each, one
	** thread: 400 frames, seconds even on a fast machine, so it is caught
	** mid-way); a second upload is acknowledged while it runs. */
	char a[32], b[32];
	submit_raw(&srv, longv, "?every_frame=1&detect_interval=0", a);
	json_t *j = svct_wait(&srv, a, "running", 60);
	json_decref(j);
	double t0 = now_s();
	for (;;) {
		j = svct_wait(&srv, a, "running", 60);
		long long fr = json_integer_value(json_object_get(j, "frames_analysed"));
		json_decref(j);
		if (fr > 0)
			break;
		ASSERT_MSG(now_s() - t0 < 60, "no progress reported");
		usleep(100000);
	}
	submit_raw(&srv, shortv, NULL, b);
	ASSERT_EQ(svct_stop(&srv, SIGKILL), -SIGKILL);

	/* An upload the crash cut off (never acknowledged) is cleaned up. */
	char stale[PATH_MAX + 64];
	snprintf(stale, sizeof(stale), "%s/uploads/uSTALE.mp4.tmp-AbCdEf", srv.dir);
	FILE *sf = fopen(stale, "w");
	ASSERT(sf);
	fputs("half an upload", sf);
	fclose(sf);

	/* Restart on the same data: the lease runs out, the job runs again. */
	ASSERT_EQ(svct_start(&srv, NULL, extra), 0);
	ASSERT(access(stale, F_OK) != 0);
	j = svct_wait(&srv, a, "succeeded", 180);
	ASSERT_MSG(json_integer_value(json_object_get(j, "attempts")) == 2, "attempts %lld",
	           json_integer_value(json_object_get(j, "attempts")));
	json_decref(j);
	json_decref(svct_wait(&srv, b, "succeeded", 120));

	/* Exactly one result per job, no stray temporary files. */
	char res[PATH_MAX + 16];
	snprintf(res, sizeof(res), "%s/results", srv.dir);
	ASSERT_EQ(count_files(res, a), 1);
	ASSERT_EQ(count_files(res, b), 1);
	ASSERT_EQ(count_files(res, ".tmp"), 0);
	char path[128];
	snprintf(path, sizeof(path), "/v1/jobs/%s/result?persons_only=1", a);
	struct svct_resp r;
	get(&srv, path, &r);
	ASSERT_EQ(r.status, 200);
	j = svct_json(&r);
	ASSERT_EQ(json_array_size(json_object_get(j, "persons")), 1);
	json_decref(j);
	svct_resp_free(&r);
	ASSERT_EQ(svct_stop(&srv, SIGTERM), 0);
	svct_rmrf(srv.dir);
}
