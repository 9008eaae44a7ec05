import Foundation
import TestSupport
import Testing

@testable import S3

/// A bit-at-a-time CRC, written from the definition (no table, no combine), that the uploader's
/// table-driven CRCs and their GF(2) combine are checked against.
enum ReferenceCRC {
    static func checksum(_ algorithm: ChecksumAlgorithm, _ bytes: [UInt8]) -> UInt64 {
        let (width, polynomial): (Int, UInt64) =
            switch algorithm {
            case .crc32: (32, 0xEDB8_8320)
            case .crc32c: (32, 0x82F6_3B78)
            case .crc64nvme: (64, 0x9A6C_9329_AC4B_C9B5)
            }
        let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        var crc = mask
        for byte in bytes {
            crc ^= UInt64(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
        }
        return ~crc & mask
    }
}

@Suite struct CRCTests {
    static let check = Array("123456789".utf8)

    /// The catalogue's check values (CRC of "123456789"), the ones the brief and AWS CRT name.
    @Test(arguments: [
        (ChecksumAlgorithm.crc32, UInt64(0xCBF4_3926)),
        (.crc32c, 0xE306_9283),
        (.crc64nvme, 0xAE8B_1486_0A79_9888),
    ])
    func checkValues(algorithm: ChecksumAlgorithm, expected: UInt64) {
        #expect(algorithm.crc.checksum(Self.check) == expected)
        #expect(ReferenceCRC.checksum(algorithm, Self.check) == expected)
    }

    @Test(arguments: ChecksumAlgorithm.allCases)
    func emptyInputIsZero(algorithm: ChecksumAlgorithm) {
        #expect(algorithm.crc.checksum([]) == 0)
    }

    /// The table-driven CRC continues across calls and equals the bitwise one.
    @Test(arguments: ChecksumAlgorithm.allCases)
    func tableMatchesBitwiseAndContinuesAcrossCalls(algorithm: ChecksumAlgorithm) {
        var random = SplitMix64(state: 42)
        let bytes = (0..<10_007).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let whole = ReferenceCRC.checksum(algorithm, bytes)
        #expect(algorithm.crc.checksum(bytes) == whole)
        let crc = algorithm.crc
        let continued = bytes.withUnsafeBytes { buffer in
            crc.update(
                crc.update(0, UnsafeRawBufferPointer(rebasing: buffer[..<3001])),
                UnsafeRawBufferPointer(rebasing: buffer[3001...]))
        }
        #expect(continued == whole)
    }

    /// combine(CRC(A), CRC(B), |B|) == CRC(A‖B), over random splits into many pieces, empty pieces
    /// included, folded left to right as the uploader folds its parts.
    @Test(arguments: ChecksumAlgorithm.allCases)
    func combineOfRandomSplitsEqualsTheWholeBuffer(algorithm: ChecksumAlgorithm) {
        var random = SplitMix64(state: 7)
        for round in 0..<25 {
            let count = Int(random.next() % 70_000)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var cuts = (0..<Int(random.next() % 6)).map { _ in count == 0 ? 0 : Int(random.next() % UInt64(count + 1)) }
            if round % 3 == 0 { cuts += [0, count, cuts.first ?? 0] }  // empty pieces at the ends and in between
            cuts = ([0] + cuts + [count]).sorted()
            var combined: UInt64?
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                let piece = algorithm.crc.checksum(Array(bytes[start..<end]))
                combined =
                    combined.map { MultipartChecksum.combine(algorithm, $0, piece, secondLength: end - start) } ?? piece
            }
            #expect(combined == ReferenceCRC.checksum(algorithm, bytes), "round \(round), cuts \(cuts)")
        }
    }

    /// The generic combine for CRC-32 agrees with zlib's crc32_combine.
    @Test func genericCombineAgreesWithZlib() {
        var random = SplitMix64(state: 3)
        for _ in 0..<50 {
            let first = UInt64(UInt32(truncatingIfNeeded: random.next()))
            let second = UInt64(UInt32(truncatingIfNeeded: random.next()))
            let length = Int(random.next() % 10_000_000)
            #expect(
                CRCParameters.crc32.combine(first, second, secondLength: length)
                    == UInt64(MultipartChecksum.combineCRC32(UInt32(first), UInt32(second), secondLength: length)))
        }
    }

    /// The header value is base64 of the big-endian bytes: 4 for the 32-bit CRCs, 8 for CRC64NVME.
    @Test func valuesAreBase64OfTheBigEndianBytes() {
        #expect(ChecksumValue(.crc32, crc: 0xCBF4_3926).base64 == Data([0xCB, 0xF4, 0x39, 0x26]).base64EncodedString())
        #expect(ChecksumValue(.crc32c, crc: 0xE306_9283).base64 == "4waSgw==")
        #expect(
            ChecksumValue(.crc64nvme, crc: 0xAE8B_1486_0A79_9888).base64
                == Data([0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88]).base64EncodedString())
        #expect(ChecksumAlgorithm.crc64nvme.headerName == "x-amz-checksum-crc64nvme")
        #expect(ChecksumAlgorithm.crc32c.xmlElement == "ChecksumCRC32C")
    }
}

@Suite struct ETagShapeTests {
    static let md5 = "\"9e107d9d372bb6826bd81d3542a419d6\""

    @Test func md5ShapedETagsWithoutEncryptionAreMD5s() {
        #expect(MultipartChecksum.etagIsMD5(Self.md5, multipart: false, encryption: nil, customerKeyAlgorithm: nil))
        #expect(
            MultipartChecksum.etagIsMD5(
                "9E107D9D372BB6826BD81D3542A419D6", multipart: false, encryption: "AES256",
                customerKeyAlgorithm: nil))
        #expect(
            MultipartChecksum.etagIsMD5(
                "\"9e107d9d372bb6826bd81d3542a419d6-12\"", multipart: true, encryption: nil,
                customerKeyAlgorithm: nil))
        #expect(
            MultipartChecksum.etagIsMD5(
                "W/\"9e107d9d372bb6826bd81d3542a419d6\"", multipart: false, encryption: nil,
                customerKeyAlgorithm: nil))
    }

    @Test(arguments: ["aws:kms", "aws:kms:dsse", "AWS:KMS"])
    func kmsAnswersAreNeverMD5s(encryption: String) {
        #expect(
            !MultipartChecksum.etagIsMD5(Self.md5, multipart: false, encryption: encryption, customerKeyAlgorithm: nil))
        #expect(
            !MultipartChecksum.etagIsMD5(
                "\"9e107d9d372bb6826bd81d3542a419d6-3\"", multipart: true,
                encryption: encryption, customerKeyAlgorithm: nil))
    }

    @Test func sseCAnswersAreNeverMD5s() {
        #expect(
            !MultipartChecksum.etagIsMD5(Self.md5, multipart: false, encryption: nil, customerKeyAlgorithm: "AES256"))
    }

    @Test(arguments: [
        ("\"9e107d9d372bb6826bd81d3542a419d\"", false),  // 31 digits
        ("\"9e107d9d372bb6826bd81d3542a419d6a\"", false),  // 33
        ("\"9e107d9d372bb6826bd81d3542a419zz\"", false),  // not hex
        ("\"9e107d9d372bb6826bd81d3542a419d6-3\"", false),  // multipart shape for a single object
        ("\"9e107d9d372bb6826bd81d3542a419d6\"", true),
        ("", false),
    ])
    func singleObjectShape(etag: String, isMD5: Bool) {
        #expect(
            MultipartChecksum.etagIsMD5(etag, multipart: false, encryption: nil, customerKeyAlgorithm: nil) == isMD5)
    }

    @Test(arguments: [
        ("\"9e107d9d372bb6826bd81d3542a419d6\"", false),  // no part count
        ("\"9e107d9d372bb6826bd81d3542a419d6-\"", false),
        ("\"9e107d9d372bb6826bd81d3542a419d6-0\"", false),
        ("\"9e107d9d372bb6826bd81d3542a419d6-x\"", false),
        ("\"CAISEK3w2Bk-3\"", false),  // an opaque GCS-like value
        ("\"9e107d9d372bb6826bd81d3542a419d6-10000\"", true),
    ])
    func multipartShape(etag: String, isMD5: Bool) {
        #expect(MultipartChecksum.etagIsMD5(etag, multipart: true, encryption: nil, customerKeyAlgorithm: nil) == isMD5)
    }
}

@Suite struct StoreTableTests {
    @Test(
        arguments: [
            (nil, "aws"),
            ("https://s3.eu-west-1.amazonaws.com", "aws"),
            ("https://0123abcd.r2.cloudflarestorage.com", "r2"),
            ("https://0123abcd.eu.r2.cloudflarestorage.com/", "r2"),
            ("https://s3.us-west-004.backblazeb2.com", "b2"),
            ("https://storage.googleapis.com", "gcs"),
            ("HTTPS://Storage.GoogleAPIs.com:443/base", "gcs"),
            ("https://s3.eu-central-1.wasabisys.com", "wasabi"),
            ("https://s3.fr-par.scw.cloud", "scaleway"),
            ("https://fra1.digitaloceanspaces.com", "digitalocean"),
            ("https://s3.gra.io.cloud.ovh.net", "ovh"),
            ("https://s3.gra.cloud.ovh.net", "ovh"),
            ("http://127.0.0.1:9000", "generic"),
            ("http://minio.internal:9000", "generic"),
            ("https://evil-r2.cloudflarestorage.com.example.org", "generic"),
            ("https://notgoogleapis.com", "generic"),
            ("http://[::1]:9000", "generic"),
        ] as [(String?, String)])
    func theEndpointsHostChoosesTheStore(endpoint: String?, name: String) {
        #expect(StoreProfile.profile(forEndpoint: endpoint).name == name)
    }

    @Test func namesAreCaseInsensitiveAndEveryEntryHasASource() {
        #expect(StoreProfile.named("R2")?.title == "Cloudflare R2")
        #expect(StoreProfile.named("nonesuch") == nil)
        #expect(Set(StoreProfile.all.map(\.name)).count == StoreProfile.all.count)
        for store in StoreProfile.all {
            #expect(!store.sources.isEmpty && store.sources.allSatisfy { $0.hasPrefix("https://") }, "\(store)")
            if let algorithm = store.defaultChecksum { #expect(store.checksums[algorithm] != nil, "\(store)") }
        }
    }

    @Test func whatEachStoreNeeds() throws {
        let r2 = try #require(StoreProfile.named("r2"))
        #expect(r2.uploadChecksum(.crc64nvme) == UploadChecksum(.crc64nvme, fullObject: true))
        #expect(r2.uploadChecksum(.crc32) == UploadChecksum(.crc32, fullObject: false))
        #expect(r2.equalPartSizes)
        #expect(StoreProfile.aws.uploadChecksum(.crc32c).fullObject)
        #expect(StoreProfile.named("scaleway")?.maxParts == 1_000)
        #expect(StoreProfile.named("b2")?.defaultChecksum == nil)
        #expect(StoreProfile.named("gcs")?.multipartETagIsMD5OfMD5s == false)
        #expect(StoreProfile.generic.defaultChecksum == nil)
    }

    /// The part size grows to fit the store's part limit, not S3's 10,000.
    @Test func thePartLimitDrivesPartSizeGrowth() throws {
        let expected: Int64 = 8 << 30  // 8 GiB
        var options = MultipartUploadOptions(memoryBudget: 64 << 20, expectedSize: expected)
        #expect(try options.plan().partSize == 5 << 20)  // 8.8 GiB / 10,000 < 1 MiB
        options = options.applying(StoreProfile.named("scaleway")!)
        let plan = try options.plan()
        #expect(plan.partSize == 10 << 20)  // 8.8 GiB / 1,000 = 9.01 MiB, rounded up to whole MiB
        #expect(Int64(plan.partSize) * 1_000 >= expected + expected / 10)
    }

    @Test func aRefusedChecksumHeaderNamesBothWaysOut() {
        let b2 = S3Error.response(
            operation: "CreateMultipartUpload", bucket: "b", key: "k", status: 400,
            error: S3ErrorDocument(
                code: "InvalidArgument",
                message: "Unsupported header 'x-amz-checksum-crc32' received for this API call."),
            requestId: nil, attempts: 1, region: "us-east-1", sentChecksumHeaders: true)
        #expect(b2.message.contains("--checksum none"))
        #expect(b2.message.contains("AWS_REQUEST_CHECKSUM_CALCULATION=when_required"))
        #expect(!b2.message.contains("\n"))
        let r2 = S3Error.response(
            operation: "CreateMultipartUpload", bucket: "b", key: "k", status: 501,
            error: S3ErrorDocument(
                code: "NotImplemented", message: "Checksum type FULL_OBJECT is not implemented for CRC32"),
            requestId: nil, attempts: 1, region: "auto", sentChecksumHeaders: true)
        #expect(r2.message.contains("--checksum none"))
        #expect(!r2.message.contains("unavailable or throttling"))
        // A 501 to a request without checksum headers is not blamed on them, nor on throttling.
        let other = S3Error.response(
            operation: "PutObject", bucket: "b", key: "k", status: 501,
            error: S3ErrorDocument(
                code: "NotImplemented", message: "A header you provided implies functionality that is not implemented"),
            requestId: nil, attempts: 1, region: "auto")
        #expect(!other.message.contains("--checksum none"))
        #expect(!other.message.contains("unavailable or throttling"))
        #expect(RetryClassifier.classify(status: 501, code: "NotImplemented") == nil)
        // A checksum that did not match is damage in transit, not a refusal: never "turn it off".
        let damaged = S3Error.response(
            operation: "UploadPart", bucket: "b", key: "k", status: 400,
            error: S3ErrorDocument(
                code: "BadDigest", message: "The CRC32 you specified did not match the calculated checksum."),
            requestId: nil, attempts: 1, region: "us-east-1", sentChecksumHeaders: true)
        #expect(!damaged.message.contains("--checksum none"))
    }
}
