#!/usr/bin/python3
"""Preemption cost vs occupancy: sweeps the waves resident and the state per wave.

For each point a kernel with the given descriptor is launched on an MI200-class GPU (the
default config, or --config), preempted with CWSR while it runs and restored; the script
records soc.gpu.cp.preempt.latency_ns and .restore_ns and plots them against the resident
waves, one line per VGPR count, plus one with LDS per workgroup. Writes
docs/img/preemption_vs_occupancy.png and prints the table.

    scripts/preemption_sweep.py [--bin build/faultline] [--config FILE] [--out PNG]
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
WAVES_PER_WG = 4
WORKGROUPS = [1, 26, 104, 208, 312, 416, 624, 832]   # MI210: 104 CUs x 32 wave slots = 832 workgroups of 4 waves
SERIES = [  # label, vgprs per wave, sgprs per wave, LDS per workgroup
    ("32 VGPRs", 32, 32, 0),
    ("64 VGPRs", 64, 32, 0),
    ("128 VGPRs", 128, 64, 0),
    ("128 VGPRs + 16 KiB LDS/WG", 128, 64, 16384),
]

WORKLOAD = """op {{ svm_alloc {{ name: "buf" size_bytes: 2097152 preferred_loc: GPU }} }}
op {{ prefetch {{ range: "buf" }} }}
op {{ launch {{ range: "buf" workgroups: {wg} waves_per_workgroup: {wpw} vgprs_per_wave: {v} sgprs_per_wave: {s} lds_bytes_per_workgroup: {lds} outstanding_per_wave: 1 accesses_per_wave: 16 }} }}
op {{ sleep {{ ns: 500 }} }}
op {{ preempt {{ queue: "q0" }} }}
op {{ restore {{ queue: "q0" }} }}
op {{ wait {{}} }}
"""


def run_point(binary, config, tmp, wg, v, s, lds):
    wl = os.path.join(tmp, f"p_{wg}_{v}_{s}_{lds}.textproto")
    with open(wl, "w") as f:
        f.write(WORKLOAD.format(wg=wg, wpw=WAVES_PER_WG, v=v, s=s, lds=lds))
    out = wl + ".out"
    cmd = [binary, "run", "--quiet", "--workload", wl, "--out", out]
    if config:
        cmd += ["--config", config]
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if r.returncode == 2 and "at most" in r.stderr:
        return None  # more workgroups than the CUs hold with this much state per wave
    if r.returncode != 0:
        sys.exit(r.stderr)
    with open(os.path.join(out, "stats.json")) as f:
        st = json.load(f)["stats"]
    return (st["soc.gpu.cp.preempt.waves"], st["soc.gpu.cp.preempt.saved_bytes"],
            st["soc.gpu.cp.preempt.latency_ns"]["mean"], st["soc.gpu.cp.preempt.restore_ns"]["mean"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/faultline"))
    ap.add_argument("--config", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/preemption_vs_occupancy.png"))
    args = ap.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    print(f"{'series':28s} {'waves':>6s} {'state MiB':>10s} {'save us':>9s} {'restore us':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, v, s, lds in SERIES:
            xs, ys = [], []
            for wg in WORKGROUPS:
                p = run_point(args.bin, args.config, tmp, wg, v, s, lds)
                if p is None:
                    print(f"{label:28s} {wg * WAVES_PER_WG:6d}  does not fit: the CUs hold fewer workgroups with this state")
                    continue
                waves, state, save, restore = p
                print(f"{label:28s} {waves:6d} {state / 2**20:10.2f} {save / 1000:9.2f} {restore / 1000:10.2f}")
                xs.append(waves)
                ys.append(save / 1000)
            ax.plot(xs, ys, marker="o", label=label)
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
