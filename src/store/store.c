/*
** store.c -- the job store of `faceline serve` on SQLite: one database
** DIR/faceline.db in WAL mode holding the `jobs` table, and the queue
** operations on it (enqueue, claim with a lease, heartbeat, succeed, fail
** with back-off, release, cancel, list, counts, webhook bookkeeping).
**
** Every operation that reads and then changes a row runs inside BEGIN
** IMMEDIATE, which takes SQLite's single write lock before the read: two
** connections (threads or processes) can never both see a job as claimable
** and both take it.  That is the SQLite spelling of PostgreSQL's
** SELECT ... FOR UPDATE SKIP LOCKED (docs/service-queue.md).  Durability:
** synchronous=FULL (every commit fsyncs the WAL) for everything except
** heartbeats and webhook bookkeeping, which run at NORMAL: losing the last
** heartbeat to a power cut only makes a lease look older.
**
** The schema and its migrations are in migrate.c; statements are prepared
** once per connection and kept.
*/
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base_int.h"

/* --------------------------------------------------------------- states */

static const char *const state_names[FL_JOB_STATE_N] = {
	"queued", "running", "succeeded", "failed", "canceled", "dead",
};

const char *fl_job_state_name(int state)
{
	return state >= 0 && state < FL_JOB_STATE_N ? state_names[state] : NULL;
}

int fl_job_state_parse(const char *s)
{
	for (int i = 0; s && i < FL_JOB_STATE_N; i++)
		if (!strcmp(s, state_names[i]))
			return i;
	return -1;
}

void fl_job_clear(struct fl_job *j)
{
	if (!j)
		return;
	fl_free(j->video);
	fl_free(j->params);
	fl_free(j->idem_key);
	fl_free(j->webhook);
	fl_free(j->error);
	fl_free(j->result);
	memset(j, 0, sizeof(*j));
}

/* ----------------------------------------------------------- statements */

/* The columns read into a struct fl_job, in row_to_job's order. */
#define JOB_COLS                                                                                     \
	"id, state, video, uploaded, params, idem_key, webhook, error, result, attempts, max_attempts, " \
	"created, updated, started, finished, run_after, worker, lease_until, progress, stage, fps, "   \
	"eta, frames_analysed, cancel, webhook_done, seq"

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SYNC_FULL,
	ST_SYNC_NORMAL,
	ST_GET,
	ST_GET_IDEM,
	ST_GET_SEQ,
	ST_INSERT,
	ST_CLAIM_NEXT,
	ST_CLAIM_TAKE,
	ST_EXPIRE,
	ST_HEARTBEAT,
	ST_LEASE_OF,
	ST_SUCCEED,
	ST_REQUEUE,
	ST_FINISH,
	ST_RELEASE,
	ST_CANCEL_QUEUED,
	ST_CANCEL_RUNNING,
	ST_COUNTS,
	ST_LIST,
	ST_WEBHOOK_PENDING,
	ST_WEBHOOK_DONE,
	ST_N
};

static const char *const sql_text[ST_N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[ST_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
	[ST_GET_IDEM] = "SELECT " JOB_COLS " FROM jobs WHERE idem_key = ?1",
	[ST_GET_SEQ] = "SELECT " JOB_COLS " FROM jobs WHERE seq = ?1",
	[ST_INSERT] = "INSERT INTO jobs (id, state, video, uploaded, params, idem_key, webhook, max_attempts, "
	              "created, updated) VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
	/* The oldest claimable job: queued and due, or running with a lease
	** that ran out (its worker died or hung). */
	[ST_CLAIM_NEXT] = "SELECT seq, state, attempts, max_attempts, cancel, worker FROM jobs "
	                  "WHERE (state = 'queued' AND run_after <= ?1) OR (state = 'running' AND lease_until < ?1) "
	                  "ORDER BY seq LIMIT 1",
	[ST_CLAIM_TAKE] = "UPDATE jobs SET state = 'running', worker = ?2, lease_until = ?3, attempts = attempts + 1, "
	                  "started = ?4, updated = ?4, progress = 0, stage = 'claimed', fps = 0, eta = -1, "
	                  "frames_analysed = 0 WHERE seq = ?1",
	/* A lost job that cannot run again: dead (attempts used up) or
	** canceled (cancellation was requested before its worker died). */
	[ST_EXPIRE] = "UPDATE jobs SET state = ?2, error = ?3, worker = '', lease_until = 0, finished = ?4, "
	              "updated = ?4 WHERE seq = ?1",
	[ST_HEARTBEAT] = "UPDATE jobs SET lease_until = ?3, updated = ?4, progress = ?5, stage = ?6, fps = ?7, "
	                 "eta = ?8, frames_analysed = ?9 WHERE id = ?1 AND state = 'running' AND worker = ?2 "
	                 "RETURNING cancel",
	[ST_LEASE_OF] = "SELECT state, worker, result, cancel, attempts, max_attempts FROM jobs WHERE id = ?1",
	[ST_SUCCEED] = "UPDATE jobs SET state = 'succeeded', result = ?2, error = NULL, worker = '', "
	               "lease_until = 0, progress = 1, stage = 'done', eta = 0, finished = ?3, updated = ?3 "
	               "WHERE id = ?1",
	[ST_REQUEUE] = "UPDATE jobs SET state = 'queued', error = ?2, worker = '', lease_until = 0, run_after = ?3, "
	               "updated = ?4, stage = '', fps = 0, eta = -1 WHERE id = ?1",
	[ST_FINISH] = "UPDATE jobs SET state = ?2, error = ?3, worker = '', lease_until = 0, finished = ?4, "
	              "updated = ?4 WHERE id = ?1",
	[ST_RELEASE] = "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), worker = '', "
	               "lease_until = 0, run_after = 0, updated = ?2, stage = '', fps = 0, eta = -1 WHERE id = ?1",
	[ST_CANCEL_QUEUED] = "UPDATE jobs SET state = 'canceled', cancel = 1, error = 'canceled', finished = ?2, "
	                     "updated = ?2 WHERE id = ?1",
	[ST_CANCEL_RUNNING] = "UPDATE jobs SET cancel = 1, updated = ?2 WHERE id = ?1",
	[ST_COUNTS] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[ST_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR seq < ?2) "
	            "ORDER BY seq DESC LIMIT ?3",
	[ST_WEBHOOK_PENDING] = "SELECT " JOB_COLS " FROM jobs WHERE webhook IS NOT NULL AND webhook_done = 0 "
	                       "AND state IN ('succeeded', 'failed', 'canceled', 'dead') ORDER BY finished, seq "
	                       "LIMIT ?1",
	[ST_WEBHOOK_DONE] = "UPDATE jobs SET webhook_done = 1 WHERE id = ?1",
};

struct fl_store {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *st[ST_N];
	int sync_full; /* the connection's current synchronous setting */
	char path[4096];
	char msg[512];
};

/* ------------------------------------------------------------- helpers */

double fl__store_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_msg(struct fl_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(struct fl_store *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
}

/* Map a SQLite result code to a status, recording what failed. */
static int db_fail(struct fl_store *s, int rc, const char *op)
{
	set_msg(s, "%s: %s: %s", s->path, op, sqlite3_errmsg(s->db));
	if (rc == SQLITE_NOMEM)
		return FL_ENOMEM;
	if (rc == SQLITE_FULL)
		return FL_ENOSPC;
	return FL_EIO;
}

static sqlite3_stmt *stmt(struct fl_store *s, int which)
{
	sqlite3_stmt *q = s->st[which];
	if (!q) {
		int rc = sqlite3_prepare_v3(s->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, &s->st[which], NULL);
		if (rc != SQLITE_OK) {
			db_fail(s, rc, "prepare");
			return NULL;
		}
		q = s->st[which];
	}
	return q;
}

/* Run a statement that returns no rows (or whose rows are ignored). */
static int exec_stmt(struct fl_store *s, sqlite3_stmt *q, const char *op)
{
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		int st = db_fail(s, rc, op);
		sqlite3_reset(q);
		return st;
	}
	sqlite3_reset(q);
	return 0;
}

static int run_simple(struct fl_store *s, int which, const char *op)
{
	sqlite3_stmt *q = stmt(s, which);
	if (!q)
		return FL_EIO;
	return exec_stmt(s, q, op);
}

static int set_sync(struct fl_store *s, int full)
{
	if (s->sync_full == full)
		return 0;
	int r = run_simple(s, full ? ST_SYNC_FULL : ST_SYNC_NORMAL, "PRAGMA synchronous");
	if (r == 0)
		s->sync_full = full;
	return r;
}

static int begin(struct fl_store *s)
{
	return run_simple(s, ST_BEGIN, "BEGIN IMMEDIATE");
}

static int commit(struct fl_store *s)
{
	int r = run_simple(s, ST_COMMIT, "COMMIT");
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		run_simple(s, ST_ROLLBACK, "ROLLBACK");
	return r;
}

/* End a transaction: commit when status is 0, else roll back (keeping
** the message of the first failure). */
static int end_tx(struct fl_store *s, int status)
{
	if (status >= 0)
		return commit(s) < 0 ? FL_EIO : status;
	if (!sqlite3_get_autocommit(s->db)) {
		char keep[sizeof(s->msg)];
		memcpy(keep, s->msg, sizeof(keep));
		run_simple(s, ST_ROLLBACK, "ROLLBACK");
		memcpy(s->msg, keep, sizeof(keep));
	}
	return status;
}

static int bind_text(sqlite3_stmt *q, int i, const char *v)
{
	return v ? sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, i);
}

/* A column as a fl_malloc'd string (NULL for SQL NULL); *bad on OOM. */
static char *col_dup(sqlite3_stmt *q, int i, int *bad)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	if (!t)
		return NULL;
	char *d = fl_strdup((const char *)t);
	if (!d)
		*bad = 1;
	return d;
}

static void col_copy(sqlite3_stmt *q, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static int row_to_job(struct fl_store *s, sqlite3_stmt *q, struct fl_job *j)
{
	int bad = 0;
	memset(j, 0, sizeof(*j));
	col_copy(q, 0, j->id, sizeof(j->id));
	j->state = fl_job_state_parse((const char *)sqlite3_column_text(q, 1));
	j->video = col_dup(q, 2, &bad);
	j->uploaded = sqlite3_column_int(q, 3);
	j->params = col_dup(q, 4, &bad);
	j->idem_key = col_dup(q, 5, &bad);
	j->webhook = col_dup(q, 6, &bad);
	j->error = col_dup(q, 7, &bad);
	j->result = col_dup(q, 8, &bad);
	j->attempts = sqlite3_column_int(q, 9);
	j->max_attempts = sqlite3_column_int(q, 10);
	j->created = sqlite3_column_double(q, 11);
	j->updated = sqlite3_column_double(q, 12);
	j->started = sqlite3_column_double(q, 13);
	j->finished = sqlite3_column_double(q, 14);
	j->run_after = sqlite3_column_double(q, 15);
	col_copy(q, 16, j->worker, sizeof(j->worker));
	j->lease_until = sqlite3_column_double(q, 17);
	j->progress = sqlite3_column_double(q, 18);
	col_copy(q, 19, j->stage, sizeof(j->stage));
	j->fps = sqlite3_column_double(q, 20);
	j->eta = sqlite3_column_double(q, 21);
	j->frames_analysed = sqlite3_column_int64(q, 22);
	j->cancel = sqlite3_column_int(q, 23);
	j->webhook_done = sqlite3_column_int(q, 24);
	if (bad) {
		fl_job_clear(j);
		set_msg(s, "out of memory reading a job");
		return FL_ENOMEM;
	}
	return 0;
}

/* Read the job with this id into out (may be NULL: existence check). */
static int get_locked(struct fl_store *s, const char *id, struct fl_job *out)
{
	sqlite3_stmt *q = stmt(s, ST_GET);
	if (!q)
		return FL_EIO;
	bind_text(q, 1, id);
	int rc = sqlite3_step(q), r;
	if (rc == SQLITE_ROW)
		r = out ? row_to_job(s, q, out) : 0;
	else if (rc == SQLITE_DONE) {
		set_msg(s, "no job with id \"%s\"", id);
		r = FL_ENOENT;
	} else
		r = db_fail(s, rc, "reading a job");
	sqlite3_reset(q);
	return r;
}

/* The lease of job id: its state, holder, result path and cancel flag. */
struct lease {
	int state;
	char worker[64];
	char result[4096];
	int cancel, attempts, max_attempts;
};

static int lease_of(struct fl_store *s, const char *id, struct lease *l)
{
	sqlite3_stmt *q = stmt(s, ST_LEASE_OF);
	if (!q)
		return FL_EIO;
	bind_text(q, 1, id);
	int rc = sqlite3_step(q), r = 0;
	if (rc == SQLITE_ROW) {
		l->state = fl_job_state_parse((const char *)sqlite3_column_text(q, 0));
		col_copy(q, 1, l->worker, sizeof(l->worker));
		col_copy(q, 2, l->result, sizeof(l->result));
		l->cancel = sqlite3_column_int(q, 3);
		l->attempts = sqlite3_column_int(q, 4);
		l->max_attempts = sqlite3_column_int(q, 5);
	} else if (rc == SQLITE_DONE) {
		set_msg(s, "no job with id \"%s\"", id);
		r = FL_ENOENT;
	} else
		r = db_fail(s, rc, "reading a lease");
	sqlite3_reset(q);
	return r;
}

/* FL_EBUSY with a message unless the job is running under worker's lease. */
static int check_lease(struct fl_store *s, const char *id, const char *worker, const struct lease *l)
{
	if (l->state == FL_JOB_RUNNING && !strcmp(l->worker, worker))
		return 0;
	if (l->state == FL_JOB_RUNNING)
		set_msg(s, "job %s is leased to worker \"%s\", not \"%s\"", id, l->worker, worker);
	else
		set_msg(s, "job %s is %s, no longer running under worker \"%s\"", id, fl_job_state_name(l->state),
		        worker);
	return FL_EBUSY;
}

static int check_id(struct fl_store *s, const char *id)
{
	if (!id || !*id || strlen(id) >= FL_JOB_ID_LEN) {
		set_msg(s, "bad job id \"%s\"", id ? id : "(null)");
		return FL_EINVAL;
	}
	return 0;
}

static int check_worker(struct fl_store *s, const char *worker)
{
	if (!worker || !*worker || strlen(worker) >= sizeof(((struct fl_job *)0)->worker)) {
		set_msg(s, "bad worker name \"%s\" (1..63 characters expected)", worker ? worker : "(null)");
		return FL_EINVAL;
	}
	return 0;
}

/* "j" + 22 characters of the URL-safe base64 alphabet from the kernel's
** random source (132 bits). */
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int new_id(struct fl_store *s, char id[FL_JOB_ID_LEN])
{
	unsigned char rnd[22];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_msg(s, "getrandom: %s", strerror(errno));
			return FL_EIO;
		}
		got += (size_t)n;
	}
	id[0] = 'j';
	for (int i = 0; i < 22; i++)
		id[1 + i] = b64url[rnd[i] & 63];
	id[23] = 0;
	return 0;
}

/* ------------------------------------------------------------ open/close */

int fl_store_open(const char *dir, struct fl_store **out, char *err, size_t err_size)
{
	struct fl_store *s = NULL;
	struct stat sb;
	int r;

	if (out)
		*out = NULL;
	if (!dir || !*dir || !out) {
		fl__errf(err, err_size, "no data directory given");
		return FL_EINVAL;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fl__errf(err, err_size, "%s: not a directory (the data directory must exist)", dir);
		return FL_ENOENT;
	}
	s = fl_calloc(1, sizeof(*s));
	if (!s) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	if (snprintf(s->path, sizeof(s->path), "%s/faceline.db", dir) >= (int)sizeof(s->path)) {
		fl__errf(err, err_size, "%s: path too long", dir);
		r = FL_EINVAL;
		goto fail;
	}
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		fl__errf(err, err_size, "%s: cannot open the database: %s", s->path,
		         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		r = rc == SQLITE_NOMEM ? FL_ENOMEM : rc == SQLITE_CANTOPEN ? FL_EACCES : FL_EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 0);
	r = fl__store_setup(s->db, s->path, err, err_size);
	if (r < 0)
		goto fail;
	s->sync_full = 1;
	*out = s;
	return 0;
fail:
	fl_store_close(s);
	return r;
}

void fl_store_close(struct fl_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	fl_free(s);
}

const char *fl_store_errmsg(struct fl_store *s)
{
	return s ? s->msg : "no store";
}

int fl_store_schema_version(struct fl_store *s)
{
	pthread_mutex_lock(&s->mu);
	int v = fl__store_user_version(s->db);
	pthread_mutex_unlock(&s->mu);
	return v;
}

/* ------------------------------------------------------------ enqueue */

int fl_store_enqueue(struct fl_store *s, const struct fl_job_new *n, struct fl_job *out, int *created)
{
	char id[FL_JOB_ID_LEN];
	int r;

	if (created)
		*created = 0;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!s || !n || !n->video || !*n->video) {
		if (s)
			set_msg(s, "a job needs a video path");
		return FL_EINVAL;
	}
	if (n->max_attempts < 0 || n->max_attempts > 100) {
		set_msg(s, "max_attempts %d out of range (0 for the default 3, or 1..100)", n->max_attempts);
		return FL_EINVAL;
	}
	pthread_mutex_lock(&s->mu);
	r = set_sync(s, 1);
	if (r < 0 || (r = begin(s)) < 0)
		goto out;
	if (n->idem_key) {
		sqlite3_stmt *q = stmt(s, ST_GET_IDEM);
		if (!q) {
			r = end_tx(s, FL_EIO);
			goto out;
		}
		bind_text(q, 1, n->idem_key);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			/* The same key returns the job it made the first time. */
			r = out ? row_to_job(s, q, out) : 0;
			sqlite3_reset(q);
			r = end_tx(s, r);
			goto out;
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			r = end_tx(s, db_fail(s, rc, "looking up the idempotency key"));
			goto out;
		}
	}
	r = new_id(s, id);
	if (r < 0) {
		r = end_tx(s, r);
		goto out;
	}
	sqlite3_stmt *q = stmt(s, ST_INSERT);
	if (!q) {
		r = end_tx(s, FL_EIO);
		goto out;
	}
	bind_text(q, 1, id);
	bind_text(q, 2, n->video);
	sqlite3_bind_int(q, 3, n->uploaded ? 1 : 0);
	bind_text(q, 4, n->params ? n->params : "{}");
	bind_text(q, 5, n->idem_key);
	bind_text(q, 6, n->webhook);
	sqlite3_bind_int(q, 7, n->max_attempts ? n->max_attempts : 3);
	sqlite3_bind_double(q, 8, fl__store_now());
	r = exec_stmt(s, q, "inserting a job");
	if (r == 0 && out)
		r = get_locked(s, id, out);
	r = end_tx(s, r);
	if (r == 0 && created)
		*created = 1;
out:
	if (r < 0 && out)
		fl_job_clear(out);
	pthread_mutex_unlock(&s->mu);
	return r;
}

int fl_store_get(struct fl_store *s, const char *id, struct fl_job *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	int r = check_id(s, id);
	if (r < 0)
		return r == FL_EINVAL ? FL_ENOENT : r;
	pthread_mutex_lock(&s->mu);
	r = get_locked(s, id, out);
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* ----------------------------------------------------------------- list */

/* The cursor is the seq of the last job on the page, as 11 characters of
** URL-safe base64 after a 'c' (a version tag): opaque to clients, and the
** page after it is "seq < that", which stays correct while jobs are added. */
static void cursor_encode(int64_t seq, char *out)
{
	uint64_t v = (uint64_t)seq;
	out[0] = 'c';
	for (int i = 0; i < 11; i++)
		out[1 + i] = b64url[(v >> (60 - 6 * i)) & 63];
	out[12] = 0;
}

static int cursor_decode(const char *c, int64_t *seq)
{
	uint64_t v = 0;
	if (strlen(c) != 12 || c[0] != 'c')
		return -1;
	for (int i = 0; i < 11; i++) {
		const char *p = memchr(b64url, c[1 + i], 64);
		if (!p || !c[1 + i])
			return -1;
		v = (v << 6) | (uint64_t)(p - b64url);
	}
	if (v == 0 || v > (uint64_t)INT64_MAX)
		return -1;
	*seq = (int64_t)v;
	return 0;
}

int fl_store_list(struct fl_store *s, int state, int limit, const char *cursor, struct fl_job **jobs, int *n,
                  char *next_cursor)
{
	int64_t after = 0;
	int r = 0, cnt = 0;
	struct fl_job *arr = NULL;

	*jobs = NULL;
	*n = 0;
	if (next_cursor)
		next_cursor[0] = 0;
	if (state >= FL_JOB_STATE_N) {
		set_msg(s, "bad state %d", state);
		return FL_EINVAL;
	}
	if (cursor && *cursor && cursor_decode(cursor, &after) < 0) {
		set_msg(s, "bad cursor \"%.40s\" (pass the next_cursor of the previous page)", cursor);
		return FL_EINVAL;
	}
	if (limit <= 0)
		limit = 50;
	if (limit > 1000)
		limit = 1000;
	arr = fl_calloc((size_t)limit, sizeof(*arr));
	if (!arr) {
		set_msg(s, "out of memory");
		return FL_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q = stmt(s, ST_LIST);
	if (!q) {
		r = FL_EIO;
		goto out;
	}
	bind_text(q, 1, state >= 0 ? fl_job_state_name(state) : NULL);
	if (after > 0)
		sqlite3_bind_int64(q, 2, after);
	else
		sqlite3_bind_null(q, 2);
	sqlite3_bind_int(q, 3, limit + 1); /* one more tells whether a next page exists */
	int rc, more = 0;
	int64_t last_seq = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == limit) {
			more = 1;
			break;
		}
		r = row_to_job(s, q, &arr[cnt]);
		if (r < 0)
			break;
		last_seq = sqlite3_column_int64(q, 25);
		cnt++;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s, rc, "listing jobs");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (r == 0 && more && next_cursor)
		cursor_encode(last_seq, next_cursor);
out:
	pthread_mutex_unlock(&s->mu);
	if (r < 0) {
		for (int i = 0; i < cnt; i++)
			fl_job_clear(&arr[i]);
		fl_free(arr);
		if (next_cursor)
			next_cursor[0] = 0;
		return r;
	}
	*jobs = arr;
	*n = cnt;
	return 0;
}

/* ---------------------------------------------------------------- claim */

int fl_store_claim(struct fl_store *s, const char *worker, double lease_s, struct fl_job *out)
{
	int r;
	if (out)
		memset(out, 0, sizeof(*out));
	if ((r = check_worker(s, worker)) < 0)
		return r;
	if (!(lease_s > 0)) {
		set_msg(s, "lease %g s: a positive number of seconds expected", lease_s);
		return FL_EINVAL;
	}
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	double now = fl__store_now();
	for (;;) {
		sqlite3_stmt *q = stmt(s, ST_CLAIM_NEXT);
		if (!q) {
			r = FL_EIO;
			break;
		}
		sqlite3_bind_double(q, 1, now);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_DONE) {
			sqlite3_reset(q);
			set_msg(s, "no job to claim");
			r = FL_ENOENT;
			break;
		}
		if (rc != SQLITE_ROW) {
			r = db_fail(s, rc, "finding a job to claim");
			sqlite3_reset(q);
			break;
		}
		int64_t seq = sqlite3_column_int64(q, 0);
		int running = fl_job_state_parse((const char *)sqlite3_column_text(q, 1)) == FL_JOB_RUNNING;
		int attempts = sqlite3_column_int(q, 2), max_attempts = sqlite3_column_int(q, 3);
		int cancel = sqlite3_column_int(q, 4);
		char lost[64];
		col_copy(q, 5, lost, sizeof(lost));
		sqlite3_reset(q);

		if (running && (cancel || attempts >= max_attempts)) {
			/* Its worker is gone and it must not run again. */
			char msg[256];
			if (cancel)
				snprintf(msg, sizeof(msg), "canceled (worker \"%s\" stopped heartbeating)", lost);
			else
				snprintf(msg, sizeof(msg),
				         "worker \"%s\" stopped heartbeating (lease expired) on attempt %d of %d", lost,
				         attempts, max_attempts);
			sqlite3_stmt *e = stmt(s, ST_EXPIRE);
			if (!e) {
				r = FL_EIO;
				break;
			}
			sqlite3_bind_int64(e, 1, seq);
			bind_text(e, 2, cancel ? "canceled" : "dead");
			bind_text(e, 3, msg);
			sqlite3_bind_double(e, 4, now);
			if ((r = exec_stmt(s, e, "expiring a lost job")) < 0)
				break;
			continue;
		}
		sqlite3_stmt *t = stmt(s, ST_CLAIM_TAKE);
		if (!t) {
			r = FL_EIO;
			break;
		}
		sqlite3_bind_int64(t, 1, seq);
		bind_text(t, 2, worker);
		sqlite3_bind_double(t, 3, now + lease_s);
		sqlite3_bind_double(t, 4, now);
		if ((r = exec_stmt(s, t, "claiming a job")) < 0)
			break;
		if (running)
			fl_log(FL_LOG_WARN, "store: re-claiming a job whose worker \"%s\" stopped heartbeating", lost);
		sqlite3_stmt *g = stmt(s, ST_GET_SEQ);
		if (!g) {
			r = FL_EIO;
			break;
		}
		sqlite3_bind_int64(g, 1, seq);
		rc = sqlite3_step(g);
		if (rc == SQLITE_ROW)
			r = out ? row_to_job(s, g, out) : 0;
		else
			r = db_fail(s, rc, "reading the claimed job");
		sqlite3_reset(g);
		break;
	}
	/* "Nothing to claim" still commits the expiries made on the way. */
	if (r == FL_ENOENT) {
		int c = commit(s);
		if (c < 0)
			r = c;
	} else
		r = end_tx(s, r);
out:
	if (r < 0 && out)
		fl_job_clear(out);
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* ------------------------------------------------------------ heartbeat */

int fl_store_heartbeat(struct fl_store *s, const char *id, const char *worker, double lease_s,
                       const struct fl_job_progress *p, int *cancel)
{
	int r;
	if (cancel)
		*cancel = 0;
	if ((r = check_id(s, id)) < 0 || (r = check_worker(s, worker)) < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	/* Progress is not precious: no fsync per heartbeat. */
	if ((r = set_sync(s, 0)) < 0)
		goto out;
	sqlite3_stmt *q = stmt(s, ST_HEARTBEAT);
	if (!q) {
		r = FL_EIO;
		goto out;
	}
	double now = fl__store_now();
	bind_text(q, 1, id);
	bind_text(q, 2, worker);
	sqlite3_bind_double(q, 3, now + lease_s);
	sqlite3_bind_double(q, 4, now);
	sqlite3_bind_double(q, 5, p ? p->progress : 0);
	bind_text(q, 6, p && p->stage ? p->stage : "");
	sqlite3_bind_double(q, 7, p ? p->fps : 0);
	sqlite3_bind_double(q, 8, p ? p->eta : -1);
	sqlite3_bind_int64(q, 9, p ? p->frames_analysed : 0);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		if (cancel)
			*cancel = sqlite3_column_int(q, 0) != 0;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1) {
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = db_fail(s, rc, "heartbeat");
	} else {
		/* Not ours any more: say why. */
		struct lease l;
		r = lease_of(s, id, &l);
		if (r == 0)
			r = check_lease(s, id, worker, &l);
		if (r == 0) {
			set_msg(s, "job %s: heartbeat raced with a change of its lease", id);
			r = FL_EBUSY;
		}
	}
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* --------------------------------------------------------- finishing */

int fl_store_succeed(struct fl_store *s, const char *id, const char *worker, const char *result_path, int *first)
{
	int r;
	struct lease l;
	if (first)
		*first = 0;
	if ((r = check_id(s, id)) < 0 || (r = check_worker(s, worker)) < 0)
		return r;
	if (!result_path || !*result_path) {
		set_msg(s, "job %s: no result path", id);
		return FL_EINVAL;
	}
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	r = lease_of(s, id, &l);
	if (r == 0 && l.state == FL_JOB_SUCCEEDED) {
		/* A second run of the same job: the first result stands. */
		r = end_tx(s, 0);
		goto out;
	}
	if (r == 0)
		r = check_lease(s, id, worker, &l);
	if (r == 0) {
		sqlite3_stmt *q = stmt(s, ST_SUCCEED);
		if (!q)
			r = FL_EIO;
		else {
			bind_text(q, 1, id);
			bind_text(q, 2, result_path);
			sqlite3_bind_double(q, 3, fl__store_now());
			r = exec_stmt(s, q, "recording success");
		}
	}
	r = end_tx(s, r);
	if (r == 0 && first)
		*first = 1;
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* Back-off before retry number `attempts` + 1: 1 s, 2 s, 4 s ... 60 s. */
double fl__store_backoff(int attempts)
{
	if (attempts < 1)
		attempts = 1;
	if (attempts > 7)
		return 60.0;
	double b = ldexp(1.0, attempts - 1);
	return b > 60.0 ? 60.0 : b;
}

int fl_store_fail(struct fl_store *s, const char *id, const char *worker, const char *error, int retry)
{
	int r;
	struct lease l;
	if ((r = check_id(s, id)) < 0 || (r = check_worker(s, worker)) < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	r = lease_of(s, id, &l);
	if (r == 0)
		r = check_lease(s, id, worker, &l);
	if (r == 0) {
		double now = fl__store_now();
		const char *msg = error && *error ? error : "failed (no message)";
		sqlite3_stmt *q;
		if (retry && l.attempts < l.max_attempts) {
			q = stmt(s, ST_REQUEUE);
			if (q) {
				bind_text(q, 1, id);
				bind_text(q, 2, msg);
				sqlite3_bind_double(q, 3, now + fl__store_backoff(l.attempts));
				sqlite3_bind_double(q, 4, now);
			}
		} else {
			q = stmt(s, ST_FINISH);
			if (q) {
				bind_text(q, 1, id);
				bind_text(q, 2, retry ? "dead" : "failed");
				bind_text(q, 3, msg);
				sqlite3_bind_double(q, 4, now);
			}
		}
		r = q ? exec_stmt(s, q, "recording a failure") : FL_EIO;
	}
	r = end_tx(s, r);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

int fl_store_release(struct fl_store *s, const char *id, const char *worker)
{
	int r;
	struct lease l;
	if ((r = check_id(s, id)) < 0 || (r = check_worker(s, worker)) < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	r = lease_of(s, id, &l);
	if (r == 0)
		r = check_lease(s, id, worker, &l);
	if (r == 0) {
		double now = fl__store_now();
		sqlite3_stmt *q;
		if (l.cancel) {
			/* Cancellation was asked for: honour it rather than requeue. */
			q = stmt(s, ST_FINISH);
			if (q) {
				bind_text(q, 1, id);
				bind_text(q, 2, "canceled");
				bind_text(q, 3, "canceled");
				sqlite3_bind_double(q, 4, now);
			}
		} else {
			q = stmt(s, ST_RELEASE);
			if (q) {
				bind_text(q, 1, id);
				sqlite3_bind_double(q, 2, now);
			}
		}
		r = q ? exec_stmt(s, q, "releasing a job") : FL_EIO;
	}
	r = end_tx(s, r);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

int fl_store_cancel(struct fl_store *s, const char *id, struct fl_job *out)
{
	int r;
	struct lease l;
	if (out)
		memset(out, 0, sizeof(*out));
	if ((r = check_id(s, id)) < 0)
		return r == FL_EINVAL ? FL_ENOENT : r;
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	r = lease_of(s, id, &l);
	if (r == 0) {
		sqlite3_stmt *q = NULL;
		if (l.state == FL_JOB_QUEUED)
			q = stmt(s, ST_CANCEL_QUEUED);
		else if (l.state == FL_JOB_RUNNING)
			q = stmt(s, ST_CANCEL_RUNNING);
		else {
			set_msg(s, "job %s is already %s", id, fl_job_state_name(l.state));
			r = FL_EBUSY;
		}
		if (r == 0 && !q)
			r = FL_EIO;
		if (r == 0) {
			bind_text(q, 1, id);
			sqlite3_bind_double(q, 2, fl__store_now());
			r = exec_stmt(s, q, "canceling a job");
		}
	}
	/* out receives the job as it now is, also when it had finished. */
	if ((r == 0 || r == FL_EBUSY) && out) {
		int g = get_locked(s, id, out);
		if (g < 0)
			r = g;
	}
	int e = end_tx(s, r == FL_EBUSY ? 0 : r);
	if (e < 0)
		r = e;
out:
	if (r < 0 && r != FL_EBUSY && out)
		fl_job_clear(out);
	pthread_mutex_unlock(&s->mu);
	return r;
}

int fl_store_finish_cancel(struct fl_store *s, const char *id, const char *worker)
{
	int r;
	struct lease l;
	if ((r = check_id(s, id)) < 0 || (r = check_worker(s, worker)) < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 1)) < 0 || (r = begin(s)) < 0)
		goto out;
	r = lease_of(s, id, &l);
	if (r == 0)
		r = check_lease(s, id, worker, &l);
	if (r == 0) {
		sqlite3_stmt *q = stmt(s, ST_FINISH);
		if (!q)
			r = FL_EIO;
		else {
			bind_text(q, 1, id);
			bind_text(q, 2, "canceled");
			bind_text(q, 3, "canceled");
			sqlite3_bind_double(q, 4, fl__store_now());
			r = exec_stmt(s, q, "recording the cancellation");
		}
	}
	r = end_tx(s, r);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* --------------------------------------------------------------- counts */

int fl_store_counts(struct fl_store *s, int64_t counts[FL_JOB_STATE_N])
{
	int r = 0;
	memset(counts, 0, sizeof(int64_t) * FL_JOB_STATE_N);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q = stmt(s, ST_COUNTS);
	if (!q) {
		r = FL_EIO;
		goto out;
	}
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int st = fl_job_state_parse((const char *)sqlite3_column_text(q, 0));
		if (st >= 0)
			counts[st] = sqlite3_column_int64(q, 1);
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s, rc, "counting jobs");
	sqlite3_reset(q);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* ------------------------------------------------------------- webhooks */

int fl_store_webhook_pending(struct fl_store *s, struct fl_job **jobs, int *n, int max)
{
	int r = 0, cnt = 0;
	*jobs = NULL;
	*n = 0;
	if (max <= 0)
		return 0;
	struct fl_job *arr = fl_calloc((size_t)max, sizeof(*arr));
	if (!arr) {
		set_msg(s, "out of memory");
		return FL_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q = stmt(s, ST_WEBHOOK_PENDING);
	if (!q) {
		r = FL_EIO;
		goto out;
	}
	sqlite3_bind_int(q, 1, max);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && cnt < max) {
		if ((r = row_to_job(s, q, &arr[cnt])) < 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s, rc, "listing pending webhooks");
	sqlite3_reset(q);
out:
	pthread_mutex_unlock(&s->mu);
	if (r < 0) {
		for (int i = 0; i < cnt; i++)
			fl_job_clear(&arr[i]);
		fl_free(arr);
		return r;
	}
	if (cnt == 0) {
		fl_free(arr);
		arr = NULL;
	}
	*jobs = arr;
	*n = cnt;
	return 0;
}

int fl_store_webhook_done(struct fl_store *s, const char *id)
{
	int r;
	if ((r = check_id(s, id)) < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	if ((r = set_sync(s, 0)) < 0)
		goto out;
	sqlite3_stmt *q = stmt(s, ST_WEBHOOK_DONE);
	if (!q) {
		r = FL_EIO;
		goto out;
	}
	bind_text(q, 1, id);
	r = exec_stmt(s, q, "marking a webhook done");
	if (r == 0 && sqlite3_changes(s->db) == 0) {
		set_msg(s, "no job with id \"%s\"", id);
		r = FL_ENOENT;
	}
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}
