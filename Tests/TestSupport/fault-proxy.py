#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for the fault tests (Tests/CommandsTests/Fault*.swift).

    fault-proxy.py --upstream 127.0.0.1:PORT --rules JSON [--watch PID] [--log FILE]

Listens on 127.0.0.1 only, on a free port that it prints as `PORT <n>` on stdout. Requests are
forwarded byte for byte (the Host header included, so a SigV4 signature made for the proxy's
host:port still verifies at moto, which checks it against the Host it receives). The client's
connection is kept alive; each forwarded request gets its own upstream connection.

It stops by itself: when the process --watch names is gone, when its stdin closes (with
--stdin-watch), or after
--lifetime seconds (default 600).

Each request is classified as an S3 operation by method and query (CreateMultipartUpload,
UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads, PutObject,
GetObject, HeadObject, other). A rule applies a fault to some requests of one operation:

    {"op": "UploadPart", "fault": "503", "every": 3}        requests 3, 6, 9 … of that operation
    {"op": "UploadPart", "fault": "500", "share": 0.3, "seed": 7}   a seeded 30 %
    {"op": "CompleteMultipartUpload", "fault": "complete-200-error", "nth": [1]}
    {"op": "UploadPart", "fault": "reset-request", "first": 2}     the first two
    {"op": "UploadPart", "fault": ["503", "500", "reset-request"], "share": 0.3, "seed": 7}
                                                   each hit takes the next fault in turn
    … "limit": N  injects it at most N times in all.

Faults:
    503                 503 SlowDown (the request body is read first)
    500                 500 InternalError
    reset-request       read the head and half the body, then reset the connection (RST)
    reset-response      forward (S3 acts on it), then send half the answer and reset
    stall               read the request, forward nothing, answer nothing until the client leaves
    stall-request       read the head and half the body, then stop reading until the client leaves
    complete-200-error  200 OK whose body is an <Error> document (InternalError)
    skewed              403 RequestTimeTooSkewed with S3's time (the real time) in ServerTime
    nosuchupload        404 NoSuchUpload (what a retried Complete can get once the first one succeeded)

Every request is logged to --log as one line: `<n> <operation> <method> <path> <fault|pass> <status>`
(the query string is dropped).
"""

import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate

LOG_LOCK = threading.Lock()
RULE_LOCK = threading.Lock()


def operation(method, target):
    path, _, query = target.partition("?")
    names = {part.split("=", 1)[0] for part in query.split("&") if part}
    segments = [s for s in path.split("/") if s]
    if method == "POST" and "uploads" in names:
        return "CreateMultipartUpload"
    if method == "PUT" and "uploadId" in names and "partNumber" in names:
        return "UploadPart"
    if method == "POST" and "uploadId" in names:
        return "CompleteMultipartUpload"
    if method == "DELETE" and "uploadId" in names:
        return "AbortMultipartUpload"
    if method == "GET" and "uploads" in names:
        return "ListMultipartUploads"
    if len(segments) >= 2:
        if method == "PUT":
            return "PutObject"
        if method == "GET":
            return "GetObject"
        if method == "HEAD":
            return "HeadObject"
        if method == "DELETE":
            return "DeleteObject"
    return "Other"


class Rule:
    def __init__(self, spec):
        self.op = spec["op"]
        self.fault = spec["fault"]
        self.every = spec.get("every")
        self.share = spec.get("share")
        self.random = random.Random(spec.get("seed", 1))
        self.nth = set(spec.get("nth", []))
        self.first = spec.get("first")
        self.limit = spec.get("limit")
        self.injected = 0

    def applies(self, n):
        """The fault for request `n` (1-based among the requests of its operation), or None."""
        if self.limit is not None and self.injected >= self.limit:
            return None
        if self.every:
            hit = n % self.every == 0
        elif self.share is not None:
            hit = self.random.random() < self.share
        elif self.nth:
            hit = n in self.nth
        elif self.first is not None:
            hit = n <= self.first
        else:
            hit = True
        if not hit:
            return None
        self.injected += 1
        # A list of faults: each hit takes the next one in turn.
        if isinstance(self.fault, list):
            return self.fault[(self.injected - 1) % len(self.fault)]
        return self.fault


class Proxy:
    def __init__(self, upstream, rules, log_path):
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.rules = [Rule(r) for r in rules]
        self.counts = {}
        self.total = 0
        self.log_path = log_path

    def log(self, line):
        if not self.log_path:
            return
        with LOG_LOCK:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")

    def decide(self, op):
        with RULE_LOCK:
            self.total += 1
            n = self.counts.get(op, 0) + 1
            self.counts[op] = n
            for rule in self.rules:
                fault = rule.op == op and rule.applies(n)
                if fault:
                    return self.total, fault
            return self.total, None


def read_head(conn, buffered):
    """The request or response head up to the blank line, and what was read past it."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def read_exactly(conn, rest, length):
    body = rest
    while len(body) < length:
        chunk = conn.recv(min(1 << 20, length - len(body)))
        if not chunk:
            return None, b""
        body += chunk
    return body[:length], body[length:]


def reset(conn):
    """Close with RST rather than FIN: the peer sees 'connection reset by peer'."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


def stall(conn, reading):
    """Holds the connection without answering until the client gives up (or 120 s). Without
    `reading`, what the client still sends fills the socket buffers and its send stalls too."""
    deadline = time.time() + 120
    conn.settimeout(1)
    while time.time() < deadline:
        try:
            if reading:
                if not conn.recv(65536):
                    break
            else:
                # MSG_PEEK: notice the client leaving without draining what it sent.
                data = conn.recv(1, socket.MSG_PEEK)
                if not data:
                    break
                time.sleep(0.2)
        except socket.timeout:
            continue
        except OSError:
            break
    conn.close()


def error_response(status, reason, code, message, extra=""):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>%s'
            "<RequestId>FAULTPROXY</RequestId></Error>" % (code, message, extra)).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nDate: %s\r\n\r\n"
            % (status, reason, len(body), formatdate(usegmt=True))).encode()
    return head + body


def forward(proxy, head, body):
    """Sends the request upstream on a new connection; returns the whole answer, rewritten for a
    kept-alive client connection (Content-Length, no Connection header)."""
    up = socket.create_connection(proxy.upstream, timeout=120)
    lines = head[:-4].split(b"\r\n")
    kept = [l for l in lines[1:] if l.split(b":", 1)[0].strip().lower() not in (b"connection", b"expect")]
    up.sendall(b"\r\n".join([lines[0]] + kept + [b"Connection: close"]) + b"\r\n\r\n" + body)
    answer = b""
    while True:
        chunk = up.recv(1 << 20)
        if not chunk:
            break
        answer += chunk
    up.close()
    rhead, _, rbody = answer.partition(b"\r\n\r\n")
    rlines = rhead.split(b"\r\n")
    is_head = head.startswith(b"HEAD ")
    out = [rlines[0]]
    for line in rlines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name in (b"connection", b"transfer-encoding", b"keep-alive"):
            continue
        if name == b"content-length" and not is_head:
            continue
        out.append(line)
    if not is_head:
        out.append(b"Content-Length: %d" % len(rbody))
    return b"\r\n".join(out) + b"\r\n\r\n" + (b"" if is_head else rbody)


def serve(proxy, conn):
    rest = b""
    try:
        while True:
            head, rest = read_head(conn, rest)
            if head is None:
                conn.close()
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            op = operation(method, target)
            length = int(header(head, b"content-length") or 0)
            number, fault = proxy.decide(op)
            path = target.split("?", 1)[0]
            if (header(head, b"expect") or "").lower() == "100-continue" and fault != "reset-request":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

            if fault == "stall-request":
                half = length // 2
                if half > len(rest):
                    read_exactly(conn, rest, half)
                proxy.log("%d %s %s %s %s -" % (number, op, method, path, fault))
                stall(conn, reading=False)
                return

            if fault == "reset-request":
                half = length // 2
                if half > len(rest):
                    read_exactly(conn, rest, half)
                proxy.log("%d %s %s %s %s -" % (number, op, method, path, fault))
                reset(conn)
                return

            body, rest = read_exactly(conn, rest, length)
            if body is None:
                conn.close()
                return

            if fault == "503":
                answer = error_response(503, "Slow Down", "SlowDown", "Please reduce your request rate.")
            elif fault == "500":
                answer = error_response(500, "Internal Server Error", "InternalError",
                                        "We encountered an internal error. Please try again.")
            elif fault == "complete-200-error":
                answer = error_response(200, "OK", "InternalError", "We encountered an internal error. Please try again.")
            elif fault == "nosuchupload":
                answer = error_response(404, "Not Found", "NoSuchUpload",
                                        "The specified upload does not exist. The upload ID may be invalid, "
                                        "or the upload may have been aborted or completed.")
            elif fault == "skewed":
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                answer = error_response(
                    403, "Forbidden", "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                    "<RequestTime>20000101T000000Z</RequestTime><ServerTime>%s</ServerTime>"
                    "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" % now)
            elif fault == "stall":
                proxy.log("%d %s %s %s %s -" % (number, op, method, path, fault))
                stall(conn, reading=True)
                return
            else:
                answer = forward(proxy, head, body)

            status = answer.split(b" ", 2)[1].decode("latin-1")
            proxy.log("%d %s %s %s %s %s" % (number, op, method, path, fault or "pass", status))
            if fault == "reset-response":
                conn.sendall(answer[: max(1, len(answer) // 2)])
                reset(conn)
                return
            conn.sendall(answer)
    except (OSError, ValueError) as error:
        proxy.log("- connection error %s" % error)
        try:
            conn.close()
        except OSError:
            pass


def watchdog(pid, lifetime):
    started = time.time()
    while True:
        time.sleep(0.5)
        if time.time() - started > lifetime:
            os._exit(0)
        if pid:
            try:
                os.kill(pid, 0)
            except OSError:
                os._exit(0)


def stdin_watch():
    try:
        while sys.stdin.buffer.read(1):
            pass
    except OSError:
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rules", default="[]")
    parser.add_argument("--watch", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--stdin-watch", action="store_true", help="stop when stdin closes")
    args = parser.parse_args()
    proxy = Proxy(args.upstream, json.loads(args.rules), args.log)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=watchdog, args=(args.watch, args.lifetime), daemon=True).start()
    if args.stdin_watch:
        threading.Thread(target=stdin_watch, daemon=True).start()
    print("PORT %d" % listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(proxy, conn), daemon=True).start()


if __name__ == "__main__":
    main()
