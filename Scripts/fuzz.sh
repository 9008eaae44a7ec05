#!/usr/bin/env bash
# Builds the libFuzzer targets under Fuzz/ and runs one for SECONDS (default 60).
#
#   Scripts/fuzz.sh 1800                 the input path (WAV and anything else FFmpeg reads), 30 min
#   Scripts/fuzz.sh 600 xml              the S3 XML parser (expat under XMLElementNode.parse)
#   FUZZ_JOBS=2 Scripts/fuzz.sh 1800     two processes on one corpus
#
# Not part of the package's build nor of CI. The targets are compiled by swiftc directly with
# -sanitize=fuzzer,address: the Swift code (AudioTranscode, or S3's XML parser) is instrumented for
# coverage and ASan; Debian's FFmpeg libraries are linked as they are (pkg-config), so coverage
# guidance sees our side of the callbacks and FFmpeg's crashes, leaks and hangs, not FFmpeg's own
# branches. The corpus grows in .fuzz/<target>/corpus (seeded from WAVFixture), crashes land in
# .fuzz/<target>/artifacts, and the last run's log in .fuzz/<target>/log.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
target="${2:-transcode}"
work=".fuzz/$target"
mkdir -p "$work/corpus" "$work/artifacts"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
# ld.gold warns about every ASan helper symbol; keep the build quiet but its errors visible.
swiftc() { command swiftc "$@" 2> >(grep -v "Cannot export local symbol" >&2); }
# A small quarantine keeps the fuzzer's RSS flat enough for long runs.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32:malloc_context_size=10}"

case "$target" in
transcode)
    modules=(CAVUtil:libavutil CAVCodec:libavcodec CAVFormat:libavformat CSwResample:libswresample)
    includes=()
    packages=()
    for entry in "${modules[@]}"; do
        includes+=(-I "Sources/${entry%%:*}")
        packages+=("${entry##*:}")
    done
    # shellcheck disable=SC2207
    cflags=($(pkg-config --cflags "${packages[@]}"))
    # shellcheck disable=SC2207
    libs=($(pkg-config --libs "${packages[@]}"))
    xcc=()
    for flag in "${cflags[@]}"; do xcc+=(-Xcc "$flag"); done
    # AudioTranscode as a module of its own (instrumented), then the target over it.
    swiftc "${flags[@]}" -emit-library -static -emit-module -module-name AudioTranscode \
        -emit-module-path "$work/AudioTranscode.swiftmodule" "${includes[@]}" "${xcc[@]+"${xcc[@]}"}" \
        Sources/AudioTranscode/*.swift -o "$work/libAudioTranscode.a"
    swiftc "${flags[@]}" -I "$work" "${includes[@]}" "${xcc[@]+"${xcc[@]}"}" \
        Fuzz/TranscodeFuzzer/*.swift Tests/TestSupport/WAVFixture.swift \
        "$work/libAudioTranscode.a" "${libs[@]}" -o "$work/fuzzer"
    if [ -z "$(ls -A "$work/corpus")" ]; then FUZZ_WRITE_SEEDS="$work/corpus" "$work/fuzzer"; fi
    options=(-max_len=16384 -timeout=10 -rss_limit_mb=1024)
    ;;
xml)
    # S3XML.swift reads documents with expat (Debian's libexpat, linked as it is, like FFmpeg above).
    swiftc "${flags[@]}" -module-name S3XMLFuzzer -I Sources/CExpat Fuzz/S3XMLFuzzer/*.swift Sources/S3/S3XML.swift \
        $(pkg-config --libs expat) -o "$work/fuzzer"
    if [ -z "$(ls -A "$work/corpus")" ]; then FUZZ_WRITE_SEEDS="$work/corpus" "$work/fuzzer"; fi
    options=(-max_len=4096 -timeout=5 -rss_limit_mb=1024 -malloc_limit_mb=256)
    ;;
*)
    echo "fuzz.sh: unknown target \"$target\" (transcode or xml)" >&2
    exit 64
    ;;
esac

echo "fuzz: $target for $seconds s, corpus $(ls "$work/corpus" | wc -l) files; log in $work/log" >&2
jobs="${FUZZ_JOBS:-1}"
extra=()
if [ "$jobs" -gt 1 ]; then extra=(-jobs="$jobs" -workers="$jobs"); fi
set +e
"$work/fuzzer" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${extra[@]+"${extra[@]}"}" "$work/corpus" 2>&1 | tee "$work/log" | grep -E '^#[0-9]+.*(DONE|pulse)|ERROR|stat::|Test unit written' >&2
status=${PIPESTATUS[0]}
set -e
echo "fuzz: exit $status; artifacts: $(ls "$work/artifacts" | wc -l)" >&2
exit "$status"
