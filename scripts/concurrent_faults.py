#!/usr/bin/python3
"""Concurrent-fault experiment: fault latency (p50, p90) and total time against the number
of concurrently faulting waves and the access stride, for the per-entry (amdgpu) and the
batched (UVM) fault service on configs/h200-like.textproto.

Runs the sweep configs/sweeps/concurrent_faults.textproto (faultline sweep) and reads its
results.csv. Each point is one kernel of W waves, one access each, wave i at byte i x
stride of a fresh mmap (so every access faults; with 4 KiB and 64 KiB strides neighbouring
waves share a 64 KiB migration window or a 2 MiB block). "batched" is the config as shipped
(BATCHED, replay on command, density prefetch); "per-entry" switches the same GPU and host
to amdgpu's loop (PER_ENTRY, the hardware retry timer, granularity windows).

    scripts/concurrent_faults.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--out docs/img/concurrent_faults.png]
"""
import argparse
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402

ROOT = faultline_runs.ROOT
WAVES = [1, 4, 16, 64, 128, 256, 512]
STRIDES = [("4 KiB", 4096), ("64 KiB", 65536), ("2 MiB", 2 << 20)]
POLICIES = {"BATCHED": "batched", "PER_ENTRY": "per-entry"}   # driver.irq.fault_service -> label


def point(r):
    total = r["workload.kernel_ns:max"] if r["workload.kernel_ns:max"] is not None else r["soc.gpu.cu.access_ns:max"]
    batches = r["driver.irq.batch.batches"]
    return {"p50": r["soc.gpu.cu.access_ns:p50"] / 1000.0, "p90": r["soc.gpu.cu.access_ns:p90"] / 1000.0,
            "total": total / 1000.0, "reports": r["fault.reports"], "batches": batches if batches is not None else 0,
            "migrated_pages": r["driver.migrate.pages"]}


def plot(res, out):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=False)
    for ax, (label, stride) in zip(axes, STRIDES):
        for policy, style in (("batched", "-"), ("per-entry", "--")):
            ax.plot(WAVES, [res[(policy, w, stride)]["p50"] for w in WAVES], style + "o", label=f"{policy} p50")
            ax.plot(WAVES, [res[(policy, w, stride)]["p90"] for w in WAVES], style + "^", label=f"{policy} p90")
            ax.plot(WAVES, [res[(policy, w, stride)]["total"] for w in WAVES], style + "s", label=f"{policy} kernel time")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrently faulting waves")
        ax.set_ylabel("us")
        ax.set_title(f"stride {label}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("h200-like: access latency and kernel time vs concurrent faults, batched (UVM) vs per-entry (amdgpu)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".concurrent_faults.", suffix=".png", dir=os.path.dirname(out))
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/concurrent_faults.png"))
    args = ap.parse_args()
    res = {(POLICIES[r["driver.irq.fault_service"]], int(r["waves"]), int(r["stride"])): point(r)
           for r in faultline_runs.run_spec(args, "concurrent_faults")}
    for label, stride in STRIDES:
        print(f"stride {label}")
        print(f"{'waves':>6} | {'batched p50':>11} {'p90':>8} {'kernel':>8} {'reports':>8} {'batches':>7} "
              f"| {'per-entry p50':>13} {'p90':>8} {'kernel':>8} {'reports':>8} | faster")
        for w in WAVES:
            b, p = res[("batched", w, stride)], res[("per-entry", w, stride)]
            print(f"{w:>6} | {b['p50']:>9.1f}us {b['p90']:>6.1f}us {b['total']:>6.1f}us {b['reports']:>8} {b['batches']:>7} "
                  f"| {p['p50']:>11.1f}us {p['p90']:>6.1f}us {p['total']:>6.1f}us {p['reports']:>8} | "
                  f"{'batched' if b['total'] < p['total'] else 'per-entry'}")
        print()
    plot(res, args.out)
    print(f"plot: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
