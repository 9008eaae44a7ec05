import Foundation
import Synchronization

/// The inputs and their fault-free MP3s, made once per test process: a long WAV (four 5 MiB parts
/// at CBR 320) and a small one (a single PutObject), each encoded to a local file with the same
/// options as the uploads. Removed when the process exits.
public final class FaultFixture: Sendable {
    public let directory: URL
    public let longWAV: String
    public let smallWAV: String
    public let smallWAVBytes: [UInt8]
    public let longMP3: [UInt8]
    public let smallMP3: [UInt8]

    private static let cached = Mutex<Result<FaultFixture, any Error>?>(nil)
    nonisolated(unsafe) private static var removalPath: String?

    public static func shared() throws -> FaultFixture {
        try cached.withLock { cached in
            if cached == nil { cached = Result { try FaultFixture() } }
            return try cached!.get()
        }
    }

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-faults-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FaultFixture.removalPath = directory.path
        atexit { if let path = FaultFixture.removalPath { try? FileManager.default.removeItem(atPath: path) } }
        let tone = WAVFixture(sampleRate: 32_000, channels: 1, frequency: 300)
        longWAV = directory.appendingPathComponent("long.wav").path
        try Data(FixtureFolder.repeatedWAV(tone, seconds: 440)).write(to: URL(fileURLWithPath: longWAV))
        smallWAV = directory.appendingPathComponent("small.wav").path
        smallWAVBytes = try FixtureFolder.repeatedWAV(tone, seconds: 60)
        try Data(smallWAVBytes).write(to: URL(fileURLWithPath: smallWAV))
        longMP3 = try FaultFixture.localRun(longWAV, directory: directory)
        smallMP3 = try FaultFixture.localRun(smallWAV, directory: directory)
        guard longMP3.count > 15 << 20, smallMP3.count < 5 << 20 else {
            throw CommandLineTool.Missing(
                description: "fault fixtures: MP3s of \(longMP3.count) and \(smallMP3.count) bytes; "
                    + "the long one must need four 5 MiB parts and the small one a single PutObject")
        }
    }

    private static func localRun(_ input: String, directory: URL) throws -> [UInt8] {
        let output = directory.appendingPathComponent(URL(fileURLWithPath: input).lastPathComponent + ".mp3").path
        let environment = CommandLineTool.bareEnvironment()
        let run = try CommandLineTool.run([input, output, "--bitrate", "320", "--quiet"], environment: environment)
        guard run.status == 0 else {
            throw CommandLineTool.Missing(description: "the fault-free local run of \(input) failed: \(run.stderr)")
        }
        return try Array(Data(contentsOf: URL(fileURLWithPath: output)))
    }
}
