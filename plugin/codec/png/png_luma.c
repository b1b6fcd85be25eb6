/* png_luma.c: bit-exact emulation of libpng 1.6 rgb_to_gray as OpenCV's IMREAD_GRAYSCALE configures it. */
#include "png_private.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* png_set_rgb_to_gray(png_ptr, 1, 0.299, 0.587): 29900 and 58700 in
 * 1/100000 units scaled to 1/32768 and truncated, as libpng does. */
#define LUMA_RED ((uint32_t)(29900u * 32768u / 100000u))
#define LUMA_GREEN ((uint32_t)(58700u * 32768u / 100000u))
#define LUMA_BLUE (32768u - LUMA_RED - LUMA_GREEN)
#define FP_1 100000

static int significant(int32_t gamma)
{
    return gamma < FP_1 - 5000 || gamma > FP_1 + 5000;
}

/* png_reciprocal, png_reciprocal2 and png_product2 (floating-point builds). */
static int32_t reciprocal(int32_t a)
{
    double r = floor(1e10 / a + .5);
    return r <= 2147483647. && r >= -2147483648. ? (int32_t)r : 0;
}

static int32_t reciprocal2(int32_t a, int32_t b)
{
    double r = floor(1e15 / a / b + .5);
    return r <= 2147483647. && r >= -2147483648. ? (int32_t)r : 0;
}

static int32_t product2(int32_t a, int32_t b)
{
    double r = floor(a * 1e-5 * b + .5);
    return r <= 2147483647. && r >= -2147483648. ? (int32_t)r : 0;
}

static void build8(uint8_t table[256], int32_t gamma)
{
    for (unsigned i = 0; i < 256; i++)
        table[i] = (uint8_t)(significant(gamma) && i > 0 && i < 255 ? floor(255 * pow(i / 255., gamma * .00001) + .5)
                                                                     : i);
}

static unsigned gamma16_correct(unsigned value, int32_t gamma)
{
    if (value == 0 || value >= 65535) return value;
    return (unsigned)floor(65535 * pow((int32_t)value / 65535., gamma * .00001) + .5);
}

/* png_build_16bit_table flattened: entry ig = v >> shift. */
static void build16(uint16_t *table, unsigned shift, int32_t gamma)
{
    unsigned max = (1u << (16 - shift)) - 1, max_by_2 = 1u << (15 - shift);
    double fmax = 1.0 / max;
    for (unsigned ig = 0; ig <= max; ig++) {
        if (significant(gamma))
            table[ig] = (uint16_t)floor(65535. * pow(ig * fmax, gamma * .00001) + .5);
        else
            table[ig] = (uint16_t)(shift ? (ig * 65535u + max_by_2) / max : ig);
    }
}

/* png_build_16to8_table flattened: the 16-bit value whose high byte is
 * the nearest 8-bit output. */
static void build16to8(uint16_t *table, unsigned shift, int32_t gamma)
{
    unsigned entries = 1u << (16 - shift), max = entries - 1, last = 0;
    for (unsigned i = 0; i < 255; i++) {
        unsigned out = i * 257u;
        unsigned bound = (gamma16_correct(out + 128u, gamma) * max + 32768u) / 65535u + 1u;
        while (last < bound && last < entries) table[last++] = (uint16_t)out;
    }
    while (last < entries) table[last++] = 65535u;
}

/* png_init_read_transformations: no screen gamma from OpenCV, so the
 * screen is the reciprocal of the file; tables exist only when either is
 * significant. OpenCV also strips 16 to 8 bits, so at least 5 low bits go. */
void h5img_png_luma_init(h5img_png_luma *luma, const h5img_png_colorspace *colorspace, uint32_t bit_depth)
{
    int32_t file = colorspace->gamma ? (int32_t)colorspace->gamma : FP_1;
    int32_t screen = colorspace->gamma ? reciprocal(file) : FP_1;
    memset(luma, 0, offsetof(h5img_png_luma, table8));
    luma->tables = significant(file) || significant(screen);
    if (!luma->tables) return;
    if (bit_depth <= 8) {
        build8(luma->table8, screen > 0 ? reciprocal2(file, screen) : FP_1);
        build8(luma->to1_8, reciprocal(file));
        build8(luma->from1_8, screen > 0 ? reciprocal(screen) : file);
        return;
    }
    unsigned sig = colorspace->sig_bit;
    unsigned shift = sig > 0 && sig < 16 ? 16 - sig : 0;
    if (shift < 5) shift = 5;
    if (shift > 8) shift = 8;
    luma->shift = shift;
    build16to8(luma->table16, shift, screen > 0 ? product2(file, screen) : FP_1);
    build16(luma->to1_16, shift, reciprocal(file));
    build16(luma->from1_16, shift, screen > 0 ? reciprocal(screen) : file);
}

uint8_t h5img_png_luma8(const h5img_png_luma *luma, unsigned r, unsigned g, unsigned b)
{
    if (!luma->tables) {
        if (r == g && r == b) return (uint8_t)r;
        return (uint8_t)((LUMA_RED * r + LUMA_GREEN * g + LUMA_BLUE * b) >> 15);
    }
    if (r == g && r == b) return luma->table8[r];
    uint32_t sum = LUMA_RED * luma->to1_8[r] + LUMA_GREEN * luma->to1_8[g] + LUMA_BLUE * luma->to1_8[b];
    return luma->from1_8[(sum + 16384) >> 15];
}

/* Gray at 16 bits, then png_do_chop keeps the high byte. */
uint8_t h5img_png_luma16(const h5img_png_luma *luma, unsigned r, unsigned g, unsigned b)
{
    if (!luma->tables) return (uint8_t)(((LUMA_RED * r + LUMA_GREEN * g + LUMA_BLUE * b + 16384) >> 15) >> 8);
    unsigned s = luma->shift;
    if (r == g && r == b) return (uint8_t)(luma->table16[r >> s] >> 8);
    uint32_t sum = LUMA_RED * luma->to1_16[r >> s] + LUMA_GREEN * luma->to1_16[g >> s] + LUMA_BLUE * luma->to1_16[b >> s];
    uint32_t gray16 = (sum + 16384) >> 15;
    return (uint8_t)(luma->from1_16[gray16 >> s] >> 8);
}
