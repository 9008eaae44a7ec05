/// The parts of an absolute `http(s)` URL that SigV4 needs, split without Foundation's `URL`
/// (which would re-encode or normalise the path).
struct RequestURL: Sendable, Equatable {
    /// `https`, lowercased.
    var scheme: String
    /// The `Host` header value: host lowercased, `:port` only when it is not the scheme's default.
    var host: String
    /// The path exactly as written (`/` when empty), without query or fragment.
    var path: String
    /// The raw query string without `?`, or `nil` when the URL has none.
    var query: String?

    init(scheme: String, host: String, path: String, query: String?) {
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query = query
    }

    init?(_ url: String) {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        scheme = url[url.startIndex..<schemeEnd.lowerBound].lowercased()
        var rest = url[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else { return nil }
        var hostPart = Substring(authority)
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        let defaultPort = scheme == "https" ? "443" : scheme == "http" ? "80" : nil
        host = hostPart.lowercased()
        if let port, !port.isEmpty, String(port) != defaultPort { host += ":" + port }
        let pathAndQuery = rest[authorityEnd...]
        if let questionMark = pathAndQuery.firstIndex(of: "?") {
            path = String(pathAndQuery[..<questionMark])
            query = String(pathAndQuery[pathAndQuery.index(after: questionMark)...])
        } else {
            path = String(pathAndQuery)
            query = nil
        }
        if path.isEmpty { path = "/" }
    }

    /// `scheme://authority/path` as written in `url` (everything before `?` or `#`).
    static func base(of url: String) -> Substring {
        let end = url.firstIndex { $0 == "?" || $0 == "#" } ?? url.endIndex
        return url[..<end]
    }
}
