import AWSConfig
import HTTPClient
import S3
import SigV4

extension S3Client.Configuration {
    /// The client configuration of a resolved AWS configuration: region, endpoint, addressing style
    /// and `AWS_MAX_ATTEMPTS` / `max_attempts`. Part uploads get at least `partMaxAttempts`.
    ///
    /// Every `AWS_RETRY_MODE` runs as `standard` (`legacy` and `adaptive` differ in their delays and
    /// client-side rate limiting, not in what is retried).
    public init(_ resolved: ResolvedConfiguration, partMaxAttempts: Int = RetryPolicy.defaultPartMaxAttempts) {
        let maxAttempts = resolved.maxAttempts ?? RetryPolicy.defaultMaxAttempts
        self.init(
            region: resolved.region,
            endpoint: S3Endpoint(
                custom: resolved.endpointURL,
                forcePathStyle: resolved.addressing == .path,
                virtualHostedForCustom: resolved.addressing == .virtual),
            retry: RetryPolicy(maxAttempts: maxAttempts, partMaxAttempts: max(partMaxAttempts, maxAttempts)))
    }
}

extension S3Client.CredentialsSource {
    /// Credentials from the resolved chain, cached and refreshed before they expire; `forceRefresh`
    /// after S3 answered ExpiredToken.
    public init(_ provider: CachingCredentialProvider) {
        self.init { forceRefresh in try provider.credentials(forceRefresh: forceRefresh) }
    }
}

extension S3Client {
    /// A client for a resolved configuration. Build `transport` with the configuration's CA bundle:
    /// `CurlTransport(options: .init(caBundle: resolved.caBundle, cancellation: flag))`.
    public convenience init(
        resolved: ResolvedConfiguration,
        transport: any HTTPTransport,
        partMaxAttempts: Int = RetryPolicy.defaultPartMaxAttempts,
        timing: Timing = .system,
        logger: Logger? = nil,
        cancellation: CancellationFlag? = nil
    ) {
        self.init(
            configuration: Configuration(resolved, partMaxAttempts: partMaxAttempts),
            transport: transport,
            credentials: CredentialsSource(resolved.credentials),
            timing: timing, logger: logger, cancellation: cancellation)
    }
}
