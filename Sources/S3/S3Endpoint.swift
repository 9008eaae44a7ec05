import SigV4

/// Where requests go, and how a bucket is addressed: virtual-hosted (`bucket.host/key`) or
/// path-style (`host/bucket/key`).
///
/// - Amazon S3 (`custom == nil`): `https://s3.REGION.amazonaws.com`, virtual-hosted unless the
///   bucket name is not a DNS label (dots break the TLS wildcard certificate) or `forcePathStyle`.
/// - A custom endpoint (`--endpoint-url`, `AWS_ENDPOINT_URL_S3`, …): path-style unless
///   `forcePathStyle == false` was chosen explicitly (`virtualHostedForCustom`).
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
        if custom != nil && !virtualHostedForCustom { return false }
        return Self.isDNSCompatible(bucket)
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
