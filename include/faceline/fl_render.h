/*
** fl_render.h -- the outputs people look at, all derived from a v1 result
** (struct fl_result, fl_analyze.h): an annotated copy of the video,
** per-person clips, subtitles (WebVTT, SubRip), a CSV of detections and a
** self-contained HTML report.  Written with FFmpeg's libraries; nothing is
** shelled out.
**
** Every writer creates its output under a temporary name beside the final
** one ("<name>.tmp-XXXXXX") and renames it into place only when the whole
** file was written and flushed: a failure (disk full, cancel, bad input)
** leaves no half-written file under the final name.
**
** Errors: 0 on success, else a negative status and a message in err naming
** the file and what was wrong:
**   FL_ENOENT / FL_EACCES  the video cannot be opened, or the output
**                          directory does not exist / is not writable
**   FL_ENOSPC / FL_EIO     a write failed (the temporary file is removed)
**   FL_EINVAL              bad options (or a video that does not match the
**                          result: other dimensions or duration)
**   FL_ECORRUPT            (fl_result_load_json) not a v1 result
**   FL_ECANCELED, FL_ENOMEM, or a media error (fl_media.h).
*/
#ifndef FL_RENDER_H
#define FL_RENDER_H

#include <stddef.h>

#include "fl_analyze.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fl_render_opts {
	int threads;       /* encoder/decoder threads; 0 = fl_cpu_count() */
	int crop;          /* clips: 1 = follow the person's face with a smoothed window */
	int crop_size;     /* clips with crop: output side in pixels; 0 = automatic */
	int crf;           /* H.264 quality (libx264 crf); 0 = default (23) */
	/* If not NULL, set *cancel to nonzero from any thread to stop:
	** the writer returns FL_ECANCELED and leaves no output. */
	volatile int *cancel;
};

struct fl_render_opts fl_render_default_opts(void);

/*
** The source video re-encoded (H.264 via libavcodec, same frame rate and
** duration) with each face's box, person id and current expression drawn;
** boxes between analysed frames follow the track (interpolated); audio
** streams copied unchanged.  `video` is the file the result was made from.
*/
int fl_render_annotate(const struct fl_result *r, const char *video, const char *out,
                       const struct fl_render_opts *o, char *err, size_t err_size);

/*
** One MP4 per person segment in directory `dir` (must exist):
** person-<id>-<n>.mp4 (n from 1), cut on the segment's times with its audio;
** with o->crop, a square window following the face (smoothed), inside the
** frame.  Returns the number of clips written (>= 0) or an error.
*/
int fl_render_clips(const struct fl_result *r, const char *video, const char *dir,
                    const struct fl_render_opts *o, char *err, size_t err_size);

/* One cue per person segment ("Person 2 — happy"), WebVTT or SubRip. */
int fl_render_vtt(const struct fl_result *r, const char *out, char *err, size_t err_size);
int fl_render_srt(const struct fl_result *r, const char *out, char *err, size_t err_size);

/* One row per detection (header row first; docs/outputs.md has the columns). */
int fl_render_csv(const struct fl_result *r, const char *out, char *err, size_t err_size);

/*
** One self-contained HTML file: the video's facts, a timeline (SVG), each
** person's thumbnail (JPEG, inlined as data: URI; taken from `video`, or
** left out when video is NULL), screen time, expression over time and its
** distribution, the parameters and models.
*/
int fl_render_report(const struct fl_result *r, const char *video, const char *out,
                     const struct fl_render_opts *o, char *err, size_t err_size);

/*
** Read a result JSON v1 file back into a struct fl_result (the inverse of
** fl_result_save_json; fl_result_destroy frees it).  Another version, a
** damaged file or a missing field -> FL_ECORRUPT with the field named.
*/
int fl_result_load_json(const char *path, struct fl_result **out, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
#endif /* FL_RENDER_H */
