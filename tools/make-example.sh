#!/bin/sh
# make-example.sh -- the example video of the README's first command (`make demo`):
# 16 s of 1280x720 made with Debian's ffmpeg from the group photos that ship in
# face-api's npm package (models/samples, fetched by `make models`):
#
#   0-5 s    a slow pan over sample3.jpg (three people)
#   5-10 s   a slow pan over sample6.jpg (three other people)
#   10-12 s  nobody (a black screen)
#   12-16 s  sample3.jpg again, closer: the same three people come back
#
# so `faceline analyze` should report seven persons, the first three with two
# segments each (0-5 s and 12-16 s), the other four on screen 5-10 s
# (tests/cli/cli_example.c checks it).  Nothing here is committed as video.
#
#   tools/make-example.sh OUT.mp4
set -eu
out=${1:?usage: $0 OUT.mp4}
dir=$(dirname "$0")/../models/samples
for f in sample3.jpg sample6.jpg; do
	[ -f "$dir/$f" ] || { echo "make-example.sh: $dir/$f missing (run make models)" >&2; exit 1; }
done
command -v ffmpeg >/dev/null || { echo "make-example.sh: ffmpeg not found (tools/setup.sh)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$.mp4"
trap 'rm -f "$tmp"' EXIT
# Each photo is scaled to 1600 px wide and a 1280x720 window drifts over it.
ffmpeg -hide_banner -nostdin -loglevel error -y \
	-loop 1 -framerate 25 -t 5 -i "$dir/sample3.jpg" \
	-loop 1 -framerate 25 -t 5 -i "$dir/sample6.jpg" \
	-f lavfi -t 2 -i color=c=black:size=1280x720:rate=25 \
	-loop 1 -framerate 25 -t 4 -i "$dir/sample3.jpg" \
	-filter_complex "\
[0:v]scale=1600:-2,crop=1280:720:(in_w-out_w)*t/5:(in_h-out_h)/2,setsar=1,format=yuv420p[a];\
[1:v]scale=1600:-2,crop=1280:720:(in_w-out_w)*(1-t/5):(in_h-out_h)/3,setsar=1,format=yuv420p[b];\
[2:v]setsar=1,format=yuv420p[c];\
[3:v]scale=1440:-2,crop=1280:720:(in_w-out_w)/2:(in_h-out_h)/2+20*sin(t),setsar=1,format=yuv420p[d];\
[a][b][c][d]concat=n=4:v=1:a=0[v]" \
	-map "[v]" -r 25 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -movflags +faststart -f mp4 "$tmp"
mv "$tmp" "$out"
trap - EXIT
