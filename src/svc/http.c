/*
** http.c -- the HTTP front of `faceline serve` on libmicrohttpd: the
** daemon and its limits, authentication, dispatch, /healthz, /metrics and
** the embedded dashboard.  The /v1/jobs routes live in http_jobs.c.
**
** Threads: libmicrohttpd runs one thread per connection (MHD_USE_POLL, so
** descriptors above FD_SETSIZE work); handlers only do I/O and quick store
** calls -- analysis runs in the workers (worker.c).  Connection threads run
** at a lower priority (nice + FL__HTTP_NICE) so that heavy polling takes
** little CPU time from the analyses.
**
** Limits against hostile clients:
**   - at most FL__MAX_CONNS connections, FL__MAX_PER_IP from one address;
**   - request headers: MHD's per-connection memory (FL__CONN_MEMORY); a
**     request whose headers do not fit is answered 431 by libmicrohttpd;
**   - slow headers (slowloris): a request's headers must arrive within the
**     header timeout ($FL_HTTP_TIMEOUT seconds, default 10), counted from
**     the connection's start or the end of its previous request; a
**     watchdog thread shuts such connections down.  An idle connection
**     (no byte for the same time) is closed by libmicrohttpd itself;
**   - bodies: uploads up to cfg->max_upload (413), JSON bodies 64 KiB.
**
** Authentication: with cfg->token set, /v1/... and /metrics need
** "Authorization: Bearer <token>" (401 with WWW-Authenticate otherwise).
** The comparison hashes both sides (SHA-256) and compares the digests with
** CRYPTO_memcmp, so its time depends neither on where they differ nor on
** the length of what was sent.  The dashboard's files and /healthz are
** open (the page asks for the token and sends it itself).
*/
#define _GNU_SOURCE
#include "http_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "faceline/fl_base.h"

#define FL__MAX_CONNS 512
#define FL__MAX_PER_IP 256
#define FL__CONN_MEMORY (64 * 1024)
#define FL__DEFAULT_TIMEOUT 10
#define FL__HTTP_NICE 10 /* added to the nice value of connection threads */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *const route_names[FL__ROUTE_N] = {
	"/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/result", "/v1/jobs/{id}/thumbnail", "/healthz", "/metrics",
	"static", "other",
};

/* ================================================================ replies */

void fl__http_common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

static void count(struct fl_server *s, int route, unsigned status)
{
	if (!s || route < 0 || route >= FL__ROUTE_N || status < FL__CODE_MIN || status >= FL__CODE_MIN + FL__CODE_N)
		return;
	pthread_mutex_lock(&s->mu);
	s->requests[route][status - FL__CODE_MIN]++;
	pthread_mutex_unlock(&s->mu);
}

enum MHD_Result fl__http_queue(struct MHD_Connection *c, struct fl__req *rq, unsigned status,
                               struct MHD_Response *r)
{
	count(rq->srv, rq->route, status);
	return MHD_queue_response(c, status, r);
}

enum MHD_Result fl__http_reply(struct MHD_Connection *c, struct fl__req *rq, unsigned status, const char *ctype,
                               const void *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	fl__http_common_headers(r);
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"faceline\"");
	enum MHD_Result ret = fl__http_queue(c, rq, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result fl__http_reply_json(struct MHD_Connection *c, struct fl__req *rq, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return fl__http_reply(c, rq, 500, "application/json",
		                      "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 53);
	size_t n = strlen(text);
	text[n] = '\n'; /* replaces the NUL: the body ends with a newline for curl users */
	enum MHD_Result ret = fl__http_reply(c, rq, status, "application/json", text, n + 1);
	free(text); /* json_dumps memory is free()-compatible (jansson's documented contract) */
	return ret;
}

enum MHD_Result fl__http_error(struct MHD_Connection *c, struct fl__req *rq, unsigned status, const char *code,
                               const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	return fl__http_reply_json(c, rq, status, j);
}

void fl__req_fail(struct fl__req *rq, int status, const char *code, const char *fmt, ...)
{
	if (rq->err_status)
		return;
	rq->err_status = status;
	snprintf(rq->err_code, sizeof(rq->err_code), "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rq->err_msg, sizeof(rq->err_msg), fmt, ap);
	va_end(ap);
}

/* ===================================================== slow-header watchdog */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct fl_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct fl__conn *k = fl_calloc(1, sizeof(*k));
		if (!k)
			return; /* unwatched: MHD's idle timeout still applies */
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k->fd = ci ? ci->connect_fd : -1;
		k->since = now_s();
		pthread_mutex_lock(&s->mu);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_mutex_unlock(&s->mu);
		*socket_context = k;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* libmicrohttpd calls this before it closes the socket, so the
		** watchdog (which shuts down under the same mutex) never touches
		** a descriptor that was closed and reused. */
		struct fl__conn *k = *socket_context;
		if (!k)
			return;
		pthread_mutex_lock(&s->mu);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->mu);
		fl_free(k);
		*socket_context = NULL;
	}
}

static void conn_mark(struct fl_server *s, struct MHD_Connection *c, int in_request)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct fl__conn *k = ci ? ci->socket_context : NULL;
	if (!k)
		return;
	if (in_request && !k->niced) {
		/* This is the connection's own thread (one per connection):
		** lower its priority so that a flood of requests slows the
		** analyses as little as possible; the answers only wait when
		** the CPUs are busy. */
		pid_t tid = (pid_t)syscall(SYS_gettid);
		errno = 0;
		int prio = getpriority(PRIO_PROCESS, (id_t)tid);
		if (errno == 0)
			setpriority(PRIO_PROCESS, (id_t)tid, prio + FL__HTTP_NICE > 19 ? 19 : prio + FL__HTTP_NICE);
		k->niced = 1;
	}
	pthread_mutex_lock(&s->mu);
	k->in_request = in_request;
	k->since = now_s();
	pthread_mutex_unlock(&s->mu);
}

static void *watchdog_main(void *arg)
{
	struct fl_server *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		double t = now_s();
		for (struct fl__conn *k = s->conns; k; k = k->next) {
			if (!k->in_request && k->fd >= 0 && t - k->since > s->header_timeout) {
				shutdown(k->fd, SHUT_RDWR); /* MHD sees EOF and closes it */
				k->fd = -1;
			}
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ========================================================= authentication */

static int authorized(struct fl_server *s, struct MHD_Connection *c)
{
	if (!s->token)
		return 1;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)h, strlen(h), a);
	SHA256((const unsigned char *)s->token, strlen(s->token), b);
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* ================================================================ metrics */

static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	if (!*buf)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		size_t ncap = (*cap + (size_t)n) * 2;
		char *nb = fl_realloc(*buf, ncap);
		if (!nb) {
			fl_free(*buf);
			*buf = NULL;
			return;
		}
		*buf = nb;
		*cap = ncap;
	}
}

static enum MHD_Result reply_metrics(struct MHD_Connection *c, struct fl__req *rq)
{
	struct fl_server *s = rq->srv;
	int64_t counts[FL_JOB_STATE_N] = {0};
	int rc = fl_store_counts(s->st, counts);
	if (rc < 0)
		return fl__http_error(c, rq, 500, "store", "cannot count jobs: %s", fl_store_errmsg(s->st));
	struct fl_worker_stats ws;
	memset(&ws, 0, sizeof(ws));
	if (s->w)
		fl_workers_stats(s->w, &ws);

	size_t cap = 8192, len = 0;
	char *b = fl_malloc(cap);
	buf_printf(&b, &len, &cap, "# HELP faceline_jobs Jobs in the store by state.\n# TYPE faceline_jobs gauge\n");
	for (int i = 0; i < FL_JOB_STATE_N; i++)
		buf_printf(&b, &len, &cap, "faceline_jobs{state=\"%s\"} %lld\n", fl_job_state_name(i),
		           (long long)counts[i]);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_queue_depth Jobs waiting for a worker.\n# TYPE faceline_queue_depth gauge\n"
	           "faceline_queue_depth %lld\n",
	           (long long)counts[FL_JOB_QUEUED]);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_frames_analysed_total Frames run through the models since start.\n"
	           "# TYPE faceline_frames_analysed_total counter\nfaceline_frames_analysed_total %lld\n",
	           (long long)ws.frames_analysed);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_analysis_fps Analysed frames per second over the last seconds.\n"
	           "# TYPE faceline_analysis_fps gauge\nfaceline_analysis_fps %.3f\n",
	           ws.fps);
	const struct {
		const char *name;
		double v;
	} stages[] = {{"decode_wait", ws.t_decode_wait}, {"detect", ws.t_detect},      {"embed", ws.t_embed},
	              {"expression", ws.t_expression},   {"track", ws.t_track},        {"persons", ws.t_persons}};
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_stage_seconds_total Seconds per analysis stage over finished jobs.\n"
	           "# TYPE faceline_stage_seconds_total counter\n");
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		buf_printf(&b, &len, &cap, "faceline_stage_seconds_total{stage=\"%s\"} %.6f\n", stages[i].name,
		           stages[i].v);
	double ratio = ws.workers > 0 && ws.uptime > 0 ? ws.busy_seconds / (ws.uptime * ws.workers) : 0;
	if (ratio > 1)
		ratio = 1;
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_worker_busy_ratio Share of worker time spent running jobs since start.\n"
	           "# TYPE faceline_worker_busy_ratio gauge\nfaceline_worker_busy_ratio %.6f\n"
	           "# HELP faceline_workers Analysis workers configured.\n# TYPE faceline_workers gauge\n"
	           "faceline_workers %d\n"
	           "# HELP faceline_workers_busy Workers running a job now.\n# TYPE faceline_workers_busy gauge\n"
	           "faceline_workers_busy %d\n",
	           ratio, ws.workers, ws.busy);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_jobs_finished_total Jobs finished by the workers since start.\n"
	           "# TYPE faceline_jobs_finished_total counter\n"
	           "faceline_jobs_finished_total{outcome=\"succeeded\"} %lld\n"
	           "faceline_jobs_finished_total{outcome=\"failed\"} %lld\n",
	           (long long)ws.jobs_done, (long long)ws.jobs_failed);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_uptime_seconds Seconds since the server started.\n"
	           "# TYPE faceline_uptime_seconds gauge\nfaceline_uptime_seconds %.3f\n",
	           now_s() - s->started);
	buf_printf(&b, &len, &cap,
	           "# HELP faceline_http_requests_total HTTP requests answered, by route and status.\n"
	           "# TYPE faceline_http_requests_total counter\n");
	/* This request is counted when it is queued below: include it now so
	** that the document describes itself too. */
	count(s, rq->route, 200);
	pthread_mutex_lock(&s->mu);
	for (int r = 0; r < FL__ROUTE_N; r++)
		for (int k = 0; k < FL__CODE_N; k++)
			if (s->requests[r][k])
				buf_printf(&b, &len, &cap, "faceline_http_requests_total{route=\"%s\",code=\"%d\"} %lld\n",
				           route_names[r], k + FL__CODE_MIN, (long long)s->requests[r][k]);
	pthread_mutex_unlock(&s->mu);
	if (!b)
		return fl__http_error(c, rq, 500, "internal", "out of memory");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, b, MHD_RESPMEM_MUST_COPY);
	fl_free(b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	fl__http_common_headers(r);
	enum MHD_Result ret = MHD_queue_response(c, 200, r); /* counted above */
	MHD_destroy_response(r);
	return ret;
}

/* ================================================================ static */

static enum MHD_Result reply_static(struct MHD_Connection *c, struct fl__req *rq, const char *url)
{
	const unsigned char *data;
	size_t len;
	const char *ctype;
	if (fl__web_find(url, &data, &len, &ctype) < 0)
		return fl__http_error(c, rq, 404, "not_found", "no such page: %s", url);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	/* Everything comes from this server: no CDN, no web fonts. */
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
	                        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
	enum MHD_Result ret = fl__http_queue(c, rq, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ================================================================ dispatch */

static int is_get(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, struct fl__req *rq, const char *allow,
                                          const char *method, const char *url)
{
	struct MHD_Response *r;
	json_t *j = json_pack("{s:{s:s,s:s++++}}", "error", "code", "method_not_allowed", "message", method,
	                      " is not allowed on ", url, "; allowed: ", allow);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	free(text);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Allow", allow);
	fl__http_common_headers(r);
	enum MHD_Result ret = fl__http_queue(c, rq, 405, r);
	MHD_destroy_response(r);
	return ret;
}

/* Which route url names; *allow receives its methods. */
static int route_of(const char *url, const char **allow)
{
	if (!strcmp(url, "/v1/jobs") || !strcmp(url, "/v1/jobs/")) {
		*allow = "GET, HEAD, POST";
		return FL__ROUTE_JOBS;
	}
	if (!strncmp(url, "/v1/jobs/", 9)) {
		const char *id = url + 9, *slash = strchr(id, '/');
		if (!slash) {
			*allow = "GET, HEAD, DELETE";
			return FL__ROUTE_JOB;
		}
		if (!strcmp(slash, "/result")) {
			*allow = "GET, HEAD";
			return FL__ROUTE_RESULT;
		}
		if (!strncmp(slash, "/thumbnail/", 11) && slash[11] && !strchr(slash + 11, '/')) {
			*allow = "GET, HEAD";
			return FL__ROUTE_THUMBNAIL;
		}
		return FL__ROUTE_OTHER;
	}
	if (!strcmp(url, "/healthz")) {
		*allow = "GET, HEAD";
		return FL__ROUTE_HEALTHZ;
	}
	if (!strcmp(url, "/metrics")) {
		*allow = "GET, HEAD";
		return FL__ROUTE_METRICS;
	}
	if (fl__web_find(url, NULL, NULL, NULL) == 0) {
		*allow = "GET, HEAD";
		return FL__ROUTE_STATIC;
	}
	return FL__ROUTE_OTHER;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct fl_server *s = cls;
	struct fl__req *rq = *con_cls;
	int first = 0;
	if (!rq) {
		rq = fl_calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->srv = s;
		rq->fd = -1;
		*con_cls = rq;
		first = 1;
		conn_mark(s, c, 1);
		const char *allow = "";
		rq->route = route_of(url, &allow);
		if (rq->route == FL__ROUTE_OTHER)
			return fl__http_error(c, rq, 404, "not_found", "no route %s %s", method, url);
		if (rq->route != FL__ROUTE_STATIC && rq->route != FL__ROUTE_HEALTHZ && !authorized(s, c)) {
			int sent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
			return fl__http_error(c, rq, 401, "unauthorized",
			                      sent ? "the bearer token is wrong"
			                           : "this server needs \"Authorization: Bearer <token>\"");
		}
		int ok = is_get(method) || (!strcmp(method, "POST") && rq->route == FL__ROUTE_JOBS) ||
		         (!strcmp(method, "DELETE") && rq->route == FL__ROUTE_JOB);
		if (!ok)
			return method_not_allowed(c, rq, allow, method, url);
		/* Answer on the next call, once the request is complete: a
		** response queued on the first call makes libmicrohttpd drop
		** keep-alive.  (Errors above are answered at once: closing
		** the connection after them is fine.)  Uploads start here. */
		if (!(rq->route == FL__ROUTE_JOBS && !strcmp(method, "POST")))
			return MHD_YES;
	}
	if (*upload_size && !(rq->route == FL__ROUTE_JOBS && !strcmp(method, "POST"))) {
		*upload_size = 0; /* a body on GET/DELETE is read and ignored */
		return MHD_YES;
	}
	switch (rq->route) {
	case FL__ROUTE_HEALTHZ: {
		json_t *j = json_pack("{s:s,s:s,s:f}", "status", "ok", "version", fl_version(), "uptime",
		                      now_s() - s->started);
		return fl__http_reply_json(c, rq, 200, j);
	}
	case FL__ROUTE_METRICS:
		return reply_metrics(c, rq);
	case FL__ROUTE_STATIC:
		return reply_static(c, rq, url);
	default:
		return fl__http_jobs(c, rq, method, url + 8, upload, upload_size, first);
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct fl_server *s = cls;
	if (*con_cls) {
		fl__http_req_free(*con_cls);
		fl_free(*con_cls);
		*con_cls = NULL;
	}
	conn_mark(s, c, 0);
}

/* ================================================================ listen */

/* "host:port" or "[v6]:port" -> a bound, listening socket; sets *loopback. */
static int open_listener(const char *listen_addr, int *loopback, int *port, char *err, size_t err_size)
{
	char host[256];
	const char *colon, *portstr;
	if (listen_addr[0] == '[') {
		const char *close = strchr(listen_addr, ']');
		if (!close || close[1] != ':' || (size_t)(close - listen_addr - 1) >= sizeof(host)) {
			snprintf(err, err_size, "listen address \"%s\": expected [v6-address]:port", listen_addr);
			return FL_EINVAL;
		}
		memcpy(host, listen_addr + 1, close - listen_addr - 1);
		host[close - listen_addr - 1] = '\0';
		portstr = close + 2;
	} else {
		colon = strrchr(listen_addr, ':');
		if (!colon || (size_t)(colon - listen_addr) >= sizeof(host)) {
			snprintf(err, err_size, "listen address \"%s\": expected host:port", listen_addr);
			return FL_EINVAL;
		}
		memcpy(host, listen_addr, colon - listen_addr);
		host[colon - listen_addr] = '\0';
		portstr = colon + 1;
	}
	char *end;
	long p = strtol(portstr, &end, 10);
	if (!*portstr || *end || p < 0 || p > 65535) {
		snprintf(err, err_size, "listen address \"%s\": port \"%s\" is not 0..65535", listen_addr, portstr);
		return FL_EINVAL;
	}
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	int g = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
	if (g != 0) {
		snprintf(err, err_size, "listen address \"%s\": %s", listen_addr, gai_strerror(g));
		return FL_EINVAL;
	}
	int fd = -1, e = 0;
	*loopback = 0;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			getsockname(fd, (struct sockaddr *)&ss, &sl);
			if (ss.ss_family == AF_INET) {
				const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
				*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
				*port = ntohs(in->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
				*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
				*port = ntohs(in6->sin6_port);
			}
			break;
		}
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, err_size, "cannot listen on %s: %s", listen_addr, strerror(e));
		return e == EADDRINUSE ? FL_EBUSY : e == EACCES ? FL_EACCES : FL_EIO;
	}
	return fd;
}

/* ============================================================ start/stop */

int fl_server_start(const struct fl_svc_config *cfg, struct fl_store *st, struct fl_workers *w,
                    struct fl_server **out, char *err, size_t err_size)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		err_size = sizeof(dummy);
	}
	err[0] = '\0';
	if (out)
		*out = NULL;
	if (!cfg || !st || !out || !cfg->data_dir) {
		snprintf(err, err_size, "fl_server_start: config, store and data directory are required");
		return FL_EINVAL;
	}
	struct fl_server *s = fl_calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	int rc = 0;
	s->listen_fd = -1;
	s->cfg = *cfg;
	s->st = st;
	s->w = w;
	s->started = now_s();
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->header_timeout = FL__DEFAULT_TIMEOUT;
	const char *tenv = getenv("FL_HTTP_TIMEOUT");
	if (tenv && *tenv) {
		char *end;
		long t = strtol(tenv, &end, 10);
		if (*end || t < 1 || t > 3600) {
			snprintf(err, err_size, "FL_HTTP_TIMEOUT=\"%s\": expected seconds 1..3600", tenv);
			rc = FL_EINVAL;
			goto fail;
		}
		s->header_timeout = (unsigned)t;
	}
	if (s->cfg.max_upload <= 0)
		s->cfg.max_upload = (int64_t)4 << 30;
	/* Absolute, so the store records absolute video paths (svc.h). */
	char *ddir = realpath(cfg->data_dir, NULL);
	if (!ddir) {
		snprintf(err, err_size, "data directory %s: %s", cfg->data_dir, strerror(errno));
		rc = FL_ENOENT;
		goto fail;
	}
	s->data_dir = fl_strdup(ddir);
	free(ddir);
	if (!s->data_dir) {
		rc = FL_ENOMEM;
		goto fail;
	}
	if (cfg->token && *cfg->token) {
		s->token = fl_strdup(cfg->token);
		if (!s->token) {
			rc = FL_ENOMEM;
			goto fail;
		}
	}
	s->cfg.token = s->token;
	s->cfg.data_dir = s->data_dir;
	if (cfg->allowed_root) {
		char *real = realpath(cfg->allowed_root, NULL);
		struct stat sb;
		if (!real || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			snprintf(err, err_size, "allowed root \"%s\": %s", cfg->allowed_root,
			         real ? "not a directory" : strerror(errno));
			free(real);
			rc = FL_ENOENT;
			goto fail;
		}
		s->allowed_root_real = fl_strdup(real);
		free(real);
		if (!s->allowed_root_real) {
			rc = FL_ENOMEM;
			goto fail;
		}
	}
	s->cfg.allowed_root = s->allowed_root_real;
	snprintf(s->uploads, sizeof(s->uploads), "%s/uploads", s->data_dir);
	struct stat sb;
	if (stat(s->uploads, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, err_size, "upload directory %s does not exist", s->uploads);
		rc = FL_ENOENT;
		goto fail;
	}

	/* Uploads cut off by a crash (never acknowledged) are removed: this
	** process is the only writer of DIR/uploads. */
	DIR *ud = opendir(s->uploads);
	if (ud) {
		struct dirent *e;
		while ((e = readdir(ud)))
			if (strstr(e->d_name, ".tmp-") && unlinkat(dirfd(ud), e->d_name, 0) == 0)
				fl_log(FL_LOG_INFO, "serve: removed the unfinished upload %s/%s", s->uploads, e->d_name);
		closedir(ud);
	}

	int loopback = 0;
	const char *listen_addr = cfg->listen ? cfg->listen : "127.0.0.1:8080";
	rc = open_listener(listen_addr, &loopback, &s->port, err, err_size);
	if (rc < 0)
		goto fail;
	s->listen_fd = rc;
	rc = 0;
	if (!loopback && !s->token) {
		snprintf(err, err_size,
		         "listen address %s is not loopback: a bearer token is required (--token-file or FACELINE_TOKEN)",
		         listen_addr);
		rc = FL_EINVAL;
		goto fail;
	}

	s->watchdog_running = pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0;
	if (!s->watchdog_running) {
		snprintf(err, err_size, "cannot start the watchdog thread");
		rc = FL_EAGAIN;
		goto fail;
	}
	s->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL, NULL, on_request,
		s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)FL__MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)FL__MAX_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->header_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)FL__CONN_MEMORY, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, err_size, "libmicrohttpd could not start on %s", listen_addr);
		rc = FL_EIO;
		goto fail;
	}
	s->listen_fd = -1; /* closed by MHD_stop_daemon from now on */
	fl_log(FL_LOG_INFO, "serve: listening on %s (port %d)", listen_addr, s->port);
	*out = s;
	return 0;
fail:
	if (!err[0])
		snprintf(err, err_size, "%s", fl_strerror(rc));
	fl_server_stop(s);
	return rc;
}

int fl_server_port(const struct fl_server *s)
{
	return s ? s->port : -1;
}

void fl_server_stop(struct fl_server *s)
{
	if (!s)
		return;
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->watchdog_running) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->watchdog, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->wake);
	fl_free(s->data_dir);
	fl_free(s->token);
	fl_free(s->allowed_root_real);
	fl_free(s);
}
