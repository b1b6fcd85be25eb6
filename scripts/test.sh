#!/usr/bin/env bash
# test.sh: everything from a fresh Debian 12 machine to a full test run: packages, build, CTest,
# then the suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"

echo "== build and test (RelWithDebInfo)"
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build.sh"
(cd "${BUILD_DIR:-$root/build}" && ctest --output-on-failure -j "$(nproc)")

if [[ "${H5IMG_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== build and test under ASan+UBSan"
  san_dir=${SAN_BUILD_DIR:-$root/build-asan}
  BUILD_DIR=$san_dir "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Debug -DH5IMG_SANITIZE=address,undefined \
    -DH5IMG_BUILD_BENCH=OFF
  # Python clients (h5py, h5dump) load the instrumented plugin, so the sanitizer runtimes are
  # preloaded for every test; leak checking stays off because the interpreter itself never frees
  # everything (the C tests, run first, are leak-checked). Tests labelled
  # no-sanitizer cannot run this way (their CMakeLists say why) and ran in the normal pass.
  (cd "$san_dir" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --output-on-failure -j "$(nproc)" -L c &&
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --output-on-failure -j "$(nproc)" -LE 'no-sanitizer|^c$')
fi
