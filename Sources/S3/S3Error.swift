import HTTPClient

/// A failed S3 request, as one line a person can act on: what failed, on which bucket or key, and
/// what to do. `kind` says what the command line makes of it (its exit code).
///
/// Never carries a secret: S3's error documents are reduced to their `Code` and `Message` (the
/// `StringToSign`, `CanonicalRequest` and `SignatureProvided` of a SignatureDoesNotMatch are
/// dropped), and URLs appear without their query strings.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// A struct over a private enum, so that kinds can be added without breaking callers.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Raw: String, Sendable, Hashable {
            case credentialsRejected, accessDenied, noSuchBucket, noSuchKey, noSuchUpload, remote, unavailable,
                cancelled
            case archived
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }

        /// The credentials were refused: InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken,
        /// InvalidToken.
        public static let credentialsRejected = Kind(.credentialsRejected)
        /// The credentials are valid but not allowed to do this: AccessDenied.
        public static let accessDenied = Kind(.accessDenied)
        /// NoSuchBucket.
        public static let noSuchBucket = Kind(.noSuchBucket)
        /// NoSuchKey, or a 404 to HEAD.
        public static let noSuchKey = Kind(.noSuchKey)
        /// InvalidObjectState: the object is in an archive storage class (Glacier Flexible
        /// Retrieval, Deep Archive, an Intelligent-Tiering archive tier) and must be restored before
        /// it can be read.
        public static let archived = Kind(.archived)
        /// NoSuchUpload: the multipart upload was aborted or completed.
        public static let noSuchUpload = Kind(.noSuchUpload)
        /// Any other answer S3 gave: throttling or server errors out of retries, invalid
        /// arguments, a response that could not be parsed.
        public static let remote = Kind(.remote)
        /// No answer at all: connection refused, timeout, TLS failure, out of retries.
        public static let unavailable = Kind(.unavailable)
        /// The transfer was stopped through the transport's `CancellationFlag`.
        public static let cancelled = Kind(.cancelled)

        public var description: String { raw.rawValue }
    }

    public var kind: Kind
    /// The operation, as AWS names it: `PutObject`, `UploadPart`, …
    public var operation: String
    public var bucket: String?
    public var key: String?
    /// HTTP status, when S3 answered.
    public var status: Int?
    /// S3's error code (`NoSuchBucket`, `SlowDown`, …), when it sent one.
    public var code: String?
    /// S3's message, or the transport's.
    public var serverMessage: String?
    public var requestId: String?
    /// How many attempts were made.
    public var attempts: Int
    /// The whole line.
    public var message: String

    public var description: String { message }

    init(
        kind: Kind, operation: String, bucket: String?, key: String?, status: Int?, code: String?,
        serverMessage: String?, requestId: String?, attempts: Int, message: String
    ) {
        self.kind = kind
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.status = status
        self.code = code
        self.serverMessage = serverMessage
        self.requestId = requestId
        self.attempts = attempts
        self.message = message
    }
}

extension S3Error {
    /// The kind an S3 error code (or, without one, an HTTP status) falls into.
    static func kind(code: String?, status: Int) -> Kind {
        switch code {
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
            "InvalidSecurity", "AuthorizationHeaderMalformed", "MissingSecurityHeader":
            return .credentialsRejected
        case "AccessDenied", "AllAccessDisabled", "AccountProblem", "NotSignedUp":
            return .accessDenied
        case "InvalidObjectState": return .archived
        case "NoSuchBucket": return .noSuchBucket
        case "NoSuchKey": return .noSuchKey
        case "NoSuchUpload": return .noSuchUpload
        case .some: return .remote
        case nil:
            switch status {
            case 403: return .accessDenied
            case 404: return .noSuchKey
            default: return .remote
            }
        }
    }

    /// Builds the error for an HTTP answer S3 gave (a status ≥ 300, or a 200 carrying `<Error>`).
    ///
    /// `sentChecksumHeaders`: the request carried `x-amz-checksum-*` headers, so a refusal that
    /// names them, or a 501 NotImplemented, is the store refusing checksums: the line says how to
    /// turn them off.
    static func response(
        operation: String, bucket: String?, key: String?, status: Int, error: S3ErrorDocument?,
        requestId: String?, attempts: Int, region: String, sentChecksumHeaders: Bool = false
    ) -> S3Error {
        let code = error?.code
        let kind = kind(code: code, status: status)
        let target = describeTarget(bucket: bucket, key: key)
        let what =
            error?.inferred == true
            ? "HTTP \(status) with no error code, most likely \(code ?? "?")"
            : code.map { "\($0)" } ?? "HTTP \(status)"
        let said = error?.message.flatMap { $0.isEmpty ? nil : $0 }.map { ": \(oneLine($0))" } ?? ""
        let line: String
        switch (kind, code) {
        case (.credentialsRejected, "SignatureDoesNotMatch"):
            line =
                "S3 rejected the signature of \(operation) on \(target) (\(what)\(said)); check the secret access key that goes with this access key id, and the region (\(region))"
        case (.credentialsRejected, "InvalidAccessKeyId"):
            line =
                "S3 does not know the access key of \(operation) on \(target) (\(what)\(said)); check AWS_ACCESS_KEY_ID, --profile and the endpoint"
        case (.credentialsRejected, "ExpiredToken"), (.credentialsRejected, "TokenRefreshRequired"):
            line =
                "the session token expired during \(operation) on \(target) (\(what)); get fresh temporary credentials and run again"
        case (.credentialsRejected, _):
            line =
                "S3 refused the credentials of \(operation) on \(target) (\(what)\(said)); check your credentials and region (\(region))"
        case (.accessDenied, nil):
            line =
                "S3 refused \(operation) on \(target) (\(what), no error code given); check your credentials, and that their policy allows s3:\(iamAction(operation)) there"
        case (.accessDenied, _):
            line =
                "S3 denied \(operation) on \(target) (\(what)\(said)); check that your credentials' policy allows s3:\(iamAction(operation)) there"
        case (.noSuchBucket, _):
            line =
                "bucket \"\(bucket ?? "?")\" does not exist (\(what)) for \(operation); check the bucket name, the region (\(region)) and the endpoint"
        case (.noSuchKey, _):
            // Only an explicit NoSuchKey names the key: a HEAD's bodiless 404 is the same whether
            // the bucket or the key is missing.
            let check = code == "NoSuchKey" && error?.inferred != true ? "the key" : "the bucket and the key"
            line = "\(target) does not exist (\(what)) for \(operation); check \(check)"
        case (.archived, _):
            line =
                "\(target) is archived (\(what)\(said)) and cannot be read by \(operation); restore it first (aws s3api restore-object), then run again"
        case (.noSuchUpload, _):
            line =
                "the multipart upload for \(target) no longer exists (\(what)) during \(operation); it was aborted or completed, run again"
        case (_, _) where sentChecksumHeaders && refusesChecksums(status: status, code: code, message: error?.message):
            line =
                "the store refused the checksum headers of \(operation) on \(target) (\(what)\(status != 200 && code != nil ? " (HTTP \(status))" : "")\(said)); "
                + "it does not take x-amz-checksum-*: run with --checksum none or AWS_REQUEST_CHECKSUM_CALCULATION=when_required"
        default:
            let attemptsText = attempts > 1 ? " after \(attempts) attempts" : ""
            let advice: String
            if status == 501 || code == "NotImplemented" {
                advice = "the store does not implement this request as sent; check the options given for this store"
            } else if status >= 500 || code == "SlowDown" {
                advice = "S3 is unavailable or throttling; retry later"
            } else {
                advice = "check the request's options"
            }
            line =
                "S3 \(operation) on \(target) failed\(attemptsText): \(what)\(status != 200 && code != nil ? " (HTTP \(status))" : "")\(said); \(advice)"
        }
        return S3Error(
            kind: kind, operation: operation, bucket: bucket, key: key, status: status, code: code,
            serverMessage: error?.message, requestId: requestId, attempts: attempts, message: line)
    }

    /// Whether an error answer is a store refusing `x-amz-checksum-*` headers: Backblaze B2's 400
    /// InvalidArgument "Unsupported header 'x-amz-checksum-crc32' received for this API call.", any
    /// 400 naming a checksum, or a 501 NotImplemented (Cloudflare R2 for a checksum type it lacks).
    /// A BadDigest ("The CRC32 you specified did not match …") is not one: that is the body
    /// damaged in transit, which turning checksums off would hide.
    static func refusesChecksums(status: Int, code: String?, message: String?) -> Bool {
        if status == 501 || code == "NotImplemented" { return true }
        guard status == 400, code == nil || code == "InvalidArgument" || code == "InvalidRequest" else { return false }
        let text = (message ?? "").lowercased()
        if text.contains("did not match") { return false }
        return text.contains("checksum") || text.contains("unsupported header")
    }

    /// Builds the error for a request that got no answer.
    static func transport(operation: String, bucket: String?, key: String?, error: TransportError, attempts: Int)
        -> S3Error
    {
        let target = describeTarget(bucket: bucket, key: key)
        if error.kind == .cancelled {
            return S3Error(
                kind: .cancelled, operation: operation, bucket: bucket, key: key, status: nil, code: nil,
                serverMessage: error.message, requestId: nil, attempts: attempts,
                message: "\(operation) on \(target) was cancelled")
        }
        let attemptsText = attempts > 1 ? " after \(attempts) attempts" : ""
        return S3Error(
            kind: .unavailable, operation: operation, bucket: bucket, key: key, status: nil, code: nil,
            serverMessage: error.message, requestId: nil, attempts: attempts,
            message: "S3 \(operation) on \(target) got no answer\(attemptsText): \(error.message)")
    }

    /// A 2xx answer whose body was not what the operation returns.
    static func invalidResponse(operation: String, bucket: String?, key: String?, status: Int, detail: String)
        -> S3Error
    {
        S3Error(
            kind: .remote, operation: operation, bucket: bucket, key: key, status: status, code: nil,
            serverMessage: nil, requestId: nil, attempts: 1,
            message:
                "S3 \(operation) on \(describeTarget(bucket: bucket, key: key)) answered HTTP \(status) with \(detail); is the endpoint an S3 service?"
        )
    }
}

/// The IAM action that allows an operation.
func iamAction(_ operation: String) -> String {
    switch operation {
    case "HeadObject": "GetObject"
    case "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload": "PutObject"
    case "ListObjectsV2": "ListBucket"
    case "ListMultipartUploads": "ListBucketMultipartUploads"
    case "AbortMultipartUpload": "AbortMultipartUpload"
    default: operation
    }
}

func describeTarget(bucket: String?, key: String?) -> String {
    guard let bucket else { return "S3" }
    guard let key else { return "s3://\(bucket)" }
    return "s3://\(bucket)/\(key)"
}

/// Newlines and runs of spaces folded, so a server's message cannot break the one-line rule.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}
