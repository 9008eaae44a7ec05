import AWSConfig
import Foundation
import HTTPClient
import SigV4
import TestSupport
import Testing

/// IMDSv2, container credentials and STS web identity over real HTTP: `CurlTransport` against a
/// responder started by the test on 127.0.0.1.
@Suite("Credential endpoints over HTTP on 127.0.0.1")
struct LocalResponderCredentialTests {
    static let expiration = "2031-01-01T00:00:00Z"

    @Test("IMDSv2 via AWS_EC2_METADATA_SERVICE_ENDPOINT")
    func imds() throws {
        let server = try LocalResponder { request in
            switch (request.method, request.target) {
            case ("PUT", "/latest/api/token"):
                guard request.header("x-aws-ec2-metadata-token-ttl-seconds") == "21600" else {
                    return .init(status: 400)
                }
                return .init(status: 200, body: "tok-123")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                guard request.header("x-aws-ec2-metadata-token") == "tok-123" else { return .init(status: 401) }
                return .init(status: 200, body: "web-role")
            case ("GET", "/latest/meta-data/iam/security-credentials/web-role"):
                guard request.header("x-aws-ec2-metadata-token") == "tok-123" else { return .init(status: 401) }
                return .init(
                    status: 200,
                    body: """
                        {"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAHTTPIMDS","SecretAccessKey":"sec","Token":"tok","Expiration":"\(Self.expiration)"}
                        """)
            default:
                return .init(status: 404)
            }
        }
        defer { server.stop() }
        let config = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(),
            environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL],
            files: InMemoryFiles([:]), transport: CurlTransport(), clock: FakeClock(t0))
        let credentials = try config.credentials.credentials(forceRefresh: false)
        #expect(credentials.accessKeyId == "ASIAHTTPIMDS")
        #expect(credentials.expiration == AmzDate.parseISO8601(Self.expiration))
        #expect(server.requests.map(\.method) == ["PUT", "GET", "GET"])
    }

    @Test("container credentials via AWS_CONTAINER_CREDENTIALS_FULL_URI and a token file")
    func container() throws {
        let server = try LocalResponder { request in
            guard request.target == "/creds?id=1", request.header("authorization") == "Bearer tkn" else {
                return .init(status: 403)
            }
            return .init(
                status: 200, headers: [("Content-Type", "application/json")],
                body: """
                    {"AccessKeyId":"ASIAHTTPCONT","SecretAccessKey":"sec","Token":"tok","Expiration":"\(Self.expiration)"}
                    """)
        }
        defer { server.stop() }
        let dir = try TempDirectory()
        let tokenFile = try dir.write("token", "Bearer tkn\n")
        let config = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(),
            environment: [
                "HOME": dir.path, "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds?id=1",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_EC2_METADATA_DISABLED": "true",
            ],
            files: LocalFiles(), transport: CurlTransport(), clock: FakeClock(t0))
        #expect(try config.credentials.credentials(forceRefresh: false).accessKeyId == "ASIAHTTPCONT")
    }

    @Test("STS AssumeRoleWithWebIdentity via AWS_ENDPOINT_URL_STS; an STS refusal is exit 77")
    func webIdentity() throws {
        let server = try LocalResponder { request in
            guard request.method == "POST", request.target == "/",
                request.header("content-type")?.hasPrefix("application/x-www-form-urlencoded") == true
            else {
                return .init(status: 400)
            }
            if request.bodyText.contains("WebIdentityToken=good-jwt") {
                return .init(
                    status: 200,
                    body: stsAnswer(
                        action: "AssumeRoleWithWebIdentity", id: "ASIAHTTPWEB", secret: "sec",
                        token: "tok", expiration: t0.addingTimeInterval(3600)))
            }
            return .init(
                status: 400,
                body:
                    "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>"
            )
        }
        defer { server.stop() }
        let dir = try TempDirectory()
        let good = try dir.write("good", "good-jwt")
        let bad = try dir.write("bad", "bad-jwt")
        func config(_ token: String) throws -> ResolvedConfiguration {
            try ResolvedConfiguration.resolve(
                flags: ConfigurationFlags(),
                environment: [
                    "HOME": dir.path, "AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::1:role/W",
                    "AWS_ENDPOINT_URL_STS": server.baseURL, "AWS_EC2_METADATA_DISABLED": "true",
                ],
                files: LocalFiles(), transport: CurlTransport(), clock: FakeClock(t0))
        }
        #expect(try config(good).credentials.credentials(forceRefresh: false).accessKeyId == "ASIAHTTPWEB")
        let error = try #require(throws: ConfigurationError.self) {
            try config(bad).credentials.credentials(forceRefresh: false)
        }
        #expect(error.kind == .credentialsRejected)
        #expect(error.description.contains("InvalidIdentityToken"))
        #expect(!error.description.contains("bad-jwt"))
    }

    @Test("an IMDS endpoint where nothing listens is skipped: no credentials, exit 78")
    func imdsUnreachable() throws {
        let closed = try LocalResponder.ClosedPort()
        defer { closed.close() }
        let port = closed.port
        let config = try ResolvedConfiguration.resolve(
            flags: ConfigurationFlags(),
            environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"],
            files: InMemoryFiles([:]), transport: CurlTransport(), clock: FakeClock(t0))
        let error = try #require(throws: ConfigurationError.self) {
            try config.credentials.credentials(forceRefresh: false)
        }
        #expect(error.kind == .noCredentials)
    }
}
