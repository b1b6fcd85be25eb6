/* dump_font.h: the bitmap font of --preview's camera names (dump_font.c). */
#ifndef H5IMG_TOOLS_DUMP_FONT_H
#define H5IMG_TOOLS_DUMP_FONT_H

#include <stdint.h>

#define DUMP_FONT_WIDTH 7
#define DUMP_FONT_HEIGHT 12
#define DUMP_FONT_FIRST 32
#define DUMP_FONT_LAST 126

/* One row byte per pixel row of each printable ASCII character; bit 6 is the leftmost column. */
extern const uint8_t dump_font[DUMP_FONT_LAST - DUMP_FONT_FIRST + 1][DUMP_FONT_HEIGHT];

#endif
