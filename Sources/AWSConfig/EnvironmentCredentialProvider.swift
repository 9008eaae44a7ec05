import SigV4

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (also the older
/// `AWS_SECURITY_TOKEN`), with `AWS_CREDENTIAL_EXPIRATION` when set.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html
public struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: Environment

    public init(environment: [String: String]) {
        self.environment = Environment(values: environment)
    }

    public var source: String { "environment (AWS_ACCESS_KEY_ID)" }

    public func credentials() throws -> Credentials? {
        let id = environment["AWS_ACCESS_KEY_ID"]
        let secret = environment["AWS_SECRET_ACCESS_KEY"]
        switch (id, secret) {
        case (nil, nil):
            return nil
        case let (id?, secret?):
            return Credentials(
                accessKeyId: id, secretAccessKey: secret,
                sessionToken: environment["AWS_SESSION_TOKEN"] ?? environment["AWS_SECURITY_TOKEN"],
                expiration: environment["AWS_CREDENTIAL_EXPIRATION"].flatMap(AmzDate.parseISO8601))
        case (_?, nil):
            throw ConfigurationError(.invalidConfiguration,
                                     "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or unset both to use a profile")
        case (nil, _?):
            throw ConfigurationError(.invalidConfiguration,
                                     "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both, or unset both to use a profile")
        }
    }
}
