import Basics
import CZlib
import SigV4
import Threads

#if canImport(Glibc)
    import Glibc
#endif

/// The MD5, SHA-256 and CRC32 of one part (or of a whole PutObject body), and the CRC of the
/// upload's checksum algorithm when that is another one.
struct PartDigest: Sendable, Equatable {
    var md5: [UInt8]
    var sha256: [UInt8]
    /// Always computed: the result reports the object's CRC32 whatever is sent.
    var crc32: UInt32
    var length: Int
    /// The CRC-32C or CRC-64/NVME of the bytes when the upload sends that algorithm.
    var otherCRC: UInt64? = nil

    /// The CRC of `algorithm` (the CRC32 is always at hand; the others only if computed).
    func crc(_ algorithm: ChecksumAlgorithm) -> UInt64 {
        algorithm == .crc32 ? UInt64(crc32) : otherCRC ?? 0
    }

    /// The values sent with the request; an `x-amz-checksum-*` value only when the upload sends one.
    func checksums(_ checksum: UploadChecksum?) -> BodyChecksums {
        BodyChecksums(
            contentMD5: Base64.encode(md5),
            sha256: hex(sha256),
            checksum: checksum.map { ChecksumValue($0.algorithm, crc: crc($0.algorithm)) })
    }

    /// What S3 answers as the ETag of a part or of a single PutObject (without quotes).
    var md5Hex: String { hex(md5) }
}

/// One part's memory: a fixed-size buffer taken from the pool, filled by the writer, uploaded by a
/// worker, then reset and reused. The digests of a streaming part are updated as bytes are
/// appended, so a full part is ready to send without a second pass over its bytes. Part 1 is
/// rewritten at the trailer, so its digests are computed once, at `finish()`.
///
/// The memory is its own anonymous mapping, and `reset()` gives its pages back to the system
/// (`madvise(MADV_DONTNEED)`): a buffer waiting in the pool costs no RSS, and a reused one is
/// touched again only as far as its next part is written. So while one part uploads and the next
/// fills, the process holds part 1, the part in flight and only the start of the next one; the
/// budget's third buffer is fully resident only when an upload is slower than the encoder.
///
/// Owned by one thread at a time: the writer while filling, a worker while uploading; the hand-over
/// goes through the uploader's lock.
final class PartBuffer: @unchecked Sendable {
    let capacity: Int
    private let memory: MappedBuffer
    private var storage: UnsafeMutableRawPointer { memory.base }
    private(set) var count = 0
    /// 1-based; set when the buffer is taken for a part.
    var partNumber = 0
    private var md5 = MessageDigest(.md5)
    private var sha256 = MessageDigest(.sha256)
    private var crc: uLong = 0
    /// The CRC-32C or CRC-64/NVME computed beside the CRC32, when the upload sends one of those.
    private let otherAlgorithm: CRCParameters?
    private var otherCRC: UInt64 = 0

    /// Maps `capacity` bytes (pages are only committed when written); throws when the system refuses.
    /// `checksum`: the upload's algorithm, computed as bytes are hashed when it is not CRC32.
    init(capacity: Int, checksum: ChecksumAlgorithm? = nil) throws {
        guard let memory = MappedBuffer(capacity: capacity) else {
            throw UploadError(
                .invalidOptions,
                "cannot allocate a part buffer of \(formatByteSize(capacity)) "
                    + "(\(String(cString: strerror(errno)))); lower the part size or the memory budget")
        }
        self.capacity = capacity
        otherAlgorithm = checksum == nil || checksum == .crc32 ? nil : checksum?.crc
        self.memory = memory
    }

    var isFull: Bool { count == capacity }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// Appends at the end; `hashing` updates the running digests (streaming parts).
    func append(_ source: UnsafeRawBufferPointer, hashing: Bool) {
        precondition(source.count <= capacity - count, "part buffer overflow")
        guard let base = source.baseAddress, !source.isEmpty else { return }
        (storage + count).copyMemory(from: base, byteCount: source.count)
        count += source.count
        if hashing {
            md5.update(source)
            sha256.update(source)
            crc = MultipartChecksum.updateCRC32(crc, source)
            if let otherAlgorithm { otherCRC = otherAlgorithm.update(otherCRC, source) }
        }
    }

    /// Overwrites bytes already written (part 1 only: its digests are computed at the end).
    func overwrite(at offset: Int, with source: UnsafeRawBufferPointer) {
        precondition(offset >= 0 && offset + source.count <= count, "rewrite outside the written bytes")
        guard let base = source.baseAddress, !source.isEmpty else { return }
        (storage + offset).copyMemory(from: base, byteCount: source.count)
    }

    /// The digests of the bytes appended with `hashing: true`.
    func runningDigest() -> PartDigest {
        PartDigest(
            md5: md5.finalize(), sha256: sha256.finalize(), crc32: UInt32(crc), length: count,
            otherCRC: otherAlgorithm.map { _ in otherCRC })
    }

    /// The digests of the current bytes, in one pass (part 1 and the single PutObject body).
    func computeDigest() -> PartDigest {
        PartDigest(
            md5: MessageDigest.hash(.md5, bytes), sha256: MessageDigest.hash(.sha256, bytes),
            crc32: UInt32(MultipartChecksum.updateCRC32(0, bytes)), length: count,
            otherCRC: otherAlgorithm?.update(0, bytes))
    }

    /// Empties the buffer for its next part: the mapping is kept, its pages go back to the system.
    func reset() {
        if count > 0 { memory.discard() }
        count = 0
        partNumber = 0
        md5 = MessageDigest(.md5)
        sha256 = MessageDigest(.sha256)
        crc = 0
        otherCRC = 0
    }
}

/// The checksum arithmetic of an upload, namespaced so it cannot clash with the rest of the module.
enum MultipartChecksum {
    /// zlib's `crc32` over any length (its length argument is 32-bit).
    static func updateCRC32(_ crc: uLong, _ bytes: UnsafeRawBufferPointer) -> uLong {
        guard var pointer = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return crc }
        var remaining = bytes.count
        var result = crc
        while remaining > 0 {
            let chunk = min(remaining, 1 << 30)
            result = CZlib.crc32(result, pointer, uInt(chunk))
            pointer += chunk
            remaining -= chunk
        }
        return result
    }

    /// The CRC32 of `first` followed by `second`, from their CRCs: zlib's `crc32_combine`. This is what
    /// lets part 1, whose bytes are final only at the end, come first in the full-object checksum.
    static func combineCRC32(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        UInt32(crc32_combine(uLong(first), uLong(second), off_t(secondLength)))
    }

    /// The CRC of A‖B for `algorithm`: zlib's `crc32_combine` for CRC32, the same GF(2) matrix
    /// method (`CRCParameters.combine`) for the others.
    static func combine(_ algorithm: ChecksumAlgorithm, _ first: UInt64, _ second: UInt64, secondLength: Int) -> UInt64
    {
        algorithm == .crc32
            ? UInt64(combineCRC32(UInt32(first), UInt32(second), secondLength: secondLength))
            : algorithm.crc.combine(first, second, secondLength: secondLength)
    }

    /// Whether an ETag can be compared with our MD5s, from the answer alone: not under SSE-KMS,
    /// DSSE-KMS or SSE-C (whose ETags are not MD5s), and shaped as an MD5 (32 hex digits; for a
    /// multipart object, 32 hex digits, `-` and the part count). Anything else is an opaque ETag.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html> (ETag)
    static func etagIsMD5(_ etag: String, multipart: Bool, encryption: String?, customerKeyAlgorithm: String?) -> Bool {
        if let encryption, encryption.lowercased().hasPrefix("aws:kms") { return false }
        if let customerKeyAlgorithm, !customerKeyAlgorithm.isEmpty { return false }
        let value = normalizedETag(etag)
        let isHex32 = { (text: Substring) in text.utf8.count == 32 && text.utf8.allSatisfy(isHexDigit) }
        guard multipart else { return isHex32(value[...]) }
        guard let dash = value.firstIndex(of: "-"), let count = Int(value[value.index(after: dash)...]), count >= 1
        else { return false }
        return isHex32(value[..<dash])
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    /// Whether a checksum S3 answered (base64, perhaps with stray whitespace) is ours.
    static func sameChecksum(_ answered: String, _ ours: String) -> Bool {
        trimmedWhitespace(answered) == ours
    }

    /// The ETag S3 gives a multipart object: the MD5 of the concatenated binary part MD5s, then `-N`.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html#large-object-checksums>
    static func multipartETag(partMD5s: [[UInt8]]) -> String {
        hex(MessageDigest.hash(.md5, partMD5s.joined())) + "-\(partMD5s.count)"
    }

    /// An ETag as S3 sends it (quoted, sometimes `W/`-prefixed) reduced to its value, lowercased.
    static func normalizedETag(_ etag: String) -> String {
        var value = trimmedWhitespace(etag)
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
        if value.hasPrefix("&quot;"), value.hasSuffix("&quot;"), value.count >= 12 {
            value = value.dropFirst(6).dropLast(6)
        }
        return value.lowercased()
    }
}

/// `text` without leading and trailing spaces, tabs and line breaks.
func trimmedWhitespace<S: StringProtocol>(_ text: S) -> Substring {
    Substring(text.trimming { $0 == " " || $0 == "\t" || $0.isNewline })
}
