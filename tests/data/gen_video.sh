#!/bin/sh
# gen_video.sh -- generate a test video with Debian's ffmpeg (libx264, aac).
# No video binaries are committed: tests and benches make them at run time.
#
#   tests/data/gen_video.sh KIND OUT
#
# KIND:
#   basic     320x240, 25 fps, 4 s, H.264 (testsrc2), index at the end
#   faststart the same with the index (moov) first, for cut-mid-data tests
#   audio     basic plus an AAC sine track
#   box       320x240 blue with a red 60x40 box in the top-left corner, 1 s
#   box90     box with a "rotate=90" tag (display matrix; remuxed)
#   box180    box with a "rotate=180" tag
#   vfr       70 frames: 50 at 25 fps (2 s) then 20 at 5 fps (4 s)
#   offset    basic starting at container time 10 s
#   mkv       basic in Matroska
#   aonly     AAC audio only, 2 s
#   tiny      16x16, 1 s
#   wide      8200x32 MJPEG, 0.2 s (over the 8192 default width limit)
#   hd720     1280x720 25 fps, ${SECS:-60} s, x264 4 Mbit/s (bench)
#   hd1080    1920x1080 25 fps, ${SECS:-60} s, x264 8 Mbit/s (bench)
set -e
kind=$1
out=$2
[ -n "$kind" ] && [ -n "$out" ] || { echo "usage: $0 KIND OUT" >&2; exit 2; }
ff="ffmpeg -hide_banner -nostdin -loglevel error -y"
src="-f lavfi -i testsrc2=size=320x240:rate=25"
x264="-pix_fmt yuv420p -c:v libx264 -preset veryfast"
tmp="$out.tmp.$$.mp4"
case $kind in
basic)     $ff $src -t 4 $x264 -f mp4 "$out" ;;
faststart) $ff $src -t 4 $x264 -movflags +faststart -f mp4 "$out" ;;
audio)     $ff $src -f lavfi -i sine=frequency=440:sample_rate=44100 -t 4 $x264 -c:a aac -shortest -f mp4 "$out" ;;
box|box90|box180)
	$ff -f lavfi -i color=c=blue:size=320x240:rate=25 -t 1 \
		-vf drawbox=x=0:y=0:w=60:h=40:color=red:t=fill $x264 -f mp4 "$tmp"
	case $kind in
	box) mv "$tmp" "$out" ;;
	*)   $ff -i "$tmp" -c copy -metadata:s:v rotate=${kind#box} -f mp4 "$out"; rm -f "$tmp" ;;
	esac ;;
vfr)       $ff $src -frames:v 70 -vf "setpts='if(lt(N,50),N,50+5*(N-50))'" -fps_mode vfr \
		$x264 -video_track_timescale 1000 -f mp4 "$out" ;;
offset)    $ff $src -t 4 $x264 -output_ts_offset 10 -f mp4 "$out" ;;
mkv)       $ff $src -t 4 $x264 -f matroska "$out" ;;
aonly)     $ff -f lavfi -i sine=frequency=440 -t 2 -c:a aac -f mp4 "$out" ;;
tiny)      $ff -f lavfi -i testsrc2=size=16x16:rate=25 -t 1 $x264 -f mp4 "$out" ;;
wide)      $ff -f lavfi -i color=c=gray:size=8200x32:rate=25 -t 0.2 -c:v mjpeg -pix_fmt yuvj420p -f matroska "$out" ;;
hd720)     $ff -f lavfi -i testsrc2=size=1280x720:rate=25 -t "${SECS:-60}" -pix_fmt yuv420p -c:v libx264 \
		-preset veryfast -b:v 4M -maxrate 4M -bufsize 8M -f mp4 "$out" ;;
hd1080)    $ff -f lavfi -i testsrc2=size=1920x1080:rate=25 -t "${SECS:-60}" -pix_fmt yuv420p -c:v libx264 \
		-preset veryfast -b:v 8M -maxrate 8M -bufsize 16M -f mp4 "$out" ;;
*) echo "$0: unknown kind $kind" >&2; exit 2 ;;
esac
