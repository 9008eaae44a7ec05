import Basics
import SigV4

/// A presigned PUT URL, as somebody else's presigner made it. Its query string is a secret (it
/// authorizes the PUT): `description` and every message show `Redact.url` of it.
///
/// Two query forms exist (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth>):
/// - SigV4: `X-Amz-Algorithm=AWS4-HMAC-SHA256`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
///   `X-Amz-SignedHeaders`, `X-Amz-Signature`. Only the headers named in `X-Amz-SignedHeaders`
///   (normally just `host`) are signed; other headers may be added, except `x-amz-*` ones, which S3
///   refuses unless they were signed.
/// - Legacy (signature version 2): `AWSAccessKeyId`, `Expires` (Unix seconds), `Signature`
///   (HMAC-SHA1). Its string to sign covers `Content-MD5`, `Content-Type` and every `x-amz-*` header,
///   which a presigner normally signs as empty: such a PUT must carry none of them.
public struct PresignedURL: Sendable, CustomStringConvertible {
    public enum Form: String, Sendable, Equatable {
        case sigV4
        case legacy
    }

    public let url: String
    public let form: Form
    /// Lowercase names of the signed headers (`host` at least). Empty for the legacy form.
    public let signedHeaders: Set<String>
    /// When the URL stops working, if it says (`X-Amz-Date` + `X-Amz-Expires`, or `Expires`).
    public let expiresAt: Timestamp?

    /// The URL without its query string: what messages show.
    public var description: String { Redact.url(url) }

    /// Parses the URL. Errors name the missing or malformed parameter, never a value.
    public init(_ url: String) throws(UploadError) {
        let shown = Redact.url(url)
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), let question = url.firstIndex(of: "?") else {
            throw UploadError(
                .invalidOptions,
                "\(shown): not a presigned URL (an http(s) URL with a signed query string); make one with `s3transcode presign s3://BUCKET/KEY --method PUT`"
            )
        }
        let afterScheme = url[url.firstRange(of: "://")!.upperBound...]
        guard let first = afterScheme.first, first != "/", first != "?" else {
            throw UploadError(.invalidOptions, "\(shown): the presigned URL has no host")
        }
        var fragmentFree = url[url.index(after: question)...]
        if let hash = fragmentFree.firstIndex(of: "#") { fragmentFree = fragmentFree[..<hash] }
        var parameters: [String: String] = [:]
        for pair in fragmentFree.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: "=") ?? pair.endIndex
            let name = S3Path.formDecode(pair[..<equals])
            let value = equals == pair.endIndex ? "" : S3Path.formDecode(pair[pair.index(after: equals)...])
            parameters[name] = value
        }
        self.url = url

        if parameters["X-Amz-Signature"] != nil || parameters["X-Amz-Algorithm"] != nil {
            for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"]
            where (parameters[name] ?? "").isEmpty {
                throw UploadError(
                    .invalidOptions,
                    "\(shown): the presigned URL lacks \(name); copy the whole URL, or presign it again")
            }
            guard parameters["X-Amz-Algorithm"] == SigV4Signer.algorithm else {
                throw UploadError(
                    .invalidOptions,
                    "\(shown): the presigned URL's X-Amz-Algorithm is not \(SigV4Signer.algorithm); presign it again with SigV4"
                )
            }
            form = .sigV4
            signedHeaders = Set(parameters["X-Amz-SignedHeaders"]!.lowercased().split(separator: ";").map(String.init))
            let date = PresignedURL.parseAmzDate(parameters["X-Amz-Date"]!)
            guard let date else {
                throw UploadError(
                    .invalidOptions,
                    "\(shown): the presigned URL's X-Amz-Date is not a date such as 20260102T030405Z; presign it again")
            }
            if let expires = parameters["X-Amz-Expires"] {
                guard let seconds = Int(expires), seconds > 0 else {
                    throw UploadError(
                        .invalidOptions,
                        "\(shown): the presigned URL's X-Amz-Expires is not a number of seconds; presign it again")
                }
                expiresAt = date.addingTimeInterval(Double(seconds))
            } else {
                expiresAt = nil
            }
        } else if parameters["Signature"] != nil || parameters["AWSAccessKeyId"] != nil {
            for name in ["AWSAccessKeyId", "Signature", "Expires"] where (parameters[name] ?? "").isEmpty {
                throw UploadError(
                    .invalidOptions,
                    "\(shown): the presigned URL lacks \(name); copy the whole URL, or presign it again")
            }
            guard let epoch = Int(parameters["Expires"]!) else {
                throw UploadError(
                    .invalidOptions, "\(shown): the presigned URL's Expires is not a Unix time; presign it again")
            }
            form = .legacy
            signedHeaders = []
            expiresAt = Timestamp(timeIntervalSince1970: Double(epoch))
        } else {
            throw UploadError(
                .invalidOptions,
                "\(shown): the URL's query has neither X-Amz-Signature (SigV4) nor Signature (legacy); give a presigned PUT URL (`s3transcode presign s3://BUCKET/KEY --method PUT`)"
            )
        }
    }

    /// Whether the URL has expired by `now` with `tolerance` seconds to spare (S3 judges by its own
    /// clock, which may differ from ours).
    public func hasExpired(at now: Timestamp, tolerance: Double) -> Bool {
        guard let expiresAt else { return false }
        return now.timeIntervalSince(expiresAt) > tolerance
    }

    /// The headers the PUT may carry: `objectHeaders` (the object's content type, caching,
    /// metadata, …) where the URL's form allows them, plus `Content-MD5` when it does.
    ///
    /// - SigV4: `Content-MD5` and every non-`x-amz-*` header go along unsigned (allowed); an
    ///   `x-amz-*` header must be one the URL signed, or S3 would refuse the PUT: that is an error
    ///   naming the header, raised before anything is encoded.
    /// - Legacy: `Content-MD5`, `Content-Type` and `x-amz-*` headers are part of the signature,
    ///   which presigners make with none of them; they are left out (the object gets S3's default
    ///   content type), and an `x-amz-*` header asked for is an error.
    public func requestHeaders(
        objectHeaders: [(name: String, value: String)], contentMD5: String?
    ) throws(UploadError) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for header in objectHeaders {
            let lower = header.name.lowercased()
            if lower.hasPrefix("x-amz-") {
                guard form == .sigV4, signedHeaders.contains(lower) else {
                    throw UploadError(
                        .invalidOptions,
                        "\(description): the presigned URL does not sign \(lower), so S3 would refuse a PUT that sends it; presign the URL with that header, or drop the option that sets it"
                    )
                }
                headers.append(header)
            } else if form == .legacy && (lower == "content-type" || lower == "content-md5") {
                continue
            } else {
                headers.append(header)
            }
        }
        if form == .sigV4, let contentMD5 { headers.append(("Content-MD5", contentMD5)) }
        return headers
    }

    /// `20260102T030405Z`.
    static func parseAmzDate(_ text: String) -> Timestamp? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        let s = String(decoding: b, as: UTF8.self)
        func part(_ from: Int, _ count: Int) -> Substring {
            let start = s.index(s.startIndex, offsetBy: from)
            return s[start..<s.index(start, offsetBy: count)]
        }
        return AmzDate.parseISO8601(
            "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))T\(part(9, 2)):\(part(11, 2)):\(part(13, 2))Z")
    }
}
