#!/usr/bin/env bash
# Sets everything up, starts the local S3 servers, runs the whole test suite (unit, local S3
# server, command tests), and stops the servers however the run ends.
#
#   Scripts/test.sh                                    everything
#   Scripts/test.sh --filter 'S3Tests|S3IntegrationTests'   extra arguments go to `swift test`
#   Scripts/test.sh --sanitize address                 everything under ASan + LeakSanitizer
#   Scripts/test.sh --sanitize thread                  everything under ThreadSanitizer
#   S3T_TEST_BACKEND=localstack Scripts/test.sh --filter PresignedURLTests   one suite against LocalStack
#   Scripts/test.sh --no-portable                      everything but the portable release binary
#   Scripts/test.sh --portable --filter X              suite X, then the portable binary's tests
#
# A whole run (no extra arguments) runs every test against moto, then the suites that talk to S3
# through the binary or the uploader (LOCALSTACK_SUITES) again against LocalStack's S3: one suite,
# two independent servers (Scripts/s3-server.sh says what each checks). Then the portable release
# binary: build it (Scripts/build-release.sh; the first build compiles FFmpeg and curl, about 9
# minutes, later ones reuse .release-cache), test it in an empty root (Scripts/test-portable.sh) and
# run every command-level suite (CommandsTests, CommandsFaultTests) against it. S3T_PORTABLE=0 or
# --no-portable leaves that part out; S3T_PORTABLE=1 or --portable adds it to a filtered run.
#
# SWIFT_BUILD_FLAGS (for example "--scratch-path .build-mine") is passed to both swift commands.
# A sanitized run builds into .build-sanitize-<address|thread> (unless SWIFT_BUILD_FLAGS names a
# scratch path), so the normal build stays valid; the command tests run the sanitized s3transcode
# next to the test bundle. Every sanitizer report, from the test process or from an s3transcode it
# started, is written to a file and makes the run fail.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizer=""
portable="${S3T_PORTABLE:-}"   # empty: decided below (on for a whole, unsanitized run on moto)
test_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) [ $# -ge 2 ] || { echo "test: --sanitize needs address or thread" >&2; exit 64; }
                    sanitizer="$2"; shift 2 ;;
        --sanitize=*) sanitizer="${1#--sanitize=}"; shift ;;
        --portable) portable=1; shift ;;
        --no-portable) portable=0; shift ;;
        *) test_args+=("$1"); shift ;;
    esac
done
swift_flags="${SWIFT_BUILD_FLAGS:-}"
if [ -z "$portable" ]; then
    portable=0
    [ ${#test_args[@]} -ne 0 ] || [ -n "$sanitizer" ] || [ -n "${S3T_TEST_BACKEND:-}" ] || portable=1
fi
LOCALSTACK_SUITES='UploadCommandTests|PresignedURLTests|S3InputTests|BatchCommandTests|CleanupCommandTests|SignalTests|UploadMotoTests|PipeInputTests|ObjectOptionsTests|ChecksumUploadTests|StorePersonalityTests'
report_dir=""
if [ -n "$sanitizer" ]; then
    case "$sanitizer" in
        address|thread) ;;
        *) echo "test: --sanitize takes address or thread, not '$sanitizer'" >&2; exit 64 ;;
    esac
    case " $swift_flags " in
        *" --scratch-path"*) ;;
        *) swift_flags="$swift_flags --scratch-path .build-sanitize-$sanitizer" ;;
    esac
    swift_flags="$swift_flags --sanitize=$sanitizer"
    report_dir="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-sanitizer.XXXXXX")"
    # Reports go to files (report.<pid>), not to stderr, so that a command test that reads a child's
    # stderr does not mistake a report for the tool's own message, and none is lost.
    export ASAN_OPTIONS="detect_leaks=1:log_path=$report_dir/report:${ASAN_OPTIONS:-}"
    export LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
    export TSAN_OPTIONS="log_path=$report_dir/report:suppressions=$PWD/Scripts/tsan.supp:${TSAN_OPTIONS:-}"
fi

bash Scripts/setup.sh

# A server directory of our own, so that several runs can go on side by side.
export S3T_SERVER_DIR
S3T_SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-test-servers.XXXXXX")"
stop_servers() {
    bash Scripts/s3-server.sh stop || true
    rm -rf "$S3T_SERVER_DIR"
    [ -z "$report_dir" ] || rm -rf "$report_dir"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash Scripts/s3-server.sh start >/dev/null
eval "$(bash Scripts/s3-server.sh env)"
echo "test: S3 servers on $S3T_TEST_ENDPOINT (moto, SigV4 checked), $S3T_TEST_NOAUTH_ENDPOINT (moto, no auth) and $S3T_TEST_LOCALSTACK_ENDPOINT (LocalStack)"

status=0
# The style the code already has (.swift-format: 4 spaces, 120 columns): a line that strays fails the
# run, after the tests. `swift format format --in-place --recursive Sources Tests Package.swift` fixes most.
if ! swift format lint --strict --recursive Sources Tests Package.swift; then
    echo "test: swift format lint found the lines above; run: swift format format --in-place --recursive Sources Tests Package.swift" >&2
    status=1
fi
# shellcheck disable=SC2086
swift build $swift_flags --build-tests
# shellcheck disable=SC2086
swift test $swift_flags --skip-build ${test_args[@]+"${test_args[@]}"} || status=$?
if [ ${#test_args[@]} -eq 0 ] && [ -z "${S3T_TEST_BACKEND:-}" ]; then
    echo "test: the S3 suites again, against LocalStack ($S3T_TEST_LOCALSTACK_ENDPOINT)"
    # shellcheck disable=SC2086
    S3T_TEST_BACKEND=localstack swift test $swift_flags --skip-build --filter "$LOCALSTACK_SUITES" || status=$?
fi
if [ -n "$report_dir" ]; then
    reports=("$report_dir"/report*)
    if [ -e "${reports[0]}" ]; then
        echo "test: ${#reports[@]} $sanitizer sanitizer report(s):" >&2
        cat "${reports[@]}" >&2
        [ "$status" -ne 0 ] || status=1
    else
        echo "test: no $sanitizer sanitizer reports"
    fi
fi
if [ "$portable" = 1 ]; then
    # The release binary: its own scratch path and cache (.build-release, .release-cache).
    release_binary="$(bash Scripts/build-release.sh)"
    bash Scripts/test-portable.sh "$release_binary" || status=$?
    # The command-level suites again (those that run the binary), every case on the portable binary.
    # shellcheck disable=SC2086
    S3TRANSCODE_BIN="$release_binary" swift test $swift_flags --skip-build --filter 'CommandsTests|CommandsFaultTests' || status=$?
fi
exit "$status"
