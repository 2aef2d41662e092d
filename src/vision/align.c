/*
** align.c -- face alignment for the embedder: the least-squares similarity
** transform (rotation, uniform scale, translation) that takes the five
** FaceMesh points of a face (eye centres, nose tip, mouth corners) onto the
** standard ArcFace 112x112 template, and the warp of the picture into an
** aligned float tensor through it.
**
** Coordinates are continuous on both sides (pixel i covers [i, i+1)): the
** template points and the source points are positions, the centre of
** output pixel u is u + 0.5 and that of source pixel i is i + 0.5.  With the
** same convention on both sides an aligned crop does not move when the
** picture is scaled.
**
** When the face is larger than the output (more than ~1.25 source pixels
** per output pixel), plain bilinear sampling would skip source pixels and
** alias, so each output pixel then averages k x k bilinear samples spread
** over its footprint (k = source pixels per output pixel, rounded, 2 to
** 8).
*/
#include "faceline/fl_vision.h"
#include "base/base_int.h"

#include <math.h>

/* The ArcFace (insightface) template for 112x112 crops, enum
** fl_face_point order. */
const float fl_align_template[5][2] = {
	{38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f},
};

int fl_align_similarity(const float (*src)[2], const float (*dst)[2], int n, float m[6])
{
	if (!src || !dst || !m || n < 2)
		return FL_EINVAL;
	/* Centroids, then the closed form of the 2-D Umeyama solution without
	** reflection: with centred x (source) and y (destination),
	** a = sum(x.y) / sum|x|^2, b = sum(x cross y) / sum|x|^2,
	** M = [a -b; b a], t = mean(y) - M mean(x).  In double: the sums of
	** squares of pixel positions lose digits in float. */
	double mx = 0, my = 0, nx = 0, ny = 0;
	for (int i = 0; i < n; i++) {
		if (!isfinite(src[i][0]) || !isfinite(src[i][1]) || !isfinite(dst[i][0]) || !isfinite(dst[i][1]))
			return FL_EINVAL;
		mx += src[i][0];
		my += src[i][1];
		nx += dst[i][0];
		ny += dst[i][1];
	}
	mx /= n;
	my /= n;
	nx /= n;
	ny /= n;
	double sxx = 0, dot = 0, cross = 0;
	for (int i = 0; i < n; i++) {
		const double x0 = src[i][0] - mx, x1 = src[i][1] - my;
		const double y0 = dst[i][0] - nx, y1 = dst[i][1] - ny;
		sxx += x0 * x0 + x1 * x1;
		dot += x0 * y0 + x1 * y1;
		cross += x0 * y1 - x1 * y0;
	}
	if (!(sxx > 1e-12))
		return FL_EINVAL; /* all source points in one place */
	const double a = dot / sxx, b = cross / sxx;
	if (!(a * a + b * b > 1e-20))
		return FL_EINVAL; /* destination points all in one place */
	m[0] = (float)a;
	m[1] = (float)-b;
	m[2] = (float)(nx - (a * mx - b * my));
	m[3] = (float)b;
	m[4] = (float)a;
	m[5] = (float)(ny - (b * mx + a * my));
	return 0;
}

int fl_align_face_map(const float points[5][2], int size, float m[6])
{
	float dst[5][2], fwd[6];
	int r;

	if (!points || !m || size <= 0 || size > 4096)
		return FL_EINVAL;
	for (int i = 0; i < 5; i++) {
		dst[i][0] = fl_align_template[i][0] * (float)size / 112.0f;
		dst[i][1] = fl_align_template[i][1] * (float)size / 112.0f;
	}
	if ((r = fl_align_similarity(points, (const float (*)[2])dst, 5, fwd)) < 0)
		return r;
	/* Invert the forward map (source -> template): with M = [a -b; b a],
	** M^-1 = [a b; -b a] / (a^2 + b^2).  Then move to pixel indices: the
	** output position is u + 0.5, the source index is position - 0.5. */
	const double a = fwd[0], b = fwd[3], d = a * a + b * b;
	const double ia = a / d, ib = b / d;
	const double tx = fwd[2], ty = fwd[5];
	const double ox = -(ia * tx + ib * ty), oy = -(-ib * tx + ia * ty);
	m[0] = (float)ia;
	m[1] = (float)ib;
	m[2] = (float)(ox + 0.5 * (ia + ib) - 0.5);
	m[3] = (float)-ib;
	m[4] = (float)ia;
	m[5] = (float)(oy + 0.5 * (ia - ib) - 0.5);
	return 0;
}

/* One bilinear sample of img at pixel-index position (x, y) into acc[3]
** (pixel values), or pad when outside [0, w-1] x [0, h-1] -- the rule of
** fl_image_warp_to_tensor. */
static void sample(const struct fl_image *img, float x, float y, float pad, float acc[3])
{
	if (!(x >= 0.0f && x <= (float)(img->width - 1) && y >= 0.0f && y <= (float)(img->height - 1))) {
		acc[0] += pad;
		acc[1] += pad;
		acc[2] += pad;
		return;
	}
	const int x0 = (int)x, y0 = (int)y;
	const int x1 = FL_MIN(x0 + 1, img->width - 1), y1 = FL_MIN(y0 + 1, img->height - 1);
	const float wx = x - (float)x0, wy = y - (float)y0;
	const uint8_t *r0 = img->data + (size_t)y0 * img->stride, *r1 = img->data + (size_t)y1 * img->stride;
	const uint8_t *a = r0 + 3 * x0, *b = r0 + 3 * x1, *c = r1 + 3 * x0, *d = r1 + 3 * x1;
	for (int ch = 0; ch < 3; ch++) {
		float top = (float)a[ch] + ((float)b[ch] - (float)a[ch]) * wx;
		float bot = (float)c[ch] + ((float)d[ch] - (float)c[ch]) * wx;
		acc[ch] += top + (bot - top) * wy;
	}
}

int fl_align_face(const struct fl_image *img, const float points[5][2], int size, float *out)
{
	/* (x - 127.5) / 128, and 127.5 (0 after normalisation) outside. */
	const float scale = 1.0f / 128.0f, offset = -127.5f / 128.0f, pad = 127.5f;
	float m[6];
	int r;

	if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->stride < 3 * img->width || !out)
		return FL_EINVAL;
	if ((r = fl_align_face_map(points, size, m)) < 0)
		return r;
	/* Source pixels per output pixel. */
	const float step = sqrtf(m[0] * m[0] + m[3] * m[3]);
	if (step <= 1.25f)
		return fl_image_warp_to_tensor(img, m, size, size, scale, offset, pad, out);
	/* k sub-samples per axis about one source pixel apart: each bilinear
	** sample already spans two source pixels, so together they cover the
	** footprint without gaps. */
	const int k = FL_MIN(8, FL_MAX(2, (int)(step + 0.5f)));
	const float inv = 1.0f / (float)(k * k);
	for (int v = 0; v < size; v++)
		for (int u = 0; u < size; u++) {
			float acc[3] = {0, 0, 0};
			for (int j = 0; j < k; j++) {
				/* sub-sample positions (i + 0.5)/k - 0.5 around the pixel centre */
				const float fv = (float)v + ((float)j + 0.5f) / (float)k - 0.5f;
				for (int i = 0; i < k; i++) {
					const float fu = (float)u + ((float)i + 0.5f) / (float)k - 0.5f;
					sample(img, m[0] * fu + m[1] * fv + m[2], m[3] * fu + m[4] * fv + m[5], pad, acc);
				}
			}
			float *q = out + ((size_t)v * size + u) * 3;
			for (int ch = 0; ch < 3; ch++)
				q[ch] = acc[ch] * inv * scale + offset;
		}
	return 0;
}
