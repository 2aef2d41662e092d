/*
** vision_int.h -- declarations shared between the files of src/vision:
** the FaceMesh runner (facemesh.c) that the detector (detect.c) uses to
** verify its boxes.
*/
#ifndef FL_VISION_INT_H
#define FL_VISION_INT_H

#include "faceline/fl_vision.h"

#define FL__FACEMESH_SIZE 192 /* FaceMesh's input is 192x192 RGB, 0..1 */
/* Crops are rotated only beyond this eye-line angle (radians): human's
** "largeAngle" rule, so upright faces get exactly human's crop. */
#define FL__FACEMESH_MIN_ANGLE 0.2f

/* A loaded FaceMesh model with one batch-1 session and its input buffer. */
struct fl__facemesh;

/*
** Load FaceMesh from `path` (borrowed) and plan one [1, 192, 192, 3]
** session with n_threads threads.  On success *out owns it
** (fl__facemesh_destroy); on failure *out is NULL and err says why.  Returns
** 0, FL_ENOMEM, FL_EUNSUPPORTED (not FaceMesh's outputs) or a code of
** fl_model_load / fl_session_create.
*/
int fl__facemesh_create(const char *path, int n_threads, struct fl__facemesh **out, char *err, size_t err_size);
void fl__facemesh_destroy(struct fl__facemesh *fm);

/*
** Crop img at crop[4] ([x, y, w, h], source pixels, from
** fl_facemesh_crop_box) as human does (tf.image.cropAndResize to 192x192,
** black outside the picture, /255) and run FaceMesh.  With |angle| (the
** eye line's angle in the picture, radians, y down) above
** FL__FACEMESH_MIN_ANGLE the crop is turned by it around its centre so the
** eyes come out level.  *score receives the face probability; mesh (NULL
** or [468][3]) the landmarks mapped back to source pixels.  Returns 0 or a
** negative code with the message in err.
*/
int fl__facemesh_run(struct fl__facemesh *fm, const struct fl_image *img, const float crop[4], float angle,
                     float *score, float (*mesh)[3], char *err, size_t err_size);

#endif /* FL_VISION_INT_H */
