/*
** fuzz_tfjs.c -- libFuzzer target for the model.json loaders (TF.js graph
** models and face-api weights manifests).  An input is the JSON text,
** optionally followed by a NUL byte and the weight bytes (what the .bin
** files would hold, concatenated); a JSON array goes to the face-api
** loader, anything else to the TF.js one.  A loaded graph is also linked
** (topological order, dangling inputs), and, with FL_FUZZ_OPTIMIZE=1 in
** the environment, run through the load-time passes.
**
** Build and run: make fuzz; build-fuzz/fuzz_tfjs tests/fuzz/corpus/tfjs
** (-max_total_time=60).  Every input must end in success or a clean error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/load/load_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int optimize = -1, verbose;
	const uint8_t *nul = memchr(data, 0, size);
	size_t json_size = nul ? (size_t)(nul - data) : size;
	const uint8_t *bin = nul ? nul + 1 : (const uint8_t *)"";
	size_t bin_size = nul ? size - json_size - 1 : 0;
	struct fl_graph g;
	char err[512];
	size_t i = 0;
	int rc;

	if (optimize < 0) {
		const char *e = getenv("FL_FUZZ_OPTIMIZE");
		optimize = e && *e == '1';
		e = getenv("FL_FUZZ_VERBOSE");
		verbose = e && *e == '1';
	}
	if (fl__graph_init(&g, "fuzz"))
		return 0;
	while (i < json_size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	if (i < json_size && data[i] == '[')
		rc = fl__load_faceapi_buf(&g, (const char *)data, json_size, bin, bin_size, "fuzz.json", err, sizeof(err));
	else
		rc = fl__load_tfjs_buf(&g, (const char *)data, json_size, NULL, bin, bin_size, "fuzz.json", err, sizeof(err));
	/* a failure must leave a message */
	if (rc < 0 && !err[0])
		abort();
	if (verbose)
		fprintf(stderr, "load: %d %s\n", rc, rc ? err : "");
	if (rc == 0) {
		err[0] = 0;
		if (optimize)
			rc = fl__graph_optimize(&g, err, sizeof(err));
		else
			rc = fl__graph_link(&g, err, sizeof(err));
		if (verbose)
			fprintf(stderr, "%s: %d %s (%d nodes)\n", optimize ? "optimize" : "link", rc, rc ? err : "", g.n_nodes);
	}
	fl__graph_fini(&g);
	return 0;
}
