import Foundation
import HTTPClient
import S3
import Synchronization
import Testing
import TestSupport

@Suite("CurlTransport on the wire")
struct CurlTransportTests {
    @Test("bodies go with Content-Length, never chunked, never Expect: 100-continue", arguments: ["PUT", "POST"])
    func contentLength(method: String) throws {
        let server = try LocalResponder { _ in .init(status: 200, headers: [("X-Answer", "yes")], body: "ok") }
        defer { server.stop() }
        let transport = CurlTransport()
        let body = pattern(3 * 1024 * 1024 + 7)
        let response = try transport.send(
            HTTPRequest(method: method, url: server.baseURL + "/b/k", headers: [("Content-Type", "audio/mpeg")]), body: body)
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
        _ = try CurlTransport().send(HTTPRequest(method: "GET", url: server.baseURL + "/", headers: [("host", "127.0.0.1:\(server.port)")]))
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
        let started = Date()
        let error = try #require(throws: TransportError.self) {
            try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/slow?X-Amz-Signature=SECRET"))
        }
        #expect(error.kind == .cancelled)
        #expect(Date().timeIntervalSince(started) < 2.5)
        #expect(!error.message.contains("SECRET"))
    }

    @Test("a stalled server hits the low-speed timeout: kind timeout")
    func lowSpeedTimeout() throws {
        let server = try LocalResponder { _ in
            Thread.sleep(forTimeInterval: 4)
            return .init(status: 200)
        }
        defer { server.stop() }
        let transport = CurlTransport(options: .init(lowSpeedLimit: 1, lowSpeedTime: 1))
        let error = try #require(throws: TransportError.self) { try transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/")) }
        #expect(error.kind == .timeout)
    }

    @Test("connections are reused across requests and threads sharing one transport")
    func connectionReuse() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "reuse")
        let server = try S3TestServer.shared()
        let transport = CurlTransport()
        let reusing = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: transport,
            credentials: .fixed(.init(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey)))
        for i in 0..<10 { _ = try reusing.putObject(bucket: bucket, key: "k\(i)", body: pattern(1000, seed: i)) }
        #expect(transport.statistics == .init(transfers: 10, connectionsOpened: 1))

        // Four threads, ten requests each, through the same transport.
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    for i in 0..<10 {
                        let body = try reusing.getObject(bucket: bucket, key: "k\(i)").body
                        if body != pattern(1000, seed: i) { failures.withLock { $0.append("thread \(t): k\(i) differs") } }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(t): \(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
        let stats = transport.statistics
        #expect(stats.transfers == 50)
        #expect(stats.connectionsOpened <= 4, "\(stats)")
    }
}
