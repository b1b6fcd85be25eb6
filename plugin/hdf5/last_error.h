/* last_error.h: the reason the calling thread's last filter call failed, behind h5img_last_error(). */
#ifndef H5IMG_LAST_ERROR_H
#define H5IMG_LAST_ERROR_H

/* Keep `text` as this thread's h5img_last_error() (cut to 511 bytes). */
void h5img_last_error_set(const char *text);

/* This thread's last call succeeded: h5img_last_error() is "" again. */
void h5img_last_error_clear(void);

#endif /* H5IMG_LAST_ERROR_H */
