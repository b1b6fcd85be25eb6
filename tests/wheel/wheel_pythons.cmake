# wheel_pythons.cmake: names each python of H5IMG_WHEEL_PYTHONS after its h5py and HDF5 versions, for tests/wheel and tests/hostile alike.

# h5img_wheel_pythons(TAGS PYTHONS BROKEN): TAGS and PYTHONS list the usable pythons
# (tag "h5py-3.15.1-hdf5-1.14.6"); BROKEN lists the venv directory names of those
# that cannot import h5py, each with H5IMG_WHEEL_BROKEN_<name> set to the reason.
function(h5img_wheel_pythons tags_var pythons_var broken_var)
  set(tags "")
  set(pythons "")
  set(broken "")
  foreach(python IN LISTS H5IMG_WHEEL_PYTHONS)
    get_filename_component(bin_dir "${python}" DIRECTORY)
    get_filename_component(venv_dir "${bin_dir}" DIRECTORY)
    get_filename_component(venv_name "${venv_dir}" NAME)
    execute_process(
      COMMAND "${python}" -c "import h5py; print('h5py-' + h5py.__version__ + '-hdf5-' + h5py.version.hdf5_version)"
      RESULT_VARIABLE rc OUTPUT_VARIABLE tag ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0 OR tag STREQUAL "")
      string(REGEX REPLACE "[\r\n;]+" " " err "${err}")
      string(STRIP "${err}" err)
      list(APPEND broken "${venv_name}")
      set(H5IMG_WHEEL_BROKEN_${venv_name}
          "${python} cannot import h5py (${rc}: ${err}); make the venv with scripts/setup-venv.sh DIR h5py==X"
          PARENT_SCOPE)
      continue()
    endif()
    if(tag IN_LIST tags)
      set(tag "${tag}-${venv_name}") # two venvs of one h5py version keep distinct names
    endif()
    list(APPEND tags "${tag}")
    list(APPEND pythons "${python}")
  endforeach()
  set(${tags_var} "${tags}" PARENT_SCOPE)
  set(${pythons_var} "${pythons}" PARENT_SCOPE)
  set(${broken_var} "${broken}" PARENT_SCOPE)
endfunction()
