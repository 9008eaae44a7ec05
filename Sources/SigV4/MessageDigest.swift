import COpenSSL

/// A message digest fed incrementally, on OpenSSL's EVP API (libcrypto, the library curl already
/// uses for TLS): SHA-256 for SigV4 and `x-amz-content-sha256`, MD5 for `Content-MD5` and ETags.
/// The one owner of hashing and HMAC in the package.
///
/// A value: a copy hashes on independently of the original (the context is copied on the first
/// `update` after a copy), and `finalize()` leaves the digest as it was, so it can be fed on.
/// Not `Sendable`: one digest belongs to the thread feeding it.
///
/// https://docs.openssl.org/3.0/man3/EVP_DigestInit/
public struct MessageDigest {
    public enum Algorithm: Sendable {
        case sha256
        case md5
        /// Only for HMAC-SHA1, which the legacy (signature version 2) presigned URLs use.
        case sha1

        /// OpenSSL's static method table (never freed).
        var evp: OpaquePointer {
            MessageDigest.initializeLibrary
            return switch self {
            case .sha256: EVP_sha256()
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            }
        }
    }

    private var context: Context

    public init(_ algorithm: Algorithm) {
        context = Context(algorithm)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        context.update(bytes)
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if let done = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The digest of everything fed so far (32 bytes for SHA-256, 16 for MD5).
    public func finalize() -> [UInt8] {
        context.copy().finalize()
    }

    /// The digest of a whole buffer.
    public static func hash(_ algorithm: Algorithm, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let context = Context(algorithm)
        context.update(bytes)
        return context.finalize()
    }

    /// The digest of bytes (a string's `utf8`, an array, a slice).
    public static func hash<Bytes: Sequence>(_ algorithm: Algorithm, _ bytes: Bytes) -> [UInt8]
    where Bytes.Element == UInt8 {
        var digest = MessageDigest(algorithm)
        digest.update(bytes)
        return digest.finalize()
    }

    /// HMAC (RFC 2104) of `message` under `key` with `algorithm`'s hash: HMAC-SHA256 for SigV4's
    /// signing key and signature. https://docs.openssl.org/3.0/man3/HMAC/
    public static func hmac(_ algorithm: Algorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // A pointer even for an empty key or message (an empty array may have none).
        let keyBytes = key.isEmpty ? [0] : key
        let messageBytes = message.isEmpty ? [0] : message
        let done = keyBytes.withUnsafeBufferPointer { keyPointer in
            messageBytes.withUnsafeBufferPointer { data in
                HMAC(
                    algorithm.evp, keyPointer.baseAddress, Int32(key.count), data.baseAddress, message.count, &mac,
                    &length)
            }
        }
        precondition(done != nil, "OpenSSL's HMAC failed")
        return Array(mac.prefix(Int(length)))
    }

    /// One `EVP_MD_CTX`, freed with its owner.
    private final class Context {
        private let pointer: OpaquePointer

        init(_ algorithm: Algorithm) {
            pointer = Context.allocate()
            check(EVP_DigestInit_ex(pointer, algorithm.evp, nil), "EVP_DigestInit_ex")
        }

        private init(copying source: OpaquePointer) {
            pointer = Context.allocate()
            check(EVP_MD_CTX_copy_ex(pointer, source), "EVP_MD_CTX_copy_ex")
        }

        deinit { EVP_MD_CTX_free(pointer) }

        func copy() -> Context { Context(copying: pointer) }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            check(EVP_DigestUpdate(pointer, base, bytes.count), "EVP_DigestUpdate")
        }

        /// Ends this context: call it on a context nobody else holds.
        func finalize() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            check(EVP_DigestFinal_ex(pointer, &digest, &length), "EVP_DigestFinal_ex")
            return Array(digest.prefix(Int(length)))
        }

        private static func allocate() -> OpaquePointer {
            guard let pointer = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            return pointer
        }

        /// The EVP calls fail only on allocation failure or misuse (a finalized context): no caller
        /// could recover from either.
        private func check(_ result: Int32, _ call: StaticString) {
            precondition(result == 1, "OpenSSL's \(call) failed")
        }
    }
}

extension MessageDigest {
    /// libcrypto initialized once, without its exit-time cleanup (`OPENSSL_INIT_NO_ATEXIT`). By
    /// default OpenSSL frees its global state in an `atexit` handler, and a command that exits (65
    /// on a bad input) while another thread still signs a request or speaks TLS then takes a freed
    /// lock: SIGSEGV in `pthread_rwlock_rdlock` under `__run_exit_handlers`, seen in 1 run in 15.
    /// The first initialization decides, so this runs before any other OpenSSL call, curl's included
    /// (HTTPClient's `curl_global_init` runs it first). https://docs.openssl.org/3.0/man3/OPENSSL_init_crypto/
    public static let initializeLibrary: Void = {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }()
}
