#!/usr/bin/python3
"""Fault-path benchmark (issue 15): retry faults serviced per host second, scheduler
callbacks per serviced fault, and host time and peak memory per fault at 1x, 4x and 16x
the work, on fault-dense scenarios; and the 16 GiB working set.

Usage: scripts/bench_faults.py [--bin build/faultline] [--repeat 3] [--scales 1,4,16]
                               [--only NAME ...] [--markdown]

Each scenario is a kernel of W waves with k accesses each (k = scale), every access on its
own page of its own 2 MiB block of an mmap, so every access takes one retry fault:
- many_wave_2m: h200-like, 512 waves, 2 MiB stride (the issue's 512-wave case at 1x);
  each fault migrates one 64 KiB window (the config's granularity).
- dense_4k: h200-like with driver.svm.default_granularity=0, 512 waves, stride 2 MiB +
  4 KiB: every fault migrates one 4 KiB page.
- ws_16g: mi200-pcie4 (2 MiB windows), 16 GiB touched once per 2 MiB block by 16 waves
  (8192 faults, 16 GiB migrated); run at one scale only.
Host time is the median of the repeats (stats.json meta.host_seconds, the simulation
alone); peak RSS comes from the process's own rusage. Serviced faults are
fault.serviced_migrated + fault.serviced_mapped; callbacks are meta.kernel_events (exact,
host-independent).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30
MIB2 = 2 << 20


def kernel(footprint, waves_cus, waves_per_cu, accesses, stride):
    return (f'op {{ mmap {{ name: "buf" size_bytes: {footprint} }} }}\n'
            f'op {{ launch {{ range: "buf" pattern: STRIDED stride_bytes: {stride} cus: {waves_cus} '
            f'waves_per_cu: {waves_per_cu} outstanding_per_wave: 1 accesses_per_wave: {accesses} }} }}\n'
            'op { wait {} }\n')


def footprint_for(faults, stride):
    need = faults * stride
    f = GIB
    while f < need:
        f *= 2
    return f


def scenarios(scales):
    h200 = os.path.join(ROOT, "configs", "h200-like.textproto")
    mi200 = os.path.join(ROOT, "configs", "mi200-pcie4.textproto")
    out = []
    for k in scales:
        out.append(("many_wave_2m", k, ["--config", h200],
                    kernel(footprint_for(512 * k, MIB2), 16, 32, k, MIB2)))
    for k in scales:
        stride = MIB2 + 4096
        out.append(("dense_4k", k, ["--config", h200, "--set", "driver.svm.default_granularity=0"],
                    kernel(footprint_for(512 * k, stride), 16, 32, k, stride)))
    out.append(("ws_16g", 1, ["--config", mi200], kernel(16 * GIB, 16, 1, 512, MIB2)))
    return out


def run_once(binary, args, workload_text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.textproto")
        with open(path, "w") as f:
            f.write(workload_text)
        cmd = [binary, "run", "--quiet", "--out", d, "--workload", path] + args
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} exited with {code}")
        with open(os.path.join(d, "stats.json")) as f:
            doc = json.load(f)
        return doc, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "faultline"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scales", default="1,4,16")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    scales = [int(s) for s in a.scales.split(",")]
    rows = []
    for name, k, args, wl in scenarios(scales):
        if a.only and name not in a.only:
            continue
        runs = [run_once(a.bin, args, wl) for _ in range(a.repeat)]
        doc = runs[0][0]
        s, m = doc["stats"], doc["meta"]
        serviced = s["fault.serviced_migrated"] + s["fault.serviced_mapped"]
        faults = s["fault.count"]
        host = statistics.median(r[0]["meta"]["host_seconds"] for r in runs)
        rss = max(r[1] for r in runs)
        rows.append(dict(name=name, scale=k, faults=faults, serviced=serviced, reports=s["fault.reports"],
                         lost=s["fault.reports_lost"], sim_ms=m["sim_time_ns"] / 1e6, events=m["kernel_events"],
                         host=host, rate=serviced / host, ev_per_fault=m["kernel_events"] / serviced,
                         us_per_fault=host / faults * 1e6, rss=rss, kib_per_fault=rss * 1024 / faults,
                         migrated=s["driver.migrate.bytes_pagefault_gpu"] / GIB))
        r = rows[-1]
        if not a.markdown:
            print(f"{name:13s} x{k:<3d} faults {faults:>6.0f} serviced {serviced:>6.0f} reports {r['reports']:>9.0f} "
                  f"sim {r['sim_ms']:9.3f} ms events {r['events']:>10d} host {host:7.3f} s "
                  f"{r['rate']:>9,.0f} serviced/s {r['ev_per_fault']:>8,.0f} ev/fault "
                  f"{r['us_per_fault']:>7.1f} us/fault rss {rss:6.0f} MiB", flush=True)
    if a.markdown:
        print("| scenario | scale | faults | serviced | fault reports | simulated ms | callbacks | callbacks / serviced fault "
              "| host s (median) | serviced faults / host s | host us / fault | peak RSS MiB | GiB migrated |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['name']} | {r['scale']}x | {r['faults']:.0f} | {r['serviced']:.0f} | {r['reports']:.0f} | "
                  f"{r['sim_ms']:.3f} | {r['events']} | {r['ev_per_fault']:,.0f} | {r['host']:.3f} | "
                  f"{r['rate']:,.0f} | {r['us_per_fault']:.1f} | {r['rss']:.0f} | {r['migrated']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
