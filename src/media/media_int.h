/*
** media_int.h -- internal helpers of the media module (FFmpeg wrapper).
*/
#ifndef FL_MEDIA_INT_H
#define FL_MEDIA_INT_H

#include "../base/base_int.h"

/* Route FFmpeg's av_log into fl_log (once per process). */
void fl__avlog_init(void);

/*
** An opened, probed and validated input (probe.c), shared by
** fl_video_probe() and the decoder.  fmt reads from pb, which we opened
** ourselves (AVFMT_FLAG_CUSTOM_IO: "file:" + path, so a ':' in a name is
** never taken for a protocol) and which fl__media_close() closes.
*/
struct AVFormatContext;
struct AVIOContext;
struct fl_media_limits;
struct fl_video_info;

struct fl__media_input {
	struct AVFormatContext *fmt;
	struct AVIOContext *pb;
	int stream; /* index of the video stream */
};

/* Open `path`, probe its format by content, find the video stream and check
** it against lim (never NULL here).  interrupt(opaque) != 0 aborts blocking
** I/O (may be NULL).  On failure in is zeroed and err holds a message. */
int fl__media_open(const char *path, const struct fl_media_limits *lim, int (*interrupt)(void *), void *opaque,
                   struct fl__media_input *in, struct fl_video_info *info, char *err, size_t err_size);
/* Close what fl__media_open opened; NULL-safe, safe on a zeroed struct. */
void fl__media_close(struct fl__media_input *in);

#endif
