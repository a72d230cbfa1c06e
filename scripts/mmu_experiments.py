#!/usr/bin/python3
"""Translation-path experiments (docs/experiments/translation.md).

  scripts/mmu_experiments.py reach   [--set key=value ...]  translation reach: pointer chase
  scripts/mmu_experiments.py bursts                         walker queueing under miss bursts
  scripts/mmu_experiments.py ptloc                          page tables in VRAM vs system memory
  scripts/mmu_experiments.py all                            all three, plots into docs/img/

Each point is one `faultline run` of a generated workload; numbers come from its
stats.json. --bin picks the binary (default build/faultline), --jobs the parallel runs.
Plots (matplotlib, Agg) go to docs/img/ unless --no-plot; tables print as markdown.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def run(binary, workload, sets):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.textproto")
        with open(path, "w") as f:
            f.write(workload)
        cmd = [binary, "run", "--quiet", "--out", d, "--workload", path]
        for s in sets:
            cmd += ["--set", s]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("faultline failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
        with open(os.path.join(d, "stats.json")) as f:
            return json.load(f)["stats"]


def hist_mean(stats, key):
    return stats[key]["mean"]


def size(b):
    for unit, n in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if b >= n and b % n == 0:
            return "%d %s" % (b // n, unit)
    return "%d B" % b


def chase_workload(footprint, stride, passes=8):
    slots = footprint // stride
    accesses = max(passes * slots, 4096)
    return ('op { vram_alloc { name: "b" size_bytes: %d contiguous_bytes: %d } }\n'
            'op { launch { range: "b" pattern: POINTER_CHASE stride_bytes: %d cus: 1 waves_per_cu: 1 '
            'outstanding_per_wave: 1 accesses_per_wave: %d } }\n'
            'op { wait {} }\n' % (footprint, stride, stride, accesses))


# ------------------------------------------------------------------------ reach
REACH = {  # stride -> footprints swept (powers of two)
    4 * KiB: [2 ** e for e in range(15, 29)],     # 32 KiB .. 256 MiB
    64 * KiB: [2 ** e for e in range(19, 31)],    # 512 KiB .. 1 GiB
    2 * MiB: [2 ** e for e in range(24, 36)],     # 16 MiB .. 32 GiB
}
BIG_VRAM = "soc.gpu.vram.capacity_bytes=137438953472"  # 128 GiB: room for 32 GiB footprints


def reach(args, extra_sets, label):
    jobs = [(s, f) for s, fs in REACH.items() for f in fs]
    sets = [BIG_VRAM] + extra_sets
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        res = list(ex.map(lambda j: run(args.bin, chase_workload(j[1], j[0]), sets), jobs))
    rows = []
    for (stride, fp), st in zip(jobs, res):
        rows.append({
            "stride": stride, "footprint": fp,
            "access_ns": hist_mean(st, "soc.gpu.cu.access_ns"),
            "utcl1_hit_rate": st["soc.gpu.utcl1.hit_rate"],
            "utcl2_hit_rate": st["soc.gpu.utcl2.hit_rate"],
            "walks": st["soc.gpu.walker.walks"],
        })
    print("\n### Translation reach (%s)\n" % label)
    print("| stride (page size) | footprint | access ns | UTCL1 hit rate | UTCL2 hit rate | walks |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.1f | %.3f | %.3f | %d |" % (size(r["stride"]), size(r["footprint"]), r["access_ns"],
                                                    r["utcl1_hit_rate"], r["utcl2_hit_rate"], r["walks"]))
    return rows


def plot_reach(base, doubled, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors = {4 * KiB: "tab:blue", 64 * KiB: "tab:orange", 2 * MiB: "tab:green"}
    for rows, style, tag in ((base, "-o", "UTCL2 4096 entries"), (doubled, "--x", "UTCL2 8192 entries")):
        for stride in REACH:
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
def burst_workload():
    # 64 MiB of 4 KiB pages, touched at random by 416 waves at once: nearly every access
    # misses both TLBs, so walks arrive in bursts.
    return ('op { vram_alloc { name: "b" size_bytes: 67108864 contiguous_bytes: 4096 } }\n'
            'op { launch { range: "b" pattern: RANDOM cus: 104 waves_per_cu: 4 outstanding_per_wave: 4 '
            'accesses_per_wave: 64 } }\n'
            'op { wait {} }\n')


def bursts(args):
    points = [(w, p) for p in (0, 64, 4096) for w in (1, 2, 4, 8, 16, 32, 64)]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        res = list(ex.map(lambda j: run(args.bin, burst_workload(),
                                        ["soc.gpu.walker.walkers=%d" % j[0],
                                         "soc.gpu.walker.pwc_pdb0_entries=%d" % j[1],
                                         "soc.gpu.utcl2.mshrs=256"]), points))
    rows = []
    print("\n### Miss bursts: 416 waves, random over 64 MiB of 4 KiB pages\n")
    print("| walkers | PDB0 PWC entries | walker queue wait ns (mean) | walk ns (mean) | reads per walk | access ns (mean) |")
    print("|---|---|---|---|---|---|")
    for (w, p), st in zip(points, res):
        r = {"walkers": w, "pwc": p, "queue_ns": hist_mean(st, "soc.gpu.walker.queue_ns"),
             "walk_ns": hist_mean(st, "soc.gpu.walker.walk_ns"),
             "reads": hist_mean(st, "soc.gpu.walker.reads_per_walk"),
             "access_ns": hist_mean(st, "soc.gpu.cu.access_ns")}
        rows.append(r)
        print("| %d | %d | %.0f | %.0f | %.2f | %.0f |" % (w, p, r["queue_ns"], r["walk_ns"], r["reads"], r["access_ns"]))
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
    points = [(loc, fp) for loc in ("VRAM", "SYSTEM") for fp in (8 * MiB, 64 * MiB, 256 * MiB)]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        res = list(ex.map(lambda j: run(args.bin, chase_workload(j[1], 4 * KiB, passes=2),
                                        ["driver.vm.page_table_location=" + j[0]]), points))
    print("\n### Page tables in VRAM vs system memory (pointer chase, 4 KiB pages)\n")
    print("| page tables | footprint | walk ns (mean) | page-table reads over the link | access ns (mean) |")
    print("|---|---|---|---|---|")
    rows = []
    for (loc, fp), st in zip(points, res):
        r = {"loc": loc, "footprint": fp, "walk_ns": hist_mean(st, "soc.gpu.walker.walk_ns"),
             "sys_reads": st["soc.gpu.walker.pt_reads_system"], "access_ns": hist_mean(st, "soc.gpu.cu.access_ns")}
        rows.append(r)
        print("| %s | %s | %.0f | %d | %.0f |" % (loc, size(fp), r["walk_ns"], r["sys_reads"], r["access_ns"]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["reach", "bursts", "ptloc", "all"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "faultline"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="extra parameter for every run (reach)")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()
    img = os.path.join(ROOT, "docs", "img")
    os.makedirs(img, exist_ok=True)
    if args.what in ("reach", "all"):
        base = reach(args, args.set, "default: UTCL1 32 entries, UTCL2 4096 entries")
        doubled = reach(args, args.set + ["soc.gpu.utcl2.entries=8192"], "UTCL2 entries doubled to 8192")
        if not args.no_plot:
            plot_reach(base, doubled, os.path.join(img, "translation_reach.png"))
    if args.what in ("bursts", "all"):
        rows = bursts(args)
        if not args.no_plot:
            plot_bursts(rows, os.path.join(img, "walker_bursts.png"))
    if args.what in ("ptloc", "all"):
        ptloc(args)


if __name__ == "__main__":
    main()
