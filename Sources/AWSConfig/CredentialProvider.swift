import SigV4
import Synchronization

/// One source of credentials (the environment, a profile, STS, a container endpoint, IMDS).
///
/// Providers are synchronous: they block on files, processes and HTTP, and run on the caller's
/// thread (the uploader's dedicated threads, never Swift's cooperative pool).
public protocol CredentialProvider: Sendable {
    /// What this provider looks at, for the "no credentials" message: `environment (AWS_ACCESS_KEY_ID)`.
    var source: String { get }
    /// Credentials, or `nil` when this source is not configured (the chain moves on). Throws when
    /// the source is configured but fails (the chain stops there, as the SDKs do).
    func credentials() throws -> Credentials?
}

/// Tries providers in order, as the AWS SDKs do; the first that has credentials wins and is
/// asked again on every refresh.
public final class CredentialProviderChain: CredentialProvider {
    public let providers: [any CredentialProvider]
    private let chosen = Mutex<Int?>(nil)

    public init(_ providers: [any CredentialProvider]) {
        self.providers = providers
    }

    public var source: String { providers.map(\.source).joined(separator: ", ") }

    /// The provider that supplied credentials last, if any.
    public var chosenProvider: (any CredentialProvider)? {
        chosen.withLock { $0 }.map { providers[$0] }
    }

    public func credentials() throws -> Credentials? {
        if let index = chosen.withLock({ $0 }), let found = try providers[index].credentials() {
            return found
        }
        for (index, provider) in providers.enumerated() {
            if let found = try provider.credentials() {
                chosen.withLock { $0 = index }
                return found
            }
        }
        return nil
    }

    /// Credentials, or the "no credentials" error naming every place that was looked at.
    public func requireCredentials() throws -> Credentials {
        if let found = try credentials() { return found }
        throw ConfigurationError(
            .noCredentials,
            "no AWS credentials found; looked in: \(source); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                + "or choose a profile with --profile or AWS_PROFILE")
    }
}

/// Always the same credentials (tests, `--no-sign` style callers).
public struct StaticCredentialProvider: CredentialProvider {
    public let fixed: Credentials
    public init(_ credentials: Credentials) { fixed = credentials }
    public var source: String { "static credentials" }
    public func credentials() throws -> Credentials? { fixed }
}

/// Reads a variable the way the SDKs do: an empty value is the same as an unset one.
/// Printing or dumping it shows the variable names only: values can be secrets.
struct Environment: Sendable, CustomStringConvertible, CustomReflectable {
    let values: [String: String]

    subscript(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// `true` for `true` in any case, as the SDKs read boolean settings.
    func isTrue(_ name: String) -> Bool { self[name]?.lowercased() == "true" }

    var description: String { "Environment(\(values.keys.sorted().joined(separator: ", ")))" }
    var customMirror: Mirror { Mirror(self, children: ["names": values.keys.sorted()]) }
}
