#!/usr/bin/python3
"""How long does fork() block, and what does the GPU pay, under each MMU-notifier strategy?

A process maps a 2 MiB SVM range in system memory on the GPU (a first kernel touches every
page), then starts a long kernel re-reading it and, 20 us later, forks; the parent then
writes one page (a copy-on-write break) and a last kernel reads the range again. For each
driver.svm.notifier_strategy (WAIT_FOR_GPU, EVICT_QUEUES with XNACK off, UNMAP_FROM_GPU)
the script reports fork()'s duration (workload.fork_ns), the time it sat in the notifier,
queue evictions and the restore delay, GPU unmaps, the long kernel's duration, and the
translation checker's verdict (sim.check_translations: stale translations must be 0).

    scripts/notifier_strategies.py [--bin build/faultline] [--long-accesses 20000]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultline_runs  # noqa: E402

STRATEGIES = [  # name, extra --set, what the kernel does
    ("WAIT_FOR_GPU", ["driver.svm.notifier_strategy=WAIT_FOR_GPU"]),
    ("EVICT_QUEUES", ["driver.svm.notifier_strategy=EVICT_QUEUES", "driver.vm.noretry=true"]),
    ("UNMAP_FROM_GPU", ["driver.svm.notifier_strategy=UNMAP_FROM_GPU"]),
]


def workload(long_accesses):
    touch = ('op { launch { range: "buf" pattern: STRIDED stride_bytes: 4096 cus: 1 waves_per_cu: 1 '
             'outstanding_per_wave: 1 accesses_per_wave: 512 } }\n')
    return ('op { svm_alloc { name: "buf" size_bytes: 2097152 preferred_loc: SYSMEM } }\n' + touch +
            'op { wait {} }\n'
            'op { launch { name: "long" range: "buf" pattern: RANDOM cus: 1 waves_per_cu: 1 '
            'outstanding_per_wave: 4 accesses_per_wave: %d } }\n'
            'op { sleep { ns: 20000 } }\n'
            'op { fork { child: "c" } }\n'
            'op { cpu_touch { range: "buf" offset_bytes: 20480 size_bytes: 4096 write: true } }\n'
            % long_accesses + touch.replace('launch { ', 'launch { name: "after" ') + 'op { wait {} }\n')


def hist(s, key, field="max"):
    return s[key][field] if key in s else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=faultline_runs.DEFAULT_BIN)
    ap.add_argument("--long-accesses", type=int, default=20000)
    args = ap.parse_args()
    text = workload(args.long_accesses)
    print("| strategy | fork() us | in notifier us | queue evictions | restore delay us | GPU unmaps | "
          "long kernel us | GPU faults | stale translations |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for name, sets in STRATEGIES:
        s = faultline_runs.run(args.bin, workload_text=text, sets=sets + ["sim.check_translations=true"])
        block = max(hist(s, "driver.svm.notifier.block_ns_" + k) for k in ("wait_for_gpu", "evict_queues", "unmap_from_gpu"))
        stale = s["sim.checker.stale_translations"]
        ok = ok and stale == 0
        print("| %s | %.1f | %.1f | %d | %.1f | %d | %.1f | %d | %d |" % (
            name, hist(s, "workload.fork_ns") / 1000, block / 1000, s["driver.queues.evictions"],
            hist(s, "driver.svm.restore_delay_ns") / 1000, s["driver.svm.notifier.gpu_unmaps"],
            s["workload.kernel_ns"]["max"] / 1000, s["fault.count"], stale))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
