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
#define H5IMG_FILTER_NAME "h5img: PNG/JPEG image chunks (https://example.invalid/h5img)"

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

/** Current limits: the defaults above unless the environment overrides them
 *  (read once per process). */
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
 *  cd_values terms is mapped by the caller) or JPEG (quality 1-100; uint8 with
 *  1 or 3 channels only). On success *encoded is malloc()ed: release it with
 *  h5img_free(). */
H5IMG_API h5img_status h5img_encode(const void *pixels, size_t size, const h5img_layout *layout,
                                    h5img_codec codec, int level, void **encoded, size_t *encoded_size,
                                    char *message, size_t message_size);

H5IMG_API void h5img_free(void *p);

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

#ifdef __cplusplus
}
#endif

#endif /* H5IMG_H */
