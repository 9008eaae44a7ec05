import Foundation
import HTTPClient

/// One S3 object read as a seekable stream of bytes: the transcoder's input when it is
/// `s3://bucket/key`. No temporary file: the bytes stream from long ranged GETs through a small ring.
///
/// It has the five members of `AudioTranscode.ByteSource` (`read(into:)`, `size`, `isSeekable`,
/// `seek(to:)`, `name`), so the command layer makes it a source with one line,
/// `extension S3ObjectSource: ByteSource {}`, and this target does not depend on the transcoder.
///
/// How it works:
/// - HeadObject gives the size and the ETag. Every ranged GET then carries `If-Match: <ETag>`, so an
///   object overwritten while it is read fails with a one-line error (S3 answers 412
///   PreconditionFailed) instead of splicing two versions into one MP3.
/// - The first read starts one [ranged GET](https://www.rfc-editor.org/rfc/rfc9110#name-range-requests)
///   from the position to the end of the object (or `windowSize` bytes). A thread of its own runs it
///   and writes the body, as curl delivers it, into a ring of `bufferSize` bytes (512 KiB by
///   default); `read(into:)` drains the ring. A full ring holds the transfer (backpressure), so
///   memory stays at `bufferSize` however large the object, and a sequential read costs one
///   request instead of one per chunk: S3's per-request latency is paid once.
/// - Half the ring keeps the bytes just read, so FFmpeg's seeks back into the header are free. A read anywhere outside the ring abandons the transfer and starts a
///   new ranged GET where it lands (lazily: a seek alone costs nothing).
/// - Each GET retries as the client's `RetryPolicy` says until its body starts. A connection lost in
///   the middle of the body resumes with a new ranged GET from the first byte not received; up to
///   `maxAttempts - 1` resumes in a row that each got less than 1 MiB, then the read fails.
/// - The answer must be a 206 for exactly the range asked (`Content-Range`), and must deliver all of it.
///
/// Errors are `S3Error`s naming `s3://bucket/key`: a missing object is `noSuchKey` (exit 66), a
/// refused one `accessDenied` or `credentialsRejected` (77), a changed one `remote` (69).
///
/// `read` and `seek` are called from one thread at a time (the demuxer's).
public final class S3ObjectSource: @unchecked Sendable {  // the reader's state is touched by one thread at a time
    public let client: S3Client
    public let bucket: String
    public let key: String
    /// The ETag every ranged GET is pinned to (`If-Match`); nil when the server sent none (then
    /// nothing is pinned).
    public let etag: String?
    public let objectSize: Int64
    /// The ring between the transfer and the reader, in bytes.
    public let bufferSize: Int
    /// The most one GET asks for; nil: the rest of the object.
    public let windowSize: Int64?

    /// Ranged GETs started so far (resumes included; the retries of one GET before its body are not).
    public var requestCount: Int { ring.requestCount }

    private var position: Int64 = 0
    private let ring: StreamRing

    public static let defaultBufferSize = 512 << 10

    /// Opens `s3://bucket/key` with a HeadObject.
    public convenience init(
        client: S3Client, bucket: String, key: String, bufferSize: Int = S3ObjectSource.defaultBufferSize,
        windowSize: Int64? = nil
    ) throws {
        let head = try client.headObject(bucket: bucket, key: key)
        self.init(
            client: client, bucket: bucket, key: key, etag: head.etag, size: Int64(head.contentLength),
            bufferSize: bufferSize, windowSize: windowSize)
    }

    /// An object whose ETag and size are already known (no request): a second reader of the same
    /// version, e.g. to hash it.
    public init(
        client: S3Client, bucket: String, key: String, etag: String?, size: Int64,
        bufferSize: Int = S3ObjectSource.defaultBufferSize, windowSize: Int64? = nil
    ) {
        self.client = client
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.objectSize = size
        self.bufferSize = max(1, bufferSize)
        self.windowSize = windowSize.map { max(1, $0) }
        self.ring = StreamRing(
            capacity: self.bufferSize,
            fetcher: RangeFetcher(client: client, bucket: bucket, key: key, etag: etag, size: size))
    }

    deinit { ring.abandon() }

    /// Another reader of the same object version (same ETag, same size), starting at offset 0, with
    /// a ring of `bufferSize` bytes (this reader's when nil).
    public func reopened(bufferSize: Int? = nil) -> S3ObjectSource {
        S3ObjectSource(
            client: client, bucket: bucket, key: key, etag: etag, size: objectSize,
            bufferSize: bufferSize ?? self.bufferSize, windowSize: windowSize)
    }

    // MARK: - The ByteSource members

    /// `s3://bucket/key`.
    public var name: String { "s3://\(bucket)/\(key)" }
    public var size: Int64? { objectSize }
    public var isSeekable: Bool { true }

    public func seek(to offset: Int64) throws {
        position = max(0, min(offset, objectSize))
    }

    /// Copies what the ring holds at the position, waiting for the transfer when it has not got
    /// there yet; starts a transfer at the position when the ring cannot serve it. Returns 0 at the
    /// end of the object.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard position < objectSize, buffer.count > 0 else { return 0 }
        let count = try ring.read(at: position, into: buffer) { [objectSize, windowSize] start in
            start..<min(objectSize, windowSize.map { start + $0 } ?? objectSize)
        }
        position += Int64(count)
        return count
    }
}

/// Ranged GETs of one pinned object version, streamed and checked: each answer must be a 206 for
/// exactly the range asked.
private struct RangeFetcher: Sendable {
    let client: S3Client
    let bucket: String
    let key: String
    let etag: String?
    let size: Int64

    /// Streams `range` to `receive`, which returns false to end the transfer. Throws an `S3Error`
    /// for an answer that is refused or not the range asked, or the `TransportError` of a connection
    /// lost after some of the body arrived.
    func stream(_ range: Range<Int64>, into receive: (UnsafeRawBufferPointer) -> Bool) throws {
        var headers: [(name: String, value: String)] = [("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")]
        if let etag { headers.append(("If-Match", etag)) }
        var checked = false
        var mismatch: String?
        var status = 0
        do {
            // `perform` holds the closure only for the duration of the call.
            status = try withoutActuallyEscaping(receive) { receive in
                try client.perform(
                    S3Client.Request(operation: "GetObject", method: "GET", bucket: bucket, key: key, headers: headers)
                ) { head, chunk in
                    if !checked {
                        checked = true
                        status = head.status
                        mismatch = check(head, range)
                        if mismatch != nil { return false }
                    }
                    return receive(chunk)
                }.status
            }
        } catch let error as S3Error where error.status == 412 {
            throw S3ObjectSource.changed(error, bucket: bucket, key: key, etag: etag)
        } catch let error as TransportError where mismatch != nil && error.kind == .cancelled {
            // Ended by the check below, not by anyone else.
        }
        if let mismatch {
            throw invalid(status: status, mismatch)
        }
        if !checked {  // a 2xx with no body for a range of at least one byte
            throw invalid(status: status, "an empty body for the \(range.count) bytes asked at offset \(range.lowerBound)")
        }
    }

    /// Why the status and `Content-Range` of an answer are not those of `range`; nil when they are.
    private func check(_ head: HTTPResponse, _ range: Range<Int64>) -> String? {
        let expected = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)"
        switch head.status {
        case 206:
            let got = head.header("content-range")
            return got == expected ? nil : "Content-Range \(got ?? "missing") for the \(expected) asked"
        case 200 where range.lowerBound == 0 && Int64(range.count) == size:
            return nil  // the whole object, which is what was asked
        default:
            return "status \(head.status) for the range \(expected) asked"
        }
    }

    func invalid(status: Int, _ detail: String) -> S3Error {
        S3Error.invalidResponse(operation: "GetObject", bucket: bucket, key: key, status: status, detail: detail)
    }
}

extension S3ObjectSource {
    /// The one-line error for an object that changed under the reader.
    static func changed(_ error: S3Error, bucket: String, key: String, etag: String?) -> S3Error {
        var changed = error
        changed.message = "s3://\(bucket)/\(key) changed while it was being read (its ETag is no longer \(etag ?? "the one read first"), "
            + "S3 answered 412 PreconditionFailed); nothing was written from it, run again once it is no longer being replaced"
        return changed
    }
}

/// The ring between one streaming GET (on a thread of its own) and the reader.
///
/// It holds the object's bytes `start..<end`: `end` is where the transfer has got to, and the
/// reader's position lies in between. Half the ring is for the bytes ahead of the reader, half keeps
/// the ones it has just read (the demuxer reads its first 64 KiB, then seeks back into the header):
/// the transfer writes only while the bytes not yet read fit in the first half
/// (`end - readPosition < ahead`), overwriting the oldest bytes; otherwise it waits (curl's write
/// callback blocks, and so does the transfer). Each transfer has a generation: starting
/// another one, or `abandon()`, makes the old one's next write end it, without waiting for it.
private final class StreamRing: @unchecked Sendable {  // all mutable state is guarded by `condition`
    private let capacity: Int
    private let ahead: Int
    private let storage: UnsafeMutableRawBufferPointer
    private let fetcher: RangeFetcher
    private let condition = NSCondition()

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
        let thread = Thread { [self] in self.transfer(range, generation: current) }
        thread.name = "s3transcode.s3-read"
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
