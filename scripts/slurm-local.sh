#!/usr/bin/env bash
# A real single-node Slurm on this machine, for testing `faultline sweep --executor slurm`:
# munged (its own key and socket), slurmctld and slurmd of Debian's slurm-wlm, with every
# file under DIR (default /tmp/faultline-slurm). Nothing outside DIR is touched: the
# system's /etc/slurm and /etc/munge are not used, so it can run beside a real installation.
#
#   scripts/slurm-local.sh start [DIR]   start the daemons; waits until the node is idle;
#                                        prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-local.sh stop [DIR]    stop them (idempotent)
#
# Clients (sbatch, squeue, sinfo) reach this cluster with SLURM_CONF=DIR/slurm.conf. Needs
# root (slurmd runs jobs as their submitting user) and the packages slurm-wlm and munge
# (scripts/install-deps.sh installs them).
set -euo pipefail

cmd=${1:-}
dir=${2:-/tmp/faultline-slurm}

stop() {
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -s "$f" ]; then
      pid=$(cat "$f")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$f"
    fi
  done
}

# A TCP port nobody listens on, from a range the kernel does not hand out as ephemeral.
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return; fi
  done
  echo "slurm-local: no free TCP port in $1..$(($1 + 200))" >&2
  exit 1
}

case "$cmd" in
  start)
    for b in munged slurmctld slurmd sbatch sinfo; do
      command -v "$b" >/dev/null || { echo "slurm-local: $b not found (install slurm-wlm and munge: scripts/install-deps.sh)" >&2; exit 1; }
    done
    [ "$(id -u)" -eq 0 ] || { echo "slurm-local: must run as root (slurmd runs jobs as their user)" >&2; exit 1; }
    stop
    rm -rf "$dir"
    mkdir -p "$dir"/{state,spool,log,munge}
    chmod 700 "$dir/munge"
    head -c 1024 /dev/urandom > "$dir/munge/munge.key"
    chmod 600 "$dir/munge/munge.key"
    munged --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed"
    host=$(hostname)
    ctld_port=$(free_port 16817)
    slurmd_port=$(free_port $((ctld_port + 1)))
    cat > "$dir/slurm.conf" <<CONF
# Written by scripts/slurm-local.sh: a single-node cluster for tests.
ClusterName=faultline
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups in a container: track processes by parent, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MaxArraySize=100001
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -i
    slurmd
    for _ in $(seq 1 60); do
      if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        echo "export SLURM_CONF=$dir/slurm.conf"
        exit 0
      fi
      sleep 0.5
    done
    echo "slurm-local: the node did not become idle in 30 s; logs in $dir/log/" >&2
    sinfo >&2 || true
    tail -n 20 "$dir"/log/*.log >&2 || true
    exit 1
    ;;
  stop)
    stop
    ;;
  *)
    echo "usage: scripts/slurm-local.sh start|stop [DIR]" >&2
    exit 2
    ;;
esac
