/*
** flatbuf.c -- the bounds-checked FlatBuffers reader declared in
** flatbuf_int.h (tables, vtables, vectors, strings, scalars with defaults,
** unions).  It knows nothing about any schema; nn/load/tflite.c walks the
** TFLite schema with it.
**
** Every position is a uint64_t computed from 32-bit file values, so sums
** never wrap; a range [pos, pos + len) is valid when pos + len <= size.
** Reads copy bytes with memcpy and assemble little-endian values by hand,
** so neither the buffer's alignment nor the host's byte order matters.
*/
#include "flatbuf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "faceline/fl_base.h"

/* ------------------------------------------------------------ raw reads */

/* Little-endian loads from a position already checked to be in range. */
static uint32_t ld_u32(const uint8_t *p)
{
	uint8_t b[4];
	memcpy(b, p, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t ld_u16(const uint8_t *p)
{
	uint8_t b[2];
	memcpy(b, p, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint64_t ld_u64(const uint8_t *p)
{
	return (uint64_t)ld_u32(p) | (uint64_t)ld_u32(p + 4) << 32;
}

int fl__fb_fail(struct fl_fb *fb, int status, const char *fmt, ...)
{
	if (fb->status == 0) {
		va_list ap;
		fb->status = status;
		va_start(ap, fmt);
		vsnprintf(fb->msg, sizeof fb->msg, fmt, ap);
		va_end(ap);
	}
	return fb->status;
}

/* Whether [pos, pos + len) lies inside the buffer; records an error (naming
** `what`) when it does not. */
static int in_range(struct fl_fb *fb, uint64_t pos, uint64_t len, const char *what)
{
	if (fb->status)
		return 0;
	if (pos > fb->size || len > fb->size - pos) {
		fl__fb_fail(fb, FL_ETRUNCATED, "%s at offset %llu (%llu bytes) past the end (%zu bytes)", what,
		            (unsigned long long)pos, (unsigned long long)len, fb->size);
		return 0;
	}
	return 1;
}

int fl__fb_init(struct fl_fb *fb, const uint8_t *buf, size_t size, const char *ident)
{
	memset(fb, 0, sizeof *fb);
	fb->buf = buf;
	fb->size = buf ? size : 0;
	if (fb->size < 8)
		return fl__fb_fail(fb, FL_ETRUNCATED, "%zu bytes: too short for a FlatBuffer header", fb->size);
	if (ident && memcmp(buf + 4, ident, 4) != 0) {
		char got[5];
		for (int i = 0; i < 4; i++)
			got[i] = (buf[4 + i] >= 32 && buf[4 + i] < 127) ? (char)buf[4 + i] : '?';
		got[4] = 0;
		return fl__fb_fail(fb, FL_ECORRUPT, "file identifier \"%s\", expected \"%.4s\"", got, ident);
	}
	return 0;
}

/* --------------------------------------------------------------- tables */

/* Set *t to the table at `pos` (reached at `depth`), validating its soffset
** and its vtable.  On error *t is the absent table. */
static int table_at(struct fl_fb *fb, uint64_t pos, int depth, struct fl_fb_table *t)
{
	memset(t, 0, sizeof *t);
	t->fb = fb;
	if (fb->status)
		return fb->status;
	if (depth > FL__FB_MAX_DEPTH)
		return fl__fb_fail(fb, FL_ECORRUPT, "tables nested deeper than %d at offset %llu", FL__FB_MAX_DEPTH,
		                   (unsigned long long)pos);
	if (!in_range(fb, pos, 4, "table"))
		return fb->status;
	/* The vtable is at pos - soffset; soffset may be negative. */
	int32_t soff = (int32_t)ld_u32(fb->buf + pos);
	int64_t vt = (int64_t)pos - (int64_t)soff;
	if (vt < 0)
		return fl__fb_fail(fb, FL_ECORRUPT, "table at offset %llu: vtable offset %d before the start",
		                   (unsigned long long)pos, soff);
	if (!in_range(fb, (uint64_t)vt, 4, "vtable"))
		return fb->status;
	uint16_t vt_size = ld_u16(fb->buf + vt), obj_size = ld_u16(fb->buf + vt + 2);
	if (vt_size < 4 || (vt_size & 1))
		return fl__fb_fail(fb, FL_ECORRUPT, "vtable at offset %lld: bad size %u", (long long)vt, vt_size);
	if (obj_size < 4)
		return fl__fb_fail(fb, FL_ECORRUPT, "table at offset %llu: bad size %u", (unsigned long long)pos,
		                   obj_size);
	if (!in_range(fb, (uint64_t)vt, vt_size, "vtable") || !in_range(fb, pos, obj_size, "table"))
		return fb->status;
	t->pos = pos;
	t->vt = (uint64_t)vt;
	t->vt_size = vt_size;
	t->obj_size = obj_size;
	t->depth = depth;
	return 0;
}

int fl__fb_root(struct fl_fb *fb, struct fl_fb_table *root)
{
	memset(root, 0, sizeof *root);
	root->fb = fb;
	if (fb->status)
		return fb->status;
	return table_at(fb, ld_u32(fb->buf), 0, root);
}

/* Offset of field `id` inside the table (0: absent).  A field that does not
** fit `width` bytes inside the table is an error (returns 0). */
static uint32_t field_off(const struct fl_fb_table *t, int id, uint32_t width)
{
	if (!t->fb || t->fb->status || t->vt_size == 0 || id < 0)
		return 0;
	uint64_t slot = 4 + 2 * (uint64_t)id;
	if (slot + 2 > t->vt_size)
		return 0; /* field newer than the writer's schema: absent */
	uint32_t off = ld_u16(t->fb->buf + t->vt + slot);
	if (off == 0)
		return 0;
	if (off < 4 || (uint64_t)off + width > t->obj_size) {
		fl__fb_fail(t->fb, FL_ECORRUPT, "table at offset %llu: field %d (offset %u, %u bytes) outside the table (%u bytes)",
		            (unsigned long long)t->pos, id, off, width, t->obj_size);
		return 0;
	}
	return off;
}

int fl__fb_has(const struct fl_fb_table *t, int id)
{
	return field_off(t, id, 1) != 0;
}

/* Copy `width` bytes of scalar field `id` into v (little-endian integer);
** returns 0 when absent. */
static int scalar(const struct fl_fb_table *t, int id, uint32_t width, uint64_t *v)
{
	uint32_t off = field_off(t, id, width);
	if (!off)
		return 0;
	const uint8_t *p = t->fb->buf + t->pos + off;
	switch (width) {
	case 1: *v = p[0]; break;
	case 2: *v = ld_u16(p); break;
	case 4: *v = ld_u32(p); break;
	default: *v = ld_u64(p); break;
	}
	return 1;
}

uint8_t fl__fb_u8(const struct fl_fb_table *t, int id, uint8_t def)
{
	uint64_t v;
	return scalar(t, id, 1, &v) ? (uint8_t)v : def;
}

int8_t fl__fb_i8(const struct fl_fb_table *t, int id, int8_t def)
{
	uint64_t v;
	return scalar(t, id, 1, &v) ? (int8_t)(uint8_t)v : def;
}

uint16_t fl__fb_u16(const struct fl_fb_table *t, int id, uint16_t def)
{
	uint64_t v;
	return scalar(t, id, 2, &v) ? (uint16_t)v : def;
}

int32_t fl__fb_i32(const struct fl_fb_table *t, int id, int32_t def)
{
	uint64_t v;
	return scalar(t, id, 4, &v) ? (int32_t)(uint32_t)v : def;
}

uint32_t fl__fb_u32(const struct fl_fb_table *t, int id, uint32_t def)
{
	uint64_t v;
	return scalar(t, id, 4, &v) ? (uint32_t)v : def;
}

int64_t fl__fb_i64(const struct fl_fb_table *t, int id, int64_t def)
{
	uint64_t v;
	return scalar(t, id, 8, &v) ? (int64_t)v : def;
}

uint64_t fl__fb_u64(const struct fl_fb_table *t, int id, uint64_t def)
{
	uint64_t v;
	return scalar(t, id, 8, &v) ? v : def;
}

float fl__fb_f32(const struct fl_fb_table *t, int id, float def)
{
	uint64_t v;
	if (!scalar(t, id, 4, &v))
		return def;
	uint32_t bits = (uint32_t)v;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

/* Follow the uoffset stored at field `id`: 1 and *target when present. */
static int deref(const struct fl_fb_table *t, int id, uint64_t *target)
{
	uint32_t off = field_off(t, id, 4);
	if (!off)
		return t->fb && t->fb->status ? t->fb->status : 0;
	uint64_t at = t->pos + off;
	*target = at + ld_u32(t->fb->buf + at);
	return 1;
}

int fl__fb_table(const struct fl_fb_table *t, int id, struct fl_fb_table *out)
{
	/* out may be t itself (walking down a chain): read t first. */
	struct fl_fb *fb = t->fb;
	int depth = t->depth;
	uint64_t target = 0;
	int r = deref(t, id, &target);
	memset(out, 0, sizeof *out);
	out->fb = fb;
	if (r <= 0)
		return r;
	r = table_at(fb, target, depth + 1, out);
	return r < 0 ? r : 1;
}

/* The vector whose length word is at `pos`. */
static int vector_at(struct fl_fb *fb, uint64_t pos, uint32_t elem_size, int depth, struct fl_fb_vec *out)
{
	if (!in_range(fb, pos, 4, "vector length"))
		return fb->status;
	uint32_t n = ld_u32(fb->buf + pos);
	if (!in_range(fb, pos + 4, (uint64_t)n * elem_size, "vector"))
		return fb->status;
	out->pos = pos + 4;
	out->n = n;
	out->elem_size = elem_size;
	out->depth = depth;
	return 0;
}

int fl__fb_vector(const struct fl_fb_table *t, int id, uint32_t elem_size, struct fl_fb_vec *out)
{
	uint64_t target = 0;
	int r = deref(t, id, &target);
	memset(out, 0, sizeof *out);
	out->fb = t->fb;
	out->elem_size = elem_size;
	if (r <= 0)
		return r;
	r = vector_at(t->fb, target, elem_size, t->depth + 1, out);
	if (r < 0) {
		out->n = 0;
		return r;
	}
	return 1;
}

int fl__fb_string(const struct fl_fb_table *t, int id, const char **s, uint32_t *len)
{
	struct fl_fb_vec v;
	*s = NULL;
	*len = 0;
	int r = fl__fb_vector(t, id, 1, &v);
	if (r <= 0)
		return r;
	/* The NUL after the bytes must be inside the buffer and be a NUL. */
	if (!in_range(t->fb, v.pos + v.n, 1, "string terminator"))
		return t->fb->status;
	if (t->fb->buf[v.pos + v.n] != 0)
		return fl__fb_fail(t->fb, FL_ECORRUPT, "string at offset %llu is not NUL-terminated",
		                   (unsigned long long)v.pos);
	*s = (const char *)t->fb->buf + v.pos;
	*len = v.n;
	return 1;
}

int fl__fb_union(const struct fl_fb_table *t, int type_id, uint8_t *type, struct fl_fb_table *out)
{
	struct fl_fb *fb = t->fb; /* out may be t */
	*type = fl__fb_u8(t, type_id, 0);
	if (*type == 0) {
		memset(out, 0, sizeof *out);
		out->fb = fb;
		return fb && fb->status ? fb->status : 0;
	}
	int r = fl__fb_table(t, type_id + 1, out);
	if (r == 0) /* a type without a value: read as an all-defaults table */
		return 0;
	return r;
}

/* -------------------------------------------------------------- vectors */

/* Position of element i, or 0 with an error recorded. */
static uint64_t elem_pos(const struct fl_fb_vec *v, uint32_t i, uint32_t width)
{
	if (!v->fb || v->fb->status)
		return 0;
	if (i >= v->n || v->elem_size != width) {
		fl__fb_fail(v->fb, FL_ECORRUPT, "vector element %u of %u (%u bytes) read as %u bytes", i, v->n,
		            v->elem_size, width);
		return 0;
	}
	return v->pos + (uint64_t)i * width;
}

int32_t fl__fb_vec_i32(const struct fl_fb_vec *v, uint32_t i)
{
	uint64_t p = elem_pos(v, i, 4);
	return p ? (int32_t)ld_u32(v->fb->buf + p) : 0;
}

int64_t fl__fb_vec_i64(const struct fl_fb_vec *v, uint32_t i)
{
	uint64_t p = elem_pos(v, i, 8);
	return p ? (int64_t)ld_u64(v->fb->buf + p) : 0;
}

uint8_t fl__fb_vec_u8(const struct fl_fb_vec *v, uint32_t i)
{
	uint64_t p = elem_pos(v, i, 1);
	return p ? v->fb->buf[p] : 0;
}

int fl__fb_vec_table(const struct fl_fb_vec *v, uint32_t i, struct fl_fb_table *out)
{
	uint64_t p = elem_pos(v, i, 4);
	memset(out, 0, sizeof *out);
	out->fb = v->fb;
	if (!p)
		return v->fb ? v->fb->status : FL_EINVAL;
	return table_at(v->fb, p + ld_u32(v->fb->buf + p), v->depth + 1, out);
}

const uint8_t *fl__fb_vec_data(const struct fl_fb_vec *v)
{
	return v->fb && v->n ? v->fb->buf + v->pos : NULL;
}
