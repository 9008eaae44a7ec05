import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Testing

@Suite("Retries, the AWS standard mode")
struct RetryTests {
    @Test(
        "backoff is min(20, random × 2^(attempt − 1))",
        arguments: [
            (1, 1.0, 1.0), (2, 1.0, 2.0), (3, 1.0, 4.0), (5, 1.0, 16.0), (6, 1.0, 20.0), (40, 1.0, 20.0),
            (1, 0.25, 0.25), (3, 0.5, 2.0), (4, 0.0, 0.0),
        ])
    func backoffSchedule(attempt: Int, random: Double, expected: Double) {
        #expect(RetryPolicy().backoff(afterAttempt: attempt, random: random) == expected)
    }

    @Test("three 503s: three attempts, two jittered sleeps, then an error naming the attempts")
    func outOfAttempts() throws {
        let transport = ScriptedTransport([
            .success(errorResponse(503, code: "SlowDown", message: "Please reduce your request rate."))
        ])
        let clock = FakeClock(random: 0.5)
        let client = makeClient(transport, clock: clock)
        let error = try #require(throws: S3Error.self) { try client.headObjectViaGet() }
        #expect(transport.sent.count == 3)
        #expect(clock.sleeps == [0.5, 1.0])
        #expect(error.attempts == 3)
        #expect(error.kind == .remote)
        #expect(error.message.contains("after 3 attempts"))
        #expect(error.message.contains("SlowDown"))
        #expect(error.message.contains("s3://bucket/key"))
    }

    @Test("maxAttempts from the policy, and a higher count for parts")
    func attemptCounts() throws {
        let transport = ScriptedTransport([.success(response(500))])
        let client = makeClient(transport, retry: RetryPolicy(maxAttempts: 2, partMaxAttempts: 4))
        #expect(throws: S3Error.self) { try client.headObjectViaGet() }
        #expect(transport.sent.count == 2)
        let body: [UInt8] = Array(repeating: 7, count: 100)
        #expect(throws: S3Error.self) {
            try body.withUnsafeBytes {
                try client.uploadPart(bucket: "bucket", key: "key", uploadId: "u", partNumber: 1, body: $0)
            }
        }
        #expect(transport.sent.count == 2 + 4)
        #expect(throws: S3Error.self) {
            try body.withUnsafeBytes {
                try client.uploadPart(
                    bucket: "bucket", key: "key", uploadId: "u", partNumber: 1, body: $0, maxAttempts: 7)
            }
        }
        #expect(transport.sent.count == 2 + 4 + 7)
    }

    @Test(
        "the streaming upload's parts get the client's part attempts when AWS_MAX_ATTEMPTS raised them above the uploader's count"
    )
    func uploaderPartAttempts() throws {
        let body: [UInt8] = Array(repeating: 7, count: 100)
        let checksums = BodyChecksums(contentMD5: "", sha256: String(repeating: "0", count: 64))
        for (clientParts, uploaderParts, expected) in [(8, 5, 8), (5, 5, 5), (5, 7, 7)] {
            let transport = ScriptedTransport([.success(response(500))])
            let client = makeClient(
                transport, retry: RetryPolicy(maxAttempts: clientParts, partMaxAttempts: clientParts))
            let store: any MultipartUploadStore = client
            #expect(throws: S3Error.self) {
                try body.withUnsafeBytes {
                    _ = try store.uploadPart(
                        UploadDestination(bucket: "bucket", key: "key"), uploadID: "u", partNumber: 2,
                        body: $0, checksums: checksums, maxAttempts: uploaderParts)
                }
            }
            #expect(transport.sent.count == expected)
        }
    }

    static let retried: [(String, Result<HTTPResponse, TransportError>)] = [
        ("connection refused", .failure(TransportError(.connect, "refused"))),
        ("timeout", .failure(TransportError(.timeout, "timed out"))),
        ("connection reset", .failure(TransportError(.receive, "reset"))),
        ("send failure", .failure(TransportError(.send, "broken pipe"))),
        ("500", .success(response(500))),
        ("502", .success(response(502))),
        ("503", .success(response(503))),
        ("504", .success(response(504))),
        ("429", .success(response(429))),
        ("SlowDown", .success(errorResponse(503, code: "SlowDown"))),
        ("RequestTimeout (400)", .success(errorResponse(400, code: "RequestTimeout"))),
        ("InternalError", .success(errorResponse(500, code: "InternalError"))),
        ("RequestTimeTooSkewed", .success(errorResponse(403, code: "RequestTimeTooSkewed"))),
        ("ExpiredToken", .success(errorResponse(400, code: "ExpiredToken"))),
    ]

    @Test("retried once, then succeeds", arguments: retried)
    func retriedConditions(name: String, failure: Result<HTTPResponse, TransportError>) throws {
        let transport = ScriptedTransport([failure, .success(response(200, "hello"))])
        let client = makeClient(transport)
        let output = try client.getObject(bucket: "bucket", key: "key")
        #expect(output.body == Array("hello".utf8))
        #expect(transport.sent.count == 2)
    }

    static let notRetried: [(String, Result<HTTPResponse, TransportError>, S3Error.Kind)] = [
        ("AccessDenied", .success(errorResponse(403, code: "AccessDenied")), .accessDenied),
        ("SignatureDoesNotMatch", .success(errorResponse(403, code: "SignatureDoesNotMatch")), .credentialsRejected),
        ("InvalidAccessKeyId", .success(errorResponse(403, code: "InvalidAccessKeyId")), .credentialsRejected),
        ("NoSuchKey", .success(errorResponse(404, code: "NoSuchKey")), .noSuchKey),
        ("NoSuchBucket", .success(errorResponse(404, code: "NoSuchBucket")), .noSuchBucket),
        ("InvalidArgument", .success(errorResponse(400, code: "InvalidArgument")), .remote),
        ("501 NotImplemented", .success(errorResponse(501, code: "NotImplemented")), .remote),
        ("TLS failure", .failure(TransportError(.tls, "certificate verify failed")), .unavailable),
        ("cancelled", .failure(TransportError(.cancelled, "cancelled")), .cancelled),
    ]

    @Test("not retried", arguments: notRetried)
    func notRetriedConditions(name: String, failure: Result<HTTPResponse, TransportError>, kind: S3Error.Kind) throws {
        let transport = ScriptedTransport([failure, .success(response(200))])
        let clock = FakeClock()
        let client = makeClient(transport, clock: clock)
        let error = try #require(throws: S3Error.self) { try client.getObject(bucket: "bucket", key: "key") }
        #expect(transport.sent.count == 1)
        #expect(clock.sleeps.isEmpty)
        #expect(error.kind == kind)
    }

    @Test("a retried body is sent whole again, with the same SHA-256")
    func bodyResentWhole() throws {
        let transport = ScriptedTransport([
            .failure(TransportError(.send, "reset")), .success(response(200, headers: [("etag", "\"e\"")])),
        ])
        let client = makeClient(transport)
        let body = (0..<1000).map { UInt8($0 % 251) }
        _ = try client.putObject(bucket: "bucket", key: "key", body: body)
        #expect(transport.sent.map(\.body) == [body, body])
        let hashes = transport.sent.map { $0.header("x-amz-content-sha256") }
        #expect(hashes == [PayloadHasher.hash(body), PayloadHasher.hash(body)])
    }

    @Test("RequestTimeTooSkewed: the clock is corrected from the response's Date before the retry")
    func clockSkewCorrected() throws {
        let clock = FakeClock(start: Timestamp(timeIntervalSince1970: 1_700_000_000))  // 2023-11-14T22:13:20Z
        // S3 is 20 minutes ahead.
        let transport = ScriptedTransport([
            .success(
                errorResponse(
                    403, code: "RequestTimeTooSkewed", extra: "<ServerTime>2023-11-14T22:33:20Z</ServerTime>",
                    headers: [("date", "Tue, 14 Nov 2023 22:33:20 GMT")])),
            .success(response(200)),
        ])
        let logs = LogLines()
        let client = makeClient(transport, clock: clock, logger: logs.logger)
        _ = try client.getObject(bucket: "bucket", key: "key")
        #expect(transport.sent.map { $0.header("x-amz-date") } == ["20231114T221320Z", "20231114T223320Z"])
        #expect(client.clockSkew == 1200)
        #expect(clock.sleeps.isEmpty)
        #expect(logs.all.contains { $0.contains("clock") })
        // Later requests are signed with the corrected clock too.
        _ = try client.getObject(bucket: "bucket", key: "key")
        #expect(transport.sent.last?.header("x-amz-date") == "20231114T223320Z")
    }

    @Test("ExpiredToken: the credentials are refreshed, then the request is retried with the new ones")
    func expiredTokenRefreshes() throws {
        let refreshes = LogLines()
        let source = S3Client.CredentialsSource { force in
            if force { refreshes.logger("refresh") }
            let fresh = !refreshes.all.isEmpty
            return Credentials(
                accessKeyId: fresh ? "ASIANEW" : "ASIAOLD", secretAccessKey: "s",
                sessionToken: fresh ? "new-token" : "old-token")
        }
        let transport = ScriptedTransport { index, _ in
            index == 0
                ? errorResponse(400, code: "ExpiredToken", message: "The provided token has expired.") : response(200)
        }
        let client = makeClient(transport, credentials: source)
        _ = try client.getObject(bucket: "bucket", key: "key")
        #expect(refreshes.all == ["refresh"])
        #expect(transport.sent.map(\.accessKeyId) == ["ASIAOLD", "ASIANEW"])
        #expect(transport.sent.map { $0.header("x-amz-security-token") } == ["old-token", "new-token"])
    }

    @Test("ExpiredToken that persists ends with exit 77 and advice")
    func expiredTokenPersists() throws {
        let transport = ScriptedTransport([.success(errorResponse(400, code: "ExpiredToken"))])
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) { try client.getObject(bucket: "bucket", key: "key") }
        #expect(error.kind == .credentialsRejected)
        #expect(error.message.contains("expired"))
    }

    @Test("the retry quota stops retries when the server keeps failing")
    func retryQuota() throws {
        let transport = ScriptedTransport([.success(response(503))])
        // 12 tokens: two retries of cost 5, then none.
        let client = makeClient(transport, retry: RetryPolicy(maxAttempts: 10, quotaCapacity: 12))
        #expect(throws: S3Error.self) { try client.headObjectViaGet() }
        #expect(transport.sent.count == 3)
        #expect(throws: S3Error.self) { try client.headObjectViaGet() }
        #expect(transport.sent.count == 4)
    }

    @Test("a cancellation flag ends the backoff and stops further attempts")
    func cancellationStopsRetries() throws {
        let flag = CancellationFlag()
        let transport = ScriptedTransport { _, _ in
            flag.cancel()
            return response(503)
        }
        let clock = FakeClock(random: 0.9)
        let client = S3Client(
            configuration: .init(region: "us-east-1", endpoint: S3Endpoint(custom: "http://127.0.0.1:9000")),
            transport: transport, credentials: .fixed(testCredentials), timing: clock.timing, cancellation: flag)
        let error = try #require(throws: S3Error.self) { try client.headObjectViaGet() }
        #expect(error.kind == .cancelled)
        #expect(transport.sent.count == 1)
        #expect(clock.sleeps.isEmpty)
    }
}

@Suite("Cancellation and cleanup")
struct CancellationTests {
    @Test("once the flag is set, requests are refused, but AbortMultipartUpload still goes out, past the flag")
    func abortSurvivesCancellation() throws {
        let flag = CancellationFlag()
        let transport = ScriptedTransport { index, _ in index == 0 ? response(503) : response(204) }
        let clock = FakeClock(random: 1.0)
        let client = S3Client(
            configuration: .init(region: "us-east-1", endpoint: S3Endpoint(custom: "http://127.0.0.1:9000")),
            transport: transport, credentials: .fixed(testCredentials), timing: clock.timing, cancellation: flag)
        flag.cancel()
        let refused = try #require(throws: S3Error.self) {
            try [UInt8](repeating: 0, count: 4).withUnsafeBytes {
                _ = try client.uploadPart(bucket: "b", key: "k", uploadId: "u", partNumber: 2, body: $0)
            }
        }
        #expect(refused.kind == .cancelled)
        #expect(transport.sent.isEmpty)

        try client.abortMultipartUpload(bucket: "b", key: "k", uploadId: "u")
        // A 503, a full (not cut short) backoff, then the 204: both past the flag.
        #expect(transport.sent.map(\.request.method) == ["DELETE", "DELETE"])
        #expect(transport.sent.allSatisfy { $0.ignoringCancellation })
        #expect(clock.sleeps == [1.0])
    }

    @Test("without a flag, nothing goes through the cleanup path")
    func ordinaryRequestsUseSend() throws {
        let transport = ScriptedTransport([.success(response(204))])
        let client = makeClient(transport)
        try client.abortMultipartUpload(bucket: "b", key: "k", uploadId: "u")
        try client.deleteObject(bucket: "b", key: "k")
        #expect(transport.sent.map(\.ignoringCancellation) == [true, false])
    }
}

extension S3Client {
    /// A single call with no body, for retry tests.
    func headObjectViaGet() throws {
        _ = try getObject(bucket: "bucket", key: "key")
    }
}
