#!/usr/bin/env bash
# assay's grokking models beside PyTorch, one command, same machine, same thread count.
#
#   bench/grokking.sh [THREADS] [extra `assay bench grokking` options...]
#
# Builds assay (dev profile: candle, gemm and the plugins are optimised there), installs torch
# into target/torch-venv if it is not there yet (about 5 GB with its CUDA wheels; the CPU is
# what is measured), then alternates the two implementations repeat by repeat. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
shift || true
venv=target/torch-venv
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  echo "installing torch into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch numpy
fi
cargo build --workspace --quiet
# PyTorch keeps its default OpenMP wait policy: with OMP_WAIT_POLICY=PASSIVE (set here before)
# its threads slept between operations and it ran up to 6x slower at two threads, which made
# the comparison look better than it was.
exec target/debug/assay bench grokking --threads "$threads" --reference "$venv/bin/python" "$@"
