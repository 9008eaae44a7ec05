#!/usr/bin/env python3
"""An HTTP/1.1 proxy in front of a local S3 server that behaves like one S3-compatible store
(Tests/CommandsTests/StorePersonalityTests.swift):

    store-proxy.py --upstream 127.0.0.1:PORT --store NAME [--watch PID] [--log FILE] [--stdin-watch]

Listens on 127.0.0.1 only, on a free port printed as `PORT <n>`; stops by itself when --watch's
process is gone, when stdin closes (--stdin-watch) or after --lifetime seconds (default 600). The
plumbing (reading requests, forwarding, stopping) is fault-proxy.py's, imported from beside this file.

Personalities, each following the document or report named at its code below:
    kms       an AWS bucket whose default encryption is SSE-KMS
    b2        Backblaze B2
    gcs       Google Cloud Storage's XML API
    r2        Cloudflare R2
    scaleway  Scaleway Object Storage

Every request is logged to --log as one line:
    `<n> <operation> <method> <action> <status> <checksum headers, comma-separated, or ->`
where action is `pass` (forwarded) or `refused` (answered by the proxy).
"""

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import re
import sys
import threading
import zlib

_spec = importlib.util.spec_from_file_location(
    "fault_proxy", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault-proxy.py"))
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)

LOG_LOCK = threading.Lock()
STATE_LOCK = threading.Lock()


def crc_table(poly):
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC64NVME_TABLE = crc_table(0x9A6C9329AC4BC9B5)


def crc64nvme(data, crc=0):
    """CRC-64/NVME as awscrt.checksums.crc64nvme computes it (check value of b"123456789":
    0xAE8B14860A799888), written independently of the Swift code under test."""
    table = CRC64NVME_TABLE
    crc ^= 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def b64(value, width):
    return base64.b64encode(value.to_bytes(width // 8, "big")).decode()


def headers_of(head):
    """(name lowercased, value) pairs of a request or response head."""
    out = []
    for line in head.split(b"\r\n")[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        out.append((name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")))
    return out


def query_of(target):
    _, _, query = target.partition("?")
    pairs = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs[name] = value
    return pairs


def add_headers(answer, extra):
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    lines += [("%s: %s" % pair).encode("latin-1") for pair in extra]
    return b"\r\n".join(lines) + sep + body


def replace_header(answer, name, value):
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        if line.split(b":", 1)[0].strip().lower() == name.lower().encode():
            out.append(("%s: %s" % (name, value)).encode("latin-1"))
        else:
            out.append(line)
    return b"\r\n".join(out) + sep + body


def without_headers(answer, names):
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [lines[0]] + [l for l in lines[1:] if l.split(b":", 1)[0].strip().lower() not in names]
    return b"\r\n".join(kept) + sep + body


def replace_body(answer, body):
    head, _, _ = answer.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n") if l.split(b":", 1)[0].strip().lower() != b"content-length"]
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def with_request_body(head, body):
    lines = [l for l in head[:-4].split(b"\r\n") if l.split(b":", 1)[0].strip().lower() != b"content-length"]
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def status_of(answer):
    return int(answer.split(b" ", 2)[1])


def kms_etag(etag):
    """A 32-hex ETag that is not the MD5: the MD5's digits reversed (reversible, so the part ETags
    the client sends back at Complete can be mapped to the upstream's)."""
    return etag[::-1]


class Store:
    def __init__(self, name, upstream):
        self.name = name
        self.upstream = upstream
        self.parts = {}  # upload id -> {part number: (size, bytes or None)}

    def handle(self, op, method, target, head, body):
        """Returns (answer bytes, refused?)."""
        headers = headers_of(head)
        checksum_headers = [n for n, _ in headers if n.startswith("x-amz-checksum-") or n == "x-amz-sdk-checksum-algorithm"]
        query = query_of(target)
        return getattr(self, "handle_" + self.name)(op, method, head, body, headers, checksum_headers, query)

    def forward(self, head, body):
        return fp.forward(self.upstream, head, body)

    # --- An AWS bucket with SSE-KMS default encryption --------------------------------------
    # "Objects encrypted by SSE-C or SSE-KMS have ETags that are not an MD5 digest of their object
    # data", and every answer names the encryption in x-amz-server-side-encryption:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html (ETag),
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
    def handle_kms(self, op, method, head, body, headers, checksum_headers, query):
        if op == "CompleteMultipartUpload":
            # Map the ETags the client saw back to the upstream's before forwarding.
            fixed = re.sub(rb"<ETag>(&quot;|\")?([0-9a-f]{32})(&quot;|\")?</ETag>",
                           lambda m: b"<ETag>\"" + m.group(2)[::-1] + b"\"</ETag>", body)
            head, body = with_request_body(head, fixed), fixed
        answer = self.forward(head, body)
        if status_of(answer) < 300:
            if op in ("PutObject", "UploadPart", "HeadObject", "GetObject"):
                etag = fp.header(answer.partition(b"\r\n\r\n")[0], b"etag")
                if etag:
                    answer = replace_header(answer, "ETag", '"%s"' % kms_etag(etag.strip('"')))
            if op == "CompleteMultipartUpload":
                rbody = answer.partition(b"\r\n\r\n")[2]
                rbody = re.sub(rb"<ETag>(&quot;|\")?([0-9a-f]{32})-(\d+)(&quot;|\")?</ETag>",
                               lambda m: b"<ETag>&quot;" + m.group(2)[::-1] + b"-" + m.group(3) + b"&quot;</ETag>", rbody)
                answer = replace_body(answer, rbody)
            # Replace, not add: a store that encrypts by default (LocalStack, S3 since 2023) already
            # answers `x-amz-server-side-encryption: AES256`, and a second header would contradict it.
            answer = add_headers(without_headers(answer, [b"x-amz-server-side-encryption",
                                                          b"x-amz-server-side-encryption-aws-kms-key-id"]), [
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id",
                 "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000")])
        return answer, False

    # --- Backblaze B2 -----------------------------------------------------------------------
    # 400 InvalidArgument "Unsupported header 'x-amz-checksum-crc32' received for this API call."
    # on any request carrying it: https://github.com/stonith404/pingvin-share/issues/798,
    # https://www.backblaze.com/docs/cloud-storage-s3-compatible-api ("Unsupported Features").
    def handle_b2(self, op, method, head, body, headers, checksum_headers, query):
        if checksum_headers:
            return fp.error_response(400, "Bad Request", "InvalidArgument",
                                     "Unsupported header '%s' received for this API call." % checksum_headers[0]), True
        return self.forward(head, body), False

    # --- Google Cloud Storage, XML API ------------------------------------------------------
    # Refuses the x-amz-checksum headers the AWS SDKs send since January 2025 (reports:
    # https://github.com/gramps-project/gramps-web-api/pull/758,
    # https://github.com/canonical/postgresql-k8s-operator/pull/901); the exact error body is not
    # documented, so this one is a plain 400 InvalidArgument naming the header. A multipart object's
    # ETag is not the MD5 of the part MD5s (https://cloud.google.com/storage/docs/multipart-uploads,
    # https://cloud.google.com/storage/docs/hashes-etags): an opaque value of the same shape here.
    def handle_gcs(self, op, method, head, body, headers, checksum_headers, query):
        if checksum_headers:
            return fp.error_response(400, "Bad Request", "InvalidArgument",
                                     "Invalid argument: header %s is not supported." % checksum_headers[0]), True
        answer = self.forward(head, body)
        if op == "CompleteMultipartUpload" and status_of(answer) < 300:
            rbody = answer.partition(b"\r\n\r\n")[2]
            opaque = hashlib.md5(query.get("uploadId", "").encode()).hexdigest().encode()
            rbody = re.sub(rb"<ETag>(&quot;|\")?[0-9a-f]{32}-(\d+)(&quot;|\")?</ETag>",
                           lambda m: b"<ETag>&quot;" + opaque + b"-" + m.group(2) + b"&quot;</ETag>", rbody)
            answer = replace_body(answer, rbody)
        return answer, False

    # --- Cloudflare R2 ----------------------------------------------------------------------
    # Full-object checksums only for CRC64NVME; CRC32, CRC32C are COMPOSITE only
    # (https://developers.cloudflare.com/r2/api/s3/api/, "Checksum Types"): a FULL_OBJECT request for
    # them is refused, as 501 NotImplemented. "All parts except the last one must be the same size.
    # The last part ... must be the same or smaller than the other parts"
    # (https://developers.cloudflare.com/r2/objects/multipart-objects/): checked at Complete, 400
    # InvalidPart otherwise. The CRC64NVME values sent are checked here, independently of the client.
    def handle_r2(self, op, method, head, body, headers, checksum_headers, query):
        h = dict(headers)
        if op == "CreateMultipartUpload":
            algorithm = h.get("x-amz-checksum-algorithm", "").upper()
            if h.get("x-amz-checksum-type", "").upper() == "FULL_OBJECT" and algorithm not in ("", "CRC64NVME"):
                return fp.error_response(501, "Not Implemented", "NotImplemented",
                                         "Checksum type FULL_OBJECT is not implemented for %s" % algorithm), True
        sent = h.get("x-amz-checksum-crc64nvme")
        if op in ("UploadPart", "PutObject") and sent is not None and sent != b64(crc64nvme(body), 64):
            return fp.error_response(400, "Bad Request", "BadDigest",
                                     "The CRC64NVME you specified did not match the calculated checksum."), True
        if op == "CompleteMultipartUpload":
            upload = self.parts.get(query.get("uploadId"), {})
            numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
            sizes = [upload.get(n, (0, b""))[0] for n in numbers]
            if sizes and (any(s != sizes[0] for s in sizes[:-1]) or sizes[-1] > sizes[0]):
                return fp.error_response(400, "Bad Request", "InvalidPart",
                                         "All non-trailing parts must have the same length."), True
            if sent is not None:
                whole = b"".join(upload.get(n, (0, b""))[1] for n in numbers)
                if sent != b64(crc64nvme(whole), 64):
                    return fp.error_response(400, "Bad Request", "BadDigest",
                                             "The CRC64NVME you specified did not match the calculated checksum."), True
        answer = self.forward(head, body)
        if op == "UploadPart" and status_of(answer) < 300:
            with STATE_LOCK:
                self.parts.setdefault(query.get("uploadId"), {})[int(query.get("partNumber", "0"))] = (
                    len(body), body if sent is not None else b"")
        return answer, False

    # --- Scaleway Object Storage ------------------------------------------------------------
    # "1 to 1000 parts per object"
    # (https://www.scaleway.com/en/docs/storage/object/api-cli/multipart-uploads/): a part number
    # above 1,000 is refused, 400 InvalidArgument as S3 answers an out-of-range part number.
    def handle_scaleway(self, op, method, head, body, headers, checksum_headers, query):
        if op == "UploadPart" and int(query.get("partNumber", "0")) > 1000:
            return fp.error_response(400, "Bad Request", "InvalidArgument",
                                     "Part number must be an integer between 1 and 1000, inclusive"), True
        if op == "CompleteMultipartUpload" and len(re.findall(rb"<PartNumber>", body)) > 1000:
            return fp.error_response(400, "Bad Request", "InvalidPart", "More than 1000 parts"), True
        return self.forward(head, body), False


class Upstream:
    """What fp.forward needs of its proxy argument."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.upstream = (host, int(port))


def serve(store, conn, log_path, counter):
    rest = b""
    try:
        while True:
            head, rest = fp.read_head(conn, rest)
            if head is None:
                conn.close()
                return
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            op = fp.operation(method, target)
            length = int(fp.header(head, b"content-length") or 0)
            if (fp.header(head, b"expect") or "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body, rest = fp.read_exactly(conn, rest, length)
            if body is None:
                conn.close()
                return
            checksum_headers = [n for n, _ in headers_of(head)
                                if n.startswith("x-amz-checksum-") or n == "x-amz-sdk-checksum-algorithm"]
            answer, refused = store.handle(op, method, target, head, body)
            with LOG_LOCK:
                counter[0] += 1
                if log_path:
                    with open(log_path, "a") as f:
                        f.write("%d %s %s %s %d %s\n" % (counter[0], op, method, "refused" if refused else "pass",
                                                        status_of(answer), ",".join(checksum_headers) or "-"))
            conn.sendall(answer)
    except (OSError, ValueError) as error:
        try:
            conn.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--store", required=True, choices=["kms", "b2", "gcs", "r2", "scaleway"])
    parser.add_argument("--watch", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--stdin-watch", action="store_true")
    args = parser.parse_args()
    store = Store(args.store, Upstream(args.upstream))

    import socket
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=fp.watchdog, args=(args.watch, args.lifetime), daemon=True).start()
    if args.stdin_watch:
        threading.Thread(target=fp.stdin_watch, daemon=True).start()
    print("PORT %d" % listener.getsockname()[1], flush=True)
    counter = [0]
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(store, conn, args.log, counter), daemon=True).start()


if __name__ == "__main__":
    main()
