/*
** http_jobs.c -- the /v1/jobs routes of `faceline serve`:
**
**   POST   /v1/jobs                 submit: raw video body, multipart upload, or JSON {"path"}
**   GET    /v1/jobs?state=&limit=&cursor=   list, newest first
**   GET    /v1/jobs/{id}            status, progress, stage, frames/s, ETA, error
**   DELETE /v1/jobs/{id}            cancel
**   GET    /v1/jobs/{id}/result     the result JSON v1 (?persons_only=1, ?limit=&cursor=)
**   GET    /v1/jobs/{id}/thumbnail/{person}  the person's face as a JPEG
**
** Uploads are never held in memory: each chunk libmicrohttpd hands over is
** written to DIR/uploads/<upload id>.<ext>.tmp-XXXXXX; at the end of the
** body the file is fsync'd, probed (fl_video_probe: something FFmpeg
** cannot read is refused with 415 at once rather than failing later),
** renamed to DIR/uploads/<upload id>.<ext>, the directory fsync'd, and only
** then is the job enqueued and 201 answered.  Any failure on the way
** removes the temporary file; an upload answered with an error leaves
** nothing behind.
*/
#define _GNU_SOURCE
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faceline/fl_base.h"
#include "faceline/fl_media.h"

#define FL__JSON_BODY_MAX (64 * 1024)
#define FL__FIELD_MAX 4096
#define FL__MULTIPART_SLACK (64 * 1024) /* form overhead allowed beyond max_upload */
#define FL__DISCARD_MAX ((int64_t)64 << 20) /* bytes read and dropped after an error before closing */
#define FL__LIST_MAX 500
#define FL__PAGE_MAX 1000

/* ============================================================ parameters */

/* The analysis parameters a job may set, and their ranges. */
enum ptype { P_NUM, P_INT, P_BOOL };
static const struct {
	const char *name;
	enum ptype type;
	double lo, hi;
} param_defs[] = {
	{"fps", P_NUM, 0.01, 240},         {"every_frame", P_BOOL, 0, 1}, {"gap", P_NUM, 0, 3600},
	{"min_score", P_NUM, 0, 1},        {"min_face_score", P_NUM, 0, 1}, {"max_faces", P_INT, 1, 1024},
	{"skip_nonref", P_BOOL, 0, 1},      {"detect_interval", P_NUM, 0, 3600}, {"full_interval", P_NUM, 0, 3600},
};
#define N_PARAMS (sizeof(param_defs) / sizeof(param_defs[0]))

/*
** Set params[name] from a string (query string, form field) or a JSON
** value.  Returns 0, 1 when name is not a parameter, or -1 with msg set
** when the value is bad.
*/
static int param_set(json_t *params, const char *name, const char *sval, json_t *jval, char *msg, size_t msg_size)
{
	size_t i;
	for (i = 0; i < N_PARAMS; i++)
		if (!strcmp(param_defs[i].name, name))
			break;
	if (i == N_PARAMS)
		return 1;
	double v = NAN;
	if (param_defs[i].type == P_BOOL) {
		if (jval && json_is_boolean(jval))
			v = json_is_true(jval);
		else if (sval && (!strcmp(sval, "1") || !strcasecmp(sval, "true") || !strcasecmp(sval, "on")))
			v = 1;
		else if (sval && (!strcmp(sval, "0") || !strcasecmp(sval, "false") || !strcasecmp(sval, "off") || !*sval))
			v = 0;
		if (isnan(v)) {
			snprintf(msg, msg_size, "parameter %s: expected true or false", name);
			return -1;
		}
		json_object_set_new(params, name, json_boolean(v != 0));
		return 0;
	}
	if (jval && json_is_number(jval))
		v = json_number_value(jval);
	else if (sval) {
		char *end;
		v = strtod(sval, &end);
		if (end == sval || *end)
			v = NAN;
	}
	if (!(v >= param_defs[i].lo && v <= param_defs[i].hi) ||
	    (param_defs[i].type == P_INT && v != floor(v))) {
		snprintf(msg, msg_size, "parameter %s: expected a%s number in %g..%g", name,
		         param_defs[i].type == P_INT ? "n integer" : "", param_defs[i].lo, param_defs[i].hi);
		return -1;
	}
	json_object_set_new(params, name, param_defs[i].type == P_INT ? json_integer((json_int_t)v) : json_real(v));
	return 0;
}

/* A webhook URL: http(s)://host[:port]/..., no loopback unless allowed.
** Workers check the address again when they resolve the name. */
static int webhook_ok(const struct fl_server *s, const char *url, char *msg, size_t msg_size)
{
	size_t n = strlen(url);
	const char *host;
	if (n > 2048) {
		snprintf(msg, msg_size, "webhook: URL longer than 2048 bytes");
		return -1;
	}
	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else {
		snprintf(msg, msg_size, "webhook \"%.200s\": expected an http:// or https:// URL", url);
		return -1;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(msg, msg_size, "webhook: URL contains spaces or control characters");
			return -1;
		}
	size_t hl = strcspn(host, "/?#");
	char h[256];
	if (hl == 0 || hl >= sizeof(h) || memchr(host, '@', hl)) {
		snprintf(msg, msg_size, "webhook \"%.200s\": bad host", url);
		return -1;
	}
	memcpy(h, host, hl);
	h[hl] = '\0';
	if (h[0] == '[') {
		char *e = strchr(h, ']');
		if (e)
			e[1] = '\0';
	} else {
		char *colon = strchr(h, ':');
		if (colon)
			*colon = '\0';
	}
	int loop = !strcasecmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") ||
	           !strcmp(h, "0.0.0.0") || !strcmp(h, "[::]");
	if (loop && !s->cfg.webhook_loopback) {
		snprintf(msg, msg_size, "webhook \"%.200s\": loopback addresses are not allowed (serve --webhook-loopback)",
		         url);
		return -1;
	}
	return 0;
}

/* ============================================================== job JSON */

static json_t *time_or_null(double t)
{
	return t > 0 ? json_real(t) : json_null();
}

static const char *display_name(const struct fl_job *j, char *buf, size_t n);

static json_t *job_json(const struct fl_job *j)
{
	json_t *params = j->params ? json_loads(j->params, 0, NULL) : NULL;
	if (!params)
		params = json_object();
	char namebuf[FL__HTTP_PATH_MAX];
	const char *base = display_name(j, namebuf, sizeof(namebuf));
	double progress = j->state == FL_JOB_SUCCEEDED ? 1.0 : j->progress;
	if (progress < 0)
		progress = 0;
	if (progress > 1)
		progress = 1;
	const char *sname = fl_job_state_name(j->state);
	json_t *o = json_pack("{s:s,s:s,s:f,s:f,s:s,s:f,s:I,s:i,s:i,s:s,s:s,s:o,s:b}", "id", j->id, "state",
	                      sname ? sname : "unknown", "progress", progress, "percent",
	                      floor(progress * 1000 + 0.5) / 10, "stage",
	                      j->stage[0] ? j->stage : (j->state == FL_JOB_QUEUED ? "queued" : ""), "fps", j->fps,
	                      "frames_analysed", (json_int_t)j->frames_analysed, "attempts", j->attempts,
	                      "max_attempts", j->max_attempts, "video", base, "source",
	                      j->uploaded ? "upload" : "path", "params", params, "cancel_requested", j->cancel != 0);
	if (!o)
		return NULL;
	json_object_set_new(o, "eta", j->state == FL_JOB_RUNNING && j->eta >= 0 ? json_real(j->eta) : json_null());
	json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
	json_object_set_new(o, "webhook", j->webhook ? json_string(j->webhook) : json_null());
	json_object_set_new(o, "created", time_or_null(j->created));
	json_object_set_new(o, "updated", time_or_null(j->updated));
	json_object_set_new(o, "started", time_or_null(j->started));
	json_object_set_new(o, "finished", time_or_null(j->finished));
	if (j->state == FL_JOB_SUCCEEDED) {
		char url[96];
		snprintf(url, sizeof(url), "/v1/jobs/%s/result", j->id);
		json_object_set_new(o, "result", json_string(url));
	} else
		json_object_set_new(o, "result", json_null());
	return o;
}

/* ============================================================== uploads */

/* "u" + 22 url-safe random characters. */
static int upload_id(char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[22];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return FL_EIO;
	out[0] = 'u';
	for (int i = 0; i < 22; i++)
		out[1 + i] = a[r[i] & 63];
	out[23] = '\0';
	return 0;
}

/* A safe extension (1..8 of [a-z0-9]) from a file name, else from the
** content type, else "bin". */
static void pick_ext(char *ext, size_t n, const char *filename, const char *ctype)
{
	const char *dot = filename ? strrchr(filename, '.') : NULL;
	if (dot && dot[1] && strlen(dot + 1) <= 8) {
		size_t i;
		for (i = 0; dot[1 + i]; i++) {
			char ch = dot[1 + i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
				break;
			ext[i] = ch;
		}
		if (!dot[1 + i]) {
			ext[i] = '\0';
			return;
		}
	}
	static const struct {
		const char *ctype, *ext;
	} map[] = {{"video/mp4", "mp4"},       {"video/quicktime", "mov"}, {"video/x-matroska", "mkv"},
	           {"video/webm", "webm"},     {"video/x-msvideo", "avi"}, {"video/mpeg", "mpg"},
	           {"video/mp2t", "ts"},       {"video/3gpp", "3gp"},      {"video/x-flv", "flv"},
	           {"video/ogg", "ogv"}};
	for (size_t i = 0; ctype && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncasecmp(ctype, map[i].ctype, strlen(map[i].ctype))) {
			snprintf(ext, n, "%s", map[i].ext);
			return;
		}
	snprintf(ext, n, "bin");
}

/* The client's file name for display: its base name without extension,
** characters outside [A-Za-z0-9._-] replaced by '_', at most 64 bytes. */
static void pick_name(char *out, size_t n, const char *filename)
{
	out[0] = '\0';
	if (!filename)
		return;
	const char *base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	const char *bs = strrchr(base, '\\'); /* Windows browsers may send a full path */
	base = bs ? bs + 1 : base;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot > base ? (size_t)(dot - base) : strlen(base);
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < n && k < 64; i++) {
		char ch = base[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		         ch == '_' || (ch == '.' && k > 0);
		out[k++] = ok ? ch : '_';
	}
	out[k] = '\0';
}

/* The name a job shows for its video: an upload's client file name
** (uploads are named "<upload id>-<name>.<ext>") or the file's base name. */
static const char *display_name(const struct fl_job *j, char *buf, size_t n)
{
	const char *base = j->video ? strrchr(j->video, '/') : NULL;
	base = base ? base + 1 : j->video ? j->video : "";
	if (j->uploaded && base[0] == 'u' && strlen(base) > 24 && base[23] == '-') {
		snprintf(buf, n, "%s", base + 24);
		return buf;
	}
	return base;
}

static int upload_open(struct fl__req *rq)
{
	char uid[24];
	if (upload_id(uid) < 0) {
		fl__req_fail(rq, 500, "internal", "no random bytes for the upload's name");
		return -1;
	}
	snprintf(rq->tmp, sizeof(rq->tmp), "%s/%s%s%s.%s.tmp-XXXXXX", rq->srv->uploads, uid, rq->name[0] ? "-" : "",
	         rq->name, rq->ext);
	rq->fd = mkostemp(rq->tmp, O_CLOEXEC);
	if (rq->fd < 0) {
		int e = errno;
		rq->tmp[0] = '\0';
		fl__req_fail(rq, e == ENOSPC ? 507 : 500, "storage", "cannot create an upload file in %s: %s",
		             rq->srv->uploads, strerror(e));
		return -1;
	}
	return 0;
}

/* Append data to the upload; counts against max_upload. */
static int upload_write(struct fl__req *rq, const char *data, size_t n)
{
	if (rq->err_status)
		return -1;
	if (rq->received + (int64_t)n > rq->srv->cfg.max_upload) {
		fl__req_fail(rq, 413, "too_large", "the video is larger than the limit of %lld bytes",
		             (long long)rq->srv->cfg.max_upload);
		return -1;
	}
	while (n > 0) {
		ssize_t w = write(rq->fd, data, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			fl__req_fail(rq, e == ENOSPC || e == EDQUOT ? 507 : 500, "storage", "writing the upload failed: %s",
			             strerror(e));
			return -1;
		}
		data += w;
		n -= (size_t)w;
		rq->received += w;
	}
	return 0;
}

static void upload_discard(struct fl__req *rq)
{
	if (rq->fd >= 0) {
		close(rq->fd);
		rq->fd = -1;
	}
	if (rq->tmp[0]) {
		unlink(rq->tmp);
		rq->tmp[0] = '\0';
	}
}

void fl__http_req_free(struct fl__req *rq)
{
	if (rq->pp) {
		MHD_destroy_post_processor(rq->pp);
		rq->pp = NULL;
	}
	upload_discard(rq);
	json_decref(rq->fields);
	rq->fields = NULL;
	fl_free(rq->json);
	rq->json = NULL;
}

/* fsync, probe, rename into place, fsync the directory; final receives the
** path.  On failure the temporary file is gone and the error recorded. */
static int upload_commit(struct fl__req *rq, char *final, size_t final_size)
{
	if (rq->received == 0) {
		fl__req_fail(rq, 400, "empty_body", "the upload holds no video bytes");
		return -1;
	}
	if (fsync(rq->fd) != 0 || close(rq->fd) != 0) {
		int e = errno;
		rq->fd = -1;
		fl__req_fail(rq, 500, "storage", "syncing the upload failed: %s", strerror(e));
		return -1;
	}
	rq->fd = -1;
	char err[512];
	struct fl_video_info info;
	int rc = fl_video_probe(rq->tmp, NULL, &info, err, sizeof(err));
	if (rc < 0) {
		/* The message names our temporary file: say "the upload" instead. */
		fl__req_fail(rq, 415, "unsupported_media", "the upload is not a video faceline can read (%s)",
		             fl_strerror(rc));
		return -1;
	}
	size_t n = strlen(rq->tmp) - strlen(".tmp-XXXXXX");
	if (n >= final_size) {
		fl__req_fail(rq, 500, "internal", "upload path too long");
		return -1;
	}
	memcpy(final, rq->tmp, n);
	final[n] = '\0';
	if (rename(rq->tmp, final) != 0) {
		fl__req_fail(rq, 500, "storage", "cannot rename the upload into place: %s", strerror(errno));
		return -1;
	}
	rq->tmp[0] = '\0';
	int dfd = open(rq->srv->uploads, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Multipart: each piece of each field. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                               const char *content_type, const char *transfer_encoding, const char *data,
                               uint64_t off, size_t size)
{
	struct fl__req *rq = cls;
	if (rq->err_status)
		return MHD_NO;
	if (!key)
		key = "";
	if (filename) {
		if (rq->file_done || (rq->have_file && strcmp(rq->file_field, key) != 0)) {
			fl__req_fail(rq, 400, "bad_multipart", "only one file may be uploaded per job");
			return MHD_NO;
		}
		if (!rq->have_file) {
			rq->have_file = 1;
			snprintf(rq->file_field, sizeof(rq->file_field), "%s", key);
			if (content_type && strncasecmp(content_type, "video/", 6) != 0 &&
			    strncasecmp(content_type, "application/octet-stream", 24) != 0) {
				fl__req_fail(rq, 415, "unsupported_media", "file part \"%s\" has type %s; expected video/*", key,
				             content_type);
				return MHD_NO;
			}
			pick_ext(rq->ext, sizeof(rq->ext), filename, content_type);
			pick_name(rq->name, sizeof(rq->name), filename);
			if (upload_open(rq) < 0)
				return MHD_NO;
		}
		return size == 0 || upload_write(rq, data, size) == 0 ? MHD_YES : MHD_NO;
	}
	if (rq->have_file)
		rq->file_done = 1;
	/* A plain field: accumulate its pieces. */
	json_t *cur = json_object_get(rq->fields, key);
	size_t have = cur ? json_string_length(cur) : 0;
	if (have + size > FL__FIELD_MAX || json_object_size(rq->fields) > 64) {
		fl__req_fail(rq, 413, "too_large", "form field \"%.64s\" is longer than %d bytes", key, FL__FIELD_MAX);
		return MHD_NO;
	}
	char *v = fl_malloc(have + size + 1);
	if (!v) {
		fl__req_fail(rq, 500, "internal", "out of memory");
		return MHD_NO;
	}
	if (have)
		memcpy(v, json_string_value(cur), have);
	memcpy(v + have, data, size);
	v[have + size] = '\0';
	json_object_set_new(rq->fields, key, json_stringn(v, have + size));
	fl_free(v);
	return MHD_YES;
}

/* ================================================================ submit */

struct qctx {
	struct fl__req *rq;
	json_t *params;
	const char *webhook;
};

static enum MHD_Result on_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qctx *q = cls;
	char msg[256];
	if (!strcmp(key, "webhook")) {
		q->webhook = value;
		return MHD_YES;
	}
	int r = param_set(q->params, key, value ? value : "", NULL, msg, sizeof(msg));
	if (r < 0)
		fl__req_fail(q->rq, 400, "bad_param", "%s", msg);
	else if (r > 0)
		fl__req_fail(q->rq, 400, "bad_param", "unknown parameter \"%.64s\" (known: fps, every_frame, gap, "
		             "min_score, min_face_score, max_faces, skip_nonref, webhook)", key);
	return MHD_YES;
}

/* Path jobs: realpath() of the file must lie under the allowed root. */
static int resolve_path(struct fl__req *rq, const char *path, char **real_out)
{
	const char *root = rq->srv->allowed_root_real;
	*real_out = NULL;
	if (!root) {
		fl__req_fail(rq, 403, "path_jobs_disabled", "this server takes no {\"path\"} jobs (serve --allowed-root)");
		return -1;
	}
	if (!*path || strlen(path) >= PATH_MAX || memchr(path, '\n', strlen(path))) {
		fl__req_fail(rq, 400, "bad_path", "\"path\" must be a non-empty file path");
		return -1;
	}
	/* No ".." component at all: a path job names a file under the root. */
	for (const char *q = path; (q = strstr(q, "..")); q += 2)
		if ((q == path || q[-1] == '/') && (q[2] == '/' || q[2] == '\0')) {
			fl__req_fail(rq, 403, "path_outside_root", "\"%.200s\": \"..\" is not allowed in a path", path);
			return -1;
		}
	char joined[PATH_MAX * 2];
	if (path[0] == '/')
		snprintf(joined, sizeof(joined), "%s", path);
	else
		snprintf(joined, sizeof(joined), "%s/%s", root, path);
	char *real = realpath(joined, NULL);
	if (!real) {
		int e = errno;
		/* A path outside the root is refused before saying whether it exists. */
		if (path[0] == '/' && strncmp(path, root, strlen(root)) != 0)
			fl__req_fail(rq, 403, "path_outside_root", "\"%.200s\" is not under the allowed root", path);
		else
			fl__req_fail(rq, 400, "no_such_file", "\"%.200s\": %s", path, strerror(e));
		return -1;
	}
	size_t rl = strlen(root);
	int inside = !strncmp(real, root, rl) && (real[rl] == '/' || (rl == 1 && root[0] == '/'));
	if (!inside) {
		fl__req_fail(rq, 403, "path_outside_root", "\"%.200s\" is not under the allowed root", path);
		free(real);
		return -1;
	}
	struct stat sb;
	if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fl__req_fail(rq, 400, "not_a_file", "\"%.200s\" is not a regular file", path);
		free(real);
		return -1;
	}
	*real_out = real;
	return 0;
}

/* Everything has been received: check, enqueue, answer. */
static enum MHD_Result submit_finish(struct MHD_Connection *c, struct fl__req *rq)
{
	struct fl_server *s = rq->srv;
	char msg[512];
	json_t *params = json_object();
	const char *webhook = NULL;
	char *path_real = NULL;
	json_t *doc = NULL;
	char final[FL__HTTP_PATH_MAX] = "";
	if (!params)
		return fl__http_error(c, rq, 500, "internal", "out of memory");

	/* Parameters from the query string, then the body's own. */
	struct qctx q = {rq, params, NULL};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_query, &q);
	webhook = q.webhook;

	if (!rq->err_status && rq->pp) {
		if (MHD_destroy_post_processor(rq->pp) != MHD_YES)
			fl__req_fail(rq, 400, "bad_multipart", "the multipart body is malformed or cut short");
		rq->pp = NULL;
	}
	if (!rq->err_status && rq->body == FL__BODY_MULTIPART) {
		if (!rq->have_file)
			fl__req_fail(rq, 400, "bad_multipart", "the form holds no file part (a field with a filename)");
		const char *key;
		json_t *v;
		json_object_foreach(rq->fields, key, v)
		{
			if (rq->err_status)
				break;
			if (!strcmp(key, "webhook")) {
				if (json_string_length(v))
					webhook = json_string_value(v);
				continue;
			}
			int r = param_set(params, key, json_string_value(v), NULL, msg, sizeof(msg));
			if (r < 0)
				fl__req_fail(rq, 400, "bad_param", "%s", msg);
			else if (r > 0)
				fl__req_fail(rq, 400, "bad_param", "unknown form field \"%.64s\"", key);
		}
	}
	if (!rq->err_status && rq->body == FL__BODY_JSON) {
		json_error_t je;
		doc = json_loadb(rq->json ? rq->json : "", rq->json_len, JSON_REJECT_DUPLICATES, &je);
		if (!doc)
			fl__req_fail(rq, 400, "bad_json", "malformed JSON at line %d column %d: %s", je.line, je.column,
			             je.text);
		else if (!json_is_object(doc))
			fl__req_fail(rq, 400, "bad_json", "expected a JSON object {\"path\": ...}");
		else {
			const char *key;
			json_t *v;
			json_object_foreach(doc, key, v)
			{
				if (rq->err_status)
					break;
				if (!strcmp(key, "path")) {
					if (!json_is_string(v))
						fl__req_fail(rq, 400, "bad_json", "\"path\" must be a string");
				} else if (!strcmp(key, "webhook")) {
					if (!json_is_string(v) && !json_is_null(v))
						fl__req_fail(rq, 400, "bad_json", "\"webhook\" must be a string");
					else if (json_is_string(v))
						webhook = json_string_value(v);
				} else if (!strcmp(key, "params")) {
					if (!json_is_object(v)) {
						fl__req_fail(rq, 400, "bad_json", "\"params\" must be an object");
						break;
					}
					const char *pk;
					json_t *pv;
					json_object_foreach(v, pk, pv)
					{
						int r = param_set(params, pk, NULL, pv, msg, sizeof(msg));
						if (r < 0)
							fl__req_fail(rq, 400, "bad_param", "%s", msg);
						else if (r > 0)
							fl__req_fail(rq, 400, "bad_param", "unknown parameter \"%.64s\"", pk);
					}
				} else
					fl__req_fail(rq, 400, "bad_json", "unknown key \"%.64s\" (expected path, params, webhook)", key);
			}
			json_t *p = json_object_get(doc, "path");
			if (!rq->err_status && !p)
				fl__req_fail(rq, 400, "bad_json", "missing \"path\"");
			if (!rq->err_status)
				resolve_path(rq, json_string_value(p), &path_real);
		}
	}
	if (!rq->err_status && webhook && webhook_ok(s, webhook, msg, sizeof(msg)) < 0)
		fl__req_fail(rq, 400, "bad_webhook", "%s", msg);
	const char *idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	if (!rq->err_status && idem) {
		size_t n = strlen(idem);
		int ok = n > 0 && n <= 255;
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)idem[i] > ' ' && (unsigned char)idem[i] < 0x7f;
		if (!ok)
			fl__req_fail(rq, 400, "bad_idempotency_key", "Idempotency-Key: 1..255 printable characters");
	}
	/* The video last: nothing is renamed into place for a request refused above. */
	if (!rq->err_status && (rq->body == FL__BODY_RAW || rq->body == FL__BODY_MULTIPART))
		upload_commit(rq, final, sizeof(final));

	enum MHD_Result ret;
	if (rq->err_status) {
		upload_discard(rq);
		ret = fl__http_error(c, rq, (unsigned)rq->err_status, rq->err_code, "%s", rq->err_msg);
		goto out;
	}
	char *ptext = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	struct fl_job_new n = {
		.video = final[0] ? final : path_real,
		.uploaded = final[0] != 0,
		.params = ptext,
		.idem_key = idem,
		.webhook = webhook,
		.max_attempts = s->cfg.max_attempts,
	};
	struct fl_job job;
	memset(&job, 0, sizeof(job));
	int created = 0;
	int rc = ptext ? fl_store_enqueue(s->st, &n, &job, &created) : FL_ENOMEM;
	free(ptext);
	if (rc < 0) {
		fl_job_clear(&job);
		if (final[0])
			unlink(final);
		ret = fl__http_error(c, rq, 500, "store", "cannot enqueue the job: %s",
		                     rc == FL_ENOMEM ? "out of memory" : fl_store_errmsg(s->st));
		goto out;
	}
	if (!created && final[0])
		unlink(final); /* the key's job has its own copy of the video */
	if (created && s->w)
		fl_workers_kick(s->w);
	json_t *o = job_json(&job);
	fl_job_clear(&job);
	char loc[96];
	snprintf(loc, sizeof(loc), "/v1/jobs/%s", o ? json_string_value(json_object_get(o, "id")) : "");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		ret = fl__http_error(c, rq, 500, "internal", "out of memory");
		goto out;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	free(text);
	if (!r) {
		ret = MHD_NO;
		goto out;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Location", loc);
	if (!created)
		MHD_add_response_header(r, "Idempotent-Replayed", "true");
	fl__http_common_headers(r);
	ret = fl__http_queue(c, rq, created ? 201 : 200, r);
	MHD_destroy_response(r);
out:
	json_decref(params);
	json_decref(doc);
	free(path_real);
	return ret;
}

/* First call of POST /v1/jobs: decide how the body is read. */
static enum MHD_Result submit_start(struct MHD_Connection *c, struct fl__req *rq)
{
	struct fl_server *s = rq->srv;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	long long length = -1;
	if (cl) {
		char *end;
		errno = 0;
		length = strtoll(cl, &end, 10);
		if (end == cl || *end || errno || length < 0)
			return fl__http_error(c, rq, 400, "bad_request", "Content-Length \"%.32s\" is not a number", cl);
	}
	if (!ct)
		return fl__http_error(c, rq, 415, "unsupported_media",
		                      "no Content-Type: send video/*, multipart/form-data or application/json");
	if (!strncasecmp(ct, "video/", 6)) {
		rq->body = FL__BODY_RAW;
		if (length > s->cfg.max_upload)
			return fl__http_error(c, rq, 413, "too_large", "the video (%lld bytes) is larger than the limit of %lld",
			                      length, (long long)s->cfg.max_upload);
		/* A file name may come as Content-Disposition: ...; filename="x.mp4". */
		const char *cd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Disposition");
		const char *fn = cd ? strstr(cd, "filename=") : NULL;
		char fname[256] = "";
		if (fn) {
			fn += 9;
			if (*fn == '"')
				fn++;
			size_t k = strcspn(fn, "\";");
			snprintf(fname, sizeof(fname), "%.*s", (int)(k < 255 ? k : 255), fn);
		}
		pick_ext(rq->ext, sizeof(rq->ext), fname[0] ? fname : NULL, ct);
		pick_name(rq->name, sizeof(rq->name), fname[0] ? fname : NULL);
		if (upload_open(rq) < 0)
			return fl__http_error(c, rq, (unsigned)rq->err_status, rq->err_code, "%s", rq->err_msg);
		return MHD_YES;
	}
	if (!strncasecmp(ct, "multipart/form-data", 19)) {
		rq->body = FL__BODY_MULTIPART;
		if (length > s->cfg.max_upload + FL__MULTIPART_SLACK)
			return fl__http_error(c, rq, 413, "too_large", "the upload (%lld bytes) is larger than the limit of %lld",
			                      length, (long long)s->cfg.max_upload);
		rq->fields = json_object();
		rq->pp = MHD_create_post_processor(c, 64 * 1024, on_part, rq);
		if (!rq->fields || !rq->pp)
			return fl__http_error(c, rq, 400, "bad_multipart", "multipart/form-data without a boundary");
		snprintf(rq->ext, sizeof(rq->ext), "bin");
		return MHD_YES;
	}
	if (!strncasecmp(ct, "application/json", 16)) {
		rq->body = FL__BODY_JSON;
		if (length > FL__JSON_BODY_MAX)
			return fl__http_error(c, rq, 413, "too_large", "a JSON body may hold at most %d bytes",
			                      FL__JSON_BODY_MAX);
		return MHD_YES;
	}
	return fl__http_error(c, rq, 415, "unsupported_media",
	                      "Content-Type %.64s: send video/*, multipart/form-data or application/json", ct);
}

/* A piece of the body. */
static enum MHD_Result submit_data(struct fl__req *rq, const char *data, size_t n)
{
	if (rq->err_status) {
		/* Read and drop the rest so the client gets the answer; a body
		** far beyond any limit is cut off by closing the connection. */
		rq->discarded += (int64_t)n;
		upload_discard(rq);
		return rq->discarded > FL__DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	switch (rq->body) {
	case FL__BODY_RAW:
		upload_write(rq, data, n);
		break;
	case FL__BODY_MULTIPART:
		if (MHD_post_process(rq->pp, data, n) != MHD_YES)
			fl__req_fail(rq, 400, "bad_multipart", "the multipart body is malformed");
		break;
	case FL__BODY_JSON:
		if (rq->json_len + n > FL__JSON_BODY_MAX) {
			fl__req_fail(rq, 413, "too_large", "a JSON body may hold at most %d bytes", FL__JSON_BODY_MAX);
			break;
		}
		if (rq->json_len + n > rq->json_cap) {
			size_t cap = rq->json_cap ? rq->json_cap : 1024;
			while (cap < rq->json_len + n)
				cap *= 2;
			char *b = fl_realloc(rq->json, cap);
			if (!b) {
				fl__req_fail(rq, 500, "internal", "out of memory");
				break;
			}
			rq->json = b;
			rq->json_cap = cap;
		}
		memcpy(rq->json + rq->json_len, data, n);
		rq->json_len += n;
		break;
	default:
		break;
	}
	if (rq->err_status)
		upload_discard(rq);
	return MHD_YES;
}

/* ================================================================ reads */

static int valid_id(const char *id, size_t n)
{
	if (n == 0 || n >= FL_JOB_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return 0;
	}
	return 1;
}

/* Load the job named by the path, or answer 404/500.  Returns 0 with *j filled. */
static int load_job(struct MHD_Connection *c, struct fl__req *rq, const char *id, struct fl_job *j,
                    enum MHD_Result *ret)
{
	memset(j, 0, sizeof(*j));
	int rc = fl_store_get(rq->srv->st, id, j);
	if (rc < 0)
		fl_job_clear(j);
	if (rc == FL_ENOENT) {
		*ret = fl__http_error(c, rq, 404, "no_such_job", "no job \"%s\"", id);
		return -1;
	}
	if (rc < 0) {
		*ret = fl__http_error(c, rq, 500, "store", "reading job %s failed: %s", id, fl_store_errmsg(rq->srv->st));
		return -1;
	}
	return 0;
}

static int parse_int_arg(struct MHD_Connection *c, const char *name, long lo, long hi, long def, long *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (end == v || *end || errno || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static enum MHD_Result get_list(struct MHD_Connection *c, struct fl__req *rq)
{
	const char *sv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	int state = -1;
	if (sv && *sv && (state = fl_job_state_parse(sv)) < 0)
		return fl__http_error(c, rq, 400, "bad_param",
		                      "state \"%.32s\": expected queued, running, succeeded, failed, canceled or dead", sv);
	long limit;
	if (parse_int_arg(c, "limit", 1, FL__LIST_MAX, 50, &limit) < 0)
		return fl__http_error(c, rq, 400, "bad_param", "limit: expected an integer 1..%d", FL__LIST_MAX);
	const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	if (cursor && strlen(cursor) > 128)
		return fl__http_error(c, rq, 400, "bad_cursor", "cursor too long");
	struct fl_job *jobs = NULL;
	int n = 0;
	char next[160] = "";
	int rc = fl_store_list(rq->srv->st, state, (int)limit, cursor, &jobs, &n, next);
	if (rc == FL_EINVAL)
		return fl__http_error(c, rq, 400, "bad_cursor", "cursor \"%.64s\" is not one this server gave out",
		                      cursor ? cursor : "");
	if (rc < 0)
		return fl__http_error(c, rq, 500, "store", "listing jobs failed: %s", fl_store_errmsg(rq->srv->st));
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(arr, job_json(&jobs[i]));
		fl_job_clear(&jobs[i]);
	}
	fl_free(jobs);
	json_t *o = json_pack("{s:o,s:o}", "jobs", arr, "next_cursor", next[0] ? json_string(next) : json_null());
	return fl__http_reply_json(c, rq, 200, o);
}

static enum MHD_Result get_result(struct MHD_Connection *c, struct fl__req *rq, const struct fl_job *j)
{
	if (j->state == FL_JOB_QUEUED || j->state == FL_JOB_RUNNING)
		return fl__http_error(c, rq, 409, "not_ready", "job %s is %s; its result is not ready", j->id,
		                      fl_job_state_name(j->state));
	if (j->state != FL_JOB_SUCCEEDED || !j->result)
		return fl__http_error(c, rq, 410, "no_result", "job %s is %s and has no result%s%s", j->id,
		                      fl_job_state_name(j->state), j->error ? ": " : "", j->error ? j->error : "");
	const char *po = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "persons_only");
	const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	int persons_only = po && (!strcmp(po, "1") || !strcasecmp(po, "true"));
	if (po && !persons_only && strcmp(po, "0") && strcasecmp(po, "false"))
		return fl__http_error(c, rq, 400, "bad_param", "persons_only: expected 1 or 0");
	if (!persons_only && !lim && !cur) {
		/* The whole file, straight from disk. */
		int fd = open(j->result, O_RDONLY | O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) != 0) {
			if (fd >= 0)
				close(fd);
			return fl__http_error(c, rq, 500, "result_missing", "the result file of job %s cannot be read", j->id);
		}
		struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
		if (!r) {
			close(fd);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", "application/json");
		fl__http_common_headers(r);
		enum MHD_Result ret = fl__http_queue(c, rq, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	long limit, offset = 0;
	if (parse_int_arg(c, "limit", 1, FL__PAGE_MAX, 100, &limit) < 0)
		return fl__http_error(c, rq, 400, "bad_param", "limit: expected an integer 1..%d", FL__PAGE_MAX);
	if (cur) {
		/* The cursor is "t" + the index of the next track. */
		char *end;
		errno = 0;
		offset = cur[0] == 't' ? strtol(cur + 1, &end, 10) : -1;
		if (offset < 0 || cur[0] != 't' || !cur[1] || *end || errno)
			return fl__http_error(c, rq, 400, "bad_cursor", "cursor \"%.64s\" is not one this server gave out", cur);
	}
	json_error_t je;
	json_t *doc = json_load_file(j->result, 0, &je);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		return fl__http_error(c, rq, 500, "result_damaged", "the result file of job %s cannot be parsed: %s", j->id,
		                      je.text);
	}
	if (persons_only) {
		json_object_del(doc, "tracks");
		return fl__http_reply_json(c, rq, 200, doc);
	}
	json_t *tracks = json_object_get(doc, "tracks");
	size_t total = json_is_array(tracks) ? json_array_size(tracks) : 0;
	if ((size_t)offset > total) {
		json_decref(doc);
		return fl__http_error(c, rq, 400, "bad_cursor", "cursor \"%.64s\" is past the last track", cur);
	}
	json_t *page = json_array();
	for (size_t i = (size_t)offset; i < total && i < (size_t)offset + (size_t)limit; i++)
		json_array_append(page, json_array_get(tracks, i));
	json_object_set_new(doc, "tracks", page);
	char next[32];
	size_t end_i = (size_t)offset + json_array_size(page);
	snprintf(next, sizeof(next), "t%zu", end_i);
	json_object_set_new(doc, "page",
	                    json_pack("{s:I,s:I,s:I,s:o}", "offset", (json_int_t)offset, "limit", (json_int_t)limit,
	                              "total_tracks", (json_int_t)total, "next_cursor",
	                              end_i < total ? json_string(next) : json_null()));
	return fl__http_reply_json(c, rq, 200, doc);
}

static enum MHD_Result cancel_job(struct MHD_Connection *c, struct fl__req *rq, const char *id)
{
	struct fl_job j;
	memset(&j, 0, sizeof(j));
	int rc = fl_store_cancel(rq->srv->st, id, &j);
	if (rc < 0)
		fl_job_clear(&j); /* the store may have read the job before refusing */
	if (rc == FL_ENOENT)
		return fl__http_error(c, rq, 404, "no_such_job", "no job \"%s\"", id);
	if (rc == FL_EBUSY) {
		struct fl_job k;
		enum MHD_Result ret;
		if (load_job(c, rq, id, &k, &ret) < 0)
			return ret;
		ret = fl__http_error(c, rq, 409, "finished", "job %s is already %s", id, fl_job_state_name(k.state));
		fl_job_clear(&k);
		return ret;
	}
	if (rc < 0)
		return fl__http_error(c, rq, 500, "store", "canceling job %s failed: %s", id, fl_store_errmsg(rq->srv->st));
	json_t *o = job_json(&j);
	unsigned status = j.state == FL_JOB_CANCELED ? 200 : 202; /* 202: a running analysis stops soon */
	fl_job_clear(&j);
	return fl__http_reply_json(c, rq, status, o);
}

/* ================================================================ entry */

enum MHD_Result fl__http_jobs(struct MHD_Connection *c, struct fl__req *rq, const char *method, const char *rest,
                              const char *upload, size_t *upload_size, int first)
{
	if (rq->route == FL__ROUTE_JOBS) {
		if (strcmp(method, "POST") != 0)
			return get_list(c, rq);
		if (first)
			return submit_start(c, rq);
		if (*upload_size) {
			enum MHD_Result r = submit_data(rq, upload, *upload_size);
			*upload_size = 0;
			return r;
		}
		return submit_finish(c, rq);
	}
	/* rest = "/{id}[/result|/thumbnail/{person}]" */
	const char *id = rest + 1, *slash = strchr(id, '/');
	size_t idn = slash ? (size_t)(slash - id) : strlen(id);
	char idbuf[FL_JOB_ID_LEN];
	if (!valid_id(id, idn))
		return fl__http_error(c, rq, 404, "no_such_job", "no job \"%.*s\"", (int)(idn > 64 ? 64 : idn), id);
	memcpy(idbuf, id, idn);
	idbuf[idn] = '\0';
	if (rq->route == FL__ROUTE_JOB && !strcmp(method, "DELETE"))
		return cancel_job(c, rq, idbuf);
	struct fl_job j;
	enum MHD_Result ret;
	if (load_job(c, rq, idbuf, &j, &ret) < 0)
		return ret;
	if (rq->route == FL__ROUTE_JOB)
		ret = fl__http_reply_json(c, rq, 200, job_json(&j));
	else if (rq->route == FL__ROUTE_RESULT)
		ret = get_result(c, rq, &j);
	else
		ret = fl__http_thumbnail(c, rq, &j, slash + strlen("/thumbnail/"));
	fl_job_clear(&j);
	return ret;
}
