#!/usr/bin/env bash
# Installs everything s3transcode, its tests, demo and benchmark use, on Debian 12 as root.
# Idempotent: installs only what is missing, and says what it did.
set -euo pipefail

APT_PACKAGES=(
    # build: the FFmpeg libraries, libmp3lame, libcurl, zlib, found by pkg-config
    pkg-config libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libmp3lame-dev
    libcurl4-openssl-dev zlib1g-dev ca-certificates
    # tests and benchmark: reference decoders and encoders, tracing, timing
    ffmpeg lame strace time curl python3 python3-pip
)
PIP_PACKAGES=("moto[server]" "awscli")

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "setup: Debian packages already installed"
fi

pip_install() {
    python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
python3 -c 'import moto.server, werkzeug, flask_cors' 2>/dev/null || { echo "setup: installing moto[server] from PyPI"; pip_install "moto[server]"; }
command -v aws >/dev/null 2>&1 || { echo "setup: installing awscli from PyPI"; pip_install awscli; }
# botocore (awscli v1 brings it; a standalone AWS CLI v2 does not): the AWSConfig tests compute
# their expected values with it.
python3 -c 'import botocore' 2>/dev/null || { echo "setup: installing botocore from PyPI"; pip_install botocore; }
echo "setup: ready ($(swift --version 2>/dev/null | head -n1); FFmpeg libavformat $(pkg-config --modversion libavformat); curl $(pkg-config --modversion libcurl))"
