#!/usr/bin/python3
"""Plot any stat of a faultline sweep against any of its parameters (faultline sweep writes
OUT/results.csv: a row per point, its parameters, status and chosen stats).

    scripts/plot_sweep.py OUT/results.csv --x PARAM --y STAT [--group PARAM] [--logx] [--logy] \
        [--title T] OUT.png

One line per value of --group (default: one line), points sorted by --x; rows whose status
is not "ok" or whose cell is empty are left out and counted on stderr. The PNG is written
whole (a temporary file, then renamed).
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def number(s):
    try:
        return float(s)
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table")
    ap.add_argument("png")
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--group")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--logy", action="store_true")
    ap.add_argument("--title")
    args = ap.parse_args()
    try:
        with open(args.table, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"{args.table}: {e.strerror}")
    if not rows:
        sys.exit(f"{args.table}: no points")
    for col in [args.x, args.y] + ([args.group] if args.group else []):
        if col not in rows[0]:
            sys.exit(f"{args.table}: no column '{col}' (columns: {', '.join(rows[0].keys())})")
    lines, skipped = {}, 0
    for r in rows:
        x, y = number(r[args.x]), number(r[args.y])
        if r.get("status") != "ok" or x is None or y is None:
            skipped += 1
            continue
        lines.setdefault(r[args.group] if args.group else "", []).append((x, y))
    if skipped:
        print(f"{skipped} of {len(rows)} points left out (failed or empty)", file=sys.stderr)
    if not lines:
        sys.exit("nothing to plot")
    fig, ax = plt.subplots(figsize=(6, 4))
    for g in sorted(lines, key=lambda v: (number(v) is None, number(v) or 0, v)):
        pts = sorted(lines[g])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{args.group}={g}" if args.group else None)
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.y)
    if args.logx:
        ax.set_xscale("log")
    if args.logy:
        ax.set_yscale("log")
    if args.group:
        ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.set_title(args.title or os.path.basename(os.path.dirname(os.path.abspath(args.table))))
    tmp = args.png + f".tmp.{os.getpid()}.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, args.png)


if __name__ == "__main__":
    main()
