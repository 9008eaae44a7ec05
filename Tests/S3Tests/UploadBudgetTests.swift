import Foundation
import S3
import Testing

/// The uploader's own memory accounting: however long the output and however slow S3 is, it never
/// holds more part buffers than the budget pays for, down to the smallest budget S3's 5 MiB part
/// minimum allows (10 MiB: part 1 plus one streaming part), and the object is still exact.
@Suite struct UploadBudgetTests {
    static let partSize = MultipartUploadOptions.minimumPartSize

    @Test("part buffers stay within the budget over a seven-part upload with slow parts", arguments: [10, 20])
    func buffersStayWithinTheBudget(mebibytes: Int) throws {
        var faults = FakeUploadStore.Faults()
        faults.partDelay = Dictionary(uniqueKeysWithValues: (1...7).map { ($0, 0.03) })
        let store = FakeUploadStore(faults)
        let budget = mebibytes << 20
        let upload = try MultipartUpload(
            destination: UploadDestination(bucket: "bucket", key: "long.mp3", headers: []), store: store,
            options: MultipartUploadOptions(partSize: Self.partSize, concurrency: 2, memoryBudget: budget))
        // 64 KiB blocks, each stamped with its index, so a misplaced block changes the object.
        let block = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var bytes = [UInt8](repeating: 0, count: 6 * Self.partSize + 12_345)
        bytes.withUnsafeMutableBytes { all in
            var offset = 0
            var index = 0
            while offset < all.count {
                let count = min(block.count, all.count - offset)
                block.withUnsafeBytes {
                    all.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: count)
                }
                withUnsafeBytes(of: index) { stamp in
                    all.baseAddress!.advanced(by: offset).copyMemory(from: stamp.baseAddress!, byteCount: min(8, count))
                }
                offset += count
                index += 1
            }
        }
        try bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + 65_536, all.count)
                try upload.write(UnsafeRawBufferPointer(rebasing: all[offset..<end]), at: Int64(offset))
                offset = end
            }
        }
        try upload.finish()
        #expect(store.object("long.mp3") == bytes)
        let statistics = upload.statistics
        #expect(statistics.buffersAllocated >= 2)
        #expect(
            statistics.buffersAllocated * Self.partSize <= budget,
            "\(statistics.buffersAllocated) buffers of 5 MiB in a \(mebibytes) MiB budget")
        // Parts in flight are bounded by the buffers besides part 1's.
        #expect(statistics.peakPartsInFlight <= min(2, budget / Self.partSize - 1))
    }
}
