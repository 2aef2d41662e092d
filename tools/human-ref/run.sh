#!/bin/sh
# run.sh OUT_DIR -- reference vectors of human's BlazeFace on models/samples/sample1.jpg.
# Needs: tools/refgen/node_modules (npm ci there), esbuild (tools/human-ref/package.json:
# installed here with npm ci when missing), the human 3.3.6 tarball in models/.cache (make
# models), and build/libfaceline.a (make).
set -e
out=${1:-build/ref/blazeface_human}
here=$(dirname "$0")
case $out in /*) abs=$out ;; *) abs=$PWD/$out ;; esac
if [ ! -x "$here/node_modules/.bin/esbuild" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
mkdir -p "$out" "$out/src"
tgz=$(ls models/.cache/vladmandic-human-3.3.6.tgz 2>/dev/null || ls /tmp/pk/vladmandic-human-3.3.6.tgz)
tar -xzf "$tgz" -C "$out/src" package/src
NODE_PATH=${NODE_PATH:-$PWD/$here/node_modules} HUMAN_SRC=$abs/src/package/src node tools/human-ref/build.mjs "$out/ref.bundle.mjs"
cc -O2 -Iinclude -o "$out/dump" tools/human-ref/dump.c build/libfaceline.a $(pkg-config --libs libavformat libavcodec libswscale libavutil) -lm -lpthread
set -- $("$out/dump" models/samples/sample1.jpg "$out/rgb")
node "$out/ref.bundle.mjs" models/human/blazeface.json "$out/rgb" "$1" "$2" "$out" 2>/dev/null
rm -rf "$out/rgb" "$out/src"
