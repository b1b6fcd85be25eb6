#!/usr/bin/python3
"""make_samples.py: regenerate renderme_sample.smc and dna_sample.smc from skimage.data photographs (deterministic)."""
import os
import sys

import cv2
import h5py
import numpy as np
import skimage.data

HERE = os.path.dirname(os.path.abspath(__file__))
JPEG_QUALITY = 90
FRAMES = 3

# Sample frames are small so the files stay a few hundred kB; aspect ratios
# follow the real cameras (2448x2048 for RenderMe-360 and DNA 5 MP, 4096x3000 for 12 MP).
RENDERME_SIZE = (160, 134)  # (W, H)
DNA_5MP_SIZE = (160, 134)
DNA_12MP_SIZE = (192, 141)
# The one corrupt frame (dna_sample.smc:/Camera_5mp/01/color/2): a JPEG cut to 100 bytes.
CORRUPT_FRAME = ("Camera_5mp", "01", FRAMES - 1)


def photo(name):
    """An RGB uint8 photograph from skimage.data (grayscale ones replicated)."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def frame(image, index, size):
    """A per-frame view: a crop sliding a little each frame, resized like a camera frame."""
    h, w = image.shape[:2]
    dx, dy = 6 * index, 4 * index
    crop = image[dy:h - 24 + dy, dx:w - 36 + dx]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def encode(ext, image, params=()):
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok, ext
    return np.frombuffer(data.tobytes(), dtype=np.uint8)


def jpeg_bgr(rgb):
    return encode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY))


def soft_mask(rgb):
    """A foreground-like matte: Otsu threshold of the photo, then blurred so edges are soft (not just 0/255)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    _, hard = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.GaussianBlur(hard, (7, 7), 2.0)


def bytes_dataset(group, name, data):
    """The legacy layout: one contiguous 1-D uint8 dataset of encoded bytes."""
    return group.create_dataset(name, data=data, dtype=np.uint8)


def ordered_group(parent, name):
    """A group that tracks link and attribute creation order, without the
    object timestamps h5py's track_order=True adds (they break byte-for-byte
    regeneration)."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    order = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED
    gcpl.set_link_creation_order(order)
    gcpl.set_attr_creation_order(order)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]


def calibration(group, cam_index, rng):
    f = 1500.0 + 10 * cam_index
    group["K"] = np.array([[f, 0, 1224.0], [0, f, 1024.0], [0, 0, 1]], dtype=np.float64)
    group["D"] = rng.normal(0, 0.01, 5).astype(np.float64)
    rt = np.eye(4)
    angle = np.deg2rad(6 * cam_index)
    rt[:3, :3] = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    rt[:3, 3] = [0.1 * cam_index, 0.0, 2.5]
    group["RT"] = rt


def make_renderme(path):
    rng = np.random.default_rng(360)
    cams = {"00": "astronaut", "25": "coffee", "59": "chelsea"}
    w, h = RENDERME_SIZE
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs.update(actor_id=26, performance_part="e_0", capture_date="20220530", age=24, gender="female",
                       color="yellow", height=165, weight=55)
        camera = ordered_group(f, "Camera")
        camera.attrs.update(num_device=60, num_frame=FRAMES, resolution=np.array([h, w], dtype=np.int64))
        for cam, source in cams.items():
            image = photo(source)
            for i in range(FRAMES):
                rgb = frame(image, i, RENDERME_SIZE)
                bytes_dataset(camera, f"{cam}/color/{i}", jpeg_bgr(rgb))
                bytes_dataset(camera, f"{cam}/mask/{i}", encode(".png", soft_mask(rgb)))
        camera["00/color/0"].attrs["timestamp_us"] = np.int64(1653900000123456)
        camera["00/preview"] = camera["00/color/0"]  # hard link: one object, two paths
        for index, cam in enumerate(cams):
            calibration(f.create_group(f"Calibration/{cam}"), int(cam), rng)
            for i in range(FRAMES):
                f[f"Keypoints2d/{cam}/{i}"] = rng.uniform(0, 2048, (106, 2))
        f["Calibration/reference"] = h5py.SoftLink("/Calibration/00")
        for i in range(FRAMES):
            f[f"Keypoints3d/{i}"] = rng.normal(0, 0.2, (73, 3))
        texture = cv2.resize(photo("astronaut"), (64, 64), interpolation=cv2.INTER_AREA)
        bytes_dataset(f, "UV_texture/0", encode(".png", cv2.cvtColor(texture, cv2.COLOR_RGB2BGR)))
        f.create_dataset("Scan/vertex", data=rng.normal(0, 1, (2000, 3)).astype(np.float32), compression="gzip",
                         compression_opts=4, shuffle=True, chunks=(500, 3))
        f.create_dataset("Scan/vertex_indices", data=rng.integers(0, 2000, (1000, 3)).astype(np.int32))
        f.create_dataset("Scan/empty", shape=(0,), dtype=np.uint8)
        info = np.dtype([("camera", "S4"), ("frame", "<i4"), ("exposure_ms", "<f8"), ("valid", "u1")])
        records = np.array([(c.encode(), i, 8.0 + i, 1) for c in cams for i in range(FRAMES)], dtype=info)
        f.create_dataset("Camera_info", data=records)
        f.attrs["notes"] = h5py.Empty("f4")


def make_dna(path):
    rng = np.random.default_rng(2023)
    with h5py.File(path, "w") as f:
        f.attrs.update(actor_id="0012_02", performance="dance", num_frames=FRAMES)
        groups = {"Camera_5mp": ({"00": "astronaut", "01": "coffee"}, DNA_5MP_SIZE),
                  "Camera_12mp": ({"48": "chelsea"}, DNA_12MP_SIZE)}
        for group_name, (cams, size) in groups.items():
            group = f.create_group(group_name)
            group.attrs.update(num_device=48 if group_name == "Camera_5mp" else 12, num_frame=FRAMES,
                               resolution=np.array([size[1], size[0]], dtype=np.int64))
            for cam, source in cams.items():
                image = photo(source)
                for i in range(FRAMES):
                    rgb = frame(image, i, size)
                    color = jpeg_bgr(rgb)
                    if (group_name, cam, i) == CORRUPT_FRAME:
                        color = color[:100]  # cut inside the header, as happens in released files
                    bytes_dataset(group, f"{cam}/color/{i}", color)
                    mask = soft_mask(rgb)
                    # Released masks come in three encodings: gray PNG, gray JPEG and 3-channel JPEG.
                    if i == 0:
                        data = encode(".png", mask)
                    elif i == 1:
                        data = encode(".jpg", mask, (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY))
                    else:
                        data = encode(".jpg", cv2.merge([mask, mask, mask]), (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY))
                    bytes_dataset(f, f"Mask/{cam}/mask/{i}", data)
                calibration(f.create_group(f"Camera_Parameter/{cam}"), int(cam), rng)
                f[f"Camera_Parameter/{cam}/Color_Calibration"] = rng.normal(1, 0.05, (3, 3))
        gray = cv2.cvtColor(photo("camera"), cv2.COLOR_RGB2GRAY)
        for i in range(FRAMES):
            depth = cv2.resize(gray, (128, 96), interpolation=cv2.INTER_AREA).astype(np.uint16) * 16 + 500 + i
            f.create_dataset(f"Kinect/00/depth/{i}", data=depth)  # not encoded: copied as it is
        f["Kinect/00/depth_png/0"] = encode(".png", f["Kinect/00/depth/0"][()])  # 16-bit PNG
        f.create_dataset("Keypoints_3D", data=rng.normal(0, 0.3, (FRAMES, 25, 4)), compression="gzip")


def main():
    targets = {"renderme_sample.smc": make_renderme, "dna_sample.smc": make_dna}
    out_dir = sys.argv[1] if len(sys.argv) > 1 else HERE
    for name, make in targets.items():
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            os.remove(path)
        make(path)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
