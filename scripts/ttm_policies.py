#!/usr/bin/python3
"""What does each shrinker fence policy cost under rising memory pressure, and which deadlock?

Runs the sweep configs/sweeps/ttm_policies.textproto (faultline sweep): two KFD BOs and two
other BOs of 64 MiB, a kernel faulting on fresh memory, and an allocation under mmap_lock
that is 0 to 256 MiB short of free memory, under each driver.ttm.fence_policy (WAIT,
BACK_OFF, PREEMPT_MID_FAULT with soc.gpu.cp.preempt_with_fault_pending, PIN). Prints a
markdown table per point (the allocation's time, the shrinker's block time and fence
wait, what it reclaimed and failed to, KFD BOs evicted, queue evictions, whether the run
deadlocked) and plots reclaimed MiB and shrinker block time against the shortfall.

Then runs configs/sweeps/userptr_fork.textproto: a 16 MiB mmap registered as a userptr BO,
a long kernel on 1 to 104 CUs, and a fork() 20 us later, with driver.ttm.userptr NOTIFIER
(the invalidation evicts the queues) or PINNED; prints fork()'s duration, the time it
blocked in the userptr notifier, the preemption and the kernel's slowdown, and plots the
block time against the waves preempted.

    scripts/ttm_policies.py [--bin build/faultline] [-j N] [--sweep-out DIR] [--plot docs/img/ttm_policies.png]
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

MIB = 1 << 20
FREE_BYTES = 64 * MIB  # what the template leaves free before the allocation
POLICIES = ("WAIT", "BACK_OFF", "PREEMPT_MID_FAULT", "PIN")


def val(r, key):
    v = r[key]
    return v if v is not None else 0


def userptr_fork(args):
    """Prints the userptr fork table; returns (mode, waves, block us) per point."""
    rows = faultline_runs.run_spec(args, "userptr_fork")
    rows.sort(key=lambda r: (r["driver.ttm.userptr"], int(r["cus"])))
    print()
    print("| userptr | CUs | waves preempted | fork() us | in userptr notifier us | queue evictions | "
          "preemption us | CWSR bytes saved | queues off us | kernel us |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for r in rows:
        print("| %s | %s | %d | %.1f | %.1f | %d | %.1f | %d | %.0f | %.0f |" % (
            r["driver.ttm.userptr"], r["cus"], val(r, "soc.gpu.cp.preempt.waves"), val(r, "workload.fork_ns:max") / 1e3,
            val(r, "driver.ttm.userptr.block_ns:max") / 1e3, val(r, "driver.queues.evictions"),
            val(r, "soc.gpu.cp.preempt.latency_ns:max") / 1e3, val(r, "soc.gpu.cp.preempt.saved_bytes"),
            val(r, "driver.queues.evicted_ns:max") / 1e3, val(r, "workload.kernel_ns:max") / 1e3))
        out.append((r["driver.ttm.userptr"], 4 * int(r["cus"]), val(r, "driver.ttm.userptr.block_ns:max") / 1e3))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    faultline_runs.add_arguments(ap)
    ap.add_argument("--plot", metavar="PNG", help="write the plot here")
    args = ap.parse_args()
    # A deadlock is a result here: exit 3 with its cycle.
    rows = faultline_runs.run_spec(args, "ttm_policies", ok=("ok", "exit 3"))
    rows.sort(key=lambda r: (POLICIES.index(r["driver.ttm.fence_policy"]), int(r["pressure_bytes"])))
    print("| policy | short MiB | outcome | allocation ms | shrinker block ms | fence wait ms | BOs scanned | "
          "backed off | reclaimed MiB | unreclaimed MiB | -ENOMEM | KFD BOs evicted | queue evictions | "
          "queues off ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    series = {p: [] for p in POLICIES}
    for r in rows:
        short = (int(r["pressure_bytes"]) - FREE_BYTES) / MIB
        dead = r["status"] == "exit 3"
        outcome = "deadlock (exit 3)" if dead else "completes"
        if dead:
            print("| %s | %d | %s | - | - | - | %d | %d | - | - | - | - | %d | - |" % (
                r["driver.ttm.fence_policy"], short, outcome, val(r, "driver.ttm.shrinker.scanned_bos"),
                val(r, "driver.ttm.shrinker.backoffs"), val(r, "driver.queues.evictions")))
        else:
            print("| %s | %d | %s | %.2f | %.2f | %.3f | %d | %d | %d | %d | %d | %d | %d | %.1f |" % (
                r["driver.ttm.fence_policy"], short, outcome, val(r, "workload.memory_pressure_ns:max") / 1e6,
                val(r, "driver.ttm.shrinker.block_ns:max") / 1e6, val(r, "driver.ttm.fence_wait_ns:max") / 1e6,
                val(r, "driver.ttm.shrinker.scanned_bos"), val(r, "driver.ttm.shrinker.backoffs"),
                val(r, "driver.ttm.shrinker.reclaimed_bytes") / MIB, val(r, "driver.ttm.shrinker.unreclaimed_bytes") / MIB,
                val(r, "driver.ttm.alloc_failures"), val(r, "driver.ttm.evictions.kfd"), val(r, "driver.queues.evictions"),
                val(r, "driver.queues.evicted_ns:max") / 1e6))
        series[r["driver.ttm.fence_policy"]].append(
            (short, dead, val(r, "driver.ttm.shrinker.reclaimed_bytes") / MIB, val(r, "driver.ttm.shrinker.block_ns:max") / 1e6))
    forks = userptr_fork(args)
    if args.plot:
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16, 4.2))
        markers = {"WAIT": "x", "BACK_OFF": "o", "PREEMPT_MID_FAULT": "s", "PIN": "^"}
        for p in POLICIES:
            live = [s for s in series[p] if not s[1]]
            dead = [s for s in series[p] if s[1]]
            for ax, i in ((a1, 2), (a2, 3)):
                if live:
                    ax.plot([s[0] for s in live], [s[i] for s in live], marker=markers[p], label=p)
                if dead:
                    ax.scatter([s[0] for s in dead], [0] * len(dead), marker="x", color="red", s=60,
                               label=p + ": deadlock (exit 3)" if ax is a1 else None, zorder=5)
        a1.plot([0, 256], [0, 256], color="grey", linestyle=":", label="needed")
        a1.set_xlabel("allocation short of free memory (MiB)")
        a1.set_ylabel("reclaimed by the shrinker (MiB)")
        a1.set_title("what the shrinker reclaims")
        a1.legend(fontsize=8)
        a2.set_xlabel("allocation short of free memory (MiB)")
        a2.set_ylabel("shrinker block time (ms)")
        a2.set_title("how long the allocating thread is blocked")
        for mode, m in (("NOTIFIER", "o"), ("PINNED", "^")):
            pts = [f for f in forks if f[0] == mode]
            a3.plot([f[1] for f in pts], [f[2] for f in pts], marker=m, label=mode)
        a3.set_xlabel("waves resident at fork() (4 per CU)")
        a3.set_ylabel("fork() blocked in the userptr notifier (us)")
        a3.set_title("fork() with a userptr BO")
        a3.legend(fontsize=8)
        for ax in (a1, a2, a3):
            ax.grid(alpha=0.3)
        fig.tight_layout()
        # Written whole: a temporary file in the same directory, then renamed.
        d = os.path.dirname(os.path.abspath(args.plot))
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".png")
        os.close(fd)
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, args.plot)
        print("wrote", os.path.relpath(args.plot, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
