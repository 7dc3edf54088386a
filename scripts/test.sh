#!/usr/bin/env bash
# Install what is missing, build, and run every test in three configurations: the normal
# (RelWithDebInfo, asserts on) build, the Release build users ship (NDEBUG, -O3,
# _FORTIFY_SOURCE), and AddressSanitizer + UndefinedBehaviorSanitizer. -Werror in all three.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
for preset in default release asan; do
  echo "== $preset build"
  scripts/build.sh "$preset"
  echo "== $preset tests"
  ctest --preset "$preset" -j "$(nproc)"
done
