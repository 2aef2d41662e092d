#!/bin/sh
# fetch-testdata.sh [DIR] -- real photos with known identities for the model
# tests: Debian's dlib source package ships examples/johns (5 people x 11
# photos, one folder per person) and examples/faces (group photos with
# hand-drawn face boxes).  They are unpacked into DIR/dlib/johns and
# DIR/dlib/faces (DIR defaults to testdata/ at the repository root; it is
# git-ignored).
#
# apt-get source needs a deb-src entry that this machine's lists lack, so
# apt gets a private sources list, list and cache directories (under
# DIR/.apt) instead of the system's: it names the .orig.tar.bz2 and its
# SHA-256, and apt-helper downloads it and checks the hash.  Idempotent:
# when both folders are present nothing is fetched.  Works as root and not.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/testdata}
out=$dir/dlib
if [ -d "$out/johns" ] && [ -d "$out/faces" ] && [ -f "$out/.complete" ]; then
	exit 0
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/dlib
work=$dir/.apt
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"

# The mirror this machine already uses, as a deb-src line for bookworm.
mirror=
for f in /etc/apt/sources.list.d/debian.sources; do
	[ -f "$f" ] || continue
	mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb-src $mirror bookworm main" >"$work/sources.list"

aptopts="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=$work/parts
 -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o Debug::NoLocking=1
 -o APT::Sandbox::User=$(id -un)"

# shellcheck disable=SC2086
apt-get $aptopts -qq update >"$work/update.log" 2>&1 || {
	echo "fetch-testdata: apt-get update failed (see $work/update.log)" >&2
	exit 1
}
# A line like: 'URL' dlib_19.24.0.orig.tar.bz2 SIZE SHA256:HEX
# shellcheck disable=SC2086
line=$(apt-get $aptopts source --print-uris dlib 2>/dev/null | grep "\.orig\.tar\." | head -n 1)
if [ -z "$line" ]; then
	echo "fetch-testdata: apt-get source --print-uris dlib names no .orig tarball" >&2
	exit 1
fi
url=$(echo "$line" | awk '{ print $1 }' | tr -d "'")
file=$(echo "$line" | awk '{ print $2 }')
hash=$(echo "$line" | awk '{ print $4 }')
case $hash in
SHA256:*) ;;
*)
	echo "fetch-testdata: no SHA-256 for $file (got '$hash')" >&2
	exit 1
	;;
esac
tarball=$work/$file
if [ ! -f "$tarball" ] || ! echo "${hash#SHA256:}  $tarball" | sha256sum -c - >/dev/null 2>&1; then
	rm -f "$tarball"
	/usr/lib/apt/apt-helper download-file "$url" "$tarball" "$hash" >"$work/download.log" 2>&1 || {
		echo "fetch-testdata: downloading $url failed (see $work/download.log)" >&2
		exit 1
	}
fi

# Unpack only the two example folders, into a temporary folder first so a
# failure never leaves a half-filled testdata/dlib.
tmp=$work/unpack
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xjf "$tarball" -C "$tmp" --no-same-owner --wildcards '*/examples/johns/*' '*/examples/faces/*'
src=$(find "$tmp" -maxdepth 3 -type d -path '*/examples/johns' | head -n 1)
if [ -z "$src" ]; then
	echo "fetch-testdata: $file has no examples/johns" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out"
mv "$src" "$out/johns"
mv "$(dirname "$src")/faces" "$out/faces"
rm -rf "$tmp"
touch "$out/.complete"
echo "fetch-testdata: $out/johns ($(find "$out/johns" -type f | wc -l) files), $out/faces ($(find "$out/faces" -type f | wc -l) files)"
