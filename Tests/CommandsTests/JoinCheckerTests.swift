import Foundation
import TestSupport
import Testing

/// Scripts/check-joins.py, issue 13's measures of a segment-parallel encode (validity in FFmpeg and
/// mpg123, the bit reservoir, gapless, SNR at the joins and over the whole file against the serial
/// encode), run the way the tests and the benchmark run it.
enum JoinChecker {
    /// `python3 Scripts/check-joins.py ARGUMENTS`; stdout and stderr kept.
    static func run(_ arguments: [String]) throws -> CommandLineTool.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3t-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out")
        let err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return CommandLineTool.Outcome(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// `check-joins.py gen FOLDER --seconds N`: FOLDER/music.wav (the demo's generator), peer.wav
    /// (UploadCommandTests.variedWAV's samples) and sine.wav (WAVFixture's default 1 kHz sine), 44.1 kHz
    /// stereo 16-bit.
    static func generate(in folder: FixtureFolder, seconds: Int) throws {
        let outcome = try run(["gen", folder.path, "--seconds", String(seconds)])
        guard outcome.status == 0 else {
            throw CommandLineTool.Missing(description: "check-joins.py gen failed: \(outcome.stderr)")
        }
    }

    /// The checker's verdict on a parallel stream against the serial one and the source.
    static func check(source: String, serial: String, parallel: String, joins: [Int]) throws
        -> CommandLineTool.Outcome
    {
        try run([
            "check", "--source", source, "--serial", serial, "--parallel", parallel,
            "--joins", joins.map(String.init).joined(separator: ","),
        ])
    }

    /// This file is `<root>/Tests/CommandsTests/JoinCheckerTests.swift`.
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/check-joins.py").path
    }

    static let inputs = ["music", "peer", "sine"]
    /// The encoder settings of issue 13: CBR, ABR and VBR.
    static let modes: [(name: String, arguments: [String])] = [
        ("CBR", ["--bitrate", "192"]), ("ABR", ["--abr", "160"]), ("VBR", ["--vbr", "2"]),
    ]
}

@Suite("check-joins.py: issue 13's checker fails broken streams and passes the serial encoder's", .serialized)
struct JoinCheckerTests {
    @Test(
        "Every check fails on a stream broken for it (splices, truncation, side information, CRC, Xing, LAME tag, lag, bitrate, joins) and passes on good ones"
    )
    func selftest() throws {
        let outcome = try JoinChecker.run(["selftest"])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        // One line per case: "ok" when the checks that had to fail failed (and a good stream passed).
        #expect(outcome.stdout.contains("cases as expected"), "\(outcome.stdout)")
        #expect(!outcome.stdout.contains("WRONG") && !outcome.stdout.contains("BROKEN"), "\(outcome.stdout)")
    }

    @Test("The generator's peer and sine WAVs hold the samples of the Swift fixtures they copy")
    func generatorMatchesFixtures() throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: 2)
        let peer = try [UInt8](Data(contentsOf: folder.url.appendingPathComponent("peer.wav")))
        let (expected, frames) = try UploadCommandTests.variedWAV(seconds: 2)
        #expect(peer.count == expected.count && frames == 88_200)
        #expect(peer[44...] == expected[44...], "peer.wav differs from UploadCommandTests.variedWAV")
        let sine = try [UInt8](Data(contentsOf: folder.url.appendingPathComponent("sine.wav")))
        #expect(sine[44...].elementsEqual(WAVFixture(frames: 88_200).sampleData()), "sine.wav differs from WAVFixture")
        let music = try [UInt8](Data(contentsOf: folder.url.appendingPathComponent("music.wav")))
        #expect(music.count > 88_200 * 4)
    }

    @Test(
        "The serial encoder's output, taken as its own parallel encode, passes every check (CBR, ABR, VBR)",
        arguments: JoinChecker.modes.map(\.name))
    func serialPasses(_ mode: String) throws {
        let folder = try FixtureFolder()
        try JoinChecker.generate(in: folder, seconds: 6)
        let arguments = try #require(JoinChecker.modes.first { $0.name == mode }).arguments
        for input in JoinChecker.inputs {
            let source = folder.url.appendingPathComponent("\(input).wav").path
            let serial = folder.url.appendingPathComponent("\(input)-\(mode).mp3").path
            let run = try CommandLineTool.run(
                [source, serial, "--quiet"] + arguments, environment: CommandLineTool.bareEnvironment())
            try #require(run.status == 0, "\(run.stderr)")
            let check = try JoinChecker.check(source: source, serial: serial, parallel: serial, joins: [40, 80, 120])
            #expect(check.status == 0, "\(input), \(mode):\n\(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("check-joins: PASS"), "\(check.stdout)")
        }
    }
}
