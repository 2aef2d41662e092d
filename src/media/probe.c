/*
** probe.c -- opening a video file and validating it before any decoding:
** fl_video_probe(), fl_media_default_limits() and the shared opener
** fl__media_open() that the decoder uses too.
**
** The container format is detected from the file's content only (the name
** is not a hint), so a text file named x.mp4 is "not a media file" rather
** than "a broken MP4", while a real MP4 cut before its index (the moov
** atom, which FFmpeg writes at the end unless -movflags +faststart) is
** recognised as MP4 and reported as damaged.  The file is opened through
** our own AVIOContext on "file:" + path, so names containing ':' or
** non-ASCII bytes are taken literally.  Limits are checked from the
** stream's parameters, before a single frame is decoded; the probing
** decode of avformat_find_stream_info() is bounded by max_pixels as well.
*/
#include "media_int.h"
#include "faceline/fl_media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

struct fl_media_limits fl_media_default_limits(void)
{
	struct fl_media_limits l = {
		.max_width = 8192,
		.max_height = 8192,
		.min_width = 32,
		.min_height = 32,
		.max_duration = 24 * 3600.0,
	};
	return l;
}

/* Clockwise display rotation (0/90/180/270) from the stream's display
** matrix.  av_display_rotation_get() gives the counter-clockwise angle. */
static int stream_rotation(const AVStream *st)
{
	const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
	if (!m)
		return 0;
	double ccw = av_display_rotation_get((const int32_t *)m);
	if (isnan(ccw))
		return 0;
	long r = lround(-ccw / 90.0) * 90;
	r %= 360;
	if (r < 0)
		r += 360;
	return (int)r;
}

/* 1 when the first bytes of the file look like text (for a clearer message
** than "no video stream" when a text format such as SRT was detected). */
static int looks_like_text(AVIOContext *pb)
{
	unsigned char buf[512];
	if (avio_seek(pb, 0, SEEK_SET) < 0)
		return 0;
	int n = avio_read(pb, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (buf[i] < 0x09 || (buf[i] > 0x0d && buf[i] < 0x20 && buf[i] != 0x1b))
			return 0;
	return 1;
}

/* The best video stream that is not cover art, or -1. */
static int find_video_stream(AVFormatContext *fmt)
{
	int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (si >= 0 && !(fmt->streams[si]->disposition & AV_DISPOSITION_ATTACHED_PIC))
		return si;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVStream *st = fmt->streams[i];
		if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			return (int)i;
	}
	return -1;
}

void fl__media_close(struct fl__media_input *in)
{
	if (!in)
		return;
	avformat_close_input(&in->fmt); /* does not close a custom pb */
	avio_closep(&in->pb);
	in->stream = -1;
}

int fl__media_open(const char *path, const struct fl_media_limits *lim, int (*interrupt)(void *), void *opaque,
                   struct fl__media_input *in, struct fl_video_info *info, char *err, size_t err_size)
{
	AVIOInterruptCB cb = {interrupt, opaque};
	const AVInputFormat *ifmt = NULL;
	char *url = NULL;
	struct stat sb;
	int r, ret;

	memset(in, 0, sizeof(*in));
	memset(info, 0, sizeof(*info));
	in->stream = -1;
	fl__avlog_init();
	if (!path) {
		fl__errf(err, err_size, "video path is NULL");
		return FL_EINVAL;
	}
	if (stat(path, &sb) != 0) {
		ret = errno == ENOENT || errno == ENOTDIR ? FL_ENOENT : errno == EACCES ? FL_EACCES : FL_EIO;
		fl__errf(err, err_size, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!S_ISREG(sb.st_mode)) {
		fl__errf(err, err_size, "%s: not a regular file", path);
		return FL_EDECODE;
	}
	if (sb.st_size == 0) {
		fl__errf(err, err_size, "%s: empty file (0 bytes), not a video", path);
		return FL_EDECODE;
	}
	info->file_size = (int64_t)sb.st_size;

	size_t n_url = strlen(path) + 6;
	url = fl_malloc(n_url);
	if (!url)
		goto nomem;
	snprintf(url, n_url, "file:%s", path);
	r = avio_open2(&in->pb, url, AVIO_FLAG_READ, &cb, NULL);
	if (r < 0) {
		ret = r == AVERROR(EACCES) ? FL_EACCES : r == AVERROR(ENOENT) ? FL_ENOENT : FL_EIO;
		fl__errf(err, err_size, "%s: cannot open: %s", path, av_err2str(r));
		goto fail;
	}

	/* Detect the format by content: an empty name gives no extension hint. */
	r = av_probe_input_buffer2(in->pb, &ifmt, "", NULL, 0, 0);
	if (r < 0 || !ifmt) {
		fl__errf(err, err_size, "%s: not a video file (no container format recognised in its content)", path);
		ret = FL_EDECODE;
		goto fail;
	}
	in->fmt = avformat_alloc_context();
	if (!in->fmt)
		goto nomem;
	in->fmt->pb = in->pb;
	in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	in->fmt->interrupt_callback = cb;
	r = avformat_open_input(&in->fmt, path, ifmt, NULL); /* frees fmt on failure */
	if (r < 0) {
		if (r == AVERROR_EXIT) {
			fl__errf(err, err_size, "%s: opening was canceled", path);
			ret = FL_ECANCELED;
		} else if (strstr(ifmt->name, "mp4")) {
			fl__errf(err, err_size,
			         "%s: damaged MP4/MOV file: its index (moov atom) is missing or unreadable -- the file is "
			         "truncated or was never finished (%s)",
			         path, av_err2str(r));
			ret = FL_ECORRUPT;
		} else {
			fl__errf(err, err_size, "%s: damaged %s file: %s", path, ifmt->name, av_err2str(r));
			ret = FL_ECORRUPT;
		}
		goto fail;
	}

	/* find_stream_info may decode a frame: bound its size by the limits. */
	char max_px[32];
	snprintf(max_px, sizeof(max_px), "%lld", (long long)lim->max_width * lim->max_height);
	AVDictionary *opts[32] = {NULL};
	unsigned n_opts = FL_MIN(in->fmt->nb_streams, 32u);
	for (unsigned i = 0; i < n_opts; i++)
		av_dict_set(&opts[i], "max_pixels", max_px, 0);
	r = in->fmt->nb_streams <= 32 ? avformat_find_stream_info(in->fmt, opts) : AVERROR_INVALIDDATA;
	for (unsigned i = 0; i < n_opts; i++)
		av_dict_free(&opts[i]);
	if (r < 0) {
		fl__errf(err, err_size, "%s: damaged %s file: cannot read its streams (%s)", path, ifmt->name,
		         av_err2str(r));
		ret = r == AVERROR_EXIT ? FL_ECANCELED : FL_ECORRUPT;
		goto fail;
	}

	int si = find_video_stream(in->fmt);
	for (unsigned i = 0; i < in->fmt->nb_streams; i++)
		if (in->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
			info->has_audio = 1;
	if (si < 0) {
		if (looks_like_text(in->pb)) {
			fl__errf(err, err_size, "%s: a text file, not a video", path);
			ret = FL_EDECODE;
		} else {
			fl__errf(err, err_size, "%s: no video stream (%s file with %s)", path, ifmt->name,
			         info->has_audio ? "audio only" : "no audio or video");
			ret = FL_EUNSUPPORTED;
		}
		goto fail;
	}
	in->stream = si;
	AVStream *st = in->fmt->streams[si];
	const AVCodecParameters *par = st->codecpar;
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	snprintf(info->format, sizeof(info->format), "%s", ifmt->name);
	snprintf(info->codec, sizeof(info->codec), "%s", avcodec_get_name(par->codec_id));
	if (!codec) {
		fl__errf(err, err_size, "%s: no decoder for its %s video", path, info->codec);
		ret = FL_EUNSUPPORTED;
		goto fail;
	}

	/* Sizes and limits. */
	info->coded_width = par->width;
	info->coded_height = par->height;
	info->rotation = stream_rotation(st);
	int swap = info->rotation == 90 || info->rotation == 270;
	info->width = swap ? par->height : par->width;
	info->height = swap ? par->width : par->height;
	if (par->width <= 0 || par->height <= 0) {
		fl__errf(err, err_size, "%s: damaged %s file: the video stream has no size (%dx%d)", path, ifmt->name,
		         par->width, par->height);
		ret = FL_ECORRUPT;
		goto fail;
	}
	if (info->width > lim->max_width || info->height > lim->max_height || info->width < lim->min_width ||
	    info->height < lim->min_height) {
		fl__errf(err, err_size, "%s: video is %dx%d, outside the accepted %dx%d .. %dx%d", path, info->width,
		         info->height, lim->min_width, lim->min_height, lim->max_width, lim->max_height);
		ret = FL_ERANGE;
		goto fail;
	}

	/* Times and rates. */
	if (in->fmt->duration > 0)
		info->duration = in->fmt->duration / (double)AV_TIME_BASE;
	else if (st->duration > 0)
		info->duration = st->duration * av_q2d(st->time_base);
	if (st->start_time != AV_NOPTS_VALUE)
		info->start_time = st->start_time * av_q2d(st->time_base);
	AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate
	                                                                           : st->r_frame_rate;
	if (rate.num > 0 && rate.den > 0)
		info->fps = av_q2d(rate);
	info->n_frames = st->nb_frames > 0 ? st->nb_frames : (int64_t)llround(info->duration * info->fps);
	info->stream_index = si;
	if (lim->max_duration > 0 && info->duration > lim->max_duration) {
		fl__errf(err, err_size, "%s: video lasts %.1f s, over the limit of %.1f s", path, info->duration,
		         lim->max_duration);
		ret = FL_ERANGE;
		goto fail;
	}
	fl_free(url);
	return 0;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
	fl_free(url);
	fl__media_close(in);
	memset(info, 0, sizeof(*info));
	return ret;
}

int fl_video_probe(const char *path, const struct fl_media_limits *lim, struct fl_video_info *info, char *err,
                   size_t err_size)
{
	struct fl_media_limits def = fl_media_default_limits();
	struct fl__media_input in;
	int ret = fl__media_open(path, lim ? lim : &def, NULL, NULL, &in, info, err, err_size);
	if (ret < 0)
		return ret;
	fl__media_close(&in);
	return 0;
}
