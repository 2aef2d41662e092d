/*
** clips.c -- fl_render_clips(): one MP4 per person segment,
** "<dir>/person-<id>-<n>.mp4" (n counts the person's segments from 1).
**
** A clip holds the source frames whose times fall in [start, end) of the
** segment (at least one frame), so its length is the segment's to the
** frame; its timestamps start at 0.  The input is opened once; for each
** segment it seeks to the keyframe at or before the start, decodes from
** there and drops the frames before the start.  Video is re-encoded with
** libx264; audio packets whose timestamps fall in the same range are
** copied (shifted by the same origin), so the audio is the source's,
** not re-encoded.
**
** With opts.crop the clip is a square window that follows the person's
** face (geometry.c: ~2.75x the median face size, constant over the clip,
** its centre interpolated between detections and averaged over +-0.5 s,
** clamped inside the frame), scaled with libswscale to opts.crop_size (or
** the window's own side, between 64 and 720 pixels).
**
** A failure (or cancel) removes the clip being written and the clips this
** call already wrote: the directory holds all of them or none.
*/
#include "render_video_int.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

struct clipper {
	const struct fl_result *r;
	struct fl_render_opts o;
	struct fl__vin vin;
	struct SwsContext *sws;
	AVFrame *cf; /* the cropped, scaled frame */
};

/* Write one clip: person pe, segment [t0, t1], to path. */
static int one_clip(struct clipper *c, const struct fl_result_person *pe, double t0, double t1, const char *path,
                    char *err, size_t err_size)
{
	struct fl__vin *v = &c->vin;
	struct fl__vout out;
	struct fl__crop crop;
	double fdur = v->info.fps > 0 ? 1.0 / v->info.fps : 0.04, eps = 0.25 * fdur;
	int ret, ow = v->w, oh = v->h;

	memset(&crop, 0, sizeof(crop));
	if (t1 < t0 + fdur - eps)
		t1 = t0 + fdur; /* a one-detection segment: one frame */
	if (c->o.crop) {
		ret = fl__crop_init(&crop, c->r, pe, t0, t1, v->w, v->h);
		if (ret < 0) {
			fl__errf(err, err_size, "%s: out of memory", path);
			return ret;
		}
		ow = c->o.crop_size > 0 ? c->o.crop_size & ~1 : FL_MIN(FL_MAX(crop.side, 64), 720) & ~1;
		oh = ow;
		c->sws = sws_getCachedContext(c->sws, crop.side, crop.side, AV_PIX_FMT_YUV420P, ow, oh, AV_PIX_FMT_YUV420P,
		                              SWS_BICUBIC, NULL, NULL, NULL);
		if (!c->cf || c->cf->width != ow) {
			av_frame_free(&c->cf);
			c->cf = av_frame_alloc();
			if (c->cf) {
				c->cf->format = AV_PIX_FMT_YUV420P;
				c->cf->width = ow;
				c->cf->height = oh;
			}
			if (!c->cf || av_frame_get_buffer(c->cf, 0) < 0)
				av_frame_free(&c->cf);
		}
		if (!c->sws || !c->cf) {
			fl__errf(err, err_size, "%s: out of memory", path);
			return FL_ENOMEM;
		}
	}
	ret = fl__vout_open(&out, path, v, ow, oh, c->o.crf, c->o.threads, err, err_size);
	if (ret < 0)
		return ret;
	ret = fl__vin_seek(v, t0, err, err_size);
	if (ret < 0)
		return fl__vout_finish(&out, ret, err, err_size);

	/* The clip's origin (the first frame at or after t0, on the frame
	** grid of the average rate) and end in each stream's time base. */
	const AVStream *vst = v->in.fmt->streams[v->in.stream];
	if (v->info.fps > 0)
		t0 = ceil((t0 - eps) * v->info.fps - 1e-9) / v->info.fps;
	int64_t origin = v->first_pts + llround(t0 / v->tb);
	int64_t a_start[8], a_end[8];
	int a_done[8] = {0}, n_audio_done = 0;
	for (int i = 0; i < v->n_audio; i++) {
		AVRational atb = v->in.fmt->streams[v->audio[i]]->time_base;
		a_start[i] = av_rescale_q(origin, vst->time_base, atb);
		a_end[i] = av_rescale_q(v->first_pts + llround(t1 / v->tb), vst->time_base, atb);
		if (out.atrans[i])
			fl__atrans_range(out.atrans[i], 0, a_end[i] - a_start[i]);
	}
	int64_t n_frames = 0;
	int video_done = 0;
	for (;;) {
		AVFrame *f;
		AVPacket *pkt;
		ret = fl__vin_read(v, &f, &pkt, err, err_size);
		if (ret == FL_EOF) {
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		if (ret == FL__VIN_AUDIO) {
			int i = 0;
			while (v->audio[i] != pkt->stream_index)
				i++;
			int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
			ret = 0;
			if (out.atrans[i] && ts != AV_NOPTS_VALUE && !a_done[i] && ts < a_start[i] &&
			    ts + pkt->duration > a_start[i]) {
				/* re-encoded audio is cut to the sample: a packet across the start goes in */
				ret = fl__vout_audio(&out, pkt, a_start[i], err, err_size);
			} else if (ts == AV_NOPTS_VALUE || ts < a_start[i] || a_done[i]) {
				/* before the clip, or after its end */
			} else if (ts >= a_end[i]) {
				a_done[i] = 1;
				n_audio_done++;
			} else {
				ret = fl__vout_audio(&out, pkt, a_start[i], err, err_size);
			}
			/* Audio that ends well before the video does not hold the cut up. */
			double at = (ts == AV_NOPTS_VALUE ? 0 : ts) * av_q2d(v->in.fmt->streams[pkt->stream_index]->time_base) -
			            v->first_pts * v->tb;
			if (!a_done[i] && at > t1 + 1.0) {
				a_done[i] = 1;
				n_audio_done++;
			}
		} else if (!video_done) {
			ret = 0;
			if (v->t < t0 - eps) {
				/* decoded from the keyframe before the start: not in the clip */
			} else if (v->t >= t1 - eps && n_frames > 0) {
				video_done = 1;
			} else {
				AVFrame *e = f;
				if (c->o.crop) {
					int x, y, s = crop.side;
					fl__crop_at(&crop, v->t, &x, &y);
					const uint8_t *src[3] = {
						f->data[0] + (size_t)y * f->linesize[0] + x,
						f->data[1] + (size_t)(y / 2) * f->linesize[1] + x / 2,
						f->data[2] + (size_t)(y / 2) * f->linesize[2] + x / 2,
					};
					if (av_frame_make_writable(c->cf) < 0) {
						fl__errf(err, err_size, "%s: out of memory", path);
						ret = FL_ENOMEM;
						break;
					}
					sws_scale(c->sws, src, f->linesize, 0, s, c->cf->data, c->cf->linesize);
					e = c->cf;
				}
				e->pts = FL_MAX(v->pts - origin, 0);
				ret = fl__vout_video(&out, e, err, err_size);
				n_frames++;
			}
		}
		if (ret < 0)
			break;
		if (video_done && n_audio_done >= v->n_audio)
			break;
	}
	if (ret == 0 && n_frames == 0) {
		fl__errf(err, err_size, "%s: no frame of %s between %.3f and %.3f s could be decoded", path, v->path, t0,
		         t1);
		ret = FL_EDECODE;
	}
	return fl__vout_finish(&out, ret, err, err_size);
}

int fl_render_clips(const struct fl_result *r, const char *video, const char *dir,
                    const struct fl_render_opts *o, char *err, size_t err_size)
{
	struct clipper c;
	struct stat sb;
	char path[FL__PATH_MAX];
	int ret, n_written = 0, n_total = 0;
	char (*written)[FL__PATH_MAX] = NULL;

	memset(&c, 0, sizeof(c));
	if (!r || !video || !dir) {
		fl__errf(err, err_size, "clips: %s is NULL", !r ? "the result" : !video ? "the video path" : "the directory");
		return FL_EINVAL;
	}
	ret = fl__video_opts(o, &c.o, dir, err, err_size);
	if (ret < 0)
		return ret;
	c.r = r;
	if (stat(dir, &sb) != 0) {
		int e = errno;
		fl__errf(err, err_size, "%s: cannot use as the clips directory: %s", dir, strerror(e));
		return fl__errno_status(e);
	}
	if (!S_ISDIR(sb.st_mode)) {
		fl__errf(err, err_size, "%s: not a directory (the clips go into a directory)", dir);
		return FL_ENOENT;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		int e = errno;
		fl__errf(err, err_size, "%s: the clips directory is not writable: %s", dir, strerror(e));
		return fl__errno_status(e);
	}
	for (int p = 0; p < r->n_persons; p++)
		n_total += r->persons[p].n_segments;

	ret = fl__vin_open(&c.vin, video, c.o.threads, c.o.cancel, err, err_size);
	if (ret < 0)
		return ret;
	ret = fl__vin_check_result(&c.vin, r, err, err_size);
	if (ret < 0 || n_total == 0)
		goto done;
	written = fl_calloc((size_t)n_total, sizeof(*written));
	if (!written) {
		fl__errf(err, err_size, "%s: out of memory", dir);
		ret = FL_ENOMEM;
		goto done;
	}
	/* The first frame fixes t = 0 (its timestamp), as in the analyser. */
	for (;;) {
		AVFrame *f;
		AVPacket *pkt;
		ret = fl__vin_read(&c.vin, &f, &pkt, err, err_size);
		if (ret == FL__VIN_VIDEO)
			break;
		if (ret == FL_EOF) {
			fl__errf(err, err_size, "%s: no frame could be decoded", video);
			ret = FL_EDECODE;
		}
		if (ret < 0)
			goto done;
	}
	ret = 0;
	for (int p = 0; p < r->n_persons && ret == 0; p++) {
		const struct fl_result_person *pe = &r->persons[p];
		for (int s = 0; s < pe->n_segments && ret == 0; s++) {
			const struct fl_result_segment *sg = &pe->segments[s];
			int n = snprintf(path, sizeof(path), "%s%sperson-%d-%d.mp4", dir,
			                 dir[strlen(dir) - 1] == '/' ? "" : "/", pe->id, s + 1);
			if (n >= (int)sizeof(path)) {
				fl__errf(err, err_size, "%s: path too long", dir);
				ret = FL_EINVAL;
				break;
			}
			ret = one_clip(&c, pe, sg->start, sg->end, path, err, err_size);
			if (ret == 0)
				snprintf(written[n_written++], FL__PATH_MAX, "%s", path);
		}
	}

done:
	if (ret < 0)
		for (int i = 0; i < n_written; i++)
			unlink(written[i]);
	fl_free(written);
	av_frame_free(&c.cf);
	sws_freeContext(c.sws);
	fl__vin_close(&c.vin);
	return ret < 0 ? ret : n_written;
}
