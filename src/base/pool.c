/*
** pool.c -- the thread pool behind every parallel kernel.
**
** A run publishes (fn, arg, n_tasks) and bumps a generation counter;
** workers take task numbers from a shared atomic counter until none are
** left, then report done.  The caller works too (as thread 0), so a pool
** of n threads has n-1 workers.  Inference issues hundreds of short
** parallel regions per image, so idle workers spin for a while (with the
** pause instruction) before they sleep on a condition variable.
*/
#include "base_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Spins before a worker sleeps (~0.2 ms on this machine). */
#define SPIN_ITERS 3000

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
	atomic_uint gen;
	atomic_int next_task;
	atomic_int n_done; /* workers finished with the current generation */
	atomic_int stop;
	fl_task_fn fn;
	void *arg;
	int n_tasks;
};

static void do_tasks(struct fl_pool *p, int thread)
{
	int t;
	while ((t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed)) < p->n_tasks)
		p->fn(p->arg, t, thread);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fl_pool *p = w->pool;
	unsigned seen = 0;
	for (;;) {
		int spins = 0;
		while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !atomic_load(&p->stop)) {
			if (++spins < SPIN_ITERS) {
				cpu_relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = atomic_load(&p->gen);
		do_tasks(p, w->index);
		atomic_fetch_add_explicit(&p->n_done, 1, memory_order_release);
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
		if (!p->workers)
			goto fail;
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
fail:
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	fl_free(p);
	return FL_ENOMEM;
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
	if (!p || p->n_threads == 1 || n_tasks == 1) {
		for (int t = 0; t < n_tasks; t++)
			fn(arg, t, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n_tasks = n_tasks;
	atomic_store(&p->next_task, 0);
	atomic_store(&p->n_done, 0);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	do_tasks(p, 0);
	while (atomic_load_explicit(&p->n_done, memory_order_acquire) < p->n_threads - 1)
		cpu_relax();
}

double fl__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}
