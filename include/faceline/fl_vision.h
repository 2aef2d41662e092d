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
**     pass for close-ups, merged by non-maximum suppression.
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

/* One detected face, in source image pixels. */
struct fl_face {
	float box[4];          /* x, y, w, h: BlazeFace's tight box, not enlarged */
	float score;           /* 0..1, sigmoid of the classifier logit */
	float landmarks[6][2]; /* x, y, in enum fl_face_landmark order */
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

#ifdef __cplusplus
}
#endif
#endif /* FL_VISION_H */
