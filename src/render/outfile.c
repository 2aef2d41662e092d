/*
** outfile.c -- write to "<path>.tmp-XXXXXX", fsync, rename: no output is
** ever seen half-written under its final name.
*/
#include "render_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faceline/fl_base.h"

int fl__errno_status(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return FL_ENOSPC;
	case EACCES:
	case EPERM:
	case EROFS:
		return FL_EACCES;
	case ENOENT:
	case ENOTDIR:
		return FL_ENOENT;
	case ENOMEM:
		return FL_ENOMEM;
	default:
		return FL_EIO;
	}
}

int fl__out_tmp(const char *path, char *tmp, char *err, size_t err_size)
{
	if (!path || !*path) {
		if (err)
			snprintf(err, err_size, "no output path given");
		return FL_EINVAL;
	}
	if (snprintf(tmp, FL__PATH_MAX, "%s.tmp-XXXXXX", path) >= FL__PATH_MAX) {
		if (err)
			snprintf(err, err_size, "%s: path too long", path);
		return FL_EINVAL;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		if (err)
			snprintf(err, err_size, "%s: cannot create the output file: %s", path, strerror(e));
		tmp[0] = 0;
		return fl__errno_status(e);
	}
	/* mkstemp makes 0600; outputs are ordinary files. */
	mode_t um = umask(0);
	umask(um);
	(void)fchmod(fd, 0666 & ~um);
	return fd;
}

FILE *fl__out_fopen(const char *path, char *tmp, char *err, size_t err_size)
{
	int fd = fl__out_tmp(path, tmp, err, err_size);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(tmp);
		if (err)
			snprintf(err, err_size, "%s: %s", path, strerror(e));
		return NULL;
	}
	return f;
}

int fl__out_fopen_status(const char *path, char *tmp, FILE **f, char *err, size_t err_size)
{
	*f = NULL;
	int fd = fl__out_tmp(path, tmp, err, err_size);
	if (fd < 0)
		return fd;
	if (!(*f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		unlink(tmp);
		if (err)
			snprintf(err, err_size, "%s: %s", path, strerror(e));
		return fl__errno_status(e);
	}
	return 0;
}

/* Rename tmp onto path; first fsync it when nobody did (need_sync). */
static int sync_rename(const char *tmp, const char *path, int need_sync, char *err, size_t err_size)
{
	int fd = need_sync ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
	if (need_sync && (fd < 0 || fsync(fd) != 0)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		if (err)
			snprintf(err, err_size, "%s: cannot write the output file: %s", path, strerror(e));
		return fl__errno_status(e);
	}
	if (fd >= 0)
		close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		if (err)
			snprintf(err, err_size, "%s: cannot rename the finished output into place: %s", path,
			         strerror(e));
		return fl__errno_status(e);
	}
	return 0;
}

int fl__out_commit(FILE *f, const char *tmp, const char *path, int status, char *err, size_t err_size)
{
	if (f) {
		int bad = ferror(f) != 0;
		int e = bad ? (errno ? errno : EIO) : 0;
		if (fflush(f) != 0 && !bad) {
			bad = 1;
			e = errno;
		}
		if (!bad && fsync(fileno(f)) != 0) {
			bad = 1;
			e = errno;
		}
		if (fclose(f) != 0 && !bad) {
			bad = 1;
			e = errno;
		}
		if (bad && status == 0) {
			if (err)
				snprintf(err, err_size, "%s: write failed: %s", path, strerror(e));
			status = fl__errno_status(e);
		}
	}
	if (status != 0) {
		if (tmp && tmp[0])
			unlink(tmp);
		return status;
	}
	/* The stream was fsync'd above: no second open and fsync. */
	return sync_rename(tmp, path, f == NULL, err, err_size);
}

int fl__out_commit_path(const char *tmp, const char *path, int status, char *err, size_t err_size)
{
	if (status != 0) {
		if (tmp && tmp[0])
			unlink(tmp);
		return status;
	}
	return sync_rename(tmp, path, 1, err, err_size);
}
