/*
** video.c -- the video plumbing of the annotated video and the clips:
** reading a file (struct fl__vin: libavformat + libavcodec, every frame
** converted to planar YUV 4:2:0 in the displayed orientation) and writing
** an MP4 under a temporary name (struct fl__vout: libx264 through
** libavcodec, audio packets copied, renamed into place when complete).
**
** Times: frames keep their source timestamps in the video stream's time
** base (so the output has the source's frame rate, time base and
** duration), and t = (pts - first pts) x time base, the same clock as the
** analyser's (src/media/decoder.c).  Rotation is applied the way the
** analyser applies it, so result boxes land on the right pixels.  Sizes are
** rounded down to even numbers (4:2:0 needs them): at most one pixel
** column or row at the right or bottom goes.
*/
#include "render_video_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <unistd.h>

int fl__av_status(int averr)
{
	if (averr == AVERROR_EXIT)
		return FL_ECANCELED;
	if (averr < 0 && averr > -4096) /* AVERROR(errno) */
		return fl__errno_status(-averr);
	return FL_EIO;
}

/* ================================================================ reading */

static int vin_interrupt(void *opaque)
{
	const struct fl__vin *v = opaque;
	return v->cancel && *v->cancel;
}

int fl__vin_open(struct fl__vin *v, const char *path, int threads, volatile int *cancel, char *err,
                 size_t err_size)
{
	struct fl_media_limits lim = fl_media_default_limits();
	int ret, r;

	memset(v, 0, sizeof(*v));
	v->path = path;
	v->cancel = cancel;
	v->in.stream = -1;
	if (cancel && *cancel) {
		fl__errf(err, err_size, "%s: canceled", path);
		return FL_ECANCELED;
	}
	ret = fl__media_open(path, &lim, vin_interrupt, v, &v->in, &v->info, err, err_size);
	if (ret < 0) {
		if (cancel && *cancel) { /* interrupted I/O reads as a bad file */
			fl__errf(err, err_size, "%s: canceled", path);
			return FL_ECANCELED;
		}
		return ret;
	}
	AVFormatContext *fmt = v->in.fmt;
	AVStream *st = fmt->streams[v->in.stream];
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	v->dec = avcodec_alloc_context3(codec);
	v->pkt = av_packet_alloc();
	v->fr = av_frame_alloc();
	v->out = av_frame_alloc();
	if (!v->dec || !v->pkt || !v->fr || !v->out)
		goto nomem;
	if (avcodec_parameters_to_context(v->dec, st->codecpar) < 0)
		goto nomem;
	v->dec->pkt_timebase = st->time_base;
	v->dec->thread_count = threads > 0 ? threads : fl_cpu_count();
	v->dec->max_pixels = (int64_t)lim.max_width * lim.max_height;
	r = avcodec_open2(v->dec, codec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the %s decoder: %s", path, codec->name, av_err2str(r));
		ret = r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EUNSUPPORTED;
		goto fail;
	}
	v->tb = av_q2d(st->time_base);
	v->w = v->info.width & ~1;
	v->h = v->info.height & ~1;
	v->out->format = AV_PIX_FMT_YUV420P;
	v->out->width = v->w;
	v->out->height = v->h;
	if (av_frame_get_buffer(v->out, 0) < 0)
		goto nomem;

	/* Keep the audio streams (up to 8); skip reading everything else. */
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		AVStream *s = fmt->streams[i];
		if ((int)i == v->in.stream)
			continue;
		if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && v->n_audio < (int)FL_ARRAY_SIZE(v->audio))
			v->audio[v->n_audio++] = (int)i;
		else
			s->discard = AVDISCARD_ALL;
	}
	v->last_pts = INT64_MIN;
	return 0;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
	fl__vin_close(v);
	return ret;
}

void fl__vin_close(struct fl__vin *v)
{
	if (!v)
		return;
	sws_freeContext(v->sws);
	v->sws = NULL;
	av_frame_free(&v->tmp);
	av_frame_free(&v->out);
	av_frame_free(&v->fr);
	av_packet_free(&v->pkt);
	avcodec_free_context(&v->dec);
	fl__media_close(&v->in);
}

/* Rotate one 8-bit plane (sw x sh) clockwise by rot into dst (rotated size). */
static void rotate_plane(const uint8_t *src, int sstride, int sw, int sh, uint8_t *dst, int dstride, int rot)
{
	int dw = rot == 180 ? sw : sh, dh = rot == 180 ? sh : sw;
	for (int y0 = 0; y0 < dh; y0 += 32)
		for (int x0 = 0; x0 < dw; x0 += 32) {
			int y1 = FL_MIN(y0 + 32, dh), x1 = FL_MIN(x0 + 32, dw);
			for (int y = y0; y < y1; y++) {
				uint8_t *o = dst + (size_t)y * dstride;
				for (int x = x0; x < x1; x++) {
					int sx, sy;
					if (rot == 90) {
						sx = y;
						sy = sh - 1 - x;
					} else if (rot == 180) {
						sx = sw - 1 - x;
						sy = sh - 1 - y;
					} else {
						sx = sw - 1 - y;
						sy = x;
					}
					o[x] = src[(size_t)sy * sstride + sx];
				}
			}
		}
}

/* v->fr -> v->out (yuv420p, displayed orientation, w x h). */
static int convert(struct fl__vin *v)
{
	const AVFrame *fr = v->fr;
	int rot = v->info.rotation;
	if (av_frame_make_writable(v->out) < 0)
		return FL_ENOMEM;
	if (fr->format == AV_PIX_FMT_YUV420P && rot == 0 && fr->width >= v->w && fr->height >= v->h) {
		/* The common case: copy the planes (the decoder keeps its own
		** reference frames, which must not be drawn on). */
		av_image_copy_plane(v->out->data[0], v->out->linesize[0], fr->data[0], fr->linesize[0], v->w, v->h);
		av_image_copy_plane(v->out->data[1], v->out->linesize[1], fr->data[1], fr->linesize[1], v->w / 2, v->h / 2);
		av_image_copy_plane(v->out->data[2], v->out->linesize[2], fr->data[2], fr->linesize[2], v->w / 2, v->h / 2);
		return 0;
	}
	int swap = rot == 90 || rot == 270;
	int cw = swap ? v->h : v->w, ch = swap ? v->w : v->h; /* coded orientation */
	v->sws = sws_getCachedContext(v->sws, fr->width, fr->height, fr->format, cw, ch, AV_PIX_FMT_YUV420P,
	                              SWS_BILINEAR, NULL, NULL, NULL);
	if (!v->sws)
		return FL_EDECODE;
	AVFrame *dst = v->out;
	if (rot) {
		if (!v->tmp || v->tmp->width != cw || v->tmp->height != ch) {
			av_frame_free(&v->tmp);
			v->tmp = av_frame_alloc();
			if (!v->tmp)
				return FL_ENOMEM;
			v->tmp->format = AV_PIX_FMT_YUV420P;
			v->tmp->width = cw;
			v->tmp->height = ch;
			if (av_frame_get_buffer(v->tmp, 0) < 0)
				return FL_ENOMEM;
		}
		dst = v->tmp;
	}
	sws_scale(v->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst->data, dst->linesize);
	if (rot) {
		rotate_plane(dst->data[0], dst->linesize[0], cw, ch, v->out->data[0], v->out->linesize[0], rot);
		for (int p = 1; p < 3; p++)
			rotate_plane(dst->data[p], dst->linesize[p], cw / 2, ch / 2, v->out->data[p], v->out->linesize[p], rot);
	}
	return 0;
}

/* Timestamp the decoded v->fr and convert it.  Returns 0, 1 (skip it) or
** an error. */
static int take_frame(struct fl__vin *v)
{
	int64_t pts = v->fr->best_effort_timestamp;
	int64_t dur = v->info.fps > 0 ? llround(1.0 / (v->info.fps * v->tb)) : 1;
	if (dur < 1)
		dur = 1;
	if (pts == AV_NOPTS_VALUE)
		pts = v->last_pts != INT64_MIN ? v->last_pts + dur : v->have_first ? v->first_pts : 0;
	if (!v->have_first) {
		v->have_first = 1;
		v->first_pts = pts;
	}
	v->n_decoded++;
	v->t = (double)(pts - v->first_pts) * v->tb;
	/* The encoder needs strictly increasing timestamps: a broken file's
	** repeated or backward ones are nudged forward. */
	if (v->last_pts != INT64_MIN && pts <= v->last_pts)
		pts = v->last_pts + 1;
	v->last_pts = pts;
	v->pts = pts;
	if (v->fr->width <= 0 || v->fr->height <= 0)
		return 1;
	int r = convert(v);
	if (r == FL_EDECODE)
		return 1; /* a frame swscale refuses (odd mid-stream size change): skipped */
	if (r < 0)
		return r;
	v->out->pts = pts;
	return 0;
}

int fl__vin_read(struct fl__vin *v, AVFrame **frame, AVPacket **pkt, char *err, size_t err_size)
{
	*frame = NULL;
	*pkt = NULL;
	av_packet_unref(v->pkt);
	for (;;) {
		if (v->cancel && *v->cancel) {
			fl__errf(err, err_size, "%s: canceled", v->path);
			return FL_ECANCELED;
		}
		if (v->eof)
			return FL_EOF;
		int r = avcodec_receive_frame(v->dec, v->fr);
		if (r == 0) {
			r = take_frame(v);
			av_frame_unref(v->fr);
			if (r == 1)
				continue;
			if (r < 0) {
				fl__errf(err, err_size, "%s: out of memory converting a frame", v->path);
				return r;
			}
			*frame = v->out;
			return FL__VIN_VIDEO;
		}
		if (r == AVERROR_EOF) {
			v->eof = 1;
			return FL_EOF;
		}
		if (r == AVERROR(ENOMEM)) {
			fl__errf(err, err_size, "%s: out of memory while decoding", v->path);
			return FL_ENOMEM;
		}
		if (r != AVERROR(EAGAIN))
			continue; /* a damaged frame: skipped, as the analyser does */
		if (v->sent_eof) { /* nothing more can come */
			v->eof = 1;
			return FL_EOF;
		}
		r = av_read_frame(v->in.fmt, v->pkt);
		if (r < 0) {
			if (r == AVERROR_EXIT) {
				fl__errf(err, err_size, "%s: canceled", v->path);
				return FL_ECANCELED;
			}
			/* End of file, or a read error (a file cut short): decode what came. */
			avcodec_send_packet(v->dec, NULL);
			v->sent_eof = 1;
			continue;
		}
		if (v->pkt->stream_index == v->in.stream) {
			r = avcodec_send_packet(v->dec, v->pkt);
			av_packet_unref(v->pkt);
			if (r == AVERROR(ENOMEM)) {
				fl__errf(err, err_size, "%s: out of memory while decoding", v->path);
				return FL_ENOMEM;
			}
			continue; /* other errors: a damaged packet, skipped */
		}
		for (int i = 0; i < v->n_audio; i++)
			if (v->pkt->stream_index == v->audio[i]) {
				*pkt = v->pkt;
				return FL__VIN_AUDIO;
			}
		av_packet_unref(v->pkt);
	}
}

int fl__vin_seek(struct fl__vin *v, double t, char *err, size_t err_size)
{
	av_packet_unref(v->pkt);
	int64_t base = v->have_first ? v->first_pts : 0;
	int64_t ts = base + (int64_t)llround(t / v->tb);
	int r = av_seek_frame(v->in.fmt, v->in.stream, ts, AVSEEK_FLAG_BACKWARD);
	if (r < 0) /* some demuxers only seek to the start by bytes */
		r = avformat_seek_file(v->in.fmt, v->in.stream, INT64_MIN, base, base, 0);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot seek to %.3f s: %s", v->path, t, av_err2str(r));
		return fl__av_status(r) == FL_ECANCELED ? FL_ECANCELED : FL_EIO;
	}
	avcodec_flush_buffers(v->dec);
	v->sent_eof = 0;
	v->eof = 0;
	v->last_pts = INT64_MIN;
	return 0;
}

/* ================================================================ writing */

static void vout_free(struct fl__vout *o)
{
	if (o->fmt) {
		if (o->fmt->pb)
			avio_closep(&o->fmt->pb);
		avformat_free_context(o->fmt);
		o->fmt = NULL;
	}
	avcodec_free_context(&o->enc);
	av_packet_free(&o->pkt);
	for (int i = 0; i < (int)FL_ARRAY_SIZE(o->atrans); i++) {
		fl__atrans_free(o->atrans[i]);
		o->atrans[i] = NULL;
	}
}

int fl__vout_open(struct fl__vout *o, const char *path, const struct fl__vin *vin, int w, int h, int crf,
                  int threads, char *err, size_t err_size)
{
	AVDictionary *opts = NULL;
	char url[FL__PATH_MAX + 8];
	int ret, r;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->vin = vin;
	o->vstream = -1;
	o->last_pts = INT64_MIN;
	for (int i = 0; i < (int)FL_ARRAY_SIZE(o->astream); i++)
		o->astream[i] = -1;

	int fd = fl__out_tmp(path, o->tmp, err, err_size);
	if (fd < 0)
		return fd;
	close(fd);

	const AVOutputFormat *of = av_guess_format("mp4", NULL, NULL);
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	if (!of || !codec) {
		fl__errf(err, err_size, "%s: this FFmpeg has no %s", path, of ? "libx264 encoder" : "MP4 muxer");
		ret = FL_EUNSUPPORTED;
		goto fail;
	}
	if (avformat_alloc_output_context2(&o->fmt, of, NULL, NULL) < 0 || !(o->enc = avcodec_alloc_context3(codec)) ||
	    !(o->pkt = av_packet_alloc()))
		goto nomem;

	const AVStream *ist = vin->in.fmt->streams[vin->in.stream];
	AVRational rate = ist->avg_frame_rate.num > 0 && ist->avg_frame_rate.den > 0 ? ist->avg_frame_rate
	                                                                             : ist->r_frame_rate;
	if (rate.num <= 0 || rate.den <= 0)
		rate = (AVRational){25, 1};
	AVCodecContext *enc = o->enc;
	enc->width = w;
	enc->height = h;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	/* A constant-rate source is encoded in 1/rate, as ffmpeg does (x264
	** writes its time base into the SPS timing info, and readers derive
	** frame durations from it); any other keeps its own time base, so
	** variable frame timing survives exactly.  The MP4 stream gets the
	** source's time base either way. */
	enc->time_base = ist->time_base;
	if (av_cmp_q(ist->r_frame_rate, ist->avg_frame_rate) == 0 && rate.num > 0 && rate.den > 0 &&
	    rate.num <= 1000 * rate.den)
		enc->time_base = av_inv_q(rate);
	o->in_tb = ist->time_base;
	enc->framerate = rate;
	enc->sample_aspect_ratio = (AVRational){1, 1};
	if (vin->info.rotation == 0 && ist->codecpar->sample_aspect_ratio.num > 0)
		enc->sample_aspect_ratio = ist->codecpar->sample_aspect_ratio;
	enc->color_range = AVCOL_RANGE_MPEG;
	enc->colorspace = ist->codecpar->color_space;
	enc->color_primaries = ist->codecpar->color_primaries;
	enc->color_trc = ist->codecpar->color_trc;
	enc->thread_count = threads > 0 ? threads : fl_cpu_count();
	if (o->fmt->oformat->flags & AVFMT_GLOBALHEADER)
		enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	o->frame_dur = av_rescale_q(1, av_inv_q(rate), enc->time_base);
	if (o->frame_dur < 1)
		o->frame_dur = 1;
	av_dict_set(&opts, "preset", "veryfast", 0);
	av_dict_set_int(&opts, "crf", crf, 0);
	r = avcodec_open2(enc, codec, &opts);
	av_dict_free(&opts);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the H.264 encoder for %dx%d: %s", path, w, h, av_err2str(r));
		ret = r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EINVAL;
		goto fail;
	}

	AVStream *vst = avformat_new_stream(o->fmt, NULL);
	if (!vst || avcodec_parameters_from_context(vst->codecpar, enc) < 0)
		goto nomem;
	vst->time_base = ist->time_base;
	vst->avg_frame_rate = rate;
	o->vstream = vst->index;

	/* Audio: the packets are copied; a codec MP4 cannot hold (PCM; FLAC,
	** which this FFmpeg writes to MP4 only as experimental) is re-encoded
	** to AAC, and left out with a warning if even that fails. */
	for (int i = 0; i < vin->n_audio; i++) {
		const AVStream *as = vin->in.fmt->streams[vin->audio[i]];
		if (avformat_query_codec(of, as->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1 ||
		    as->codecpar->codec_id == AV_CODEC_ID_FLAC) {
			char msg[256];
			r = fl__atrans_open(&o->atrans[i], as, o->fmt, path, msg, sizeof(msg));
			if (r == FL_ENOMEM) {
				fl__errf(err, err_size, "%s", msg);
				ret = r;
				goto fail;
			}
			if (r < 0)
				fl_log(FL_LOG_WARN, "%s: its %s audio cannot be stored in MP4 (%s); left out", vin->path,
				       avcodec_get_name(as->codecpar->codec_id), msg);
			continue;
		}
		AVStream *ost = avformat_new_stream(o->fmt, NULL);
		if (!ost || avcodec_parameters_copy(ost->codecpar, as->codecpar) < 0)
			goto nomem;
		ost->codecpar->codec_tag = 0;
		ost->time_base = as->time_base;
		ost->disposition = as->disposition;
		AVDictionaryEntry *lang = av_dict_get(as->metadata, "language", NULL, 0);
		if (lang)
			av_dict_set(&ost->metadata, "language", lang->value, 0);
		o->astream[i] = ost->index;
	}

	snprintf(url, sizeof(url), "file:%s", o->tmp);
	r = avio_open(&o->fmt->pb, url, AVIO_FLAG_WRITE);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot write: %s", path, av_err2str(r));
		ret = fl__av_status(r);
		goto fail;
	}
	r = avformat_write_header(o->fmt, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot write the MP4 header: %s", path, av_err2str(r));
		ret = fl__av_status(r);
		goto fail;
	}
	o->header = 1;
	return 0;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
	av_dict_free(&opts);
	vout_free(o);
	fl__out_commit_path(o->tmp, path, ret, NULL, 0);
	o->tmp[0] = 0;
	return ret;
}

/* Write the encoder's pending packets. */
static int drain(struct fl__vout *o, char *err, size_t err_size)
{
	AVStream *st = o->fmt->streams[o->vstream];
	for (;;) {
		int r = avcodec_receive_packet(o->enc, o->pkt);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			return 0;
		if (r < 0) {
			fl__errf(err, err_size, "%s: H.264 encoding failed: %s", o->path, av_err2str(r));
			return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EIO;
		}
		o->pkt->stream_index = o->vstream;
		if (o->pkt->duration <= 0)
			o->pkt->duration = o->frame_dur;
		av_packet_rescale_ts(o->pkt, o->enc->time_base, st->time_base);
		r = av_interleaved_write_frame(o->fmt, o->pkt);
		if (r < 0) {
			fl__errf(err, err_size, "%s: write failed: %s", o->path, av_err2str(r));
			return fl__av_status(r);
		}
	}
}

int fl__vout_video(struct fl__vout *o, AVFrame *f, char *err, size_t err_size)
{
	if (f) {
		f->pts = av_rescale_q(f->pts, o->in_tb, o->enc->time_base);
		if (o->last_pts != INT64_MIN && f->pts <= o->last_pts)
			f->pts = o->last_pts + 1;
		o->last_pts = f->pts;
		f->pict_type = AV_PICTURE_TYPE_NONE;
	}
	int r = avcodec_send_frame(o->enc, f);
	if (r < 0 && r != AVERROR_EOF) {
		fl__errf(err, err_size, "%s: H.264 encoding failed: %s", o->path, av_err2str(r));
		return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EIO;
	}
	return drain(o, err, err_size);
}

int fl__vout_audio(struct fl__vout *o, const AVPacket *pkt, int64_t offset, char *err, size_t err_size)
{
	int idx = -1;
	for (int i = 0; i < o->vin->n_audio; i++)
		if (o->vin->audio[i] == pkt->stream_index) {
			if (o->atrans[i])
				return fl__atrans_packet(o->atrans[i], o->fmt, pkt, offset, o->path, err, err_size);
			idx = o->astream[i];
		}
	if (idx < 0)
		return 0;
	int r = av_packet_ref(o->pkt, pkt);
	if (r < 0) {
		fl__errf(err, err_size, "%s: out of memory", o->path);
		return FL_ENOMEM;
	}
	if (o->pkt->pts != AV_NOPTS_VALUE)
		o->pkt->pts -= offset;
	if (o->pkt->dts != AV_NOPTS_VALUE)
		o->pkt->dts -= offset;
	av_packet_rescale_ts(o->pkt, o->vin->in.fmt->streams[pkt->stream_index]->time_base,
	                     o->fmt->streams[idx]->time_base);
	o->pkt->stream_index = idx;
	o->pkt->pos = -1;
	r = av_interleaved_write_frame(o->fmt, o->pkt);
	av_packet_unref(o->pkt);
	if (r < 0) {
		fl__errf(err, err_size, "%s: write failed: %s", o->path, av_err2str(r));
		return fl__av_status(r);
	}
	return 0;
}

int fl__vout_finish(struct fl__vout *o, int status, char *err, size_t err_size)
{
	int r;
	if (status == 0 && o->enc)
		status = fl__vout_video(o, NULL, err, err_size);
	for (int i = 0; i < (int)FL_ARRAY_SIZE(o->atrans) && status == 0; i++)
		if (o->atrans[i])
			status = fl__atrans_packet(o->atrans[i], o->fmt, NULL, 0, o->path, err, err_size);
	if (status == 0 && o->header) {
		r = av_write_trailer(o->fmt);
		if (r < 0) {
			fl__errf(err, err_size, "%s: write failed: %s", o->path, av_err2str(r));
			status = fl__av_status(r);
		}
	}
	if (o->fmt && o->fmt->pb) {
		r = avio_closep(&o->fmt->pb);
		if (r < 0 && status == 0) {
			fl__errf(err, err_size, "%s: write failed: %s", o->path, av_err2str(r));
			status = fl__av_status(r);
		}
	}
	vout_free(o);
	if (!o->tmp[0])
		return status;
	status = fl__out_commit_path(o->tmp, o->path, status, err, err_size);
	o->tmp[0] = 0;
	return status;
}

int fl__vin_check_result(const struct fl__vin *v, const struct fl_result *r, char *err, size_t err_size)
{
	if (r->video.width != v->info.width || r->video.height != v->info.height) {
		fl__errf(err, err_size, "%s: the video is %dx%d but the result was made from a %dx%d video", v->path,
		         v->info.width, v->info.height, r->video.width, r->video.height);
		return FL_EINVAL;
	}
	if (r->video.duration > 0 && v->info.duration > 0 && fabs(r->video.duration - v->info.duration) > 1.0) {
		fl__errf(err, err_size, "%s: the video lasts %.2f s but the result was made from one of %.2f s", v->path,
		         v->info.duration, r->video.duration);
		return FL_EINVAL;
	}
	return 0;
}
