#!/bin/sh
# h5dump_frames.sh PREFIX FIXTURES STEM SYSTEM_H5DUMP: HDF5 1.14.6's h5dump, loading the plugin, dumps every frame of a repacked sample byte for byte as OpenCV decodes it; meant to run where the system HDF5 is hidden.
# Pure shell on purpose: Debian's python and cv2 link the system HDF5, which
# run_hidden.sh removes. The OpenCV decodes were made beforehand, outside, by
# make_fixtures.py (FIXTURES/STEM.frames: frames.tsv, manifest.tsv, *.raw).
set -eu
prefix=${1:?usage: h5dump_frames.sh PREFIX FIXTURES STEM SYSTEM_H5DUMP}
fixtures=${2:?}
stem=${3:?}
system_h5dump=${4:?}
h5dump=$prefix/bin/h5dump
frames=$fixtures/$stem.frames
repacked=$fixtures/$stem.h5
fail() { echo "h5dump_frames.sh: $*" >&2; exit 1; }

[ -x "$h5dump" ] || fail "no h5dump at $h5dump"
[ -f "$frames/frames.tsv" ] && [ -f "$frames/manifest.tsv" ] && [ -f "$repacked" ] ||
  fail "no fixtures in $fixtures for $stem (the matrix.fixtures test makes them)"
# The system's own h5dump must not start here, or this run proves nothing.
if "$system_h5dump" --version >/dev/null 2>&1; then
  fail "$system_h5dump (the system HDF5) still runs: the system libhdf5 is not hidden"
fi
"$h5dump" --version | grep -q 'Version 1\.14\.6' || fail "$h5dump is not HDF5 1.14.6: $("$h5dump" --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
decoded=0
raw=0
tab=$(printf '\t')
while IFS="$tab" read -r name path; do
  case $(printf '%s' "$path" | tr 'A-Z' 'a-z') in *mask*) rule=mask ;; *) rule=native ;; esac
  status=$(awk -F '\t' -v n="$name" -v r="$rule" '$1 == n && $2 == r { print $3 }' "$frames/manifest.tsv")
  case $status in
    ok) expected=$frames/$name.$rule.raw; decoded=$((decoded + 1)) ;;
    fail) expected=$frames/$name; raw=$((raw + 1)) ;; # stayed 1-D bytes
    *) fail "$stem: no $rule entry for $name in $frames/manifest.tsv" ;;
  esac
  if ! "$h5dump" -d "$path" -b NATIVE -o "$work/out.bin" "$repacked" >"$work/log" 2>&1; then
    fail "$stem: 1.14.6 h5dump -d $path failed: $(cat "$work/log")"
  fi
  cmp "$expected" "$work/out.bin" || fail "$stem: 1.14.6 h5dump of $path differs from $expected ($rule)"
done <"$frames/frames.tsv"
[ "$decoded" -gt 0 ] || fail "$stem: no frame was decoded"
echo "$stem: $decoded frames equal to OpenCV's decode, $raw left raw, read by HDF5 1.14.6's h5dump"
