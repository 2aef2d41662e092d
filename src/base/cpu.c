/*
** cpu.c -- which kernels this CPU can run, and how many cores we may use.
**
** The ISA is detected once (CPUID and the OS's XSAVE state, via GCC's
** __builtin_cpu_supports) and may be lowered by $FL_CPU=ref|avx2|avx512 --
** valgrind cannot execute AVX-512, so the memory-check build forces "ref"
** or "avx2".  The core count follows sched_getaffinity and the cgroup v2
** CPU quota, overridden by $FL_THREADS.
*/
#define _GNU_SOURCE
#include "base_int.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

static atomic_int forced_isa = -1;

int fl__cpu_detect(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
		return FL_ISA_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return FL_ISA_AVX2;
#endif
	return FL_ISA_REF;
}

static int env_isa(void)
{
	const char *e = getenv("FL_CPU");
	if (!e || !*e)
		return FL_ISA_AVX512;
	if (!strcasecmp(e, "ref") || !strcasecmp(e, "c") || !strcasecmp(e, "generic"))
		return FL_ISA_REF;
	if (!strcasecmp(e, "avx2"))
		return FL_ISA_AVX2;
	return FL_ISA_AVX512;
}

int fl__cpu_isa(void)
{
	int f = atomic_load(&forced_isa);
	int best = fl__cpu_detect();
	if (f >= 0)
		return FL_MIN(f, best);
	return FL_MIN(env_isa(), best);
}

int fl__cpu_set_isa(int isa)
{
	int best = fl__cpu_detect();
	if (isa < 0) {
		atomic_store(&forced_isa, -1);
		return fl__cpu_isa();
	}
	atomic_store(&forced_isa, FL_MIN(isa, best));
	return FL_MIN(isa, best);
}

const char *fl__isa_name(int isa)
{
	switch (isa) {
	case FL_ISA_AVX512:
		return "avx512";
	case FL_ISA_AVX2:
		return "avx2";
	default:
		return "ref";
	}
}

const char *fl_cpu_isa_name(void)
{
	return fl__isa_name(fl__cpu_isa());
}

/* cgroup v2 "cpu.max": "QUOTA PERIOD" or "max PERIOD". */
static int cgroup_cpus(void)
{
	FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
	if (!f)
		return 0;
	char q[32] = {0};
	long period = 0;
	int n = 0;
	if (fscanf(f, "%31s %ld", q, &period) == 2 && strcmp(q, "max") != 0 && period > 0) {
		long quota = atol(q);
		n = (int)((quota + period - 1) / period);
	}
	fclose(f);
	return n;
}

int fl_cpu_count(void)
{
	const char *e = getenv("FL_THREADS");
	if (e && atoi(e) > 0)
		return atoi(e);
	int n = 1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	int c = cgroup_cpus();
	if (c > 0 && c < n)
		n = c;
	return n < 1 ? 1 : n;
}
