import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

/// Presigned PUT URLs as destinations, and `s3transcode presign`, through the real binary.
///
/// moto answers presigned requests with a 500 when it checks signatures, so there the uploads go to
/// the moto that checks nothing (`S3TestServer.noAuthEndpoint`); what a URL must contain is checked on
/// the URL itself, and what S3 answers an expired URL comes from a local responder. LocalStack checks
/// every presigned URL's signature, with the secret `test` whatever the key id: there the same tests
/// sign with that secret, so a URL our presigner gets wrong fails.
@Suite("Presigned URLs through the binary", .serialized)
struct PresignedURLTests {
    let server: S3TestServer
    let client: S3Client
    let bucket: String
    let folder: FixtureFolder
    let wavPath: String

    static let accessKeyId = "AKIDPRESIGNTEST"
    /// A secret that is easy to find in output (moto); LocalStack checks signatures with its own.
    static let secret = S3TestServer.selectedBackend == .localstack ? "test" : "SECRETMARKER/presign+test"

    init() throws {
        server = try S3TestServer.shared()
        client = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.noAuthEndpoint)),
            transport: CommandMoto.transport,
            credentials: .fixed(Credentials(accessKeyId: Self.accessKeyId, secretAccessKey: Self.secret)))
        bucket = S3TestServer.uniqueBucketName("presigned")
        try client.createBucket(bucket)
        folder = try FixtureFolder()
        try folder.writeWAV("in.wav", WAVFixture(sampleRate: 44_100, channels: 2, frames: 100_000, frequency: 330))
        wavPath = folder.url.appendingPathComponent("in.wav").path
    }

    /// A run against the no-auth moto with our own distinctive credentials.
    var environment: [String: String] {
        var environment = CommandLineTool.environment(for: server)
        environment["AWS_ENDPOINT_URL_S3"] = server.noAuthEndpoint
        environment["AWS_ACCESS_KEY_ID"] = Self.accessKeyId
        environment["AWS_SECRET_ACCESS_KEY"] = Self.secret
        return environment
    }

    func localRun(_ options: [String] = []) throws -> [UInt8] {
        let output = folder.url.appendingPathComponent("local-\(UUID().uuidString).mp3").path
        let run = try CommandLineTool.run([wavPath, output, "--quiet"] + options, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        return try Array(Data(contentsOf: URL(fileURLWithPath: output)))
    }

    func presign(_ key: String, _ options: [String]) throws -> String {
        let run = try CommandLineTool.run(["presign", "s3://\(bucket)/\(key)"] + options, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.trimmingCharacters(in: .newlines)
    }

    /// The legacy (signature version 2) query form, as boto3's `s3` signer makes it:
    /// `Signature = base64(HMAC-SHA1(secret, "PUT\n\n\n" + expires + "\n/bucket/key"))`.
    static func legacyURL(endpoint: String, bucket: String, key: String, expires: Int, secret: String = secret)
        -> String
    {
        let stringToSign = "PUT\n\n\n\(expires)\n/\(bucket)/\(key)"
        let mac = MessageDigest.hmac(.sha1, key: Array(secret.utf8), message: Array(stringToSign.utf8))
        let signature = Data(mac).base64EncodedString()
        return "\(endpoint)/\(bucket)/\(key)?AWSAccessKeyId=\(accessKeyId)&Expires=\(expires)"
            + "&Signature=\(S3Path.encodeQueryComponent(signature))"
    }

    static func sigV4URL(base: String, signedAt date: Timestamp = Timestamp(), expires: Int = 900) -> String {
        SigV4Signer(credentials: Credentials(accessKeyId: accessKeyId, secretAccessKey: secret), region: "us-east-1")
            .presignedURL(method: "PUT", url: base, expires: expires, date: date)
    }

    static func queryItems(_ url: String) throws -> [String: String] {
        let components = try #require(URLComponents(string: url))
        return Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
    }

    // MARK: - Uploads

    @Test(
        "presign PUT with our presigner, transcode to it: the object is the local-file run's bytes, header and all",
        arguments: [[String](), ["--vbr", "2"]])
    func sigV4Destination(options: [String]) throws {
        let key = "sigv4/take \(options.count).mp3"
        let url = try presign(key, ["--method", "PUT", "--expires", "15m"])
        let run = try CommandLineTool.run([wavPath, url, "-v"] + options, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("PutObject(presigned) PUT") && run.stderr.contains("?<redacted> 200 attempt 1/"))
        #expect(run.stderr.contains("uploaded") && run.stderr.contains("in one request"))
        #expect(!run.stderr.contains("X-Amz-Signature") && !run.stdout.contains("X-Amz-Signature"))
        let expected = try localRun(options)
        let stored = try client.getObject(bucket: bucket, key: key)
        #expect(stored.body.count == expected.count && stored.body == expected)
        let header = String(decoding: stored.body.prefix(4096), as: UTF8.self)
        #expect(header.contains(options.isEmpty ? "Info" : "Xing"))
        #expect(stored.attributes.contentType == "audio/mpeg")
    }

    @Test("a legacy AWSAccessKeyId/Expires/Signature URL works too")
    func legacyDestination() throws {
        let key = "legacy/take.mp3"
        let url = Self.legacyURL(
            endpoint: server.noAuthEndpoint, bucket: bucket, key: key,
            expires: Int(Timestamp().timeIntervalSince1970) + 900)
        let run = try CommandLineTool.run([wavPath, url, "--json"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try jsonObjects(run).first)
        #expect(report["status"] as? String == "uploaded" && report["parts"] as? Int == 1)
        #expect((report["destination"] as? String)?.hasSuffix("?<redacted>") == true)
        #expect(!run.stdout.contains("Signature=") && !run.stderr.contains("Signature="))
        let stored = try client.getObject(bucket: bucket, key: key)
        #expect(stored.body == (try localRun()))
    }

    @Test("output over --max-memory: a one-line error naming the budget, exit 73, nothing sent")
    func overBudget() throws {
        let responder = try LocalResponder { _ in .init(status: 200) }
        defer { responder.stop() }
        let url = Self.sigV4URL(base: responder.baseURL + "/bucket/big.mp3")
        let run = try CommandLineTool.run([wavPath, url, "--max-memory", "16K"], environment: environment)
        #expect(run.status == 73)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(
            run.stderr.contains("16 KiB memory budget of a presigned PUT") && run.stderr.contains("raise --max-memory"))
        #expect(!run.stderr.contains("X-Amz"))
        #expect(responder.requests.isEmpty)
    }

    @Test("an expired URL: exit 77, one line saying to presign again (S3's 403, and a URL long expired by our clock)")
    func expired() throws {
        let responder = try LocalResponder { _ in
            .init(
                status: 403,
                body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                    + "<Message>Request has expired</Message><X-Amz-Expires>900</X-Amz-Expires>"
                    + "<RequestId>R1</RequestId></Error>")
        }
        defer { responder.stop() }
        let fresh = Self.sigV4URL(base: responder.baseURL + "/bucket/late.mp3")
        let run = try CommandLineTool.run([wavPath, fresh], environment: environment)
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stderr.contains("has expired") && run.stderr.contains("presign it again"))
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(responder.requests.count == 1)  // a 403 is not retried
        #expect(responder.requests.first?.header("content-length") != nil)
        #expect(responder.requests.first?.header("transfer-encoding") == nil)

        let old = Self.sigV4URL(
            base: responder.baseURL + "/bucket/late.mp3", signedAt: Timestamp().addingTimeInterval(-7200))
        let early = try CommandLineTool.run([wavPath, old], environment: environment)
        #expect(early.status == 77)
        #expect(
            early.stderr.contains("has expired (by this machine's clock)") && early.stderr.contains("presign it again"))
        #expect(responder.requests.count == 1)
    }

    @Test("a 500 is retried, the PUT then succeeds with the same Content-Length body")
    func retried() throws {
        let calls = CallCounter()
        let responder = try LocalResponder { _ in
            calls.next() == 0
                ? .init(status: 500, body: "<Error><Code>InternalError</Code><Message>try again</Message></Error>")
                : .init(status: 200, headers: [("ETag", "\"x\"")])
        }
        defer { responder.stop() }
        let run = try CommandLineTool.run(
            [wavPath, Self.sigV4URL(base: responder.baseURL + "/b/k.mp3")], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let requests = responder.requests
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.method == "PUT" && $0.body == requests[0].body && !$0.body.isEmpty })
        #expect(
            requests.allSatisfy {
                $0.header("content-length") == String($0.body.count) && $0.header("content-md5") != nil
            })
        #expect(try localRun() == requests[1].body)
    }

    // MARK: - presign

    @Test("presign prints one URL with the SigV4 query fields; --json too")
    func presignOutput() throws {
        let url = try presign("music/a b.mp3", ["--method", "put", "--expires", "2h"])
        #expect(!url.contains("\n"))
        #expect(url.hasPrefix("\(server.noAuthEndpoint)/\(bucket)/music/a%20b.mp3?"))
        let query = try Self.queryItems(url)
        #expect(query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256")
        #expect(query["X-Amz-Expires"] == "7200")
        #expect(query["X-Amz-SignedHeaders"] == "host")
        let credential = try #require(query["X-Amz-Credential"])
        #expect(
            credential.hasPrefix(Self.accessKeyId + "/") && credential.hasSuffix("/\(server.region)/s3/aws4_request"))
        #expect(PresignedURLDates.isRecent(query["X-Amz-Date"]))
        let signature = try #require(query["X-Amz-Signature"])
        #expect(signature.count == 64 && signature.allSatisfy(\.isHexDigit))
        #expect(query["X-Amz-Security-Token"] == nil)

        let json = try CommandLineTool.run(["presign", "s3://\(bucket)/k.mp3", "--json"], environment: environment)
        #expect(json.status == 0)
        let object = try #require(try jsonObjects(json).first)
        #expect(object["method"] as? String == "GET" && object["expiresSeconds"] as? Int == 900)
        #expect((object["url"] as? String)?.contains("X-Amz-Signature=") == true)
        #expect(json.stderr.isEmpty)
    }

    @Test("a session token goes into the URL")
    func presignWithToken() throws {
        var environment = environment
        environment["AWS_SESSION_TOKEN"] = "TOKEN/with+chars="
        let run = try CommandLineTool.run(
            ["presign", "s3://\(bucket)/k.mp3", "--expires", "90s"], environment: environment)
        #expect(run.status == 0)
        let query = try Self.queryItems(run.stdout.trimmingCharacters(in: .newlines))
        #expect(query["X-Amz-Security-Token"] == "TOKEN/with+chars=" && query["X-Amz-Expires"] == "90")
    }

    @Test(
        "presign refuses bad arguments with exit 64",
        arguments: [
            (["s3://b/k", "--expires", "8d"], "at most 7 days"),
            (["s3://b/k", "--expires", "soon"], "give a duration"),
            (["s3://b/k", "--method", "DELETE"], "use GET or PUT"),
            (["local.mp3"], "presign takes an S3 object"),
        ])
    func presignRefuses(arguments: [String], expected: String) throws {
        let run = try CommandLineTool.run(["presign"] + arguments, environment: environment)
        #expect(run.status == 64)
        #expect(run.stderr.contains(expected), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test("a presigned URL destination needs no credentials at all")
    func noCredentialsNeeded() throws {
        let key = "anonymous.mp3"
        let url = try presign(key, ["--method", "PUT"])
        var environment = environment
        environment["AWS_ACCESS_KEY_ID"] = nil
        environment["AWS_SECRET_ACCESS_KEY"] = nil
        let run = try CommandLineTool.run([wavPath, url, "--quiet"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try client.getObject(bucket: bucket, key: key).body == (try localRun()))
    }
}

final class CallCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int {
        count.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

enum PresignedURLDates {
    /// `X-Amz-Date` within a minute of now.
    static func isRecent(_ text: String?) -> Bool {
        guard let text, text.count == 16 else { return false }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        guard let date = formatter.date(from: text) else { return false }
        return abs(date.timeIntervalSinceNow) < 60
    }
}
