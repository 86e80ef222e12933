#!/usr/bin/env bash
# Checks that each crate vendored here is its release on crates.io plus exactly its diff
# (sdk/patches/NAME.diff, and nothing else), or with --write regenerates the diffs after a
# change to a vendored copy. Needs curl and git; .ci/run runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# name and published version of each vendored crate
crates=("candle-core 0.11.1" "rayon-core 1.13.0")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for entry in "${crates[@]}"; do
  read -r name version <<<"$entry"
  work="$tmp/$name"
  mkdir -p "$work/a" "$work/b"
  curl -sSfL "https://static.crates.io/crates/$name/$name-$version.crate" | tar xz -C "$work"
  # the compiled parts: sources, manifest and build script (examples, tests and benchmarks
  # are not vendored)
  for part in src Cargo.toml build.rs; do
    if [ -e "$work/$name-$version/$part" ]; then
      cp -r "$work/$name-$version/$part" "$work/a/"
    fi
    if [ -e "$here/$name/$part" ]; then
      cp -r "$here/$name/$part" "$work/b/"
    fi
  done
  # git diff exits 1 when the trees differ; anything above is a failure (no git, a git error),
  # which must not pass for an empty diff. The -c settings keep a user's git configuration out
  # of the output.
  rc=0
  (cd "$work" && git -c core.abbrev=7 -c diff.noprefix=false -c diff.mnemonicPrefix=false \
    diff --no-ext-diff --no-index --no-color a b >"$work/now.diff") || rc=$?
  if [ "$rc" -gt 1 ]; then
    echo "sdk/patches/check.sh: git diff failed for $name (exit $rc)" >&2
    exit "$rc"
  fi
  if [ "${1:-}" = "--write" ]; then
    cp "$work/now.diff" "$here/$name.diff"
    echo "wrote $here/$name.diff ($(grep -c '^diff ' "$here/$name.diff") files)"
  elif ! cmp -s "$work/now.diff" "$here/$name.diff"; then
    echo "sdk/patches/$name differs from $name $version + $name.diff:" >&2
    diff "$here/$name.diff" "$work/now.diff" | head -40 >&2 || true
    echo "(after a deliberate change: sdk/patches/check.sh --write, and describe it in sdk/patches/README.md)" >&2
    status=1
  else
    echo "sdk/patches/$name = $name $version + $name.diff"
  fi
done
exit $status
