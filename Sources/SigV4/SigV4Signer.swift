import Basics

/// AWS Signature Version 4 for S3: header signing (`Authorization`) and query signing
/// (presigned URLs).
///
/// The stages are separate functions named after the specification, each tested against the
/// worked examples of the S3 documentation:
/// `canonicalRequest` → `stringToSign` → `signingKey` → `signature`.
///
/// - https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
/// - https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
///
/// The signer is a value: it holds one set of credentials. When credentials rotate, make a new
/// signer (cheap) with the fresh ones.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    // MARK: - Header signing

    /// Signs a request and returns the headers to send with it.
    ///
    /// - Parameters:
    ///   - url: the full URL as it will be sent; its path must already be encoded once (build it
    ///     with `S3Path`). The query may be in any order.
    ///   - headers: the request's own headers (`Range`, `Content-Type`, `Content-MD5`,
    ///     `x-amz-*` …). All of them are signed except hop-by-hop and client headers
    ///     (`user-agent`, `expect`, `connection`, `transfer-encoding`, `content-length`,
    ///     `x-amzn-trace-id`). Do not add or change a signed header after signing.
    ///   - payloadHash: `PayloadHasher`'s hex SHA-256 of the body, `PayloadHasher.emptyPayloadHash`
    ///     for no body, or `PayloadHasher.unsignedPayload`.
    ///   - date: the signing time (inject the clock, corrected for skew).
    /// - Returns: the input headers (minus any `host`, `authorization`, `x-amz-date`,
    ///   `x-amz-content-sha256` and `x-amz-security-token` given, which are replaced), followed by
    ///   `host` (always returned, so the transport sends exactly the signed value),
    ///   `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and
    ///   `authorization`.
    public func signedHeaders(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        payloadHash: String,
        date: Timestamp
    ) -> [(name: String, value: String)] {
        let parts = RequestURL(url) ?? RequestURL.empty
        let time = AmzDate(date)
        let replaced: Set<String> = [
            "host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
        ]
        var out = headers.filter { !replaced.contains($0.name.lowercased()) }
        out.append(("host", parts.host))
        out.append(("x-amz-date", time.amzDate))
        out.append(("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken { out.append(("x-amz-security-token", token)) }

        let toSign = out.filter { !SigV4Signer.unsignedHeaderNames.contains($0.name.lowercased()) }
        let (canonicalHeaders, signedHeaderList) = SigV4Signer.canonicalHeaders(toSign)
        let request = SigV4Signer.canonicalRequest(
            method: method,
            canonicalURI: SigV4Signer.canonicalURI(parts.path),
            canonicalQuery: SigV4Signer.canonicalQuery(parts.query),
            canonicalHeaders: canonicalHeaders,
            signedHeaders: signedHeaderList,
            payloadHash: payloadHash)
        let scope = SigV4Signer.credentialScope(dateStamp: time.dateStamp, region: region, service: service)
        let stringToSign = SigV4Signer.stringToSign(canonicalRequest: request, amzDate: time.amzDate, scope: scope)
        let key = SigV4Signer.signingKey(
            secretAccessKey: credentials.secretAccessKey, dateStamp: time.dateStamp, region: region, service: service)
        let signature = SigV4Signer.signature(signingKey: key, stringToSign: stringToSign)
        out.append(
            (
                "authorization",
                "\(SigV4Signer.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
                    + "SignedHeaders=\(signedHeaderList), Signature=\(signature)"
            ))
        return out
    }

    // MARK: - Query signing

    /// A presigned URL: `url` with the `X-Amz-*` authentication parameters added to its query
    /// (which is put in canonical order), signed for `host` (plus any `headers` given, which the
    /// user of the URL must then send) with an unsigned payload.
    ///
    /// - Parameter expires: seconds the URL stays valid, 1…604800 (7 days); the caller validates.
    /// - Returns: the URL. It is a secret: log it only through `Redact.url`.
    public func presignedURL(
        method: String,
        url: String,
        expires: Int,
        date: Timestamp,
        headers: [(name: String, value: String)] = []
    ) -> String {
        let parts = RequestURL(url) ?? RequestURL.empty
        let time = AmzDate(date)
        let scope = SigV4Signer.credentialScope(dateStamp: time.dateStamp, region: region, service: service)
        var toSign = headers.filter {
            !SigV4Signer.unsignedHeaderNames.contains($0.name.lowercased()) && $0.name.lowercased() != "host"
        }
        toSign.append(("host", parts.host))
        let (canonicalHeaders, signedHeaderList) = SigV4Signer.canonicalHeaders(toSign)

        var authentication: [(name: String, value: String?)] = [
            ("X-Amz-Algorithm", SigV4Signer.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope)"),
            ("X-Amz-Date", time.amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", signedHeaderList),
        ]
        if let token = credentials.sessionToken { authentication.append(("X-Amz-Security-Token", token)) }
        var query = parts.query ?? ""
        let added = S3Path.query(authentication)
        query = query.isEmpty ? added : query + "&" + added
        let canonicalQuery = SigV4Signer.canonicalQuery(query)

        let request = SigV4Signer.canonicalRequest(
            method: method,
            canonicalURI: SigV4Signer.canonicalURI(parts.path),
            canonicalQuery: canonicalQuery,
            canonicalHeaders: canonicalHeaders,
            signedHeaders: signedHeaderList,
            payloadHash: PayloadHasher.unsignedPayload)
        let stringToSign = SigV4Signer.stringToSign(canonicalRequest: request, amzDate: time.amzDate, scope: scope)
        let key = SigV4Signer.signingKey(
            secretAccessKey: credentials.secretAccessKey, dateStamp: time.dateStamp, region: region, service: service)
        let signature = SigV4Signer.signature(signingKey: key, stringToSign: stringToSign)
        return RequestURL.base(of: url) + "?" + canonicalQuery + "&X-Amz-Signature=" + signature
    }

    // MARK: - The stages, after the specification

    /// Headers never signed: hop-by-hop or rewritten by proxies and clients.
    public static let unsignedHeaderNames: Set<String> = [
        "authorization", "user-agent", "expect", "connection", "transfer-encoding", "content-length",
        "x-amzn-trace-id", "keep-alive", "te", "upgrade", "proxy-authorization",
    ]

    /// `CanonicalRequest`: method, URI, query, headers, signed header names and payload hash,
    /// one per line.
    public static func canonicalRequest(
        method: String,
        canonicalURI: String,
        canonicalQuery: String,
        canonicalHeaders: String,
        signedHeaders: String,
        payloadHash: String
    ) -> String {
        method.uppercased() + "\n" + canonicalURI + "\n" + canonicalQuery + "\n"
            + canonicalHeaders + "\n" + signedHeaders + "\n" + payloadHash
    }

    /// `CanonicalRequest` for a URL and the headers to sign (which must include `host`).
    public static func canonicalRequest(
        method: String,
        url: String,
        headers: [(name: String, value: String)],
        payloadHash: String
    ) -> String {
        let parts = RequestURL(url) ?? RequestURL.empty
        let (canonical, signed) = canonicalHeaders(headers)
        return canonicalRequest(
            method: method, canonicalURI: canonicalURI(parts.path), canonicalQuery: canonicalQuery(parts.query),
            canonicalHeaders: canonical, signedHeaders: signed, payloadHash: payloadHash)
    }

    /// `CanonicalURI` for S3: the path with each segment encoded exactly once. A path already
    /// encoded by `S3Path` comes back unchanged; escapes are decoded and re-encoded so that
    /// `%24` and `$` both sign as `%24`. No `.`/`..` or `//` normalisation (S3 keys may hold them).
    public static func canonicalURI(_ path: String) -> String {
        if path.isEmpty { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { uriEncode(bytes: percentDecode($0), encodeSlash: true) }
            .joined(separator: "/")
    }

    /// `CanonicalQueryString`: every parameter's name and value decoded and re-encoded with
    /// `UriEncode()` (`/` → `%2F`), `name=value` (a parameter without a value gives `name=`),
    /// sorted by encoded name, then value, joined with `&`.
    public static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = item.firstIndex(of: "=") {
                name = item[..<equals]
                value = item[item.index(after: equals)...]
            } else {
                name = item
                value = ""
            }
            pairs.append(
                (
                    uriEncode(bytes: percentDecode(name), encodeSlash: true),
                    uriEncode(bytes: percentDecode(value), encodeSlash: true)
                ))
        }
        pairs.sort {
            $0.name != $1.name
                ? $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
                : $0.value.utf8.lexicographicallyPrecedes($1.value.utf8)
        }
        return pairs.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// `CanonicalHeaders` and `SignedHeaders`: names lowercased and sorted, values trimmed with
    /// inner runs of spaces folded to one, repeated headers joined with `,`.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (
        canonical: String, signed: String
    ) {
        var merged: [String: String] = [:]
        var order: [String] = []
        for (name, value) in headers {
            let lower = name.lowercased()
            let clean = foldSpaces(value)
            if let existing = merged[lower] {
                merged[lower] = existing + "," + clean
            } else {
                merged[lower] = clean
                order.append(lower)
            }
        }
        order.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let canonical = order.map { $0 + ":" + merged[$0]! + "\n" }.joined()
        return (canonical, order.joined(separator: ";"))
    }

    /// `<yyyymmdd>/<region>/<service>/aws4_request`.
    public static func credentialScope(dateStamp: String, region: String, service: String) -> String {
        "\(dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// `StringToSign`: algorithm, timestamp, scope and the hex SHA-256 of the canonical request.
    public static func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        algorithm + "\n" + amzDate + "\n" + scope + "\n" + PayloadHasher.hash(canonicalRequest)
    }

    /// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    public static func signingKey(secretAccessKey: String, dateStamp: String, region: String, service: String)
        -> [UInt8]
    {
        var key = Array(("AWS4" + secretAccessKey).utf8)
        for part in [dateStamp, region, service, "aws4_request"] {
            key = MessageDigest.hmac(.sha256, key: key, message: Array(part.utf8))
        }
        return key
    }

    /// The signature: hex `HMAC-SHA256(signingKey, stringToSign)`.
    public static func signature(signingKey: [UInt8], stringToSign: String) -> String {
        hex(MessageDigest.hmac(.sha256, key: signingKey, message: Array(stringToSign.utf8)))
    }
}

/// Trims leading and trailing whitespace and folds each inner run of spaces/tabs into one space.
private func foldSpaces(_ value: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(value.utf8.count)
    var pendingSpace = false
    for c in value.utf8 {
        if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
            pendingSpace = !out.isEmpty
        } else {
            if pendingSpace { out.append(0x20) }
            pendingSpace = false
            out.append(c)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

extension RequestURL {
    static let empty = RequestURL(scheme: "", host: "", path: "/", query: nil)
}
