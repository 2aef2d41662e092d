/*
** batch.c -- a one-input image model run in batches (see batch_int.h).
** Sessions are planned for a fixed shape, so each batch size gets its own
** session, created on first use and kept.  A call with n samples runs
** floor(n / max_batch) full batches and splits the rest into powers of
** two (7 = 4 + 2 + 1), which bounds the sessions at about log2(max_batch)
** + 2 and never wastes compute on padding.
*/
#include "batch_int.h"
#include "base/base_int.h"

#include <stdarg.h>

static void set_err(struct fl__batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct fl__batch *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
	va_end(ap);
}

int fl__batch_init(struct fl__batch *b, const char *path, const char *what, const char *out_name, int h, int w,
                   int c, int dim, int n_threads, int max_batch, char *err, size_t err_size)
{
	struct fl_tensor t;
	const char *name;
	int r;

	memset(b, 0, sizeof(*b));
	if (n_threads < 0 || max_batch < 1 || max_batch > FL__BATCH_MAX) {
		fl__errf(err, err_size, "%s: invalid parameters (n_threads %d, max_batch %d; max_batch must be 1..%d)", what,
		         n_threads, max_batch, FL__BATCH_MAX);
		return FL_EINVAL;
	}
	if ((r = fl_model_load(path, &b->model, err, err_size)) < 0)
		return r;
	b->out_index = -1;
	for (int i = 0; i < fl_model_n_outputs(b->model); i++)
		if (fl_model_output(b->model, i, &name, &t) == 0 && !strcmp(name, out_name))
			b->out_index = i;
	if (fl_model_n_inputs(b->model) != 1 || fl_model_input(b->model, 0, &name, &t) < 0 || t.n_dims != 4 ||
	    t.dims[1] != h || t.dims[2] != w || t.dims[3] != c || b->out_index < 0) {
		fl__errf(err, err_size, "%s: not %s (expected one [N,%d,%d,%d] input and an output \"%s\")", path, what, h,
		         w, c, out_name);
		fl__batch_fini(b);
		return FL_EUNSUPPORTED;
	}
	b->h = h;
	b->w = w;
	b->c = c;
	b->dim = dim;
	b->n_threads = n_threads;
	b->max_batch = max_batch;
	return 0;
}

void fl__batch_fini(struct fl__batch *b)
{
	if (!b)
		return;
	for (int i = 0; i < FL__BATCH_SLOTS; i++)
		fl_session_destroy(b->slot[i].s);
	fl_model_destroy(b->model);
	memset(b, 0, sizeof(*b));
}

/* The session for batch size n, created on first use. */
static int session_for(struct fl__batch *b, int n, struct fl_session **out)
{
	int free_slot = -1;
	for (int i = 0; i < FL__BATCH_SLOTS; i++) {
		if (b->slot[i].n == n) {
			*out = b->slot[i].s;
			return 0;
		}
		if (!b->slot[i].n && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) { /* cannot happen with the batch sizes we use */
		set_err(b, "%s: no session slot left for batch %d", fl_model_path(b->model), n);
		return FL_ENOMEM;
	}
	struct fl_tensor shape = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {n, b->h, b->w, b->c}};
	struct fl_session_params sp = fl_session_default_params();
	struct fl_session *s = NULL;
	char err[400] = "";
	sp.n_threads = b->n_threads;
	sp.input_shapes = &shape;
	sp.n_input_shapes = 1;
	int r = fl_session_create(b->model, &sp, &s, err, sizeof(err));
	if (r < 0) {
		set_err(b, "%s at batch %d: %s", fl_model_path(b->model), n, err);
		return r;
	}
	struct fl_tensor o;
	if (fl_session_output(s, b->out_index, &o) < 0 || o.dtype != FL_DTYPE_F32 || fl_tensor_numel(&o) != (int64_t)n * b->dim) {
		set_err(b, "%s: output %d is not [%d,%d]", fl_model_path(b->model), b->out_index, n, b->dim);
		fl_session_destroy(s);
		return FL_EUNSUPPORTED;
	}
	b->slot[free_slot].n = n;
	b->slot[free_slot].s = s;
	*out = s;
	return 0;
}

int fl__batch_run(struct fl__batch *b, const float *in, int n, float *out)
{
	const size_t per = (size_t)b->h * b->w * b->c;
	int r;

	b->errmsg[0] = 0;
	while (n > 0) {
		int k = b->max_batch;
		if (n < k)
			for (k = 1; k * 2 <= n; k *= 2)
				;
		struct fl_session *s;
		if ((r = session_for(b, k, &s)) < 0)
			return r;
		struct fl_tensor t = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {k, b->h, b->w, b->c}, .data = (void *)in};
		if ((r = fl_session_run(s, &t, 1)) < 0) {
			set_err(b, "%s: %s", fl_model_path(b->model), fl_session_errmsg(s));
			return r;
		}
		struct fl_tensor o;
		if ((r = fl_session_output(s, b->out_index, &o)) < 0) {
			set_err(b, "%s: no output %d", fl_model_path(b->model), b->out_index);
			return r;
		}
		memcpy(out, o.data, (size_t)k * b->dim * sizeof(float));
		in += (size_t)k * per;
		out += (size_t)k * b->dim;
		n -= k;
	}
	return 0;
}
