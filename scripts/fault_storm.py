#!/usr/bin/python3
"""Fault storm: IH ring occupancy, drops and de-duplication over time, CAM vs software filter.

Runs the sweep configs/sweeps/fault_storm.textproto (faultline sweep):
traces/workloads/fault_storm.textproto (832 waves faulting on random pages of 64 MiB) under
several IH set-ups. A run is a pure function of its inputs, so the state at time t is read
from the same run stopped at t (sim.max_time_ns = t; such a point ends with exit status 3
and keeps its stats in its row of results.csv): soc.gpu.ih.ring1_unread_entries (IH1
entries written and not yet acknowledged at t), soc.gpu.ih.dropped_entries and the
de-duplicated faults (soc.gpu.ih.cam_suppressed + driver.irq.filtered) up to t. Each
set-up's curve ends at the first t the run finishes before; its last point (10 s, the
default limit) is the whole run, summarised. Writes docs/img/fault_storm.png and prints the
table.

    scripts/fault_storm.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--out PNG]
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
DEDUP = {"SOFTWARE_FILTER": "software filter", "HARDWARE_CAM": "retry CAM"}


def label(r):
    return f"{DEDUP[r['soc.gpu.ih.dedup']]}, IH1 {int(r['soc.gpu.ih.ring1_bytes']) // 1024} KiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/fault_storm.png"))
    args = ap.parse_args()
    setups = {}   # label -> rows, in the table's order
    for r in faultline_runs.run_spec(args, "fault_storm", ok=("ok", "exit 3")):
        if r["status"] == "exit 3" and r["soc.gpu.ih.dropped_entries"] is None:
            sys.exit(f"point {r['point']} stopped without stats: {r['failure']}")
        setups.setdefault(label(r), []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for name, rows in setups.items():
        rows = sorted(rows, key=lambda r: int(r["sim.max_time_ns"]))
        *timed, st = rows   # the last: the whole run (the default limit)
        ts, unread, drops, dedup = [], [], [], []
        for r in timed:
            ts.append(int(r["sim.max_time_ns"]) / 1e6)
            unread.append(r["soc.gpu.ih.ring1_unread_entries"])
            drops.append(r["soc.gpu.ih.dropped_entries"])
            dedup.append(r["soc.gpu.ih.cam_suppressed"] + r["driver.irq.filtered"])
            if r["status"] == "ok":
                break  # the run finished before t
        print(f"{name}: reports {st['fault.reports']}, IH entries {st['soc.gpu.ih.fault_entries']}, "
              f"dropped {st['soc.gpu.ih.dropped_entries']:.0f} (IH1 {st['soc.gpu.ih.ring1_drops']}, "
              f"CAM full {st['soc.gpu.ih.cam_full_drops']}), de-duplicated "
              f"{st['soc.gpu.ih.cam_suppressed'] + st['driver.irq.filtered']} "
              f"(CAM {st['soc.gpu.ih.cam_suppressed']}, filter {st['driver.irq.filtered']}), "
              f"svm duplicates {st['driver.svm.duplicates']}, MSIs {st['soc.gpu.ih.msis']}, "
              f"fault latency mean {st['fault.latency_ns:mean'] / 1000:.0f} us p99 {st['fault.latency_ns:p99'] / 1000:.0f} us, "
              f"max {st['fault.latency_ns:max'] / 1000:.0f} us")
        for t, u, d, g in zip(ts, unread, drops, dedup):
            print(f"    t={t:6.3f} ms  IH1 unread {u:4.0f}  dropped {d:7.0f}  de-duplicated {g:7.0f}")
        axes[0].plot(ts, unread, marker=".", label=name)
        axes[1].plot(ts, drops, marker=".", label=name)
        axes[2].plot(ts, dedup, marker=".", label=name)
    for ax, title in zip(axes, ["IH1 entries unread", "entries dropped in the IH (cumulative)",
                                "faults de-duplicated (CAM or filter, cumulative)"]):
        ax.set_xlabel("simulated time (ms)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Fault storm: 832 waves faulting on 64 MiB (MI200-class, PCIe Gen4)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print("wrote", os.path.relpath(args.out, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
