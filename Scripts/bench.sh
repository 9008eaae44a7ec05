#!/usr/bin/env bash
# Benchmarks s3transcode side by side with the tools people would otherwise use, in one run,
# and prints the figures as ratios (this machine is shared and noisy: compare within a run).
#
# Usage: Scripts/bench.sh [--reps N] [--minutes M]
#   wall time: the median of N runs (default 3); peak RSS: the largest of them (GNU time's %M).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 minutes=10
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        *) echo "bench.sh: unknown option $1 (use --reps N, --minutes M)" >&2; exit 64 ;;
    esac
done

bash Scripts/setup.sh >/dev/null
swift build -c release --product s3transcode >/dev/null
bin=$(swift build -c release --show-bin-path)/s3transcode
work=$(mktemp -d /tmp/s3t-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

input=$work/in.wav
echo "generating ${minutes} min of 44.1 kHz stereo music-like audio..." >&2
bash Scripts/gen-audio.sh "$input" $((minutes * 60)) 44100 2

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
