/*
** worker.c -- the worker pool of `faceline serve`: threads that claim jobs
** from the store (src/store), run fl_analyze_file on them and record the
** outcome, plus one thread that delivers completion webhooks.
**
** A worker thread loops: claim (the oldest claimable job, with a lease of
** cfg->lease_s), or sleep until fl_workers_kick or 0.5 s passes.  While a
** job runs, a heartbeat thread beside it extends the lease every
** heartbeat_s and records the progress the analysis reports; it also looks
** at the job's cancel flag four times a second, so a DELETE stops the
** analysis within a second (through fl_analyze_params.cancel).  Because the
** heartbeat is its own thread, a decode that stalls on one frame still
** keeps the lease; only a dead process (or a hung machine) lets it expire,
** and then another worker re-claims the job.
**
** Outcomes:
**   success          result JSON -> DIR/results/<id>.json (temporary file,
**                    fsync, rename, directory fsync), then fl_store_succeed;
**                    the name is the job's, so a job run twice leaves one
**                    file
**   canceled         fl_store_finish_cancel
**   graceful stop    fl_store_release (the attempt is not counted)
**   lease lost       nothing: another worker owns the job now
**   bad input        fl_store_fail(retry = 0): a video that cannot be
**                    decoded will not decode next time either
**   anything else    fl_store_fail(retry = 1): back-off, dead at max_attempts
**
** Webhooks: after a job with a webhook finishes, the webhook thread POSTs
** {"id", "state", "error"} (webhook.c) and retries with back-off (1, 2, 4,
** 8 s; 5 tries), then marks it done in the store.  Delivery is at least
** once: a crash between the POST and the mark repeats it.
*/
#define _GNU_SOURCE
#include "svc/svc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/base_int.h"
#include "faceline/fl_analyze.h"
#include "render/render_int.h"
#include "svc_int.h"

#define IDLE_POLL_S 0.5     /* an idle worker looks for jobs this often */
#define CANCEL_POLL_S 0.25  /* a running job's cancel flag is read this often */
#define FPS_WINDOW_S 10.0   /* fl_worker_stats.fps averages over this */
#define RING_N 64           /* frame-count samples kept for the fps window */
#define HOOK_BATCH 32       /* pending webhooks looked at per round */

struct fl_svc_config fl_svc_default_config(void)
{
	struct fl_svc_config c;
	memset(&c, 0, sizeof(c));
	c.listen = "127.0.0.1:8080";
	c.workers = 1;
	c.max_upload = (int64_t)4 << 30;
	c.lease_s = 30;
	c.heartbeat_s = 1;
	c.max_attempts = 3;
	return c;
}

/* One worker thread and the job it runs.  Fields after `mu`-guarded are
** read and written under fl_workers.mu. */
struct wk {
	struct fl_workers *w;
	int idx;
	pthread_t th;
	int th_started;
	char name[64];       /* lease holder: "<host>:<pid>:w<idx>" */

	/* the current job (under w->mu) */
	int busy;
	char job[FL_JOB_ID_LEN];
	double since;        /* monotonic start of the job */
	volatile int cancel; /* the analysis's cancel flag (atomic) */
	int user_cancel;     /* cancel was asked for through the store */
	int lost;            /* the lease went to another worker */
	double fraction, fps, eta;
	const char *stage;   /* static strings */
	int64_t frames;      /* frames analysed in the current job */

	/* heartbeat thread of the current job */
	pthread_t hb;
	int hb_stop;
	pthread_cond_t hb_cv;
};

struct fl_workers {
	struct fl_svc_config cfg;
	char *data_dir, *models_dir, *results_dir;
	struct fl_store *st;
	int n;
	struct wk *wk;

	pthread_mutex_t mu;
	pthread_cond_t cv;      /* idle workers wait here (kick, stop) */
	pthread_cond_t hook_cv; /* the webhook thread waits here */
	volatile int stop;      /* 1: stop claiming (atomic reads outside mu) */
	int graceful;
	unsigned kick_gen, hook_gen;
	pthread_t hook_th;
	int hook_started;

	/* statistics (under mu) */
	double t0;              /* monotonic start */
	double busy_done;       /* worker-seconds of finished jobs */
	int64_t frames_done;    /* frames analysed by finished jobs */
	double t_stage[6];      /* decode_wait, detect, embed, expression, track, persons */
	int64_t jobs_done, jobs_failed;
	struct {
		double t;
		int64_t frames;
	} ring[RING_N];
	int ring_head, ring_n;
};

/* ------------------------------------------------------------ helpers */

static void deadline_in(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	double ns = (double)ts->tv_nsec + s * 1e9;
	ts->tv_sec += (time_t)(ns / 1e9);
	ts->tv_nsec = (long)fmod(ns, 1e9);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

/* Frames analysed so far by all jobs, finished and running (under mu). */
static int64_t frames_total(const struct fl_workers *w)
{
	int64_t f = w->frames_done;
	for (int i = 0; i < w->n; i++)
		if (w->wk[i].busy)
			f += w->wk[i].frames;
	return f;
}

/* Record a (time, frames) sample for the fps window, at most every 0.5 s
** (under mu). */
static void ring_push(struct fl_workers *w, double now)
{
	if (w->ring_n > 0) {
		int last = (w->ring_head + RING_N - 1) % RING_N;
		if (now - w->ring[last].t < 0.5)
			return;
	}
	w->ring[w->ring_head].t = now;
	w->ring[w->ring_head].frames = frames_total(w);
	w->ring_head = (w->ring_head + 1) % RING_N;
	if (w->ring_n < RING_N)
		w->ring_n++;
}

/* ------------------------------------------------------------- params */

/* Read a job's params JSON into p.  Unknown fields and wrong types are
** errors: a typo must not silently analyse with defaults. */
static int parse_params(const char *text, struct fl_analyze_params *p, char *err, size_t err_size)
{
	static const char known[] = "fps, every_frame, gap, threads, min_score, min_face_score, max_faces, "
	                            "skip_nonref, detect_interval, full_interval";
	json_error_t je;
	json_t *o = json_loads(text ? text : "{}", JSON_REJECT_DUPLICATES, &je);
	int r = 0;
	if (!o) {
		fl__errf(err, err_size, "params: not valid JSON: %s (line %d)", je.text, je.line);
		return FL_EINVAL;
	}
	if (!json_is_object(o)) {
		fl__errf(err, err_size, "params: a JSON object expected");
		json_decref(o);
		return FL_EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		double d = json_number_value(v);
		int num = json_is_number(v), integer = json_is_integer(v);
		int flag = json_is_boolean(v) || (integer && (json_integer_value(v) == 0 || json_integer_value(v) == 1));
		int fv = json_is_boolean(v) ? json_is_true(v) : integer ? (int)json_integer_value(v) : 0;
		if (!strcmp(key, "fps")) {
			if (!num || !(d > 0 && d <= 1000)) {
				fl__errf(err, err_size, "params: \"fps\" must be a number in (0, 1000]");
				r = FL_EINVAL;
			} else
				p->fps = d;
		} else if (!strcmp(key, "every_frame")) {
			if (!flag) {
				fl__errf(err, err_size, "params: \"every_frame\" must be true or false");
				r = FL_EINVAL;
			} else
				p->every_frame = fv;
		} else if (!strcmp(key, "skip_nonref")) {
			if (!flag) {
				fl__errf(err, err_size, "params: \"skip_nonref\" must be true or false");
				r = FL_EINVAL;
			} else
				p->skip_nonref = fv;
		} else if (!strcmp(key, "gap")) {
			if (!num || !(d >= 0 && d <= 3600)) {
				fl__errf(err, err_size, "params: \"gap\" must be a number of seconds in [0, 3600]");
				r = FL_EINVAL;
			} else
				p->gap = d;
		} else if (!strcmp(key, "threads")) {
			if (!integer || json_integer_value(v) < 0 || json_integer_value(v) > 256) {
				fl__errf(err, err_size, "params: \"threads\" must be an integer in [0, 256]");
				r = FL_EINVAL;
			} else
				p->threads = (int)json_integer_value(v);
		} else if (!strcmp(key, "min_score") || !strcmp(key, "min_face_score")) {
			if (!num || !(d >= 0 && d <= 1)) {
				fl__errf(err, err_size, "params: \"%s\" must be a number in [0, 1]", key);
				r = FL_EINVAL;
			} else if (key[4] == 's')
				p->min_score = (float)d;
			else
				p->min_face_score = (float)d;
		} else if (!strcmp(key, "detect_interval") || !strcmp(key, "full_interval")) {
			if (!num || !(d >= 0 && d <= 3600)) {
				fl__errf(err, err_size, "params: \"%s\" must be a number of seconds in [0, 3600]", key);
				r = FL_EINVAL;
			} else if (key[0] == 'd')
				p->detect_interval = d;
			else
				p->full_interval = d;
		} else if (!strcmp(key, "max_faces")) {
			if (!integer || json_integer_value(v) < 1 || json_integer_value(v) > 1024) {
				fl__errf(err, err_size, "params: \"max_faces\" must be an integer in [1, 1024]");
				r = FL_EINVAL;
			} else
				p->max_faces = (int)json_integer_value(v);
		} else {
			fl__errf(err, err_size, "params: unknown field \"%.64s\" (known: %s)", key, known);
			r = FL_EINVAL;
		}
		if (r < 0)
			break;
	}
	json_decref(o);
	return r;
}

/* ------------------------------------------------------------ results */

/* Remove "<id>.json.tmp-*" left by an earlier attempt of this job that
** died while writing (its lease has expired, so nobody else writes it). */
static void remove_stale_tmp(struct fl_workers *w, const char *id)
{
	DIR *d = opendir(w->results_dir);
	if (!d)
		return;
	char prefix[FL_JOB_ID_LEN + 16];
	snprintf(prefix, sizeof(prefix), "%s.json.tmp-", id);
	size_t pl = strlen(prefix);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, pl) != 0)
			continue;
		char path[FL__PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", w->results_dir, e->d_name);
		if (unlink(path) == 0)
			fl_log(FL_LOG_INFO, "serve: removed %s left by an earlier attempt", path);
	}
	closedir(d);
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Write the result under its final name (temporary file, fsync, rename). */
static int save_result(struct fl_workers *w, const char *id, const struct fl_result *res, char *path,
                       char *err, size_t err_size)
{
	char tmp[FL__PATH_MAX];
	snprintf(path, FL__PATH_MAX, "%s/%s.json", w->results_dir, id);
	FILE *f = fl__out_fopen(path, tmp, err, err_size);
	if (!f)
		return FL_EIO;
	int r = fl_result_write_json(res, f);
	if (r < 0)
		fl__errf(err, err_size, "%s: writing the result failed: %s", path, fl_strerror(r));
	r = fl__out_commit(f, tmp, path, r, err, err_size);
	if (r == 0)
		fsync_dir(w->results_dir);
	return r;
}

/* -------------------------------------------------------------- running */

static void on_progress(void *opaque, const struct fl_analyze_progress *p)
{
	struct wk *k = opaque;
	struct fl_workers *w = k->w;
	pthread_mutex_lock(&w->mu);
	k->fraction = p->fraction;
	k->fps = p->fps;
	k->eta = p->eta;
	k->stage = p->stage;
	k->frames = p->frames_analysed;
	ring_push(w, fl__now());
	pthread_mutex_unlock(&w->mu);
}

/* The heartbeat thread of one running job. */
static void *hb_main(void *arg)
{
	struct wk *k = arg;
	struct fl_workers *w = k->w;
	double beat = w->cfg.heartbeat_s;
	double poll = beat < CANCEL_POLL_S ? beat : CANCEL_POLL_S;
	double next_beat = fl__now() + beat;
	struct fl_job_progress p;
	char id[FL_JOB_ID_LEN];

	pthread_mutex_lock(&w->mu);
	snprintf(id, sizeof(id), "%s", k->job);
	while (!k->hb_stop) {
		struct timespec ts;
		deadline_in(&ts, poll);
		pthread_cond_timedwait(&k->hb_cv, &w->mu, &ts);
		if (k->hb_stop)
			break;
		p.progress = k->fraction;
		p.fps = k->fps;
		p.eta = k->eta;
		p.stage = k->stage ? k->stage : "load";
		p.frames_analysed = k->frames;
		pthread_mutex_unlock(&w->mu);

		int cancel = 0, lost = 0, r;
		double now = fl__now();
		if (now >= next_beat) {
			next_beat = now + beat;
			r = fl_store_heartbeat(w->st, id, k->name, w->cfg.lease_s, &p, &cancel);
			if (r == FL_EBUSY)
				lost = 1;
			if (r < 0)
				fl_log(lost ? FL_LOG_WARN : FL_LOG_ERROR, "serve: %s: heartbeat of job %s: %s", k->name, id,
				       fl_store_errmsg(w->st));
		} else {
			/* Between heartbeats only look at the cancel flag. */
			struct fl_job j;
			if (fl_store_get(w->st, id, &j) == 0) {
				cancel = j.cancel;
				lost = j.state != FL_JOB_RUNNING || strcmp(j.worker, k->name) != 0;
				fl_job_clear(&j);
			}
		}
		pthread_mutex_lock(&w->mu);
		if (cancel && !k->user_cancel) {
			k->user_cancel = 1;
			fl_log(FL_LOG_INFO, "serve: job %s: cancellation requested", id);
		}
		if (lost)
			k->lost = 1;
		if (cancel || lost)
			__atomic_store_n(&k->cancel, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Bad input: retrying cannot help. */
static int permanent(int r)
{
	switch (r) {
	case FL_EDECODE:
	case FL_ECORRUPT:
	case FL_EUNSUPPORTED:
	case FL_ERANGE:
	case FL_ENOENT:
	case FL_EACCES:
	case FL_EINVAL:
	case FL_ETRUNCATED:
		return 1;
	default:
		return 0;
	}
}

static void count_failure(struct fl_workers *w)
{
	pthread_mutex_lock(&w->mu);
	w->jobs_failed++;
	pthread_mutex_unlock(&w->mu);
}

static void fail_job(struct wk *k, const struct fl_job *job, const char *msg, int retry)
{
	struct fl_workers *w = k->w;
	int r = fl_store_fail(w->st, job->id, k->name, msg, retry);
	if (r < 0)
		fl_log(FL_LOG_ERROR, "serve: job %s: recording the failure \"%s\": %s", job->id, msg,
		       fl_store_errmsg(w->st));
	else
		fl_log(FL_LOG_WARN, "serve: job %s attempt %d failed%s: %s", job->id, job->attempts,
		       retry ? "" : " for good", msg);
	count_failure(w);
}

/* After the result file is in place: record success, and drop the file
** when it is not the one the store keeps. */
static void succeed_job(struct wk *k, const struct fl_job *job, const char *path)
{
	struct fl_workers *w = k->w;
	int first = 0;
	int r = fl_store_succeed(w->st, job->id, k->name, path, &first);
	if (r == 0 && first)
		return;
	struct fl_job now;
	if (fl_store_get(w->st, job->id, &now) < 0) {
		fl_log(FL_LOG_ERROR, "serve: job %s: %s", job->id, fl_store_errmsg(w->st));
		return;
	}
	if (r == 0) {
		/* Succeeded twice: the first result stands. */
		if (now.result && strcmp(now.result, path) != 0)
			unlink(path);
	} else if (r == FL_EBUSY) {
		/* Canceled, or re-claimed by another worker meanwhile.  The file
		** name is the job's, so it is only ours to remove when no run of
		** the job may still want it. */
		int keep = now.state == FL_JOB_RUNNING || (now.state == FL_JOB_SUCCEEDED && now.result &&
		                                            !strcmp(now.result, path));
		if (!keep)
			unlink(path);
		fl_log(FL_LOG_WARN, "serve: job %s finished, but %s", job->id, fl_store_errmsg(w->st));
	} else {
		fl_log(FL_LOG_ERROR, "serve: job %s: recording success: %s", job->id, fl_store_errmsg(w->st));
	}
	fl_job_clear(&now);
}

static void run_job(struct wk *k, const struct fl_job *job)
{
	struct fl_workers *w = k->w;
	struct fl_analyze_params p = fl_analyze_default_params();
	struct fl_result *res = NULL;
	char err[1024] = "", path[FL__PATH_MAX];
	int r;

	/* A job claimed while a graceful stop began goes straight back. */
	pthread_mutex_lock(&w->mu);
	int stop_now = w->stop && w->graceful;
	pthread_mutex_unlock(&w->mu);
	if (stop_now) {
		if (fl_store_release(w->st, job->id, k->name) < 0)
			fl_log(FL_LOG_ERROR, "serve: releasing job %s: %s", job->id, fl_store_errmsg(w->st));
		return;
	}
	fl_log(FL_LOG_INFO, "serve: %s runs job %s (attempt %d of %d): %s", k->name, job->id, job->attempts,
	       job->max_attempts, job->video);
	p.threads = w->cfg.threads_per_job;
	r = parse_params(job->params, &p, err, sizeof(err));
	if (r < 0) {
		fail_job(k, job, err, 0);
		return;
	}
	p.models_dir = w->models_dir;
	p.progress = on_progress;
	p.progress_opaque = k;
	p.cancel = &k->cancel;
	remove_stale_tmp(w, job->id);

	pthread_mutex_lock(&w->mu);
	k->busy = 1;
	snprintf(k->job, sizeof(k->job), "%s", job->id);
	k->since = fl__now();
	__atomic_store_n(&k->cancel, 0, __ATOMIC_RELAXED);
	k->user_cancel = k->lost = 0;
	k->fraction = k->fps = 0;
	k->eta = -1;
	k->stage = "load";
	k->frames = 0;
	k->hb_stop = 0;
	pthread_mutex_unlock(&w->mu);

	int hb_ok = pthread_create(&k->hb, NULL, hb_main, k) == 0;
	if (!hb_ok)
		r = FL_ENOMEM, snprintf(err, sizeof(err), "cannot start the heartbeat thread");
	else
		r = fl_analyze_file(job->video, &p, &res, err, sizeof(err));
	if (hb_ok) {
		pthread_mutex_lock(&w->mu);
		k->hb_stop = 1;
		pthread_cond_signal(&k->hb_cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(k->hb, NULL);
	}

	pthread_mutex_lock(&w->mu);
	int user_cancel = k->user_cancel, lost = k->lost;
	int stopping = w->stop && w->graceful;
	pthread_mutex_unlock(&w->mu);

	if (lost) {
		fl_log(FL_LOG_WARN, "serve: %s lost the lease of job %s; its result is dropped", k->name, job->id);
		count_failure(w);
	} else if (r == 0) {
		r = save_result(w, job->id, res, path, err, sizeof(err));
		if (r < 0)
			fail_job(k, job, err, 1);
		else {
			/* The final counts, so the finished job shows what it did. */
			const struct fl_result_stats *rs = &res->stats;
			struct fl_job_progress fp = {.progress = 1, .eta = 0, .stage = "done"};
			fp.frames_analysed = rs->frames_analysed;
			fp.fps = rs->t_total > 0 ? (double)rs->frames_analysed / rs->t_total : 0;
			(void)fl_store_heartbeat(w->st, job->id, k->name, w->cfg.lease_s, &fp, NULL);
			succeed_job(k, job, path);
			pthread_mutex_lock(&w->mu);
			w->jobs_done++;
			w->t_stage[0] += res->stats.t_decode_wait;
			w->t_stage[1] += res->stats.t_detect;
			w->t_stage[2] += res->stats.t_embed;
			w->t_stage[3] += res->stats.t_expression;
			w->t_stage[4] += res->stats.t_track;
			w->t_stage[5] += res->stats.t_persons;
			pthread_mutex_unlock(&w->mu);
		}
	} else if (r == FL_ECANCELED && user_cancel) {
		if (fl_store_finish_cancel(w->st, job->id, k->name) < 0)
			fl_log(FL_LOG_ERROR, "serve: job %s: %s", job->id, fl_store_errmsg(w->st));
		else
			fl_log(FL_LOG_INFO, "serve: job %s canceled", job->id);
	} else if (r == FL_ECANCELED && stopping) {
		if (fl_store_release(w->st, job->id, k->name) < 0)
			fl_log(FL_LOG_ERROR, "serve: releasing job %s: %s", job->id, fl_store_errmsg(w->st));
		else
			fl_log(FL_LOG_INFO, "serve: job %s released (shutting down)", job->id);
	} else {
		char msg[1100];
		snprintf(msg, sizeof(msg), "%s (%s)", err[0] ? err : fl_strerror(r), fl_status_name(r));
		fail_job(k, job, msg, !permanent(r));
	}
	fl_result_destroy(res);

	pthread_mutex_lock(&w->mu);
	w->busy_done += fl__now() - k->since;
	w->frames_done += k->frames;
	k->frames = 0;
	k->busy = 0;
	k->job[0] = 0;
	ring_push(w, fl__now());
	if (job->webhook) {
		w->hook_gen++;
		pthread_cond_signal(&w->hook_cv);
	}
	pthread_mutex_unlock(&w->mu);
}

static void *wk_main(void *arg)
{
	struct wk *k = arg;
	struct fl_workers *w = k->w;
	unsigned seen = 0;
	int complained = 0;

	for (;;) {
		if (__atomic_load_n(&w->stop, __ATOMIC_RELAXED))
			break;
		struct fl_job job;
		int r = fl_store_claim(w->st, k->name, w->cfg.lease_s, &job);
		if (r == 0) {
			complained = 0;
			run_job(k, &job);
			fl_job_clear(&job);
			continue;
		}
		if (r != FL_ENOENT && !complained) {
			fl_log(FL_LOG_ERROR, "serve: %s cannot claim jobs: %s", k->name, fl_store_errmsg(w->st));
			complained = 1;
		}
		pthread_mutex_lock(&w->mu);
		if (!w->stop && w->kick_gen == seen) {
			struct timespec ts;
			deadline_in(&ts, IDLE_POLL_S);
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
		seen = w->kick_gen;
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

/* ------------------------------------------------------------- webhooks */

struct hook_state {
	char id[FL_JOB_ID_LEN];
	int tries;
	double next; /* monotonic time of the next try */
};

static char *hook_body(const struct fl_job *j)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "state", json_string(fl_job_state_name(j->state)));
	if (j->error && j->state != FL_JOB_SUCCEEDED)
		json_object_set_new(o, "error", json_string(j->error));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void hook_finish(struct fl_workers *w, const char *id)
{
	if (fl_store_webhook_done(w->st, id) < 0)
		fl_log(FL_LOG_ERROR, "serve: job %s: marking its webhook done: %s", id, fl_store_errmsg(w->st));
}

/* Deliver the webhooks of finished jobs; retry state lives here (the
** store only knows done or not), so a restart begins the tries anew. */
static void *hook_main(void *arg)
{
	struct fl_workers *w = arg;
	struct hook_state tab[HOOK_BATCH];
	int n_tab = 0;
	unsigned seen = 0;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (!w->stop && w->hook_gen == seen) {
			/* Sleep until the next retry is due, a job finishes, or 1 s. */
			double wait = 1.0, now = fl__now();
			for (int i = 0; i < n_tab; i++)
				if (tab[i].next - now < wait)
					wait = tab[i].next - now;
			if (wait > 0.005) {
				struct timespec ts;
				deadline_in(&ts, wait);
				pthread_cond_timedwait(&w->hook_cv, &w->mu, &ts);
			}
		}
		seen = w->hook_gen;
		int stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;

		struct fl_job *jobs = NULL;
		int n = 0;
		if (fl_store_webhook_pending(w->st, &jobs, &n, HOOK_BATCH) < 0) {
			fl_log(FL_LOG_ERROR, "serve: webhooks: %s", fl_store_errmsg(w->st));
			continue;
		}
		/* Forget retry state of jobs no longer pending. */
		for (int i = 0; i < n_tab;) {
			int still = 0;
			for (int j = 0; j < n && !still; j++)
				still = !strcmp(tab[i].id, jobs[j].id);
			if (still)
				i++;
			else
				tab[i] = tab[--n_tab];
		}
		for (int j = 0; j < n && !__atomic_load_n(&w->stop, __ATOMIC_RELAXED); j++) {
			struct fl_job *job = &jobs[j];
			struct hook_state *hs = NULL;
			for (int i = 0; i < n_tab && !hs; i++)
				if (!strcmp(tab[i].id, job->id))
					hs = &tab[i];
			if (!hs) {
				if (n_tab == HOOK_BATCH)
					continue;
				hs = &tab[n_tab++];
				snprintf(hs->id, sizeof(hs->id), "%s", job->id);
				hs->tries = 0;
				hs->next = 0;
			}
			if (fl__now() < hs->next)
				continue;
			char err[512] = "";
			char *body = hook_body(job);
			int r = body ? fl__webhook_post(job->webhook, body, w->cfg.webhook_loopback, &w->stop, err,
			                                sizeof(err))
			             : FL_ENOMEM;
			fl_free(body);
			if (__atomic_load_n(&w->stop, __ATOMIC_RELAXED) && r < 0)
				break; /* aborted by the stop: the next start tries again */
			hs->tries++;
			int give_up = r == FL_EINVAL || r == FL_EACCES || hs->tries >= FL__WEBHOOK_TRIES;
			if (r == 0) {
				fl_log(FL_LOG_INFO, "serve: job %s: webhook delivered", job->id);
			} else if (give_up) {
				fl_log(FL_LOG_WARN, "serve: job %s: webhook given up after %d tries: %s", job->id, hs->tries,
				       err);
			} else {
				hs->next = fl__now() + ldexp(1.0, hs->tries - 1);
				fl_log(FL_LOG_INFO, "serve: job %s: webhook try %d failed (%s); next in %g s", job->id,
				       hs->tries, err, ldexp(1.0, hs->tries - 1));
			}
			if (r == 0 || give_up) {
				hook_finish(w, job->id);
				*hs = tab[--n_tab];
			}
		}
		for (int j = 0; j < n; j++)
			fl_job_clear(&jobs[j]);
		fl_free(jobs);
	}
	return NULL;
}

/* ----------------------------------------------------------- lifecycle */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = fl_malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void workers_free(struct fl_workers *w)
{
	if (!w)
		return;
	if (w->wk)
		for (int i = 0; i < w->n; i++)
			pthread_cond_destroy(&w->wk[i].hb_cv);
	fl_free(w->wk);
	fl_free(w->data_dir);
	fl_free(w->models_dir);
	fl_free(w->results_dir);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->hook_cv);
	pthread_mutex_destroy(&w->mu);
	fl_free(w);
}

int fl_workers_start(const struct fl_svc_config *cfg, struct fl_store *st, struct fl_workers **out, char *err,
                     size_t err_size)
{
	struct fl_workers *w = NULL;
	struct stat sb;

	if (out)
		*out = NULL;
	if (!cfg || !st || !out || !cfg->data_dir) {
		fl__errf(err, err_size, "workers: no configuration, store or data directory");
		return FL_EINVAL;
	}
	if (stat(cfg->data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fl__errf(err, err_size, "%s: not a directory (the data directory must exist)", cfg->data_dir);
		return FL_ENOENT;
	}
	struct fl_svc_config c = *cfg;
	if (c.workers <= 0)
		c.workers = 1;
	if (c.lease_s <= 0)
		c.lease_s = 30;
	if (c.heartbeat_s <= 0)
		c.heartbeat_s = 1;
	if (c.workers > 256) {
		fl__errf(err, err_size, "workers: %d workers, more than 256", c.workers);
		return FL_EINVAL;
	}
	if (!(c.lease_s > c.heartbeat_s)) {
		fl__errf(err, err_size, "workers: the lease (%g s) must be longer than the heartbeat interval (%g s)",
		         c.lease_s, c.heartbeat_s);
		return FL_EINVAL;
	}
	if (c.threads_per_job <= 0) {
		c.threads_per_job = fl_cpu_count() / c.workers;
		if (c.threads_per_job < 1)
			c.threads_per_job = 1;
	}
	pthread_once(&curl_once, curl_init);
	if (!curl_ok) {
		fl__errf(err, err_size, "workers: libcurl failed to initialise");
		return FL_EIO;
	}

	w = fl_calloc(1, sizeof(*w));
	if (!w) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	cond_init_mono(&w->cv);
	cond_init_mono(&w->hook_cv);
	w->st = st;
	w->n = c.workers;
	w->data_dir = fl_strdup(c.data_dir);
	w->models_dir = c.models_dir ? fl_strdup(c.models_dir) : NULL;
	w->results_dir = path_join(c.data_dir, "results");
	w->wk = fl_calloc((size_t)w->n, sizeof(*w->wk));
	if (!w->data_dir || (c.models_dir && !w->models_dir) || !w->results_dir || !w->wk) {
		fl__errf(err, err_size, "out of memory");
		fl_free(w->wk);
		w->wk = NULL;
		workers_free(w);
		return FL_ENOMEM;
	}
	/* Strings of the copy point at our own copies. */
	c.data_dir = w->data_dir;
	c.models_dir = w->models_dir;
	c.listen = NULL;
	c.token = NULL;
	c.allowed_root = NULL;
	w->cfg = c;
	if (mkdir(w->results_dir, 0755) != 0 && errno != EEXIST) {
		fl__errf(err, err_size, "%s: cannot create: %s", w->results_dir, strerror(errno));
		int e = fl__errno_status(errno);
		workers_free(w);
		return e;
	}
	w->t0 = fl__now();
	ring_push(w, w->t0); /* frames/s counts from the start */

	char host[64] = "host";
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = 0;
	host[40] = 0; /* leave room for ":pid:wN" */
	for (int i = 0; i < w->n; i++) {
		struct wk *k = &w->wk[i];
		k->w = w;
		k->idx = i;
		snprintf(k->name, sizeof(k->name), "%s:%ld:w%d", host, (long)getpid(), i);
		cond_init_mono(&k->hb_cv);
	}
	int r = 0;
	for (int i = 0; i < w->n && r == 0; i++) {
		if (pthread_create(&w->wk[i].th, NULL, wk_main, &w->wk[i]) != 0)
			r = FL_ENOMEM;
		else
			w->wk[i].th_started = 1;
	}
	if (r == 0) {
		if (pthread_create(&w->hook_th, NULL, hook_main, w) != 0)
			r = FL_ENOMEM;
		else
			w->hook_started = 1;
	}
	if (r < 0) {
		fl__errf(err, err_size, "workers: cannot start a thread");
		fl_workers_stop(w, 1);
		return r;
	}
	*out = w;
	return 0;
}

void fl_workers_kick(struct fl_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kick_gen++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void fl_workers_stats(struct fl_workers *w, struct fl_worker_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	double now = fl__now();
	ring_push(w, now);
	s->workers = w->n;
	s->busy_seconds = w->busy_done;
	for (int i = 0; i < w->n; i++)
		if (w->wk[i].busy) {
			s->busy++;
			s->busy_seconds += now - w->wk[i].since;
		}
	s->uptime = now - w->t0;
	s->frames_analysed = frames_total(w);
	/* fps: from the oldest sample inside the window (or the newest one
	** just before it) to now. */
	int base = -1;
	for (int j = 0; j < w->ring_n; j++) {
		int i = (w->ring_head + RING_N - w->ring_n + j) % RING_N; /* oldest first */
		if (base < 0 || w->ring[i].t <= now - FPS_WINDOW_S)
			base = i;
	}
	if (base >= 0 && now - w->ring[base].t > 0.1)
		s->fps = (double)(s->frames_analysed - w->ring[base].frames) / (now - w->ring[base].t);
	s->t_decode_wait = w->t_stage[0];
	s->t_detect = w->t_stage[1];
	s->t_embed = w->t_stage[2];
	s->t_expression = w->t_stage[3];
	s->t_track = w->t_stage[4];
	s->t_persons = w->t_stage[5];
	s->jobs_done = w->jobs_done;
	s->jobs_failed = w->jobs_failed;
	pthread_mutex_unlock(&w->mu);
}

void fl_workers_stop(struct fl_workers *w, int graceful)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	w->graceful = graceful;
	if (graceful)
		for (int i = 0; i < w->n; i++)
			if (w->wk[i].busy)
				__atomic_store_n(&w->wk[i].cancel, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->cv);
	pthread_cond_broadcast(&w->hook_cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->n; i++)
		if (w->wk[i].th_started)
			pthread_join(w->wk[i].th, NULL);
	if (w->hook_started)
		pthread_join(w->hook_th, NULL);
	workers_free(w);
}
