/* jpeg_probe.c: JPEG header parser: walks the markers from SOI to the first SOFn without touching entropy data. */
#include "codec/codec.h"

/* Markers that carry no length field (JPEG T.81 B.1.1.3): TEM and RST0-7.
 * SOI and EOI are standalone too but are invalid before a frame header. */
static int is_standalone(uint8_t marker)
{
    return marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/* C4 (DHT), C8 (reserved JPG) and CC (DAC) share the range but are not frames. */
static int is_sof(uint8_t marker)
{
    return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

static int is_progressive(uint8_t marker)
{
    return marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce;
}

static uint32_t read_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* Frame header: P, Y, X, Nf, then Nf component specifications of 3 bytes. */
static h5img_status parse_sof(uint8_t marker, const uint8_t *segment, size_t length, h5img_info *info)
{
    if (length < 8) return H5IMG_E_CORRUPT;
    uint32_t components = segment[7];
    if (components == 0 || length != 8 + 3 * (size_t)components) return H5IMG_E_CORRUPT;
    if (segment[2] == 0) return H5IMG_E_CORRUPT;
    info->bit_depth = segment[2];
    info->height = read_be16(segment + 3);
    info->width = read_be16(segment + 5);
    info->color_type = components;
    info->interlaced = is_progressive(marker);
    info->element_size = 1;
    if (info->width == 0) return H5IMG_E_CORRUPT;
    /* A zero height defers the size to a DNL marker after the first scan,
     * which libjpeg does not implement either. */
    if (info->height == 0) return H5IMG_E_UNSUPPORTED;
    /* Four components are CMYK/YCCK, which IMREAD_UNCHANGED returns as 3
     * channels; the decoder refuses them, but the header is still valid. */
    if (components == 1) info->channels = 1;
    else if (components == 3 || components == 4) info->channels = 3;
    else return H5IMG_E_UNSUPPORTED;
    return H5IMG_OK;
}

h5img_status h5img_jpeg_probe(const uint8_t *data, size_t size, h5img_info *info)
{
    if (!data || !info) return H5IMG_E_ARGUMENT;
    info->codec = H5IMG_CODEC_JPEG;
    if (size < 2) return H5IMG_E_TRUNCATED;
    if (data[0] != 0xff || data[1] != 0xd8) return H5IMG_E_UNKNOWN_FORMAT;
    size_t pos = 2;
    for (;;) {
        if (pos >= size) return H5IMG_E_TRUNCATED;
        /* libjpeg warns about (and we refuse) anything but 0xFF between segments. */
        if (data[pos] != 0xff) return H5IMG_E_CORRUPT;
        while (pos < size && data[pos] == 0xff) pos++; /* fill bytes */
        if (pos >= size) return H5IMG_E_TRUNCATED;
        uint8_t marker = data[pos++];
        if (is_standalone(marker)) continue;
        /* A stuffed zero, a second SOI, EOI or a scan before any frame header. */
        if (marker == 0x00 || marker == 0xd8 || marker == 0xd9 || marker == 0xda) return H5IMG_E_CORRUPT;
        if (size - pos < 2) return H5IMG_E_TRUNCATED;
        size_t length = read_be16(data + pos);
        if (length < 2) return H5IMG_E_CORRUPT;
        if (size - pos < length) return H5IMG_E_TRUNCATED;
        if (is_sof(marker)) return parse_sof(marker, data + pos, length, info);
        pos += length;
    }
}
