/*
** faceline.c -- the faceline command: dispatches to the sub-commands in
** app/cmd_*.c.  Usage is printed by `faceline help`.
*/
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "faceline/fl.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "faceline %s -- who appears when: faces, identities and expressions on the CPU\n"
	        "\n"
	        "usage: faceline COMMAND [ARGS]\n"
	        "\n"
	        "  analyze VIDEO [-o R.json] [--json] [--fps N] [--profile]   who appears when\n"
	        "  render R.json [--report F] [--vtt F] [--srt F] [--csv F] [--annotate F] [--clips DIR]\n"
	        "                                          outputs from a saved result (render --help)\n"
	        "  detect PHOTO [--json] [--min-score S]   find the faces in a photo\n"
	        "  models list [--json] | models verify    the pretrained models and their checksums\n"
	        "  nn run MODEL --input F.f32 --shape 1,H,W,C [--dtype int32] --out DIR\n"
	        "                                          run any model on a raw float32 tensor\n"
	        "  nn info MODEL                           inputs, outputs and nodes of a model\n"
	        "  bench models [--json] [--threads 1,2]   time every model\n"
	        "  serve --data DIR [--listen H:P]         the HTTP job service and dashboard (docs/service.md)\n"
	        "  version                                 print the version and the kernel family\n"
	        "\n"
	        "Environment: FL_CPU=ref|avx2|avx512 (kernel family), FL_THREADS=N, FL_LOG_LEVEL=debug,\n"
	        "FL_MODELS=DIR (default ./models).\n"
	        "Exit codes: 0 ok, 1 usage, 2 bad input, 3 missing file, 4 internal error, 5 output not written.\n",
	        fl_version());
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return FL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return FL_EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("faceline %s (kernels: %s, %d threads)\n", fl_version(), fl_cpu_isa_name(), fl_cpu_count());
		return FL_EXIT_OK;
	}
	if (!strcmp(cmd, "models"))
		return cmd_models(argc - 1, argv + 1);
	if (!strcmp(cmd, "analyze"))
		return cmd_analyze(argc - 1, argv + 1);
	if (!strcmp(cmd, "detect"))
		return cmd_detect(argc - 1, argv + 1);
	if (!strcmp(cmd, "nn"))
		return cmd_nn(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "render"))
		return cmd_render(argc - 1, argv + 1);
	fprintf(stderr, "faceline: unknown command \"%s\"\n\n", cmd);
	usage(stderr);
	return FL_EXIT_USAGE;
}
