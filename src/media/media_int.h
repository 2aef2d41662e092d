/*
** media_int.h -- internal helpers of the media module (FFmpeg wrapper).
*/
#ifndef FL_MEDIA_INT_H
#define FL_MEDIA_INT_H

#include "../base/base_int.h"

/* Route FFmpeg's av_log into fl_log (once per process). */
void fl__avlog_init(void);

#endif
