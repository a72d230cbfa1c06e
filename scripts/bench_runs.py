#!/usr/bin/python3
"""Whole-run benchmark: runs faultline on fixed scenarios and reports host time, simulated
GPU accesses per host second, kernel events per host second and peak memory.

Usage: scripts/bench_runs.py [--bin build/faultline] [--repeat 3] [--markdown]
Host time varies with machine load; the table records the median of the repeats, and
meta.kernel_events is exact (it does not depend on the host).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCENARIOS = [
    ("default stream, 16 MiB, MI200 PCIe4", [], None),
    ("APU (MI300A), same workload", ["--config", os.path.join(ROOT, "configs/mi300a-apu.textproto")], None),
    ("random 64 MiB, 64 waves, 1M accesses", [],
     'op { mmap { name: "buf" size_bytes: 67108864 } }\n'
     'op { launch { range: "buf" pattern: RANDOM cus: 16 waves_per_cu: 4 accesses_per_wave: 16384 } }\n'
     'op { wait {} }\n'),
    ("fault storm: 1 access per page over 8 MiB", [],
     'op { mmap { name: "buf" size_bytes: 8388608 } }\n'
     'op { launch { range: "buf" pattern: STRIDED stride_bytes: 4096 cus: 4 waves_per_cu: 4 } }\n'
     'op { wait {} }\n'),
    ("default stream, IOMMU translated + ATS",
     ["--set", "soc.iommu.mode=TRANSLATED", "--set", "soc.iommu.ats=true"], None),
    ("H2D copy 256 MiB, h200-like (2M TLPs)", ["--config", os.path.join(ROOT, "configs/h200-like.textproto")],
     'op { dma_copy { direction: H2D bytes: 268435456 } }\n'),
]


def run_once(binary, args, workload_text):
    with tempfile.TemporaryDirectory() as d:
        cmd = [binary, "run", "--quiet", "--out", d] + args
        if workload_text is not None:
            path = os.path.join(d, "w.textproto")
            with open(path, "w") as f:
                f.write(workload_text)
            cmd += ["--workload", path]
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
        with open(os.path.join(d, "stats.json")) as f:
            meta = json.load(f)["meta"]
        return meta, usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/faultline"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    rows = []
    for name, args, wl in SCENARIOS:
        runs = [run_once(a.bin, args, wl) for _ in range(a.repeat)]
        host = statistics.median(m["host_seconds"] for m, _ in runs)
        meta = runs[0][0]
        rows.append((name, meta["gpu_accesses"], meta["sim_time_ns"] / 1e6, meta["kernel_events"], host,
                     meta["gpu_accesses"] / host, meta["kernel_events"] / host, max(r for _, r in runs) / 1024.0))
    if a.markdown:
        print("| scenario | GPU accesses | simulated ms | kernel events | host s (median) | accesses / host s | events / host s | peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]} | {r[4]:.3f} | {r[5]:,.0f} | {r[6]:,.0f} | {r[7]:.0f} |")
    else:
        for r in rows:
            print(f"{r[0]:45s} accesses {r[1]:>9} sim {r[2]:8.3f} ms events {r[3]:>10} host {r[4]:6.3f} s "
                  f"{r[5]:>12,.0f} acc/s {r[6]:>12,.0f} ev/s rss {r[7]:6.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
