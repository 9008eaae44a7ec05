import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Testing

/// The presigned-URL parser and the in-memory sink that PUTs to it, against a scripted transport.
@Suite struct PresignedUploadTests {
    static let clock = Timestamp(timeIntervalSince1970: 1_700_000_000)
    static let credentials = Credentials(accessKeyId: "AKIDPRESIGN", secretAccessKey: "SECRETMARKER/presign")

    /// A SigV4 PUT URL from our own signer, signed at `clock`, valid 15 minutes.
    static func sigV4URL(headers: [(name: String, value: String)] = [], signedAt date: Timestamp = clock) -> String {
        SigV4Signer(credentials: credentials, region: "us-east-1")
            .presignedURL(
                method: "PUT", url: "https://bucket.s3.amazonaws.com/music/take%205.mp3", expires: 900, date: date,
                headers: headers)
    }

    static let legacyURL =
        "https://bucket.s3.amazonaws.com/music/a.mp3?AWSAccessKeyId=AKIDLEGACY&Expires=1700000900&Signature=SECRETMARKER%2Bsig%3D"

    static func timing(at now: Timestamp = clock) -> S3Client.Timing {
        S3Client.Timing(now: { now }, sleep: { _ in }, random: { 0 })
    }

    static func upload(
        _ url: String, headers: [(name: String, value: String)] = [("Content-Type", "audio/mpeg")],
        budget: Int = 1 << 20, transport: any HTTPTransport, at now: Timestamp = clock
    ) throws -> PresignedUpload {
        try PresignedUpload(
            url: PresignedURL(url), objectHeaders: headers, options: .init(budget: budget),
            transport: transport, timing: timing(at: now))
    }

    static func write(_ sink: PresignedUpload, _ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try sink.write($0, at: offset) }
    }

    static func md5Hex(_ bytes: [UInt8]) -> String {
        // The MD5 that S3 answers as the ETag of a single PUT; computed here independently of the sink.
        let output = Process()
        output.executableURL = URL(fileURLWithPath: "/usr/bin/md5sum")
        let input = Pipe()
        let result = Pipe()
        output.standardInput = input
        output.standardOutput = result
        try? output.run()
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
        let text = String(decoding: result.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        output.waitUntilExit()
        return String(text.prefix(32))
    }

    // MARK: - Parsing

    @Test func parsesOurOwnSigV4URL() throws {
        let url = try PresignedURL(Self.sigV4URL())
        #expect(url.form == .sigV4)
        #expect(url.signedHeaders == ["host"])
        #expect(url.expiresAt == Self.clock.addingTimeInterval(900))
        #expect(url.description == "https://bucket.s3.amazonaws.com/music/take%205.mp3?<redacted>")
        #expect(!url.hasExpired(at: Self.clock.addingTimeInterval(900), tolerance: 0))
        #expect(url.hasExpired(at: Self.clock.addingTimeInterval(901), tolerance: 0))
    }

    @Test func parsesTheLegacyForm() throws {
        let url = try PresignedURL(Self.legacyURL)
        #expect(url.form == .legacy)
        #expect(url.signedHeaders.isEmpty)
        #expect(url.expiresAt == Timestamp(timeIntervalSince1970: 1_700_000_900))
    }

    @Test func signedHeadersComeFromTheQuery() throws {
        let url = try PresignedURL(Self.sigV4URL(headers: [("x-amz-storage-class", "STANDARD_IA")]))
        #expect(url.signedHeaders == ["host", "x-amz-storage-class"])
    }

    @Test(arguments: [
        ("https://b.s3.amazonaws.com/k", "not a presigned URL"),
        ("ftp://b/k?X-Amz-Signature=SECRETMARKER", "not a presigned URL"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20200101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20200101T000000Z&X-Amz-SignedHeaders=host",
            "lacks X-Amz-Signature"
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=A&X-Amz-Date=20200101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRETMARKER",
            "X-Amz-Algorithm is not AWS4-HMAC-SHA256"
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A&X-Amz-Date=yesterday&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRETMARKER",
            "X-Amz-Date is not a date"
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A&X-Amz-Date=20200101T000000Z&X-Amz-Expires=soon&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRETMARKER",
            "X-Amz-Expires is not a number"
        ),
        ("https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Signature=SECRETMARKER", "lacks Expires"),
        (
            "https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Signature=SECRETMARKER&Expires=tomorrow",
            "Expires is not a Unix time"
        ),
        ("https://b.s3.amazonaws.com/k?versionId=SECRETMARKER", "neither X-Amz-Signature"),
    ])
    func refusesMalformedURLsWithoutQuotingThem(url: String, expected: String) {
        #expect {
            _ = try PresignedURL(url)
        } throws: { error in
            let error = error as! UploadError
            return error.kind == .invalidOptions && error.message.contains(expected)
                && !error.message.contains("SECRETMARKER") && !error.message.contains("\n")
        }
    }

    // MARK: - Which headers a PUT may carry

    @Test func sigV4SendsContentMD5AndUnsignedStandardHeaders() throws {
        let url = try PresignedURL(Self.sigV4URL())
        let headers = try url.requestHeaders(
            objectHeaders: [("Content-Type", "audio/mpeg"), ("Cache-Control", "max-age=60")], contentMD5: "MD5==")
        #expect(headers.map(\.name) == ["Content-Type", "Cache-Control", "Content-MD5"])
    }

    @Test func sigV4RefusesUnsignedAmzHeadersAndSendsSignedOnes() throws {
        let plain = try PresignedURL(Self.sigV4URL())
        #expect {
            _ = try plain.requestHeaders(objectHeaders: [("x-amz-meta-artist", "Bill")], contentMD5: nil)
        } throws: { ($0 as! UploadError).message.contains("does not sign x-amz-meta-artist") }
        let signed = try PresignedURL(Self.sigV4URL(headers: [("x-amz-storage-class", "STANDARD_IA")]))
        let headers = try signed.requestHeaders(
            objectHeaders: [("x-amz-storage-class", "STANDARD_IA")], contentMD5: nil)
        #expect(headers.map(\.name) == ["x-amz-storage-class"])
    }

    @Test func legacyLeavesOutWhatItsSignatureCovers() throws {
        let url = try PresignedURL(Self.legacyURL)
        let headers = try url.requestHeaders(
            objectHeaders: [("Content-Type", "audio/mpeg"), ("Content-Disposition", "inline")], contentMD5: "MD5==")
        #expect(headers.map(\.name) == ["Content-Disposition"])
        #expect(throws: UploadError.self) {
            try url.requestHeaders(objectHeaders: [("x-amz-acl", "private")], contentMD5: nil)
        }
    }

    // MARK: - The sink

    @Test func rewritesInMemoryThenSendsOnePutWithTheWholeBody() throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let transport = ScriptedTransport { _, sent in
            response(200, headers: [("etag", "\"\(Self.md5Hex(sent.body))\"")])
        }
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        #expect(sink.rewritableWindow == 1 << 20)
        try Self.write(sink, Array(repeating: 0, count: 100), at: 0)
        try Self.write(sink, Array(bytes[100...]), at: 100)
        try Self.write(sink, Array(bytes[..<100]), at: 0)  // the trailer's patch of the header
        #expect(transport.sent.isEmpty)
        try sink.finish()

        #expect(transport.sent.count == 1)
        let put = try #require(transport.sent.first)
        #expect(put.request.method == "PUT")
        #expect(put.request.url == Self.sigV4URL())
        #expect(put.body == bytes)
        let md5 = Self.md5Hex(bytes)
        let base64 = Data(stride(from: 0, to: 32, by: 2).map { UInt8(md5.dropFirst($0).prefix(2), radix: 16)! })
            .base64EncodedString()
        #expect(put.header("Content-MD5") == base64)
        #expect(put.header("Content-Type") == "audio/mpeg")
        #expect(put.header("Authorization") == nil)
        let result = try #require(sink.result)
        #expect(result.byteCount == 300_000 && result.etag == md5 && result.md5Hex == md5 && result.attempts == 1)
    }

    @Test func legacyPutCarriesNoContentMD5NorContentType() throws {
        let transport = ScriptedTransport { _, _ in response(200) }
        let sink = try Self.upload(Self.legacyURL, transport: transport)
        try Self.write(sink, [1, 2, 3], at: 0)
        try sink.finish()
        let put = try #require(transport.sent.first)
        #expect(put.header("Content-MD5") == nil && put.header("Content-Type") == nil)
        #expect(put.body == [1, 2, 3])
    }

    @Test func pastTheBudgetFailsAtOnceAndSendsNothing() throws {
        let transport = ScriptedTransport { _, _ in response(200) }
        let sink = try Self.upload(Self.sigV4URL(), budget: 64 << 10, transport: transport)
        try Self.write(sink, Array(repeating: 1, count: 60 << 10), at: 0)
        #expect {
            try Self.write(sink, Array(repeating: 2, count: 8 << 10), at: 60 << 10)
        } throws: { error in
            let error = error as! UploadError
            return error.kind == .outputTooLarge && error.message.contains("64 KiB memory budget")
                && error.message.contains("--max-memory") && !error.message.contains("X-Amz")
        }
        sink.abort()
        #expect(transport.sent.isEmpty)
    }

    @Test func writesPastTheEndAreRefused() throws {
        let sink = try Self.upload(Self.sigV4URL(), transport: ScriptedTransport { _, _ in response(200) })
        #expect(throws: UploadError.self) { try Self.write(sink, [1], at: 5) }
    }

    @Test func retriesServerErrorsAndDroppedConnections() throws {
        let transport = ScriptedTransport([
            .success(errorResponse(500, code: "InternalError")),
            .failure(
                TransportError(.receive, "PUT https://bucket.s3.amazonaws.com/music/take%205.mp3?… failed: reset")),
            .success(errorResponse(503, code: "SlowDown")),
            .success(response(200)),
        ])
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        try Self.write(sink, [9, 9, 9], at: 0)
        try sink.finish()
        #expect(transport.sent.count == 4)
        #expect(transport.sent.allSatisfy { $0.body == [9, 9, 9] })
        #expect(sink.result?.attempts == 4)
    }

    @Test func outOfRetriesIsARemoteFailure() throws {
        let transport = ScriptedTransport([.success(errorResponse(500, code: "InternalError"))])
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        #expect {
            try sink.finish()
        } throws: { error in
            let error = error as! UploadError
            return (error.underlying as? S3Error)?.kind == .remote && error.message.contains("after 5 attempts")
                && !error.message.contains("X-Amz")
        }
        #expect(transport.sent.count == RetryPolicy.defaultPartMaxAttempts)
    }

    @Test func anExpiredURLSaysToPresignAgain() throws {
        let transport = ScriptedTransport([
            .success(errorResponse(403, code: "AccessDenied", message: "Request has expired"))
        ])
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        #expect {
            try sink.finish()
        } throws: { error in
            let error = error as! UploadError
            return (error.underlying as? S3Error)?.kind == .accessDenied && error.message.contains("has expired")
                && error.message.contains("presign it again")
                && !error.message.contains("X-Amz")
        }
        #expect(transport.sent.count == 1)
    }

    @Test func aURLExpiredByOurClockIsRefusedBeforeEncoding() throws {
        let transport = ScriptedTransport { _, _ in response(200) }
        #expect {
            _ = try Self.upload(Self.sigV4URL(), transport: transport, at: Self.clock.addingTimeInterval(900 + 901))
        } throws: { error in
            ((error as! UploadError).underlying as? S3Error)?.kind == .accessDenied
                && (error as! UploadError).message.contains("presign it again")
        }
        // Within S3's 15 minutes of clock tolerance it is tried.
        _ = try Self.upload(Self.sigV4URL(), transport: transport, at: Self.clock.addingTimeInterval(900 + 600))
        #expect(transport.sent.isEmpty)
    }

    @Test func aWrongSignatureIsACredentialFailure() throws {
        let transport = ScriptedTransport([
            .success(
                errorResponse(
                    403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match"))
        ])
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        #expect {
            try sink.finish()
        } throws: {
            (($0 as! UploadError).underlying as? S3Error)?.kind == .credentialsRejected
                && ($0 as! UploadError).message.contains("--method PUT")
        }
    }

    @Test func anETagOtherThanTheBodysMD5IsAnIntegrityFailure() throws {
        let transport = ScriptedTransport([
            .success(response(200, headers: [("etag", "\"0123456789abcdef0123456789abcdef\"")]))
        ])
        let sink = try Self.upload(Self.sigV4URL(), transport: transport)
        try Self.write(sink, [1, 2, 3], at: 0)
        #expect { try sink.finish() } throws: { ($0 as! UploadError).kind == .integrity }
        // SSE-KMS ETags are not MD5s: not compared.
        let kms = ScriptedTransport([
            .success(
                response(
                    200,
                    headers: [
                        ("etag", "\"0123456789abcdef0123456789abcdef\""), ("x-amz-server-side-encryption", "aws:kms"),
                    ]))
        ])
        let kmsSink = try Self.upload(Self.sigV4URL(), transport: kms)
        try Self.write(kmsSink, [1, 2, 3], at: 0)
        try kmsSink.finish()
        // Nor are DSSE-KMS and SSE-C ETags (the same rule as multipart uploads).
        for header in [
            ("x-amz-server-side-encryption", "aws:kms:dsse"),
            ("X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256"),
        ] {
            let encrypted = ScriptedTransport([
                .success(
                    response(
                        200,
                        headers: [
                            ("etag", "\"0123456789abcdef0123456789abcdef\""), header,
                        ]))
            ])
            let sink = try Self.upload(Self.sigV4URL(), transport: encrypted)
            try Self.write(sink, [1, 2, 3], at: 0)
            try sink.finish()
        }
    }

    @Test func cancellationStopsBeforeThePut() throws {
        let flag = CancellationFlag()
        flag.cancel()
        let transport = ScriptedTransport { _, _ in response(200) }
        let sink = try PresignedUpload(
            url: PresignedURL(Self.sigV4URL()), objectHeaders: [], transport: transport,
            timing: Self.timing(), cancellation: flag)
        #expect { try sink.finish() } throws: { ($0 as! UploadError).kind == .cancelled }
        #expect(transport.sent.isEmpty)
    }

    @Test func logsOneRedactedLinePerAttempt() throws {
        let lines = LogLines()
        let transport = ScriptedTransport([
            .success(errorResponse(500, code: "InternalError")), .success(response(200)),
        ])
        let sink = try PresignedUpload(
            url: PresignedURL(Self.sigV4URL()), objectHeaders: [], transport: transport,
            timing: Self.timing(), logger: lines.logger)
        try sink.finish()
        #expect(lines.all.count == 2)
        #expect(lines.all.allSatisfy { $0.contains("/music/take%205.mp3?<redacted>") && !$0.contains("X-Amz") })
    }
}
