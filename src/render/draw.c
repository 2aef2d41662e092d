/*
** draw.c -- drawing primitives on planar YUV 4:2:0 pictures, straight on
** the planes the encoder takes (no colour conversion of the frame):
** filled rectangles, rectangle outlines of a given thickness and text in
** the 5x7 font of font.c.
**
** Chroma is subsampled 2x2: a chroma sample takes the colour when the
** shape covers any pixel of its 2x2 luma block.  Callers that want crisp
** colour edges draw at even coordinates and even sizes (annotate.c does).
*/
#include "render_video_int.h"

#include <string.h>

void fl__rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b, uint8_t yuv[3])
{
	/* BT.601 limited range, rounded. */
	double y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
	double u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
	double v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
	yuv[0] = (uint8_t)(y + 0.5);
	yuv[1] = (uint8_t)(u + 0.5);
	yuv[2] = (uint8_t)(v + 0.5);
}

void fl__draw_fill(struct fl__yuv *img, int x0, int y0, int x1, int y1, const uint8_t yuv[3])
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > img->w)
		x1 = img->w;
	if (y1 > img->h)
		y1 = img->h;
	if (x0 >= x1 || y0 >= y1)
		return;
	for (int y = y0; y < y1; y++)
		memset(img->p[0] + (size_t)y * img->stride[0] + x0, yuv[0], (size_t)(x1 - x0));
	int cx0 = x0 / 2, cx1 = (x1 + 1) / 2, cy0 = y0 / 2, cy1 = (y1 + 1) / 2;
	for (int y = cy0; y < cy1; y++) {
		memset(img->p[1] + (size_t)y * img->stride[1] + cx0, yuv[1], (size_t)(cx1 - cx0));
		memset(img->p[2] + (size_t)y * img->stride[2] + cx0, yuv[2], (size_t)(cx1 - cx0));
	}
}

void fl__draw_rect(struct fl__yuv *img, int x0, int y0, int x1, int y1, int th, const uint8_t yuv[3])
{
	if (x1 <= x0 || y1 <= y0 || th <= 0)
		return;
	if (2 * th >= x1 - x0 || 2 * th >= y1 - y0) { /* too small for a hole */
		fl__draw_fill(img, x0, y0, x1, y1, yuv);
		return;
	}
	fl__draw_fill(img, x0, y0, x1, y0 + th, yuv);           /* top */
	fl__draw_fill(img, x0, y1 - th, x1, y1, yuv);           /* bottom */
	fl__draw_fill(img, x0, y0 + th, x0 + th, y1 - th, yuv); /* left */
	fl__draw_fill(img, x1 - th, y0 + th, x1, y1 - th, yuv); /* right */
}

int fl__text_width(const char *s, int scale)
{
	size_t n = strlen(s);
	return n ? (int)n * FL__FONT_ADV * scale - scale : 0;
}

int fl__text_height(int scale)
{
	return FL__FONT_H * scale;
}

void fl__draw_text(struct fl__yuv *img, int x, int y, const char *s, int scale, const uint8_t yuv[3])
{
	for (; *s; s++, x += FL__FONT_ADV * scale) {
		if (x >= img->w)
			break;
		const uint8_t *g = fl__font_glyph((unsigned char)*s);
		for (int row = 0; row < FL__FONT_H; row++) {
			uint8_t bits = g[row];
			/* Runs of ink in a row are filled as one rectangle. */
			for (int col = 0; col < FL__FONT_W;) {
				if (!(bits & (0x10 >> col))) {
					col++;
					continue;
				}
				int c0 = col;
				while (col < FL__FONT_W && (bits & (0x10 >> col)))
					col++;
				fl__draw_fill(img, x + c0 * scale, y + row * scale, x + col * scale, y + (row + 1) * scale, yuv);
			}
		}
	}
}
