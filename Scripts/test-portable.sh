#!/usr/bin/env bash
# Tests the portable binary (Scripts/build-release.sh) in an empty root: a chroot holding only the
# binary, the C library's own files (found by ldd), /proc and, for the TLS cases, one CA bundle at
# one distribution's path. Needs root (chroot), a SigV4-checking moto from Scripts/s3-server.sh
# (S3T_TEST_ENDPOINT …, as Scripts/test.sh exports them), openssl, python3, the aws CLI.
#
#   Scripts/test-portable.sh BINARY
#
# Checks: the binary needs only libc's files and no glibc symbol newer than 2.34; in the chroot:
# --version; a WAV to MP3 into moto over HTTP; over HTTPS (a TLS-terminating proxy in front of
# moto, with a CA made here) with the bundle at the Amazon Linux path, then the Debian path, then
# named by SSL_CERT_FILE; and the one-line error (exit 78) when there is no bundle at all.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:?usage: Scripts/test-portable.sh BINARY}"
: "${S3T_TEST_ENDPOINT:?start the servers first: eval \"\$(Scripts/s3-server.sh env)\"}"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "portable: ok   $*"; }
fail() { failed=$((failed + 1)); echo "portable: FAIL $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/s3t-portable.XXXXXX")
proxy_pid=""
cleanup() {
    [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true
    if mountpoint -q "$work/root/proc"; then umount "$work/root/proc"; fi
    rm -rf "$work"
}
trap cleanup EXIT

# --- The binary's own needs ---------------------------------------------------------------------
libs=$(ldd "$binary" | awk '{ print $1 }' | sort | tr '\n' ' ')
others=$(tr ' ' '\n' <<<"$libs" | grep -v -E '^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1)?$' || true)
if [ -z "$others" ]; then pass "ldd lists only the C library: $libs"; else fail "ldd lists more than the C library: $others"; fi
newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1)
if [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n1)" = GLIBC_2.34 ]; then
    pass "newest glibc symbol version: $newest (<= GLIBC_2.34)"
else
    fail "needs $newest: $(objdump -T "$binary" | grep "$newest" | awk '{ print $NF }' | tr '\n' ' ')"
fi

# No library search path of its own: with SwiftPM's RUNPATH $ORIGIN the loader would take a
# libc.so.6 lying beside the binary. One that is not even a library must not stop it.
beside="$work/beside"
mkdir -p "$beside"
cp "$binary" "$beside/s3transcode"
echo "not a library" >"$beside/libc.so.6"
if objdump -p "$binary" | grep -qE '^ *(RPATH|RUNPATH) '; then
    fail "the binary has a search path of its own: $(objdump -p "$binary" | grep -E '^ *(RPATH|RUNPATH) ' | tr -s ' ')"
elif ! out=$("$beside/s3transcode" --version 2>&1); then
    fail "a file named libc.so.6 beside the binary stopped it: $out"
else
    pass "no RPATH/RUNPATH: a libc.so.6 beside the binary is not loaded ($out)"
fi

# --- The empty root -----------------------------------------------------------------------------
root="$work/root"
mkdir -p "$root/tmp"
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
cp "$binary" "$root/s3transcode"
# /proc, as every container runtime and Lambda mount it (the Swift runtime reads the arguments
# there: without it the binary sees none).
mkdir -p "$root/proc"
mount --bind /proc "$root/proc"
echo "portable: the root holds $(cd "$root" && find . -path ./proc -prune -o -type f -print | sort | tr '\n' ' ') and /proc"
chroot=$(command -v chroot)
# A run that hangs (a spin in the C library layer, as hypot once did) fails instead of blocking CI.
inroot() { timeout 120 "$chroot" "$root" /s3transcode "$@"; }

expected="$("$binary" --version)"
if out=$(inroot --version 2>&1) && [ "$out" = "$expected" ]; then pass "--version in the empty root: $out"; else fail "--version: $out"; fi
# ArgumentParser runs on a stand-in for FoundationEssentials here (Scripts/release/FoundationStandIn.swift):
# its one JSON output, and an error it describes, must come out as in the development build.
if out=$(inroot --experimental-dump-help 2>&1) &&
    python3 -c 'import json, sys; d = json.load(sys.stdin)["command"]; assert d["commandName"] == "s3transcode" and len(d["subcommands"]) >= 6' <<<"$out"; then
    pass "--experimental-dump-help is JSON naming every command"
else
    fail "--experimental-dump-help: $(head -c 300 <<<"$out")"
fi
if out=$(inroot probe /tmp/in.wav --bogus-option 2>&1); status=$? && [ "$status" = 64 ] && grep -q "Unknown option '--bogus-option'" <<<"$out"; then
    pass "an unknown option: exit 64, ArgumentParser's message"
else
    fail "an unknown option: exit $status: $out"
fi

# A 3 s stereo WAV, made by ffmpeg outside the root.
ffmpeg -v error -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -ar 44100 "$root/tmp/in.wav"

# Every input the README lists decodes in the root (made from in.wav by Debian's ffmpeg, outside).
formats=(
    "wav-s16:wav:-c:a pcm_s16le" "wav-s24:wav:-c:a pcm_s24le" "wav-s32:wav:-c:a pcm_s32le" "wav-u8:wav:-c:a pcm_u8"
    "wav-f32:wav:-c:a pcm_f32le" "wav-f64:wav:-c:a pcm_f64le" "wav-alaw:wav:-c:a pcm_alaw" "wav-mulaw:wav:-c:a pcm_mulaw"
    "wav-ima-adpcm:wav:-c:a adpcm_ima_wav" "wav-ms-adpcm:wav:-c:a adpcm_ms" "rf64:wav:-c:a pcm_s16le -rf64 always"
    "w64:w64:-c:a pcm_s24le" "aiff:aiff:-c:a pcm_s16be" "aifc:aiff:-c:a pcm_f32be" "caf:caf:-c:a pcm_s16le"
    "flac:flac:-c:a flac" "mp3:mp3:-c:a libmp3lame" "ogg-vorbis:ogg:-c:a libvorbis" "ogg-opus:ogg:-c:a libopus"
    "ogg-flac:ogg:-c:a flac" "m4a-alac:mp4:-c:a alac" "m4a-aac:mp4:-c:a aac" "aac-adts:adts:-c:a aac"
    "wavpack:wv:-c:a wavpack"
)
for entry in "${formats[@]}"; do
    IFS=: read -r label muxer codec <<<"$entry"
    # shellcheck disable=SC2086
    ffmpeg -v error -y -i "$root/tmp/in.wav" $codec -f "$muxer" "$root/tmp/in.$label"
    if out=$(inroot "/tmp/in.$label" "/tmp/out-$label.mp3" --quiet 2>&1) && [ -s "$root/tmp/out-$label.mp3" ]; then
        pass "decodes $label ($codec, $muxer)"
    else
        fail "$label ($codec, $muxer): $out"
    fi
    rm -f "$root/tmp/in.$label" "$root/tmp/out-$label.mp3"
done
# RIFX (big-endian WAV), which ffmpeg does not write: 1 s of a 16-bit stereo sine.
python3 - "$root/tmp/in.rifx" <<'EOF'
import math, struct, sys
rate, frames = 44100, 44100
data = b"".join(struct.pack(">hh", *(2 * [int(12000 * math.sin(2 * math.pi * 440 * i / rate))])) for i in range(frames))
fmt = struct.pack(">HHIIHH", 1, 2, rate, rate * 4, 4, 16)
body = b"WAVE" + b"fmt " + struct.pack(">I", len(fmt)) + fmt + b"data" + struct.pack(">I", len(data)) + data
open(sys.argv[1], "wb").write(b"RIFX" + struct.pack(">I", len(body)) + body)
EOF
if out=$(inroot /tmp/in.rifx /tmp/out-rifx.mp3 --quiet 2>&1) && [ -s "$root/tmp/out-rifx.mp3" ]; then pass "decodes rifx (16-bit)"; else fail "rifx: $out"; fi
rm -f "$root/tmp/in.rifx" "$root/tmp/out-rifx.mp3"

export AWS_ACCESS_KEY_ID="$S3T_TEST_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$S3T_TEST_SECRET_ACCESS_KEY"
export AWS_REGION="${S3T_TEST_REGION:-us-east-1}" AWS_DEFAULT_REGION="${S3T_TEST_REGION:-us-east-1}"
bucket="portable-$$-$RANDOM"
aws --endpoint-url "$S3T_TEST_ENDPOINT" s3api create-bucket --bucket "$bucket" >/dev/null
# Uploads in the root, then checks the object's size and that it is MP3 (an MPEG frame or ID3).
upload() {
    local name=$1 endpoint=$2 key=$3 out status
    shift 3
    set +e
    out=$(env -i PATH=/ AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
        AWS_REGION="$AWS_REGION" "$@" "$chroot" "$root" /s3transcode /tmp/in.wav "s3://$bucket/$key" --endpoint-url "$endpoint" 2>&1)
    status=$?
    set -e
    if [ $status -ne 0 ]; then fail "$name: exit $status: $out"; return; fi
    local head
    head=$(aws --endpoint-url "$S3T_TEST_ENDPOINT" s3api head-object --bucket "$bucket" --key "$key" --query ContentLength --output text 2>&1) || true
    if [ "${head:-0}" -gt 10000 ] 2>/dev/null; then pass "$name: s3://$bucket/$key, $head bytes"; else fail "$name: no object ($head)"; fi
}
upload "WAV to MP3 over HTTP" "$S3T_TEST_ENDPOINT" http.mp3

# --- HTTPS: a CA made here, a TLS-terminating proxy in front of moto --------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=s3transcode test CA" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -extfile "$work/ext" -out "$work/server.pem" 2>/dev/null
cat >"$work/tls-proxy.py" <<'EOF'
# Accepts TLS on a free port of 127.0.0.1 and pipes each connection to a plain TCP target.
import socket, ssl, sys, threading
cert, key, target_host, target_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
def serve(raw):
    try:
        client = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close(); return
    upstream = socket.create_connection((target_host, target_port))
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    pipe(client, upstream)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
EOF
hostport="${S3T_TEST_ENDPOINT#http://}"
hostport="${hostport%%/*}"
coproc PROXY { exec python3 "$work/tls-proxy.py" "$work/server.pem" "$work/server.key" "${hostport%:*}" "${hostport##*:}" 2>"$work/proxy.log"; }
proxy_pid=$PROXY_PID
read -r -t 10 port <&"${PROXY[0]}" || { fail "the TLS proxy did not start"; port=0; }
https="https://127.0.0.1:$port"

place() { mkdir -p "$root$(dirname "$1")" && cp "${2:-$work/ca.pem}" "$root$1"; }
place /etc/pki/tls/certs/ca-bundle.crt
upload "HTTPS, bundle at Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt" "$https" al2023.mp3
rm -rf "$root/etc"
place /etc/ssl/certs/ca-certificates.crt
upload "HTTPS, bundle at Debian's /etc/ssl/certs/ca-certificates.crt" "$https" debian.mp3
rm -rf "$root/etc"
place /tmp/my-ca.pem
upload "HTTPS, bundle named by SSL_CERT_FILE" "$https" ssl-cert-file.mp3 SSL_CERT_FILE=/tmp/my-ca.pem
rm -f "$root/tmp/my-ca.pem"

# The certificate is checked: a bundle of another CA is refused.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" -keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null
place /etc/ssl/certs/ca-certificates.crt "$work/other.pem"
set +e
out=$(env -i PATH=/ AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_REGION=us-east-1 \
    "$chroot" "$root" /s3transcode /tmp/in.wav "s3://$bucket/other.mp3" --endpoint-url "$https" 2>&1)
status=$?
set -e
if [ $status -ne 0 ] && grep -q -i 'certificate' <<<"$out"; then pass "a bundle of another CA: refused (exit $status)"; else fail "another CA: exit $status: $out"; fi
rm -rf "$root/etc"

set +e
out=$(env -i PATH=/ AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_REGION=us-east-1 \
    "$chroot" "$root" /s3transcode /tmp/in.wav "s3://$bucket/none.mp3" --endpoint-url "$https" 2>&1)
status=$?
set -e
if [ $status -eq 78 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q 'no CA certificates' <<<"$out"; then
    pass "no bundle anywhere: exit 78, one line: $out"
else
    fail "no bundle: expected exit 78 and one line, got $status: $out"
fi

echo "portable: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
