import Basics
import Foundation
import S3
import TestSupport
import Testing

/// SIGINT, SIGTERM and SIGHUP sent to the real binary at about 10 %, 50 % and 90 % of a run, to S3
/// (moto with SigV4 checking on) and to a local file. The moment is chosen by watching the run, not
/// by sleeping: the test reads how much of its input the process has read (`/proc/PID/io`), so
/// the signal lands at the chosen share
/// of the work whatever the machine's load. For S3 the `-v` request lines show whether a multipart
/// upload had been created (and how many parts acknowledged) when the signal was sent, so each case
/// states what it interrupted.
///
/// Serialized: each case runs a process that uses a core, and the interesting states last a second.
@Suite("signals: exit 128+n, nothing left behind", .serialized)
struct SignalTests {
    /// 750 s of a 32 kHz mono tone: at 320 kbit/s about 30 MB of MP3, six 5 MiB parts. The multipart
    /// upload is created when part 2 fills (10 MiB, about a third of the way), so the 50 % and 90 %
    /// cases interrupt a live multipart upload with parts acknowledged and parts in flight.
    static let seconds = 750

    static func input(in folder: FixtureFolder) throws -> (path: String, size: Int) {
        let bytes = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 32_000, channels: 1, frequency: 300), seconds: seconds)
        try folder.write("long.wav", bytes)
        return (folder.url.appendingPathComponent("long.wav").path, bytes.count)
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var signal: Int32
        var fraction: Double
        /// --threads: with 2, the reader runs segments ahead of the encoders, so the input read says
        /// little of the output's progress: the signal then waits for the multipart upload to exist.
        var threads = 1
        var testDescription: String {
            threads == 1
                ? "\(SignalTests.name(signal)) at \(Int(fraction * 100)) %"
                : "\(SignalTests.name(signal)) with --threads \(threads), once the upload exists"
        }
    }

    static let s3Cases =
        [SIGINT, SIGTERM].flatMap { signal in [0.1, 0.5, 0.9].map { Case(signal: signal, fraction: $0) } }
        + [Case(signal: SIGHUP, fraction: 0.5), Case(signal: SIGTERM, fraction: 0, threads: 2)]

    @Test("to S3: exit 128+n, the multipart upload aborted, no object", arguments: s3Cases)
    func toS3(_ test: Case) throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "signal")
        let folder = try FixtureFolder()
        let input = try SignalTests.input(in: folder)
        let run = try CommandLineTool.Running(
            [input.path, "s3://\(bucket)/out.mp3", "--bitrate", "320", "-v", "--threads", String(test.threads)],
            environment: CommandLineTool.environment(for: server))
        let uploadExists = {
            test.threads == 1
                || ((try? String(contentsOf: run.directory.appendingPathComponent("err"), encoding: .utf8)) ?? "")
                    .contains("CreateMultipartUpload POST")
        }
        let state = try SignalTests.interrupt(run, at: test, input: input, hashesFirst: true, during: uploadExists)

        let stopped = Timestamp()
        let outcome = run.wait()
        let lines = outcome.stderr.split(separator: "\n")
        #expect(Timestamp().timeIntervalSince(stopped) < 15, "the run took too long to stop after the signal")
        #expect(outcome.status == 128 + test.signal, "\(outcome.stderr)")
        #expect(lines.filter { $0.hasPrefix("s3transcode: error:") }.count == 1, "\(outcome.stderr)")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty, "a multipart upload was left behind")
        #expect(try client.listAllObjects(bucket: bucket).isEmpty, "an object was created")
        #expect(!lines.contains { $0.contains("CompleteMultipartUpload") }, "the upload was completed")
        // What the signal interrupted: from the -v lines printed before it.
        let created = state.stderr.contains("CreateMultipartUpload POST")
        let acknowledged = state.stderr.split(separator: "\n").filter {
            $0.contains("UploadPart PUT") && $0.contains(" 200 ")
        }.count
        if test.fraction >= 0.5 || test.threads > 1 {
            #expect(created, "no multipart upload existed when the signal was sent; the case tested nothing")
        }
        if test.fraction >= 0.9 { #expect(acknowledged >= 1, "no part had been acknowledged at 90 %") }
        if created {
            #expect(
                lines.contains { $0.contains("AbortMultipartUpload DELETE") && $0.contains(" 204 ") },
                "\(outcome.stderr)")
        }
    }

    struct LocalCase: CustomTestStringConvertible, Sendable {
        var signal: Int32
        var fraction: Double
        var existingTarget: Bool
        var testDescription: String {
            "\(SignalTests.name(signal)) at \(Int(fraction * 100)) %"
                + (existingTarget ? ", over an existing file" : "")
        }
    }

    static let localCases = [
        LocalCase(signal: SIGINT, fraction: 0.1, existingTarget: true),
        LocalCase(signal: SIGTERM, fraction: 0.5, existingTarget: false),
        LocalCase(signal: SIGHUP, fraction: 0.9, existingTarget: true),
    ]

    @Test("to a local file: exit 128+n, no partial file, an existing target untouched", arguments: localCases)
    func toLocalFile(_ test: LocalCase) throws {
        let folder = try FixtureFolder()
        let input = try SignalTests.input(in: folder)
        let output = try FixtureFolder()
        let target = output.url.appendingPathComponent("out.mp3").path
        let previous = Array("the previous version of out.mp3\n".utf8)
        if test.existingTarget { try output.write("out.mp3", previous) }
        let run = try CommandLineTool.Running(
            [input.path, target, "--bitrate", "320"],
            environment: CommandLineTool.bareEnvironment())
        _ = try SignalTests.interrupt(
            run, at: Case(signal: test.signal, fraction: test.fraction), input: input,
            hashesFirst: false, during: { try SignalTests.partFiles(in: output.path).count == 1 })

        let outcome = run.wait()
        #expect(outcome.status == 128 + test.signal, "\(outcome.stderr)")
        #expect(try SignalTests.partFiles(in: output.path).isEmpty, "a partial file was left behind")
        let left = try FileManager.default.contentsOfDirectory(atPath: output.path)
        if test.existingTarget {
            #expect(left == ["out.mp3"])
            #expect(
                try Array(Data(contentsOf: URL(fileURLWithPath: target))) == previous, "the existing target was changed"
            )
        } else {
            #expect(left.isEmpty, "left behind: \(left)")
        }
    }

    @Test("SIGTERM mid-batch to S3: exit 143, summary printed, no multipart upload left")
    func batchTerminated() throws {
        let (client, server) = try CommandMoto.client()
        let bucket = try CommandMoto.bucket(client, "batch-sigterm")
        let folder = try FixtureFolder()
        // 240 s at 320 kbit/s is about 9.6 MB: each file is a multipart upload of two 5 MiB parts.
        let long = try FixtureFolder.repeatedWAV(
            WAVFixture(sampleRate: 32_000, channels: 1, frequency: 300), seconds: 240)
        for index in 0..<4 { try folder.write("long \(index).wav", long) }
        let run = try CommandLineTool.Running(
            ["batch", folder.path, "s3://\(bucket)/out", "--jobs", "2", "--bitrate", "320"],
            environment: CommandLineTool.environment(for: server))
        let sawUpload = try run.waitForMultipartUpload(in: bucket, client: client)
        #expect(sawUpload, "no multipart upload was ever in flight; the test could not interrupt one")
        run.signal(SIGTERM)
        let signalled = Timestamp()
        let outcome = run.wait()
        #expect(Timestamp().timeIntervalSince(signalled) < 15, "the batch took too long to stop after SIGTERM")
        #expect(outcome.status == 143, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("batch: 4 files:"), "\(outcome.stderr)")
        #expect(try client.listMultipartUploads(bucket: bucket).isEmpty)
        // Whatever object exists is a complete one from a file that finished before the signal.
        #expect(try client.listAllObjects(bucket: bucket).count < 4)
    }

    // MARK: - Watching a run

    struct Snapshot {
        /// The run's stderr when the signal was sent.
        var stderr: String
    }

    /// Waits until `run` has transcoded `test.fraction` of its input (and `during` holds), then sends
    /// the signal. Fails the test if the run ends first or takes over a minute to get there.
    static func interrupt(
        _ run: CommandLineTool.Running, at test: Case, input: (path: String, size: Int),
        hashesFirst: Bool, during: () throws -> Bool = { true }
    ) throws -> Snapshot {
        let pid = run.process.processIdentifier
        let deadline = Timestamp().addingTimeInterval(60)
        var reached = 0.0
        while Timestamp() < deadline, run.process.isRunning {
            if let done = transcodedBytes(pid: pid, hashed: hashesFirst ? input.size : 0) {
                reached = Double(done) / Double(input.size)
                if reached >= test.fraction, try during() {
                    let stderr =
                        (try? String(contentsOf: run.directory.appendingPathComponent("err"), encoding: .utf8)) ?? ""
                    run.signal(test.signal)
                    return Snapshot(stderr: stderr)
                }
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        run.signal(SIGKILL)
        let outcome = run.wait()
        Issue.record(
            "the run never reached \(Int(test.fraction * 100)) % of its input (last seen \(Int(reached * 100)) %, exit \(outcome.status)): \(outcome.stderr)"
        )
        throw CommandLineTool.Missing(description: "no signal sent")
    }

    /// How many bytes of its input process `pid` has transcoded: the bytes it has read (`rchar` in
    /// `/proc/PID/io`, which counts read and pread; the input is read with pread, so its descriptor's
    /// offset does not move), less `hashed`, what it read before transcoding (an S3 destination's
    /// run reads its local source once for the SHA-256 it records, before the upload starts).
    static func transcodedBytes(pid: Int32, hashed: Int) -> Int? {
        guard let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8),
            let line = io.split(separator: "\n").first(where: { $0.hasPrefix("rchar:") }),
            let read = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return max(0, read - hashed)
    }

    /// The hidden temporary files of a local-file run (`.NAME.s3transcode-PID-N.part`).
    static func partFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix(".") && $0.hasSuffix(".part")
        }
    }
}
