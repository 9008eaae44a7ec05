import Foundation
import HTTPClient

/// One S3 object read as a seekable stream of bytes: the transcoder's input when it is
/// `s3://bucket/key`. No temporary file: the bytes come from ranged GETs into a bounded buffer.
///
/// It has the five members of `AudioTranscode.ByteSource` (`read(into:)`, `size`, `isSeekable`,
/// `seek(to:)`, `name`), so the command layer makes it a source with one line,
/// `extension S3ObjectSource: ByteSource {}`, and this target does not depend on the transcoder.
///
/// How it works:
/// - HeadObject gives the size and the ETag. Every ranged GET then carries `If-Match: <ETag>`, so an
///   object overwritten while it is read fails with a one-line error (S3 answers 412
///   PreconditionFailed) instead of splicing two versions into one MP3.
/// - Reads are served from one chunk of `chunkSize` bytes (1 MiB by default): the body of the last
///   [ranged GET](https://www.rfc-editor.org/rfc/rfc9110#name-range-requests), kept as curl
///   delivered it (no copy). A read inside the chunk costs nothing, so FFmpeg's small reads and its
///   seeks back into the header are free; a seek elsewhere only moves the position, and the next
///   read fetches the chunk that holds it.
/// - While the transcoder consumes one chunk, a dedicated thread fetches the next (sequential reading
///   is what a transcode does), so S3's latency hides behind decoding. At most two chunks exist at a
///   time: memory stays at about 2 × `chunkSize` however large the object.
/// - A ranged GET is idempotent: each one retries as the client's `RetryPolicy` says.
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
    public let chunkSize: Int

    /// Ranged GETs made so far (prefetches included).
    public var requestCount: Int { prefetcher.requestCount }

    private var chunk: Chunk?
    private var position: Int64 = 0
    private let prefetcher: Prefetcher

    /// Opens `s3://bucket/key` with a HeadObject.
    public convenience init(client: S3Client, bucket: String, key: String, chunkSize: Int = 1 << 20) throws {
        let head = try client.headObject(bucket: bucket, key: key)
        self.init(client: client, bucket: bucket, key: key, etag: head.etag, size: Int64(head.contentLength), chunkSize: chunkSize)
    }

    /// An object whose ETag and size are already known (no request): a second reader of the same
    /// version, e.g. to hash it.
    public init(client: S3Client, bucket: String, key: String, etag: String?, size: Int64, chunkSize: Int = 1 << 20) {
        self.client = client
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.objectSize = size
        self.chunkSize = max(1, chunkSize)
        self.prefetcher = Prefetcher(fetch: RangeFetcher(client: client, bucket: bucket, key: key, etag: etag, size: size))
    }

    deinit { prefetcher.stop() }

    /// Another reader of the same object version (same ETag, same size), starting at offset 0, with
    /// chunks of `chunkSize` bytes (this reader's when nil).
    public func reopened(chunkSize: Int? = nil) -> S3ObjectSource {
        S3ObjectSource(client: client, bucket: bucket, key: key, etag: etag, size: objectSize, chunkSize: chunkSize ?? self.chunkSize)
    }

    // MARK: - The ByteSource members

    /// `s3://bucket/key`.
    public var name: String { "s3://\(bucket)/\(key)" }
    public var size: Int64? { objectSize }
    public var isSeekable: Bool { true }

    public func seek(to offset: Int64) throws {
        position = max(0, min(offset, objectSize))
    }

    /// Copies from the current chunk; fetches the chunk that holds the position when needed.
    /// Returns 0 at the end of the object.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard position < objectSize, buffer.count > 0 else { return 0 }
        if chunk?.contains(position) != true { try load(at: position) }
        guard let chunk else { return 0 }
        let from = Int(position - chunk.start)
        let count = min(buffer.count, chunk.bytes.count - from)
        chunk.bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[from..<from + count])) }
        position += Int64(count)
        return count
    }

    /// Makes the chunk starting at `offset` current (the prefetched one when it is that one), then
    /// starts fetching the one after it.
    private func load(at offset: Int64) throws {
        chunk = nil  // release it before the next one arrives: two chunks at most
        let range = offset..<min(offset + Int64(chunkSize), objectSize)
        let bytes = try prefetcher.take(range) ?? prefetcher.fetch(range)
        chunk = Chunk(start: offset, bytes: bytes)
        if range.upperBound < objectSize {
            prefetcher.start(range.upperBound..<min(range.upperBound + Int64(chunkSize), objectSize))
        }
    }

    private struct Chunk {
        var start: Int64
        var bytes: [UInt8]
        func contains(_ offset: Int64) -> Bool { offset >= start && offset < start + Int64(bytes.count) }
    }
}

/// One ranged GET of a pinned object version, checked: the answer must be a 206 for exactly the
/// range asked.
private struct RangeFetcher: Sendable {
    let client: S3Client
    let bucket: String
    let key: String
    let etag: String?
    let size: Int64

    func callAsFunction(_ range: Range<Int64>) throws -> [UInt8] {
        var headers: [(name: String, value: String)] = [("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")]
        if let etag { headers.append(("If-Match", etag)) }
        let response: HTTPResponse
        do {
            response = try client.perform(
                S3Client.Request(operation: "GetObject", method: "GET", bucket: bucket, key: key, headers: headers))
        } catch let error as S3Error where error.status == 412 {
            throw S3ObjectSource.changed(error, bucket: bucket, key: key, etag: etag)
        }
        guard response.body.count == Int(range.count),
              response.status == 206 || (response.status == 200 && range.lowerBound == 0 && range.count == size)
        else {
            throw S3Error.invalidResponse(
                operation: "GetObject", bucket: bucket, key: key, status: response.status,
                detail: "\(response.body.count) bytes for the \(range.count) asked at offset \(range.lowerBound)")
        }
        return response.body
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

/// Fetches the next chunk on a thread of its own while the reader consumes the current one.
///
/// One fetch at a time; its result (bytes or error) waits until the reader takes it or asks for
/// another range. An error of a prefetch reaches the reader only if it takes that range.
private final class Prefetcher: @unchecked Sendable {  // all state is guarded by `condition`
    private let fetcher: RangeFetcher
    private let condition = NSCondition()
    private var wanted: Range<Int64>?
    private var inFlight: Range<Int64>?
    private var done: (range: Range<Int64>, result: Result<[UInt8], any Error>)?
    private var stopped = false
    private var thread: Thread?
    private var requests = 0

    init(fetch: RangeFetcher) { fetcher = fetch }

    var requestCount: Int { condition.withLock { requests } }

    /// Fetches `range` on the calling thread.
    func fetch(_ range: Range<Int64>) throws -> [UInt8] {
        condition.withLock { requests += 1 }
        return try fetcher(range)
    }

    /// The prefetched bytes of `range` (waiting for them if their fetch is under way); nil when
    /// another range was prefetched, which is then dropped.
    func take(_ range: Range<Int64>) throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while inFlight == range || wanted == range { condition.wait() }
        guard let done, done.range == range else {
            self.done = nil
            return nil
        }
        self.done = nil
        return try done.result.get()
    }

    /// Starts fetching `range` in the background, replacing any prefetch not yet started.
    func start(_ range: Range<Int64>) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return }
        wanted = range
        done = nil
        if thread == nil {
            let thread = Thread { [self] in self.run() }
            thread.name = "s3transcode.s3-read-ahead"
            thread.stackSize = 512 << 10
            self.thread = thread
            thread.start()
        }
        condition.broadcast()
    }

    /// Ends the thread after the fetch under way, if any.
    func stop() {
        condition.withLock {
            stopped = true
            wanted = nil
            condition.broadcast()
        }
    }

    private func run() {
        condition.lock()
        while true {
            while wanted == nil && !stopped { condition.wait() }
            guard !stopped, let range = wanted else { break }
            wanted = nil
            inFlight = range
            requests += 1
            condition.unlock()
            let result = Result { try fetcher(range) }
            condition.lock()
            inFlight = nil
            done = (range, result)
            condition.broadcast()
        }
        condition.unlock()
    }
}
