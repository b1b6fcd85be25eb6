#!/usr/bin/env bash
# setup-deps.sh: install the Debian packages h5img builds, tests and benchmarks with (idempotent).
set -euo pipefail

packages=(
  build-essential cmake pkg-config valgrind lintian man-db
  libhdf5-dev hdf5-tools libspng-dev libturbojpeg0-dev libjpeg62-turbo-dev libdeflate-dev zlib1g-dev check
  python3-h5py python3-numpy python3-opencv python3-skimage python3-venv
  libopenmpi-dev openmpi-bin
)
if [[ "${1:-}" == "--fuzz" ]]; then packages+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
