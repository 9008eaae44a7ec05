import Foundation
import S3
import SigV4

/// An in-memory S3 for the uploader's tests: it checks what S3 checks (Content-MD5, the SHA-256 the
/// signature would cover, part checksums, the part list and sizes at Complete, the full-object CRC32)
/// and has switches to fail, stall or lie.
final class FakeUploadStore: MultipartUploadStore, @unchecked Sendable {
    /// Fault switches; set them before the upload starts (or under `update`).
    struct Faults {
        /// Part number → how many attempts fail with a retryable error (Int.max: all of them).
        var failingAttempts: [Int: Int] = [:]
        /// Seconds each part upload takes, per part number (0 when absent).
        var partDelay: [Int: Double] = [:]
        var failCreate = false
        var failComplete = false
        var failPut = false
        /// Attempts of AbortMultipartUpload that fail (Int.max: all).
        var failingAbortAttempts = 0
        var wrongPartETag: Set<Int> = []
        var wrongCompleteETag = false
        var wrongCompleteCRC32 = false
        var wrongPutETag = false
        var wrongPutCRC32 = false
        /// Whether answers carry `x-amz-checksum-crc32` (moto 5.2 sends none).
        var returnsChecksums = true
        /// Non-MD5 ETags, as under SSE-KMS (`kmsHeader`: with `x-amz-server-side-encryption: aws:kms`
        /// on every answer, as AWS sends it).
        var kmsETags = false
        var kmsHeader = true
        /// Opaque multipart ETags (not the MD5 of the part MD5s, though MD5-shaped), as GCS answers.
        var opaqueMultipartETag = false
        /// Complete succeeds but its answer is lost: the store answers with HeadObject of the key.
        var completeAnswerLost = false
        /// The upload vanished (a cleanup aborted it) and the key holds another object.
        var uploadVanishedBeforeComplete = false
    }

    /// What was asked, in order.
    enum Event: Equatable {
        case create
        case partStarted(Int)
        case partFinished(Int)
        case complete([Int])
        case abort
        case put
        case delete
    }

    struct FakeS3Error: Error, CustomStringConvertible {
        var code: String
        var description: String { "fake S3 says \(code)" }
    }

    private let lock = NSCondition()
    private var faults: Faults
    private var log: [Event] = []
    private var uploads: [String: [Int: [UInt8]]] = [:]
    private var objects: [String: [UInt8]] = [:]
    private var attempts: [Int: Int] = [:]
    private var abortAttempts = 0
    private var inFlight = 0
    private var peak = 0
    private var nextUploadID = 1
    /// When closed, part uploads wait inside the store (to hold buffers busy).
    private var gateOpen = true
    private var waitingAtGate = 0

    init(_ faults: Faults = Faults()) {
        self.faults = faults
    }

    // MARK: - Inspection

    var events: [Event] { locked { log } }
    var partAttempts: [Int: Int] { locked { attempts } }
    var abortAttemptCount: Int { locked { abortAttempts } }
    var peakPartsInFlight: Int { locked { peak } }
    var openUploads: Int { locked { uploads.count } }
    var partsWaitingAtGate: Int { locked { waitingAtGate } }
    func object(_ key: String) -> [UInt8]? { locked { objects[key] } }
    /// What CreateMultipartUpload was asked to use.
    private(set) var createdChecksum: UploadChecksum??
    /// The checksums sent with parts and PutObject, and the full-object one at Complete.
    private var sentChecksums: [ChecksumValue] = []
    private var sentFullObject: ChecksumValue?
    var checksumsSent: [ChecksumValue] { locked { sentChecksums } }
    var fullObjectChecksumSent: ChecksumValue? { locked { sentFullObject } }

    private var answeredEncryption: AnsweredEncryption {
        faults.kmsETags && faults.kmsHeader ? AnsweredEncryption(serverSideEncryption: "aws:kms") : AnsweredEncryption()
    }

    /// The order part uploads started in.
    var partStartOrder: [Int] {
        events.compactMap { if case .partStarted(let number) = $0 { number } else { nil } }
    }

    func closeGate() { locked { gateOpen = false } }

    func openGate() {
        locked {
            gateOpen = true
            lock.broadcast()
        }
    }

    // MARK: - MultipartUploadStore

    func createMultipartUpload(_ destination: UploadDestination, checksum: UploadChecksum?) throws -> String {
        try locked {
            log.append(.create)
            createdChecksum = .some(checksum)
            if faults.failCreate { throw FakeS3Error(code: "AccessDenied") }
            let id = "upload-\(nextUploadID)"
            nextUploadID += 1
            uploads[id] = [:]
            return id
        }
    }

    func uploadPart(
        _ destination: UploadDestination, uploadID: String, partNumber: Int, body: UnsafeRawBufferPointer,
        checksums: BodyChecksums, maxAttempts: Int
    ) throws -> UploadedPart {
        locked {
            log.append(.partStarted(partNumber))
            inFlight += 1
            peak = max(peak, inFlight)
            waitingAtGate += 1
            while !gateOpen { lock.wait() }
            waitingAtGate -= 1
        }
        defer {
            locked {
                inFlight -= 1
                log.append(.partFinished(partNumber))
            }
        }
        if let delay = locked({ faults.partDelay[partNumber] }) { Thread.sleep(forTimeInterval: delay) }

        // The store's retry loop: every attempt resends the whole body.
        for attempt in 1...maxAttempts {
            let failing = locked { () -> Bool in
                attempts[partNumber, default: 0] += 1
                return attempt <= faults.failingAttempts[partNumber, default: 0]
            }
            if failing {
                if attempt == maxAttempts { throw FakeS3Error(code: "InternalError") }
                continue
            }
            // Each attempt sends the body again from its first byte.
            let bytes = [UInt8](body)
            try Self.checkBody(bytes, checksums)
            return try locked {
                if let sent = checksums.checksum { sentChecksums.append(sent) }
                guard uploads[uploadID] != nil else { throw FakeS3Error(code: "NoSuchUpload") }
                uploads[uploadID]![partNumber] = bytes
                var etag = faults.kmsETags ? Self.kmsETag(bytes) : Self.md5Hex(bytes)
                if faults.wrongPartETag.contains(partNumber) { etag = Self.md5Hex(bytes + [0]) }
                return UploadedPart(
                    etag: "\"\(etag)\"", checksum: faults.returnsChecksums ? checksums.checksum?.base64 : nil,
                    encryption: answeredEncryption)
            }
        }
        preconditionFailure("unreachable")
    }

    func completeMultipartUpload(
        _ destination: UploadDestination, uploadID: String, parts: [CompletedPart], fullObjectChecksum: ChecksumValue?
    ) throws -> StoredObject {
        try locked {
            sentFullObject = fullObjectChecksum
            let fullObjectCRC32 = fullObjectChecksum?.algorithm == .crc32 ? fullObjectChecksum?.base64 : nil
            log.append(.complete(parts.map(\.partNumber)))
            if faults.failComplete { throw FakeS3Error(code: "InternalError") }
            if faults.uploadVanishedBeforeComplete {
                uploads[uploadID] = nil
                objects[destination.key] = [9, 9, 9]
                return StoredObject(etag: "\"\(Self.md5Hex([9, 9, 9]))\"", foundByHeadObject: true)
            }
            guard let stored = uploads[uploadID] else { throw FakeS3Error(code: "NoSuchUpload") }
            guard parts.map(\.partNumber) == Array(1...parts.count) else { throw FakeS3Error(code: "InvalidPartOrder") }
            var object: [UInt8] = []
            var md5s: [UInt8] = []
            for (index, part) in parts.enumerated() {
                guard let bytes = stored[part.partNumber] else { throw FakeS3Error(code: "InvalidPart") }
                let etag = faults.kmsETags ? Self.kmsETag(bytes) : Self.md5Hex(bytes)
                guard part.etag == "\"\(etag)\"" else { throw FakeS3Error(code: "InvalidPart") }
                if index < parts.count - 1, bytes.count < 5 << 20 { throw FakeS3Error(code: "EntityTooSmall") }
                if let crc = part.checksum, crc.algorithm == .crc32, crc.base64 != Self.crc32Base64(bytes) {
                    throw FakeS3Error(code: "InvalidPart")
                }
                object += bytes
                md5s += Array(MessageDigest.hash(.md5, bytes))
            }
            let crc = Self.crc32Base64(object)
            if let sent = fullObjectCRC32, sent != crc { throw FakeS3Error(code: "BadDigest") }
            uploads[uploadID] = nil
            objects[destination.key] = object
            var etag = Self.hex(Array(MessageDigest.hash(.md5, md5s))) + "-\(parts.count)"
            if faults.wrongCompleteETag { etag = Self.md5Hex([1, 2, 3]) + "-\(parts.count)" }
            if faults.kmsETags { etag = Self.kmsETag(object) + "-\(parts.count)" }
            if faults.opaqueMultipartETag { etag = Self.kmsETag(object) + "-\(parts.count)" }
            var answeredCRC: String? = faults.returnsChecksums ? fullObjectChecksum?.base64 : nil
            if faults.wrongCompleteCRC32 { answeredCRC = Self.crc32Base64(object + [0]) }
            if faults.completeAnswerLost {
                // HeadObject of the key, with x-amz-checksum-mode when the upload has a full-object checksum.
                return StoredObject(
                    etag: "\"\(etag)\"", versionID: "v1",
                    checksum: faults.returnsChecksums ? fullObjectChecksum?.base64 : nil,
                    foundByHeadObject: true, encryption: answeredEncryption)
            }
            return StoredObject(
                etag: "\"\(etag)\"", versionID: "v1", checksum: answeredCRC, encryption: answeredEncryption)
        }
    }

    func abortMultipartUpload(_ destination: UploadDestination, uploadID: String, maxAttempts: Int) throws {
        try locked {
            log.append(.abort)
            for _ in 1...maxAttempts {
                abortAttempts += 1
                if abortAttempts > faults.failingAbortAttempts {
                    uploads[uploadID] = nil
                    return
                }
            }
            throw FakeS3Error(code: "ServiceUnavailable")
        }
    }

    func putObject(_ destination: UploadDestination, body: UnsafeRawBufferPointer, checksums: BodyChecksums) throws
        -> StoredObject
    {
        let bytes = [UInt8](body)
        try Self.checkBody(bytes, checksums)
        return try locked {
            log.append(.put)
            if let sent = checksums.checksum { sentChecksums.append(sent) }
            if faults.failPut { throw FakeS3Error(code: "InternalError") }
            objects[destination.key] = bytes
            var etag = faults.kmsETags ? Self.kmsETag(bytes) : Self.md5Hex(bytes)
            if faults.wrongPutETag { etag = Self.md5Hex(bytes + [0]) }
            var crc: String? = faults.returnsChecksums ? checksums.checksum?.base64 : nil
            if faults.wrongPutCRC32 { crc = Self.crc32Base64(bytes + [0]) }
            return StoredObject(etag: "\"\(etag)\"", versionID: "v1", checksum: crc, encryption: answeredEncryption)
        }
    }

    func deleteObject(_ destination: UploadDestination, versionID: String?) throws {
        locked {
            log.append(.delete)
            objects[destination.key] = nil
        }
    }

    // MARK: - What S3 checks

    /// S3 refuses a body whose Content-MD5 (BadDigest), signed SHA-256 (XAmzContentSHA256Mismatch)
    /// or CRC32 (BadDigest) does not match.
    private static func checkBody(_ bytes: [UInt8], _ checksums: BodyChecksums) throws {
        guard checksums.contentMD5 == Data(MessageDigest.hash(.md5, bytes)).base64EncodedString() else {
            throw FakeS3Error(code: "BadDigest")
        }
        guard checksums.sha256 == hex(Array(MessageDigest.hash(.sha256, bytes))) else {
            throw FakeS3Error(code: "XAmzContentSHA256Mismatch")
        }
        if let crc = checksums.crc32, crc != crc32Base64(bytes) { throw FakeS3Error(code: "BadDigest") }
    }

    static func md5Hex(_ bytes: [UInt8]) -> String { hex(Array(MessageDigest.hash(.md5, bytes))) }

    static func kmsETag(_ bytes: [UInt8]) -> String { String(md5Hex(bytes).reversed()) }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// CRC32 written out here (not zlib) so that the uploader's zlib use is checked independently.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { input in
                for byte in input { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
            }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func crc32Base64(_ bytes: [UInt8]) -> String {
        let crc = crc32(bytes)
        return Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            .base64EncodedString()
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
