/*
** render_int.h -- helpers shared by the writers of src/render: the
** temporary-file-then-rename discipline every output follows.
*/
#ifndef FL_RENDER_INT_H
#define FL_RENDER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "faceline/fl_render.h"

/* Longest path these helpers handle. */
#define FL__PATH_MAX 4096

/*
** Make a unique temporary name beside `path` ("<path>.tmp-XXXXXX"), create
** it (mode 0644 after umask) and return its fd; the name is written to tmp
** (FL__PATH_MAX bytes).  Returns the fd (>= 0) or FL_ENOENT / FL_EACCES /
** FL_ENOSPC / FL_EIO with a message naming the directory in err.
*/
int fl__out_tmp(const char *path, char *tmp, char *err, size_t err_size);

/* The same, opened as a stdio stream ("w"); NULL on failure (err set). */
FILE *fl__out_fopen(const char *path, char *tmp, char *err, size_t err_size);

/* fl__out_fopen returning the status: 0 and the stream in *f, or the
** error of fl__out_tmp (FL_ENOMEM when fdopen fails) with *f NULL. */
int fl__out_fopen_status(const char *path, char *tmp, FILE **f, char *err, size_t err_size);

/*
** Flush, fsync and close f (may be NULL), then rename tmp onto path.
** On any failure tmp is removed and FL_EIO / FL_ENOSPC returned with a
** message naming path.  `status` is the writer's own result: when it is
** nonzero the file is discarded (tmp removed) and status returned.
*/
int fl__out_commit(FILE *f, const char *tmp, const char *path, int status, char *err, size_t err_size);

/* fsync the file at tmp, then rename it onto path (for files written by
** libavformat); on failure remove tmp.  Same returns as fl__out_commit. */
int fl__out_commit_path(const char *tmp, const char *path, int status, char *err, size_t err_size);

/* Map an errno value to a status (ENOSPC -> FL_ENOSPC, EACCES/EPERM/EROFS
** -> FL_EACCES, ENOENT/ENOTDIR -> FL_ENOENT, else FL_EIO). */
int fl__errno_status(int e);

/*
** fl_result_load_json on a document in memory (`data`, `size` bytes,
** borrowed; no NUL needed); `name` (may be NULL) names it in messages.
** Same returns as fl_result_load_json.  The fuzz target's entry point.
*/
int fl__result_load_buffer(const char *data, size_t size, const char *name, struct fl_result **out, char *err,
                           size_t err_size);

/*
** Thumbnails of the report (report_thumb.c): a video opened for seeking,
** and JPEGs of square crops of its frames.
*/
struct fl__thumbs;

/* Open `video` (borrowed; must outlive the handle) and decode its first
** frame (time 0).  threads: decoder threads, 0 = all.  Errors as
** fl_video_probe (fl_media.h), message in err. */
int fl__thumbs_open(const char *video, int threads, struct fl__thumbs **out, char *err, size_t err_size);
/* The probed facts of the open video. */
const struct fl_video_info *fl__thumbs_info(const struct fl__thumbs *t);
/*
** The frame at `time` (seconds from the first frame, as in a result),
** cropped to the square around box ([x, y, w, h], displayed pixels)
** enlarged 1.6x, scaled to side x side (even), display rotation applied,
** as a JPEG: *jpeg (fl_malloc'd, caller frees) of *size bytes.
*/
int fl__thumbs_jpeg(struct fl__thumbs *t, double time, const float box[4], int side, uint8_t **jpeg, size_t *size,
                    char *err, size_t err_size);
void fl__thumbs_close(struct fl__thumbs *t); /* NULL-safe */

#endif /* FL_RENDER_INT_H */
