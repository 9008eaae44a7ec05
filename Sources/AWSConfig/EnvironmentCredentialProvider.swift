import SigV4

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (or the older
/// `AWS_SECURITY_TOKEN`), with `AWS_CREDENTIAL_EXPIRATION` when set.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html
public struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: Environment

    public init(environment: [String: String]) {
        self.environment = Environment(values: environment)
    }

    public var source: String { "environment (AWS_ACCESS_KEY_ID)" }

    /// As botocore: no key id means no credentials here (a stray secret is ignored and the chain
    /// goes on); a key id without a secret is an error. `AWS_SECURITY_TOKEN` is read before
    /// `AWS_SESSION_TOKEN`, as botocore does.
    public func credentials() throws -> Credentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"] else { return nil }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw ConfigurationError(
                .invalidConfiguration,
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or unset both to use a profile")
        }
        return Credentials(
            accessKeyId: id, secretAccessKey: secret,
            sessionToken: environment["AWS_SECURITY_TOKEN"] ?? environment["AWS_SESSION_TOKEN"],
            expiration: environment["AWS_CREDENTIAL_EXPIRATION"].flatMap(AmzDate.parseISO8601))
    }
}
