"""batch_common.py: shared helpers of the h5imgbatch tests: inputs from the samples, the single tools as oracle, tree comparison."""
import json
import os
import shutil
import subprocess
import tempfile

BATCH = os.environ.get("H5IMGBATCH", "h5imgbatch")
REPACK = os.environ.get("H5IMGREPACK", "h5imgrepack")
DUMP = os.environ.get("H5IMGDUMP", "h5imgdump")
SAMPLES = os.environ.get("H5IMG_SAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "h5_samples"))
TMP_ROOT = os.environ.get("H5IMG_TEST_TMP") or tempfile.gettempdir()


def workdir(test):
    os.makedirs(TMP_ROOT, exist_ok=True)
    d = tempfile.mkdtemp(prefix="batch-", dir=TMP_ROOT)
    test.addCleanup(shutil.rmtree, d, True)
    return d


# dna_sample.smc holds one corrupt JPEG frame on purpose (h5_samples/README.md): decoding
# extractions of it exit 2, so tests that decode use the renderme copies only.
BOTH = ("renderme_sample.smc", "dna_sample.smc")
DECODABLE = ("renderme_sample.smc",)


def make_inputs(d, copies=3, samples=BOTH):
    """Copies of both samples under distinct names (the renderme copies have their frames in a
    different order of size, so largest-first differs from manifest order), in d/in."""
    src = os.path.join(d, "in")
    os.makedirs(src)
    paths = []
    for k in range(copies):
        for sample in samples:
            p = os.path.join(src, f"{sample[:-4]}_{k}.smc")
            shutil.copyfile(os.path.join(SAMPLES, sample), p)
            paths.append(p)
    return paths


def write_manifest(d, paths, name="list.txt"):
    m = os.path.join(d, name)
    with open(m, "w") as f:
        f.write("# inputs\n\n" + "\n".join(paths) + "\n")
    return m


def run_batch(args, launcher=(), timeout=300):
    return subprocess.run([*launcher, BATCH, *args], capture_output=True, text=True, timeout=timeout)


def oracle(kind, path, out_dir, tool_args=()):
    """What the single tool run by hand writes for one input: the path of its output."""
    base = os.path.basename(path)
    stem = base.rsplit(".", 1)[0]
    if kind == "repack":
        out = os.path.join(out_dir, base)
        cmd = [REPACK, *tool_args, path, out]
    elif kind == "extract":
        out = os.path.join(out_dir, stem)
        cmd = [DUMP, "--extract", out, *tool_args, path]
    else:
        out = os.path.join(out_dir, stem + ".png")
        cmd = [DUMP, "--preview", out, *tool_args, path]
    os.makedirs(out_dir, exist_ok=True)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"oracle {cmd} exited {r.returncode}: {r.stderr}")
    return out


def h5_content(path):
    """Everything of an HDF5 file but its object timestamps (HDF5 stores modification times, so two
    repacks of one input are byte-identical only within the same second): every object's path,
    attributes, and each dataset's type, shape and stored chunk bytes or values."""
    import h5py
    import numpy as np
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {k: np.asarray(v).tobytes() for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                if obj.chunks and obj.compression is None and obj.id.get_num_chunks() == 1 and len(obj._filters) > 0:
                    data = obj.id.read_direct_chunk((0,) * obj.ndim)[1]
                elif obj.dtype.kind in "OV":
                    data = repr(obj[()])
                else:
                    data = obj[()].tobytes() if obj.size else b""
                out[name] = (str(obj.dtype), obj.shape, attrs, data)
            else:
                out[name] = ("group", attrs)
        f.visititems(visit)
    return out


def tree(path):
    """{relative path: bytes} of a file or of every file under a directory; HDF5 files by content."""
    if os.path.isfile(path) and path.endswith((".smc", ".h5")):
        return {"": h5_content(path)}
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return {"": f.read()}
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = f.read()
    return out


def report(out_dir):
    with open(os.path.join(out_dir, ".h5imgbatch", "report.json")) as f:
        return json.load(f)


def leftovers(out_dir):
    """Temporaries of ours or of the tools left in out_dir."""
    names = os.listdir(out_dir) + os.listdir(os.path.join(out_dir, ".h5imgbatch"))
    return [n for n in names if ".tmp" in n or n.startswith(".h5imgbatch-tmp")]
