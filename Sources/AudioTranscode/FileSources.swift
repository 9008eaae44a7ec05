#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `read(2)`, callable from types that have a `read` method of their own.
func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// `write(2)`, callable from types that have a `write` method of their own.
func writeDescriptor(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// `strerror(errno)` as a Swift string.
func posixMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// A local file read with `pread`: seekable, its size known. A path that is not a regular file
/// (a FIFO, `/dev/stdin`) is read strictly forward and reports itself as not seekable.
public final class FileSource: ByteSource {
    public let name: String
    public let size: Int64?
    public let isSeekable: Bool
    private let descriptor: Int32
    private var offset: Int64 = 0

    /// Opens `path` for reading. Throws `.inputUnavailable` when it is missing, a directory or
    /// unreadable.
    public init(path: String) throws(TranscodeError) {
        name = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let what = code == ENOENT ? "no such file" : code == EACCES ? "permission denied" : "cannot open"
            throw TranscodeError(
                .inputUnavailable, "\(path): input \(what); check the path and its permissions",
                underlying: posixMessage(code))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw TranscodeError(.inputUnavailable, "\(path): cannot read the input", underlying: posixMessage(code))
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR {
            close(fd)
            throw TranscodeError(.inputUnavailable, "\(path): input is a directory; give an audio file")
        }
        descriptor = fd
        isSeekable = type == S_IFREG
        size = type == S_IFREG ? Int64(info.st_size) : nil
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let got =
                isSeekable
                ? pread(descriptor, base, buffer.count, off_t(offset)) : readDescriptor(descriptor, base, buffer.count)
            if got >= 0 {
                offset += Int64(got)
                return got
            }
            if errno == EINTR { continue }
            throw TranscodeError(
                .inputUnavailable, "\(name): reading the input failed", underlying: posixMessage(errno))
        }
    }

    public func seek(to offset: Int64) throws {
        guard isSeekable else {
            throw TranscodeError(.inputUnavailable, "\(name): input is not seekable")
        }
        self.offset = offset
    }
}

/// An open file descriptor read strictly forward: standard input, or one end of a pipe.
/// Not seekable, size unknown: FFmpeg then reads the input once, front to back, which is how a WAV
/// from a pipe (including a streaming writer's header with sizes 0 or 0xFFFFFFFF) is transcoded.
public final class FileDescriptorSource: ByteSource {
    public let name: String
    public var size: Int64? { nil }
    public var isSeekable: Bool { false }
    private let descriptor: Int32
    private let closesDescriptor: Bool

    /// Reads `descriptor`; closes it on deinit only when `closeOnDeinit` is true.
    public init(descriptor: Int32, name: String, closeOnDeinit: Bool = false) {
        self.descriptor = descriptor
        self.name = name
        self.closesDescriptor = closeOnDeinit
    }

    /// Standard input, named `-` in messages.
    public static func standardInput() -> FileDescriptorSource {
        FileDescriptorSource(descriptor: STDIN_FILENO, name: "-")
    }

    deinit { if closesDescriptor { close(descriptor) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let got = readDescriptor(descriptor, base, buffer.count)
            if got >= 0 { return got }
            if errno == EINTR { continue }
            throw TranscodeError(
                .inputUnavailable, "\(name): reading the input failed", underlying: posixMessage(errno))
        }
    }

    public func seek(to offset: Int64) throws {
        throw TranscodeError(.inputUnavailable, "\(name): input is not seekable")
    }
}

/// Wraps a source and shows an observer every byte of it exactly once, in order, however the
/// demuxer moves around: for a SHA-256 of the source computed while it is read.
///
/// FFmpeg may seek (the WAV demuxer skips past the data chunk to look for a trailing LIST chunk,
/// then comes back). The wrapper feeds the observer only the contiguous prefix: a read that starts
/// at or before the end of what was observed extends it; reads beyond it are passed through unseen.
/// When the transcode is done, `observeRemainder()` reads whatever the demuxer skipped or did not
/// need (usually nothing, or a few trailing chunk bytes), so the observer has seen the whole source.
public final class ObservedSource: ByteSource {
    public let base: ByteSource
    private let observer: (UnsafeRawBufferPointer) -> Void
    private var position: Int64 = 0
    /// How many leading bytes the observer has seen.
    public private(set) var observedCount: Int64 = 0

    public init(_ base: ByteSource, observer: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.base = base
        self.observer = observer
    }

    public var name: String { base.name }
    public var size: Int64? { base.size }
    public var isSeekable: Bool { base.isSeekable }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let got = try base.read(into: buffer)
        let start = position
        position += Int64(got)
        if start <= observedCount && position > observedCount {
            let skip = Int(observedCount - start)
            observer(UnsafeRawBufferPointer(rebasing: buffer[skip..<got]))
            observedCount = position
        }
        return got
    }

    public func seek(to offset: Int64) throws {
        try base.seek(to: offset)
        position = offset
    }

    /// Reads from the end of the observed prefix to the end of the source, showing those bytes to
    /// the observer. Afterwards the observer has seen the whole source. Call it after the transcode;
    /// a source that is not seekable must still be positioned at the end of the observed prefix,
    /// which it always is (nothing ever seeks it).
    public func observeRemainder() throws {
        if position != observedCount { try seek(to: observedCount) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        while try read(into: chunk) > 0 {}
    }
}

/// Bytes in memory as a source: for fuzzing the demuxers through the same custom-IO path as files
/// and S3 objects, and for tests. Seekable (size known) unless told otherwise.
public final class MemorySource: ByteSource {
    public let bytes: [UInt8]
    public let name: String
    public let isSeekable: Bool
    private var offset = 0

    public init(_ bytes: [UInt8], name: String = "memory", seekable: Bool = true) {
        self.bytes = bytes
        self.name = name
        self.isSeekable = seekable
    }

    public var size: Int64? { isSeekable ? Int64(bytes.count) : nil }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
        offset += count
        return count
    }

    public func seek(to offset: Int64) throws {
        guard isSeekable else { throw TranscodeError(.inputUnavailable, "\(name): input is not seekable") }
        self.offset = Int(max(0, min(offset, Int64(bytes.count))))
    }
}
