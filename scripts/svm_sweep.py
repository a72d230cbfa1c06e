#!/usr/bin/python3
"""SVM granularity sweep: isolated-fault latency vs the fault's window, migrate vs map in place.

Runs the sweep configs/sweeps/svm_granularity.textproto (faultline sweep): for each
granularity g = 0..9 (a window of 2^g 4 KiB pages, the svm_alloc `granularity` field,
KFD_IOCTL_SVM_ATTR_GRANULARITY) and each preferred location, GPU (the fault migrates the
window to VRAM, then maps it) and SYSMEM (the fault collects and DMA-maps the window's
system pages and maps them in place), a point runs 8 isolated faults. Each fault is one
wave's single access to a fresh 2 MiB svm_alloc range, one launch after another with a
pause between them, so no fault overlaps another or waits behind its predecessor's fence,
flush or stale retry reports. (8 ranges are needed because KFD ignores a second fault on a
range within 2 ms of its validation, driver.svm.duplicate_window_ns.) The script reads the
mean and p50 of fault.latency_ns and the mean of each phase from the sweep's results.csv,
and one dependent access to VRAM and to system memory from configs/sweeps/svm_access.textproto,
prints a markdown table per config, and plots the latencies to docs/img/svm_granularity.png.
The default config is always run; add --h200 to also run both sweeps on
configs/h200-like.textproto.

    scripts/svm_sweep.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--h200] [--out PNG]
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
GRANULARITIES = list(range(10))
LOCATIONS = ["GPU", "SYSMEM"]
FAULTS = 8   # isolated faults per point: the ranges of configs/sweeps/templates/svm_granularity.textproto
PHASES = ["report_wait", "ih_delivery", "isr", "queueing", "lookup", "migration", "pte_update",
          "tlb_invalidation", "replay"]
CONFIGS = {"default": None,   # the specs' own config, configs/mi200-pcie4.textproto
           "h200-like": os.path.join(ROOT, "configs/h200-like.textproto")}


def out_name(spec, name):
    """The sweep's directory under --sweep-out: SPEC for the default config, SPEC_NAME for another."""
    return spec if name == "default" else f"{spec}_{name}"


def granularity_points(args, name):
    """(loc, g) -> the point's latencies and phases in us, on config NAME."""
    res = {}
    rows = faultline_runs.run_spec(args, "svm_granularity", config=CONFIGS[name],
                                   out_name=out_name("svm_granularity", name))
    for r in rows:
        loc, gran = r["loc"], int(r["granularity"])
        if r["fault.latency_ns:count"] != FAULTS:
            sys.exit(f"{loc} g={gran}: expected {FAULTS} faults, got {r['fault.latency_ns:count']}")
        point = {"mean": r["fault.latency_ns:mean"] / 1000, "p50": r["fault.latency_ns:p50"] / 1000,
                 "migrated": r["fault.serviced_migrated"], "mapped": r["fault.serviced_mapped"]}
        for p in PHASES:
            point[p] = r[f"fault.phase.{p}_ns:mean"] / 1000
        res[(loc, gran)] = point
    return res


def access_us(args, name):
    """loc -> p50 of one dependent GPU access to a page already mapped in VRAM (GPU) or system
    memory (SYSMEM): two passes of 4 KiB strides over a prefetched 2 MiB range."""
    acc = {}
    rows = faultline_runs.run_spec(args, "svm_access", config=CONFIGS[name], out_name=out_name("svm_access", name))
    for r in rows:
        if r["fault.count"] != 0:
            sys.exit(f"access run for {r['loc']} faulted")
        acc[r["loc"]] = r["soc.gpu.cu.access_ns:p50"] / 1000
    return acc


def window(gran):
    b = 4096 << gran
    return f"{b // 1024} KiB" if b < 1 << 20 else f"{b >> 20} MiB"


def table(name, res, acc):
    other = ["report_wait", "ih_delivery", "isr", "queueing", "lookup", "tlb_invalidation", "replay"]
    lines = [f"config {name}: mean fault latency (p50) in us; the phases are means in us. The "
             "migration phase is the copy to VRAM (GPU), or the collection and DMA-mapping of "
             "system pages (SYSMEM); rest = the other phases (report_wait .. lookup, "
             "tlb_invalidation, replay). break-even: dependent accesses to the window after which "
             f"migrating has paid for itself, (GPU - SYSMEM latency) / ({acc['SYSMEM']:.3f} - {acc['GPU']:.3f} us), "
             "the p50 of one access to system memory and to VRAM; per page: that over the window's pages.", "",
             "| g | window | GPU: latency (p50) | migration | pte_update | rest | SYSMEM: latency (p50) | "
             "migration | pte_update | rest | break-even accesses (per page) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for g in GRANULARITIES:
        row = [str(g), window(g)]
        for loc in LOCATIONS:
            p = res[(loc, g)]
            row += [f"{p['mean']:.2f} ({p['p50']:.2f})", f"{p['migration']:.2f}", f"{p['pte_update']:.2f}",
                    f"{sum(p[x] for x in other):.2f}"]
        n = breakeven(res, acc, g)
        row.append(f"{n:.0f} ({n / (1 << g):.2f})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def breakeven(res, acc, g):
    return (res[("GPU", g)]["mean"] - res[("SYSMEM", g)]["mean"]) / (acc["SYSMEM"] - acc["GPU"])


def plot(results, out):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    xs = GRANULARITIES
    styles = {"default": "-", "h200-like": "--"}
    for name, res in results.items():
        for loc, color in (("GPU", "tab:red"), ("SYSMEM", "tab:blue")):
            ax1.plot(xs, [res[(loc, g)]["mean"] for g in xs], styles[name], marker="o", color=color,
                     label=f"{name}, preferred {loc} ({'migrate' if loc == 'GPU' else 'map in place'})")
    ax1.set_xlabel("granularity g (window = 2^g x 4 KiB)")
    ax1.set_ylabel("isolated fault latency, mean (us)")
    ax1.set_yscale("log")
    ax1.set_xticks(xs)
    ax1.set_xticklabels([f"{g}\n{window(g)}" for g in xs], fontsize=7)
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    ax1.set_title("fault latency vs window")
    res = results["default"]
    width = 0.4
    for off, loc, hatch in ((-width / 2, "GPU", None), (width / 2, "SYSMEM", "//")):
        bottom = [0.0] * len(xs)
        for phase, color in (("migration", "tab:orange"), ("pte_update", "tab:green")):
            vals = [res[(loc, g)][phase] for g in xs]
            ax2.bar([x + off for x in xs], vals, width, bottom=bottom, color=color, hatch=hatch,
                    edgecolor="black", linewidth=0.4,
                    label=f"{loc}: {phase}")
            bottom = [b + v for b, v in zip(bottom, vals)]
        rest = [res[(loc, g)]["mean"] - b for g, b in zip(xs, bottom)]
        ax2.bar([x + off for x in xs], rest, width, bottom=bottom, color="lightgray", hatch=hatch,
                edgecolor="black", linewidth=0.4, label=f"{loc}: other phases")
    ax2.set_xticks(xs)
    ax2.set_xticklabels([f"{g}\n{window(g)}" for g in xs], fontsize=7)
    ax2.set_xlabel("granularity g (left bar GPU, right bar SYSMEM)")
    ax2.set_ylabel("mean per fault (us)")
    ax2.set_title("default config: where the time goes")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".svm_granularity.", suffix=".png", dir=os.path.dirname(out))
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
    ap.add_argument("--h200", action="store_true", help="also run configs/h200-like.textproto")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/svm_granularity.png"))
    args = ap.parse_args()
    names = ["default"] + (["h200-like"] if args.h200 else [])
    results = {}
    for name in names:
        res = granularity_points(args, name)
        acc = access_us(args, name)
        results[name] = res
        print(table(name, res, acc))
        slower = [g for g in GRANULARITIES if res[("GPU", g)]["mean"] > res[("SYSMEM", g)]["mean"]]
        per_page = [g for g in GRANULARITIES if breakeven(res, acc, g) / (1 << g) < 1]
        print()
        print(f"{name}: the migrating fault is slower than mapping in place at "
              f"{len(slower)} of {len(GRANULARITIES)} granularities; migration pays for itself within "
              "one access per page of the window from g = "
              + (f"{per_page[0]} ({window(per_page[0])})" if per_page else "never (in 0..9)"))
        print()
    plot(results, args.out)
    print(f"plot: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
