#!/usr/bin/python3
"""How long does fork() block, and what does the GPU pay, under each MMU-notifier strategy?

Runs the sweep configs/sweeps/notifier_strategies.textproto (faultline sweep). A process
maps a 2 MiB SVM range in system memory on the GPU (a first kernel touches every page),
then starts a long kernel re-reading it and, 20 us later, forks; the parent then writes one
page (a copy-on-write break) and a last kernel reads the range again. For each
driver.svm.notifier_strategy (WAIT_FOR_GPU, EVICT_QUEUES with XNACK off, UNMAP_FROM_GPU)
the script reports fork()'s duration (workload.fork_ns), the time it sat in the notifier,
queue evictions and the restore delay, GPU unmaps, the long kernel's duration, and the
translation checker's verdict (sim.check_translations: stale translations must be 0). The
long kernel's length is the spec's $long_accesses (20000), or --long-accesses.

    scripts/notifier_strategies.py [--bin build/faultline] [--long-accesses 20000] [-j N] [--sweep-out DIR]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402


def hist(r, key, field="max"):
    v = r[key + ":" + field]
    return v if v is not None else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--long-accesses", type=int, help="accesses of the long kernel (default: the spec's, 20000)")
    args = ap.parse_args()
    sets = ("$long_accesses=%d" % args.long_accesses,) if args.long_accesses else ()
    rows = faultline_runs.run_spec(args, "notifier_strategies", sets=sets)
    print("| strategy | fork() us | in notifier us | queue evictions | restore delay us | GPU unmaps | "
          "long kernel us | GPU faults | stale translations |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for r in rows:
        block = max(hist(r, "driver.svm.notifier.block_ns_" + k) for k in ("wait_for_gpu", "evict_queues", "unmap_from_gpu"))
        stale = r["sim.checker.stale_translations"]
        ok = ok and stale == 0
        print("| %s | %.1f | %.1f | %d | %.1f | %d | %.1f | %d | %d |" % (
            r["driver.svm.notifier_strategy"], hist(r, "workload.fork_ns") / 1000, block / 1000,
            r["driver.queues.evictions"], hist(r, "driver.svm.restore_delay_ns") / 1000,
            r["driver.svm.notifier.gpu_unmaps"], r["workload.kernel_ns:max"] / 1000, r["fault.count"], stale))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
