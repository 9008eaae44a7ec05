import SigV4

/// Where requests go, and how a bucket is addressed: virtual-hosted (`bucket.host/key`) or
/// path-style (`host/bucket/key`).
///
/// - Amazon S3 (`custom == nil`): `https://s3.REGION.amazonaws.com`, virtual-hosted unless the
///   bucket name is not a DNS label (dots break the TLS wildcard certificate) or `forcePathStyle`.
/// - A custom endpoint (`--endpoint-url`, `AWS_ENDPOINT_URL_S3`, …): path-style unless virtual
///   hosting was chosen (`virtualHostedForCustom`, `addressing_style = virtual`); then, as the S3
///   endpoint rules botocore and the SDKs evaluate: a DNS-compatible bucket is virtual-hosted unless
///   the endpoint's host is an IP address; a bucket with dots is virtual-hosted over `http` only.
///
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>
public struct S3Endpoint: Sendable, Equatable {
    /// `scheme://host[:port][/base/path]` of a custom endpoint, or `nil` for Amazon S3.
    public var custom: String?
    public var forcePathStyle: Bool
    /// Virtual-hosted addressing on a custom endpoint (MinIO with a domain, R2, …).
    public var virtualHostedForCustom: Bool

    public init(custom: String? = nil, forcePathStyle: Bool = false, virtualHostedForCustom: Bool = false) {
        var trimmed = custom
        while trimmed?.hasSuffix("/") == true { trimmed?.removeLast() }
        self.custom = trimmed
        self.forcePathStyle = forcePathStyle
        self.virtualHostedForCustom = virtualHostedForCustom
    }

    public static let aws = S3Endpoint()

    /// The URL of a request. `encodedQuery` is already encoded (build it with `S3Path.query`).
    public func url(bucket: String?, key: String?, encodedQuery: String, region: String) -> String {
        let (scheme, authority, basePath) = base(region: region)
        var host = authority
        var path = basePath
        if let bucket {
            if usesVirtualHost(bucket: bucket) {
                host = bucket + "." + authority
                path += "/" + S3Path.encode(key ?? "")
            } else {
                path += S3Path.path(bucket: bucket, key: key ?? "")
            }
        } else {
            path += "/"
        }
        return scheme + "://" + host + path + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)
    }

    /// Whether `bucket` is addressed as a host name.
    public func usesVirtualHost(bucket: String) -> Bool {
        if forcePathStyle { return false }
        guard custom != nil else { return Self.isDNSCompatible(bucket) }
        guard virtualHostedForCustom else { return false }
        let (scheme, authority, _) = base(region: "")
        if Self.isDNSCompatible(bucket) { return !Self.isIPAddress(authority: authority) }
        return scheme == "http" && Self.isDNSCompatible(dottedBucket: bucket)
    }

    /// A bucket name whose dot-separated labels are each a DNS label, as the S3 endpoint rules'
    /// `isVirtualHostableS3Bucket(Bucket, true)`: at least 3 characters, no upper case, not shaped
    /// like an IPv4 address.
    static func isDNSCompatible(dottedBucket bucket: String) -> Bool {
        guard bucket.utf8.count >= 3, bucket.lowercased() == bucket, !isIPv4(Substring(bucket)) else { return false }
        return bucket.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != 0x2D, bytes.last != 0x2D else { return false }
            return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }

    /// Whether the host of `host[:port]` (user info dropped) is an IPv4 or bracketed IPv6 address,
    /// as botocore's `is_valid_ipv4_endpoint_url` / `is_valid_ipv6_endpoint_url`.
    static func isIPAddress(authority: String) -> Bool {
        let hostPort = authority.split(separator: "@").last ?? Substring(authority)
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return false }
            let inside = hostPort[hostPort.index(after: hostPort.startIndex)..<close].split(separator: "%").first ?? ""
            return inside.contains(":") && inside.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        return isIPv4(hostPort.split(separator: ":").first ?? "")
    }

    /// `(?:[0-9]{1,3}\.){3}[0-9]{1,3}`, the shape botocore checks (no range check).
    private static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { (1...3).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// A bucket name usable as one DNS label under TLS: 3 to 63 lowercase letters, digits and
    /// hyphens, starting and ending with a letter or digit (no dots).
    public static func isDNSCompatible(_ bucket: String) -> Bool {
        let bytes = Array(bucket.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2D }
    }

    private func base(region: String) -> (scheme: String, authority: String, path: String) {
        guard let custom else {
            let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            return ("https", "s3.\(region).\(suffix)", "")
        }
        var rest = Substring(custom)
        var scheme = "https"
        if let range = rest.firstRange(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") {
            return (scheme, String(rest[..<slash]), String(rest[slash...]))
        }
        return (scheme, String(rest), "")
    }
}
