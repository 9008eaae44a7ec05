import CAVUtil

/// A failed FFmpeg call: which call failed, the code it returned and `av_strerror`'s text for it.
///
/// `AVERROR(EAGAIN)` and `AVERROR_EOF` are never thrown as this error: the send/receive loops
/// model them as states (`CodecStep`).
public struct FFmpegError: Error, CustomStringConvertible, Sendable {
    /// The negative `AVERROR` code the call returned.
    public let code: Int32
    /// The FFmpeg function that failed, e.g. `avcodec_open2`.
    public let operation: String
    /// `av_strerror`'s text for `code`.
    public let message: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.message = FFmpegError.text(for: code)
    }

    public var description: String { "\(operation) failed: \(message)" }

    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 { return "error \(code)" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Throws an `FFmpegError` when `code` is negative; returns it otherwise.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(FFmpegError) -> Int32 {
    if code < 0 { throw FFmpegError(code: code, operation: operation()) }
    return code
}

/// Why a transcode, a probe or a source/sink failed. The message is one line a person can act on:
/// what failed, on which input or output, and what to do. Secrets never appear in it.
///
/// Errors thrown by a caller's own `ByteSource` or `OutputSink` (for instance an S3 error) are
/// rethrown unchanged by the transcoder, so their own kinds survive; this type covers the errors the
/// library itself originates.
public struct TranscodeError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for the command layer's exit code. `exitCode` gives the sysexits value.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// Bad option values (a VBR quality of 12, three output channels). Exit 64.
        case invalidOptions
        /// The input is missing, a directory, unreadable, or failed while being read. Exit 66.
        case inputUnavailable
        /// The input is not decodable audio: empty, not a known format, no audio stream,
        /// unsupported codec, corrupt header, zero channels, no samples. Exit 65.
        case notAudio
        /// The output cannot be created (missing directory, permission denied). Exit 73.
        case outputUnavailable
        /// Writing the output failed part-way (disk full, closed pipe). Exit 74.
        case writeFailed
        /// This FFmpeg has no libmp3lame encoder. Exit 69.
        case encoderUnavailable
        /// The caller's cancellation check returned true. Exit 130 (interrupted), by convention.
        case cancelled
        /// FFmpeg failed where it should not (out of memory, an encoder error). Exit 70.
        case internalFailure

        public var description: String {
            switch self {
            case .invalidOptions: "invalid options"
            case .inputUnavailable: "input unavailable"
            case .notAudio: "not audio"
            case .outputUnavailable: "output unavailable"
            case .writeFailed: "write failed"
            case .encoderUnavailable: "encoder unavailable"
            case .cancelled: "cancelled"
            case .internalFailure: "internal failure"
            }
        }
    }

    public let kind: Kind
    /// The whole one-line message, e.g.
    /// `in.wav: not decodable audio: no audio stream; give a WAV, FLAC, MP3, Ogg or other audio file`.
    public let message: String
    /// The FFmpeg or POSIX cause, when there was one (already part of `message`).
    public let underlying: String?

    public init(_ kind: Kind, _ message: String, underlying: String? = nil) {
        self.kind = kind
        self.underlying = underlying
        self.message = underlying.map { "\(message) (\($0))" } ?? message
    }

    public var description: String { message }

    /// The sysexits(3) exit code for `kind`: 64 usage, 65 data, 66 no input, 69 unavailable,
    /// 70 software, 73 cannot create, 74 I/O, 130 interrupted.
    public var exitCode: Int32 {
        switch kind {
        case .invalidOptions: 64
        case .notAudio: 65
        case .inputUnavailable: 66
        case .encoderUnavailable: 69
        case .internalFailure: 70
        case .outputUnavailable: 73
        case .writeFailed: 74
        case .cancelled: 130
        }
    }
}
