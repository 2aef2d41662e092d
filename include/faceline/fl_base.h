/*
** fl_base.h -- status codes, logging and the allocation hook of libfaceline.
**
** Every function in libfaceline returns an int: 0 on success, a positive
** documented count where one is useful, and a negative error code otherwise.
** Error codes are negative errno values where one fits (FL_ENOMEM is
** -ENOMEM, FL_EAGAIN is -EAGAIN, so FFmpeg's AVERROR(EAGAIN) passes through
** unchanged) plus project codes below -1000.  fl_strerror() names each one.
**
** Logging goes through fl_log(); nothing under src/ prints.  The callback
** is process-wide and must be thread-safe; the default writes to stderr.
**
** Allocation goes through fl_malloc()/fl_free() so tests can make the Nth
** allocation fail (fault injection, like SQLite's faultsim).
*/
#ifndef FL_BASE_H
#define FL_BASE_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
** The status table: X(NAME, value, message).  Append only; values never
** change once released.
*/
#define FL_ERRNO_MAP(X)                                                       \
	X(ENOMEM, -ENOMEM, "out of memory")                                       \
	X(EINVAL, -EINVAL, "invalid argument")                                    \
	X(ENOENT, -ENOENT, "no such file or directory")                           \
	X(EIO, -EIO, "input/output error")                                        \
	X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                    \
	X(ERANGE, -ERANGE, "value out of range")                                  \
	X(EACCES, -EACCES, "permission denied")                                   \
	X(EUNSUPPORTED, -1001, "unsupported feature")                             \
	X(ECORRUPT, -1002, "corrupt or malformed data")                           \
	X(EDECODE, -1003, "decoding failed")                                      \
	X(ESHAPE, -1004, "tensor shape mismatch")                                 \
	X(EDTYPE, -1005, "unsupported or mismatched data type")                   \
	X(ETRUNCATED, -1006, "file is truncated")                                 \
	X(ECHECKSUM, -1007, "checksum mismatch")                                  \
	X(EOF, -1008, "end of stream")                                            \
	X(ECANCELED, -1009, "operation canceled")                                 \
	X(EINTERNAL, -1010, "internal error")                                     \
	X(ENOSPC, -ENOSPC, "no space left on device")                             \
	X(EEXIST, -EEXIST, "already exists")                                      \
	X(EBUSY, -EBUSY, "busy")

enum fl_status {
	FL_OK = 0,
#define FL__X(name, val, msg) FL_##name = (val),
	FL_ERRNO_MAP(FL__X)
#undef FL__X
};

/* A static, human readable message for a status code ("unknown error N"
** for codes outside the table; the buffer for those is thread-local). */
const char *fl_strerror(int status);

/* The symbolic name of a status code ("FL_ECORRUPT"), or "FL_UNKNOWN". */
const char *fl_status_name(int status);

/* ---------------------------------------------------------------- logging */

enum fl_log_level {
	FL_LOG_ERROR = 0,
	FL_LOG_WARN = 1,
	FL_LOG_INFO = 2,
	FL_LOG_DEBUG = 3,
};

/* Called for each message at or below the current level.  Must be
** thread-safe.  msg is borrowed for the call and has no trailing newline. */
typedef void (*fl_log_fn)(void *opaque, int level, const char *msg);

/* Set the callback (NULL restores the stderr default) and its opaque. */
void fl_log_set_callback(fl_log_fn fn, void *opaque);
/* Set the maximum level logged (default FL_LOG_WARN, or $FL_LOG_LEVEL). */
void fl_log_set_level(int level);
int fl_log_get_level(void);
void fl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_vlog(int level, const char *fmt, va_list ap);

/* ------------------------------------------------------------- allocation */

/* All library allocations.  fl_malloc(0) returns a unique pointer.
** fl_free(NULL) is a no-op.  fl_aligned_alloc aligns to `align` (a power of
** two >= sizeof(void*)) and must be released with fl_free as well. */
void *fl_malloc(size_t n);
void *fl_calloc(size_t n, size_t size);
void *fl_realloc(void *p, size_t n);
void *fl_aligned_alloc(size_t align, size_t n);
void fl_free(void *p);
char *fl_strdup(const char *s);

/* Fault injection for tests: the nth allocation from now (1-based) and, if
** `repeat`, every later one fails.  n == 0 turns failures off.  Returns the
** number of allocations that were failed since the last call. */
int fl_alloc_fail_after(int n, int repeat);
/* Number of live allocations made through fl_* (for leak checks in tests). */
long fl_alloc_live(void);

/* ------------------------------------------------------------------- misc */

/* Number of CPU cores this process may run on (sched_getaffinity and the
** cgroup CPU quota), at least 1.  Overridden by $FL_THREADS. */
int fl_cpu_count(void);

/* The kernel family in use: "ref", "avx2" or "avx512".  Chosen once from
** CPUID; $FL_CPU=ref|avx2|avx512 forces a lower one (never a higher one
** than the CPU supports). */
const char *fl_cpu_isa_name(void);

/* libfaceline's version, "MAJOR.MINOR.PATCH". */
const char *fl_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FL_BASE_H */
