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
/// Errors are `S3Error`s naming `s3://bucket/key`: a missing object is `noSuchKey`, a refused one
/// `accessDenied` or `credentialsRejected`, a changed one `remote`.
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
struct RangeFetcher: Sendable {
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
            throw invalid(
                status: status, "an empty body for the \(range.count) bytes asked at offset \(range.lowerBound)")
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
        changed.message =
            "s3://\(bucket)/\(key) changed while it was being read (its ETag is no longer \(etag ?? "the one read first"), "
            + "S3 answered 412 PreconditionFailed); nothing was written from it, run again once it is no longer being replaced"
        return changed
    }
}
