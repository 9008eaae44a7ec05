import Basics
import HTTPClient
import SigV4

/// Credentials from a profile's keys or `credential_process`, in botocore's order (its
/// ProfileProviderBuilder): IAM Identity Center (refused: not supported), the credentials file's
/// `aws_access_key_id` + `aws_secret_access_key` (+ `aws_security_token` or `aws_session_token`),
/// `credential_process`, then the config file's keys. A secret without a key id is not
/// credentials (the next source is tried); a key id without a secret is an error.
///
/// A profile's `role_arn` is `AssumeRoleProfileProvider`'s, asked before this one.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
public struct ProfileCredentialProvider: CredentialProvider {
    public var profileName: String
    let profiles: ProfileCredentials

    init(profileName: String, profiles: ProfileCredentials) {
        self.profileName = profileName
        self.profiles = profiles
    }

    public var source: String { "profile \(profileName) in \(profiles.files.pathsForMessages)" }

    public func credentials() throws -> Credentials? {
        try profiles.keysOrProcess(profileName)
    }
}

/// A profile's `role_arn` with `source_profile` or `credential_source` (`Environment`,
/// `Ec2InstanceMetadata`, `EcsContainer`): STS AssumeRole signed with the source's credentials, as
/// botocore's AssumeRoleProvider. A profile that also has `web_identity_token_file` is left to
/// `WebIdentityCredentialProvider`. A source profile with keys (or without a role of its own) gives
/// its own credentials, through the same order as `ProfileCredentialProvider` (its web identity
/// first); one with only a role assumes it first (chains of roles; loops are refused).
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html
public struct AssumeRoleProfileProvider: CredentialProvider {
    public var profileName: String
    let profiles: ProfileCredentials

    init(profileName: String, profiles: ProfileCredentials) {
        self.profileName = profileName
        self.profiles = profiles
    }

    public var source: String { "role_arn of profile \(profileName)" }

    public func credentials() throws -> Credentials? {
        guard let profile = profiles.files.profile(profileName), ProfileCredentials.hasAssumeRoleSettings(profile)
        else {
            return nil
        }
        var visited = [profileName]
        return try profiles.assumeRole(profileName, visited: &visited)
    }
}

/// The profile-based steps of botocore's chain, shared by the providers above.
struct ProfileCredentials: Sendable {
    let files: SharedConfigFiles
    let context: ProviderContext

    static func hasAssumeRoleSettings(_ profile: SharedConfigFiles.Section) -> Bool {
        profile["role_arn"] != nil && profile["web_identity_token_file"] == nil
    }

    static func hasStaticCredentials(_ profile: SharedConfigFiles.Section) -> Bool {
        profile["aws_access_key_id"] != nil || profile["aws_secret_access_key"] != nil
    }

    /// Identity Center, the credentials file's keys, `credential_process`, the config file's keys.
    func keysOrProcess(_ name: String) throws -> Credentials? {
        guard let profile = files.profile(name) else { return nil }
        if profile["sso_role_name"] != nil || profile["sso_account_id"] != nil {
            throw ConfigurationError(
                .invalidConfiguration,
                "profile \(name) uses IAM Identity Center (SSO), which s3transcode does not support; use `aws configure export-credentials --profile \(name) --format env` and the environment variables it prints"
            )
        }
        if let found = try keys(files.credentialsFileProfile(name), name: name, file: files.credentialsPath) {
            return found
        }
        if let command = profile["credential_process"] {
            return try ProcessCredentialProvider(
                command: command, profile: name, environment: context.environment.values, runner: context.runner
            ).credentials()
        }
        return try keys(files.configFileProfile(name), name: name, file: files.configPath)
    }

    /// One file's keys for a profile: `nil` without `aws_access_key_id`.
    private func keys(_ section: SharedConfigFiles.Section?, name: String, file: String) throws -> Credentials? {
        guard let section, let id = section["aws_access_key_id"] else { return nil }
        guard let secret = section["aws_secret_access_key"] else {
            throw ConfigurationError(
                .invalidConfiguration,
                "profile \(name) in \(file) has aws_access_key_id but no aws_secret_access_key; set both")
        }
        return Credentials(
            accessKeyId: id, secretAccessKey: secret,
            sessionToken: section["aws_security_token"] ?? section["aws_session_token"])
    }

    /// STS AssumeRole for profile `name`, whose `role_arn` is set; `visited` detects loops.
    func assumeRole(_ name: String, visited: inout [String]) throws -> Credentials {
        guard let profile = files.profile(name), let roleArn = profile["role_arn"] else {
            throw ConfigurationError(.invalidConfiguration, "profile \(name) has no role_arn")
        }
        let sourceProfile = profile["source_profile"]
        let credentialSource = profile["credential_source"]
        let source: Credentials
        switch (sourceProfile, credentialSource) {
        case (_?, _?):
            throw ConfigurationError(
                .invalidConfiguration,
                "profile \(name) sets both source_profile and credential_source; keep one")
        case (nil, nil):
            throw ConfigurationError(
                .invalidConfiguration,
                "profile \(name) has role_arn but no source_profile, credential_source or web_identity_token_file; add one"
            )
        case (nil, let kind?):
            let provider: any CredentialProvider
            switch kind {
            case "Environment": provider = EnvironmentCredentialProvider(environment: context.environment.values)
            case "Ec2InstanceMetadata":
                provider = InstanceMetadataCredentialProvider(
                    environment: context.environment.values, profile: profile, transport: context.metadataTransport)
            case "EcsContainer":
                provider = ContainerCredentialProvider(
                    environment: context.environment.values, transport: context.transport, files: context.files)
            default:
                throw ConfigurationError(
                    .invalidConfiguration,
                    "profile \(name) has credential_source \(kind); use Environment, Ec2InstanceMetadata or EcsContainer"
                )
            }
            if profile["mfa_serial"] != nil { throw mfaRefused(name) }
            guard let found = try provider.credentials() else {
                // An error, not "no credentials": the profile says where they must come from (botocore's CredentialRetrievalError).
                throw ConfigurationError(
                    .invalidConfiguration,
                    "profile \(name) takes its source credentials from \(kind), which has none (\(provider.source))")
            }
            source = found
        case (let sourceName?, nil):
            guard let sourceSettings = files.profile(sourceName) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "the source_profile \(sourceName) of profile \(name) is in neither \(files.pathsForMessages)")
            }
            if visited.contains(sourceName) && (sourceName != name || !Self.hasStaticCredentials(sourceSettings)) {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "the source_profile chain \((visited + [sourceName]).joined(separator: " -> ")) loops; fix the profiles"
                )
            }
            if profile["mfa_serial"] != nil { throw mfaRefused(name) }
            visited.append(sourceName)
            source = try credentials(ofSourceProfile: sourceName, settings: sourceSettings, visited: &visited)
        }
        let sessionName =
            profile["role_session_name"] ?? "s3transcode-\(Int(context.clock.now().timeIntervalSince1970))"
        return try context.sts(profile).assumeRole(
            roleArn: roleArn, sessionName: sessionName, externalId: profile["external_id"],
            durationSeconds: profile["duration_seconds"].flatMap { Int($0) }, using: source)
    }

    /// botocore's `_resolve_credentials_from_profile`: keys (or no role) mean the profile's own
    /// credentials, web identity first; a role alone is assumed.
    private func credentials(ofSourceProfile name: String, settings: SharedConfigFiles.Section, visited: inout [String])
        throws -> Credentials
    {
        if Self.hasStaticCredentials(settings) || !Self.hasAssumeRoleSettings(settings) {
            let webIdentity = WebIdentityCredentialProvider(
                tokenFile: settings["web_identity_token_file"], roleArn: settings["role_arn"],
                sessionName: settings["role_session_name"], sts: context.sts(settings), files: context.files)
            guard let found = try webIdentity.credentials() ?? keysOrProcess(name) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "the source_profile \(name) has no credentials; give it keys, a role or a credential_process")
            }
            return found
        }
        return try assumeRole(name, visited: &visited)
    }

    private func mfaRefused(_ name: String) -> ConfigurationError {
        ConfigurationError(
            .invalidConfiguration,
            "profile \(name) needs an MFA code (mfa_serial), which s3transcode cannot ask for; use temporary credentials from `aws sts get-session-token` instead"
        )
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
