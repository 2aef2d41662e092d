/*
** model.c -- fl_model_load() and the model's read-only accessors.  Loading
** picks the loader from the file name, runs the load-time passes
** (passes.c) and packs weights for the CPU's kernels (graph prepare);
** after that the model never changes and may be shared by threads.
*/
#include "nn_int.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int fl__model_load_isa(const char *path, int isa, struct fl_model **out, char *err, size_t err_size)
{
	int r;
	*out = NULL;
	if (err && err_size)
		err[0] = 0;
	if (!path || !*path) {
		fl__errf(err, err_size, "no model path given");
		return FL_EINVAL;
	}
	struct fl_model *m = fl_calloc(1, sizeof(*m));
	if (!m) {
		fl__errf(err, err_size, "%s: out of memory", path);
		return FL_ENOMEM;
	}
	if ((r = fl__graph_init(&m->g, path)) < 0) {
		fl__errf(err, err_size, "%s: out of memory", path);
		goto fail;
	}
	if (ends_with(path, ".tflite"))
		r = fl__load_tflite(&m->g, path, err, err_size);
	else if (ends_with(path, "weights_manifest.json"))
		r = fl__load_faceapi(&m->g, path, err, err_size);
	else if (ends_with(path, ".json"))
		r = fl__load_tfjs(&m->g, path, err, err_size);
	else {
		fl__errf(err, err_size, "%s: unknown model format (expected a TF.js model.json, a face-api "
		                        "*-weights_manifest.json or a .tflite file)", path);
		r = FL_EUNSUPPORTED;
	}
	if (r < 0)
		goto fail;
	if ((r = fl__graph_optimize(&m->g, err, err_size)) < 0)
		goto fail;
	m->isa = isa;
	if ((r = fl__graph_prepare(&m->g, isa, err, err_size)) < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	if (err && err_size && !err[0])
		fl__errf(err, err_size, "%s: %s", path, fl_strerror(r));
	fl_model_destroy(m);
	return r;
}

int fl_model_load(const char *path, struct fl_model **out, char *err, size_t err_size)
{
	return fl__model_load_isa(path, fl__cpu_isa(), out, err, err_size);
}

void fl_model_destroy(struct fl_model *m)
{
	if (!m)
		return;
	fl__graph_fini(&m->g);
	fl_free(m);
}

int fl_model_n_inputs(const struct fl_model *m)
{
	return m->g.n_inputs;
}

int fl_model_n_outputs(const struct fl_model *m)
{
	return m->g.n_outputs;
}

static int describe(const struct fl_model *m, int vi, const char **name, struct fl_tensor *info)
{
	const struct fl_value *v = &m->g.values[vi];
	if (name)
		*name = v->name;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->dtype = v->dtype;
		info->n_dims = v->n_dims;
		memcpy(info->dims, v->dims, sizeof(info->dims));
	}
	return 0;
}

int fl_model_input(const struct fl_model *m, int i, const char **name, struct fl_tensor *info)
{
	if (!m || i < 0 || i >= m->g.n_inputs)
		return FL_EINVAL;
	return describe(m, m->g.inputs[i], name, info);
}

int fl_model_output(const struct fl_model *m, int i, const char **name, struct fl_tensor *info)
{
	if (!m || i < 0 || i >= m->g.n_outputs)
		return FL_EINVAL;
	return describe(m, m->g.outputs[i], name, info);
}

int fl_model_n_nodes(const struct fl_model *m)
{
	return m->g.n_nodes;
}

const char *fl_model_path(const struct fl_model *m)
{
	return m->g.path ? m->g.path : "";
}
