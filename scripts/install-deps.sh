#!/usr/bin/env bash
# Installs the Debian packages faultline needs to build, test and plot, and nothing else.
# Idempotent: packages already present are left alone and apt is not touched at all when
# nothing is missing. Needs root (or sudo) only when something has to be installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsystemc-dev                 # SystemC 2.3 + TLM-2.0 (pkg-config only, no CMake package)
  libboost-program-options-dev   # command line
  libprotobuf-dev protobuf-compiler  # config/workload schema, generated at build time
  nlohmann-json3-dev             # stats.json writer/reader
  libgtest-dev libgmock-dev      # tests
  libbenchmark-dev               # microbenchmarks
  clang libclang-rt-dev          # libFuzzer targets (scripts/fuzz.sh)
  python3-protobuf python3-numpy python3-matplotlib  # scripts/ (run under /usr/bin/python3)
  slurm-wlm munge iproute2       # sweep --executor slurm, tested on a single-node Slurm (tests/slurm)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"
