import CAVFormat
import CAVUtil

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The AVIO buffer size for both directions. 64 KiB: large reads go straight into the caller's
/// buffer anyway, and the mp3 muxer's writes are coalesced into writes of this size.
private let ioBufferSize: Int32 = 1 << 16

/// What the read callbacks reach through `opaque`: the source, the position FFmpeg believes it is
/// at, and the first error the source threw (FFmpeg only sees `AVERROR(EIO)`; the transcoder
/// rethrows this original error).
final class SourceCallbacks {
    let source: ByteSource
    var position: Int64 = 0
    var error: (any Error)?
    /// The first bytes of the source, kept to read what a WAV header announces.
    private(set) var head: [UInt8] = []
    static let headCapacity = 4096

    init(source: ByteSource) { self.source = source }

    func read(_ buffer: UnsafeMutablePointer<UInt8>, _ count: Int32) -> Int32 {
        do {
            let got = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(count)))
            if got == 0 { return s3t_averror_eof() }
            if position == Int64(head.count) && head.count < SourceCallbacks.headCapacity {
                head += UnsafeBufferPointer(start: buffer, count: min(got, SourceCallbacks.headCapacity - head.count))
            }
            position += Int64(got)
            return Int32(got)
        } catch {
            if self.error == nil { self.error = error }
            return s3t_averror_eio()
        }
    }

    func seek(_ offset: Int64, _ whence: Int32) -> Int64 {
        let mode = whence & ~s3t_avseek_force()
        if mode == s3t_avseek_size() {
            return source.size ?? Int64(s3t_averror(ENOSYS))
        }
        guard source.isSeekable else { return Int64(s3t_averror(ESPIPE)) }
        let target: Int64
        switch mode {
        case SEEK_SET: target = offset
        case SEEK_CUR: target = position + offset
        case SEEK_END:
            guard let size = source.size else { return Int64(s3t_averror(ENOSYS)) }
            target = size + offset
        default: return Int64(s3t_averror_einval())
        }
        guard target >= 0 else { return Int64(s3t_averror_einval()) }
        do {
            try source.seek(to: target)
            position = target
            return target
        } catch {
            if self.error == nil { self.error = error }
            return Int64(s3t_averror_eio())
        }
    }
}

/// What the write callbacks reach through `opaque`: the sink, the write position, the high-water
/// mark, and the first error the sink threw.
final class SinkCallbacks {
    let sink: OutputSink
    var position: Int64 = 0
    private(set) var bytesWritten: Int64 = 0
    var error: (any Error)?

    init(sink: OutputSink) { self.sink = sink }

    func write(_ buffer: UnsafePointer<UInt8>, _ count: Int32) -> Int32 {
        // The part of this write that lands on bytes already written must lie inside the window.
        if position < bytesWritten, min(position + Int64(count), bytesWritten) > (sink.rewritableWindow ?? 0) {
            // A rewrite that reaches past what may still be rewritten: the muxer only rewrites its
            // Xing frame, so this is a bug, never silent corruption.
            if error == nil {
                error = TranscodeError(
                    .internalFailure, "rewrite at byte \(position) outside the output's rewritable window")
            }
            return s3t_averror_eio()
        }
        do {
            try sink.write(UnsafeRawBufferPointer(start: buffer, count: Int(count)), at: position)
            position += Int64(count)
            bytesWritten = max(bytesWritten, position)
            return count
        } catch {
            if self.error == nil { self.error = error }
            return s3t_averror_eio()
        }
    }

    func seek(_ offset: Int64, _ whence: Int32) -> Int64 {
        let mode = whence & ~s3t_avseek_force()
        if mode == s3t_avseek_size() { return bytesWritten }
        guard let window = sink.rewritableWindow else { return Int64(s3t_averror(ESPIPE)) }
        let target: Int64
        switch mode {
        case SEEK_SET: target = offset
        case SEEK_CUR: target = position + offset
        case SEEK_END: target = bytesWritten + offset
        default: return Int64(s3t_averror_einval())
        }
        guard target >= 0, target <= bytesWritten, target == bytesWritten || target < window else {
            return Int64(s3t_averror(ESPIPE))
        }
        position = target
        return target
    }
}

private let readPacket: s3t_avio_read_fn = { opaque, buffer, count in
    Unmanaged<SourceCallbacks>.fromOpaque(opaque!).takeUnretainedValue().read(buffer!, count)
}

private let seekSource: s3t_avio_seek_fn = { opaque, offset, whence in
    Unmanaged<SourceCallbacks>.fromOpaque(opaque!).takeUnretainedValue().seek(offset, whence)
}

private let writePacket: s3t_avio_write_fn = { opaque, buffer, count in
    Unmanaged<SinkCallbacks>.fromOpaque(opaque!).takeUnretainedValue().write(buffer!, count)
}

private let seekSink: s3t_avio_seek_fn = { opaque, offset, whence in
    Unmanaged<SinkCallbacks>.fromOpaque(opaque!).takeUnretainedValue().seek(offset, whence)
}

/// One custom AVIOContext and the callback object its `opaque` points at (kept alive here).
/// Frees what the context holds at the end, `buffer` included: FFmpeg may have swapped it.
final class CustomIOContext {
    let context: UnsafeMutablePointer<AVIOContext>
    private let callbacks: AnyObject

    /// A read context over `source`. Seekable only when the source is; a non-seekable source with a
    /// known size still answers `AVSEEK_SIZE`.
    init(reading callbacks: SourceCallbacks) throws(FFmpegError) {
        self.callbacks = callbacks
        context = try CustomIOContext.allocate(
            opaque: Unmanaged.passUnretained(callbacks).toOpaque(),
            write: false, read: readPacket, writer: nil, seek: seekSource)
        context.pointee.seekable = callbacks.source.isSeekable ? s3t_avio_seekable_normal() : 0
    }

    /// A write context over `sink`, seekable (so the mp3 muxer writes its Xing/Info frame) only
    /// when the sink has a rewritable window.
    init(writing callbacks: SinkCallbacks) throws(FFmpegError) {
        self.callbacks = callbacks
        context = try CustomIOContext.allocate(
            opaque: Unmanaged.passUnretained(callbacks).toOpaque(),
            write: true, read: nil, writer: writePacket, seek: seekSink)
        context.pointee.seekable = callbacks.sink.rewritableWindow != nil ? s3t_avio_seekable_normal() : 0
    }

    private static func allocate(
        opaque: UnsafeMutableRawPointer, write: Bool, read: s3t_avio_read_fn?,
        writer: s3t_avio_write_fn?, seek: s3t_avio_seek_fn
    ) throws(FFmpegError)
        -> UnsafeMutablePointer<AVIOContext>
    {
        guard let buffer = av_malloc(Int(ioBufferSize)) else {
            throw FFmpegError(code: s3t_averror_enomem(), operation: "av_malloc")
        }
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        guard let context = s3t_avio_alloc_context(bytes, ioBufferSize, write ? 1 : 0, opaque, read, writer, seek)
        else {
            av_free(buffer)
            throw FFmpegError(code: s3t_averror_enomem(), operation: "avio_alloc_context")
        }
        return context
    }

    deinit {
        av_freep(&context.pointee.buffer)
        var pointer: UnsafeMutablePointer<AVIOContext>? = context
        avio_context_free(&pointer)
    }
}
