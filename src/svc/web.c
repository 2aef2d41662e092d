/*
** web.c -- the dashboard's static files (web/index.html, app.js,
** style.css), embedded in the library with the assembler's .incbin so the
** service is one binary with no files to install and nothing fetched from
** the network.  The Makefile makes this object depend on the files in web/, so an
** edit of the page rebuilds it.  Paths in .incbin are relative to the
** directory make runs in (the repository root).
*/
#include "http_int.h"

#include <string.h>

#include "faceline/fl_base.h"

/* Each file becomes fl__web_<name> .. fl__web_<name>_end in .rodata
** (hidden: not exported from libfaceline.so), followed by a NUL byte. */
#define FL__WEB_EMBED(sym, file)                                                   \
	__asm__(".pushsection .rodata\n"                                               \
	        ".global " #sym "\n.hidden " #sym "\n.balign 16\n" #sym ":\n"         \
	        ".incbin \"" file "\"\n"                                               \
	        ".global " #sym "_end\n.hidden " #sym "_end\n" #sym "_end:\n.byte 0\n" \
	        ".popsection\n");                                                      \
	extern const unsigned char sym[], sym##_end[]

FL__WEB_EMBED(fl__web_index_html, "web/index.html");
FL__WEB_EMBED(fl__web_app_js, "web/app.js");
FL__WEB_EMBED(fl__web_style_css, "web/style.css");

static const struct {
	const char *url, *ctype;
	const unsigned char *start, *end;
} files[] = {
	{"/", "text/html; charset=utf-8", fl__web_index_html, fl__web_index_html_end},
	{"/index.html", "text/html; charset=utf-8", fl__web_index_html, fl__web_index_html_end},
	{"/app.js", "text/javascript; charset=utf-8", fl__web_app_js, fl__web_app_js_end},
	{"/style.css", "text/css; charset=utf-8", fl__web_style_css, fl__web_style_css_end},
};

int fl__web_find(const char *url, const unsigned char **data, size_t *len, const char **ctype)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(url, files[i].url) != 0)
			continue;
		if (data)
			*data = files[i].start;
		if (len)
			*len = (size_t)(files[i].end - files[i].start);
		if (ctype)
			*ctype = files[i].ctype;
		return 0;
	}
	return FL_ENOENT;
}
