/*
** decoder.c -- struct fl_decoder: a thread that demuxes and decodes one
** video file and feeds a bounded queue of refcounted RGB24 frames sampled
** at the analysis rate.
**
** Thread layout: fl_decoder_open() probes the file (probe.c), opens
** libavcodec with its own threads and starts one decode thread.  That
** thread reads packets, decodes every frame (H.264 frames depend on each
** other, so sampling cannot skip decoding), keeps the first frame at or
** after each multiple of 1/fps, converts it with libswscale to RGB24 (and
** to max_side), applies the display rotation in C and puts it on the queue,
** waiting while the queue is full.  The consumer takes frames with
** fl_decoder_receive().  The queue is a ring of queue_frames pointers under
** one mutex with two condition variables; the end of the stream and fatal
** errors travel through it as a status behind the last frame.
**
** Damage: a packet the decoder refuses, a frame libavcodec flags as
** corrupt, or a read error after some frames (a file cut mid-data) are
** counted in stats.frames_corrupt and decoding goes on; only allocation
** failures and cancellation stop the thread early.
**
** Cancellation sets a flag that the queue waits and libavformat's
** interrupt callback both look at, so a blocked receive returns at once and
** the decode thread stops at the next packet.
*/
#include "media_int.h"
#include "faceline/fl_media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <pthread.h>

struct fl_decoder {
	struct fl__media_input in;
	struct fl_video_info info;
	struct fl_decoder_params p;
	char *path;

	/* Decode thread state (touched by that thread only once started). */
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *fr;
	struct SwsContext *sws;
	int sws_cs, sws_range; /* colorspace details last given to sws */
	uint8_t *scratch;      /* unrotated RGB for rotated files */
	size_t scratch_size;
	double tb;             /* stream time base, seconds */
	int have_first;
	int64_t first_pts;
	double last_t;
	int64_t next_k;        /* next sampling instant is next_k / fps */
	/* skip_nonref: pts of the packets sent but not yet passed by an output
	** frame (frames libavcodec may skip), for exact frame numbers. */
	int64_t *pend;
	int n_pend, cap_pend;
	int64_t passed;        /* frames (packets) before the last output one, +1 */
	int64_t max_pkt_pts;   /* the latest packet pts seen (AV_NOPTS_VALUE: none) */
	struct fl_decoder_stats local;

	/* Shared with the consumer, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_get;
	struct fl_frame **q;
	int q_cap, q_head, q_len;
	int done;   /* the thread has finished; status says how */
	int status; /* FL_EOF or an error */
	int cancel; /* also read atomically by the interrupt callback */
	struct fl_decoder_stats st;
	char msg[512];      /* written by the thread before done */
	char msg_user[512]; /* copy handed to fl_decoder_errmsg's caller */
	pthread_t thread;
	int thread_started;
};

struct fl_decoder_params fl_decoder_default_params(void)
{
	struct fl_decoder_params p = {
		.fps = 5.0,
		.queue_frames = 8,
		.threads = 0,
		.max_side = 0,
		.limits = fl_media_default_limits(),
	};
	return p;
}

static int interrupt_cb(void *opaque)
{
	struct fl_decoder *d = opaque;
	return __atomic_load_n(&d->cancel, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ conversion */

/* Rotate packed RGB24 src (sw x sh) clockwise by rot into dst, whose size
** is the rotated one.  Done in 32x32 tiles so both sides stay in cache. */
static void rotate_rgb(const uint8_t *src, int sstride, int sw, int sh, uint8_t *dst, int dstride, int rot)
{
	int dw = rot == 180 ? sw : sh, dh = rot == 180 ? sh : sw;
	for (int y0 = 0; y0 < dh; y0 += 32)
		for (int x0 = 0; x0 < dw; x0 += 32) {
			int y1 = FL_MIN(y0 + 32, dh), x1 = FL_MIN(x0 + 32, dw);
			for (int y = y0; y < y1; y++) {
				uint8_t *o = dst + (size_t)y * dstride + (size_t)x0 * 3;
				for (int x = x0; x < x1; x++, o += 3) {
					int sx, sy;
					if (rot == 90) { /* out(x, y) = in(y, sh-1-x) */
						sx = y;
						sy = sh - 1 - x;
					} else if (rot == 180) {
						sx = sw - 1 - x;
						sy = sh - 1 - y;
					} else { /* 270: out(x, y) = in(sw-1-y, x) */
						sx = sw - 1 - y;
						sy = x;
					}
					const uint8_t *s = src + (size_t)sy * sstride + (size_t)sx * 3;
					o[0] = s[0];
					o[1] = s[1];
					o[2] = s[2];
				}
			}
		}
}

/* Convert d->fr into a new frame (displayed orientation, max_side). */
static int convert(struct fl_decoder *d, struct fl_frame **out)
{
	const AVFrame *fr = d->fr;
	int rot = d->info.rotation, swap = rot == 90 || rot == 270;
	int dw = swap ? fr->height : fr->width, dh = swap ? fr->width : fr->height;
	int longer = FL_MAX(dw, dh);
	if (d->p.max_side > 0 && longer > d->p.max_side) {
		double s = (double)d->p.max_side / longer;
		dw = FL_MAX(1, (int)lround(dw * s));
		dh = FL_MAX(1, (int)lround(dh * s));
	}
	int sw = swap ? dh : dw, sh = swap ? dw : dh; /* scaled, coded orientation */

	*out = NULL;
	d->sws = sws_getCachedContext(d->sws, fr->width, fr->height, fr->format, sw, sh, AV_PIX_FMT_RGB24,
	                              SWS_BILINEAR, NULL, NULL, NULL);
	if (!d->sws)
		return FL_EDECODE;
	/* BT.709 for HD streams that say so, BT.601 otherwise; the range from
	** the frame.  Set only when it changes: it rebuilds swscale's tables. */
	int cs = fr->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
	int range = fr->color_range == AVCOL_RANGE_JPEG;
	if (cs != d->sws_cs || range != d->sws_range) {
		sws_setColorspaceDetails(d->sws, sws_getCoefficients(cs), range, sws_getCoefficients(SWS_CS_DEFAULT), 1,
		                         0, 1 << 16, 1 << 16);
		d->sws_cs = cs;
		d->sws_range = range;
	}

	struct fl_frame *f = fl_frame_alloc(dw, dh);
	if (!f)
		return FL_ENOMEM;
	if (rot == 0) {
		uint8_t *dst[4] = {f->data};
		int dstride[4] = {f->stride};
		sws_scale(d->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dstride);
	} else {
		int sstride = (sw * 3 + 63) & ~63;
		size_t need = (size_t)sstride * sh + 64;
		if (need > d->scratch_size) {
			fl_free(d->scratch);
			d->scratch_size = 0;
			d->scratch = fl_aligned_alloc(64, need);
			if (!d->scratch) {
				fl_frame_unref(f);
				return FL_ENOMEM;
			}
			d->scratch_size = need;
		}
		uint8_t *dst[4] = {d->scratch};
		int dstride[4] = {sstride};
		sws_scale(d->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dstride);
		rotate_rgb(d->scratch, sstride, sw, sh, f->data, f->stride, rot);
	}
	*out = f;
	return 0;
}

/* ------------------------------------------------------------------ queue */

/* Publish the thread's counters (under mu). */
static void publish(struct fl_decoder *d)
{
	if (d->in.pb)
		d->local.bytes_read = avio_tell(d->in.pb);
	d->st = d->local;
}

/* Put f on the queue, waiting while it is full.  Takes the reference.
** Returns 0, or FL_ECANCELED (then f was dropped). */
static int push(struct fl_decoder *d, struct fl_frame *f)
{
	pthread_mutex_lock(&d->mu);
	while (d->q_len == d->q_cap && !d->cancel)
		pthread_cond_wait(&d->can_put, &d->mu);
	if (d->cancel) {
		pthread_mutex_unlock(&d->mu);
		fl_frame_unref(f);
		return FL_ECANCELED;
	}
	d->q[(d->q_head + d->q_len) % d->q_cap] = f;
	d->q_len++;
	d->local.frames_delivered++;
	publish(d);
	pthread_cond_signal(&d->can_get);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* ---------------------------------------------------------- decode thread */

/* Time-stamp, sample and deliver the frame in d->fr. */
static int handle_frame(struct fl_decoder *d)
{
	AVFrame *fr = d->fr;
	int64_t index = d->local.frames_decoded++;
	if (d->pend && fr->best_effort_timestamp != AV_NOPTS_VALUE) {
		/* Frames skipped before this one still count: its number is the
		** number of packets with an earlier pts. */
		int64_t P = fr->best_effort_timestamp, before = 0;
		int w = 0, self = 0;
		for (int i = 0; i < d->n_pend; i++) {
			if (d->pend[i] < P)
				before++;
			else if (d->pend[i] == P && !self)
				self = 1;
			else
				d->pend[w++] = d->pend[i];
		}
		d->n_pend = w;
		d->local.frames_skipped += before;
		index = d->passed + before;
		d->passed = index + 1;
		d->local.frames_decoded = d->passed;
	}
	if ((fr->flags & AV_FRAME_FLAG_CORRUPT) || fr->decode_error_flags)
		d->local.frames_corrupt++;

	int64_t pts = fr->best_effort_timestamp;
	double t;
	if (pts == AV_NOPTS_VALUE) { /* no time at all: step by the average rate */
		t = d->have_first ? d->last_t + (d->info.fps > 0 ? 1.0 / d->info.fps : 0.04) : 0.0;
	} else {
		if (!d->have_first)
			d->first_pts = pts;
		t = (double)(pts - d->first_pts) * d->tb;
	}
	d->have_first = 1;
	d->last_t = t;

	if (d->p.fps > 0) {
		/* 1 us of slack: 0.2 s from a 1/12800 time base is not exactly 1/5. */
		if (t + 1e-6 < d->next_k / d->p.fps) {
			d->local.frames_dropped++;
			return 0;
		}
		d->next_k = (int64_t)floor(t * d->p.fps + 1e-6) + 1;
	}
	struct fl_frame *f;
	int ret = convert(d, &f);
	if (ret == FL_EDECODE) { /* a size or format swscale refuses: skip it */
		d->local.frames_corrupt++;
		return 0;
	}
	if (ret < 0)
		return ret;
	f->t = t;
	f->index = index;
	f->pts = pts;
	return push(d, f);
}

/*
** skip_nonref: before sending a packet, tell libavcodec whether it may skip
** the frame when nothing references it -- only when the frame lies before
** the next sampling instant, so every sampled frame is still decoded and
** the sampled frames are exactly those without skipping.  The packet's pts
** is remembered for the frame numbers (handle_frame).
*/
static void skip_decision(struct fl_decoder *d)
{
	int64_t pts = d->pkt->pts;
	int skip = 0;
	if (pts != AV_NOPTS_VALUE) {
		if (d->n_pend == d->cap_pend) {
			int cap = d->cap_pend ? 2 * d->cap_pend : 64;
			int64_t *np = cap <= 1 << 16 ? av_realloc_array(d->pend, (size_t)cap, sizeof(*np)) : NULL;
			if (np) {
				d->pend = np;
				d->cap_pend = cap;
			} else {
				/* Cannot keep count: decode everything from here on. */
				d->dec->skip_frame = AVDISCARD_DEFAULT;
				return;
			}
		}
		d->pend[d->n_pend++] = pts;
		if (d->max_pkt_pts == AV_NOPTS_VALUE || pts > d->max_pkt_pts)
			d->max_pkt_pts = pts;
		if (d->have_first) {
			double tp = (double)(pts - d->first_pts) * d->tb;
			skip = tp + 1e-6 < d->next_k / d->p.fps;
		}
	}
	d->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
}

/* Take every frame the decoder has ready.  Returns 0 or a fatal error. */
static int drain(struct fl_decoder *d)
{
	for (;;) {
		int r = avcodec_receive_frame(d->dec, d->fr);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			return 0;
		if (r == AVERROR(ENOMEM))
			return FL_ENOMEM;
		if (r < 0) { /* a damaged frame (frame threads report it here) */
			d->local.frames_corrupt++;
			continue;
		}
		if (d->fr->width > d->p.limits.max_width + d->p.limits.max_height ||
		    d->fr->height > d->p.limits.max_width + d->p.limits.max_height) {
			d->local.frames_corrupt++; /* a mid-stream size change beyond reason */
			av_frame_unref(d->fr);
			continue;
		}
		r = handle_frame(d);
		av_frame_unref(d->fr);
		if (r < 0)
			return r;
	}
}

static void finish(struct fl_decoder *d, int status)
{
	pthread_mutex_lock(&d->mu);
	d->done = 1;
	d->status = status;
	publish(d);
	pthread_cond_broadcast(&d->can_get);
	pthread_mutex_unlock(&d->mu);
}

static void *decode_thread(void *arg)
{
	struct fl_decoder *d = arg;
	int ret = 0, r;
	int read_error = 0;

	for (;;) {
		if (__atomic_load_n(&d->cancel, __ATOMIC_RELAXED)) {
			ret = FL_ECANCELED;
			goto out;
		}
		r = av_read_frame(d->in.fmt, d->pkt);
		if (r < 0) {
			if (r == AVERROR_EXIT) {
				ret = FL_ECANCELED;
				goto out;
			}
			if (r != AVERROR_EOF)
				read_error = r;
			break;
		}
		if (d->pkt->stream_index != d->in.stream) {
			av_packet_unref(d->pkt);
			continue;
		}
		if (d->pend)
			skip_decision(d);
		r = avcodec_send_packet(d->dec, d->pkt);
		av_packet_unref(d->pkt);
		if (r == AVERROR(ENOMEM)) {
			ret = FL_ENOMEM;
			goto out;
		}
		if (r < 0 && r != AVERROR(EAGAIN))
			d->local.frames_corrupt++;
		ret = drain(d);
		if (ret < 0)
			goto out;
		pthread_mutex_lock(&d->mu);
		publish(d);
		pthread_mutex_unlock(&d->mu);
	}
	/* Flush the frames libavcodec still holds (reordering, frame threads). */
	avcodec_send_packet(d->dec, NULL);
	ret = drain(d);
	if (ret < 0)
		goto out;
	if (d->pend) {
		/* Frames skipped after the last output one. */
		d->local.frames_decoded += d->n_pend;
		d->local.frames_skipped += d->n_pend;
		d->n_pend = 0;
	}
	if (read_error) {
		d->local.frames_corrupt++;
		snprintf(d->msg, sizeof(d->msg), "%s: read error after %lld frames (%s); the rest of the file is lost",
		         d->path, (long long)d->local.frames_decoded, av_err2str(read_error));
		fl_log(FL_LOG_INFO, "%s", d->msg);
	}
	/*
	** A file cut mid-data ends early without any read error: compare the
	** last frame's time with the duration the container declared.  More
	** than half a second or three frames short is reported as truncation.
	*/
	if (d->have_first && d->info.duration > 0 && d->info.fps > 0 && d->in.fmt->duration > 0 &&
	    d->first_pts != AV_NOPTS_VALUE) {
		/* in absolute stream time: a stream may start later than its container */
		double fmt_start = d->in.fmt->start_time != AV_NOPTS_VALUE ? d->in.fmt->start_time / (double)AV_TIME_BASE : 0;
		double declared_end = fmt_start + d->in.fmt->duration / (double)AV_TIME_BASE;
		double last_abs = d->first_pts * d->tb + d->last_t;
		if (d->pend && d->max_pkt_pts != AV_NOPTS_VALUE && d->max_pkt_pts * d->tb > last_abs)
			last_abs = d->max_pkt_pts * d->tb; /* skipped frames at the end */
		double short_by = declared_end - (last_abs + 1.0 / d->info.fps);
		if (short_by > FL_MAX(0.5, 3.0 / d->info.fps)) {
			d->local.frames_missing = (int64_t)(short_by * d->info.fps + 0.5);
			snprintf(d->msg, sizeof(d->msg),
			         "%s: the video ends at %.2f s but its container says %.2f s: the file looks truncated "
			         "(about %lld frames missing)",
			         d->path, last_abs - fmt_start + 1.0 / d->info.fps, declared_end - fmt_start,
			         (long long)d->local.frames_missing);
			fl_log(FL_LOG_WARN, "%s", d->msg);
		}
	}
	if (d->local.frames_corrupt)
		fl_log(FL_LOG_INFO, "%s: %lld damaged packets or frames skipped or concealed", d->path,
		       (long long)d->local.frames_corrupt);
	ret = FL_EOF;
out:
	if (ret == FL_ENOMEM)
		snprintf(d->msg, sizeof(d->msg), "%s: out of memory while decoding", d->path);
	else if (ret == FL_ECANCELED)
		snprintf(d->msg, sizeof(d->msg), "%s: decoding canceled", d->path);
	finish(d, ret);
	return NULL;
}

/* ------------------------------------------------------------- public API */

int fl_decoder_open(const char *path, const struct fl_decoder_params *params, struct fl_decoder **out, char *err,
                    size_t err_size)
{
	struct fl_decoder_params p = params ? *params : fl_decoder_default_params();
	struct fl_decoder *d = NULL;
	int ret, r, sync_init = 0;

	*out = NULL;
	if (p.queue_frames <= 0)
		p.queue_frames = 8;
	if (p.threads < 0 || p.max_side < 0 || isnan(p.fps)) {
		fl__errf(err, err_size, "%s: invalid decoder parameters", path ? path : "(null)");
		return FL_EINVAL;
	}
	d = fl_calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->in.stream = -1;
	d->sws_cs = d->sws_range = -1;
	d->p = p;
	ret = fl__media_open(path, &p.limits, interrupt_cb, d, &d->in, &d->info, err, err_size);
	if (ret < 0)
		goto fail;
	d->path = fl_strdup(path);
	d->q = fl_calloc((size_t)p.queue_frames, sizeof(*d->q));
	if (!d->path || !d->q)
		goto nomem;
	d->q_cap = p.queue_frames;

	AVStream *st = d->in.fmt->streams[d->in.stream];
	d->tb = av_q2d(st->time_base);
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	d->dec = avcodec_alloc_context3(codec);
	d->pkt = av_packet_alloc();
	d->fr = av_frame_alloc();
	if (!d->dec || !d->pkt || !d->fr)
		goto nomem;
	if (avcodec_parameters_to_context(d->dec, st->codecpar) < 0)
		goto nomem;
	d->dec->pkt_timebase = st->time_base;
	d->dec->thread_count = p.threads > 0 ? p.threads : fl_cpu_count();
	d->dec->max_pixels = (int64_t)p.limits.max_width * p.limits.max_height;
	d->max_pkt_pts = AV_NOPTS_VALUE;
	if (p.skip_nonref && p.fps > 0) {
		d->pend = av_malloc_array(64, sizeof(*d->pend));
		if (!d->pend)
			goto nomem;
		d->cap_pend = 64;
	}
	r = avcodec_open2(d->dec, codec, NULL);
	if (r < 0) {
		fl__errf(err, err_size, "%s: cannot open the %s decoder: %s", path, codec->name, av_err2str(r));
		ret = r == AVERROR(ENOMEM) ? FL_ENOMEM : FL_EUNSUPPORTED;
		goto fail;
	}

	if (pthread_mutex_init(&d->mu, NULL) != 0)
		goto nothread;
	if (pthread_cond_init(&d->can_put, NULL) != 0) {
		pthread_mutex_destroy(&d->mu);
		goto nothread;
	}
	if (pthread_cond_init(&d->can_get, NULL) != 0) {
		pthread_cond_destroy(&d->can_put);
		pthread_mutex_destroy(&d->mu);
		goto nothread;
	}
	sync_init = 1;
	if (pthread_create(&d->thread, NULL, decode_thread, d) != 0)
		goto nothread;
	d->thread_started = 1;
	*out = d;
	return 0;

nothread:
	fl__errf(err, err_size, "%s: cannot start the decode thread", path);
	ret = FL_EAGAIN;
	goto fail;
nomem:
	fl__errf(err, err_size, "%s: out of memory", path ? path : "(null)");
	ret = FL_ENOMEM;
fail:
	if (d) {
		if (sync_init) {
			pthread_cond_destroy(&d->can_get);
			pthread_cond_destroy(&d->can_put);
			pthread_mutex_destroy(&d->mu);
		}
		av_frame_free(&d->fr);
		av_packet_free(&d->pkt);
		avcodec_free_context(&d->dec);
		av_freep(&d->pend);
		fl__media_close(&d->in);
		fl_free(d->q);
		fl_free(d->path);
		fl_free(d);
	}
	return ret;
}

int fl_decoder_receive(struct fl_decoder *d, struct fl_frame **out)
{
	int ret;
	*out = NULL;
	if (!d)
		return FL_EINVAL;
	pthread_mutex_lock(&d->mu);
	while (d->q_len == 0 && !d->done && !d->cancel)
		pthread_cond_wait(&d->can_get, &d->mu);
	if (d->cancel) {
		ret = FL_ECANCELED;
	} else if (d->q_len > 0) {
		*out = d->q[d->q_head];
		d->q[d->q_head] = NULL;
		d->q_head = (d->q_head + 1) % d->q_cap;
		d->q_len--;
		pthread_cond_signal(&d->can_put);
		ret = 0;
	} else {
		ret = d->status;
	}
	pthread_mutex_unlock(&d->mu);
	return ret;
}

void fl_decoder_cancel(struct fl_decoder *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	__atomic_store_n(&d->cancel, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&d->can_put);
	pthread_cond_broadcast(&d->can_get);
	pthread_mutex_unlock(&d->mu);
}

void fl_decoder_close(struct fl_decoder *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		fl_decoder_cancel(d);
		pthread_join(d->thread, NULL);
	}
	for (int i = 0; i < d->q_len; i++)
		fl_frame_unref(d->q[(d->q_head + i) % d->q_cap]);
	pthread_cond_destroy(&d->can_get);
	pthread_cond_destroy(&d->can_put);
	pthread_mutex_destroy(&d->mu);
	sws_freeContext(d->sws);
	fl_free(d->scratch);
	av_frame_free(&d->fr);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->dec);
	av_freep(&d->pend);
	fl__media_close(&d->in);
	fl_free(d->q);
	fl_free(d->path);
	fl_free(d);
}

const struct fl_video_info *fl_decoder_info(const struct fl_decoder *d)
{
	return d ? &d->info : NULL;
}

void fl_decoder_stats(struct fl_decoder *d, struct fl_decoder_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	*st = d->st;
	pthread_mutex_unlock(&d->mu);
}

const char *fl_decoder_errmsg(struct fl_decoder *d)
{
	if (!d)
		return "";
	pthread_mutex_lock(&d->mu);
	if (d->done)
		snprintf(d->msg_user, sizeof(d->msg_user), "%s", d->msg);
	else
		d->msg_user[0] = 0;
	pthread_mutex_unlock(&d->mu);
	return d->msg_user;
}
