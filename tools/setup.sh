#!/usr/bin/env bash
#
# setup.sh -- install the Debian packages faceline's build and tests need.
#
# Usage: tools/setup.sh [--check]
#
# Checks each package with dpkg; prints nothing when all are present.  When
# some are missing: as root, `apt-get update` then `apt-get install -y
# --no-install-recommends <missing>`; as another user (or with --check),
# prints the exact `sudo apt-get install ...` line and exits 1.
#
# Node.js and npm count as present when the `node` / `npm` commands exist,
# whatever package provides them: NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package, so installing that one would fail.
# On a system without dpkg (not Debian) the script only checks the commands
# and the pkg-config modules, and names what it cannot find.

set -euo pipefail

# package  [command that also satisfies it]
REQUIRED=(
	"build-essential gcc"
	"pkg-config pkg-config"
	"libjansson-dev"
	"libavformat-dev"
	"libavcodec-dev"
	"libavutil-dev"
	"libswscale-dev"
	"libssl-dev"
	"libsqlite3-dev"
	"libmicrohttpd-dev"
	"libcurl4-openssl-dev"
	"chromium chromium"
	"wrk wrk"
	"ffmpeg ffmpeg"
	"clang clang"
	"nodejs node"
	"npm npm"
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if ! command -v dpkg-query >/dev/null; then
	# Not Debian: check what can be checked, and say what is expected.
	missing=()
	for c in gcc make pkg-config ffmpeg node npm; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	for m in jansson libavformat libavcodec libavutil libswscale libcrypto sqlite3 libmicrohttpd libcurl; do
		pkg-config --exists "$m" 2>/dev/null || missing+=("$m (pkg-config)")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "setup: not a Debian system; install these yourself: ${missing[*]}" >&2
		exit 1
	fi
	exit 0
fi

missing=()
for entry in "${REQUIRED[@]}"; do
	read -r pkg cmd <<<"$entry"
	if [ "$pkg" = npm ] || [ "$pkg" = nodejs ]; then
		# Any node/npm on PATH will do (see above).
		command -v "$cmd" >/dev/null && continue
	fi
	installed "$pkg" && continue
	missing+=("$pkg")
done

# NodeSource's nodejs provides npm: do not ask for Debian's npm on top.
if printf '%s\n' "${missing[@]}" | grep -qx npm && ! printf '%s\n' "${missing[@]}" | grep -qx nodejs; then
	if dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource; then
		echo "setup: npm is missing but nodejs comes from NodeSource (which bundles npm); reinstall nodejs" >&2
		exit 1
	fi
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || [ "$check_only" = 1 ]; then
	echo "setup: missing Debian packages: ${missing[*]}" >&2
	echo "setup: install them with:" >&2
	echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
	exit 1
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
