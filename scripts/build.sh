#!/usr/bin/env bash
# build.sh: configure and build h5img into BUILD_DIR (default build/) with the Debian python3 for tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build_dir" -DPython3_EXECUTABLE=/usr/bin/python3 "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
