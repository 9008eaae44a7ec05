import AWSConfig
import AudioTranscode
import HTTPClient
import S3

/// The exit codes of s3transcode (sysexits(3) where one fits): the one table of them. The libraries
/// say what kind of failure happened; the functions below map each kind to a code; the root
/// `--help` prints `ExitStatus.documented` and a test checks the README's table against it.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case someFailed = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case unavailable = 69
    case software = 70
    case cannotCreate = 73
    case ioError = 74
    case permission = 77
    case configuration = 78
    case hungUp = 129
    case interrupted = 130
    case terminated = 143

    /// What the code means, as `--help` and the README list it (short enough for an 80-column
    /// terminal after the code).
    var meaning: String {
        switch self {
        case .success: "success"
        case .someFailed: "some files of a batch failed; the summary names them"
        case .usage: "bad arguments"
        case .dataError: "the input is not decodable audio"
        case .noInput: "the input is missing or unreadable, or archived in S3 (restore it)"
        case .unavailable: "a remote service failed after its retries (S3, network, checksum)"
        case .software: "an internal error (a bug: please report it)"
        case .cannotCreate: "the output cannot be created, or outgrows S3's 10,000 parts"
        case .ioError: "an I/O error while writing"
        case .permission: "access denied or credentials rejected"
        case .configuration: "no credentials, or bad configuration"
        case .hungUp: "hung up (SIGHUP)"
        case .interrupted: "interrupted (SIGINT)"
        case .terminated: "terminated (SIGTERM)"
        }
    }

    /// Every code with its meaning, one per line, as the root `--help` shows them.
    static var documented: String {
        allCases.map { status in
            let code = String(status.rawValue)
            return "  " + code + String(repeating: " ", count: 5 - code.count) + status.meaning
        }.joined(separator: "\n")
    }

    /// The exit status for a trap's `exitCode` (128 + the signal's number).
    static func signalled(_ code: Int32) -> ExitStatus { ExitStatus(rawValue: code) ?? .interrupted }

    // MARK: - Each library's kinds

    init(_ kind: TranscodeError.Kind) {
        switch kind {
        case .invalidOptions: self = .usage
        case .notAudio: self = .dataError
        case .inputUnavailable: self = .noInput
        case .encoderUnavailable: self = .unavailable
        case .outputUnavailable: self = .cannotCreate
        case .writeFailed: self = .ioError
        case .cancelled: self = .interrupted
        default: self = .software  // .internalFailure
        }
    }

    init(_ kind: S3Error.Kind) {
        switch kind {
        case .credentialsRejected, .accessDenied: self = .permission
        case .noSuchKey, .archived: self = .noInput
        case .cancelled: self = .interrupted
        default: self = .unavailable  // .noSuchBucket, .noSuchUpload, .remote, .unavailable
        }
    }

    init(_ kind: ConfigurationError.Kind) {
        switch kind {
        case .credentialsRejected: self = .permission
        case .unavailable: self = .unavailable
        default: self = .configuration  // .noCredentials, .invalidConfiguration
        }
    }

    /// An upload error: a remote one takes its S3 error's status (77 for refused credentials, 66
    /// for a missing key); an integrity failure (S3 stored something other than what was sent) is
    /// a remote service failing, 69.
    init(_ error: UploadError) {
        switch error.kind {
        case .invalidOptions: self = .usage
        case .outputTooLarge: self = .cannotCreate
        case .invalidWrite: self = .ioError
        case .integrity: self = .unavailable
        case .remote: self = (error.underlying as? S3Error).map { ExitStatus($0.kind) } ?? .unavailable
        case .cancelled: self = .interrupted
        default: self = .software  // .finished: a write after the upload ended
        }
    }

    init(_ error: TransportError) {
        self = error.kind == .cancelled ? .interrupted : .unavailable
    }
}
