#!/usr/bin/python3
"""oracle_decode.py IN.npz OUT.npz RULE: OpenCV's decode (Debian's, the version the rules are defined against) of each array of encoded bytes in IN."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
from make_oracle import decode  # noqa: E402  (the one definition of each rule in OpenCV terms)


def main():
    source, target, rule = sys.argv[1:4]
    encoded = np.load(source)
    decoded = {}
    for key in encoded.files:
        image = decode(encoded[key].tobytes(), rule)
        decoded[key] = image if image is not None else np.zeros(0, np.uint8)
        decoded[key + ".ok"] = np.array(image is not None)
    np.savez(target, **decoded)


if __name__ == "__main__":
    main()
