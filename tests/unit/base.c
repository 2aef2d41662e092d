/*
** base.c -- tests of the base module: the status table, the allocation
** hook's fault injection and live count, the thread pool, CPU selection.
*/
#include "fl_test.h"

#include <stdatomic.h>

#include "base/base_int.h"
#include "faceline/fl.h"

FL_TEST(base_strerror)
{
	ASSERT_STR_CONTAINS(fl_strerror(FL_ECORRUPT), "corrupt");
	ASSERT_STR_CONTAINS(fl_strerror(FL_ENOMEM), "memory");
	ASSERT_STR_CONTAINS(fl_strerror(-99999), "unknown error -99999");
	ASSERT(!strcmp(fl_status_name(FL_EUNSUPPORTED), "FL_EUNSUPPORTED"));
	ASSERT_EQ(FL_EAGAIN, -EAGAIN);
	ASSERT(!strcmp(fl_strerror(0), "success"));
}

FL_TEST(base_alloc_fault_injection)
{
	long live0 = fl_alloc_live();
	void *a = fl_malloc(10);
	ASSERT(a);
	ASSERT_EQ(fl_alloc_live(), live0 + 1);
	fl_alloc_fail_after(2, 0);
	void *b = fl_malloc(10); /* 1st: fine */
	void *c = fl_malloc(10); /* 2nd: fails */
	void *d = fl_malloc(10); /* later ones fine again (repeat = 0) */
	ASSERT(b && !c && d);
	ASSERT_EQ(fl_alloc_fail_after(0, 0), 1);
	fl_alloc_fail_after(1, 1);
	ASSERT(!fl_malloc(1) && !fl_calloc(2, 2) && !fl_strdup("x"));
	fl_alloc_fail_after(0, 0);
	void *e = fl_aligned_alloc(64, 100);
	ASSERT(e && ((uintptr_t)e & 63) == 0);
	void *f = fl_realloc(fl_strdup("hello"), 1000);
	ASSERT(f && !strcmp(f, "hello"));
	fl_free(a), fl_free(b), fl_free(d), fl_free(e), fl_free(f);
	fl_free(NULL);
	ASSERT_EQ(fl_alloc_live(), live0);
}

struct pool_arg {
	atomic_int sum;
	atomic_int hits[4];
};

static void task(void *arg, int t, int thread)
{
	struct pool_arg *a = arg;
	atomic_fetch_add(&a->sum, t + 1);
	atomic_fetch_add(&a->hits[thread & 3], 1);
}

FL_TEST(base_pool_runs_every_task_once)
{
	for (int n = 1; n <= 4; n++) {
		struct fl_pool *p;
		ASSERT_OK(fl__pool_create(n, &p));
		ASSERT_EQ(fl__pool_n_threads(p), n);
		for (int rep = 0; rep < 2000; rep++) {
			struct pool_arg a = {0};
			int tasks = 1 + rep % 37;
			fl__pool_run(p, task, &a, tasks);
			ASSERT_EQ(atomic_load(&a.sum), tasks * (tasks + 1) / 2);
		}
		fl__pool_destroy(p);
	}
	struct pool_arg a = {0};
	fl__pool_run(NULL, task, &a, 5);
	ASSERT_EQ(atomic_load(&a.sum), 15);
	ASSERT_EQ(fl__pool_create(0, &(struct fl_pool *){0}), FL_EINVAL);
}

FL_TEST(base_cpu_isa_can_be_lowered)
{
	int best = fl__cpu_detect();
	ASSERT_EQ(fl__cpu_set_isa(FL_ISA_REF), FL_ISA_REF);
	ASSERT(!strcmp(fl_cpu_isa_name(), "ref"));
	ASSERT_EQ(fl__cpu_set_isa(FL_ISA_AVX512), best);
	fl__cpu_set_isa(-1);
	ASSERT(fl_cpu_count() >= 1);
	setenv("FL_THREADS", "3", 1);
	ASSERT_EQ(fl_cpu_count(), 3);
}

FL_TEST(base_half_to_float)
{
	ASSERT_EQ(fl__half_to_float(0x3c00), 1);
	ASSERT_EQ(fl__half_to_float(0xc000), -2);
	ASSERT_NEAR(fl__half_to_float(0x3555), 0.333251953125, 1e-12);
	ASSERT_NEAR(fl__half_to_float(0x0001), 5.960464477539063e-08, 1e-15); /* smallest subnormal */
	ASSERT_NEAR(fl__half_to_float(0x7bff), 65504, 0);
	ASSERT(isinf(fl__half_to_float(0x7c00)));
	ASSERT(isnan(fl__half_to_float(0x7e00)));
}

static char last_msg[256];
static int last_level = -1;
static void capture(void *op, int level, const char *msg)
{
	(void)op;
	last_level = level;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

FL_TEST(base_log_callback)
{
	fl_log_set_callback(capture, NULL);
	fl_log_set_level(FL_LOG_WARN);
	fl_log(FL_LOG_DEBUG, "hidden %d", 1);
	ASSERT_EQ(last_level, -1);
	fl_log(FL_LOG_ERROR, "file %s bad", "x.json");
	ASSERT_EQ(last_level, FL_LOG_ERROR);
	ASSERT(!strcmp(last_msg, "file x.json bad"));
	fl_log_set_callback(NULL, NULL);
}
