#!/usr/bin/python3
"""Preemption cost vs occupancy: sweeps the waves resident and the state per wave.

Runs the sweep configs/sweeps/preemption_occupancy.textproto (faultline sweep): for each
point a kernel with the given descriptor is launched on an MI200-class GPU (the default
config, or --config), preempted with CWSR while it runs and restored. The script reads
soc.gpu.cp.preempt.latency_ns and .restore_ns from the sweep's results.csv and plots them
against the resident waves, one line per VGPR count, plus one with LDS per workgroup.
Points that exit 2 because the CUs hold fewer workgroups with that state are reported as
not fitting. Writes docs/img/preemption_vs_occupancy.png and prints the table.

    scripts/preemption_sweep.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--config FILE] [--out PNG]
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402

ROOT = faultline_runs.ROOT
WAVES_PER_WG = 4   # the template's waves_per_workgroup


def label(row):
    s = f"{row['vgprs']} VGPRs"
    if int(row["lds"]):
        s += f" + {int(row['lds']) // 1024} KiB LDS/WG"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--config", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/preemption_vs_occupancy.png"))
    args = ap.parse_args()
    rows = faultline_runs.run_spec(args, "preemption_occupancy", config=args.config or None, ok=("ok", "exit 2"))
    series = {}   # label -> rows, in the table's order
    for r in rows:
        if r["status"] == "exit 2" and "at most" not in r["failure"]:
            sys.exit(f"point {r['point']} failed: {r['failure']}")
        series.setdefault(label(r), []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    print(f"{'series':28s} {'waves':>6s} {'state MiB':>10s} {'save us':>9s} {'restore us':>10s}")
    for name, pts in series.items():
        xs, ys = [], []
        for r in sorted(pts, key=lambda r: int(r["workgroups"])):
            if r["status"] != "ok":
                print(f"{name:28s} {int(r['workgroups']) * WAVES_PER_WG:6d}  does not fit: the CUs hold fewer "
                      "workgroups with this state")
                continue
            waves, state = r["soc.gpu.cp.preempt.waves"], r["soc.gpu.cp.preempt.saved_bytes"]
            save, restore = r["soc.gpu.cp.preempt.latency_ns:mean"], r["soc.gpu.cp.preempt.restore_ns:mean"]
            print(f"{name:28s} {waves:6d} {state / 2**20:10.2f} {save / 1000:9.2f} {restore / 1000:10.2f}")
            xs.append(waves)
            ys.append(save / 1000)
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("waves resident when preempted")
    ax.set_ylabel("preemption latency (us): eviction to queue unmapped")
    ax.set_title("CWSR preemption cost vs occupancy (" + (os.path.basename(args.config) or "mi200-pcie4") + ")")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print("wrote", os.path.relpath(args.out, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
