/*
** avlog.c -- FFmpeg's log messages routed into fl_log(), so the library
** never writes to stderr behind the application's back (FFmpeg's default
** callback prints "Format jpeg_pipe detected only with low score" and the
** like for every bad file).  Installed once, from every entry point that
** opens media (fl__avlog_init), with pthread_once.  FFmpeg's levels map to
** ours: PANIC/FATAL/ERROR -> ERROR would be too loud for files we already
** report with our own message, so they become DEBUG unless
** FL_LOG_LEVEL=debug asks for them.
*/
#include "media_int.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void callback(void *avcl, int level, const char *fmt, va_list vl)
{
	if (level > AV_LOG_WARNING || fl_log_get_level() < FL_LOG_DEBUG)
		return;
	char line[1024];
	int print_prefix = 1;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	if (n)
		fl_log(FL_LOG_DEBUG, "ffmpeg: %s", line);
}

static void install(void)
{
	av_log_set_callback(callback);
}

void fl__avlog_init(void)
{
	pthread_once(&once, install);
}
