#!/usr/bin/env bash
# The demo: sets everything up, builds s3transcode, starts a local S3 server (moto, SigV4 checked),
# generates a few seconds of music-like audio, streams it into S3 as an MP3, and shows the object.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
echo "demo: building s3transcode (release)..."
bin="$(bash Scripts/build-release.sh 2>/dev/null)"

export S3T_SERVER_DIR
S3T_SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-demo.XXXXXX")"
trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$S3T_SERVER_DIR"' EXIT
bash Scripts/s3-server.sh start >/dev/null
eval "$(bash Scripts/s3-server.sh env)"
export AWS_ACCESS_KEY_ID="$S3T_TEST_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$S3T_TEST_SECRET_ACCESS_KEY"
export AWS_REGION="$S3T_TEST_REGION" AWS_ENDPOINT_URL_S3="$S3T_TEST_ENDPOINT"
echo "demo: local S3 server (moto, SigV4 checked) on $S3T_TEST_ENDPOINT"

input="$S3T_SERVER_DIR/demo.wav"
bash Scripts/gen-audio.sh "$input" 8 44100 2
aws s3api create-bucket --bucket demo --endpoint-url "$S3T_TEST_ENDPOINT" >/dev/null

echo
echo "\$ s3transcode demo.wav s3://demo/demo.mp3 --vbr 2 --title 'Demo' --artist 's3transcode'"
"$bin" "$input" s3://demo/demo.mp3 --vbr 2 --title "Demo" --artist "s3transcode"
echo
echo "\$ aws s3api head-object --bucket demo --key demo.mp3"
aws s3api head-object --bucket demo --key demo.mp3 --endpoint-url "$S3T_TEST_ENDPOINT" \
    --query '{ContentType: ContentType, ContentLength: ContentLength, ETag: ETag, Metadata: Metadata}'
echo
echo "\$ aws s3 cp s3://demo/demo.mp3 - | s3transcode probe -"
aws s3 cp s3://demo/demo.mp3 - --endpoint-url "$S3T_TEST_ENDPOINT" | "$bin" probe -
