/*
** fl_vision.h -- images and the face detector of libfaceline.
**
** This header holds three things:
**   - struct fl_image: an 8-bit RGB picture in memory, loaded from any still
**     image file FFmpeg can decode (JPEG, PNG, ...), saved as PNG, and a
**     rectangle drawing helper for debug output;
**   - resizing: bilinear resize or crop-and-resize of an image into a float
**     NHWC tensor with a linear normalisation (value = pixel*scale + offset),
**     either stretched or "fit" (aspect kept, the rest padded);
**   - struct fl_detector: the BlazeFace face detector, run over the whole
**     picture at a resolution that keeps small faces visible, plus a 256x256
**     pass for close-ups, merged by non-maximum suppression; each box is then
**     verified by FaceMesh (its face score drops BlazeFace's false boxes on
**     background clutter) which also gives 468 landmarks per face.
**
** Coordinates: pixels of the source image, x to the right, y down, with the
** continuous convention -- pixel (i, j) covers [i, i+1) x [j, j+1), so a box
** [x, y, w, h] covering the whole image is [0, 0, width, height].
*/
#ifndef FL_VISION_H
#define FL_VISION_H

#include "fl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ image */

/*
** An RGB image, 3 bytes per pixel (R, G, B), rows top to bottom.  Row y
** starts at data + y*stride; stride >= 3*width.  When an image is filled by
** fl_image_init() or fl_image_load(), `data` is owned by the image and
** released by fl_image_fini(); an image may also be a caller-made view of
** foreign memory (then the caller never calls fl_image_fini on it).
*/
struct fl_image {
	uint8_t *data;
	int width, height;
	int stride; /* bytes per row */
};

/* Allocate a width x height image (zeroed: black) into *img.  On failure
** *img is zeroed.  Returns 0, FL_EINVAL (a size <= 0 or too large) or
** FL_ENOMEM. */
int fl_image_init(struct fl_image *img, int width, int height);
/* Release the pixels of an image filled by fl_image_init/load/copy and zero
** the struct.  NULL-safe; safe on a zeroed struct. */
void fl_image_fini(struct fl_image *img);
/* Deep copy of src into *dst (dst is initialised here).  Returns 0 or
** FL_ENOMEM / FL_EINVAL. */
int fl_image_copy(struct fl_image *dst, const struct fl_image *src);

struct fl_image_load_params {
	/* Largest accepted decoded size; larger images are refused with
	** FL_ERANGE before any pixel buffer is allocated.  Defaults 16384. */
	int max_width, max_height;
	/* Rotate/flip by the EXIF Orientation tag of JPEGs (default 1). */
	int apply_exif;
};
struct fl_image_load_params fl_image_load_default_params(void);

/*
** Decode the first picture of the file at `path` (borrowed) into *img, which
** is initialised here and owned by the caller (fl_image_fini).  params may be
** NULL for the defaults.  On failure *img is zeroed and, if err is not NULL,
** a message naming the file and the problem is written to err[0..err_size).
** Returns 0 or:
**   FL_ENOENT      the file does not exist
**   FL_EACCES      it cannot be read
**   FL_EDECODE     it is empty or not an image FFmpeg can decode
**   FL_ETRUNCATED  it is an image but its data ends early
**   FL_ERANGE      its dimensions are absurd or over the limits
**   FL_ENOMEM
*/
int fl_image_load(const char *path, const struct fl_image_load_params *params, struct fl_image *img,
                  char *err, size_t err_size);

/* Encode img as an 8-bit RGB PNG file at `path` (through libavcodec).
** Returns 0, FL_EIO (the file cannot be written), FL_EINVAL or FL_ENOMEM;
** the message goes to err. */
int fl_image_save_png(const struct fl_image *img, const char *path, char *err, size_t err_size);

/* Draw the outline of the rectangle [x, y, w, h] (pixels, clipped to the
** image) `thickness` pixels wide inside the rectangle, in colour (r, g, b).
** For debug pictures. */
void fl_image_draw_rect(struct fl_image *img, float x, float y, float w, float h, int thickness,
                        uint8_t r, uint8_t g, uint8_t b);

/* ----------------------------------------------------------------- resize */

enum fl_resize_mode {
	FL_RESIZE_STRETCH = 0, /* the crop fills the output; aspect may change */
	FL_RESIZE_FIT = 1,     /* aspect kept; the crop is centred and the rest padded */
};

/* Where the source position of output pixel u lies (per axis, s = scale
** from the crop to the output, src in source pixel indices). */
enum fl_sample_mode {
	FL_SAMPLE_HALF_PIXEL = 0, /* src = crop + (u + 0.5)/s - 0.5 (OpenCV, TF2 default) */
	FL_SAMPLE_LEGACY = 1,     /* src = crop + u/s (TF1 resize_bilinear, as human uses) */
	/* tf.image.cropAndResize (human's FaceMesh crop): with the crop box
	** normalised by the source size n and out the output size,
	** src = (crop + u*len/(out-1)) * (n-1)/n; samples outside [0, n-1] take
	** pad_value.  FL_RESIZE_STRETCH only (FIT gives FL_EINVAL); the map is
	** the nominal one (as if src = crop + u*len/out). */
	FL_SAMPLE_TF_CROP = 2,
};

struct fl_resize_params {
	int out_w, out_h;         /* output tensor size (> 0) */
	enum fl_resize_mode mode; /* default FL_RESIZE_STRETCH */
	enum fl_sample_mode sample; /* default FL_SAMPLE_HALF_PIXEL */
	/* The region of the source to use, in source pixels; crop_w <= 0 or
	** crop_h <= 0 means the whole image.  It may reach outside the image:
	** such samples take pad_value. */
	float crop_x, crop_y, crop_w, crop_h;
	/* Normalisation: tensor value = pixel*scale + offset (pixel 0..255).
	** Defaults 1 and 0; BlazeFace uses 1/127.5 and -1. */
	float scale, offset;
	/* Pixel value (before normalisation) of padding and of samples outside
	** the image.  Default 0 (black). */
	float pad_value;
};
struct fl_resize_params fl_resize_default_params(void);

/*
** How output tensor coordinates map back to the source, per axis, in the
** continuous convention: src_x = t_x*scale_x + off_x (t_x in output pixels).
** Use it to bring boxes found in the tensor back to source pixels.
*/
struct fl_resize_map {
	float scale_x, scale_y;
	float off_x, off_y;
};

/*
** Bilinear resize of the crop of img into out, a float tensor [out_h,
** out_w, 3] NHWC (caller-owned, at least out_h*out_w*3 floats), normalised
** as params say.  *map (may be NULL) receives the output -> source mapping.
** Returns 0 or FL_EINVAL (bad sizes); nothing is written on failure.
*/
int fl_image_resize_to_tensor(const struct fl_image *img, const struct fl_resize_params *params,
                              float *out, struct fl_resize_map *map);

/*
** Bilinear affine warp of img into out, a float tensor [out_h, out_w, 3]
** NHWC (caller-owned): output pixel (u, v) samples the source at pixel
** position x = m[0]*u + m[1]*v + m[2], y = m[3]*u + m[4]*v + m[5] (m
** borrowed; pixel indices, as FL_SAMPLE_LEGACY / TF_CROP positions); a
** position outside [0, width-1] x [0, height-1] takes pad_value.  Values
** are pixel*scale + offset.  Returns 0 or FL_EINVAL (bad sizes, non-finite
** m); nothing is written on failure.
*/
int fl_image_warp_to_tensor(const struct fl_image *img, const float m[6], int out_w, int out_h, float scale,
                            float offset, float pad_value, float *out);

/* Bilinear resize of the crop of src (same params; scale/offset ignored)
** into dst, an initialised image whose size is the output size.  Returns 0
** or FL_EINVAL. */
int fl_image_resize(const struct fl_image *src, const struct fl_resize_params *params,
                    struct fl_image *dst, struct fl_resize_map *map);

/* --------------------------------------------------------------- detector */

/* Landmark order of BlazeFace (the subject's right eye is on the left of
** the picture for a frontal face). */
enum fl_face_landmark {
	FL_FACE_RIGHT_EYE = 0,
	FL_FACE_LEFT_EYE = 1,
	FL_FACE_NOSE = 2,
	FL_FACE_MOUTH = 3,
	FL_FACE_RIGHT_EAR = 4,
	FL_FACE_LEFT_EAR = 5,
};

/*
** Five points from FaceMesh's 468 landmarks (MediaPipe's canonical mesh
** indices), in the order of the ArcFace alignment template; "right" is the
** subject's right (the left of the picture for a frontal face):
**   RIGHT_EYE   mean of the eye contour 33 7 163 144 145 153 154 155 133
**               246 161 160 159 158 157 173 (human's rightEyeLower0/Upper0)
**   LEFT_EYE    mean of 263 249 390 373 374 380 381 382 362
**               466 388 387 386 385 384 398 (leftEyeLower0/Upper0)
**   NOSE        nose tip, 1
**   MOUTH_RIGHT mouth corner 61;  MOUTH_LEFT mouth corner 291
*/
enum fl_face_point {
	FL_FACE_POINT_RIGHT_EYE = 0,
	FL_FACE_POINT_LEFT_EYE = 1,
	FL_FACE_POINT_NOSE = 2,
	FL_FACE_POINT_MOUTH_RIGHT = 3,
	FL_FACE_POINT_MOUTH_LEFT = 4,
};

/* FaceMesh's landmark count; fl_detector_mesh() gives them per face. */
#define FL_FACEMESH_N_POINTS 468

/* One detected face, in source image pixels. */
struct fl_face {
	float box[4];          /* x, y, w, h: BlazeFace's tight box, not enlarged */
	float score;           /* 0..1, sigmoid of the classifier logit */
	float landmarks[6][2]; /* x, y, in enum fl_face_landmark order (BlazeFace) */
	/* FaceMesh's face probability (0..1) on the box's crop, or -1 when the
	** detector does not verify (params.verify 0). */
	float face_score;
	/* x, y in enum fl_face_point order, from FaceMesh.  Without
	** verification they are BlazeFace's estimates instead: its eyes and
	** nose, and its mouth centre for both mouth corners. */
	float points[5][2];
	/* The box before clipping to the picture (it may reach outside). */
	float raw_box[4];
};

struct fl_detector_params {
	float min_score;  /* keep faces scoring at least this; default 0.5 */
	float iou;        /* NMS overlap threshold (intersection over union); default 0.3 */
	int weighted_nms; /* 1 (default): average each kept box with the boxes it
	                  ** suppresses, weighted by score (MediaPipe); 0: plain */
	/* Also drop a lower-scored box when more than this part of its area lies
	** inside a kept one (fragments of a large face, found by the
	** whole-picture pass); default 0.75, 0 turns it off. */
	float containment;
	/* The whole-picture pass runs with the picture fit into a box of
	** long_side x short_side (landscape or portrait as the picture is),
	** each side rounded up to a multiple of 32.  Defaults 1024 and 576.
	** long_side 0 turns this pass off. */
	int long_side, short_side;
	int close_up_pass; /* 1 (default): also run a 256x256 pass (the picture
	                   ** fit and padded) for faces too large for the other */
	int n_threads;     /* threads per inference; 0 = fl_cpu_count() */
	/* 1 (default): run FaceMesh (facemesh.json, next to blazeface.json) on
	** each box after NMS and keep only those whose face score reaches
	** min_face_score.  BlazeFace on a whole picture scores background
	** clutter up to ~0.7; FaceMesh gives those <= 0.03 and faces >= 0.15. */
	int verify;
	float min_face_score; /* default 0.1 */
	/* FaceMesh's crop: the box enlarged this many times around its centre,
	** then made square (the larger side), as human does.  Default 1.4
	** (human's face.detector.scale). */
	float verify_scale;
	/* 1 (default): turn the crop by the roll of BlazeFace's eye line when it
	** exceeds 0.2 rad (~11 degrees), so FaceMesh sees level eyes; its
	** landmarks on tilted heads are wrong otherwise.  0: always upright
	** (human's default). */
	int verify_rotate;
};
struct fl_detector_params fl_detector_default_params(void);

struct fl_detector;

/*
** Create a detector.  `models` (borrowed) is the path of blazeface.json, or
** a directory holding it directly or in human/ (so both "models" and
** "models/human" work).  params (borrowed; NULL for the defaults) are copied.
** On success *out owns the detector (fl_detector_destroy).  On failure *out
** is NULL and a message naming the file is written to err.  Returns 0,
** FL_EINVAL, FL_ENOENT or a code of fl_model_load / fl_session_create.
*/
int fl_detector_create(const char *models, const struct fl_detector_params *params,
                       struct fl_detector **out, char *err, size_t err_size);
void fl_detector_destroy(struct fl_detector *det);

/*
** Detect faces in img (borrowed for the call).  Writes at most max_faces
** faces, best score first, to faces[] (caller-owned).  Returns the number
** written (>= 0) or a negative code (FL_EINVAL, FL_ENOMEM, or an engine
** error), with the message in fl_detector_errmsg().  The detector keeps one
** session per input size it has seen (the last two), so calls with images
** of one size reuse the planned memory.  Not thread-safe: one detector per
** thread.
*/
int fl_detector_detect(struct fl_detector *det, const struct fl_image *img, struct fl_face *faces,
                       int max_faces);

/*
** The same with the passes chosen for this call: the whole-picture pass fit
** into long_side x short_side (0 = no such pass) and the 256x256 close-up
** pass when close_up_pass is 1.  The video analysis uses a cheaper
** whole-picture pass (half the size) on some frames to find new large
** faces.  FL_EINVAL for sizes out of 0..8192 or no pass at all.
*/
int fl_detector_detect_at(struct fl_detector *det, const struct fl_image *img, int long_side, int short_side,
                          int close_up_pass, struct fl_face *faces, int max_faces);

/*
** The 468 FaceMesh landmarks of face i (0 <= i < the count the last
** fl_detector_detect() returned) of the last detection, copied to
** mesh[468][3] (caller-owned): x, y in source pixels, z (depth, larger is
** farther) scaled like x.  Returns 0, FL_EINVAL (no such face, or NULL), or
** FL_ENOENT when the detector does not verify.
*/
int fl_detector_mesh(const struct fl_detector *det, int i, float mesh[][3]);

/*
** Run FaceMesh alone on one box [x, y, w, h] (source pixels, BlazeFace's
** tight box; borrowed) of img, cropped as the detector does (enlarged by
** params.verify_scale, square, turned by `angle` -- the eye line's angle
** in radians, atan2(left eye y - right eye y, left eye x - right eye x) --
** when |angle| > 0.2; pass 0 for upright).  *score receives the face probability;
** mesh (NULL, or [468][3] caller-owned) the landmarks as fl_detector_mesh
** gives them.  Returns 0, FL_EINVAL, FL_ENOENT (the detector does not
** verify), or an engine error (message in fl_detector_errmsg).  Leaves the
** last detection's meshes alone.
*/
int fl_detector_face_score(struct fl_detector *det, const struct fl_image *img, const float box[4], float angle,
                           float *score, float mesh[][3]);

/*
** fl_detector_face_score on n boxes at once (angles may be NULL for
** upright): scores[i] and, when meshes is not NULL, meshes[i] (caller-
** owned, n of them).  With n_threads >= 2 the faces run side by side, one
** single-threaded FaceMesh per thread (faster than one FaceMesh with
** intra-op threads on a 192x192 input).  Returns 0, FL_EINVAL (a box empty
** or not finite), FL_ENOENT (no verification) or an engine error.
*/
int fl_detector_face_scores(struct fl_detector *det, const struct fl_image *img, int n, const float (*boxes)[4],
                            const float *angles, float *scores, float (*meshes)[FL_FACEMESH_N_POINTS][3]);

/* Time spent in each model since the detector was created (--profile). */
struct fl_detector_stats {
	double t_blazeface, t_facemesh; /* seconds, wall clock, input preparation included */
	int64_t n_blazeface, n_facemesh; /* runs (a BlazeFace run is one pass) */
};
void fl_detector_get_stats(const struct fl_detector *det, struct fl_detector_stats *st);

/* The last error message of this detector ("" if none; owned by it). */
const char *fl_detector_errmsg(const struct fl_detector *det);

/* ------------------------------------------------ detector building blocks */
/* Exposed for tests and for other detectors of the same family. */

/* A raw detection in some pixel space: box as x1, y1, x2, y2. */
struct fl_detection {
	float x1, y1, x2, y2;
	float score;
	float kp[6][2];
};

/* Number of BlazeFace anchors for an input of in_h x in_w (multiples of
** 32): (h/16)*(w/16)*2 + (h/32)*(w/32)*6. */
int fl_blazeface_n_anchors(int in_h, int in_w);
/* Fill anchors[2*i], anchors[2*i+1] with anchor i's centre x, y in input
** pixels: first the stride-16 grid (2 per cell), then the stride-32 grid
** (6 per cell), cells row-major.  Returns the count written. */
int fl_blazeface_anchors(int in_h, int in_w, float *anchors);
/*
** Decode n anchors' outputs: logits[n] and regressors[n][16] (dx, dy, w, h,
** then 6 keypoints dx, dy; input pixels, relative to the anchor centre).
** Keeps those with sigmoid(logit) >= min_score, appending up to max_out
** detections to out in input pixels.  Returns the count appended.
*/
int fl_blazeface_decode(const float *logits, const float *regressors, const float *anchors, int n,
                        float min_score, struct fl_detection *out, int max_out);
/* Intersection over union of two detections (0 for empty boxes). */
float fl_detection_iou(const struct fl_detection *a, const struct fl_detection *b);
/*
** Non-maximum suppression in place: sorts dets[0..n) by score and keeps, in
** decreasing score, those overlapping no kept one by more than `iou`; with
** `weighted`, a kept box becomes the score-weighted mean of itself and the
** boxes it suppressed this way (the score stays the best one).  With
** containment > 0, a box with more than that part of its area inside a kept
** one is dropped too (not averaged).  Returns the count kept (now
** dets[0..count)).
*/
int fl_detection_nms(struct fl_detection *dets, int n, float iou, float containment, int weighted);

/*
** FaceMesh's crop of a box [x, y, w, h] (source pixels), human's way: the
** box enlarged `scale` times around its centre, squared to its larger side,
** the corners rounded to whole pixels (half up).  crop receives [x, y, w, h].
*/
void fl_facemesh_crop_box(const float box[4], float scale, float crop[4]);
/* The five points (enum fl_face_point order) of a 468-point mesh. */
void fl_facemesh_points(const float mesh[][3], float points[5][2]);

/* -------------------------------------------------------------- alignment */
/*
** Face alignment for the embedder (align.c): a similarity transform of the
** five points (enum fl_face_point order, fl_face.points) onto the ArcFace
** 112x112 template, and a warp through it.  Positions are continuous on
** both sides (the centre of output pixel u is u + 0.5).
*/

/* The ArcFace template for a 112x112 crop: x, y per enum fl_face_point. */
extern const float fl_align_template[5][2];

/*
** Least-squares similarity transform (rotation, uniform scale,
** translation; no reflection -- Umeyama's solution) taking the n >= 2
** points src onto dst (both borrowed): dst ~ M src with
** M = [m0 m1 m2; m3 m4 m5] (m0 = m4, m1 = -m3).  Returns 0 or FL_EINVAL
** (n < 2, a non-finite point, all source or all destination points in one
** place); m is written only on success.
*/
int fl_align_similarity(const float (*src)[2], const float (*dst)[2], int n, float m[6]);

/*
** The map for fl_image_warp_to_tensor that aligns a face: output pixel
** (u, v) of a size x size crop samples the source at pixel-index position
** (m0 u + m1 v + m2, m3 u + m4 v + m5); the template is scaled by
** size/112.  Returns 0 or FL_EINVAL (see fl_align_similarity).
*/
int fl_align_face_map(const float points[5][2], int size, float m[6]);

/*
** Warp the face with these five points (source pixels, borrowed) into out,
** a [size, size, 3] float tensor (caller-owned), RGB, normalised as
** MobileFaceNet wants: (pixel - 127.5) / 128.  Samples outside the picture
** are 0 after normalisation (mid-grey).  Bilinear; when the face is larger
** than the crop (over 1.25 source pixels per output pixel) each output
** pixel averages k x k samples of its footprint, so large faces do not
** alias.  size is 112 for MobileFaceNet.  Returns 0 or FL_EINVAL; out is
** written only on success.
*/
int fl_align_face(const struct fl_image *img, const float points[5][2], int size, float *out);

/* --------------------------------------------------------------- embedder */
/*
** Identity features (embed.c): MobileFaceNet (models/expo/MobileFaceNet.tflite,
** input [N,112,112,3], output "embeddings" [N,192]) on faces aligned by
** fl_align_face.  Embeddings are L2-normalised; compare them with
** fl_embed_cosine: "same person" at >= 0.55, 0.45..0.60 undecided.
*/

#define FL_EMBED_SIZE 112 /* crop side */
#define FL_EMBED_DIM 192  /* embedding length */

struct fl_embedder_params {
	int n_threads; /* threads per inference; 0 = fl_cpu_count() */
	/* Faces per inference (1..256, default 8).  A call with more faces runs
	** several batches; fewer faces run in the largest power-of-two batches
	** that fit, one planned session per batch size used. */
	int max_batch;
};
struct fl_embedder_params fl_embedder_default_params(void);

struct fl_embedder;

/*
** Load MobileFaceNet.  `models` (borrowed) is the path of the .tflite file
** or a directory holding MobileFaceNet.tflite directly or in expo/.  params
** (borrowed, NULL for the defaults) are copied.  On success *out owns the
** embedder (fl_embedder_destroy); on failure *out is NULL and err says
** why.  Returns 0, FL_EINVAL, FL_ENOENT, FL_EUNSUPPORTED (not a [N,112,112,3]
** -> [N,192] model) or a code of fl_model_load.
*/
int fl_embedder_create(const char *models, const struct fl_embedder_params *params, struct fl_embedder **out,
                       char *err, size_t err_size);
void fl_embedder_destroy(struct fl_embedder *e);

/*
** Align and embed n faces of img (borrowed): points[i] are face i's five
** points (fl_face.points).  out (caller-owned) receives n x FL_EMBED_DIM
** floats, each row of unit length.  Returns 0 or a negative code (FL_EINVAL,
** FL_ENOMEM, an engine error) with the message in fl_embedder_errmsg(); on
** failure the content of out is unspecified.  Not thread-safe: one
** embedder per thread.
*/
int fl_embedder_run(struct fl_embedder *e, const struct fl_image *img, const float (*points)[5][2], int n,
                    float *out);

/*
** Embed n crops already aligned by fl_align_face (crops: n x 112 x 112 x 3
** floats, borrowed), e.g. gathered from several frames.  Same results and
** codes as fl_embedder_run.
*/
int fl_embedder_run_aligned(struct fl_embedder *e, const float *crops, int n, float *out);

/* The last error message ("" if none; owned by the embedder). */
const char *fl_embedder_errmsg(const struct fl_embedder *e);

/* Cosine similarity of two vectors of length dim (0 when either is zero). */
float fl_embed_cosine(const float *a, const float *b, int dim);

/* ------------------------------------------------------------- expression */
/*
** Facial expression (expression.c): face-api's FaceExpressionNet
** (models/faceapi/face_expression_model-weights_manifest.json, input
** [N,112,112,3] RGB 0..255, output "expressions" softmax[7]).  The face is
** cut as face-api does it, from a box placed as face-api's own boxes are
** (fl_expression_crop_box), so the network sees what it was trained on.
*/

#define FL_EXPRESSION_SIZE 112
#define FL_EXPRESSION_N 7

/* The classes, in the network's output order.  Append only. */
enum fl_expression_class {
	FL_EXPRESSION_NEUTRAL = 0,
	FL_EXPRESSION_HAPPY = 1,
	FL_EXPRESSION_SAD = 2,
	FL_EXPRESSION_ANGRY = 3,
	FL_EXPRESSION_FEARFUL = 4,
	FL_EXPRESSION_DISGUSTED = 5,
	FL_EXPRESSION_SURPRISED = 6,
};

/* "neutral", "happy", ... for i in 0..6; NULL otherwise. */
const char *fl_expression_label(int i);

/*
** face-api's face box from BlazeFace's tight box [x, y, w, h] (source
** pixels; borrowed): widened x1.13, heightened x1.06 about the centre and
** moved down by 0.045 x the width (this matches the box face-api takes
** around its 68 landmarks).  out receives [x, y, w, h], unrounded.
*/
void fl_expression_crop_box(const float box[4], float out[4]);

/*
** Cut face box `face` ([x, y, w, h], source pixels, e.g. from
** fl_expression_crop_box; borrowed) out of img exactly as face-api 1.7.15
** does for a tensor input: the box clipped to the picture and each of x,
** y, w, h floored (Box.clipAtImageBorders), that region padded with black
** to a centred square (padToSquare: the extra pixel of an odd difference
** goes to the bottom/right), then tf.image.resizeBilinear to 112x112
** without align-corners or half-pixel centres.  out (caller-owned)
** receives [112, 112, 3] floats, RGB 0..255 (the network normalises).
** Returns 0, FL_EINVAL, or FL_ERANGE when the clipped box is empty.
*/
int fl_expression_crop(const struct fl_image *img, const float face[4], float *out);

struct fl_expression_params {
	int n_threads; /* threads per inference; 0 = fl_cpu_count() */
	int max_batch; /* faces per inference, 1..256, default 8 (as the embedder) */
};
struct fl_expression_params fl_expression_default_params(void);

struct fl_expression;

/*
** Load FaceExpressionNet.  `models` (borrowed) is the manifest's path or a
** directory holding face_expression_model-weights_manifest.json directly
** or in faceapi/.  Ownership, failure and codes as fl_embedder_create.
*/
int fl_expression_create(const char *models, const struct fl_expression_params *params,
                         struct fl_expression **out, char *err, size_t err_size);
void fl_expression_destroy(struct fl_expression *x);

/*
** Expression probabilities of n faces of img (borrowed): boxes[i] is face
** i's BlazeFace box (fl_face.box; fl_expression_crop_box is applied here).
** probs (caller-owned) receives n x 7 floats in enum fl_expression_class
** order, each row summing to 1.  A face whose box lies wholly outside the
** picture gets FL_ERANGE.  Returns 0 or a negative code with the message
** in fl_expression_errmsg().  Not thread-safe: one per thread.
*/
int fl_expression_run(struct fl_expression *x, const struct fl_image *img, const float (*boxes)[4], int n,
                      float *probs);

/* Classify n crops made by fl_expression_crop (n x 112 x 112 x 3 floats,
** 0..255, borrowed).  Same results and codes as fl_expression_run. */
int fl_expression_run_crops(struct fl_expression *x, const float *crops, int n, float *probs);

/* The last error message ("" if none; owned by x). */
const char *fl_expression_errmsg(const struct fl_expression *x);

#ifdef __cplusplus
}
#endif
#endif /* FL_VISION_H */
