/*
** fl_media.h -- reading videos: probe and validate a file, then decode it on
** a thread of its own into refcounted RGB frames sampled at an analysis rate.
**
** This header holds three things:
**   - fl_video_probe(): opens a file with libavformat, picks its video
**     stream, checks that a decoder exists and that the dimensions and the
**     duration are within struct fl_media_limits, and describes the stream
**     in struct fl_video_info (displayed size, rotation, frame rate, ...);
**   - struct fl_frame: one decoded picture, packed RGB24 with the rotation
**     of the file's display matrix already applied, refcounted so several
**     stages can hold it without copies;
**   - struct fl_decoder: a decode thread (libavcodec with its own threads)
**     feeding a bounded queue of frames sampled by time at `fps` frames per
**     second.  The consumer pulls with fl_decoder_receive(), which speaks
**     the same language as avcodec_receive_frame: 0 and a frame, FL_EOF at
**     the end, a negative error otherwise.
**
** Times are seconds as doubles, counted from the first video frame: a
** stream that starts at t = 10 s in its container gives t = 0 for its first
** frame.  They come from each frame's presentation timestamp (best effort)
** converted with the stream's time base, so variable-frame-rate files give
** true times.  Sizes are pixels of the *displayed* picture (rotation
** applied) unless a name says "coded".
**
** Errors: every call that opens a file writes, when err is not NULL, a
** message naming the file and what was wrong (truncated to err_size).  The
** codes are those of fl_base.h: FL_ENOENT / FL_EACCES (the file cannot be
** opened), FL_EDECODE (empty, or not a media file FFmpeg recognises),
** FL_ECORRUPT (a recognised container that is damaged, e.g. an MP4 cut
** before its index), FL_EUNSUPPORTED (no video stream, or no decoder for
** it), FL_ERANGE (dimensions or duration outside the limits), FL_ENOMEM.
*/
#ifndef FL_MEDIA_H
#define FL_MEDIA_H

#include "fl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ probe */

/* What fl_video_probe() learnt about a file's video stream. */
struct fl_video_info {
	char format[32];             /* container, FFmpeg's short name ("mov,mp4,m4a,3gp,3g2,mj2" cut to fit) */
	char codec[32];              /* video codec ("h264", "vp9", ...) */
	int width, height;           /* displayed size in pixels: rotation applied */
	int coded_width, coded_height; /* size as stored in the stream */
	int rotation;                /* clockwise degrees to display: 0, 90, 180 or 270 */
	double duration;             /* seconds; 0 when the container does not say */
	double start_time;           /* seconds; the container time of the stream's start (often 0) */
	double fps;                  /* average frame rate (frames/s); 0 when unknown */
	int64_t n_frames;            /* frame count: from the container or duration*fps (an estimate) */
	int64_t file_size;           /* bytes */
	int has_audio;               /* 1 when the file also holds an audio stream */
	int stream_index;            /* index of the chosen video stream in the container */
};

/* Accepted input.  A file outside these is refused with FL_ERANGE before any
** frame is decoded (a header claiming 60000x60000 allocates nothing). */
struct fl_media_limits {
	int max_width, max_height; /* displayed size, pixels */
	int min_width, min_height;
	double max_duration; /* seconds; <= 0 = no limit */
};

/* Defaults: 8192x8192 down to 32x32, at most 24 hours. */
struct fl_media_limits fl_media_default_limits(void);

/*
** Probe and validate the video file at `path` (borrowed).  lim may be NULL
** for the defaults.  On success fills *info and returns 0; on failure *info
** is zeroed, a message is written to err (may be NULL) and the code is one
** of those listed at the top of this header.  Reads the container's header
** and a few packets (avformat_find_stream_info), never the whole file.
*/
int fl_video_probe(const char *path, const struct fl_media_limits *lim, struct fl_video_info *info, char *err,
                   size_t err_size);

/* ------------------------------------------------------------------ frames */

/*
** A decoded picture: packed RGB24 (R, G, B bytes), rows top to bottom, row
** y at data + y*stride (stride >= 3*width, a multiple of 64; data is
** 64-byte aligned).  The struct and its pixels are one allocation owned by
** the references: fl_frame_ref() adds one, fl_frame_unref() drops one and
** frees the frame at zero.  Reference counting is atomic, so references
** may be dropped on any thread.  A frame received from a decoder is
** read-only: other holders may be reading it at the same time (copy it
** before writing).
*/
struct fl_frame {
	int refcount; /* atomic (GCC __atomic builtins); use ref/unref, never write it */
	int width, height; /* displayed size (rotation applied; after max_side) */
	int stride;        /* bytes per row */
	uint8_t *data;
	double t;          /* seconds from the first video frame (from pts) */
	int64_t index;     /* 0-based number of this frame among all decoded frames */
	int64_t pts;       /* the raw best-effort timestamp in the stream's time base */
};

/* Allocate a width x height frame with refcount 1 and uninitialised
** pixels.  Returns NULL for sizes <= 0, absurd sizes or out of memory. */
struct fl_frame *fl_frame_alloc(int width, int height);
/* Add a reference; returns f (NULL-safe). */
struct fl_frame *fl_frame_ref(struct fl_frame *f);
/* Drop a reference; the last one frees the frame.  NULL-safe. */
void fl_frame_unref(struct fl_frame *f);
/* Drop the reference held in *pf and set *pf to NULL (NULL-safe). */
void fl_frame_unrefp(struct fl_frame **pf);

/* ---------------------------------------------------------------- decoder */

struct fl_decoder_params {
	/* Analysis rate, frames per second: the decoder delivers the first
	** frame whose time is >= each multiple of 1/fps (time-based, so VFR
	** files are sampled evenly).  <= 0 delivers every frame.  Default 5.
	** Sampling does not save decoding time: H.264 frames depend on each
	** other, every frame is decoded and the unsampled ones are dropped. */
	double fps;
	/* Bound of the frame queue between the decode thread and the consumer
	** (the decode thread waits when it is full).  Default 8, minimum 1. */
	int queue_frames;
	/* libavcodec threads; 0 = fl_cpu_count().  Default 0. */
	int threads;
	/* If > 0, frames whose longer displayed side exceeds max_side are scaled
	** down (aspect kept) to that side.  0 = full size (default). */
	int max_side;
	struct fl_media_limits limits;
	/* If nonzero and fps > 0, libavcodec may skip a non-reference frame
	** (AVDISCARD_NONREF) that lies before the next sampling instant: the
	** sampled frames, their times and frame numbers are exactly those
	** without skipping (numbers are counted from the packets), for ~1/3
	** less decoding time on x264 files with B-frames.  frames_decoded then
	** counts the skipped frames too.  Default 0. */
	int skip_nonref;
};

/* The defaults above. */
struct fl_decoder_params fl_decoder_default_params(void);

/* Counters of a decoder, updated by the decode thread as it goes. */
struct fl_decoder_stats {
	int64_t frames_decoded;   /* frames out of libavcodec, plus those skip_nonref skipped */
	int64_t frames_delivered; /* frames put on the queue */
	int64_t frames_dropped;   /* decoded frames skipped by sampling */
	int64_t frames_corrupt;   /* packets refused by the decoder plus frames flagged damaged */
	int64_t bytes_read;       /* position reached in the file, bytes */
	int64_t frames_missing;   /* the container promised about this many frames after the last one
	                          ** decoded: a file cut short (0 when it ends where it says) */
	int64_t frames_skipped;   /* frames libavcodec skipped (skip_nonref), never decoded */
};

struct fl_decoder;

/*
** Probe `path` (borrowed) as fl_video_probe() does with p->limits, open its
** decoder and start the decode thread.  p may be NULL for the defaults.  On
** success *out owns a decoder (fl_decoder_close) and 0 is returned; on
** failure *out is NULL, err holds a message and the code is one of those at
** the top of this header (or FL_EINVAL for bad params, FL_EAGAIN if no
** thread could be started).
*/
int fl_decoder_open(const char *path, const struct fl_decoder_params *p, struct fl_decoder **out, char *err,
                    size_t err_size);

/*
** Wait for the next sampled frame.  Returns 0 with *out holding one
** reference owned by the caller (release with fl_frame_unref), or with *out
** NULL: FL_EOF after the last frame; FL_ECANCELED after fl_decoder_cancel();
** another negative code when decoding failed for good (fl_decoder_errmsg
** says why; frames queued before the failure are delivered first).  A
** damaged frame in the middle is not a failure: it is skipped or concealed
** by libavcodec and counted in stats.frames_corrupt.  Call from one thread.
*/
int fl_decoder_receive(struct fl_decoder *d, struct fl_frame **out);

/* Ask the decode thread to stop.  Any thread may call it; a receive that
** is waiting returns FL_ECANCELED at once, later ones too. */
void fl_decoder_cancel(struct fl_decoder *d);

/* Stop and join the decode thread, drop the frames still queued and free
** the decoder.  Frames the caller received stay valid.  NULL-safe. */
void fl_decoder_close(struct fl_decoder *d);

/* The probe result of the open file (owned by the decoder). */
const struct fl_video_info *fl_decoder_info(const struct fl_decoder *d);

/* A consistent snapshot of the counters into *st. */
void fl_decoder_stats(struct fl_decoder *d, struct fl_decoder_stats *st);

/* The message of the last error or warning, "" when none (owned by the
** decoder, valid until the next receive or close). */
const char *fl_decoder_errmsg(struct fl_decoder *d);

#ifdef __cplusplus
}
#endif
#endif /* FL_MEDIA_H */
