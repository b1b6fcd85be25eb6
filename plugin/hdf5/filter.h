/* filter.h: the h5img H5Z filter class, shared by the linked registration (register.c) and the plugin entry (plugin_entry.c). */
#ifndef H5IMG_FILTER_H
#define H5IMG_FILTER_H

#include <hdf5.h>

/* One definition of the class, so that a program that links h5img and one
 * that loads libh5img.so through HDF5_PLUGIN_PATH register the very same
 * callbacks under H5IMG_FILTER_ID. */
const H5Z_class2_t *h5img_filter_class(void);

#endif /* H5IMG_FILTER_H */
