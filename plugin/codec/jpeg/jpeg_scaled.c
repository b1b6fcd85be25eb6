/* jpeg_scaled.c: decode a JPEG at 1/8, 1/4 or 1/2 size (libjpeg's DCT scaling), the smallest that covers a wanted size: for previews, not bit-exact. */
#include "jpeg_private.h"

#include <jerror.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The cap jpeg_band.c puts on progressive scans, for the same reason. */
#define MAX_SCANS 500

struct scaled_errors {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    h5img_status status;
    char text[JMSG_LENGTH_MAX];
};

/* Everything libjpeg touches lives here, outside the function calling
 * setjmp, so nothing is indeterminate after a longjmp. */
struct scaled_session {
    struct jpeg_decompress_struct cinfo;
    struct scaled_errors errors;
    struct jpeg_progress_mgr progress;
    uint8_t *pixels;
};

static void on_error(j_common_ptr cinfo)
{
    struct scaled_errors *e = (struct scaled_errors *)cinfo->err;
    cinfo->err->format_message(cinfo, e->text);
    int code = cinfo->err->msg_code;
    e->status = code == JWRN_JPEG_EOF ? H5IMG_E_TRUNCATED
                : code == JERR_SOF_UNSUPPORTED ? H5IMG_E_UNSUPPORTED
                                               : H5IMG_E_CORRUPT;
    longjmp(e->jump, 1);
}

/* As in a full decode, a warning (data cut short, corrupt entropy data)
 * ends the decode: a preview shows the frame or says it is damaged. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) on_error(cinfo);
}

static void on_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number <= MAX_SCANS) return;
    struct scaled_errors *e = (struct scaled_errors *)cinfo->err;
    snprintf(e->text, sizeof e->text, "Progressive JPEG image has more than %d scans", MAX_SCANS);
    e->status = H5IMG_E_CORRUPT;
    longjmp(e->jump, 1);
}

static uint32_t scaled_side(uint32_t side, uint32_t denominator)
{
    return (uint32_t)(((uint64_t)side + denominator - 1) / denominator);
}

/* The largest of 8, 4, 2 whose scaled image still covers the wanted size; 1 if none does. */
static uint32_t choose_denominator(const h5img_info *info, uint32_t min_width, uint32_t min_height)
{
    for (uint32_t d = 8; d > 1; d /= 2)
        if (scaled_side(info->width, d) >= min_width && scaled_side(info->height, d) >= min_height) return d;
    return 1;
}

static h5img_status run(struct scaled_session *s, const uint8_t *data, size_t size, const h5img_info *info,
                        h5img_jpeg_scaled *out)
{
    j_decompress_ptr cinfo = &s->cinfo;
    if (setjmp(s->errors.jump)) {
        jpeg_destroy_decompress(cinfo);
        free(s->pixels);
        s->pixels = NULL;
        return s->errors.status;
    }
    jpeg_create_decompress(cinfo);
    s->progress.progress_monitor = on_progress;
    cinfo->progress = &s->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->image_width != info->width || cinfo->image_height != info->height) {
        snprintf(s->errors.text, sizeof s->errors.text, "libjpeg reads a %ux%u frame where the header probe read %ux%u",
                 cinfo->image_width, cinfo->image_height, info->width, info->height);
        jpeg_destroy_decompress(cinfo);
        return H5IMG_E_CORRUPT;
    }
    cinfo->out_color_space = out->channels == 1 ? JCS_GRAYSCALE : JCS_EXT_RGB;
    cinfo->scale_num = 1;
    cinfo->scale_denom = out->denominator;
    cinfo->dct_method = JDCT_ISLOW;
    jpeg_calc_output_dimensions(cinfo);
    out->width = cinfo->output_width;
    out->height = cinfo->output_height;
    /* The scaled size is at most the probed one, which the caller checked
     * against the pixel limit, so this allocation is bounded. */
    size_t row_bytes = (size_t)out->width * out->channels;
    s->pixels = malloc(row_bytes * out->height);
    if (!s->pixels) {
        snprintf(s->errors.text, sizeof s->errors.text, "cannot allocate %zu bytes for a %ux%u scaled decode",
                 row_bytes * out->height, out->width, out->height);
        jpeg_destroy_decompress(cinfo);
        return H5IMG_E_NOMEM;
    }
    jpeg_start_decompress(cinfo);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = s->pixels + (size_t)cinfo->output_scanline * row_bytes;
        if (jpeg_read_scanlines(cinfo, &row, 1) == 0) {
            snprintf(s->errors.text, sizeof s->errors.text, "libjpeg returned no rows at row %u of %u",
                     cinfo->output_scanline, cinfo->output_height);
            jpeg_destroy_decompress(cinfo);
            free(s->pixels);
            s->pixels = NULL;
            return H5IMG_E_CORRUPT;
        }
    }
    jpeg_finish_decompress(cinfo);
    jpeg_destroy_decompress(cinfo);
    out->pixels = s->pixels;
    return H5IMG_OK;
}

h5img_status h5img_jpeg_decode_scaled(const uint8_t *data, size_t size, uint32_t min_width, uint32_t min_height,
                                      int gray, h5img_jpeg_scaled *out, char *message, size_t message_size)
{
    memset(out, 0, sizeof *out);
    if (message && message_size) message[0] = '\0';
    h5img_info info;
    h5img_status status = h5img_jpeg_probe(data, size, &info);
    if (status != H5IMG_OK) {
        if (message) snprintf(message, message_size, "JPEG header does not parse: %s", h5img_strerror(status));
        return status;
    }
    if (info.color_type == 4) {
        if (message) snprintf(message, message_size, "JPEG %ux%u has 4 components (CMYK/YCCK)", info.width, info.height);
        return H5IMG_E_UNSUPPORTED;
    }
    if (info.bit_depth != 8) {
        if (message) snprintf(message, message_size, "JPEG %ux%u has %u-bit samples", info.width, info.height,
                              info.bit_depth);
        return H5IMG_E_DEPTH;
    }
    if ((uint64_t)info.width * info.height > h5img_max_pixels()) {
        if (message) snprintf(message, message_size, "JPEG %ux%u exceeds the limit of %llu pixels", info.width,
                              info.height, (unsigned long long)h5img_max_pixels());
        return H5IMG_E_LIMIT;
    }
    out->channels = gray ? 1 : 3;
    out->denominator = choose_denominator(&info, min_width, min_height);
    struct scaled_session s;
    memset(&s, 0, sizeof s);
    s.cinfo.err = jpeg_std_error(&s.errors.pub);
    s.errors.pub.error_exit = on_error;
    s.errors.pub.emit_message = on_message;
    s.errors.pub.output_message = on_output;
    status = run(&s, data, size, &info, out);
    if (status != H5IMG_OK) {
        if (message) snprintf(message, message_size, "JPEG %ux%u at 1/%u: %s", info.width, info.height,
                              out->denominator, s.errors.text);
        out->pixels = NULL;
    }
    return status;
}
