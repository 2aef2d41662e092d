#!/bin/sh
# bench/video.sh -- the video bench of issue 3: a 720p (4 Mbit/s) and a 1080p (8 Mbit/s) clip,
# SECS long (default 60), of five real faces moving over a group photo (a slow pan and drift
# over models/samples/sample5.jpg), generated here with Debian's ffmpeg (never committed).
# For each: FFmpeg's decode-only time (2 threads), then `faceline analyze --profile` at the
# default 5 fps with 2 threads: real-time factor, time per stage, peak RSS.
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
printf '%-8s %6s %9s %11s %9s %9s %8s  %s\n' clip secs "decode x" "analyze s" "x real" "frames" "RSS MB" "stages (s)"
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
	node -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const s = r.stats, t = s.time || {};
		const rss = s.peak_rss / 1048576;
		const st = Object.entries(t).filter(([k]) => k !== "total").map(([k, v]) => k + " " + Number(v).toFixed(1)).join(", ");
		const total = t.total || 0;
		console.log([process.argv[3].padEnd(8), String(r.video.duration.toFixed(0)).padStart(6),
			Number(process.argv[4]).toFixed(1).padStart(9), total.toFixed(1).padStart(11),
			(r.video.duration / total).toFixed(2).padStart(9), String(s.frames_analysed).padStart(9),
			rss.toFixed(0).padStart(8), " " + st + "; persons " + r.persons.length].join(" "));
	' "$dir/result-${h}p.json" unused "${h}p" "$dec"
done
echo "x real = video seconds / analysis seconds (floor: >= 10 at 720p, >= 6 at 1080p); decode x = the same for ffmpeg decoding alone"
