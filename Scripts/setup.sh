#!/usr/bin/env bash
# Installs everything s3transcode, its tests, demo and benchmark use, on Debian 12 as root.
# Idempotent: installs only what is missing, and says what it did.
set -euo pipefail

APT_PACKAGES=(
    # build: the FFmpeg libraries, libmp3lame, libcurl, zlib, expat, OpenSSL's libcrypto (SHA-256,
    # MD5, HMAC), found by pkg-config
    pkg-config libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libmp3lame-dev
    libcurl4-openssl-dev zlib1g-dev libexpat1-dev libssl-dev ca-certificates
    # release build (Scripts/build-release.sh): FFmpeg's and curl's Debian sources, built static
    dpkg-dev nasm autoconf automake libtool make
    # tests and benchmark: reference decoders and encoders, tracing, timing
    ffmpeg lame mpg123 strace time curl python3 python3-pip
)
PIP_PACKAGES=("moto[server]" "awscli")

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

# LocalStack's S3, the tests' second, independent S3 implementation (Scripts/s3-server.sh), in a
# virtualenv of its own outside the repository: it needs Python 3.13 (its code imports
# `warnings.deprecated`), which pyenv provides here, and, at the time of writing, these pins.
LOCALSTACK_VENV="${S3T_LOCALSTACK_VENV:-/var/cache/s3transcode/localstack-venv}"
LOCALSTACK_PACKAGES=("localstack-core[runtime]==2026.3.0" "cbor2<6" "pyopenssl<25" "cryptography<45")
if ! "$LOCALSTACK_VENV/bin/python" -c 'import localstack.runtime.main, rolo, hypercorn' 2>/dev/null; then
    python313=""
    for candidate in python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13; do
        if command -v "$candidate" >/dev/null 2>&1; then python313="$(command -v "$candidate")"; break; fi
    done
    [ -n "$python313" ] || { echo "setup: LocalStack needs Python 3.13 and none was found (pyenv versions, python3.13 on PATH)" >&2; exit 1; }
    echo "setup: installing LocalStack's S3 (${LOCALSTACK_PACKAGES[*]}) into $LOCALSTACK_VENV with $python313"
    rm -rf "$LOCALSTACK_VENV"
    mkdir -p "$(dirname "$LOCALSTACK_VENV")"
    "$python313" -m venv "$LOCALSTACK_VENV"
    "$LOCALSTACK_VENV/bin/pip" install -q "${LOCALSTACK_PACKAGES[@]}"
fi
echo "setup: ready ($(swift --version 2>/dev/null | head -n1); FFmpeg libavformat $(pkg-config --modversion libavformat); curl $(pkg-config --modversion libcurl))"
