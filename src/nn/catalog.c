/*
** catalog.c -- the catalog of known model files (fl_models_*, see
** include/faceline/fl_models.h): the table compiled in from
** models/manifest.sha256 + models/catalog.tsv (catalog_table.inc, written by
** tools/gen-catalog.sh), and checking a models folder against it by size
** and SHA-256.  Hashing uses OpenSSL's EVP interface (libcrypto) and reads
** each file in fixed-size chunks, so memory use does not depend on the
** size of the weights.
*/
#define _GNU_SOURCE
#include "faceline/fl_models.h"
#include "base/base_int.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_DATADIR
#define FL_DATADIR "/usr/local/share/faceline"
#endif

/* Bytes read per call while hashing. */
#define CHUNK (1 << 20)

static const struct fl_model_info catalog[] = {
#include "catalog_table.inc"
};

/* ============================================================== catalog */

int fl_models_count(void)
{
	return (int)FL_ARRAY_SIZE(catalog);
}

const struct fl_model_info *fl_models_get(int i)
{
	if (i < 0 || i >= fl_models_count())
		return NULL;
	return &catalog[i];
}

const struct fl_model_info *fl_models_find(const char *path)
{
	if (!path)
		return NULL;
	for (int i = 0; i < fl_models_count(); i++)
		if (strcmp(catalog[i].path, path) == 0)
			return &catalog[i];
	return NULL;
}

const char *fl_model_state_name(int state)
{
	switch (state) {
	case FL_MODEL_OK: return "ok";
	case FL_MODEL_MISSING: return "missing";
	case FL_MODEL_ALTERED: return "altered";
	case FL_MODEL_UNREADABLE: return "unreadable";
	}
	return "?";
}

/* ============================================================== hashing */

/* errno after a failed open/read as a status code. */
static int status_from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR: return FL_ENOENT;
	case EACCES:
	case EPERM: return FL_EACCES;
	case ENOMEM: return FL_ENOMEM;
	default: return FL_EIO;
	}
}

int fl_models_sha256_file(const char *path, char hex[65], int64_t *size)
{
	static const char digits[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int64_t total = 0;
	int fd = -1, rc;
	struct stat sb;

	if (hex)
		hex[0] = '\0';
	if (size)
		*size = -1;
	if (!path || !hex)
		return FL_EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = status_from_errno(errno);
		goto fail;
	}
	/* A directory opens fine but cannot be read: say so up front. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = FL_EIO;
		goto fail;
	}
	buf = fl_malloc(CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx) {
		rc = FL_ENOMEM;
		goto fail;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = FL_EINTERNAL;
		goto fail;
	}
	for (;;) {
		ssize_t got = read(fd, buf, CHUNK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = status_from_errno(errno);
			goto fail;
		}
		if (got == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
			rc = FL_EINTERNAL;
			goto fail;
		}
		total += got;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
		rc = FL_EINTERNAL;
		goto fail;
	}
	for (unsigned int i = 0; i < md_len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * md_len] = '\0';
	if (size)
		*size = total;
	EVP_MD_CTX_free(ctx);
	fl_free(buf);
	close(fd);
	return 0;

fail:
	EVP_MD_CTX_free(ctx);
	fl_free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ============================================================ verifying */

int fl_models_verify_file(const char *models_dir, const struct fl_model_info *info, unsigned flags,
                          struct fl_model_status *st)
{
	struct stat sb;
	char *path = NULL;
	size_t len;
	int rc;

	if (!models_dir || !info || !st)
		return FL_EINVAL;
	memset(st, 0, sizeof(*st));
	st->info = info;
	st->size = -1;

	len = strlen(models_dir) + strlen(info->path) + 2;
	path = fl_malloc(len);
	if (!path)
		return FL_ENOMEM;
	snprintf(path, len, "%s/%s", models_dir, info->path);

	if (stat(path, &sb) != 0) {
		rc = status_from_errno(errno);
		if (rc == FL_ENOENT) {
			st->state = FL_MODEL_MISSING;
		} else {
			st->state = FL_MODEL_UNREADABLE;
			st->error = rc;
		}
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		st->state = FL_MODEL_UNREADABLE;
		st->error = FL_EIO;
		goto done;
	}
	st->size = (int64_t)sb.st_size;
	st->state = st->size == info->size ? FL_MODEL_OK : FL_MODEL_ALTERED;
	if (flags & FL_MODELS_SIZE_ONLY)
		goto done;
	if (st->state == FL_MODEL_ALTERED && !(flags & FL_MODELS_HASH_ALWAYS))
		goto done;

	rc = fl_models_sha256_file(path, st->sha256, &st->size);
	if (rc == FL_ENOMEM || rc == FL_EINTERNAL || rc == FL_EINVAL) {
		fl_free(path);
		return rc;
	}
	if (rc < 0) {
		/* Vanished or became unreadable between stat and open. */
		st->state = rc == FL_ENOENT ? FL_MODEL_MISSING : FL_MODEL_UNREADABLE;
		st->error = rc == FL_ENOENT ? 0 : rc;
		goto done;
	}
	if (st->size != info->size || strcmp(st->sha256, info->sha256) != 0)
		st->state = FL_MODEL_ALTERED;

done:
	if (st->state != FL_MODEL_OK)
		fl_log(FL_LOG_DEBUG, "models: %s: %s (size %lld, expected %lld)", path,
		       fl_model_state_name(st->state), (long long)st->size, (long long)info->size);
	fl_free(path);
	return 0;
}

int fl_models_verify(const char *models_dir, struct fl_model_status *out, int n, unsigned flags)
{
	struct fl_model_status tmp;
	int bad = 0;

	if (!models_dir || (out && n < 0))
		return FL_EINVAL;
	for (int i = 0; i < fl_models_count(); i++) {
		struct fl_model_status *st = out && i < n ? &out[i] : &tmp;
		int rc = fl_models_verify_file(models_dir, &catalog[i], flags, st);
		if (rc < 0)
			return rc;
		if (st->state != FL_MODEL_OK)
			bad++;
	}
	return bad;
}

/* ========================================================== default dir */

/* Copy s into buf[0..size) or fail with FL_ERANGE. */
static int put(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size) {
		if (size)
			buf[0] = '\0';
		return FL_ERANGE;
	}
	memcpy(buf, s, n + 1);
	return 0;
}

int fl_models_default_dir(char *buf, size_t size)
{
	const char *env = getenv("FL_MODELS");
	struct stat sb;

	if (!buf)
		return FL_EINVAL;
	if (env && *env)
		return put(buf, size, env);
	if (stat("models", &sb) == 0 && S_ISDIR(sb.st_mode))
		return put(buf, size, "models");
	return put(buf, size, FL_DATADIR "/models");
}
