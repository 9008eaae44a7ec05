import AWSConfig
import Testing

/// `AWS_REQUEST_CHECKSUM_CALCULATION` / `request_checksum_calculation` and
/// `AWS_RESPONSE_CHECKSUM_VALIDATION` / `response_checksum_validation`, as the SDKs read them:
/// environment first, then the profile; case-insensitive; anything else refused.
@Suite("Checksum settings")
struct ChecksumSettingsTests {
    static let files = [
        "/home/u/.aws/config": """
        [default]
        request_checksum_calculation = When_Required
        [profile plain]
        region = eu-west-1
        [profile half]
        response_checksum_validation = WHEN_REQUIRED
        [profile broken]
        request_checksum_calculation = sometimes
        """
    ]

    typealias Mode = ChecksumSettings.Mode

    @Test(
        arguments: [
            ([:], nil, Mode.whenRequired, Mode.whenSupported),
            ([:], "plain", .whenSupported, .whenSupported),
            ([:], "half", .whenSupported, .whenRequired),
            (["AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported"], nil, .whenSupported, .whenSupported),
            (["AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED"], "plain", .whenRequired, .whenSupported),
            (["AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"], "plain", .whenSupported, .whenRequired),
            (["AWS_REQUEST_CHECKSUM_CALCULATION": ""], "plain", .whenSupported, .whenSupported),
        ] as [([String: String], String?, Mode, Mode)])
    func environmentThenProfile(env: [String: String], profile: String?, request: Mode, response: Mode) throws {
        var environment = env
        if let profile { environment["AWS_PROFILE"] = profile }
        let resolved = try resolve(environment, files: Self.files)
        var fullEnvironment = ["HOME": "/home/u"]
        fullEnvironment.merge(environment) { $1 }
        let settings = try resolved.checksumSettings(environment: fullEnvironment)
        #expect(settings == ChecksumSettings(requestCalculation: request, responseValidation: response))
    }

    @Test func anUnknownValueIsRefusedNamingWhereItCameFrom() throws {
        let broken = try resolve(["AWS_PROFILE": "broken"], files: Self.files)
        let error = try #require(throws: ConfigurationError.self) {
            try broken.checksumSettings(environment: ["AWS_PROFILE": "broken"])
        }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.message.contains("request_checksum_calculation of profile broken"))
        let plain = try resolve(["AWS_PROFILE": "plain"], files: Self.files)
        let fromEnvironment = try #require(throws: ConfigurationError.self) {
            try plain.checksumSettings(environment: ["AWS_RESPONSE_CHECKSUM_VALIDATION": "always"])
        }
        #expect(fromEnvironment.message.contains("AWS_RESPONSE_CHECKSUM_VALIDATION"))
    }
}
