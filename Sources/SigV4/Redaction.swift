/// What every logger and error message passes URLs and headers through, so that signatures,
/// session tokens and presigned query strings never reach the terminal or a log file.
public enum Redact {
    /// Header names (lowercase) whose values are secrets or bearer credentials.
    public static let secretHeaderNames: Set<String> = [
        "authorization",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-copy-source-server-side-encryption-customer-key",
        "x-aws-ec2-metadata-token",
        "proxy-authorization",
        "cookie",
    ]

    /// The URL with its query string replaced by `<redacted>` and any `user:password@` removed:
    /// `https://b.s3.amazonaws.com/k?X-Amz-Signature=…` → `https://b.s3.amazonaws.com/k?<redacted>`.
    public static func url(_ url: String) -> String {
        var base = RequestURL.base(of: url)
        if let schemeEnd = base.firstRange(of: "://") {
            let authorityEnd = base[schemeEnd.upperBound...].firstIndex(of: "/") ?? base.endIndex
            if let at = base[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@") {
                base = Substring(String(base[..<schemeEnd.upperBound]) + String(base[base.index(after: at)...]))
            }
        }
        let hasQuery = url.firstIndex(of: "?").map { q in url.firstIndex(of: "#").map { q < $0 } ?? true } ?? false
        return hasQuery ? base + "?<redacted>" : String(base)
    }

    /// The headers with the values of `secretHeaderNames` replaced by `<redacted>`.
    public static func headers(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.map { secretHeaderNames.contains($0.name.lowercased()) ? ($0.name, "<redacted>") : $0 }
    }
}
