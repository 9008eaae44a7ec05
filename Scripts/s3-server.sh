#!/usr/bin/env bash
# The local S3 servers the integration tests talk to: two moto servers and LocalStack's S3 on 127.0.0.1.
#
#   Scripts/s3-server.sh start [--watch PID]   start both servers, write the env file, print its path
#   Scripts/s3-server.sh env                   print the env file (`eval "$(Scripts/s3-server.sh env)"`)
#   Scripts/s3-server.sh stop                  stop both servers
#
# State (pids, logs, env file) lives in $S3T_SERVER_DIR (default: /tmp/s3transcode-s3-server-UID).
# Use a directory of your own to run several sets side by side.
#
# The first server checks SigV4 signatures: moto is started with INITIAL_NO_AUTH_ACTION_COUNT=3 and
# the three free actions create an IAM user, an allow-all user policy and an access key; from then on
# only requests signed with that key succeed. The second server checks nothing: it is for what moto's
# checker wrongly rejects (keys with `+`, `=` or non-ASCII, percent-encoded query values) and for
# presigned URLs, which moto answers with a 500 when checking is on.
#
# The third is LocalStack's own S3 provider (localstack-core, host mode, no Docker), an independent
# implementation that, unlike moto, verifies Content-MD5, each part's CRC and the full-object CRC at
# Complete, and the signatures of presigned URLs (it accepts any secret on ordinary requests). It runs
# from the virtualenv Scripts/setup.sh makes ($S3T_LOCALSTACK_VENV, Python 3.13: its code uses
# `warnings.deprecated`). `S3T_TEST_BACKEND=localstack` points the tests at it (Scripts/test.sh runs
# the command suites a second time that way).
#
# The env file sets S3T_TEST_ENDPOINT, S3T_TEST_ACCESS_KEY_ID, S3T_TEST_SECRET_ACCESS_KEY,
# S3T_TEST_REGION, S3T_TEST_NOAUTH_ENDPOINT and S3T_TEST_LOCALSTACK_ENDPOINT.
# `--watch PID` stops the servers when process PID exits (the Swift test harness uses it).
# moto keeps every object in memory: restart the servers between long benchmark series.
set -euo pipefail

DIR="${S3T_SERVER_DIR:-${TMPDIR:-/tmp}/s3transcode-s3-server-$(id -u)}"
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
ENV_FILE="$DIR/env"
READY_TIMEOUT="${S3T_SERVER_READY_TIMEOUT:-60}"
LOCALSTACK_VENV="${S3T_LOCALSTACK_VENV:-/var/cache/s3transcode/localstack-venv}"

die() { echo "s3-server: $*" >&2; exit 1; }

# Close every descriptor we inherited (except bash's own script descriptor, 255), so that the
# servers and the watchdog started below hold none of them: Foundation's Process (the Swift test
# harness starts this script) sees its child exit only when every copy of a socket it passed is closed.
for fd in /proc/$$/fd/*; do
    fd="${fd##*/}"
    case "$fd" in 0 | 1 | 2 | 255) ;; *) [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null ;; esac
done

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto NAME PORT [ENV=VALUE...]: starts moto in the background, records its pid.
start_moto() {
    local name="$1" port="$2"
    shift 2
    env "$@" python3 -m moto.server -H 127.0.0.1 -p "$port" >"$DIR/$name.log" 2>&1 &
    echo $! >"$DIR/$name.pid"
}

# wait_ready NAME PORT: polls moto's own API (which does not spend a free action) until it answers.
wait_ready() {
    local name="$1" port="$2" deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/data.json" 2>/dev/null; do
        kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null ||
            die "moto ($name) exited while starting; its log $DIR/$name.log ends with: $(tail -n 3 "$DIR/$name.log" | tr '\n' ' ')"
        [ $SECONDS -lt $deadline ] || die "moto ($name) did not answer on 127.0.0.1:$port within ${READY_TIMEOUT}s; see $DIR/$name.log"
        sleep 0.2
    done
}

# start_localstack PORT: LocalStack's S3 alone, on 127.0.0.1 only (its default server would listen on
# every address), nothing kept on disk, no downloads (no test certificate, no DNS server, no events).
start_localstack() {
    local port="$1"
    mkdir -p "$DIR/localstack"
    # `cd` is not part of the background job: `$!` must be LocalStack's own pid (env execs python),
    # not that of a subshell around it, which `stop` would kill leaving LocalStack running.
    (cd "$DIR/localstack" || exit 1
     env SERVICES=s3 GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn \
        OVERRIDE_IN_DOCKER=0 PERSISTENCE=0 S3_SKIP_SIGNATURE_VALIDATION=0 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 \
        DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$DIR/localstack" FILESYSTEM_ROOT="$DIR/localstack/fs" \
        "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main >"$DIR/localstack.log" 2>&1 &
     echo $! >"$DIR/localstack.pid")
}

wait_localstack() {
    local port="$1" deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fsS "http://127.0.0.1:$port/_localstack/health" 2>/dev/null | grep -q '"s3": "\(available\|running\)"'; do
        kill -0 "$(cat "$DIR/localstack.pid")" 2>/dev/null ||
            die "LocalStack exited while starting; its log $DIR/localstack.log ends with: $(tail -n 3 "$DIR/localstack.log" | tr '\n' ' ')"
        [ $SECONDS -lt $deadline ] || die "LocalStack did not answer on 127.0.0.1:$port within ${READY_TIMEOUT}s; see $DIR/localstack.log"
        sleep 0.2
    done
}

stop_one() {
    local pidfile="$DIR/$1.pid"
    [ -f "$pidfile" ] || return 0
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

cmd_stop() {
    stop_one watchdog
    stop_one auth
    stop_one noauth
    stop_one localstack
    rm -f "$ENV_FILE"
}

cmd_start() {
    local watch=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --watch) watch="${2:?--watch needs a pid}"; shift 2 ;;
            *) die "unknown option $1 (usage: s3-server.sh start [--watch PID])" ;;
        esac
    done
    command -v python3 >/dev/null || die "python3 is missing; run Scripts/setup.sh"
    python3 -c 'import moto.server, boto3' 2>/dev/null || die "moto[server] or boto3 is missing; run Scripts/setup.sh"
    [ -x "$LOCALSTACK_VENV/bin/python" ] || die "LocalStack is missing ($LOCALSTACK_VENV); run Scripts/setup.sh"
    mkdir -p "$DIR"
    cmd_stop

    local auth_port noauth_port localstack_port
    auth_port="$(free_port)"
    noauth_port="$(free_port)"
    [ "$auth_port" != "$noauth_port" ] || noauth_port="$(free_port)"
    localstack_port="$(free_port)"
    while [ "$localstack_port" = "$auth_port" ] || [ "$localstack_port" = "$noauth_port" ]; do localstack_port="$(free_port)"; done
    start_moto auth "$auth_port" INITIAL_NO_AUTH_ACTION_COUNT=3
    start_moto noauth "$noauth_port"
    start_localstack "$localstack_port"
    wait_ready auth "$auth_port"
    wait_ready noauth "$noauth_port"
    wait_localstack "$localstack_port"

    # The three unauthenticated actions: user, allow-all policy, access key.
    local keys
    keys="$(python3 - "http://127.0.0.1:$auth_port" <<'PY'
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="s3transcode-test")
iam.put_user_policy(UserName="s3transcode-test", PolicyName="allow-all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="s3transcode-test")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)" || die "could not create the test user's access key on moto; see $DIR/auth.log"
    local key_id="${keys%% *}" secret="${keys#* }"

    umask 077
    cat >"$ENV_FILE" <<EOF
export S3T_TEST_ENDPOINT=http://127.0.0.1:$auth_port
export S3T_TEST_ACCESS_KEY_ID=$key_id
export S3T_TEST_SECRET_ACCESS_KEY=$secret
export S3T_TEST_REGION=us-east-1
export S3T_TEST_NOAUTH_ENDPOINT=http://127.0.0.1:$noauth_port
export S3T_TEST_LOCALSTACK_ENDPOINT=http://127.0.0.1:$localstack_port
EOF

    if [ -n "$watch" ]; then
        # A fresh process, not a subshell, detached from our output.
        S3T_SERVER_DIR="$DIR" nohup bash "$SCRIPT" _watch "$watch" </dev/null >/dev/null 2>&1 &
        echo $! >"$DIR/watchdog.pid"
    fi
    echo "$ENV_FILE"
}

# Internal: waits for PID to exit (a zombie counts as exited), then stops the servers.
cmd_watch() {
    local pid="$1"
    while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]; do sleep 1; done
    stop_one auth
    stop_one noauth
    stop_one localstack
    rm -f "$ENV_FILE" "$DIR/watchdog.pid"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    _watch) cmd_watch "${2:?}" ;;
    stop) cmd_stop ;;
    env) [ -f "$ENV_FILE" ] || die "no server running for $DIR; run: Scripts/s3-server.sh start"; cat "$ENV_FILE" ;;
    *) die "usage: s3-server.sh start [--watch PID] | env | stop" ;;
esac
