/*
** http_thumb.c -- GET /v1/jobs/{id}/thumbnail/{person}: a person's face as
** a JPEG, cut from the job's video at the person's thumbnail detection
** (result "persons[].thumbnail": t and box) by the HTML report's thumbnail
** code (src/render/report_thumb.c).  The first answer is cached beside the
** result as DIR/results/<id>.person-<n>.jpg (temporary file + rename), so
** the dashboard's later requests read a file.
*/
#define _GNU_SOURCE
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faceline/fl_base.h"
#include "render/render_int.h"

#define FL__THUMB_SIDE 160

static enum MHD_Result reply_jpeg_fd(struct MHD_Connection *c, struct fl__req *rq, int fd, uint64_t size)
{
	struct MHD_Response *r = MHD_create_response_from_fd(size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "image/jpeg");
	MHD_add_response_header(r, "Cache-Control", "private, max-age=3600");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = fl__http_queue(c, rq, 200, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result fl__http_thumbnail(struct MHD_Connection *c, struct fl__req *rq, const struct fl_job *j,
                                   const char *person)
{
	char *end;
	errno = 0;
	long pid = strtol(person, &end, 10);
	if (end == person || *end || errno || pid < 1 || pid > 1000000)
		return fl__http_error(c, rq, 404, "no_such_person", "no person \"%.32s\" (ids are 1, 2, ...)", person);
	if (j->state != FL_JOB_SUCCEEDED || !j->result)
		return fl__http_error(c, rq, 409, "not_ready", "job %s is %s; thumbnails come with its result", j->id,
		                      fl_job_state_name(j->state));

	char cache[FL__HTTP_PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/results/%s.person-%ld.jpg", rq->srv->data_dir, j->id, pid);
	int fd = open(cache, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0)
		return reply_jpeg_fd(c, rq, fd, (uint64_t)sb.st_size);
	if (fd >= 0)
		close(fd);

	/* The person's thumbnail detection, from the result. */
	json_error_t je;
	json_t *doc = json_load_file(j->result, 0, &je);
	if (!doc)
		return fl__http_error(c, rq, 500, "result_damaged", "the result of job %s cannot be parsed: %s", j->id,
		                      je.text);
	json_t *persons = json_object_get(doc, "persons"), *thumb = NULL;
	for (size_t i = 0; i < json_array_size(persons); i++) {
		json_t *p = json_array_get(persons, i);
		if (json_integer_value(json_object_get(p, "id")) == pid)
			thumb = json_object_get(p, "thumbnail");
	}
	json_t *box = json_object_get(thumb, "box");
	if (!thumb || json_array_size(box) != 4) {
		json_decref(doc);
		return fl__http_error(c, rq, 404, "no_such_person", "job %s has no person %ld", j->id, pid);
	}
	double t = json_number_value(json_object_get(thumb, "t"));
	float b[4];
	for (int k = 0; k < 4; k++)
		b[k] = (float)json_number_value(json_array_get(box, k));
	json_decref(doc);

	char err[512];
	struct fl__thumbs *th = NULL;
	uint8_t *jpeg = NULL;
	size_t size = 0;
	int rc = fl__thumbs_open(j->video, 1, &th, err, sizeof(err));
	if (rc == 0)
		rc = fl__thumbs_jpeg(th, t, b, FL__THUMB_SIDE, &jpeg, &size, err, sizeof(err));
	fl__thumbs_close(th);
	if (rc < 0)
		return fl__http_error(c, rq, rc == FL_ENOENT ? 410 : 500, "thumbnail",
		                      "cannot cut the thumbnail of person %ld from the video: %s", pid, fl_strerror(rc));

	/* Cache it (best effort: a failure only costs the next request a decode). */
	char tmp[FL__HTTP_PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", cache);
	int tfd = mkostemp(tmp, O_CLOEXEC);
	if (tfd >= 0) {
		ssize_t w = write(tfd, jpeg, size);
		int ok = w == (ssize_t)size && fsync(tfd) == 0;
		close(tfd);
		if (!ok || rename(tmp, cache) != 0)
			unlink(tmp);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(size, jpeg, MHD_RESPMEM_MUST_COPY);
	fl_free(jpeg);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "image/jpeg");
	MHD_add_response_header(r, "Cache-Control", "private, max-age=3600");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = fl__http_queue(c, rq, 200, r);
	MHD_destroy_response(r);
	return ret;
}
