@testable import S3TranscodeCommands
import Testing

@Suite("locations as messages show them")
struct LocationTests {
    @Test("a presigned URL, or an http(s) URL refused as one, is shown without its query or user:password@")
    func redaction() throws {
        let presigned = try Location(parsing: "https://alice:hunter2@b.s3.amazonaws.com/k.mp3?X-Amz-Signature=SIGSIG")
        #expect(presigned.description == "https://b.s3.amazonaws.com/k.mp3?<redacted>")
        let refused = #expect(throws: CommandFailure.self) { try Location(parsing: "https://alice:hunter2@example.com/k.mp3?token=TOKTOK") }
        #expect(refused?.status == .usage)
        #expect(refused?.message.hasPrefix("https://example.com/k.mp3?<redacted>: an http(s) destination") == true, "\(refused?.message ?? "")")
        for secret in ["hunter2", "alice", "SIGSIG", "TOKTOK"] {
            #expect(!presigned.description.contains(secret))
            #expect(refused?.message.contains(secret) == false)
        }
    }
}
