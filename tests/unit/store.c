/*
** store.c -- tests of the job store (src/store): enqueue, get, list with
** cursors, idempotency keys, claim order, leases that expire and are
** re-claimed, heartbeats after a re-claim, idempotent success, back-off
** and dead jobs, cancellation, counts, schema migrations (from an older
** database, refusal of a newer one) and two processes claiming from one
** database at once.
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faceline/fl_base.h"
#include "store/store.h"

static char *tmp_dir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/fl_store_XXXXXX");
	ASSERT(mkdtemp(dir) != NULL);
	return dir;
}

static void rm_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}

static struct fl_store *open_store(const char *dir)
{
	struct fl_store *s = NULL;
	char err[512];
	int r = fl_store_open(dir, &s, err, sizeof(err));
	ASSERT_MSG(r == 0, "fl_store_open(%s): %d %s", dir, r, err);
	return s;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

static void enqueue(struct fl_store *s, const char *video, struct fl_job *out)
{
	struct fl_job_new n = {.video = video};
	int created = -1;
	ASSERT_OK(fl_store_enqueue(s, &n, out, &created));
	ASSERT_EQ(created, 1);
}

FL_TEST(store_enqueue_get)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	ASSERT_EQ(fl_store_schema_version(s), 3);

	struct fl_job_new n = {.video = "/data/a.mp4", .uploaded = 1, .params = "{\"fps\":2}", .webhook = "http://x/y",
	                       .max_attempts = 5};
	struct fl_job j, g;
	int created = 0;
	ASSERT_OK(fl_store_enqueue(s, &n, &j, &created));
	ASSERT_EQ(created, 1);
	ASSERT_EQ(strlen(j.id), 23);
	ASSERT_EQ(j.id[0], 'j');
	for (int i = 1; i < 23; i++)
		ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", j.id[i]));
	ASSERT_EQ(j.state, FL_JOB_QUEUED);
	ASSERT_EQ(j.max_attempts, 5);
	ASSERT_EQ(j.attempts, 0);
	ASSERT(j.created > 1.7e9);

	ASSERT_OK(fl_store_get(s, j.id, &g));
	ASSERT(!strcmp(g.video, "/data/a.mp4"));
	ASSERT(!strcmp(g.params, "{\"fps\":2}"));
	ASSERT(!strcmp(g.webhook, "http://x/y"));
	ASSERT_EQ(g.uploaded, 1);
	ASSERT(g.idem_key == NULL && g.error == NULL && g.result == NULL);
	ASSERT_NEAR(g.created, j.created, 1e-6);
	fl_job_clear(&g);
	ASSERT(g.video == NULL);

	/* Defaults; a second job gets another id. */
	struct fl_job k;
	struct fl_job_new n2 = {.video = "/data/b.mp4"};
	ASSERT_OK(fl_store_enqueue(s, &n2, &k, &created));
	ASSERT(!strcmp(k.params, "{}"));
	ASSERT_EQ(k.max_attempts, 3);
	ASSERT(strcmp(k.id, j.id) != 0);

	/* Unknown ids and bad input. */
	ASSERT_EQ(fl_store_get(s, "jnothere", &g), FL_ENOENT);
	ASSERT_STR_CONTAINS(fl_store_errmsg(s), "jnothere");
	ASSERT_EQ(fl_store_get(s, "", &g), FL_ENOENT);
	struct fl_job_new bad = {.video = NULL};
	ASSERT_EQ(fl_store_enqueue(s, &bad, &g, &created), FL_EINVAL);

	/* Persisted: a new connection sees the jobs. */
	fl_store_close(s);
	s = open_store(dir);
	ASSERT_OK(fl_store_get(s, k.id, &g));
	ASSERT(!strcmp(g.video, "/data/b.mp4"));
	fl_job_clear(&g);
	fl_job_clear(&j);
	fl_job_clear(&k);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_idempotency_key)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job_new n = {.video = "/v/1.mp4", .idem_key = "key-1"};
	struct fl_job a, b, c;
	int created = -1;
	ASSERT_OK(fl_store_enqueue(s, &n, &a, &created));
	ASSERT_EQ(created, 1);
	/* The same key, even with other fields, returns the first job. */
	struct fl_job_new n2 = {.video = "/v/2.mp4", .idem_key = "key-1"};
	ASSERT_OK(fl_store_enqueue(s, &n2, &b, &created));
	ASSERT_EQ(created, 0);
	ASSERT(!strcmp(a.id, b.id));
	ASSERT(!strcmp(b.video, "/v/1.mp4"));
	ASSERT(!strcmp(b.idem_key, "key-1"));
	/* Another key: another job. */
	struct fl_job_new n3 = {.video = "/v/1.mp4", .idem_key = "key-2"};
	ASSERT_OK(fl_store_enqueue(s, &n3, &c, &created));
	ASSERT_EQ(created, 1);
	ASSERT(strcmp(a.id, c.id) != 0);
	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_QUEUED], 2);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_job_clear(&c);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_list_cursor)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	char ids[25][FL_JOB_ID_LEN];
	for (int i = 0; i < 25; i++) {
		struct fl_job j;
		char v[32];
		snprintf(v, sizeof(v), "/v/%d.mp4", i);
		enqueue(s, v, &j);
		snprintf(ids[i], sizeof(ids[i]), "%s", j.id);
		fl_job_clear(&j);
	}
	/* Cancel every fifth so a state filter has something to do. */
	for (int i = 0; i < 25; i += 5)
		ASSERT_OK(fl_store_cancel(s, ids[i], NULL));

	/* Pages of 10, newest first, cover all 25 once. */
	char cursor[32] = "", next[32];
	int seen = 0, pages = 0;
	for (;;) {
		struct fl_job *jobs;
		int n;
		ASSERT_OK(fl_store_list(s, -1, 10, cursor, &jobs, &n, next));
		pages++;
		for (int i = 0; i < n; i++) {
			ASSERT_MSG(!strcmp(jobs[i].id, ids[24 - seen]), "page %d item %d: %s, expected %s", pages, i,
			           jobs[i].id, ids[24 - seen]);
			seen++;
			fl_job_clear(&jobs[i]);
		}
		fl_free(jobs);
		if (!next[0])
			break;
		ASSERT(strlen(next) < 32);
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	ASSERT_EQ(seen, 25);
	ASSERT_EQ(pages, 3);

	/* A page that ends exactly at the end has no next cursor. */
	struct fl_job *jobs;
	int n;
	ASSERT_OK(fl_store_list(s, FL_JOB_CANCELED, 5, NULL, &jobs, &n, next));
	ASSERT_EQ(n, 5);
	ASSERT_EQ(next[0], 0);
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(jobs[i].state, FL_JOB_CANCELED);
		ASSERT(!strcmp(jobs[i].id, ids[20 - 5 * i]));
		fl_job_clear(&jobs[i]);
	}
	fl_free(jobs);

	/* Queued only, in pages of 7: 20 jobs. */
	cursor[0] = 0;
	seen = 0;
	do {
		ASSERT_OK(fl_store_list(s, FL_JOB_QUEUED, 7, cursor, &jobs, &n, next));
		for (int i = 0; i < n; i++) {
			ASSERT_EQ(jobs[i].state, FL_JOB_QUEUED);
			fl_job_clear(&jobs[i]);
		}
		fl_free(jobs);
		seen += n;
		snprintf(cursor, sizeof(cursor), "%s", next);
	} while (cursor[0]);
	ASSERT_EQ(seen, 20);

	/* A forged cursor is refused with a message. */
	ASSERT_EQ(fl_store_list(s, -1, 10, "not-a-cursor", &jobs, &n, next), FL_EINVAL);
	ASSERT_STR_CONTAINS(fl_store_errmsg(s), "cursor");
	ASSERT(jobs == NULL && n == 0);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_claim_order_lease)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job a, b, c, x;
	enqueue(s, "/v/a", &a);
	enqueue(s, "/v/b", &b);

	/* Oldest first. */
	ASSERT_OK(fl_store_claim(s, "w1", 0.3, &c));
	ASSERT(!strcmp(c.id, a.id));
	ASSERT_EQ(c.state, FL_JOB_RUNNING);
	ASSERT_EQ(c.attempts, 1);
	ASSERT(!strcmp(c.worker, "w1"));
	ASSERT(c.lease_until > c.started);
	fl_job_clear(&c);
	ASSERT_OK(fl_store_claim(s, "w2", 0.3, &c));
	ASSERT(!strcmp(c.id, b.id));
	fl_job_clear(&c);
	ASSERT_EQ(fl_store_claim(s, "w3", 0.3, &c), FL_ENOENT);

	/* Heartbeats keep a's lease alive and record progress. */
	struct fl_job_progress p = {.progress = 0.25, .fps = 12.5, .eta = 3, .stage = "analyse", .frames_analysed = 40};
	int cancel = -1;
	for (int i = 0; i < 4; i++) {
		sleep_s(0.1);
		ASSERT_OK(fl_store_heartbeat(s, a.id, "w1", 0.3, &p, &cancel));
		ASSERT_EQ(cancel, 0);
	}
	ASSERT_OK(fl_store_get(s, a.id, &x));
	ASSERT_NEAR(x.progress, 0.25, 1e-9);
	ASSERT(!strcmp(x.stage, "analyse"));
	ASSERT_EQ(x.frames_analysed, 40);
	ASSERT_NEAR(x.fps, 12.5, 1e-9);
	fl_job_clear(&x);
	/* b's lease (no heartbeat) has expired by now; a's has not. */
	ASSERT_OK(fl_store_claim(s, "w3", 0.3, &c));
	ASSERT(!strcmp(c.id, b.id));
	ASSERT_EQ(c.attempts, 2);
	ASSERT(!strcmp(c.worker, "w3"));
	fl_job_clear(&c);
	/* The old holder learns it lost the job. */
	ASSERT_EQ(fl_store_heartbeat(s, b.id, "w2", 0.3, &p, &cancel), FL_EBUSY);
	ASSERT_STR_CONTAINS(fl_store_errmsg(s), "w3");
	int first = -1;
	ASSERT_EQ(fl_store_succeed(s, b.id, "w2", "/r/b.json", &first), FL_EBUSY);
	ASSERT_EQ(fl_store_fail(s, b.id, "w2", "x", 1), FL_EBUSY);
	ASSERT_EQ(fl_store_release(s, b.id, "w2"), FL_EBUSY);

	/* Succeed is idempotent: the first result stands. */
	ASSERT_OK(fl_store_succeed(s, b.id, "w3", "/r/b.json", &first));
	ASSERT_EQ(first, 1);
	ASSERT_OK(fl_store_succeed(s, b.id, "w2", "/r/b-other.json", &first));
	ASSERT_EQ(first, 0);
	ASSERT_OK(fl_store_get(s, b.id, &x));
	ASSERT_EQ(x.state, FL_JOB_SUCCEEDED);
	ASSERT(!strcmp(x.result, "/r/b.json"));
	ASSERT(x.finished >= x.started);
	ASSERT_NEAR(x.progress, 1.0, 1e-9);
	fl_job_clear(&x);
	/* Heartbeats on a finished job: busy. */
	ASSERT_EQ(fl_store_heartbeat(s, b.id, "w3", 0.3, &p, &cancel), FL_EBUSY);

	/* Release gives a back without counting the attempt. */
	ASSERT_OK(fl_store_release(s, a.id, "w1"));
	ASSERT_OK(fl_store_get(s, a.id, &x));
	ASSERT_EQ(x.state, FL_JOB_QUEUED);
	ASSERT_EQ(x.attempts, 0);
	ASSERT_EQ(x.worker[0], 0);
	fl_job_clear(&x);
	ASSERT_OK(fl_store_claim(s, "w4", 0.3, &c));
	ASSERT(!strcmp(c.id, a.id));
	ASSERT_EQ(c.attempts, 1);
	fl_job_clear(&c);

	/* Bad arguments. */
	ASSERT_EQ(fl_store_claim(s, "", 1, &c), FL_EINVAL);
	ASSERT_EQ(fl_store_claim(s, "w", 0, &c), FL_EINVAL);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_fail_backoff_dead)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job a, c, x;
	enqueue(s, "/v/a", &a); /* max_attempts 3 */

	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	fl_job_clear(&c);
	ASSERT_OK(fl_store_fail(s, a.id, "w", "disk full", 1));
	ASSERT_OK(fl_store_get(s, a.id, &x));
	ASSERT_EQ(x.state, FL_JOB_QUEUED);
	ASSERT(!strcmp(x.error, "disk full"));
	ASSERT_NEAR(x.run_after - x.updated, 1.0, 0.01);
	fl_job_clear(&x);
	/* Not claimable during the back-off. */
	ASSERT_EQ(fl_store_claim(s, "w", 10, &c), FL_ENOENT);
	sleep_s(1.05);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	ASSERT_EQ(c.attempts, 2);
	fl_job_clear(&c);
	ASSERT_OK(fl_store_fail(s, a.id, "w", "disk full again", 1));
	ASSERT_OK(fl_store_get(s, a.id, &x));
	ASSERT_NEAR(x.run_after - x.updated, 2.0, 0.01);
	fl_job_clear(&x);
	ASSERT_EQ(fl_store_claim(s, "w", 10, &c), FL_ENOENT);
	sleep_s(2.05);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	ASSERT_EQ(c.attempts, 3);
	fl_job_clear(&c);
	ASSERT_OK(fl_store_fail(s, a.id, "w", "disk full a third time", 1));
	ASSERT_OK(fl_store_get(s, a.id, &x));
	ASSERT_EQ(x.state, FL_JOB_DEAD);
	ASSERT(!strcmp(x.error, "disk full a third time"));
	ASSERT(x.finished > 0);
	fl_job_clear(&x);
	ASSERT_EQ(fl_store_claim(s, "w", 10, &c), FL_ENOENT);

	/* retry = 0: failed for good at once. */
	struct fl_job b;
	enqueue(s, "/v/b", &b);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	fl_job_clear(&c);
	ASSERT_OK(fl_store_fail(s, b.id, "w", "not a video", 0));
	ASSERT_OK(fl_store_get(s, b.id, &x));
	ASSERT_EQ(x.state, FL_JOB_FAILED);
	ASSERT_EQ(x.attempts, 1);
	fl_job_clear(&x);

	/* A job whose worker keeps dying becomes dead once its attempts are
	** used up, with a message saying so. */
	struct fl_job_new n = {.video = "/v/c", .max_attempts = 2};
	struct fl_job d;
	int created;
	ASSERT_OK(fl_store_enqueue(s, &n, &d, &created));
	ASSERT_OK(fl_store_claim(s, "w1", 0.1, &c));
	fl_job_clear(&c);
	sleep_s(0.15);
	ASSERT_OK(fl_store_claim(s, "w2", 0.1, &c));
	ASSERT_EQ(c.attempts, 2);
	fl_job_clear(&c);
	sleep_s(0.15);
	ASSERT_EQ(fl_store_claim(s, "w3", 0.1, &c), FL_ENOENT);
	ASSERT_OK(fl_store_get(s, d.id, &x));
	ASSERT_EQ(x.state, FL_JOB_DEAD);
	ASSERT_STR_CONTAINS(x.error, "lease expired");
	ASSERT_STR_CONTAINS(x.error, "w2");
	fl_job_clear(&x);

	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_DEAD], 2);
	ASSERT_EQ(counts[FL_JOB_FAILED], 1);
	ASSERT_EQ(counts[FL_JOB_QUEUED], 0);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_job_clear(&d);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_cancel)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job a, b, c, x;
	enqueue(s, "/v/a", &a);
	enqueue(s, "/v/b", &b);

	/* A queued job is canceled at once and never claimed. */
	ASSERT_OK(fl_store_cancel(s, a.id, &x));
	ASSERT_EQ(x.state, FL_JOB_CANCELED);
	fl_job_clear(&x);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	ASSERT(!strcmp(c.id, b.id));
	fl_job_clear(&c);

	/* A running one is flagged; its worker sees it in the heartbeat. */
	ASSERT_OK(fl_store_cancel(s, b.id, &x));
	ASSERT_EQ(x.state, FL_JOB_RUNNING);
	ASSERT_EQ(x.cancel, 1);
	fl_job_clear(&x);
	int cancel = 0;
	struct fl_job_progress p = {.stage = "analyse"};
	ASSERT_OK(fl_store_heartbeat(s, b.id, "w", 10, &p, &cancel));
	ASSERT_EQ(cancel, 1);
	ASSERT_EQ(fl_store_finish_cancel(s, b.id, "other"), FL_EBUSY);
	ASSERT_OK(fl_store_finish_cancel(s, b.id, "w"));
	ASSERT_OK(fl_store_get(s, b.id, &x));
	ASSERT_EQ(x.state, FL_JOB_CANCELED);
	ASSERT(x.finished > 0);
	fl_job_clear(&x);

	/* Finished jobs cannot be canceled; out still shows them. */
	ASSERT_EQ(fl_store_cancel(s, b.id, &x), FL_EBUSY);
	ASSERT_EQ(x.state, FL_JOB_CANCELED);
	ASSERT_STR_CONTAINS(fl_store_errmsg(s), "already canceled");
	fl_job_clear(&x);
	ASSERT_EQ(fl_store_cancel(s, "jmissing", &x), FL_ENOENT);

	/* Cancel requested, then the worker dies: the expired job is
	** canceled, not run again. */
	struct fl_job d;
	enqueue(s, "/v/d", &d);
	ASSERT_OK(fl_store_claim(s, "w", 0.1, &c));
	fl_job_clear(&c);
	ASSERT_OK(fl_store_cancel(s, d.id, NULL));
	sleep_s(0.15);
	ASSERT_EQ(fl_store_claim(s, "w2", 10, &c), FL_ENOENT);
	ASSERT_OK(fl_store_get(s, d.id, &x));
	ASSERT_EQ(x.state, FL_JOB_CANCELED);
	fl_job_clear(&x);

	/* Release of a job with a pending cancel cancels it. */
	struct fl_job e;
	enqueue(s, "/v/e", &e);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	fl_job_clear(&c);
	ASSERT_OK(fl_store_cancel(s, e.id, NULL));
	ASSERT_OK(fl_store_release(s, e.id, "w"));
	ASSERT_OK(fl_store_get(s, e.id, &x));
	ASSERT_EQ(x.state, FL_JOB_CANCELED);
	fl_job_clear(&x);

	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_CANCELED], 4);
	ASSERT_EQ(counts[FL_JOB_RUNNING] + counts[FL_JOB_QUEUED], 0);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_job_clear(&d);
	fl_job_clear(&e);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_webhook_bookkeeping)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job_new n = {.video = "/v/a", .webhook = "http://127.0.0.1:9/hook"};
	struct fl_job a, b, c;
	int created;
	ASSERT_OK(fl_store_enqueue(s, &n, &a, &created));
	enqueue(s, "/v/b", &b); /* no webhook */
	struct fl_job *jobs;
	int cnt;
	/* Not pending while queued. */
	ASSERT_OK(fl_store_webhook_pending(s, &jobs, &cnt, 10));
	ASSERT_EQ(cnt, 0);
	ASSERT_OK(fl_store_claim(s, "w", 10, &c));
	fl_job_clear(&c);
	ASSERT_OK(fl_store_fail(s, a.id, "w", "bad video", 0));
	ASSERT_OK(fl_store_cancel(s, b.id, NULL));
	ASSERT_OK(fl_store_webhook_pending(s, &jobs, &cnt, 10));
	ASSERT_EQ(cnt, 1);
	ASSERT(!strcmp(jobs[0].id, a.id));
	ASSERT_EQ(jobs[0].state, FL_JOB_FAILED);
	fl_job_clear(&jobs[0]);
	fl_free(jobs);
	ASSERT_OK(fl_store_webhook_done(s, a.id));
	ASSERT_OK(fl_store_webhook_pending(s, &jobs, &cnt, 10));
	ASSERT_EQ(cnt, 0);
	ASSERT_OK(fl_store_get(s, a.id, &c));
	ASSERT_EQ(c.webhook_done, 1);
	fl_job_clear(&c);
	ASSERT_EQ(fl_store_webhook_done(s, "jnope"), FL_ENOENT);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_store_close(s);
	rm_dir(dir);
}

/* The schema of version 1 exactly as it was released (src/store/migrate.c,
** migration 0 -> 1). */
static const char v1_schema[] =
	"CREATE TABLE jobs ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" state TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed','canceled','dead')),"
	" video TEXT NOT NULL,"
	" uploaded INTEGER NOT NULL DEFAULT 0,"
	" params TEXT NOT NULL DEFAULT '{}',"
	" idem_key TEXT UNIQUE,"
	" error TEXT,"
	" result TEXT,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL DEFAULT 3,"
	" created REAL NOT NULL,"
	" updated REAL NOT NULL,"
	" started REAL NOT NULL DEFAULT 0,"
	" finished REAL NOT NULL DEFAULT 0,"
	" run_after REAL NOT NULL DEFAULT 0,"
	" worker TEXT NOT NULL DEFAULT '',"
	" lease_until REAL NOT NULL DEFAULT 0,"
	" cancel INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_state ON jobs (state, seq);";

static void raw_exec(const char *dir, const char *sql)
{
	char path[256];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/faceline.db", dir);
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ASSERT_MSG(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

FL_TEST(store_migrate_from_v1)
{
	char *dir = tmp_dir();
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "%s INSERT INTO jobs (id, state, video, created, updated) VALUES ('jold1', 'queued', '/v/old.mp4', "
	         "1700000000, 1700000000); INSERT INTO jobs (id, state, video, created, updated, result) VALUES "
	         "('jold2', 'succeeded', '/v/old2.mp4', 1700000001, 1700000001, '/r/jold2.json'); "
	         "PRAGMA user_version = 1;",
	         v1_schema);
	raw_exec(dir, sql);

	struct fl_store *s = open_store(dir);
	ASSERT_EQ(fl_store_schema_version(s), 3);
	struct fl_job j;
	ASSERT_OK(fl_store_get(s, "jold1", &j));
	ASSERT(!strcmp(j.video, "/v/old.mp4"));
	ASSERT_EQ(j.state, FL_JOB_QUEUED);
	ASSERT(j.webhook == NULL);
	ASSERT_EQ(j.webhook_done, 0);
	ASSERT_NEAR(j.eta, -1, 0);
	fl_job_clear(&j);
	/* The migrated database works as a queue: old jobs first. */
	struct fl_job n;
	enqueue(s, "/v/new.mp4", &n);
	ASSERT_OK(fl_store_claim(s, "w", 10, &j));
	ASSERT(!strcmp(j.id, "jold1"));
	fl_job_clear(&j);
	struct fl_job_progress p = {.progress = 0.5, .stage = "analyse", .frames_analysed = 7};
	ASSERT_OK(fl_store_heartbeat(s, "jold1", "w", 10, &p, NULL));
	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_SUCCEEDED], 1);
	ASSERT_EQ(counts[FL_JOB_RUNNING], 1);
	ASSERT_EQ(counts[FL_JOB_QUEUED], 1);
	fl_job_clear(&n);
	fl_store_close(s);
	/* Opening again is a no-op. */
	s = open_store(dir);
	ASSERT_EQ(fl_store_schema_version(s), 3);
	fl_store_close(s);
	rm_dir(dir);
}

FL_TEST(store_newer_schema_refused)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	fl_store_close(s);
	raw_exec(dir, "PRAGMA user_version = 99");
	char err[512] = "";
	s = (struct fl_store *)1;
	int r = fl_store_open(dir, &s, err, sizeof(err));
	ASSERT_EQ(r, FL_EUNSUPPORTED);
	ASSERT(s == NULL);
	ASSERT_STR_CONTAINS(err, "schema version 99");
	ASSERT_STR_CONTAINS(err, "faceline.db");
	/* Untouched. */
	raw_exec(dir, "SELECT 1");
	/* A missing directory is a clear error too. */
	r = fl_store_open("/nonexistent/faceline-dir", &s, err, sizeof(err));
	ASSERT_EQ(r, FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "/nonexistent/faceline-dir");
	rm_dir(dir);
}

/* ------------------------------------------------- concurrent claiming */

struct claimer {
	struct fl_store *s;
	char name[32];
	FILE *out;
	pthread_mutex_t *out_mu;
	int n;
};

static void *claim_loop(void *arg)
{
	struct claimer *c = arg;
	struct fl_job j;
	int r;
	while ((r = fl_store_claim(c->s, c->name, 60, &j)) == 0) {
		pthread_mutex_lock(c->out_mu);
		fprintf(c->out, "%s %s\n", j.id, c->name);
		pthread_mutex_unlock(c->out_mu);
		c->n++;
		fl_job_clear(&j);
		/* A moment of "work", as a real worker would spend. */
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	if (r != FL_ENOENT)
		fprintf(stderr, "claim: %d %s\n", r, fl_store_errmsg(c->s));
	return (void *)(intptr_t)(r == FL_ENOENT ? 0 : 1);
}

/* Child: one store shared by two threads claiming until the queue is
** empty; ids go to OUT.  It says it is ready on `ready` and starts when
** `go` reaches end of file, so both processes claim at the same time. */
static int claim_child(const char *dir, int k, const char *outpath, int ready, int go)
{
	struct fl_store *s = NULL;
	char err[256], rc = 'r';
	if (fl_store_open(dir, &s, err, sizeof(err)) < 0)
		return 2;
	FILE *out = fopen(outpath, "w");
	if (!out)
		return 2;
	if (write(ready, &rc, 1) != 1 || read(go, &rc, 1) != 0)
		return 4;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct claimer c[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		c[i] = (struct claimer){.s = s, .out = out, .out_mu = &mu};
		snprintf(c[i].name, sizeof(c[i].name), "p%d-t%d", k, i);
		pthread_create(&th[i], NULL, claim_loop, &c[i]);
	}
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		bad |= rv != NULL;
	}
	fclose(out);
	fl_store_close(s);
	return bad ? 3 : 0;
}

FL_TEST(store_two_processes_claim)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	enum { N = 200 };
	static char ids[N][FL_JOB_ID_LEN];
	for (int i = 0; i < N; i++) {
		struct fl_job j;
		enqueue(s, "/v/x.mp4", &j);
		snprintf(ids[i], sizeof(ids[i]), "%s", j.id);
		fl_job_clear(&j);
	}
	fl_store_close(s);

	pid_t pid[2];
	char outs[2][256];
	int ready[2], go[2];
	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(go), 0);
	for (int k = 0; k < 2; k++) {
		snprintf(outs[k], sizeof(outs[k]), "%s/claims%d.txt", dir, k);
		pid[k] = fork();
		ASSERT(pid[k] >= 0);
		if (pid[k] == 0) {
			close(go[1]);
			_exit(claim_child(dir, k, outs[k], ready[1], go[0]));
		}
	}
	/* Both open and waiting: start them together. */
	for (int got = 0; got < 2;) {
		char c2[2];
		ssize_t m = read(ready[0], c2, (size_t)(2 - got));
		ASSERT(m > 0);
		got += (int)m;
	}
	close(go[1]);
	close(go[0]);
	for (int k = 0; k < 2; k++) {
		int st;
		ASSERT_EQ(waitpid(pid[k], &st, 0), pid[k]);
		ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "claimer %d: status %d", k, st);
	}
	/* Every job claimed exactly once, by one of the four claimers, and
	** both processes took part. */
	static int times[N];
	int per_proc[2] = {0, 0};
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(outs[k], "r");
		ASSERT(f);
		char id[64], who[64];
		while (fscanf(f, "%63s %63s", id, who) == 2) {
			int found = 0;
			for (int i = 0; i < N; i++)
				if (!strcmp(ids[i], id)) {
					times[i]++;
					found = 1;
				}
			ASSERT_MSG(found, "unknown id %s", id);
			per_proc[k]++;
		}
		fclose(f);
	}
	for (int i = 0; i < N; i++)
		ASSERT_MSG(times[i] == 1, "job %s claimed %d times", ids[i], times[i]);
	ASSERT(per_proc[0] > 0 && per_proc[1] > 0);
	ASSERT_EQ(per_proc[0] + per_proc[1], N);

	s = open_store(dir);
	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_RUNNING], N);
	struct fl_job j;
	ASSERT_OK(fl_store_get(s, ids[N / 2], &j));
	ASSERT_EQ(j.attempts, 1);
	fl_job_clear(&j);
	fl_store_close(s);
	rm_dir(dir);
}

/* Fault injection: each allocation in turn fails during enqueue, get and
** list; the result is success or FL_ENOMEM, never a crash or a leak. */
FL_TEST(store_alloc_faults)
{
	char *dir = tmp_dir();
	struct fl_store *s = open_store(dir);
	struct fl_job j;
	enqueue(s, "/v/seed", &j);
	char seed[FL_JOB_ID_LEN];
	snprintf(seed, sizeof(seed), "%s", j.id);
	fl_job_clear(&j);
	for (int n = 1; n < 40; n++) {
		long live = fl_alloc_live();
		struct fl_job_new nj = {.video = "/v/f", .params = "{\"fps\":1}", .webhook = "http://h/"};
		int created;
		fl_alloc_fail_after(n, 0);
		int r1 = fl_store_enqueue(s, &nj, &j, &created);
		fl_alloc_fail_after(0, 0);
		ASSERT_MSG(r1 == 0 || r1 == FL_ENOMEM, "enqueue with allocation %d failing: %d", n, r1);
		fl_job_clear(&j);
		fl_alloc_fail_after(n, 0);
		int r2 = fl_store_get(s, seed, &j);
		fl_alloc_fail_after(0, 0);
		ASSERT_MSG(r2 == 0 || r2 == FL_ENOMEM, "get: %d", r2);
		fl_job_clear(&j);
		struct fl_job *jobs = NULL;
		int cnt = 0;
		char next[32];
		fl_alloc_fail_after(n, 0);
		int r3 = fl_store_list(s, -1, 3, NULL, &jobs, &cnt, next);
		fl_alloc_fail_after(0, 0);
		ASSERT_MSG(r3 == 0 || r3 == FL_ENOMEM, "list: %d", r3);
		for (int i = 0; i < cnt; i++)
			fl_job_clear(&jobs[i]);
		fl_free(jobs);
		ASSERT_EQ(fl_alloc_live(), live);
	}
	fl_store_close(s);
	rm_dir(dir);
}

/* Four processes opening a new database at once: each migration step is
** applied once (its transaction re-reads the version) and all succeed. */
FL_TEST(store_concurrent_open)
{
	char *dir = tmp_dir();
	pid_t pid[4];
	int go[2];
	ASSERT_EQ(pipe(go), 0);
	for (int k = 0; k < 4; k++) {
		pid[k] = fork();
		ASSERT(pid[k] >= 0);
		if (pid[k] == 0) {
			char c, err[512];
			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(4);
			struct fl_store *s = NULL;
			if (fl_store_open(dir, &s, err, sizeof(err)) < 0) {
				fprintf(stderr, "open: %s\n", err);
				_exit(2);
			}
			struct fl_job j;
			struct fl_job_new n = {.video = "/v/x"};
			int created, r = fl_store_enqueue(s, &n, &j, &created);
			fl_job_clear(&j);
			int v = fl_store_schema_version(s);
			fl_store_close(s);
			_exit(r == 0 && v == 3 ? 0 : 3);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int k = 0; k < 4; k++) {
		int st;
		ASSERT_EQ(waitpid(pid[k], &st, 0), pid[k]);
		ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d: status %d", k, st);
	}
	struct fl_store *s = open_store(dir);
	int64_t counts[FL_JOB_STATE_N];
	ASSERT_OK(fl_store_counts(s, counts));
	ASSERT_EQ(counts[FL_JOB_QUEUED], 4);
	fl_store_close(s);
	rm_dir(dir);
}
