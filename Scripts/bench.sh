#!/usr/bin/env bash
# Benchmarks s3transcode side by side with the tools people would otherwise use, in one run,
# and prints the figures as ratios (this machine is shared and noisy: compare within a run).
#
# Usage: Scripts/bench.sh [--reps N] [--minutes M] [--only file|batch|s3|portable|parallel]
#   wall time: the median of N runs (default 3); peak RSS: the largest of them (GNU time's %M).
#   --only runs one section: the local-file rows (--minutes long, default 10), the batch-to-S3 rows
#   or the S3 rows (10 and 60 minute WAVs to a local moto server, --max-memory 10M, idle RSS). By
#   default all three.
#   --only portable: the portable release binary beside the development build (issue 11's table);
#   not part of the default run (it builds the development release binary as well).
#   --only parallel: segment-parallel encoding (issue 13's table): one WAV (--minutes long, default
#   60) with --threads 1, 2 and 4, to S3 against ffmpeg | aws s3 cp -, and Scripts/check-joins.py on
#   the --threads 2 output; not part of the default run (the machine is shared: it takes a while).
# SWIFT_BUILD_FLAGS (for example "--scratch-path .build-mine") is passed to the swift commands.
# S3T_BENCH_BIN=PATH benchmarks that binary instead of building the release one (build-release.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 minutes="" only=""
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "bench.sh: unknown option $1 (use --reps N, --minutes M, --only file|batch|s3|portable|parallel)" >&2; exit 64 ;;
    esac
done

bash Scripts/setup.sh >/dev/null
bin=${S3T_BENCH_BIN:-$(bash Scripts/build-release.sh 2>/dev/null)}
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

median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
maximum() { printf '%s\n' "$@" | sort -n | tail -n1; }

# once_ours WAV ARGS...: one s3transcode run into the local moto (start_s3); prints "seconds peak_kib cpu_seconds".
once_ours() {
    local wav=$1; shift
    /usr/bin/time -f '%e %M %U %S' -o "$work/us.time" "$bin" "$wav" "s3://bench/us-$RANDOM$RANDOM.mp3" --bitrate 192 --quiet "$@"
    tail -n1 "$work/us.time" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}
# once_pipe WAV: one `ffmpeg | aws s3 cp -` run into the local moto; prints
# "seconds peak_sum_kib peak_ffmpeg_kib peak_aws_kib cpu_seconds".
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

# The S3 benches' setup: moto's state under $work (stopped on exit), and $work/s3-10.wav and
# $work/s3-60.wav. S3T_BENCH_AUDIO=DIR reuses DIR/s3-10.wav and DIR/s3-60.wav from an earlier run
# (made by gen-audio.sh).
s3_audio() {
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
}

bench_file() {
local minutes=${minutes:-10}
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
    s3_audio

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
    # s3peak BINARY WAV [ARGS...]
    s3peak() {
        local peak=0 r binary=$1 wav=$2
        shift 2
        for _ in $(seq "$reps"); do
            bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
            start_s3
            /usr/bin/time -f '%M' -o "$work/p.time" "$binary" "$wav" "s3://bench/p-$RANDOM.mp3" --bitrate 192 --quiet "$@"
            r=$(tail -n1 "$work/p.time")
            [ "$r" -gt "$peak" ] && peak=$r
        done
        echo "$peak"
    }
    s3_audio
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
    # The serial encode (issue 11's target was set before --threads; transcode's default is now the
    # processors it may use, each holding a segment of audio).
    local d10s p10s d60s p60s
    d10s=$(s3peak "$dev" "$work/s3-10.wav" --threads 1) p10s=$(s3peak "$portable" "$work/s3-10.wav" --threads 1)
    d60s=$(s3peak "$dev" "$work/s3-60.wav" --threads 1) p60s=$(s3peak "$portable" "$work/s3-60.wav" --threads 1)
    bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
    read -r de _ < <(measure "$dev $work/s3-10.wav $work/dev.mp3 --bitrate 192 --quiet")
    read -r pe _ < <(measure "$portable $work/s3-10.wav $work/portable.mp3 --bitrate 192 --quiet")
    read -r dloop _ < <(measure "for f in $work/short/*.wav; do $dev \$f $work/short.mp3 --quiet; done")
    read -r ploop _ < <(measure "for f in $work/short/*.wav; do $portable \$f $work/short.mp3 --quiet; done")

    echo
    echo "The portable release binary beside the development build (median of ${reps} runs; peaks: the largest)"
    echo "| measure                                     | dev build | portable | target |"
    echo "|---------------------------------------------|-----------|----------|--------|"
    printf '| %-43s | %9s | %8s | %-6s |\n' "shared libraries loaded (ldd)" "$dl" "$pl" "libc"
    awk -v d="$ds" -v p="$ps" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "binary size, stripped, MB", d/1e6, p/1e6, "<= 20" }'
    awk -v d="$dr" -v p="$pr" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "idle RSS (--version), MiB", d/1024, p/1024, "<= 12" }'
    printf '| %-43s | %9s | %8s | %-6s |\n' "--version wall, ms" "$dv" "$pv" "<= 5"
    awk -v d="$d10" -v p="$p10" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "10-min WAV to S3, default threads, peak MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$d60" -v p="$p60" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "60-min WAV to S3, default threads, peak MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$d10s" -v p="$p10s" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "10-min WAV to S3, --threads 1, peak MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$d60s" -v p="$p60s" 'BEGIN { printf "| %-43s | %9.1f | %8.1f | %-6s |\n", "60-min WAV to S3, --threads 1, peak MiB", d/1024, p/1024, "<= 32" }'
    awk -v d="$de" -v p="$pe" 'BEGIN { printf "| %-43s | %9.2f | %8.2f | %-6s |\n", "encode speed vs dev (10-min file, CBR 192)", 1, d/p, ">= 0.98" }'
    awk -v d="$dloop" -v p="$ploop" 'BEGIN { printf "| %-43s | %9.2f | %8.2f | %-6s |\n", "40 x 3 s WAVs, one process each, speed", 1, d/p, ">= 1.5" }'
    echo "(encode: dev ${de} s, portable ${pe} s; loop: dev ${dloop} s, portable ${ploop} s)"
}

# ---------------------------------------------------------------------------------------------
# Segment-parallel encoding (issue 13): one WAV, 44.1 kHz stereo music-like audio, --minutes long
# (default 60), CBR 192.
#   To a local file with --threads 1, 2 and 4, median of $reps runs each, with CPU seconds (user +
#   sys): the CPU a run spends beyond --threads 1's is the parallel encode's overhead, from which
#   the scaling on more cores is projected (target: --threads 2 >= 1.7x faster than --threads 1).
#   To S3 (local moto, fresh per pair, runs alternating): --threads 2 versus
#   `ffmpeg … -f mp3 - | aws s3 cp -` (target: >= 1.6x faster).
#   Scripts/check-joins.py on the --threads 2 file against the --threads 1 file: PASS or FAIL, the
#   worst SNR difference at a join and over the whole file, and how long the check took.
bench_parallel() {
    local m=${minutes:-60} wav=$work/parallel.wav
    export S3T_SERVER_DIR=$work/s3-server
    trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
    if [ -n "${S3T_BENCH_AUDIO:-}" ] && [ -f "$S3T_BENCH_AUDIO/s3-$m.wav" ]; then
        ln -s "$S3T_BENCH_AUDIO/s3-$m.wav" "$wav"
    else
        echo "generating $m min of 44.1 kHz stereo music-like audio (60 takes a few minutes)..." >&2
        bash Scripts/gen-audio.sh "$wav" $((m * 60)) 44100 2
    fi

    # once_local THREADS: one run to a local file; prints "seconds peak_kib cpu_seconds".
    once_local() {
        /usr/bin/time -f '%e %M %U %S' -o "$work/local.time" "$bin" "$wav" "$work/threads$1.mp3" --bitrate 192 --threads "$1" --quiet
        tail -n1 "$work/local.time" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
    }
    declare -A wall rss cpu
    local n ts rs cs t r c
    for n in 1 2 4; do
        ts=() rs=() cs=()
        for _ in $(seq "$reps"); do
            read -r t r c < <(once_local "$n")
            ts+=("$t") rs+=("$r") cs+=("$c")
        done
        wall[$n]=$(median "${ts[@]}") rss[$n]=$(maximum "${rs[@]}") cpu[$n]=$(median "${cs[@]}")
    done
    echo
    echo "One ${m}-minute WAV to a local file, 44.1 kHz stereo, CBR 192, median of ${reps} runs (ratios to --threads 1)"
    echo "| command                            |   wall s | ×thr. 1 | RSS MiB | ×thr. 1 |"
    echo "|------------------------------------|----------|---------|---------|---------|"
    for n in 1 2 4; do row "s3transcode --threads $n" "${wall[$n]}" "${rss[$n]}" "${wall[1]}" "${rss[1]}"; done
    for n in 2 4; do
        awk -v n="$n" -v t1="${wall[1]}" -v t="${wall[$n]}" -v c1="${cpu[1]}" -v c="${cpu[$n]}" -v cores="$(nproc)" 'BEGIN {
            printf "--threads %d: %.2fx the speed of --threads 1%s; CPU %.2f s vs %.2f s (%+.0f%%)\n", n, t1/t,
                (n == 2 ? sprintf(" (target 1.7) %s", (t1/t >= 1.7 ? "ok" : "MISSED")) : ""), c, c1, 100 * (c/c1 - 1) }'
    done
    # With the parallel overhead of --threads 2 (its CPU over --threads 1's), N free cores would give
    # about N / overhead (the reader and the joiner are assumed not to become the bottleneck).
    awk -v c1="${cpu[1]}" -v c2="${cpu[2]}" -v cores="$(nproc)" 'BEGIN {
        o = c2 / c1; printf "projected speed-up with N free cores (N / CPU overhead %.2f; this machine has %d): 2: %.1fx, 4: %.1fx, 6: %.1fx, 8: %.1fx\n", o, cores, 2/o, 4/o, 6/o, 8/o }'

    local ts2=() rs2=() pts=() prs=() pt pr pa pf pc
    ts=() rs=()
    for _ in $(seq "$reps"); do
        bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
        start_s3
        read -r t r _ < <(once_ours "$wav" --threads 2)
        read -r pt pr pf pa pc < <(once_pipe "$wav")
        ts+=("$t") rs+=("$r") pts+=("$pt") prs+=("$pr")
    done
    bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
    local st sr pipet piper
    st=$(median "${ts[@]}") sr=$(maximum "${rs[@]}") pipet=$(median "${pts[@]}") piper=$(maximum "${prs[@]}")
    echo
    echo "The same WAV to S3 (local moto), CBR 192, median of ${reps} runs, alternating on a fresh moto per pair (ratios to the pipeline)"
    echo "| command                            |   wall s |   ×pipe | RSS MiB |   ×pipe |"
    echo "|------------------------------------|----------|---------|---------|---------|"
    row "s3transcode --threads 2" "$st" "$sr" "$pipet" "$piper"
    row "ffmpeg | aws s3 cp - (sum)" "$pipet" "$piper" "$pipet" "$piper"
    awk -v t="$st" -v p="$pipet" 'BEGIN { printf "to S3: --threads 2 has %.2fx the speed of ffmpeg | aws s3 cp - (target 1.6) %s\n", p/t, (p/t >= 1.6 ? "ok" : "MISSED") }'

    # The check: the --threads 2 stream against the --threads 1 stream (both still in $work from the
    # last local runs) and the source, at the joins the -v line names.
    local joins start end verdict
    joins=$("$bin" "$wav" "$work/threads2.mp3" --bitrate 192 --threads 2 -v 2>&1 >/dev/null | grep '^parallel: ' || true)
    start=$(date +%s.%N)
    python3 Scripts/check-joins.py --source "$wav" --serial "$work/threads1.mp3" --parallel "$work/threads2.mp3" \
        --joins "${joins:-none}" --json >"$work/check.json" || true
    end=$(date +%s.%N)
    verdict=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
failed = [c["check"] for c in r["checks"] if not c["pass"]]
print("%s | %d | %.3f | %+.3f | %s" % ("PASS" if r["pass"] else "FAIL", len(r.get("joins", [])), r.get("worstJoinDeltaDb", 0),
      r.get("wholeFile", {}).get("deltaDb", 0), ", ".join(failed) or "-"))' "$work/check.json") ||
        verdict="FAIL | - | - | - | the checker printed no verdict"
    echo
    echo "Scripts/check-joins.py on the --threads 2 file against --threads 1 (${m} min)"
    echo "| verdict | joins | worst join abs(dSNR) dB | whole-file dSNR dB | failed checks | check wall s |"
    echo "|---------|-------|-------------------------|--------------------|---------------|--------------|"
    awk -v v="$verdict" -v s="$start" -v e="$end" 'BEGIN { printf "| %s | %.1f |\n", v, e - s }'
}

case $only in
    "") bench_file; bench_batch; bench_s3 ;;
    file) bench_file ;;
    batch) bench_batch ;;
    s3) bench_s3 ;;
    portable) bench_portable ;;
    parallel) bench_parallel ;;
    *) echo "bench.sh: --only $only: use file, batch, s3, portable or parallel" >&2; exit 64 ;;
esac
