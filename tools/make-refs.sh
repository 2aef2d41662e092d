#!/usr/bin/env bash
#
# make-refs.sh -- write the reference vectors the model tests compare
# against, computed by each model's own runtime (TF.js CPU, face-api,
# LiteRT.js) under Node: tools/refgen/refgen.mjs.
#
# Usage: tools/make-refs.sh OUTDIR        (make refs: build/ref)
#
# Installs tools/refgen's locked dependencies with `npm ci` when
# node_modules is missing or was installed from another package-lock.json
# (a stamp, node_modules/.fl-lock.sha256, records which), then runs refgen
# on models/ and touches OUTDIR/.done.  Expects the models to be fetched
# (make models).  Install scripts are skipped: none of the locked packages
# needs one, and they could reach hosts other than the npm registry.

set -euo pipefail

[ $# -eq 1 ] || { echo "usage: tools/make-refs.sh OUTDIR" >&2; exit 1; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$1
REFGEN="$ROOT/tools/refgen"

die() { echo "make-refs: $*" >&2; exit 1; }

[ -f "$REFGEN/refgen.mjs" ] || die "$REFGEN/refgen.mjs not found"
[ -f "$REFGEN/package-lock.json" ] || die "$REFGEN/package-lock.json not found"
command -v node >/dev/null || die "node not found: run tools/setup.sh"
# refgen registers a module-resolution hook (module.register), new in Node 20.6.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 6) ? 0 : 1)' ||
	die "Node.js $(node --version) is too old: the reference tools need Node >= 20.6 (nodejs from the NodeSource 20.x packages)"

# ---------------------------------------------------------- dependencies
lock_hash=$(sha256sum "$REFGEN/package-lock.json" | cut -d' ' -f1)
stamp="$REFGEN/node_modules/.fl-lock.sha256"
if [ ! -d "$REFGEN/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
	command -v npm >/dev/null || die "npm not found: run tools/setup.sh"
	echo "make-refs: npm ci in tools/refgen" >&2
	(cd "$REFGEN" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
		die "npm ci failed in $REFGEN (network? npm registry reachable?)"
	echo "$lock_hash" >"$stamp"
fi

# ------------------------------------------------------------- reference
cd "$ROOT"
mkdir -p "$OUT"
rm -f "$OUT/.done"
node tools/refgen/refgen.mjs --models models --out "$OUT" || die "refgen failed; $OUT is incomplete"
# human's own BlazeFace decoding (its TypeScript bundled with TF.js), for the detector tests
sh tools/human-ref/run.sh "$OUT/blazeface_human" >/dev/null || die "tools/human-ref failed"
touch "$OUT/.done"
