#!/usr/bin/python3
"""test_batch_mpi.py: h5imgbatch under mpirun -n 2: both ranks work, and the results equal one process's and the single tools'."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batch_common import (BATCH, DECODABLE, leftovers, make_inputs, oracle, report, run_batch, tree,  # noqa: E402
                          workdir, write_manifest)

# Added by CMake only when h5imgbatch was built with MPI, so a missing launcher is a failure, not a skip.
MPIEXEC = os.environ.get("H5IMG_MPIEXEC")
LAUNCH = (MPIEXEC or "mpiexec", "--allow-run-as-root", "--oversubscribe", "-n", "2")


def descendants(root):
    """Every live process below root, from /proc."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


class TwoRanks(unittest.TestCase):
    def setUp(self):
        if not MPIEXEC or not os.access(MPIEXEC, os.X_OK):
            self.fail(f"H5IMG_MPIEXEC ({MPIEXEC!r}) is not an executable mpiexec, but h5imgbatch was built with MPI")

    def test_two_ranks_equal_one_process_and_oracle(self):
        """repack, extract and preview on 2 ranks: every file done, both ranks used, outputs equal to 1 process and to the tools by hand."""
        for kind, tool_args, samples in (("repack", (), ("renderme_sample.smc", "dna_sample.smc")),
                                         ("extract", ("--format", "npy", "-j", "1"), DECODABLE),
                                         ("preview", ("--frame", "1"), ("renderme_sample.smc", "dna_sample.smc"))):
            with self.subTest(kind=kind):
                d = workdir(self)
                paths = make_inputs(d, 4, samples)
                m = write_manifest(d, paths)
                r2 = run_batch([kind, "-m", m, "-o", os.path.join(d, "two"), *tool_args], launcher=LAUNCH)
                self.assertEqual(r2.returncode, 0, r2.stderr)
                r1 = run_batch([kind, "-m", m, "-o", os.path.join(d, "one"), *tool_args])
                self.assertEqual(r1.returncode, 0, r1.stderr)
                rep = report(os.path.join(d, "two"))
                self.assertEqual(rep["ranks"], 2)
                self.assertEqual({e["status"] for e in rep["results"]}, {"done"})
                self.assertEqual({e["rank"] for e in rep["results"]}, {0, 1}, "a rank did no work")
                for p in paths:
                    base = os.path.basename(p)
                    name = base if kind == "repack" else base[:-4] + (".png" if kind == "preview" else "")
                    want = tree(oracle(kind, p, os.path.join(d, "oracle"), tool_args))
                    self.assertEqual(tree(os.path.join(d, "two", name)), want, f"{name}: 2 ranks differ from the tool")
                    self.assertEqual(tree(os.path.join(d, "one", name)), want, f"{name}: 1 process differs from the tool")
                self.assertEqual(leftovers(os.path.join(d, "two")), [])

    def test_killed_mpi_job_resumes(self):
        """mpirun's process group killed with SIGKILL after the first record, rerun on 2 ranks: the oracle's outputs, nothing stale."""
        d = workdir(self)
        paths = make_inputs(d, 12, DECODABLE)
        out = os.path.join(d, "out")
        tool_args = ("--format", "npy", "-j", "1")
        args = [*LAUNCH, BATCH, "extract", "-m", write_manifest(d, paths), "-o", out, *tool_args]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        state = os.path.join(out, ".h5imgbatch")
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if os.path.isdir(state) and any(n.endswith(".done") and not n.startswith(".") for n in os.listdir(state)):
                break
            time.sleep(0.005)
        self.assertIsNone(proc.poll(), "the job finished before it could be killed")
        # Open MPI puts its ranks in process groups of their own: kill mpirun's and every descendant's.
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        time.sleep(0.5)
        records = [n for n in os.listdir(state) if n.endswith(".done") and not n.startswith(".")]
        self.assertLess(len(records), len(paths), "every file finished before the kill: nothing was resumed")
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        statuses = [e["status"] for e in report(out)["results"]]
        self.assertEqual(statuses.count("skipped"), len(records), statuses)
        self.assertEqual(statuses.count("done"), len(paths) - len(records))
        self.assertEqual(leftovers(out), [])
        for p in paths:
            want = tree(oracle("extract", p, os.path.join(d, "oracle"), tool_args))
            self.assertEqual(tree(os.path.join(out, os.path.basename(p)[:-4])), want)


if __name__ == "__main__":
    unittest.main()
