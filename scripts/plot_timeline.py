#!/usr/bin/python3
"""Render a faultline timeline (faultline run --timeline FILE: the Chrome JSON trace format,
which Perfetto UI loads) as a PNG of its tracks, for docs and for machines without a
browser: one row per track, a bar per slice coloured by its name (a fault's phases, a
service's steps, a unit's work), and the flow arrows as thin lines. A slice with slices
inside it is drawn as an outline around them; nested slices are drawn thinner.

    scripts/plot_timeline.py TIMELINE.json OUT.png [--from-us T0] [--to-us T1] [--max-tracks N]
                             [--merge-lanes PREFIX ...] [--skip PREFIX ...]

Only slices overlapping [T0, T1] are drawn (default: the whole run); tracks are listed in
the file's sort order. --merge-lanes draws the lanes of tracks whose name starts with
PREFIX ("soc.gpu.ih.ring1 0", "soc.gpu.ih.ring1 1", ...) on one row ("soc.gpu.ih.ring1 x128"),
their bars overlapping; --skip leaves tracks starting with PREFIX out. The PNG is written
whole (a temporary file, then renamed).
"""
import argparse
import json
import os
import re
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
    ap.add_argument("--max-tracks", type=int, default=40, help="draw at most this many rows (default 40)")
    ap.add_argument("--merge-lanes", action="append", default=[], metavar="PREFIX",
                    help="draw the lanes of tracks starting with PREFIX on one row (repeatable)")
    ap.add_argument("--skip", action="append", default=[], metavar="PREFIX",
                    help="leave out tracks starting with PREFIX (repeatable)")
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
    def visible(t):
        return any(ts < t1 and ts + d > t0 for ts, d, _ in slices[t])

    def group(name):
        m = re.fullmatch(r"(.*) ([0-9]+)", name)
        return m.group(1) if m else name

    tids = sorted(slices, key=lambda t: (sort.get(t, 0), t))
    tids = [t for t in tids if visible(t) and not any(names.get(t, "").startswith(p) for p in args.skip)]
    # Rows: one per track, or one per lane group for --merge-lanes.
    rows, row_names, row_of = [], [], {}
    for t in tids:
        n = names.get(t, str(t))
        key = group(n) if any(n.startswith(p) for p in args.merge_lanes) else n
        if key not in row_of:
            row_of[key] = len(rows)
            rows.append([])
            row_names.append(key)
        rows[row_of[key]].append(t)
    rows, row_names = rows[: args.max_tracks], row_names[: args.max_tracks]
    row = {t: i for i, ts_ in enumerate(rows) for t in ts_}
    for i, ts_ in enumerate(rows):
        if len(ts_) > 1:
            row_names[i] += f" x{len(ts_)}"

    # Depth of each slice in its track's nesting, and whether it has slices inside it.
    layout = {}
    for t in row:
        order = sorted(range(len(slices[t])), key=lambda i: (slices[t][i][0], -slices[t][i][1]))
        stack, out = [], {}
        for i in order:
            ts, d, _ = slices[t][i]
            while stack and ts >= stack[-1][1] - 1e-6:
                stack.pop()
            if stack:
                out[stack[-1][0]] = (out[stack[-1][0]][0], True)
            out[i] = (len(stack), False)
            stack.append((i, ts + d))
        layout[t] = out

    kinds = sorted({n for t in row for i, (ts, d, n) in enumerate(slices[t])
                    if not layout[t][i][1] and ts < t1 and ts + d > t0})
    # Enough distinct colours for every kind of slice a run draws (about 40).
    palette = [plt.get_cmap(m)(i) for m in ("tab20", "tab20b", "tab20c") for i in range(20)]
    colour = {n: palette[i % len(palette)] for i, n in enumerate(kinds)}
    fig, ax = plt.subplots(figsize=(12, 0.35 * len(rows) + 1.5 + 0.15 * (len(kinds) // 5)))
    for t in row:
        y = row[t]
        for i, (ts, d, n) in enumerate(slices[t]):
            if ts >= t1 or ts + d <= t0:
                continue
            depth, parent = layout[t][i]
            h = max(0.8 - 0.2 * depth, 0.2)
            if parent:
                ax.broken_barh([(ts, d)], (y - h / 2, h), facecolors="none", edgecolors="black", linewidth=0.4)
            else:
                ax.broken_barh([(ts, d)], (y - h / 2, h), facecolors=colour[n], linewidth=0)
    for ends in flows.values():
        if "s" in ends and "f" in ends and ends["s"][0] in row and ends["f"][0] in row:
            (ta, xa), (tb, xb) = ends["s"], ends["f"]
            if t0 <= xa <= t1 or t0 <= xb <= t1:
                ax.plot([xa, xb], [row[ta], row[tb]], color="grey", linewidth=0.3, alpha=0.6)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(row_names, fontsize=7)
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
