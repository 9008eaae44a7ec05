import Basics

/// The additional checksums S3 takes on uploads (`x-amz-checksum-*`) that s3transcode can send:
/// the three CRCs, which AWS allows as FULL_OBJECT checksums of a multipart upload.
///
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity-upload.html>
public enum ChecksumAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case crc32
    case crc32c
    case crc64nvme

    /// As S3 names it in `x-amz-checksum-algorithm`: `CRC32`, `CRC32C`, `CRC64NVME`.
    public var s3Name: String { rawValue.uppercased() }
    /// `x-amz-checksum-crc32`, …
    public var headerName: String { "x-amz-checksum-" + rawValue }
    /// `ChecksumCRC32`, …: the element of a CompleteMultipartUpload request or answer.
    public var xmlElement: String { "Checksum" + s3Name }
    public var description: String { s3Name }

    /// The CRC's parameters: all three are reflected, with initial value and final XOR all ones.
    var crc: CRCParameters {
        switch self {
        case .crc32: .crc32
        case .crc32c: .crc32c
        case .crc64nvme: .crc64nvme
        }
    }
}

/// What an upload sends besides Content-MD5: one algorithm, as one checksum of the whole object
/// (`FULL_OBJECT`: the parts' CRCs combined) or as S3's checksum of the part checksums (`COMPOSITE`,
/// for stores that allow only that for the algorithm, such as R2 with CRC32).
public struct UploadChecksum: Sendable, Equatable, CustomStringConvertible {
    public var algorithm: ChecksumAlgorithm
    public var fullObject: Bool

    public init(_ algorithm: ChecksumAlgorithm, fullObject: Bool = true) {
        self.algorithm = algorithm
        self.fullObject = fullObject
    }

    /// `x-amz-checksum-type`.
    public var typeName: String { fullObject ? "FULL_OBJECT" : "COMPOSITE" }
    public var description: String { "\(algorithm) \(typeName)" }
}

/// One checksum value as sent or answered: base64 of the CRC's big-endian bytes.
public struct ChecksumValue: Sendable, Equatable {
    public var algorithm: ChecksumAlgorithm
    public var base64: String

    public init(_ algorithm: ChecksumAlgorithm, base64: String) {
        self.algorithm = algorithm
        self.base64 = base64
    }

    /// The value of a CRC (4 bytes for the 32-bit CRCs, 8 for CRC64NVME).
    public init(_ algorithm: ChecksumAlgorithm, crc: UInt64) {
        self.init(algorithm, base64: algorithm.crc.base64(crc))
    }
}

/// A reflected CRC with initial value and final XOR all ones (CRC-32, CRC-32C, CRC-64/NVME), table
/// driven, and its combine: the CRC of A‖B from CRC(A), CRC(B) and the length of B, by zlib's GF(2)
/// matrix method (`crc32_combine` in zlib 1.2.x `crc32.c`, written here for any width up to 64 bits).
///
/// - CRC-32 (zlib, S3 `CRC32`): polynomial 0xEDB88320 reflected; check value 0xCBF43926.
/// - CRC-32C (Castagnoli, S3 `CRC32C`): 0x82F63B78 reflected; check value 0xE3069283.
/// - CRC-64/NVME (S3 `CRC64NVME`, `awscrt.checksums.crc64nvme`): 0x9A6C9329AC4BC9B5 reflected;
///   check value 0xAE8B14860A799888.
///
/// The check value is the CRC of the ASCII bytes "123456789" (the catalogue of parametrised CRC
/// algorithms, <https://reveng.sourceforge.io/crc-catalogue/all.htm>).
struct CRCParameters: Sendable {
    /// Bits: 32 or 64.
    let width: Int
    /// The reflected polynomial.
    let polynomial: UInt64
    let table: [UInt64]

    static let crc32 = CRCParameters(width: 32, polynomial: 0xEDB8_8320)
    static let crc32c = CRCParameters(width: 32, polynomial: 0x82F6_3B78)
    static let crc64nvme = CRCParameters(width: 64, polynomial: 0x9A6C_9329_AC4B_C9B5)

    init(width: Int, polynomial: UInt64) {
        self.width = width
        self.polynomial = polynomial
        table = (0..<256).map { index in
            var crc = UInt64(index)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            return crc
        }
    }

    var mask: UInt64 { width == 64 ? .max : (1 << UInt64(width)) - 1 }

    /// Continues `crc` (the CRC of the bytes before; 0 for none) over `bytes`.
    func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var value = ~crc & mask
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                value = table[Int((value ^ UInt64(byte)) & 0xFF)] ^ (value >> 8)
            }
        }
        return ~value & mask
    }

    func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// The CRC of A‖B from `first` = CRC(A), `second` = CRC(B) and `secondLength` = |B| in bytes.
    /// Appending a zero bit to the message multiplies the CRC register by a fixed GF(2) matrix;
    /// squaring it gives 2, 4, 8 … zero bits, so the register of A is moved past |B| zero bytes in
    /// log2(|B|) steps, and the CRC of B is added (XOR) on top.
    func combine(_ first: UInt64, _ second: UInt64, secondLength: Int) -> UInt64 {
        guard secondLength > 0 else { return first }
        // The operator for one zero bit: row 0 is the polynomial, row n shifts bit n to bit n-1.
        var odd = [UInt64](repeating: 0, count: width)
        odd[0] = polynomial
        var row: UInt64 = 1
        for n in 1..<width {
            odd[n] = row
            row <<= 1
        }
        var even = square(odd)  // two zero bits
        odd = square(even)  // four zero bits
        var crc = first
        var length = secondLength
        // The first pass squares into one zero byte (eight bits), then each pass doubles.
        repeat {
            even = square(odd)
            if length & 1 != 0 { crc = times(even, crc) }
            length >>= 1
            if length == 0 { break }
            odd = square(even)
            if length & 1 != 0 { crc = times(odd, crc) }
            length >>= 1
        } while length != 0
        return crc ^ second
    }

    private func times(_ matrix: [UInt64], _ vector: UInt64) -> UInt64 {
        var sum: UInt64 = 0
        var vector = vector
        var index = 0
        while vector != 0 {
            if vector & 1 != 0 { sum ^= matrix[index] }
            vector >>= 1
            index += 1
        }
        return sum
    }

    private func square(_ matrix: [UInt64]) -> [UInt64] {
        matrix.map { times(matrix, $0) }
    }

    /// Base64 of the CRC's big-endian bytes, as `x-amz-checksum-*` carries it.
    func base64(_ crc: UInt64) -> String {
        let bytes = width / 8
        return Base64.encode((0..<bytes).map { UInt8(truncatingIfNeeded: crc >> UInt64(8 * (bytes - 1 - $0))) })
    }
}
