#!/usr/bin/python3
"""Checks the preemption calibration of configs/h200-like.textproto.

Runs the three H200 context-switch points of ../shared/reference/hardware-figures.md
(section A) and compares the model's context switch (one queue's unmap with CWSR save,
soc.gpu.cp.preempt.latency_ns, plus the other's map with restore,
soc.gpu.cp.preempt.restore_ns) with the measurement. Exits 1 if any point is off by more
than 10%. The points are the sweep configs/sweeps/preemption_calibration.textproto
(faultline sweep; the ops of traces/workloads/preempt_h200_*.textproto).

    scripts/preemption_calibration.py [--bin build/faultline] [-j N] [--sweep-out DIR]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402

POINTS = {  # (workgroups, waves per workgroup, LDS bytes per workgroup) -> measured switch (us), what
    ("1", "1", "0"): (152.5, "1 warp"),
    ("264", "32", "0"): (221.4, "8448 warps, 26 MB registers"),
    ("264", "32", "102400"): (251.1, "8448 warps, + 26.4 MB shared memory"),
}
TOLERANCE = 0.10


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    args = ap.parse_args()
    worst = 0.0
    print(f"{'point':40s} {'measured':>10s} {'model':>10s} {'error':>8s}   (save + restore, waves, state bytes)")
    for s in faultline_runs.run_spec(args, "preemption_calibration"):
        measured, what = POINTS[(s["workgroups"], s["waves_per_workgroup"], s["lds"])]
        save = s["soc.gpu.cp.preempt.latency_ns:mean"] / 1000
        restore = s["soc.gpu.cp.preempt.restore_ns:mean"] / 1000
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
