/* reader.c: parallel reading of image datasets: HDF5 reads on the calling thread, decoding on a worker pool, in-order delivery. */
#include "core/decoder_state.h"
#include "hdf5/hdf5_api.h"
#include "hdf5/image_detect.h"
#include "reader_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The public header passes hid_t as int64_t; this keeps that honest. */
_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is expected to be a 64-bit integer (HDF5 >= 1.10)");

/* A frame's message may name its output file (h5imgdump's writer refuses
 * paths of PATH_MAX bytes or more before naming them) and then give the
 * reason, so it holds a whole path and a sentence around it. */
#define READER_MESSAGE_SIZE (PATH_MAX + 1024)
/* HDF5's sentences name objects, and link names have no length limit. */
#define READER_REASON_SIZE 1024

/* Every HDF5 call goes through the table of hdf5_api.h: in the linkable
 * library the HDF5 it was linked with, in the loadable plugin the one that
 * loaded it (h5img_reader_run checks that one did). */
#define HDF5 (h5img_hdf5_api())

enum slot_state { SLOT_EMPTY, SLOT_READY, SLOT_DONE };

/* One frame in flight. Buffers only grow and are reused for later frames,
 * so a long run allocates about max_in_flight frames' worth in total. */
struct slot {
    h5img_frame frame;
    enum slot_state state;
    unsigned char *encoded;
    size_t encoded_capacity;
    unsigned char *pixels;
    size_t pixels_capacity;
    char message[READER_MESSAGE_SIZE];
};

struct h5img_reader {
    h5img_reader_options options;
    unsigned threads;
    unsigned nslots;
    char message[READER_MESSAGE_SIZE];

    /* Run state, guarded by `lock`. Frames [delivered, read_count) occupy
     * slots; workers claim them in order through claim_next. */
    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    pthread_cond_t frame_done;
    struct slot *slots;
    size_t read_count;
    size_t claim_next;
    size_t delivered;
    int finished;
    int stopped;
    h5img_deliver_fn deliver;
};

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

static h5img_status say(char *message, size_t size, h5img_status status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static h5img_status say(char *message, size_t size, h5img_status status, const char *format, ...)
{
    if (message && size) {
        va_list args;
        va_start(args, format);
        vsnprintf(message, size, format, args);
        va_end(args);
    }
    return status;
}

/* Grow a reusable buffer; keeps the old one on failure. */
static int reserve(unsigned char **buffer, size_t *capacity, size_t size)
{
    if (size <= *capacity && *buffer) return 1;
    unsigned char *grown = malloc(size ? size : 1);
    if (!grown) return 0;
    free(*buffer);
    *buffer = grown;
    *capacity = size;
    return 1;
}

/* The API call's sentence on HDF5's error stack of this thread and, as h5py
 * shows it, the innermost cause in parentheses ("unable to open dataset
 * (object 'x' doesn't exist)"), so a frame's message says what HDF5
 * objected to rather than just "failed". */
struct hdf5_errors {
    const char *outer, *inner;
};

static herr_t keep_outer_and_inner(unsigned n, const H5E_error2_t *error, void *data)
{
    struct hdf5_errors *seen = data;
    if (!error->desc || !error->desc[0]) return 0;
    if (n == 0) seen->outer = error->desc;
    seen->inner = error->desc;
    return 0;
}

static const char *hdf5_reason(char *buffer)
{
    struct hdf5_errors seen = {NULL, NULL};
    buffer[0] = '\0';
    HDF5->H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_outer_and_inner, &seen);
    if (seen.outer && seen.inner != seen.outer && strcmp(seen.outer, seen.inner) != 0)
        snprintf(buffer, READER_REASON_SIZE, "%s (%s)", seen.outer, seen.inner);
    else if (seen.outer || seen.inner)
        snprintf(buffer, READER_REASON_SIZE, "%s", seen.outer ? seen.outer : seen.inner);
    return buffer[0] ? buffer : "no detail from HDF5";
}

h5img_status h5img_default_legacy_layout(const char *path, const h5img_info *info, uint32_t flags,
                                         h5img_layout *layout)
{
    if (!info || !layout) return H5IMG_E_ARGUMENT;
    /* The same decision h5imgrepack, h5imgdump and the VOL connector make (hdf5/image_detect.h). */
    h5img_frame_layout(h5img_frame_default_rule(path), info, flags, layout);
    return h5img_layout_check(layout);
}

/* ------------------------------------------------------------------------- */
/* Dataset classification and reading (HDF5 thread only)                     */
/* ------------------------------------------------------------------------- */

/* Where in the pipeline the h5img filter sits, with its cd_values; -1 if absent. */
static int find_filter(hid_t dcpl, unsigned *cd_values, size_t *cd_nelmts, unsigned *nfilters)
{
    int count = HDF5->H5Pget_nfilters(dcpl);
    *nfilters = count > 0 ? (unsigned)count : 0;
    for (int i = 0; i < count; i++) {
        unsigned flags = 0, config = 0;
        size_t n = *cd_nelmts;
        H5Z_filter_t id = HDF5->H5Pget_filter2(dcpl, (unsigned)i, &flags, &n, cd_values, 0, NULL, &config);
        if (id == H5IMG_FILTER_ID) {
            *cd_nelmts = n;
            return i;
        }
    }
    return -1;
}

/* Dataspace rank/dims and chunking must agree with cd_values: one chunk of
 * (H, W) or (H, W, C) holding the whole image. */
static h5img_status check_repacked_shape(hid_t dcpl, h5img_dataset_desc *desc)
{
    const h5img_layout *l = &desc->params.layout;
    int expect_rank = l->channels == 1 ? 2 : 3;
    hsize_t chunk[H5IMG_DESC_MAX_RANK] = {0};
    int chunk_rank = HDF5->H5Pget_chunk(dcpl, H5IMG_DESC_MAX_RANK, chunk);
    int rank_ok = desc->rank == expect_rank || (desc->rank == 3 && l->channels == 1 && desc->dims[2] == 1);
    if (!rank_ok || desc->dims[0] != l->height || desc->dims[1] != l->width ||
        (desc->rank == 3 && desc->dims[2] != l->channels))
        return say(desc->message, sizeof desc->message, H5IMG_E_SHAPE,
                   "dataset shape does not match its cd_values (%ux%ux%u)", l->height, l->width, l->channels);
    if (desc->type_size != l->element_size)
        return say(desc->message, sizeof desc->message, H5IMG_E_CD_VALUES,
                   "dataset elements are %zu bytes but cd_values say %u", desc->type_size, l->element_size);
    if (chunk_rank != desc->rank || chunk[0] != desc->dims[0] || chunk[1] != desc->dims[1])
        return say(desc->message, sizeof desc->message, H5IMG_E_SHAPE,
                   "dataset is not stored as one chunk holding the whole image");
    if (desc->nfilters != 1)
        return say(desc->message, sizeof desc->message, H5IMG_E_UNSUPPORTED,
                   "pipeline has %u filters; only the h5img filter alone can be read raw", desc->nfilters);
    return H5IMG_OK;
}

static h5img_status describe_repacked(hid_t dcpl, h5img_dataset_desc *desc, const unsigned *cd, size_t n)
{
    desc->storage = H5IMG_STORAGE_REPACKED;
    h5img_status status = h5img_params_from_cd(cd, n, &desc->params);
    if (status != H5IMG_OK) {
        desc->params_status = status;
        say(desc->message, sizeof desc->message, status, "cd_values of the h5img filter: %s", h5img_strerror(status));
        return H5IMG_OK;
    }
    desc->params_status = check_repacked_shape(dcpl, desc);
    return H5IMG_OK;
}

/* Rank, dims and element size; H5IMG_E_HDF5 if the dataspace cannot be read. */
static h5img_status describe_space(hid_t dataset, h5img_dataset_desc *desc, int *one_byte_integer)
{
    hid_t space = HDF5->H5Dget_space(dataset);
    hid_t type = HDF5->H5Dget_type(dataset);
    h5img_status status = H5IMG_E_HDF5;
    if (space >= 0 && type >= 0) {
        int rank = HDF5->H5Sget_simple_extent_ndims(space);
        if (rank >= 0 && rank <= H5IMG_DESC_MAX_RANK &&
            HDF5->H5Sget_simple_extent_dims(space, desc->dims, NULL) >= 0) {
            desc->rank = rank;
            desc->type_size = HDF5->H5Tget_size(type);
            *one_byte_integer = HDF5->H5Tget_class(type) == H5T_INTEGER && desc->type_size == 1;
            status = H5IMG_OK;
        } else if (rank > H5IMG_DESC_MAX_RANK) {
            desc->rank = rank;
            status = H5IMG_OK;
        }
    }
    if (type >= 0) HDF5->H5Tclose(type);
    if (space >= 0) HDF5->H5Sclose(space);
    return status;
}

h5img_status h5img_describe_dataset(hid_t dataset, h5img_dataset_desc *desc)
{
    char reason[READER_REASON_SIZE];
    memset(desc, 0, sizeof *desc);
    desc->storage = H5IMG_STORAGE_NONE;
    desc->params_status = H5IMG_E_ARGUMENT;
    int one_byte_integer = 0;
    if (describe_space(dataset, desc, &one_byte_integer) != H5IMG_OK)
        return say(desc->message, sizeof desc->message, H5IMG_E_HDF5, "cannot read the dataspace: %s",
                   hdf5_reason(reason));

    hid_t dcpl = HDF5->H5Dget_create_plist(dataset);
    if (dcpl < 0)
        return say(desc->message, sizeof desc->message, H5IMG_E_HDF5, "cannot read the creation properties: %s",
                   hdf5_reason(reason));
    unsigned cd[32];
    size_t n = sizeof cd / sizeof cd[0];
    h5img_status status = H5IMG_OK;
    if (find_filter(dcpl, cd, &n, &desc->nfilters) >= 0)
        status = describe_repacked(dcpl, desc, cd, n);
    else if (desc->rank == 1 && one_byte_integer)
        desc->storage = H5IMG_STORAGE_LEGACY;
    HDF5->H5Pclose(dcpl);
    return status;
}

static const hsize_t origin[H5IMG_DESC_MAX_RANK] = {0};

h5img_status h5img_stored_size(hid_t dataset, const h5img_dataset_desc *desc, size_t *size, char *message,
                               size_t message_size)
{
    char reason[READER_REASON_SIZE];
    *size = 0;
    if (desc->storage == H5IMG_STORAGE_LEGACY) {
        *size = (size_t)desc->dims[0];
        return H5IMG_OK;
    }
    if (desc->storage != H5IMG_STORAGE_REPACKED)
        return say(message, message_size, H5IMG_E_ARGUMENT, "not an image dataset");
    if (desc->params_status != H5IMG_OK) return say(message, message_size, desc->params_status, "%s", desc->message);
    hsize_t bytes = 0;
    if (!HDF5->H5Dget_chunk_storage_size)
        return say(message, message_size, H5IMG_E_UNSUPPORTED,
                   "HDF5 %u.%u.%u has no H5Dget_chunk_storage_size (1.10.2 or newer has)", HDF5->version[0],
                   HDF5->version[1], HDF5->version[2]);
    if (HDF5->H5Dget_chunk_storage_size(dataset, origin, &bytes) < 0)
        return say(message, message_size, H5IMG_E_HDF5, "cannot find the stored chunk: %s", hdf5_reason(reason));
    *size = (size_t)bytes;
    return H5IMG_OK;
}

static h5img_status read_repacked(hid_t dataset, unsigned char *buffer, size_t size, char *message,
                                  size_t message_size)
{
    char reason[READER_REASON_SIZE];
    uint32_t skipped = 0;
    herr_t got = h5img_hdf5_read_chunk(HDF5, dataset, origin, &skipped, buffer, size);
    if (got == -2)
        return say(message, message_size, H5IMG_E_UNSUPPORTED,
                   "HDF5 %u.%u.%u has no H5Dread_chunk (1.10.2 or newer has)", HDF5->version[0], HDF5->version[1],
                   HDF5->version[2]);
    if (got == -3)
        return say(message, message_size, H5IMG_E_HDF5, "the stored chunk is larger than the %zu bytes HDF5 reported",
                   size);
    if (got < 0)
        return say(message, message_size, H5IMG_E_HDF5, "cannot read the stored chunk: %s", hdf5_reason(reason));
    if (skipped & 1u)
        return say(message, message_size, H5IMG_E_UNSUPPORTED,
                   "chunk was stored without the h5img filter applied (filter mask 0x%x)", (unsigned)skipped);
    return H5IMG_OK;
}

static h5img_status read_legacy(hid_t dataset, unsigned char *buffer, char *message, size_t message_size)
{
    char reason[READER_REASON_SIZE];
    if (HDF5->H5Dread(dataset, HDF5->H5T_NATIVE_UCHAR_g, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0)
        return say(message, message_size, H5IMG_E_HDF5, "cannot read the encoded bytes: %s", hdf5_reason(reason));
    return H5IMG_OK;
}

h5img_status h5img_read_stored(hid_t dataset, const h5img_dataset_desc *desc, unsigned char **buffer,
                               size_t *capacity, size_t *size, char *message, size_t message_size)
{
    size_t stored = 0;
    *size = 0;
    h5img_status status = h5img_stored_size(dataset, desc, &stored, message, message_size);
    if (status != H5IMG_OK) return status;
    if (stored == 0) return say(message, message_size, H5IMG_E_TRUNCATED, "no stored bytes (never written)");
    if (stored > h5img_max_chunk_bytes())
        return say(message, message_size, H5IMG_E_LIMIT, "%zu stored bytes exceed the %zu-byte limit", stored,
                   h5img_max_chunk_bytes());
    if (!reserve(buffer, capacity, stored))
        return say(message, message_size, H5IMG_E_NOMEM, "cannot allocate %zu bytes", stored);
    status = desc->storage == H5IMG_STORAGE_REPACKED ? read_repacked(dataset, *buffer, stored, message, message_size)
                                                      : read_legacy(dataset, *buffer, message, message_size);
    if (status == H5IMG_OK) *size = stored;
    return status;
}

/* ------------------------------------------------------------------------- */
/* One frame on the reading thread                                           */
/* ------------------------------------------------------------------------- */

/* Legacy frames get their layout from the header and the chooser. Raw mode
 * only needs a recognisable signature; a header that does not parse leaves
 * the layout unknown but the bytes deliverable. */
static h5img_status legacy_layout(const h5img_reader *r, struct slot *s)
{
    h5img_frame *f = &s->frame;
    h5img_info info;
    h5img_status status = h5img_probe(f->encoded, f->encoded_size, &info);
    if (status == H5IMG_E_UNKNOWN_FORMAT) {
        const uint8_t *b = f->encoded;
        return say(s->message, sizeof s->message, status, "stored bytes start %02x %02x %02x %02x: neither PNG nor JPEG",
                   b[0], f->encoded_size > 1 ? b[1] : 0, f->encoded_size > 2 ? b[2] : 0,
                   f->encoded_size > 3 ? b[3] : 0);
    }
    if (status != H5IMG_OK) {
        if (r->options.mode == H5IMG_READ_RAW) return H5IMG_OK;
        return say(s->message, sizeof s->message, status, "%s header: %s", h5img_codec_name(f->codec),
                   h5img_strerror(status));
    }
    h5img_layout layout;
    memset(&layout, 0, sizeof layout);
    status = r->options.legacy_layout
                 ? r->options.legacy_layout(r->options.user, f->path, &info, &layout)
                 : h5img_default_legacy_layout(f->path, &info, r->options.legacy_flags, &layout);
    if (status == H5IMG_OK) {
        f->layout = layout;
    } else if (r->options.mode != H5IMG_READ_RAW) {
        return say(s->message, sizeof s->message, status, "no output layout for a %ux%u %s with %u channel(s): %s",
                   info.width, info.height, h5img_codec_name(info.codec), info.channels, h5img_strerror(status));
    }
    return H5IMG_OK;
}

static h5img_status read_into_slot(const h5img_reader *r, hid_t file, struct slot *s)
{
    h5img_frame *f = &s->frame;
    char reason[READER_REASON_SIZE];
    hid_t dataset = HDF5->H5Dopen2(file, f->path, H5P_DEFAULT);
    if (dataset < 0)
        return say(s->message, sizeof s->message, H5IMG_E_HDF5, "cannot open the dataset: %s", hdf5_reason(reason));

    h5img_dataset_desc desc;
    h5img_status status = h5img_describe_dataset(dataset, &desc);
    if (status != H5IMG_OK) {
        say(s->message, sizeof s->message, status, "%s", desc.message);
    } else if (desc.storage == H5IMG_STORAGE_NONE) {
        status = say(s->message, sizeof s->message, H5IMG_E_UNSUPPORTED,
                     "not an image dataset (neither h5img-filtered nor 1-D uint8)");
    } else {
        f->storage = desc.storage;
        status = h5img_read_stored(dataset, &desc, &s->encoded, &s->encoded_capacity, &f->encoded_size, s->message,
                                   sizeof s->message);
    }
    HDF5->H5Dclose(dataset);
    if (status != H5IMG_OK) return status;

    f->encoded = s->encoded;
    f->codec = h5img_detect(f->encoded, f->encoded_size);
    if (desc.storage == H5IMG_STORAGE_REPACKED) {
        f->layout = desc.params.layout;
        if (r->options.mode == H5IMG_READ_RAW && f->codec == H5IMG_CODEC_UNKNOWN)
            return say(s->message, sizeof s->message, H5IMG_E_UNKNOWN_FORMAT,
                       "stored chunk of %zu bytes is neither PNG nor JPEG", f->encoded_size);
        return H5IMG_OK;
    }
    return legacy_layout(r, s);
}

static void prepare_slot(struct slot *s, size_t index, const char *path)
{
    memset(&s->frame, 0, sizeof s->frame);
    s->message[0] = '\0';
    s->frame.index = index;
    s->frame.path = path;
    s->frame.codec = H5IMG_CODEC_UNKNOWN;
    s->frame.message = s->message;
}

/* ------------------------------------------------------------------------- */
/* Workers                                                                   */
/* ------------------------------------------------------------------------- */

static h5img_status decode_slot(h5img_decoder *decoder, struct slot *s)
{
    h5img_frame *f = &s->frame;
    size_t bytes = h5img_layout_bytes(&f->layout);
    if (bytes == 0) return say(s->message, sizeof s->message, H5IMG_E_ARGUMENT, "no output layout for this frame");
    if (!reserve(&s->pixels, &s->pixels_capacity, bytes))
        return say(s->message, sizeof s->message, H5IMG_E_NOMEM, "cannot allocate %zu bytes for the pixels", bytes);
    h5img_status status = h5img_decoder_decode(decoder, f->encoded, f->encoded_size, &f->layout, s->pixels, bytes);
    if (status != H5IMG_OK)
        return say(s->message, sizeof s->message, status, "%s", h5img_decoder_message(decoder)[0]
                                                                     ? h5img_decoder_message(decoder)
                                                                     : h5img_strerror(status));
    f->pixels = s->pixels;
    f->pixels_size = bytes;
    return H5IMG_OK;
}

static void process_slot(h5img_reader *r, h5img_decoder *decoder, struct slot *s)
{
    h5img_frame *f = &s->frame;
    if (f->status == H5IMG_OK && r->options.mode == H5IMG_READ_DECODE) f->status = decode_slot(decoder, s);
    if (f->status == H5IMG_OK && r->options.work) {
        f->status = r->options.work(r->options.user, f, s->message, sizeof s->message);
        if (f->status != H5IMG_OK && !s->message[0]) say(s->message, sizeof s->message, f->status, "%s", h5img_strerror(f->status));
    }
    if (f->status != H5IMG_OK) f->pixels = NULL, f->pixels_size = 0;
}

static void *worker_main(void *arg)
{
    h5img_reader *r = arg;
    h5img_decoder *decoder = h5img_decoder_new();
    /* The reader's parallelism is across frames, one per worker: that is
     * what `threads` (h5imgdump -j N) promises, and splitting each JPEG over
     * a further thread would oversubscribe the cores it was given. */
    if (decoder) h5img_decoder_set_threads(decoder, 1);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->claim_next == r->read_count && !r->finished) pthread_cond_wait(&r->work_ready, &r->lock);
        if (r->claim_next == r->read_count) break;
        struct slot *s = &r->slots[r->claim_next % r->nslots];
        r->claim_next++;
        pthread_mutex_unlock(&r->lock);
        if (decoder) {
            process_slot(r, decoder, s);
        } else if (s->frame.status == H5IMG_OK) {
            s->frame.status = say(s->message, sizeof s->message, H5IMG_E_NOMEM, "cannot allocate a decoder");
        }
        pthread_mutex_lock(&r->lock);
        s->state = SLOT_DONE;
        pthread_cond_signal(&r->frame_done);
    }
    pthread_mutex_unlock(&r->lock);
    h5img_decoder_free(decoder);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* The run                                                                   */
/* ------------------------------------------------------------------------- */

/* Hand finished frames over in order, waiting for the head frame until at
 * least `need` frames are delivered. Called and returns with the lock held. */
static void pump(h5img_reader *r, size_t need)
{
    while (!r->stopped && r->delivered < r->read_count) {
        struct slot *s = &r->slots[r->delivered % r->nslots];
        if (s->state != SLOT_DONE) {
            if (r->delivered >= need) break;
            pthread_cond_wait(&r->frame_done, &r->lock);
            continue;
        }
        pthread_mutex_unlock(&r->lock);
        int halt = r->deliver(r->options.user, &s->frame);
        pthread_mutex_lock(&r->lock);
        s->state = SLOT_EMPTY;
        r->delivered++;
        if (halt) r->stopped = 1;
    }
}

static void read_all(h5img_reader *r, hid_t file, const char *const *paths, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        pthread_mutex_lock(&r->lock);
        if (i >= r->nslots) pump(r, i + 1 - r->nslots);
        int stop = r->stopped;
        pthread_mutex_unlock(&r->lock);
        if (stop) return;

        struct slot *s = &r->slots[i % r->nslots];
        prepare_slot(s, i, paths[i]);
        s->frame.status = paths[i] ? read_into_slot(r, file, s)
                                   : say(s->message, sizeof s->message, H5IMG_E_ARGUMENT, "NULL path");
        if (s->frame.status != H5IMG_OK) s->frame.encoded = NULL, s->frame.encoded_size = 0;

        pthread_mutex_lock(&r->lock);
        s->state = SLOT_READY;
        r->read_count = i + 1;
        pthread_cond_signal(&r->work_ready);
        pump(r, 0);
        pthread_mutex_unlock(&r->lock);
    }
}

static void free_slots(h5img_reader *r)
{
    if (!r->slots) return;
    for (unsigned i = 0; i < r->nslots; i++) {
        free(r->slots[i].encoded);
        free(r->slots[i].pixels);
    }
    free(r->slots);
    r->slots = NULL;
}

static unsigned start_workers(h5img_reader *r, pthread_t *threads)
{
    unsigned started = 0;
    while (started < r->threads && pthread_create(&threads[started], NULL, worker_main, r) == 0) started++;
    return started;
}

static void finish_and_join(h5img_reader *r, pthread_t *threads, unsigned started)
{
    pthread_mutex_lock(&r->lock);
    r->finished = 1;
    pthread_cond_broadcast(&r->work_ready);
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < started; i++) pthread_join(threads[i], NULL);
}

h5img_status h5img_reader_run(h5img_reader *reader, int64_t file_id, const char *const *paths, size_t count,
                              h5img_deliver_fn deliver)
{
    if (!reader) return H5IMG_E_ARGUMENT;
    h5img_reader *r = reader;
    r->message[0] = '\0';
    if (!deliver || (count && !paths))
        return say(r->message, sizeof r->message, H5IMG_E_ARGUMENT, "no delivery callback or no path list");
    if (count == 0) return H5IMG_OK;
    if (!HDF5)
        return say(r->message, sizeof r->message, H5IMG_E_HDF5,
                   "this copy of h5img is bound to no HDF5 library yet: the HDF5 that opened the file must load it "
                   "first (as a filter plugin: from Python, import h5img does)");

    r->slots = calloc(r->nslots, sizeof *r->slots);
    pthread_t *threads = calloc(r->threads, sizeof *threads);
    if (!r->slots || !threads) {
        free(threads);
        free_slots(r);
        return say(r->message, sizeof r->message, H5IMG_E_NOMEM, "cannot allocate %u frame slots", r->nslots);
    }
    r->read_count = r->claim_next = r->delivered = 0;
    r->finished = r->stopped = 0;
    r->deliver = deliver;

    unsigned started = start_workers(r, threads);
    h5img_status status = H5IMG_OK;
    if (started == 0) {
        status = say(r->message, sizeof r->message, H5IMG_E_NOMEM, "cannot start any worker thread");
    } else {
        /* Per-frame HDF5 failures are reported in the frame's message, so
         * HDF5's own stack printing is silenced on this thread meanwhile. */
        H5E_auto2_t saved_func = NULL;
        void *saved_data = NULL;
        HDF5->H5Eget_auto2(H5E_DEFAULT, &saved_func, &saved_data);
        HDF5->H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        read_all(r, (hid_t)file_id, paths, count);
        pthread_mutex_lock(&r->lock);
        pump(r, r->read_count);
        pthread_mutex_unlock(&r->lock);
        HDF5->H5Eset_auto2(H5E_DEFAULT, saved_func, saved_data);
    }
    finish_and_join(r, threads, started);
    free(threads);
    free_slots(r);
    return status;
}

/* ------------------------------------------------------------------------- */
/* Handle                                                                    */
/* ------------------------------------------------------------------------- */

void h5img_reader_options_init(h5img_reader_options *options)
{
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->mode = H5IMG_READ_DECODE;
}

static unsigned online_processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

h5img_reader *h5img_reader_new(const h5img_reader_options *options)
{
    if (!options || (options->mode != H5IMG_READ_DECODE && options->mode != H5IMG_READ_RAW) ||
        (options->legacy_flags & ~H5IMG_FLAGS_KNOWN))
        return NULL;
    h5img_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->options = *options;
    r->threads = options->threads ? options->threads : online_processors();
    if (r->threads > 1024) r->threads = 1024;
    r->nslots = options->max_in_flight ? options->max_in_flight : 2 * r->threads;
    if (r->nslots < 1) r->nslots = 1;
    int made = 0;
    if (pthread_mutex_init(&r->lock, NULL) == 0) made++;
    if (made == 1 && pthread_cond_init(&r->work_ready, NULL) == 0) made++;
    if (made == 2 && pthread_cond_init(&r->frame_done, NULL) == 0) made++;
    if (made == 3) return r;
    if (made >= 2) pthread_cond_destroy(&r->work_ready);
    if (made >= 1) pthread_mutex_destroy(&r->lock);
    free(r);
    return NULL;
}

void h5img_reader_free(h5img_reader *reader)
{
    if (!reader) return;
    pthread_cond_destroy(&reader->work_ready);
    pthread_cond_destroy(&reader->frame_done);
    pthread_mutex_destroy(&reader->lock);
    free(reader);
}

const char *h5img_reader_message(const h5img_reader *reader)
{
    return reader ? reader->message : "";
}
