/// The `x-amz-content-sha256` value: the lower-case hex SHA-256 of the request body.
///
/// Feed the body as it is produced (`update` once per chunk while a part buffer fills) and take
/// `finalize()` when the body is complete: no second pass over the bytes. Not `Sendable`
/// (`MessageDigest` is not): one hasher belongs to the thread filling one body.
public struct PayloadHasher {
    /// The hash of an empty body (every GET, HEAD, DELETE and empty PUT).
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// Sent instead of a hash when the payload is not signed (presigned URLs; opt-in over HTTPS).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    private var hasher = MessageDigest(.sha256)

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bytes)
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        hasher.update(bytes)
    }

    /// The hex digest. The hasher is consumed: start a new one for the next body.
    public func finalize() -> String {
        hex(hasher.finalize())
    }

    /// The hex SHA-256 of a whole buffer.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> String {
        hex(MessageDigest.hash(.sha256, bytes))
    }

    /// The hex SHA-256 of bytes or of a string's UTF-8.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = PayloadHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hash(_ text: String) -> String {
        hash(Array(text.utf8))
    }
}

private let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)

/// Lower-case hex of a digest or MAC: the one hex encoder of the package (S3's ETag and checksum
/// code should call it rather than keep copies).
public func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in bytes {
        out.append(lowerHex[Int(byte >> 4)])
        out.append(lowerHex[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
