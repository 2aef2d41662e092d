/*
** app.h -- the faceline command's sub-commands.  Each is a client of the
** public headers in include/faceline only, and returns an exit code from
** exit_codes.h.
*/
#ifndef FL_APP_H
#define FL_APP_H

#include "exit_codes.h"

int cmd_models(int argc, char **argv); /* faceline models list|verify */
int cmd_detect(int argc, char **argv); /* faceline detect PHOTO */
int cmd_nn(int argc, char **argv);     /* faceline nn run|info MODEL */
int cmd_analyze(int argc, char **argv); /* faceline analyze VIDEO */
int cmd_bench(int argc, char **argv);  /* faceline bench models */
int cmd_serve(int argc, char **argv);  /* faceline serve --data DIR */

int cmd_render(int argc, char **argv); /* faceline render RESULT.json */

/* Output options shared by analyze and render (app/outputs.c); NULL = not
** asked for.  Strings are borrowed from argv. */
#include <stdio.h>
struct fl_result;
struct app_outputs {
	const char *report, *vtt, *srt, *csv, *annotate, *clips;
	int crop;
};
extern const char *const app_outputs_usage; /* help lines of the options */
/* argv[*i] is one of the options: take it (and its value, advancing *i)
** and return 1; 0 when it is not one of them; -1 (message printed) when
** its value is missing. */
int app_outputs_parse(struct app_outputs *o, int argc, char **argv, int *i, const char *cmd);
int app_outputs_any(const struct app_outputs *o);
/* Before any work: --crop without --clips, missing output folders.
** Returns an exit code (message printed when not FL_EXIT_OK). */
int app_outputs_check(const struct app_outputs *o, const char *cmd);
/* Write every requested output of r; video (may be NULL: no thumbnails,
** and then --annotate/--clips fail) is the analysed file.  "wrote F" lines
** go to log (may be NULL).  Returns an exit code. */
int app_outputs_write(const char *cmd, const struct fl_result *r, const char *video, const struct app_outputs *o,
                      int threads, FILE *log);

#endif
