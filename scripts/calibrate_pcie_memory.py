#!/usr/bin/python3
"""Checks the PCIe and memory calibration of configs/h200-like.textproto against the H200
measurements in ../shared/reference/hardware-figures.md (section A).

Runs the workloads of traces/workloads/calibration/ as two sweeps (faultline sweep):
configs/sweeps/calibration_copies.textproto (the copies) and calibration_zero_copy.textproto,
and prints each figure, the target and its tolerance; exits 1 if any is outside its
tolerance. --config replaces the specs' config.

Usage: scripts/calibrate_pcie_memory.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--config configs/h200-like.textproto]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402
from faultline_runs import copy_gb_per_s  # noqa: E402

# The points, as (sweep, the point's values): the copies are (direction, bytes) of
# calibration_copies.textproto, as traces/workloads/calibration/copy_*.textproto; the
# zero-copy read is calibration_zero_copy.textproto's one point
# (traces/workloads/calibration/zero_copy_read.textproto).
COPY_H2D_64MiB = ("calibration_copies", ("H2D", "67108864"))
COPY_H2D_4KiB = ("calibration_copies", ("H2D", "4096"))
COPY_H2D_1MiB = ("calibration_copies", ("H2D", "1048576"))
COPY_D2H_64MiB = ("calibration_copies", ("D2H", "67108864"))
ZERO_COPY_READ = ("calibration_zero_copy", ())

# (figure, point, how to read the result, target, tolerance as a fraction or None, unit)
TARGETS = [
    ("pinned H2D copy >= 16 MiB", COPY_H2D_64MiB, copy_gb_per_s, 54.8, 0.10, "GB/s"),
    ("pinned H2D copy, 4 KiB (median)", COPY_H2D_4KiB,
     lambda s: s["workload.dma_copy_ns:p50"] / 1000.0, 4.2, 0.25, "us"),
    ("zero-copy dependent read (p50)", ZERO_COPY_READ,
     lambda s: s["soc.gpu.cu.access_ns:p50"] / 1000.0, 1.18, 0.20, "us"),
    # Not stated targets and not used in the fit: checks of the size dependence between
    # the two copies, and of the write direction.
    ("pinned H2D copy, 1 MiB (median)", COPY_H2D_1MiB,
     lambda s: s["workload.dma_copy_ns:p50"] / 1000.0, 23.5, None, "us"),
    ("pinned D2H copy >= 16 MiB", COPY_D2H_64MiB, copy_gb_per_s, 53.6, None, "GB/s"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    faultline_runs.add_arguments(ap)
    ap.add_argument("--config", help="a config to run instead of the spec's, configs/h200-like.textproto")
    args = ap.parse_args()
    points = {}
    for r in faultline_runs.run_spec(args, "calibration_copies", config=args.config):
        points[("calibration_copies", (r["direction"], r["bytes"]))] = r
    [r] = faultline_runs.run_spec(args, "calibration_zero_copy", config=args.config)
    points[ZERO_COPY_READ] = r
    ok = True
    print("%-34s %13s %11s %8s %9s  %s" % ("figure", "simulated", "measured", "error", "tolerance", "result"))
    for name, point, read, target, tol, unit in TARGETS:
        value = read(points[point])
        err = (value - target) / target
        if tol is None:
            verdict, tol_s = "(check)", "-"
        else:
            verdict = "ok" if abs(err) <= tol else "OUT OF TOLERANCE"
            ok = ok and abs(err) <= tol
            tol_s = "+-%d%%" % round(tol * 100)
        print("%-34s %8.2f %-4s %6.2f %-4s %+7.1f%% %9s  %s" % (name, value, unit, target, unit, err * 100, tol_s, verdict))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
