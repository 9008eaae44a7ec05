import TestSupport
import Testing

@testable import S3TranscodeCommands

@Suite("locations as messages show them")
struct LocationTests {
    @Test("a presigned URL, or an http(s) URL refused as one, is shown without its query or user:password@")
    func redaction() throws {
        let presigned = try Location(parsing: "https://alice:hunter2@b.s3.amazonaws.com/k.mp3?X-Amz-Signature=SIGSIG")
        #expect(presigned.description == "https://b.s3.amazonaws.com/k.mp3?<redacted>")
        let refused = #expect(throws: CommandFailure.self) {
            try Location(parsing: "https://alice:hunter2@example.com/k.mp3?token=TOKTOK")
        }
        #expect(refused?.status == .usage)
        #expect(
            refused?.message.hasPrefix("https://example.com/k.mp3?<redacted>: an http(s) destination") == true,
            "\(refused?.message ?? "")")
        for secret in ["hunter2", "alice", "SIGSIG", "TOKTOK"] {
            #expect(!presigned.description.contains(secret))
            #expect(refused?.message.contains(secret) == false)
        }
    }
}

@Suite("an endpoint with user:password@ through the binary")
struct EndpointUserInfoTests {
    @Test("-v and the failure line show the endpoint without its user:password@")
    func verboseAndFailure() throws {
        let closed = try LocalResponder.ClosedPort()
        defer { closed.close() }
        var environment = CommandLineTool.bareEnvironment()
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        environment["AWS_SECRET_ACCESS_KEY"] = "not-a-real-secret"
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_ENDPOINT_URL_S3"] = "http://alice:hunter2@127.0.0.1:\(closed.port)"
        environment["AWS_CONFIG_FILE"] = "/nonexistent/s3transcode-test-config"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/s3transcode-test-credentials"
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_MAX_ATTEMPTS"] = "1"
        let outcome = try CommandLineTool.run(["probe", "s3://bucket/in.wav", "-v"], environment: environment)
        #expect(outcome.status == 69, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("endpoint http://127.0.0.1:\(closed.port) (from"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("hunter2") && !outcome.stderr.contains("alice"), "\(outcome.stderr)")
    }
}
