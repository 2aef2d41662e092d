/*
** batch_int.h -- runs a one-input image model (MobileFaceNet,
** FaceExpressionNet: [N, H, W, C] -> [N, D]) over any number of samples in
** batches, keeping one planned session per batch size it has used.  Shared
** by embed.c and expression.c; not part of the public API.
*/
#ifndef FL_VISION_BATCH_INT_H
#define FL_VISION_BATCH_INT_H

#include "faceline/fl_nn.h"

#define FL__BATCH_MAX 256   /* largest max_batch accepted */
#define FL__BATCH_SLOTS 10  /* sessions kept: powers of two up to 256, plus max_batch */

struct fl__batch {
	struct fl_model *model; /* owned */
	int out_index;          /* which model output is read */
	int h, w, c;            /* input sample shape */
	int dim;                /* output row length */
	int n_threads, max_batch;
	struct {
		int n; /* batch size; 0 = empty slot */
		struct fl_session *s;
	} slot[FL__BATCH_SLOTS];
	char errmsg[512];
};

/*
** Load the model at `path` (borrowed) into *b (caller-allocated, zeroed
** here first) and check that it has one input [N, h, w, c] (any declared
** N) and that output `out_name` is [N, dim].  Returns 0 or a negative code
** with the message in err; on failure *b holds nothing to release.
*/
int fl__batch_init(struct fl__batch *b, const char *path, const char *what, const char *out_name, int h, int w,
                   int c, int dim, int n_threads, int max_batch, char *err, size_t err_size);
/* Release the model and sessions; NULL-safe, safe on a zeroed struct. */
void fl__batch_fini(struct fl__batch *b);

/*
** Run n samples (in: n x h x w x c floats, borrowed) and copy the output
** rows to out (n x dim).  Batches of max_batch, then the largest powers of
** two that fit.  Returns 0 or a negative code with the message in
** b->errmsg.
*/
int fl__batch_run(struct fl__batch *b, const float *in, int n, float *out);

#endif /* FL_VISION_BATCH_INT_H */
