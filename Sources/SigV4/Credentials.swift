import Basics

/// AWS credentials: an access key, its secret, and for temporary credentials a session token
/// and an expiry.
///
/// `description`, `debugDescription` and the mirror (`dump`, `String(reflecting:)`) never show
/// the secret or the token, so a `Credentials` value can be interpolated into a log line safely.
public struct Credentials: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    public var expiration: Timestamp?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Timestamp? = nil)
    {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

extension Credentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var text = "Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>"
        if sessionToken != nil { text += ", sessionToken: <redacted>" }
        if let expiration { text += ", expiration: \(AmzDate(expiration).iso8601)" }
        return text + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
                "expiration": expiration.map { AmzDate($0).iso8601 } ?? "nil",
            ], displayStyle: .struct)
    }
}
