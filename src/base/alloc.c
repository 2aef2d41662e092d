/*
** alloc.c -- the allocation hook.  Every allocation in libfaceline goes
** through fl_malloc() and friends so that tests can fail the Nth one
** (fault injection, SQLite's faultsim) and count live blocks (leak checks).
**
** A block carries a 16-byte header recording the offset back to the
** pointer malloc returned, so aligned and plain blocks share fl_free().
*/
#include "base_int.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long live;
static atomic_int fail_countdown; /* 0: off; k>0: the k-th call fails */
static atomic_int fail_repeat;
static atomic_int fail_count;

#define HDR 16

static int should_fail(void)
{
	int c = atomic_load(&fail_countdown);
	if (c <= 0)
		return 0;
	if (c == 1) {
		if (!atomic_load(&fail_repeat))
			atomic_store(&fail_countdown, 0);
		atomic_fetch_add(&fail_count, 1);
		return 1;
	}
	atomic_fetch_sub(&fail_countdown, 1);
	return 0;
}

int fl_alloc_fail_after(int n, int repeat)
{
	int failed = atomic_exchange(&fail_count, 0);
	atomic_store(&fail_repeat, repeat);
	atomic_store(&fail_countdown, n > 0 ? n : 0);
	return failed;
}

long fl_alloc_live(void)
{
	return atomic_load(&live);
}

void *fl_aligned_alloc(size_t align, size_t n)
{
	if (align < HDR)
		align = HDR;
	if (should_fail() || n > SIZE_MAX - align - HDR)
		return NULL;
	char *raw = malloc(n + align + HDR);
	if (!raw)
		return NULL;
	uintptr_t p = ((uintptr_t)raw + HDR + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = p - (uintptr_t)raw;
	((size_t *)p)[-2] = n;
	atomic_fetch_add(&live, 1);
	return (void *)p;
}

void *fl_malloc(size_t n)
{
	return fl_aligned_alloc(HDR, n);
}

void *fl_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = fl_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void fl_free(void *p)
{
	if (!p)
		return;
	size_t off = ((size_t *)p)[-1];
	atomic_fetch_sub(&live, 1);
	free((char *)p - off);
}

void *fl_realloc(void *p, size_t n)
{
	if (!p)
		return fl_malloc(n);
	size_t old = ((size_t *)p)[-2];
	void *q = fl_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	fl_free(p);
	return q;
}

char *fl_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = fl_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
