#!/usr/bin/env bash
# demo.sh: the main job on the committed samples, from a fresh machine: packages, build, repack both
# SMC samples into the filter layout, read a mask and a colour frame back through h5py and h5dump
# (plugin found through HDF5_PLUGIN_PATH), and extract frames with h5imgdump.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"
build=${BUILD_DIR:-$root/build}
BUILD_DIR=$build "$root/scripts/build.sh" >/dev/null
out=${DEMO_OUT:-$root/out}
rm -rf "$out" && mkdir -p "$out"
export HDF5_PLUGIN_PATH=$build/plugins
repack=$build/tools/h5imgrepack
dump=$build/tools/h5imgdump

for name in renderme_sample dna_sample; do
  echo "== $name.smc: summary of the legacy file"
  "$dump" "$root/h5_samples/$name.smc"
  echo "== repack (no frame re-encoded)"
  "$repack" "$root/h5_samples/$name.smc" "$out/$name.h5img.h5"
  ls -l "$root/h5_samples/$name.smc" "$out/$name.h5img.h5"
done

echo "== h5py reads decoded pixels straight from the repacked file"
/usr/bin/python3 - "$out/renderme_sample.h5img.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for path in ("Camera/25/mask/0", "Camera/25/color/0"):
        a = f[path][()]
        print(f"{path}: shape {a.shape} {a.dtype}, min {a.min()}, max {a.max()}, mean {a.mean():.2f}")
PY

echo "== h5dump prints the same pixels (a soft mask edge: rows 67-68, columns 16-27)"
h5dump -y -w 0 -d /Camera/25/mask/0 -s 67,16 -c 2,12 "$out/renderme_sample.h5img.h5" | sed -n '/DATA {/,/}/p' | head -4

echo "== extract frames: stored bytes as they are, and decoded to PNG on all cores"
"$dump" --extract "$out/frames-keep" "$out/renderme_sample.h5img.h5"
"$dump" --extract "$out/frames-png" --format png "$out/renderme_sample.h5img.h5"
find "$out/frames-keep" -type f | sort | head -5
echo "extracted: $(find "$out/frames-keep" -type f | wc -l) stored, $(find "$out/frames-png" -type f | wc -l) decoded"
echo "demo output in $out"
