/*
** pool.c -- the thread pool behind every parallel kernel.
**
** A run publishes (fn, arg) under a new generation number.  Task numbers
** are claimed from one 64-bit atomic word holding the generation (24 bits),
** the run's task count (20 bits) and the next task (20 bits): a claim is
** judged by that word alone, so a worker that wakes late and still believes
** in an old generation can never claim a task of the new one, nor mistake
** the new task count for its own.  The caller works too (as thread 0) and
** returns as soon as every task has COMPLETED -- it never waits for a
** worker that has not started: on a busy machine a descheduled worker
** would otherwise stall every parallel region for a whole time slice (a
** 2-thread run could be slower than 1 thread).
**
** Inference issues hundreds of short parallel regions per image, so idle
** workers spin for a while (with the pause instruction) before they sleep
** on a condition variable; the caller signals only when someone sleeps.
*/
#define _GNU_SOURCE
#include "base_int.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Spins before a worker sleeps (~0.3 ms on this machine). */
#define SPIN_ITERS 4000
/* Spins of the caller waiting for a running task before it yields. */
#define WAIT_SPINS 2000

struct worker {
	struct fl_pool *pool;
	int index;
	pthread_t th;
};

struct fl_pool {
	int n_threads;
	struct worker *workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic uint64_t claim; /* generation << 40 | n_tasks << 20 | next task */
	atomic_int n_completed;
	atomic_int n_sleeping;
	atomic_int stop;
	/* Published before the generation changes (release), read after. */
	fl_task_fn fn;
	void *arg;
};

#define FIELD 0xfffffu /* 20 bits */
#define MAX_TASKS ((int)FIELD)
#define GEN_OF(v) ((uint32_t)((v) >> 40))
#define NTASKS_OF(v) ((uint32_t)((v) >> 20) & FIELD)
#define NEXT_OF(v) ((uint32_t)(v)&FIELD)

/* Claim and run tasks of generation `gen` until none are left.  fn and arg
** cannot change while a claimed task of this generation is unfinished. */
static void do_tasks(struct fl_pool *p, uint32_t gen, int thread)
{
	for (;;) {
		uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
		if (GEN_OF(v) != gen || NEXT_OF(v) >= NTASKS_OF(v))
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
		                                           memory_order_acquire))
			continue;
		p->fn(p->arg, (int)NEXT_OF(v), thread);
		atomic_fetch_add_explicit(&p->n_completed, 1, memory_order_release);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fl_pool *p = w->pool;
	uint32_t seen = 0;
	for (;;) {
		int spins = 0;
		uint32_t gen;
		while ((gen = GEN_OF(atomic_load_explicit(&p->claim, memory_order_acquire))) == seen &&
		       !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
			if (++spins < SPIN_ITERS) {
				cpu_relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->n_sleeping, 1);
			while (GEN_OF(atomic_load(&p->claim)) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->n_sleeping, 1);
			pthread_mutex_unlock(&p->mu);
			spins = 0;
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = gen;
		do_tasks(p, gen, w->index);
	}
}

int fl__pool_create(int n_threads, struct fl_pool **out)
{
	*out = NULL;
	if (n_threads < 1)
		return FL_EINVAL;
	struct fl_pool *p = fl_calloc(1, sizeof(*p));
	if (!p)
		return FL_ENOMEM;
	p->n_threads = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (n_threads > 1) {
		p->workers = fl_calloc(n_threads - 1, sizeof(*p->workers));
		if (!p->workers) {
			pthread_mutex_destroy(&p->mu);
			pthread_cond_destroy(&p->cv);
			fl_free(p);
			return FL_ENOMEM;
		}
		for (int i = 0; i < n_threads - 1; i++) {
			p->workers[i].pool = p;
			p->workers[i].index = i + 1;
			if (pthread_create(&p->workers[i].th, NULL, worker_main, &p->workers[i]) != 0) {
				p->n_threads = i + 1; /* only these started */
				fl__pool_destroy(p);
				return FL_ENOMEM;
			}
		}
	}
	*out = p;
	return 0;
}

void fl__pool_destroy(struct fl_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n_threads - 1; i++)
		pthread_join(p->workers[i].th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	fl_free(p->workers);
	fl_free(p);
}

int fl__pool_n_threads(const struct fl_pool *p)
{
	return p ? p->n_threads : 1;
}

void fl__pool_run(struct fl_pool *p, fl_task_fn fn, void *arg, int n_tasks)
{
	if (n_tasks <= 0)
		return;
	/* One thread, one task, or more tasks than the claim word can count
	** (kernels split work into far fewer): run them on the caller. */
	if (!p || p->n_threads == 1 || n_tasks == 1 || n_tasks > MAX_TASKS) {
		for (int t = 0; t < n_tasks; t++)
			fn(arg, t, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->n_completed, 0, memory_order_relaxed);
	uint32_t gen = (GEN_OF(atomic_load(&p->claim)) + 1) & 0xffffffu;
	if (gen == 0)
		gen = 1; /* workers start having "seen" generation 0 */
	atomic_store_explicit(&p->claim, (uint64_t)gen << 40 | (uint64_t)n_tasks << 20, memory_order_release);
	if (atomic_load(&p->n_sleeping) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	do_tasks(p, gen, 0);
	int spins = 0;
	while (atomic_load_explicit(&p->n_completed, memory_order_acquire) < n_tasks) {
		if (++spins < WAIT_SPINS)
			cpu_relax();
		else
			sched_yield(); /* a worker holding a task was descheduled */
	}
}

double fl__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}
