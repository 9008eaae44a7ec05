/// Why a streaming upload failed, as one line a person can act on.
///
/// `kind` is what the command layer maps to an exit code. A remote failure keeps the S3 client's
/// own error in `underlying`, whose kind then decides.
public struct UploadError: Error, Sendable, CustomStringConvertible {
    /// A struct over a private enum, so that kinds can be added without breaking callers.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Raw: String, Sendable, Hashable {
            case invalidOptions, outputTooLarge, invalidWrite, remote, integrity, cancelled, finished
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }

        /// Part size, concurrency or memory budget out of range.
        public static let invalidOptions = Kind(.invalidOptions)
        /// The output outgrew 10,000 parts of the planned size.
        public static let outputTooLarge = Kind(.outputTooLarge)
        /// A write outside the rewritable window, or past the end of what was written.
        public static let invalidWrite = Kind(.invalidWrite)
        /// An S3 request failed after its retries; see `underlying`.
        public static let remote = Kind(.remote)
        /// S3 stored something other than what we sent: an ETag or CRC32 mismatch.
        public static let integrity = Kind(.integrity)
        /// `abort()` was called (a signal, or the transcoder failed); the upload was aborted.
        public static let cancelled = Kind(.cancelled)
        /// `write` or `finish` after the upload was finished or aborted.
        public static let finished = Kind(.finished)

        public var description: String { raw.rawValue }
    }

    public let kind: Kind
    /// One line, safe to print: names the object and what to do; never a secret.
    public let message: String
    /// The S3 client's error, for `.remote`.
    public let underlying: (any Error & Sendable)?

    public init(_ kind: Kind, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    /// The same error with a sentence appended.
    func appending(_ sentence: String) -> UploadError {
        UploadError(kind, "\(message); \(sentence)", underlying: underlying)
    }
}
