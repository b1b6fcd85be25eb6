/* PLACEHOLDER (filter helper replaces) */
#include "h5img_internal.h"
int h5img_register(void) { return -1; }
