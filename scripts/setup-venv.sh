#!/usr/bin/env bash
# setup-venv.sh DIR H5PY_SPEC: a venv at DIR with h5py from PyPI (a wheel carrying its own HDF5), numpy, OpenCV, pytest and pycocotools (idempotent).
# These are what most users run: the tests read and write through the plugin inside that wheel's private HDF5.
set -euo pipefail
dir=${1:?usage: setup-venv.sh DIR H5PY_SPEC}
h5py_spec=${2:?usage: setup-venv.sh DIR H5PY_SPEC (for example 'h5py==3.15.1')}
stamp="$dir/.h5img-venv-$(tr -c 'A-Za-z0-9.=' _ <<<"$h5py_spec")"
[[ -f $stamp ]] && exit 0
# The CPython first on PATH (not Debian's, whose h5py is the system one), or H5IMG_VENV_PYTHON.
python=${H5IMG_VENV_PYTHON:-$(command -v python3)}
"$python" -m venv --clear "$dir"
"$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
"$dir/bin/python" -m pip install -q --disable-pip-version-check "$h5py_spec" numpy opencv-python-headless pytest pycocotools
"$dir/bin/python" -c 'import h5py, cv2, numpy; print("venv", h5py.__version__, "HDF5", h5py.version.hdf5_version, "OpenCV", cv2.__version__, "NumPy", numpy.__version__)'
touch "$stamp"
