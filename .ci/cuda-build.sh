#!/usr/bin/env bash
# Compiles the CUDA build (`--features cuda`: the SDK with candle's CUDA backend and kernels, the
# host and the built-in plugins) on a machine without a GPU or a CUDA installation, so the GPU
# path cannot rot unnoticed. Called by .ci/run; runs alone as well:
#
#   bash .ci/cuda-build.sh
#
# Toolkit: Debian's default sources carry none, so NVIDIA's compiler, headers and runtime come
# from the Python package index into target/ci-cuda (about 370 MB), pinned together (unpinned,
# pip mixes an nvvm of one release with an nvcc of another and ptxas refuses the PTX) to CUDA
# 13.0: candle's kernels are PTX that the driver compiles at load time, and the project's GPU
# machine has driver 580 (CUDA 13.0), which refuses PTX from a newer toolkit.
#
# Libraries: candle's cudarc loads libcuda (which only NVIDIA's driver installs), libnvrtc,
# libcurand, libcublas and libcublasLt at run time (its `dynamic-loading` feature, set in the
# patched candle-core), so none is needed to link, and the binary starts on machines without
# them. Only candle's kernels link libcudart, which the runtime package has (without the
# unversioned name the linker looks for).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$PWD/target/ci-cuda"
packages=(
  "nvidia-cuda-nvcc==13.0.88"
  "nvidia-nvvm==13.0.88"
  "nvidia-cuda-crt==13.0.88"
  "nvidia-cuda-runtime==13.0.96"
  "nvidia-cuda-cccl==13.0.85"
)
cu13() { find "$venv/lib" -maxdepth 4 -type d -path '*/nvidia/cu13' 2>/dev/null | head -n 1; }
# (Re)installed when missing or from another release (an older checkout pinned 13.4).
if [ -z "$(cu13)" ] || ! "$(cu13)/bin/nvcc" --version 2>/dev/null | grep -q 'release 13\.0,'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${packages[@]}"
fi
root="$(cu13)"

unversioned="$root/lib/unversioned"
mkdir -p "$unversioned"
ln -sf "$root/lib/libcudart.so.13" "$unversioned/libcudart.so"

export PATH="$root/bin:$PATH"
export CUDA_ROOT="$root" CUDA_PATH="$root"
# No GPU to ask: 90 is the H100/H200 class the project's GPU machine has.
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export NVCC_APPEND_FLAGS="-I$root/include/cccl"

# Where the linker finds libcudart: `-lcudart` (the SDK's link and the executables') wants the
# unversioned name, and resolving the SDK's own dependency wants `libcudart.so.13`.
export LIBRARY_PATH="$unversioned:$root/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"

start=$(date +%s)
cargo build --workspace --lib --bins --features assay/cuda
echo "CUDA build (--features cuda) took $(( $(date +%s) - start )) s"
