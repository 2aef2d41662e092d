/*
** render_video_int.h -- internals shared by the video writers of
** src/render (annotate.c, clips.c): the built-in bitmap font (font.c),
** drawing on YUV 4:2:0 planes (draw.c), the video reader and the H.264
** MP4 writer with audio pass-through (video.c), and the geometry of the
** overlays (where a track's box is at a time, the expression label, the
** crop window of a clip).
**
** Units: times are seconds from the first video frame (as in struct
** fl_result); pixels are those of the displayed (rotation-applied) frame;
** colours are limited-range BT.601 Y'CbCr triples.
*/
#ifndef FL_RENDER_VIDEO_INT_H
#define FL_RENDER_VIDEO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "faceline/fl_render.h"
#include "media/media_int.h"
#include "render_int.h"

struct AVCodecContext;
struct AVFormatContext;
struct AVFrame;
struct AVPacket;
struct AVStream;
struct SwsContext;

/* ------------------------------------------------------------------ font */

/* Glyph cell: 5x7 ink in a 6x8 cell (one column and one row of spacing). */
#define FL__FONT_W 5
#define FL__FONT_H 7
#define FL__FONT_ADV 6

/* The 7 rows of character c (bit 4 = leftmost column); characters outside
** 32..126 give '?'. */
const uint8_t *fl__font_glyph(int c);

/* ------------------------------------------------------------------ draw */

/* A writable planar YUV 4:2:0 picture (borrowed planes). */
struct fl__yuv {
	uint8_t *p[3];
	int stride[3];
	int w, h; /* luma size */
};

/* Y, Cb, Cr of an sRGB colour (BT.601, limited range). */
void fl__rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t yuv[3]);

/* Fill [x0, x1) x [y0, y1), clipped to the picture.  Chroma samples whose
** 2x2 luma block the rectangle touches take the colour too. */
void fl__draw_fill(struct fl__yuv *img, int x0, int y0, int x1, int y1, const uint8_t yuv[3]);

/* The outline of [x0, x1) x [y0, y1) drawn `th` pixels thick inwards. */
void fl__draw_rect(struct fl__yuv *img, int x0, int y0, int x1, int y1, int th, const uint8_t yuv[3]);

/* Text (ASCII) with its top-left at (x, y), each font pixel scale x scale. */
void fl__draw_text(struct fl__yuv *img, int x, int y, const char *s, int scale, const uint8_t yuv[3]);

/* Width and height in pixels of s drawn at scale. */
int fl__text_width(const char *s, int scale);
int fl__text_height(int scale);

/* -------------------------------------------------------------- geometry */

/* The drawing colour of a person (RGB; a fixed palette cycled by id). */
void fl__person_rgb(int person, uint8_t rgb[3]);

/* Seconds between analysed frames of r (1/params.fps, or one video frame
** when every frame was analysed). */
double fl__result_interval(const struct fl_result *r);

/*
** Where track tk is at time t: its box interpolated linearly between the
** detections either side of t.  A track is shown from its first detection
** to its last plus `hold` seconds; in a gap between two detections longer
** than max_gap it is shown `hold` seconds after the earlier one only.
** Returns 1 and fills box (x, y, w, h) and *det (index of the detection at
** or before t) when shown, else 0.
*/
int fl__track_box_at(const struct fl_result_track *tk, double t, double hold, double max_gap, float box[4],
                     int *det);

/*
** Each detection's smoothed expression label, as in the result's person
** summaries: the probabilities averaged over +-FL_RESULT_SMOOTH_S seconds of
** the track, the class reaching FL_RESULT_EXPRESSION_MIN, else
** FL_RESULT_UNCERTAIN.  labels has tk->n_detections entries.
*/
void fl__track_labels(const struct fl_result_track *tk, int *labels);

/*
** The crop window of a clip of person pe on segment [t0, t1] at time t: a
** square of side *side (constant over the segment: ~2.75x the median face
** size, even, at most the frame's shorter side) whose centre follows the
** person's face (interpolated between detections, averaged over +-0.5 s)
** and is clamped inside the w x h frame.  *x, *y: top-left, even.
*/
struct fl__crop {
	const struct fl_result *r;
	const struct fl_result_person *pe;
	double t0, t1;
	int w, h;
	int side;
	double step; /* seconds between the samples of the moving average */
};
int fl__crop_init(struct fl__crop *c, const struct fl_result *r, const struct fl_result_person *pe, double t0,
                  double t1, int w, int h);
void fl__crop_at(const struct fl__crop *c, double t, int *x, int *y);

/* ------------------------------------------------------------ video I/O */

/*
** A video being read: its decoder, converted frames (planar YUV 4:2:0 in
** the displayed orientation, even sizes), and the audio packets to pass
** through.  fl__vin_read() returns one of:
*/
enum {
	FL__VIN_VIDEO = 1, /* *frame: a decoded picture (owned by vin, valid until the next read) */
	FL__VIN_AUDIO = 2, /* *pkt: an audio packet of a stream kept for output (owned by vin) */
};
struct fl__vin {
	struct fl__media_input in;
	struct fl_video_info info;
	const char *path;         /* borrowed */
	volatile int *cancel;     /* borrowed, may be NULL */
	struct AVCodecContext *dec;
	struct AVPacket *pkt;
	struct AVFrame *fr;       /* as decoded */
	struct AVFrame *out;      /* converted: yuv420p, w x h */
	struct AVFrame *tmp;      /* coded orientation before rotation */
	struct SwsContext *sws;
	int w, h;                 /* output size: displayed size rounded down to even */
	double tb;                /* video time base, seconds */
	int have_first;
	int64_t first_pts;        /* pts of the first frame (t = 0) */
	int64_t last_pts;
	int64_t n_decoded;
	int sent_eof, eof;
	int n_audio;
	int audio[8];             /* indices of the audio streams kept */
	/* Of the frame last returned: */
	double t;                 /* seconds from the first frame */
	int64_t pts;              /* in the video time base (monotonic) */
};

int fl__vin_open(struct fl__vin *v, const char *path, int threads, volatile int *cancel, char *err,
                 size_t err_size);
void fl__vin_close(struct fl__vin *v);
/* Next video frame or audio packet: FL__VIN_VIDEO, FL__VIN_AUDIO, FL_EOF,
** FL_ECANCELED or an error (message in err). */
int fl__vin_read(struct fl__vin *v, struct AVFrame **frame, struct AVPacket **pkt, char *err, size_t err_size);
/* Seek so that the next frames are those from time t on (a keyframe at or
** before t is decoded from; earlier frames come out too and the caller
** skips them).  Needs the first frame already read (first_pts known). */
int fl__vin_seek(struct fl__vin *v, double t, char *err, size_t err_size);

/* FL_EINVAL (message naming the video) unless v is the video r was made
** from: same displayed size, duration within a second. */
int fl__vin_check_result(const struct fl__vin *v, const struct fl_result *r, char *err, size_t err_size);

/*
** Audio re-encoded to AAC (audio.c), for sources whose audio codec MP4
** cannot hold.  fl__atrans_open adds the AAC stream to ofmt (before its
** header is written); fl__atrans_packet decodes one packet of ist (pts/dts
** minus offset, in ist's time base), encodes and writes what is ready;
** pkt NULL flushes everything.
*/
struct fl__atrans;
int fl__atrans_open(struct fl__atrans **out, const struct AVStream *ist, struct AVFormatContext *ofmt,
                    const char *path, char *err, size_t err_size);
int fl__atrans_packet(struct fl__atrans *a, struct AVFormatContext *ofmt, const struct AVPacket *pkt,
                      int64_t offset, const char *path, char *err, size_t err_size);
void fl__atrans_free(struct fl__atrans *a);
/* Keep only the samples between lo and hi (ist's time base, after the
** offset): a clip's audio cut to the sample. */
void fl__atrans_range(struct fl__atrans *a, int64_t lo, int64_t hi);

/*
** An MP4 being written under a temporary name: one H.264 (libx264,
** yuv420p) video stream of w x h in the source's video time base, and a
** copy of each audio stream kept by vin (re-encoded to AAC when MP4 cannot
** hold its codec).
*/
struct fl__vout {
	struct AVFormatContext *fmt;
	struct AVCodecContext *enc;
	struct AVPacket *pkt;
	const struct fl__vin *vin;
	int vstream;
	int astream[8];           /* output index of vin->audio[i] (copied), -1 if none */
	struct fl__atrans *atrans[8]; /* or its AAC re-encoder */
	int64_t frame_dur;        /* one frame in the encoder's time base */
	AVRational in_tb;         /* the source video's time base */
	int64_t last_pts;
	const char *path;         /* borrowed */
	char tmp[FL__PATH_MAX];
	int header;
};

int fl__vout_open(struct fl__vout *o, const char *path, const struct fl__vin *vin, int w, int h, int crf,
                  int threads, char *err, size_t err_size);
/* Encode f (pts in the source video's time base; rewritten to the
** encoder's) and write what comes out. */
int fl__vout_video(struct fl__vout *o, struct AVFrame *f, char *err, size_t err_size);
/* Write audio packet pkt of vin's stream (pts/dts in its time base, minus
** `offset` in that time base); pkt is left untouched. */
int fl__vout_audio(struct fl__vout *o, const struct AVPacket *pkt, int64_t offset, char *err, size_t err_size);
/* status == 0: flush the encoder, write the trailer, close and rename into
** place; else (or on any failure) remove the temporary file.  Frees
** everything.  Returns the final status. */
int fl__vout_finish(struct fl__vout *o, int status, char *err, size_t err_size);

/* Resolve and check options (o NULL = defaults; crf 0 = 23, threads 0 =
** fl_cpu_count()); `what` names the output in the message. */
int fl__video_opts(const struct fl_render_opts *o, struct fl_render_opts *out, const char *what, char *err,
                   size_t err_size);

/* A status for a libav error code (errno-based ones mapped like files). */
int fl__av_status(int averr);

#endif /* FL_RENDER_VIDEO_INT_H */
