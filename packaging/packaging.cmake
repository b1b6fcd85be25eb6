# packaging/packaging.cmake: what cmake --install and cpack -G DEB ship beside the targets: h5img.pc, the CMake package config, man pages, the Debian package.
include(CMakePackageConfigHelpers)
set(H5IMG_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})

configure_file(${H5IMG_PACKAGING_DIR}/h5img.pc.in ${PROJECT_BINARY_DIR}/h5img.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/h5img.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT devel)

configure_package_config_file(${H5IMG_PACKAGING_DIR}/h5imgConfig.cmake.in ${PROJECT_BINARY_DIR}/h5imgConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/h5img PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/h5imgConfigVersion.cmake VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/h5imgConfig.cmake ${PROJECT_BINARY_DIR}/h5imgConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/h5img COMPONENT devel)

# Man pages from the tools' --help, which is written as their manual.
if(TARGET h5imgdump AND TARGET h5imgrepack)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(man_pages "")
  foreach(tool h5imgdump h5imgrepack)
    set(page ${PROJECT_BINARY_DIR}/man/${tool}.1.gz)
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${Python3_EXECUTABLE} ${H5IMG_PACKAGING_DIR}/help_to_man.py $<TARGET_FILE:${tool}> 1
              ${PROJECT_BINARY_DIR}/man/${tool}.1
      COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/${tool}.1
      DEPENDS ${tool} ${H5IMG_PACKAGING_DIR}/help_to_man.py VERBATIM)
    list(APPEND man_pages ${page})
  endforeach()
  add_custom_target(h5img_man ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
endif()

# Debian's documentation files: the copyright and a (native package) changelog.
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/changelog.gz
  COMMAND gzip -9nc ${H5IMG_PACKAGING_DIR}/changelog > ${PROJECT_BINARY_DIR}/changelog.gz
  DEPENDS ${H5IMG_PACKAGING_DIR}/changelog VERBATIM)
add_custom_target(h5img_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/changelog.gz)
install(FILES ${H5IMG_PACKAGING_DIR}/copyright ${PROJECT_BINARY_DIR}/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/h5img COMPONENT tools)

# cpack -G DEB in the build directory (configured with -DCMAKE_INSTALL_PREFIX=/usr).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME h5img)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "h5img developers <h5img@users.noreply.github.com>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: read from the plugin's and the tools' real shared-library needs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What building against libh5img.a needs (h5img.pc and h5imgConfig.cmake require them).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
  "pkg-config, libhdf5-dev, libspng-dev, libturbojpeg0-dev, libjpeg-dev, libdeflate-dev, zlib1g-dev")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HDF5 filter plugin that decodes PNG/JPEG images on read")
set(CPACK_PACKAGE_DESCRIPTION "h5img lets any HDF5 program read images stored inside HDF5 files, such as the
camera frames of the RenderMe-360 and DNA-Rendering SMC archives, as pixel
arrays bit-identical to OpenCV's imdecode. The package installs the filter
(ID 49301) into the system HDF5's default plugin directory, so h5py, h5dump
and every other client of that HDF5 decode with no environment variable,
the tools h5imgrepack and h5imgdump, and libh5img.a with h5img.h, h5img.pc
and a CMake package config.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
