/*
** engine_faults.c -- allocation-failure tests of the whole engine path
** (SQLite's faultsim): fl_model_load (loader + passes + weight packing) and
** fl_session_create, failing each allocation in turn.  Each must return 0
** or FL_ENOMEM with a message, and leave no live allocation behind.
*/
#include "fl_test.h"

#include "faceline/fl.h"
#include "nn/nn_int.h"

static void load_with_faults(const char *rel, int isa, int step)
{
	const char *path = fl_test_path(rel);
	if (!fl_test_read_file(path, NULL))
		FL_SKIP("models not fetched");
	long live0 = fl_alloc_live();
	int points = 0;
	for (int i = 1;; i += step) {
		struct fl_model *m = NULL;
		char err[512] = "";
		fl_alloc_fail_after(i, 1);
		int r = fl__model_load_isa(path, isa, &m, err, sizeof(err));
		int failed = fl_alloc_fail_after(0, 0);
		if (r == 0) {
			fl_model_destroy(m);
			ASSERT_EQ(fl_alloc_live(), live0);
			if (failed == 0)
				break; /* no allocation failed: every point was covered */
			continue;  /* an allocation failed but was handled (e.g. an optional fusion skipped) */
		}
		ASSERT_MSG(r == FL_ENOMEM, "failure point %d: %s (%s)", i, fl_strerror(r), err);
		ASSERT_MSG(err[0], "failure point %d: no message", i);
		ASSERT(m == NULL);
		ASSERT_MSG(fl_alloc_live() == live0, "failure point %d: %ld blocks leaked", i, fl_alloc_live() - live0);
		points++;
	}
	printf("  %s: %d failure points\n", rel, points);
	ASSERT(points > 10);
}

FL_TEST_T(engine_faults_load_emotion, 300)
{
	load_with_faults("models/human/emotion.json", fl__cpu_detect(), 1);
}

FL_TEST_T(engine_faults_load_blazeface, 300)
{
	load_with_faults("models/human/blazeface.json", fl__cpu_detect(), 7);
}

FL_TEST_T(engine_faults_load_mobilefacenet, 300)
{
	load_with_faults("models/expo/MobileFaceNet.tflite", FL_ISA_REF, 11);
}

FL_TEST_T(engine_faults_session, 300)
{
	const char *path = fl_test_path("models/human/blazeface.json");
	struct fl_model *m;
	char err[512];
	if (fl_model_load(path, &m, err, sizeof(err)) < 0)
		FL_SKIP("models not fetched");
	long live0 = fl_alloc_live();
	int points = 0;
	struct fl_tensor shape = {FL_DTYPE_F32, 4, {1, 128, 224, 3}, NULL};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = 2;
	sp.input_shapes = &shape;
	sp.n_input_shapes = 1;
	for (int i = 1;; i++) {
		struct fl_session *s = NULL;
		fl_alloc_fail_after(i, 1);
		int r = fl_session_create(m, &sp, &s, err, sizeof(err));
		int failed = fl_alloc_fail_after(0, 0);
		if (r == 0) {
			ASSERT_EQ(failed, 0);
			float *x = calloc(128 * 224 * 3, sizeof(float));
			shape.data = x;
			ASSERT_OK(fl_session_run(s, &shape, 1)); /* a run allocates nothing */
			shape.data = NULL;
			free(x);
			fl_session_destroy(s);
			break;
		}
		ASSERT_MSG(r == FL_ENOMEM, "point %d: %s", i, err);
		ASSERT(s == NULL);
		ASSERT_MSG(fl_alloc_live() == live0, "point %d: %ld leaked", i, fl_alloc_live() - live0);
		points++;
	}
	ASSERT_EQ(fl_alloc_live(), live0);
	ASSERT(points > 5);
	fl_model_destroy(m);
}

/* A run allocates nothing: with every allocation failing, runs still work. */
FL_TEST(engine_run_allocates_nothing)
{
	struct fl_model *m;
	char err[512];
	if (fl_model_load(fl_test_path("models/expo/MobileFaceNet.tflite"), &m, err, sizeof(err)) < 0)
		FL_SKIP("models not fetched");
	struct fl_tensor shape = {FL_DTYPE_F32, 4, {3, 112, 112, 3}, NULL};
	struct fl_session_params sp = fl_session_default_params();
	sp.n_threads = 2;
	sp.input_shapes = &shape;
	sp.n_input_shapes = 1;
	struct fl_session *s;
	ASSERT_OK(fl_session_create(m, &sp, &s, err, sizeof(err)));
	float *x = calloc(3 * 112 * 112 * 3, sizeof(float));
	shape.data = x;
	fl_alloc_fail_after(1, 1);
	for (int k = 0; k < 3; k++)
		ASSERT_OK(fl_session_run(s, &shape, 1));
	ASSERT_EQ(fl_alloc_fail_after(0, 0), 0);
	struct fl_tensor out;
	fl_session_output(s, 0, &out);
	ASSERT_EQ(out.dims[0], 3);
	ASSERT_EQ(out.dims[1], 192);
	free(x);
	fl_session_destroy(s);
	fl_model_destroy(m);
}
