/*
** render_video.c -- tests of the video outputs (src/render/annotate.c,
** clips.c): the annotated MP4 and the per-person clips, made from a real
** analysis of a clip composed here with ffmpeg (two dlib johns photos
** moving over a plain background, with a sine-tone AAC track), decoded
** back with libavformat/libavcodec and checked: streams, codecs, frame
** counts, durations, box colour on the box edges at analysed and at
** interpolated times, clip lengths, audio, square crops that keep the face,
** and the failures (missing video, bad directory, disk full, cancel) that
** must leave neither the output nor a temporary file.
*/
#include "fl_test.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "faceline/fl_render.h"
#include "render/render_video_int.h"

/* ------------------------------------------------------------- fixture */

struct fix {
	char dir[256];
	char clip[320];
	struct fl_result *r;
};

static void fix_cleanup(struct fix *f)
{
	char cmd[512];
	fl_result_destroy(f->r);
	f->r = NULL;
	if (f->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", f->dir);
	}
}

/* First photo (sorted by name) of a johns person. */
static void johns_photo(const char *person, char *out, size_t n)
{
	char cmd[512];
	char *o = NULL;
	snprintf(cmd, sizeof(cmd), "ls '%s/%s' 2>/dev/null | sort | head -1", fl_test_path("testdata/dlib/johns"), person);
	if (fl_test_capture(cmd, &o) != 0 || !o || !o[0]) {
		free(o);
		FL_SKIP("testdata/dlib/johns missing (tools/fetch-testdata.sh)");
	}
	o[strcspn(o, "\n")] = 0;
	snprintf(out, n, "%s/%s/%s", fl_test_path("testdata/dlib/johns"), person, o);
	free(o);
}

/*
** A 5 s 480x272 25 fps clip: person A (John_Salley) 0-3 s moving right
** 40 px/s, person B (John_Simm) 2-5 s drifting up; a 440 Hz AAC tone;
** a keyframe every second.  Then its analysis at 5 fps.
*/
static void fix_make(struct fix *f)
{
	char a[512], b[512], cmd[2048];
	char *out = NULL;
	memset(f, 0, sizeof(*f));
	if (system("command -v ffmpeg >/dev/null 2>&1") != 0)
		FL_SKIP("ffmpeg not installed");
	johns_photo("John_Salley", a, sizeof(a));
	johns_photo("John_Simm", b, sizeof(b));
	snprintf(f->dir, sizeof(f->dir), "/tmp/fl-render-video-XXXXXX");
	ASSERT(mkdtemp(f->dir));
	snprintf(f->clip, sizeof(f->clip), "%s/in.mp4", f->dir);
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i color=c=0x4a5560:s=480x272:r=25:d=5 "
	         "-loop 1 -i '%s' -loop 1 -i '%s' -f lavfi -i sine=frequency=440:sample_rate=44100:duration=5 "
	         "-filter_complex \"[1]scale=110:110[a];[2]scale=110:110[b];"
	         "[0][a]overlay=x='20+40*t':y=60:enable='lt(t,3)':shortest=1[v1];"
	         "[v1][b]overlay=x=340:y='120-10*t':enable='gte(t,2)':shortest=1[v]\" "
	         "-map '[v]' -map 3 -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -g 25 "
	         "-c:a aac -b:a 64k -t 5 '%s' 2>&1",
	         a, b, f->clip);
	int rc = fl_test_capture(cmd, &out);
	ASSERT_MSG(rc == 0, "ffmpeg failed (%d): %s", rc, out ? out : "");
	free(out);

	struct fl_analyze_params p = fl_analyze_default_params();
	p.models_dir = fl_test_path("models");
	p.threads = 1;
	char err[512] = "";
	int r = fl_analyze_file(f->clip, &p, &f->r, err, sizeof(err));
	if (r < 0) {
		fix_cleanup(f);
		fl_test_fail(__FILE__, __LINE__, "analyze: %s", err);
	}
	ASSERT_MSG(f->r->n_persons == 2, "the clip should hold 2 persons, got %d", f->r->n_persons);
}

/* Number of entries of dir whose name contains s. */
static int count_names(const char *dir, const char *s)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		if (strstr(e->d_name, s))
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------- reading output */

struct probe {
	int n_streams, n_video, n_audio;
	char vcodec[32], acodec[32];
	int w, h;
	double vdur, adur; /* seconds, from the packets */
	int64_t vpackets;
};

static int probe_file(const char *path, struct probe *p)
{
	AVFormatContext *fmt = NULL;
	memset(p, 0, sizeof(*p));
	if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
		return -1;
	if (avformat_find_stream_info(fmt, NULL) < 0) {
		avformat_close_input(&fmt);
		return -1;
	}
	p->n_streams = (int)fmt->nb_streams;
	int64_t vmin = INT64_MAX, vmax = INT64_MIN, amin = INT64_MAX, amax = INT64_MIN;
	int vi = -1, ai = -1;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		AVCodecParameters *par = fmt->streams[i]->codecpar;
		if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
			p->n_video++;
			vi = (int)i;
			snprintf(p->vcodec, sizeof(p->vcodec), "%s", avcodec_get_name(par->codec_id));
			p->w = par->width;
			p->h = par->height;
		} else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
			p->n_audio++;
			ai = (int)i;
			snprintf(p->acodec, sizeof(p->acodec), "%s", avcodec_get_name(par->codec_id));
		}
	}
	AVPacket *pkt = av_packet_alloc();
	while (av_read_frame(fmt, pkt) >= 0) {
		if (pkt->pts != AV_NOPTS_VALUE) {
			if (pkt->stream_index == vi) {
				p->vpackets++;
				vmin = FL_MIN(vmin, pkt->pts);
				vmax = FL_MAX(vmax, pkt->pts + pkt->duration);
			} else if (pkt->stream_index == ai) {
				amin = FL_MIN(amin, pkt->pts);
				amax = FL_MAX(amax, pkt->pts + pkt->duration);
			}
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	if (vi >= 0 && vmax > vmin)
		p->vdur = (vmax - vmin) * av_q2d(fmt->streams[vi]->time_base);
	if (ai >= 0 && amax > amin)
		p->adur = (amax - amin) * av_q2d(fmt->streams[ai]->time_base);
	avformat_close_input(&fmt);
	return 0;
}

/* Decode the video frame of `path` nearest to time t (from its first
** frame) into a yuv420p copy; returns 0. */
struct pic {
	int w, h;
	uint8_t *y, *u, *v; /* tight planes */
};

static int decode_at(const char *path, double t, struct pic *out)
{
	AVFormatContext *fmt = NULL;
	memset(out, 0, sizeof(*out));
	if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
		return -1;
	int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	AVStream *st = fmt->streams[vi];
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *dec = avcodec_alloc_context3(codec);
	avcodec_parameters_to_context(dec, st->codecpar);
	dec->thread_count = 1;
	avcodec_open2(dec, codec, NULL);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *fr = av_frame_alloc();
	int64_t first = AV_NOPTS_VALUE;
	double best = 1e9;
	int eof = 0;
	while (!eof) {
		if (av_read_frame(fmt, pkt) < 0) {
			avcodec_send_packet(dec, NULL);
			eof = 1;
		} else if (pkt->stream_index == vi) {
			avcodec_send_packet(dec, pkt);
			av_packet_unref(pkt);
		} else {
			av_packet_unref(pkt);
			continue;
		}
		while (avcodec_receive_frame(dec, fr) == 0) {
			if (first == AV_NOPTS_VALUE)
				first = fr->best_effort_timestamp;
			double ft = (fr->best_effort_timestamp - first) * av_q2d(st->time_base);
			if (fabs(ft - t) < best && fr->format == AV_PIX_FMT_YUV420P) {
				best = fabs(ft - t);
				free(out->y);
				out->w = fr->width;
				out->h = fr->height;
				size_t ny = (size_t)out->w * out->h, nc = (size_t)(out->w / 2) * (out->h / 2);
				out->y = malloc(ny + 2 * nc);
				out->u = out->y + ny;
				out->v = out->u + nc;
				for (int yy = 0; yy < out->h; yy++)
					memcpy(out->y + (size_t)yy * out->w, fr->data[0] + (size_t)yy * fr->linesize[0], out->w);
				for (int yy = 0; yy < out->h / 2; yy++) {
					memcpy(out->u + (size_t)yy * (out->w / 2), fr->data[1] + (size_t)yy * fr->linesize[1], out->w / 2);
					memcpy(out->v + (size_t)yy * (out->w / 2), fr->data[2] + (size_t)yy * fr->linesize[2], out->w / 2);
				}
			}
			av_frame_unref(fr);
		}
	}
	av_frame_free(&fr);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	return out->y && best < 0.02 ? 0 : -1;
}

static int pix_match(const struct pic *p, int x, int y, const uint8_t yuv[3], int tol)
{
	if (x < 0 || y < 0 || x >= p->w || y >= p->h)
		return 0;
	int Y = p->y[(size_t)y * p->w + x];
	int U = p->u[(size_t)(y / 2) * (p->w / 2) + x / 2];
	int V = p->v[(size_t)(y / 2) * (p->w / 2) + x / 2];
	return abs(Y - yuv[0]) <= tol && abs(U - yuv[1]) <= tol && abs(V - yuv[2]) <= tol;
}

/* Fraction of the points along the four edges of box (x, y, w, h) where
** the colour yuv (within tol) is found on the edge or one pixel across it
** (the outline is drawn at even coordinates, inwards). */
static double edge_match(const struct pic *p, const float box[4], const uint8_t yuv[3], int tol)
{
	int x0 = (int)lround(box[0]), y0 = (int)lround(box[1]);
	int x1 = (int)lround(box[0] + box[2]) - 1, y1 = (int)lround(box[1] + box[3]) - 1;
	int n = 0, hit = 0;
	for (int side = 0; side < 4; side++) {
		int len = side < 2 ? x1 - x0 - 3 : y1 - y0 - 3;
		for (int i = 0; i < len; i++) {
			int horiz = side < 2;
			int x = horiz ? x0 + 2 + i : side == 2 ? x0 : x1;
			int y = horiz ? (side == 0 ? y0 : y1) : y0 + 2 + i;
			int found = 0;
			for (int k = -1; k <= 1 && !found; k++)
				found = horiz ? pix_match(p, x, y + k, yuv, tol) : pix_match(p, x + k, y, yuv, tol);
			n++;
			hit += found;
		}
	}
	return n ? (double)hit / n : 0.0;
}

static void person_yuv(int person, uint8_t yuv[3])
{
	uint8_t rgb[3];
	fl__person_rgb(person, rgb);
	fl__rgb_to_yuv(rgb[0], rgb[1], rgb[2], yuv);
}

/* ---------------------------------------------------------------- tests */

FL_TEST_T(render_video_annotate, 180)
{
	struct fix f;
	char out[400], err[512] = "";
	fix_make(&f);
	snprintf(out, sizeof(out), "%s/annotated.mp4", f.dir);
	struct fl_render_opts o = fl_render_default_opts();
	o.threads = 2;
	int r = fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err));
	ASSERT_MSG(r == 0, "annotate: %d %s", r, err);
	ASSERT_EQ(count_names(f.dir, ".tmp-"), 0);

	struct probe src, dst;
	ASSERT_OK(probe_file(f.clip, &src));
	ASSERT_OK(probe_file(out, &dst));
	ASSERT_EQ(dst.n_streams, 2);
	ASSERT_EQ(dst.n_video, 1);
	ASSERT_EQ(dst.n_audio, 1);
	ASSERT_STR_CONTAINS(dst.vcodec, "h264");
	ASSERT_STR_CONTAINS(dst.acodec, src.acodec);
	ASSERT_EQ(dst.w, 480);
	ASSERT_EQ(dst.h, 272);
	ASSERT_EQ(dst.vpackets, src.vpackets);
	ASSERT_EQ(dst.vpackets, 125);
	ASSERT_NEAR(dst.vdur, src.vdur, 1.0 / 25);
	ASSERT_NEAR(dst.adur, src.adur, 1e-3);

	/* At an analysed time, the outline in the person's colour lies along
	** the detection's box, and it was not there in the source. */
	const struct fl_result_track *tk = &f.r->tracks[0];
	ASSERT(tk->n_detections >= 5);
	const struct fl_result_detection *d = &tk->detections[tk->n_detections / 2];
	uint8_t yuv[3];
	person_yuv(tk->person, yuv);
	struct pic pa, ps;
	ASSERT_OK(decode_at(out, d->t, &pa));
	ASSERT_OK(decode_at(f.clip, d->t, &ps));
	double in_out = edge_match(&pa, d->box, yuv, 28), in_src = edge_match(&ps, d->box, yuv, 28);
	ASSERT_MSG(in_out > 0.85, "box colour on %.0f%% of the edges at t=%.2f", 100 * in_out, d->t);
	ASSERT_MSG(in_src < 0.1, "source already has the colour on %.0f%% of the edges", 100 * in_src);
	/* The label above the box: its background in the person's colour, and
	** dark text on it ("P1 ..."; yellow takes black ink). */
	int lab_bg = 0, lab_ink = 0, lab_n = 0;
	for (int y = (int)d->box[1] - 10; y < (int)d->box[1] - 2; y++)
		for (int x = (int)d->box[0] + 2; x < (int)d->box[0] + 16; x++) {
			lab_n++;
			lab_bg += pix_match(&pa, x, y, yuv, 28);
			lab_ink += pa.y[(size_t)y * pa.w + x] < 60 && ps.y[(size_t)y * ps.w + x] > 60;
		}
	ASSERT_MSG(lab_bg > lab_n / 3, "label background on %d of %d pixels", lab_bg, lab_n);
	ASSERT_MSG(lab_ink > 8, "label text: %d dark pixels", lab_ink);
	free(pa.y);
	free(ps.y);

	/* Between two analysed frames (t + 0.12 s, 3 frames on) the box is at
	** the interpolated position: the face moves 40 px/s. */
	const struct fl_result_detection *d2 = d + 1;
	double t = d->t + 0.12, a = (t - d->t) / (d2->t - d->t);
	float ib[4];
	for (int k = 0; k < 4; k++)
		ib[k] = (float)((1 - a) * d->box[k] + a * d2->box[k]);
	ASSERT_OK(decode_at(out, t, &pa));
	double at_lerp = edge_match(&pa, ib, yuv, 28);
	ASSERT_MSG(at_lerp > 0.85, "interpolated box colour on %.0f%% of its edges", 100 * at_lerp);
	free(pa.y);

	/* Well after the track's last detection (and the hold), no box. */
	const struct fl_result_detection *dl = &tk->detections[tk->n_detections - 1];
	if (dl->t + 0.6 < 4.9) {
		ASSERT_OK(decode_at(out, dl->t + 0.6, &pa));
		double gone = edge_match(&pa, dl->box, yuv, 28);
		ASSERT_MSG(gone < 0.1, "box still drawn %.0f%% after its track ended", 100 * gone);
		free(pa.y);
	}
	fix_cleanup(&f);
}

FL_TEST_T(render_video_clips, 240)
{
	struct fix f;
	char dir[400], err[512] = "", path[600];
	fix_make(&f);
	snprintf(dir, sizeof(dir), "%s/clips", f.dir);
	ASSERT_OK(mkdir(dir, 0755));
	struct fl_render_opts o = fl_render_default_opts();
	o.threads = 2;
	int n_seg = 0;
	for (int p = 0; p < f.r->n_persons; p++)
		n_seg += f.r->persons[p].n_segments;
	int n = fl_render_clips(f.r, f.clip, dir, &o, err, sizeof(err));
	ASSERT_MSG(n == n_seg, "clips: %d (%s), expected %d", n, err, n_seg);
	ASSERT_EQ(count_names(dir, ".mp4"), n_seg);
	ASSERT_EQ(count_names(dir, ".tmp-"), 0);
	for (int p = 0; p < f.r->n_persons; p++) {
		const struct fl_result_person *pe = &f.r->persons[p];
		for (int s = 0; s < pe->n_segments; s++) {
			struct probe pr;
			snprintf(path, sizeof(path), "%s/person-%d-%d.mp4", dir, pe->id, s + 1);
			ASSERT_MSG(probe_file(path, &pr) == 0, "cannot read %s", path);
			double len = pe->segments[s].end - pe->segments[s].start;
			ASSERT_NEAR(pr.vdur, len, 1.0 / 25 + 1e-3);
			ASSERT_EQ(pr.n_audio, 1);
			ASSERT_NEAR(pr.adur, len, 1.0 / 25 + 1e-3);
			ASSERT_EQ(pr.w, 480);
			ASSERT_EQ(pr.h, 272);
		}
	}

	/* Cropped: square, automatic size, then a given size. */
	snprintf(dir, sizeof(dir), "%s/crops", f.dir);
	ASSERT_OK(mkdir(dir, 0755));
	o.crop = 1;
	n = fl_render_clips(f.r, f.clip, dir, &o, err, sizeof(err));
	ASSERT_MSG(n == n_seg, "crop clips: %d (%s)", n, err);
	for (int p = 0; p < f.r->n_persons; p++) {
		const struct fl_result_person *pe = &f.r->persons[p];
		struct probe pr;
		snprintf(path, sizeof(path), "%s/person-%d-1.mp4", dir, pe->id);
		ASSERT_OK(probe_file(path, &pr));
		ASSERT_EQ(pr.w, pr.h);
		ASSERT(pr.w >= 64 && pr.w <= 272 && pr.w % 2 == 0);
		ASSERT_EQ(pr.n_audio, 1);
		ASSERT_NEAR(pr.vdur, pe->segments[0].end - pe->segments[0].start, 1.0 / 25 + 1e-3);

		/* The window keeps the face at every frame, and moves smoothly. */
		struct fl__crop c;
		ASSERT_OK(fl__crop_init(&c, f.r, pe, pe->segments[0].start, pe->segments[0].end, 480, 272));
		ASSERT_EQ(c.side, pr.w);
		int px = -1, py = -1;
		for (double t = pe->segments[0].start; t < pe->segments[0].end; t += 0.04) {
			int x, y;
			fl__crop_at(&c, t, &x, &y);
			ASSERT(x >= 0 && y >= 0 && x + c.side <= 480 && y + c.side <= 272);
			if (px >= 0)
				ASSERT_MSG(abs(x - px) <= 4 && abs(y - py) <= 4, "window jumps (%d,%d)->(%d,%d) at %.2f", px, py, x,
				           y, t);
			px = x;
			py = y;
			for (int k = 0; k < pe->n_tracks; k++) {
				float b[4];
				if (!fl__track_box_at(&f.r->tracks[pe->tracks[k] - 1], t, 0, 1e9, b, NULL))
					continue;
				ASSERT_MSG(b[0] >= x - 1 && b[1] >= y - 1 && b[0] + b[2] <= x + c.side + 1 &&
				               b[1] + b[3] <= y + c.side + 1,
				           "face [%.0f %.0f %.0f %.0f] outside the window (%d,%d,%d) at %.2f", b[0], b[1], b[2],
				           b[3], x, y, c.side, t);
			}
		}

		/* And the detector finds the face in the middle of the cropped clip. */
		char cmd[1600], *outp = NULL;
		double mid = (pe->segments[0].end - pe->segments[0].start) / 2;
		snprintf(cmd, sizeof(cmd),
		         "ffmpeg -hide_banner -nostdin -loglevel error -y -ss %.2f -i '%s' -frames:v 1 '%s/mid.png' && "
		         "FL_MODELS='%s' '%s' detect --json '%s/mid.png'",
		         mid, path, f.dir, fl_test_path("models"), fl_test_faceline(), f.dir);
		int rc = fl_test_capture(cmd, &outp);
		ASSERT_MSG(rc == 0, "%s", outp ? outp : "");
		ASSERT_MSG(strstr(outp, "\"box\""), "no face in the cropped clip of person %d: %s", pe->id, outp);
		free(outp);
	}

	snprintf(dir, sizeof(dir), "%s/crops128", f.dir);
	ASSERT_OK(mkdir(dir, 0755));
	o.crop_size = 128;
	n = fl_render_clips(f.r, f.clip, dir, &o, err, sizeof(err));
	ASSERT_MSG(n == n_seg, "crop 128 clips: %d (%s)", n, err);
	struct probe pr;
	snprintf(path, sizeof(path), "%s/person-1-1.mp4", dir);
	ASSERT_OK(probe_file(path, &pr));
	ASSERT_EQ(pr.w, 128);
	ASSERT_EQ(pr.h, 128);
	fix_cleanup(&f);
}

/* Mean absolute luma difference of two pictures over a square patch. */
static double patch_diff(const struct pic *a, const struct pic *b, int cx, int cy, int half)
{
	double s = 0;
	int n = 0;
	for (int y = cy - half; y < cy + half; y++)
		for (int x = cx - half; x < cx + half; x++)
			if (x >= 0 && y >= 0 && x < a->w && y < a->h && x < b->w && y < b->h) {
				s += abs(a->y[(size_t)y * a->w + x] - b->y[(size_t)y * b->w + x]);
				n++;
			}
	return n ? s / n : 1e9;
}

/* A file whose frames are stored turned a quarter (transpose) with a
** display matrix that turns them back: the output is in the displayed
** orientation, the boxes (from an analysis of that file) land on the
** faces, and the picture is the upright one. */
FL_TEST_T(render_video_rotated, 180)
{
	struct fix f;
	char t90[400], rot[400], out[400], cmd[1600], err[512] = "", *o = NULL;
	fix_make(&f);
	snprintf(t90, sizeof(t90), "%s/t90.mp4", f.dir);
	snprintf(rot, sizeof(rot), "%s/rot.mp4", f.dir);
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -hide_banner -nostdin -loglevel error -y -i '%s' -vf transpose=1 -c:v libx264 -preset veryfast "
	         "-crf 20 -c:a copy '%s' && ffmpeg -hide_banner -nostdin -loglevel error -y -i '%s' -c copy "
	         "-metadata:s:v:0 rotate=90 '%s' 2>&1",
	         f.clip, t90, t90, rot);
	int rc = fl_test_capture(cmd, &o);
	ASSERT_MSG(rc == 0, "ffmpeg: %s", o ? o : "");
	free(o);
	struct fl_video_info vi;
	ASSERT_OK(fl_video_probe(rot, NULL, &vi, err, sizeof(err)));
	if (vi.rotation == 0)
		FL_SKIP("this ffmpeg did not write the display matrix");
	ASSERT_EQ(vi.width, 480);
	ASSERT_EQ(vi.height, 272);

	struct fl_analyze_params p = fl_analyze_default_params();
	p.models_dir = fl_test_path("models");
	p.threads = 1;
	struct fl_result *r = NULL;
	ASSERT_MSG(fl_analyze_file(rot, &p, &r, err, sizeof(err)) == 0, "analyze: %s", err);
	ASSERT(r->n_tracks >= 1);
	snprintf(out, sizeof(out), "%s/rot-annotated.mp4", f.dir);
	struct fl_render_opts ro = fl_render_default_opts();
	ro.threads = 2;
	ASSERT_MSG(fl_render_annotate(r, rot, out, &ro, err, sizeof(err)) == 0, "annotate: %s", err);
	struct probe pr;
	ASSERT_OK(probe_file(out, &pr));
	ASSERT_EQ(pr.w, 480);
	ASSERT_EQ(pr.h, 272);
	ASSERT_EQ(pr.vpackets, 125);
	ASSERT_EQ(pr.n_audio, 1);

	const struct fl_result_track *tk = &r->tracks[0];
	const struct fl_result_detection *d = &tk->detections[tk->n_detections / 2];
	uint8_t yuv[3];
	person_yuv(tk->person, yuv);
	struct pic pa, ps;
	ASSERT_OK(decode_at(out, d->t, &pa));
	double m = edge_match(&pa, d->box, yuv, 28);
	ASSERT_MSG(m > 0.85, "box colour on %.0f%% of the edges in the rotated video", 100 * m);
	/* Inside the face the picture is the upright source's. */
	ASSERT_OK(decode_at(f.clip, d->t, &ps));
	double diff = patch_diff(&pa, &ps, (int)(d->box[0] + d->box[2] / 2), (int)(d->box[1] + d->box[3] / 2), 20);
	ASSERT_MSG(diff < 12, "the face differs from the upright source by %.1f levels", diff);
	free(pa.y);
	free(ps.y);
	fl_result_destroy(r);
	fix_cleanup(&f);
}

/* A MOV with PCM audio, which MP4 cannot hold: the audio is re-encoded to
** AAC (the whole of it in the annotated video, cut to the sample in the
** clips) instead of being lost. */
FL_TEST_T(render_video_pcm_audio, 180)
{
	struct fix f;
	char mov[400], out[400], dir[400], path[600], cmd[1200], err[512] = "", *o = NULL;
	fix_make(&f);
	snprintf(mov, sizeof(mov), "%s/pcm.mov", f.dir);
	snprintf(cmd, sizeof(cmd),
	         "ffmpeg -hide_banner -nostdin -loglevel error -y -i '%s' -c:v copy -c:a pcm_s16le -ac 2 '%s' 2>&1",
	         f.clip, mov);
	int rc = fl_test_capture(cmd, &o);
	ASSERT_MSG(rc == 0, "ffmpeg: %s", o ? o : "");
	free(o);
	struct probe src, pr;
	ASSERT_OK(probe_file(mov, &src));
	ASSERT_STR_CONTAINS(src.acodec, "pcm_s16le");

	snprintf(out, sizeof(out), "%s/pcm-annotated.mp4", f.dir);
	struct fl_render_opts ro = fl_render_default_opts();
	ro.threads = 2;
	ASSERT_MSG(fl_render_annotate(f.r, mov, out, &ro, err, sizeof(err)) == 0, "annotate: %s", err);
	ASSERT_OK(probe_file(out, &pr));
	ASSERT_EQ(pr.n_audio, 1);
	ASSERT_STR_CONTAINS(pr.acodec, "aac");
	ASSERT_EQ(pr.vpackets, 125);
	ASSERT_NEAR(pr.adur, src.adur, 1.0 / 25);

	snprintf(dir, sizeof(dir), "%s/pcm-clips", f.dir);
	ASSERT_OK(mkdir(dir, 0755));
	int n = fl_render_clips(f.r, mov, dir, &ro, err, sizeof(err));
	ASSERT_MSG(n == f.r->n_persons, "clips: %d %s", n, err);
	for (int p = 0; p < f.r->n_persons; p++) {
		const struct fl_result_person *pe = &f.r->persons[p];
		snprintf(path, sizeof(path), "%s/person-%d-1.mp4", dir, pe->id);
		ASSERT_OK(probe_file(path, &pr));
		ASSERT_EQ(pr.n_audio, 1);
		ASSERT_STR_CONTAINS(pr.acodec, "aac");
		double len = pe->segments[0].end - pe->segments[0].start;
		ASSERT_NEAR(pr.vdur, len, 1.0 / 25 + 1e-3);
		ASSERT_NEAR(pr.adur, len, 1.0 / 25 + 1e-3);
	}
	fix_cleanup(&f);
}

/* Nothing under the final name, no temporary file. */
static void assert_clean(const char *dir, const char *name)
{
	char p[600];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ASSERT_MSG(stat(p, &sb) != 0, "%s exists after a failure", p);
	ASSERT_EQ(count_names(dir, ".tmp-"), 0);
}

static volatile int cancel_flag;

/* Cancel as soon as the output's temporary file exists in the folder `arg`
** (so the cancel lands mid-write however fast the machine is). */
static void *cancel_later(void *arg)
{
	const char *dir = arg;
	for (int i = 0; i < 20000 && count_names(dir, ".tmp-") == 0; i++)
		usleep(500);
	cancel_flag = 1;
	return NULL;
}

FL_TEST_T(render_video_errors, 180)
{
	struct fix f;
	char out[400], dir[400], err[512];
	fix_make(&f);
	struct fl_render_opts o = fl_render_default_opts();
	o.threads = 1;

	/* Missing video. */
	snprintf(out, sizeof(out), "%s/a.mp4", f.dir);
	snprintf(dir, sizeof(dir), "%s/none.mp4", f.dir);
	err[0] = 0;
	ASSERT_EQ(fl_render_annotate(f.r, dir, out, &o, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "none.mp4");
	assert_clean(f.dir, "a.mp4");
	ASSERT_EQ(fl_render_clips(f.r, dir, f.dir, &o, err, sizeof(err)), FL_ENOENT);
	ASSERT_EQ(count_names(f.dir, "person-"), 0);

	/* Output under a directory that does not exist, or under a file. */
	snprintf(out, sizeof(out), "%s/nodir/a.mp4", f.dir);
	err[0] = 0;
	ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "nodir");
	snprintf(dir, sizeof(dir), "%s/nodir", f.dir);
	ASSERT_EQ(fl_render_clips(f.r, f.clip, dir, &o, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "nodir");
	ASSERT_EQ(fl_render_clips(f.r, f.clip, f.clip, &o, err, sizeof(err)), FL_ENOENT);
	ASSERT_STR_CONTAINS(err, "not a directory");
	snprintf(out, sizeof(out), "%s/in.mp4/a.mp4", f.dir);
	ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_ENOENT);

	/* Not writable (root bypasses permissions: checked only as a user). */
	snprintf(dir, sizeof(dir), "%s/ro", f.dir);
	ASSERT_OK(mkdir(dir, 0555));
	if (geteuid() != 0) {
		snprintf(out, sizeof(out), "%s/a.mp4", dir);
		ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_EACCES);
		assert_clean(dir, "a.mp4");
		ASSERT_EQ(fl_render_clips(f.r, f.clip, dir, &o, err, sizeof(err)), FL_EACCES);
		ASSERT_EQ(count_names(dir, "person-"), 0);
	}

	/* A result of another video, and bad options. */
	snprintf(out, sizeof(out), "%s/a.mp4", f.dir);
	f.r->video.width = 640;
	ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_EINVAL);
	ASSERT_STR_CONTAINS(err, "480x272");
	f.r->video.width = 480;
	o.crf = 99;
	ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_EINVAL);
	ASSERT_STR_CONTAINS(err, "crf");
	o.crf = 0;
	assert_clean(f.dir, "a.mp4");

	/* Canceled before the first frame, and with clips. */
	cancel_flag = 1;
	o.cancel = &cancel_flag;
	ASSERT_EQ(fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err)), FL_ECANCELED);
	assert_clean(f.dir, "a.mp4");
	ASSERT_EQ(fl_render_clips(f.r, f.clip, f.dir, &o, err, sizeof(err)), FL_ECANCELED);
	ASSERT_EQ(count_names(f.dir, "person-"), 0);
	ASSERT_EQ(count_names(f.dir, ".tmp-"), 0);
	o.cancel = NULL;

	/* Canceled from another thread while writing. */
	cancel_flag = 0;
	o.cancel = &cancel_flag;
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, cancel_later, f.dir), 0);
	int rc = fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err));
	pthread_join(th, NULL);
	ASSERT_EQ(rc, FL_ECANCELED);
	assert_clean(f.dir, "a.mp4");
	o.cancel = NULL;

	/* Disk full mid-write: a 48 KiB tmpfs (needs root and mount). */
	snprintf(dir, sizeof(dir), "%s/full", f.dir);
	ASSERT_OK(mkdir(dir, 0755));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=48k") == 0) {
		snprintf(out, sizeof(out), "%s/a.mp4", dir);
		err[0] = 0;
		char err2[512] = "";
		int r = fl_render_annotate(f.r, f.clip, out, &o, err, sizeof(err));
		int r2 = fl_render_clips(f.r, f.clip, dir, &o, err2, sizeof(err2));
		int n_left = count_names(dir, "");
		umount(dir);
		ASSERT_EQ(r, FL_ENOSPC);
		ASSERT_STR_CONTAINS(err, "a.mp4");
		ASSERT_STR_CONTAINS(err, "No space left");
		ASSERT_EQ(r2, FL_ENOSPC);
		ASSERT_STR_CONTAINS(err2, "person-");
		ASSERT_EQ(n_left, 2); /* "." and ".." only */
	} else {
		fix_cleanup(&f);
		FL_SKIP("cannot mount a small tmpfs here: the disk-full case was not run");
	}
	fix_cleanup(&f);
}
