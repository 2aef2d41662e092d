/*
** load_int.h -- what the TensorFlow.js and face-api loaders share: the
** JSON entry point (jansson with its allocations routed through
** fl_malloc/fl_free, so fault injection reaches the parser), the weights
** manifest decoder (nn/load/weights.c), and the in-memory loader entry
** points used by tests and fuzz targets.  Not part of the public API.
**
** A weights manifest is the array TF.js writes as "weightsManifest" (and
** face-api as a whole "*-weights_manifest.json"): groups, each with
** "paths" (.bin files, concatenated in order) and "weights" (name, shape,
** dtype, optional quantization).  A weight's bytes follow the previous
** weight's in its group; groups follow each other.
*/
#ifndef FL_NN_LOAD_INT_H
#define FL_NN_LOAD_INT_H

#include <jansson.h>

#include "../nn_int.h"

/* Bounds on untrusted input (files beyond these are refused, not read). */
#define FL__LOAD_MAX_JSON ((size_t)64 << 20)  /* model.json / manifest bytes */
#define FL__LOAD_MAX_BIN ((size_t)1 << 30)    /* all .bin files together */
#define FL__LOAD_MAX_NODES 200000             /* topology nodes */
#define FL__LOAD_MAX_WEIGHTS 100000           /* manifest entries */
#define FL__LOAD_MAX_DIM ((int64_t)1 << 30)   /* one dimension */
#define FL__LOAD_MAX_NUMEL ((int64_t)1 << 28) /* elements of one tensor */

/* How a weight is stored in the .bin bytes. */
enum fl__wquant {
	FL__WQUANT_NONE = 0,    /* raw dtype (float32/int32 LE, bool 1 byte) */
	FL__WQUANT_UINT8 = 1,   /* q * scale + min */
	FL__WQUANT_UINT16 = 2,  /* q * scale + min */
	FL__WQUANT_FLOAT16 = 3, /* IEEE half, dtype float32 */
};

/* One manifest entry. */
struct fl__wspec {
	const char *name; /* borrowed from the manifest's JSON */
	enum fl_dtype dtype;
	int n_dims;
	int64_t dims[FL_MAX_DIMS];
	int64_t numel;
	int quant;          /* enum fl__wquant */
	double scale, min;  /* uint8/uint16 dequantisation */
	size_t offset;      /* in w->buf */
	size_t nbytes;      /* stored bytes */
};

/* A parsed manifest plus the concatenated .bin bytes. */
struct fl__weights {
	struct fl__wspec *specs;
	int n_specs;
	uint8_t *buf; /* fl_malloc'd, or borrowed when loaded from memory */
	size_t size;
	int buf_owned;
	int *hash; /* open-addressing table of spec indices by name */
	unsigned hash_mask;
};

/*
** Parse `manifest` (a JSON array of groups; borrowed, must outlive w) and
** get the weight bytes: from the .bin files under `dir` (dir == NULL: the
** current directory) when mem == NULL, else from mem[0..mem_size) (the
** concatenation of all groups' files, borrowed).  `label` names the model
** file in messages.  The byte count must match the manifest exactly:
** fewer is FL_ETRUNCATED, more FL_ECORRUPT.  On failure w is left empty
** (fl__weights_fini is still safe).
*/
int fl__weights_load(struct fl__weights *w, json_t *manifest, const char *dir, const uint8_t *mem, size_t mem_size,
                     const char *label, char *err, size_t err_size);
void fl__weights_fini(struct fl__weights *w);
/* The spec named `name`, or NULL. */
const struct fl__wspec *fl__weights_find(const struct fl__weights *w, const char *name);
/* Decode one weight into a fresh fl_malloc'd buffer of numel elements of
** s->dtype (float32 for quantised ones; int32 quantised values are
** rounded).  *out is NULL on failure. */
int fl__weights_decode(const struct fl__weights *w, const struct fl__wspec *s, void **out, const char *label, char *err,
                       size_t err_size);

/* Parse JSON text with jansson (allocations through fl_malloc).  The
** message names `label` and the line/column.  *out is NULL on failure.
** Returns 0, FL_ECORRUPT or FL_ENOMEM. */
int fl__json_parse(const char *text, size_t size, const char *label, json_t **out, char *err, size_t err_size);

/* An integer from a JSON integer, an integral real, or a decimal string
** (protobuf's JSON writes int64 as strings).  Returns 0 or FL_ECORRUPT. */
int fl__json_int(const json_t *j, int64_t *out);

/*
** TF.js graph model from memory: `json` is model.json's text; the weights
** come from bin[0..bin_size) (all .bin files concatenated) when bin is not
** NULL, else from the files the manifest names under `dir`.  `label` names
** the model in messages (NULL: "<memory>").  g as for fl__load_tfjs.
*/
int fl__load_tfjs_buf(struct fl_graph *g, const char *json, size_t json_size, const char *dir, const uint8_t *bin,
                      size_t bin_size, const char *label, char *err, size_t err_size);

/* face-api FaceExpressionNet from memory: the manifest's text and the
** concatenated .bin bytes (both borrowed for the call). */
int fl__load_faceapi_buf(struct fl_graph *g, const char *json, size_t json_size, const uint8_t *bin, size_t bin_size,
                         const char *label, char *err, size_t err_size);

#endif /* FL_NN_LOAD_INT_H */
