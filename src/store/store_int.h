/*
** store_int.h -- internals shared by the files of src/store: the schema
** set-up and migrations (migrate.c) and small helpers of store.c.  Not
** part of the API (store.h is).
*/
#ifndef FL_STORE_INT_H
#define FL_STORE_INT_H

#include <stddef.h>

#include <sqlite3.h>

#include "faceline/fl_base.h"
#include "store/store.h"

/*
** Configure a freshly opened connection (WAL, busy timeout, foreign keys,
** synchronous=FULL) and bring its schema up to the newest version this
** binary knows, one migration per transaction.  path names the database
** in messages.  Returns 0; FL_EUNSUPPORTED when the database is at a
** newer version than this binary knows; FL_EIO / FL_ENOMEM otherwise
** (message in err).
*/
int fl__store_setup(sqlite3 *db, const char *path, char *err, size_t err_size);

/* PRAGMA user_version of db (the schema version), or -1 on error. */
int fl__store_user_version(sqlite3 *db);

/* The newest schema version this binary knows. */
int fl__store_schema_latest(void);

/* Wall-clock time, Unix seconds. */
double fl__store_now(void);

/* Back-off before the retry after `attempts` failed attempts (1 s, 2 s,
** 4 s ... capped at 60 s). */
double fl__store_backoff(int attempts);

#endif /* FL_STORE_INT_H */
