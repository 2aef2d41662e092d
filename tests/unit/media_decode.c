/*
** media_decode.c -- tests of src/media: probing and validating video files,
** the decode thread, time-based sampling, rotation, damaged and hostile
** inputs, cancellation and leaks.
**
** Videos are generated at test time by tests/data/gen_video.sh (Debian's
** ffmpeg with libx264) into a temporary directory removed at exit; every
** test skips when the ffmpeg command is missing.  The clips are small
** (320x240, a few seconds) so the whole suite runs in a few seconds.
*/
#include "fl_test.h"
#include "faceline/fl_media.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static char tmp_dir[256];

static void remove_tmp(void)
{
	if (tmp_dir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_dir);
	}
}

/* Skip without ffmpeg; make this test's temporary directory. */
static void setup(void)
{
	if (system("ffmpeg -version >/dev/null 2>&1") != 0)
		FL_SKIP("the ffmpeg command is not installed");
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fl_media_XXXXXX");
	ASSERT(mkdtemp(tmp_dir) != NULL);
	atexit(remove_tmp);
}

/* tmp_dir/name in a static rotating buffer. */
static const char *tmp_path(const char *name)
{
	static char buf[4][512];
	static int i;
	char *p = buf[i++ & 3];
	snprintf(p, 512, "%s/%s", tmp_dir, name);
	return p;
}

/* Generate a clip of `kind` (see gen_video.sh) at tmp_dir/name. */
static const char *gen(const char *kind, const char *name)
{
	const char *out = tmp_path(name);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sh '%s' %s '%s'", fl_test_path("tests/data/gen_video.sh"), kind, out);
	ASSERT_MSG(system(cmd) == 0, "generating %s failed: %s", kind, cmd);
	return out;
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	ASSERT(f);
	ASSERT(fwrite(data, 1, n, f) == n || n == 0);
	fclose(f);
}

/* Decode the whole file; the t of each frame into ts (up to max), index into
** idx; returns the number of frames and the final status in *status. */
static int decode_all(const char *path, double fps, double *ts, int64_t *idx, int max, int *status,
                      struct fl_decoder_stats *st)
{
	struct fl_decoder_params p = fl_decoder_default_params();
	p.fps = fps;
	p.threads = 2;
	struct fl_decoder *d;
	char err[512];
	int r = fl_decoder_open(path, &p, &d, err, sizeof(err));
	ASSERT_MSG(r == 0, "open %s: %s", path, err);
	int n = 0;
	struct fl_frame *f;
	while ((r = fl_decoder_receive(d, &f)) == 0) {
		ASSERT(f && f->data && f->width > 0 && f->height > 0 && f->stride >= 3 * f->width);
		if (n < max) {
			if (ts)
				ts[n] = f->t;
			if (idx)
				idx[n] = f->index;
		}
		n++;
		fl_frame_unref(f);
	}
	ASSERT(f == NULL);
	*status = r;
	if (st)
		fl_decoder_stats(d, st);
	fl_decoder_close(d);
	return n;
}

/* ------------------------------------------------------------------ probe */

FL_TEST(media_probe_fields)
{
	setup();
	struct fl_video_info info;
	char err[512] = "";
	const char *a = gen("basic", "basic.mp4");
	ASSERT_OK(fl_video_probe(a, NULL, &info, err, sizeof(err)));
	ASSERT(strcmp(info.codec, "h264") == 0);
	ASSERT_STR_CONTAINS(info.format, "mp4");
	ASSERT_EQ(info.width, 320);
	ASSERT_EQ(info.height, 240);
	ASSERT_EQ(info.coded_width, 320);
	ASSERT_EQ(info.coded_height, 240);
	ASSERT_EQ(info.rotation, 0);
	ASSERT_NEAR(info.duration, 4.0, 0.05);
	ASSERT_NEAR(info.fps, 25.0, 1e-6);
	ASSERT_EQ(info.n_frames, 100);
	ASSERT_EQ(info.has_audio, 0);
	ASSERT(info.file_size > 0);

	ASSERT_OK(fl_video_probe(gen("audio", "audio.mp4"), NULL, &info, err, sizeof(err)));
	ASSERT_EQ(info.has_audio, 1);
	ASSERT_EQ(info.width, 320);

	ASSERT_OK(fl_video_probe(gen("mkv", "m.mkv"), NULL, &info, err, sizeof(err)));
	ASSERT_STR_CONTAINS(info.format, "matroska");
	ASSERT(strcmp(info.codec, "h264") == 0);
	ASSERT_NEAR(info.duration, 4.0, 0.05);

	ASSERT_OK(fl_video_probe(gen("offset", "off.mp4"), NULL, &info, err, sizeof(err)));
	ASSERT_NEAR(info.start_time, 10.0, 0.05);
}

/* Each bad input: the documented code and a message naming the file. */
static void expect_bad(const char *path, const struct fl_media_limits *lim, int code, const char *what)
{
	struct fl_video_info info;
	char err[512] = "";
	int r = fl_video_probe(path, lim, &info, err, sizeof(err));
	ASSERT_MSG(r == code, "%s: got %s, want %s (%s)", path, fl_status_name(r), fl_status_name(code), err);
	ASSERT_STR_CONTAINS(err, path);
	if (what)
		ASSERT_STR_CONTAINS(err, what);
	ASSERT_EQ(info.width, 0);

	/* The decoder refuses it the same way and returns no handle. */
	struct fl_decoder_params p = fl_decoder_default_params();
	if (lim)
		p.limits = *lim;
	struct fl_decoder *d = (struct fl_decoder *)1;
	long live = fl_alloc_live();
	err[0] = 0;
	r = fl_decoder_open(path, &p, &d, err, sizeof(err));
	ASSERT_EQ(r, code);
	ASSERT(d == NULL);
	ASSERT_STR_CONTAINS(err, path);
	ASSERT_EQ(fl_alloc_live(), live);
}

FL_TEST(media_probe_bad_inputs)
{
	setup();
	char a[512];
	snprintf(a, sizeof(a), "%s", gen("basic", "basic.mp4"));
	size_t n;
	char *bytes = fl_test_read_file(a, &n);
	ASSERT(bytes && n > 10000);

	expect_bad(tmp_path("missing.mp4"), NULL, FL_ENOENT, NULL);
	write_file(tmp_path("empty.mp4"), "", 0);
	expect_bad(tmp_path("empty.mp4"), NULL, FL_EDECODE, "empty");
	const char *text = "This is not a video.\nJust some text in a file named .mp4\n";
	write_file(tmp_path("text.mp4"), text, strlen(text));
	expect_bad(tmp_path("text.mp4"), NULL, FL_EDECODE, "not a video");
	/* ffmpeg writes the index (moov) at the end: a cut file has none. */
	write_file(tmp_path("cut_before_index.mp4"), bytes, n / 2);
	expect_bad(tmp_path("cut_before_index.mp4"), NULL, FL_ECORRUPT, "moov");
	expect_bad(gen("aonly", "audio_only.m4a"), NULL, FL_EUNSUPPORTED, "no video stream");
	expect_bad(gen("tiny", "tiny.mp4"), NULL, FL_ERANGE, "16x16");
	expect_bad(gen("wide", "wide.mkv"), NULL, FL_ERANGE, "8200x32");
	struct fl_media_limits lim = fl_media_default_limits();
	lim.max_width = lim.max_height = 256;
	expect_bad(a, &lim, FL_ERANGE, "320x240");
	lim = fl_media_default_limits();
	lim.max_duration = 2;
	expect_bad(a, &lim, FL_ERANGE, "over the limit");
	expect_bad(tmp_dir, NULL, FL_EDECODE, "not a regular file");
	free(bytes);
}

/* ----------------------------------------------------------------- decode */

FL_TEST(media_decode_sampling)
{
	setup();
	const char *a = gen("basic", "basic.mp4");
	double ts[128];
	int64_t idx[128];
	int status;
	struct fl_decoder_stats st;
	long live = fl_alloc_live();

	int n = decode_all(a, 5.0, ts, idx, 128, &status, &st);
	ASSERT_EQ(status, FL_EOF);
	ASSERT_EQ(n, 20);
	for (int i = 0; i < n; i++) {
		ASSERT_NEAR(ts[i], 0.2 * i, 1e-3);
		ASSERT_EQ(idx[i], 5 * i);
	}
	ASSERT_EQ(st.frames_decoded, 100);
	ASSERT_EQ(st.frames_delivered, 20);
	ASSERT_EQ(st.frames_dropped, 80);
	ASSERT_EQ(st.frames_corrupt, 0);
	ASSERT(st.bytes_read > 0);

	n = decode_all(a, 0, ts, idx, 128, &status, &st);
	ASSERT_EQ(status, FL_EOF);
	ASSERT_EQ(n, 100);
	for (int i = 0; i < n; i++) {
		ASSERT_NEAR(ts[i], 0.04 * i, 1e-3);
		ASSERT_EQ(idx[i], i);
	}
	ASSERT_EQ(st.frames_dropped, 0);

	/* Sampling at a rate that is not a divisor: the first frame at or after
	** each multiple of 1/3 s. */
	n = decode_all(a, 3.0, ts, NULL, 128, &status, NULL);
	ASSERT_EQ(n, 12);
	for (int i = 0; i < n; i++)
		ASSERT(ts[i] >= i / 3.0 - 1e-6 && ts[i] < i / 3.0 + 0.04);
	ASSERT_EQ(fl_alloc_live(), live);

	/* skip_nonref: the same frames sampled (times and frame numbers) as
	** when decoding everything, fewer frames actually decoded, and every
	** frame still counted. */
	double ts_all[32];
	int64_t idx_all[32];
	int n_all = decode_all(a, 5.0, ts_all, idx_all, 32, &status, NULL);
	ASSERT_EQ(n_all, 20);
	struct fl_decoder_params p = fl_decoder_default_params();
	p.skip_nonref = 1;
	struct fl_decoder *d;
	ASSERT_OK(fl_decoder_open(a, &p, &d, NULL, 0));
	struct fl_frame *f;
	n = 0;
	while (fl_decoder_receive(d, &f) == 0) {
		ASSERT(n < n_all);
		ASSERT_MSG(f->t == ts_all[n], "frame %d at %g, %g without skipping", n, f->t, ts_all[n]);
		ASSERT_EQ(f->index, idx_all[n]);
		n++;
		fl_frame_unref(f);
	}
	fl_decoder_stats(d, &st);
	fl_decoder_close(d);
	ASSERT_EQ(n, 20);
	ASSERT_EQ(st.frames_decoded, 100);
	ASSERT_MSG(st.frames_skipped > 20, "only %lld of 100 frames skipped", (long long)st.frames_skipped);
	ASSERT_EQ(st.frames_missing, 0); /* a whole file is not reported truncated */
	ASSERT_EQ(fl_alloc_live(), live);
}

FL_TEST(media_decode_vfr_offset_mkv)
{
	setup();
	double ts[128];
	int status;

	/* VFR: 50 frames at 25 fps, then 20 at 5 fps. */
	const char *v = gen("vfr", "vfr.mp4");
	int n = decode_all(v, 0, ts, NULL, 128, &status, NULL);
	ASSERT_EQ(status, FL_EOF);
	ASSERT_EQ(n, 70);
	for (int i = 0; i < n; i++)
		ASSERT_NEAR(ts[i], i < 50 ? i / 25.0 : 2.0 + (i - 50) / 5.0, 1e-3);
	n = decode_all(v, 5.0, ts, NULL, 128, &status, NULL);
	ASSERT_EQ(n, 30);
	for (int i = 0; i < n; i++)
		ASSERT_NEAR(ts[i], 0.2 * i, 1e-3);

	/* A stream starting at container time 10 s starts at t = 0. */
	n = decode_all(gen("offset", "off.mp4"), 5.0, ts, NULL, 128, &status, NULL);
	ASSERT_EQ(n, 20);
	ASSERT_NEAR(ts[0], 0.0, 1e-9);
	ASSERT_NEAR(ts[19], 3.8, 1e-3);

	n = decode_all(gen("mkv", "m.mkv"), 5.0, ts, NULL, 128, &status, NULL);
	ASSERT_EQ(status, FL_EOF);
	ASSERT(n >= 19 && n <= 21);
	ASSERT_NEAR(ts[1], 0.2, 1e-3);
}

/* Is the pixel at (x, y) red, i.e. inside the drawn box? */
static int is_red(const struct fl_frame *f, int x, int y)
{
	const uint8_t *p = f->data + (size_t)y * f->stride + (size_t)x * 3;
	return p[0] > 180 && p[1] < 80 && p[2] < 80;
}
static int is_blue(const struct fl_frame *f, int x, int y)
{
	const uint8_t *p = f->data + (size_t)y * f->stride + (size_t)x * 3;
	return p[2] > 180 && p[0] < 80 && p[1] < 80;
}

/* The corner where the top-left box of the coded picture lands when the
** picture is turned clockwise by rot: 0 TL, 90 TR, 180 BR, 270 BL. */
static void check_box(const char *path, int rot_want_a, int rot_want_b, int max_side)
{
	struct fl_decoder_params p = fl_decoder_default_params();
	p.fps = 0;
	p.max_side = max_side;
	struct fl_decoder *d;
	char err[512];
	ASSERT_MSG(fl_decoder_open(path, &p, &d, err, sizeof(err)) == 0, "%s", err);
	const struct fl_video_info *info = fl_decoder_info(d);
	int rot = info->rotation;
	ASSERT_MSG(rot == rot_want_a || rot == rot_want_b, "rotation %d", rot);
	int swap = rot == 90 || rot == 270;
	ASSERT_EQ(info->width, swap ? 240 : 320);
	ASSERT_EQ(info->height, swap ? 320 : 240);
	struct fl_frame *f;
	ASSERT_OK(fl_decoder_receive(d, &f));
	int W = f->width, H = f->height;
	int ew = swap ? 240 : 320, eh = swap ? 320 : 240;
	if (max_side) {
		ew = ew * max_side / 320;
		eh = eh * max_side / 320;
	}
	ASSERT_EQ(W, ew);
	ASSERT_EQ(H, eh);
	int m = W / 40; /* a few pixels in from each corner */
	int cx[4] = {m, W - 1 - m, W - 1 - m, m}, cy[4] = {m, m, H - 1 - m, H - 1 - m};
	int want = rot / 90;
	for (int c = 0; c < 4; c++) {
		if (c == want)
			ASSERT_MSG(is_red(f, cx[c], cy[c]), "rot %d: corner %d is not red", rot, c);
		else
			ASSERT_MSG(is_blue(f, cx[c], cy[c]), "rot %d: corner %d is not blue", rot, c);
	}
	/* The box is 60x40 in coded pixels: its extent follows the rotation. */
	double s = max_side ? max_side / 320.0 : 1.0;
	int bw = (int)((swap ? 40 : 60) * s), bh = (int)((swap ? 60 : 40) * s);
	int x_in = want == 0 || want == 3 ? bw - 3 : W - bw + 2, y_in = want <= 1 ? bh - 3 : H - bh + 2;
	int x_out = want == 0 || want == 3 ? bw + 3 : W - bw - 4, y_out = want <= 1 ? bh + 3 : H - bh - 4;
	ASSERT(is_red(f, x_in, y_in));
	ASSERT(!is_red(f, x_out, y_in));
	ASSERT(!is_red(f, x_in, y_out));
	fl_frame_unref(f);
	fl_decoder_close(d);
}

FL_TEST(media_decode_rotation)
{
	setup();
	long live = fl_alloc_live();
	check_box(gen("box", "box.mp4"), 0, 0, 0);
	/* FFmpeg 5.1's muxer turns the "rotate=90" tag into a display matrix
	** that players apply as 270 clockwise (earlier and later versions as
	** 90): accept either, the corner check follows what was reported. */
	check_box(gen("box90", "box90.mp4"), 90, 270, 0);
	check_box(gen("box180", "box180.mp4"), 180, 180, 0);
	check_box(tmp_path("box90.mp4"), 90, 270, 160);
	check_box(tmp_path("box.mp4"), 0, 0, 160);
	ASSERT_EQ(fl_alloc_live(), live);

	/* The decoder agrees with the ffmpeg command's own autorotation. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -loglevel error -y -i '%s' -frames:v 1 -f rawvideo -pix_fmt rgb24 '%s'",
	         tmp_path("box90.mp4"), tmp_path("box90.rgb"));
	ASSERT(system(cmd) == 0);
	size_t n;
	uint8_t *ref = fl_test_read_file(tmp_path("box90.rgb"), &n);
	ASSERT(ref && n == 240 * 320 * 3);
	struct fl_decoder *d;
	struct fl_decoder_params p = fl_decoder_default_params();
	ASSERT_OK(fl_decoder_open(tmp_path("box90.mp4"), &p, &d, NULL, 0));
	struct fl_frame *f;
	ASSERT_OK(fl_decoder_receive(d, &f));
	long far = 0;
	for (int y = 0; y < 320; y++)
		for (int x = 0; x < 240 * 3; x++)
			far += abs(f->data[y * f->stride + x] - ref[y * 240 * 3 + x]) > 40;
	ASSERT_MSG(far < 240 * 320 / 50, "%ld bytes differ from ffmpeg's autorotated frame", far);
	fl_frame_unref(f);
	fl_decoder_close(d);
	free(ref);
}

/* ---------------------------------------------------------------- damage */

FL_TEST(media_decode_truncated)
{
	setup();
	/* Index first (+faststart), cut at 60 %: the frames before the cut. */
	const char *a = gen("faststart", "fs.mp4");
	size_t n;
	char *bytes = fl_test_read_file(a, &n);
	ASSERT(bytes);
	const char *cut = tmp_path("cut_mid_data.mp4");
	write_file(cut, bytes, n * 6 / 10);
	free(bytes);
	int status;
	struct fl_decoder_stats st;
	double ts[128];
	int got = decode_all(cut, 5.0, ts, NULL, 128, &status, &st);
	ASSERT_EQ(status, FL_EOF);
	ASSERT_MSG(got >= 5 && got < 20, "%d frames", got);
	ASSERT(st.frames_decoded >= 5 * (got - 1) && st.frames_decoded < 100);
	/* cut short: the frames the container promised are reported missing */
	ASSERT_MSG(st.frames_missing >= 100 - st.frames_decoded - 5 && st.frames_missing <= 100 - st.frames_decoded + 5,
	           "frames_missing %lld after %lld decoded of 100", (long long)st.frames_missing,
	           (long long)st.frames_decoded);
	for (int i = 0; i < got; i++)
		ASSERT_NEAR(ts[i], 0.2 * i, 1e-3);
}

/* Offset of the first box of type `type` in an MP4 at top level. */
static long find_box(const uint8_t *b, size_t n, const char *type)
{
	size_t off = 0;
	while (off + 8 <= n) {
		uint64_t sz = (uint64_t)b[off] << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3];
		if (!memcmp(b + off + 4, type, 4))
			return (long)off;
		if (sz == 1 && off + 16 <= n) {
			sz = 0;
			for (int i = 0; i < 8; i++)
				sz = sz << 8 | b[off + 8 + i];
		}
		if (sz < 8)
			return -1;
		off += sz;
	}
	return -1;
}

FL_TEST(media_decode_corrupt_middle)
{
	setup();
	const char *a = gen("basic", "basic.mp4");
	size_t n;
	uint8_t *bytes = fl_test_read_file(a, &n);
	ASSERT(bytes);
	long mdat = find_box(bytes, n, "mdat");
	ASSERT(mdat > 0);
	uint64_t mdat_size = (uint64_t)bytes[mdat] << 24 | bytes[mdat + 1] << 16 | bytes[mdat + 2] << 8 | bytes[mdat + 3];
	ASSERT(mdat_size > 20000 && mdat + mdat_size <= n);
	/* 4 KiB of seeded noise in the middle of the frame data. */
	struct fl_test_rng rng = {0x5eed5eedULL};
	size_t at = (size_t)mdat + mdat_size / 2;
	for (size_t i = 0; i < 4096; i++)
		bytes[at + i] = (uint8_t)fl_test_uniform(&rng, 0, 256);
	const char *bad = tmp_path("corrupt_middle.mp4");
	write_file(bad, bytes, n);
	free(bytes);

	long live = fl_alloc_live();
	int status;
	struct fl_decoder_stats st;
	int got = decode_all(bad, 0, NULL, NULL, 0, &status, &st);
	ASSERT_EQ(status, FL_EOF);
	ASSERT_MSG(st.frames_corrupt > 0, "damage not counted (%d frames)", got);
	ASSERT_MSG(got >= 90, "only %d of 100 frames delivered", got);
	got = decode_all(bad, 5.0, NULL, NULL, 0, &status, &st);
	ASSERT_EQ(status, FL_EOF);
	ASSERT(got >= 19);
	ASSERT(st.frames_corrupt > 0);
	ASSERT_EQ(fl_alloc_live(), live);
}

/* ------------------------------------------------ threads, cancel, leaks */

struct recv_arg {
	struct fl_decoder *d;
	int r;
};

static void *recv_thread(void *p)
{
	struct recv_arg *a = p;
	struct fl_frame *f = NULL;
	while ((a->r = fl_decoder_receive(a->d, &f)) == 0)
		fl_frame_unref(f);
	return NULL;
}

FL_TEST_T(media_decode_cancel_close, 60)
{
	setup();
	const char *a = gen("basic", "basic.mp4");
	long live = fl_alloc_live();

	/* A receive waiting for a frame that will not come for long (rate
	** 0.001 fps: only frame 0 is ever delivered) returns at cancel. */
	struct fl_decoder_params p = fl_decoder_default_params();
	p.fps = 0.001;
	p.threads = 1;
	struct fl_decoder *d;
	ASSERT_OK(fl_decoder_open(a, &p, &d, NULL, 0));
	struct recv_arg ra = {d, 1};
	pthread_t th;
	ASSERT(pthread_create(&th, NULL, recv_thread, &ra) == 0);
	fl_decoder_cancel(d);
	pthread_join(th, NULL);
	ASSERT_MSG(ra.r == FL_ECANCELED || ra.r == FL_EOF, "%s", fl_status_name(ra.r));
	struct fl_frame *f = (struct fl_frame *)1;
	ASSERT_EQ(fl_decoder_receive(d, &f), FL_ECANCELED);
	ASSERT(f == NULL);
	fl_decoder_close(d);
	ASSERT_EQ(fl_alloc_live(), live);

	/* Close with a full queue (the decode thread waiting to put) frees the
	** queued frames; a frame the caller kept stays valid after close. */
	p = fl_decoder_default_params();
	p.fps = 0;
	p.queue_frames = 3;
	ASSERT_OK(fl_decoder_open(a, &p, &d, NULL, 0));
	ASSERT_OK(fl_decoder_receive(d, &f));
	struct fl_decoder_stats st;
	for (int i = 0; i < 200; i++) { /* until the queue is full again */
		fl_decoder_stats(d, &st);
		if (st.frames_delivered >= 4)
			break;
		usleep(5000);
	}
	ASSERT_EQ(st.frames_delivered, 4);
	fl_decoder_close(d);
	ASSERT_EQ(f->width, 320);
	ASSERT_EQ(f->index, 0);
	fl_frame_ref(f);
	fl_frame_unref(f);
	fl_frame_unref(f);
	ASSERT_EQ(fl_alloc_live(), live);

	/* Close right after open, and close(NULL). */
	ASSERT_OK(fl_decoder_open(a, &p, &d, NULL, 0));
	fl_decoder_close(d);
	fl_decoder_close(NULL);
	ASSERT_EQ(fl_alloc_live(), live);
}

FL_TEST(media_decode_unicode_path)
{
	setup();
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/dir with spaces", tmp_dir);
	ASSERT(mkdir(dir, 0755) == 0);
	const char *path = gen("basic", "dir with spaces/vid\xc3\xa9o \xe2\x98\x83 x:y.mp4");
	struct fl_video_info info;
	char err[512];
	ASSERT_MSG(fl_video_probe(path, NULL, &info, err, sizeof(err)) == 0, "%s", err);
	int status;
	ASSERT_EQ(decode_all(path, 5.0, NULL, NULL, 0, &status, NULL), 20);
	ASSERT_EQ(status, FL_EOF);
	const char *missing = tmp_path("dir with spaces/\xc3\xbcnicode missing.mp4");
	ASSERT_EQ(fl_video_probe(missing, NULL, &info, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, missing);
}

FL_TEST(media_frame_refcount)
{
	long live = fl_alloc_live();
	struct fl_frame *f = fl_frame_alloc(33, 7);
	ASSERT(f && f->refcount == 1 && f->stride % 64 == 0 && f->stride >= 99);
	ASSERT(((uintptr_t)f->data & 63) == 0);
	memset(f->data, 1, (size_t)f->stride * f->height);
	ASSERT(fl_frame_ref(f) == f);
	fl_frame_unref(f);
	ASSERT_EQ(f->refcount, 1);
	fl_frame_unrefp(&f);
	ASSERT(f == NULL);
	fl_frame_unrefp(&f);
	fl_frame_unref(NULL);
	ASSERT(fl_frame_alloc(0, 5) == NULL);
	ASSERT(fl_frame_alloc(5, -1) == NULL);
	ASSERT_EQ(fl_alloc_live(), live);
}
