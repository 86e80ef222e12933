#!/usr/bin/env bash
# The GPU checks, in a few minutes, on a machine with an NVIDIA GPU:
#
#   bench/gpu-check.sh [ASSAY] [OUT]
#
# ASSAY is an `assay` binary built with `--features cuda` (default target/debug/assay; build it
# with the toolkit environment of .ci/cuda-build.sh, or plain `cargo build --features cuda` where
# CUDA is installed), OUT a directory for the two stores and the report (default a temporary one).
#
# 1. The smoke spec on cpu and on cuda:0: both complete; final test loss and accuracy side by side.
# 2. The study-6 transformer (bench/gpu-check.toml), 300 full-batch steps on cpu and on cuda:0
#    from the same seed: the
#    training losses at every logged step agree within a relative 1e-3 (float32 sums in another
#    order on each device; a GPU result further off than that is a bug), and steps/s of each.
# Exits non-zero when a run fails or a tolerance is exceeded.
set -euo pipefail
cd "$(dirname "$0")/.."
assay="${1:-target/debug/assay}"
out="${2:-$(mktemp -d)}"
mkdir -p "$out"
tolerance=1e-3

"$assay" plugins list >/dev/null
for device in cpu cuda:0; do
  store="$out/${device%%:*}"
  "$assay" run experiments/smoke.toml --store "$store" --set "device=\"$device\"" --quiet
  "$assay" run bench/gpu-check.toml --store "$store" --set "device=\"$device\"" --quiet
done

query() {
  "$assay" query --store "$1" --format csv "$2" | tail -n +2
}
echo "smoke spec, final metrics (cpu | cuda:0):"
for device in cpu cuda; do
  query "$out/$device" "SELECT f.name, round(f.value, 5) FROM final_metrics f JOIN runs r ON f.run_id = r.id WHERE r.run_name = 'smoke' AND f.name LIKE 'test/%' ORDER BY 1" |
    sed "s/^/  $device: /"
done

echo "study-6 transformer, 300 steps: steps/s"
for device in cpu cuda; do
  query "$out/$device" "SELECT round(steps_done / duration_s, 1) FROM runs WHERE run_name = 'gpu-check'" |
    sed "s/^/  $device: /"
done

losses() {
  query "$1" "SELECT m.step, m.value FROM metrics m JOIN runs r ON m.run_id = r.id WHERE r.run_name = 'gpu-check' AND m.name = 'train/loss' ORDER BY m.step"
}
paste -d, <(losses "$out/cpu") <(losses "$out/cuda") | awk -F, -v tol="$tolerance" '
  { d = $2 - $4; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (n == 0 || r > worst) { worst = r; at = $1 } n++ }
  END {
    printf "training loss, cpu vs cuda:0: %d steps compared, largest relative difference %.2e (step %s), tolerance %s\n", n, worst, at, tol
    if (n == 0 || worst > tol) exit 1
  }'
echo "stores and logs in $out"
