#!/usr/bin/env bash
# Peak RSS of the Lambda runtime (`s3transcode lambda`) for one S3 event: a generated WAV of MINUTES
# minutes (44.1 kHz stereo 16-bit) in moto, a minimal Runtime API on 127.0.0.1 that hands out one
# event and then goes away, and the binary run under `/usr/bin/time -v`. The figure behind the
# README's Lambda memory setting.
#
#   Scripts/lambda-rss.sh [BINARY] [MINUTES...]   default: the release build, 1, 10 and 30 minutes
#
# Extra S3TRANSCODE_ variables in the environment (S3TRANSCODE_BITRATE=320 …) are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-$(bash Scripts/build-release.sh)}"
shift || true
minutes=("$@")
[ ${#minutes[@]} -gt 0 ] || minutes=(1 10 30)

export S3T_SERVER_DIR
S3T_SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-lambda-rss.XXXXXX")"
trap 'bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true; rm -rf "$S3T_SERVER_DIR"' EXIT

for m in "${minutes[@]}"; do
    # moto keeps every object in memory: a fresh server for each size.
    bash Scripts/s3-server.sh stop >/dev/null 2>&1 || true
    bash Scripts/s3-server.sh start >/dev/null
    eval "$(bash Scripts/s3-server.sh env)"
    python3 - "$binary" "$m" <<'EOF'
import http.server, json, os, re, subprocess, sys, threading, time, struct, math
import boto3

binary, minutes = sys.argv[1], int(sys.argv[2])
endpoint = os.environ["S3T_TEST_NOAUTH_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="AKIDLAMBDARSS", aws_secret_access_key="lambda-rss-secret")
bucket = "lambda-rss"
s3.create_bucket(Bucket=bucket)
second = b"".join(struct.pack("<hh", int(8000 * math.sin(2 * math.pi * 440 * i / 44100)),
                              int(8000 * math.sin(2 * math.pi * 660 * i / 44100))) for i in range(44100))
data = second * (60 * minutes)
header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16) \
    + b"data" + struct.pack("<I", len(data))
s3.put_object(Bucket=bucket, Key="in/take.wav", Body=header + data)
del data

event = json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": bucket}, "object": {"key": "in/take.wav"}}}]}).encode()
state = {"served": False, "answer": None}

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        if state["served"]:
            self.send_response(500); self.end_headers(); return
        state["served"] = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "rss-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 900) * 1000)))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:rss")
        self.send_header("Content-Length", str(len(event)))
        self.end_headers()
        self.wfile.write(event)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        state["answer"] = (self.path, body.decode())
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = {"PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % server.server_port,
       "AWS_ACCESS_KEY_ID": "AKIDLAMBDARSS", "AWS_SECRET_ACCESS_KEY": "lambda-rss-secret", "AWS_REGION": "us-east-1",
       "AWS_ENDPOINT_URL_S3": endpoint, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
       "AWS_EC2_METADATA_DISABLED": "true", "S3TRANSCODE_DEST": "s3://{bucket}/mp3/{stem}.mp3"}
env.update({k: v for k, v in os.environ.items() if k.startswith("S3TRANSCODE_")})
run = subprocess.run(["/usr/bin/time", "-v", binary, "lambda"], env=env, capture_output=True, text=True, timeout=1800)
server.shutdown()
peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", run.stderr)
log = [l for l in run.stderr.splitlines() if l.startswith("{")]
print(f"{minutes} min WAV ({len(header) + 60 * minutes * 44100 * 4} bytes): peak RSS {int(peak.group(1)) / 1024:.1f} MiB, "
      f"wall {wall.group(1)}; answer {state['answer']}; log {log[0] if log else run.stderr[-500:]}")
EOF
done
