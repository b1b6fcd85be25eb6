#!/bin/sh
# check_vol_exports.sh: libh5img_vol.so exports only HDF5's two plugin entry points and links no libhdf5.
set -eu
lib=$1
exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBVW]$/ {print $3}' | sort | tr '\n' ' ')
if [ "$exports" != "H5PLget_plugin_info H5PLget_plugin_type " ]; then
  echo "check_vol_exports: $lib exports: $exports(want only H5PLget_plugin_info H5PLget_plugin_type)" >&2
  exit 1
fi
if readelf -d "$lib" | grep NEEDED | grep -i hdf5 >&2; then
  echo "check_vol_exports: $lib links an HDF5 library: it must bind at run time" >&2
  exit 1
fi
echo "check_vol_exports: $lib exports the two entry points and needs no HDF5"
