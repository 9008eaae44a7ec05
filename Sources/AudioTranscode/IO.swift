/// Where the transcoder reads from and writes to. Both sides are protocols so that a local file,
/// standard input/output, an S3 object (ranged GETs) and an S3 multipart upload plug in without
/// the transcoder knowing which.

/// Bytes the demuxer reads. Implementations are used from one thread at a time.
///
/// Provided: `FileSource` (a path, `pread`), `FileDescriptorSource` (standard input, a pipe),
/// `MemorySource` (bytes in memory, for fuzzing and tests), and `ObservedSource`, which wraps any
/// of them to show every byte once, in order, to a hash. An error a source throws reaches the
/// transcoder's caller unchanged.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; returns 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// The total size, when known (a file, an S3 object); nil for a pipe.
    var size: Int64? { get }
    /// Whether `seek(to:)` works. A pipe is not seekable: FFmpeg then reads strictly forward.
    var isSeekable: Bool { get }
    func seek(to offset: Int64) throws
    /// A name for messages: the path, `-` (standard input) or `s3://bucket/key`. It appears in
    /// error messages and warnings, so it is never a presigned URL or anything else secret.
    var name: String { get }
}

/// Bytes the MP3 muxer writes. FFmpeg's mp3 muxer writes the Xing/Info + LAME frame only when its
/// output is seekable, and fills it in at the trailer by seeking back to it; a sink makes that
/// possible by keeping the start of the stream rewritable.
///
/// The only rewrite the muxer makes is that frame, right after the ID3v2 tag (a few hundred bytes
/// from the start), once, at the trailer. Provided: `FileSink` (a path; whole file rewritable) and
/// `FileDescriptorSink` (standard output, a pipe; not rewritable). An error a sink throws reaches
/// the transcoder's caller unchanged, after `abort()`.
public protocol OutputSink: AnyObject {
    /// How many leading bytes of the stream can be rewritten after they were written:
    /// nil for a sink that cannot seek at all (a pipe), `Int64.max` for a local file,
    /// the size of part 1 for an S3 multipart upload.
    var rewritableWindow: Int64? { get }
    /// Writes `bytes` at `offset`. `offset` is either the end of what was written so far
    /// (appending) or, for a rewrite, inside `rewritableWindow`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Called once after the muxer wrote its trailer: make the output permanent.
    func finish() throws
    /// Called on any failure: leave nothing behind (remove a partial file, abort an upload).
    func abort()
}
