/*
** status.c -- fl_strerror() and fl_status_name(), generated from the one
** status table FL_ERRNO_MAP in fl_base.h, and the library version.
*/
#include "base_int.h"

#include <stdio.h>

const char *fl_strerror(int status)
{
	static __thread char buf[48];
	if (status >= 0)
		return "success";
	switch (status) {
#define FL__X(name, val, msg)                                                 \
	case FL_##name:                                                           \
		return msg;
		FL_ERRNO_MAP(FL__X)
#undef FL__X
	default:
		snprintf(buf, sizeof(buf), "unknown error %d", status);
		return buf;
	}
}

const char *fl_status_name(int status)
{
	if (status >= 0)
		return "FL_OK";
	switch (status) {
#define FL__X(name, val, msg)                                                 \
	case FL_##name:                                                           \
		return "FL_" #name;
		FL_ERRNO_MAP(FL__X)
#undef FL__X
	default:
		return "FL_UNKNOWN";
	}
}

const char *fl_version(void)
{
	return "0.1.0";
}

void fl__errf(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}
