#!/usr/bin/python3
# make_seeds.py: writes the generated seed images of tests/fuzz/corpus/ (small PNGs and JPEGs of every kind h5img reads).
"""Regenerates the generated part of the committed fuzz corpus.

  /usr/bin/python3 tests/fuzz/make_seeds.py [--out tests/fuzz/corpus]

corpus/png_diff/gen-*.png  small PNGs: every colour type and bit depth, each
                           PNG row filter, Adam7, tRNS, gAMA/sRGB/pHYs,
                           split IDATs, odd widths, 1x1.
corpus/decode/gen-*        the same PNGs plus JPEGs (gray, 4:2:0, 4:2:2,
                           4:4:4, progressive, restart markers), each
                           followed by the 8-byte layout trailer that
                           fuzz_decode.c reads (probe mode, so they decode).
Deterministic (fixed seed). Files found by the fuzzer are kept beside these
under other names (min-*), not written by this script.
"""
import argparse
import io
import os
import random
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

RNG = random.Random(49301)


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if prev is not None and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (x - pred) & 0xFF
    return bytes([ftype]) + bytes(out)


def pack_rows(samples, depth):
    """samples: 2-D list [row][sample] of ints < 2**depth -> packed row bytes."""
    rows = []
    for r in samples:
        if depth == 16:
            rows.append(b"".join(struct.pack(">H", v) for v in r))
        elif depth == 8:
            rows.append(bytes(r))
        else:
            per = 8 // depth
            out = bytearray()
            for i in range(0, len(r), per):
                byte = 0
                for k in range(per):
                    v = r[i + k] if i + k < len(r) else 0
                    byte |= v << (8 - depth * (k + 1))
                out.append(byte)
            rows.append(bytes(out))
    return rows


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def make_png(width, height, depth, color, interlace=False, filters=None, extra=b"", trailing=b"", idat_pieces=1,
             level=6, palette_size=None):
    ch = CHANNELS[color]
    top = (1 << depth) - 1
    if color == 3:
        palette_size = palette_size or min(1 << depth, 256)
        top = palette_size - 1
    pix = [[[RNG.randint(0, top) if RNG.random() < 0.7 else (x * 7 + y * 3) % (top + 1) for _ in range(ch)]
            for x in range(width)] for y in range(height)]
    bpp = max(1, ch * depth // 8)

    def encode(sub_rows):
        raw = bytearray()
        prev = None
        for row in pack_rows([[v for px in r for v in px] for r in sub_rows], depth):
            f = RNG.randrange(5) if filters is None else filters[len(raw) % len(filters)]
            raw += filter_row(f, row, prev, bpp)
            prev = row
        return bytes(raw)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = [[pix[y][x] for x in range(x0, width, dx)] for y in range(y0, height, dy)]
            if sub and sub[0]:
                raw += encode(sub)
    else:
        raw = encode(pix)
    z = zlib.compress(raw, level)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if color == 3:
        out += chunk(b"PLTE", bytes(RNG.randrange(256) for _ in range(3 * palette_size)))
    out += extra
    step = max(1, len(z) // idat_pieces)
    pieces = [z[i:i + step] for i in range(0, len(z), step)] or [b""]
    for p in pieces:
        out += chunk(b"IDAT", p)
    return out + trailing + chunk(b"IEND", b"")


def png_seeds():
    seeds = {}
    for color, depths in ((0, (1, 2, 4, 8, 16)), (2, (8, 16)), (3, (1, 2, 4, 8)), (4, (8, 16)), (6, (8, 16))):
        for depth in depths:
            seeds[f"c{color}d{depth}"] = make_png(13, 9, depth, color)
            seeds[f"c{color}d{depth}-adam7"] = make_png(11, 10, depth, color, interlace=True)
    for f in range(5):
        seeds[f"rgb8-filter{f}"] = make_png(17, 6, 8, 2, filters=[f])
        seeds[f"rgba16-filter{f}"] = make_png(9, 5, 16, 6, filters=[f])
        seeds[f"gray8-filter{f}"] = make_png(31, 4, 8, 0, filters=[f])
    seeds["gray8-1x1"] = make_png(1, 1, 8, 0)
    seeds["rgb8-1x1"] = make_png(1, 1, 8, 2)
    seeds["rgba8-wide"] = make_png(200, 2, 8, 6)
    seeds["gray16-tall"] = make_png(2, 120, 16, 0)
    gama = chunk(b"gAMA", struct.pack(">I", 45455))
    srgb = chunk(b"sRGB", b"\x00")
    phys = chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    seeds["rgb8-gama-srgb-phys"] = make_png(12, 12, 8, 2, extra=gama + srgb + phys)
    seeds["rgb8-gama"] = make_png(12, 12, 8, 2, extra=chunk(b"gAMA", struct.pack(">I", 100000)))
    seeds["rgb16-gama"] = make_png(12, 12, 16, 2, extra=chunk(b"gAMA", struct.pack(">I", 220000)))
    seeds["gray8-trns"] = make_png(8, 8, 8, 0, extra=chunk(b"tRNS", struct.pack(">H", 7)))
    seeds["gray16-trns"] = make_png(8, 8, 16, 0, extra=chunk(b"tRNS", struct.pack(">H", 300)))
    seeds["rgb8-trns"] = make_png(8, 8, 8, 2, extra=chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3)))
    seeds["pal8-trns"] = make_png(8, 8, 8, 3, palette_size=16,
                                  extra=chunk(b"tRNS", bytes(RNG.randrange(256) for _ in range(10))))
    seeds["rgb8-sbit"] = make_png(8, 8, 8, 2, extra=chunk(b"sBIT", b"\x05\x06\x05"))
    seeds["rgb8-split-idat"] = make_png(24, 24, 8, 2, idat_pieces=5)
    seeds["rgba8-split-idat"] = make_png(24, 24, 8, 6, idat_pieces=3, level=0)
    seeds["rgb8-text-after"] = make_png(10, 10, 8, 2, trailing=chunk(b"tEXt", b"Comment\x00fuzz seed"))
    seeds["gray8-level0"] = make_png(40, 30, 8, 0, level=0)
    seeds["rgb8-level9"] = make_png(40, 30, 8, 2, level=9)
    return seeds


def jpeg_seeds():
    seeds = {}
    rng = np.random.default_rng(49301)
    base = (np.indices((24, 40)).sum(axis=0) * 5 % 256).astype(np.uint8)
    color = np.dstack([base, 255 - base, rng.integers(0, 256, base.shape, dtype=np.uint8)])
    gray = base.copy()
    params = {
        "420": [cv2.IMWRITE_JPEG_QUALITY, 80],
        "progressive": [cv2.IMWRITE_JPEG_PROGRESSIVE, 1],
        "restart": [cv2.IMWRITE_JPEG_RST_INTERVAL, 1],
        "optimize": [cv2.IMWRITE_JPEG_OPTIMIZE, 1, cv2.IMWRITE_JPEG_QUALITY, 30],
    }
    for name, p in params.items():
        ok, buf = cv2.imencode(".jpg", color, p)
        assert ok
        seeds[f"jpeg-{name}"] = buf.tobytes()
    # OpenCV 4.6 here cannot choose the chroma subsampling; Pillow can.
    for name, sub in (("422", 1), ("444", 0)):
        out = io.BytesIO()
        Image.fromarray(color).save(out, "JPEG", quality=85, subsampling=sub)
        seeds[f"jpeg-{name}"] = out.getvalue()
    for name in ("420", "progressive"):
        ok, buf = cv2.imencode(".jpg", gray, params[name])
        seeds[f"jpeg-gray-{name}"] = buf.tobytes()
    ok, buf = cv2.imencode(".jpg", color[:7, :13])
    seeds["jpeg-odd-7x13"] = buf.tobytes()
    ok, buf = cv2.imencode(".jpg", color[:1, :1])
    seeds["jpeg-1x1"] = buf.tobytes()
    return seeds


def trailer(rule, flags=0, mode=3, channels_index=0, wide=False):
    """fuzz_decode.c trailer: size bytes unused in probe mode, channel byte, rule, flags, mode."""
    return bytes([0, 0, 0, 0, channels_index | (0x80 if wide else 0), rule - 1, flags, mode])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "png_diff"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "decode"), exist_ok=True)
    pngs = png_seeds()
    for name, data in pngs.items():
        with open(os.path.join(args.out, "png_diff", f"gen-{name}.png"), "wb") as f:
            f.write(data)
    # decode: each PNG under NATIVE (probe mode gives channels and depth) and under COLOR, MASK or LUMA
    for i, (name, data) in enumerate(sorted(pngs.items())):
        with open(os.path.join(args.out, "decode", f"gen-{name}-native"), "wb") as f:
            f.write(data + trailer(1, flags=i % 4, mode=3))
        rule = 2 + i % 3
        with open(os.path.join(args.out, "decode", f"gen-{name}-rule{rule}"), "wb") as f:
            f.write(data + trailer(rule, flags=i % 2, mode=1, channels_index=1 if rule == 2 else 0))
    for i, (name, data) in enumerate(sorted(jpeg_seeds().items())):
        with open(os.path.join(args.out, "decode", f"gen-{name}-native"), "wb") as f:
            f.write(data + trailer(1, mode=3))
        rule = 2 + i % 3
        with open(os.path.join(args.out, "decode", f"gen-{name}-rule{rule}"), "wb") as f:
            f.write(data + trailer(rule, flags=i % 2, mode=1, channels_index=1 if rule == 2 else 0))


if __name__ == "__main__":
    main()
