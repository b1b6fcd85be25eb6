#!/usr/bin/python3
# trailer_seeds.py: copies images into a fuzz_decode seed directory, each as it is and with layout trailers appended.
"""Turns a directory of images (for instance the JPEG variants that ctest's
codec.jpeg_variants fixture writes into <build>/tests/codec/oracle/jpeg_variants)
into extra seeds for fuzz_decode, which reads its last 8 bytes as a layout
trailer (see the comment in fuzz_decode.c): a raw image loses its end to the
trailer and seldom decodes, so each one is written as it is and followed by a
few trailers that take the size from the probe, under every rule, some with
the two-band JPEG split forced at different rows (mode bit 4).

  /usr/bin/python3 tests/fuzz/trailer_seeds.py --out build-fuzz/work/decode/extra-seeds DIR...
  FUZZ_EXTRA_SEEDS=build-fuzz/work/decode/extra-seeds tests/fuzz/run.sh 3000000 decode

Only *.jpg, *.jpeg and *.png files are taken. The output is generated: keep it
out of the repository (build-fuzz/ is ignored).
"""
import argparse
import os

MODE_PROBE_SIZE, MODE_PROBE_TYPE, MODE_ONE_SHOT, MODE_SPLIT, MODE_SPLIT_NO_THREAD = 1, 2, 4, 16, 32


def trailer(rule, mode, channels_index=0, flags=0, k=0):
    """rule 1-4; k: split row 8 * k (0: the balanced row), in t[5] bits 4-7 and t[6] bits 2-6."""
    return bytes([0, 0, 0, 0, channels_index, (rule - 1) | (k >> 5) << 4, flags | (k & 31) << 2, mode])


TRAILERS = {
    "native": trailer(1, MODE_PROBE_SIZE | MODE_PROBE_TYPE),
    "native-split-auto": trailer(1, MODE_PROBE_SIZE | MODE_PROBE_TYPE | MODE_SPLIT),
    "native-split16": trailer(1, MODE_PROBE_SIZE | MODE_PROBE_TYPE | MODE_SPLIT, k=2),
    "native-oneshot-split72": trailer(1, MODE_PROBE_SIZE | MODE_PROBE_TYPE | MODE_ONE_SHOT | MODE_SPLIT, k=9),
    "colour-bgr-split40": trailer(2, MODE_PROBE_SIZE | MODE_SPLIT, channels_index=1, flags=1, k=5),
    "mask-split-nothread": trailer(3, MODE_PROBE_SIZE | MODE_SPLIT | MODE_SPLIT_NO_THREAD, k=3),
    "luma-split24": trailer(4, MODE_PROBE_SIZE | MODE_SPLIT, k=3),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="seed directory to write (created)")
    ap.add_argument("dirs", nargs="+", help="directories of images")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    written = 0
    for d in args.dirs:
        for name in sorted(os.listdir(d)):
            if not name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            stem = os.path.splitext(name)[0]
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(data)
            for tag, t in TRAILERS.items():
                with open(os.path.join(args.out, f"{stem}-{tag}"), "wb") as f:
                    f.write(data + t)
            written += 1 + len(TRAILERS)
    print(f"trailer_seeds: {written} seeds in {args.out}")


if __name__ == "__main__":
    main()
