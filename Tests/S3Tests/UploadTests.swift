import Basics
import Foundation
import S3
import Testing

private let mebibyte = 1 << 20
private let partSize = 5 * mebibyte

/// Deterministic bytes that do not repeat within a part (xorshift64).
private func sampleBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var index = 0
        while index < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { word in
                let n = min(8, count - index)
                buffer.baseAddress!.advanced(by: index).copyMemory(from: word.baseAddress!, byteCount: n)
            }
            index += 8
        }
    }
    return bytes
}

/// Writes `bytes` the way FFmpeg's mp3 muxer does: appends in `chunk`-sized writes, then seeks back
/// and rewrites `patch` at `patchOffset` (the Xing/LAME frame, filled in at the trailer).
/// Returns what the object must contain.
private func writeLikeMuxer(
    _ upload: MultipartUpload, _ bytes: [UInt8], chunk: Int,
    patch: [UInt8] = [], patchOffset: Int = 0
) throws -> [UInt8] {
    var offset = 0
    try bytes.withUnsafeBytes { all in
        while offset < all.count {
            let end = min(offset + chunk, all.count)
            try upload.write(UnsafeRawBufferPointer(rebasing: all[offset..<end]), at: Int64(offset))
            offset = end
        }
    }
    guard !patch.isEmpty else { return bytes }
    try patch.withUnsafeBytes { try upload.write($0, at: Int64(patchOffset)) }
    var expected = bytes
    expected.replaceSubrange(patchOffset..<patchOffset + patch.count, with: patch)
    return expected
}

private func destination(_ key: String = "out/song.mp3") -> UploadDestination {
    UploadDestination(bucket: "bucket", key: key, headers: [("Content-Type", "audio/mpeg")])
}

private func options(concurrency: Int = 2, budget: Int = 15 * mebibyte) -> MultipartUploadOptions {
    MultipartUploadOptions(partSize: partSize, concurrency: concurrency, memoryBudget: budget)
}

/// Polls until `condition` holds or `seconds` pass.
private func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Timestamp().addingTimeInterval(seconds)
    while Timestamp() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return condition()
}

/// Runs `body` on its own thread (as the transcoder's writer thread would); `wait` joins it.
private final class WriterThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var storedError: (any Error)?
    private var finished = false

    init(_ body: @escaping @Sendable () throws -> Void) {
        Thread {
            var failure: (any Error)?
            do { try body() } catch { failure = error }
            self.lock.lock()
            self.storedError = failure
            self.finished = true
            self.lock.unlock()
            self.done.signal()
        }.start()
    }

    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    /// Joins the thread; returns what it threw.
    func wait(seconds: Double = 30) -> (any Error)? {
        guard done.wait(timeout: .now() + seconds) == .success else { return TimedOut() }
        lock.lock()
        defer { lock.unlock() }
        return storedError
    }

    struct TimedOut: Error {}
}

private func uploadError(_ error: (any Error)?) -> UploadError? { error as? UploadError }

// MARK: - Planning

@Suite struct UploadPlanTests {
    @Test(
        "one byte-size format for every message",
        arguments: [
            (300, "300 bytes"), (1023, "1023 bytes"), (1024, "1 KiB"), (16 << 10, "16 KiB"), (5 << 20, "5 MiB"),
            (1_572_864, "1.5 MiB"), (1_048_575, "1 MiB"), (3 << 30 / 2, "1.5 GiB"), (2 << 40, "2 TiB"),
        ])
    func byteSizes(_ bytes: Int, _ text: String) {
        #expect(formatByteSize(bytes) == text)
        #expect(formatByteSize(Int64(bytes)) == text)
    }

    @Test func defaultsKeepPartOneAndTwoStreamingBuffersInFifteenMiB() throws {
        let plan = try MultipartUploadOptions().plan()
        #expect(plan == MultipartUploadPlan(partSize: 5 * mebibyte, bufferCount: 3, concurrency: 2))
    }

    @Test func partSizeGrowsWhenTheExpectedOutputNeedsMoreThanTenThousandParts() throws {
        // 200 GB (with 10 % headroom) in 10,000 parts needs 22,000,000-byte parts: rounded up to 21 MiB.
        let plan = try MultipartUploadOptions(memoryBudget: 64 * mebibyte, expectedSize: 200_000_000_000).plan()
        #expect(plan.partSize == 21 * mebibyte)
        #expect(Int64(plan.partSize) * 10_000 >= 200_000_000_000)
        #expect(plan.bufferCount == 3)
    }

    @Test func partSizeStaysWhenTheExpectedOutputFits() throws {
        // A 60-minute CBR 192 MP3 is about 86 MB: 17 parts of 5 MiB.
        let plan = try MultipartUploadOptions(expectedSize: 86_400_000).plan()
        #expect(plan.partSize == 5 * mebibyte)
    }

    @Test func budgetBelowTwoMinimumPartsIsAClearError() {
        #expect {
            try MultipartUploadOptions(memoryBudget: 9 * mebibyte).plan()
        } throws: { error in
            guard let error = error as? UploadError else { return false }
            return error.kind == .invalidOptions && error.message.contains("at least 10 MiB")
                && error.message.contains("raise the memory budget")
        }
    }

    @Test func budgetTooSmallForAGrownPartSaysWhy() {
        #expect {
            try MultipartUploadOptions(memoryBudget: 16 * mebibyte, expectedSize: 200_000_000_000).plan()
        } throws: { error in
            guard let error = error as? UploadError else { return false }
            return error.kind == .invalidOptions && error.message.contains("grown from 5 MiB")
                && error.message.contains("at least 42 MiB")
        }
    }

    @Test(arguments: [4 * mebibyte, 5 * 1024 * mebibyte + 1])
    func partSizeOutsideS3LimitsIsRejected(size: Int) {
        #expect(throws: UploadError.self) {
            try MultipartUploadOptions(partSize: size, memoryBudget: Int.max).plan()
        }
    }

    @Test func concurrencyIsBoundedByTheBuffersBesidesPartOne() throws {
        let plan = try MultipartUploadOptions(concurrency: 8, memoryBudget: 20 * mebibyte).plan()
        #expect(plan.bufferCount == 4)
        #expect(plan.concurrency == 3)
    }
}

// MARK: - Uploading

@Suite struct UploadTests {
    @Test func outputSmallerThanOnePartIsOnePutObject() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        #expect(upload.rewritableWindow == Int64(partSize))
        let expected = try writeLikeMuxer(
            upload, sampleBytes(1_234_567), chunk: 4096,
            patch: sampleBytes(417, seed: 7), patchOffset: 45)
        try upload.finish()

        #expect(store.events == [.put])
        #expect(store.object("out/song.mp3") == expected)
        let result = try #require(upload.result)
        #expect(!result.isMultipart)
        #expect(result.partCount == 1)
        #expect(result.byteCount == Int64(expected.count))
        #expect(result.etag == "\"\(FakeUploadStore.md5Hex(expected))\"")
        #expect(result.crc32 == FakeUploadStore.crc32(expected))
        #expect(result.checksumConfirmedByServer)
        #expect(upload.statistics.buffersAllocated == 1)
    }

    @Test func outputOfExactlyOnePartIsStillOnePutObject() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(partSize), chunk: 65_536)
        try upload.finish()
        #expect(store.events == [.put])
        #expect(store.object("out/song.mp3") == expected)
    }

    @Test func emptyOutputIsAnEmptyPutObject() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        try upload.finish()
        #expect(store.events == [.put])
        #expect(store.object("out/song.mp3") == [])
        #expect(upload.result?.byteCount == 0)
    }

    /// Chunk sizes: small muxer writes, a prime that straddles part edges, and writes larger than a part.
    @Test(arguments: [4096, 1_000_003, 6 * mebibyte + 5])
    func multipartUploadsPartOneLastWithItsRewrite(chunk: Int) throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let bytes = sampleBytes(3 * partSize + 123_457)
        let expected = try writeLikeMuxer(
            upload, bytes, chunk: chunk, patch: sampleBytes(417, seed: 3),
            patchOffset: 10)
        try upload.finish()

        #expect(store.object("out/song.mp3") == expected)
        // Part 1 is queued last, at finish, together with the final part 4: with two upload threads
        // those two may start in either order, but every other part starts before part 1.
        let partOneStart = try #require(store.partStartOrder.firstIndex(of: 1))
        #expect(Set(store.partStartOrder[..<partOneStart]).isSuperset(of: [2, 3]))
        #expect(Set(store.partStartOrder) == [1, 2, 3, 4])
        #expect(store.events.first == .create)
        #expect(store.events.last == .complete([1, 2, 3, 4]))
        let result = try #require(upload.result)
        #expect(result.isMultipart)
        #expect(result.partCount == 4)
        #expect(result.byteCount == Int64(expected.count))
        #expect(result.crc32 == FakeUploadStore.crc32(expected))
        #expect(result.checksumConfirmedByServer)
        #expect(result.versionID == "v1")
        #expect(upload.statistics.buffersAllocated <= 3)
        #expect(upload.statistics.partsUploaded == 4)
        #expect(store.openUploads == 0)
    }

    @Test func outputOfWholePartsHasNoEmptyLastPart() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(3 * partSize), chunk: 100_000)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.events.last == .complete([1, 2, 3]))
    }

    @Test func outputJustOverOnePartIsTwoParts() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(
            upload, sampleBytes(partSize + 1), chunk: 8192,
            patch: [1, 2, 3], patchOffset: partSize - 3)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.partStartOrder == [2, 1])
        #expect(store.events.last == .complete([1, 2]))
    }

    @Test func endpointWithoutChecksumsStillSucceedsButSaysSo() throws {
        var faults = FakeUploadStore.Faults()
        faults.returnsChecksums = false
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(upload.result?.checksumConfirmedByServer == false)
    }

    /// SSE-KMS answers (non-MD5 ETags and `x-amz-server-side-encryption: aws:kms` on every answer):
    /// accepted with no option, multipart and single PUT alike; the checksum is what is checked.
    @Test(arguments: [1000, 2 * partSize + 10])
    func sseKMSAnswersAreAcceptedWithNoOption(size: Int) throws {
        var faults = FakeUploadStore.Faults()
        faults.kmsETags = true
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(size), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        let result = try #require(upload.result)
        #expect(result.checksumConfirmedByServer)
        #expect(result.verification.contains("ETag not compared (under aws:kms)"), "\(result.verification)")
        #expect(!store.events.contains(.delete))
    }

    /// Without the SSE header, a KMS-like ETag of MD5 shape is taken for an MD5 and is a mismatch:
    /// the shape alone cannot tell, and a real mismatch of a real MD5 stays an error.
    @Test func anMD5ShapedETagThatIsNotOursIsAMismatchWithoutTheSSEHeader() throws {
        var faults = FakeUploadStore.Faults()
        faults.kmsETags = true
        faults.kmsHeader = false
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(1000), chunk: 65_536)
        let error = try #require(throws: UploadError.self) { try upload.finish() }
        #expect(error.kind == .integrity)
        #expect(store.object("out/song.mp3") == nil)
    }

    /// A store whose multipart ETag is not the MD5 of the part MD5s (GCS): not compared, and said so.
    @Test func aStoreWithOpaqueMultipartETagsIsNotComparedAgainstTheMD5OfMD5s() throws {
        var faults = FakeUploadStore.Faults()
        faults.opaqueMultipartETag = true
        let store = FakeUploadStore(faults)
        var options = options().applying(StoreProfile.named("gcs")!)
        options.checksum = nil
        let upload = try MultipartUpload(destination: destination(), store: store, options: options)
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.createdChecksum == .some(nil))
        #expect(store.checksumsSent.isEmpty)
        #expect(upload.result?.verification.contains("not MD5-based on this store") == true)
    }

    /// CRC-32C and CRC-64/NVME: every part carries its CRC and Complete the combined full-object
    /// value, which must equal the CRC of the whole object computed in one pass.
    @Test(arguments: [ChecksumAlgorithm.crc32c, .crc64nvme, .crc32])
    func otherAlgorithmsSendPartAndFullObjectChecksums(algorithm: ChecksumAlgorithm) throws {
        let store = FakeUploadStore()
        var options = options()
        options.checksum = UploadChecksum(algorithm)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options)
        let expected = try writeLikeMuxer(
            upload, sampleBytes(2 * partSize + 12_345), chunk: 65_536,
            patch: sampleBytes(417, seed: 5), patchOffset: 100)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.createdChecksum == .some(UploadChecksum(algorithm)))
        #expect(store.checksumsSent.count == 3)
        #expect(store.checksumsSent.allSatisfy { $0.algorithm == algorithm })
        let whole = ChecksumValue(algorithm, crc: ReferenceCRC.checksum(algorithm, expected))
        #expect(store.fullObjectChecksumSent == whole)
        #expect(upload.result?.checksumConfirmedByServer == true)
    }

    /// COMPOSITE (R2 with CRC32): part checksums, no full-object value at Complete.
    @Test func aCompositeChecksumSendsNoFullObjectValue() throws {
        let store = FakeUploadStore()
        var options = options().applying(StoreProfile.named("r2")!)
        options.checksum = StoreProfile.named("r2")!.uploadChecksum(.crc32)
        #expect(options.checksum == UploadChecksum(.crc32, fullObject: false))
        let upload = try MultipartUpload(destination: destination(), store: store, options: options)
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.checksumsSent.count == 3)
        #expect(store.fullObjectChecksumSent == nil)
    }

    /// The store's part limit: an output that outgrows it fails with the store's limit named.
    @Test func theStoresPartLimitIsEnforced() throws {
        let store = FakeUploadStore()
        var options = options()
        options.maxParts = 2
        let upload = try MultipartUpload(destination: destination(), store: store, options: options)
        let error = try #require(throws: UploadError.self) {
            _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        }
        #expect(error.kind == .outputTooLarge)
        #expect(error.message.contains("2 parts"))
        upload.abort()
        #expect(store.openUploads == 0)
    }

    @Test func withoutAChecksumNoneIsSent() throws {
        let store = FakeUploadStore()
        var options = options()
        options.checksum = nil
        let upload = try MultipartUpload(destination: destination(), store: store, options: options)
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(upload.result?.checksumConfirmedByServer == false)
        #expect(upload.result?.crc32 == FakeUploadStore.crc32(expected))
    }

    @Test func transientPartFailuresAreRetriedByTheStore() throws {
        var faults = FakeUploadStore.Faults()
        faults.failingAttempts = [2: 2, 1: 4]
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.partAttempts[2] == 3)
        #expect(store.partAttempts[1] == 5)
    }
}

// MARK: - Integrity

@Suite struct UploadIntegrityTests {
    enum Lie: String, CaseIterable, Sendable {
        case multipartETag, multipartCRC32, putETag, putCRC32

        var size: Int { self == .putETag || self == .putCRC32 ? 1000 : 2 * partSize + 10 }

        func apply(to faults: inout FakeUploadStore.Faults) {
            switch self {
            case .multipartETag: faults.wrongCompleteETag = true
            case .multipartCRC32: faults.wrongCompleteCRC32 = true
            case .putETag: faults.wrongPutETag = true
            case .putCRC32: faults.wrongPutCRC32 = true
            }
        }
    }

    /// Each lie must fail the upload; a completed object that fails verification is deleted.
    @Test(arguments: Lie.allCases)
    func aCompletedObjectThatDoesNotMatchIsAnErrorAndIsDeleted(lie: Lie) throws {
        var faults = FakeUploadStore.Faults()
        lie.apply(to: &faults)
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(lie.size), chunk: 65_536)
        let error = try #require(throws: UploadError.self) { try upload.finish() }
        #expect(error.kind == .integrity)
        #expect(error.message.contains("s3://bucket/out/song.mp3"))
        #expect(error.message.contains("the object was deleted"))
        #expect(store.object("out/song.mp3") == nil)
        #expect(store.events.last == .delete)
        #expect(!store.events.contains(.abort), "never abort after a successful Complete")
        #expect(upload.result == nil)
        upload.abort()
        #expect(!store.events.contains(.abort))
    }

    @Test func aCompleteWhoseAnswerWasLostIsAcceptedWhenTheObjectIsOurs() throws {
        var faults = FakeUploadStore.Faults()
        faults.completeAnswerLost = true
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(upload.result?.checksumConfirmedByServer == true)
        #expect(!store.events.contains(.abort) && !store.events.contains(.delete))
    }

    /// Under SSE-KMS the ETag cannot say whether the object found after a lost Complete answer is
    /// ours; its full-object checksum can. Without one, it is an error, and the object is left alone.
    @Test(arguments: [true, false])
    func aLostCompleteAnswerUnderKMSIsIdentifiedByTheChecksum(storeAnswersChecksums: Bool) throws {
        var faults = FakeUploadStore.Faults()
        faults.completeAnswerLost = true
        faults.kmsETags = true
        faults.returnsChecksums = storeAnswersChecksums
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        if storeAnswersChecksums {
            try upload.finish()
            #expect(upload.result?.checksumConfirmedByServer == true)
        } else {
            let error = try #require(throws: UploadError.self) { try upload.finish() }
            #expect(error.message.contains("cannot be shown to be this upload's"))
        }
        #expect(store.object("out/song.mp3") == expected)
        #expect(!store.events.contains(.delete))
    }

    @Test func aVanishedUploadIsAnErrorAndSomeoneElsesObjectIsLeftAlone() throws {
        var faults = FakeUploadStore.Faults()
        faults.uploadVanishedBeforeComplete = true
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        let error = try #require(throws: UploadError.self) { try upload.finish() }
        #expect(error.kind == .remote)
        #expect(error.message.contains("NoSuchUpload"))
        #expect(store.object("out/song.mp3") == [9, 9, 9])
        #expect(!store.events.contains(.delete))
    }

    @Test func aPartWhoseETagIsNotItsMD5FailsTheUploadAndAbortsIt() throws {
        var faults = FakeUploadStore.Faults()
        faults.wrongPartETag = [2]
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let error = #expect(throws: UploadError.self) {
            _ = try writeLikeMuxer(upload, sampleBytes(3 * partSize + 10), chunk: 65_536)
            try upload.finish()
        }
        #expect(error?.kind == .integrity)
        upload.abort()
        #expect(store.events.filter { $0 == .abort }.count == 1)
        #expect(!store.events.contains { if case .complete = $0 { true } else { false } })
        #expect(store.openUploads == 0)
    }
}

// MARK: - Backpressure and memory

@Suite struct UploadBackpressureTests {
    @Test func theWriterWaitsWhenEveryBufferIsBusy() throws {
        let store = FakeUploadStore()
        store.closeGate()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let bytes = sampleBytes(6 * partSize + 99)
        let writer = WriterThread { _ = try writeLikeMuxer(upload, bytes, chunk: 65_536) }

        // Part 1 plus two streaming parts fill the three buffers; both streaming parts are held by S3.
        #expect(eventually { store.partsWaitingAtGate == 2 && upload.statistics.writerWaits >= 1 })
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!writer.isFinished, "the writer must block while every buffer is busy")
        #expect(upload.statistics.buffersAllocated == 3)

        store.openGate()
        #expect(writer.wait() == nil)
        try upload.finish()
        #expect(store.object("out/song.mp3") == bytes)
        let statistics = upload.statistics
        #expect(statistics.buffersAllocated <= 3)
        #expect(statistics.peakPartsInFlight <= 2)
        #expect(store.peakPartsInFlight <= 2)
    }

    @Test(arguments: [1, 2, 3])
    func neverMorePartsInFlightThanTheConcurrency(concurrency: Int) throws {
        var faults = FakeUploadStore.Faults()
        faults.partDelay = Dictionary(uniqueKeysWithValues: (1...8).map { ($0, 0.05) })
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(
            destination: destination(), store: store, options: options(concurrency: concurrency, budget: 25 * mebibyte))
        let bytes = sampleBytes(7 * partSize + 1)
        let expected = try writeLikeMuxer(upload, bytes, chunk: 1 << 20)
        try upload.finish()
        #expect(store.object("out/song.mp3") == expected)
        #expect(store.peakPartsInFlight <= concurrency)
        #expect(upload.statistics.peakPartsInFlight <= concurrency)
        #expect(upload.statistics.buffersAllocated <= 5)
    }
}

// MARK: - Never orphaned

@Suite struct UploadAbortTests {
    @Test func aPartOutOfRetriesAbortsAfterTheOtherPartsSettle() throws {
        var faults = FakeUploadStore.Faults()
        faults.failingAttempts = [3: Int.max]
        faults.partDelay = [2: 0.3]
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let error = #expect(throws: UploadError.self) {
            _ = try writeLikeMuxer(upload, sampleBytes(5 * partSize), chunk: 65_536)
            try upload.finish()
        }
        #expect(error?.kind == .remote)
        #expect(error?.message.contains("part 3") == true)
        #expect(error?.message.contains("InternalError") == true)
        upload.abort()

        let events = store.events
        #expect(store.partAttempts[3] == 5, "parts get 5 attempts")
        #expect(events.filter { $0 == .abort }.count == 1)
        #expect(!events.contains { if case .complete = $0 { true } else { false } })
        // Every part that started finished before the abort.
        let abortIndex = try #require(events.firstIndex(of: .abort))
        for case .partStarted(let number) in events {
            let finished = try #require(events.firstIndex(of: .partFinished(number)))
            #expect(finished < abortIndex, "part \(number) settled before the abort")
        }
        #expect(store.openUploads == 0)
        #expect(upload.statistics.aborted)
        #expect(upload.abortError == nil)
    }

    @Test func abortFromAnotherThreadWakesTheBlockedWriter() throws {
        let store = FakeUploadStore()
        store.closeGate()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let writer = WriterThread { _ = try writeLikeMuxer(upload, sampleBytes(8 * partSize), chunk: 65_536) }
        #expect(eventually { upload.statistics.writerWaits >= 1 && store.partsWaitingAtGate == 2 })

        // The signal path: abort() on its own thread. The writer wakes at once, even though the
        // abort itself waits for the two parts held inside S3.
        let aborter = WriterThread { upload.abort() }
        let writerError = writer.wait(seconds: 5)
        #expect(uploadError(writerError)?.kind == .cancelled)
        #expect(!aborter.isFinished, "abort waits for the parts in flight")
        #expect(!store.events.contains(.abort))

        store.openGate()
        #expect(aborter.wait() == nil)
        #expect(store.events.filter { $0 == .abort }.count == 1)
        #expect(store.openUploads == 0)
        #expect(throws: UploadError.self) { try upload.finish() }
        #expect(!store.events.contains { if case .complete = $0 { true } else { false } })
    }

    @Test func abortFromTwoThreadsAtOnceAbortsOnce() throws {
        // A signal and the transcoder's own failure path can both call abort().
        let store = FakeUploadStore()
        store.closeGate()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let writer = WriterThread { _ = try writeLikeMuxer(upload, sampleBytes(8 * partSize), chunk: 65_536) }
        #expect(eventually { upload.statistics.writerWaits >= 1 && store.partsWaitingAtGate == 2 })
        let first = WriterThread { upload.abort() }
        let second = WriterThread { upload.abort() }
        #expect(uploadError(writer.wait(seconds: 5))?.kind == .cancelled)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(!first.isFinished && !second.isFinished, "both wait for the parts in flight")
        store.openGate()
        #expect(first.wait() == nil)
        #expect(second.wait() == nil)
        #expect(store.events.filter { $0 == .abort }.count == 1)
        #expect(store.openUploads == 0)
    }

    @Test func abortBeforeAnyMultipartUploadSendsNothing() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(partSize + 100), chunk: 65_536)
        upload.abort()
        upload.abort()
        #expect(store.events == [])
        #expect(throws: UploadError.self) { try upload.finish() }
        #expect(store.events == [])
    }

    @Test func aFailedCompleteIsAborted() throws {
        var faults = FakeUploadStore.Faults()
        faults.failComplete = true
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 1), chunk: 65_536)
        let error = try #require(throws: UploadError.self) { try upload.finish() }
        #expect(error.kind == .remote)
        #expect(error.message.contains("completing"))
        #expect(store.events.last == .abort)
        #expect(store.openUploads == 0)
    }

    @Test func aFailedCreateLeavesNothingToAbort() throws {
        var faults = FakeUploadStore.Faults()
        faults.failCreate = true
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let error = #expect(throws: UploadError.self) {
            _ = try writeLikeMuxer(upload, sampleBytes(3 * partSize), chunk: 65_536)
        }
        #expect(error?.kind == .remote)
        #expect(error?.message.contains("AccessDenied") == true)
        upload.abort()
        #expect(store.events == [.create])
    }

    @Test func aFailedAbortIsRetriedThenReportedWithWhatToDo() throws {
        var faults = FakeUploadStore.Faults()
        faults.failComplete = true
        faults.failingAbortAttempts = Int.max
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 1), chunk: 65_536)
        let error = try #require(throws: UploadError.self) { try upload.finish() }
        #expect(error.message.contains("aborting multipart upload upload-1"))
        #expect(error.message.contains("s3transcode cleanup"))
        #expect(store.abortAttemptCount == 5)
        #expect(upload.abortError != nil)
        #expect(upload.statistics.aborted == false)
    }

    @Test func abortAfterASuccessfulCompleteDoesNothing() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let expected = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 1), chunk: 65_536)
        try upload.finish()
        upload.abort()
        #expect(!store.events.contains(.abort))
        #expect(store.object("out/song.mp3") == expected)
    }

    @Test func abortWhileCompletingWaitsAndNeverAbortsASuccess() throws {
        // Complete runs on the writer thread; abort() arrives from a signal thread meanwhile.
        var faults = FakeUploadStore.Faults()
        faults.partDelay = [1: 0.3]
        let store = FakeUploadStore(faults)
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 1), chunk: 65_536)
        let finisher = WriterThread { try upload.finish() }
        #expect(eventually { store.partStartOrder.contains(1) })
        upload.abort()
        let finishError = finisher.wait()
        // Either the abort came first (cancelled, aborted) or Complete did (object, no abort).
        if let finishError {
            #expect(uploadError(finishError)?.kind == .cancelled)
            #expect(store.events.last == .abort)
            #expect(store.object("out/song.mp3") == nil)
        } else {
            #expect(!store.events.contains(.abort))
            #expect(store.object("out/song.mp3") != nil)
        }
        #expect(store.openUploads == 0)
    }
}

// MARK: - Misuse

@Suite struct UploadWriteRulesTests {
    @Test func aRewriteOfBytesAlreadyUploadedIsRefused() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(2 * partSize + 10), chunk: 65_536)
        let error = #expect(throws: UploadError.self) {
            try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try upload.write($0, at: Int64(partSize + 5)) }
        }
        #expect(error?.kind == .invalidWrite)
        upload.abort()
    }

    @Test func writingAfterFinishIsRefused() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        _ = try writeLikeMuxer(upload, sampleBytes(1000), chunk: 100)
        try upload.finish()
        let error = #expect(throws: UploadError.self) {
            try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try upload.write($0, at: 1000) }
        }
        #expect(error?.kind == .finished)
        #expect(throws: UploadError.self) { try upload.finish() }
        #expect(store.events == [.put])
    }

    @Test func aWritePastTheEndIsRefused() throws {
        let upload = try MultipartUpload(destination: destination(), store: FakeUploadStore(), options: options())
        let error = #expect(throws: UploadError.self) {
            try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try upload.write($0, at: 5) }
        }
        #expect(error?.kind == .invalidWrite)
    }

    @Test func aRewriteThatRunsPastTheEndAlsoAppends() throws {
        let store = FakeUploadStore()
        let upload = try MultipartUpload(destination: destination(), store: store, options: options())
        let first = sampleBytes(100)
        let second = sampleBytes(60, seed: 5)
        try first.withUnsafeBytes { try upload.write($0, at: 0) }
        try second.withUnsafeBytes { try upload.write($0, at: 80) }
        try upload.finish()
        #expect(store.object("out/song.mp3") == Array(first[..<80]) + second)
    }
}
