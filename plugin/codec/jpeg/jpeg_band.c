/* jpeg_band.c: decode one band of output rows of a JPEG through the libjpeg API, every warning fatal. */
#include "jpeg_private.h"

#include <jerror.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

/* The bound TurboJPEG's TJFLAG_LIMITSCANS put on progressive scans, kept
 * from the decoder this replaced: it caps the CPU a hostile chunk made of
 * thousands of tiny scans can cost. */
#define MAX_SCANS 500

/* Rows offered to each jpeg_read_scanlines call. libjpeg returns at most
 * one row group (max_v_samp_factor rows, at most 4) per call however many
 * are offered, so offering more only costs pointer arithmetic. */
#define ROWS_PER_CALL 4

/* libjpeg reaches our hooks through cinfo->err, so the error manager comes
 * first and the jump buffer and band ride along behind it. */
struct band_errors {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    h5img_jpeg_band *band;
};

/* Everything libjpeg touches, kept out of the function that calls setjmp:
 * locals of that function changed before a longjmp would be indeterminate
 * after it, while this is the caller's and stays well defined. */
struct session {
    struct jpeg_decompress_struct cinfo;
    struct band_errors errors;
    struct jpeg_progress_mgr progress;
};

/* Running out of data is a warning (JWRN_JPEG_EOF, after which libjpeg
 * would return grey filler rows); everything else wrong with the stream is
 * corruption, except processes libjpeg-turbo does not implement (lossless,
 * hierarchical). */
static h5img_status classify(int code)
{
    if (code == JWRN_JPEG_EOF) return H5IMG_E_TRUNCATED;
    if (code == JERR_SOF_UNSUPPORTED) return H5IMG_E_UNSUPPORTED;
    return H5IMG_E_CORRUPT;
}

static void stop(j_common_ptr cinfo, h5img_status status)
{
    struct band_errors *errors = (struct band_errors *)cinfo->err;
    errors->band->status = status;
    longjmp(errors->jump, 1);
}

static void on_error(j_common_ptr cinfo)
{
    struct band_errors *errors = (struct band_errors *)cinfo->err;
    cinfo->err->format_message(cinfo, errors->band->message);
    stop(cinfo, classify(cinfo->err->msg_code));
}

/* Level -1 is a warning: libjpeg carries on after one ("Premature end of
 * JPEG file", "Corrupt JPEG data: ..."), substituting grey or garbage for
 * what it could not read, so it must end the decode. Other levels are
 * trace output, off at trace_level 0. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) on_error(cinfo);
}

/* libjpeg's default prints to stderr; messages reach the caller as status text instead. */
static void on_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number <= MAX_SCANS) return;
    struct band_errors *errors = (struct band_errors *)cinfo->err;
    snprintf(errors->band->message, sizeof errors->band->message, "Progressive JPEG image has more than %d scans",
             MAX_SCANS);
    stop(cinfo, H5IMG_E_CORRUPT);
}

static h5img_status band_fail(h5img_jpeg_band *band, h5img_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static h5img_status band_fail(h5img_jpeg_band *band, h5img_status status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(band->message, sizeof band->message, format, args);
    va_end(args);
    band->status = status;
    return status;
}

static h5img_status read_rows(h5img_jpeg_band *band, j_decompress_ptr cinfo)
{
    JSAMPROW rows[ROWS_PER_CALL];
    while (cinfo->output_scanline < band->end_row) {
        JDIMENSION next = cinfo->output_scanline, want = band->end_row - next;
        if (want > ROWS_PER_CALL) want = ROWS_PER_CALL;
        for (JDIMENSION i = 0; i < want; i++) rows[i] = band->pixels + (size_t)(next + i) * band->row_bytes;
        /* A memory source never suspends, so no rows means libjpeg is
         * stuck; stopping beats looping forever. */
        if (jpeg_read_scanlines(cinfo, rows, want) == 0)
            return band_fail(band, H5IMG_E_CORRUPT, "libjpeg returned no rows at row %u of %u", next,
                             band->height);
    }
    return H5IMG_OK;
}

static h5img_status run(struct session *s, h5img_jpeg_band *band)
{
    j_decompress_ptr cinfo = &s->cinfo;
    if (setjmp(s->errors.jump)) {
        jpeg_destroy_decompress(cinfo);
        return band->status;
    }
    jpeg_create_decompress(cinfo);
    s->progress.progress_monitor = on_progress;
    cinfo->progress = &s->progress;
    jpeg_mem_src(cinfo, band->data, (unsigned long)band->size);
    jpeg_read_header(cinfo, TRUE);
    /* The probe and libjpeg read the same (first) SOF, so this holds; the
     * check keeps a disagreement from writing outside `pixels`. */
    if (cinfo->image_width != band->width || cinfo->image_height != band->height) {
        band_fail(band, H5IMG_E_CORRUPT, "libjpeg reads a %ux%u frame where the header probe read %ux%u",
                  cinfo->image_width, cinfo->image_height, band->width, band->height);
        jpeg_destroy_decompress(cinfo);
        return band->status;
    }
    /* OpenCV 4.6 leaves libjpeg at these defaults (as TurboJPEG did):
     * integer inverse DCT, fancy upsampling, scale 1/1. */
    cinfo->out_color_space = band->space;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    jpeg_start_decompress(cinfo);
    if (band->started) band->started(band, cinfo);

    h5img_status status = H5IMG_OK;
    if (band->first_row && jpeg_skip_scanlines(cinfo, band->first_row) != band->first_row)
        status = band_fail(band, H5IMG_E_CORRUPT, "libjpeg could not skip to row %u of %u", band->first_row,
                           band->height);
    if (status == H5IMG_OK) status = read_rows(band, cinfo);
    /* Only the band that ends at the bottom reads on to EOI: that is where
     * trailing garbage or a missing EOI shows up, as in a one-band decode. */
    if (status == H5IMG_OK && band->end_row == cinfo->output_height) jpeg_finish_decompress(cinfo);
    jpeg_destroy_decompress(cinfo);
    return status;
}

h5img_status h5img_jpeg_decode_band(h5img_jpeg_band *band)
{
    struct session s;
    memset(&s, 0, sizeof s);
    band->status = H5IMG_OK;
    band->message[0] = '\0';
    s.cinfo.err = jpeg_std_error(&s.errors.pub);
    s.errors.pub.error_exit = on_error;
    s.errors.pub.emit_message = on_message;
    s.errors.pub.output_message = on_output;
    s.errors.band = band;
    return run(&s, band);
}
