/*
** audio.c -- the audio of a source that MP4 cannot hold as it is (PCM
** from MOV/AVI/MKV cameras, FLAC, ...), re-encoded to AAC so the video
** outputs keep their sound.  Audio MP4 holds (AAC, MP3, AC-3, Opus, ...)
** is copied packet for packet by video.c and never comes here.
**
** The decoder's samples, whatever their format (8/16/32/64-bit integer,
** float, double; packed or planar), are converted in C to planar float
** (the AAC encoder's format; libswresample is not a dependency), queued in
** an AVAudioFifo and encoded 1024 at a time.  Timestamps: the first
** decoded frame fixes the start (in 1/sample_rate), then the encoder's
** frames follow each other without gaps.
*/
#include "render_video_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>

struct fl__atrans {
	AVCodecContext *dec, *enc;
	AVFrame *fr, *efr;
	AVPacket *pkt;
	AVAudioFifo *fifo;
	float *conv;        /* nb_channels planes of conv_cap samples */
	int conv_cap;
	int ost;            /* output stream index */
	AVRational in_tb;
	int64_t next_pts;   /* in 1/sample_rate; INT64_MIN until the first frame */
	int64_t dec_pos;    /* where the next decoded frame starts (1/sample_rate), for frames without pts */
	int64_t lo, hi;     /* samples kept: [lo, hi) in 1/sample_rate after the offset */
};

void fl__atrans_range(struct fl__atrans *a, int64_t lo, int64_t hi)
{
	a->lo = av_rescale_q(lo, a->in_tb, a->enc->time_base);
	a->hi = av_rescale_q(hi, a->in_tb, a->enc->time_base);
}

void fl__atrans_free(struct fl__atrans *a)
{
	if (!a)
		return;
	avcodec_free_context(&a->dec);
	avcodec_free_context(&a->enc);
	av_frame_free(&a->fr);
	av_frame_free(&a->efr);
	av_packet_free(&a->pkt);
	if (a->fifo)
		av_audio_fifo_free(a->fifo);
	fl_free(a->conv);
	fl_free(a);
}

int fl__atrans_open(struct fl__atrans **out, const AVStream *ist, AVFormatContext *ofmt, const char *path,
                    char *err, size_t err_size)
{
	struct fl__atrans *a = NULL;
	const AVCodec *dc = avcodec_find_decoder(ist->codecpar->codec_id);
	const AVCodec *ec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	int r, ret = FL_EUNSUPPORTED;

	*out = NULL;
	int nch = ist->codecpar->ch_layout.nb_channels, sr = ist->codecpar->sample_rate;
	if (!dc || !ec || nch <= 0 || nch > 8 || sr <= 0) {
		fl__errf(err, err_size, "%s: cannot re-encode its %s audio (%d channels, %d Hz) to AAC", path,
		         avcodec_get_name(ist->codecpar->codec_id), nch, sr);
		return FL_EUNSUPPORTED;
	}
	a = fl_calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	a->in_tb = ist->time_base;
	a->next_pts = INT64_MIN;
	a->lo = INT64_MIN;
	a->hi = INT64_MAX;
	a->dec = avcodec_alloc_context3(dc);
	a->enc = avcodec_alloc_context3(ec);
	a->fr = av_frame_alloc();
	a->efr = av_frame_alloc();
	a->pkt = av_packet_alloc();
	if (!a->dec || !a->enc || !a->fr || !a->efr || !a->pkt)
		goto nomem;
	if (avcodec_parameters_to_context(a->dec, ist->codecpar) < 0)
		goto nomem;
	a->dec->pkt_timebase = ist->time_base;
	r = avcodec_open2(a->dec, dc, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the %s audio decoder: %s", path, dc->name, av_err2str(r));
		goto fail;
	}
	a->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	a->enc->sample_rate = sr;
	av_channel_layout_default(&a->enc->ch_layout, nch);
	a->enc->bit_rate = FL_MIN(64000 * nch, 320000);
	a->enc->time_base = (AVRational){1, sr};
	if (ofmt->oformat->flags & AVFMT_GLOBALHEADER)
		a->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	r = avcodec_open2(a->enc, ec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the AAC encoder for %d channels at %d Hz: %s", path, nch, sr,
		         av_err2str(r));
		goto fail;
	}
	a->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, nch, 4096);
	if (!a->fifo)
		goto nomem;
	AVStream *ost = avformat_new_stream(ofmt, NULL);
	if (!ost || avcodec_parameters_from_context(ost->codecpar, a->enc) < 0)
		goto nomem;
	ost->time_base = a->enc->time_base;
	ost->disposition = ist->disposition;
	a->ost = ost->index;
	*out = a;
	return 0;

nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	ret = FL_ENOMEM;
fail:
	fl__atrans_free(a);
	return ret;
}

/* Sample i of channel c of frame f as a float in [-1, 1]. */
static float sample(const AVFrame *f, int c, int i, int nch)
{
	enum AVSampleFormat fmt = f->format;
	int planar = av_sample_fmt_is_planar(fmt);
	const uint8_t *p = f->extended_data[planar ? c : 0];
	int k = planar ? i : i * nch + c;
	switch (av_get_packed_sample_fmt(fmt)) {
	case AV_SAMPLE_FMT_U8:
		return (p[k] - 128) / 128.0f;
	case AV_SAMPLE_FMT_S16:
		return ((const int16_t *)p)[k] / 32768.0f;
	case AV_SAMPLE_FMT_S32:
		return (float)(((const int32_t *)p)[k] / 2147483648.0);
	case AV_SAMPLE_FMT_S64:
		return (float)(((const int64_t *)p)[k] / 9223372036854775808.0);
	case AV_SAMPLE_FMT_FLT:
		return ((const float *)p)[k];
	case AV_SAMPLE_FMT_DBL:
		return (float)((const double *)p)[k];
	default:
		return 0.0f;
	}
}

/* Encode what the FIFO holds in whole frames (all of it when flushing)
** and write the packets. */
static int encode(struct fl__atrans *a, AVFormatContext *ofmt, int flush, const char *path, char *err,
                  size_t err_size)
{
	int fs = a->enc->frame_size > 0 ? a->enc->frame_size : 1024, r;
	for (;;) {
		int avail = av_audio_fifo_size(a->fifo);
		int send_null = 0;
		if (avail >= fs || (flush && avail > 0)) {
			av_frame_unref(a->efr);
			a->efr->format = AV_SAMPLE_FMT_FLTP;
			a->efr->nb_samples = FL_MIN(avail, fs);
			a->efr->sample_rate = a->enc->sample_rate;
			if (av_channel_layout_copy(&a->efr->ch_layout, &a->enc->ch_layout) < 0 ||
			    av_frame_get_buffer(a->efr, 0) < 0)
				goto nomem;
			if (av_audio_fifo_read(a->fifo, (void **)a->efr->extended_data, a->efr->nb_samples) < 0)
				goto nomem;
			a->efr->pts = a->next_pts;
			a->next_pts += a->efr->nb_samples;
			r = avcodec_send_frame(a->enc, a->efr);
		} else if (flush) {
			send_null = 1;
			r = avcodec_send_frame(a->enc, NULL);
		} else {
			return 0;
		}
		if (r < 0 && r != AVERROR_EOF) {
			fl__errf(err, err_size, "%s: AAC encoding failed: %s", path, av_err2str(r));
			return r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EIO;
		}
		for (;;) {
			r = avcodec_receive_packet(a->enc, a->pkt);
			if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
				break;
			if (r < 0) {
				fl__errf(err, err_size, "%s: AAC encoding failed: %s", path, av_err2str(r));
				return FL_EIO;
			}
			a->pkt->stream_index = a->ost;
			av_packet_rescale_ts(a->pkt, a->enc->time_base, ofmt->streams[a->ost]->time_base);
			r = av_interleaved_write_frame(ofmt, a->pkt);
			if (r < 0) {
				fl__errf(err, err_size, "%s: write failed: %s", path, av_err2str(r));
				return fl__av_status(r);
			}
		}
		if (send_null)
			return 0;
	}
nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	return FL_ENOMEM;
}

int fl__atrans_packet(struct fl__atrans *a, AVFormatContext *ofmt, const AVPacket *pkt, int64_t offset,
                      const char *path, char *err, size_t err_size)
{
	int nch = a->enc->ch_layout.nb_channels, r;
	if (pkt) {
		if (av_packet_ref(a->pkt, pkt) < 0)
			goto nomem;
		if (a->pkt->pts != AV_NOPTS_VALUE)
			a->pkt->pts -= offset;
		if (a->pkt->dts != AV_NOPTS_VALUE)
			a->pkt->dts -= offset;
		r = avcodec_send_packet(a->dec, a->pkt);
		av_packet_unref(a->pkt);
	} else {
		r = avcodec_send_packet(a->dec, NULL);
	}
	if (r == AVERROR(ENOMEM))
		goto nomem;
	/* Other errors: a damaged packet, skipped (the sound has a gap). */
	while (avcodec_receive_frame(a->dec, a->fr) == 0) {
		int n = a->fr->nb_samples;
		if (a->fr->ch_layout.nb_channels != nch || n <= 0) {
			av_frame_unref(a->fr);
			continue;
		}
		int64_t ts = a->fr->best_effort_timestamp;
		int64_t pos = ts == AV_NOPTS_VALUE ? a->dec_pos : av_rescale_q(ts, a->in_tb, a->enc->time_base);
		a->dec_pos = pos + n;
		/* Keep only the samples inside [lo, hi). */
		int s0 = a->lo > pos ? (int)FL_MIN(a->lo - pos, (int64_t)n) : 0;
		int s1 = a->hi - pos < n ? (int)FL_MAX(a->hi - pos, (int64_t)0) : n;
		if (s1 <= s0) {
			av_frame_unref(a->fr);
			continue;
		}
		if (a->next_pts == INT64_MIN)
			a->next_pts = pos + s0;
		if (n > a->conv_cap) {
			fl_free(a->conv);
			a->conv = fl_malloc(sizeof(float) * (size_t)n * nch);
			a->conv_cap = a->conv ? n : 0;
			if (!a->conv) {
				av_frame_unref(a->fr);
				goto nomem;
			}
		}
		void *planes[8];
		for (int c = 0; c < nch; c++) {
			float *dst = a->conv + (size_t)c * a->conv_cap;
			for (int i = s0; i < s1; i++)
				dst[i - s0] = sample(a->fr, c, i, nch);
			planes[c] = dst;
		}
		av_frame_unref(a->fr);
		if (av_audio_fifo_write(a->fifo, planes, s1 - s0) < s1 - s0)
			goto nomem;
		r = encode(a, ofmt, 0, path, err, err_size);
		if (r < 0)
			return r;
	}
	if (!pkt)
		return encode(a, ofmt, 1, path, err, err_size);
	return 0;
nomem:
	fl__errf(err, err_size, "%s: out of memory", path);
	return FL_ENOMEM;
}
