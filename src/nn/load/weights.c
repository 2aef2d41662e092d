/*
** weights.c -- the weights manifest shared by TensorFlow.js graph models
** and face-api weights-only models: parse the manifest's entries, read the
** .bin files it names into one buffer, and decode one weight into the
** engine's dtypes (float32 as is, float16 -> float32, uint8/uint16
** quantised with per-tensor scale/min -> float32 or rounded int32, int32,
** bool).  Also the JSON entry point of the loaders: jansson, with its
** allocations routed through fl_malloc/fl_free.
**
** Everything here reads untrusted bytes: every field's JSON type is
** checked, sizes are bounded (load_int.h), and byte ranges are checked
** against the buffer before any read.
*/
#define _GNU_SOURCE
#include "load_int.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ================================================================= JSON */

/*
** jansson's allocator is process-wide; route it through ours so the
** fault-injection tests cover the parser too.  It is set by a constructor,
** before main(), because switching it later would hand blocks that
** jansson got from malloc() to fl_free() (any JSON made before the switch,
** by any module, and freed after it).  Every object of the process then
** lives on fl_malloc, whoever made it.
*/
static _Thread_local int json_alloc_failed;

/* fl_malloc that remembers a failure: jansson reports some allocation
** failures as syntax errors, which must not be mistaken for a bad file. */
static void *json_alloc(size_t n)
{
	void *p = fl_malloc(n);
	if (!p)
		json_alloc_failed = 1;
	return p;
}

__attribute__((constructor)) static void json_init(void)
{
	json_set_alloc_funcs(json_alloc, fl_free);
}

int fl__json_parse(const char *text, size_t size, const char *label, json_t **out, char *err, size_t err_size)
{
	json_error_t je;

	*out = NULL;
	if (size > FL__LOAD_MAX_JSON) {
		fl__errf(err, err_size, "%s: %zu bytes of JSON (at most %zu)", label, size, FL__LOAD_MAX_JSON);
		return FL_ERANGE;
	}
	/* JSON_REJECT_DUPLICATES: a name given twice is a malformed file, not
	** something to resolve silently.  JSON_ALLOW_NUL keeps the length
	** explicit (strings with NUL are then caught where names are used). */
	json_alloc_failed = 0;
	*out = json_loadb(text, size, JSON_REJECT_DUPLICATES, &je);
	if (!*out) {
		if (json_alloc_failed || json_error_code(&je) == json_error_out_of_memory) {
			fl__errf(err, err_size, "%s: out of memory while parsing JSON", label);
			return FL_ENOMEM;
		}
		fl__errf(err, err_size, "%s: line %d column %d: %s", label, je.line, je.column, je.text);
		return FL_ECORRUPT;
	}
	return 0;
}

int fl__json_int(const json_t *j, int64_t *out)
{
	if (json_is_integer(j)) {
		*out = (int64_t)json_integer_value(j);
		return 0;
	}
	if (json_is_real(j)) {
		double v = json_real_value(j);
		if (!(v >= -9.0e15 && v <= 9.0e15) || v != floor(v))
			return FL_ECORRUPT;
		*out = (int64_t)v;
		return 0;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t len = json_string_length(j);
		char *end;
		long long v;
		if (len == 0 || len > 20 || strlen(s) != len)
			return FL_ECORRUPT;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end || end == s)
			return FL_ECORRUPT;
		*out = (int64_t)v;
		return 0;
	}
	return FL_ECORRUPT;
}

/* ============================================================ manifest */

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int parse_dtype(const char *s, enum fl_dtype *dt)
{
	if (!strcmp(s, "float32"))
		*dt = FL_DTYPE_F32;
	else if (!strcmp(s, "int32"))
		*dt = FL_DTYPE_I32;
	else if (!strcmp(s, "bool"))
		*dt = FL_DTYPE_BOOL;
	else
		return FL_EUNSUPPORTED;
	return 0;
}

/* Parse one manifest entry into s; `offset` is where its bytes start. */
static int parse_spec(const json_t *jw, struct fl__wspec *s, size_t offset, const char *label, char *err, size_t err_size)
{
	const json_t *jn = json_object_get(jw, "name");
	const json_t *jshape = json_object_get(jw, "shape");
	const json_t *jdt = json_object_get(jw, "dtype");
	const json_t *jq = json_object_get(jw, "quantization");
	size_t i, elem;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(jw) || !json_is_string(jn) || json_string_length(jn) == 0 ||
	    strlen(json_string_value(jn)) != json_string_length(jn)) {
		fl__errf(err, err_size, "%s: weightsManifest: an entry without a valid \"name\"", label);
		return FL_ECORRUPT;
	}
	s->name = json_string_value(jn);
	if (!json_is_array(jshape)) {
		fl__errf(err, err_size, "%s: weight \"%s\": \"shape\" is not an array", label, s->name);
		return FL_ECORRUPT;
	}
	if (json_array_size(jshape) > FL_MAX_DIMS) {
		fl__errf(err, err_size, "%s: weight \"%s\": %zu dims (at most %d)", label, s->name, json_array_size(jshape),
		         FL_MAX_DIMS);
		return FL_EUNSUPPORTED;
	}
	s->n_dims = (int)json_array_size(jshape);
	s->numel = 1;
	for (i = 0; i < json_array_size(jshape); i++) {
		int64_t d;
		if (fl__json_int(json_array_get(jshape, i), &d) || d < 0 || d > FL__LOAD_MAX_DIM) {
			fl__errf(err, err_size, "%s: weight \"%s\": bad dimension %zu", label, s->name, i);
			return FL_ECORRUPT;
		}
		s->dims[i] = d;
		s->numel *= d;
		if (s->numel > FL__LOAD_MAX_NUMEL) {
			fl__errf(err, err_size, "%s: weight \"%s\": too many elements", label, s->name);
			return FL_ECORRUPT;
		}
	}
	if (!json_is_string(jdt) || parse_dtype(json_string_value(jdt), &s->dtype)) {
		fl__errf(err, err_size, "%s: weight \"%s\": unsupported dtype %s", label, s->name,
		         json_is_string(jdt) ? json_string_value(jdt) : "(missing)");
		return json_is_string(jdt) ? FL_EUNSUPPORTED : FL_ECORRUPT;
	}
	elem = fl_dtype_size(s->dtype);
	if (jq && !json_is_null(jq)) {
		const json_t *jqd = json_object_get(jq, "dtype");
		const char *qd = json_is_string(jqd) ? json_string_value(jqd) : NULL;
		if (!json_is_object(jq) || !qd) {
			fl__errf(err, err_size, "%s: weight \"%s\": malformed \"quantization\"", label, s->name);
			return FL_ECORRUPT;
		}
		if (!strcmp(qd, "uint8") || !strcmp(qd, "uint16")) {
			const json_t *jsc = json_object_get(jq, "scale"), *jmin = json_object_get(jq, "min");
			s->quant = qd[4] == '8' ? FL__WQUANT_UINT8 : FL__WQUANT_UINT16;
			elem = s->quant == FL__WQUANT_UINT8 ? 1 : 2;
			if (!json_is_number(jsc) || !json_is_number(jmin)) {
				fl__errf(err, err_size, "%s: weight \"%s\": %s quantization without scale and min", label, s->name, qd);
				return FL_ECORRUPT;
			}
			s->scale = json_number_value(jsc);
			s->min = json_number_value(jmin);
			if (s->dtype == FL_DTYPE_BOOL || !isfinite(s->scale) || !isfinite(s->min)) {
				fl__errf(err, err_size, "%s: weight \"%s\": bad %s quantization", label, s->name, qd);
				return FL_ECORRUPT;
			}
		} else if (!strcmp(qd, "float16")) {
			s->quant = FL__WQUANT_FLOAT16;
			elem = 2;
			if (s->dtype != FL_DTYPE_F32) {
				fl__errf(err, err_size, "%s: weight \"%s\": float16 quantization of a non-float32 weight", label,
				         s->name);
				return FL_ECORRUPT;
			}
		} else {
			fl__errf(err, err_size, "%s: weight \"%s\": unsupported quantization dtype %s", label, s->name, qd);
			return FL_EUNSUPPORTED;
		}
	}
	s->offset = offset;
	s->nbytes = (size_t)s->numel * elem;
	return 0;
}

/* Refuse .bin paths that leave the model's directory. */
static int bin_path_ok(const char *p, size_t len)
{
	const char *c;
	if (len == 0 || len > 1024 || strlen(p) != len || p[0] == '/')
		return 0;
	for (c = p; *c; c++) {
		/* a ".." path component anywhere */
		if (c[0] == '.' && c[1] == '.' && (c == p || c[-1] == '/') && (c[2] == '/' || c[2] == 0))
			return 0;
	}
	return 1;
}

/* Append the file dir/rel to w->buf. */
static int read_bin(struct fl__weights *w, size_t *cap, const char *dir, const char *rel, const char *label, char *err,
                    size_t err_size)
{
	char *path = NULL;
	size_t dlen = dir ? strlen(dir) : 0, need;
	struct stat st;
	int fd = -1, rc;

	path = fl_malloc(dlen + strlen(rel) + 2);
	if (!path)
		return FL_ENOMEM;
	if (dlen)
		sprintf(path, "%s/%s", dir, rel);
	else
		strcpy(path, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = errno == ENOENT ? FL_ENOENT : errno == EACCES ? FL_EACCES : FL_EIO;
		fl__errf(err, err_size, "%s: weights file %s: %s", label, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FL__LOAD_MAX_BIN - w->size) {
		fl__errf(err, err_size, "%s: weights file %s: not a regular file or too large", label, path);
		rc = S_ISREG(st.st_mode) ? FL_ERANGE : FL_EIO;
		goto fail;
	}
	need = w->size + (size_t)st.st_size;
	if (need > *cap) {
		size_t ncap = FL_MAX(need, *cap * 2);
		uint8_t *nb = fl_realloc(w->buf, ncap ? ncap : 1);
		if (!nb) {
			rc = FL_ENOMEM;
			goto fail;
		}
		w->buf = nb;
		*cap = ncap;
	}
	while (w->size < need) {
		ssize_t r = read(fd, w->buf + w->size, need - w->size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* the file shrank under us, or an I/O error */
			fl__errf(err, err_size, "%s: weights file %s: %s", label, path, r < 0 ? strerror(errno) : "short read");
			rc = r < 0 ? FL_EIO : FL_ETRUNCATED;
			goto fail;
		}
		w->size += (size_t)r;
	}
	close(fd);
	fl_free(path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	fl_free(path);
	return rc;
}

/* Report the first weight of specs[from..to) that does not fit in `have`
** bytes of its group starting at `base`. */
static int truncated(const struct fl__weights *w, int from, int to, size_t base, size_t have, const char *label,
                     char *err, size_t err_size)
{
	int i;
	for (i = from; i < to; i++) {
		const struct fl__wspec *s = &w->specs[i];
		if (s->offset + s->nbytes > base + have) {
			fl__errf(err, err_size, "%s: weight \"%s\" needs bytes [%zu, %zu) but the .bin data holds %zu: truncated",
			         label, s->name, s->offset, s->offset + s->nbytes, base + have);
			return FL_ETRUNCATED;
		}
	}
	return FL_ETRUNCATED;
}

int fl__weights_load(struct fl__weights *w, json_t *manifest, const char *dir, const uint8_t *mem, size_t mem_size,
                     const char *label, char *err, size_t err_size)
{
	size_t gi, i, total = 0, cap = 0, n = 0;
	int rc;

	memset(w, 0, sizeof(*w));
	if (!json_is_array(manifest)) {
		fl__errf(err, err_size, "%s: \"weightsManifest\" is not an array", label);
		return FL_ECORRUPT;
	}
	/* Count the entries first so the spec array is allocated once. */
	for (gi = 0; gi < json_array_size(manifest); gi++) {
		const json_t *grp = json_array_get(manifest, gi);
		const json_t *jws = json_object_get(grp, "weights");
		if (!json_is_object(grp) || !json_is_array(jws) || !json_is_array(json_object_get(grp, "paths"))) {
			fl__errf(err, err_size, "%s: weightsManifest group %zu lacks \"paths\" or \"weights\" arrays", label, gi);
			return FL_ECORRUPT;
		}
		n += json_array_size(jws);
		if (n > FL__LOAD_MAX_WEIGHTS) {
			fl__errf(err, err_size, "%s: more than %d weights", label, FL__LOAD_MAX_WEIGHTS);
			return FL_ERANGE;
		}
	}
	w->specs = fl_calloc(n ? n : 1, sizeof(*w->specs));
	if (!w->specs)
		return FL_ENOMEM;
	if (mem) {
		w->buf = (uint8_t *)mem;
		w->size = mem_size;
	} else {
		w->buf_owned = 1;
	}
	for (gi = 0; gi < json_array_size(manifest); gi++) {
		const json_t *grp = json_array_get(manifest, gi);
		const json_t *jws = json_object_get(grp, "weights");
		const json_t *jpaths = json_object_get(grp, "paths");
		size_t base = mem ? total : w->size, off = base;
		int first = w->n_specs;
		for (i = 0; i < json_array_size(jws); i++) {
			rc = parse_spec(json_array_get(jws, i), &w->specs[w->n_specs], off, label, err, err_size);
			if (rc)
				goto fail;
			off += w->specs[w->n_specs].nbytes;
			w->n_specs++;
		}
		total = off;
		if (mem)
			continue;
		for (i = 0; i < json_array_size(jpaths); i++) {
			const json_t *jp = json_array_get(jpaths, i);
			if (!json_is_string(jp) || !bin_path_ok(json_string_value(jp), json_string_length(jp))) {
				fl__errf(err, err_size, "%s: weightsManifest group %zu: bad path", label, gi);
				rc = FL_ECORRUPT;
				goto fail;
			}
			rc = read_bin(w, &cap, dir, json_string_value(jp), label, err, err_size);
			if (rc)
				goto fail;
		}
		/* Each group's files must hold exactly its weights. */
		if (w->size - base < total - base) {
			rc = truncated(w, first, w->n_specs, base, w->size - base, label, err, err_size);
			goto fail;
		}
		if (w->size - base > total - base) {
			fl__errf(err, err_size, "%s: weightsManifest group %zu: the .bin files hold %zu bytes, the weights %zu", label,
			         gi, w->size - base, total - base);
			rc = FL_ECORRUPT;
			goto fail;
		}
	}
	if (mem && total > mem_size) {
		rc = truncated(w, 0, w->n_specs, 0, mem_size, label, err, err_size);
		goto fail;
	}
	/* Name lookup table: power of two, at most half full. */
	for (cap = 16; cap < 2 * (size_t)w->n_specs; cap *= 2)
		;
	w->hash = fl_malloc(cap * sizeof(int));
	if (!w->hash) {
		rc = FL_ENOMEM;
		goto fail;
	}
	memset(w->hash, 0xff, cap * sizeof(int));
	w->hash_mask = (unsigned)cap - 1;
	for (i = 0; i < (size_t)w->n_specs; i++) {
		unsigned h = name_hash(w->specs[i].name) & w->hash_mask;
		while (w->hash[h] >= 0) {
			if (!strcmp(w->specs[w->hash[h]].name, w->specs[i].name)) {
				fl__errf(err, err_size, "%s: weight \"%s\" appears twice in the manifest", label, w->specs[i].name);
				rc = FL_ECORRUPT;
				goto fail;
			}
			h = (h + 1) & w->hash_mask;
		}
		w->hash[h] = (int)i;
	}
	return 0;
fail:
	fl__weights_fini(w);
	return rc;
}

void fl__weights_fini(struct fl__weights *w)
{
	if (!w)
		return;
	if (w->buf_owned)
		fl_free(w->buf);
	fl_free(w->specs);
	fl_free(w->hash);
	memset(w, 0, sizeof(*w));
}

const struct fl__wspec *fl__weights_find(const struct fl__weights *w, const char *name)
{
	unsigned h;
	if (!w->hash)
		return NULL;
	for (h = name_hash(name) & w->hash_mask; w->hash[h] >= 0; h = (h + 1) & w->hash_mask)
		if (!strcmp(w->specs[w->hash[h]].name, name))
			return &w->specs[w->hash[h]];
	return NULL;
}

/* ============================================================== decode */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fl__weights_decode(const struct fl__weights *w, const struct fl__wspec *s, void **out, const char *label, char *err,
                       size_t err_size)
{
	const uint8_t *src;
	int64_t i, n = s->numel;
	void *dst;

	*out = NULL;
	if (s->offset > w->size || s->nbytes > w->size - s->offset) {
		fl__errf(err, err_size, "%s: weight \"%s\" needs bytes [%zu, %zu) but the .bin data holds %zu: truncated", label,
		         s->name, s->offset, s->offset + s->nbytes, w->size);
		return FL_ETRUNCATED;
	}
	src = w->buf + s->offset;
	dst = fl_malloc((size_t)n * fl_dtype_size(s->dtype));
	if (!dst)
		return FL_ENOMEM;
	switch (s->quant) {
	case FL__WQUANT_NONE:
		/* Little-endian on disk; byte-wise reads keep it portable. */
		if (s->dtype == FL_DTYPE_BOOL) {
			uint8_t *d = dst;
			for (i = 0; i < n; i++)
				d[i] = src[i] != 0;
		} else {
			uint32_t *d = dst;
			for (i = 0; i < n; i++)
				d[i] = rd32(src + 4 * i);
		}
		break;
	case FL__WQUANT_UINT8:
	case FL__WQUANT_UINT16:
		for (i = 0; i < n; i++) {
			unsigned q = s->quant == FL__WQUANT_UINT8 ? src[i] : (unsigned)(src[2 * i] | src[2 * i + 1] << 8);
			/* TF.js computes q*scale+min in double precision, then stores
			** it into a Float32Array (or rounds it for int32). */
			double v = q * s->scale + s->min;
			if (s->dtype == FL_DTYPE_F32) {
				((float *)dst)[i] = (float)v;
			} else {
				double r = floor(v + 0.5); /* Math.round: halves up */
				((int32_t *)dst)[i] = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
			}
		}
		break;
	case FL__WQUANT_FLOAT16:
		for (i = 0; i < n; i++)
			((float *)dst)[i] = fl__half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
		break;
	}
	*out = dst;
	return 0;
}
