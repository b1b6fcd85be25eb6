#!/usr/bin/python3
"""test_batch.py: h5imgbatch as one process: outputs equal to the single tools', failures reported, resume after SIGKILL, reruns."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batch_common import (BATCH, DECODABLE, leftovers, make_inputs, oracle, report, run_batch, tree, workdir,  # noqa: E402
                          write_manifest)

CASES = (("repack", ()), ("extract", ("--format", "png")), ("preview", ("--tile-width", "200")))


class SingleProcess(unittest.TestCase):
    def check_against_oracle(self, d, kind, tool_args, paths, out):
        for p in paths:
            want = tree(oracle(kind, p, os.path.join(d, "oracle-" + kind), tool_args))
            base = os.path.basename(p)
            name = base if kind == "repack" else base.rsplit(".", 1)[0] + (".png" if kind == "preview" else "")
            got = tree(os.path.join(out, name))
            self.assertEqual(sorted(got), sorted(want), f"{kind} {p}: different files")
            for k in want:
                self.assertEqual(got[k], want[k], f"{kind} {p}: {k} differs from the tool run by hand")

    def test_outputs_equal_single_tools(self):
        """Each subcommand's outputs are byte-identical to h5imgrepack / h5imgdump run by hand on each input."""
        for kind, tool_args in CASES:
            with self.subTest(kind=kind):
                d = workdir(self)
                paths = \
                    make_inputs(d, 2, *((DECODABLE,) if "png" in tool_args else ()))
                out = os.path.join(d, "out")
                r = run_batch([kind, "--manifest", write_manifest(d, paths), "--out", out, *tool_args])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"h5imgbatch: {len(paths)} files: {len(paths)} done, 0 skipped, 0 failed in", r.stderr)
                rep = report(out)
                self.assertEqual([e["status"] for e in rep["results"]], ["done"] * len(paths))
                self.assertEqual([e["input"] for e in rep["results"]], paths, "report not in manifest order")
                self.check_against_oracle(d, kind, tool_args, paths, out)
                self.assertEqual(leftovers(out), [])

    def test_corrupt_inputs_reported_failed(self):
        """A truncated sample, a non-HDF5 file and a missing path fail with the tool's error text; the rest are done; exit 2."""
        d = workdir(self)
        paths = make_inputs(d, 1)
        trunc = os.path.join(d, "in", "truncated.smc")
        with open(paths[0], "rb") as f, open(trunc, "wb") as g:
            g.write(f.read()[:100000])
        junk = os.path.join(d, "in", "junk.smc")
        with open(junk, "w") as f:
            f.write("not an HDF5 file\n")
        missing = os.path.join(d, "in", "missing.smc")
        out = os.path.join(d, "out")
        r = run_batch(["extract", "-m", write_manifest(d, paths + [trunc, junk, missing]), "-o", out])
        self.assertEqual(r.returncode, 2, r.stderr)
        by_input = {e["input"]: e for e in report(out)["results"]}
        for p in paths:
            self.assertEqual(by_input[p]["status"], "done")
        self.assertIn("truncated file", by_input[trunc]["error"])  # HDF5's own reason, passed on by h5imgdump
        self.assertIn("not an HDF5 file", by_input[junk]["error"])
        self.assertIn("No such file or directory", by_input[missing]["error"])
        for p in (trunc, junk, missing):
            self.assertEqual(by_input[p]["status"], "failed")
            self.assertFalse(os.path.exists(os.path.join(out, os.path.basename(p)[:-4])), "failed input left an output")
        self.assertIn("3 failed", r.stderr)
        self.check_against_oracle(d, "extract", (), paths, out)

    def test_rerun_of_complete_job_does_nothing(self):
        """A second run of a finished job skips every file and leaves every output's mtime unchanged."""
        d = workdir(self)
        paths = make_inputs(d, 3, DECODABLE)
        out = os.path.join(d, "out")
        args = ["extract", "--manifest", write_manifest(d, paths), "--out", out, "--format", "npy"]
        self.assertEqual(run_batch(args).returncode, 0)
        before = {}
        for root, _, files in os.walk(out):
            if ".h5imgbatch" not in root:
                for n in files:
                    before[os.path.join(root, n)] = os.stat(os.path.join(root, n)).st_mtime_ns
        r = run_batch(args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["status"] for e in report(out)["results"]], ["skipped"] * len(paths))
        after = {p: os.stat(p).st_mtime_ns for p in before}
        self.assertEqual(after, before)
        # A touched input, a damaged output and changed options are done again, nothing else.
        os.utime(paths[0])
        victim = sorted(p for p in before if os.path.basename(os.path.dirname(os.path.dirname(p))) != "x")[-1]
        with open(victim, "r+b") as f:
            f.seek(-1, 2)
            last = f.read(1)
            f.seek(-1, 2)
            f.write(bytes([last[0] ^ 1]))
        damaged = os.path.relpath(victim, out).split(os.sep)[0]
        r = run_batch(args)
        self.assertEqual(r.returncode, 0, r.stderr)
        status = {e["input"]: e["status"] for e in report(out)["results"]}
        redo = {paths[0]} | {p for p in paths if os.path.basename(p)[:-4] == damaged}
        for p in paths:
            self.assertEqual(status[p], "done" if p in redo else "skipped", p)
        self.check_against_oracle(d, "extract", ("--format", "npy"), paths, out)
        r = run_batch(args[:-1] + ["png"])
        self.assertEqual([e["status"] for e in report(out)["results"]], ["done"] * len(paths), "new options not redone")

    def test_sigkill_midway_then_rerun(self):
        """A job killed with SIGKILL after its first completion record, rerun, gives the oracle's outputs and no temporaries."""
        d = workdir(self)
        paths = make_inputs(d, 12, DECODABLE)
        out = os.path.join(d, "out")
        args = [BATCH, "extract", "--manifest", write_manifest(d, paths), "--out", out, "--format", "npy", "-j", "1"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        state = os.path.join(out, ".h5imgbatch")
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if os.path.isdir(state) and any(n.endswith(".done") and not n.startswith(".") for n in os.listdir(state)):
                break
            time.sleep(0.005)
        self.assertIsNone(proc.poll(), "the job finished before it could be killed: use slower inputs")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        records = [n for n in os.listdir(state) if n.endswith(".done") and not n.startswith(".")]
        self.assertLess(len(records), len(paths))
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        statuses = [e["status"] for e in report(out)["results"]]
        self.assertEqual(statuses.count("skipped"), len(records), statuses)
        self.assertEqual(statuses.count("done"), len(paths) - len(records))
        self.assertEqual(leftovers(out), [])
        self.check_against_oracle(d, "extract", ("--format", "npy", "-j", "1"), paths, out)

    def test_collisions_refused_before_any_work(self):
        """Two inputs with the same output name: exit 1, both named, DIR never created."""
        d = workdir(self)
        paths = make_inputs(d, 1)
        os.makedirs(os.path.join(d, "other"))
        twin = os.path.join(d, "other", os.path.basename(paths[0])[:-4] + ".h5")
        with open(twin, "wb") as f:
            f.write(b"x")
        out = os.path.join(d, "out")
        r = run_batch(["preview", "--manifest", write_manifest(d, paths + [twin]), "--out", out])
        self.assertEqual(r.returncode, 1)
        self.assertIn(paths[0], r.stderr)
        self.assertIn(twin, r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_bad_usage_exit_1(self):
        """Options h5imgbatch owns are refused among the tool's, as are a missing manifest and operands: exit 1."""
        d = workdir(self)
        m = write_manifest(d, make_inputs(d, 1))
        out = os.path.join(d, "out")
        for args, words in ((["extract", "-m", m, "-o", out, "--extract", "x"], "--extract"),
                            (["extract", "-m", m, "-o", out, "--ext=x"], "--ext=x"),
                            (["repack", "-m", m, "-o", out, "--verify", "-o", "x"], "-o"),
                            (["repack", "-m", m, "-o", out, "stray"], "stray"),
                            (["extract", "-m", os.path.join(d, "none.txt"), "-o", out], "none.txt"),
                            (["frobnicate", "-m", m, "-o", out], "frobnicate")):
            r = run_batch(args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(words, r.stderr)
            self.assertFalse(os.path.exists(out), args)

    def test_help_documents_options(self):
        """--help names every subcommand, option, the report and the exit statuses."""
        r = run_batch(["--help"])
        self.assertEqual(r.returncode, 0)
        for word in ("repack", "extract", "preview", "--manifest", "--out", "-q", "report.json", "EXIT STATUS",
                     "mpirun", "H5IMGDUMP"):
            self.assertIn(word, r.stdout)


if __name__ == "__main__":
    unittest.main()
