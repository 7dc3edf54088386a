#!/usr/bin/env bash
# The demo itself, given a build directory. Filled in as capabilities land.
set -euo pipefail
build=${1:-build}
"$build/agent/sfagent" --help || true
