import Basics
import Foundation
import HTTPClient
import S3
import SigV4
import Synchronization
import TestSupport
import Testing

/// Every command at `-vv`, with requests that succeed and requests that fail, and not one secret in
/// its stdout or stderr: not the secret access key, not the session token, not one signature (the
/// `Signature=` of every Authorization header the binary sent, captured by a logging proxy between
/// it and moto; the `X-Amz-Signature` and legacy `Signature` of presigned URLs), not one presigned
/// query string. The one exception is `presign`'s own stdout, which is the URL asked for.
///
/// The secrets are distinctive (`SECRETMARKER…`, moto's generated key) and every check also asserts
/// that the run did print, and that the proxy did capture signatures, so it cannot pass vacuously.
@Suite("No secret in any output", .serialized)
struct SecretsTests {
    let server: S3TestServer
    let client: S3Client
    let bucket: String
    let folder: FixtureFolder
    let wavPath: String

    static let wrongSecret = "SECRETMARKERwrongSecret/Key+0123456789abcdef"
    static let token = "SECRETMARKERsessionToken/FwoGZXIvYXdzEJr//////////wEaDO+token=="

    init() throws {
        (client, server) = try CommandMoto.client()
        bucket = try CommandMoto.bucket(client, "secrets")
        folder = try FixtureFolder()
        try folder.writeWAV("in.wav", FixtureFolder.shortWAV(seed: 3))
        wavPath = folder.url.appendingPathComponent("in.wav").path
        _ = try client.putObject(bucket: bucket, key: "in/source.wav", body: FixtureFolder.shortWAV(seed: 4).bytes())
    }

    /// The run's environment: moto's (checking) endpoint and key, requests through `proxy`.
    func environment(_ proxy: SigningProxy?, secret: String? = nil, token: String? = nil) -> [String: String] {
        var environment = CommandLineTool.environment(for: server)
        if let secret { environment["AWS_SECRET_ACCESS_KEY"] = secret }
        if let token { environment["AWS_SESSION_TOKEN"] = token }
        if let proxy {
            environment["http_proxy"] = proxy.url
            environment["HTTP_PROXY"] = proxy.url
        }
        return environment
    }

    /// Runs `arguments` at -vv through a fresh proxy; checks the exit code, that something was
    /// printed and signatures were captured, and that none of them (nor `extra`) was printed.
    @discardableResult
    func run(
        _ arguments: [String], secret: String? = nil, token: String? = nil, expect status: Int32,
        intercept: (@Sendable (LocalResponder.Request) -> LocalResponder.Response?)? = nil,
        extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CommandLineTool.Outcome {
        let proxy = try SigningProxy(intercept: intercept)
        defer { proxy.stop() }
        let outcome = try CommandLineTool.run(
            arguments + ["-vv"], environment: environment(proxy, secret: secret, token: token))
        #expect(outcome.status == status, "\(arguments): \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(
            outcome.stderr.contains("s3: "), "-vv printed no request line: \(outcome.stderr)",
            sourceLocation: sourceLocation)
        let signatures = proxy.signatures
        #expect(!signatures.isEmpty, "the proxy saw no signed request", sourceLocation: sourceLocation)
        if token != nil {
            #expect(proxy.tokens.contains(token!), "the token was never sent", sourceLocation: sourceLocation)
        }
        let secrets = [server.secretAccessKey, Self.wrongSecret, Self.token] + signatures + extra
        SecretScan.check(
            outcome.stdout, "stdout of \(arguments.first ?? "")", secrets: secrets, sourceLocation: sourceLocation)
        SecretScan.check(
            outcome.stderr, "stderr of \(arguments.first ?? "")", secrets: secrets, sourceLocation: sourceLocation)
        return outcome
    }

    @Test("the scan finds a planted secret in any of its forms")
    func scanFindsPlantedSecrets() {
        let signature = String(repeating: "ab12", count: 16)
        #expect(
            SecretScan.leaks(in: "s3: PutObject PUT host /k?<redacted> 200", secrets: [signature, Self.token]).isEmpty)
        #expect(!SecretScan.leaks(in: "error: sig \(signature)", secrets: [signature]).isEmpty)
        #expect(
            !SecretScan.leaks(in: "token=\(S3Path.encodeQueryComponent(Self.token))", secrets: [Self.token]).isEmpty)
        #expect(!SecretScan.leaks(in: "https://h/k?X-Amz-Credential=AKID%2F2026", secrets: []).isEmpty)
    }

    // MARK: - transcode to S3

    @Test("transcode to S3: success (single PUT and multipart), wrong secret, rejected token, missing bucket")
    func transcodeToS3() throws {
        try run([wavPath, "s3://\(bucket)/out/one.mp3"], expect: 0)
        try folder.write(
            "long.wav",
            FixtureFolder.repeatedWAV(
                WAVFixture(sampleRate: 22_050, channels: 1, frames: 22_050, frequency: 300), seconds: 360))
        let multipart = try run(
            [
                folder.url.appendingPathComponent("long.wav").path, "s3://\(bucket)/out/long.mp3",
                "--part-size", "5M", "--bitrate", "128",
            ], expect: 0)
        #expect(multipart.stderr.contains("UploadPart"))
        try run([wavPath, "s3://\(bucket)/out/denied.mp3"], secret: Self.wrongSecret, expect: 77)
        let expired = try run(
            [wavPath, "s3://\(bucket)/out/token.mp3"], token: Self.token, expect: 77,
            intercept: SigningProxy.expiredToken)
        #expect(expired.stderr.contains("token"))
        let missing = try run([wavPath, "s3://no-such-bucket-\(getpid())/x.mp3"], expect: 69)
        #expect(missing.stderr.contains("does not exist"))
    }

    // MARK: - S3 input: transcode from S3, probe

    @Test("S3 to S3 and probe of an S3 input, succeeding and failing")
    func s3Input() throws {
        try run(["s3://\(bucket)/in/source.wav", "s3://\(bucket)/out/from-s3.mp3"], expect: 0)
        try run(["probe", "s3://\(bucket)/in/source.wav"], expect: 0)
        try run(["probe", "s3://\(bucket)/in/source.wav"], secret: Self.wrongSecret, expect: 77)
        try run(["probe", "s3://\(bucket)/in/missing.wav"], expect: 66)
        // A HEAD answer has no body, so S3's ExpiredToken code never reaches the client: a bodiless 400
        // to a HEAD signed with a session token is taken for an expired token, exit 77.
        try run(
            ["probe", "s3://\(bucket)/in/source.wav"], token: Self.token, expect: 77,
            intercept: SigningProxy.expiredToken)
        try run(
            ["s3://\(bucket)/in/source.wav", "s3://\(bucket)/out/token.mp3"], token: Self.token, expect: 77,
            intercept: SigningProxy.expiredToken)
    }

    // MARK: - batch

    @Test("batch to S3: success, wrong secret, missing bucket")
    func batch() throws {
        let source = try FixtureFolder()
        try source.writeShortWAVs(3)
        try run(["batch", source.path, "s3://\(bucket)/batch/", "--jobs", "2"], expect: 0)
        try run(["batch", source.path, "s3://\(bucket)/batch-denied/"], secret: Self.wrongSecret, expect: 1)
        try run(["batch", source.path, "s3://no-such-bucket-\(getpid())/b/", "--json"], expect: 1)
        try run(
            ["batch", source.path, "s3://\(bucket)/batch-token/"], token: Self.token, expect: 1,
            intercept: SigningProxy.expiredToken)
    }

    // MARK: - cleanup

    @Test("cleanup: listing and aborting a stale upload, wrong secret, missing bucket, expired token")
    func cleanup() throws {
        // A prefix without "/": moto's checker rejects percent-encoded query values, which S3 itself accepts.
        _ = try client.createMultipartUpload(bucket: bucket, key: "stale-left.mp3")
        let listed = try run(["cleanup", "s3://\(bucket)/stale", "--older-than", "0s"], expect: 0)
        #expect(listed.stdout.contains("stale-left.mp3"))
        try run(["cleanup", "s3://\(bucket)/stale", "--older-than", "0s", "--yes", "--json"], expect: 0)
        try run(["cleanup", "s3://\(bucket)", "--older-than", "0s"], secret: Self.wrongSecret, expect: 77)
        try run(["cleanup", "s3://no-such-bucket-\(getpid())", "--older-than", "0s"], expect: 69)
        try run(
            ["cleanup", "s3://\(bucket)", "--older-than", "0s"], token: Self.token, expect: 77,
            intercept: SigningProxy.expiredToken)
    }

    // MARK: - presign and presigned destinations

    @Test("presign: the URL on stdout only; nothing of it, nor the token, on stderr")
    func presign() throws {
        for token in [nil, Self.token] {
            let outcome = try CommandLineTool.run(
                ["presign", "s3://\(bucket)/p.mp3", "--method", "PUT", "-vv"],
                environment: environment(nil, token: token))
            #expect(outcome.status == 0)
            let url = outcome.stdout.trimmingCharacters(in: .newlines)
            let query = try #require(url.split(separator: "?", maxSplits: 1).last.map(String.init))
            let signature = try #require(
                query.split(separator: "&").first { $0.hasPrefix("X-Amz-Signature=") }?.dropFirst(16))
            #expect(signature.count == 64)
            #expect(!outcome.stderr.isEmpty)
            SecretScan.check(
                outcome.stderr, "stderr of presign",
                secrets: [server.secretAccessKey, Self.token, query, String(signature)])
            // stdout is the URL and nothing else: no secret key, the token only inside the URL.
            #expect(!outcome.stdout.contains(server.secretAccessKey))
            #expect(outcome.stdout.split(separator: "\n").count == 1)
        }
    }

    @Test("presigned URL destinations: SigV4 and legacy uploads, an expired URL, a refused signature")
    func presignedDestination() throws {
        var environment = environment(nil)
        environment["AWS_ENDPOINT_URL_S3"] = server.noAuthEndpoint
        environment["AWS_SECRET_ACCESS_KEY"] = Self.wrongSecret  // the no-auth moto takes any; distinctive
        let noAuth = S3Client(
            configuration: .init(region: server.region, endpoint: S3Endpoint(custom: server.noAuthEndpoint)),
            transport: CommandMoto.transport,
            credentials: .fixed(Credentials(accessKeyId: "AKIDSECRETS", secretAccessKey: Self.wrongSecret)))
        let noAuthBucket = S3TestServer.uniqueBucketName("secrets-presigned")
        try noAuth.createBucket(noAuthBucket)

        let presigned = try CommandLineTool.run(
            ["presign", "s3://\(noAuthBucket)/ok.mp3", "--method", "PUT"], environment: environment)
        let sigV4 = presigned.stdout.trimmingCharacters(in: .newlines)
        let legacy = PresignedURLTests.legacyURL(
            endpoint: server.noAuthEndpoint, bucket: noAuthBucket, key: "legacy.mp3",
            expires: Int(Timestamp().timeIntervalSince1970) + 600, secret: Self.wrongSecret)
        let expiredResponder = try LocalResponder { _ in
            .init(status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        }
        defer { expiredResponder.stop() }
        let refusedResponder = try LocalResponder { _ in
            .init(
                status: 403,
                body:
                    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>"
            )
        }
        defer { refusedResponder.stop() }
        let cases: [(url: String, status: Int32)] = [
            (sigV4, 0),
            (legacy, 0),
            (PresignedURLTests.sigV4URL(base: expiredResponder.baseURL + "/b/k.mp3"), 77),
            (
                PresignedURLTests.sigV4URL(
                    base: expiredResponder.baseURL + "/b/k.mp3", signedAt: Timestamp().addingTimeInterval(-86_400)), 77
            ),
            (PresignedURLTests.sigV4URL(base: refusedResponder.baseURL + "/b/k.mp3"), 77),
            (Self.legacyURLOver(refusedResponder.baseURL), 77),
        ]
        for (url, status) in cases {
            let outcome = try CommandLineTool.run([wavPath, url, "-vv"], environment: environment)
            #expect(outcome.status == status, "\(outcome.stderr)")
            #expect(!outcome.stderr.isEmpty)
            let query = try #require(url.split(separator: "?", maxSplits: 1).last.map(String.init))
            let signatures = query.split(separator: "&").filter {
                $0.hasPrefix("X-Amz-Signature=") || $0.hasPrefix("Signature=")
            }
            .map { String($0.split(separator: "=", maxSplits: 1)[1]) }
            #expect(signatures.count == 1)
            let secrets = [Self.wrongSecret, query] + signatures + signatures.compactMap { $0.removingPercentEncoding }
            SecretScan.check(outcome.stdout, "stdout", secrets: secrets)
            SecretScan.check(outcome.stderr, "stderr", secrets: secrets)
        }
        #expect(try noAuth.getObject(bucket: noAuthBucket, key: "ok.mp3").body.count > 1000)
    }

    static func legacyURLOver(_ base: String) -> String {
        PresignedURLTests.legacyURL(
            endpoint: base, bucket: "b", key: "k.mp3",
            expires: Int(Timestamp().timeIntervalSince1970) + 600, secret: wrongSecret)
    }
}

/// Looks for secrets in a command's output.
enum SecretScan {
    /// Markers of authentication material that no output line may carry, whatever its value.
    static let markers = [
        "Signature=", "X-Amz-Credential", "X-Amz-Security-Token", "Credential=", "AWSAccessKeyId=", "SECRETMARKER",
    ]

    static func check(
        _ text: String, _ what: String, secrets: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let found = leaks(in: text, secrets: secrets)
        #expect(
            found.isEmpty, "\(what) contains \(found.map { "\($0.prefix(4))…" }): \(text)",
            sourceLocation: sourceLocation)
    }

    /// The secrets (as given or percent-encoded) and markers found in `text`.
    static func leaks(in text: String, secrets: [String]) -> [String] {
        var found: [String] = []
        for secret in Set(secrets) where secret.count >= 8 {
            for form in Set([secret, S3Path.encodeQueryComponent(secret)]) where text.contains(form) {
                found.append(form)
            }
        }
        return found + markers.filter { text.contains($0) }
    }
}

/// An HTTP forward proxy on 127.0.0.1 (`http_proxy`) between the binary and moto: forwards each
/// request as it came, and records the signatures and session tokens it carried.
final class SigningProxy: Sendable {
    private let responder: LocalResponder
    private final class Seen: Sendable {
        let state = Mutex<(signatures: [String], tokens: [String])>(([], []))
    }
    private let seen: Seen
    var url: String { responder.baseURL }
    var signatures: [String] { seen.state.withLock { $0.signatures } }
    var tokens: [String] { seen.state.withLock { $0.tokens } }

    /// Forwards requests directly (this process has no proxy set).
    static let upstream = CurlTransport()

    /// S3's answer to a request whose session token has expired.
    static let expiredToken: @Sendable (LocalResponder.Request) -> LocalResponder.Response? = { request in
        guard request.header("x-amz-security-token") != nil else { return nil }
        return .init(
            status: 400,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ExpiredToken</Code>"
                + "<Message>The provided token has expired.</Message><RequestId>R2</RequestId></Error>")
    }

    init(intercept: (@Sendable (LocalResponder.Request) -> LocalResponder.Response?)? = nil) throws {
        let seen = Seen()
        self.seen = seen
        responder = try LocalResponder { request in
            seen.state.withLock { seen in
                if let authorization = request.header("authorization"),
                    let range = authorization.range(of: "Signature=")
                {
                    seen.signatures.append(String(authorization[range.upperBound...].prefix { $0.isHexDigit }))
                }
                if let token = request.header("x-amz-security-token") { seen.tokens.append(token) }
            }
            if let answer = intercept?(request) { return answer }
            return SigningProxy.forward(request)
        }
    }

    func stop() { responder.stop() }

    private static let hopByHop: Set<String> = [
        "host", "content-length", "connection", "proxy-connection", "keep-alive", "transfer-encoding", "expect",
    ]

    private static func forward(_ request: LocalResponder.Request) -> LocalResponder.Response {
        let headers = request.headers.filter { !hopByHop.contains($0.name) }
        let method = request.method
        do {
            let answer = try upstream.send(
                HTTPRequest(method: method, url: request.target, headers: headers),
                body: method == "GET" || method == "HEAD" || method == "DELETE" ? [] : request.body)
            var response = LocalResponder.Response(
                status: answer.status, headers: answer.headers.filter { !hopByHop.contains($0.name) })
            response.body = answer.body
            // A HEAD answer's Content-Length is the object's size: LocalResponder derives the header
            // from the body, and curl reads no body after a HEAD (the connection then closes).
            if method == "HEAD", let length = answer.header("content-length").flatMap(Int.init) {
                response.body = [UInt8](repeating: 0, count: length)
            }
            return response
        } catch {
            return .init(status: 502, body: "proxy: \(error)")
        }
    }
}
