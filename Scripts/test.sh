#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (unit, local S3 server, command tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
