#!/usr/bin/python3
"""Trace record/replay benchmark (issue 13): accesses per host second and peak memory of
running, recording and replaying a synthetic workload of N GPU accesses, for each N.

Usage: scripts/bench_replay.py [--bin build/faultline] [--accesses 10000000,100000000]
                               [--markdown] [--keep DIR]

The workload: 64 MiB of SVM memory placed in VRAM up front (svm_alloc preferred GPU, then
prefetch), and one kernel of 16 CUs x 4 waves, 4 accesses outstanding per wave, streaming
sequentially over it N / 64 accesses per wave: translation and memory, no faults, so that
the cost measured is the replay's and not the fault path's. Each N is run three ways:
`run` (the workload, no trace), `record` (the same, writing the trace) and `replay` (the
trace, closed loop). Host time is stats.json meta.host_seconds (from the start of the run,
config resolution and the replay's first pass over the trace included; the wall time
column adds process start and exit); peak RSS is the process's own (wait4). Peak memory must not grow with
N: the reader and writer stream.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def workload(n):
    per_wave = max(1, n // 64)
    return ('op { svm_alloc { name: "buf" size_bytes: 67108864 preferred_loc: GPU } }\n'
            'op { prefetch { range: "buf" } }\n'
            f'op {{ launch {{ range: "buf" cus: 16 waves_per_cu: 4 outstanding_per_wave: 4 '
            f'accesses_per_wave: {per_wave} }} }}\n'
            'op { wait {} }\n')


def run(cmd, out):
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd + ["--quiet", "--out", out], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {code}")
    with open(os.path.join(out, "stats.json")) as f:
        meta = json.load(f)["meta"]
    return meta, usage.ru_maxrss / 1024.0, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "faultline"))
    ap.add_argument("--accesses", default="10000000,100000000")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--keep", help="keep the traces in this directory")
    args = ap.parse_args()
    rows = []
    tmp = tempfile.mkdtemp(prefix="faultline-bench-replay-")
    try:
        for n in [int(x) for x in args.accesses.split(",")]:
            wl = os.path.join(tmp, f"w{n}.textproto")
            with open(wl, "w") as f:
                f.write(workload(n))
            trace = os.path.join(args.keep or tmp, f"bench_{n}.fltrace")
            for mode, cmd in (("run", [args.bin, "run", "--workload", wl]),
                              ("record", [args.bin, "record", trace, "--workload", wl]),
                              ("replay", [args.bin, "replay", trace])):
                meta, rss, wall = run(cmd, os.path.join(tmp, f"{mode}{n}"))
                acc = meta["gpu_accesses"]
                rows.append((n, mode, acc, meta["host_seconds"], wall, acc / meta["host_seconds"], rss,
                             os.path.getsize(trace) if mode != "run" else None))
            if not args.keep:
                os.remove(trace)
    finally:
        shutil.rmtree(tmp)
    head = ["accesses", "mode", "GPU accesses", "host s (simulation)", "wall s", "accesses / host s",
            "peak RSS MiB", "trace MB"]
    fmt = lambda r: [f"{r[0]:,}", r[1], f"{r[2]:,}", f"{r[3]:.1f}", f"{r[4]:.1f}", f"{r[5]:,.0f}", f"{r[6]:.0f}",
                     "-" if r[7] is None else f"{r[7] / 1e6:.1f}"]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(fmt(r)) + " |")
    else:
        print("  ".join(f"{h:>18s}" for h in head))
        for r in rows:
            print("  ".join(f"{c:>18s}" for c in fmt(r)))


if __name__ == "__main__":
    main()
