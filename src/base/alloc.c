/*
** alloc.c -- the allocation hook.  Every allocation in libfaceline goes
** through fl_malloc() and friends so that tests can fail the Nth one
** (fault injection, SQLite's faultsim) and count live blocks (leak checks).
**
** Blocks come straight from the C allocator (malloc, posix_memalign), so
** they are free()-compatible: jansson's allocator is routed through here
** process-wide (nn/load/weights.c), and an application that frees a
** json_dumps() string with free(), as jansson documents, must not crash.
** The price is that such a free() is not counted by fl_alloc_live(), which
** only tests read.
*/
#include "base_int.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long live;
static atomic_int fail_countdown; /* 0: off; k>0: the k-th call fails */
static atomic_int fail_repeat;
static atomic_int fail_count;

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
	void *p = NULL;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (should_fail() || posix_memalign(&p, align, n ? n : 1) != 0)
		return NULL;
	atomic_fetch_add(&live, 1);
	return p;
}

void *fl_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	void *p = malloc(n ? n : 1); /* fl_malloc(0) is a unique, non-NULL pointer */
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

void *fl_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (should_fail())
		return NULL;
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

void fl_free(void *p)
{
	if (!p)
		return;
	atomic_fetch_sub(&live, 1);
	free(p);
}

void *fl_realloc(void *p, size_t n)
{
	if (!p)
		return fl_malloc(n);
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1); /* the block stays live: count unchanged */
}

char *fl_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = fl_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
