import HTTPClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The AWS SDKs' "standard" retry mode.
///
/// - Up to `maxAttempts` attempts in all (`AWS_MAX_ATTEMPTS`, default 3). Part uploads use
///   `partMaxAttempts` (default 5): a part is worth more than a single call, and each part retries
///   on its own, rewinding its borrowed buffer.
/// - Before attempt `n + 1`, sleep `min(maxBackoff, random(0, 1) × 2^(n - 1))` seconds: full jitter,
///   exponential, capped at 20 s (botocore `retries/standard.py`, `ExponentialBackoff`).
/// - A retry quota shared by the whole client (500 tokens; a retry costs 5, one after a timeout 10;
///   a success gives back what its retries took, or 1): when S3 is down, retries stop quickly
///   instead of multiplying the load.
///
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var partMaxAttempts: Int
    /// Seconds.
    public var maxBackoff: Double
    public var quotaCapacity: Int

    public static let defaultMaxAttempts = 3
    public static let defaultPartMaxAttempts = 5

    public init(
        maxAttempts: Int = RetryPolicy.defaultMaxAttempts,
        partMaxAttempts: Int = RetryPolicy.defaultPartMaxAttempts,
        maxBackoff: Double = 20,
        quotaCapacity: Int = 500
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.partMaxAttempts = max(1, partMaxAttempts)
        self.maxBackoff = maxBackoff
        self.quotaCapacity = quotaCapacity
    }

    /// The delay before the attempt after failed attempt `attempt` (1-based), given a uniform random
    /// number in [0, 1).
    public func backoff(afterAttempt attempt: Int, random: Double) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        return min(maxBackoff, random * pow(2, exponent))
    }
}

/// Why a failed attempt may be tried again.
enum RetryReason: Sendable, Equatable {
    /// Connection errors, timeouts, 5xx, throttling, a 200 with an `<Error>` body.
    case transient
    case timeout
    /// RequestTimeTooSkewed: correct the clock first.
    case clockSkew
    /// ExpiredToken: refresh the credentials first.
    case expiredCredentials
}

enum RetryClassifier {
    /// Error codes retried whatever their status.
    static let transientCodes: Set<String> = [
        "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable",
        "PriorRequestNotComplete", "EC2ThrottledException", "IDPCommunicationError",
    ]
    static let transientStatuses: Set<Int> = [429, 500, 502, 503, 504]
    static let clockSkewCodes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "InvalidSignatureException",
    ]
    static let expiredCredentialCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"]

    static func classify(status: Int, code: String?) -> RetryReason? {
        if let code {
            if clockSkewCodes.contains(code) { return .clockSkew }
            if expiredCredentialCodes.contains(code) { return .expiredCredentials }
            if transientCodes.contains(code) { return .transient }
        }
        return transientStatuses.contains(status) ? .transient : nil
    }

    static func classify(_ error: TransportError) -> RetryReason? {
        switch error.kind {
        case .cancelled: nil
        case .timeout: .timeout
        case .tls: nil  // a certificate problem does not fix itself
        case .setup: nil  // nor does an option libcurl refuses
        default: .transient
        }
    }
}

/// The retry quota of the standard mode: a token bucket shared by every request of a client.
final class RetryQuota: Sendable {
    static let retryCost = 5
    static let timeoutRetryCost = 10
    static let noRetryIncrement = 1

    private let capacity: Int
    private let available: Mutex<Int>

    init(capacity: Int) {
        self.capacity = capacity
        available = Mutex(capacity)
    }

    /// Takes the cost of one retry; `nil` when the quota is spent (then do not retry).
    func acquire(timeout: Bool) -> Int? {
        let cost = timeout ? Self.timeoutRetryCost : Self.retryCost
        return available.withLock { tokens in
            guard tokens >= cost else { return nil }
            tokens -= cost
            return cost
        }
    }

    /// A request succeeded: give back what its retries took, or a small increment.
    func release(_ acquired: Int) {
        let amount = acquired > 0 ? acquired : Self.noRetryIncrement
        available.withLock { $0 = min(capacity, $0 + amount) }
    }

    var tokens: Int { available.withLock { $0 } }
}
