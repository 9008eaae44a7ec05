/// A configuration or credentials failure, as one line a person can act on. `kind` tells the
/// command line which exit status to use.
///
/// Messages name variables, files, profiles and hosts, never a secret, a token or a signature.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case noCredentials, invalidConfiguration, credentialsRejected, unavailable
        }
        private let base: Base
        private init(base: Base) { self.base = base }

        /// No credential source had anything.
        public static let noCredentials = Kind(base: .noCredentials)
        /// A setting, file or profile is wrong or missing (bad `AWS_MAX_ATTEMPTS`, unknown profile,
        /// malformed `credential_process` output …).
        public static let invalidConfiguration = Kind(base: .invalidConfiguration)
        /// A credential service refused (STS AccessDenied, a rejected web identity token).
        public static let credentialsRejected = Kind(base: .credentialsRejected)
        /// A credential service could not be reached or failed (STS 5xx, container endpoint down).
        public static let unavailable = Kind(base: .unavailable)

        public var description: String {
            switch base {
            case .noCredentials: "no credentials"
            case .invalidConfiguration: "invalid configuration"
            case .credentialsRejected: "credentials rejected"
            case .unavailable: "credential service unavailable"
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
