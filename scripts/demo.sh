#!/usr/bin/env bash
# Install what is missing, build, and run the main job (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh default >/dev/null
exec scripts/demo-run.sh build
