import Basics
import Foundation
import HTTPClient
import SigV4
import Testing

@testable import S3

@Suite("S3 client: requests, errors, redirects, logging")
struct S3ClientTests {
    // MARK: Error mapping

    static let mapping: [(code: String, status: Int, kind: S3Error.Kind, words: String)] = [
        ("AccessDenied", 403, .accessDenied, "allows s3:GetObject"),
        ("InvalidAccessKeyId", 403, .credentialsRejected, "AWS_ACCESS_KEY_ID"),
        ("SignatureDoesNotMatch", 403, .credentialsRejected, "secret access key"),
        ("ExpiredToken", 400, .credentialsRejected, "fresh temporary credentials"),
        ("NoSuchBucket", 404, .noSuchBucket, "bucket \"bucket\" does not exist"),
        ("NoSuchKey", 404, .noSuchKey, "s3://bucket/some key does not exist"),
        (
            "InvalidObjectState", 403, .archived,
            "s3://bucket/some key is archived (InvalidObjectState: Server says so.) and cannot be read by GetObject; restore it first"
        ),
        ("InternalError", 500, .remote, "retry later"),
        ("InvalidArgument", 400, .remote, "InvalidArgument"),
    ]

    @Test("S3 error codes become one-line messages with a kind", arguments: mapping)
    func errorMapping(code: String, status: Int, kind: S3Error.Kind, words: String) throws {
        let secretish =
            "<StringToSign>AWS4-HMAC-SHA256 SECRET-STRING-TO-SIGN</StringToSign><SignatureProvided>deadbeef</SignatureProvided>"
        let transport = ScriptedTransport([
            .success(errorResponse(status, code: code, message: "Server says\nso.", extra: secretish))
        ])
        let client = makeClient(transport, retry: RetryPolicy(maxAttempts: 1))
        let error = try #require(throws: S3Error.self) { try client.getObject(bucket: "bucket", key: "some key") }
        #expect(error.kind == kind)
        #expect(error.code == code)
        #expect(error.status == status)
        #expect(error.message.contains(words), "\(error.message)")
        #expect(!error.message.contains("\n"))
        #expect(!error.message.contains("SECRET-STRING-TO-SIGN"))
        #expect(!error.message.contains("deadbeef"))
        #expect(!error.message.contains(testCredentials.secretAccessKey))
    }

    @Test("HEAD errors carry no body: 404 is a missing key (66), 403 is permission (77)")
    func headErrors() throws {
        let transport = ScriptedTransport { index, _ in response(index == 0 ? 404 : 403) }
        let client = makeClient(transport)
        let missing = try #require(throws: S3Error.self) { try client.headObject(bucket: "bucket", key: "k") }
        #expect(missing.kind == .noSuchKey)
        let denied = try #require(throws: S3Error.self) { try client.headObject(bucket: "bucket", key: "k") }
        #expect(denied.kind == .accessDenied)
        #expect(denied.message.contains("check your credentials, and that their policy allows s3:GetObject"))
    }

    @Test(
        "a bodiless 400 to HEAD signed with a session token is an expired token (77); without one, or naming a region, it is not"
    )
    func headBadRequest() throws {
        let withToken = Credentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "TOKEN")
        let expired = try #require(throws: S3Error.self) {
            try makeClient(
                ScriptedTransport { _, _ in response(400) }, retry: RetryPolicy(maxAttempts: 1),
                credentials: .fixed(withToken)
            )
            .headObject(bucket: "bucket", key: "k")
        }
        #expect(expired.kind == .credentialsRejected)
        #expect(expired.message.contains("HTTP 400 with no error code, most likely ExpiredToken"), "\(expired.message)")
        #expect(expired.message.contains("get fresh temporary credentials"))
        #expect(!expired.message.contains("TOKEN"))

        let noToken = try #require(throws: S3Error.self) {
            try makeClient(ScriptedTransport { _, _ in response(400) }, retry: RetryPolicy(maxAttempts: 1)).headObject(
                bucket: "bucket", key: "k")
        }
        #expect(noToken.kind == .remote)

        // A server that names the code in a header is taken at its word.
        let named = try #require(throws: S3Error.self) {
            try makeClient(ScriptedTransport { _, _ in response(404, headers: [("x-amz-error-code", "NoSuchBucket")]) })
                .headObject(bucket: "bucket", key: "k")
        }
        #expect(named.kind == .noSuchBucket)
        #expect(named.code == "NoSuchBucket")

        // A wrong region still redirects rather than blaming the token.
        let regions = ScriptedTransport { index, _ in
            index == 0 ? response(400, headers: [("x-amz-bucket-region", "eu-west-1")]) : response(200)
        }
        _ = try makeClient(regions, credentials: .fixed(withToken)).headObject(bucket: "bucket", key: "k")
        #expect(regions.sent.count == 2)
        #expect(regions.sent.last?.signedRegion == "eu-west-1")
    }

    @Test("AccessDenied names the IAM action to allow, not the operation")
    func iamActionInMessage() throws {
        let transport = ScriptedTransport([.success(errorResponse(403, code: "AccessDenied"))])
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) {
            try [UInt8](repeating: 1, count: 3).withUnsafeBytes {
                _ = try client.uploadPart(bucket: "bucket", key: "k", uploadId: "u", partNumber: 1, body: $0)
            }
        }
        #expect(error.message.contains("allows s3:PutObject there"))
    }

    @Test("a transport failure out of retries is 'unavailable' (69) and names the operation and key")
    func transportFailure() throws {
        let transport = ScriptedTransport([
            .failure(TransportError(.connect, "PUT http://127.0.0.1:9/ failed: Couldn't connect to server"))
        ])
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) {
            _ = try client.putObject(bucket: "bucket", key: "k", body: [1, 2, 3])
        }
        #expect(error.kind == .unavailable)
        #expect(error.message.contains("PutObject on s3://bucket/k"))
        #expect(error.message.contains("after 3 attempts"))
    }

    // MARK: Signing and the payload hash

    @Test("every request carries x-amz-content-sha256, the real SHA-256 of its body")
    func payloadHash() throws {
        let transport = ScriptedTransport([.success(response(200, headers: [("etag", "\"x\"")]))])
        let client = makeClient(transport)
        let body = Array("hello, world".utf8)
        _ = try client.putObject(bucket: "bucket", key: "k", body: body)
        _ = try client.getObject(bucket: "bucket", key: "k")
        try body.withUnsafeBytes {
            _ = try client.uploadPart(
                bucket: "bucket", key: "k", uploadId: "u", partNumber: 1, body: $0, payloadSHA256: "precomputed")
        }
        let hashes = transport.sent.map { $0.header("x-amz-content-sha256") }
        #expect(hashes == [PayloadHasher.hash(body), PayloadHasher.emptyPayloadHash, "precomputed"])
        #expect(
            transport.sent.allSatisfy {
                $0.header("authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true
            })
    }

    @Test("the request URLs: path-style on a custom endpoint, query names encoded, uploads=")
    func requestURLs() throws {
        let transport = ScriptedTransport { _, sent in
            if sent.request.method == "POST" {
                return response(
                    200,
                    "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP+ID/1</UploadId></InitiateMultipartUploadResult>"
                )
            }
            return response(200, headers: [("etag", "\"e\"")])
        }
        let client = makeClient(transport)
        let id = try client.createMultipartUpload(bucket: "my-bucket", key: "a b/c+d=é~.mp3")
        #expect(id == "UP+ID/1")
        try [UInt8](repeating: 1, count: 10).withUnsafeBytes {
            _ = try client.uploadPart(bucket: "my-bucket", key: "a b/c+d=é~.mp3", uploadId: id, partNumber: 3, body: $0)
        }
        let urls = transport.sent.map(\.request.url)
        #expect(
            urls == [
                "http://127.0.0.1:9000/my-bucket/a%20b/c%2Bd%3D%C3%A9~.mp3?uploads=",
                "http://127.0.0.1:9000/my-bucket/a%20b/c%2Bd%3D%C3%A9~.mp3?partNumber=3&uploadId=UP%2BID%2F1",
            ])
    }

    @Test("addressing: virtual-hosted on AWS, path-style for dotted buckets, custom endpoints and when forced")
    func addressing() {
        #expect(
            S3Endpoint.aws.url(bucket: "bucket", key: "k", encodedQuery: "", region: "eu-west-1")
                == "https://bucket.s3.eu-west-1.amazonaws.com/k")
        #expect(
            S3Endpoint.aws.url(bucket: "my.bucket", key: "k", encodedQuery: "", region: "us-east-1")
                == "https://s3.us-east-1.amazonaws.com/my.bucket/k")
        #expect(
            S3Endpoint(forcePathStyle: true).url(bucket: "bucket", key: "a/b", encodedQuery: "x=1", region: "us-east-1")
                == "https://s3.us-east-1.amazonaws.com/bucket/a/b?x=1")
        #expect(
            S3Endpoint(custom: "http://localhost:9000/").url(
                bucket: "bucket", key: "k", encodedQuery: "", region: "us-east-1")
                == "http://localhost:9000/bucket/k")
        #expect(
            S3Endpoint(custom: "https://minio.example", virtualHostedForCustom: true)
                .url(bucket: "bucket", key: "k", encodedQuery: "", region: "us-east-1")
                == "https://bucket.minio.example/k")
        #expect(
            S3Endpoint.aws.url(bucket: "bucket", key: nil, encodedQuery: "list-type=2", region: "us-east-1")
                == "https://bucket.s3.us-east-1.amazonaws.com/?list-type=2")
    }

    // MARK: Region redirects

    @Test("301 PermanentRedirect with x-amz-bucket-region is followed once and remembered")
    func permanentRedirect() throws {
        let transport = ScriptedTransport { _, sent in
            if sent.signedRegion == "eu-west-1" { return response(200, "data") }
            return errorResponse(301, code: "PermanentRedirect", headers: [("x-amz-bucket-region", "eu-west-1")])
        }
        let logs = LogLines()
        let client = makeClient(transport, logger: logs.logger, endpoint: .aws)
        _ = try client.getObject(bucket: "far-bucket", key: "k")
        _ = try client.getObject(bucket: "far-bucket", key: "k2")
        #expect(transport.sent.map(\.signedRegion) == ["us-east-1", "eu-west-1", "eu-west-1"])
        #expect(
            transport.sent.map(\.request.url) == [
                "https://far-bucket.s3.us-east-1.amazonaws.com/k",
                "https://far-bucket.s3.eu-west-1.amazonaws.com/k",
                "https://far-bucket.s3.eu-west-1.amazonaws.com/k2",
            ])
        #expect(client.region(for: "far-bucket") == "eu-west-1")
        #expect(client.region(for: "other") == "us-east-1")
        #expect(logs.all.filter { $0.contains("is in region eu-west-1") }.count == 1)
    }

    @Test("400 AuthorizationHeaderMalformed naming the region is followed")
    func authorizationHeaderMalformed() throws {
        let transport = ScriptedTransport { _, sent in
            if sent.signedRegion == "ap-southeast-2" { return response(200) }
            return errorResponse(
                400, code: "AuthorizationHeaderMalformed",
                message:
                    "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-southeast-2'",
                extra: "<Region>ap-southeast-2</Region>")
        }
        let client = makeClient(transport)
        _ = try client.headObject(bucket: "b-bucket", key: "k")
        #expect(transport.sent.map(\.signedRegion) == ["us-east-1", "ap-southeast-2"])
    }

    @Test("a redirect is followed only once: a second one is an error")
    func redirectLoop() throws {
        let transport = ScriptedTransport { _, sent in
            let other = sent.signedRegion == "eu-west-1" ? "eu-west-2" : "eu-west-1"
            return errorResponse(301, code: "PermanentRedirect", headers: [("x-amz-bucket-region", other)])
        }
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) { try client.getObject(bucket: "bucket", key: "k") }
        #expect(transport.sent.count == 2)
        #expect(error.code == "PermanentRedirect")
        #expect(error.kind == .remote)
    }

    // MARK: A 200 is not always success

    static let completeResult =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>http://x/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>"

    @Test("CompleteMultipartUpload: a 200 with an <Error> body is retried, then succeeds")
    func completeErrorIn200Retried() throws {
        // S3 sends whitespace while it works, then the document.
        let transport = ScriptedTransport([
            .success(
                response(
                    200,
                    "\n   \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>"
                )),
            .success(response(200, "   " + Self.completeResult)),
        ])
        let client = makeClient(transport)
        let output = try client.completeMultipartUpload(
            bucket: "b", key: "k", uploadId: "u",
            parts: [CompletedPart(partNumber: 1, etag: "\"e1\""), CompletedPart(partNumber: 2, etag: "\"e2\"")])
        #expect(output.etag == "\"abc-2\"")
        #expect(transport.sent.count == 2)
        let body = String(decoding: transport.sent[0].body, as: UTF8.self)
        #expect(body.contains("<Part><ETag>&quot;e1&quot;</ETag><PartNumber>1</PartNumber></Part>"))
    }

    @Test("CompleteMultipartUpload: a 200 with an <Error> body every time is an error, never a success")
    func completeErrorIn200Fails() throws {
        let transport = ScriptedTransport([.success(errorResponse(200, code: "InternalError"))])
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) {
            try client.completeMultipartUpload(
                bucket: "b", key: "k", uploadId: "u", parts: [CompletedPart(partNumber: 1, etag: "e")])
        }
        #expect(error.status == 200)
        #expect(error.code == "InternalError")
        #expect(error.attempts == 3)
        #expect(transport.sent.count == 3)
    }

    // MARK: The verbose log

    @Test("-v: one line per request with method, host, path, status, attempt and duration; no query, no secrets")
    func verboseLogRedacted() throws {
        let session = Credentials(
            accessKeyId: "ASIAEXAMPLE", secretAccessKey: "SECRETSECRET", sessionToken: "TOKENTOKEN")
        let transport = ScriptedTransport([
            .success(response(503)), .success(response(200, headers: [("etag", "\"e\"")])),
        ])
        let logs = LogLines()
        let client = makeClient(transport, logger: logs.logger, credentials: .fixed(session))
        try [UInt8](repeating: 0, count: 5).withUnsafeBytes {
            _ = try client.uploadPart(
                bucket: "bucket", key: "dir/song.mp3", uploadId: "SECRET-UPLOAD-ID", partNumber: 2, body: $0)
        }
        let lines = logs.all
        #expect(lines.count == 2)
        #expect(
            lines[0].hasPrefix("s3: UploadPart PUT 127.0.0.1:9000 /bucket/dir/song.mp3?<redacted> 503 attempt 1/5 "))
        #expect(
            lines[1].hasPrefix("s3: UploadPart PUT 127.0.0.1:9000 /bucket/dir/song.mp3?<redacted> 200 attempt 2/5 "))
        #expect(lines.allSatisfy { $0.hasSuffix("s") && !$0.contains("\n") })
        for secret in ["SECRETSECRET", "TOKENTOKEN", "SECRET-UPLOAD-ID", "Signature", "partNumber"] {
            #expect(!lines.joined().contains(secret))
        }
    }

    @Test("the log line of a presigned-looking URL keeps no part of its query")
    func logLineRedaction() {
        let line = S3Client.logLine(
            operation: "GetObject", method: "GET",
            url: "https://b.s3.amazonaws.com/k%20x?X-Amz-Signature=abc&X-Amz-Credential=AKID",
            outcome: "200", attempt: 1, maxAttempts: 3, seconds: 0.25)
        #expect(line == "s3: GetObject GET b.s3.amazonaws.com /k%20x?<redacted> 200 attempt 1/3 0.250s")
        #expect(!line.contains("abc") && !line.contains("AKID"))
    }

    @Test(
        "the log line of an endpoint with user:password@ shows neither",
        arguments: [
            ("https://alice:hunter2@minio.local:9000/b/k?x-id=1", "minio.local:9000 /b/k?<redacted>"),
            ("https://alice:hunter2@minio.local", "minio.local /"),
        ])
    func logLineUserInfo(_ url: String, _ shown: String) {
        let line = S3Client.logLine(
            operation: "GetObject", method: "GET", url: url, outcome: "200", attempt: 1, maxAttempts: 3, seconds: 0)
        #expect(line == "s3: GetObject GET \(shown) 200 attempt 1/3 0.000s")
        #expect(!line.contains("hunter2") && !line.contains("alice"))
    }

    // MARK: Listing and multipart XML

    @Test("ListObjectsV2 follows continuation tokens")
    func listPagination() throws {
        let transport = ScriptedTransport { index, sent in
            let token = sent.request.url.contains("continuation-token=") ? "second" : "first"
            if token == "first" {
                return response(
                    200,
                    """
                    <ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>tok/=+1</NextContinuationToken>\
                    <Contents><Key>a&amp;1</Key><Size>3</Size><ETag>"e"</ETag></Contents><Contents><Key>b</Key><Size>4</Size></Contents></ListBucketResult>
                    """)
            }
            return response(
                200,
                "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>c</Key><Size>5</Size></Contents></ListBucketResult>"
            )
        }
        let client = makeClient(transport)
        let all = try client.listAllObjects(bucket: "b", prefix: "p")
        #expect(all.map(\.key) == ["a&1", "b", "c"])
        #expect(all.map(\.size) == [3, 4, 5])
        #expect(transport.sent[1].request.url.contains("continuation-token=tok%2F%3D%2B1"))
    }

    @Test("ListMultipartUploads follows key and upload-id markers")
    func listUploadsPagination() throws {
        let transport = ScriptedTransport { index, _ in
            if index == 0 {
                return response(
                    200,
                    """
                    <ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k1</NextKeyMarker><NextUploadIdMarker>u1</NextUploadIdMarker>\
                    <Upload><Key>k1</Key><UploadId>u1</UploadId><Initiated>2024-01-02T03:04:05.000Z</Initiated></Upload></ListMultipartUploadsResult>
                    """)
            }
            return response(
                200,
                "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>k2</Key><UploadId>u2</UploadId></Upload></ListMultipartUploadsResult>"
            )
        }
        let client = makeClient(transport)
        let uploads = try client.listMultipartUploads(bucket: "b")
        #expect(uploads.map(\.uploadId) == ["u1", "u2"])
        #expect(uploads[0].initiatedDate == Timestamp(timeIntervalSince1970: 1_704_164_645))
        #expect(transport.sent[1].request.url.hasSuffix("?key-marker=k1&upload-id-marker=u1&uploads="))
    }

    @Test("a 200 that is not S3's XML is an error that asks whether the endpoint is S3")
    func notS3() throws {
        let transport = ScriptedTransport([.success(response(200, "<html>hello</html>"))])
        let client = makeClient(transport)
        let error = try #require(throws: S3Error.self) { try client.createMultipartUpload(bucket: "b", key: "k") }
        #expect(error.message.contains("is the endpoint an S3 service?"))
    }
}
