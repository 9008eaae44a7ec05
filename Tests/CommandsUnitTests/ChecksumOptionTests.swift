import AWSConfig
import Foundation
import S3
import Testing

@testable import S3TranscodeCommands

/// Which checksum an upload sends and which store profile it follows (no server): `--checksum`,
/// then `when_required`, then the store's default; `--store`, then `S3TRANSCODE_STORE`, then the host.
@Suite("--checksum and --store (no server)")
struct ChecksumOptionTests {
    static let required = ChecksumSettings(requestCalculation: .whenRequired)

    @Test(
        arguments: [
            ([], "aws", false, UploadChecksum(.crc32)),
            ([], "r2", false, UploadChecksum(.crc64nvme)),
            ([], "minio", false, UploadChecksum(.crc32, fullObject: false)),
            ([], "b2", false, nil),
            ([], "generic", false, nil),
            ([], "aws", true, nil),
            (["--checksum", "none"], "aws", false, nil),
            (["--checksum", "CRC32C"], "aws", false, UploadChecksum(.crc32c)),
            (["--checksum", "crc32"], "r2", false, UploadChecksum(.crc32, fullObject: false)),
            (["--checksum", "crc64nvme"], "b2", true, UploadChecksum(.crc64nvme)),
        ] as [([String], String, Bool, UploadChecksum?)])
    func theChecksumSent(arguments: [String], store: String, whenRequired: Bool, expected: UploadChecksum?) throws {
        let group = try UploadOptionGroup.parse(arguments)
        let settings = whenRequired ? Self.required : ChecksumSettings()
        let options = group.options(expectedSize: nil, store: StoreProfile.named(store)!, settings: settings)
        #expect(options.checksum == expected)
    }

    @Test func theStoresLimitsAndResponseValidationReachTheUpload() throws {
        let options = try UploadOptionGroup.parse([]).options(
            expectedSize: nil, store: StoreProfile.named("scaleway")!,
            settings: ChecksumSettings(responseValidation: .whenRequired))
        #expect(options.maxParts == 1_000)
        #expect(!options.validateAnsweredChecksums)
        #expect(
            try UploadOptionGroup.parse([]).options(expectedSize: nil, store: StoreProfile.named("r2")!).equalPartSizes)
    }

    @Test func badValuesAreUsageErrors() {
        #expect(throws: (any Error).self) { try UploadOptionGroup.parse(["--checksum", "md5"]) }
        #expect(throws: (any Error).self) { try S3OptionGroup.parse(["--store", "nonesuch"]) }
    }

    @Test func theStoreComesFromTheFlagThenTheEnvironmentThenTheHost() throws {
        let r2 = "https://acct.r2.cloudflarestorage.com"
        #expect(try S3Session.store("gcs", environment: ["S3TRANSCODE_STORE": "b2"], endpoint: r2).0.name == "gcs")
        #expect(try S3Session.store(nil, environment: ["S3TRANSCODE_STORE": "B2"], endpoint: r2).0.name == "b2")
        #expect(try S3Session.store(nil, environment: [:], endpoint: r2).0.name == "r2")
        #expect(try S3Session.store(nil, environment: [:], endpoint: nil).0.name == "aws")
        let error = try #require(throws: ConfigurationError.self) {
            try S3Session.store(nil, environment: ["S3TRANSCODE_STORE": "nonesuch"], endpoint: nil)
        }
        #expect(error.message.contains("S3TRANSCODE_STORE"))
    }
}
