/*
** cmd_models.c -- `faceline models list|verify`.
**
**   faceline models list   [--dir DIR] [--json] [--quick]
**   faceline models verify [--dir DIR] [--quick]
**
** `list` prints every model file libfaceline knows (file, package, role,
** size, status in DIR) as a table or as JSON, and exits 0 whatever the
** status.  `verify` prints each missing or altered file and exits
** FL_EXIT_BAD_INPUT (2) when there is one, FL_EXIT_MISSING (3) when DIR
** itself does not exist, 0 when every file is present and intact.
** --quick compares sizes only (no SHA-256).  The folder defaults to
** fl_models_default_dir(): $FL_MODELS, ./models, the installed share dir.
*/
#include "app.h"
#include "faceline/fl_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
	"usage: faceline models list   [--dir DIR] [--json] [--quick]\n"
	"       faceline models verify [--dir DIR] [--quick]\n"
	"\n"
	"  list    show the model files faceline knows and their status in DIR\n"
	"  verify  check every file's size and SHA-256; exit 0 if all are intact,\n"
	"          2 if one is missing or altered, 3 if DIR does not exist\n"
	"  --dir DIR  the models folder (also --models DIR); default: $FL_MODELS,\n"
	"             ./models, then the installed share/faceline/models\n"
	"  --json     machine-readable output (list)\n"
	"  --quick    compare sizes only, skip SHA-256\n"
	"Fetch or repair the files with `make models` (tools/fetch-models.sh).\n";

struct opts {
	const char *dir;
	int json;
	int quick;
};

static int usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

/* parse() result when --help was printed: the command is done, exit 0. */
#define HELP_SHOWN (-1)

/* Parse the options after the subcommand.  Returns 0, HELP_SHOWN or an
** exit code (> 0). */
static int parse(int argc, char **argv, int allow_json, struct opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		/* --models DIR: the spelling the other commands use. */
		if ((strcmp(a, "--dir") == 0 || strcmp(a, "--models") == 0) && i + 1 < argc) {
			o->dir = argv[++i];
		} else if (strncmp(a, "--dir=", 6) == 0) {
			o->dir = a + 6;
		} else if (allow_json && strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "--quick") == 0) {
			o->quick = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout, 0);
			return HELP_SHOWN;
		} else {
			fprintf(stderr, "faceline models: unknown or incomplete option '%s'\n", a);
			return usage(stderr, FL_EXIT_USAGE);
		}
	}
	return 0;
}

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Human-readable size: 538928 -> "526.3 KiB". */
static const char *human_size(int64_t n, char *buf, size_t size)
{
	if (n < 0)
		snprintf(buf, size, "-");
	else if (n < 1024)
		snprintf(buf, size, "%lld B", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, size, "%.1f MiB", n / (1024.0 * 1024.0));
	return buf;
}

/* Verify into a fresh array; NULL (message printed) on failure. */
static struct fl_model_status *check_all(const char *dir, int quick, int *n_bad)
{
	int n = fl_models_count();
	struct fl_model_status *st = calloc((size_t)n, sizeof(*st));
	if (!st) {
		fprintf(stderr, "faceline models: out of memory\n");
		return NULL;
	}
	int rc = fl_models_verify(dir, st, n, quick ? FL_MODELS_SIZE_ONLY : 0);
	if (rc < 0) {
		fprintf(stderr, "faceline models: checking %s: %s\n", dir, fl_strerror(rc));
		free(st);
		return NULL;
	}
	*n_bad = rc;
	return st;
}

/* ----------------------------------------------------------------- list */

static int cmd_list(const struct opts *o)
{
	int n = fl_models_count(), n_bad = 0;
	struct fl_model_status *st = check_all(o->dir, o->quick, &n_bad);
	char sz[32];

	if (!st)
		return FL_EXIT_INTERNAL;
	if (o->json) {
		printf("{\"dir\": ");
		json_str(stdout, o->dir);
		printf(", \"n_files\": %d, \"n_bad\": %d, \"files\": [\n", n, n_bad);
		for (int i = 0; i < n; i++) {
			const struct fl_model_info *m = st[i].info;
			printf("  {\"path\": ");
			json_str(stdout, m->path);
			printf(", \"package\": ");
			json_str(stdout, m->package);
			printf(", \"model\": ");
			json_str(stdout, m->model);
			printf(", \"format\": ");
			json_str(stdout, m->format);
			printf(", \"role\": ");
			json_str(stdout, m->role);
			printf(", \"size\": %lld, \"sha256\": \"%s\", \"status\": \"%s\", \"actual_size\": %lld}%s\n",
			       (long long)m->size, m->sha256, fl_model_state_name(st[i].state), (long long)st[i].size,
			       i + 1 < n ? "," : "");
		}
		printf("]}\n");
	} else {
		/* Column widths from the content, so the table stays aligned. */
		int w_path = 4, w_pkg = 7, w_role = 4;
		for (int i = 0; i < n; i++) {
			const struct fl_model_info *m = st[i].info;
			int l;
			if ((l = (int)strlen(m->path)) > w_path)
				w_path = l;
			if ((l = (int)strlen(m->package)) > w_pkg)
				w_pkg = l;
			if ((l = (int)strlen(m->role)) > w_role)
				w_role = l;
		}
		printf("%-*s  %-*s  %-*s  %10s  %s\n", w_path, "FILE", w_pkg, "PACKAGE", w_role, "ROLE", "SIZE",
		       "STATUS");
		for (int i = 0; i < n; i++) {
			const struct fl_model_info *m = st[i].info;
			printf("%-*s  %-*s  %-*s  %10s  %s\n", w_path, m->path, w_pkg, m->package, w_role, m->role,
			       human_size(m->size, sz, sizeof(sz)), fl_model_state_name(st[i].state));
		}
		printf("%d files in %s: %d ok, %d missing or altered%s\n", n, o->dir, n - n_bad, n_bad,
		       o->quick ? " (sizes only)" : "");
	}
	free(st);
	return FL_EXIT_OK;
}

/* --------------------------------------------------------------- verify */

static int cmd_verify(const struct opts *o)
{
	int n = fl_models_count(), n_bad = 0;
	struct fl_model_status *st;
	struct stat sb;

	if (stat(o->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr,
		        "faceline models: models folder '%s' does not exist; "
		        "fetch the models with `make models` (tools/fetch-models.sh)\n",
		        o->dir);
		return FL_EXIT_MISSING;
	}
	st = check_all(o->dir, o->quick, &n_bad);
	if (!st)
		return FL_EXIT_INTERNAL;
	for (int i = 0; i < n; i++) {
		const struct fl_model_info *m = st[i].info;
		switch (st[i].state) {
		case FL_MODEL_OK:
			break;
		case FL_MODEL_MISSING:
			fprintf(stderr, "MISSING    %s/%s (%s, expected %lld bytes)\n", o->dir, m->path, m->package,
			        (long long)m->size);
			break;
		case FL_MODEL_ALTERED:
			if (st[i].size != m->size)
				fprintf(stderr, "ALTERED    %s/%s: size %lld, expected %lld\n", o->dir, m->path,
				        (long long)st[i].size, (long long)m->size);
			else
				fprintf(stderr, "ALTERED    %s/%s: sha256 %s, expected %s\n", o->dir, m->path, st[i].sha256,
				        m->sha256);
			break;
		default:
			fprintf(stderr, "UNREADABLE %s/%s: %s\n", o->dir, m->path, fl_strerror(st[i].error));
			break;
		}
	}
	free(st);
	if (n_bad > 0) {
		fprintf(stderr,
		        "faceline models: %d of %d model files missing or altered in %s; "
		        "run `make models` (tools/fetch-models.sh) to fetch them again\n",
		        n_bad, n, o->dir);
		return FL_EXIT_BAD_INPUT;
	}
	printf("models: %d files ok in %s%s\n", n, o->dir, o->quick ? " (sizes only)" : "");
	return FL_EXIT_OK;
}

/* ----------------------------------------------------------------- entry */

int cmd_models(int argc, char **argv)
{
	struct opts o = {0};
	char dir[4096];
	int rc;

	/* Accept argv[0] == "models" (dispatch with the command name) or not. */
	if (argc > 0 && strcmp(argv[0], "models") == 0) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return usage(stderr, FL_EXIT_USAGE);
	if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0)
		return usage(stdout, FL_EXIT_OK);

	int is_list = strcmp(argv[0], "list") == 0;
	if (!is_list && strcmp(argv[0], "verify") != 0) {
		fprintf(stderr, "faceline models: unknown subcommand '%s'\n", argv[0]);
		return usage(stderr, FL_EXIT_USAGE);
	}
	rc = parse(argc - 1, argv + 1, is_list, &o);
	if (rc == HELP_SHOWN)
		return FL_EXIT_OK;
	if (rc > 0)
		return rc;
	if (!o.dir) {
		if (fl_models_default_dir(dir, sizeof(dir)) < 0) {
			fprintf(stderr, "faceline models: $FL_MODELS is too long\n");
			return FL_EXIT_USAGE;
		}
		o.dir = dir;
	}
	return is_list ? cmd_list(&o) : cmd_verify(&o);
}
