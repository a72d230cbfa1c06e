"""Shared helpers for the scripts that run faultline and read its stats (calibration and
experiments): run one simulation into a temporary directory and return its stats."""
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BIN = os.path.join(ROOT, "build", "faultline")


def run(binary, workload_text=None, workload_path=None, config=None, sets=()):
    """Runs faultline; returns the stats dict of stats.json. Raises on a non-zero exit."""
    with tempfile.TemporaryDirectory(prefix="faultline-run-") as d:
        args = [binary, "run", "--quiet", "--out", os.path.join(d, "out")]
        if config:
            args += ["--config", config]
        if workload_text is not None:
            workload_path = os.path.join(d, "workload.textproto")
            with open(workload_path, "w") as f:
                f.write(workload_text)
        if workload_path:
            args += ["--workload", workload_path]
        for s in sets:
            args += ["--set", s]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("faultline failed (%d): %s\n%s" % (p.returncode, " ".join(args), p.stderr))
        with open(os.path.join(d, "out", "stats.json")) as f:
            return json.load(f)["stats"]


def copy_gb_per_s(stats):
    """Bandwidth of the dma_copy operations of a run: bytes over summed job time."""
    h = stats["workload.dma_copy_ns"]
    return stats["workload.dma_copy_bytes"] / (h["mean"] * h["count"])
