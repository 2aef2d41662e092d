/*
** track_util.h -- synthetic data for the tracker and clustering tests:
** identity embeddings with a chosen similarity structure, noisy samples of
** them, deterministic from a seed.
*/
#ifndef TRACK_UTIL_H
#define TRACK_UTIL_H

#include "fl_test.h"

#define TU_DIM 192

static inline void tu_normalize(float *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	float inv = (float)(1 / sqrt(s));
	for (int i = 0; i < n; i++)
		v[i] *= inv;
}

static inline void tu_random_unit(struct fl_test_rng *r, float *v)
{
	for (int i = 0; i < TU_DIM; i++)
		v[i] = fl_test_uniform(r, -1, 1);
	tu_normalize(v, TU_DIM);
}

/* n identity vectors whose pairwise cosine is about 0.26 (0.2 between noisy samples): a shared unit
** component of weight 0.6 plus an individual unit one. */
static inline void tu_identities(struct fl_test_rng *r, int n, float (*ids)[TU_DIM])
{
	float common[TU_DIM], ind[TU_DIM];
	tu_random_unit(r, common);
	for (int k = 0; k < n; k++) {
		tu_random_unit(r, ind);
		for (int i = 0; i < TU_DIM; i++)
			ids[k][i] = 0.6f * common[i] + ind[i];
		tu_normalize(ids[k], TU_DIM);
	}
}

/* A noisy sample of identity `id`: id + noise of norm `amp` (amp 0.65 gives
** about 0.7 cosine between two samples of the same identity). */
static inline void tu_sample(struct fl_test_rng *r, const float *id, float amp, float *out)
{
	float nz[TU_DIM];
	tu_random_unit(r, nz);
	for (int i = 0; i < TU_DIM; i++)
		out[i] = id[i] + amp * nz[i];
	tu_normalize(out, TU_DIM);
}

static inline float tu_cos(const float *a, const float *b)
{
	double s = 0;
	for (int i = 0; i < TU_DIM; i++)
		s += (double)a[i] * b[i];
	return (float)s;
}

#endif
