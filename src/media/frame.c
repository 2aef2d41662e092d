/*
** frame.c -- struct fl_frame: refcounted packed RGB24 pictures.
**
** The struct and its pixels are a single 64-byte aligned allocation (the
** header rounded up to 64 bytes, then the rows, each padded to a multiple
** of 64 bytes, then 64 spare bytes because libswscale's SIMD writers may
** store a few bytes past the last pixel of a row).  The count uses GCC's
** __atomic builtins: increments are relaxed, the decrement that reaches
** zero is acquire-release so the freeing thread sees every write made
** before other holders let go.
*/
#include "media_int.h"
#include "faceline/fl_media.h"

#include <limits.h>

#define HEADER_BYTES (((sizeof(struct fl_frame)) + 63) & ~(size_t)63)

struct fl_frame *fl_frame_alloc(int width, int height)
{
	if (width <= 0 || height <= 0 || width > (1 << 16) || height > (1 << 16))
		return NULL;
	size_t stride = ((size_t)width * 3 + 63) & ~(size_t)63;
	size_t n = HEADER_BYTES + stride * (size_t)height + 64;
	uint8_t *p = fl_aligned_alloc(64, n);
	if (!p)
		return NULL;
	struct fl_frame *f = (struct fl_frame *)p;
	memset(f, 0, sizeof(*f));
	f->refcount = 1;
	f->width = width;
	f->height = height;
	f->stride = (int)stride;
	f->data = p + HEADER_BYTES;
	return f;
}

struct fl_frame *fl_frame_ref(struct fl_frame *f)
{
	if (f)
		__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
	return f;
}

void fl_frame_unref(struct fl_frame *f)
{
	if (f && __atomic_sub_fetch(&f->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		fl_free(f);
}

void fl_frame_unrefp(struct fl_frame **pf)
{
	if (!pf)
		return;
	fl_frame_unref(*pf);
	*pf = NULL;
}
