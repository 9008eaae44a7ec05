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

        /// OpenSSL's static method table (never freed). Every digest and HMAC starts here, so this
        /// is where OpenSSL is initialised first.
        var evp: OpaquePointer {
            OpenSSLLibrary.initialize()
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
            let method = algorithm.evp  // first: it initialises OpenSSL
            pointer = Context.allocate()
            check(EVP_DigestInit_ex(pointer, method, nil), "EVP_DigestInit_ex")
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

/// OpenSSL's process-wide initialisation, without the cleanup it otherwise registers with `atexit`.
/// That cleanup frees the digests' providers and locks while `exit()` runs, under any thread still
/// hashing a part or talking TLS: an error exit (64 for a bad `--part-size`) then crashed now and
/// then with SIGSEGV in `pthread_rwlock_rdlock` or "EVP_DigestInit_ex failed". The first
/// initialisation in a process decides, so this runs before the first digest and before
/// `curl_global_init` (HTTPClient calls it); the system takes the memory back at exit anyway.
/// https://docs.openssl.org/3.0/man3/OPENSSL_init_crypto/ (`OPENSSL_INIT_NO_ATEXIT`, OpenSSL 1.1.1b+)
public enum OpenSSLLibrary {
    public static func initialize() { _ = initialized }

    private static let initialized: Void = {
        precondition(OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1, "OPENSSL_init_crypto failed")
    }()
}
