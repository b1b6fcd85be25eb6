#!/usr/bin/env bash
# selftest.sh: check_layers.sh must fail on each kind of layering break, so its passing run means something.
# Usage: selftest.sh CHECK_LAYERS "CORE_OBJECTS" "PNG_OBJECTS" (each a ;-separated list; the PNG codec calls the core)
set -euo pipefail
check=$1
IFS=';' read -r -a core_objects <<<"$2"
IFS=';' read -r -a png_objects <<<"$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

expect_failure() { # expect_failure WHAT PATTERN COMMAND...
  local what=$1 pattern=$2
  shift 2
  local out status=0
  out=$("$@" 2>&1) || status=$?
  if [[ $status -ne 1 ]] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "selftest: FAIL: $what: exit $status, wanted 1 and a message matching '$pattern'; got: $out"
    failures=$((failures + 1))
  else
    echo "selftest: ok: $what"
    passes=$((passes + 1))
  fi
}

fake_tree() { # fake_tree DIR FILE LINE: a minimal plugin tree whose FILE has the include LINE
  mkdir -p "$1/core" "$1/codec/png" "$1/codec/jpeg" "$(dirname "$1/$2")"
  printf '/* x */\n%s\n' "$3" >"$1/$2"
}

fake_tree "$work/a" core/status.c '#include <hdf5.h>'
expect_failure "HDF5 header in the core" "core/status.c includes the HDF5 header hdf5.h" "$check" --sources "$work/a"
fake_tree "$work/b" codec/png/png_fast.c '#include "H5Zpublic.h"'
expect_failure "HDF5 header in a codec" "H5Zpublic.h" "$check" --sources "$work/b"
fake_tree "$work/c" codec/jpeg/jpeg_split.c '#include "hdf5/filter.h"'
expect_failure "filter header in a codec" "a layer above it" "$check" --sources "$work/c"
fake_tree "$work/d" core/scratch.c '#include "codec/codec.h"'
expect_failure "codec header in the core" "the core sits below the codecs" "$check" --sources "$work/d"
fake_tree "$work/e" codec/png/png_decode.c '#include "codec/jpeg/jpeg_private.h"'
expect_failure "one codec reaching into the other" "one codec never reaches into the other" "$check" --sources "$work/e"
fake_tree "$work/f" codec/png/png_decode.c '  #  include <H5public.h>'
expect_failure "indented include" "H5public.h" "$check" --sources "$work/f"

# The PNG codec calls the core (h5img_fail, h5img_scratch): allowed nothing but the JPEG codec, it must fail.
expect_failure "codec calling a layer it may not" "layer png calls h5img_.*defined by layer core" \
  "$check" --symbols --layer core - "${core_objects[@]}" --layer png jpeg "${png_objects[@]}"
# An object calling HDF5 directly (as the reader once did) must fail the table check.
printf 'int H5Dopen2(void);\nint direct(void) { return H5Dopen2(); }\n' >"$work/direct.c"
cc -c -o "$work/direct.o" "$work/direct.c"
expect_failure "a direct HDF5 call" "direct.o uses H5Dopen2 directly" "$check" --hdf5-through-table "$work/direct.o"
echo "selftest: $passes passed, $failures failed"
exit $((failures > 0))
