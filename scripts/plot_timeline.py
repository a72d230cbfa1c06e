#!/usr/bin/python3
"""Render a faultline timeline (faultline run --timeline FILE: the Chrome JSON trace format,
which Perfetto UI loads) as a PNG of its tracks, for docs and for machines without a
browser: one row per track, a bar per slice coloured by its name (a fault's phases, a
service's steps), and the flow arrows as thin lines.

    scripts/plot_timeline.py TIMELINE.json OUT.png [--from-us T0] [--to-us T1] [--max-tracks N]

Only slices overlapping [T0, T1] are drawn (default: the whole run); tracks are listed in
the file's sort order. The PNG is written whole (a temporary file, then renamed).
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("timeline")
    ap.add_argument("png")
    ap.add_argument("--from-us", type=float, default=None)
    ap.add_argument("--to-us", type=float, default=None)
    ap.add_argument("--max-tracks", type=int, default=40, help="draw at most this many tracks (default 40)")
    args = ap.parse_args()
    try:
        with open(args.timeline) as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"{args.timeline}: not a timeline (Chrome JSON trace with traceEvents): {e}")

    names, sort = {}, {}
    slices, flows = {}, {}
    for e in events:
        ph = e.get("ph")
        if ph == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif ph == "M" and e.get("name") == "thread_sort_index":
            sort[e["tid"]] = e["args"]["sort_index"]
        elif ph == "X":
            slices.setdefault(e["tid"], []).append((float(e["ts"]), float(e["dur"]), e["name"]))
        elif ph in ("s", "f"):
            flows.setdefault(e["id"], {})[ph] = (e["tid"], float(e["ts"]))
    if not slices:
        sys.exit(f"{args.timeline}: no slices to draw")
    t0 = args.from_us if args.from_us is not None else min(ts for v in slices.values() for ts, _, _ in v)
    t1 = args.to_us if args.to_us is not None else max(ts + d for v in slices.values() for ts, d, _ in v)
    if t1 <= t0:
        sys.exit("--to-us must be after --from-us")
    tids = sorted(slices, key=lambda t: (sort.get(t, 0), t))
    tids = [t for t in tids if any(ts < t1 and ts + d > t0 for ts, d, _ in slices[t])][: args.max_tracks]
    row = {t: i for i, t in enumerate(tids)}

    parents = {"fault", "service"}
    kinds = sorted({n for t in tids for _, _, n in slices[t] if n not in parents})
    cmap = plt.get_cmap("tab10")
    colour = {n: cmap(i % 10) for i, n in enumerate(kinds)}
    fig, ax = plt.subplots(figsize=(12, 0.35 * len(tids) + 1.5))
    for t in tids:
        y = row[t]
        for ts, d, n in slices[t]:
            if ts >= t1 or ts + d <= t0:
                continue
            if n in parents:
                ax.broken_barh([(ts, d)], (y - 0.4, 0.8), facecolors="none", edgecolors="black", linewidth=0.4)
            else:
                ax.broken_barh([(ts, d)], (y - 0.3, 0.6), facecolors=colour[n], linewidth=0)
    for ends in flows.values():
        if "s" in ends and "f" in ends and ends["s"][0] in row and ends["f"][0] in row:
            (ta, xa), (tb, xb) = ends["s"], ends["f"]
            if t0 <= xa <= t1 or t0 <= xb <= t1:
                ax.plot([xa, xb], [row[ta], row[tb]], color="grey", linewidth=0.3, alpha=0.6)
    ax.set_yticks(range(len(tids)))
    ax.set_yticklabels([names.get(t, str(t)) for t in tids], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(t0, t1)
    ax.set_xlabel("simulated time (us)")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colour[n]) for n in kinds], labels=kinds,
              fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(len(kinds), 5))
    ax.set_title(os.path.basename(args.timeline))
    tmp = args.png + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, args.png)


if __name__ == "__main__":
    main()
