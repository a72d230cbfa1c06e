#!/usr/bin/env bash
# `faultline sweep --executor slurm` against a real single-node Slurm (slurm-wlm + munge,
# started here by scripts/slurm-local.sh and stopped at the end), not a mock:
#   1. a 3 x 3 sweep run locally and as a Slurm job array gives the same results.csv;
#   2. a re-run submits nothing (every point is done);
#   3. a sweep whose job is still queued refuses a second submission; cancelling the job
#      leaves its points unfinished (exit 4, rows "missing"); running again finishes them.
# Usage: tests/slurm/sweep_slurm.sh FAULTLINE WORKDIR     (ctest: slurm.sweep)
set -euo pipefail
bin=$(realpath "$1")
work=$(realpath -m "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)

for b in slurmctld slurmd munged sbatch; do
  if ! command -v "$b" >/dev/null; then
    echo "SKIP: $b not found (scripts/install-deps.sh installs slurm-wlm and munge)"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: slurmd must run as root"; exit 77; fi

rm -rf "$work"
mkdir -p "$work"
cluster="$work/cluster"
trap '"$root/scripts/slurm-local.sh" stop "$cluster"' EXIT
eval "$("$root/scripts/slurm-local.sh" start "$cluster")"
export SLURM_CONF

fail() { echo "FAIL: $*"; exit 1; }

cat > "$work/w.textproto" <<'W'
op { mmap { name: "buf" size_bytes: 4194304 } }
op { launch { range: "buf" cus: 1 waves_per_cu: 2 outstanding_per_wave: 1 accesses_per_wave: 4 } }
op { wait {} }
W
cat > "$work/s.textproto" <<'S'
name: "slurm3x3"
workload: "w.textproto"
parameter { key: "soc.pcie.gen" values: "3" values: "4" values: "5" }
parameter { key: "driver.svm.default_granularity" values: "0" values: "4" values: "9" }
stat: "fault.count"
stat: "fault.latency_ns:p50"
stat: "fault.latency_ns:mean"
stat: "driver.migrate.bytes_pagefault_gpu"
S

echo "== 1. local and Slurm give the same table"
"$bin" sweep "$work/s.textproto" --out "$work/local" -j 2
out=$("$bin" sweep "$work/s.textproto" --out "$work/slurm" --executor slurm --chunk 4 -j 1)
echo "$out"
grep -q "Slurm job [0-9]*: 3 array tasks" <<<"$out" || fail "expected 3 array tasks of up to 4 points"
grep -q "9 points (9 run now, 0 done before, 0 failed)" <<<"$out" || fail "expected all 9 points run"
diff "$work/local/results.csv" "$work/slurm/results.csv" || fail "the tables differ"
[ "$(grep -c ',ok,' "$work/slurm/results.csv")" -eq 9 ] || fail "expected 9 ok rows"
[ "$(wc -l < "$work/slurm/sweep.log")" -eq 9 ] || fail "expected 9 points run once each"
for t in 0 1 2; do [ -s "$work/slurm/slurm/task-$t.log" ] || fail "no log of array task $t"; done
cat "$work/slurm/results.csv"

echo "== 2. a re-run submits nothing"
job=$(cat "$work/slurm/slurm/job.txt")
out=$("$bin" sweep "$work/s.textproto" --out "$work/slurm" --executor slurm --chunk 4)
echo "$out"
grep -q "(0 run now, 9 done before" <<<"$out" || fail "a re-run ran points"
grep -q "Slurm job" <<<"$out" && fail "a re-run submitted a job"
[ "$(cat "$work/slurm/slurm/job.txt")" = "$job" ] || fail "job.txt changed"

echo "== 3. a queued job is not submitted twice; a cancelled one leaves points to run again"
"$bin" sweep "$work/s.textproto" --out "$work/held" --executor slurm --chunk 3 --slurm-opt=--begin=now+3600 \
  > "$work/held.out" 2>&1 &
sweep_pid=$!
for _ in $(seq 1 100); do [ -s "$work/held/slurm/job.txt" ] && break; sleep 0.2; done
[ -s "$work/held/slurm/job.txt" ] || fail "the held sweep wrote no job.txt"
held=$(cut -d';' -f1 "$work/held/slurm/job.txt")
set +e
second=$("$bin" sweep "$work/s.textproto" --out "$work/held" --executor slurm 2>&1)
code=$?
set -e
echo "$second"
[ "$code" -eq 2 ] || fail "a second submission while job $held is queued exited $code, expected 2"
grep -q "Slurm job $held of an earlier submission of this sweep is still queued" <<<"$second" || fail "no refusal message"
scancel "$held"
set +e
wait "$sweep_pid"
code=$?
set -e
cat "$work/held.out"
[ "$code" -eq 4 ] || fail "the cancelled sweep exited $code, expected 4 (points unfinished)"
[ "$(grep -c ',missing,' "$work/held/results.csv")" -eq 9 ] || fail "expected 9 missing rows"
grep -q "9 not finished" "$work/held.out" || fail "the summary does not count the unfinished points"
"$bin" sweep "$work/s.textproto" --out "$work/held" --executor slurm --chunk 3
diff "$work/local/results.csv" "$work/held/results.csv" || fail "the finished table differs from the local one"
echo "PASS: slurm sweep (3 x 3 local == Slurm, re-run, queued refusal, cancel and resume)"
