/*
** base_int.h -- internal helpers shared across libfaceline's modules:
** the thread pool, CPU feature selection, and small utilities.
** Not part of the public API.
*/
#ifndef FL_BASE_INT_H
#define FL_BASE_INT_H

#include "faceline/fl_base.h"
#include <stdio.h>
#include <string.h>

#define FL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* snprintf into an error buffer that may be NULL. */
void fl__errf(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ CPU */

/* Kernel families, in increasing order of capability. */
enum fl_isa {
	FL_ISA_REF = 0,    /* portable C, always built */
	FL_ISA_AVX2 = 1,   /* AVX2 + FMA */
	FL_ISA_AVX512 = 2, /* AVX-512 F/BW/DQ/VL */
};
/* Best ISA of this CPU (CPUID + OS XSAVE support). */
int fl__cpu_detect(void);
/* The ISA kernels are chosen for: min(detected, $FL_CPU, last set). */
int fl__cpu_isa(void);
/* Force an ISA for models loaded from now on (tests); capped at the
** detected one.  Returns the ISA actually set. */
int fl__cpu_set_isa(int isa);
const char *fl__isa_name(int isa);

/* ------------------------------------------------------------ thread pool */

/*
** A fixed pool of worker threads for data-parallel kernels.  The calling
** thread takes part in every run, so a pool of n threads starts n-1
** workers.  Workers spin briefly after a run before sleeping, because
** inference issues many short parallel regions back to back.
*/
struct fl_pool;

/* fn(arg, task, thread): run task `task` (0..n_tasks-1) on thread `thread`
** (0..n_threads-1; each thread index is used by one thread at a time, so it
** may index per-thread scratch). */
typedef void (*fl_task_fn)(void *arg, int task, int thread);

int fl__pool_create(int n_threads, struct fl_pool **out);
void fl__pool_destroy(struct fl_pool *pool);
/* Threads of the pool (1 for a NULL pool). */
int fl__pool_n_threads(const struct fl_pool *pool);
/* Run n_tasks tasks and return when all are done.  A NULL pool, or one of
** one thread, runs them in order on the caller.  Not reentrant. */
void fl__pool_run(struct fl_pool *pool, fl_task_fn fn, void *arg, int n_tasks);

/* Monotonic time in seconds. */
double fl__now(void);

/* Read a whole file into a fl_malloc'd buffer (NUL-terminated, the NUL not
** counted in *size).  max_size bounds it (FL_ERANGE above).  Errors name
** the path in err. */
int fl__read_file(const char *path, size_t max_size, char **data, size_t *size, char *err, size_t err_size);

/* IEEE half to float. */
float fl__half_to_float(uint16_t h);

#endif /* FL_BASE_INT_H */
