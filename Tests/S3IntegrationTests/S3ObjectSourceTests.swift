import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import Testing
import TestSupport

/// Counts the GETs that reach the server, and what Range and If-Match they carried.
final class RangeLoggingTransport: HTTPTransport, @unchecked Sendable {
    let inner: any HTTPTransport
    private let log = Mutex<[(method: String, range: String?, ifMatch: String?)]>([])

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: HTTPRequest, body: UnsafeRawBufferPointer?) throws -> HTTPResponse {
        let header = { (name: String) in request.headers.first { $0.name.lowercased() == name }?.value }
        log.withLock { $0.append((request.method, header("range"), header("if-match"))) }
        return try inner.send(request, body: body)
    }

    var gets: [(range: String?, ifMatch: String?)] {
        log.withLock { $0.filter { $0.method == "GET" }.map { ($0.range, $0.ifMatch) } }
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

    @Test("reads every byte in order, in chunk-sized ranged GETs each pinned with If-Match",
          arguments: [(300_000, 65_536), (65_536, 65_536), (1, 4096), (100_000, 1 << 20)])
    func sequentialRead(size: Int, chunkSize: Int) throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-seq")
        let body = pattern(size, seed: size)
        let put = try client.putObject(bucket: bucket, key: "in/a.wav", body: body)

        let source = try S3ObjectSource(client: client, bucket: bucket, key: "in/a.wav", chunkSize: chunkSize)
        #expect(source.size == Int64(size) && source.isSeekable && source.name == "s3://\(bucket)/in/a.wav")
        #expect(source.etag == put.etag)
        #expect(try readToEnd(source, readSize: 10_000) == body)
        #expect(try readOnce(source, count: 100).isEmpty)  // at the end: 0, and no request

        let chunks = (size + chunkSize - 1) / chunkSize
        let gets = counting.gets
        #expect(gets.count == chunks)
        #expect(gets.allSatisfy { $0.ifMatch == put.etag && $0.range != nil })
        #expect(Set(gets.compactMap(\.range)) == Set((0..<chunks).map {
            "bytes=\($0 * chunkSize)-\(min(($0 + 1) * chunkSize, size) - 1)"
        }))
    }

    @Test("seeks inside the chunk cost nothing; a seek elsewhere fetches only where it lands")
    func seeks() throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-seek")
        let body = pattern(1_000_000, seed: 7)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", chunkSize: 100_000)

        #expect(try readOnce(source, count: 44) == Array(body[0..<44]))  // a WAV header
        try source.seek(to: 12)  // back into it: free
        #expect(try readOnce(source, count: 24) == Array(body[12..<36]))
        try source.seek(to: 99_990)  // the chunk's last bytes: a short read, then the next chunk
        #expect(try readOnce(source, count: 100) == Array(body[99_990..<100_000]))
        #expect(try readOnce(source, count: 100) == Array(body[100_000..<100_100]))
        try source.seek(to: 950_000)  // a LIST chunk after the data: one GET where it lands
        #expect(try readToEnd(source) == Array(body[950_000...]))
        try source.seek(to: 5_000_000)  // past the end: the end
        #expect(try readOnce(source, count: 10).isEmpty)
        try source.seek(to: 40)
        #expect(try readOnce(source, count: 8) == Array(body[40..<48]))

        // A chunk starts where the read lands: 0, 100000 (prefetched), 950000 (the seek), perhaps
        // 200000 (prefetched after 100000), 40 (back), perhaps 100040 (its prefetch).
        let ranges = counting.gets.compactMap(\.range)
        #expect(Array(ranges.prefix(2)) == ["bytes=0-99999", "bytes=100000-199999"], "\(ranges)")
        #expect(ranges.contains("bytes=950000-999999") && ranges.contains("bytes=40-100039"), "\(ranges)")
        #expect(ranges.count <= 6, "\(ranges)")
    }

    @Test("a missing object is noSuchKey (exit 66), named s3://bucket/key in one line")
    func missingObject() throws {
        let client = try Self.client(transport: sharedTransport)
        let bucket = try Moto.bucket(client, "source-missing")
        let error = try #require(throws: S3Error.self) { try S3ObjectSource(client: client, bucket: bucket, key: "no/such.wav") }
        #expect(error.kind == .noSuchKey && error.exitCode == 66)
        #expect(error.message.contains("s3://\(bucket)/no/such.wav") && !error.message.contains("\n"), "\(error)")
    }

    @Test("wrong credentials are credentialsRejected (exit 77); the secret appears nowhere")
    func rejectedCredentials() throws {
        let (good, server) = try Moto.client()
        let bucket = try Moto.bucket(good, "source-denied")
        _ = try good.putObject(bucket: bucket, key: "k.wav", body: pattern(1000))
        let (bad, _) = try Moto.client(secret: "wrong-secret-for-source-test")
        let error = try #require(throws: S3Error.self) { try S3ObjectSource(client: bad, bucket: bucket, key: "k.wav") }
        #expect(error.exitCode == 77, "\(error)")
        #expect(!error.message.contains("wrong-secret-for-source-test") && !error.message.contains(server.secretAccessKey))
    }

    @Test("an object replaced between two reads fails with a 412 naming it, never mixes two versions")
    func changedObject() throws {
        let client = try Self.client(transport: sharedTransport)
        let bucket = try Moto.bucket(client, "source-changed")
        let first = pattern(400_000, seed: 1)
        _ = try client.putObject(bucket: bucket, key: "in.wav", body: first)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "in.wav", chunkSize: 50_000)
        #expect(try readOnce(source, count: 1000) == Array(first[0..<1000]))

        _ = try client.putObject(bucket: bucket, key: "in.wav", body: pattern(400_000, seed: 2))
        try source.seek(to: 300_000)  // past the prefetched chunk: a new GET
        let error = try #require(throws: S3Error.self) { try readOnce(source, count: 1000) }
        #expect(error.status == 412, "\(error)")
        #expect(error.message.contains("s3://\(bucket)/in.wav changed while it was being read"), "\(error)")
        #expect(!error.message.contains("\n"))

        // A new reader sees the new version whole.
        let fresh = try S3ObjectSource(client: client, bucket: bucket, key: "in.wav", chunkSize: 50_000)
        #expect(try readToEnd(fresh) == pattern(400_000, seed: 2))
    }

    @Test("reopened() reads the same version without a HEAD; an empty object reads as empty without a GET")
    func reopenedAndEmpty() throws {
        let counting = RangeLoggingTransport(sharedTransport)
        let client = try Self.client(transport: counting)
        let bucket = try Moto.bucket(client, "source-reopen")
        let body = pattern(70_000, seed: 3)
        _ = try client.putObject(bucket: bucket, key: "k", body: body)
        let source = try S3ObjectSource(client: client, bucket: bucket, key: "k", chunkSize: 16_384)
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
