import HTTPClient
import SigV4

/// What the command line passes in (`--profile`, `--region`, `--endpoint-url`, `--path-style`).
public struct ConfigurationFlags: Sendable, Equatable {
    public var profile: String?
    public var region: String?
    public var endpointURL: String?
    public var pathStyle: Bool

    public init(profile: String? = nil, region: String? = nil, endpointURL: String? = nil, pathStyle: Bool = false) {
        self.profile = profile
        self.region = region
        self.endpointURL = endpointURL
        self.pathStyle = pathStyle
    }
}

/// How buckets are addressed. `auto`: virtual-hosted on AWS for DNS-compatible names (no dots),
/// path-style otherwise and on custom endpoints.
public enum AddressingStyle: String, Sendable, Equatable {
    case auto, path, virtual
}

/// `AWS_RETRY_MODE` / `retry_mode`.
public enum RetryMode: String, Sendable, Equatable {
    case legacy, standard, adaptive
}

/// The configuration of one run, resolved from flags, environment and shared files exactly in
/// the AWS SDKs' and CLI's order. Nothing is read from the process here: the environment, the
/// file reader, the transports, the clock and the process runner are all passed in.
///
/// - Files: `AWS_CONFIG_FILE` (else `~/.aws/config`) and `AWS_SHARED_CREDENTIALS_FILE` (else
///   `~/.aws/credentials`), with `$VAR` and `~` expanded as botocore does.
/// - Profile: `--profile`, `AWS_DEFAULT_PROFILE`, `AWS_PROFILE` (botocore reads them in that order),
///   else `default`. A profile named in any of them must exist.
/// - Region: `--region`, `AWS_REGION` (AWS CLI v2 and the SDKs), `AWS_DEFAULT_REGION`, the
///   profile's `region`, else `us-east-1`.
/// - Endpoint: `--endpoint-url`; then, unless ignoring configured endpoints
///   (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` when set, else the profile's
///   `ignore_configured_endpoint_urls`; `true` in any case): `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`,
///   the `[services NAME]` section's `s3 = endpoint_url = …`, the profile's `endpoint_url`; else AWS.
/// - Addressing: `--path-style`, else the profile's `s3 = addressing_style = …`, else `auto`.
/// - `AWS_CA_BUNDLE` / `ca_bundle`, `AWS_MAX_ATTEMPTS` / `max_attempts`, `AWS_RETRY_MODE` / `retry_mode`.
/// - Credentials, botocore's chain: environment keys, the profile's `role_arn` (AssumeRole), web
///   identity, the credentials file's keys, `credential_process`, the config file's keys,
///   container, EC2 IMDS, behind a refreshing cache. With `--profile`, the environment's keys and
///   web identity variables are skipped (`AWS_PROFILE` does not skip them), as in the AWS CLI.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html
public struct ResolvedConfiguration: Sendable {
    public var profile: String
    public var region: String
    /// Where the region came from, for `-v`: `--region`, `AWS_REGION`, `profile work`, `default`.
    public var regionSource: String
    /// A custom endpoint (`scheme://host[:port][/path]`, no trailing `/`), or `nil` for Amazon S3.
    public var endpointURL: String?
    public var endpointSource: String?
    public var addressing: AddressingStyle
    public var credentials: CachingCredentialProvider
    public var caBundle: String?
    /// `nil` when not configured: the caller picks its default (3 for single calls).
    public var maxAttempts: Int?
    public var retryMode: RetryMode
    public var files: SharedConfigFiles

    /// One line for `-v`, without secrets.
    public var summary: String {
        "profile \(profile), region \(region) (from \(regionSource)), endpoint "
            + (endpointURL.map { "\(Redact.url($0)) (from \(endpointSource ?? "?"))" } ?? "Amazon S3")
            + ", addressing \(addressing.rawValue), retry mode \(retryMode.rawValue)"
            + (maxAttempts.map { ", max attempts \($0)" } ?? "")
    }

    /// Resolves everything except the credentials themselves, which are fetched on first use.
    ///
    /// - Parameters:
    ///   - metadataTransport: used for EC2 instance metadata; pass one with a short connect
    ///     timeout (about 1 s). Defaults to `transport`.
    public static func resolve(
        flags: ConfigurationFlags,
        environment: [String: String],
        files reader: any FileReader = LocalFiles(),
        transport: any HTTPTransport,
        metadataTransport: (any HTTPTransport)? = nil,
        clock: any WallClock = SystemClock(),
        runner: any CommandRunner = ShellCommandRunner()
    ) throws -> ResolvedConfiguration {
        let env = Environment(values: environment)
        let (files, profileName, profile) = try loadProfile(flags: flags, env: env, reader: reader)
        let expand = { (path: String) in expandPath(path, env) }
        let servicesName = profile?["services"]
        let services = servicesName.flatMap { files.services($0) }

        // Region.
        let region: String
        let regionSource: String
        if let value = flags.region.flatMap({ $0.isEmpty ? nil : $0 }) {
            (region, regionSource) = (value, "--region")
        } else if let value = env["AWS_REGION"] {
            (region, regionSource) = (value, "AWS_REGION")
        } else if let value = env["AWS_DEFAULT_REGION"] {
            (region, regionSource) = (value, "AWS_DEFAULT_REGION")
        } else if let value = profile?["region"] {
            (region, regionSource) = (value, "profile \(profileName)")
        } else {
            (region, regionSource) = ("us-east-1", "default")
        }
        guard !region.isEmpty,
            region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else {
            throw ConfigurationError(
                .invalidConfiguration,
                "the region \"\(region)\" (from \(regionSource)) is not a region name like us-east-1; fix it")
        }

        // Endpoint.
        // The variable, when set (even empty), decides; the profile's setting only without it.
        let ignoreConfigured =
            (environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]
            ?? profile?.properties["ignore_configured_endpoint_urls"])?.lowercased() == "true"
        func configuredEndpoint(service: String, envName: String) throws -> (String, String)? {
            if ignoreConfigured { return nil }
            if let value = env[envName] { return (value, envName) }
            if let value = env["AWS_ENDPOINT_URL"] { return (value, "AWS_ENDPOINT_URL") }
            if let servicesName {
                guard let services, !services.properties.isEmpty else {
                    throw ConfigurationError(
                        .invalidConfiguration,
                        "profile \(profileName) has services = \(servicesName), but \(files.configPath) has no [services \(servicesName)] section with settings; add it or remove the line"
                    )
                }
                if let value = services.subProperties[service]?["endpoint_url"], !value.isEmpty {
                    return (value, "services \(servicesName) in \(files.configPath)")
                }
            }
            if let value = profile?["endpoint_url"] { return (value, "profile \(profileName)") }
            return nil
        }
        var endpoint: (url: String, source: String)?
        if let value = flags.endpointURL.flatMap({ $0.isEmpty ? nil : $0 }) {
            endpoint = (value, "--endpoint-url")
        } else if let found = try configuredEndpoint(service: "s3", envName: "AWS_ENDPOINT_URL_S3") {
            endpoint = found
        }
        if let found = endpoint {
            let lower = found.url.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), found.url.count > 8 else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "the endpoint \(Redact.url(found.url)) (from \(found.source)) is not an http:// or https:// URL; fix it"
                )
            }
            var trimmed = found.url
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            endpoint = (trimmed, found.source)
        }

        // Addressing.
        var addressing = AddressingStyle.auto
        if flags.pathStyle {
            addressing = .path
        } else if let style = profile?.subProperties["s3"]?["addressing_style"], !style.isEmpty {
            guard let parsed = AddressingStyle(rawValue: style.lowercased()) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "profile \(profileName) has s3 addressing_style = \(style); use auto, path or virtual")
            }
            addressing = parsed
        }

        // Transport and retry settings.
        let caBundle = (env["AWS_CA_BUNDLE"] ?? profile?["ca_bundle"]).map(expand)
        var maxAttempts: Int?
        if let (text, from) = env["AWS_MAX_ATTEMPTS"].map({ ($0, "AWS_MAX_ATTEMPTS") })
            ?? profile?["max_attempts"].map({ ($0, "max_attempts of profile \(profileName)") })
        {
            guard let value = Int(text.trimmingSpaces()), value >= 1 else {
                throw ConfigurationError(
                    .invalidConfiguration, "\(from) is \"\(text)\"; use a whole number of at least 1")
            }
            maxAttempts = value
        }
        var retryMode = RetryMode.standard
        if let (text, from) = env["AWS_RETRY_MODE"].map({ ($0, "AWS_RETRY_MODE") })
            ?? profile?["retry_mode"].map({ ($0, "retry_mode of profile \(profileName)") })
        {
            guard let mode = RetryMode(rawValue: text.lowercased()) else {
                throw ConfigurationError(
                    .invalidConfiguration, "\(from) is \"\(text)\"; use standard, legacy or adaptive")
            }
            retryMode = mode
        }

        // Credentials.
        let stsEnvironment = env
        let stsServices = services
        let stsIgnore = ignoreConfigured
        let context = ProviderContext(
            environment: env, files: reader, transport: transport,
            metadataTransport: metadataTransport ?? transport, clock: clock, runner: runner, region: region,
            stsEndpoint: { stsProfile in
                var url: String?
                if !stsIgnore {
                    url =
                        stsEnvironment["AWS_ENDPOINT_URL_STS"] ?? stsEnvironment["AWS_ENDPOINT_URL"]
                        ?? stsServices?.subProperties["sts"]?["endpoint_url"].flatMap { $0.isEmpty ? nil : $0 }
                        ?? stsProfile?["endpoint_url"]
                }
                return url ?? STSClient.defaultEndpoint(region: region)
            })
        // botocore's create_credential_resolver: an explicit --profile drops the environment's keys
        // and makes web identity read the profile only.
        let explicitProfile = !(flags.profile?.isEmpty ?? true)
        let webIdentityEnv = explicitProfile ? Environment(values: [:]) : env
        let profiles = ProfileCredentials(files: files, context: context)
        var providers: [any CredentialProvider] = []
        if !explicitProfile { providers.append(EnvironmentCredentialProvider(environment: environment)) }
        providers.append(AssumeRoleProfileProvider(profileName: profileName, profiles: profiles))
        providers.append(
            WebIdentityCredentialProvider(
                tokenFile: webIdentityEnv["AWS_WEB_IDENTITY_TOKEN_FILE"] ?? profile?["web_identity_token_file"],
                roleArn: webIdentityEnv["AWS_ROLE_ARN"] ?? profile?["role_arn"],
                sessionName: webIdentityEnv["AWS_ROLE_SESSION_NAME"] ?? profile?["role_session_name"],
                sts: context.sts(profile), files: reader))
        providers.append(ProfileCredentialProvider(profileName: profileName, profiles: profiles))
        providers.append(ContainerCredentialProvider(environment: environment, transport: transport, files: reader))
        providers.append(
            InstanceMetadataCredentialProvider(
                environment: environment, profile: profile, transport: metadataTransport ?? transport))

        return ResolvedConfiguration(
            profile: profileName, region: region, regionSource: regionSource,
            endpointURL: endpoint?.url, endpointSource: endpoint?.source, addressing: addressing,
            credentials: CachingCredentialProvider(base: CredentialProviderChain(providers), clock: clock),
            caBundle: caBundle, maxAttempts: maxAttempts, retryMode: retryMode, files: files)
    }

    /// The CA bundle alone (`AWS_CA_BUNDLE`, else the profile's `ca_bundle`), for building the
    /// transport that `resolve` then uses: the bundle must be known before the first request.
    public static func caBundle(
        flags: ConfigurationFlags, environment: [String: String], files reader: any FileReader = LocalFiles()
    ) throws -> String? {
        let env = Environment(values: environment)
        let (_, _, profile) = try loadProfile(flags: flags, env: env, reader: reader)
        return (env["AWS_CA_BUNDLE"] ?? profile?["ca_bundle"]).map { expandPath($0, env) }
    }

    /// The shared files, the selected profile's name and its settings. A profile named by
    /// `--profile`, `AWS_DEFAULT_PROFILE` or `AWS_PROFILE` must exist (botocore's ProfileNotFound).
    private static func loadProfile(
        flags: ConfigurationFlags, env: Environment, reader: any FileReader
    ) throws -> (SharedConfigFiles, String, SharedConfigFiles.Section?) {
        let files = try SharedConfigFiles(
            configPath: expandPath(env["AWS_CONFIG_FILE"] ?? "~/.aws/config", env),
            credentialsPath: expandPath(env["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", env),
            files: reader)
        let named: (name: String, by: String)? =
            flags.profile.flatMap { $0.isEmpty ? nil : ($0, "--profile") }
            ?? env["AWS_DEFAULT_PROFILE"].map { ($0, "AWS_DEFAULT_PROFILE") }
            ?? env["AWS_PROFILE"].map { ($0, "AWS_PROFILE") }
        let profileName = named?.name ?? "default"
        if let named, !files.hasProfile(named.name) {
            throw ConfigurationError(
                .invalidConfiguration,
                "the profile \(named.name) (from \(named.by)) is in neither \(files.pathsForMessages); check \(named.by) or the files"
            )
        }
        return (files, profileName, files.profile(profileName))
    }
}
