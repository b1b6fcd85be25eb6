/* PLACEHOLDER (filter helper replaces) */
#include "h5img_internal.h"
