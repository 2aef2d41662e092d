/*
** store.h -- the job store of `faceline serve`: one SQLite database (WAL)
** under the data directory holding the jobs and their queue state.  The
** queue design (claim with a lease, heartbeats, attempts with back-off,
** idempotent completion) is the one a later issue moves onto PostgreSQL
** for many worker machines, so nothing here relies on being one process.
**
** A struct fl_store is one connection; it is safe to share between
** threads (calls are serialised by a mutex inside), but each worker thread
** may also open its own.  Times are Unix seconds (double).
**
** Returns: 0 on success; FL_ENOENT (no such job / nothing to claim),
** FL_EBUSY (the lease is no longer this worker's: the job was re-claimed
** or canceled), FL_EINVAL, FL_ENOMEM, FL_EIO (SQLite failed: message in
** fl_store_errmsg).
*/
#ifndef FL_STORE_H
#define FL_STORE_H

#include <stddef.h>
#include <stdint.h>

enum fl_job_state {
	FL_JOB_QUEUED,
	FL_JOB_RUNNING,
	FL_JOB_SUCCEEDED,
	FL_JOB_FAILED,   /* failed for good on an error that retrying cannot fix (bad video) */
	FL_JOB_CANCELED,
	FL_JOB_DEAD,     /* failed max_attempts times; error holds the last message */
	FL_JOB_STATE_N
};

/* "queued", "running", ...; NULL for a bad value. */
const char *fl_job_state_name(int state);
/* The state named s, or -1. */
int fl_job_state_parse(const char *s);

#define FL_JOB_ID_LEN 24 /* "j" + 22 url-safe random chars + NUL fits in 24 */

struct fl_job {
	char id[FL_JOB_ID_LEN];
	int state;
	char *video;        /* absolute path of the video (upload or allowed path) */
	int uploaded;       /* 1: the video is ours (under DIR/uploads), deleted with the job */
	char *params;       /* analysis params as JSON text ("{}" for defaults) */
	char *idem_key;     /* Idempotency-Key or NULL */
	char *webhook;      /* URL or NULL */
	char *error;        /* last error message or NULL */
	char *result;       /* path of the result JSON once succeeded, else NULL */
	int attempts, max_attempts;
	double created, updated, started, finished; /* 0 = not yet */
	double run_after;   /* not claimable before this (retry back-off) */
	char worker[64];    /* the lease holder while running */
	double lease_until;
	/* progress while running (from heartbeats) */
	double progress;    /* 0..1 */
	char stage[16];
	double fps, eta;
	int64_t frames_analysed;
	int cancel;         /* 1: cancellation requested */
	int webhook_done;   /* 1: webhook delivered (or given up) */
};

/* Free the strings of j (not j itself); NULL-safe, leaves j zeroed. */
void fl_job_clear(struct fl_job *j);

struct fl_store;

/* Open (creating, migrating) DIR/faceline.db; DIR must exist. */
int fl_store_open(const char *dir, struct fl_store **out, char *err, size_t err_size);
void fl_store_close(struct fl_store *s);
const char *fl_store_errmsg(struct fl_store *s);
/* The schema version the database is at (migrations applied). */
int fl_store_schema_version(struct fl_store *s);

/* What a new job is made of (strings borrowed). */
struct fl_job_new {
	const char *video;
	int uploaded;
	const char *params;     /* NULL = "{}" */
	const char *idem_key;   /* NULL = none */
	const char *webhook;    /* NULL = none */
	int max_attempts;       /* 0 = 3 */
};

/*
** Insert a queued job; out receives it.  With an idempotency key that an
** existing job already has, nothing is inserted, out receives that job and
** *created is 0 (else 1).
*/
int fl_store_enqueue(struct fl_store *s, const struct fl_job_new *n, struct fl_job *out, int *created);

int fl_store_get(struct fl_store *s, const char *id, struct fl_job *out);

/*
** List jobs, newest first; state < 0 for any.  cursor NULL/"" for the first
** page; next_cursor (>= 32 bytes) receives the cursor of the next page or
** "" at the end.  *jobs is fl_malloc'd (free each with fl_job_clear, then
** fl_free the array).
*/
int fl_store_list(struct fl_store *s, int state, int limit, const char *cursor, struct fl_job **jobs, int *n,
                  char *next_cursor);

/*
** Claim the oldest claimable job: queued with run_after <= now, or running
** with an expired lease (its worker died: attempts already counted).  Sets
** state running, worker, lease_until = now + lease_s, attempts += 1.
** FL_ENOENT when there is none.
*/
int fl_store_claim(struct fl_store *s, const char *worker, double lease_s, struct fl_job *out);

/* Progress of a running job, for the status route (not persisted through
** a crash beyond the last heartbeat). */
struct fl_job_progress {
	double progress, fps, eta;
	const char *stage;
	int64_t frames_analysed;
};

/*
** Extend the lease and record progress.  *cancel (may be NULL) is set to 1
** when cancellation was requested.  FL_EBUSY when the lease is not
** worker's any more (stop working on it).
*/
int fl_store_heartbeat(struct fl_store *s, const char *id, const char *worker, double lease_s,
                       const struct fl_job_progress *p, int *cancel);

/*
** Finish: succeeded with the result at result_path.  Idempotent: a job
** that already succeeded keeps its first result and 0 is returned with
** *first = 0 (the caller deletes its own copy).  FL_EBUSY when the job was
** canceled or is leased to another worker.
*/
int fl_store_succeed(struct fl_store *s, const char *id, const char *worker, const char *result_path, int *first);

/*
** Record a failed attempt.  retry = 1: back to queued with run_after =
** now + backoff (1 s, 2 s, 4 s ... capped at 60 s) unless attempts ==
** max_attempts, then dead.  retry = 0: failed for good.
*/
int fl_store_fail(struct fl_store *s, const char *id, const char *worker, const char *error, int retry);

/* Give a running job back to the queue (graceful shutdown): queued, the
** attempt not counted against it. */
int fl_store_release(struct fl_store *s, const char *id, const char *worker);

/*
** Cancel: a queued job becomes canceled at once; a running one gets
** cancel = 1 (its worker stops within a second and calls
** fl_store_finish_cancel).  Finished jobs: FL_EBUSY.
*/
int fl_store_cancel(struct fl_store *s, const char *id, struct fl_job *out);
int fl_store_finish_cancel(struct fl_store *s, const char *id, const char *worker);

/* Jobs per state (FL_JOB_STATE_N counts). */
int fl_store_counts(struct fl_store *s, int64_t counts[FL_JOB_STATE_N]);

/* Webhook bookkeeping: jobs finished whose webhook is not yet delivered. */
int fl_store_webhook_pending(struct fl_store *s, struct fl_job **jobs, int *n, int max);
int fl_store_webhook_done(struct fl_store *s, const char *id);

#endif /* FL_STORE_H */
