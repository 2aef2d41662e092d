/*
** faceapi.c -- face-api's FaceExpressionNet from its weights-only
** manifest (face_expression_model-weights_manifest.json + .bin).  The file
** holds only weights; the network is built here from face-api's published
** layout (FaceFeatureExtractor + FaceProcessor's fully connected layer):
**
**   input [N,112,112,3] RGB 0..255
**   x = (input - (122.782, 117.001, 104.298)) / 255
**   x = dense0(x) .. dense3(x)            widths 32, 64, 128, 256; each /2
**   x = avgpool 7x7 stride 2 VALID        [N,1,1,256]
**   logits = reshape(x, [-1,256]) @ fc/weights + fc/bias      [N,7]
**   expressions = softmax(logits)
**
** A dense block (stride 2 at its first conv, "same" padding everywhere):
**   out1 = relu(conv0(x))        conv0: 3x3 conv + bias in dense0,
**                                       a separable conv in the others
**   out2 = sep(out1)
**   out3 = sep(relu(out1 + out2))
**   out4 = sep(relu(out1 + (out2 + out3)))
**   y    = relu(out1 + (out2 + (out3 + out4)))
** where sep = depthwise 3x3 (no bias) -> pointwise 1x1 + bias.  The
** additions keep face-api's association order, so float rounding matches.
** Graph outputs: "expressions" (softmax) then "logits"; input "input".
*/
#define _GNU_SOURCE
#include "load_int.h"

#include <stdarg.h>

struct fctx {
	struct fl_graph *g;
	const struct fl__weights *w;
	const char *label;
	char *err;
	size_t err_size;
};

/* Add a constant from weight `name`, which must have exactly `n_dims`
** dims `dims` (-1 = any); returns the value index or a negative code. */
static int weight(struct fctx *c, const char *name, int n_dims, const int64_t *dims)
{
	const struct fl__wspec *s = fl__weights_find(c->w, name);
	void *data;
	int i, rc;

	if (!s) {
		fl__errf(c->err, c->err_size, "%s: weight \"%s\" is missing: not a FaceExpressionNet manifest", c->label,
		         name);
		return FL_EUNSUPPORTED;
	}
	if (s->dtype != FL_DTYPE_F32 || s->n_dims != n_dims)
		goto bad_shape;
	for (i = 0; i < n_dims; i++)
		if (dims[i] >= 0 && s->dims[i] != dims[i])
			goto bad_shape;
	if ((rc = fl__weights_decode(c->w, s, &data, c->label, c->err, c->err_size)))
		return rc;
	return fl__graph_add_const(c->g, name, FL_DTYPE_F32, s->n_dims, s->dims, data);
bad_shape:
	fl__errf(c->err, c->err_size, "%s: weight \"%s\" has a %s of %d dims, not FaceExpressionNet's", c->label, name,
	         fl_dtype_name(s->dtype), s->n_dims);
	return FL_ESHAPE;
}

/* A fresh intermediate value named printf(fmt, ...). */
static int value(struct fctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int value(struct fctx *c, const char *fmt, ...)
{
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return fl__graph_add_value(c->g, name, FL_DTYPE_F32, 0, NULL);
}

/* Add node `op` named after its output value; returns the output value. */
static int node(struct fctx *c, enum fl_op op, const int *in, int n_in, int out, const struct fl_attr *a)
{
	char name[128];
	int rc;
	if (out < 0)
		return out;
	/* copied: the value table may move while the node is added */
	snprintf(name, sizeof(name), "%s", c->g->values[out].name);
	rc = fl__graph_add_node(c->g, op, name, in, n_in, &out, 1, a);
	return rc < 0 ? rc : out;
}

/* out = relu?(a + b), named `name`. */
static int add(struct fctx *c, int a, int b, int relu, const char *name)
{
	struct fl_attr at;
	int in[2] = {a, b};
	memset(&at, 0, sizeof(at));
	at.act = relu ? FL_ACT_RELU : FL_ACT_NONE;
	return node(c, FL_OP_ADD, in, 2, fl__graph_add_value(c->g, name, FL_DTYPE_F32, 0, NULL), &at);
}

/* Separable conv "prefix" (depthwise 3x3 SAME at `stride`, pointwise 1x1
** + bias), relu'd when asked. */
static int sep(struct fctx *c, int x, const char *prefix, int cin, int cout, int stride, int relu)
{
	char name[96];
	int64_t dwd[4] = {3, 3, cin, 1}, pwd[4] = {1, 1, cin, cout}, bd[1] = {cout};
	struct fl_attr a;
	int in[3], rc;

	memset(&a, 0, sizeof(a));
	snprintf(name, sizeof(name), "%s/depthwise_filter", prefix);
	if ((rc = weight(c, name, 4, dwd)) < 0)
		return rc;
	in[0] = x;
	in[1] = rc;
	a.stride[0] = a.stride[1] = stride;
	a.padding = FL_PADDING_SAME;
	if ((x = node(c, FL_OP_DWCONV2D, in, 2, value(c, "%s/depthwise", prefix), &a)) < 0)
		return x;

	snprintf(name, sizeof(name), "%s/pointwise_filter", prefix);
	if ((rc = weight(c, name, 4, pwd)) < 0)
		return rc;
	in[1] = rc;
	snprintf(name, sizeof(name), "%s/bias", prefix);
	if ((rc = weight(c, name, 1, bd)) < 0)
		return rc;
	in[0] = x;
	in[2] = rc;
	memset(&a, 0, sizeof(a));
	a.padding = FL_PADDING_VALID;
	a.act = relu ? FL_ACT_RELU : FL_ACT_NONE;
	return node(c, FL_OP_CONV2D, in, 3, value(c, "%s", prefix), &a);
}

/* dense<k>: cin -> cout channels, spatial size halved. */
static int dense(struct fctx *c, int x, int k, int cin, int cout)
{
	char p[32], q[32];
	int out1, out2, out3, out4, t, u;

	snprintf(p, sizeof(p), "dense%d/conv0", k);
	if (k == 0) {
		/* a plain 3x3 conv + bias, stride 2, SAME, relu */
		int64_t fd[4] = {3, 3, cin, cout}, bd[1] = {cout};
		struct fl_attr a;
		int in[3];
		memset(&a, 0, sizeof(a));
		if ((in[1] = weight(c, "dense0/conv0/filters", 4, fd)) < 0)
			return in[1];
		if ((in[2] = weight(c, "dense0/conv0/bias", 1, bd)) < 0)
			return in[2];
		in[0] = x;
		a.stride[0] = a.stride[1] = 2;
		a.padding = FL_PADDING_SAME;
		a.act = FL_ACT_RELU;
		out1 = node(c, FL_OP_CONV2D, in, 3, value(c, "%s", p), &a);
	} else {
		out1 = sep(c, x, p, cin, cout, 2, 1);
	}
	if (out1 < 0)
		return out1;
	snprintf(p, sizeof(p), "dense%d/conv1", k);
	if ((out2 = sep(c, out1, p, cout, cout, 1, 0)) < 0)
		return out2;
	snprintf(q, sizeof(q), "dense%d/in3", k);
	if ((t = add(c, out1, out2, 1, q)) < 0)
		return t;
	snprintf(p, sizeof(p), "dense%d/conv2", k);
	if ((out3 = sep(c, t, p, cout, cout, 1, 0)) < 0)
		return out3;
	snprintf(q, sizeof(q), "dense%d/add23", k);
	if ((u = add(c, out2, out3, 0, q)) < 0)
		return u;
	snprintf(q, sizeof(q), "dense%d/in4", k);
	if ((t = add(c, out1, u, 1, q)) < 0)
		return t;
	snprintf(p, sizeof(p), "dense%d/conv3", k);
	if ((out4 = sep(c, t, p, cout, cout, 1, 0)) < 0)
		return out4;
	snprintf(q, sizeof(q), "dense%d/add34", k);
	if ((t = add(c, out3, out4, 0, q)) < 0)
		return t;
	snprintf(q, sizeof(q), "dense%d/add234", k);
	if ((t = add(c, out2, t, 0, q)) < 0)
		return t;
	snprintf(q, sizeof(q), "dense%d/out", k);
	return add(c, out1, t, 1, q);
}

/* A small constant owned by the graph. */
static int small_const(struct fctx *c, const char *name, enum fl_dtype dt, int n_dims, const int64_t *dims,
                       const void *src, size_t bytes)
{
	void *data = fl_malloc(bytes);
	if (!data)
		return FL_ENOMEM;
	memcpy(data, src, bytes);
	return fl__graph_add_const(c->g, name, dt, n_dims, dims, data);
}

static int build(struct fctx *c)
{
	static const float mean[3] = {122.782f, 117.001f, 104.298f};
	static const float scale = 255.0f;
	static const int32_t flat[2] = {-1, 256};
	static const int widths[5] = {3, 32, 64, 128, 256};
	int64_t in_dims[4] = {-1, 112, 112, 3}, d3[1] = {3}, d2[1] = {2}, fcd[2] = {256, -1};
	const struct fl__wspec *fcw = fl__weights_find(c->w, "fc/weights");
	int64_t fcb[1] = {fcw && fcw->n_dims == 2 ? fcw->dims[1] : -1};
	struct fl_attr a;
	int input, x, k, in[3], logits, probs, outs[2];

	if ((input = fl__graph_add_value(c->g, "input", FL_DTYPE_F32, 4, in_dims)) < 0)
		return input;
	/* normalisation: (x - mean) / 255, as face-api does it */
	if ((in[1] = small_const(c, "mean_rgb", FL_DTYPE_F32, 1, d3, mean, sizeof(mean))) < 0)
		return in[1];
	in[0] = input;
	if ((x = node(c, FL_OP_SUB, in, 2, value(c, "sub_mean"), NULL)) < 0)
		return x;
	if ((in[1] = small_const(c, "scale", FL_DTYPE_F32, 0, d2, &scale, sizeof(scale))) < 0)
		return in[1];
	in[0] = x;
	if ((x = node(c, FL_OP_DIV, in, 2, value(c, "normalized"), NULL)) < 0)
		return x;
	for (k = 0; k < 4; k++)
		if ((x = dense(c, x, k, widths[k], widths[k + 1])) < 0)
			return x;
	memset(&a, 0, sizeof(a));
	a.ksize[0] = a.ksize[1] = 7;
	a.stride[0] = a.stride[1] = 2;
	a.padding = FL_PADDING_VALID;
	in[0] = x;
	if ((x = node(c, FL_OP_AVGPOOL, in, 1, value(c, "avgpool"), &a)) < 0)
		return x;
	if ((in[1] = small_const(c, "flatten_shape", FL_DTYPE_I32, 1, d2, flat, sizeof(flat))) < 0)
		return in[1];
	in[0] = x;
	if ((x = node(c, FL_OP_RESHAPE, in, 2, value(c, "flatten"), NULL)) < 0)
		return x;
	/* the classifier: fc/weights [256, K] and fc/bias [K] */
	in[0] = x;
	if ((in[1] = weight(c, "fc/weights", 2, fcd)) < 0)
		return in[1];
	if ((in[2] = weight(c, "fc/bias", 1, fcb)) < 0)
		return in[2];
	memset(&a, 0, sizeof(a));
	if ((logits = node(c, FL_OP_MATMUL, in, 3, value(c, "logits"), &a)) < 0)
		return logits;
	a.axis = -1;
	in[0] = logits;
	if ((probs = node(c, FL_OP_SOFTMAX, in, 1, value(c, "expressions"), &a)) < 0)
		return probs;
	outs[0] = probs;
	outs[1] = logits;
	return fl__graph_set_io(c->g, &input, 1, outs, 2);
}

static int load(struct fl_graph *g, const char *json, size_t json_size, const char *dir, const uint8_t *bin,
                size_t bin_size, const char *label, char *err, size_t err_size)
{
	struct fl__weights w;
	struct fctx c;
	json_t *root = NULL;
	int rc;

	memset(&w, 0, sizeof(w));
	if (err && err_size)
		err[0] = 0;
	if ((rc = fl__json_parse(json, json_size, label, &root, err, err_size)))
		goto fail;
	if (!json_is_array(root)) {
		fl__errf(err, err_size, "%s: not a weights manifest (a JSON array of groups)", label);
		rc = FL_ECORRUPT;
		goto fail;
	}
	if ((rc = fl__weights_load(&w, root, dir, bin, bin_size, label, err, err_size)))
		goto fail;
	c.g = g;
	c.w = &w;
	c.label = label;
	c.err = err;
	c.err_size = err_size;
	rc = build(&c);
	if (rc > 0)
		rc = 0;
fail:
	if (rc == FL_ENOMEM && err && err_size && !err[0])
		fl__errf(err, err_size, "%s: out of memory", label);
	fl__weights_fini(&w);
	json_decref(root);
	return rc;
}

int fl__load_faceapi_buf(struct fl_graph *g, const char *json, size_t json_size, const uint8_t *bin, size_t bin_size,
                         const char *label, char *err, size_t err_size)
{
	return load(g, json, json_size, NULL, bin, bin_size, label ? label : "<memory>", err, err_size);
}

int fl__load_faceapi(struct fl_graph *g, const char *path, char *err, size_t err_size)
{
	char *data = NULL, *dir = NULL, *slash;
	size_t size = 0;
	int rc;

	if (err && err_size)
		err[0] = 0;
	if ((rc = fl__read_file(path, FL__LOAD_MAX_JSON, &data, &size, err, err_size)))
		return rc;
	dir = fl_strdup(path);
	if (!dir) {
		fl_free(data);
		return FL_ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	rc = load(g, data, size, dir, NULL, 0, path, err, err_size);
	fl_free(dir);
	fl_free(data);
	return rc;
}
