/*
** flatbuf_int.h -- a small, bounds-checked reader for FlatBuffers, the
** binary format of TFLite models.
**
** A FlatBuffer is a tree of tables addressed by 32-bit offsets inside one
** byte buffer.  Everything here is read from untrusted files, so every
** offset and every length is checked against the buffer before a byte is
** touched, all reads go through memcpy (no unaligned loads), arithmetic is
** done in 64 bits (no wrap-around), and tables carry a depth that is
** bounded (FL__FB_MAX_DEPTH), so a cyclic or absurdly deep file cannot make
** a caller walk forever.
**
** Errors are sticky, like a stream's error flag: the first failure is
** recorded in the struct fl_fb (status + a short message naming the
** offset), and every later call returns an absent/default result without
** reading.  A loader can therefore read a whole record and check
** fl__fb_failed() once, instead of after each field.  Out-of-range
** references (what a truncated file produces) give FL_ETRUNCATED; inner
** inconsistencies (a vtable shorter than its header, a string without its
** terminating NUL, a wrong file identifier) give FL_ECORRUPT.
**
** Wire format, for reference (all little-endian):
**   buffer[0..4)   uoffset of the root table; buffer[4..8) file identifier
**   table at T:    int32 soffset; its vtable is at T - soffset
**   vtable at V:   uint16 vtable size, uint16 table size, then one uint16
**                  per field: the field's offset inside the table (0: absent)
**   reference:     a uint32 at P points to P + value (always forward)
**   vector at V:   uint32 count, then the elements
**   string:        a vector of bytes followed by a NUL
**   union:         a uint8 type field (id n) and a table reference (id n+1)
*/
#ifndef FL_FLATBUF_INT_H
#define FL_FLATBUF_INT_H

#include <stddef.h>
#include <stdint.h>

/* Deepest table nesting a reader follows (TFLite needs about 5). */
#define FL__FB_MAX_DEPTH 32

/* The buffer and the sticky error state.  `buf` is borrowed: it must
** outlive every table and vector read from it. */
struct fl_fb {
	const uint8_t *buf;
	size_t size;
	int status;    /* 0 or the first error (FL_ETRUNCATED, FL_ECORRUPT) */
	char msg[160]; /* what failed, e.g. "vtable at 1234 past the end" */
};

/* A table: its position, its vtable's position and size, its own size.
** A zeroed table (pos 0, vt_size 0) is "absent": every field reads as
** absent and scalars give their defaults. */
struct fl_fb_table {
	struct fl_fb *fb;
	uint64_t pos;
	uint64_t vt;
	uint32_t vt_size;  /* bytes of the vtable, including its 4-byte header */
	uint32_t obj_size; /* bytes of the table, including the soffset */
	int depth;
};

/* A vector: the position of its first element, its count, the element
** size in bytes (checked: pos + n * elem_size <= buffer size). */
struct fl_fb_vec {
	struct fl_fb *fb;
	uint64_t pos;
	uint32_t n;
	uint32_t elem_size;
	int depth;
};

/*
** Start reading `buf[0..size)`.  Checks that the buffer can hold the root
** offset and, if `ident` is not NULL, that bytes 4..8 equal that 4-byte
** file identifier.  Returns 0 or the error (also recorded in fb).
*/
int fl__fb_init(struct fl_fb *fb, const uint8_t *buf, size_t size, const char *ident);
/* Record an error (if none is recorded yet); returns fb->status. */
int fl__fb_fail(struct fl_fb *fb, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether an error has been recorded: 0 or the (negative) status. */
static inline int fl__fb_failed(const struct fl_fb *fb)
{
	return fb->status;
}

/* The root table.  Returns 0 or the error. */
int fl__fb_root(struct fl_fb *fb, struct fl_fb_table *root);

/* Whether field `id` is present in table t. */
int fl__fb_has(const struct fl_fb_table *t, int id);

/* Scalars: field `id` of t, or `def` when absent (or after an error).  A
** field whose bytes lie outside the table is an error. */
uint8_t fl__fb_u8(const struct fl_fb_table *t, int id, uint8_t def);
int8_t fl__fb_i8(const struct fl_fb_table *t, int id, int8_t def);
uint16_t fl__fb_u16(const struct fl_fb_table *t, int id, uint16_t def);
int32_t fl__fb_i32(const struct fl_fb_table *t, int id, int32_t def);
uint32_t fl__fb_u32(const struct fl_fb_table *t, int id, uint32_t def);
int64_t fl__fb_i64(const struct fl_fb_table *t, int id, int64_t def);
uint64_t fl__fb_u64(const struct fl_fb_table *t, int id, uint64_t def);
float fl__fb_f32(const struct fl_fb_table *t, int id, float def);

/* Sub-table at field `id`: 1 and *out set when present, 0 when absent
** (*out is then the absent table), negative on error. */
int fl__fb_table(const struct fl_fb_table *t, int id, struct fl_fb_table *out);
/* Vector at field `id` with elements of `elem_size` bytes: 1 when present,
** 0 when absent (*out is an empty vector), negative on error. */
int fl__fb_vector(const struct fl_fb_table *t, int id, uint32_t elem_size, struct fl_fb_vec *out);
/* String at field `id`: *s points into the buffer (NUL-terminated, the
** terminator checked), *len its length without the NUL.  1 present, 0
** absent (*s = NULL, *len = 0), negative on error. */
int fl__fb_string(const struct fl_fb_table *t, int id, const char **s, uint32_t *len);
/* Union with its type at field `type_id` and its table at type_id + 1:
** *type is 0 (NONE) when absent; 1 when present, 0 absent, <0 error. */
int fl__fb_union(const struct fl_fb_table *t, int type_id, uint8_t *type, struct fl_fb_table *out);

/* Vector elements (i < v->n is the caller's promise; checked anyway and an
** error if not).  The scalar ones read elem_size bytes: build the vector
** with the matching size. */
int32_t fl__fb_vec_i32(const struct fl_fb_vec *v, uint32_t i);
int64_t fl__fb_vec_i64(const struct fl_fb_vec *v, uint32_t i);
uint8_t fl__fb_vec_u8(const struct fl_fb_vec *v, uint32_t i);
/* Element i of a vector of tables (elem_size 4).  Returns 0 or the error. */
int fl__fb_vec_table(const struct fl_fb_vec *v, uint32_t i, struct fl_fb_table *out);
/* Pointer to the raw bytes of the elements (n * elem_size bytes, checked
** when the vector was read; possibly unaligned: copy with memcpy). */
const uint8_t *fl__fb_vec_data(const struct fl_fb_vec *v);

#endif /* FL_FLATBUF_INT_H */
