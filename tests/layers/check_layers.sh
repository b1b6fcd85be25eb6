#!/usr/bin/env bash
# check_layers.sh: fail when plugin/ breaks its layering: an HDF5 header below plugin/hdf5, or a layer calling up.
#
# Usage: check_layers.sh --sources PLUGIN_DIR
#        check_layers.sh --symbols [--layer NAME ALLOWED OBJECT...]...
#        check_layers.sh --hdf5-through-table OBJECT...
#
# --sources: no file under core/, codec/ or ops/ includes an HDF5 header (H5*.h,
#   hdf5*.h) or a header of hdf5/ or reader/; no file under core/ includes a
#   codec header; a codec (codec/png, codec/jpeg) includes neither the other
#   codec's headers nor the dispatcher's files.
# --symbols: for each layer NAME, every h5img_* symbol its OBJECTs use but do
#   not define must be defined by a layer named in ALLOWED (comma-separated,
#   "-" for none), so nothing calls up or sideways. Symbols defined by no
#   listed layer (libc, HDF5, the codec libraries) are not ours to judge.
# --hdf5-through-table: none of the OBJECTs calls or reads an HDF5 symbol
#   (H5*) directly: they reach HDF5 only through the table of
#   plugin/hdf5/hdf5_api.h, as both builds (and the plugin's HDF5-free link) need.
set -euo pipefail

fail=0
complain() { echo "check_layers: $*" >&2; fail=1; }

check_sources() {
  local dir=$1 file
  [[ -d $dir/core && -d $dir/codec ]] || { echo "check_layers: $dir has no core/ and codec/" >&2; exit 2; }
  while IFS= read -r file; do
    local rel=${file#"$dir"/}
    while IFS= read -r line; do
      local header
      header=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$line")
      case $(basename "$header") in
        H5*.h | hdf5*.h) complain "$rel includes the HDF5 header $header: only plugin/hdf5 may" ;;
      esac
      case $header in
        hdf5/* | reader/* | filter.h | reader_internal.h) complain "$rel includes $header, a layer above it" ;;
      esac
      case $rel:$header in
        core/*:codec/* | core/*:ops/*) complain "$rel includes $header: the core sits below the codecs and ops" ;;
        ops/*:codec/*) complain "$rel includes $header: the mask operations never reach into a codec" ;;
        codec/png/*:codec/jpeg/* | codec/jpeg/*:codec/png/* | codec/png/*:jpeg_* | codec/jpeg/*:png_*)
          complain "$rel includes $header: one codec never reaches into the other" ;;
        codec/png/*:*decode.c | codec/jpeg/*:*decode.c | codec/png/*:*encode.c | codec/jpeg/*:*encode.c)
          complain "$rel includes the dispatcher's $header" ;;
      esac
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file" || true)
  done < <(find "$dir/core" "$dir/codec" $([[ -d $dir/ops ]] && echo "$dir/ops") -type f \( -name '*.c' -o -name '*.h' \) | sort)
}

check_symbols() {
  declare -A defined_by=() allowed=() used=()
  local order=()
  while (($#)); do
    [[ $1 == --layer && $# -ge 3 ]] || { echo "check_layers: usage: --symbols --layer NAME ALLOWED OBJECT..." >&2; exit 2; }
    local name=$2
    allowed[$name]=$3
    order+=("$name")
    shift 3
    local objects=()
    while (($#)) && [[ $1 != --layer ]]; do objects+=("$1"); shift; done
    ((${#objects[@]})) || { echo "check_layers: layer $name has no object files" >&2; exit 2; }
    local symbol
    while read -r symbol; do defined_by[$symbol]=$name; done < <(nm --defined-only -g "${objects[@]}" |
      awk '$3 ~ /^h5img_/ {print $3}' | sort -u)
    used[$name]=$(nm --undefined-only -g "${objects[@]}" | awk '$2 ~ /^h5img_/ {print $2}' | sort -u | tr '\n' ' ')
  done
  local name symbol
  for name in "${order[@]}"; do
    for symbol in ${used[$name]}; do
      local owner=${defined_by[$symbol]:-}
      [[ -z $owner || $owner == "$name" ]] && continue
      [[ ",${allowed[$name]}," == *",$owner,"* ]] ||
        complain "layer $name calls $symbol, defined by layer $owner, which it may not call (allowed: ${allowed[$name]})"
    done
  done
}

check_hdf5_through_table() {
  (($#)) || { echo "check_layers: usage: --hdf5-through-table OBJECT..." >&2; exit 2; }
  local object symbol
  for object in "$@"; do
    while read -r symbol; do
      complain "$(basename "$object") uses $symbol directly, not through the table of hdf5/hdf5_api.h"
    done < <(nm --undefined-only -g "$object" | awk '$2 ~ /^H5/ {print $2}' | sort -u)
  done
}

case ${1:-} in
  --sources) [[ $# -eq 2 ]] || { echo "check_layers: usage: --sources PLUGIN_DIR" >&2; exit 2; }; check_sources "$2" ;;
  --symbols) shift; check_symbols "$@" ;;
  --hdf5-through-table) shift; check_hdf5_through_table "$@" ;;
  *) echo "check_layers: usage: check_layers.sh --sources DIR | --symbols --layer NAME ALLOWED OBJECT... |" \
       "--hdf5-through-table OBJECT..." >&2; exit 2 ;;
esac
if ((fail)); then exit 1; fi
echo "check_layers: ${1#--}: layering holds"
