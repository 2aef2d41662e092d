/*
** tensor.c -- the public tensor helpers of fl_nn.h: element sizes and
** names of the dtypes, and the element count of a tensor view.
*/
#include "ops_int.h"

size_t fl_dtype_size(enum fl_dtype dtype)
{
	switch (dtype) {
	case FL_DTYPE_F32:
		return 4;
	case FL_DTYPE_I32:
		return 4;
	case FL_DTYPE_BOOL:
		return 1;
	}
	return 0;
}

const char *fl_dtype_name(enum fl_dtype dtype)
{
	switch (dtype) {
	case FL_DTYPE_F32:
		return "float32";
	case FL_DTYPE_I32:
		return "int32";
	case FL_DTYPE_BOOL:
		return "bool";
	}
	return "unknown";
}

/* 1 for a scalar (n_dims == 0); 0 as soon as one dim is <= 0, which also
** covers the -1 of an unknown dim in a declared signature. */
int64_t fl_tensor_numel(const struct fl_tensor *t)
{
	int64_t n = 1;
	if (!t)
		return 0;
	for (int i = 0; i < t->n_dims; i++) {
		if (t->dims[i] <= 0)
			return 0;
		n *= t->dims[i];
	}
	return n;
}
