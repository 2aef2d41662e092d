/*
** resize.c -- bilinear resize and crop-and-resize of RGB8 images, into a
** normalised float NHWC tensor (model input) or into another image.
**
** One geometry serves every case.  Per axis, the crop [c, c+len) of the
** source is scaled by s into the output, starting at output position pad:
**   STRETCH  s = out/len per axis, pad = 0;
**   FIT      s = min over both axes of out/len, pad = floor((out - len*s)/2)
**            per axis, so the crop is centred and the rest is padding.
** Output pixel u samples the source at index
**   HALF_PIXEL  c + (u + 0.5 - pad)/s - 0.5
**   LEGACY      c + (u - pad)/s          (TF1 resize_bilinear, used by human)
**   TF_CROP     (c + u*len/(out-1)) * (n-1)/n   (tf.image.cropAndResize with
**               the box [c/n, (c+len)/n] normalised by the source size n;
**               STRETCH only; human cuts FaceMesh's input this way)
** with bilinear weights between the two neighbouring source pixels (edges
** clamped).  Output pixels outside the crop's area, and samples whose
** position lies outside the source image, take pad_value.
**
** fl_image_warp_to_tensor() samples along any affine map instead (rotated
** face crops), with the same bilinear weights and CropAndResize's rule for
** samples outside the picture.
*/
#include "faceline/fl_vision.h"
#include "base/base_int.h"

#include <math.h>

struct fl_resize_params fl_resize_default_params(void)
{
	struct fl_resize_params p = {0};
	p.mode = FL_RESIZE_STRETCH;
	p.sample = FL_SAMPLE_HALF_PIXEL;
	p.scale = 1.0f;
	p.offset = 0.0f;
	p.pad_value = 0.0f;
	return p;
}

/* Per output column (or row): the two source indices, the weight of the
** second one, and whether the sample is real (else padding). */
struct tap {
	int i0, i1;
	float w1;
	int valid;
};

/* Fill taps[0..n_out) for one axis.  c, len: crop; n_src: source size. */
static void make_taps(struct tap *taps, int n_out, float c, float len, float inv, float pad, int n_src,
                      enum fl_sample_mode mode)
{
	/* inv = 1/s, computed as len/out like TF does (1920/256 is exact,
	** 1/(256/1920) is not). */
	/* TF_CROP: CropAndResize's own arithmetic, in float like TF: the box
	** edges normalised by the source size, then scaled by (n-1); samples
	** outside [0, n-1] are padding (its extrapolation value). */
	const float n1 = (float)(n_src - 1);
	const float y1 = c / (float)n_src, y2 = (c + len) / (float)n_src;
	const float crop_step = n_out > 1 ? (y2 - y1) * n1 / (float)(n_out - 1) : 0.0f;
	for (int u = 0; u < n_out; u++) {
		struct tap *t = &taps[u];
		float centre = (float)u + 0.5f; /* continuous output position */
		float pos;
		if (mode == FL_SAMPLE_TF_CROP) {
			pos = n_out > 1 ? y1 * n1 + (float)u * crop_step : 0.5f * (y1 + y2) * n1;
			t->valid = pos >= 0.0f && pos <= n1;
		} else {
			pos = mode == FL_SAMPLE_LEGACY ? c + ((float)u - pad) * inv : c + (centre - pad) * inv - 0.5f;
			/* In the crop's area of the output, and on the source image? */
			t->valid =
				centre >= pad && (centre - pad) * inv <= len && pos + 0.5f >= 0.0f && pos + 0.5f <= (float)n_src;
		}
		float f = floorf(pos);
		int i0 = (int)f;
		float w1 = pos - f;
		if (i0 < 0) {
			i0 = 0;
			w1 = 0.0f;
		}
		if (i0 > n_src - 1) {
			i0 = n_src - 1;
			w1 = 0.0f;
		}
		t->i0 = i0;
		t->i1 = FL_MIN(i0 + 1, n_src - 1);
		t->w1 = w1;
	}
}

/* Validate and compute the geometry: scales, pads and the map. */
static int geometry(const struct fl_image *img, const struct fl_resize_params *p, float *cx, float *cy, float *cw,
                    float *ch, float *ix, float *iy, float *px, float *py)
{
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || !p ||
	    p->out_w <= 0 || p->out_h <= 0 || p->out_w > 65536 || p->out_h > 65536)
		return FL_EINVAL;
	*cx = p->crop_x;
	*cy = p->crop_y;
	*cw = p->crop_w;
	*ch = p->crop_h;
	if (!(*cw > 0) || !(*ch > 0)) {
		*cx = 0;
		*cy = 0;
		*cw = (float)img->width;
		*ch = (float)img->height;
	}
	if (!isfinite(*cx) || !isfinite(*cy) || !isfinite(*cw) || !isfinite(*ch))
		return FL_EINVAL;
	if (p->sample == FL_SAMPLE_TF_CROP && p->mode != FL_RESIZE_STRETCH)
		return FL_EINVAL;
	/* Inverse scales: source pixels per output pixel. */
	*ix = *cw / (float)p->out_w;
	*iy = *ch / (float)p->out_h;
	*px = *py = 0;
	if (p->mode == FL_RESIZE_FIT) {
		float inv = FL_MAX(*ix, *iy);
		*ix = *iy = inv;
		*px = floorf(((float)p->out_w - *cw / inv) * 0.5f);
		*py = floorf(((float)p->out_h - *ch / inv) * 0.5f);
	}
	return 0;
}

/*
** The shared core: writes out_h rows of out_w*3 floats in pixel units
** (0..255, or pad_value) to dst, row after row, dst_row_stride floats apart.
** emit(opaque, y, row) is called after each row when not NULL.
*/
static int resize_core(const struct fl_image *img, const struct fl_resize_params *p, float *dst,
                       size_t dst_row_stride, void (*emit)(void *, int, const float *), void *opaque,
                       struct fl_resize_map *map)
{
	float cx, cy, cw, ch, ix, iy, px, py;
	int r = geometry(img, p, &cx, &cy, &cw, &ch, &ix, &iy, &px, &py);
	if (r < 0)
		return r;
	struct tap *tx = fl_malloc(sizeof(*tx) * (size_t)p->out_w);
	struct tap *ty = fl_malloc(sizeof(*ty) * (size_t)p->out_h);
	if (!tx || !ty) {
		fl_free(tx);
		fl_free(ty);
		return FL_ENOMEM;
	}
	make_taps(tx, p->out_w, cx, cw, ix, px, img->width, p->sample);
	make_taps(ty, p->out_h, cy, ch, iy, py, img->height, p->sample);
	const float pv = p->pad_value;
	for (int v = 0; v < p->out_h; v++) {
		float *o = dst + (emit ? 0 : (size_t)v * dst_row_stride);
		const struct tap *t = &ty[v];
		if (!t->valid) {
			for (int i = 0; i < 3 * p->out_w; i++)
				o[i] = pv;
		} else {
			const uint8_t *r0 = img->data + (size_t)t->i0 * img->stride;
			const uint8_t *r1 = img->data + (size_t)t->i1 * img->stride;
			const float wy = t->w1;
			for (int u = 0; u < p->out_w; u++) {
				const struct tap *k = &tx[u];
				float *q = o + 3 * u;
				if (!k->valid) {
					q[0] = q[1] = q[2] = pv;
					continue;
				}
				const uint8_t *a = r0 + 3 * k->i0, *b = r0 + 3 * k->i1;
				const uint8_t *c = r1 + 3 * k->i0, *d = r1 + 3 * k->i1;
				const float wx = k->w1;
				for (int ch3 = 0; ch3 < 3; ch3++) {
					/* TF's order: lerp along x on both rows, then along y. */
					float top = (float)a[ch3] + ((float)b[ch3] - (float)a[ch3]) * wx;
					float bot = (float)c[ch3] + ((float)d[ch3] - (float)c[ch3]) * wx;
					q[ch3] = top + (bot - top) * wy;
				}
			}
		}
		if (emit)
			emit(opaque, v, o);
	}
	if (map) {
		map->scale_x = ix;
		map->scale_y = iy;
		map->off_x = cx - px * ix;
		map->off_y = cy - py * iy;
	}
	fl_free(tx);
	fl_free(ty);
	return 0;
}

int fl_image_resize_to_tensor(const struct fl_image *img, const struct fl_resize_params *params, float *out,
                              struct fl_resize_map *map)
{
	if (!out)
		return FL_EINVAL;
	int r = resize_core(img, params, out, (size_t)params->out_w * 3, NULL, NULL, map);
	if (r < 0)
		return r;
	/* Normalise in place; skip the identity. */
	if (params->scale != 1.0f || params->offset != 0.0f) {
		size_t n = (size_t)params->out_w * params->out_h * 3;
		const float s = params->scale, b = params->offset;
		for (size_t i = 0; i < n; i++)
			out[i] = out[i] * s + b;
	}
	return 0;
}

struct emit_image {
	struct fl_image *dst;
};

static void emit_row(void *opaque, int y, const float *row)
{
	struct emit_image *e = opaque;
	uint8_t *o = e->dst->data + (size_t)y * e->dst->stride;
	for (int i = 0; i < 3 * e->dst->width; i++) {
		float v = row[i] + 0.5f;
		o[i] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
	}
}

int fl_image_resize(const struct fl_image *src, const struct fl_resize_params *params, struct fl_image *dst,
                    struct fl_resize_map *map)
{
	if (!params || !dst || !dst->data || dst->width != params->out_w || dst->height != params->out_h)
		return FL_EINVAL;
	float *row = fl_malloc(sizeof(float) * 3 * (size_t)params->out_w);
	if (!row)
		return FL_ENOMEM;
	struct emit_image e = {dst};
	int r = resize_core(src, params, row, 0, emit_row, &e, map);
	fl_free(row);
	return r;
}

/* ----------------------------------------------------------- affine warp */

int fl_image_warp_to_tensor(const struct fl_image *img, const float m[6], int out_w, int out_h, float scale,
                            float offset, float pad_value, float *out)
{
	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || !m || !out ||
	    out_w <= 0 || out_h <= 0 || out_w > 65536 || out_h > 65536)
		return FL_EINVAL;
	for (int k = 0; k < 6; k++)
		if (!isfinite(m[k]))
			return FL_EINVAL;
	const float xmax = (float)(img->width - 1), ymax = (float)(img->height - 1);
	const float pv = pad_value * scale + offset;
	for (int v = 0; v < out_h; v++)
		for (int u = 0; u < out_w; u++) {
			float *q = out + ((size_t)v * out_w + u) * 3;
			const float x = m[0] * (float)u + m[1] * (float)v + m[2];
			const float y = m[3] * (float)u + m[4] * (float)v + m[5];
			/* Outside [0, n-1]: padding, as CropAndResize does. */
			if (!(x >= 0.0f && x <= xmax && y >= 0.0f && y <= ymax)) {
				q[0] = q[1] = q[2] = pv;
				continue;
			}
			const int x0 = (int)x, y0 = (int)y; /* floor: both are >= 0 */
			const int x1 = FL_MIN(x0 + 1, img->width - 1), y1 = FL_MIN(y0 + 1, img->height - 1);
			const float wx = x - (float)x0, wy = y - (float)y0;
			const uint8_t *r0 = img->data + (size_t)y0 * img->stride, *r1 = img->data + (size_t)y1 * img->stride;
			const uint8_t *a = r0 + 3 * x0, *b = r0 + 3 * x1, *c = r1 + 3 * x0, *d = r1 + 3 * x1;
			for (int ch = 0; ch < 3; ch++) {
				float top = (float)a[ch] + ((float)b[ch] - (float)a[ch]) * wx;
				float bot = (float)c[ch] + ((float)d[ch] - (float)c[ch]) * wx;
				q[ch] = (top + (bot - top) * wy) * scale + offset;
			}
		}
	return 0;
}
