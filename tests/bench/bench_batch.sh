#!/usr/bin/env bash
# bench_batch.sh: h5imgbatch on 2 MPI ranks against 1, for a decode-bound extract and for repack; prints a markdown table.
# Usage: tests/bench/bench_batch.sh BUILD_DIR [FILES] [FRAMES]   (needs mpirun; not part of the test suite)
set -euo pipefail
build=${1:?usage: bench_batch.sh BUILD_DIR [FILES] [FRAMES]}
files=${2:-8}
frames=${3:-6}
work=${BENCH_TMP:-/tmp/h5img-bench-batch}
batch=$build/tools/h5imgbatch
mpirun=(mpirun --allow-run-as-root --oversubscribe)
rm -rf "$work" && mkdir -p "$work/in"

# SMC-style inputs: FRAMES 2448x2048 JPEG colour frames (quality 90) and PNG masks per file, the
# RenderMe-360 frame size, so an extraction to .npy is decode-bound.
/usr/bin/python3 - "$work/in" "$files" "$frames" <<'PY'
import sys, cv2, h5py, numpy as np, skimage.data
out, files, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = cv2.resize(skimage.data.astronaut()[:, :, ::-1], (2448, 2048), interpolation=cv2.INTER_CUBIC)
rng = np.random.default_rng(1)
for k in range(files):
    with h5py.File(f"{out}/bench_{k:02d}.smc", "w") as f:
        for i in range(frames):
            img = np.clip(base.astype(np.int16) + rng.integers(-8, 9, base.shape), 0, 255).astype(np.uint8)
            f[f"Camera/{i:02d}/color/0"] = np.frombuffer(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], np.uint8)
            mask = (cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) > 128).astype(np.uint8) * 255
            f[f"Camera/{i:02d}/mask/0"] = np.frombuffer(cv2.imencode(".png", mask)[1], np.uint8)
PY
ls "$work"/in/*.smc > "$work/list.txt"
in_bytes=$(cat "$work"/in/*.smc | wc -c)

# Median of 3 wall-clock runs, each into a fresh DIR (so nothing is skipped).
measure() { # ranks kind args...
  local ranks=$1 kind=$2; shift 2
  local t=()
  for round in 1 2 3; do
    rm -rf "$work/out"
    local start=$(date +%s.%N)
    if [[ $ranks == 1 ]]; then "$batch" "$kind" -q -m "$work/list.txt" -o "$work/out" "$@" 2>/dev/null
    else "${mpirun[@]}" -n "$ranks" "$batch" "$kind" -q -m "$work/list.txt" -o "$work/out" "$@" 2>/dev/null; fi
    t+=("$(echo "$(date +%s.%N) - $start" | bc)")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}
out_bytes() { du -sb --exclude=.h5imgbatch "$work/out" | cut -f1; }

echo "load before: $(uptime)"
echo
echo "| job | files | bytes in | bytes out | 1 process (s) | 2 ranks (s) | s per file (1 process) | speed-up |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row() { # label kind args...
  local label=$1; shift
  local one two ob
  one=$(measure 1 "$@"); ob=$(out_bytes); two=$(measure 2 "$@")
  printf '| %s | %d | %d | %d | %.2f | %.2f | %.3f | %.2fx |\n' "$label" "$files" "$in_bytes" "$ob" "$one" "$two" \
    "$(echo "$one / $files" | bc -l)" "$(echo "$one / $two" | bc -l)"
}
row "extract --format npy -j 1 (decode-bound)" extract --format npy -j 1
row "repack (fsync)" repack
row "repack --no-sync" repack --no-sync
echo
echo "load after: $(uptime)"
