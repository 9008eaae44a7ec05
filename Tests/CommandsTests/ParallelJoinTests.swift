import Foundation
import S3
import TestSupport
import Testing

/// Issue 13: a segment-parallel encode (`--threads 2`, short segments forced with
/// `S3TRANSCODE_SEGMENT_FRAMES` so that a few seconds hold several joins) against the serial encode
/// (`--threads 1`) of the same input, judged by Scripts/check-joins.py: valid in FFmpeg and mpg123,
/// every main_data_begin satisfiable, gapless, and within 1 dB of the serial encode's SNR at every
/// join (0.1 dB over the whole file). CBR, ABR and VBR, on music-like audio, the peer WAV and a sine.
@Suite("Segment-parallel encoding: seamless, gapless joins (issue 13)", .serialized)
struct ParallelJoinTests {
    /// Frames per segment: 8 s of 44.1 kHz audio (306 frames) is then 8 segments, 7 joins.
    static let segmentFrames = 40
    static let seconds = 8

    /// `-v` prints "parallel: N segments, joins at frames F1,F2,..."; its segments and join frames.
    static func joins(_ outcome: CommandLineTool.Outcome) throws -> (segments: Int, joins: [Int]) {
        let line = try #require(
            outcome.stderr.split(separator: "\n").first { $0.hasPrefix("parallel: ") },
            "no `parallel: N segments, joins at frames ...` line on stderr:\n\(outcome.stderr)")
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        let segments = try #require(Int(words[1]), "\(line)")
        let joins = words.drop { $0 != "frames" }.dropFirst().compactMap { Int($0) }
        return (segments, joins)
    }

    static func environment(_ base: [String: String]) -> [String: String] {
        base.merging(["S3TRANSCODE_SEGMENT_FRAMES": String(segmentFrames)]) { $1 }
    }

    /// Encodes `input` to `destination` with --threads 2 and short segments; the join frames its -v
    /// line names (at least 3 segments).
    static func parallel(
        _ input: String, to destination: String, _ mode: [String], _ environment: [String: String]
    ) throws -> [Int] {
        let run = try CommandLineTool.run(
            [input, destination, "--threads", "2", "-v"] + mode, environment: Self.environment(environment))
        try #require(run.status == 0, "\(run.stderr)")
        let (segments, joins) = try Self.joins(run)
        #expect(segments >= 3 && joins.count == segments - 1, "\(segments) segments, joins \(joins)")
        return joins
    }

    /// The serial encode (`--threads 1`) of `input` into the folder; its path.
    static func serial(_ input: String, _ mode: [String], in folder: FixtureFolder) throws -> String {
        let serial = folder.url.appendingPathComponent("serial.mp3").path
        let run = try CommandLineTool.run(
            [input, serial, "--threads", "1", "--quiet"] + mode, environment: CommandLineTool.bareEnvironment())
        try #require(run.status == 0, "\(run.stderr)")
        return serial
    }

    @Test(
        "A local file: the parallel encode passes every check against the serial one",
        arguments: JoinChecker.modes.map(\.name), JoinChecker.inputs)
    func localFile(_ modeName: String, _ inputName: String) throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let mode = try #require(JoinChecker.modes.first { $0.name == modeName }).arguments
        let input = folder.url.appendingPathComponent("\(inputName).wav").path
        let serial = try Self.serial(input, mode, in: folder)
        let parallel = folder.url.appendingPathComponent("parallel.mp3").path
        let joins = try Self.parallel(input, to: parallel, mode, CommandLineTool.bareEnvironment())
        let check = try JoinChecker.check(source: input, serial: serial, parallel: parallel, joins: joins)
        #expect(check.status == 0, "\(inputName), \(modeName):\n\(check.stdout)\(check.stderr)")
    }

    /// Runs the binary on `cpus` (taskset) without --threads: its stderr (-v) and its MP3.
    static func runPinned(_ cpus: String, _ input: String, to output: String) throws -> (String, Data) {
        let outcome = try CommandLineTool.Running(
            ["-c", cpus, try CommandLineTool.binary(), input, output, "-v"],
            environment: Self.environment(CommandLineTool.bareEnvironment()), executable: "/usr/bin/taskset"
        ).wait()
        try #require(outcome.status == 0, "\(outcome.stderr)")
        return (outcome.stderr, try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    @Test("Without --threads, transcode on one processor (taskset -c 0) is the serial encode, byte for byte")
    func defaultThreadsOnOneProcessor() throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let input = folder.url.appendingPathComponent("music.wav").path
        let (stderr, bytes) = try Self.runPinned("0", input, to: folder.url.appendingPathComponent("one.mp3").path)
        #expect(!stderr.contains("parallel: "), "\(stderr)")
        let serial = try Self.serial(input, [], in: folder)
        #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: serial))))
    }

    @Test(
        "Without --threads, transcode on two processors (taskset -c 0,1) encodes in segments",
        .enabled(if: ProcessInfo.processInfo.activeProcessorCount >= 2, "needs two processors"))
    func defaultThreadsOnTwoProcessors() throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let input = folder.url.appendingPathComponent("music.wav").path
        let (stderr, _) = try Self.runPinned("0,1", input, to: folder.url.appendingPathComponent("two.mp3").path)
        let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("parallel: ") }, "\(stderr)")
        #expect(line.hasPrefix("parallel: ") && !line.hasPrefix("parallel: 1 "), "\(line)")
    }

    @Test("MPEG-2 (22.05 kHz mono in and out, 576-sample frames): the parallel encode passes every check")
    func mpeg2() throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let input = folder.url.appendingPathComponent("mono.wav").path
        let convert = Process()
        convert.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        convert.arguments = [
            "ffmpeg", "-nostdin", "-v", "error", "-i", folder.url.appendingPathComponent("music.wav").path,
            "-ac", "1", "-ar", "22050", input,
        ]
        try convert.run()
        convert.waitUntilExit()
        try #require(convert.terminationStatus == 0, "ffmpeg could not make the 22.05 kHz mono input")
        let mode = ["--vbr", "4"]
        let serial = try Self.serial(input, mode, in: folder)
        let parallel = folder.url.appendingPathComponent("parallel.mp3").path
        let joins = try Self.parallel(input, to: parallel, mode, CommandLineTool.bareEnvironment())
        let check = try JoinChecker.check(source: input, serial: serial, parallel: parallel, joins: joins)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("MPEG-2 Layer III 22050 Hz mono"), "\(check.stdout)")
    }

    @Test("Into S3 (SigV4-checking moto): the stored object passes every check")
    func intoS3() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "issue13")
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let input = folder.url.appendingPathComponent("music.wav").path
        let mode = ["--vbr", "2"]
        let serial = try Self.serial(input, mode, in: folder)
        let joins = try Self.parallel(
            input, to: "s3://\(bucket)/out.mp3", mode, CommandLineTool.environment(for: server))
        let stored = folder.url.appendingPathComponent("stored.mp3")
        try Data(try client.getObject(bucket: bucket, key: "out.mp3").body).write(to: stored)
        let check = try JoinChecker.check(source: input, serial: serial, parallel: stored.path, joins: joins)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("From an S3 object (read at any offset by ranged GETs) to a local file: parallel, and passes every check")
    func fromS3() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "issue13")
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: Self.seconds)
        let input = folder.url.appendingPathComponent("peer.wav").path
        let mode = ["--bitrate", "192"]
        let serial = try Self.serial(input, mode, in: folder)
        _ = try client.putObject(
            bucket: bucket, key: "in.wav", body: [UInt8](Data(contentsOf: URL(fileURLWithPath: input))))
        let parallel = folder.url.appendingPathComponent("parallel.mp3").path
        let joins = try Self.parallel(
            "s3://\(bucket)/in.wav", to: parallel, mode, CommandLineTool.environment(for: server))
        let check = try JoinChecker.check(source: input, serial: serial, parallel: parallel, joins: joins)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
