/*
** flatbuf.c -- tests of the bounds-checked FlatBuffers reader
** (src/nn/load/flatbuf.c) on hand-built buffers: fields, defaults,
** vectors, strings, unions, and each kind of bad offset (root, vtable,
** field, vector length, string terminator), unaligned buffers, cycles
** (the depth bound) and the sticky error.
*/
#include "fl_test.h"

#include "load_tflite_gen.h"
#include "nn/load/flatbuf_int.h"
#include "nn/nn_int.h"

static struct fbw W;

/*
** A root table with: field 0 int32 = -7, field 1 uint8 = 200, field 2 a
** vector of 3 int32, field 3 a string "hi", field 4 a float 1.5, field 6
** a sub-table (field 0 = 42), field 7/8 a union of type 3 whose table has
** field 0 = 9.  Field 5 is absent.  Returns the buffer size; *pos gets the
** field positions of the root (for corrupting them).
*/
static size_t build(size_t *pos)
{
	float f15 = 1.5f;
	uint32_t fbits;
	memcpy(&fbits, &f15, 4);
	W.n = 0;
	uint32_t zero = 0;
	fbw_put(&W, &zero, 4);
	fbw_put(&W, "TEST", 4);
	struct fbf rf[] = {{0, 4, (uint32_t)-7}, {1, 1, 200}, {2, 4, 0}, {3, 4, 0}, {4, 4, fbits}, {6, 4, 0},
	                   {7, 1, 3}, {8, 4, 0}};
	size_t root = fbw_table(&W, rf, 8, pos);
	fbw_ref(&W, 0, root);
	size_t p2 = pos[2], p3 = pos[3], p6 = pos[6], p8 = pos[8];
	int32_t v3[3] = {10, -20, 30};
	fbw_ref(&W, p2, fbw_vec(&W, v3, 3, 4));
	fbw_ref(&W, p3, fbw_string(&W, "hi"));
	struct fbf sf[] = {{0, 4, 42}};
	fbw_ref(&W, p6, fbw_table(&W, sf, 1, NULL));
	struct fbf uf[] = {{0, 4, 9}};
	fbw_ref(&W, p8, fbw_table(&W, uf, 1, NULL));
	return W.n;
}

FL_TEST(flatbuf_read)
{
	size_t pos[16];
	size_t n = build(pos);
	struct fl_fb fb;
	struct fl_fb_table t, sub, u;
	struct fl_fb_vec v;
	const char *s;
	uint32_t len;
	uint8_t type;

	ASSERT_OK(fl__fb_init(&fb, W.b, n, "TEST"));
	ASSERT_OK(fl__fb_root(&fb, &t));
	ASSERT_EQ(fl__fb_i32(&t, 0, 0), -7);
	ASSERT_EQ(fl__fb_u8(&t, 1, 0), 200);
	ASSERT_EQ(fl__fb_i8(&t, 1, 0), -56);
	ASSERT_NEAR(fl__fb_f32(&t, 4, 0), 1.5, 0);
	/* Absent fields and fields beyond the vtable give the default. */
	ASSERT_EQ(fl__fb_i32(&t, 5, 77), 77);
	ASSERT_EQ(fl__fb_i32(&t, 40, 78), 78);
	ASSERT(!fl__fb_has(&t, 5));
	ASSERT(fl__fb_has(&t, 4));
	ASSERT_EQ(fl__fb_vector(&t, 2, 4, &v), 1);
	ASSERT_EQ(v.n, 3);
	ASSERT_EQ(fl__fb_vec_i32(&v, 1), -20);
	ASSERT_EQ(fl__fb_vector(&t, 5, 4, &v), 0);
	ASSERT_EQ(v.n, 0);
	ASSERT_EQ(fl__fb_string(&t, 3, &s, &len), 1);
	ASSERT_EQ(len, 2);
	ASSERT(!strcmp(s, "hi"));
	ASSERT_EQ(fl__fb_table(&t, 6, &sub), 1);
	ASSERT_EQ(fl__fb_i32(&sub, 0, 0), 42);
	ASSERT_EQ(fl__fb_table(&t, 5, &sub), 0);
	ASSERT_EQ(fl__fb_i32(&sub, 0, 5), 5); /* the absent table reads defaults */
	ASSERT_EQ(fl__fb_union(&t, 7, &type, &u), 1);
	ASSERT_EQ(type, 3);
	ASSERT_EQ(fl__fb_i32(&u, 0, 0), 9);
	ASSERT_EQ(fl__fb_failed(&fb), 0);

	/* Reading an element past the end of a vector is an error, sticky. */
	fl__fb_vector(&t, 2, 4, &v);
	ASSERT_EQ(fl__fb_vec_i32(&v, 3), 0);
	ASSERT_EQ(fl__fb_failed(&fb), FL_ECORRUPT);
	ASSERT_EQ(fl__fb_i32(&t, 0, 123), 123);
}

FL_TEST(flatbuf_unaligned)
{
	/* The same buffer at an odd address reads the same values. */
	size_t pos[16];
	size_t n = build(pos);
	uint8_t *raw = malloc(n + 3);
	memcpy(raw + 3, W.b, n);
	struct fl_fb fb;
	struct fl_fb_table t;
	struct fl_fb_vec v;
	ASSERT_OK(fl__fb_init(&fb, raw + 3, n, "TEST"));
	ASSERT_OK(fl__fb_root(&fb, &t));
	ASSERT_EQ(fl__fb_i32(&t, 0, 0), -7);
	fl__fb_vector(&t, 2, 4, &v);
	ASSERT_EQ(fl__fb_vec_i32(&v, 2), 30);
	ASSERT_EQ(fl__fb_failed(&fb), 0);

	/* A table at an odd offset inside the buffer (writers align, but the
	** reader must not need it): move the root by one byte. */
	memmove(raw + 1, raw + 3, n);
	uint32_t root;
	memcpy(&root, raw + 1, 4);
	ASSERT_OK(fl__fb_init(&fb, raw + 1, n, NULL));
	ASSERT_OK(fl__fb_root(&fb, &t));
	ASSERT_EQ(fl__fb_u8(&t, 1, 0), 200);
	free(raw);
}

/* Corrupt W (a copy of the good buffer) with `fn`, read everything, and
** return the sticky status. */
static int read_all(const uint8_t *b, size_t n)
{
	struct fl_fb fb;
	struct fl_fb_table t, sub, u;
	struct fl_fb_vec v;
	const char *s;
	uint32_t len;
	uint8_t type;
	/* Copy to an exact-size heap block so ASan traps any overread. */
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, b, n);
	if (fl__fb_init(&fb, c, n, "TEST") == 0 && fl__fb_root(&fb, &t) == 0) {
		fl__fb_i32(&t, 0, 0);
		fl__fb_u8(&t, 1, 0);
		fl__fb_f32(&t, 4, 0);
		if (fl__fb_vector(&t, 2, 4, &v) > 0)
			for (uint32_t i = 0; i < v.n && i < 1000; i++)
				fl__fb_vec_i32(&v, i);
		fl__fb_string(&t, 3, &s, &len);
		fl__fb_table(&t, 6, &sub);
		fl__fb_i32(&sub, 0, 0);
		fl__fb_union(&t, 7, &type, &u);
		fl__fb_i32(&u, 0, 0);
	}
	free(c);
	return fb.status;
}

FL_TEST(flatbuf_bad_offsets)
{
	size_t pos[16];
	size_t n = build(pos);
	uint8_t good[FBW_CAP];
	memcpy(good, W.b, n);
	size_t root;
	{
		uint32_t r0;
		memcpy(&r0, good, 4);
		root = r0;
	}
	ASSERT_EQ(read_all(good, n), 0);

	/* Too short, wrong identifier. */
	ASSERT_EQ(read_all(good, 7), FL_ETRUNCATED);
	memcpy(W.b, good, n);
	W.b[4] = 'X';
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);

	/* Root offset past the end. */
	memcpy(W.b, good, n);
	fbw_u32at(&W, 0, (uint32_t)n + 100);
	ASSERT_EQ(read_all(W.b, n), FL_ETRUNCATED);

	/* vtable outside the buffer: soffset pointing far after / before. */
	memcpy(W.b, good, n);
	fbw_u32at(&W, root, (uint32_t)-100000);
	ASSERT_EQ(read_all(W.b, n), FL_ETRUNCATED);
	memcpy(W.b, good, n);
	fbw_u32at(&W, root, (uint32_t)(root + 8));
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);

	/* vtable with an odd or too small size; table size below 4. */
	int32_t soff;
	memcpy(&soff, good + root, 4);
	size_t vt = root - (size_t)soff;
	memcpy(W.b, good, n);
	W.b[vt] = 3;
	W.b[vt + 1] = 0;
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);
	memcpy(W.b, good, n);
	W.b[vt + 2] = 2;
	W.b[vt + 3] = 0;
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);
	/* vtable claiming more bytes than the buffer has. */
	memcpy(W.b, good, n);
	W.b[vt] = 0xfe;
	W.b[vt + 1] = 0xff;
	ASSERT_EQ(read_all(W.b, n), FL_ETRUNCATED);

	/* A field offset beyond the table's size. */
	memcpy(W.b, good, n);
	W.b[vt + 4] = 0xf0;
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);

	/* A vector length larger than the buffer. */
	memcpy(W.b, good, n);
	{
		uint32_t rel;
		memcpy(&rel, good + pos[2], 4);
		fbw_u32at(&W, pos[2] + rel, 0x40000000u);
	}
	ASSERT_EQ(read_all(W.b, n), FL_ETRUNCATED);

	/* A reference past the end. */
	memcpy(W.b, good, n);
	fbw_u32at(&W, pos[6], 0xfffffff0u);
	ASSERT_EQ(read_all(W.b, n), FL_ETRUNCATED);

	/* A string without its NUL. */
	memcpy(W.b, good, n);
	{
		uint32_t rel;
		memcpy(&rel, good + pos[3], 4);
		W.b[pos[3] + rel + 4 + 2] = 'x';
	}
	ASSERT_EQ(read_all(W.b, n), FL_ECORRUPT);

	/* Every truncation of the good buffer: an error or a clean read. */
	for (size_t cut = 0; cut < n; cut++) {
		int r = read_all(good, cut);
		ASSERT_MSG(r == 0 || r == FL_ETRUNCATED || r == FL_ECORRUPT, "cut %zu: %d", cut, r);
	}
	/* Every single-byte change: never a crash (ASan/UBSan builds check
	** the reads). */
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			memcpy(W.b, good, n);
			W.b[i] ^= (uint8_t)(1 << b);
			read_all(W.b, n);
		}
}

FL_TEST(flatbuf_no_cycles)
{
	/* A cycle needs a backward reference; references are unsigned forward
	** offsets summed in 64 bits, so table b "pointing back" at itself
	** (b - slot, wrapped to 32 bits) lands past the end instead. */
	W.n = 0;
	uint32_t zero = 0;
	fbw_put(&W, &zero, 4);
	fbw_put(&W, "TEST", 4);
	size_t pos[4];
	struct fbf f[] = {{0, 4, 0}};
	size_t a = fbw_table(&W, f, 1, pos);
	size_t pa = pos[0];
	size_t b = fbw_table(&W, f, 1, pos);
	fbw_ref(&W, 0, a);
	fbw_ref(&W, pa, b);
	fbw_u32at(&W, pos[0], (uint32_t)(b - pos[0]));
	struct fl_fb fb;
	struct fl_fb_table t;
	ASSERT_OK(fl__fb_init(&fb, W.b, W.n, NULL));
	ASSERT_OK(fl__fb_root(&fb, &t));
	int steps = 0;
	while (steps < 1000 && fl__fb_table(&t, 0, &t) > 0)
		steps++;
	ASSERT_EQ(steps, 1);
	ASSERT_EQ(fl__fb_failed(&fb), FL_ETRUNCATED);
}

FL_TEST(flatbuf_depth_bound)
{
	/* A chain of 40 nested tables: the reader stops at FL__FB_MAX_DEPTH. */
	W.n = 0;
	uint32_t zero = 0;
	fbw_put(&W, &zero, 4);
	fbw_put(&W, "TEST", 4);
	size_t pos[4], slot = 0;
	struct fbf f[] = {{0, 4, 0}};
	for (int i = 0; i < 40; i++) {
		size_t t = fbw_table(&W, f, 1, pos);
		if (i == 0)
			fbw_ref(&W, 0, t);
		else
			fbw_ref(&W, slot, t);
		slot = pos[0];
	}
	fbw_u32at(&W, slot, 0);
	struct fl_fb fb;
	struct fl_fb_table t;
	ASSERT_OK(fl__fb_init(&fb, W.b, W.n, NULL));
	ASSERT_OK(fl__fb_root(&fb, &t));
	int depth = 0;
	while (fl__fb_table(&t, 0, &t) > 0)
		depth++;
	ASSERT_EQ(depth, FL__FB_MAX_DEPTH);
	ASSERT_EQ(fl__fb_failed(&fb), FL_ECORRUPT);
	ASSERT_STR_CONTAINS(fb.msg, "nested deeper");
}
