import HTTPClient
import SigV4

/// Credentials from a profile of the shared files, in the SDKs' order within a profile:
/// 1. `role_arn` with `source_profile` or `credential_source` (`Environment`, `Ec2InstanceMetadata`,
///    `EcsContainer`): STS AssumeRole signed with the source's credentials (source profiles chain,
///    loops are refused); `role_arn` with `web_identity_token_file`: AssumeRoleWithWebIdentity;
/// 2. `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`);
/// 3. `credential_process`.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
public struct ProfileCredentialProvider: CredentialProvider {
    public var profileName: String
    /// Chosen with `--profile` or `AWS_PROFILE`: a missing profile is then an error, not a skip.
    public var explicitlySelected: Bool
    let files: SharedConfigFiles
    let context: ProviderContext

    init(profileName: String, explicitlySelected: Bool, files: SharedConfigFiles, context: ProviderContext) {
        self.profileName = profileName
        self.explicitlySelected = explicitlySelected
        self.files = files
        self.context = context
    }

    public var source: String { "profile \(profileName) in \(files.pathsForMessages)" }

    public func credentials() throws -> Credentials? {
        guard files.profile(profileName) != nil else {
            if explicitlySelected {
                throw ConfigurationError(.invalidConfiguration,
                    "the profile \(profileName) is in neither \(files.pathsForMessages); check --profile / AWS_PROFILE or the files")
            }
            return nil
        }
        return try resolve(profileName, visited: [])
    }

    private func resolve(_ name: String, visited: [String]) throws -> Credentials? {
        guard let profile = files.profile(name) else {
            throw ConfigurationError(.invalidConfiguration,
                "the source_profile \(name) (used by profile \(visited.last ?? profileName)) is in neither \(files.pathsForMessages)")
        }
        if let roleArn = profile["role_arn"] {
            return try assumeRole(roleArn, profile: profile, name: name, visited: visited)
        }
        if let credentials = try staticCredentials(profile, name: name) { return credentials }
        if let command = profile["credential_process"] {
            return try ProcessCredentialProvider(
                command: command, profile: name, environment: context.environment.values, runner: context.runner).credentials()
        }
        if profile["sso_session"] != nil || profile["sso_start_url"] != nil {
            throw ConfigurationError(.invalidConfiguration,
                "profile \(name) uses IAM Identity Center (SSO), which s3transcode does not support; use `aws configure export-credentials --profile \(name) --format env` and the environment variables it prints")
        }
        return nil
    }

    private func staticCredentials(_ profile: SharedConfigFiles.Section, name: String) throws -> Credentials? {
        switch (profile["aws_access_key_id"], profile["aws_secret_access_key"]) {
        case let (id?, secret?):
            return Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: profile["aws_session_token"])
        case (nil, nil):
            return nil
        default:
            throw ConfigurationError(.invalidConfiguration,
                "profile \(name) has only one of aws_access_key_id and aws_secret_access_key; set both in \(files.credentialsPath)")
        }
    }

    private func assumeRole(_ roleArn: String, profile: SharedConfigFiles.Section, name: String, visited: [String]) throws -> Credentials {
        let sourceProfile = profile["source_profile"]
        let credentialSource = profile["credential_source"]
        let sessionName = profile["role_session_name"] ?? "s3transcode-\(Int(context.clock.now().timeIntervalSince1970))"
        let sts = context.sts(profile)
        if sourceProfile == nil && credentialSource == nil, let tokenFile = profile["web_identity_token_file"] {
            return try WebIdentityCredentialProvider(
                tokenFile: tokenFile, roleArn: roleArn, sessionName: profile["role_session_name"], sts: sts, files: context.files
            ).credentials()!
        }
        if profile["mfa_serial"] != nil {
            throw ConfigurationError(.invalidConfiguration,
                "profile \(name) needs an MFA code (mfa_serial), which s3transcode cannot ask for; use temporary credentials from `aws sts get-session-token` instead")
        }
        let source: Credentials
        switch (sourceProfile, credentialSource) {
        case (_?, _?):
            throw ConfigurationError(.invalidConfiguration,
                "profile \(name) sets both source_profile and credential_source; keep one")
        case (nil, nil):
            throw ConfigurationError(.invalidConfiguration,
                "profile \(name) has role_arn but no source_profile, credential_source or web_identity_token_file; add one")
        case let (sourceName?, nil):
            if sourceName == name {
                guard let own = try staticCredentials(profile, name: name) else {
                    throw ConfigurationError(.invalidConfiguration,
                        "profile \(name) is its own source_profile but has no aws_access_key_id/aws_secret_access_key")
                }
                source = own
            } else {
                let chain = visited + [name]
                guard !chain.contains(sourceName) else {
                    throw ConfigurationError(.invalidConfiguration,
                        "the source_profile chain \((chain + [sourceName]).joined(separator: " -> ")) loops; fix the profiles")
                }
                guard let found = try resolve(sourceName, visited: chain) else {
                    throw ConfigurationError(.invalidConfiguration,
                        "the source_profile \(sourceName) of profile \(name) has no credentials; give it keys, a role or a credential_process")
                }
                source = found
            }
        case let (nil, kind?):
            let provider: any CredentialProvider
            switch kind {
            case "Environment": provider = EnvironmentCredentialProvider(environment: context.environment.values)
            case "Ec2InstanceMetadata":
                provider = InstanceMetadataCredentialProvider(environment: context.environment.values, profile: profile, transport: context.metadataTransport)
            case "EcsContainer":
                provider = ContainerCredentialProvider(environment: context.environment.values, transport: context.transport, files: context.files)
            default:
                throw ConfigurationError(.invalidConfiguration,
                    "profile \(name) has credential_source \(kind); use Environment, Ec2InstanceMetadata or EcsContainer")
            }
            guard let found = try provider.credentials() else {
                throw ConfigurationError(.noCredentials,
                    "profile \(name) takes its source credentials from \(kind), which has none (\(provider.source))")
            }
            source = found
        }
        let duration = profile["duration_seconds"].flatMap { Int($0) }
        return try sts.assumeRole(roleArn: roleArn, sessionName: sessionName, externalId: profile["external_id"],
                                  durationSeconds: duration, using: source)
    }
}

/// What providers that call out need: injected environment, files, transports, clock, runner,
/// and how to reach STS for a profile.
struct ProviderContext: Sendable {
    var environment: Environment
    var files: any FileReader
    var transport: any HTTPTransport
    var metadataTransport: any HTTPTransport
    var clock: any WallClock
    var runner: any CommandRunner
    var region: String
    /// STS endpoint overrides in force: `AWS_ENDPOINT_URL_STS`, then the global ones.
    var stsEndpoint: @Sendable (SharedConfigFiles.Section?) -> String

    func sts(_ profile: SharedConfigFiles.Section?) -> STSClient {
        STSClient(endpoint: stsEndpoint(profile), region: region, transport: transport, clock: clock)
    }
}
