import Testing

@testable import SigV4

/// `MessageDigest` against the published test vectors, and its value semantics (the part buffers
/// and `PayloadHasher` rely on a copy or a `finalize()` leaving the original as it was).
@Suite("SHA-256, MD5 and HMAC (OpenSSL)")
struct MessageDigestTests {
    /// FIPS 180-2, appendix B: "abc" and the 448-bit message.
    @Test(
        "SHA-256 of the FIPS 180-2 messages",
        arguments: [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            ("", PayloadHasher.emptyPayloadHash),
        ])
    func sha256(message: String, expected: String) {
        #expect(hex(MessageDigest.hash(.sha256, message.utf8)) == expected)
        #expect(Array(message.utf8).withUnsafeBytes { hex(MessageDigest.hash(.sha256, $0)) } == expected)
    }

    /// FIPS 180-2, appendix B.3: one million 'a', fed in uneven pieces (1,000 updates of 1,000 and
    /// then, in a second digest, pieces of 1, 63, 64 and 65 bytes around the block size).
    @Test("SHA-256 of one million 'a', fed incrementally")
    func sha256MillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        var digest = MessageDigest(.sha256)
        for _ in 0..<1000 { thousand.withUnsafeBytes { digest.update($0) } }
        #expect(hex(digest.finalize()) == expected)

        var uneven = MessageDigest(.sha256)
        let sizes = [1, 63, 64, 65]
        var (fed, updates) = (0, 0)
        while fed < 1_000_000 {
            let size = min(sizes[updates % sizes.count], 1_000_000 - fed)
            uneven.update(thousand.prefix(size))
            fed += size
            updates += 1
        }
        #expect(hex(uneven.finalize()) == expected)
    }

    /// RFC 1321, appendix A.5: the test suite.
    @Test(
        "MD5 of the RFC 1321 test suite",
        arguments: [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ])
    func md5(message: String, expected: String) {
        #expect(hex(MessageDigest.hash(.md5, message.utf8)) == expected)
        // The same, one byte per update.
        var digest = MessageDigest(.md5)
        for byte in message.utf8 { digest.update([byte]) }
        #expect(hex(digest.finalize()) == expected)
    }

    /// RFC 4231, section 4: test cases 1-4, 6 and 7 (5 is a truncated MAC, which SigV4 never uses).
    @Test(
        "HMAC-SHA256 of the RFC 4231 test cases",
        arguments: [
            (
                [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), [UInt8](repeating: 0xCD, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xAA, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xAA, count: 131),
                Array(
                    ("This is a test using a larger than block-size key and a larger than block-size data. "
                        + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ] as [([UInt8], [UInt8], String)])
    func hmacSHA256(key: [UInt8], message: [UInt8], expected: String) {
        #expect(hex(MessageDigest.hmac(.sha256, key: key, message: message)) == expected)
    }

    /// RFC 2202, section 3, test cases 1 and 2 (the legacy presigned URLs the command tests build).
    @Test("HMAC-SHA1 of RFC 2202's first test cases")
    func hmacSHA1() {
        #expect(
            hex(MessageDigest.hmac(.sha1, key: [UInt8](repeating: 0x0B, count: 20), message: Array("Hi There".utf8)))
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(
            hex(MessageDigest.hmac(.sha1, key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    @Test("HMAC with an empty key or message is the defined MAC, not a failure")
    func hmacEmpty() {
        // Python: hmac.new(b"", b"", hashlib.sha256).hexdigest()
        #expect(
            hex(MessageDigest.hmac(.sha256, key: [], message: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("a copy hashes on independently, and finalize leaves the digest as it was")
    func valueSemantics() {
        var ab = MessageDigest(.sha256)
        ab.update("a".utf8)
        var copy = ab
        #expect(hex(ab.finalize()) == hex(MessageDigest.hash(.sha256, "a".utf8)))
        ab.update("b".utf8)
        copy.update("c".utf8)
        #expect(hex(ab.finalize()) == hex(MessageDigest.hash(.sha256, "ab".utf8)))
        #expect(hex(copy.finalize()) == hex(MessageDigest.hash(.sha256, "ac".utf8)))
        // Fed on after a finalize: the digest of everything.
        ab.update("c".utf8)
        #expect(hex(ab.finalize()) == hex(MessageDigest.hash(.sha256, "abc".utf8)))
        #expect(hex(ab.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
