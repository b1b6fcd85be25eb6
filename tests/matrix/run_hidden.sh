#!/bin/sh
# run_hidden.sh LIBDIR COMMAND...: run COMMAND in a private mount namespace where every libhdf5*.so* file under LIBDIR (and its hdf5/ subfolders) reads as empty.
# Bind-mounting /dev/null over each file makes the dynamic loader refuse it
# ("file too short"), so nothing in the namespace can load the system HDF5;
# the mounts vanish with the namespace. Needs root (CI runs as root): if
# unshare cannot make the namespace, it fails and says why.
set -eu
libdir=${1:?usage: run_hidden.sh LIBDIR COMMAND...}
shift
[ "$#" -gt 0 ] || { echo "run_hidden.sh: no command given" >&2; exit 2; }
command -v unshare >/dev/null || { echo "run_hidden.sh: unshare (util-linux) is not installed" >&2; exit 1; }
exec unshare --mount --propagation private sh -eu -c '
  libdir=$1; shift
  hidden=0
  for f in "$libdir"/libhdf5*.so* "$libdir"/hdf5/*/libhdf5*.so* "$libdir"/hdf5/*/lib/libhdf5*.so*; do
    [ -e "$f" ] || continue
    mount --bind /dev/null "$f" || { echo "run_hidden.sh: cannot hide $f (mount --bind needs root)" >&2; exit 1; }
    hidden=$((hidden + 1))
  done
  [ "$hidden" -gt 0 ] || { echo "run_hidden.sh: no libhdf5*.so* under $libdir to hide: wrong LIBDIR?" >&2; exit 1; }
  exec "$@"
' run_hidden "$libdir" "$@"
