#!/usr/bin/env bash
# test_deb.sh: build the Debian package, lintian it, install it with apt, use it as a user would (no HDF5_PLUGIN_PATH), then remove it and check nothing is left.
# Needs root (apt-get); run by scripts/test.sh last, since it installs into the system for a while.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$root/build-deb}
here=$root/tests/package
unset HDF5_PLUGIN_PATH HDF5_VOL_CONNECTOR
failures=0
check() { # check WHAT COMMAND...: run COMMAND; a failure is counted and named, and the run goes on
  local what=$1
  shift
  if "$@"; then
    echo "package: ok: $what"
  else
    echo "package: FAIL: $what" >&2
    failures=$((failures + 1))
  fi
}

# With HDF5 1.14 headers (H5IMG_HDF5_1146_PREFIX, from scripts/test.sh) the package carries the VOL connector too.
hdf5_1146=${H5IMG_HDF5_1146_PREFIX:-}
with_vol=()
[[ -n $hdf5_1146 ]] && with_vol=(-DH5IMG_HDF5_1146_PREFIX="$hdf5_1146")

echo "== package: cpack -G DEB (with Debian's hardening flags)"
rm -rf "$work"
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
  cmake -S "$root" -B "$work" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release -DH5IMG_BUILD_TESTS=OFF \
  -DH5IMG_BUILD_BENCH=OFF -DPython3_EXECUTABLE=/usr/bin/python3 ${with_vol[@]+"${with_vol[@]}"} >"$work.log" 2>&1 || { tail -n 30 "$work.log"; exit 1; }
cmake --build "$work" -j "$(nproc)" >>"$work.log" 2>&1 || { tail -n 30 "$work.log"; exit 1; }
(cd "$work" && cpack -G DEB >>"$work.log" 2>&1) || { tail -n 30 "$work.log"; exit 1; }
deb=$(ls "$work"/h5img_*.deb)
echo "built $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"

echo "== package: lintian (errors fail; everything else is listed)"
lintian --allow-root --fail-on error -I "$deb" || { echo "lintian reported errors" >&2; exit 1; }

if dpkg-query -W -f='${Status}' h5img 2>/dev/null | grep -q "install ok installed"; then
  echo "test_deb.sh: h5img is already installed on this machine; remove it first (apt-get purge h5img)" >&2
  exit 1
fi
# Whatever happens from here, the system is left without the package.
trap 'apt-get purge -y -qq h5img >/dev/null 2>&1 || true' EXIT
echo "== package: apt-get install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
files=$(dpkg -L h5img)
plugin_dir=$(pkg-config --variable=PluginDir hdf5)
check "the plugin is in HDF5's default plugin directory $plugin_dir" test -f "$plugin_dir/libh5img.so"
check "man h5imgdump" man -w h5imgdump
check "man h5imgrepack" man -w h5imgrepack

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; apt-get purge -y -qq h5img >/dev/null 2>&1 || true' EXIT
sample=$root/h5_samples/renderme_sample.smc
frame=Camera/25/mask/0
/usr/bin/h5imgrepack -q "$sample" "$tmp/repacked.h5"

echo "== package: the system's h5dump and Debian's h5py read through the installed plugin"
# OpenCV on the legacy bytes is what the frame must decode to.
expected=$(/usr/bin/python3 - "$sample" "$frame" <<'PY'
import sys, h5py, numpy as np, cv2
with h5py.File(sys.argv[1], "r") as f:
    img = cv2.imdecode(f[sys.argv[2]][()], cv2.IMREAD_COLOR).max(axis=2)
print(int(img.astype(np.uint64).sum()), img.shape[0], img.shape[1])
PY
)
read -r expected_sum height width <<<"$expected"
h5dump_sum=$(/usr/bin/h5dump -d "/$frame" -b LE -o "$tmp/frame.bin" "$tmp/repacked.h5" >/dev/null &&
  /usr/bin/python3 -c 'import sys, numpy as np; a = np.fromfile(sys.argv[1], np.uint8); print(int(a.astype(np.uint64).sum()), a.size)' "$tmp/frame.bin")
check "h5dump decodes $frame ($h5dump_sum vs $expected_sum, $((height * width)) pixels)" \
  test "$h5dump_sum" = "$expected_sum $((height * width))"
h5py_sum=$(/usr/bin/python3 -c '
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    a = f[sys.argv[2]][()]
print(int(a.astype(np.uint64).sum()), a.shape[0], a.shape[1])' "$tmp/repacked.h5" "$frame")
check "Debian's h5py decodes $frame ($h5py_sum vs $expected)" test "$h5py_sum" = "$expected"

if [[ -n $hdf5_1146 ]]; then
  echo "== package: HDF5 1.14.6's h5dump reads the legacy sample through the installed VOL connector"
  check "the VOL connector is in $plugin_dir" test -f "$plugin_dir/libh5img_vol.so"
  vol_sum=$(HDF5_PLUGIN_PATH=$plugin_dir HDF5_VOL_CONNECTOR=h5img "$hdf5_1146/bin/h5dump" -d "/$frame" -b LE \
      -o "$tmp/vol_frame.bin" "$sample" >/dev/null &&
    /usr/bin/python3 -c 'import sys, numpy as np; a = np.fromfile(sys.argv[1], np.uint8); print(int(a.astype(np.uint64).sum()), a.size)' "$tmp/vol_frame.bin")
  check "h5dump through the VOL decodes the legacy $frame ($vol_sum vs $expected_sum, $((height * width)) pixels)" \
    test "$vol_sum" = "$expected_sum $((height * width))"
fi

echo "== package: a C program built with pkg-config, and one with find_package(h5img)"
check "pkg-config knows h5img $(pkg-config --modversion h5img 2>/dev/null)" pkg-config --exists h5img
# shellcheck disable=SC2046
check "build with pkg-config" gcc -o "$tmp/use_pkgconfig" "$here/use_h5img.c" $(pkg-config --cflags --libs h5img)
check "run the pkg-config build" "$tmp/use_pkgconfig" "$sample" "$tmp/repacked.h5" "$frame"
mkdir -p "$tmp/cmake-user"
cp "$here/use_h5img.c" "$tmp/cmake-user/" && cp "$here/CMakeLists.txt.in" "$tmp/cmake-user/CMakeLists.txt"
check "configure and build with find_package(h5img)" bash -c \
  "cmake -S '$tmp/cmake-user' -B '$tmp/cmake-build' >'$tmp/cmake.log' 2>&1 && cmake --build '$tmp/cmake-build' >>'$tmp/cmake.log' 2>&1 || { cat '$tmp/cmake.log'; exit 1; }"
check "run the find_package build" "$tmp/cmake-build/use_h5img" "$sample" "$tmp/repacked.h5" "$frame"

echo "== package: apt-get purge h5img leaves nothing behind"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq h5img >/dev/null
check "dpkg no longer knows h5img" bash -c '! dpkg-query -W -f="\${Status}" h5img 2>/dev/null | grep -q installed'
left=0
while IFS= read -r path; do
  [[ -f $path || -L $path ]] && { echo "left behind: $path" >&2; left=$((left + 1)); }
done <<<"$files"
check "no file of the package is left ($(wc -l <<<"$files") paths checked)" test "$left" -eq 0
check "the plugin directory has no libh5img.so" test ! -e "$plugin_dir/libh5img.so"
check "the plugin directory has no libh5img_vol.so" test ! -e "$plugin_dir/libh5img_vol.so"

if ((failures)); then
  echo "package: $failures check(s) failed" >&2
  exit 1
fi
echo "package: the install, use, build-against and remove cycle passed"
