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

#endif
