/*
** fuzz_tflite.c -- libFuzzer target for the TFLite loader: any byte string
** is loaded with fl__load_tflite_mem and the graph released.  The loader
** must return 0 or an error code, never crash, hang, read out of bounds or
** leak (ASan/UBSan/LeakSanitizer in `make fuzz`).
**
**   make fuzz && build-fuzz/fuzz_tflite -max_len=65536 tests/fuzz/corpus/tflite
**
** Seeds: tests/fuzz/corpus/tflite/ (small models written by the
** load_tflite_gen_corpus test; add the files of models/expo for more).
*/
#include <stddef.h>
#include <stdint.h>

#include "nn/nn_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_graph g;
	char err[256];
	if (fl__graph_init(&g, "fuzz.tflite") < 0)
		return 0;
	fl__load_tflite_mem(&g, data, size, err, sizeof err);
	fl__graph_fini(&g);
	return 0;
}
