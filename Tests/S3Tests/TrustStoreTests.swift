import HTTPClient
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where HTTPS finds its certificate authorities (the portable binary has no built-in path).
@Suite("TrustStore")
struct TrustStoreTests {
    /// A fresh folder holding `bundle.pem` and `certs/`.
    private func scratch() throws -> String {
        var template = Array("/tmp/s3t-trust-XXXXXX".utf8CString)
        let dir = try #require(mkdtemp(&template).map { String(cString: $0) })
        let file = try #require(fopen("\(dir)/bundle.pem", "w"))
        fputs("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", file)
        fclose(file)
        mkdir("\(dir)/certs", 0o755)
        return dir
    }

    private func remove(_ dir: String) {
        unlink("\(dir)/bundle.pem")
        rmdir("\(dir)/certs")
        rmdir(dir)
    }

    @Test("SSL_CERT_FILE first, then SSL_CERT_DIR (its first existing folder); neither: nil")
    func order() throws {
        let dir = try scratch()
        defer { remove(dir) }
        let file = "\(dir)/bundle.pem"
        let certs = "\(dir)/certs"
        #expect(TrustStore.locate(environment: ["SSL_CERT_FILE": file, "SSL_CERT_DIR": certs]) == .file(file))
        #expect(
            TrustStore.locate(environment: [
                "SSL_CERT_FILE": "\(dir)/missing.pem", "SSL_CERT_DIR": "\(dir)/none:\(certs)",
            ])
                == .directory(certs))
        #expect(
            TrustStore.locate(environment: ["SSL_CERT_FILE": certs, "SSL_CERT_DIR": file]) == nil,
            "a folder is no bundle, a file no folder")
        #expect(
            TrustStore.locate(environment: ["SSL_CERT_FILE": "\(dir)/missing.pem", "SSL_CERT_DIR": "\(dir)/none"])
                == nil)
    }

    @Test("the transport's explicit bundle (AWS_CA_BUNDLE) comes before the environment")
    func explicitBundle() throws {
        let dir = try scratch()
        defer { remove(dir) }
        let transport = CurlTransport(
            options: .init(caBundle: "/x/aws.pem"), environment: ["SSL_CERT_FILE": "\(dir)/bundle.pem"])
        #expect(transport.trust == .file("/x/aws.pem"))
        let system = CurlTransport(environment: ["SSL_CERT_FILE": "\(dir)/bundle.pem"])
        #expect(system.trust == .file("\(dir)/bundle.pem"))
        #expect(TrustStore.missingMessage.contains("/etc/pki/tls/certs/ca-bundle.crt"))
    }
}
