/*
** util.c -- small helpers: whole-file reads with a size bound, and IEEE
** binary16 to float conversion (TF.js float16 weights).
*/
#include "base_int.h"

#include <errno.h>
#include <sys/stat.h>

int fl__read_file(const char *path, size_t max_size, char **data, size_t *size, char *err, size_t err_size)
{
	*data = NULL;
	*size = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		fl__errf(err, err_size, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? FL_ENOENT : e == EACCES ? FL_EACCES : FL_EIO;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		fl__errf(err, err_size, "%s: not a regular file", path);
		return FL_EIO;
	}
	if ((unsigned long long)st.st_size > max_size) {
		fclose(f);
		fl__errf(err, err_size, "%s: %lld bytes, more than the limit of %zu", path, (long long)st.st_size,
		         max_size);
		return FL_ERANGE;
	}
	size_t n = (size_t)st.st_size;
	char *p = fl_malloc(n + 1);
	if (!p) {
		fclose(f);
		fl__errf(err, err_size, "%s: out of memory reading %zu bytes", path, n);
		return FL_ENOMEM;
	}
	if (n && fread(p, 1, n, f) != n) {
		fl_free(p);
		fclose(f);
		fl__errf(err, err_size, "%s: read error", path);
		return FL_EIO;
	}
	fclose(f);
	p[n] = 0;
	*data = p;
	*size = n;
	return 0;
}

float fl__half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;
	uint32_t bits;
	if (exp == 0) {
		if (man == 0) {
			bits = sign;
		} else { /* subnormal: normalise */
			int e = -1;
			do {
				e++;
				man <<= 1;
			} while (!(man & 0x400));
			bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
		}
	} else if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (man << 13);
	} else {
		bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}
