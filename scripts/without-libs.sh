#!/usr/bin/env bash
# without-libs.sh NAME... -- COMMAND...: run COMMAND where the system's shared libraries NAME*.so* cannot be loaded (a private mount namespace; needs root).
set -euo pipefail
names=()
while (($#)) && [[ $1 != -- ]]; do names+=("$1"); shift; done
[[ ${1:-} == -- && $# -ge 2 && ${#names[@]} -gt 0 ]] || { echo "usage: without-libs.sh NAME... -- COMMAND..." >&2; exit 2; }
shift
[[ $(id -u) -eq 0 ]] || { echo "without-libs.sh: needs root (unshare -m and bind mounts)" >&2; exit 1; }
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
exec unshare -m --propagation private bash -c '
  set -euo pipefail
  libdir=$1; shift
  hidden=0
  while [[ $1 != -- ]]; do
    for file in "$libdir/$1".so*; do
      [[ -e $file ]] || continue
      mount --bind /dev/null "$file"
      hidden=$((hidden + 1))
    done
    # Proof that the library really is gone, or the run would prove nothing.
    if python3 -c "import ctypes, sys; ctypes.CDLL(sys.argv[1] + \".so.0\")" "$1" 2>/dev/null; then
      echo "without-libs.sh: $1 can still be loaded" >&2; exit 1
    fi
    shift
  done
  echo "without-libs.sh: hid $hidden files of the named libraries" >&2
  shift
  exec "$@"' bash "$libdir" "${names[@]}" -- "$@"
