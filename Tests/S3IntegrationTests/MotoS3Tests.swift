import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

/// One transport for the whole test process, as the tool shares one across a batch.
let sharedTransport = CurlTransport()

enum Moto {
    /// A client for the server that checks SigV4 signatures.
    static func client(secret: String? = nil, accessKeyId: String? = nil, logger: S3Client.Logger? = nil) throws -> (
        S3Client, S3TestServer
    ) {
        let server = try S3TestServer.shared()
        let credentials = Credentials(
            accessKeyId: accessKeyId ?? server.accessKeyId, secretAccessKey: secret ?? server.secretAccessKey)
        let client = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: sharedTransport, credentials: .fixed(credentials), logger: logger)
        return (client, server)
    }

    /// A client for the server without signature checks.
    static func noAuthClient() throws -> S3Client {
        let server = try S3TestServer.shared()
        return S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.noAuthEndpoint)),
            transport: sharedTransport,
            credentials: .fixed(Credentials(accessKeyId: "AKIDNOAUTH", secretAccessKey: "not-checked")))
    }

    /// A new bucket on that client's server.
    static func bucket(_ client: S3Client, _ prefix: String) throws -> String {
        let bucket = S3TestServer.uniqueBucketName(prefix)
        try client.createBucket(bucket)
        return bucket
    }
}

func pattern(_ count: Int, seed: Int = 1) -> [UInt8] {
    var x = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 | 1)
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        return UInt8(truncatingIfNeeded: x)
    }
}

@Suite("S3 client against moto with SigV4 checking on")
struct MotoS3Tests {
    @Test("put, get, get with Range, head, delete")
    func objectRoundTrip() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "roundtrip")
        let body = pattern(100_000)
        let put = try client.putObject(
            bucket: bucket, key: "dir/song.mp3", body: body,
            headers: [
                ("Content-Type", "audio/mpeg"), ("x-amz-meta-source-sha256", "abc123"),
                ("Content-MD5", Data(MessageDigest.hash(.md5, body)).base64EncodedString()),
            ])
        #expect(put.etag == "\"\(MessageDigest.hash(.md5, body).map { String(format: "%02x", $0) }.joined())\"")

        let whole = try client.getObject(bucket: bucket, key: "dir/song.mp3")
        #expect(whole.body == body)
        let range = try client.getObject(bucket: bucket, key: "dir/song.mp3", range: 1000...1999)
        #expect(range.body == Array(body[1000...1999]))
        #expect(range.objectSize == 100_000)

        let head = try client.headObject(bucket: bucket, key: "dir/song.mp3")
        #expect(head.contentLength == 100_000)
        #expect(head.contentType == "audio/mpeg")
        #expect(head.metadata["source-sha256"] == "abc123")
        #expect(head.etag == put.etag)

        try client.deleteObject(bucket: bucket, key: "dir/song.mp3")
        let gone = try #require(throws: S3Error.self) { try client.headObject(bucket: bucket, key: "dir/song.mp3") }
        #expect(gone.kind == .noSuchKey)
    }

    @Test("an empty object: Content-Length 0 is sent and signed")
    func emptyObject() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "empty")
        _ = try client.putObject(bucket: bucket, key: "empty", body: [])
        #expect(try client.getObject(bucket: bucket, key: "empty").body.isEmpty)
        #expect(try client.headObject(bucket: bucket, key: "empty").contentLength == 0)
    }

    @Test("ListObjectsV2 pages through continuation tokens")
    func listPagination() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "list")
        let keys = (0..<7).map { "track-\($0).mp3" } + ["other.txt"]
        for key in keys { _ = try client.putObject(bucket: bucket, key: key, body: Array(key.utf8)) }

        let first = try client.listObjectsV2(bucket: bucket, prefix: "track-", maxKeys: 3)
        #expect(first.objects.map(\.key) == ["track-0.mp3", "track-1.mp3", "track-2.mp3"])
        #expect(first.nextContinuationToken != nil)

        let all = try client.listAllObjects(bucket: bucket, prefix: "track-", pageSize: 3)
        #expect(all.map(\.key) == (0..<7).map { "track-\($0).mp3" })
        #expect(all.map(\.size) == (0..<7).map { "track-\($0).mp3".utf8.count })
        #expect(try client.listAllObjects(bucket: bucket).count == 8)
    }

    @Test("multipart: create, upload parts out of order, list, complete; the object is the parts in order")
    func multipartUpload() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "multipart")
        let key = "album/long.mp3"
        let parts = [pattern(5 * 1024 * 1024, seed: 1), pattern(5 * 1024 * 1024, seed: 2), pattern(12345, seed: 3)]
        let uploadId = try client.createMultipartUpload(
            bucket: bucket, key: key, headers: [("Content-Type", "audio/mpeg")])

        #expect(try client.listMultipartUploads(bucket: bucket).map(\.uploadId) == [uploadId])

        var completed: [CompletedPart] = []
        for index in [2, 1, 0] {  // any order: part 1 goes last, as the uploader sends it
            let part = parts[index]
            let output = try part.withUnsafeBytes { bytes in
                try client.uploadPart(
                    bucket: bucket, key: key, uploadId: uploadId, partNumber: index + 1, body: bytes,
                    headers: [("Content-MD5", Data(MessageDigest.hash(.md5, part)).base64EncodedString())],
                    payloadSHA256: PayloadHasher.hash(bytes))
            }
            completed.append(CompletedPart(partNumber: index + 1, etag: output.etag))
        }
        completed.sort { $0.partNumber < $1.partNumber }
        let result = try client.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: completed)

        let md5s = parts.flatMap { Array(MessageDigest.hash(.md5, $0)) }
        let expected = "\"" + MessageDigest.hash(.md5, md5s).map { String(format: "%02x", $0) }.joined() + "-3\""
        #expect(result.etag == expected)
        let object = try client.getObject(bucket: bucket, key: key)
        #expect(object.body == parts.flatMap { $0 })
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("abort: the upload disappears from ListMultipartUploads; a second abort is NoSuchUpload")
    func abortUpload() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "abort")
        let uploadId = try client.createMultipartUpload(bucket: bucket, key: "k")
        try pattern(1000).withUnsafeBytes {
            _ = try client.uploadPart(bucket: bucket, key: "k", uploadId: uploadId, partNumber: 1, body: $0)
        }
        try client.abortMultipartUpload(bucket: bucket, key: "k", uploadId: uploadId)
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        let again = try #require(throws: S3Error.self) {
            try client.abortMultipartUpload(bucket: bucket, key: "k", uploadId: uploadId)
        }
        #expect(again.kind == .noSuchUpload)
        #expect(try client.listAllObjects(bucket: bucket).isEmpty)
    }

    @Test("SIGINT semantics: with the flag set, parts are refused but the abort reaches moto; nothing is left")
    func abortAfterCancellation() throws {
        let (plain, server) = try Moto.client()
        let bucket = try Moto.bucket(plain, "cancelled")
        let flag = CancellationFlag()
        let transport = CurlTransport(options: .init(cancellation: flag))
        let client = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.endpoint)),
            transport: transport,
            credentials: .fixed(Credentials(accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey)),
            cancellation: flag)
        let uploadId = try client.createMultipartUpload(bucket: bucket, key: "interrupted.mp3")
        flag.cancel()
        let refused = try #require(throws: S3Error.self) {
            try pattern(1000).withUnsafeBytes {
                _ = try client.uploadPart(
                    bucket: bucket, key: "interrupted.mp3", uploadId: uploadId, partNumber: 1, body: $0)
            }
        }
        #expect(refused.kind == .cancelled)
        try client.abortMultipartUpload(bucket: bucket, key: "interrupted.mp3", uploadId: uploadId)
        #expect(try plain.listMultipartUploads(bucket: bucket).isEmpty)
        #expect(try plain.listAllObjects(bucket: bucket).isEmpty)
    }

    @Test("a wrong secret gets SignatureDoesNotMatch: exit 77, and the message names what to check")
    func wrongSecret() throws {
        let (good, _) = try Moto.client()
        let bucket = try Moto.bucket(good, "wrongsecret")
        let (client, _) = try Moto.client(secret: "definitely-not-the-secret")
        let error = try #require(throws: S3Error.self) {
            _ = try client.putObject(bucket: bucket, key: "k", body: [1, 2, 3])
        }
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.kind == .credentialsRejected)
        #expect(error.attempts == 1)
        #expect(error.message.contains("secret access key"))
        #expect(!error.message.contains("definitely-not-the-secret"))
    }

    @Test("an unknown access key gets InvalidAccessKeyId: exit 77")
    func unknownKey() throws {
        let (client, _) = try Moto.client(accessKeyId: "AKIAUNKNOWNKEY000000")
        let error = try #require(throws: S3Error.self) { _ = try client.listObjectsV2(bucket: "any-bucket") }
        #expect(error.code == "InvalidAccessKeyId")
        #expect(error.kind == .credentialsRejected)
    }

    @Test("a missing bucket is NoSuchBucket: exit 69")
    func missingBucket() throws {
        let (client, _) = try Moto.client()
        let error = try #require(throws: S3Error.self) {
            _ = try client.putObject(bucket: "no-such-bucket-here", key: "k", body: [1])
        }
        #expect(error.kind == .noSuchBucket)
        #expect(error.message.contains("no-such-bucket-here"))
    }

    // moto's checker accepts only these of the encoded characters; the others (`+ = ( ) ' % ; , @ $ !
    // * &` and non-ASCII, measured with the AWS CLI too) are covered against the server without checks
    // and by the signer's documentation vectors.
    @Test("keys with spaces, ~ and slashes are signed as moto computes them")
    func keysSignedWithChecks() throws {
        let (client, _) = try Moto.client()
        let bucket = try Moto.bucket(client, "keys-auth")
        for key in ["with space.mp3", "tilde~name.mp3", "dir/sub dir/x y.mp3", "-_.~ AZaz09.mp3"] {
            _ = try client.putObject(bucket: bucket, key: key, body: Array(key.utf8))
            #expect(try client.getObject(bucket: bucket, key: key).body == Array(key.utf8), "\(key)")
        }
    }

    @Test("one line per request in the verbose log, with the status and no query")
    func verboseLog() throws {
        let lines = LogBox()
        let (client, server) = try Moto.client(logger: lines.append)
        let bucket = try Moto.bucket(client, "verbose")
        let uploadId = try client.createMultipartUpload(bucket: bucket, key: "k")
        try client.abortMultipartUpload(bucket: bucket, key: "k", uploadId: uploadId)
        let host = server.endpoint.replacingOccurrences(of: "http://", with: "")
        #expect(lines.all.count == 3)
        #expect(
            lines.all[1].hasPrefix("s3: CreateMultipartUpload POST \(host) /\(bucket)/k?<redacted> 200 attempt 1/3 "))
        #expect(
            lines.all[2].hasPrefix("s3: AbortMultipartUpload DELETE \(host) /\(bucket)/k?<redacted> 204 attempt 1/3 "))
        #expect(!lines.all.joined().contains(uploadId))
    }
}

@Suite("S3 client against moto without signature checks: the encodings moto's checker rejects")
struct MotoNoAuthTests {
    static let keys = [
        "plus+sign.mp3", "equals=sign.mp3", "a b+c=d~e.mp3", "unicodé/音楽/🎵.mp3", "ümlaut & ampersand.mp3",
        "semi;colon,comma.mp3", "question?mark#hash.mp3", "(1) it's 100%.mp3", "at@dollar$excl!star*.mp3",
    ]

    @Test("put, head, get and list keep the key exactly", arguments: keys)
    func encodedKeys(key: String) throws {
        let client = try Moto.noAuthClient()
        let bucket = try Moto.bucket(client, "keys")
        let body = Array(key.utf8)
        _ = try client.putObject(bucket: bucket, key: key, body: body)
        #expect(try client.headObject(bucket: bucket, key: key).contentLength == body.count)
        #expect(try client.getObject(bucket: bucket, key: key).body == body)
        #expect(try client.listAllObjects(bucket: bucket).map(\.key) == [key])
        try client.deleteObject(bucket: bucket, key: key)
        #expect(try client.listAllObjects(bucket: bucket).isEmpty)
    }

    @Test("a prefix with a slash (delimiter=%2F) lists the directory")
    func delimiter() throws {
        let client = try Moto.noAuthClient()
        let bucket = try Moto.bucket(client, "delim")
        for key in ["a/1.mp3", "a/2.mp3", "a/b/3.mp3", "c.mp3"] {
            _ = try client.putObject(bucket: bucket, key: key, body: [1])
        }
        let page = try client.listObjectsV2(bucket: bucket, prefix: "a/", delimiter: "/")
        #expect(page.objects.map(\.key) == ["a/1.mp3", "a/2.mp3"])
        #expect(page.commonPrefixes == ["a/b/"])
    }

    @Test("a presigned GET URL from our presigner fetches the object through the transport")
    func presignedGet() throws {
        let client = try Moto.noAuthClient()
        let bucket = try Moto.bucket(client, "presign")
        _ = try client.putObject(bucket: bucket, key: "a b+c.mp3", body: Array("presigned".utf8))
        let url = try client.presignedURL(method: "GET", bucket: bucket, key: "a b+c.mp3", expires: 900)
        #expect(url.contains("X-Amz-Signature="))
        let response = try sharedTransport.send(HTTPRequest(method: "GET", url: url))
        #expect(response.status == 200)
        #expect(response.body == Array("presigned".utf8))
    }
}

final class LogBox: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var append: S3Client.Logger { { line in self.lines.withLock { $0.append(line) } } }
}
