#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the certificate authorities that HTTPS trusts are, found the way Go's `crypto/x509` finds
/// them on Linux. The portable build's OpenSSL knows no path of its own (each distribution keeps
/// its bundle elsewhere), so the transport always names one.
public enum TrustStore: Sendable, Equatable {
    /// A PEM bundle (`CURLOPT_CAINFO`).
    case file(String)
    /// A folder of hashed PEM files, as `c_rehash` makes them (`CURLOPT_CAPATH`).
    case directory(String)

    /// The bundles of the distributions, in Go's order: Debian, Ubuntu, Alpine; Amazon Linux, RHEL,
    /// Fedora; SUSE; RHEL's extracted trust; macOS-style and others.
    public static let bundleFiles = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]
    public static let bundleDirectories = ["/etc/ssl/certs", "/etc/pki/tls/certs"]

    /// The first that exists of: `SSL_CERT_FILE` (else the distributions' bundles), then
    /// `SSL_CERT_DIR` (colon-separated; else the distributions' folders). `nil` when none does.
    /// (`AWS_CA_BUNDLE` comes before all of these: `CurlTransport.Options.caBundle`.)
    public static func locate(environment: [String: String]) -> TrustStore? {
        let files = environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : [$0] } ?? bundleFiles
        if let file = files.first(where: { isFile($0) }) { return .file(file) }
        let folders =
            environment["SSL_CERT_DIR"].flatMap { $0.isEmpty ? nil : $0.split(separator: ":").map(String.init) }
            ?? bundleDirectories
        if let folder = folders.first(where: { isDirectory($0) }) { return .directory(folder) }
        return nil
    }

    /// The one-line error when `locate` finds nothing and HTTPS is needed.
    public static let missingMessage =
        "no CA certificates for HTTPS: none of SSL_CERT_FILE, \(bundleFiles.joined(separator: ", ")), SSL_CERT_DIR, "
        + "\(bundleDirectories.joined(separator: ", ")) exists; install the ca-certificates package or set SSL_CERT_FILE (or AWS_CA_BUNDLE)"

    private static func isFile(_ path: String) -> Bool { mode(path).map { $0 & S_IFMT == S_IFREG } ?? false }
    private static func isDirectory(_ path: String) -> Bool { mode(path).map { $0 & S_IFMT == S_IFDIR } ?? false }
    /// The file type bits of `path`, following symbolic links (Debian's bundle is one).
    private static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode : nil
    }
}
