#!/bin/sh
# bench/load.sh -- load on `faceline serve` while a job runs (issue 5).
#
#   bench/load.sh [--faceline build/faceline] [--seconds 20] [--conns 8] [--threads 1] [--repeat 3]
#
# Makes a 640x360 clip of SECONDS seconds with two faces (a johns photo and
# a face-api sample face; ffmpeg), starts `faceline serve` on a free port in
# a temporary data directory, and after a warm-up job analyses the clip in
# REPEAT interleaved rounds of three jobs, one job at a time:
#   1. quiet: nothing else hits the server;
#   2. wrk at full speed: `wrk -t THREADS -c CONNS --latency` against
#      GET /v1/jobs/{id} and, at the same time, GET /metrics for as long as
#      the job runs;
#   3. dashboard-like: 20 status polls + 2 metrics scrapes per second (curl).
# For each: the job's analysis speed (result stats: frames_analysed / total
# analysis seconds) and its change against the quiet run; for the wrk run
# also requests/s, p50/p99 latency and errors of both routes.
# Everything runs on the same machine: wrk's own CPU use competes with the
# analysis, so run 2 is a worst case on a small machine.  The last line
# gives the median speed of each condition and the change against quiet.
set -eu

FACELINE=build/faceline
SECONDS_CLIP=20
CONNS=8
THREADS=1
REPEAT=3
while [ $# -gt 0 ]; do
	case "$1" in
	--faceline) FACELINE=$2; shift 2 ;;
	--seconds) SECONDS_CLIP=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	*) echo "usage: bench/load.sh [--faceline F] [--seconds S] [--conns N] [--threads N] [--repeat N]" >&2; exit 1 ;;
	esac
done
for t in wrk ffmpeg curl python3; do
	command -v $t >/dev/null || { echo "bench/load.sh: $t is not installed (make setup)" >&2; exit 1; }
done
[ -x "$FACELINE" ] || { echo "bench/load.sh: $FACELINE not built (make)" >&2; exit 1; }
FACE_A=$(ls testdata/dlib/johns/John_Salley/*.jpg 2>/dev/null | head -1)
FACE_B=$(ls testdata/dlib/johns/John_Simm/*.jpg 2>/dev/null | head -1)
[ -n "$FACE_A" ] && [ -n "$FACE_B" ] || { echo "bench/load.sh: testdata/dlib missing (tools/fetch-testdata.sh)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/fl-load-XXXXXX)
SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

CLIP=$DIR/clip.mp4
ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0x707070:s=640x360:r=25 -loop 1 -i "$FACE_A" -loop 1 -i "$FACE_B" \
	-filter_complex "[0][1]overlay=x='80+8*t':y=100[a];[a][2]overlay=x=400:y=110" \
	-t "$SECONDS_CLIP" -r 25 -c:v libx264 -preset veryfast -pix_fmt yuv420p "$CLIP"

FL_MODELS=${FL_MODELS:-models} "$FACELINE" serve --data "$DIR/data" --listen 127.0.0.1:0 --workers 1 \
	>"$DIR/serve.out" 2>"$DIR/serve.log" &
SERVER=$!
i=0
while ! grep -q http:// "$DIR/serve.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "server did not start:" >&2; cat "$DIR/serve.log" >&2; exit 1; }
	sleep 0.1
done
BASE=$(sed -n 's|.*\(http://[0-9.]*:[0-9]*\)/.*|\1|p' "$DIR/serve.out")

submit() { curl -sf --data-binary @"$CLIP" -H 'Content-Type: video/mp4' "$BASE/v1/jobs" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
state() { curl -sf "$BASE/v1/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_state() { # id state
	while :; do
		s=$(state "$1")
		[ "$s" = "$2" ] && return 0
		case "$s" in failed|dead|canceled) echo "job $1 $s" >&2; exit 1 ;; esac
		[ "$2" = running ] && [ "$s" = succeeded ] && { echo "job $1 finished before the load started" >&2; exit 1; }
		sleep 0.05
	done
}
speed() { # id -> "frames seconds fps"
	curl -sf "$BASE/v1/jobs/$1/result?persons_only=1" | python3 -c '
import json,sys; r=json.load(sys.stdin); s=r["stats"]; t=s["time"]["total"]
print(s["frames_analysed"], "%.2f" % t, "%.2f" % (s["frames_analysed"]/t))'
}

echo "clip: ${SECONDS_CLIP} s 640x360, 2 faces; server $BASE, 1 worker; $(nproc) CPUs"

# 0. warm-up (models and the clip into the page cache), not counted
J=$(submit); wait_state "$J" succeeded

run_quiet() {
	J=$(submit); wait_state "$J" succeeded
	set -- $(speed "$J"); echo "$3" >>"$DIR/quiet.txt"
	echo "  quiet:    $1 frames in $2 s = $3 frames/s"
}

run_wrk() { # wrk at full speed on both routes while the job runs
	J=$(submit); wait_state "$J" running
	wrk -t "$THREADS" -c "$CONNS" -d 600s --latency "$BASE/v1/jobs/$J" >"$DIR/wrk-status.txt" 2>&1 &
	W1=$!
	wrk -t "$THREADS" -c "$CONNS" -d 600s --latency "$BASE/metrics" >"$DIR/wrk-metrics.txt" 2>&1 &
	W2=$!
	while [ "$(state "$J")" != succeeded ]; do sleep 0.2; done
	kill -INT $W1 $W2 2>/dev/null || true   # wrk prints its statistics on SIGINT
	wait $W1 $W2 2>/dev/null || true
	set -- $(speed "$J"); echo "$3" >>"$DIR/wrk.txt"
	echo "  wrk:      $1 frames in $2 s = $3 frames/s"
	for f in status metrics; do
		python3 - "$DIR/wrk-$f.txt" "$f" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p50 = re.search(r"\s50%\s+([\d.]+\w+)", t)
p99 = re.search(r"\s99%\s+([\d.]+\w+)", t)
errs = re.search(r"Socket errors:.*|Non-2xx or 3xx responses: \d+", t)
print("    %-8s %9s req/s  p50 %8s  p99 %8s  %s" % (sys.argv[2], rps.group(1) if rps else "?",
      p50.group(1) if p50 else "?", p99.group(1) if p99 else "?", errs.group(0) if errs else "no errors"))
PY
	done
}

run_poll() { # dashboard-like polling: 20 status + 2 metrics requests per second
	J=$(submit); wait_state "$J" running
	(
		while :; do
			for k in 1 2 3 4 5 6 7 8 9 10; do curl -sf -o /dev/null "$BASE/v1/jobs/$J" & done
			curl -sf -o /dev/null "$BASE/metrics" &
			wait
			sleep 0.5
		done
	) &
	P=$!
	while [ "$(state "$J")" != succeeded ]; do sleep 0.2; done
	kill $P 2>/dev/null || true
	wait $P 2>/dev/null || true
	set -- $(speed "$J"); echo "$3" >>"$DIR/poll.txt"
	echo "  polling:  $1 frames in $2 s = $3 frames/s"
}

# Interleaved rounds: the machine's other load drifts, medians compare.
r=1
while [ $r -le "$REPEAT" ]; do
	echo "round $r"
	run_quiet; run_wrk; run_poll
	r=$((r + 1))
done
python3 - "$DIR" <<'PY'
import statistics, sys
d = sys.argv[1]
m = {k: statistics.median(float(x) for x in open(f"{d}/{k}.txt")) for k in ("quiet", "wrk", "poll")}
print("median analysis speed: quiet %.2f frames/s; under wrk %.2f (%+.1f %%); under polling %.2f (%+.1f %%)" % (
    m["quiet"], m["wrk"], 100 * (m["wrk"] - m["quiet"]) / m["quiet"], m["poll"], 100 * (m["poll"] - m["quiet"]) / m["quiet"]))
PY
