/*
** exit_codes.h -- the exit status of every `faceline` command, and the map
** from libfaceline status codes to it.  README.md documents the same table;
** change both together.
**
**   0  FL_EXIT_OK        success
**   1  FL_EXIT_USAGE     usage error: unknown command or option, bad value
**   2  FL_EXIT_BAD_INPUT a file or model is bad: corrupt, truncated,
**                        unsupported, fails its checksum
**   3  FL_EXIT_MISSING   a file or folder does not exist (or cannot be opened)
**   4  FL_EXIT_INTERNAL  internal error: out of memory, a bug
**   5  FL_EXIT_OUTPUT    an output could not be written: disk full
**                        (nothing half-written is left under its name)
*/
#ifndef FL_APP_EXIT_CODES_H
#define FL_APP_EXIT_CODES_H

#include "faceline/fl_base.h"

enum fl_exit {
	FL_EXIT_OK = 0,
	FL_EXIT_USAGE = 1,
	FL_EXIT_BAD_INPUT = 2,
	FL_EXIT_MISSING = 3,
	FL_EXIT_INTERNAL = 4,
	FL_EXIT_OUTPUT = 5,
};

/* The exit status for a libfaceline status code (>= 0 or a negative FL_E*). */
static inline int fl_exit_from_status(int status)
{
	if (status >= 0)
		return FL_EXIT_OK;
	switch (status) {
	case FL_EINVAL: return FL_EXIT_USAGE;
	case FL_ENOENT:
	case FL_EACCES: return FL_EXIT_MISSING;
	case FL_EIO:
	case FL_ERANGE:
	case FL_EUNSUPPORTED:
	case FL_ECORRUPT:
	case FL_EDECODE:
	case FL_ESHAPE:
	case FL_EDTYPE:
	case FL_ETRUNCATED:
	case FL_ECHECKSUM: return FL_EXIT_BAD_INPUT;
	case FL_ENOSPC: return FL_EXIT_OUTPUT;
	default: return FL_EXIT_INTERNAL; /* FL_ENOMEM, FL_EINTERNAL, ... */
	}
}

#endif /* FL_APP_EXIT_CODES_H */
