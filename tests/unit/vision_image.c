/*
** vision_image.c -- unit tests of image loading and saving: the sample
** photos decode at their known sizes; bad inputs (missing, empty, text named
** .jpg, truncated JPEG and PNG, over the size limit) give clean errors that
** name the file; PNG save/load round-trips exactly; EXIF orientation is
** applied; failing each of our allocations in turn never crashes or leaks.
*/
#include "fl_test.h"
#include "faceline/fl_vision.h"

#include <stdlib.h>
#include <unistd.h>

/* A fresh temporary directory per test (tests run forked). */
static const char *tmp_path(const char *name)
{
	static char dir[256];
	static char buf[4][512];
	static int k;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fl_vision_XXXXXX");
		if (!mkdtemp(dir))
			fl_test_fail(__FILE__, __LINE__, "mkdtemp failed");
	}
	char *b = buf[k++ & 3];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	ASSERT(f);
	ASSERT_EQ(fwrite(data, 1, n, f), n);
	fclose(f);
}

static const char *sample(int i)
{
	static char rel[64];
	snprintf(rel, sizeof(rel), "models/samples/sample%d.jpg", i);
	const char *p = fl_test_path(rel);
	if (access(p, R_OK) != 0)
		FL_SKIP("models/samples not present (make models)");
	return p;
}

FL_TEST(vision_image_load_samples)
{
	static const int dims[6][2] = {{1920, 1280}, {1920, 1367}, {1920, 1350}, {1920, 1448}, {1920, 1398}, {1920, 1537}};
	for (int i = 1; i <= 6; i++) {
		struct fl_image img;
		char err[256] = "";
		ASSERT_MSG(fl_image_load(sample(i), NULL, &img, err, sizeof(err)) == 0, "%s", err);
		ASSERT_EQ(img.width, dims[i - 1][0]);
		ASSERT_EQ(img.height, dims[i - 1][1]);
		ASSERT(img.stride >= 3 * img.width);
		/* Not a blank picture: some spread in the values. */
		long sum = 0, sum2 = 0, n = 0;
		for (int y = 0; y < img.height; y += 37)
			for (int x = 0; x < 3 * img.width; x += 11) {
				int v = img.data[y * img.stride + x];
				sum += v;
				sum2 += v * v;
				n++;
			}
		double mean = (double)sum / n, var = (double)sum2 / n - mean * mean;
		ASSERT_MSG(var > 100, "sample%d looks blank (var %.1f)", i, var);
		fl_image_fini(&img);
	}
}

FL_TEST(vision_image_bad_inputs)
{
	struct fl_image img;
	char err[512];

	/* Missing file. */
	err[0] = 0;
	ASSERT_EQ(fl_image_load("/nonexistent/photo.jpg", NULL, &img, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "/nonexistent/photo.jpg");
	ASSERT(img.data == NULL);

	/* Zero bytes. */
	const char *empty = tmp_path("empty.jpg");
	write_bytes(empty, "", 0);
	ASSERT_EQ(fl_image_load(empty, NULL, &img, err, sizeof(err)), FL_EDECODE);
	ASSERT_STR_CONTAINS(err, "empty.jpg");

	/* Text named .jpg. */
	const char *text = tmp_path("text.jpg");
	const char *words = "this is not a picture, only some words in a file\n";
	write_bytes(text, words, strlen(words));
	ASSERT_EQ(fl_image_load(text, NULL, &img, err, sizeof(err)), FL_EDECODE);
	ASSERT_STR_CONTAINS(err, "text.jpg");
	ASSERT_STR_CONTAINS(err, "not an image");

	/* A directory. */
	ASSERT(fl_image_load("/tmp", NULL, &img, err, sizeof(err)) < 0);

	/* Truncated JPEG: the first half, and only the header. */
	size_t n;
	uint8_t *jpg = fl_test_read_file(sample(1), &n);
	ASSERT(jpg);
	const char *half = tmp_path("half.jpg");
	write_bytes(half, jpg, n / 2);
	ASSERT_EQ(fl_image_load(half, NULL, &img, err, sizeof(err)), FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "half.jpg");
	ASSERT_STR_CONTAINS(err, "truncated");
	const char *head = tmp_path("head.jpg");
	write_bytes(head, jpg, 600);
	ASSERT(fl_image_load(head, NULL, &img, err, sizeof(err)) < 0);
	ASSERT(img.data == NULL);
	/* Two bytes of JPEG magic and nothing else. */
	write_bytes(head, jpg, 2);
	ASSERT(fl_image_load(head, NULL, &img, err, sizeof(err)) < 0);
	/* Corrupt middle: garbage over a quarter of the file -- decodes or fails, never crashes. */
	uint8_t *bad = malloc(n);
	memcpy(bad, jpg, n);
	for (size_t i = n / 3; i < n / 3 + n / 4; i++)
		bad[i] = (uint8_t)(i * 131);
	const char *garb = tmp_path("garbage.jpg");
	write_bytes(garb, bad, n);
	int r = fl_image_load(garb, NULL, &img, err, sizeof(err));
	if (r == 0)
		fl_image_fini(&img);
	free(bad);

	/* A header claiming 60000x60000 pixels: refused, nothing huge allocated. */
	uint8_t *big = malloc(n);
	memcpy(big, jpg, n);
	int patched = 0;
	for (size_t i = 2; i + 9 < n && !patched; i++)
		if (big[i] == 0xFF && (big[i + 1] == 0xC0 || big[i + 1] == 0xC2)) {
			big[i + 5] = big[i + 7] = 60000 >> 8;
			big[i + 6] = big[i + 8] = 60000 & 255;
			patched = 1;
		}
	ASSERT(patched);
	const char *huge = tmp_path("huge.jpg");
	write_bytes(huge, big, n);
	free(big);
	r = fl_image_load(huge, NULL, &img, err, sizeof(err));
	ASSERT_MSG(r == FL_ERANGE || r == FL_EDECODE, "huge header: %d (%s)", r, err);
	ASSERT_STR_CONTAINS(err, "huge.jpg");
	ASSERT(img.data == NULL);

	/* Over the size limit. */
	struct fl_image_load_params lp = fl_image_load_default_params();
	lp.max_width = 1000;
	ASSERT_EQ(fl_image_load(sample(1), &lp, &img, err, sizeof(err)), FL_ERANGE);
	ASSERT_STR_CONTAINS(err, "1920x1280");
	free(jpg);
}

FL_TEST(vision_image_png_roundtrip)
{
	struct fl_image a, b;
	ASSERT_OK(fl_image_init(&a, 37, 23));
	for (int y = 0; y < 23; y++)
		for (int x = 0; x < 37 * 3; x++)
			a.data[y * a.stride + x] = (uint8_t)(x * 7 + y * 13);
	fl_image_draw_rect(&a, 5, 5, 10, 8, 2, 255, 0, 0);
	ASSERT_EQ(a.data[5 * a.stride + 3 * 5], 255);
	ASSERT_EQ(a.data[5 * a.stride + 3 * 5 + 1], 0);
	char err[256] = "";
	const char *png = tmp_path("a.png");
	ASSERT_MSG(fl_image_save_png(&a, png, err, sizeof(err)) == 0, "%s", err);
	ASSERT_MSG(fl_image_load(png, NULL, &b, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(b.width, 37);
	ASSERT_EQ(b.height, 23);
	for (int y = 0; y < 23; y++)
		ASSERT(!memcmp(a.data + y * a.stride, b.data + y * b.stride, 37 * 3));
	fl_image_fini(&b);

	/* A truncated PNG is reported as such. */
	size_t n;
	uint8_t *bytes = fl_test_read_file(png, &n);
	const char *cut = tmp_path("cut.png");
	write_bytes(cut, bytes, n - 20);
	int r = fl_image_load(cut, NULL, &b, err, sizeof(err));
	ASSERT_EQ(r, FL_ETRUNCATED);
	ASSERT_STR_CONTAINS(err, "cut.png");
	free(bytes);

	/* Unwritable path. */
	ASSERT_EQ(fl_image_save_png(&a, "/nonexistent/dir/x.png", err, sizeof(err)), FL_EIO);
	ASSERT_STR_CONTAINS(err, "/nonexistent/dir/x.png");
	fl_image_fini(&a);
}

/* Insert an APP1 EXIF segment with Orientation = o after the SOI marker. */
static uint8_t *with_orientation(const uint8_t *jpg, size_t n, int o, size_t *out_n)
{
	static const uint8_t exif_head[] = {
		0xFF, 0xE1, 0x00, 0x22,                   /* APP1, length 34 */
		'E', 'x', 'i', 'f', 0, 0,                 /* Exif header */
		'I', 'I', 0x2A, 0x00, 0x08, 0, 0, 0,      /* little-endian TIFF, IFD at 8 */
		0x01, 0x00,                               /* one entry */
		0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0,    /* tag 0x112 SHORT x1 */
		0, 0, 0, 0,                               /* value (patched) */
		0, 0, 0, 0,                               /* next IFD: none */
	};
	uint8_t *b = malloc(n + sizeof(exif_head));
	memcpy(b, jpg, 2);
	memcpy(b + 2, exif_head, sizeof(exif_head));
	b[2 + 28] = (uint8_t)o;
	memcpy(b + 2 + sizeof(exif_head), jpg + 2, n - 2);
	*out_n = n + sizeof(exif_head);
	return b;
}

FL_TEST(vision_image_exif_orientation)
{
	size_t n, m;
	uint8_t *jpg = fl_test_read_file(sample(1), &n);
	ASSERT(jpg);
	struct fl_image base, rot;
	char err[256] = "";
	ASSERT_OK(fl_image_load(sample(1), NULL, &base, err, sizeof(err)));
	/* 6: rotate 90 degrees clockwise to display. */
	uint8_t *b = with_orientation(jpg, n, 6, &m);
	const char *p6 = tmp_path("o6.jpg");
	write_bytes(p6, b, m);
	free(b);
	ASSERT_MSG(fl_image_load(p6, NULL, &rot, err, sizeof(err)) == 0, "%s", err);
	ASSERT_EQ(rot.width, base.height);
	ASSERT_EQ(rot.height, base.width);
	/* Output top-left is the source bottom-left; output top-right the source top-left. */
	ASSERT(!memcmp(rot.data, base.data + (size_t)(base.height - 1) * base.stride, 3));
	ASSERT(!memcmp(rot.data + 3 * (rot.width - 1), base.data, 3));
	fl_image_fini(&rot);
	/* Not applied when asked not to. */
	struct fl_image_load_params lp = fl_image_load_default_params();
	lp.apply_exif = 0;
	ASSERT_OK(fl_image_load(p6, &lp, &rot, err, sizeof(err)));
	ASSERT_EQ(rot.width, base.width);
	fl_image_fini(&rot);
	/* 3: rotate 180. */
	b = with_orientation(jpg, n, 3, &m);
	const char *p3 = tmp_path("o3.jpg");
	write_bytes(p3, b, m);
	free(b);
	ASSERT_OK(fl_image_load(p3, NULL, &rot, err, sizeof(err)));
	ASSERT_EQ(rot.width, base.width);
	ASSERT(!memcmp(rot.data, base.data + (size_t)(base.height - 1) * base.stride + 3 * (base.width - 1), 3));
	fl_image_fini(&rot);
	fl_image_fini(&base);
	free(jpg);
}

FL_TEST(vision_image_alloc_failures)
{
	/* Fail our k-th allocation for k = 1, 2, ...: each load succeeds or
	** fails cleanly, and nothing of ours leaks. */
	const char *path = sample(2);
	long live0 = fl_alloc_live();
	for (int k = 1; k < 20; k++) {
		struct fl_image img;
		char err[256] = "";
		fl_alloc_fail_after(k, 0);
		int r = fl_image_load(path, NULL, &img, err, sizeof(err));
		int failed = fl_alloc_fail_after(0, 0);
		if (r == 0) {
			fl_image_fini(&img);
			if (!failed)
				break;
		} else {
			ASSERT_EQ(r, FL_ENOMEM);
			ASSERT(img.data == NULL);
		}
		ASSERT_EQ(fl_alloc_live(), live0);
	}
}
