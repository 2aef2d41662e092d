/*
** migrate.c -- the schema of the job store and its migrations.
**
** The schema version lives in SQLite's PRAGMA user_version.  Migrations
** are an ordered list; migration i takes the database from version i to
** version i + 1.  Each runs in its own BEGIN IMMEDIATE transaction that
** first re-reads the version, so two processes opening the same new
** database at once apply each step exactly once, and a crash mid-way
** leaves the database at the last complete version.  Append only: a
** released migration never changes; a database at a version newer than
** the list is refused (an older binary must not write a newer schema).
*/
#include "store_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base_int.h"

/* Seconds a connection waits for another one's write lock. */
#define BUSY_TIMEOUT_MS 10000

static const char *const migrations[] = {
	/* 0 -> 1: the queue itself.  seq orders jobs (claim order, list
	** order, cursors) and is never reused (AUTOINCREMENT); id is the
	** public name.  Times are Unix seconds. */
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
	"CREATE INDEX jobs_state ON jobs (state, seq);",

	/* 1 -> 2: progress of running jobs for the status route (written by
	** heartbeats). */
	"ALTER TABLE jobs ADD COLUMN progress REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN stage TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN fps REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN eta REAL NOT NULL DEFAULT -1;"
	"ALTER TABLE jobs ADD COLUMN frames_analysed INTEGER NOT NULL DEFAULT 0;",

	/* 2 -> 3: completion webhooks and their delivery bookkeeping. */
	"ALTER TABLE jobs ADD COLUMN webhook TEXT;"
	"ALTER TABLE jobs ADD COLUMN webhook_done INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_webhook ON jobs (finished, seq) WHERE webhook IS NOT NULL AND webhook_done = 0;",
};

#define N_MIGRATIONS ((int)FL_ARRAY_SIZE(migrations))

int fl__store_schema_latest(void)
{
	return N_MIGRATIONS;
}

int fl__store_user_version(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int fail(sqlite3 *db, int rc, const char *path, const char *op, char *err, size_t err_size)
{
	fl__errf(err, err_size, "%s: %s: %s", path, op, sqlite3_errmsg(db));
	return rc == SQLITE_NOMEM ? FL_ENOMEM : rc == SQLITE_FULL ? FL_ENOSPC : FL_EIO;
}

/* One step, in its own transaction.  *done = 1 when the database is at
** the newest version already. */
static int migrate_step(sqlite3 *db, const char *path, int *done, char *err, size_t err_size)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(db, rc, path, "BEGIN (schema migration)", err, err_size);
	int v = fl__store_user_version(db);
	if (v < 0) {
		int r = fail(db, SQLITE_ERROR, path, "reading the schema version", err, err_size);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if (v > N_MIGRATIONS) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		fl__errf(err, err_size,
		         "%s: the database is at schema version %d, newer than the %d this faceline knows; "
		         "use the faceline that wrote it (or a newer one)",
		         path, v, N_MIGRATIONS);
		return FL_EUNSUPPORTED;
	}
	if (v == N_MIGRATIONS) {
		*done = 1;
		return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
		           ? 0
		           : fail(db, SQLITE_ERROR, path, "COMMIT", err, err_size);
	}
	char set[64];
	snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
	rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, set, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char op[64];
		snprintf(op, sizeof(op), "migrating the schema from version %d to %d", v, v + 1);
		int r = fail(db, rc, path, op, err, err_size);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	fl_log(FL_LOG_INFO, "%s: schema migrated from version %d to %d", path, v, v + 1);
	return 0;
}

int fl__store_setup(sqlite3 *db, const char *path, char *err, size_t err_size)
{
	int rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return fail(db, rc, path, "busy_timeout", err, err_size);

	/* WAL: readers never block the writer and a commit is one append.
	** Switching a new database to WAL while another process does the same
	** can answer SQLITE_BUSY without consulting the busy handler (it would
	** deadlock), so that one step retries by itself. */
	sqlite3_stmt *q = NULL;
	for (int waited = 0;; waited += 10) {
		rc = q ? SQLITE_OK : sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &q, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(q);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= BUSY_TIMEOUT_MS)
			break;
		if (q)
			sqlite3_reset(q);
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		return fail(db, rc, path, "PRAGMA journal_mode=WAL", err, err_size);
	}
	const char *mode = (const char *)sqlite3_column_text(q, 0);
	if (!mode || strcmp(mode, "wal") != 0) {
		fl__errf(err, err_size, "%s: cannot switch to WAL journaling (the mode is \"%s\")", path,
		         mode ? mode : "?");
		sqlite3_finalize(q);
		return FL_EIO;
	}
	sqlite3_finalize(q);

	rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(db, rc, path, "PRAGMA foreign_keys/synchronous", err, err_size);

	for (int done = 0, steps = 0; !done; steps++) {
		if (steps > N_MIGRATIONS + 1) {
			fl__errf(err, err_size, "%s: the schema version did not settle", path);
			return FL_EIO;
		}
		int r = migrate_step(db, path, &done, err, err_size);
		if (r < 0)
			return r;
	}
	return 0;
}
