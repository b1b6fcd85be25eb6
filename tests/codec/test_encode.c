/* test_encode.c: h5img_encode round trips (PNG lossless, JPEG against TurboJPEG) and argument checks. */
#include "codec/codec.h"
#include "oracle.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static char conformance_jpeg_dir[1024];

/* ---- helpers ---- */

/* Deterministic noise: PNG filters cannot flatten it, so every byte is exercised. */
static uint8_t *pattern(size_t size, uint32_t seed)
{
    uint8_t *p = malloc(size);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static void skip_ppm_space(const uint8_t *d, size_t size, size_t *pos)
{
    while (*pos < size && (d[*pos] == ' ' || d[*pos] == '\n' || d[*pos] == '\r' || d[*pos] == '\t' || d[*pos] == '#')) {
        if (d[*pos] == '#')
            while (*pos < size && d[*pos] != '\n') (*pos)++;
        else
            (*pos)++;
    }
}

static unsigned read_ppm_number(const uint8_t *d, size_t size, size_t *pos)
{
    skip_ppm_space(d, size, pos);
    unsigned v = 0;
    while (*pos < size && d[*pos] >= '0' && d[*pos] <= '9') v = v * 10 + (unsigned)(d[(*pos)++] - '0');
    return v;
}

/* testorig.ppm (binary P6, maxval 255) as packed RGB. */
static uint8_t *read_testorig_ppm(uint32_t *width, uint32_t *height)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/testorig.ppm", conformance_jpeg_dir);
    size_t size;
    uint8_t *d = read_file(path, &size);
    ck_assert_msg(d != NULL, "cannot read %s", path);
    ck_assert_msg(size > 2 && d[0] == 'P' && d[1] == '6', "%s is not a binary PPM", path);
    size_t pos = 2;
    *width = read_ppm_number(d, size, &pos);
    *height = read_ppm_number(d, size, &pos);
    ck_assert_uint_eq(read_ppm_number(d, size, &pos), 255);
    pos++; /* the single whitespace byte before the raster */
    size_t raster = (size_t)*width * *height * 3;
    ck_assert_uint_eq(size - pos, raster);
    uint8_t *rgb = malloc(raster);
    memcpy(rgb, d + pos, raster);
    free(d);
    return rgb;
}

static void swap_channels_0_2(uint8_t *p, size_t size, uint32_t channels)
{
    for (size_t i = 0; i + channels <= size; i += channels) {
        uint8_t t = p[i];
        p[i] = p[i + 2];
        p[i + 2] = t;
    }
}

static h5img_status encode(const void *pixels, const h5img_layout *layout, h5img_codec codec, int level, void **out,
                           size_t *out_size, char *message)
{
    return h5img_encode(pixels, h5img_layout_bytes(layout), layout, codec, level, out, out_size, message, 256);
}

/* Decode `encoded` under `layout`; returns the malloc()ed pixels. */
static uint8_t *decode_ok(const void *encoded, size_t encoded_size, const h5img_layout *layout)
{
    size_t size = h5img_layout_bytes(layout);
    uint8_t *out = malloc(size);
    char message[256];
    h5img_status status = h5img_decode(encoded, encoded_size, layout, out, size, message, sizeof message);
    ck_assert_msg(status == H5IMG_OK, "decode %ux%ux%u x%u flags %u: status %d: %s", layout->width, layout->height,
                  layout->channels, layout->element_size, layout->flags, status, message);
    return out;
}

/* TurboJPEG's own decode with its defaults, which test_jpeg.c shows equal OpenCV's. */
static uint8_t *turbojpeg_decode(const void *jpeg, size_t size, int width, int height, int format, int *subsamp)
{
    tjhandle handle = tjInitDecompress();
    ck_assert_ptr_nonnull(handle);
    int w, h, colorspace;
    ck_assert_int_eq(tjDecompressHeader3(handle, jpeg, size, &w, &h, subsamp, &colorspace), 0);
    ck_assert_int_eq(w, width);
    ck_assert_int_eq(h, height);
    uint8_t *pixels = malloc((size_t)width * height * tjPixelSize[format]);
    ck_assert_int_eq(tjDecompress2(handle, jpeg, size, pixels, width, 0, height, format, 0), 0);
    tjDestroy(handle);
    return pixels;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t size)
{
    double sum = 0;
    for (size_t i = 0; i < size; i++) sum += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sum == 0 ? INFINITY : 10.0 * log10(255.0 * 255.0 * size / sum);
}

/* ---- PNG ---- */

static void png_round_trip(uint32_t channels, uint32_t element_size, uint32_t flags, int level)
{
    h5img_layout layout = {23, 37, channels, element_size, H5IMG_RULE_NATIVE, flags};
    size_t size = h5img_layout_bytes(&layout);
    uint8_t *pixels = pattern(size, channels * 10 + element_size + flags * 100);
    void *png = NULL;
    size_t png_size = 0;
    char message[256];
    h5img_status status = encode(pixels, &layout, H5IMG_CODEC_PNG, level, &png, &png_size, message);
    ck_assert_msg(status == H5IMG_OK, "PNG encode x%u of %u-byte samples, flags %u: %d: %s", channels, element_size,
                  flags, status, message);
    ck_assert_int_eq(h5img_detect(png, png_size), H5IMG_CODEC_PNG);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(png, png_size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.width, 37);
    ck_assert_uint_eq(info.height, 23);
    ck_assert_uint_eq(info.channels, channels);
    ck_assert_uint_eq(info.element_size, element_size);
    uint8_t *out = decode_ok(png, png_size, &layout);
    long diff = first_difference(out, pixels, size);
    ck_assert_msg(diff < 0, "PNG round trip x%u of %u-byte samples, flags %u, level %d differs at byte %ld", channels,
                  element_size, flags, level, diff);
    free(out);
    h5img_free(png);
    free(pixels);
}

START_TEST(test_png_round_trip_is_lossless)
{
    const uint32_t channels[] = {1, 3, 4};
    for (int c = 0; c < 3; c++)
        for (uint32_t element_size = 1; element_size <= 2; element_size++) {
            png_round_trip(channels[c], element_size, 0, 6);
            if (channels[c] != 1) png_round_trip(channels[c], element_size, H5IMG_FLAG_BGR, 6);
            if (element_size == 2) {
                png_round_trip(channels[c], element_size, H5IMG_FLAG_BIG_ENDIAN, 6);
                if (channels[c] != 1) png_round_trip(channels[c], 2, H5IMG_FLAG_BGR | H5IMG_FLAG_BIG_ENDIAN, 6);
            }
        }
}
END_TEST

START_TEST(test_png_every_level_is_lossless)
{
    for (int level = 0; level <= 9; level++) png_round_trip(3, 1, 0, level);
}
END_TEST

/* BGR input is stored as RGB: decoding without the flag returns it swapped. */
START_TEST(test_png_bgr_input_stored_as_rgb)
{
    for (uint32_t channels = 3; channels <= 4; channels++) {
        h5img_layout bgr = {9, 11, channels, 1, H5IMG_RULE_NATIVE, H5IMG_FLAG_BGR};
        h5img_layout rgb = bgr;
        rgb.flags = 0;
        size_t size = h5img_layout_bytes(&bgr);
        uint8_t *pixels = pattern(size, 7 + channels);
        void *png;
        size_t png_size;
        char message[256];
        ck_assert_int_eq(encode(pixels, &bgr, H5IMG_CODEC_PNG, 6, &png, &png_size, message), H5IMG_OK);
        uint8_t *out = decode_ok(png, png_size, &rgb);
        swap_channels_0_2(pixels, size, channels);
        ck_assert_int_eq(first_difference(out, pixels, size), -1);
        free(out);
        h5img_free(png);
        free(pixels);
    }
}
END_TEST

/* Big-endian samples are stored by value: a host-order decode holds the same numbers. */
START_TEST(test_png_big_endian_input_stored_by_value)
{
    h5img_layout big = {5, 13, 3, 2, H5IMG_RULE_NATIVE, H5IMG_FLAG_BIG_ENDIAN};
    h5img_layout host = big;
    host.flags = 0;
    size_t size = h5img_layout_bytes(&big);
    uint8_t *pixels = pattern(size, 99);
    void *png;
    size_t png_size;
    char message[256];
    ck_assert_int_eq(encode(pixels, &big, H5IMG_CODEC_PNG, 6, &png, &png_size, message), H5IMG_OK);
    uint8_t *out = decode_ok(png, png_size, &host);
    for (size_t i = 0; i < size / 2; i++) {
        uint16_t value;
        memcpy(&value, out + 2 * i, 2);
        ck_assert_uint_eq(value, (uint16_t)(pixels[2 * i] << 8 | pixels[2 * i + 1]));
    }
    free(out);
    h5img_free(png);
    free(pixels);
}
END_TEST

/* ---- JPEG ---- */

/* A real photograph through our encoder must decode, through h5img, to
 * exactly what TurboJPEG (= OpenCV) gives for those bytes, and resemble the input. */
START_TEST(test_jpeg_encode_photo_decodes_like_turbojpeg)
{
    uint32_t width, height;
    uint8_t *rgb = read_testorig_ppm(&width, &height);
    h5img_layout layout = {height, width, 3, 1, H5IMG_RULE_COLOR, 0};
    void *jpeg;
    size_t jpeg_size;
    char message[256];
    ck_assert_int_eq(encode(rgb, &layout, H5IMG_CODEC_JPEG, 90, &jpeg, &jpeg_size, message), H5IMG_OK);
    ck_assert_int_eq(h5img_detect(jpeg, jpeg_size), H5IMG_CODEC_JPEG);
    int subsamp;
    uint8_t *reference = turbojpeg_decode(jpeg, jpeg_size, (int)width, (int)height, TJPF_RGB, &subsamp);
    ck_assert_int_eq(subsamp, TJSAMP_420);
    uint8_t *out = decode_ok(jpeg, jpeg_size, &layout);
    size_t size = h5img_layout_bytes(&layout);
    ck_assert_int_eq(first_difference(out, reference, size), -1);
    double quality = psnr(out, rgb, size);
    ck_assert_msg(quality > 30.0, "quality 90 JPEG of testorig has PSNR %.2f dB", quality);
    free(out);
    free(reference);
    h5img_free(jpeg);
    free(rgb);
}
END_TEST

/* The BGR flag must only reorder the input, never change the encoded image. */
START_TEST(test_jpeg_encode_bgr_input_gives_same_bytes)
{
    uint32_t width, height;
    uint8_t *rgb = read_testorig_ppm(&width, &height);
    h5img_layout layout = {height, width, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t size = h5img_layout_bytes(&layout);
    uint8_t *bgr = malloc(size);
    memcpy(bgr, rgb, size);
    swap_channels_0_2(bgr, size, 3);
    h5img_layout bgr_layout = layout;
    bgr_layout.flags = H5IMG_FLAG_BGR;
    void *a, *b;
    size_t a_size, b_size;
    char message[256];
    ck_assert_int_eq(encode(rgb, &layout, H5IMG_CODEC_JPEG, 90, &a, &a_size, message), H5IMG_OK);
    ck_assert_int_eq(encode(bgr, &bgr_layout, H5IMG_CODEC_JPEG, 90, &b, &b_size, message), H5IMG_OK);
    ck_assert_uint_eq(a_size, b_size);
    ck_assert_int_eq(memcmp(a, b, a_size), 0);
    h5img_free(a);
    h5img_free(b);
    free(bgr);
    free(rgb);
}
END_TEST

START_TEST(test_jpeg_encode_gray_decodes_like_turbojpeg)
{
    uint32_t width, height;
    uint8_t *rgb = read_testorig_ppm(&width, &height);
    size_t pixels = (size_t)width * height;
    uint8_t *gray = malloc(pixels);
    for (size_t i = 0; i < pixels; i++) gray[i] = rgb[3 * i + 1];
    h5img_layout layout = {height, width, 1, 1, H5IMG_RULE_NATIVE, 0};
    void *jpeg;
    size_t jpeg_size;
    char message[256];
    ck_assert_int_eq(encode(gray, &layout, H5IMG_CODEC_JPEG, 90, &jpeg, &jpeg_size, message), H5IMG_OK);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(jpeg, jpeg_size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.channels, 1);
    int subsamp;
    uint8_t *reference = turbojpeg_decode(jpeg, jpeg_size, (int)width, (int)height, TJPF_GRAY, &subsamp);
    ck_assert_int_eq(subsamp, TJSAMP_GRAY);
    uint8_t *out = decode_ok(jpeg, jpeg_size, &layout);
    ck_assert_int_eq(first_difference(out, reference, pixels), -1);
    ck_assert_double_gt(psnr(out, gray, pixels), 30.0);
    free(out);
    free(reference);
    h5img_free(jpeg);
    free(gray);
    free(rgb);
}
END_TEST

/* The caller's quality reaches the encoder: higher quality, larger file. */
START_TEST(test_jpeg_quality_is_honoured)
{
    uint32_t width, height;
    uint8_t *rgb = read_testorig_ppm(&width, &height);
    h5img_layout layout = {height, width, 3, 1, H5IMG_RULE_COLOR, 0};
    const int qualities[] = {1, 50, 100};
    size_t previous = 0;
    for (int i = 0; i < 3; i++) {
        void *jpeg;
        size_t jpeg_size;
        char message[256];
        ck_assert_int_eq(encode(rgb, &layout, H5IMG_CODEC_JPEG, qualities[i], &jpeg, &jpeg_size, message), H5IMG_OK);
        ck_assert_uint_gt(jpeg_size, previous);
        previous = jpeg_size;
        h5img_free(jpeg);
    }
    free(rgb);
}
END_TEST

/* ---- refused requests ---- */

static void expect_refusal(const h5img_layout *layout, size_t size, h5img_codec codec, int level,
                           h5img_status expected)
{
    uint8_t *pixels = calloc(1, size ? size : 1);
    void *encoded = (void *)1;
    size_t encoded_size = 1;
    char message[256] = "";
    h5img_status status = h5img_encode(pixels, size, layout, codec, level, &encoded, &encoded_size, message,
                                       sizeof message);
    ck_assert_msg(status == expected, "codec %d level %d on %ux%ux%u x%u: status %d, expected %d (%s)", (int)codec,
                  level, layout->width, layout->height, layout->channels, layout->element_size, status, expected,
                  message);
    ck_assert_ptr_null(encoded);
    ck_assert_uint_eq(encoded_size, 0);
    ck_assert_str_ne(message, "");
    free(pixels);
}

START_TEST(test_jpeg_refuses_alpha_and_uint16)
{
    h5img_layout rgba = {4, 4, 4, 1, H5IMG_RULE_NATIVE, 0};
    expect_refusal(&rgba, h5img_layout_bytes(&rgba), H5IMG_CODEC_JPEG, 90, H5IMG_E_UNSUPPORTED);
    h5img_layout wide = {4, 4, 3, 2, H5IMG_RULE_NATIVE, 0};
    expect_refusal(&wide, h5img_layout_bytes(&wide), H5IMG_CODEC_JPEG, 90, H5IMG_E_UNSUPPORTED);
    h5img_layout wide_gray = {4, 4, 1, 2, H5IMG_RULE_NATIVE, 0};
    expect_refusal(&wide_gray, h5img_layout_bytes(&wide_gray), H5IMG_CODEC_JPEG, 90, H5IMG_E_UNSUPPORTED);
}
END_TEST

START_TEST(test_levels_out_of_range_are_argument_errors)
{
    h5img_layout layout = {4, 4, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t size = h5img_layout_bytes(&layout);
    expect_refusal(&layout, size, H5IMG_CODEC_PNG, -1, H5IMG_E_ARGUMENT);
    expect_refusal(&layout, size, H5IMG_CODEC_PNG, 10, H5IMG_E_ARGUMENT);
    expect_refusal(&layout, size, H5IMG_CODEC_JPEG, 0, H5IMG_E_ARGUMENT);
    expect_refusal(&layout, size, H5IMG_CODEC_JPEG, 101, H5IMG_E_ARGUMENT);
}
END_TEST

START_TEST(test_size_mismatch_is_shape_error)
{
    h5img_layout layout = {4, 4, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t size = h5img_layout_bytes(&layout);
    expect_refusal(&layout, size - 1, H5IMG_CODEC_PNG, 6, H5IMG_E_SHAPE);
    expect_refusal(&layout, size + 3, H5IMG_CODEC_JPEG, 90, H5IMG_E_SHAPE);
}
END_TEST

static Suite *encode_suite(void)
{
    Suite *s = suite_create("encode");
    TCase *png = tcase_create("png");
    tcase_add_test(png, test_png_round_trip_is_lossless);
    tcase_add_test(png, test_png_every_level_is_lossless);
    tcase_add_test(png, test_png_bgr_input_stored_as_rgb);
    tcase_add_test(png, test_png_big_endian_input_stored_by_value);
    suite_add_tcase(s, png);
    TCase *jpeg = tcase_create("jpeg");
    tcase_add_test(jpeg, test_jpeg_encode_photo_decodes_like_turbojpeg);
    tcase_add_test(jpeg, test_jpeg_encode_bgr_input_gives_same_bytes);
    tcase_add_test(jpeg, test_jpeg_encode_gray_decodes_like_turbojpeg);
    tcase_add_test(jpeg, test_jpeg_quality_is_honoured);
    suite_add_tcase(s, jpeg);
    TCase *refused = tcase_create("refused");
    tcase_add_test(refused, test_jpeg_refuses_alpha_and_uint16);
    tcase_add_test(refused, test_levels_out_of_range_are_argument_errors);
    tcase_add_test(refused, test_size_mismatch_is_shape_error);
    suite_add_tcase(s, refused);
    return s;
}

int main(void)
{
    const char *conformance_dir = getenv("H5IMG_CONFORMANCE_DIR");
    if (!conformance_dir) {
        fprintf(stderr, "H5IMG_CONFORMANCE_DIR must be set (run through ctest)\n");
        return 1;
    }
    snprintf(conformance_jpeg_dir, sizeof conformance_jpeg_dir, "%s/jpeg", conformance_dir);
    SRunner *runner = srunner_create(encode_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
