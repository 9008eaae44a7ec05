import Basics
import SigV4
import Synchronization

/// Caches credentials and refreshes temporary ones before they expire, for runs that outlive a
/// session token. Thread-safe; at most one refresh runs at a time.
///
/// - More than `advisoryRefresh` (5 min) before expiry: the cached credentials are returned.
/// - Within it: one caller refreshes while the others keep using the cached credentials; if the
///   refresh fails, the cached ones are still used (they have not expired).
/// - Within `mandatoryRefresh` (1 min) of expiry, or after it: callers wait for fresh credentials
///   and a failure is thrown.
/// - `credentials(forceRefresh: true)` (after S3 answered ExpiredToken) refreshes once, even when
///   many threads ask at the same moment.
///
/// Credentials without an expiry (long-term keys) are fetched once.
public final class CachingCredentialProvider: CredentialProvider {
    public let base: any CredentialProvider
    public let clock: any WallClock
    public let advisoryRefresh: Double
    public let mandatoryRefresh: Double

    private struct State {
        var credentials: Credentials?
        var generation = 0
    }
    private let state = Mutex(State())
    /// Held by the one caller that is refreshing.
    private let refreshLock = Mutex(())

    public init(
        base: any CredentialProvider, clock: any WallClock, advisoryRefresh: Double = 300, mandatoryRefresh: Double = 60
    ) {
        self.base = base
        self.clock = clock
        self.advisoryRefresh = advisoryRefresh
        self.mandatoryRefresh = mandatoryRefresh
    }

    public var source: String { base.source }

    public func credentials() throws -> Credentials? {
        try credentials(forceRefresh: false)
    }

    /// Current credentials; `forceRefresh` fetches new ones unless another caller just did.
    public func credentials(forceRefresh: Bool) throws -> Credentials {
        let (cached, generation) = state.withLock { ($0.credentials, $0.generation) }
        if !forceRefresh, let cached {
            switch freshness(cached) {
            case .fresh:
                return cached
            case .advisory:
                let refreshed = refreshLock.withLockIfAvailable { _ in
                    try? refresh(force: false, seenGeneration: generation)
                }
                return (refreshed ?? nil) ?? cached
            case .expired:
                break
            }
        }
        return try refreshLock.withLock { _ in try refresh(force: forceRefresh, seenGeneration: generation) }
    }

    /// Forgets the cached credentials: the next call fetches.
    public func invalidate() {
        state.withLock {
            $0.credentials = nil
            $0.generation += 1
        }
    }

    private enum Freshness { case fresh, advisory, expired }

    private func freshness(_ credentials: Credentials) -> Freshness {
        guard let expiration = credentials.expiration else { return .fresh }
        let remaining = expiration.timeIntervalSince1970 - clock.now().timeIntervalSince1970
        if remaining > advisoryRefresh { return .fresh }
        if remaining > mandatoryRefresh { return .advisory }
        return .expired
    }

    /// Runs with `refreshLock` held.
    private func refresh(force: Bool, seenGeneration: Int) throws -> Credentials {
        let (cached, generation) = state.withLock { ($0.credentials, $0.generation) }
        if let cached {
            // Another caller refreshed while this one waited: use theirs.
            let someoneRefreshed = generation != seenGeneration
            if (someoneRefreshed || !force) && freshness(cached) == .fresh { return cached }
        }
        guard let fresh = try base.credentials() else {
            throw ConfigurationError(
                .noCredentials,
                "no AWS credentials found; looked in: \(base.source); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    + "or choose a profile with --profile or AWS_PROFILE")
        }
        state.withLock {
            $0.credentials = fresh
            $0.generation += 1
        }
        return fresh
    }
}
