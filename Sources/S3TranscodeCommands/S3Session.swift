import AWSConfig
import Foundation
import HTTPClient
import S3
import SigV4

/// One process's way to S3: a single curl transport (connections, DNS and TLS sessions reused across
/// every request and file), the configuration resolved as the AWS CLI resolves it, and the client.
final class S3Session: Sendable {
    let configuration: ResolvedConfiguration
    let transport: CurlTransport
    let client: S3Client

    init(options: S3OptionGroup, verbosity: Int, cancellation: CancellationFlag,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let log: S3Client.Logger? = verbosity > 0 ? { @Sendable line in Console.shared.info(line) } : nil
        // Connections to S3 are not where a run spends its time: a short connect timeout only for
        // the instance metadata service, which is absent off EC2.
        let transport = CurlTransport(options: CurlTransport.Options(
            caBundle: try ResolvedConfiguration.caBundle(flags: options.flags, environment: environment),
            userAgent: "s3transcode/\(S3Transcode.version)", cancellation: cancellation))
        let metadataTransport = CurlTransport(options: CurlTransport.Options(
            connectTimeout: 1, lowSpeedTime: 2, userAgent: "s3transcode/\(S3Transcode.version)", cancellation: cancellation))
        let configuration = try ResolvedConfiguration.resolve(
            flags: options.flags, environment: environment, transport: transport, metadataTransport: metadataTransport)
        if verbosity > 0 { Console.shared.info(configuration.summary) }
        let credentials = configuration.credentials
        let endpoint = S3Endpoint(custom: configuration.endpointURL, forcePathStyle: configuration.addressing == .path,
                                  virtualHostedForCustom: configuration.addressing == .virtual)
        var retry = RetryPolicy()
        if let attempts = configuration.maxAttempts { retry.maxAttempts = attempts }
        self.configuration = configuration
        self.transport = transport
        self.client = S3Client(
            configuration: S3Client.Configuration(region: configuration.region, endpoint: endpoint, retry: retry),
            transport: transport,
            credentials: S3Client.CredentialsSource { force in try credentials.credentials(forceRefresh: force) },
            logger: log, cancellation: cancellation)
    }
}
