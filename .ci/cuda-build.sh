#!/usr/bin/env bash
# Compiles the CUDA build (`--features cuda`: the SDK with candle's CUDA backend and kernels, the
# host and the built-in plugins) on a machine without a GPU or a CUDA installation, so the GPU
# path cannot rot unnoticed. Called by .ci/run; runs alone as well:
#
#   bash .ci/cuda-build.sh
#
# Toolkit: Debian's default sources carry none, so NVIDIA's compiler, headers and runtime come
# from the Python package index into target/ci-cuda (about 370 MB), pinned together (unpinned,
# pip mixes an nvvm of one release with an nvcc of another and ptxas refuses the PTX; CUDA 13.5
# is newer than candle's cudarc accepts).
#
# Libraries: cudarc links libcuda (which only NVIDIA's driver installs), libnvrtc, libcurand,
# libcublas and libcublasLt at link time. Like the toolkit's own `stubs/` directory, stub
# libraries with the real sonames stand in for them, defining the functions the SDK calls: the
# link succeeds and records the real names, and on a GPU machine the driver's and toolkit's
# libraries are the ones loaded.
# candle's kernels also link libcudart, which the runtime package has (without the unversioned
# name the linker looks for).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$PWD/target/ci-cuda"
packages=(
  "nvidia-cuda-nvcc==13.4.92"
  "nvidia-nvvm==13.4.92"
  "nvidia-cuda-crt==13.4.92"
  "nvidia-cuda-runtime==13.4.92"
  "nvidia-cuda-cccl==13.3.5.0.6"
)
cu13() { find "$venv/lib" -maxdepth 4 -type d -path '*/nvidia/cu13' 2>/dev/null | head -n 1; }
if [ -z "$(cu13)" ] || [ ! -x "$(cu13)/bin/nvcc" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${packages[@]}"
fi
root="$(cu13)"

stubs="$root/lib/stubs"
mkdir -p "$stubs"
libraries="cuda:1 nvrtc:13 curand:10 cublas:13 cublasLt:13"
# stub_libraries [SDK]: one stub per library, defining the functions SDK (libassay_sdk.so)
# takes from it (none without SDK).
stub_libraries() {
  for lib in $libraries; do
    name="${lib%%:*}"
    major="${lib##*:}"
    echo '/* stub: the real library is loaded at run time */' > "$stubs/$name.c"
    if [ -n "${1:-}" ]; then
      nm -D --undefined-only "$1" | awk '{ print $2 }' | sed 's/@.*//' |
        awk -v lib="$name" '
          lib == "cublasLt" && /^cublasLt/ { print }
          lib == "cublas" && /^cublas/ && !/^cublasLt/ { print }
          lib == "curand" && /^curand/ { print }
          lib == "nvrtc" && /^nvrtc/ { print }
          lib == "cuda" && /^cu[A-Z]/ { print }' |
        sed 's/.*/void &(void) {}/' >> "$stubs/$name.c"
    fi
    cc -shared -o "$stubs/lib$name.so" -Wl,-soname,"lib$name.so.$major" "$stubs/$name.c"
  done
}
ln -sf "$root/lib/libcudart.so.13" "$stubs/libcudart.so"

export PATH="$root/bin:$PATH"
export CUDA_ROOT="$root" CUDA_PATH="$root"
# No GPU to ask: 90 is the H100/H200 class the project's GPU machine has.
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export NVCC_APPEND_FLAGS="-I$root/include/cccl"

start=$(date +%s)
# The SDK links with empty stubs (a shared library may leave symbols to its dependencies); the
# host's executable may not, so the stubs then define what the SDK takes from each library.
stub_libraries
cargo build -p assay-sdk-link --features cuda
sdk=$(ls -t target/debug/assay-sdk/*/libassay_sdk.so | while read -r so; do
  # (awk reads to the end: grep -q would close the pipe early, which pipefail reports)
  if nm -D --undefined-only "$so" | awk '/ cublasCreate/ { found = 1 } END { exit !found }'; then
    echo "$so"
    break
  fi
done)
if [ -z "$sdk" ]; then
  echo "error: no SDK distribution built with CUDA under target/debug/assay-sdk" >&2
  exit 1
fi
stub_libraries "$sdk"
cargo build --workspace --lib --bins --features assay/cuda
echo "CUDA build (--features cuda) took $(( $(date +%s) - start )) s"
