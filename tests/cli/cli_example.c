/*
** cli_example.c -- the README's first command end to end: the example video
** that `make demo` analyses (tools/make-example.sh: shots of two group
** photos of face-api's npm package, a black gap, the first photo again) and
** `faceline analyze --json` on it.  The truth is known by construction:
** three people 0-5 s, four others 5-10 s, nobody 10-12 s, the first three
** again 12-16 s -- seven persons, the first three with two segments.  It
** checks the shot cuts (no track crosses one) and re-identification (the
** returning people are the same persons, not new ones).
*/
#define _GNU_SOURCE
#include "fl_test.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

FL_TEST_T(cli_example_demo, 300)
{
	const char *bin = fl_test_faceline();
	if (access(fl_test_path("models/samples/sample3.jpg"), R_OK) != 0)
		FL_SKIP("models not fetched (make models)");
	char dir[] = "/tmp/fl-example.XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char cmd[3 * PATH_MAX], *out = NULL;
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s/example.mp4' 2>&1", fl_test_path("tools/make-example.sh"), dir);
	int rc = fl_test_capture(cmd, &out);
	ASSERT_MSG(rc == 0, "make-example.sh: exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "FL_MODELS='%s' '%s' analyze '%s/example.mp4' --quiet --json -o '%s/result.json'",
	         fl_test_path("models"), bin, dir, dir);
	rc = fl_test_capture(cmd, &out);
	ASSERT_MSG(rc == 0, "analyze: exit %d: %s", rc, out);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	ASSERT_MSG(doc, "analyze --json output is not JSON: %s", je.text);
	free(out);

	json_t *persons = json_object_get(doc, "persons");
	ASSERT_EQ(json_array_size(persons), 7);
	int two = 0, mid = 0;
	for (size_t i = 0; i < json_array_size(persons); i++) {
		json_t *segs = json_object_get(json_array_get(persons, i), "segments");
		size_t ns = json_array_size(segs);
		double s0 = json_number_value(json_object_get(json_array_get(segs, 0), "start"));
		double e0 = json_number_value(json_object_get(json_array_get(segs, 0), "end"));
		if (ns == 2) {
			/* One of the first three: 0-5 s (the third one enters the
			** pan at about 1 s) and 12-16 s. */
			double s1 = json_number_value(json_object_get(json_array_get(segs, 1), "start"));
			double e1 = json_number_value(json_object_get(json_array_get(segs, 1), "end"));
			ASSERT_MSG(s0 < 1.5 && fabs(e0 - 5.0) < 0.3, "person %zu: first segment %.2f-%.2f", i + 1, s0, e0);
			ASSERT_MSG(fabs(s1 - 12.0) < 0.3 && e1 > 15.5, "person %zu: second segment %.2f-%.2f", i + 1, s1, e1);
			two++;
		} else {
			ASSERT_EQ(ns, 1);
			/* One of the four in the second shot: never before its cut,
			** never after the next one. */
			ASSERT_MSG(s0 > 4.7 && s0 < 6.0 && e0 > 9.0 && e0 < 10.3, "person %zu: segment %.2f-%.2f", i + 1,
			           s0, e0);
			mid++;
		}
	}
	ASSERT_EQ(two, 3);
	ASSERT_EQ(mid, 4);
	/* No track crosses a cut. */
	json_t *tracks = json_object_get(doc, "tracks");
	for (size_t i = 0; i < json_array_size(tracks); i++) {
		json_t *t = json_array_get(tracks, i);
		double s = json_number_value(json_object_get(t, "start")), e = json_number_value(json_object_get(t, "end"));
		ASSERT_MSG(!(s < 5.0 && e > 5.0) && !(s < 10.0 && e > 12.0), "track %zu spans %.2f-%.2f across a cut",
		           i + 1, s, e);
	}
	json_decref(doc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}
