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
    /// What went wrong; the command layer maps it to an exit code. A struct over a private enum
    /// (as `S3Error.Kind`), so that kinds can be added without breaking callers.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Raw: String, Sendable, Hashable {
            case invalidOptions = "invalid options"
            case inputUnavailable = "input unavailable"
            case notAudio = "not audio"
            case outputUnavailable = "output unavailable"
            case writeFailed = "write failed"
            case encoderUnavailable = "encoder unavailable"
            case cancelled
            case internalFailure = "internal failure"
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }

        /// Bad option values (a VBR quality of 12, three output channels).
        public static let invalidOptions = Kind(.invalidOptions)
        /// The input is missing, a directory, unreadable, or failed while being read.
        public static let inputUnavailable = Kind(.inputUnavailable)
        /// The input is not decodable audio: empty, not a known format, no audio stream,
        /// unsupported codec, corrupt header, zero channels, no samples.
        public static let notAudio = Kind(.notAudio)
        /// The output cannot be created (missing directory, permission denied).
        public static let outputUnavailable = Kind(.outputUnavailable)
        /// Writing the output failed part-way (disk full, closed pipe).
        public static let writeFailed = Kind(.writeFailed)
        /// This FFmpeg has no libmp3lame encoder.
        public static let encoderUnavailable = Kind(.encoderUnavailable)
        /// The caller's cancellation check returned true.
        public static let cancelled = Kind(.cancelled)
        /// FFmpeg failed where it should not (out of memory, an encoder error).
        public static let internalFailure = Kind(.internalFailure)

        public var description: String { raw.rawValue }
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
}
