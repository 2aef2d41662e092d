/*
** annotate.c -- fl_render_annotate(): the source video re-encoded with the
** result drawn on every frame: each face's box in its person's colour, and
** above it a label "P<id>" plus the face's current expression when one is
** named ("P2 happy").
**
** Every frame is decoded (video.c), drawn on straight in its YUV 4:2:0
** planes (draw.c), and re-encoded with libx264 keeping the source's
** timestamps, so frame rate, time base, frame count and duration are the
** source's; audio packets are copied unchanged.  Between analysed frames a
** box follows its track by linear interpolation between the detections
** either side (geometry.c); a track is drawn from its first detection to
** its last plus one analysis interval.  The expression label is the
** result's smoothed one (FL_RESULT_SMOOTH_S, FL_RESULT_EXPRESSION_MIN) of
** the detection at or before the frame; below the threshold only the id is
** written.
*/
#include "render_video_int.h"

#include <libavcodec/avcodec.h>

#include <math.h>
#include <stdio.h>

#include "faceline/fl_vision.h"

struct overlay {
	const struct fl_result *r;
	int **labels;          /* per track, per detection */
	uint8_t (*col)[3];     /* per track: YUV of its person's colour */
	uint8_t (*ink)[3];     /* per track: label text colour */
	double hold, max_gap;
	int th, scale;         /* box line thickness, font scale */
};

static void overlay_free(struct overlay *ov)
{
	if (ov->labels)
		for (int i = 0; i < ov->r->n_tracks; i++)
			fl_free(ov->labels[i]);
	fl_free(ov->labels);
	fl_free(ov->col);
	fl_free(ov->ink);
}

static int overlay_init(struct overlay *ov, const struct fl_result *r, int w, int h)
{
	memset(ov, 0, sizeof(*ov));
	ov->r = r;
	int n = r->n_tracks;
	ov->labels = fl_calloc((size_t)(n ? n : 1), sizeof(*ov->labels));
	ov->col = fl_calloc((size_t)(n ? n : 1), sizeof(*ov->col));
	ov->ink = fl_calloc((size_t)(n ? n : 1), sizeof(*ov->ink));
	if (!ov->labels || !ov->col || !ov->ink)
		return FL_ENOMEM;
	for (int i = 0; i < n; i++) {
		const struct fl_result_track *tk = &r->tracks[i];
		ov->labels[i] = fl_malloc(sizeof(int) * (size_t)(tk->n_detections ? tk->n_detections : 1));
		if (!ov->labels[i])
			return FL_ENOMEM;
		fl__track_labels(tk, ov->labels[i]);
		uint8_t rgb[3];
		fl__person_rgb(tk->person, rgb);
		fl__rgb_to_yuv(rgb[0], rgb[1], rgb[2], ov->col[i]);
		uint8_t ink = ov->col[i][0] > 120 ? 0 : 255;
		fl__rgb_to_yuv(ink, ink, ink, ov->ink[i]);
	}
	ov->hold = fl__result_interval(r);
	ov->max_gap = FL_MAX(1.0, 4.0 * ov->hold);
	int side = FL_MIN(w, h);
	ov->th = FL_MAX(2, (int)lround(side / 180.0)) & ~1;
	ov->scale = FL_MAX(1, (side + 150) / 300);
	return 0;
}

static int even(double v)
{
	long x = lround(v);
	return (int)(x - (x & 1));
}

/* Draw every track shown at time t on img. */
static void overlay_draw(const struct overlay *ov, struct fl__yuv *img, double t)
{
	const struct fl_result *r = ov->r;
	for (int i = 0; i < r->n_tracks; i++) {
		const struct fl_result_track *tk = &r->tracks[i];
		float b[4];
		int det;
		if (!fl__track_box_at(tk, t, ov->hold, ov->max_gap, b, &det))
			continue;
		int x0 = even(b[0]), y0 = even(b[1]), x1 = even(b[0] + b[2]), y1 = even(b[1] + b[3]);
		if (x1 <= x0 || y1 <= y0)
			continue;
		fl__draw_rect(img, x0, y0, x1, y1, ov->th, ov->col[i]);

		char text[64];
		int lab = ov->labels[i][det];
		if (lab >= 0)
			snprintf(text, sizeof(text), "P%d %s", tk->person, fl_expression_label(lab));
		else
			snprintf(text, sizeof(text), "P%d", tk->person);
		int pad = 2 * ov->scale;
		int lw = (fl__text_width(text, ov->scale) + 2 * pad + 1) & ~1;
		int lh = (fl__text_height(ov->scale) + 2 * pad + 1) & ~1;
		/* Above the box; below it when the top is too close to the edge,
		** inside it when neither fits. */
		int ly = y0 - lh;
		if (ly < 0)
			ly = y1 + lh <= img->h ? y1 : y0;
		int lx = x0 + lw > img->w ? img->w - lw : x0;
		if (lx < 0)
			lx = 0;
		fl__draw_fill(img, lx, ly, lx + lw, ly + lh, ov->col[i]);
		fl__draw_text(img, lx + pad, ly + pad, text, ov->scale, ov->ink[i]);
	}
}

int fl_render_annotate(const struct fl_result *r, const char *video, const char *out,
                       const struct fl_render_opts *o, char *err, size_t err_size)
{
	struct fl_render_opts opts;
	struct fl__vin vin;
	struct fl__vout vout;
	struct overlay ov;
	int ret, vout_open = 0;

	memset(&vin, 0, sizeof(vin));
	memset(&ov, 0, sizeof(ov));
	ov.r = r;
	if (!r || !video || !out) {
		fl__errf(err, err_size, "annotate: %s is NULL", !r ? "the result" : !video ? "the video path" : "the output path");
		return FL_EINVAL;
	}
	ret = fl__video_opts(o, &opts, out, err, err_size);
	if (ret < 0)
		return ret;
	ret = fl__vin_open(&vin, video, opts.threads, opts.cancel, err, err_size);
	if (ret < 0)
		return ret;
	ret = fl__vin_check_result(&vin, r, err, err_size);
	if (ret < 0)
		goto done;
	ret = overlay_init(&ov, r, vin.w, vin.h);
	if (ret < 0) {
		fl__errf(err, err_size, "%s: out of memory", out);
		goto done;
	}
	ret = fl__vout_open(&vout, out, &vin, vin.w, vin.h, opts.crf, opts.threads, err, err_size);
	if (ret < 0)
		goto done;
	vout_open = 1;

	for (;;) {
		AVFrame *f;
		AVPacket *pkt;
		ret = fl__vin_read(&vin, &f, &pkt, err, err_size);
		if (ret == FL_EOF) {
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		if (ret == FL__VIN_AUDIO) {
			ret = fl__vout_audio(&vout, pkt, 0, err, err_size);
		} else {
			struct fl__yuv img = {
				{f->data[0], f->data[1], f->data[2]},
				{f->linesize[0], f->linesize[1], f->linesize[2]},
				vin.w,
				vin.h,
			};
			overlay_draw(&ov, &img, vin.t);
			ret = fl__vout_video(&vout, f, err, err_size);
		}
		if (ret < 0)
			break;
	}
	if (ret == 0 && vin.n_decoded == 0) {
		fl__errf(err, err_size, "%s: no frame could be decoded", video);
		ret = FL_EDECODE;
	}

done:
	if (vout_open)
		ret = fl__vout_finish(&vout, ret, err, err_size);
	overlay_free(&ov);
	fl__vin_close(&vin);
	return ret;
}
