#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local MP3 file. The whole file is the rewritable window, so it gets a correct Xing/Info + LAME
/// frame.
///
/// The bytes go to a hidden temporary file next to `path` (`.NAME.s3transcode-PID-RANDOM.part`, created
/// exclusively) written with `pwrite`; `finish()` renames it onto `path`, replacing any file there,
/// so `path` only ever holds a complete MP3 and an existing file survives a failed transcode.
/// `abort()` removes the temporary file. (Only a crash can leave it behind.)
///
/// A `path` that exists and is not a regular file (`/dev/null`, a FIFO, a terminal) is written
/// directly, strictly forward, and so is not rewritable: like a pipe, it gets no Xing/LAME frame.
public final class FileSink: OutputSink {
    public let path: String
    public let rewritableWindow: Int64?
    private var descriptor: Int32
    private let temporaryPath: String?
    private var appendOffset: Int64 = 0

    /// Creates the temporary file (or opens a non-regular `path`). Throws `.outputUnavailable` when
    /// the directory is missing or not writable, or `path` is a directory.
    public init(path: String) throws(TranscodeError) {
        self.path = path
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            if info.st_mode & S_IFMT == S_IFDIR {
                throw TranscodeError(.outputUnavailable, "\(path): output is a directory; give a file path")
            }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileSink.cannotCreate(path, errno) }
            descriptor = fd
            temporaryPath = nil
            rewritableWindow = nil
            return
        }
        let temporary = FileSink.temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw FileSink.cannotCreate(path, errno) }
        descriptor = fd
        temporaryPath = temporary
        rewritableWindow = Int64.max
    }

    deinit {
        if descriptor >= 0 { abort() }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard descriptor >= 0 else { throw TranscodeError(.writeFailed, "\(path): write after finish or abort") }
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        var position = offset
        if temporaryPath == nil && offset != appendOffset {
            throw TranscodeError(.writeFailed, "\(path): output cannot seek")
        }
        while remaining > 0 {
            let done =
                temporaryPath != nil
                ? pwrite(descriptor, base, remaining, off_t(position))
                : writeDescriptor(descriptor, base, remaining)
            if done < 0 {
                if errno == EINTR { continue }
                throw TranscodeError(
                    .writeFailed, "\(path): writing the output failed; check free space",
                    underlying: posixMessage(errno))
            }
            base += done
            remaining -= done
            position += Int64(done)
        }
        appendOffset = max(appendOffset, position)
    }

    public func finish() throws {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        if close(fd) != 0 {
            let code = errno
            if let temporaryPath { unlink(temporaryPath) }
            throw TranscodeError(.writeFailed, "\(path): writing the output failed", underlying: posixMessage(code))
        }
        if let temporaryPath, rename(temporaryPath, path) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw TranscodeError(
                .outputUnavailable, "\(path): cannot move the finished output into place",
                underlying: posixMessage(code))
        }
    }

    public func abort() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        if let temporaryPath { unlink(temporaryPath) }
    }

    private static func cannotCreate(_ path: String, _ code: Int32) -> TranscodeError {
        let hint = code == ENOENT ? "; check that its directory exists" : code == EACCES ? "; check permissions" : ""
        return TranscodeError(
            .outputUnavailable, "\(path): cannot create the output\(hint)", underlying: posixMessage(code))
    }

    private static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let file = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let n = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(directory).\(file).s3transcode-\(getpid())-\(n).part"
    }
}

/// An open file descriptor written strictly forward: standard output, or a pipe.
///
/// Not rewritable (`rewritableWindow == nil`), so the mp3 muxer writes no Xing/Info + LAME frame,
/// exactly as `ffmpeg … -f mp3 -` does: players then cannot trim the encoder delay and padding
/// (about 1,100 extra samples in total), and a VBR stream's duration is only estimated.
/// `abort()` cannot take back what was written; it only stops. The descriptor is not closed.
/// A reader that goes away raises SIGPIPE, which kills the process unless it is ignored
/// (`signal(SIGPIPE, SIG_IGN)` at start-up); ignored, the write fails with `.writeFailed` (EPIPE).
public final class FileDescriptorSink: OutputSink {
    public let name: String
    public var rewritableWindow: Int64? { nil }
    private let descriptor: Int32
    private var written: Int64 = 0

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Standard output, named `-` in messages.
    public static func standardOutput() -> FileDescriptorSink {
        FileDescriptorSink(descriptor: STDOUT_FILENO, name: "-")
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard offset == written else { throw TranscodeError(.writeFailed, "\(name): output cannot seek") }
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let done = writeDescriptor(descriptor, base, remaining)
            if done < 0 {
                let code = errno
                if code == EINTR { continue }
                let advice = code == EPIPE ? "; the reader of the output went away before the end" : ""
                throw TranscodeError(
                    .writeFailed, "\(name): writing the output failed\(advice)", underlying: posixMessage(code))
            }
            base += done
            remaining -= done
        }
        written += Int64(bytes.count)
    }

    public func finish() throws {}
    public func abort() {}
}
