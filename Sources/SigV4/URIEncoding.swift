/// Percent-encoding as SigV4 defines `UriEncode()`, and the S3 path and query builders that use
/// it, so that the URL a request is sent to and the canonical URI it is signed with agree.
///
/// See "Signature Calculations for the Authorization Header", the `UriEncode()` rules:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
public enum S3Path {
    /// Encodes an object key as a URL path (without the leading `/`): every byte except the
    /// unreserved characters `A-Z a-z 0-9 - . _ ~` is percent-encoded (upper-case hex) once,
    /// `/` is kept. Encode the key once, with this, and send the result unchanged.
    ///
    ///     S3Path.encode("a b/c+d=é~") == "a%20b/c%2Bd%3D%C3%A9~"
    public static func encode(_ key: String) -> String {
        uriEncode(key, encodeSlash: false)
    }

    /// The path of an object URL: `/key` (virtual-hosted) or `/bucket/key` (path-style).
    /// `key` may be empty (bucket-level requests).
    public static func path(bucket: String? = nil, key: String = "") -> String {
        if let bucket { return "/" + uriEncode(bucket, encodeSlash: true) + "/" + encode(key) }
        return "/" + encode(key)
    }

    /// Encodes one query-string name or value: like `encode` but `/` becomes `%2F` too.
    public static func encodeQueryComponent(_ value: String) -> String {
        uriEncode(value, encodeSlash: true)
    }

    /// A query string (without `?`) from name/value pairs, in the order given, each component
    /// encoded; a `nil` value gives `name=` (S3 sub-resources such as `uploads`).
    public static func query(_ items: [(name: String, value: String?)]) -> String {
        items.map { encodeQueryComponent($0.name) + "=" + encodeQueryComponent($0.value ?? "") }
            .joined(separator: "&")
    }

    /// Decodes a form-URL-encoded component, as S3 writes a key into an event notification and as a
    /// presigned URL's query carries its values: `+` is a space, then `%XX` escapes (any case). When
    /// an escape is malformed or the decoded bytes are not UTF-8, the text as written (with `+` as a
    /// space), as Foundation's `removingPercentEncoding` fallback gave.
    ///
    ///     S3Path.formDecode("a+b%2Bc%C3%A9") == "a b+cé"
    ///     S3Path.formDecode("100%zz+x") == "100%zz x"
    public static func formDecode(_ text: some StringProtocol) -> String {
        let spaced = text.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }
        let decoded = unescape(spaced)
        if decoded.wellFormed, let text = String(validating: decoded.bytes, as: UTF8.self) { return text }
        return String(decoding: spaced, as: UTF8.self)
    }
}

private let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

@inline(__always)
private func isUnreserved(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
        || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
}

/// SigV4 `UriEncode()`: UTF-8 bytes, unreserved characters kept, everything else `%XX` in
/// upper-case hex; `/` kept unless `encodeSlash`.
func uriEncode(_ value: String, encodeSlash: Bool) -> String {
    uriEncode(bytes: Array(value.utf8), encodeSlash: encodeSlash)
}

/// Undoes `%XX` escapes (any case). A `%` not followed by two hex digits is kept as it is; `+`
/// is kept as `+` (SigV4 does not treat it as a space).
func percentDecode<S: StringProtocol>(_ value: S) -> [UInt8] {
    unescape(Array(value.utf8)).bytes
}

/// `%XX` escapes undone, a `%` without two hex digits after it kept; `wellFormed` is false when there
/// was such a `%` (form decoding then takes the text as written).
private func unescape(_ bytes: [UInt8]) -> (bytes: [UInt8], wellFormed: Bool) {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var wellFormed = true
    var i = 0
    while i < bytes.count {
        if bytes[i] == 0x25, i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
            out.append(hi << 4 | lo)
            i += 3
        } else {
            if bytes[i] == 0x25 { wellFormed = false }
            out.append(bytes[i])
            i += 1
        }
    }
    return (out, wellFormed)
}

/// `UriEncode()` over raw bytes (a decoded component that may not be valid UTF-8).
func uriEncode(bytes: [UInt8], encodeSlash: Bool) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    for c in bytes {
        if isUnreserved(c) || (c == 0x2F && !encodeSlash) {
            out.append(c)
        } else {
            out.append(0x25)
            out.append(hexDigits[Int(c >> 4)])
            out.append(hexDigits[Int(c & 0x0F)])
        }
    }
    return String(decoding: out, as: UTF8.self)
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}
