#!/usr/bin/env bash
# Checks that sdk/patches/candle-core is candle-core 0.11.1 as published on crates.io plus
# exactly sdk/patches/candle-core.diff (and nothing else), or with --write regenerates the
# diff after a change to the vendored copy. Needs curl and git; .ci/run runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=0.11.1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -sSfL "https://static.crates.io/crates/candle-core/candle-core-$version.crate" |
  tar xz -C "$tmp"
mkdir -p "$tmp/a" "$tmp/b"
cp -r "$tmp/candle-core-$version/src" "$tmp/candle-core-$version/Cargo.toml" "$tmp/a/"
cp -r "$here/candle-core/src" "$here/candle-core/Cargo.toml" "$tmp/b/"
(cd "$tmp" && git diff --no-index --no-color a b > "$tmp/now.diff") || true
if [ "${1:-}" = "--write" ]; then
  cp "$tmp/now.diff" "$here/candle-core.diff"
  echo "wrote $here/candle-core.diff ($(grep -c '^diff ' "$here/candle-core.diff") files)"
elif ! cmp -s "$tmp/now.diff" "$here/candle-core.diff"; then
  echo "sdk/patches/candle-core differs from candle-core $version + candle-core.diff:" >&2
  diff "$here/candle-core.diff" "$tmp/now.diff" | head -40 >&2
  echo "(after a deliberate change: sdk/patches/check.sh --write, and describe it in sdk/patches/README.md)" >&2
  exit 1
else
  echo "sdk/patches/candle-core = candle-core $version + candle-core.diff"
fi
