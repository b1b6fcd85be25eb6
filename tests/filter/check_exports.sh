#!/usr/bin/env bash
# check_exports.sh: the plugin links no libhdf5 and exports only HDF5's two H5PL entry points and the API h5img.h declares.
set -euo pipefail
plugin=$1 header=$2
# Whichever HDF5 loads the plugin is the one it must call (hdf5/hdf5_runtime.c):
# a libhdf5 in its NEEDED list would load a second library beside a wheel's.
needed=$(readelf -d "$plugin" | awk '/\(NEEDED\)/ {print $NF}' | tr -d '[]')
[[ -n "$needed" ]] || { echo "cannot read the NEEDED list of $plugin"; exit 1; }
if grep -i 'hdf5' <<<"$needed"; then
  echo "$plugin links an HDF5 library (above); it must bind to its caller's at run time"
  exit 1
fi
symbols=$(nm -D --defined-only "$plugin" | awk '{print $3}')
public=$(grep -oE 'H5IMG_API [^(]*\(' "$header" | grep -oE 'h5img_[a-z_0-9]+\($' | tr -d '(' | sort -u)
# The reader API is there too, for the Python package (h5img.read_frames).
for required in H5PLget_plugin_type H5PLget_plugin_info h5img_decoder_decode h5img_strerror h5img_reader_new \
  h5img_reader_run h5img_reader_free h5img_reader_message h5img_reader_options_init h5img_default_legacy_layout; do
  grep -qx "$required" <<<"$symbols" || { echo "missing export: $required"; exit 1; }
done
extra=$(grep -vxF -e H5PLget_plugin_type -e H5PLget_plugin_info $(printf -- '-e %s ' $public) <<<"$symbols" || true)
if [[ -n "$extra" ]]; then
  echo "unexpected exports from $plugin:"
  echo "$extra"
  exit 1
fi
echo "NEEDED: $(tr '\n' ' ' <<<"$needed")(no libhdf5)"
echo "exports: $(wc -w <<<"$symbols") symbols, all H5PL entry points or among the $(wc -w <<<"$public") public functions"
