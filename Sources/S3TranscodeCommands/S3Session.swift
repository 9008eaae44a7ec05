import AWSConfig
import Basics
import HTTPClient
import S3
import SigV4

/// One process's way to S3: a single curl transport (connections, DNS and TLS sessions reused across
/// every request and file), the configuration resolved as the AWS CLI resolves it, and the client.
final class S3Session: Sendable {
    let configuration: ResolvedConfiguration
    let transport: CurlTransport
    let client: S3Client
    /// The store's quirks (`--store`, `S3TRANSCODE_STORE`, or the endpoint's host).
    let store: StoreProfile
    /// `request_checksum_calculation` and `response_checksum_validation`.
    let checksumSettings: ChecksumSettings
    let verbosity: Int

    init(
        options: S3OptionGroup, verbosity: Int, cancellation: CancellationFlag,
        environment: [String: String] = ProcessEnvironment.current
    ) throws {
        let log: S3Client.Logger? = verbosity > 0 ? { @Sendable line in Console.shared.info(line) } : nil
        // Connections to S3 are not where a run spends its time: a short connect timeout only for
        // the instance metadata service, which is absent off EC2.
        let transport = CurlTransport(
            options: CurlTransport.Options(
                lowSpeedTime: S3Session.lowSpeedTime(environment),
                caBundle: try ResolvedConfiguration.caBundle(flags: options.flags, environment: environment),
                userAgent: "s3transcode/\(S3Transcode.version)", cancellation: cancellation))
        let metadataTransport = CurlTransport(
            options: CurlTransport.Options(
                connectTimeout: 1, lowSpeedTime: 2, userAgent: "s3transcode/\(S3Transcode.version)",
                cancellation: cancellation))
        let configuration = try ResolvedConfiguration.resolve(
            flags: options.flags, environment: environment, transport: transport, metadataTransport: metadataTransport)
        // Addressing stays as configured: every S3-compatible entry of the table is path-style, which
        // is already the default for a custom endpoint (`StoreProfile.pathStyle` documents it).
        let (store, storeSource) = try S3Session.store(
            options.store, environment: environment, endpoint: configuration.endpointURL)
        let checksumSettings = try configuration.checksumSettings(environment: environment)
        if verbosity > 0 {
            Console.shared.info(configuration.summary)
            Console.shared.info(
                "store \(store) (from \(storeSource)); request_checksum_calculation "
                    + "\(checksumSettings.requestCalculation.rawValue), response_checksum_validation "
                    + "\(checksumSettings.responseValidation.rawValue)")
        }
        try S3Session.requireTrust(transport, for: configuration.endpointURL ?? "https://s3.amazonaws.com")
        self.configuration = configuration
        self.transport = transport
        self.store = store
        self.checksumSettings = checksumSettings
        self.verbosity = verbosity
        self.client = S3Client(resolved: configuration, transport: transport, logger: log, cancellation: cancellation)
    }

    /// The store profile: `--store`, else `S3TRANSCODE_STORE`, else what the endpoint's host is.
    static func store(_ flag: String?, environment: [String: String], endpoint: String?) throws
        -> (StoreProfile, String)
    {
        if let flag, let profile = StoreProfile.named(flag) { return (profile, "--store") }
        if let name = environment["S3TRANSCODE_STORE"], !name.isEmpty {
            guard let profile = StoreProfile.named(name) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "S3TRANSCODE_STORE is \"\(name)\"; use one of "
                        + StoreProfile.all.map(\.name).joined(separator: ", "))
            }
            return (profile, "S3TRANSCODE_STORE")
        }
        return (
            StoreProfile.profile(forEndpoint: endpoint), endpoint == nil ? "no custom endpoint" : "the endpoint's host"
        )
    }

    /// HTTPS needs certificate authorities: without any, fail now with one clear line (78), not
    /// with a TLS error on the first request.
    static func requireTrust(_ transport: any HTTPTransport, for url: String) throws {
        if let curl = transport as? CurlTransport, curl.trust == nil, url.lowercased().hasPrefix("https:") {
            throw CommandFailure(.configuration, TrustStore.missingMessage)
        }
    }

    /// Seconds without a byte moving before a transfer is abandoned as stalled (and retried): 60,
    /// or `S3TRANSCODE_LOW_SPEED_TIME` (the fault-injection tests stall a proxy for seconds, not a minute).
    static func lowSpeedTime(_ environment: [String: String]) -> Int {
        environment["S3TRANSCODE_LOW_SPEED_TIME"].flatMap(Int.init).map { max(1, $0) } ?? 60
    }
}
