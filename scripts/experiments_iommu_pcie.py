#!/usr/bin/python3
"""IOMMU and PCIe experiments of docs/experiments/iommu-pcie.md; each writes a plot to
docs/img/ and prints its table (markdown).

  bandwidth  pinned host-to-device copy bandwidth against size, PCIe Gen3/4/5/6 x16
  iotlb      IOTLB reach: 64-byte DMA reads at random offsets in a window of 8 KiB to
             64 MiB, translation on, 4 KiB IO pages, for several IOTLB sizes
  modes      fault latency of the default workload: IOMMU pass-through, translated,
             translated with ATS

Each experiment is a sweep (faultline sweep) of configs/sweeps/: iommu_pcie_bandwidth,
iotlb_warm and iotlb_reach, iommu_modes; the script reads their results.csv.

Usage: scripts/experiments_iommu_pcie.py {bandwidth,iotlb,modes,all} [--bin build/faultline] [-j N] [--sweep-out DIR] [--img-dir DIR]
Runs are deterministic: the same binary and inputs give the same numbers.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402
from faultline_runs import ROOT, copy_gb_per_s  # noqa: E402

IMG = os.path.join(ROOT, "docs", "img")


def size_label(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return "%d %s" % (n // div, unit)
    return "%d B" % n


# ------------------------------------------------------------------ bandwidth

def unique(values):
    return list(dict.fromkeys(values))


def bandwidth(args):
    rows = faultline_runs.run_spec(args, "iommu_pcie_bandwidth")
    gens = unique(int(r["soc.pcie.gen"]) for r in rows)
    sizes = unique(int(r["bytes"]) for r in rows)  # 4 KiB .. 256 MiB
    table = {(int(r["soc.pcie.gen"]), int(r["bytes"])): (copy_gb_per_s(r), r["workload.dma_copy_ns:p50"] / 1000.0)
             for r in rows}
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for g in gens:
        ax.plot(sizes, [table[(g, s)][0] for s in sizes], marker="o", label="Gen%d x16" % g)
    ax.axhline(54.8, color="grey", linestyle=":", linewidth=1)
    ax.text(sizes[0], 56.5, "H200 measured, Gen5 x16: 54.8 GB/s", color="grey", fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_label(s) for s in sizes], rotation=45, fontsize=8)
    ax.set_xlabel("copy size")
    ax.set_ylabel("host-to-device bandwidth (GB/s)")
    ax.set_title("Pinned H2D copy bandwidth vs size (h200-like config)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "pcie_copy_bandwidth.png"), dpi=110)
    print("| size | " + " | ".join("Gen%d GB/s (time)" % g for g in gens) + " |")
    print("|---|" + "---|" * len(gens))
    for s in sizes:
        print("| %s | " % size_label(s) + " | ".join("%.1f (%.1f us)" % table[(g, s)] for g in gens) + " |")


# ------------------------------------------------------------------ IOTLB reach

def iotlb(args):
    # Per point, the warm-up (one 4 KiB copy per page of the window, so every page has been
    # translated once) alone and followed by the measured random 64-byte reads: the
    # difference is the reads'.
    reads = 2000   # the reads of configs/sweeps/templates/iotlb_reach.textproto
    key = lambda r: (int(r["soc.iommu.iotlb_entries"]), int(r["window"]))
    warm = {key(r): r for r in faultline_runs.run_spec(args, "iotlb_warm")}
    measured = faultline_runs.run_spec(args, "iotlb_reach")
    sizes = unique(int(r["soc.iommu.iotlb_entries"]) for r in measured)
    windows = unique(int(r["window"]) for r in measured)  # 8 KiB .. 64 MiB
    total = lambda r: r["soc.gpu.sdma.copy_ns:mean"] * r["soc.gpu.sdma.copy_ns:count"]
    table = {}
    for b in measured:
        a = warm[key(b)]
        per_read = (total(b) - total(a)) / reads
        miss = (b["soc.iommu.iotlb_misses"] - a["soc.iommu.iotlb_misses"]) / reads
        table[key(b)] = (per_read, miss)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for entries in sizes:
        ax.plot(windows, [table[(entries, w)][0] for w in windows], marker="o",
                label="IOTLB %d entries (reach %s)" % (entries, size_label(entries * 4096)))
        ax.axvline(entries * 4096, color=ax.lines[-1].get_color(), linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(windows[::2])
    ax.set_xticklabels([size_label(w) for w in windows[::2]], fontsize=8)
    ax.set_xlabel("window of random 64-byte DMA reads")
    ax.set_ylabel("per-read latency (ns)")
    ax.set_title("IOTLB reach: translated DMA, 4 KiB IO pages (h200-like)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "iotlb_reach.png"), dpi=110)
    print("| window | " + " | ".join("%d entries: ns (IOTLB miss rate)" % e for e in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for w in windows:
        print("| %s | " % size_label(w) + " | ".join("%.0f (%.2f)" % table[(e, w)] for e in sizes) + " |")


# ------------------------------------------------------------------ modes

PHASES = ["report_wait", "ih_delivery", "isr", "queueing", "lookup", "migration", "pte_update",
          "tlb_invalidation", "replay"]


MODES = {("PASSTHROUGH", "false"): "pass-through", ("TRANSLATED", "false"): "translated",
         ("TRANSLATED", "true"): "translated + ATS"}


def modes(args):
    rows = [(MODES[(r["soc.iommu.mode"], r["soc.iommu.ats"])], r) for r in faultline_runs.run_spec(args, "iommu_modes")]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    bottoms = [0.0] * len(rows)
    for ph in PHASES:
        vals = [r[1]["fault.phase.%s_ns:mean" % ph] / 1000.0 for r in rows]
        if max(vals) <= 0:
            continue
        ax.bar([r[0] for r in rows], vals, bottom=bottoms, label=ph)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    ax.set_ylabel("mean fault latency (us)")
    ax.set_title("Fault latency of the default workload by IOMMU mode (mi200-pcie4)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "iommu_modes_fault_latency.png"), dpi=110)
    print("| mode | fault latency mean (us) | p95 (us) | migration (us) | IOMMU walks | IOTLB hits | IO pages mapped / unmapped | unmap flush mean (us) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in rows:
        print("| %s | %.1f | %.1f | %.1f | %d | %d | %d / %d | %.2f |" % (
            name, s["fault.latency_ns:mean"] / 1000, s["fault.latency_ns:p95"] / 1000,
            s["fault.phase.migration_ns:mean"] / 1000, s["soc.iommu.walks"], s["soc.iommu.iotlb_hits"],
            s["driver.iommu.mapped_io_pages"], s["driver.iommu.unmapped_io_pages"],
            s["driver.iommu.flush_ns:mean"] / 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", choices=["bandwidth", "iotlb", "modes", "all"])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--img-dir", default=IMG, help="where the plots go (default docs/img)")
    args = ap.parse_args()
    os.makedirs(args.img_dir, exist_ok=True)
    for name, fn in (("bandwidth", bandwidth), ("iotlb", iotlb), ("modes", modes)):
        if args.experiment in (name, "all"):
            print("## %s\n" % name)
            fn(args)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
