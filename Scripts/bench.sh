#!/usr/bin/env bash
# Benchmarks s3transcode side by side with the tools people would otherwise use, in one run,
# and prints the figures as ratios (this machine is shared and noisy: compare within a run).
#
# Usage: Scripts/bench.sh [--reps N] [--minutes M] [--only file|batch]
#   wall time: the median of N runs (default 3); peak RSS: the largest of them (GNU time's %M).
#   --only runs one section: the local-file rows or the batch-to-S3 rows (local moto server).
# SWIFT_BUILD_FLAGS (for example "--scratch-path .build-mine") is passed to the swift commands.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 minutes=10 only=""
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "bench.sh: unknown option $1 (use --reps N, --minutes M, --only file|batch)" >&2; exit 64 ;;
    esac
done

bash Scripts/setup.sh >/dev/null
bin=$(bash Scripts/build-release.sh 2>/dev/null)
work=$(mktemp -d /tmp/s3t-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# measure NAME COMMAND...: runs the command $reps times; prints "median_seconds peak_kib".
measure() {
    local times=() peak=0 line
    for _ in $(seq "$reps"); do
        line=$( { /usr/bin/time -f '%e %M' bash -c "$1" 2>&1 >/dev/null; } | tail -n1)
        times+=("${line% *}")
        [ "${line#* }" -gt "$peak" ] && peak=${line#* }
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")" "$peak"
}

row() { # row LABEL TIME RSS REF_TIME REF_RSS
    awk -v l="$1" -v t="$2" -v r="$3" -v rt="$4" -v rr="$5" \
        'BEGIN { printf "| %-34s | %8.2f | %6.2f | %8.1f | %6.2f |\n", l, t, t/rt, r/1024, r/rr }'
}

bench_file() {
input=$work/in.wav
echo "generating ${minutes} min of 44.1 kHz stereo music-like audio..." >&2
bash Scripts/gen-audio.sh "$input" $((minutes * 60)) 44100 2

echo
echo "Local file, ${minutes} min of 44.1 kHz stereo, median of ${reps} runs (ratios to ffmpeg)"
echo "| command                            |   wall s | ×ffmpeg | RSS MiB | ×ffmpeg |"
echo "|------------------------------------|----------|---------|---------|---------|"
for mode in cbr vbr; do
    if [ $mode = cbr ]; then ff="-b:a 192k"; la="-b 192"; us="--bitrate 192"; label="CBR 192";
    else ff="-q:a 2"; la="-V 2"; us="--vbr 2"; label="VBR 2"; fi
    read -r ft fr < <(measure "ffmpeg -nostdin -v error -y -i $input -c:a libmp3lame $ff $work/ff.mp3")
    read -r st sr < <(measure "$bin $input $work/us.mp3 $us")
    read -r lt lr < <(measure "lame --quiet $la $input $work/lame.mp3")
    row "s3transcode ($label)" "$st" "$sr" "$ft" "$fr"
    row "ffmpeg -c:a libmp3lame ($label)" "$ft" "$fr" "$ft" "$fr"
    row "lame ($label)" "$lt" "$lr" "$ft" "$fr"
done
}

# ---------------------------------------------------------------------------------------------
# Batch to S3 (issue 5, section 7), against a local SigV4-checking moto server started here.
#   100 three-second WAVs: `s3transcode batch` versus a shell loop of `ffmpeg … -f mp3 - | aws s3 cp -`
#   (target: at least 20x faster) and versus a shell loop of single `s3transcode` runs.
#   8 one-minute WAVs: `batch --jobs 1` versus `--jobs 2` (target: at least 1.8x the throughput).
# Each run writes to a fresh prefix; moto keeps objects in memory, so it is restarted per series.
bench_batch() {
    export S3T_SERVER_DIR=$work/s3-server
    start_s3() {
        bash Scripts/s3-server.sh start >/dev/null
        eval "$(bash Scripts/s3-server.sh env)"
        export AWS_ACCESS_KEY_ID=$S3T_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3T_TEST_SECRET_ACCESS_KEY
        export AWS_REGION=$S3T_TEST_REGION AWS_DEFAULT_REGION=$S3T_TEST_REGION
        export AWS_ENDPOINT_URL=$S3T_TEST_ENDPOINT AWS_ENDPOINT_URL_S3=$S3T_TEST_ENDPOINT
        export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
        aws s3api create-bucket --bucket bench >/dev/null
    }
    trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

    local short=$work/short long=$work/long
    mkdir -p "$short" "$long"
    echo "generating 100 three-second and 8 one-minute WAVs..." >&2
    bash Scripts/gen-audio.sh "$work/3s.wav" 3 44100 2
    for i in $(seq -w 1 100); do cp "$work/3s.wav" "$short/take$i.wav"; done
    bash Scripts/gen-audio.sh "$work/60s.wav" 60 44100 2
    for i in 1 2 3 4 5 6 7 8; do cp "$work/60s.wav" "$long/take$i.wav"; done

    start_s3
    # Each repetition writes under a random prefix of its own, so no run finds another's objects.
    echo
    echo "100 three-second WAVs to S3 (local moto), CBR 192, median of ${reps} runs (ratios to s3transcode batch)"
    echo "| command                            |   wall s |  ×batch | RSS MiB |  ×batch |"
    echo "|------------------------------------|----------|---------|---------|---------|"
    read -r bt br < <(measure "$bin batch $short s3://bench/batch-\$RANDOM\$RANDOM --bitrate 192 --quiet")
    read -r lt lr < <(measure "d=\$RANDOM\$RANDOM; for f in $short/*.wav; do n=\$(basename \$f .wav); ffmpeg -nostdin -v error -i \$f -c:a libmp3lame -b:a 192k -f mp3 - | aws s3 cp --quiet - s3://bench/loop-\$d/\$n.mp3; done")
    read -r st sr < <(measure "d=\$RANDOM\$RANDOM; for f in $short/*.wav; do n=\$(basename \$f .wav); $bin \$f s3://bench/single-\$d/\$n.mp3 --bitrate 192 --quiet; done")
    row "s3transcode batch (--jobs 2)" "$bt" "$br" "$bt" "$br"
    row "loop: ffmpeg | aws s3 cp -" "$lt" "$lr" "$bt" "$br"
    row "loop: single s3transcode runs" "$st" "$sr" "$bt" "$br"
    awk -v b="$bt" -v l="$lt" -v s="$st" 'BEGIN { printf "batch is %.1fx faster than the ffmpeg | aws loop (target 20x), %.1fx faster than single runs\n", l/b, s/b }'

    bash Scripts/s3-server.sh stop >/dev/null
    start_s3
    echo
    echo "8 one-minute WAVs to S3 (local moto), CBR 192, median of ${reps} runs (ratios to --jobs 1)"
    echo "| command                            |   wall s |  ×jobs1 | RSS MiB |  ×jobs1 |"
    echo "|------------------------------------|----------|---------|---------|---------|"
    read -r j1t j1r < <(measure "$bin batch $long s3://bench/j1-\$RANDOM\$RANDOM --jobs 1 --bitrate 192 --quiet")
    read -r j2t j2r < <(measure "$bin batch $long s3://bench/j2-\$RANDOM\$RANDOM --jobs 2 --bitrate 192 --quiet")
    row "s3transcode batch --jobs 1" "$j1t" "$j1r" "$j1t" "$j1r"
    row "s3transcode batch --jobs 2" "$j2t" "$j2r" "$j1t" "$j1r"
    awk -v a="$j1t" -v b="$j2t" 'BEGIN { printf "--jobs 2 has %.2fx the throughput of --jobs 1 (target 1.8x on 2 cores)\n", a/b }'
}

case $only in
    "") bench_file; bench_batch ;;
    file) bench_file ;;
    batch) bench_batch ;;
    *) echo "bench.sh: --only $only: use file or batch" >&2; exit 64 ;;
esac
