#!/usr/bin/env bash
# Re-runs studies and checks the README's result tables against the store.
#
#   experiments/reproduce.sh [--update] [NAME...]
#
# For each NAME (default: every experiment with a NAME.sql beside its NAME.toml), runs
# `assay sweep experiments/NAME.toml` (finished runs of the store are reused, so a second call is
# quick), renders `assay query --file experiments/NAME.sql --format md`, and compares it with the
# README block between `<!-- table: experiments/NAME.sql -->` and `<!-- end table -->`. Without
# --update it prints the differences and exits 1 if any table drifted; with --update it rewrites
# those blocks. Where experiments/NAME.plot.sql exists, it also draws
# experiments/figures/NAME.png with `assay plot --query-file` and the flags on the file's
# `-- plot-args:` line. A spec's `# needs: FILE.toml` lines name sweeps to run before it (data
# its runs read from disk, such as recorded demonstrations). The store is $ASSAY_STORE (default ./runs); JOBS sets the sweep's workers.
set -euo pipefail
cd "$(dirname "$0")/.."

update=false
names=()
for arg in "$@"; do
  case "$arg" in
    --update) update=true ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for sql in experiments/*.sql; do
    name=$(basename "$sql" .sql)
    [ -f "experiments/$name.toml" ] && names+=("$name")
  done
fi

cargo build -q --bin assay
assay=target/debug/assay
out=target/reproduce
mkdir -p "$out"
drift=0
for name in "${names[@]}"; do
  spec=experiments/$name.toml
  sql=experiments/$name.sql
  [ -f "$spec" ] && [ -f "$sql" ] || { echo "no $spec or $sql" >&2; exit 2; }
  for need in $(sed -n 's/^# needs: //p' "$spec"); do
    echo "== $name: needs $need" >&2
    "$assay" sweep "$need" --jobs "${JOBS:-2}" >&2
  done
  echo "== $name: sweep" >&2
  start=$(date +%s)
  "$assay" sweep "$spec" --jobs "${JOBS:-2}" >&2
  echo "   $(( $(date +%s) - start )) s" >&2
  "$assay" query --file "$sql" --format md > "$out/$name.md"
  plot=experiments/$name.plot.sql
  if [ -f "$plot" ]; then
    args=$(sed -n 's/^-- plot-args: //p' "$plot")
    mkdir -p experiments/figures
    eval "\"\$assay\" plot --query-file \"\$plot\" $args --out experiments/figures/$name.png" >&2
  fi
  python3 - "$name" "$out/$name.md" "$update" <<'PY' || drift=1
import sys, difflib, pathlib
name, table_path, update = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
readme = pathlib.Path("README.md")
text = readme.read_text()
begin = f"<!-- table: experiments/{name}.sql -->\n"
end = "<!-- end table -->"
table = pathlib.Path(table_path).read_text()
if begin not in text:
    print(f"{name}: README has no block {begin.strip()}", file=sys.stderr)
    sys.exit(3)
head, rest = text.split(begin, 1)
old, tail = rest.split(end, 1)
if old == table:
    print(f"{name}: README table matches the store", file=sys.stderr)
    sys.exit(0)
if update:
    readme.write_text(head + begin + table + end + tail)
    print(f"{name}: README table updated", file=sys.stderr)
    sys.exit(0)
sys.stderr.writelines(difflib.unified_diff(old.splitlines(True), table.splitlines(True), "README.md", f"store ({name}.sql)"))
sys.exit(1)
PY
done
exit $drift
