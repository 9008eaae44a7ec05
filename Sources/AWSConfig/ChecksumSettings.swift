/// The two data-integrity settings of the AWS SDKs, read as they read them: the environment first,
/// then the selected profile of the config file; values case-insensitive.
///
/// - `AWS_REQUEST_CHECKSUM_CALCULATION` / `request_checksum_calculation`: `when_supported` (the
///   default: send a checksum wherever the operation takes one) or `when_required` (only where the
///   operation requires one; S3 uploads do not).
/// - `AWS_RESPONSE_CHECKSUM_VALIDATION` / `response_checksum_validation`: the same two values, for
///   checking the checksums the service answers.
///
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-dataintegrity.html>
public struct ChecksumSettings: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        case whenSupported = "when_supported"
        case whenRequired = "when_required"
    }

    public var requestCalculation: Mode
    public var responseValidation: Mode

    public init(requestCalculation: Mode = .whenSupported, responseValidation: Mode = .whenSupported) {
        self.requestCalculation = requestCalculation
        self.responseValidation = responseValidation
    }

    /// Reads both settings; an unknown value is a configuration error (exit 78) naming where it came from.
    public static func resolve(environment: [String: String], profile: SharedConfigFiles.Section?, profileName: String)
        throws -> ChecksumSettings
    {
        let env = Environment(values: environment)
        func mode(_ variable: String, _ key: String) throws -> Mode {
            guard
                let (text, from) = env[variable].map({ ($0, variable) })
                    ?? profile?[key].map({ ($0, "\(key) of profile \(profileName)") })
            else { return .whenSupported }
            guard let mode = Mode(rawValue: text.trimmingSpaces().lowercased()) else {
                throw ConfigurationError(
                    .invalidConfiguration, "\(from) is \"\(text)\"; use when_supported or when_required")
            }
            return mode
        }
        return ChecksumSettings(
            requestCalculation: try mode("AWS_REQUEST_CHECKSUM_CALCULATION", "request_checksum_calculation"),
            responseValidation: try mode("AWS_RESPONSE_CHECKSUM_VALIDATION", "response_checksum_validation"))
    }
}

extension ResolvedConfiguration {
    /// The checksum settings of this configuration's profile and `environment`.
    public func checksumSettings(environment: [String: String]) throws -> ChecksumSettings {
        try ChecksumSettings.resolve(environment: environment, profile: files.profile(profile), profileName: profile)
    }
}
