/*
** image.c -- struct fl_image: allocation, loading still pictures through
** FFmpeg, saving PNG, and drawing rectangles for debug output.
**
** Loading reads the whole file into memory first and lets libavformat probe
** it by content through a memory AVIOContext (so a text file named .jpg is
** "not an image" whatever its name), decodes the first frame with
** libavcodec and converts it to packed RGB24 with libswscale.  The bytes in
** memory also let us tell a truncated JPEG or PNG from a whole one: FFmpeg's
** decoders conceal missing data and return a picture anyway, so we look for
** the end marker (JPEG EOI after the last start-of-scan, PNG IEND) ourselves.
** JPEG EXIF orientation, which mjpegdec exports as frame metadata
** "Orientation", is applied when asked.
*/
#include "../media/media_int.h"
#include "faceline/fl_vision.h"
#include "base/base_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Files above this size are refused before reading (1 GiB). */
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* ------------------------------------------------------------ basic ops */

int fl_image_init(struct fl_image *img, int width, int height)
{
	memset(img, 0, sizeof(*img));
	if (width <= 0 || height <= 0 || (int64_t)width * 3 > INT_MAX ||
	    (int64_t)width * 3 * height > ((int64_t)1 << 40))
		return FL_EINVAL;
	size_t n = (size_t)width * 3 * (size_t)height;
	uint8_t *p = fl_calloc(1, n);
	if (!p)
		return FL_ENOMEM;
	img->data = p;
	img->width = width;
	img->height = height;
	img->stride = width * 3;
	return 0;
}

void fl_image_fini(struct fl_image *img)
{
	if (!img)
		return;
	fl_free(img->data);
	memset(img, 0, sizeof(*img));
}

int fl_image_copy(struct fl_image *dst, const struct fl_image *src)
{
	if (!src || !src->data) {
		memset(dst, 0, sizeof(*dst));
		return FL_EINVAL;
	}
	int r = fl_image_init(dst, src->width, src->height);
	if (r < 0)
		return r;
	for (int y = 0; y < src->height; y++)
		memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride,
		       (size_t)src->width * 3);
	return 0;
}

struct fl_image_load_params fl_image_load_default_params(void)
{
	struct fl_image_load_params p = {.max_width = 16384, .max_height = 16384, .apply_exif = 1};
	return p;
}

void fl_image_draw_rect(struct fl_image *img, float x, float y, float w, float h, int thickness,
                        uint8_t r, uint8_t g, uint8_t b)
{
	if (!img || !img->data || !(w > 0) || !(h > 0) || thickness <= 0)
		return;
	/* Integer pixel span of the rectangle, then clip per painted pixel. */
	int x0 = (int)floorf(x), y0 = (int)floorf(y);
	int x1 = (int)ceilf(x + w) - 1, y1 = (int)ceilf(y + h) - 1;
	for (int yy = FL_MAX(y0, 0); yy <= FL_MIN(y1, img->height - 1); yy++) {
		uint8_t *row = img->data + (size_t)yy * img->stride;
		int edge_row = yy < y0 + thickness || yy > y1 - thickness;
		for (int xx = FL_MAX(x0, 0); xx <= FL_MIN(x1, img->width - 1); xx++) {
			if (!edge_row && xx >= x0 + thickness && xx <= x1 - thickness)
				continue;
			row[3 * xx] = r;
			row[3 * xx + 1] = g;
			row[3 * xx + 2] = b;
		}
	}
}

/* ------------------------------------------------- truncation by content */

/* A JPEG is whole when an EOI marker (FF D9) follows its last start-of-scan
** (FF DA).  Inside entropy-coded data FF is always followed by 00 or a
** restart marker, so neither marker can appear there by accident. */
static int jpeg_is_truncated(const uint8_t *d, size_t n)
{
	size_t last_sos = 0;
	int have_sos = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (d[i] == 0xFF && d[i + 1] == 0xDA) {
			last_sos = i;
			have_sos = 1;
		}
	if (!have_sos)
		return 1;
	for (size_t i = last_sos + 2; i + 1 < n; i++)
		if (d[i] == 0xFF && d[i + 1] == 0xD9)
			return 0;
	return 1;
}

/* A PNG is whole when its IEND chunk is present. */
static int png_is_truncated(const uint8_t *d, size_t n)
{
	for (size_t i = 8; i + 4 <= n; i++)
		if (!memcmp(d + i, "IEND", 4))
			return 0;
	return 1;
}

/* -------------------------------------------------------- memory AVIO */

struct membuf {
	const uint8_t *data;
	size_t size, pos;
};

static int mem_read(void *opaque, uint8_t *buf, int buf_size)
{
	struct membuf *m = opaque;
	size_t left = m->size - m->pos;
	if (!left)
		return AVERROR_EOF;
	size_t n = FL_MIN(left, (size_t)buf_size);
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
	struct membuf *m = opaque;
	int64_t base;
	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE:
		return (int64_t)m->size;
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)m->pos;
		break;
	case SEEK_END:
		base = (int64_t)m->size;
		break;
	default:
		return AVERROR(EINVAL);
	}
	int64_t p = base + offset;
	if (p < 0 || p > (int64_t)m->size)
		return AVERROR(EINVAL);
	m->pos = (size_t)p;
	return p;
}

/* ------------------------------------------------------------ orientation */

/* Apply EXIF orientation o (2..8) to *img, replacing its pixels. */
static int apply_orientation(struct fl_image *img, int o)
{
	if (o < 2 || o > 8)
		return 0;
	int W = img->width, H = img->height;
	int swap = o >= 5;
	struct fl_image out;
	int r = fl_image_init(&out, swap ? H : W, swap ? W : H);
	if (r < 0)
		return r;
	for (int yo = 0; yo < out.height; yo++) {
		uint8_t *dst = out.data + (size_t)yo * out.stride;
		for (int xo = 0; xo < out.width; xo++) {
			int x, y; /* source pixel of output pixel (xo, yo) */
			switch (o) {
			case 2: x = W - 1 - xo; y = yo; break;
			case 3: x = W - 1 - xo; y = H - 1 - yo; break;
			case 4: x = xo; y = H - 1 - yo; break;
			case 5: x = yo; y = xo; break;                 /* transpose */
			case 6: x = yo; y = H - 1 - xo; break;         /* rotate 90 clockwise */
			case 7: x = W - 1 - yo; y = H - 1 - xo; break; /* transverse */
			default: x = W - 1 - yo; y = xo; break;        /* 8: rotate 90 counter-clockwise */
			}
			memcpy(dst + 3 * xo, img->data + (size_t)y * img->stride + 3 * (size_t)x, 3);
		}
	}
	fl_image_fini(img);
	*img = out;
	return 0;
}

/* ------------------------------------------------------------------ load */

/* swscale warns about the deprecated full-range "J" formats; use the plain
** format and say the range instead. */
static enum AVPixelFormat dejpeg(enum AVPixelFormat f, int *full_range)
{
	switch (f) {
	case AV_PIX_FMT_YUVJ420P: *full_range = 1; return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P: *full_range = 1; return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P: *full_range = 1; return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P: *full_range = 1; return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P: *full_range = 1; return AV_PIX_FMT_YUV411P;
	default: return f;
	}
}

/* Convert a decoded frame into a new RGB24 image. */
static int frame_to_rgb(const AVFrame *fr, struct fl_image *img, const char *path, char *err, size_t err_size)
{
	int full = fr->color_range == AVCOL_RANGE_JPEG;
	enum AVPixelFormat src_fmt = dejpeg((enum AVPixelFormat)fr->format, &full);
	int r = fl_image_init(img, fr->width, fr->height);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot allocate a %dx%d image", path, fr->width, fr->height);
		return r;
	}
	struct SwsContext *sws = sws_getContext(fr->width, fr->height, src_fmt, fr->width, fr->height,
	                                        AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
	                                        NULL, NULL, NULL);
	if (!sws) {
		fl_image_fini(img);
		fl__errf(err, err_size, "%s: cannot convert pixel format %s to RGB", path,
		         av_get_pix_fmt_name((enum AVPixelFormat)fr->format) ? av_get_pix_fmt_name((enum AVPixelFormat)fr->format) : "?");
		return FL_EUNSUPPORTED;
	}
	/* Tell swscale the input range (it defaults to limited range). */
	int *inv, *tab, src_range, dst_range, bri, con, sat;
	if (sws_getColorspaceDetails(sws, &inv, &src_range, &tab, &dst_range, &bri, &con, &sat) >= 0)
		sws_setColorspaceDetails(sws, inv, full, tab, 1, bri, con, sat);
	uint8_t *dst[4] = {img->data, NULL, NULL, NULL};
	int dst_stride[4] = {img->stride, 0, 0, 0};
	sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dst_stride);
	sws_freeContext(sws);
	return 0;
}

int fl_image_load(const char *path, const struct fl_image_load_params *params, struct fl_image *img,
                  char *err, size_t err_size)
{
	struct fl_image_load_params p = params ? *params : fl_image_load_default_params();
	char *bytes = NULL;
	size_t n_bytes = 0;
	AVFormatContext *fmt = NULL;
	AVIOContext *avio = NULL;
	fl__avlog_init(); /* FFmpeg's messages go through fl_log, not stderr */
	uint8_t *avio_buf = NULL;
	AVCodecContext *dec = NULL;
	AVPacket *pkt = NULL;
	AVFrame *fr = NULL;
	struct membuf mb;
	int r, ret;

	memset(img, 0, sizeof(*img));
	if (!path) {
		fl__errf(err, err_size, "image path is NULL");
		return FL_EINVAL;
	}
	ret = fl__read_file(path, MAX_FILE_BYTES, &bytes, &n_bytes, err, err_size);
	if (ret < 0)
		return ret;
	if (n_bytes == 0) {
		fl__errf(err, err_size, "%s: empty file, not an image", path);
		ret = FL_EDECODE;
		goto fail;
	}

	/* Probe and demux from memory. */
	mb = (struct membuf){(const uint8_t *)bytes, n_bytes, 0};
	avio_buf = av_malloc(65536);
	fmt = avformat_alloc_context();
	if (!avio_buf || !fmt)
		goto nomem;
	avio = avio_alloc_context(avio_buf, 65536, 0, &mb, mem_read, NULL, mem_seek);
	if (!avio)
		goto nomem;
	avio_buf = NULL; /* owned by avio now */
	fmt->pb = avio;
	fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	r = avformat_open_input(&fmt, NULL, NULL, NULL); /* frees fmt on failure */
	if (r < 0) {
		fl__errf(err, err_size, "%s: not an image (no known format: %s)", path, av_err2str(r));
		ret = FL_EDECODE;
		goto fail;
	}
	/* find_stream_info may decode a picture: bound its size there too, so a
	** header claiming 60000x60000 cannot make FFmpeg allocate gigabytes. */
	char max_px[32];
	snprintf(max_px, sizeof(max_px), "%lld", (long long)p.max_width * p.max_height);
	AVDictionary *opts[16] = {NULL};
	unsigned n_opts = FL_MIN(fmt->nb_streams, 16u);
	for (unsigned i = 0; i < n_opts; i++)
		av_dict_set(&opts[i], "max_pixels", max_px, 0);
	r = fmt->nb_streams <= 16 ? avformat_find_stream_info(fmt, opts) : AVERROR_INVALIDDATA;
	for (unsigned i = 0; i < n_opts; i++)
		av_dict_free(&opts[i]);
	int si = r < 0 ? r : av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (si < 0) {
		fl__errf(err, err_size, "%s: not an image (no picture stream found)", path);
		ret = FL_EDECODE;
		goto fail;
	}
	AVStream *st = fmt->streams[si];
	enum AVCodecID codec_id = st->codecpar->codec_id;
	int w0 = st->codecpar->width, h0 = st->codecpar->height;
	if (w0 > p.max_width || h0 > p.max_height || w0 < 0 || h0 < 0) {
		fl__errf(err, err_size, "%s: image is %dx%d, over the limit of %dx%d", path, w0, h0, p.max_width,
		         p.max_height);
		ret = FL_ERANGE;
		goto fail;
	}
	if ((codec_id == AV_CODEC_ID_MJPEG && jpeg_is_truncated((const uint8_t *)bytes, n_bytes)) ||
	    (codec_id == AV_CODEC_ID_PNG && png_is_truncated((const uint8_t *)bytes, n_bytes))) {
		fl__errf(err, err_size, "%s: truncated %s file (its end marker is missing)", path,
		         codec_id == AV_CODEC_ID_PNG ? "PNG" : "JPEG");
		ret = FL_ETRUNCATED;
		goto fail;
	}

	const AVCodec *codec = avcodec_find_decoder(codec_id);
	if (!codec) {
		fl__errf(err, err_size, "%s: no decoder for %s", path, avcodec_get_name(codec_id));
		ret = FL_EDECODE;
		goto fail;
	}
	dec = avcodec_alloc_context3(codec);
	pkt = av_packet_alloc();
	fr = av_frame_alloc();
	if (!dec || !pkt || !fr)
		goto nomem;
	if (avcodec_parameters_to_context(dec, st->codecpar) < 0)
		goto nomem;
	dec->thread_count = 1;
	dec->max_pixels = (int64_t)p.max_width * p.max_height;
	r = avcodec_open2(dec, codec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the %s decoder: %s", path, codec->name, av_err2str(r));
		ret = FL_EDECODE;
		goto fail;
	}

	/* Feed packets of the picture stream until one frame comes out. */
	int got = 0, eof = 0;
	while (!got) {
		if (!eof) {
			r = av_read_frame(fmt, pkt);
			if (r < 0) {
				eof = 1;
				avcodec_send_packet(dec, NULL);
			} else {
				if (pkt->stream_index == si)
					r = avcodec_send_packet(dec, pkt);
				av_packet_unref(pkt);
				if (r < 0 && r != AVERROR(EAGAIN)) {
					fl__errf(err, err_size, "%s: corrupt %s data: %s", path, codec->name, av_err2str(r));
					ret = FL_EDECODE;
					goto fail;
				}
			}
		}
		r = avcodec_receive_frame(dec, fr);
		if (r == 0)
			got = 1;
		else if (r == AVERROR(EAGAIN) && !eof)
			continue;
		else {
			fl__errf(err, err_size, "%s: no picture could be decoded (%s)", path,
			         r == AVERROR_EOF || r == AVERROR(EAGAIN) ? "no frame" : av_err2str(r));
			ret = FL_EDECODE;
			goto fail;
		}
	}
	if (fr->width <= 0 || fr->height <= 0 || fr->width > p.max_width || fr->height > p.max_height) {
		fl__errf(err, err_size, "%s: decoded picture is %dx%d, outside 1x1..%dx%d", path, fr->width,
		         fr->height, p.max_width, p.max_height);
		ret = FL_ERANGE;
		goto fail;
	}
	ret = frame_to_rgb(fr, img, path, err, err_size);
	if (ret < 0)
		goto fail;
	if (p.apply_exif) {
		AVDictionaryEntry *e = av_dict_get(fr->metadata, "Orientation", NULL, 0);
		int o = e ? atoi(e->value) : 1;
		ret = apply_orientation(img, o);
		if (ret < 0) {
			fl__errf(err, err_size, "%s: out of memory applying EXIF orientation", path);
			goto fail;
		}
	}
	ret = 0;
	goto done;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
	fl_image_fini(img);
done:
	av_frame_free(&fr);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt); /* NULL-safe; does not free custom pb */
	if (avio) {
		av_freep(&avio->buffer);
		avio_context_free(&avio);
	}
	av_free(avio_buf);
	fl_free(bytes);
	return ret;
}

/* ------------------------------------------------------------------ save */

int fl_image_save_png(const struct fl_image *img, const char *path, char *err, size_t err_size)
{
	AVCodecContext *enc = NULL;
	AVFrame *fr = NULL;
	AVPacket *pkt = NULL;
	FILE *f = NULL;
	int r, ret;

	if (!img || !img->data || img->width <= 0 || img->height <= 0 || !path) {
		fl__errf(err, err_size, "fl_image_save_png: invalid image or path");
		return FL_EINVAL;
	}
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
	if (!codec) {
		fl__errf(err, err_size, "%s: this FFmpeg has no PNG encoder", path);
		return FL_EUNSUPPORTED;
	}
	enc = avcodec_alloc_context3(codec);
	fr = av_frame_alloc();
	pkt = av_packet_alloc();
	if (!enc || !fr || !pkt)
		goto nomem;
	enc->width = img->width;
	enc->height = img->height;
	enc->pix_fmt = AV_PIX_FMT_RGB24;
	enc->time_base = (AVRational){1, 1};
	r = avcodec_open2(enc, codec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the PNG encoder: %s", path, av_err2str(r));
		ret = FL_EINTERNAL;
		goto fail;
	}
	/* A frame that borrows the image's rows. */
	fr->format = AV_PIX_FMT_RGB24;
	fr->width = img->width;
	fr->height = img->height;
	fr->data[0] = img->data;
	fr->linesize[0] = img->stride;
	r = avcodec_send_frame(enc, fr);
	if (r >= 0)
		r = avcodec_send_frame(enc, NULL);
	if (r >= 0)
		r = avcodec_receive_packet(enc, pkt);
	if (r < 0) {
		fl__errf(err, err_size, "%s: PNG encoding failed: %s", path, av_err2str(r));
		ret = FL_EINTERNAL;
		goto fail;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(pkt->data, 1, (size_t)pkt->size, f) != (size_t)pkt->size) {
		fl__errf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
		ret = FL_EIO;
		goto fail;
	}
	if (fclose(f) != 0) {
		f = NULL;
		fl__errf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
		ret = FL_EIO;
		goto fail;
	}
	f = NULL;
	ret = 0;
	goto done;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
done:
	if (f)
		fclose(f);
	if (fr)
		fr->data[0] = NULL; /* borrowed */
	av_frame_free(&fr);
	av_packet_free(&pkt);
	avcodec_free_context(&enc);
	return ret;
}
