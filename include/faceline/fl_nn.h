/*
** fl_nn.h -- libfaceline's neural-network engine: load a pretrained model,
** open a session on it, run it on tensors.
**
** A model (struct fl_model) is immutable once loaded and may be shared by
** any number of threads.  All mutable inference state -- activations,
** scratch, kernel workspaces -- lives in a session (struct fl_session),
** whose memory is planned once when it is created: fl_session_run()
** allocates nothing.  Use one session per thread.
**
** Layouts: image tensors are NHWC (batch, height, width, channels), the
** layout of TensorFlow, TF.js and TFLite.  Data is native-endian, densely
** packed, row-major (the last dimension varies fastest).
*/
#ifndef FL_NN_H
#define FL_NN_H

#include "fl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_MAX_DIMS 6

/* Element types.  Append only. */
enum fl_dtype {
	FL_DTYPE_F32 = 0,  /* float */
	FL_DTYPE_I32 = 1,  /* int32_t */
	FL_DTYPE_BOOL = 2, /* uint8_t, 0 or 1 */
};

/* Size in bytes of one element (0 for an unknown dtype). */
size_t fl_dtype_size(enum fl_dtype dtype);
const char *fl_dtype_name(enum fl_dtype dtype);

/*
** A tensor view: it does not own `data`.  dims[i] >= 0 for a concrete
** tensor; -1 marks an unknown dimension in a model's declared signature.
*/
struct fl_tensor {
	enum fl_dtype dtype;
	int n_dims;
	int64_t dims[FL_MAX_DIMS];
	void *data;
};

/* Number of elements (product of dims; 1 for a scalar, 0 if any dim <= 0). */
int64_t fl_tensor_numel(const struct fl_tensor *t);

/* ------------------------------------------------------------------ model */

struct fl_model;

/*
** Load a model from `path`.  The format is chosen from the file:
**   - "*.json" with "modelTopology": a TensorFlow.js graph model; weights are
**     read from the .bin files its weightsManifest names, beside it;
**   - "*-weights_manifest.json": a face-api weights-only model; the network
**     is built from its published layout (FaceExpressionNet);
**   - "*.tflite": a TFLite flatbuffer (float32 models).
** On success *out owns the model (release with fl_model_destroy).  On
** failure *out is NULL, and if `err` is not NULL a message naming the file,
** node, op or field that was wrong is written to err[0..err_size).
** Returns 0, FL_ENOENT, FL_EIO, FL_ECORRUPT, FL_ETRUNCATED, FL_EUNSUPPORTED,
** FL_EDTYPE, FL_ESHAPE or FL_ENOMEM.
*/
int fl_model_load(const char *path, struct fl_model **out, char *err, size_t err_size);
void fl_model_destroy(struct fl_model *model);

/* Number of graph inputs / outputs. */
int fl_model_n_inputs(const struct fl_model *model);
int fl_model_n_outputs(const struct fl_model *model);
/*
** Describe input/output i: name (owned by the model) and declared shape and
** dtype into *info (info->data is NULL).  Unknown dims are -1.  Outputs are
** in the model's signature order (TF.js), or the file's order otherwise.
** Returns 0 or FL_EINVAL for an index out of range.
*/
int fl_model_input(const struct fl_model *model, int i, const char **name, struct fl_tensor *info);
int fl_model_output(const struct fl_model *model, int i, const char **name, struct fl_tensor *info);
/* Number of nodes after the load-time passes (fusion, folding, pruning). */
int fl_model_n_nodes(const struct fl_model *model);
/* The path the model was loaded from (owned by the model). */
const char *fl_model_path(const struct fl_model *model);

/* ---------------------------------------------------------------- session */

struct fl_session;

struct fl_session_params {
	/* Threads used inside each run, including the caller's (>= 1).  0 means
	** fl_cpu_count(). */
	int n_threads;
	/* Concrete input shapes, one per model input; NULL (or n_dims == 0 for
	** one entry) means the model's declared shape with unknown dims set to
	** 1.  Spatial sizes may differ from the declared ones (a detector run
	** on a whole 576x1024 frame).  Borrowed for the call. */
	const struct fl_tensor *input_shapes;
	int n_input_shapes;
};

/* Defaults: n_threads 0, input_shapes NULL. */
struct fl_session_params fl_session_default_params(void);

/*
** Create a session: infer every shape for the given input shapes, plan the
** memory, allocate one arena.  `model` must outlive the session.  On
** failure *out is NULL and, if err is not NULL, a message naming the node
** whose shapes did not fit is written there.  Returns 0, FL_ESHAPE,
** FL_EUNSUPPORTED, FL_EINVAL or FL_ENOMEM.
*/
int fl_session_create(const struct fl_model *model, const struct fl_session_params *params,
                      struct fl_session **out, char *err, size_t err_size);
void fl_session_destroy(struct fl_session *s);

/*
** Run the model.  inputs[i] must have the session's shape for input i; its
** dtype must be the model's, except that F32 data is accepted for an I32
** input (converted, values rounded).  Inputs are borrowed for the call.
** Returns 0, FL_ESHAPE, FL_EDTYPE or FL_EINVAL; the message is in
** fl_session_errmsg().
*/
int fl_session_run(struct fl_session *s, const struct fl_tensor *inputs, int n_inputs);

/*
** A view of output i after a run: *t points into the session's arena and
** stays valid until the next run or destroy.  Returns 0 or FL_EINVAL.
*/
int fl_session_output(const struct fl_session *s, int i, struct fl_tensor *t);
/* The session's concrete shape of input i. */
int fl_session_input(const struct fl_session *s, int i, struct fl_tensor *t);

/* The last error message of this session ("" if none). */
const char *fl_session_errmsg(const struct fl_session *s);
/* Floating-point operations of one run (multiply-add = 2), for GFLOP/s. */
int64_t fl_session_flops(const struct fl_session *s);
/* Bytes of the activation arena planned for this session. */
size_t fl_session_arena_bytes(const struct fl_session *s);
/* Optional per-op profile: when enabled, each run accumulates time per
** node; fl_session_profile_dump writes a table through fl_log(INFO). */
void fl_session_set_profiling(struct fl_session *s, int on);
void fl_session_profile_dump(const struct fl_session *s);

#ifdef __cplusplus
}
#endif
#endif /* FL_NN_H */
