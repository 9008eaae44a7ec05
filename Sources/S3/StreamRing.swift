import HTTPClient
import Threads

/// The ring between one streaming GET (on a thread of its own) and the reader.
///
/// It holds the object's bytes `start..<end`: `end` is where the transfer has got to, and the
/// reader's position lies in between. Half the ring is for the bytes ahead of the reader, half keeps
/// the ones it has just read (the demuxer reads its first 64 KiB, then seeks back into the header):
/// the transfer writes only while the bytes not yet read fit in the first half
/// (`end - readPosition < ahead`), overwriting the oldest bytes; otherwise it waits (curl's write
/// callback blocks, and so does the transfer). Each transfer has a generation: starting
/// another one, or `abandon()`, makes the old one's next write end it, without waiting for it.
final class StreamRing: @unchecked Sendable {  // all mutable state is guarded by `condition`
    private let capacity: Int
    private let ahead: Int
    private let storage: UnsafeMutableRawBufferPointer
    private let fetcher: RangeFetcher
    private let condition = Condition()

    private var start: Int64 = 0
    private var end: Int64 = 0
    private var readPosition: Int64 = 0
    /// Where the current transfer stops (exclusive); `end == limit` once it finished.
    private var limit: Int64 = 0
    private var generation = 0
    /// The current transfer failed for good (after what it delivered).
    private var failure: (any Error)?
    private var running = false
    private var requests = 0

    init(capacity: Int, fetcher: RangeFetcher) {
        self.capacity = capacity
        self.ahead = capacity - capacity / 2
        self.storage = .allocate(byteCount: capacity, alignment: 16)
        self.fetcher = fetcher
    }

    deinit { storage.deallocate() }

    var requestCount: Int { condition.withLock { requests } }

    /// Ends the current transfer at its next write.
    func abandon() {
        condition.withLock {
            generation += 1
            condition.broadcast()
        }
    }

    /// Copies bytes at `offset` into `buffer`: from the ring when it holds `offset` or the current
    /// transfer is about to deliver it, else from a new transfer of `window(offset)`.
    func read(
        at offset: Int64, into buffer: UnsafeMutableRawBufferPointer, window: (Int64) -> Range<Int64>
    ) throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        let served = offset >= start && (offset < end || (offset == end && (running || failure != nil) && end < limit))
        if !served {
            begin(window(offset))
        }
        readPosition = offset
        condition.broadcast()  // the transfer may wait for room that moving the position made
        while end == offset && running { condition.wait() }
        if end == offset {
            if let failure { throw failure }
            return 0  // not reached: a finished transfer covers at least one byte past `offset`
        }
        let count = min(buffer.count, Int(end - offset))
        copy(from: offset, count: count, into: buffer.baseAddress!)
        readPosition = offset + Int64(count)
        condition.broadcast()
        return count
    }

    /// Starts a transfer of `range` on a thread of its own; the ring is emptied. Called locked.
    private func begin(_ range: Range<Int64>) {
        generation += 1
        let current = generation
        start = range.lowerBound
        end = range.lowerBound
        readPosition = range.lowerBound
        limit = range.upperBound
        failure = nil
        running = true
        requests += 1
        let thread = OSThread { [self] in self.transfer(range, generation: current) }
        thread.stackSize = 512 << 10
        thread.start()
    }

    /// The transfer thread: streams `range`, resuming after a lost connection from the first byte
    /// not received.
    private func transfer(_ range: Range<Int64>, generation current: Int) {
        var from = range.lowerBound
        var weakResumes = 0
        let maxResumes = max(0, fetcher.client.configuration.retry.maxAttempts - 1)
        while true {
            do {
                try fetcher.stream(from..<range.upperBound) { chunk in self.write(chunk, generation: current) }
                condition.withLock {
                    if generation == current, end < limit {
                        failure = fetcher.invalid(
                            status: 206, "the body ended at offset \(end), short of the \(limit) asked")
                    }
                }
                return finish(current)
            } catch let error as TransportError where error.kind != .cancelled {
                let reached: Int64? = condition.withLock { generation == current ? end : nil }
                guard let reached else { return }  // abandoned meanwhile
                if reached == range.upperBound { return finish(current) }  // lost after the last byte
                weakResumes = reached - from >= 1 << 20 ? 0 : weakResumes + 1
                guard weakResumes <= maxResumes else {
                    condition.withLock {
                        if generation == current {
                            failure = S3Error.transport(
                                operation: "GetObject", bucket: fetcher.bucket, key: fetcher.key, error: error,
                                attempts: weakResumes)
                        }
                    }
                    return finish(current)
                }
                from = reached
                condition.withLock { if generation == current { requests += 1 } }
            } catch let error as TransportError {
                // Cancelled: by this ring (abandoned: nothing to report) or by the process's flag.
                condition.withLock {
                    if generation == current {
                        failure = S3Error.transport(
                            operation: "GetObject", bucket: fetcher.bucket, key: fetcher.key, error: error, attempts: 1)
                    }
                }
                return finish(current)
            } catch {
                condition.withLock { if generation == current { failure = error } }
                return finish(current)
            }
        }
    }

    private func finish(_ current: Int) {
        condition.withLock {
            if generation == current {
                running = false
                condition.broadcast()
            }
        }
    }

    /// Called by the transfer with each chunk of the body: waits for room, copies, wakes the reader.
    /// False (end the transfer) once the transfer is no longer the current one.
    private func write(_ chunk: UnsafeRawBufferPointer, generation current: Int) -> Bool {
        var rest = chunk
        condition.lock()
        defer { condition.unlock() }
        while !rest.isEmpty {
            var room = 0
            while generation == current {
                room = ahead - Int(end - readPosition)
                if room > 0 { break }
                condition.wait()
            }
            guard generation == current else { return false }
            let count = min(room, rest.count, Int(limit - end))
            guard count > 0 else { return false }  // more than was asked: the check below reports it
            store(UnsafeRawBufferPointer(rebasing: rest[..<count]), at: end)
            end += Int64(count)
            start = max(start, end - Int64(capacity))
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            condition.broadcast()
        }
        return true
    }

    /// Copies `bytes` to the ring slot of object offset `offset`, wrapping at the end. Called locked.
    private func store(_ bytes: UnsafeRawBufferPointer, at offset: Int64) {
        let slot = Int(offset % Int64(capacity))
        let first = min(bytes.count, capacity - slot)
        (storage.baseAddress! + slot).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            storage.baseAddress!.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
    }

    /// Copies `count` bytes of object offset `offset` out of the ring. Called locked.
    private func copy(from offset: Int64, count: Int, into destination: UnsafeMutableRawPointer) {
        let slot = Int(offset % Int64(capacity))
        let first = min(count, capacity - slot)
        destination.copyMemory(from: storage.baseAddress! + slot, byteCount: first)
        if first < count {
            (destination + first).copyMemory(from: storage.baseAddress!, byteCount: count - first)
        }
    }
}
