#!/usr/bin/env bash
# Regenerates the files derived from the parameter declarations in
# configs/schema/config.proto: docs/config.md and configs/mi200-pcie4.textproto.
# A unit test fails when either is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FAULTLINE_BIN:-build/faultline}
if [ ! -x "$bin" ]; then
  cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" --target faultline
fi
"$bin" params --format markdown > docs/config.md.tmp && mv docs/config.md.tmp docs/config.md
"$bin" params --format textproto > configs/mi200-pcie4.textproto.tmp && \
  mv configs/mi200-pcie4.textproto.tmp configs/mi200-pcie4.textproto
echo "regenerated docs/config.md and configs/mi200-pcie4.textproto"
