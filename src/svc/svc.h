/*
** svc.h -- `faceline serve`: the worker pool that runs queued jobs
** (worker.c, on fl_analyze_file) and the HTTP front (http.c, libmicrohttpd)
** over one job store (src/store/store.h).
**
** Data directory layout (DIR):
**   DIR/faceline.db (+ -wal, -shm)   the job store
**   DIR/uploads/<upload id>[-<name>].<ext>
**                                    uploaded videos (written under a
**                                    temporary name, fsync'd, probed,
**                                    renamed, then the job is inserted: the
**                                    job id does not exist yet)
**   DIR/results/<job id>.json        result JSON v1 of succeeded jobs
*/
#ifndef FL_SVC_H
#define FL_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct fl_svc_config {
	const char *data_dir;       /* DIR (must exist) */
	const char *listen;         /* "127.0.0.1:8080" (host:port; [v6]:port) */
	int workers;                /* analysis workers; default 1 */
	int threads_per_job;        /* threads of one analysis; 0 = fl_cpu_count() / workers, >= 1 */
	const char *models_dir;     /* NULL = $FL_MODELS or "models" */
	const char *token;          /* bearer token or NULL; required when listen is not loopback */
	const char *allowed_root;   /* JSON {"path"} jobs must lie under it; NULL = path jobs refused */
	int64_t max_upload;         /* bytes; default 4 GiB */
	double lease_s;             /* default 30 */
	double heartbeat_s;         /* default 1 (a cancel is seen within this) */
	int max_attempts;           /* default 3 */
	int webhook_loopback;       /* 1: webhooks to loopback addresses allowed */
};

struct fl_svc_config fl_svc_default_config(void);

/* What the workers report for /metrics and the dashboard. */
struct fl_worker_stats {
	int workers, busy;            /* configured, running a job now */
	double busy_seconds;          /* summed over workers since start */
	double uptime;                /* seconds since start */
	int64_t frames_analysed;      /* all jobs since start */
	double fps;                   /* analysed frames/s over the last ~10 s */
	/* seconds per stage summed over finished jobs since start */
	double t_decode_wait, t_detect, t_embed, t_expression, t_track, t_persons;
	int64_t jobs_done, jobs_failed;
};

struct fl_workers;

/* Start cfg->workers threads claiming jobs from st (borrowed; must outlive
** the workers).  Each runs fl_analyze_file with heartbeats, honours
** cancellation within heartbeat_s, writes the result idempotently
** (temporary file + rename, then fl_store_succeed) and delivers webhooks. */
int fl_workers_start(const struct fl_svc_config *cfg, struct fl_store *st, struct fl_workers **out, char *err,
                     size_t err_size);

/* A job was enqueued: wake an idle worker now rather than at its next poll. */
void fl_workers_kick(struct fl_workers *w);

void fl_workers_stats(struct fl_workers *w, struct fl_worker_stats *s);

/* Stop: graceful = 1 cancels running analyses and releases their jobs
** back to the queue (fl_store_release) before returning; 0 just joins. */
void fl_workers_stop(struct fl_workers *w, int graceful);

/* The HTTP server. */
struct fl_server;
int fl_server_start(const struct fl_svc_config *cfg, struct fl_store *st, struct fl_workers *w,
                    struct fl_server **out, char *err, size_t err_size);
/* The port actually bound (for listen "127.0.0.1:0"). */
int fl_server_port(const struct fl_server *s);
void fl_server_stop(struct fl_server *s);

#endif /* FL_SVC_H */
