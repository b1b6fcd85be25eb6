#!/usr/bin/env bash
# run.sh: build h5img with the benchmark, then run tests/bench/bench.py with Debian's python3 (options are bench.py's: --frames N --reps N ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
mkdir -p "$build_dir"
# Build output goes to a log so that stdout carries only the report.
if ! BUILD_DIR=$build_dir "$root/scripts/build.sh" -DH5IMG_BUILD_BENCH=ON -DH5IMG_BUILD_TOOLS=ON >"$build_dir/bench-build.log" 2>&1; then
    tail -n 40 "$build_dir/bench-build.log" >&2
    echo "run.sh: build failed (full log: $build_dir/bench-build.log)" >&2
    exit 1
fi
# The wheel rows read through PyPI's h5py 3.15.1 (its own HDF5 1.14.6), what most
# users run: a venv made once in the build directory, or H5IMG_BENCH_WHEEL_PYTHON.
wheel_python=${H5IMG_BENCH_WHEEL_PYTHON:-}
if [[ -z $wheel_python ]]; then
    if ! "$root/scripts/setup-venv.sh" "$build_dir/bench-venv" h5py==3.15.1 >>"$build_dir/bench-build.log" 2>&1; then
        tail -n 20 "$build_dir/bench-build.log" >&2
        echo "run.sh: could not make the h5py 3.15.1 venv $build_dir/bench-venv (log: $build_dir/bench-build.log)" >&2
        exit 1
    fi
    wheel_python=$build_dir/bench-venv/bin/python
fi
exec /usr/bin/python3 "$root/tests/bench/bench.py" --build-dir "$build_dir" --wheel-python "$wheel_python" "$@"
