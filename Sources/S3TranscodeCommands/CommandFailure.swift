import AWSConfig
import AudioTranscode
import HTTPClient
import S3

/// The exit codes of s3transcode (sysexits(3) where one fits), as the README and `--help` list them.
enum ExitStatus: Int32 {
    case success = 0
    /// Some files of a batch failed; the summary names them.
    case someFailed = 1
    case usage = 64
    /// The input is not decodable audio.
    case dataError = 65
    /// The input is missing or unreadable.
    case noInput = 66
    /// A remote service failed after its retries (S3 error, network down, checksum mismatch).
    case unavailable = 69
    case software = 70
    /// The output cannot be created.
    case cannotCreate = 73
    /// An I/O error while writing.
    case ioError = 74
    /// Access denied or credentials rejected.
    case permission = 77
    /// No credentials, or bad configuration.
    case configuration = 78
    case hungUp = 129
    case interrupted = 130
    case terminated = 143

    /// The exit status for a trap's `exitCode` (128 + the signal's number).
    static func signalled(_ code: Int32) -> ExitStatus { ExitStatus(rawValue: code) ?? .interrupted }
}

/// A failure the command line reports as one line on stderr, and the exit code it exits with.
struct CommandFailure: Error, CustomStringConvertible {
    var status: ExitStatus
    var message: String
    /// What the failure left behind despite the abort (an upload whose abort failed, with the
    /// command that removes it); nil when nothing was.
    var leftBehind: String?

    init(_ status: ExitStatus, _ message: String, leftBehind: String? = nil) {
        self.status = status
        self.message = message
        self.leftBehind = leftBehind
    }

    var description: String { message }

    /// What an error from any layer means on the command line. Every library error already reads as
    /// one line naming its input or key; this decides only the exit code.
    init(_ error: any Error) {
        switch error {
        case let failure as CommandFailure:
            self = failure
        case let error as TranscodeError:
            self.init(ExitStatus(rawValue: error.exitCode) ?? .software, error.message)
        case let error as S3Error:
            self.init(ExitStatus(rawValue: error.exitCode) ?? .unavailable, error.message)
        case let error as ConfigurationError:
            self.init(ExitStatus(rawValue: error.exitCode) ?? .configuration, error.message)
        case let error as UploadError:
            self.init(CommandFailure.status(of: error), error.message)
        case let error as TransportError:
            self.init(error.kind == .cancelled ? .interrupted : .unavailable, error.message)
        default:
            self.init(.software, "\(error)")
        }
    }

    /// An upload error's own code, except that a wrapped error decides for itself (a credentials
    /// error inside a part's failure is still 78).
    private static func status(of error: UploadError) -> ExitStatus {
        if let underlying = error.underlying { return CommandFailure(underlying).status }
        return ExitStatus(rawValue: error.exitCode) ?? .software
    }
}
