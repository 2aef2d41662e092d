/*
** fl_test.h -- faceline's small test framework.
**
** A test is a function declared with FL_TEST(name).  Tests register
** themselves at start-up (a constructor), so adding a file under tests/
** needs no central list.  The runner (tests/runner.c) runs each test in a
** forked child with a timeout, so a crash or a hang fails that test alone,
** and prints "N passed, N failed" as its last line.
**
** Inside a test, ASSERT_* report the file, line and values and end the
** test as failed.  FL_SKIP("why") ends it as skipped (counted apart).
** fl_test_data_dir() is the repository root's path for data (models/,
** build/ref/), from $FL_ROOT or ".".
*/
#ifndef FL_TEST_H
#define FL_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*fl_test_fn)(void);

void fl_test_register(const char *name, fl_test_fn fn, int timeout_s);
void fl_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
void fl_test_skip(const char *why) __attribute__((noreturn));
const char *fl_test_root(void);
/* path = root + "/" + rel, in a static rotating buffer. */
const char *fl_test_path(const char *rel);

#define FL_TEST_T(name, timeout_s)                                             \
	static void fl_test_##name(void);                                          \
	__attribute__((constructor)) static void fl_test_reg_##name(void)          \
	{                                                                          \
		fl_test_register(#name, fl_test_##name, timeout_s);                    \
	}                                                                          \
	static void fl_test_##name(void)

/* Default timeout: 120 s. */
#define FL_TEST(name) FL_TEST_T(name, 120)

#define FL_SKIP(why) fl_test_skip(why)

#define ASSERT(c)                                                              \
	do {                                                                       \
		if (!(c))                                                              \
			fl_test_fail(__FILE__, __LINE__, "assertion failed: %s", #c);     \
	} while (0)
#define ASSERT_MSG(c, ...)                                                     \
	do {                                                                       \
		if (!(c))                                                              \
			fl_test_fail(__FILE__, __LINE__, __VA_ARGS__);                     \
	} while (0)
#define ASSERT_EQ(a, b)                                                        \
	do {                                                                       \
		long long fl_a_ = (long long)(a), fl_b_ = (long long)(b);              \
		if (fl_a_ != fl_b_)                                                    \
			fl_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, \
			             fl_a_, fl_b_);                                        \
	} while (0)
#define ASSERT_NE(a, b)                                                        \
	do {                                                                       \
		long long fl_a_ = (long long)(a), fl_b_ = (long long)(b);              \
		if (fl_a_ == fl_b_)                                                    \
			fl_test_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b,    \
			             fl_a_);                                               \
	} while (0)
#define ASSERT_OK(e)                                                           \
	do {                                                                       \
		int fl_r_ = (e);                                                       \
		if (fl_r_ < 0)                                                         \
			fl_test_fail(__FILE__, __LINE__, "%s failed: %d", #e, fl_r_);      \
	} while (0)
#define ASSERT_NEAR(a, b, tol)                                                 \
	do {                                                                       \
		double fl_a_ = (double)(a), fl_b_ = (double)(b);                       \
		if (!(fabs(fl_a_ - fl_b_) <= (tol)))                                   \
			fl_test_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", \
			             #a, #b, fl_a_, fl_b_, (double)(tol));                 \
	} while (0)
#define ASSERT_STR_CONTAINS(s, sub)                                            \
	do {                                                                       \
		const char *fl_s_ = (s);                                               \
		if (!fl_s_ || !strstr(fl_s_, (sub)))                                   \
			fl_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
			             fl_s_ ? fl_s_ : "(null)", (sub));                     \
	} while (0)

/*
** Compare two float arrays within atol + rtol*|ref| element-wise (the
** project's model tolerance is atol 1e-4, rtol 1e-3).  Returns the number
** of elements out of tolerance, and describes the worst one in msg.
*/
long fl_test_allclose(const float *got, const float *ref, long n, double atol, double rtol, char *msg, size_t msg_size);

/* Deterministic PRNG for tests (xorshift64*), uniform in [lo, hi). */
struct fl_test_rng {
	uint64_t s;
};
static inline float fl_test_uniform(struct fl_test_rng *r, float lo, float hi)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	uint64_t x = r->s * 2685821657736338717ULL;
	return lo + (hi - lo) * (float)((x >> 40) * (1.0 / 16777216.0));
}

/* The faceline command under test ($FL_FACELINE or ROOT/build/faceline);
** skips the test when it is not built. */
const char *fl_test_faceline(void);
/* Run the shell command `cmd` with stdout and stderr captured together into
** *out (malloc'd, NUL-terminated; freed if out is NULL); fails the test if
** the command was killed; returns its exit status. */
int fl_test_capture(const char *cmd, char **out);

/* Read a whole file (malloc'd); NULL if missing. */
void *fl_test_read_file(const char *path, size_t *size);

#endif /* FL_TEST_H */
