#!/usr/bin/env bash
# peers.sh [peers.py options]: h5img against the PyPI decoders on the benchmark's frames, in a venv of its own (about 2 minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
venv=$build_dir/bench-peers-venv
# The benchmark's inputs (generated once and cached by run.sh; --only times one cheap case).
"$root/tests/bench/run.sh" --only mask-capi >/dev/null
data=$(ls -d "$build_dir"/bench-data/*/ | head -n 1)
python=${H5IMG_VENV_PYTHON:-$(command -v python3)}
# The VOL connector's row needs the wheel built with HDF5 1.14's headers, as the build dir was.
hdf5_1146=$(sed -n 's/^H5IMG_HDF5_1146_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
with_vol=()
[[ -n $hdf5_1146 ]] && with_vol=(-C "cmake.define.H5IMG_HDF5_1146_PREFIX=$hdf5_1146")
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check h5py numpy opencv-python-headless pillow pyspng \
  simplejpeg imagecodecs >"$venv.log" 2>&1 || { tail -n 20 "$venv.log"; exit 1; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ${with_vol[@]+"${with_vol[@]}"} "$root" >>"$venv.log" 2>&1 ||
  { tail -n 20 "$venv.log"; exit 1; }
"$venv/bin/python" -c 'import h5py, numpy; print(f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), NumPy {numpy.__version__}")'
exec "$venv/bin/python" "$root/tests/bench/peers.py" --data "$data" "$@"
