/*
** opts.c -- the defaults of struct fl_render_opts (fl_render.h).
*/
#include "render_video_int.h"

struct fl_render_opts fl_render_default_opts(void)
{
	struct fl_render_opts o = {
		.threads = 0,
		.crop = 0,
		.crop_size = 0,
		.crf = 23,
		.cancel = NULL,
	};
	return o;
}

/* Resolve and check the options of the video writers. */
int fl__video_opts(const struct fl_render_opts *o, struct fl_render_opts *out, const char *what, char *err,
                   size_t err_size)
{
	*out = o ? *o : fl_render_default_opts();
	if (out->crf == 0)
		out->crf = 23;
	if (out->crf < 0 || out->crf > 51) {
		fl__errf(err, err_size, "%s: crf %d is outside 1..51", what, out->crf);
		return FL_EINVAL;
	}
	if (out->threads < 0 || out->threads > 256) {
		fl__errf(err, err_size, "%s: threads %d is outside 0..256", what, out->threads);
		return FL_EINVAL;
	}
	if (out->crop_size < 0 || out->crop_size == 1 || out->crop_size > 8192) {
		fl__errf(err, err_size, "%s: crop size %d is outside 2..8192 (0 = automatic)", what, out->crop_size);
		return FL_EINVAL;
	}
	if (out->threads == 0)
		out->threads = fl_cpu_count();
	return 0;
}
