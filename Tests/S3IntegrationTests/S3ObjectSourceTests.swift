import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

/// Counts the GETs that reach the server, and what Range and If-Match they carried.
final class RangeLoggingTransport: HTTPTransport, @unchecked Sendable {
    let inner: any HTTPTransport
    private let log = Mutex<[(method: String, range: String?, ifMatch: String?)]>([])

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        record(request)
        return try inner.send(request, body: body)
    }

    func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?, receive: (HTTPResponse, UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        record(request)
        return try inner.send(request, body: body, receive: receive)
    }

    private func record(_ request: HTTPRequest) {
        let header = { (name: String) in request.headers.first { $0.name.lowercased() == name }?.value }
        log.withLock { $0.append((request.method, header("range"), header("if-match"))) }
    }

    var gets: [(range: String?, ifMatch: String?)] {
        log.withLock { $0.filter { $0.method == "GET" }.map { ($0.range, $0.ifMatch) } }
    }
}

/// Streams a GET's body through, but cuts the first `drops` streamed answers after about
/// `dropAfter` bytes with a lost connection (`TransportError.Kind.receive`).
final class DroppingTransport: HTTPTransport, @unchecked Sendable {
    let inner: any HTTPTransport
    let dropAfter: Int
    private let remaining: Mutex<Int>
    private let count = Mutex(0)

    init(_ inner: any HTTPTransport, dropAfter: Int, drops: Int) {
        self.inner = inner
        self.dropAfter = dropAfter
        remaining = Mutex(drops)
    }

    var dropped: Int { count.withLock { $0 } }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try inner.send(request, body: body)
    }

    func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?, receive: (HTTPResponse, UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        let drop = remaining.withLock { left in
            defer { left -= 1 }
            return left > 0
        }
        var delivered = 0
        var cut = false
        do {
            return try inner.send(request, body: body) { head, chunk in
                guard drop else { return receive(head, chunk) }
                let take = min(chunk.count, dropAfter - delivered)
                if take > 0, !receive(head, UnsafeRawBufferPointer(rebasing: chunk[..<take])) { return false }
                delivered += take
                cut = delivered >= dropAfter
                return !cut
            }
        } catch let error as TransportError where cut && error.kind == .cancelled {
            count.withLock { $0 += 1 }
            throw TransportError(.receive, "GET \(request.url) failed: connection reset (injected)")
        }
    }
}

/// Replaces the Content-Range of every streamed answer.
final class HeaderRewritingTransport: HTTPTransport, @unchecked Sendable {
    let inner: any HTTPTransport
    let contentRange: String

    init(_ inner: any HTTPTransport, contentRange: String) {
        self.inner = inner
        self.contentRange = contentRange
    }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        try inner.send(request, body: body)
    }

    func send(
        _ request: HTTPRequest, body: UnsafeRawBufferPointer?, receive: (HTTPResponse, UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        try inner.send(request, body: body) { head, chunk in
            var head = head
            head.headers = head.headers.map { $0.name == "content-range" ? ($0.name, contentRange) : $0 }
            return receive(head, chunk)
        }
    }
}

/// Reads the whole source from its current position in reads of `size` bytes.
func readToEnd(_ source: S3ObjectSource, readSize: Int = 32_768) throws -> [UInt8] {
    var all: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 1)
    defer { buffer.deallocate() }
    while case let count = try source.read(into: buffer), count > 0 { all += buffer[..<count] }
    return all
}

func readOnce(_ source: S3ObjectSource, count: Int) throws -> [UInt8] {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
    defer { buffer.deallocate() }
    let got = try source.read(into: buffer)
    return Array(buffer[..<got])
}

@Suite("S3ObjectSource: ranged GETs pinned to the ETag, against moto with SigV4 checking on")
struct S3ObjectSourceTests {
    static func client(transport: any HTTPTransport) throws -> S3Client {
        let server = try S3TestServer.shared()
        return S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: transport,
            credentials: .fixed(Credentials(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey)))
    }

    @Test(
        "reads every byte in order with one ranged GET of the rest of the object, pinned with If-Match, through a small ring",
        arguments: [(300_000, 65_536), (65_536, 65_536), (1, 4096), (100_000, 1 << 20), (3_000_000, 4096)])
    func sequentialRead(size: Int, bufferSize: Int) throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-seq")
        let body = pattern(size, seed: size)
        let put = try client.putObject(bucket: bucket, key: "in/a.wav", body: body)

        let source = try S3ObjectSource(client: client, bucket: bucket, key: "in/a.wav", bufferSize: bufferSize)
        #expect(source.size == Int64(size) && source.isSeekable && source.name == "s3://\(bucket)/in/a.wav")
        #expect(source.etag == put.etag)
        #expect(try readToEnd(source, readSize: 10_000) == body)
        #expect(try readOnce(source, count: 100).isEmpty)  // at the end: 0, and no request

        let gets = counting.gets
        #expect(gets.count == 1 && source.requestCount == 1)
        #expect(gets.first?.ifMatch == put.etag && gets.first?.range == "bytes=0-\(size - 1)")
    }

    @Test(
        "with a window, each GET asks for at most windowSize bytes", arguments: [(300_000, 100_000), (250_001, 50_000)])
    func windowed(size: Int, window: Int) throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-window")
        let body = pattern(size, seed: 11)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(
            client: client, bucket: bucket, key: "k", bufferSize: 16_384, windowSize: Int64(window))
        #expect(try readToEnd(source, readSize: 7_000) == body)
        let windows = (size + window - 1) / window
        #expect(
            counting.gets.map(\.range)
                == (0..<windows).map { "bytes=\($0 * window)-\(min(($0 + 1) * window, size) - 1)" })
    }

    @Test("seeks inside the ring cost nothing; a read elsewhere starts one GET where it lands")
    func seeks() throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-seek")
        let body = pattern(1_000_000, seed: 7)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", bufferSize: 100_000)

        #expect(try readOnce(source, count: 44) == Array(body[0..<44]))  // a WAV header
        try source.seek(to: 12)  // back into it: free
        #expect(try readOnce(source, count: 24) == Array(body[12..<36]))
        try source.seek(to: 1_000_000)  // the end, as the WAV demuxer does looking for a trailing chunk: free
        #expect(try readOnce(source, count: 10).isEmpty)
        try source.seek(to: 40)  // and back
        #expect(try readOnce(source, count: 8) == Array(body[40..<48]))
        #expect(counting.gets.count == 1)

        try source.seek(to: 950_000)  // a LIST chunk after the data, say: one GET where it lands
        #expect(try readToEnd(source) == Array(body[950_000...]))
        try source.seek(to: 960_000)  // still in the ring: free
        #expect(try readOnce(source, count: 10) == Array(body[960_000..<960_010]))
        try source.seek(to: 5_000_000)  // past the end: the end
        #expect(try readOnce(source, count: 10).isEmpty)
        try source.seek(to: 40)  // gone from the ring: a new GET of the rest
        #expect(try readToEnd(source, readSize: 4096) == Array(body[40...]))
        #expect(counting.gets.map(\.range) == ["bytes=0-999999", "bytes=950000-999999", "bytes=40-999999"])
    }

    @Test(
        "the demuxer's opening: 64 KiB read, the transfer runs ahead as far as it may, a seek back into the header costs no GET"
    )
    func seekBackAfterTheTransferRanAhead() throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-back")
        let body = pattern(3_000_000, seed: 13)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k")
        var opening = try readOnce(source, count: 65_536)
        while opening.count < 65_536 { opening += try readOnce(source, count: 65_536 - opening.count) }
        #expect(opening == Array(body[0..<65_536]))
        Thread.sleep(forTimeInterval: 0.5)  // the ring fills up meanwhile
        try source.seek(to: 12)
        #expect(try readOnce(source, count: 24) == Array(body[12..<36]))
        try source.seek(to: 65_536)
        #expect(try readToEnd(source) == Array(body[65_536...]))
        #expect(counting.gets.count == 1, "\(counting.gets)")
    }

    @Test(
        "a connection lost mid-body resumes from the first byte not received; lost too often, the read fails with exit 69"
    )
    func resumesAfterLostConnection() throws {
        let dropping = DroppingTransport(sharedTransport, dropAfter: 70_000, drops: 2)
        let counting = RangeLoggingTransport(dropping)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-drop")
        let body = pattern(300_000, seed: 5)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", bufferSize: 32_768)
        #expect(try readToEnd(source, readSize: 5_000) == body)
        let ranges = counting.gets.compactMap(\.range)
        // Each GET is cut after 70000 bytes (less whatever curl had in hand): resumed where it stopped.
        #expect(ranges.count == 3 && ranges.first == "bytes=0-299999", "\(ranges)")
        #expect(source.requestCount == 3)

        let always = DroppingTransport(sharedTransport, dropAfter: 10_000, drops: 100)
        let failing = try S3ObjectSource(
            client: try Self.client(transport: always), bucket: bucket, key: "k", bufferSize: 32_768)
        let error = try #require(throws: S3Error.self) { try readToEnd(failing) }
        #expect(
            error.kind == .unavailable && error.message.contains("s3://\(bucket)/k") && !error.message.contains("\n"),
            "\(error)")
        #expect(always.dropped == 3)  // the first GET and two resumes (AWS_MAX_ATTEMPTS 3)
    }

    @Test("a body that is not the range asked (another Content-Range) is refused, never read as audio")
    func wrongContentRange() throws {
        let client = try Self.client(
            transport: HeaderRewritingTransport(sharedTransport, contentRange: "bytes 0-99/300000"))
        let bucket = try Moto.bucket(client, "source-range")
        _ = try client.putObject(bucket: bucket, key: "k", body: pattern(300_000, seed: 9))
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", bufferSize: 32_768)
        try source.seek(to: 100)
        let error = try #require(throws: S3Error.self) { try readOnce(source, count: 100) }
        #expect(error.kind == .remote && error.message.contains("Content-Range bytes 0-99/300000"), "\(error)")
    }

    @Test("a missing object is noSuchKey (exit 66), named s3://bucket/key in one line")
    func missingObject() throws {
        let client = try Self.client(transport: sharedTransport)
        let bucket = try Moto.bucket(client, "source-missing")
        let error = try #require(throws: S3Error.self) {
            try S3ObjectSource(client: client, bucket: bucket, key: "no/such.wav")
        }
        #expect(error.kind == .noSuchKey)
        #expect(error.message.contains("s3://\(bucket)/no/such.wav") && !error.message.contains("\n"), "\(error)")
    }

    @Test("wrong credentials are refused (HeadObject: accessDenied, exit 77); the secret appears nowhere")
    func rejectedCredentials() throws {
        let (good, server) = try Moto.client()
        let bucket = try Moto.bucket(good, "source-denied")
        _ = try good.putObject(bucket: bucket, key: "k.wav", body: pattern(1000))
        let (bad, _) = try Moto.client(secret: "wrong-secret-for-source-test")
        let error = try #require(throws: S3Error.self) { try S3ObjectSource(client: bad, bucket: bucket, key: "k.wav") }
        #expect(error.kind == .accessDenied, "\(error)")  // HeadObject's 403 has no body, so no error code
        #expect(
            !error.message.contains("wrong-secret-for-source-test") && !error.message.contains(server.secretAccessKey))
    }

    @Test("an object replaced between two reads fails with a 412 naming it, never mixes two versions")
    func changedObject() throws {
        let client = try Self.client(transport: sharedTransport)
        let bucket = try Moto.bucket(client, "source-changed")
        let first = pattern(400_000, seed: 1)
        _ = try client.putObject(bucket: bucket, key: "in.wav", body: first)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "in.wav", bufferSize: 50_000)
        #expect(try readOnce(source, count: 1000) == Array(first[0..<1000]))

        _ = try client.putObject(bucket: bucket, key: "in.wav", body: pattern(400_000, seed: 2))
        try source.seek(to: 300_000)  // past what the ring holds: a new GET
        let error = try #require(throws: S3Error.self) { try readOnce(source, count: 1000) }
        #expect(error.status == 412, "\(error)")
        #expect(error.message.contains("s3://\(bucket)/in.wav changed while it was being read"), "\(error)")
        #expect(!error.message.contains("\n"))

        // A new reader sees the new version whole.
        let fresh = try S3ObjectSource(client: client, bucket: bucket, key: "in.wav", bufferSize: 50_000)
        #expect(try readToEnd(fresh) == pattern(400_000, seed: 2))
    }

    @Test("reopened() reads the same version without a HEAD; an empty object reads as empty without a GET")
    func reopenedAndEmpty() throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-reopen")
        let body = pattern(70_000, seed: 3)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", bufferSize: 16_384)
        #expect(try readToEnd(source) == body)
        let again = source.reopened()
        #expect(again.etag == source.etag && again.size == source.size)
        #expect(try readToEnd(again) == body)

        _ = try client.putObject(bucket: bucket, key: "empty", body: [])
        let before = counting.gets.count
        let empty = try S3ObjectSource(client: client, bucket: bucket, key: "empty")
        #expect(empty.size == 0)
        #expect(try readToEnd(empty).isEmpty)
        #expect(counting.gets.count == before)
    }
}
