#!/usr/bin/env bash
# Writes music-like test audio (not silence, not a pure tone): a slowly changing chord with
# harmonics, vibrato and a tremolo, over quiet pink noise.
# Usage: Scripts/gen-audio.sh OUT.wav SECONDS [RATE] [CHANNELS] [SAMPLE_FORMAT]
set -euo pipefail
out=$1 seconds=$2 rate=${3:-44100} channels=${4:-2} fmt=${5:-pcm_s16le}
tone='0.22*sin(2*PI*(220+55*floor(mod(t,8)/2))*t)*(0.7+0.3*sin(2*PI*0.7*t))
     +0.16*sin(2*PI*330*t+3*sin(2*PI*5*t)/5)+0.10*sin(2*PI*440.5*t)*(0.5+0.5*sin(2*PI*0.25*t))
     +0.06*sin(2*PI*1320*t)*exp(-3*mod(t,0.5))'
tone=$(echo $tone | tr -d ' ' | sed 's/,/\\,/g')  # commas escaped for the filter graph
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "aevalsrc=${tone}|${tone//330/331}:s=${rate}:d=${seconds}" \
    -f lavfi -i "anoisesrc=color=pink:amplitude=0.05:r=${rate}:d=${seconds}:seed=7" \
    -filter_complex "[1]aformat=channel_layouts=stereo[n];[0][n]amix=inputs=2:normalize=0" \
    -ac "$channels" -c:a "$fmt" "$out"
