/*
** http_int.h -- what the files of the HTTP front of `faceline serve` share:
** the server object, the per-request state kept between libmicrohttpd's
** calls of the access handler, the route table used for metrics, and the
** reply helpers (JSON bodies, {"error": {"code", "message"}} errors).
**
** http.c owns the daemon (listen socket, limits, the slow-header
** watchdog, authentication, dispatch, /healthz, /metrics, the dashboard's
** static files); http_jobs.c the /v1/jobs routes (uploads streamed to
** disk, job status, results, cancel, list); web.c the embedded dashboard.
*/
#ifndef FL_SVC_HTTP_INT_H
#define FL_SVC_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "svc/svc.h"

/* Routes as counted in faceline_http_requests_total{route=...}. */
enum fl__route {
	FL__ROUTE_JOBS,       /* /v1/jobs */
	FL__ROUTE_JOB,        /* /v1/jobs/{id} */
	FL__ROUTE_RESULT,     /* /v1/jobs/{id}/result */
	FL__ROUTE_THUMBNAIL,  /* /v1/jobs/{id}/thumbnail/{person} */
	FL__ROUTE_HEALTHZ,    /* /healthz */
	FL__ROUTE_METRICS,    /* /metrics */
	FL__ROUTE_STATIC,     /* / and the dashboard's files */
	FL__ROUTE_OTHER,      /* anything else (404) */
	FL__ROUTE_N
};

/* HTTP status codes counted per route: 100..599. */
#define FL__CODE_MIN 100
#define FL__CODE_N 500

/* Longest path handled (uploads, results). */
#define FL__HTTP_PATH_MAX 4096

struct fl_server {
	struct fl_svc_config cfg; /* strings below are copies */
	char *data_dir, *token, *allowed_root_real;
	char uploads[FL__HTTP_PATH_MAX];
	struct fl_store *st;      /* borrowed */
	struct fl_workers *w;     /* borrowed; may be NULL */
	struct MHD_Daemon *mhd;
	int listen_fd, port;
	unsigned header_timeout;  /* seconds a request's headers may take */
	double started;

	/* Request counters for /metrics. */
	pthread_mutex_t mu;
	int64_t requests[FL__ROUTE_N][FL__CODE_N];

	/* Slow-header watchdog: every open connection, and the time its
	** current request's headers started arriving. */
	struct fl__conn *conns;   /* doubly linked, under mu */
	pthread_t watchdog;
	int watchdog_running;
	pthread_cond_t wake;
	int stopping;
};

/* One TCP connection (MHD's socket context). */
struct fl__conn {
	struct fl__conn *prev, *next;
	int fd;
	int in_request;     /* 1 once the current request's headers arrived */
	double since;       /* when the current request's headers began (or the idle wait) */
	int niced;          /* its thread's priority was lowered (FL__HTTP_NICE) */
};

/* Kind of body a POST /v1/jobs carries. */
enum fl__body {
	FL__BODY_NONE,
	FL__BODY_RAW,       /* video/... streamed to a file */
	FL__BODY_MULTIPART, /* multipart/form-data through the post processor */
	FL__BODY_JSON,      /* application/json buffered (small) */
	FL__BODY_DISCARD,   /* an error was decided: read and drop the rest */
};

/* State of one request between the calls of the access handler. */
struct fl__req {
	struct fl_server *srv;
	int route;
	enum fl__body body;
	/* An error decided while the body streams in, answered at its end. */
	int err_status;
	char err_code[32];
	char err_msg[512];
	/* Upload to a temporary file. */
	int fd;
	char tmp[FL__HTTP_PATH_MAX];
	char ext[16];
	char name[72];      /* the client's file name, made safe, without extension ("" = none) */
	int64_t received;   /* bytes of video written */
	int64_t discarded;  /* bytes dropped after an error */
	int have_file;      /* multipart: a file part was seen */
	int file_done;      /* multipart: the file part ended (a second one is refused) */
	char file_field[64];
	struct MHD_PostProcessor *pp;
	/* Form fields (multipart) and the JSON body. */
	json_t *fields; /* object of field name -> string */
	char *json;
	size_t json_len, json_cap;
};

/* ------------------------------------------------------------ replies */

/* Queue a response with `body` (len bytes, copied) and content type, count
** it under the request's route; returns MHD's verdict. */
enum MHD_Result fl__http_reply(struct MHD_Connection *c, struct fl__req *rq, unsigned status, const char *ctype,
                               const void *body, size_t len);
/* Queue the JSON document j (stolen: decref'd here). */
enum MHD_Result fl__http_reply_json(struct MHD_Connection *c, struct fl__req *rq, unsigned status,
                                    json_t *j);
/* Queue {"error": {"code": code, "message": printf(fmt, ...)}}. */
enum MHD_Result fl__http_error(struct MHD_Connection *c, struct fl__req *rq, unsigned status, const char *code,
                               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Queue a prepared response (not destroyed here) and count it. */
enum MHD_Result fl__http_queue(struct MHD_Connection *c, struct fl__req *rq, unsigned status,
                               struct MHD_Response *r);
/* Add the headers every API answer carries (no caching, nosniff). */
void fl__http_common_headers(struct MHD_Response *r);

/* Record an error to answer once the body has been read (first one wins). */
void fl__req_fail(struct fl__req *rq, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------- routes */

/* /v1/jobs...: `rest` is the path after "/v1/jobs" ("" or "/{id}..."). */
enum MHD_Result fl__http_jobs(struct MHD_Connection *c, struct fl__req *rq, const char *method, const char *rest,
                              const char *upload, size_t *upload_size, int first);
/* GET /v1/jobs/{id}/thumbnail/{person} for the loaded job j (http_thumb.c). */
enum MHD_Result fl__http_thumbnail(struct MHD_Connection *c, struct fl__req *rq, const struct fl_job *j,
                                   const char *person);
/* Free what a request holds (temporary file removed if still there). */
void fl__http_req_free(struct fl__req *rq);

/* ------------------------------------------------------------ static */

/* The embedded dashboard file for url ("/" = index.html): data, length,
** content type; 0 or FL_ENOENT. */
int fl__web_find(const char *url, const unsigned char **data, size_t *len, const char **ctype);

#endif /* FL_SVC_HTTP_INT_H */
