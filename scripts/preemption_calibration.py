#!/usr/bin/python3
"""Checks the preemption calibration of configs/h200-like.textproto.

Runs the three H200 context-switch points of ../shared/reference/hardware-figures.md
(section A) and compares the model's context switch (one queue's unmap with CWSR save,
soc.gpu.cp.preempt.latency_ns, plus the other's map with restore,
soc.gpu.cp.preempt.restore_ns) with the measurement. Exits 1 if any point is off by more
than 10%.

    scripts/preemption_calibration.py [--bin build/faultline]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POINTS = [  # workload, measured switch (us), what
    ("preempt_h200_1warp", 152.5, "1 warp"),
    ("preempt_h200_8448warps", 221.4, "8448 warps, 26 MB registers"),
    ("preempt_h200_8448warps_lds", 251.1, "8448 warps, + 26.4 MB shared memory"),
]
TOLERANCE = 0.10


def run(binary, workload, out):
    subprocess.run([binary, "run", "--quiet", "--config", os.path.join(ROOT, "configs/h200-like.textproto"),
                    "--workload", os.path.join(ROOT, "traces/workloads", workload + ".textproto"),
                    "--out", out], check=True)
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)["stats"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/faultline"))
    args = ap.parse_args()
    worst = 0.0
    print(f"{'point':40s} {'measured':>10s} {'model':>10s} {'error':>8s}   (save + restore, waves, state bytes)")
    with tempfile.TemporaryDirectory() as tmp:
        for workload, measured, what in POINTS:
            s = run(args.bin, workload, os.path.join(tmp, workload))
            save = s["soc.gpu.cp.preempt.latency_ns"]["mean"] / 1000
            restore = s["soc.gpu.cp.preempt.restore_ns"]["mean"] / 1000
            model = save + restore
            err = (model - measured) / measured
            worst = max(worst, abs(err))
            print(f"{what:40s} {measured:8.1f}us {model:8.1f}us {100 * err:+7.2f}%   "
                  f"({save:.1f} + {restore:.1f} us, {s['soc.gpu.cp.preempt.waves']} waves, "
                  f"{s['soc.gpu.cp.preempt.saved_bytes']} bytes)")
    ok = worst <= TOLERANCE
    print(f"worst error {100 * worst:.2f}% (limit {100 * TOLERANCE:.0f}%): {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
