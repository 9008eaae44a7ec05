import AWSConfig
import AudioTranscode
import HTTPClient
import S3

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
    /// one line naming its input or key; `ExitStatus` decides only the exit code.
    init(_ error: any Error) {
        switch error {
        case let failure as CommandFailure:
            self = failure
        case let error as TranscodeError:
            self.init(ExitStatus(error.kind), error.message)
        case let error as S3Error:
            self.init(ExitStatus(error.kind), error.message)
        case let error as ConfigurationError:
            self.init(ExitStatus(error.kind), error.message)
        case let error as UploadError:
            // A wrapped error decides for itself: a credentials error inside a part's failure is
            // still a credentials error (78 when there are none, 77 when they were refused).
            self.init(error.underlying.map { CommandFailure($0).status } ?? ExitStatus(error), error.message)
        case let error as TransportError:
            self.init(ExitStatus(error), error.message)
        default:
            self.init(.software, "\(error)")
        }
    }
}
