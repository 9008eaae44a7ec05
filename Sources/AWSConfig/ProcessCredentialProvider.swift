import SigV4

/// A profile's `credential_process`: runs the command and reads its JSON (Version 1):
/// `{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …, "Expiration": …}`.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
public struct ProcessCredentialProvider: CredentialProvider {
    public var command: String
    public var profile: String
    let environment: Environment
    let runner: any CommandRunner

    public init(command: String, profile: String, environment: [String: String], runner: any CommandRunner) {
        self.command = command
        self.profile = profile
        self.environment = Environment(values: environment)
        self.runner = runner
    }

    public var source: String { "credential_process of profile \(profile)" }

    public func credentials() throws -> Credentials? {
        let what = "the credential_process of profile \(profile)"
        let (status, output) = try runner.run(command, environment: environment.values)
        guard status == 0 else {
            throw ConfigurationError(
                .invalidConfiguration,
                "\(what) exited with status \(status); run the command yourself to see why")
        }
        let document = try CredentialsDocument.decode(output, what: what)
        guard document.version == 1 else {
            throw ConfigurationError(
                .invalidConfiguration,
                "\(what) returned Version \(document.version.map(String.init) ?? "(none)"); only Version 1 is supported"
            )
        }
        return try document.credentials(what: what)
    }
}
