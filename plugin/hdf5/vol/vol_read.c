/* vol_read.c: reads a decoded view: the stored bytes decoded under the frame's rule, then the caller's selections and memory type applied. */
#include "hdf5/vol/vol_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* One decoder kept between reads                                            */
/* ------------------------------------------------------------------------- */

/* A decoder keeps inflate state and scratch memory; reusing one saves their
 * set-up on every frame. Taken, not shared: two threads reading at once
 * (HDF5 built thread-safe serialises them anyway) get one each. */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static h5img_decoder *kept;

static h5img_decoder *take_decoder(void)
{
    pthread_mutex_lock(&kept_lock);
    h5img_decoder *decoder = kept;
    kept = NULL;
    pthread_mutex_unlock(&kept_lock);
    return decoder ? decoder : h5img_decoder_new();
}

static void give_back(h5img_decoder *decoder)
{
    pthread_mutex_lock(&kept_lock);
    if (!kept) {
        kept = decoder;
        decoder = NULL;
    }
    pthread_mutex_unlock(&kept_lock);
    h5img_decoder_free(decoder);
}

/* ------------------------------------------------------------------------- */
/* The last frame decoded for a partial read                                 */
/* ------------------------------------------------------------------------- */

/* Reading a frame row by row or tile by tile (h5py slicing, h5dump's
 * blocks) would decode it once per piece: the pixels of the last frame
 * read in pieces are kept, one frame in the whole process, until another
 * frame replaces them or the dataset closes. Whole-frame reads straight
 * into the caller's buffer keep nothing. */
#define KEEP_FRAME_BYTES ((size_t)128 * 1024 * 1024)

static struct {
    uint64_t serial; /* of the dataset object; 0: nothing kept */
    void *pixels;
    size_t size;
} last_frame;

/* The kept pixels of `dataset`, handed over to the caller, or NULL. */
static void *take_kept(const h5img_vol_object *dataset, size_t size)
{
    void *pixels = NULL;
    pthread_mutex_lock(&kept_lock);
    if (last_frame.serial == dataset->serial && last_frame.size == size) {
        pixels = last_frame.pixels;
        last_frame.serial = 0;
        last_frame.pixels = NULL;
    }
    pthread_mutex_unlock(&kept_lock);
    return pixels;
}

static void keep(const h5img_vol_object *dataset, void *pixels, size_t size)
{
    void *dropped = pixels;
    if (size <= KEEP_FRAME_BYTES) {
        pthread_mutex_lock(&kept_lock);
        dropped = last_frame.pixels;
        last_frame.serial = dataset->serial;
        last_frame.pixels = pixels;
        last_frame.size = size;
        pthread_mutex_unlock(&kept_lock);
    }
    free(dropped);
}

void h5img_vol_forget(const h5img_vol_object *dataset)
{
    void *dropped = NULL;
    pthread_mutex_lock(&kept_lock);
    if (last_frame.serial == dataset->serial) {
        dropped = last_frame.pixels;
        last_frame.serial = 0;
        last_frame.pixels = NULL;
    }
    pthread_mutex_unlock(&kept_lock);
    free(dropped);
}

__attribute__((destructor)) static void free_kept(void)
{
    h5img_decoder_free(kept);
    kept = NULL;
    free(last_frame.pixels);
    last_frame.pixels = NULL;
}

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------- */

/* Why a read failed, pushed only after everything is released. */
typedef struct failure {
    hid_t minor;
    char text[560];
} failure;

#define FAIL(f, minor_id, ...) (snprintf((f)->text, sizeof (f)->text, __VA_ARGS__), (f)->minor = (minor_id), -1)

static const char *rule_label(h5img_rule rule)
{
    return h5img_rule_name(rule);
}

/* The stored bytes decoded into `out` (the caller's buffer or ours). On
 * failure `out` is zeroed: a failed read never leaves partial pixels. */
static int decode_frame(h5img_vol_object *dataset, hid_t dxpl_id, void *out, size_t out_size, failure *f)
{
    const h5img_vol_view *view = &dataset->view;
    if (view->encoded_size > h5img_max_chunk_bytes())
        return FAIL(f, *H5API->H5E_READERROR_g, "%s: %llu stored bytes exceed the %zu-byte limit (H5IMG_MAX_CHUNK_BYTES)",
                    view->path, (unsigned long long)view->encoded_size, h5img_max_chunk_bytes());
    size_t size = (size_t)view->encoded_size;
    void *encoded = malloc(size);
    if (!encoded) return FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot allocate %zu bytes for the stored frame", view->path, size);
    hid_t type = h5img_vol_native_uint(1), all = H5S_ALL;
    if (H5API->H5VLdataset_read(1, &dataset->under_object, dataset->under_vol_id, &type, &all, &all, dxpl_id, &encoded,
                                NULL) < 0) {
        free(encoded);
        return FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot read its %zu stored bytes", view->path, size);
    }
    h5img_decoder *decoder = take_decoder();
    h5img_status status =
        decoder ? h5img_decoder_decode(decoder, encoded, size, &view->layout, out, out_size) : H5IMG_E_NOMEM;
    free(encoded);
    if (status == H5IMG_OK) {
        give_back(decoder);
        return 0;
    }
    memset(out, 0, out_size);
    (void)FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot decode its %s (%ux%u, %u channel(s), rule %s): %s", view->path,
         h5img_codec_name(view->info.codec), view->info.width, view->info.height, view->layout.channels,
         rule_label(view->layout.rule),
         decoder && h5img_decoder_message(decoder)[0] ? h5img_decoder_message(decoder) : h5img_strerror(status));
    h5img_decoder_free(decoder); /* its message is copied; a failed decoder is not worth keeping */
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Selections                                                                */
/* ------------------------------------------------------------------------- */

static int extent_is_view(hid_t space, const h5img_layout *layout)
{
    hsize_t dims[3] = {0};
    int rank = H5API->H5Sget_simple_extent_ndims(space);
    int want = layout->channels == 1 ? 2 : 3;
    if (rank != want || H5API->H5Sget_simple_extent_dims(space, dims, NULL) != want) return 0;
    return dims[0] == layout->height && dims[1] == layout->width && (want == 2 || dims[2] == layout->channels);
}

/* Every element of `space`, in row-major order: what the decoder writes. A
 * hyperslab selecting all of its extent is visited in that order too. */
static int selects_all_in_order(hid_t space, hssize_t points)
{
    H5S_sel_type type = H5API->H5Sget_select_type(space);
    return type == H5S_SEL_ALL || (type == H5S_SEL_HYPERSLABS && H5API->H5Sget_simple_extent_npoints(space) == points);
}

typedef struct source {
    const void *data;
    size_t size;
    int given;
} source;

static herr_t hand_over(const void **buf, size_t *bytes, void *data)
{
    source *s = data;
    if (s->given) return -1;
    *buf = s->data;
    *bytes = s->size;
    s->given = 1;
    return 0;
}

/* Decoded pixels -> the file selection's elements, in its order -> the
 * memory type -> the memory selection. `mem_space` < 0: one contiguous block. */
static int select_and_convert(const h5img_vol_view *view, const void *pixels, hid_t file_space, hid_t mem_type,
                              hid_t mem_space, hid_t dxpl_id, size_t points, void *buf, failure *f)
{
    hid_t pixel_type = h5img_vol_view_memory_type(view);
    size_t from = view->layout.element_size, to = H5API->H5Tget_size(mem_type);
    if (to == 0) return FAIL(f, *H5API->H5E_BADVALUE_g, "%s: the memory type has no size", view->path);
    size_t widest = from > to ? from : to;
    if (points > SIZE_MAX / widest)
        return FAIL(f, *H5API->H5E_READERROR_g, "%s: %zu elements of %zu bytes do not fit in memory", view->path, points,
                    widest);
    void *packed = malloc(points * widest);
    if (!packed)
        return FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot allocate %zu bytes for the selected elements", view->path,
                    points * widest);
    int status = 0;
    if (H5API->H5Dgather(file_space, pixels, pixel_type, points * from, packed, NULL, NULL) < 0)
        status = FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot gather the file selection from the decoded image",
                      view->path);
    else if (H5API->H5Tequal(pixel_type, mem_type) <= 0 &&
             H5API->H5Tconvert(pixel_type, mem_type, points, packed, NULL, dxpl_id) < 0)
        status = FAIL(f, *H5API->H5E_CANTCONVERT_g, "%s: cannot convert the decoded %s samples to the memory type",
                      view->path, from == 2 ? "uint16" : "uint8");
    else if (mem_space < 0)
        memcpy(buf, packed, points * to);
    else {
        source s = {packed, points * to, 0};
        if (H5API->H5Dscatter(hand_over, &s, mem_type, mem_space, buf) < 0)
            status = FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot scatter the elements into the memory selection",
                          view->path);
    }
    free(packed);
    return status;
}

static int read_view(h5img_vol_object *dataset, hid_t mem_type, hid_t mem_space_id, hid_t file_space_id,
                     hid_t dxpl_id, void *buf, failure *f)
{
    const h5img_vol_view *view = &dataset->view;
    size_t frame_bytes = h5img_layout_bytes(&view->layout);
    hssize_t frame_points = (hssize_t)(frame_bytes / view->layout.element_size);
    hid_t own_space = -1;
    int status = 0;

    hid_t file_space = file_space_id;
    if (file_space == H5S_ALL) file_space = own_space = h5img_vol_view_space(view);
    if (file_space < 0) return FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot make the image's dataspace", view->path);
    if (!extent_is_view(file_space, &view->layout)) {
        status = FAIL(f, *H5API->H5E_BADVALUE_g, "%s: the file dataspace is not the decoded image's (%u, %u%s)",
                      view->path, view->layout.height, view->layout.width, view->layout.channels == 1 ? "" : ", C");
        goto done;
    }
    if (mem_space_id == H5S_PLIST) {
        status = FAIL(f, *H5API->H5E_UNSUPPORTED_g, "%s: a memory dataspace from the transfer property list (H5S_PLIST) "
                      "is not supported for decoded images", view->path);
        goto done;
    }
    /* H5S_ALL: the buffer is shaped like the file's extent, same selection. */
    hid_t mem_space = mem_space_id == H5S_ALL ? file_space : mem_space_id == H5S_BLOCK ? -1 : mem_space_id;
    hssize_t points = H5API->H5Sget_select_npoints(file_space);
    hssize_t mem_points = mem_space < 0 ? points : H5API->H5Sget_select_npoints(mem_space);
    if (points < 0 || mem_points < 0) {
        status = FAIL(f, *H5API->H5E_BADVALUE_g, "%s: cannot count the selected elements", view->path);
        goto done;
    }
    if (points != mem_points) {
        status = FAIL(f, *H5API->H5E_BADVALUE_g,
                      "%s: the memory selection has %lld elements but the file selection %lld", view->path,
                      (long long)mem_points, (long long)points);
        goto done;
    }
    if (points == 0) goto done;

    int whole = selects_all_in_order(file_space, frame_points) && points == frame_points &&
                (mem_space < 0 || selects_all_in_order(mem_space, points));
    if (whole && H5API->H5Tequal(mem_type, h5img_vol_view_memory_type(view)) > 0) {
        /* The common case costs no frame-sized copy: straight into the caller's buffer. */
        status = decode_frame(dataset, dxpl_id, buf, frame_bytes, f);
        goto done;
    }
    void *pixels = take_kept(dataset, frame_bytes);
    if (!pixels) {
        if (!(pixels = malloc(frame_bytes))) {
            status = FAIL(f, *H5API->H5E_READERROR_g, "%s: cannot allocate %zu bytes for the decoded image",
                          view->path, frame_bytes);
            goto done;
        }
        status = decode_frame(dataset, dxpl_id, pixels, frame_bytes, f);
    }
    if (status == 0)
        status = select_and_convert(view, pixels, file_space, mem_type, mem_space, dxpl_id, (size_t)points, buf, f);
    if (status == 0)
        keep(dataset, pixels, frame_bytes);
    else
        free(pixels);
done:
    if (own_space >= 0) H5API->H5Sclose(own_space);
    return status;
}

herr_t h5img_vol_read_decoded(h5img_vol_object *dataset, hid_t mem_type_id, hid_t mem_space_id, hid_t file_space_id,
                              hid_t dxpl_id, void *buf)
{
    failure f = {0};
    if (read_view(dataset, mem_type_id, mem_space_id, file_space_id, dxpl_id, buf, &f) == 0) return 0;
    H5IMG_VOL_ERROR(*H5API->H5E_DATASET_g, f.minor, "%s", f.text);
    return -1;
}
