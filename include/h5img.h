/* h5img.h: public API of the h5img HDF5 image filter (PNG/JPEG chunks decoded on read). */
#ifndef H5IMG_H
#define H5IMG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(H5IMG_BUILDING) && defined(__GNUC__)
#define H5IMG_API __attribute__((visibility("default")))
#else
#define H5IMG_API
#endif

/* ------------------------------------------------------------------------- */
/* Identity                                                                  */
/* ------------------------------------------------------------------------- */

/** HDF5 filter identifier. Taken from the range 32768-65535 that The HDF
 *  Group leaves for private use; it is not (yet) registered with them. */
#define H5IMG_FILTER_ID 49301

/** Name the filter reports to HDF5 (visible in h5dump -p and h5ls -v). */
#define H5IMG_FILTER_NAME "h5img: PNG/JPEG image chunks decoded on read"

#define H5IMG_VERSION_MAJOR 0
#define H5IMG_VERSION_MINOR 1
#define H5IMG_VERSION_PATCH 0

/* ------------------------------------------------------------------------- */
/* cd_values layout (the filter's client data, stored in the file)           */
/* ------------------------------------------------------------------------- */

/** Version of the cd_values layout below. A file whose slot 0 holds a larger
 *  number was written by a newer h5img and is refused, never guessed at. */
#define H5IMG_CD_VERSION 1u

/** Slot indices. A writer may pass only the first few slots (or none at all:
 *  `h5repack -f UD=49301,0,0`); set_local fills in the rest from the dataset.
 *
 *  | slot | name      | set by      | meaning                                      |
 *  |------|-----------|-------------|----------------------------------------------|
 *  | 0    | VERSION   | writer/auto | H5IMG_CD_VERSION (0 from a writer means current) |
 *  | 1    | RULE      | writer/auto | enum h5img_rule; 0 = AUTO, resolved by set_local |
 *  | 2    | FLAGS     | writer+auto | H5IMG_FLAG_* bits (BIG_ENDIAN is set_local's)  |
 *  | 3    | CODEC     | writer      | encoder used on write: enum h5img_codec (0 = PNG) |
 *  | 4    | LEVEL     | writer      | PNG zlib level 0-9, or JPEG quality 1-100; 0 = default |
 *  | 5    | HEIGHT    | set_local   | image rows in one chunk                      |
 *  | 6    | WIDTH     | set_local   | image columns in one chunk                   |
 *  | 7    | CHANNELS  | set_local   | 1, 3 or 4                                    |
 *  | 8    | ELEMSIZE  | set_local   | bytes per sample: 1 (uint8) or 2 (uint16)    |
 */
enum h5img_cd_slot {
    H5IMG_CD_VERSION_SLOT = 0,
    H5IMG_CD_RULE = 1,
    H5IMG_CD_FLAGS = 2,
    H5IMG_CD_CODEC = 3,
    H5IMG_CD_LEVEL = 4,
    H5IMG_CD_HEIGHT = 5,
    H5IMG_CD_WIDTH = 6,
    H5IMG_CD_CHANNELS = 7,
    H5IMG_CD_ELEMSIZE = 8,
    H5IMG_CD_COUNT = 9 /**< number of slots set_local stores */
};

/** Slot 2 bits. */
#define H5IMG_FLAG_BGR 0x1u        /**< 3/4-channel output in BGR(A) order, as OpenCV returns it */
#define H5IMG_FLAG_BIG_ENDIAN 0x2u /**< uint16 dataset stored big-endian (set by set_local) */
#define H5IMG_FLAGS_KNOWN (H5IMG_FLAG_BGR | H5IMG_FLAG_BIG_ENDIAN)

/** Default encoder settings when slot 4 is 0. */
#define H5IMG_DEFAULT_PNG_LEVEL 6
#define H5IMG_DEFAULT_JPEG_QUALITY 95

/* ------------------------------------------------------------------------- */
/* Output rules                                                              */
/* ------------------------------------------------------------------------- */

/** How stored bytes become the dataset's pixels. Every rule is bit-identical
 *  to OpenCV 4.6 `cv2.imdecode` on the same bytes, EXIF orientation never
 *  applied. Channel order is RGB(A) unless H5IMG_FLAG_BGR is set. */
typedef enum h5img_rule {
    /** Resolved by set_local from the dataset: uint16 -> NATIVE; uint8 with
     *  1 channel -> MASK, 3 channels -> COLOR, 4 channels -> NATIVE. */
    H5IMG_RULE_AUTO = 0,
    /** Channels and depth as stored: IMREAD_UNCHANGED. The dataset must have
     *  exactly the channels and sample size OpenCV would return. */
    H5IMG_RULE_NATIVE = 1,
    /** 3-channel uint8: IMREAD_COLOR (gray replicated, alpha dropped, 16-bit
     *  reduced to its high byte, palette expanded). */
    H5IMG_RULE_COLOR = 2,
    /** 1-channel uint8: max over the channels of IMREAD_COLOR, the reference
     *  SMC reader's mask semantics. 8-bit gray input decodes straight into
     *  the output (the grayscale fast path). */
    H5IMG_RULE_MASK = 3,
    /** 1-channel uint8: IMREAD_GRAYSCALE (JPEG: the Y component; PNG:
     *  libpng's rgb_to_gray with OpenCV's 0.299/0.587 weights). */
    H5IMG_RULE_LUMA = 4
} h5img_rule;

/** Encoded formats, detected from the bytes' signature on read. */
typedef enum h5img_codec {
    H5IMG_CODEC_PNG = 0,
    H5IMG_CODEC_JPEG = 1,
    H5IMG_CODEC_UNKNOWN = 255
} h5img_codec;

/* ------------------------------------------------------------------------- */
/* Limits                                                                    */
/* ------------------------------------------------------------------------- */

/** Ceiling on pixels (width x height) in one image: 12 MP frames with about
 *  5x headroom. Override with the environment variable H5IMG_MAX_PIXELS. */
#define H5IMG_DEFAULT_MAX_PIXELS (64u * 1024u * 1024u)
/** Ceiling on bytes in one chunk, encoded or decoded. Override with the
 *  environment variable H5IMG_MAX_CHUNK_BYTES. */
#define H5IMG_DEFAULT_MAX_CHUNK_BYTES ((size_t)512 * 1024u * 1024u)
/** Largest width or height either codec can describe. */
#define H5IMG_MAX_DIMENSION 0x7fffffffu
/** Largest width or height h5img writes as JPEG: libjpeg's JPEG_MAX_DIMENSION
 *  (the format itself would allow 65535). Datasets set up to store larger
 *  images as JPEG are refused when they are created. */
#define H5IMG_JPEG_MAX_SIDE 65500u

/** Current limits: the defaults above unless the environment overrides them
 *  (read once per process). The environment variable H5IMG_THREADS=1
 *  (also read once) makes decoders left at automatic threading decode every
 *  JPEG on one thread: see h5img_decoder_set_threads(). */
H5IMG_API uint64_t h5img_max_pixels(void);
H5IMG_API size_t h5img_max_chunk_bytes(void);

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

typedef enum h5img_status {
    H5IMG_OK = 0,
    H5IMG_E_ARGUMENT,     /**< a NULL pointer, zero size or invalid layout */
    H5IMG_E_NOMEM,        /**< an allocation failed */
    H5IMG_E_UNKNOWN_FORMAT, /**< bytes are neither PNG nor JPEG */
    H5IMG_E_TRUNCATED,    /**< the encoded data ends early */
    H5IMG_E_CORRUPT,      /**< bad CRC/Adler-32, bad entropy data, any codec warning */
    H5IMG_E_SHAPE,        /**< image size or channels differ from the output layout */
    H5IMG_E_DEPTH,        /**< sample depth cannot be returned in this dataset (12-bit JPEG, 16-bit into uint8 NATIVE, 8-bit into uint16) */
    H5IMG_E_UNSUPPORTED,  /**< valid but unsupported input (CMYK JPEG, ...) */
    H5IMG_E_LIMIT,        /**< image or chunk exceeds h5img_max_pixels()/h5img_max_chunk_bytes() */
    H5IMG_E_CD_VERSION,   /**< cd_values written by a newer format version */
    H5IMG_E_CD_VALUES,    /**< too few or inconsistent cd_values */
    H5IMG_E_ENCODE,       /**< the encoder failed */
    H5IMG_E_HDF5,         /**< an HDF5 call failed (tools and the read API) */
    H5IMG_E_IO            /**< a file could not be read or written (tools) */
} h5img_status;

/** A static, human-readable sentence for a status. Never NULL. */
H5IMG_API const char *h5img_strerror(h5img_status status);

/** Short names for messages and summaries: "PNG", "JPEG", "unknown";
 *  "native", "colour", "mask", "luma", "auto". Never NULL. */
H5IMG_API const char *h5img_codec_name(h5img_codec codec);
H5IMG_API const char *h5img_rule_name(h5img_rule rule);

/* ------------------------------------------------------------------------- */
/* Probing encoded bytes                                                     */
/* ------------------------------------------------------------------------- */

/** What the header of an encoded image says. */
typedef struct h5img_info {
    h5img_codec codec;
    uint32_t width;
    uint32_t height;
    /** Channels IMREAD_UNCHANGED returns: 1, 3 or 4. */
    uint32_t channels;
    /** Bits per sample as stored: 1, 2, 4, 8, 16 (PNG) or 8, 12 (JPEG). */
    uint32_t bit_depth;
    /** Bytes per sample IMREAD_UNCHANGED returns: 2 for 16-bit PNG, else 1. */
    uint32_t element_size;
    /** PNG colour type (0, 2, 3, 4, 6) or JPEG component count. */
    uint32_t color_type;
    /** Non-zero for Adam7-interlaced PNG or progressive JPEG. */
    uint32_t interlaced;
} h5img_info;

/** Detect the codec from the signature and parse the header only (no pixel
 *  data is touched and nothing is allocated). Returns H5IMG_E_UNKNOWN_FORMAT
 *  for bytes that are neither PNG nor JPEG. */
H5IMG_API h5img_status h5img_probe(const void *data, size_t size, h5img_info *info);

/** Codec from the first bytes alone (PNG signature or JPEG SOI marker). */
H5IMG_API h5img_codec h5img_detect(const void *data, size_t size);

/* ------------------------------------------------------------------------- */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------- */

/** Shape and rule of one decoded image: exactly what one chunk holds. */
typedef struct h5img_layout {
    uint32_t height;
    uint32_t width;
    uint32_t channels;     /**< 1, 3 or 4 */
    uint32_t element_size; /**< 1 (uint8) or 2 (uint16) */
    h5img_rule rule;       /**< never H5IMG_RULE_AUTO here: see h5img_resolve_rule() */
    uint32_t flags;        /**< H5IMG_FLAG_* */
} h5img_layout;

/** The rule AUTO stands for, given a dataset's channels and sample size. */
H5IMG_API h5img_rule h5img_resolve_rule(uint32_t channels, uint32_t element_size);

/** H5IMG_OK when the layout is one h5img can produce (channels and element
 *  size valid for its rule, limits respected); checked before any decode. */
H5IMG_API h5img_status h5img_layout_check(const h5img_layout *layout);

/** Bytes one decoded image of this layout occupies (0 on overflow). */
H5IMG_API size_t h5img_layout_bytes(const h5img_layout *layout);

/** Opaque, reusable decoder: keeps codec handles and scratch buffers between
 *  calls. One decoder per thread; distinct decoders may run concurrently. */
typedef struct h5img_decoder h5img_decoder;

H5IMG_API h5img_decoder *h5img_decoder_new(void);
H5IMG_API void h5img_decoder_free(h5img_decoder *decoder);

/** How many threads one decode may use. 0 (the default) is automatic: one
 *  decode may add a second thread when the process may run on 2 or more
 *  CPUs (its affinity mask), one of them is not taken by another h5img
 *  decode of this process (so programs decoding frames on several threads
 *  are not oversubscribed), and the environment variable H5IMG_THREADS is
 *  not 1 (other values of it are ignored). Two kinds of image use it:
 *  - a single-scan JPEG (sequential, not progressive) of at least 512 Ki
 *    pixels is decoded as two bands of rows. Other processes' load cannot
 *    be seen beforehand, so it is measured: when the second band's thread
 *    was on a CPU for under 3/4 of its time in two split decodes in a row
 *    (another process had the core, and splitting was slower than one band
 *    would have been), automatic splitting in the whole process rests for
 *    a second, then tries again;
 *  - a PNG on the fast path whose inflated rows reach 1 MiB checks its
 *    DEFLATE stream against zlib's rules on the second thread while the
 *    calling thread inflates and unfilters it.
 *  Everything else is decoded on the calling thread.
 *  1 never starts a thread. 2 (or more; a decode uses at most two) uses the
 *  second thread for such images whatever the CPU count, other load and
 *  H5IMG_THREADS say. The second thread lives only for that call; if it
 *  cannot be started the calling thread does all the work. The pixels and
 *  any failure are the same either way. Programs that already decode frames
 *  in parallel (like the h5img_reader below, which does) should pass 1.
 *  Returns H5IMG_E_ARGUMENT for a NULL decoder. */
H5IMG_API h5img_status h5img_decoder_set_threads(h5img_decoder *decoder, unsigned threads);

/** Decode one PNG or JPEG into `out` (exactly h5img_layout_bytes(layout)
 *  bytes) under the layout's rule. The header is checked against the layout
 *  and the limits before anything is allocated. On failure `out` may hold
 *  partial data and must not be used. */
H5IMG_API h5img_status h5img_decoder_decode(h5img_decoder *decoder, const void *data, size_t size,
                                            const h5img_layout *layout, void *out, size_t out_size);

/** A sentence about the last failure of this decoder, with the numbers
 *  ("PNG is 201x150 but the layout is 200x150x3"); "" after success. */
H5IMG_API const char *h5img_decoder_message(const h5img_decoder *decoder);

/** One-shot convenience: a temporary decoder. `message` (may be NULL)
 *  receives the failure sentence, truncated to `message_size`. */
H5IMG_API h5img_status h5img_decode(const void *data, size_t size, const h5img_layout *layout,
                                    void *out, size_t out_size, char *message, size_t message_size);

/* ------------------------------------------------------------------------- */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------- */

/** Encode one image laid out as `layout` (rule ignored except that BGR input
 *  is swapped back to RGB first) as PNG (level 0-9, 0 meaning default in
 *  cd_values terms is mapped by the caller; levels 0 and 1 favour speed: no
 *  row filter and the Up filter alone, instead of choosing one per row) or
 *  JPEG (quality 1-100; uint8 with
 *  1 or 3 channels only). On success *encoded is malloc()ed: release it with
 *  h5img_free(). */
H5IMG_API h5img_status h5img_encode(const void *pixels, size_t size, const h5img_layout *layout,
                                    h5img_codec codec, int level, void **encoded, size_t *encoded_size,
                                    char *message, size_t message_size);

H5IMG_API void h5img_free(void *p);

/* ------------------------------------------------------------------------- */
/* Mask operations (no HDF5, no codec: plain 8-bit single-channel images)    */
/* ------------------------------------------------------------------------- */

/** Largest side of the square kernel h5img_dilate() accepts. */
#define H5IMG_MAX_DILATE 1023u

/** Dilate a height x width uint8 image (rows of `width` bytes, no padding)
 *  with an n x n square of ones, bit-identical to OpenCV's
 *  `cv2.dilate(src, np.ones((n, n), np.uint8))`: the anchor is the kernel
 *  centre (n/2, n/2) in integer division, so the window of pixel x is
 *  [x - n/2, x + n - 1 - n/2] (and the same for rows), and pixels outside
 *  the image never count. The work per pixel does not grow with n (a
 *  separable running maximum). `dst` may be `src` (in place); n = 1 copies.
 *  Returns H5IMG_E_ARGUMENT for NULL pointers, a zero side or n outside
 *  1..H5IMG_MAX_DILATE, H5IMG_E_LIMIT for an image over h5img_max_pixels(),
 *  H5IMG_E_NOMEM; `message` (may be NULL) gets the sentence. */
H5IMG_API h5img_status h5img_dilate(const uint8_t *src, uint8_t *dst, uint32_t height, uint32_t width, uint32_t n,
                                    char *message, size_t message_size);

/** COCO run-length encoding of a height x width uint8 mask (row-major, as
 *  numpy stores it) whose foreground is `value >= threshold` (0-255): the
 *  string pycocotools' `mask.encode(np.asfortranarray(fg))["counts"]` holds,
 *  byte for byte (runs in column-major order, starting with a run of
 *  background that may be empty; each count as 5-bit groups with a
 *  continuation bit, plus 48; counts from the fourth on stored as the
 *  difference from the count two before). On success *rle is a malloc()ed,
 *  NUL-terminated string of *rle_length characters: release it with
 *  h5img_free(). Returns H5IMG_E_ARGUMENT (NULL, zero side, threshold over
 *  255), H5IMG_E_LIMIT (over h5img_max_pixels()) or H5IMG_E_NOMEM. */
H5IMG_API h5img_status h5img_rle_encode(const uint8_t *mask, uint32_t height, uint32_t width, unsigned threshold,
                                        char **rle, size_t *rle_length, char *message, size_t message_size);

/** Decode a COCO RLE string of `rle_length` characters (no NUL needed) for
 *  a height x width mask into `mask` (row-major, exactly height x width
 *  bytes = `mask_size`): 1 for foreground, 0 for background, as pycocotools'
 *  `mask.decode` gives. The string is checked completely, and nothing is
 *  allocated: a character outside '0'..'o', a count cut off at the end of
 *  the string, a count of more than 7 groups, a negative count or counts
 *  that do not add up to exactly height x width return H5IMG_E_CORRUPT,
 *  with a message naming the character offset and the numbers.
 *  h5img_rle_decode(h5img_rle_encode(x, threshold 1)) == x for masks of 0
 *  and 1. */
H5IMG_API h5img_status h5img_rle_decode(const char *rle, size_t rle_length, uint32_t height, uint32_t width,
                                        uint8_t *mask, size_t mask_size, char *message, size_t message_size);

/* ------------------------------------------------------------------------- */
/* cd_values                                                                 */
/* ------------------------------------------------------------------------- */

/** Full, validated view of a stored cd_values array. */
typedef struct h5img_params {
    h5img_layout layout;
    h5img_codec codec; /**< encoder for writes */
    int level;         /**< effective PNG level or JPEG quality (defaults applied) */
} h5img_params;

/** Parse stored cd_values: count and version first, then every field.
 *  Returns H5IMG_E_CD_VERSION, H5IMG_E_CD_VALUES or H5IMG_OK. */
H5IMG_API h5img_status h5img_params_from_cd(const unsigned int *cd_values, size_t cd_nelmts,
                                            h5img_params *params);

/* ------------------------------------------------------------------------- */
/* HDF5 registration (linked builds)                                         */
/* ------------------------------------------------------------------------- */

/** Register the filter with the HDF5 library in this process, for programs
 *  that link libh5img instead of loading the plugin through
 *  HDF5_PLUGIN_PATH. Returns 0 on success, negative on failure; safe to call
 *  more than once. Defined only in the library that links HDF5. */
H5IMG_API int h5img_register(void);

/** The reason the calling thread's last h5img filter call (can_apply,
 *  set_local or a chunk's decode or encode) failed, with its numbers, or ""
 *  when that call succeeded or none has been made. HDF5 1.14 and later pause
 *  the error stack while a filter decodes a chunk, so there a read failure's
 *  cause reaches no error stack and only this function tells it; from Python
 *  it is h5img.last_error(). The text stays valid until this thread's next
 *  filter call. Defined in the loadable plugin and the linkable library. */
H5IMG_API const char *h5img_last_error(void);

/* ------------------------------------------------------------------------- */
/* Parallel reading (needs HDF5 and threads; in both builds)                 */
/* ------------------------------------------------------------------------- */

/* HDF5 identifiers cross this API as int64_t, which is what hid_t is in
 * every HDF5 since 1.10 (reader.c checks it at compile time). Including
 * hdf5.h here instead would force its include path on every user of the
 * codec-only library and the fuzzers, which never touch HDF5.
 *
 * The reader calls HDF5 as the filter does: the linkable library the HDF5
 * it was linked with, the loadable plugin the HDF5 that loaded it (which
 * must be the one `file_id` belongs to; from Python, h5py's after
 * `import h5img`). Before any HDF5 has loaded the plugin, h5img_reader_run()
 * fails with H5IMG_E_HDF5 and says so. */

/** Reads many image datasets of one open file: the stored bytes are read on
 *  the calling thread (every HDF5 call happens there), decoded on a pool of
 *  worker threads (no HDF5 calls, so outside HDF5's global lock) and handed
 *  back in the order given, with a bounded number of frames in memory. */
typedef struct h5img_reader h5img_reader;

/** What the reader does with the stored bytes. */
typedef enum h5img_read_mode {
    H5IMG_READ_DECODE = 0, /**< decode every frame to pixels */
    H5IMG_READ_RAW = 1     /**< stored bytes only; nothing is decoded */
} h5img_read_mode;

/** How an image dataset is stored. */
typedef enum h5img_storage {
    H5IMG_STORAGE_NONE = 0,     /**< not known: the dataset could not be opened or is not an image */
    H5IMG_STORAGE_REPACKED = 1, /**< filtered by h5img (49301), one chunk holding the encoded bytes */
    H5IMG_STORAGE_LEGACY = 2    /**< SMC layout: 1-D uint8 dataset holding the encoded bytes */
} h5img_storage;

/** One frame as the reader hands it over. Pointers are valid only during
 *  the callback that receives the frame. */
typedef struct h5img_frame {
    size_t index;          /**< position in the caller's path list */
    const char *path;      /**< the caller's path string */
    h5img_storage storage;
    h5img_codec codec;     /**< from the stored bytes' signature (UNKNOWN if unreadable) */
    const void *encoded;   /**< stored bytes (NULL if they could not be read) */
    size_t encoded_size;
    /** Shape of the decoded image: from cd_values (repacked) or from the
     *  header and the layout callback (legacy). height == 0 when unknown,
     *  e.g. a raw-mode frame whose header does not parse. */
    h5img_layout layout;
    /** Decoded pixels (h5img_layout_bytes(&layout) bytes), NULL in raw mode
     *  or on failure. A work hook may modify them in place. */
    void *pixels;
    size_t pixels_size;
    h5img_status status;   /**< H5IMG_OK, or why this frame failed; other frames carry on */
    const char *message;   /**< a sentence naming the failure with its numbers; "" on success */
} h5img_frame;

/** Chooses the output layout of a legacy frame from its probed header (the
 *  repacked ones carry theirs in cd_values). Called on the reading thread;
 *  may not call HDF5 on the file being read. Return H5IMG_OK after filling
 *  *layout, or a status that fails this frame. */
typedef h5img_status (*h5img_layout_fn)(void *user, const char *path, const h5img_info *info, h5img_layout *layout);

/** Per-frame work run on a worker thread right after the decode (raw mode:
 *  right after the read), only for frames whose status is H5IMG_OK, so that
 *  CPU-heavy follow-up work (encoding, writing files) runs in parallel too.
 *  Must not call HDF5. A non-OK return becomes the frame's status, with the
 *  sentence written to `message`. */
typedef h5img_status (*h5img_work_fn)(void *user, h5img_frame *frame, char *message, size_t message_size);

/** Receives every frame, in index order, on the thread that called
 *  h5img_reader_run(), failed frames included. Return 0 to go on, non-zero
 *  to stop: no further frames are read or delivered. */
typedef int (*h5img_deliver_fn)(void *user, const h5img_frame *frame);

/** Reader settings; start from h5img_reader_options_init(). */
typedef struct h5img_reader_options {
    h5img_read_mode mode;
    /** Worker threads; 0 means one per online processor. Each worker
     *  decodes one frame at a time on its own thread (no two-band JPEG
     *  decoding), so the reader uses at most this many cores for decoding. */
    unsigned threads;
    /** Most frames read but not yet delivered (each holds its stored bytes
     *  and, when decoding, its pixels); 0 means 2 x threads. This is what
     *  keeps memory flat however large the file. */
    unsigned max_in_flight;
    /** Legacy layout chooser; NULL means h5img_default_legacy_layout() with
     *  `legacy_flags`. */
    h5img_layout_fn legacy_layout;
    /** H5IMG_FLAG_* bits of the default legacy layout (e.g. H5IMG_FLAG_BGR
     *  for the reference readers' OpenCV channel order). */
    uint32_t legacy_flags;
    /** Optional work hook, see h5img_work_fn. */
    h5img_work_fn work;
    /** Passed to every callback. */
    void *user;
} h5img_reader_options;

/** Defaults: decode mode, one thread per processor, 2 x threads in flight,
 *  default legacy layout with no flags, no hook. */
H5IMG_API void h5img_reader_options_init(h5img_reader_options *options);

/** A reader with these options (copied), or NULL when out of memory or the
 *  options are invalid (unknown mode or legacy flags). Threads are started
 *  by each h5img_reader_run() and joined before it returns. */
H5IMG_API h5img_reader *h5img_reader_new(const h5img_reader_options *options);

H5IMG_API void h5img_reader_free(h5img_reader *reader);

/** Read `count` datasets of the open file or group `file_id` (an hid_t),
 *  each named by a path relative to it, calling `deliver` once per frame
 *  in order. A frame that cannot be read or decoded is delivered with its
 *  status and message; the run goes on. Returns H5IMG_OK when every frame
 *  was delivered or `deliver` asked to stop, or the status of a failure
 *  that stops the whole run (arguments, memory, threads); then
 *  h5img_reader_message() says why. Not reentrant on one reader. */
H5IMG_API h5img_status h5img_reader_run(h5img_reader *reader, int64_t file_id, const char *const *paths, size_t count,
                                        h5img_deliver_fn deliver);

/** The sentence about the last failed run; "" after success. */
H5IMG_API const char *h5img_reader_message(const h5img_reader *reader);

/** The layout a legacy frame decodes to when the caller does not choose:
 *  a path with a component containing "mask" (any case) gets the MASK rule
 *  (H x W, uint8, the reference reader's mask semantics); anything else the
 *  NATIVE rule (channels and depth as stored, like IMREAD_UNCHANGED).
 *  `flags` are H5IMG_FLAG_* bits to apply. */
H5IMG_API h5img_status h5img_default_legacy_layout(const char *path, const h5img_info *info, uint32_t flags,
                                                   h5img_layout *layout);

#ifdef __cplusplus
}
#endif

#endif /* H5IMG_H */
