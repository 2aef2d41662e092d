/*
** assign.c -- the optimal assignment used by the tracker's association
** passes: the Hungarian algorithm in its O(n^2 m) form with row and column
** potentials (Kuhn-Munkres as shortest augmenting paths; the formulation in
** e-maxx's "Hungarian algorithm" article), for a rectangular cost matrix
** with forbidden entries.  Also the cosine helper.
**
** The algorithm needs rows <= cols; a taller matrix is solved transposed
** through an index accessor, never copied.  Forbidden entries stay in the
** matrix with their large cost, so a complete assignment always exists; the
** forbidden pairs it contains are dropped afterwards.  Because one
** forbidden pair costs more than any set of allowed ones, the result has the
** largest possible number of allowed pairs and, among those, the least cost.
*/
#include "track_int.h"

#include <math.h>
#include <stdint.h>

size_t fl__assign_scratch_size(int rows, int cols)
{
	size_t n = (size_t)(rows < cols ? rows : cols);
	size_t m = (size_t)(rows < cols ? cols : rows);
	/* u[n+1], v[m+1], minv[m+1] doubles; p[m+1], way[m+1] ints; used[m+1]. */
	return (n + 1 + 2 * (m + 1)) * sizeof(double) + 2 * (m + 1) * sizeof(int) + (m + 1);
}

void fl__assign(const float *cost, int rows, int cols, int *row_to_col, int *col_to_row, void *scratch)
{
	for (int i = 0; i < rows; i++)
		row_to_col[i] = -1;
	if (col_to_row)
		for (int j = 0; j < cols; j++)
			col_to_row[j] = -1;
	if (rows == 0 || cols == 0)
		return;

	/* Work on an n x m view with n <= m (transposed when rows > cols). */
	int tr = rows > cols;
	int n = tr ? cols : rows, m = tr ? rows : cols;
#define COST(i, j) ((double)(tr ? cost[(size_t)(j) * cols + (i)] : cost[(size_t)(i) * cols + (j)]))

	double *u = scratch;
	double *v = u + n + 1;
	double *minv = v + m + 1;
	int *p = (int *)(minv + m + 1);
	int *way = p + m + 1;
	unsigned char *used = (unsigned char *)(way + m + 1);
	for (int j = 0; j <= m; j++) {
		v[j] = 0;
		p[j] = 0;
		way[j] = 0;
	}
	for (int i = 0; i <= n; i++)
		u[i] = 0;

	/* 1-based: row i of the view is COST(i-1, .), column 0 is virtual. */
	for (int i = 1; i <= n; i++) {
		p[0] = i;
		int j0 = 0;
		for (int j = 0; j <= m; j++) {
			minv[j] = INFINITY;
			used[j] = 0;
		}
		do {
			used[j0] = 1;
			int i0 = p[j0], j1 = 0;
			double delta = INFINITY;
			for (int j = 1; j <= m; j++) {
				if (used[j])
					continue;
				double cur = COST(i0 - 1, j - 1) - u[i0] - v[j];
				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			for (int j = 0; j <= m; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		/* Flip the augmenting path. */
		do {
			int j1 = way[j0];
			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}

	/* Read back, dropping forbidden pairs. */
	for (int j = 1; j <= m; j++) {
		if (p[j] == 0)
			continue;
		int a = p[j] - 1, b = j - 1; /* view row, view column */
		if (COST(a, b) >= FL__ASSIGN_FORBID)
			continue;
		int r = tr ? b : a, c = tr ? a : b;
		row_to_col[r] = c;
		if (col_to_row)
			col_to_row[c] = r;
	}
#undef COST
}

float fl__cosine(const float *a, const float *b, int n)
{
	double ab = 0, aa = 0, bb = 0;
	for (int i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa <= 0 || bb <= 0)
		return 0;
	return (float)(ab / sqrt(aa * bb));
}
