import AWSConfig
import AudioTranscode
import Foundation
import HTTPClient
import Testing

@testable import S3
@testable import S3TranscodeCommands

/// The one table of exit codes (`ExitStatus`): what each library's error kinds map to, and that the
/// root `--help` and the README list exactly that table.
@Suite("exit codes: one table")
struct ExitCodeTests {
    @Test("every library error kind maps to its exit code")
    func kinds() {
        let transcode: [(TranscodeError.Kind, Int32)] = [
            (.invalidOptions, 64), (.notAudio, 65), (.inputUnavailable, 66), (.encoderUnavailable, 69),
            (.internalFailure, 70), (.outputUnavailable, 73), (.writeFailed, 74), (.cancelled, 130),
        ]
        for (kind, code) in transcode { #expect(ExitStatus(kind).rawValue == code, "\(kind)") }

        let s3: [(S3Error.Kind, Int32)] = [
            (.credentialsRejected, 77), (.accessDenied, 77), (.noSuchKey, 66), (.archived, 66), (.noSuchBucket, 69),
            (.noSuchUpload, 69), (.remote, 69), (.unavailable, 69), (.cancelled, 130),
        ]
        for (kind, code) in s3 { #expect(ExitStatus(kind).rawValue == code, "\(kind)") }

        let configuration: [(ConfigurationError.Kind, Int32)] = [
            (.noCredentials, 78), (.invalidConfiguration, 78), (.credentialsRejected, 77), (.unavailable, 69),
        ]
        for (kind, code) in configuration { #expect(ExitStatus(kind).rawValue == code, "\(kind)") }

        let upload: [(UploadError.Kind, Int32)] = [
            (.invalidOptions, 64), (.outputTooLarge, 73), (.invalidWrite, 74), (.integrity, 69), (.remote, 69),
            (.cancelled, 130), (.finished, 70),
        ]
        for (kind, code) in upload { #expect(ExitStatus(UploadError(kind, "x")).rawValue == code, "\(kind)") }

        #expect(ExitStatus(TransportError(.connect, "x")) == .unavailable)
        #expect(ExitStatus(TransportError(.cancelled, "x")) == .interrupted)
    }

    @Test("an error wrapped in an upload error decides for itself; a store's own error is still remote (69)")
    func wrapped() {
        struct StoreFailed: Error {}
        let archived = S3Error(
            kind: .archived, operation: "GetObject", bucket: "b", key: "k", status: 403, code: "InvalidObjectState",
            serverMessage: nil, requestId: nil, attempts: 1, message: "x")
        #expect(CommandFailure(UploadError(.remote, "x", underlying: archived)).status == .noInput)
        #expect(ExitStatus(UploadError(.remote, "x", underlying: archived)) == .noInput)
        #expect(
            CommandFailure(UploadError(.remote, "x", underlying: ConfigurationError(.noCredentials, "x"))).status
                == .configuration)
        #expect(ExitStatus(UploadError(.remote, "x", underlying: StoreFailed())) == .unavailable)
    }

    @Test("the root --help lists the table, one code per line, each once")
    func help() {
        let help = S3Transcode.helpMessage(columns: 80)
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for status in ExitStatus.allCases {
            let listed = lines.filter { $0.hasPrefix("  \(status.rawValue) ") }
            #expect(listed.count == 1, "\(status.rawValue) is listed \(listed.count) times")
            #expect(listed.first?.hasSuffix(" " + status.meaning) == true, "\(listed)")
        }
    }

    @Test("the README's exit-code table is the table")
    func readme() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Exit codes\n").dropFirst().first)
        let rows = section.split(separator: "\n").prefix { !$0.hasPrefix("#") }
            .filter { $0.hasPrefix("| ") && !$0.hasPrefix("| code") }
            .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        let table = ExitStatus.allCases.map { [String($0.rawValue), $0.meaning] }
        #expect(rows == table)
    }
}
