/*
** track_int.h -- internal helpers shared by the files of src/track: the
** optimal assignment (Hungarian algorithm) and vector helpers.  Not part of
** the public API.
*/
#ifndef FL_TRACK_INT_H
#define FL_TRACK_INT_H

#include "faceline/fl_track.h"
#include <stddef.h>

/* A cost at or above this marks a forbidden pair. */
#define FL__ASSIGN_FORBID 1e6f

/* Bytes of scratch fl__assign needs for a rows x cols problem. */
size_t fl__assign_scratch_size(int rows, int cols);

/*
** Minimum-cost assignment of rows to columns (Hungarian algorithm with
** potentials, O(k^2 * max(rows, cols)), k = min(rows, cols)).  cost is
** rows x cols, row-major; entries >= FL__ASSIGN_FORBID are never assigned.
** The assignment maximises the number of allowed pairs first, then
** minimises their total cost.  row_to_col (rows ints) and col_to_row (cols
** ints, may be NULL) receive the partner or -1.  scratch holds
** fl__assign_scratch_size(rows, cols) bytes, suitably aligned for double.
** Allocates nothing.
*/
void fl__assign(const float *cost, int rows, int cols, int *row_to_col, int *col_to_row, void *scratch);

/* Cosine similarity of two vectors of n floats (0 if either is zero). */
float fl__cosine(const float *a, const float *b, int n);

#endif /* FL_TRACK_INT_H */
