#!/usr/bin/python3
"""Translation-path experiments (docs/experiments/translation.md).

  scripts/mmu_experiments.py reach   [--set key=value ...]  translation reach: pointer chase
  scripts/mmu_experiments.py bursts                         walker queueing under miss bursts
  scripts/mmu_experiments.py ptloc                          page tables in VRAM vs system memory
  scripts/mmu_experiments.py all                            all three, plots into docs/img/

Each is a sweep (faultline sweep) of configs/sweeps/: translation_reach, walker_bursts,
page_table_location (workloads in configs/sweeps/templates/); the numbers come from its
results.csv. --bin picks the binary (default build/faultline), -j/--jobs the parallel runs,
--sweep-out keeps the sweeps' directories. Plots (matplotlib, Agg) go to docs/img/ (or
--img-dir) unless --no-plot; tables print as markdown.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402

ROOT = faultline_runs.ROOT
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def size(b):
    for unit, n in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if b >= n and b % n == 0:
            return "%d %s" % (b // n, unit)
    return "%d B" % b


# ------------------------------------------------------------------------ reach
STRIDES = [4 * KiB, 64 * KiB, 2 * MiB]   # the strides (page sizes) of configs/sweeps/translation_reach.textproto
LABELS = {"4096": "default: UTCL1 32 entries, UTCL2 4096 entries", "8192": "UTCL2 entries doubled to 8192"}


def reach(args):
    """The rows of each soc.gpu.utcl2.entries value: {"4096": rows, "8192": rows}."""
    tables = {}
    for st in faultline_runs.run_spec(args, "translation_reach", sets=args.set):
        tables.setdefault(st["soc.gpu.utcl2.entries"], []).append({
            "stride": int(st["stride"]), "footprint": int(st["footprint"]),
            "access_ns": st["soc.gpu.cu.access_ns:mean"],
            "utcl1_hit_rate": st["soc.gpu.utcl1.hit_rate"],
            "utcl2_hit_rate": st["soc.gpu.utcl2.hit_rate"],
            "walks": st["soc.gpu.walker.walks"],
        })
    for entries, rows in tables.items():
        print("\n### Translation reach (%s)\n" % LABELS.get(entries, "UTCL2 %s entries" % entries))
        print("| stride (page size) | footprint | access ns | UTCL1 hit rate | UTCL2 hit rate | walks |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print("| %s | %s | %.1f | %.3f | %.3f | %d |" % (size(r["stride"]), size(r["footprint"]), r["access_ns"],
                                                        r["utcl1_hit_rate"], r["utcl2_hit_rate"], r["walks"]))
    return tables


def plot_reach(base, doubled, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors = {4 * KiB: "tab:blue", 64 * KiB: "tab:orange", 2 * MiB: "tab:green"}
    for rows, style, tag in ((base, "-o", "UTCL2 4096 entries"), (doubled, "--x", "UTCL2 8192 entries")):
        for stride in STRIDES:
            pts = [r for r in rows if r["stride"] == stride]
            ax.plot([r["footprint"] for r in pts], [r["access_ns"] for r in pts], style,
                    color=colors[stride], ms=4, label="%s pages, %s" % (size(stride), tag))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("footprint (bytes)")
    ax.set_ylabel("mean latency per dependent access (ns)")
    ax.set_title("Translation reach: pointer chase, one wave")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("\nplot: %s" % os.path.relpath(out, ROOT))


# ----------------------------------------------------------------------- bursts
def bursts(args):
    rows = []
    print("\n### Miss bursts: 416 waves, random over 64 MiB of 4 KiB pages\n")
    print("| walkers | PDB0 PWC entries | walker queue wait ns (mean) | walk ns (mean) | reads per walk | access ns (mean) |")
    print("|---|---|---|---|---|---|")
    for st in faultline_runs.run_spec(args, "walker_bursts"):
        r = {"walkers": int(st["soc.gpu.walker.walkers"]), "pwc": int(st["soc.gpu.walker.pwc_pdb0_entries"]),
             "queue_ns": st["soc.gpu.walker.queue_ns:mean"], "walk_ns": st["soc.gpu.walker.walk_ns:mean"],
             "reads": st["soc.gpu.walker.reads_per_walk:mean"], "access_ns": st["soc.gpu.cu.access_ns:mean"]}
        rows.append(r)
        print("| %d | %d | %.0f | %.0f | %.2f | %.0f |" % (r["walkers"], r["pwc"], r["queue_ns"], r["walk_ns"],
                                                        r["reads"], r["access_ns"]))
    return rows


def plot_bursts(rows, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for p in sorted({r["pwc"] for r in rows}):
        pts = [r for r in rows if r["pwc"] == p]
        ax.plot([r["walkers"] for r in pts], [r["queue_ns"] for r in pts], "-o", ms=4,
                label="PDB0 page-walk cache %d entries" % p)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("page walkers")
    ax.set_ylabel("mean wait for a free walker (ns)")
    ax.set_title("Miss bursts: walker queueing")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("\nplot: %s" % os.path.relpath(out, ROOT))


# ------------------------------------------------------------------------ ptloc
def ptloc(args):
    print("\n### Page tables in VRAM vs system memory (pointer chase, 4 KiB pages)\n")
    print("| page tables | footprint | walk ns (mean) | page-table reads over the link | access ns (mean) |")
    print("|---|---|---|---|---|")
    rows = []
    for st in faultline_runs.run_spec(args, "page_table_location"):
        r = {"loc": st["driver.vm.page_table_location"], "footprint": int(st["footprint"]),
             "walk_ns": st["soc.gpu.walker.walk_ns:mean"], "sys_reads": st["soc.gpu.walker.pt_reads_system"],
             "access_ns": st["soc.gpu.cu.access_ns:mean"]}
        rows.append(r)
        print("| %s | %s | %.0f | %d | %.0f |" % (r["loc"], size(r["footprint"]), r["walk_ns"], r["sys_reads"], r["access_ns"]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["reach", "bursts", "ptloc", "all"])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--set", action="append", default=[],
                    help="extra parameter for every run (reach; soc.gpu.utcl2.entries is swept)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--img-dir", default=os.path.join(ROOT, "docs", "img"), help="where the plots go (default docs/img)")
    args = ap.parse_args()
    img = args.img_dir
    os.makedirs(img, exist_ok=True)
    if args.what in ("reach", "all"):
        tables = reach(args)
        if not args.no_plot:
            plot_reach(tables["4096"], tables["8192"], os.path.join(img, "translation_reach.png"))
    if args.what in ("bursts", "all"):
        rows = bursts(args)
        if not args.no_plot:
            plot_bursts(rows, os.path.join(img, "walker_bursts.png"))
    if args.what in ("ptloc", "all"):
        ptloc(args)


if __name__ == "__main__":
    main()
