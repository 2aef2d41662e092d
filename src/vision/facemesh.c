/*
** facemesh.c -- MediaPipe FaceMesh (as packaged by @vladmandic/human 3.3.6,
** models/human/facemesh.json) run on one face box: the crop geometry, the
** model session, and the mapping of its 468 landmarks back to the picture.
**
** The model takes a [1, 192, 192, 3] RGB crop scaled to 0..1 and has three
** outputs, told apart by their last dimension: [1, 1] the face flag (already
** a probability: the graph ends in a Sigmoid), [1, 1404] the mesh, 468 x
** (x, y, z) in crop pixels (0..192), and [1, 266] contours (unused).
**
** human (src/face/blazeface.ts, facemeshutil.ts, facemesh.ts) crops so:
** the BlazeFace box is enlarged by face.detector.scale (1.4) around its
** centre, squared to the larger side with the corners rounded, and cut
** with tf.image.cropAndResize (extrapolation 0) to 192x192, then /255.
** Mesh points map back as centre + (p - 96) * side / 192.
**
** human can also turn the crop by the face's roll (config
** face.detector.rotation, off by default, with the mouth-nose line).  On a
** head tilted by ~35 degrees the upright crop still scores 1.0 but its
** landmarks miss the eyes by a quarter of the box, so we do turn it: by the
** angle of BlazeFace's eye line, when it exceeds 0.2 rad (human's own
** threshold), sampling the same grid as CropAndResize rotated around the
** crop's centre; mesh points are turned back.
*/
#include "vision_int.h"
#include "faceline/fl_nn.h"
#include "base/base_int.h"

#include <math.h>

#define S FL__FACEMESH_SIZE
#define N_MESH (FL_FACEMESH_N_POINTS * 3)

struct fl__facemesh {
	struct fl_model *model;
	struct fl_session *s;
	int out_score, out_mesh; /* output indices */
	float *input;            /* S*S*3 floats */
};

/* ------------------------------------------------------------- geometry */

/* JavaScript's Math.round: half up. */
static float js_round(float v)
{
	return floorf(v + 0.5f);
}

void fl_facemesh_crop_box(const float box[4], float scale, float crop[4])
{
	/* enlargeBox: both sides times scale around the centre; squarifyBox:
	** half the larger side around the centre, corners rounded. */
	const float cx = box[0] + 0.5f * box[2], cy = box[1] + 0.5f * box[3];
	const float half = 0.5f * scale * FL_MAX(box[2], box[3]);
	const float x1 = js_round(cx - half), y1 = js_round(cy - half);
	const float x2 = js_round(cx + half), y2 = js_round(cy + half);
	crop[0] = x1;
	crop[1] = y1;
	crop[2] = x2 - x1;
	crop[3] = y2 - y1;
}

/* Eye contours (human's rightEyeUpper0 + rightEyeLower0 and the left
** ones); the centre is their mean. */
static const short right_eye[] = {246, 161, 160, 159, 158, 157, 173, 33, 7, 163, 144, 145, 153, 154, 155, 133};
static const short left_eye[] = {466, 388, 387, 386, 385, 384, 398, 263, 249, 390, 373, 374, 380, 381, 382, 362};
#define MESH_NOSE_TIP 1
#define MESH_MOUTH_RIGHT 61
#define MESH_MOUTH_LEFT 291

static void mean_of(const float mesh[][3], const short *idx, int n, float out[2])
{
	double x = 0, y = 0;
	for (int i = 0; i < n; i++) {
		x += mesh[idx[i]][0];
		y += mesh[idx[i]][1];
	}
	out[0] = (float)(x / n);
	out[1] = (float)(y / n);
}

void fl_facemesh_points(const float mesh[][3], float points[5][2])
{
	const int n_eye = (int)(sizeof(right_eye) / sizeof(right_eye[0]));
	mean_of(mesh, right_eye, n_eye, points[FL_FACE_POINT_RIGHT_EYE]);
	mean_of(mesh, left_eye, n_eye, points[FL_FACE_POINT_LEFT_EYE]);
	static const short single[3][2] = {{FL_FACE_POINT_NOSE, MESH_NOSE_TIP},
	                                   {FL_FACE_POINT_MOUTH_RIGHT, MESH_MOUTH_RIGHT},
	                                   {FL_FACE_POINT_MOUTH_LEFT, MESH_MOUTH_LEFT}};
	for (int k = 0; k < 3; k++) {
		points[single[k][0]][0] = mesh[single[k][1]][0];
		points[single[k][0]][1] = mesh[single[k][1]][1];
	}
}

/* ---------------------------------------------------------------- model */

void fl__facemesh_destroy(struct fl__facemesh *fm)
{
	if (!fm)
		return;
	fl_session_destroy(fm->s);
	fl_model_destroy(fm->model);
	fl_free(fm->input);
	fl_free(fm);
}

int fl__facemesh_create(const char *path, int n_threads, struct fl__facemesh **out, char *err, size_t err_size)
{
	struct fl__facemesh *fm = NULL;
	int r;
	*out = NULL;
	fm = fl_calloc(1, sizeof(*fm));
	if (!fm || !(fm->input = fl_malloc(sizeof(float) * S * S * 3))) {
		fl__errf(err, err_size, "out of memory for FaceMesh");
		r = FL_ENOMEM;
		goto fail;
	}
	r = fl_model_load(path, &fm->model, err, err_size);
	if (r < 0)
		goto fail;
	if (fl_model_n_inputs(fm->model) != 1) {
		fl__errf(err, err_size, "%s: not FaceMesh (%d inputs, expected 1)", path, fl_model_n_inputs(fm->model));
		r = FL_EUNSUPPORTED;
		goto fail;
	}
	struct fl_tensor shape = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, S, S, 3}};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = n_threads;
	sp.input_shapes = &shape;
	sp.n_input_shapes = 1;
	r = fl_session_create(fm->model, &sp, &fm->s, err, err_size);
	if (r < 0)
		goto fail;
	/* Which output is which: by the last dimension, as human finds them. */
	fm->out_score = fm->out_mesh = -1;
	for (int i = 0; i < fl_model_n_outputs(fm->model); i++) {
		struct fl_tensor t;
		r = fl_session_output(fm->s, i, &t);
		if (r < 0)
			goto fail;
		int64_t n = fl_tensor_numel(&t);
		if (t.dtype == FL_DTYPE_F32 && n == 1)
			fm->out_score = i;
		else if (t.dtype == FL_DTYPE_F32 && n == N_MESH)
			fm->out_mesh = i;
	}
	if (fm->out_score < 0 || fm->out_mesh < 0) {
		fl__errf(err, err_size, "%s: not FaceMesh (no [1, 1] face flag and [1, 1404] mesh outputs at 192x192)",
		         path);
		r = FL_EUNSUPPORTED;
		goto fail;
	}
	*out = fm;
	return 0;
fail:
	fl__facemesh_destroy(fm);
	return r;
}

int fl__facemesh_run(struct fl__facemesh *fm, const struct fl_image *img, const float crop[4], float angle,
                     float *score, float (*mesh)[3], char *err, size_t err_size)
{
	if (!(fabsf(angle) > FL__FACEMESH_MIN_ANGLE)) /* also NaN */
		angle = 0.0f;
	const float ca = cosf(angle), sa = sinf(angle);
	if (!(crop[2] > 0) || !(crop[3] > 0)) {
		fl__errf(err, err_size, "FaceMesh: empty crop [%g, %g, %g, %g]", (double)crop[0], (double)crop[1],
		         (double)crop[2], (double)crop[3]);
		return FL_EINVAL;
	}
	struct fl_resize_params rp = fl_resize_default_params();
	rp.out_w = rp.out_h = S;
	rp.mode = FL_RESIZE_STRETCH;
	rp.sample = FL_SAMPLE_TF_CROP;
	rp.crop_x = crop[0];
	rp.crop_y = crop[1];
	rp.crop_w = crop[2];
	rp.crop_h = crop[3];
	rp.scale = 1.0f / 255.0f;
	int r;
	if (angle == 0.0f) {
		r = fl_image_resize_to_tensor(img, &rp, fm->input, NULL);
	} else {
		/* CropAndResize's sample grid, x(u) = x0 + u*sx (see resize.c),
		** turned by the angle around its centre. */
		const float W1 = (float)(img->width - 1), H1 = (float)(img->height - 1);
		const float x0 = crop[0] / (float)img->width * W1, y0 = crop[1] / (float)img->height * H1;
		const float sx = crop[2] / (float)img->width * W1 / (S - 1);
		const float sy = crop[3] / (float)img->height * H1 / (S - 1);
		const float h = 0.5f * (S - 1);
		const float cx = x0 + sx * h, cy = y0 + sy * h;
		const float m[6] = {ca * sx, -sa * sy, cx - ca * sx * h + sa * sy * h,
		                    sa * sx, ca * sy,  cy - sa * sx * h - ca * sy * h};
		r = fl_image_warp_to_tensor(img, m, S, S, rp.scale, 0.0f, 0.0f, fm->input);
	}
	if (r < 0) {
		fl__errf(err, err_size, "FaceMesh: cannot crop [%g, %g, %g, %g] of a %dx%d image", (double)crop[0],
		         (double)crop[1], (double)crop[2], (double)crop[3], img->width, img->height);
		return r;
	}
	struct fl_tensor in = {.dtype = FL_DTYPE_F32, .n_dims = 4, .dims = {1, S, S, 3}, .data = fm->input};
	r = fl_session_run(fm->s, &in, 1);
	if (r < 0) {
		fl__errf(err, err_size, "%s: %s", fl_model_path(fm->model), fl_session_errmsg(fm->s));
		return r;
	}
	struct fl_tensor ts, tm;
	if (fl_session_output(fm->s, fm->out_score, &ts) < 0 || fl_session_output(fm->s, fm->out_mesh, &tm) < 0 ||
	    !ts.data || !tm.data) {
		fl__errf(err, err_size, "%s: no outputs after a run", fl_model_path(fm->model));
		return FL_EINTERNAL;
	}
	float p = ((const float *)ts.data)[0];
	*score = isnan(p) ? 0.0f : FL_MIN(FL_MAX(p, 0.0f), 1.0f);
	if (mesh) {
		/* transformRawCoords without rotation: around the crop's centre,
		** side/192 source pixels per crop pixel (z scaled like x). */
		const float *m = tm.data;
		const float kx = crop[2] / S, ky = crop[3] / S;
		const float cx = crop[0] + 0.5f * crop[2], cy = crop[1] + 0.5f * crop[3];
		for (int i = 0; i < FL_FACEMESH_N_POINTS; i++) {
			const float dx = (m[3 * i] - 0.5f * S) * kx, dy = (m[3 * i + 1] - 0.5f * S) * ky;
			mesh[i][0] = cx + ca * dx - sa * dy;
			mesh[i][1] = cy + sa * dx + ca * dy;
			mesh[i][2] = m[3 * i + 2] * kx;
		}
	}
	return 0;
}
