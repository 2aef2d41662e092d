#!/bin/sh
# bench/video.sh -- the video bench of issue 3: a 720p (4 Mbit/s) and a 1080p (8 Mbit/s) clip,
# SECS long (default 60), of five real faces moving over a group photo (a slow pan and drift
# over models/samples/sample5.jpg), generated here with Debian's ffmpeg (never committed).
# For each: FFmpeg's decode-only time (2 threads), then `faceline analyze` at the default
# 5 fps with 2 threads: real-time factor, time per stage, peak RSS; then the same with
# --predecode, which runs the two stages one after the other -- the decode stage (our
# decoder thread: demux, decode, sample, convert to RGB) alone, then the analysis stage
# (models + tracking) alone -- so the pipeline's throughput can be set against its
# slowest stage's standalone throughput (the issue's floor: >= 80 %).
#
#   bench/video.sh            # both clips, 60 s
#   SECS=20 bench/video.sh    # shorter clips
set -eu
cd "$(dirname "$0")/.."
secs=${SECS:-60}
dir=${BENCH_DIR:-build/bench}
bin=${FACELINE:-build/faceline}
mkdir -p "$dir"
command -v ffmpeg >/dev/null || { echo "bench/video.sh: ffmpeg not found (tools/setup.sh)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench/video.sh: $bin not built (make)" >&2; exit 1; }
printf '%-8s %6s %9s %11s %9s %9s %8s %9s %9s %9s %7s  %s\n' clip secs "decode x" "analyze s" "x real" "frames" "RSS MB" \
	"pipe f/s" "dec f/s" "anl f/s" "pipe %" "stages (s)"
for spec in 1280x720:4M 1920x1080:8M; do
	size=${spec%:*} rate=${spec#*:}
	w=${size%x*} h=${size#*x}
	clip=$dir/faces-${h}p-${secs}s.mp4
	if [ ! -f "$clip" ]; then
		ffmpeg -loglevel error -y -loop 1 -i models/samples/sample5.jpg -t "$secs" -r 25 \
			-vf "scale=$((w * 3 / 2)):-2,crop=$w:$h:(in_w-out_w)/2*(1+sin(t/7)):(in_h-out_h)/2*(1+sin(t/11))" \
			-c:v libx264 -preset veryfast -b:v "$rate" -maxrate "$rate" -bufsize "$rate" -pix_fmt yuv420p "$clip"
	fi
	t0=$(date +%s.%N)
	ffmpeg -loglevel error -threads 2 -i "$clip" -f null - </dev/null
	t1=$(date +%s.%N)
	dec=$(awk -v s="$secs" -v a="$t0" -v b="$t1" 'BEGIN { print s / (b - a) }')
	"$bin" analyze "$clip" --threads 2 --quiet -o "$dir/result-${h}p.json" >/dev/null
	"$bin" analyze "$clip" --threads 2 --quiet --predecode -o "$dir/stages-${h}p.json" >/dev/null
	node -e '
		const fs = require("fs");
		const r = JSON.parse(fs.readFileSync(process.argv[1]));
		const q = JSON.parse(fs.readFileSync(process.argv[2]));
		const s = r.stats, t = s.time || {};
		const rss = s.peak_rss / 1048576;
		const st = Object.entries(t).filter(([k]) => k !== "total").map(([k, v]) => k + " " + Number(v).toFixed(1)).join(", ");
		const total = t.total || 0;
		const n = s.frames_analysed;
		/* pipeline: analysed frames per second of the whole run after loading the models */
		const pipe = n / (total - t.load);
		/* stages alone (--predecode): the decoder thread alone, then the models alone */
		const qt = q.stats.time;
		const dec = q.stats.frames_analysed / qt.decode_wait;
		const anl = q.stats.frames_analysed / (qt.total - qt.decode_wait - qt.load - qt.persons);
		const pct = 100 * pipe / Math.min(dec, anl);
		console.log([process.argv[4].padEnd(8), String(r.video.duration.toFixed(0)).padStart(6),
			Number(process.argv[5]).toFixed(1).padStart(9), total.toFixed(1).padStart(11),
			(r.video.duration / total).toFixed(2).padStart(9), String(n).padStart(9),
			rss.toFixed(0).padStart(8), pipe.toFixed(1).padStart(9), dec.toFixed(1).padStart(9),
			anl.toFixed(1).padStart(9), pct.toFixed(0).padStart(7),
			" " + st + "; persons " + r.persons.length].join(" "));
	' "$dir/result-${h}p.json" "$dir/stages-${h}p.json" unused "${h}p" "$dec"
done
echo "x real = video seconds / analysis seconds (floor: >= 10 at 720p, >= 6 at 1080p); decode x = the same for ffmpeg decoding alone"
echo "pipe f/s = analysed frames/s of the pipeline; dec f/s, anl f/s = the decode and analysis stages alone (--predecode); pipe % = pipe / the slower stage (floor: >= 80)"
