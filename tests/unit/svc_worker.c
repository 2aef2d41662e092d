/*
** svc_worker.c -- tests of the worker pool of `faceline serve`
** (src/svc/worker.c, webhook.c) on real analyses: clips composed at test
** time from a dlib photo (ffmpeg), run through fl_workers_start; success
** with one result file, cancellation of a running analysis, a bad video
** and bad params (failed, no retry), a result that cannot be written
** (retried, then dead), a graceful stop (released), a worker process
** killed with SIGKILL mid-analysis (the job is re-claimed once its lease
** expires and completes with one result), and webhooks to a local
** listener (delivered with a retry; refused for loopback unless allowed).
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "faceline/fl_base.h"
#include "store/store.h"
#include "svc/svc.h"
#include "svc/svc_int.h"

/* ------------------------------------------------------------ helpers */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* Sanitizer builds run slower: FL_TEST_TIMEOUT_SCALE stretches waits. */
static double scale(void)
{
	const char *e = getenv("FL_TEST_TIMEOUT_SCALE");
	double s = e ? atof(e) : 1;
	return s >= 1 ? s : 1;
}

static char *tmp_dir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/fl_svcw_XXXXXX");
	ASSERT(mkdtemp(dir) != NULL);
	return dir;
}

static void rm_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}

static const char *models_dir(void)
{
	return fl_test_path("models");
}

/* A clip of `secs` seconds: a dlib face photo moving over a grey 320x240
** background (one person). */
static void make_face_clip(const char *out, int secs)
{
	const char *photo = fl_test_path("testdata/dlib/johns/John_Simm/000288_00470387.jpg");
	if (access(photo, R_OK) != 0)
		FL_SKIP("testdata/dlib missing (tools/fetch-testdata.sh)");
	char m[512];
	snprintf(m, sizeof(m), "%s/blazeface.json", fl_test_path("models/human"));
	if (access(m, R_OK) != 0)
		FL_SKIP("models missing (make models)");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -hide_banner -nostdin -loglevel error -y -loop 1 -i '%s' -f lavfi -i "
	         "color=c=gray:size=320x240:rate=25 -filter_complex \"[1][0]overlay=x='85+40*sin(t)':y=45\" -t %d "
	         "-pix_fmt yuv420p -c:v libx264 -preset ultrafast '%s'",
	         photo, secs, out);
	if (system(cmd) != 0)
		FL_SKIP("ffmpeg cannot make the test clip");
}

static struct fl_store *open_store(const char *dir)
{
	struct fl_store *s = NULL;
	char err[512];
	int r = fl_store_open(dir, &s, err, sizeof(err));
	ASSERT_MSG(r == 0, "fl_store_open: %s", err);
	return s;
}

static struct fl_svc_config test_config(const char *dir)
{
	struct fl_svc_config c = fl_svc_default_config();
	c.data_dir = dir;
	c.models_dir = models_dir();
	c.workers = 1;
	c.threads_per_job = 1;
	c.lease_s = 2;
	c.heartbeat_s = 0.2;
	return c;
}

static struct fl_workers *start_workers(const struct fl_svc_config *c, struct fl_store *st)
{
	struct fl_workers *w = NULL;
	char err[512];
	int r = fl_workers_start(c, st, &w, err, sizeof(err));
	ASSERT_MSG(r == 0, "fl_workers_start: %d %s", r, err);
	return w;
}

static void enqueue(struct fl_store *s, const char *video, const char *params, const char *webhook,
                    int max_attempts, struct fl_job *out)
{
	struct fl_job_new n = {.video = video, .params = params, .webhook = webhook, .max_attempts = max_attempts};
	int created;
	ASSERT_OK(fl_store_enqueue(s, &n, out, &created));
}

/* Wait until job id is in `state` (or finished in another state, which
** fails the test); j receives it. */
static void wait_state(struct fl_store *s, const char *id, int state, double timeout, struct fl_job *j)
{
	double end = now_s() + timeout * scale();
	for (;;) {
		ASSERT_OK(fl_store_get(s, id, j));
		if (j->state == state)
			return;
		int finished = j->state != FL_JOB_QUEUED && j->state != FL_JOB_RUNNING;
		ASSERT_MSG(!finished, "job %s is %s (error: %s), expected %s", id, fl_job_state_name(j->state),
		           j->error ? j->error : "-", fl_job_state_name(state));
		ASSERT_MSG(now_s() < end, "job %s still %s after %g s (stage %s, progress %.2f), expected %s", id,
		           fl_job_state_name(j->state), timeout, j->stage, j->progress, fl_job_state_name(state));
		fl_job_clear(j);
		sleep_s(0.02);
	}
}

/* Wait until the job runs and has analysed some frames. */
static void wait_progress(struct fl_store *s, const char *id, double timeout)
{
	double end = now_s() + timeout * scale();
	for (;;) {
		struct fl_job j;
		ASSERT_OK(fl_store_get(s, id, &j));
		int ok = j.state == FL_JOB_RUNNING && j.frames_analysed > 0 && j.progress > 0;
		ASSERT_MSG(j.state == FL_JOB_QUEUED || j.state == FL_JOB_RUNNING, "job %s is %s (%s)", id,
		           fl_job_state_name(j.state), j.error ? j.error : "-");
		fl_job_clear(&j);
		if (ok)
			return;
		ASSERT_MSG(now_s() < end, "job %s shows no progress after %g s", id, timeout);
		sleep_s(0.02);
	}
}

/* Stats once the workers are idle and `finished` attempts have ended (the
** store shows a job's outcome a moment before the worker's counters do). */
static void idle_stats(struct fl_workers *w, int64_t finished, struct fl_worker_stats *ws)
{
	double end = now_s() + 10 * scale();
	for (;;) {
		fl_workers_stats(w, ws);
		if (ws->busy == 0 && ws->jobs_done + ws->jobs_failed >= finished)
			return;
		ASSERT_MSG(now_s() < end, "workers still busy (%d) or %lld of %lld attempts counted", ws->busy,
		           (long long)(ws->jobs_done + ws->jobs_failed), (long long)finished);
		sleep_s(0.01);
	}
}

/* Files in dir (names joined by spaces into list). */
static int count_files(const char *dir, char *list, size_t size)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (list)
		list[0] = 0;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (list)
			snprintf(list + strlen(list), size - strlen(list), "%s ", e->d_name);
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------- success */

FL_TEST_T(svc_worker_success, 120)
{
	char *dir = tmp_dir();
	char video[256], results[256], list[1024];
	snprintf(video, sizeof(video), "%s/face.mp4", dir);
	snprintf(results, sizeof(results), "%s/results", dir);
	make_face_clip(video, 3);

	struct fl_store *st = open_store(dir);
	struct fl_job job, j;
	enqueue(st, video, "{\"fps\": 5, \"gap\": 0.5}", NULL, 0, &job);
	struct fl_svc_config c = test_config(dir);
	struct fl_workers *w = start_workers(&c, st);
	fl_workers_kick(w);
	wait_state(st, job.id, FL_JOB_SUCCEEDED, 60, &j);

	ASSERT_EQ(j.attempts, 1);
	ASSERT(j.error == NULL);
	ASSERT_NEAR(j.progress, 1.0, 1e-9);
	ASSERT(j.finished >= j.started && j.started >= j.created);
	char expect[512];
	snprintf(expect, sizeof(expect), "%s/%s.json", results, job.id);
	ASSERT(j.result && !strcmp(j.result, expect));
	ASSERT_MSG(count_files(results, list, sizeof(list)) == 1, "results: %s", list);

	/* The result is the v1 document of this video with its params. */
	json_error_t je;
	json_t *doc = json_load_file(j.result, 0, &je);
	ASSERT_MSG(doc != NULL, "%s: %s", j.result, je.text);
	ASSERT_EQ(json_integer_value(json_object_get(doc, "v")), 1);
	ASSERT(!strcmp(json_string_value(json_object_get(json_object_get(doc, "video"), "path")), video));
	ASSERT_NEAR(json_number_value(json_object_get(json_object_get(doc, "params"), "fps")), 5, 1e-9);
	ASSERT_NEAR(json_number_value(json_object_get(json_object_get(doc, "params"), "gap")), 0.5, 1e-9);
	ASSERT_EQ(json_array_size(json_object_get(doc, "persons")), 1);
	json_decref(doc);

	struct fl_worker_stats ws;
	idle_stats(w, 1, &ws);
	ASSERT_EQ(ws.workers, 1);
	ASSERT_EQ(ws.busy, 0);
	ASSERT_EQ(ws.jobs_done, 1);
	ASSERT_EQ(ws.jobs_failed, 0);
	ASSERT(ws.frames_analysed >= 14 && ws.frames_analysed <= 16);
	ASSERT(ws.busy_seconds > 0 && ws.busy_seconds <= ws.uptime);
	ASSERT(ws.t_detect > 0 && ws.t_embed > 0);
	ASSERT(ws.fps > 0);
	fl_workers_stop(w, 1);
	fl_job_clear(&j);
	fl_job_clear(&job);
	fl_store_close(st);
	rm_dir(dir);
}

/* ------------------------------------------------------- cancellation */

FL_TEST_T(svc_worker_cancel, 120)
{
	char *dir = tmp_dir();
	char video[256], results[256];
	snprintf(video, sizeof(video), "%s/long.mp4", dir);
	snprintf(results, sizeof(results), "%s/results", dir);
	make_face_clip(video, 20);

	struct fl_store *st = open_store(dir);
	struct fl_job job, queued, j;
	enqueue(st, video, "{\"every_frame\": true}", NULL, 0, &job);
	enqueue(st, video, NULL, NULL, 0, &queued);
	/* heartbeat_s 1 (the default): the cancel flag is read more often. */
	struct fl_svc_config c = test_config(dir);
	c.heartbeat_s = 1;
	c.lease_s = 5;
	struct fl_workers *w = start_workers(&c, st);
	wait_progress(st, job.id, 30);

	/* The second job waits behind the first: canceled at once. */
	ASSERT_OK(fl_store_cancel(st, queued.id, &j));
	ASSERT_EQ(j.state, FL_JOB_CANCELED);
	fl_job_clear(&j);

	double t0 = now_s();
	ASSERT_OK(fl_store_cancel(st, job.id, &j));
	ASSERT_EQ(j.state, FL_JOB_RUNNING);
	ASSERT_EQ(j.cancel, 1);
	fl_job_clear(&j);
	wait_state(st, job.id, FL_JOB_CANCELED, 1.5, &j);
	double dt = now_s() - t0;
	ASSERT(j.progress < 1.0);
	ASSERT(j.result == NULL);
	fl_job_clear(&j);
	ASSERT_EQ(count_files(results, NULL, 0), 0);
	fl_log(FL_LOG_WARN, "svc_worker_cancel: canceled %.3f s after the request", dt);

	struct fl_worker_stats ws;
	idle_stats(w, 0, &ws);
	ASSERT_EQ(ws.jobs_done, 0);
	ASSERT(ws.frames_analysed > 0);
	fl_workers_stop(w, 1);
	fl_job_clear(&job);
	fl_job_clear(&queued);
	fl_store_close(st);
	rm_dir(dir);
}

/* Graceful stop releases the running job back to the queue. */
FL_TEST_T(svc_worker_graceful_stop, 120)
{
	char *dir = tmp_dir();
	char video[256];
	snprintf(video, sizeof(video), "%s/long.mp4", dir);
	make_face_clip(video, 20);
	struct fl_store *st = open_store(dir);
	struct fl_job job, j;
	enqueue(st, video, "{\"every_frame\": true}", NULL, 0, &job);
	struct fl_svc_config c = test_config(dir);
	struct fl_workers *w = start_workers(&c, st);
	wait_progress(st, job.id, 30);
	double t0 = now_s();
	fl_workers_stop(w, 1);
	double dt = now_s() - t0;
	ASSERT_OK(fl_store_get(st, job.id, &j));
	ASSERT_EQ(j.state, FL_JOB_QUEUED);
	ASSERT_EQ(j.attempts, 0);
	ASSERT_EQ(j.worker[0], 0);
	fl_job_clear(&j);
	fl_log(FL_LOG_WARN, "svc_worker_graceful_stop: stopped in %.3f s", dt);
	fl_job_clear(&job);
	fl_store_close(st);
	rm_dir(dir);
}

/* ----------------------------------------------------------- bad input */

FL_TEST_T(svc_worker_bad_input, 120)
{
	char *dir = tmp_dir();
	char bad[256], video[256], missing[256], results[256];
	snprintf(bad, sizeof(bad), "%s/notes.mp4", dir);
	snprintf(video, sizeof(video), "%s/face.mp4", dir);
	snprintf(missing, sizeof(missing), "%s/gone.mp4", dir);
	snprintf(results, sizeof(results), "%s/results", dir);
	make_face_clip(video, 1);
	FILE *f = fopen(bad, "w");
	ASSERT(f);
	fputs("these are my notes, not a video\n", f);
	fclose(f);

	struct fl_store *st = open_store(dir);
	struct fl_job a, b, d, e, j;
	enqueue(st, bad, NULL, NULL, 3, &a);
	enqueue(st, video, "{\"fsp\": 5}", NULL, 3, &b);
	enqueue(st, video, "{\"fps\": \"fast\"}", NULL, 3, &d);
	enqueue(st, missing, NULL, NULL, 3, &e);
	struct fl_svc_config c = test_config(dir);
	struct fl_workers *w = start_workers(&c, st);

	/* Not a video: failed at the first attempt, with what and where. */
	wait_state(st, a.id, FL_JOB_FAILED, 30, &j);
	ASSERT_EQ(j.attempts, 1);
	ASSERT_STR_CONTAINS(j.error, "notes.mp4");
	ASSERT_MSG(strstr(j.error, "FL_EDECODE") || strstr(j.error, "FL_ECORRUPT") ||
	               strstr(j.error, "FL_EUNSUPPORTED"),
	           "error: %s", j.error);
	ASSERT(j.result == NULL);
	fl_job_clear(&j);

	/* A misspelt parameter is not silently ignored. */
	wait_state(st, b.id, FL_JOB_FAILED, 30, &j);
	ASSERT_EQ(j.attempts, 1);
	ASSERT_STR_CONTAINS(j.error, "unknown field \"fsp\"");
	ASSERT_STR_CONTAINS(j.error, "fps");
	fl_job_clear(&j);
	wait_state(st, d.id, FL_JOB_FAILED, 30, &j);
	ASSERT_STR_CONTAINS(j.error, "\"fps\" must be a number");
	fl_job_clear(&j);

	/* A video that went away. */
	wait_state(st, e.id, FL_JOB_FAILED, 30, &j);
	ASSERT_EQ(j.attempts, 1);
	ASSERT_STR_CONTAINS(j.error, "gone.mp4");
	ASSERT_STR_CONTAINS(j.error, "FL_ENOENT");
	fl_job_clear(&j);

	ASSERT_EQ(count_files(results, NULL, 0), 0);
	struct fl_worker_stats ws;
	idle_stats(w, 4, &ws);
	ASSERT_EQ(ws.jobs_failed, 4);
	ASSERT_EQ(ws.jobs_done, 0);
	fl_workers_stop(w, 1);
	fl_job_clear(&a);
	fl_job_clear(&b);
	fl_job_clear(&d);
	fl_job_clear(&e);
	fl_store_close(st);
	rm_dir(dir);
}

/* A result that cannot be written is an error worth retrying: back-off,
** then dead at max_attempts, with the last message. */
FL_TEST_T(svc_worker_retry_dead, 120)
{
	char *dir = tmp_dir();
	char video[256], results[256];
	snprintf(video, sizeof(video), "%s/face.mp4", dir);
	snprintf(results, sizeof(results), "%s/results", dir);
	make_face_clip(video, 1);
	struct fl_store *st = open_store(dir);
	struct fl_job job, j;
	enqueue(st, video, NULL, NULL, 2, &job);
	struct fl_svc_config c = test_config(dir);
	struct fl_workers *w = start_workers(&c, st);
	fl_workers_stop(w, 1); /* made DIR/results; the job has not been claimed */
	ASSERT_OK(fl_store_get(st, job.id, &j));
	ASSERT_EQ(j.state, FL_JOB_QUEUED);
	fl_job_clear(&j);
	/* DIR/results becomes a file: no result can be created in it. */
	ASSERT_EQ(rmdir(results), 0);
	FILE *f = fopen(results, "w");
	ASSERT(f);
	fclose(f);

	w = start_workers(&c, st);
	wait_state(st, job.id, FL_JOB_DEAD, 30, &j);
	ASSERT_EQ(j.attempts, 2);
	ASSERT_STR_CONTAINS(j.error, "results");
	ASSERT(j.finished - j.started >= 0);
	fl_job_clear(&j);
	struct fl_worker_stats ws;
	idle_stats(w, 2, &ws);
	ASSERT_EQ(ws.jobs_failed, 2);
	fl_workers_stop(w, 1);
	fl_job_clear(&job);
	fl_store_close(st);
	rm_dir(dir);
}

/* ------------------------------------------------- kill -9 mid-analysis */

/* The child: its own store connection and one worker, until killed. */
static void worker_child(const char *dir)
{
	struct fl_store *st = NULL;
	char err[512];
	if (fl_store_open(dir, &st, err, sizeof(err)) < 0)
		_exit(2);
	struct fl_svc_config c = test_config(dir);
	c.lease_s = 1;
	struct fl_workers *w = NULL;
	if (fl_workers_start(&c, st, &w, err, sizeof(err)) < 0)
		_exit(3);
	for (;;)
		pause();
}

FL_TEST_T(svc_worker_kill9, 180)
{
	char *dir = tmp_dir();
	char video[256], results[256], list[1024];
	snprintf(video, sizeof(video), "%s/long.mp4", dir);
	snprintf(results, sizeof(results), "%s/results", dir);
	make_face_clip(video, 20);

	/* Every frame (500) in the release build; ASan and TSan builds are
	** ~100x slower per frame, so 1 frame/s (20) still leaves seconds to
	** kill it in. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	int slow = 1;
#else
	int slow = 0;
#endif
	struct fl_store *st = open_store(dir);
	struct fl_job job, j;
	enqueue(st, video, slow ? "{\"fps\": 1}" : "{\"every_frame\": true}", NULL, 0, &job);
	fl_store_close(st); /* no SQLite connection across fork */

	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0)
		worker_child(dir);

	st = open_store(dir);
	wait_progress(st, job.id, 30);
	ASSERT_OK(fl_store_get(st, job.id, &j));
	char first_worker[64];
	snprintf(first_worker, sizeof(first_worker), "%s", j.worker);
	ASSERT_EQ(j.attempts, 1);
	fl_job_clear(&j);
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* New workers (this process) re-claim the job once the dead one's
	** 1 s lease runs out, and complete it.  Two of them, with the
	** analysis longer than the lease: only the heartbeats keep the second
	** worker from taking the job over (which would make attempts 3). */
	double t_kill = now_s();
	struct fl_svc_config c = test_config(dir);
	c.lease_s = 1;
	c.workers = 2;
	struct fl_workers *w = start_workers(&c, st);
	wait_state(st, job.id, FL_JOB_SUCCEEDED, 90, &j);
	fl_log(FL_LOG_WARN, "svc_worker_kill9: re-run finished %.2f s after the kill", now_s() - t_kill);
	ASSERT_EQ(j.attempts, 2);
	ASSERT(strcmp(j.worker, first_worker) != 0 || j.worker[0] == 0);
	ASSERT_MSG(count_files(results, list, sizeof(list)) == 1, "results: %s", list);
	json_error_t je;
	json_t *doc = json_load_file(j.result, 0, &je);
	ASSERT_MSG(doc != NULL, "%s: %s", j.result, je.text);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(doc, "stats"), "frames_analysed")), slow ? 20 : 500);
	json_decref(doc);
	fl_job_clear(&j);
	fl_workers_stop(w, 1);
	fl_job_clear(&job);
	fl_store_close(st);
	rm_dir(dir);
}

/* ------------------------------------------------------------ webhooks */

/* A tiny HTTP listener on 127.0.0.1: answers the first `fail_first`
** requests with 500, the rest with 200, and keeps the last body. */
struct listener {
	int fd, port;
	int fail_first;
	int requests;
	char body[2048];
	char request_line[256];
	int stop; /* atomic */
	pthread_mutex_t mu;
	pthread_t th;
};

static void *listener_main(void *arg)
{
	struct listener *l = arg;
	while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(l->fd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[8192];
		size_t n = 0;
		long clen = -1;
		char *hdr_end = NULL;
		for (;;) {
			struct pollfd q = {.fd = c, .events = POLLIN};
			if (poll(&q, 1, 2000) <= 0)
				break;
			ssize_t m = read(c, buf + n, sizeof(buf) - 1 - n);
			if (m <= 0)
				break;
			n += (size_t)m;
			buf[n] = 0;
			if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
				char *cl = strcasestr(buf, "content-length:");
				clen = cl ? atol(cl + 15) : 0;
			}
			if (hdr_end && (long)(n - (size_t)(hdr_end + 4 - buf)) >= clen)
				break;
		}
		pthread_mutex_lock(&l->mu);
		int fail = l->requests < l->fail_first;
		l->requests++;
		if (hdr_end) {
			snprintf(l->body, sizeof(l->body), "%s", hdr_end + 4);
			char *eol = strstr(buf, "\r\n");
			snprintf(l->request_line, sizeof(l->request_line), "%.*s", (int)(eol - buf), buf);
		}
		pthread_mutex_unlock(&l->mu);
		const char *ans = fail ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
		                       : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (write(c, ans, strlen(ans)) < 0) {
		}
		close(c);
	}
	return NULL;
}

static void listener_start(struct listener *l, int fail_first)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->fail_first = fail_first;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(l->fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(l->fd, 16), 0);
	socklen_t al = sizeof(a);
	ASSERT_EQ(getsockname(l->fd, (struct sockaddr *)&a, &al), 0);
	l->port = ntohs(a.sin_port);
	ASSERT_EQ(pthread_create(&l->th, NULL, listener_main, l), 0);
}

static void listener_stop(struct listener *l)
{
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
	pthread_join(l->th, NULL);
	close(l->fd);
}

FL_TEST_T(svc_worker_webhook, 120)
{
	char *dir = tmp_dir();
	char bad[256], url[128], url_local[128];
	snprintf(bad, sizeof(bad), "%s/notes.mp4", dir);
	FILE *f = fopen(bad, "w");
	ASSERT(f);
	fputs("not a video\n", f);
	fclose(f);

	/* Allowed: delivered on the second try (the first gets a 500). */
	struct listener l;
	listener_start(&l, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook?x=1", l.port);
	struct fl_store *st = open_store(dir);
	struct fl_job job, j;
	enqueue(st, bad, NULL, url, 0, &job);
	struct fl_svc_config c = test_config(dir);
	c.webhook_loopback = 1;
	struct fl_workers *w = start_workers(&c, st);
	double end = now_s() + 20 * scale();
	for (;;) {
		ASSERT_OK(fl_store_get(st, job.id, &j));
		int done = j.webhook_done;
		fl_job_clear(&j);
		if (done)
			break;
		ASSERT_MSG(now_s() < end, "webhook not delivered");
		sleep_s(0.05);
	}
	pthread_mutex_lock(&l.mu);
	ASSERT_EQ(l.requests, 2);
	ASSERT_STR_CONTAINS(l.request_line, "POST /hook?x=1 HTTP/1.1");
	json_error_t je;
	json_t *b = json_loads(l.body, 0, &je);
	ASSERT_MSG(b != NULL, "body \"%s\": %s", l.body, je.text);
	pthread_mutex_unlock(&l.mu);
	ASSERT(!strcmp(json_string_value(json_object_get(b, "id")), job.id));
	ASSERT(!strcmp(json_string_value(json_object_get(b, "state")), "failed"));
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(b, "error")), "notes.mp4");
	json_decref(b);
	fl_workers_stop(w, 1);
	fl_job_clear(&job);

	/* Not allowed: a loopback target (by address and by name) is refused
	** without a request, and the webhook is given up. */
	pthread_mutex_lock(&l.mu);
	int before = l.requests;
	pthread_mutex_unlock(&l.mu);
	snprintf(url_local, sizeof(url_local), "http://localhost:%d/hook", l.port);
	struct fl_job k1, k2;
	enqueue(st, bad, NULL, url, 0, &k1);
	enqueue(st, bad, NULL, url_local, 0, &k2);
	c.webhook_loopback = 0;
	w = start_workers(&c, st);
	end = now_s() + 20 * scale();
	for (;;) {
		struct fl_job x, y;
		ASSERT_OK(fl_store_get(st, k1.id, &x));
		ASSERT_OK(fl_store_get(st, k2.id, &y));
		int done = x.webhook_done && y.webhook_done;
		ASSERT(x.state == FL_JOB_QUEUED || x.state == FL_JOB_RUNNING || x.state == FL_JOB_FAILED);
		fl_job_clear(&x);
		fl_job_clear(&y);
		if (done)
			break;
		ASSERT_MSG(now_s() < end, "refused webhooks not given up");
		sleep_s(0.05);
	}
	sleep_s(0.3);
	pthread_mutex_lock(&l.mu);
	int after = l.requests;
	pthread_mutex_unlock(&l.mu);
	ASSERT_EQ(after, before);
	fl_workers_stop(w, 1);
	listener_stop(&l);
	fl_job_clear(&k1);
	fl_job_clear(&k2);
	fl_store_close(st);
	rm_dir(dir);
}

static int is_private(const char *addr)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *res = NULL;
	ASSERT_EQ(getaddrinfo(addr, NULL, &hints, &res), 0);
	int p = fl__addr_is_private(res->ai_addr);
	freeaddrinfo(res);
	return p;
}

FL_TEST(svc_webhook_targets)
{
	const char *priv[] = {"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
	                      "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1",
	                      "::", "fd00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
	                      "64:ff9b::a00:1"};
	const char *pub[] = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2001:4860:4860::8888",
	                     "::ffff:8.8.8.8"};
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		ASSERT_MSG(is_private(priv[i]), "%s should be refused", priv[i]);
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
		ASSERT_MSG(!is_private(pub[i]), "%s should be allowed", pub[i]);

	/* Only http(s); a refused target is reported without retry. */
	char err[512];
	ASSERT_EQ(fl__webhook_post("file:///etc/passwd", "{}", 1, NULL, err, sizeof(err)), FL_EINVAL);
	ASSERT_STR_CONTAINS(err, "scheme");
	ASSERT_EQ(fl__webhook_post("gopher://127.0.0.1/", "{}", 1, NULL, err, sizeof(err)), FL_EINVAL);
	ASSERT_EQ(fl__webhook_post("not a url", "{}", 1, NULL, err, sizeof(err)), FL_EINVAL);
	ASSERT_EQ(fl__webhook_post("http://[::1]:9/x", "{}", 0, NULL, err, sizeof(err)), FL_EACCES);
	ASSERT_STR_CONTAINS(err, "::1");
	ASSERT_EQ(fl__webhook_post("http://169.254.169.254/latest/meta-data", "{}", 0, NULL, err, sizeof(err)),
	          FL_EACCES);
	/* Allowed but nobody listening: an error to retry. */
	struct listener l;
	listener_start(&l, 0);
	int port = l.port;
	listener_stop(&l);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	ASSERT_EQ(fl__webhook_post(url, "{}", 1, NULL, err, sizeof(err)), FL_EIO);
}
