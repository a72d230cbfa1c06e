#!/usr/bin/python3
"""Fault storm: IH ring occupancy, drops and de-duplication over time, CAM vs software filter.

Runs traces/workloads/fault_storm.textproto (832 waves faulting on random pages of 64 MiB)
under several IH set-ups. A run is a pure function of its inputs, so the state at time t
is read from the same run stopped at t (sim.max_time_ns = t; such a run ends with exit
status 3 and still writes its stats): soc.gpu.ih.ring1_unread_entries (IH1 entries written
and not yet acknowledged at t), soc.gpu.ih.dropped_entries and the de-duplicated faults
(soc.gpu.ih.cam_suppressed + driver.irq.filtered) up to t. Writes docs/img/fault_storm.png
and prints the table.

    scripts/fault_storm.py [--bin build/faultline] [--out PNG]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(ROOT, "traces/workloads/fault_storm.textproto")
TIMES_US = [5, 10, 20, 50, 100, 200, 400, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000]
SETUPS = [  # label, --set overrides
    ("software filter, IH1 4 KiB", []),
    ("software filter, IH1 1 KiB", ["soc.gpu.ih.ring1_bytes=1024"]),
    ("retry CAM, IH1 4 KiB", ["soc.gpu.ih.dedup=HARDWARE_CAM"]),
    ("retry CAM, IH1 1 KiB", ["soc.gpu.ih.dedup=HARDWARE_CAM", "soc.gpu.ih.ring1_bytes=1024"]),
]


def run(binary, out, sets, max_time_ns=None):
    cmd = [binary, "run", "--quiet", "--workload", WORKLOAD, "--out", out]
    for s in sets:
        cmd += ["--set", s]
    if max_time_ns is not None:
        cmd += ["--set", f"sim.max_time_ns={max_time_ns}"]
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 3):
        sys.exit(r.stderr)
    with open(os.path.join(out, "stats.json")) as f:
        doc = json.load(f)
    return doc["stats"], r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/faultline"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/fault_storm.png"))
    args = ap.parse_args()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    with tempfile.TemporaryDirectory() as tmp:
        for label, sets in SETUPS:
            ts, unread, drops, dedup = [], [], [], []
            for t in TIMES_US:
                st, rc = run(args.bin, os.path.join(tmp, "x"), sets, t * 1000)
                ts.append(t / 1000)
                unread.append(st["soc.gpu.ih.ring1_unread_entries"])
                drops.append(st["soc.gpu.ih.dropped_entries"])
                dedup.append(st["soc.gpu.ih.cam_suppressed"] + st["driver.irq.filtered"])
                if rc == 0:
                    break  # the run finished before t
            st, _ = run(args.bin, os.path.join(tmp, "full"), sets)
            lat = st["fault.latency_ns"]
            print(f"{label}: reports {st['fault.reports']}, IH entries {st['soc.gpu.ih.fault_entries']}, "
                  f"dropped {st['soc.gpu.ih.dropped_entries']:.0f} (IH1 {st['soc.gpu.ih.ring1_drops']}, "
                  f"CAM full {st['soc.gpu.ih.cam_full_drops']}), de-duplicated "
                  f"{st['soc.gpu.ih.cam_suppressed'] + st['driver.irq.filtered']} "
                  f"(CAM {st['soc.gpu.ih.cam_suppressed']}, filter {st['driver.irq.filtered']}), "
                  f"svm duplicates {st['driver.svm.duplicates']}, MSIs {st['soc.gpu.ih.msis']}, "
                  f"fault latency mean {lat['mean'] / 1000:.0f} us p99 {lat['p99'] / 1000:.0f} us, "
                  f"max {lat['max'] / 1000:.0f} us")
            for t, u, d, g in zip(ts, unread, drops, dedup):
                print(f"    t={t:6.3f} ms  IH1 unread {u:4.0f}  dropped {d:7.0f}  de-duplicated {g:7.0f}")
            axes[0].plot(ts, unread, marker=".", label=label)
            axes[1].plot(ts, drops, marker=".", label=label)
            axes[2].plot(ts, dedup, marker=".", label=label)
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
