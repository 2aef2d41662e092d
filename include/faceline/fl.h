/*
** fl.h -- the umbrella header of libfaceline.  Include this one.
*/
#ifndef FL_H
#define FL_H
#include "fl_base.h"
#include "fl_nn.h"
#include "fl_models.h"
#include "fl_vision.h"
#include "fl_track.h"
#include "fl_media.h"
#include "fl_analyze.h"
#endif
