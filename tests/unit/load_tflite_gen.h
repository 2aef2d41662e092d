/*
** load_tflite_gen.h -- a tiny FlatBuffer writer for tests, and a generator
** of small TFLite models from a plain C description (struct gen_model), so
** the loader can be tested on files with known contents and known defects
** (tests/unit/load_tflite_gen.c, tests/unit/flatbuf.c) and the fuzz corpus
** can be regenerated (tests/fuzz/corpus/tflite/).
**
** The writer works front to back: a parent is written first with its
** reference slots left empty, the children after it, then each slot is
** patched (FlatBuffer references always point forward).  A table's vtable
** sits just before it.  Everything is little-endian and no object is
** shared, which is all a test needs.
*/
#ifndef FL_TEST_LOAD_TFLITE_GEN_H
#define FL_TEST_LOAD_TFLITE_GEN_H

#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- writer */

#define FBW_CAP (1 << 16)

struct fbw {
	uint8_t b[FBW_CAP];
	size_t n;
};

/* One scalar or reference field of a table being written. */
struct fbf {
	int id;
	int size;   /* 1, 2, 4 or 8 bytes; references are 4 */
	uint64_t v; /* the scalar (references: patched later, write 0) */
};

static inline size_t fbw_align(struct fbw *w, size_t a)
{
	while (w->n % a)
		w->b[w->n++] = 0;
	return w->n;
}

static inline size_t fbw_put(struct fbw *w, const void *p, size_t len)
{
	size_t at = w->n;
	memcpy(w->b + at, p, len);
	w->n += len;
	return at;
}

static inline void fbw_u32at(struct fbw *w, size_t at, uint32_t v)
{
	memcpy(w->b + at, &v, 4);
}

/* Make the reference slot at `at` point to `target` (> at). */
static inline void fbw_ref(struct fbw *w, size_t at, size_t target)
{
	fbw_u32at(w, at, (uint32_t)(target - at));
}

/* Write a vtable and its table.  pos[id] gets the absolute position of
** each field (pos must have room for the largest id + 1).  Returns the
** table's position. */
static inline size_t fbw_table(struct fbw *w, const struct fbf *f, int n, size_t *pos)
{
	int max_id = -1, off = 4, foff[32] = {0};
	for (int i = 0; i < n; i++) {
		if (f[i].id > max_id)
			max_id = f[i].id;
		off = (off + f[i].size - 1) / f[i].size * f[i].size;
		foff[f[i].id] = off;
		off += f[i].size;
	}
	uint16_t vt_size = (uint16_t)(4 + 2 * (max_id + 1)), obj_size = (uint16_t)((off + 3) / 4 * 4);
	size_t vt = fbw_align(w, 2);
	fbw_put(w, &vt_size, 2);
	fbw_put(w, &obj_size, 2);
	for (int id = 0; id <= max_id; id++) {
		uint16_t o = (uint16_t)foff[id];
		fbw_put(w, &o, 2);
	}
	size_t t = fbw_align(w, 8);
	int32_t soff = (int32_t)(t - vt);
	memset(w->b + t, 0, obj_size);
	memcpy(w->b + t, &soff, 4);
	for (int i = 0; i < n; i++) {
		memcpy(w->b + t + foff[f[i].id], &f[i].v, (size_t)f[i].size); /* little-endian host */
		if (pos)
			pos[f[i].id] = t + (size_t)foff[f[i].id];
	}
	w->n = t + obj_size;
	return t;
}

/* A vector of n elements of `esize` bytes; returns the length word's
** position (what a reference points at). */
static inline size_t fbw_vec(struct fbw *w, const void *elems, uint32_t n, size_t esize)
{
	size_t at = fbw_align(w, 4);
	fbw_put(w, &n, 4);
	if (n)
		fbw_put(w, elems, n * esize);
	return at;
}

static inline size_t fbw_string(struct fbw *w, const char *s)
{
	size_t at = fbw_vec(w, s, (uint32_t)strlen(s), 1);
	w->b[w->n++] = 0;
	return at;
}

/* A vector of n references, all to be patched; returns its position; slot
** i is at pos + 4 + 4 * i. */
static inline size_t fbw_refvec(struct fbw *w, uint32_t n)
{
	size_t at = fbw_align(w, 4);
	fbw_put(w, &n, 4);
	memset(w->b + w->n, 0, 4 * (size_t)n);
	w->n += 4 * (size_t)n;
	return at;
}

/* -------------------------------------------------------------- models */

struct gen_tensor {
	const char *name;
	int type; /* TensorType: 0 float32, 1 float16, 2 int32, 3 uint8 */
	int n_dims;
	int dims[8];
	int buffer; /* index into gen_model.bufs; 0 = none */
	int n_sig;  /* shape_signature entries, 0 = none */
	int sig[8];
};

struct gen_op {
	int opcode; /* index into gen_model.codes */
	int n_in, in[6];
	int n_out, out[2];
	int opt_type; /* BuiltinOptions union type, 0 none */
	int n_opt;
	struct fbf opt[8]; /* scalar fields of the options table */
};

struct gen_buffer {
	const void *data;
	uint32_t n;
	int external; /* stored after the FlatBuffer, found by offset/size */
};

struct gen_model {
	int n_codes;
	int codes[8];
	int n_tensors;
	struct gen_tensor t[16];
	int n_ops;
	struct gen_op ops[8];
	int n_in, in[4];
	int n_out, out[4];
	int n_bufs; /* buffer 0 is the empty sentinel, counted here */
	struct gen_buffer bufs[16];
};

/* Write the model into w (from position 0).  Returns the size. */
static inline size_t gen_tflite(struct fbw *w, const struct gen_model *m)
{
	size_t pos[16], mpos[8], sgpos[8];
	size_t ext_slots[16][2];
	int n_ext = 0, ext_buf[16];

	w->n = 0;
	uint32_t zero = 0;
	fbw_put(w, &zero, 4);
	fbw_put(w, "TFL3", 4);

	/* Model { version, operator_codes, subgraphs, -, buffers } */
	struct fbf mf[] = {{0, 4, 3}, {1, 4, 0}, {2, 4, 0}, {4, 4, 0}};
	size_t model = fbw_table(w, mf, 4, mpos);
	fbw_ref(w, 0, model);

	/* operator_codes */
	size_t codes = fbw_refvec(w, (uint32_t)m->n_codes);
	fbw_ref(w, mpos[1], codes);
	for (int i = 0; i < m->n_codes; i++) {
		int c = m->codes[i];
		struct fbf cf[] = {{0, 1, (uint64_t)(c < 127 ? c : 127)}, {2, 4, 1}, {3, 4, (uint64_t)c}};
		fbw_ref(w, codes + 4 + 4 * (size_t)i, fbw_table(w, cf, 3, NULL));
	}

	/* subgraphs: one */
	size_t sgs = fbw_refvec(w, 1);
	fbw_ref(w, mpos[2], sgs);
	struct fbf sf[] = {{0, 4, 0}, {1, 4, 0}, {2, 4, 0}, {3, 4, 0}};
	size_t sg = fbw_table(w, sf, 4, sgpos);
	fbw_ref(w, sgs + 4, sg);
	size_t tv = fbw_refvec(w, (uint32_t)m->n_tensors);
	fbw_ref(w, sgpos[0], tv);
	for (int i = 0; i < m->n_tensors; i++) {
		const struct gen_tensor *t = &m->t[i];
		struct fbf tf[6] = {{0, 4, 0}, {1, 1, (uint64_t)t->type}, {2, 4, (uint64_t)t->buffer}, {3, 4, 0}};
		int nf = 4;
		if (t->n_sig)
			tf[nf++] = (struct fbf){7, 4, 0};
		size_t tp = fbw_table(w, tf, nf, pos);
		fbw_ref(w, tv + 4 + 4 * (size_t)i, tp);
		size_t p3 = pos[3], p7 = t->n_sig ? pos[7] : 0;
		fbw_ref(w, pos[0], fbw_vec(w, t->dims, (uint32_t)t->n_dims, 4));
		fbw_ref(w, p3, fbw_string(w, t->name));
		if (t->n_sig)
			fbw_ref(w, p7, fbw_vec(w, t->sig, (uint32_t)t->n_sig, 4));
	}
	fbw_ref(w, sgpos[1], fbw_vec(w, m->in, (uint32_t)m->n_in, 4));
	fbw_ref(w, sgpos[2], fbw_vec(w, m->out, (uint32_t)m->n_out, 4));
	size_t ov = fbw_refvec(w, (uint32_t)m->n_ops);
	fbw_ref(w, sgpos[3], ov);
	for (int i = 0; i < m->n_ops; i++) {
		const struct gen_op *o = &m->ops[i];
		struct fbf of[5] = {{0, 4, (uint64_t)o->opcode}, {1, 4, 0}, {2, 4, 0}};
		int nf = 3;
		if (o->opt_type) {
			of[nf++] = (struct fbf){3, 1, (uint64_t)o->opt_type};
			of[nf++] = (struct fbf){4, 4, 0};
		}
		size_t op = fbw_table(w, of, nf, pos);
		fbw_ref(w, ov + 4 + 4 * (size_t)i, op);
		size_t p2 = pos[2], p4 = o->opt_type ? pos[4] : 0;
		fbw_ref(w, pos[1], fbw_vec(w, o->in, (uint32_t)o->n_in, 4));
		fbw_ref(w, p2, fbw_vec(w, o->out, (uint32_t)o->n_out, 4));
		if (o->opt_type) {
			struct fbf empty = {0, 1, 0};
			size_t ot = o->n_opt ? fbw_table(w, o->opt, o->n_opt, NULL) : fbw_table(w, &empty, 0, NULL);
			fbw_ref(w, p4, ot);
		}
	}

	/* buffers */
	size_t bv = fbw_refvec(w, (uint32_t)m->n_bufs);
	fbw_ref(w, mpos[4], bv);
	for (int i = 0; i < m->n_bufs; i++) {
		const struct gen_buffer *b = &m->bufs[i];
		if (b->external) {
			struct fbf bf[] = {{1, 8, 0}, {2, 8, b->n}};
			fbw_ref(w, bv + 4 + 4 * (size_t)i, fbw_table(w, bf, 2, pos));
			ext_slots[n_ext][0] = pos[1];
			ext_buf[n_ext++] = i;
			continue;
		}
		struct fbf bf[] = {{0, 4, 0}};
		size_t bt = b->n ? fbw_table(w, bf, 1, pos) : fbw_table(w, bf, 0, NULL);
		fbw_ref(w, bv + 4 + 4 * (size_t)i, bt);
		if (b->n) {
			size_t p0 = pos[0];
			fbw_ref(w, p0, fbw_vec(w, b->data, b->n, 1));
		}
	}
	/* External data goes after everything, 16-aligned, by file offset. */
	for (int k = 0; k < n_ext; k++) {
		size_t at = fbw_align(w, 16);
		uint64_t off = at;
		fbw_put(w, m->bufs[ext_buf[k]].data, m->bufs[ext_buf[k]].n);
		memcpy(w->b + ext_slots[k][0], &off, 8);
	}
	return w->n;
}

#endif /* FL_TEST_LOAD_TFLITE_GEN_H */
