/*
** report_thumb.c -- the persons' thumbnails of the HTML report: the frame
** at a person's thumbnail time is found by seeking in the video and
** decoding up to that time (libavformat/libavcodec), the thumbnail box
** enlarged 1.6x to a square is cropped out of it (av_frame_apply_cropping,
** in the stream's coded orientation), scaled to side x side with
** libswscale to full-range YUV 4:2:0, turned by the file's display
** rotation (as src/media does for analysed frames) and encoded as a
** baseline JPEG by libavcodec's mjpeg encoder.
**
** Times are those of the analyser: seconds from the first decoded frame's
** presentation timestamp, so the same frame the result names is found.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "base/base_int.h"
#include "media/media_int.h"
#include "render_int.h"

struct fl__thumbs {
	const char *path;        /* borrowed */
	struct fl__media_input in;
	struct fl_video_info info;
	AVCodecContext *dec;
	AVCodecContext *enc;     /* opened on first use (side known then) */
	AVPacket *pkt;
	AVFrame *fr, *keep;      /* decoded frame; the frame chosen */
	AVFrame *small, *out;    /* scaled (coded orientation); rotated, to the encoder */
	struct SwsContext *sws;
	double tb;               /* stream time base, seconds */
	int64_t first_pts;       /* best-effort pts of the first frame */
	int have_first;
	int64_t n_encoded;       /* JPEGs made (their pts) */
};

void fl__thumbs_close(struct fl__thumbs *t)
{
	if (!t)
		return;
	avcodec_free_context(&t->dec);
	avcodec_free_context(&t->enc);
	av_packet_free(&t->pkt);
	av_frame_free(&t->fr);
	av_frame_free(&t->keep);
	av_frame_free(&t->small);
	av_frame_free(&t->out);
	sws_freeContext(t->sws);
	fl__media_close(&t->in);
	fl_free(t);
}

/*
** Send the next packet of our stream to the decoder (or the end-of-stream
** flush at the end of the file).  Returns 0, FL_EOF once the flush was
** sent before, or a negative error.
*/
static int feed(struct fl__thumbs *t, int *flushed)
{
	for (;;) {
		if (*flushed)
			return FL_EOF;
		int r = av_read_frame(t->in.fmt, t->pkt);
		if (r < 0) {
			*flushed = 1;
			r = avcodec_send_packet(t->dec, NULL);
			return r < 0 && r != AVERROR_EOF ? FL_EDECODE : 0;
		}
		if (t->pkt->stream_index != t->in.stream) {
			av_packet_unref(t->pkt);
			continue;
		}
		r = avcodec_send_packet(t->dec, t->pkt);
		av_packet_unref(t->pkt);
		/* A damaged packet is skipped, like the analyser does. */
		if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA)
			return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EDECODE;
		return 0;
	}
}

/*
** Decode from the current position up to the first frame at or after
** time `at` (seconds from the first frame; -1: just the first frame) into
** t->keep.  At the end of the file the last frame decoded is kept.
** Returns 0 or a negative status (FL_EDECODE: no frame at all).
*/
static int decode_to(struct fl__thumbs *t, double at)
{
	int flushed = 0, got = 0;
	double eps = t->info.fps > 0 ? 0.25 / t->info.fps : 0.005;
	av_frame_unref(t->keep);
	for (;;) {
		int r = avcodec_receive_frame(t->dec, t->fr);
		if (r == AVERROR(EAGAIN)) {
			if ((r = feed(t, &flushed)) == FL_EOF)
				break;
			if (r < 0)
				return r;
			continue;
		}
		if (r == AVERROR_EOF)
			break;
		if (r < 0)
			return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EDECODE;
		int64_t pts = t->fr->best_effort_timestamp;
		if (!t->have_first && pts != AV_NOPTS_VALUE) {
			t->first_pts = pts;
			t->have_first = 1;
		}
		double ft = pts != AV_NOPTS_VALUE && t->have_first ? (double)(pts - t->first_pts) * t->tb : 0;
		av_frame_unref(t->keep);
		av_frame_move_ref(t->keep, t->fr);
		got = 1;
		if (at < 0 || ft + eps >= at)
			return 0;
	}
	return got ? 0 : FL_EDECODE;
}

int fl__thumbs_open(const char *video, int threads, struct fl__thumbs **out, char *err, size_t err_size)
{
	*out = NULL;
	struct fl__thumbs *t = fl_calloc(1, sizeof(*t));
	if (!t)
		return FL_ENOMEM;
	t->path = video;
	struct fl_media_limits lim = fl_media_default_limits();
	int ret = fl__media_open(video, &lim, NULL, NULL, &t->in, &t->info, err, err_size);
	if (ret < 0) {
		fl_free(t);
		return ret;
	}
	AVStream *st = t->in.fmt->streams[t->in.stream];
	t->tb = av_q2d(st->time_base);
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	t->dec = avcodec_alloc_context3(codec);
	t->pkt = av_packet_alloc();
	t->fr = av_frame_alloc();
	t->keep = av_frame_alloc();
	t->small = av_frame_alloc();
	t->out = av_frame_alloc();
	if (!t->dec || !t->pkt || !t->fr || !t->keep || !t->small || !t->out ||
	    avcodec_parameters_to_context(t->dec, st->codecpar) < 0) {
		fl__thumbs_close(t);
		fl__errf(err, err_size, "%s: out of memory", video);
		return FL_ENOMEM;
	}
	t->dec->pkt_timebase = st->time_base;
	t->dec->thread_count = threads > 0 ? threads : fl_cpu_count();
	t->dec->max_pixels = (int64_t)lim.max_width * lim.max_height;
	int r = avcodec_open2(t->dec, codec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the %s decoder: %s", video, codec->name, av_err2str(r));
		fl__thumbs_close(t);
		return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EUNSUPPORTED;
	}
	/* The first frame's timestamp is time 0 (the analyser's origin). */
	if ((ret = decode_to(t, -1)) < 0) {
		fl__errf(err, err_size, "%s: no frame could be decoded", video);
		fl__thumbs_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

const struct fl_video_info *fl__thumbs_info(const struct fl__thumbs *t)
{
	return &t->info;
}

/* Rotate a square n x n plane clockwise by rot (90, 180, 270) from src to dst. */
static void rotate_plane(const uint8_t *src, int sls, uint8_t *dst, int dls, int n, int rot)
{
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			int sx, sy;
			if (rot == 90) {
				sx = y;
				sy = n - 1 - x;
			} else if (rot == 180) {
				sx = n - 1 - x;
				sy = n - 1 - y;
			} else {
				sx = n - 1 - y;
				sy = x;
			}
			dst[(size_t)y * dls + x] = src[(size_t)sy * sls + sx];
		}
}

static int open_encoder(struct fl__thumbs *t, int side)
{
	if (t->enc && t->enc->width == side)
		return 0;
	avcodec_free_context(&t->enc);
	const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	if (!c)
		return FL_EUNSUPPORTED;
	if (!(t->enc = avcodec_alloc_context3(c)))
		return FL_ENOMEM;
	t->enc->width = side;
	t->enc->height = side;
	t->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
	t->enc->color_range = AVCOL_RANGE_JPEG;
	t->enc->time_base = (AVRational){1, 25};
	t->enc->thread_count = 1;
	/* Fixed quality (qscale 3: sharp faces, ~5 KB at 128x128). */
	t->enc->flags |= AV_CODEC_FLAG_QSCALE;
	t->enc->global_quality = FF_QP2LAMBDA * 3;
	int r = avcodec_open2(t->enc, c, NULL);
	if (r < 0) {
		avcodec_free_context(&t->enc);
		return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EUNSUPPORTED;
	}
	av_frame_unref(t->small);
	av_frame_unref(t->out);
	t->small->format = AV_PIX_FMT_YUV420P;
	t->out->format = AV_PIX_FMT_YUVJ420P;
	t->small->width = t->out->width = side;
	t->small->height = t->out->height = side;
	if (av_frame_get_buffer(t->small, 0) < 0 || av_frame_get_buffer(t->out, 0) < 0)
		return FL_ENOMEM;
	return 0;
}

/* The square crop (displayed pixels, even numbers) around box, enlarged
** 1.6x, inside a dw x dh frame. */
static void crop_square(const float box[4], int dw, int dh, int *x0, int *y0, int *s)
{
	double cx = box[0] + box[2] / 2.0, cy = box[1] + box[3] / 2.0;
	double side = 1.6 * FL_MAX(box[2], box[3]);
	int lim = FL_MIN(dw, dh) & ~1;
	int n = (int)lround(side) & ~1;
	n = FL_MAX(2, FL_MIN(n, lim));
	int x = (int)lround(cx - n / 2.0), y = (int)lround(cy - n / 2.0);
	x = FL_MAX(0, FL_MIN(x, dw - n)) & ~1;
	y = FL_MAX(0, FL_MIN(y, dh - n)) & ~1;
	*x0 = x;
	*y0 = y;
	*s = n;
}

int fl__thumbs_jpeg(struct fl__thumbs *t, double time, const float box[4], int side, uint8_t **jpeg, size_t *size,
                    char *err, size_t err_size)
{
	*jpeg = NULL;
	*size = 0;
	side &= ~1;
	if (side < 16 || !(box[2] > 0) || !(box[3] > 0)) {
		fl__errf(err, err_size, "%s: bad thumbnail request", t->path);
		return FL_EINVAL;
	}
	AVStream *st = t->in.fmt->streams[t->in.stream];
	int64_t target = t->first_pts + (int64_t)floor(time / t->tb);
	if (av_seek_frame(t->in.fmt, t->in.stream, target, AVSEEK_FLAG_BACKWARD) < 0 &&
	    av_seek_frame(t->in.fmt, t->in.stream, st->start_time != AV_NOPTS_VALUE ? st->start_time : 0,
	                  AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY) < 0) {
		fl__errf(err, err_size, "%s: cannot seek to %.3f s", t->path, time);
		return FL_EDECODE;
	}
	avcodec_flush_buffers(t->dec);
	int ret = decode_to(t, time);
	if (ret < 0) {
		fl__errf(err, err_size, "%s: no frame decoded at %.3f s", t->path, time);
		return ret;
	}
	AVFrame *f = t->keep;
	int rot = t->info.rotation, swap = rot == 90 || rot == 270;
	int cw = f->width, ch = f->height;
	int dw = swap ? ch : cw, dh = swap ? cw : ch;
	int x0, y0, n;
	crop_square(box, dw, dh, &x0, &y0, &n);
	/* The displayed square [x0, x0+n) x [y0, y0+n) in coded pixels. */
	int sx, sy;
	if (rot == 90) {
		sx = y0;
		sy = ch - x0 - n;
	} else if (rot == 180) {
		sx = cw - x0 - n;
		sy = ch - y0 - n;
	} else if (rot == 270) {
		sx = cw - y0 - n;
		sy = x0;
	} else {
		sx = x0;
		sy = y0;
	}
	sx = FL_MAX(0, sx);
	sy = FL_MAX(0, sy);
	f->crop_left = (size_t)sx;
	f->crop_top = (size_t)sy;
	f->crop_right = (size_t)FL_MAX(0, cw - sx - n);
	f->crop_bottom = (size_t)FL_MAX(0, ch - sy - n);
	if (av_frame_apply_cropping(f, AV_FRAME_CROP_UNALIGNED) < 0) {
		fl__errf(err, err_size, "%s: cannot crop the frame at %.3f s", t->path, time);
		return FL_EDECODE;
	}
	if ((ret = open_encoder(t, side)) < 0) {
		fl__errf(err, err_size, "cannot open the JPEG encoder: %s", fl_strerror(ret));
		return ret;
	}
	t->sws = sws_getCachedContext(t->sws, f->width, f->height, f->format, side, side, AV_PIX_FMT_YUV420P,
	                              SWS_BICUBIC, NULL, NULL, NULL);
	if (!t->sws || av_frame_make_writable(t->small) < 0 || av_frame_make_writable(t->out) < 0) {
		fl__errf(err, err_size, "%s: cannot scale the frame at %.3f s", t->path, time);
		return FL_EDECODE;
	}
	/* Source colours as the stream says (BT.709 or 601, its range); JPEG
	** wants full-range BT.601. */
	int cs = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
	int src_full = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
	               f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
	sws_setColorspaceDetails(t->sws, sws_getCoefficients(cs), src_full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
	                         1 << 16, 1 << 16);
	AVFrame *dst = rot ? t->small : t->out;
	sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst->data, dst->linesize);
	if (rot) {
		rotate_plane(t->small->data[0], t->small->linesize[0], t->out->data[0], t->out->linesize[0], side, rot);
		for (int p = 1; p < 3; p++)
			rotate_plane(t->small->data[p], t->small->linesize[p], t->out->data[p], t->out->linesize[p], side / 2,
			             rot);
	}
	t->out->quality = t->enc->global_quality;
	t->out->pts = t->n_encoded++; /* the encoder wants increasing pts */
	int r = avcodec_send_frame(t->enc, t->out);
	AVPacket *pkt = av_packet_alloc();
	if (r >= 0 && pkt)
		r = avcodec_receive_packet(t->enc, pkt);
	if (r < 0 || !pkt) {
		int code = r == AVERROR(ENOMEM) || !pkt ? FL_ENOMEM : FL_EIO;
		av_packet_free(&pkt);
		fl__errf(err, err_size, "%s: JPEG encoding failed at %.3f s", t->path, time);
		/* The encoder may hold a frame now: start afresh next time. */
		avcodec_free_context(&t->enc);
		return code;
	}
	uint8_t *buf = fl_malloc((size_t)pkt->size);
	if (!buf) {
		av_packet_free(&pkt);
		return FL_ENOMEM;
	}
	memcpy(buf, pkt->data, (size_t)pkt->size);
	*jpeg = buf;
	*size = (size_t)pkt->size;
	av_packet_free(&pkt);
	return 0;
}
