#!/usr/bin/env bash
# Benchmarks s3transcode side by side with the tools people would otherwise use, in one run,
# and prints the figures as ratios (this machine is shared and noisy: compare within a run).
#
# Usage: Scripts/bench.sh [--reps N] [--minutes M] [--only file|batch|s3|portable]
#   wall time: the median of N runs (default 3); peak RSS: the largest of them (GNU time's %M).
#   --only runs one section: the local-file rows, the batch-to-S3 rows or the S3 rows (10 and
#   60 minute WAVs to a local moto server, --max-memory 10M, idle RSS). By default all three.
#   --only portable: the portable release binary beside the development build (issue 11's table);
#   not part of the default run (it builds the development release binary as well).
# SWIFT_BUILD_FLAGS (for example "--scratch-path .build-mine") is passed to the swift commands.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 minutes=10 only=""
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "bench.sh: unknown option $1 (use --reps N, --minutes M, --only file|batch|s3|portable)" >&2; exit 64 ;;
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

# start_s3: a fresh local SigV4-checking moto server (Scripts/s3-server.sh) with a bucket `bench`,
# and the environment that points both s3transcode and the aws CLI at it.
start_s3() {
    bash Scripts/s3-server.sh start >/dev/null
    eval "$(bash Scripts/s3-server.sh env)"
    export AWS_ACCESS_KEY_ID=$S3T_TEST_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3T_TEST_SECRET_ACCESS_KEY
    export AWS_REGION=$S3T_TEST_REGION AWS_DEFAULT_REGION=$S3T_TEST_REGION
    export AWS_ENDPOINT_URL=$S3T_TEST_ENDPOINT AWS_ENDPOINT_URL_S3=$S3T_TEST_ENDPOINT
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
    aws s3api create-bucket --bucket bench >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Batch to S3 (issue 5, section 7), against a local SigV4-checking moto server started here.
#   100 three-second WAVs: `s3transcode batch` versus a shell loop of `ffmpeg … -f mp3 - | aws s3 cp -`
#   (target: at least 20x faster) and versus a shell loop of single `s3transcode` runs.
#   8 one-minute WAVs: `batch --jobs 1` versus `--jobs 2` (target: at least 1.8x the throughput).
# Each run writes to a fresh prefix; moto keeps objects in memory, so it is restarted per series.
bench_batch() {
    export S3T_SERVER_DIR=$work/s3-server
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

# ---------------------------------------------------------------------------------------------
# One file to S3 (issue 4, section 9; issue 6, section 6), against a local SigV4-checking moto
# server started here, restarted before each series (moto keeps every object in memory and grows
# by hundreds of MiB per large upload). 10 and 60 minute WAVs, CBR 192:
#   `s3transcode in.wav s3://…` versus `ffmpeg … -f mp3 - | aws s3 cp - s3://…`.
# The pipeline's peak RSS is the SUM of its two processes, each measured by its own GNU time
# (time on a `bash -c` reports only the largest child). Targets: wall time <= 0.97 x the
# pipeline's; peak RSS <= 64 MiB and <= half the pipeline's sum; the 60-minute peak within 2 MiB
# of the 10-minute one (flat memory); `--max-memory 10M` (the smallest budget S3's 5 MiB part
# minimum allows) succeeds with peak RSS <= idle (`--version`) + 10 MiB + 8 MiB.
bench_s3() {
    export S3T_SERVER_DIR=$work/s3-server
    trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
    # S3T_BENCH_AUDIO=DIR reuses DIR/s3-10.wav and DIR/s3-60.wav from an earlier run (made by gen-audio.sh).
    for m in 10 60; do
        if [ -n "${S3T_BENCH_AUDIO:-}" ] && [ -f "$S3T_BENCH_AUDIO/s3-$m.wav" ]; then
            ln -s "$S3T_BENCH_AUDIO/s3-$m.wav" "$work/s3-$m.wav"
        else
            echo "generating $m min of 44.1 kHz stereo music-like audio (60 takes a few minutes)..." >&2
            bash Scripts/gen-audio.sh "$work/s3-$m.wav" $((m * 60)) 44100 2
        fi
    done

    # once_ours WAV ARGS...: one s3transcode run; prints "seconds peak_kib cpu_seconds".
    once_ours() {
        local wav=$1; shift
        /usr/bin/time -f '%e %M %U %S' -o "$work/us.time" "$bin" "$wav" "s3://bench/us-$RANDOM$RANDOM.mp3" --bitrate 192 --quiet "$@"
        tail -n1 "$work/us.time" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
    }
    # once_pipe WAV: one pipeline run; prints "seconds peak_sum_kib peak_ffmpeg_kib peak_aws_kib cpu_seconds".
    once_pipe() {
        local start end f a
        start=$(date +%s.%N)
        /usr/bin/time -f '%M %U %S' -o "$work/ff.rss" ffmpeg -nostdin -v error -i "$1" -c:a libmp3lame -b:a 192k -f mp3 - |
            /usr/bin/time -f '%M %U %S' -o "$work/aws.rss" aws s3 cp --quiet - "s3://bench/pipe-$RANDOM$RANDOM.mp3"
        end=$(date +%s.%N)
        read -r f fu fs < <(tail -n1 "$work/ff.rss")
        read -r a au as < <(tail -n1 "$work/aws.rss")
        awk -v s="$start" -v e="$end" -v f="$f" -v a="$a" -v c="$fu $fs $au $as" \
            'BEGIN { split(c, x, " "); printf "%.2f %d %d %d %.2f\n", e - s, f + a, f, a, x[1] + x[2] + x[3] + x[4] }'
    }
    median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
    maximum() { printf '%s\n' "$@" | sort -n | tail -n1; }

    read -r _ idle < <(measure "$bin --version")
    echo
    echo "One WAV to S3 (local moto), 44.1 kHz stereo, CBR 192, median of ${reps} runs (ratios to ffmpeg | aws s3 cp -)"
    echo "Runs alternate (ours, the pipeline, ours, ...) on a fresh moto per pair, so both see the same machine load."
    echo "| command                            |   wall s |   ×pipe | RSS MiB |   ×pipe |"
    echo "|------------------------------------|----------|---------|---------|---------|"
    declare -A ours_t ours_r pipe_t pipe_r
    local cpu_notes=()
    local ts rs pts prs pfs pas t r pt pr pf pa c pc cs pcs
    for m in 10 60; do
        ts=() rs=() pts=() prs=() pfs=() pas=() cs=() pcs=()
        for _ in $(seq "$reps"); do
            bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
            start_s3
            read -r t r c < <(once_ours "$work/s3-$m.wav")
            read -r pt pr pf pa pc < <(once_pipe "$work/s3-$m.wav")
            ts+=("$t") rs+=("$r") pts+=("$pt") prs+=("$pr") pfs+=("$pf") pas+=("$pa") cs+=("$c") pcs+=("$pc")
        done
        ours_t[$m]=$(median "${ts[@]}") ours_r[$m]=$(maximum "${rs[@]}")
        pipe_t[$m]=$(median "${pts[@]}") pipe_r[$m]=$(maximum "${prs[@]}")
        row "s3transcode, $m min" "${ours_t[$m]}" "${ours_r[$m]}" "${pipe_t[$m]}" "${pipe_r[$m]}"
        row "ffmpeg | aws s3 cp -, $m min (sum)" "${pipe_t[$m]}" "${pipe_r[$m]}" "${pipe_t[$m]}" "${pipe_r[$m]}"
        row "  of which ffmpeg" "0" "$(maximum "${pfs[@]}")" "${pipe_t[$m]}" "${pipe_r[$m]}"
        row "  of which aws s3 cp -" "0" "$(maximum "${pas[@]}")" "${pipe_t[$m]}" "${pipe_r[$m]}"
        cpu_notes+=("$m min: CPU seconds (user+sys, median): s3transcode $(median "${cs[@]}"), ffmpeg + aws $(median "${pcs[@]}")")
    done
    ts=() rs=()
    for _ in $(seq "$reps"); do
        bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
        start_s3
        read -r t r _ < <(once_ours "$work/s3-60.wav" --max-memory 10M)
        ts+=("$t") rs+=("$r")
    done
    mt=$(median "${ts[@]}") mr=$(maximum "${rs[@]}")
    row "s3transcode --max-memory 10M, 60 min" "$mt" "$mr" "${pipe_t[60]}" "${pipe_r[60]}"
    row "s3transcode --version (idle)" "0" "$idle" "${pipe_t[60]}" "${pipe_r[60]}"
    bash Scripts/s3-server.sh stop >/dev/null

    # Wall time on a shared, loaded machine is noisy; CPU time says whether the work itself differs.
    printf '%s\n' "${cpu_notes[@]}"
    for m in 10 60; do
        awk -v m="$m" -v t="${ours_t[$m]}" -v pt="${pipe_t[$m]}" -v r="${ours_r[$m]}" -v pr="${pipe_r[$m]}" 'BEGIN {
            printf "%s min: wall %.2fx the pipeline (target <= 0.97) %s; peak %.1f MiB (target <= 64) %s, %.2fx the pipeline sum (target <= 0.5) %s\n",
                m, t/pt, (t/pt <= 0.97 ? "ok" : "MISSED"), r/1024, (r/1024 <= 64 ? "ok" : "MISSED"), r/pr, (r/pr <= 0.5 ? "ok" : "MISSED") }'
    done
    awk -v a="${ours_r[10]}" -v b="${ours_r[60]}" 'BEGIN {
        d = (b - a) / 1024; printf "flat memory: 60 min peak - 10 min peak = %+.1f MiB (target within 2) %s\n", d, (d <= 2 && d >= -2 ? "ok" : "MISSED") }'
    awk -v i="$idle" -v r="$mr" 'BEGIN {
        l = i/1024 + 10 + 8; printf "--max-memory 10M: peak %.1f MiB, limit idle %.1f + 10 + 8 = %.1f MiB %s\n", r/1024, i/1024, l, (r/1024 <= l ? "ok" : "MISSED") }'
}

# ---------------------------------------------------------------------------------------------
# The portable release binary (Scripts/build-release.sh, issue 11) beside the development build
# (Debian's shared FFmpeg and curl, `swift build -c release --static-swift-stdlib`): shared
# libraries loaded, stripped size, idle RSS, `--version` wall, peak RSS of a 10 and a 60 minute
# WAV to S3 (local moto), encode speed of a local file, and 40 three-second WAVs, one process each.
bench_portable() {
    local dev portable=$bin
    # shellcheck disable=SC2086
    swift build ${SWIFT_BUILD_FLAGS:-} -c release --static-swift-stdlib --product s3transcode >&2
    # shellcheck disable=SC2086
    dev="$(swift build ${SWIFT_BUILD_FLAGS:-} -c release --static-swift-stdlib --show-bin-path)/s3transcode"
    strip -o "$work/dev-stripped" "$dev"
    median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
    # loaded BINARY: the shared objects the loader maps (ldd: the binary's whole dependency tree).
    loaded() { ldd "$1" | grep -c -E '=> /|ld-linux'; }
    # startup BINARY: milliseconds per `--version`, the median of 5 loops of 20.
    startup() {
        local runs=() start end
        for _ in 1 2 3 4 5; do
            start=$(date +%s%N)
            for _ in $(seq 20); do "$1" --version >/dev/null; done
            end=$(date +%s%N)
            runs+=("$(( (end - start) / 20000 ))")
        done
        awk -v us="$(median "${runs[@]}")" 'BEGIN { printf "%.1f", us / 1000 }'
    }
    # s3peak BINARY WAV: the largest peak RSS (KiB) of $reps runs to S3, each on a fresh moto.
    s3peak() {
        local peak=0 r
        for _ in $(seq "$reps"); do
            bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
            start_s3
            /usr/bin/time -f '%M' -o "$work/p.time" "$1" "$2" "s3://bench/p-$RANDOM.mp3" --bitrate 192 --quiet
            r=$(tail -n1 "$work/p.time")
            [ "$r" -gt "$peak" ] && peak=$r
        done
        echo "$peak"
    }
    export S3T_SERVER_DIR=$work/s3-server
    trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
    for m in 10 60; do
        if [ -n "${S3T_BENCH_AUDIO:-}" ] && [ -f "$S3T_BENCH_AUDIO/s3-$m.wav" ]; then
            ln -sf "$S3T_BENCH_AUDIO/s3-$m.wav" "$work/s3-$m.wav"
        else
            echo "generating $m min of 44.1 kHz stereo music-like audio (60 takes a few minutes)..." >&2
            bash Scripts/gen-audio.sh "$work/s3-$m.wav" $((m * 60)) 44100 2
        fi
    done
    mkdir -p "$work/short"
    bash Scripts/gen-audio.sh "$work/short/0.wav" 3 44100 2
    for i in $(seq 1 39); do cp "$work/short/0.wav" "$work/short/$i.wav"; done

    local dl pl ds ps dr pr dv pv d10 p10 d60 p60 de pe dloop ploop
    dl=$(loaded "$dev") pl=$(loaded "$portable")
    ds=$(stat -c %s "$work/dev-stripped") ps=$(stat -c %s "$portable")
    read -r _ dr < <(measure "$dev --version")
    read -r _ pr < <(measure "$portable --version")
    dv=$(startup "$dev") pv=$(startup "$portable")
    d10=$(s3peak "$dev" "$work/s3-10.wav") p10=$(s3peak "$portable" "$work/s3-10.wav")
    d60=$(s3peak "$dev" "$work/s3-60.wav") p60=$(s3peak "$portable" "$work/s3-60.wav")
    bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
    read -r de _ < <(measure "$dev $work/s3-10.wav $work/dev.mp3 --bitrate 192 --quiet")
    read -r pe _ < <(measure "$portable $work/s3-10.wav $work/portable.mp3 --bitrate 192 --quiet")
    read -r dloop _ < <(measure "for f in $work/short/*.wav; do $dev \$f $work/short.mp3 --quiet; done")
    read -r ploop _ < <(measure "for f in $work/short/*.wav; do $portable \$f $work/short.mp3 --quiet; done")

    echo
    echo "The portable release binary beside the development build (median of ${reps} runs; peaks: the largest)"
    echo "| measure                                   | dev build | portable | target |"
    echo "|-------------------------------------------|-----------|----------|--------|"
    printf '| %-41s | %9s | %8s | %-6s |\n' "shared libraries loaded (ldd)" "$dl" "$pl" "libc"
    awk -v d="$ds" -v p="$ps" 'BEGIN { printf "| %-41s | %9.1f | %8.1f | %-6s |\n", "binary size, stripped, MB", d/1e6, p/1e6, "<= 20" }'
    awk -v d="$dr" -v p="$pr" 'BEGIN { printf "| %-41s | %9.1f | %8.1f | %-6s |\n", "idle RSS (--version), MiB", d/1024, p/1024, "<= 12" }'
    printf '| %-41s | %9s | %8s | %-6s |\n' "--version wall, ms" "$dv" "$pv" "<= 5"
    awk -v d="$d10" -v p="$p10" 'BEGIN { printf "| %-41s | %9.1f | %8.1f | %-6s |\n", "10-min WAV to S3, peak RSS, MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$d60" -v p="$p60" 'BEGIN { printf "| %-41s | %9.1f | %8.1f | %-6s |\n", "60-min WAV to S3, peak RSS, MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$de" -v p="$pe" 'BEGIN { printf "| %-41s | %9.2f | %8.2f | %-6s |\n", "encode speed vs dev (10-min file, CBR 192)", 1, d/p, ">= 0.98" }'
    awk -v d="$dloop" -v p="$ploop" 'BEGIN { printf "| %-41s | %9.2f | %8.2f | %-6s |\n", "40 x 3 s WAVs, one process each, speed", 1, d/p, ">= 1.5" }'
    echo "(encode: dev ${de} s, portable ${pe} s; loop: dev ${dloop} s, portable ${ploop} s)"
}

case $only in
    "") bench_file; bench_batch; bench_s3 ;;
    file) bench_file ;;
    batch) bench_batch ;;
    s3) bench_s3 ;;
    portable) bench_portable ;;
    *) echo "bench.sh: --only $only: use file, batch, s3 or portable" >&2; exit 64 ;;
esac
