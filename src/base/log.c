/*
** log.c -- fl_log(): the library's only way to say something.  Messages go
** to a process-wide, thread-safe callback (default: stderr with a level
** prefix).  The level comes from fl_log_set_level() or $FL_LOG_LEVEL
** (error, warn, info, debug or 0..3).
*/
#include "base_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static fl_log_fn log_fn;
static void *log_opaque;
static atomic_int log_level = -1;

static const char *level_name[] = {"error", "warn", "info", "debug"};

static void log_stderr(void *opaque, int level, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "faceline: %s: %s\n", level_name[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

void fl_log_set_callback(fl_log_fn fn, void *opaque)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_opaque = opaque;
	pthread_mutex_unlock(&log_lock);
}

void fl_log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int fl_log_get_level(void)
{
	int l = atomic_load(&log_level);
	if (l >= 0)
		return l;
	l = FL_LOG_WARN;
	const char *e = getenv("FL_LOG_LEVEL");
	if (e && *e) {
		for (int i = 0; i < 4; i++)
			if (!strcasecmp(e, level_name[i]))
				l = i;
		if (*e >= '0' && *e <= '3')
			l = *e - '0';
	}
	atomic_store(&log_level, l);
	return l;
}

void fl_vlog(int level, const char *fmt, va_list ap)
{
	char msg[1024];
	if (level > fl_log_get_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&log_lock);
	fl_log_fn fn = log_fn ? log_fn : log_stderr;
	void *op = log_opaque;
	fn(op, level, msg);
	pthread_mutex_unlock(&log_lock);
}

void fl_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fl_vlog(level, fmt, ap);
	va_end(ap);
}
