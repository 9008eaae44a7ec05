import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

@Suite("CurlTransport on the wire")
struct CurlTransportTests {
    @Test("bodies go with Content-Length, never chunked, never Expect: 100-continue", arguments: ["PUT", "POST"])
    func contentLength(method: String) throws {
        let server = try LocalResponder { _ in .init(status: 200, headers: [("X-Answer", "yes")], body: "ok") }
        defer { server.stop() }
        let transport = CurlTransport()
        let body = pattern(3 * 1024 * 1024 + 7)
        let response = try transport.send(
            HTTPRequest(method: method, url: server.baseURL + "/b/k", headers: [("Content-Type", "audio/mpeg")]),
            body: body)
        #expect(response.status == 200)
        #expect(response.body == Array("ok".utf8))
        #expect(response.header("X-Answer") == "yes")
        let request = try #require(server.requests.first)
        #expect(request.method == method)
        #expect(request.header("content-length") == String(body.count))
        #expect(request.header("transfer-encoding") == nil)
        #expect(request.header("expect") == nil)
        #expect(request.header("content-type") == "audio/mpeg")
        #expect(request.body == body)
    }

    @Test("an empty POST (CreateMultipartUpload) and an empty PUT send Content-Length: 0")
    func emptyBodies() throws {
        let server = try LocalResponder { _ in .init(status: 200) }
        defer { server.stop() }
        let transport = CurlTransport()
        _ = try transport.send(HTTPRequest(method: "POST", url: server.baseURL + "/b/k?uploads="))
        _ = try transport.send(HTTPRequest(method: "PUT", url: server.baseURL + "/b/empty"), body: [])
        _ = try transport.send(HTTPRequest(method: "DELETE", url: server.baseURL + "/b/k?uploadId=1"))
        _ = try transport.send(HTTPRequest(method: "HEAD", url: server.baseURL + "/b/k"))
        let requests = server.requests
        #expect(requests.map(\.method) == ["POST", "PUT", "DELETE", "HEAD"])
        #expect(requests.map(\.target) == ["/b/k?uploads=", "/b/empty", "/b/k?uploadId=1", "/b/k"])
        #expect(requests[0].header("content-length") == "0")
        #expect(requests[1].header("content-length") == "0")
        #expect(requests.allSatisfy { $0.header("transfer-encoding") == nil })
    }

    @Test("the Host header given is sent as given (the signed value)")
    func hostHeader() throws {
        let server = try LocalResponder { _ in .init(status: 204) }
        defer { server.stop() }
        _ = try CurlTransport().send(
            HTTPRequest(method: "GET", url: server.baseURL + "/", headers: [("host", "127.0.0.1:\(server.port)")]))
        #expect(server.requests.first?.header("host") == "127.0.0.1:\(server.port)")
    }

    @Test("setting the cancellation flag stops a transfer in flight within about a second")
    func cancelInFlight() throws {
        let server = try LocalResponder { _ in
            Thread.sleep(forTimeInterval: 4)
            return .init(status: 200)
        }
        defer { server.stop() }
        let flag = CancellationFlag()
        let transport = CurlTransport(options: .init(cancellation: flag))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { flag.cancel() }
        let started = Timestamp()
        let error = try #require(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/slow?X-Amz-Signature=SECRET"))
        }
        #expect(error.kind == .cancelled)
        #expect(Timestamp().timeIntervalSince(started) < 2.5)
        #expect(!error.message.contains("SECRET"))
    }

    @Test("after the flag is set, send refuses but sendIgnoringCancellation still reaches the server")
    func cleanupAfterCancel() throws {
        let server = try LocalResponder { _ in .init(status: 204) }
        defer { server.stop() }
        let flag = CancellationFlag()
        let transport = CurlTransport(options: .init(cancellation: flag))
        flag.cancel()
        #expect(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "PUT", url: server.baseURL + "/b/k"), body: [1])
        }
        let response = try transport.sendIgnoringCancellation(
            HTTPRequest(method: "DELETE", url: server.baseURL + "/b/k?uploadId=1"), body: nil)
        #expect(response.status == 204)
        #expect(server.requests.map(\.method) == ["DELETE"])
    }

    @Test(
        "an option libcurl refuses (a negative low-speed limit) fails the request before it is sent, naming the option")
    func refusedOption() throws {
        let server = try LocalResponder { _ in .init(status: 204) }
        defer { server.stop() }
        let transport = CurlTransport(options: .init(lowSpeedLimit: -1))
        let error = try #require(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/k?X-Amz-Signature=secret"))
        }
        #expect(error.kind == .setup)
        #expect(error.message.contains("refused CURLOPT_LOW_SPEED_LIMIT"), "\(error.message)")
        #expect(!error.message.contains("secret"))
        #expect(server.requests.isEmpty)
    }

    @Test("a failed request's message shows the URL without its query or user:password@")
    func errorRedaction() throws {
        let closed = try LocalResponder.ClosedPort()
        defer { closed.close() }
        let url = "http://alice:hunter2@127.0.0.1:\(closed.port)/b/k?X-Amz-Signature=SIGSIG"
        let error = try #require(throws: TransportError.self) {
            try CurlTransport().send(HTTPRequest(method: "GET", url: url))
        }
        #expect(error.kind == .connect)
        #expect(
            error.message.hasPrefix("GET http://127.0.0.1:\(closed.port)/b/k?<redacted> failed: "), "\(error.message)")
        for secret in ["hunter2", "alice", "SIGSIG"] { #expect(!error.message.contains(secret), "\(error.message)") }
    }

    @Test(
        "the body of a non-2xx answer is kept up to 64 KiB, the rest read and dropped; a 2xx body is whole",
        arguments: [404, 500])
    func errorBodyLimit(status: Int) throws {
        let big = pattern(1 << 20)
        let server = try LocalResponder { request in
            var response = LocalResponder.Response(status: request.target == "/ok" ? 200 : status)
            response.body = big
            return response
        }
        defer { server.stop() }
        let transport = CurlTransport()
        let collected = try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/error"))
        #expect(collected.status == status)
        #expect(collected.body == Array(big.prefix(64 << 10)))
        var streamed = 0
        let answered = try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/error"), body: nil) {
            _, chunk in
            streamed += chunk.count
            return true
        }
        #expect(answered.status == status && streamed == 0)
        #expect(answered.body == Array(big.prefix(64 << 10)))
        #expect(try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/ok")).body == big)
    }

    @Test("a stalled server hits the low-speed timeout: kind timeout")
    func lowSpeedTimeout() throws {
        let server = try LocalResponder { _ in
            Thread.sleep(forTimeInterval: 4)
            return .init(status: 200)
        }
        defer { server.stop() }
        let transport = CurlTransport(options: .init(lowSpeedLimit: 1, lowSpeedTime: 1))
        let error = try #require(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"))
        }
        #expect(error.kind == .timeout)
    }

    @Test("through curl: a 503 SlowDown is retried and the whole body is sent again with the same length and hash")
    func retryOverTheWire() throws {
        let count = Mutex(0)
        let flaky = try LocalResponder { _ in
            let n = count.withLock {
                $0 += 1
                return $0
            }
            return n == 1
                ? .init(
                    status: 503, headers: [("Content-Type", "application/xml")],
                    body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
                : .init(status: 200, headers: [("ETag", "\"abc\"")])
        }
        defer { flaky.stop() }
        let lines = LogBox()
        let client = S3Client(
            configuration: .init(region: "us-east-1", endpoint: S3Endpoint(custom: flaky.baseURL)),
            transport: CurlTransport(),
            credentials: .fixed(Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret")),
            timing: S3Client.Timing(now: { Timestamp() }, sleep: { _ in }, random: { 0 }),
            logger: lines.append)
        let body = pattern(200_000)
        let output = try client.putObject(bucket: "bucket", key: "k", body: body)
        #expect(output.etag == "\"abc\"")
        let requests = flaky.requests
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.body == body && $0.header("content-length") == "200000" })
        #expect(Set(requests.map { $0.header("x-amz-content-sha256") }).count == 1)
        #expect(lines.all.count == 2)
        #expect(lines.all[0].contains(" 503 attempt 1/3 "))
        #expect(lines.all[1].contains(" 200 attempt 2/3 "))
    }

    @Test(
        "TLS: verification is on (an unknown CA fails as .tls), AWS_CA_BUNDLE makes it trusted, the host name is checked"
    )
    func tlsVerification() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-tls-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try selfSignedCertificate(in: directory, name: "good", subjectAltName: "IP:127.0.0.1")
        let wrongHost = try selfSignedCertificate(in: directory, name: "wrong", subjectAltName: "DNS:elsewhere.example")

        let server = try KeepAliveServer(certificate: good)
        defer { server.stop() }
        let untrusted = try #require(throws: TransportError.self) {
            try CurlTransport().send(HTTPRequest(method: "GET", url: server.baseURL + "/?X-Amz-Signature=SECRET"))
        }
        #expect(untrusted.kind == .tls)
        #expect(untrusted.message.contains("AWS_CA_BUNDLE"))
        #expect(!untrusted.message.contains("SECRET"))

        let trusted = CurlTransport(options: .init(caBundle: good.cert))
        #expect(try trusted.send(HTTPRequest(method: "GET", url: server.baseURL + "/")).status == 200)

        let other = try KeepAliveServer(certificate: wrongHost)
        defer { other.stop() }
        let mismatch = try #require(throws: TransportError.self) {
            try CurlTransport(options: .init(caBundle: wrongHost.cert)).send(
                HTTPRequest(method: "GET", url: other.baseURL + "/"))
        }
        #expect(mismatch.kind == .tls)
    }

    @Test("connections are reused across requests and across threads sharing one transport")
    func connectionReuse() throws {
        // moto and LocalResponder close every connection; this server keeps them alive, as S3 does.
        let server = try KeepAliveServer()
        defer { server.stop() }
        let transport = CurlTransport()
        for i in 0..<10 {
            let response = try transport.send(
                HTTPRequest(method: "PUT", url: server.baseURL + "/b/k\(i)"), body: pattern(1000, seed: i))
            #expect(response.status == 200)
        }
        #expect(transport.statistics == .init(transfers: 10, connectionsOpened: 1))

        // Four threads, ten requests each, through the same transport.
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                for i in 0..<10 {
                    do {
                        let response = try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/b/k\(i)"))
                        if response.body != Array("ok".utf8) {
                            failures.withLock { $0.append("thread \(t): k\(i) answered \(response.status)") }
                        }
                    } catch {
                        failures.withLock { $0.append("thread \(t): \(error)") }
                    }
                }
            }
            thread.start()
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
        let stats = transport.statistics
        #expect(stats.transfers == 50)
        // At most one more connection per thread running at the same time, never one per request.
        #expect(stats.connectionsOpened <= 5, "\(stats)")
    }
}

/// An HTTP/1.1 server that keeps connections alive (Python's http.server), answering every
/// request with 200 "ok". It exits when its stdin closes, so it dies with the test process.
final class KeepAliveServer: @unchecked Sendable {
    private let process: Process
    private let stdin = Pipe()
    let baseURL: String

    struct StartError: Error, CustomStringConvertible { let description: String }

    static let script = """
        import http.server, os, sys, threading
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length: self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            do_GET = do_PUT = do_POST = answer
            def log_message(self, *args): pass
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if len(sys.argv) > 2:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    /// With `certificate` (PEM certificate and key files), it speaks HTTPS.
    init(certificate: (cert: String, key: String)? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script] + (certificate.map { [$0.cert, $0.key] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw StartError(description: "cannot run python3 for the keep-alive server: \(error)")
        }
        var line: [UInt8] = []
        while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 { line.append(byte) }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw StartError(description: "the keep-alive server did not print its port")
        }
        self.process = process
        baseURL = (certificate == nil ? "http" : "https") + "://127.0.0.1:\(port)"
    }

    /// Kills the server. No `waitUntilExit()`: corelibs' Process can wait there forever.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        try? stdin.fileHandleForWriting.close()
    }
}

/// A self-signed certificate and its key, made with the openssl command line.
func selfSignedCertificate(in directory: String, name: String, subjectAltName: String) throws -> (
    cert: String, key: String
) {
    let cert = directory + "/\(name).crt"
    let key = directory + "/\(name).key"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=s3transcode test",
        "-addext", "subjectAltName=\(subjectAltName)", "-keyout", key, "-out", cert,
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw KeepAliveServer.StartError(
            description: "openssl could not make a test certificate (status \(process.terminationStatus))")
    }
    return (cert, key)
}
