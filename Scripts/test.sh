#!/usr/bin/env bash
# Sets everything up, starts the local S3 servers, runs the whole test suite (unit, local S3
# server, command tests), and stops the servers however the run ends.
#
#   Scripts/test.sh                                    everything
#   Scripts/test.sh --filter 'S3Tests|S3IntegrationTests'   extra arguments go to `swift test`
#
# SWIFT_BUILD_FLAGS (for example "--scratch-path .build-mine") is passed to both swift commands.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh

# A server directory of our own, so that several runs can go on side by side.
export S3T_SERVER_DIR
S3T_SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-test-servers.XXXXXX")"
stop_servers() {
    bash Scripts/s3-server.sh stop || true
    rm -rf "$S3T_SERVER_DIR"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash Scripts/s3-server.sh start >/dev/null
eval "$(bash Scripts/s3-server.sh env)"
echo "test: S3 servers on $S3T_TEST_ENDPOINT (SigV4 checked) and $S3T_TEST_NOAUTH_ENDPOINT (no auth)"

# shellcheck disable=SC2086
swift build ${SWIFT_BUILD_FLAGS:-} --build-tests
# shellcheck disable=SC2086
swift test ${SWIFT_BUILD_FLAGS:-} --skip-build "$@"
